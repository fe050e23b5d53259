//! Reading pre-aggregated counters for reports: a few fields per owner and bucket, never the
//! clicks or orders themselves.

use super::keys::{Owner, field};
use super::{SlotPipeline, Store, StoreResult};
use crate::domain::{Bucket, Currency, Totals};

/// One owner's counters over some buckets (the whole range, or one day).
#[derive(Debug, Clone)]
pub struct FigureQuery<'a> {
    pub owner: Owner<'a>,
    pub buckets: Vec<Bucket>,
    /// Read only this campaign's costs (an influencer's costs are kept per campaign too).
    pub campaign: Option<&'a str>,
}

/// The counter kinds read per bucket, in the order of [`Totals`]' fields after the clicks.
type Field = fn(Currency, Bucket) -> String;
const MONEY_FIELDS: [Field; 5] = [
    field::orders,
    field::revenue,
    field::refunds,
    field::commission,
    field::costs,
];

impl Store {
    /// The totals of each query, money in `currency`, in the order given, in one pipeline
    /// (per slot on a cluster): one `HMGET` and one `PFCOUNT` per query.
    pub async fn report_figures(
        &self,
        queries: &[FigureQuery<'_>],
        currency: Currency,
    ) -> StoreResult<Vec<Totals>> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.keys();
        let mut pipe = SlotPipeline::new();
        for query in queries {
            let buckets = &query.buckets;
            let fields: Vec<String> = buckets
                .iter()
                .map(|b| field::human(*b))
                .chain(buckets.iter().map(|b| field::bot(*b)))
                .chain(buckets.iter().map(|b| field::suspicious(*b)))
                .chain(
                    MONEY_FIELDS
                        .iter()
                        .flat_map(|kind| buckets.iter().map(move |b| kind(currency, *b))),
                )
                .collect();
            let fields = match query.campaign {
                // The cost fields are the last bucket-count of them: read the campaign's.
                Some(campaign) => {
                    let costs_at = fields.len() - buckets.len();
                    let mut fields = fields;
                    for (field, bucket) in fields[costs_at..].iter_mut().zip(buckets) {
                        *field = field::campaign_costs(campaign, currency, *bucket);
                    }
                    fields
                }
                None => fields,
            };
            let counts = keys.counts(query.owner);
            let mut read_counts = redis::cmd("HMGET");
            read_counts.arg(&counts).arg(fields);
            pipe.add(&counts, read_counts);
            let mut count_uniques = redis::cmd("PFCOUNT");
            for bucket in buckets {
                count_uniques.arg(keys.uniques(query.owner, *bucket));
            }
            pipe.add(&counts, count_uniques);
        }
        let replies = self.query_slots(&pipe).await?;
        let mut out = Vec::with_capacity(queries.len());
        for (query, reply) in queries.iter().zip(replies.chunks_exact(2)) {
            let values: Vec<Option<i64>> = redis::from_redis_value_ref(&reply[0])?;
            let unique_clicks: u64 = redis::from_redis_value_ref(&reply[1])?;
            let mut sums = values
                .chunks(query.buckets.len().max(1))
                .map(|chunk| chunk.iter().flatten().sum::<i64>());
            let mut next = || sums.next().unwrap_or(0);
            let count = |n: i64| u64::try_from(n).unwrap_or(0);
            out.push(Totals {
                clicks: count(next()),
                bot_clicks: count(next()),
                suspicious_clicks: count(next()),
                unique_clicks,
                orders: next(),
                revenue: next(),
                refunds: next(),
                commission: next(),
                costs: next(),
            });
        }
        Ok(out)
    }
}
