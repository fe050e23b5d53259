//! Reading pre-aggregated counters for reports: a few fields per influencer or link, never
//! the clicks themselves.

use super::keys::{Owner, field};
use super::{Store, StoreResult};
use crate::domain::{Currency, DateRange, OrderFigures};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClickCounts {
    pub clicks: u64,
    pub unique_clicks: u64,
    pub bot_clicks: u64,
}

impl Store {
    /// Click counts of each owner over the range, in the order given, in one pipeline.
    pub async fn click_counts(
        &self,
        owners: &[Owner<'_>],
        range: &DateRange,
    ) -> StoreResult<Vec<ClickCounts>> {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.keys();
        let buckets = range.buckets();
        let human_fields: Vec<String> = buckets.iter().map(|b| field::human(*b)).collect();
        let bot_fields: Vec<String> = buckets.iter().map(|b| field::bot(*b)).collect();
        let mut pipe = redis::pipe();
        for owner in owners {
            let counts = keys.counts(*owner);
            pipe.cmd("HMGET").arg(&counts).arg(&human_fields);
            pipe.cmd("HMGET").arg(&counts).arg(&bot_fields);
            let sketches: Vec<String> = buckets.iter().map(|b| keys.uniques(*owner, *b)).collect();
            pipe.cmd("PFCOUNT").arg(sketches);
        }
        let replies: Vec<redis::Value> = pipe.query_async(&mut self.conn()).await?;
        let mut out = Vec::with_capacity(owners.len());
        for reply in replies.chunks_exact(3) {
            let humans: Vec<Option<u64>> = redis::from_redis_value_ref(&reply[0])?;
            let bots: Vec<Option<u64>> = redis::from_redis_value_ref(&reply[1])?;
            let unique_clicks: u64 = redis::from_redis_value_ref(&reply[2])?;
            out.push(ClickCounts {
                clicks: humans.into_iter().flatten().sum(),
                unique_clicks,
                bot_clicks: bots.into_iter().flatten().sum(),
            });
        }
        Ok(out)
    }
}

impl Store {
    /// Order figures in `currency` of each owner over the range, in the order given, in one
    /// pipeline.
    pub async fn order_figures(
        &self,
        owners: &[Owner<'_>],
        range: &DateRange,
        currency: Currency,
    ) -> StoreResult<Vec<OrderFigures>> {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        let buckets = range.buckets();
        let kinds: [fn(Currency, crate::domain::Bucket) -> String; 4] = [
            field::orders,
            field::revenue,
            field::refunds,
            field::commission,
        ];
        let fields: Vec<String> = kinds
            .iter()
            .flat_map(|kind| buckets.iter().map(move |b| kind(currency, *b)))
            .collect();
        let mut pipe = redis::pipe();
        for owner in owners {
            pipe.cmd("HMGET")
                .arg(self.keys().counts(*owner))
                .arg(&fields);
        }
        let replies: Vec<Vec<Option<i64>>> = pipe.query_async(&mut self.conn()).await?;
        Ok(replies
            .into_iter()
            .map(|values| {
                let mut sums = values
                    .chunks(buckets.len())
                    .map(|chunk| chunk.iter().flatten().sum::<i64>());
                let mut next = || sums.next().unwrap_or(0);
                OrderFigures {
                    orders: next(),
                    revenue: next(),
                    refunds: next(),
                    commission: next(),
                }
            })
            .collect())
    }
}
