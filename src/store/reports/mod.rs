//! Reading pre-aggregated counters for reports: a few fields per owner and bucket, never the
//! clicks or orders themselves.
//!
//! One read per owner covers every currency a report needs: the money fields of all of them
//! come back in the same `HMGET` and are split by currency here, so a report over influencers
//! who sold in 32 currencies costs one pass, not 32.
//!
//! `field_set` names a report's fields once; this file asks Redis for them, owner by owner in
//! chunks; `replies` turns the replies into figures.

mod field_set;
mod replies;

use futures_util::{StreamExt, TryStreamExt, stream};
use redis::Cmd;

use super::keys::Owner;
use super::{SlotPipeline, Store, StoreError, StoreResult};
use crate::domain::{Overflow, Totals};
use crate::metrics::Metrics;
pub use field_set::FieldSet;
use replies::{
    Shape, click_totals, listed, next_reply, picked, reads_whole, split, visited_buckets,
};

/// Owners read per round trip.
const CHUNK: usize = 250;
/// Round trips of one report in flight at once: two keep Redis and the server busy together;
/// more would only queue in Redis ahead of other clients' commands.
const CHUNKS_IN_FLIGHT: usize = 2;

/// One owner's counters to read.
#[derive(Debug, Clone, Copy)]
pub struct FigureQuery<'a> {
    pub owner: Owner<'a>,
    pub fields: &'a FieldSet,
}

/// One owner's figures: clicks once, money per currency of its [`FieldSet`].
#[derive(Debug, Clone, Default)]
pub struct OwnerFigures {
    /// Only the click fields are set.
    pub clicks: Totals,
    /// Only the money fields are set; `money[i]` is in the field set's `currencies()[i]`.
    pub money: Vec<Totals>,
}

impl OwnerFigures {
    /// Clicks and the money of the field set's `i`th currency.
    pub fn in_currency(&self, i: usize) -> Totals {
        let money = self.money.get(i).copied().unwrap_or_default();
        Totals {
            clicks: self.clicks.clicks,
            unique_clicks: self.clicks.unique_clicks,
            bot_clicks: self.clicks.bot_clicks,
            suspicious_clicks: self.clicks.suspicious_clicks,
            ..money
        }
    }
}

impl Store {
    /// The figures of each query, in the order given, in two round trips per [`CHUNK`]
    /// queries (one pipeline each, per slot on a cluster), so each stays well inside the
    /// Redis deadline however many owners a report covers:
    /// 1. per query, its money counters' size and encoding (which decide how to read them)
    ///    and, when its field set reads clicks, one `HMGET` of its click counters (in its
    ///    count shard) with the human clicks of each unique-visitor bucket;
    /// 2. its money counters, and one `PFCOUNT` of the unique-visitor sketches of the buckets
    ///    that had human clicks. Each sketch named costs Redis a key lookup (about 1 µs in a
    ///    keyspace of millions), so an owner quiet for most of a year costs a few lookups,
    ///    not forty, and one with no human clicks in the range none.
    ///
    /// [`CHUNKS_IN_FLIGHT`] chunks are asked at once, so Redis works on the next chunk while
    /// the replies of the last are read here: a report costs about the larger of Redis's time
    /// and the server's, not their sum.
    /// A counter that is not an integer is skipped, logged and counted in `metrics`, so one
    /// bad field never fails a report.
    pub async fn report_figures(
        &self,
        queries: &[FigureQuery<'_>],
        metrics: &Metrics,
    ) -> StoreResult<Vec<OwnerFigures>> {
        let chunks: Vec<Vec<OwnerFigures>> = stream::iter(queries.chunks(CHUNK))
            .map(|chunk| self.chunk_figures(chunk, metrics))
            .buffered(CHUNKS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(chunks.into_iter().flatten().collect())
    }

    async fn chunk_figures(
        &self,
        queries: &[FigureQuery<'_>],
        metrics: &Metrics,
    ) -> StoreResult<Vec<OwnerFigures>> {
        let keys = self.keys();
        let counts_keys: Vec<String> = queries.iter().map(|q| keys.counts(q.owner)).collect();
        let clicks_keys: Vec<Option<String>> = queries
            .iter()
            .map(|q| q.fields.reads_clicks().then(|| keys.click_counts(q.owner)))
            .collect();
        let mut first = SlotPipeline::new();
        for (query, (counts, clicks)) in queries.iter().zip(counts_keys.iter().zip(&clicks_keys)) {
            first.add(counts, Cmd::hlen(counts));
            let mut encoding = redis::cmd("OBJECT");
            encoding.arg("ENCODING").arg(counts);
            first.add(counts, encoding);
            if let Some(clicks) = clicks {
                let mut read_clicks = redis::cmd("HMGET");
                read_clicks
                    .arg(clicks)
                    .arg(&query.fields.click_names)
                    .arg(&query.fields.extra_humans);
                first.add(clicks, read_clicks);
            }
        }
        let first = self.query_slots(&first).await?;
        let mut first = first.iter();
        let mut second = SlotPipeline::new();
        let mut read = Vec::with_capacity(queries.len());
        for (query, (counts, clicks_key)) in
            queries.iter().zip(counts_keys.iter().zip(&clicks_keys))
        {
            let fields = query.fields;
            let shape = [
                next_reply(&mut first, counts)?,
                next_reply(&mut first, counts)?,
            ];
            let whole =
                fields.names.is_empty() || reads_whole(Shape::of(shape)?, fields.names.len());
            if whole {
                second.add(counts, Cmd::hgetall(counts));
            } else {
                let mut read_counts = redis::cmd("HMGET");
                read_counts.arg(counts).arg(&fields.names);
                second.add(counts, read_counts);
            }
            let clicks = match clicks_key {
                Some(key) => {
                    let values = listed(next_reply(&mut first, key)?).ok_or_else(|| {
                        StoreError::corrupt(key, "the click counters did not read as one")
                    })?;
                    let counted = &values[..fields.click_names.len().min(values.len())];
                    let visited = visited_buckets(fields, &values);
                    let any_visited = !visited.is_empty();
                    if any_visited {
                        let mut count_uniques = redis::cmd("PFCOUNT");
                        for bucket in visited {
                            count_uniques.arg(keys.click_uniques(query.owner, bucket));
                        }
                        second.add(key, count_uniques);
                    }
                    Some((
                        key,
                        click_totals(key, fields, counted, metrics)?,
                        any_visited,
                    ))
                }
                None => None,
            };
            read.push((whole, clicks));
        }
        let second = self.query_slots(&second).await?;
        let mut second = second.iter();
        let mut out = Vec::with_capacity(queries.len());
        for ((query, key), (whole, clicks)) in queries.iter().zip(&counts_keys).zip(read) {
            let reply = next_reply(&mut second, key)?;
            let values = if whole {
                picked(query.fields, reply)
            } else {
                listed(reply)
            }
            .ok_or_else(|| StoreError::corrupt(key, "the counters hash did not read as one"))?;
            let mut figures = OwnerFigures {
                clicks: Totals::default(),
                money: split(key, query.fields, &values, metrics)?,
            };
            if let Some((clicks_key, totals, visited)) = clicks {
                figures.clicks = totals;
                if visited {
                    figures.clicks.unique_clicks =
                        redis::from_redis_value_ref::<u64>(next_reply(&mut second, clicks_key)?)?
                            .into();
                }
            }
            out.push(figures);
        }
        Ok(out)
    }
}

impl OwnerFigures {
    /// Adds `other`'s clicks and, per currency, its money without costs.
    pub fn add_without_costs(&mut self, other: &Self) -> Result<(), Overflow> {
        self.clicks.add(&other.clicks)?;
        self.money
            .resize(other.money.len().max(self.money.len()), Totals::default());
        for (mine, theirs) in self.money.iter_mut().zip(&other.money) {
            mine.add(&Totals {
                costs: 0,
                ..*theirs
            })?;
        }
        Ok(())
    }
}
