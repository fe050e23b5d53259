//! Reading pre-aggregated counters for reports: a few fields per owner and bucket, never the
//! clicks or orders themselves.
//!
//! One read per owner covers every currency a report needs: the money fields of all of them
//! come back in the same `HMGET` and are split by currency here, so a report over influencers
//! who sold in 32 currencies costs one pass, not 32.

use std::collections::HashMap;

use redis::Value;

use super::keys::{Owner, field};
use super::{SlotPipeline, Store, StoreError, StoreResult};
use crate::domain::{Bucket, Currency, Overflow, Reads, Sign, Totals, checked_sum};
use crate::metrics::{CorruptKind, Metrics};
use redis::Cmd;

/// The counter fields a report reads from each owner: the same for every owner of a report,
/// so they are named once and sent with every read.
#[derive(Debug, Clone)]
pub struct FieldSet {
    /// The counter buckets, each added or taken away (see [`Reads`]).
    buckets: Vec<(Bucket, Sign)>,
    /// The unique-visitor sketches united (days and months; a year as its months).
    uniques: Vec<Bucket>,
    currencies: Vec<Currency>,
    /// Per currency, the money kinds per bucket, in the order of [`MONEY_KINDS`]: fields of
    /// the owner's `counts` hash.
    names: Vec<String>,
    /// Where each name is in `names`, to pick the report's fields out of a whole hash.
    index: HashMap<String, usize>,
    /// Human, bot and suspicious clicks per click bucket: fields of the owner's click
    /// counters (in its count shard).
    click_names: Vec<String>,
    /// The day and month buckets the report's clicks are read from, each added or taken
    /// away: its buckets, with a year read as its twelve months (clicks keep no year bucket).
    click_buckets: Vec<(Bucket, Sign)>,
}

/// The money counter kinds read per currency and bucket, in the order of [`Totals`]' fields.
type Field = fn(Currency, Bucket) -> String;
const MONEY_KINDS: [Field; 10] = [
    field::orders,
    field::revenue,
    field::refunds,
    field::commission,
    field::costs,
    field::click_orders,
    field::coupon_orders,
    field::held_orders,
    field::held_revenue,
    field::pending_orders,
];
/// Where costs are among [`MONEY_KINDS`].
const COSTS: usize = 4;
const CLICK_KINDS: [fn(Bucket) -> String; 3] = [field::human, field::bot, field::suspicious];

impl FieldSet {
    /// Fields over the buckets of `reads` for each of `currencies`; with a campaign, the costs
    /// read are the ones booked to it.
    pub fn new(reads: &Reads, currencies: &[Currency], campaign: Option<&str>) -> Self {
        let buckets = &reads.counters;
        let mut names = Vec::with_capacity(buckets.len() * MONEY_KINDS.len() * currencies.len());
        for currency in currencies {
            for kind in MONEY_KINDS {
                names.extend(buckets.iter().map(|(b, _)| kind(*currency, *b)));
            }
            if let Some(campaign) = campaign {
                let costs_at = names.len() - (MONEY_KINDS.len() - COSTS) * buckets.len();
                for (name, (bucket, _)) in names[costs_at..].iter_mut().zip(buckets) {
                    *name = field::campaign_costs(campaign, *currency, *bucket);
                }
            }
        }
        let index = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect();
        let signed_clicks: Vec<(Bucket, Sign)> = buckets
            .iter()
            .flat_map(|(b, sign)| click_buckets(*b).into_iter().map(move |c| (c, *sign)))
            .collect();
        let click_names = CLICK_KINDS
            .iter()
            .flat_map(|kind| signed_clicks.iter().map(|(b, _)| kind(*b)))
            .collect();
        Self {
            buckets: buckets.clone(),
            uniques: reads
                .uniques
                .iter()
                .flat_map(|b| click_buckets(*b))
                .collect(),
            currencies: currencies.to_vec(),
            names,
            index,
            click_names,
            click_buckets: signed_clicks,
        }
    }

    pub fn currencies(&self) -> &[Currency] {
        &self.currencies
    }
}

/// The click buckets that hold a report bucket's clicks: a day or a month itself, a year its
/// twelve months.
fn click_buckets(bucket: Bucket) -> Vec<Bucket> {
    match bucket {
        Bucket::Year(year) => (1..=12)
            .map(|month| Bucket::Month { year, month })
            .collect(),
        other => vec![other],
    }
}

/// Owners read per round trip.
const CHUNK: usize = 250;

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
    /// The figures of each query, in the order given: per query one read of its money
    /// counters, one `HMGET` of its click counters and one `PFCOUNT` of its unique-visitor
    /// sketches (the last two in its count shard), sent as one pipeline (per slot on a
    /// cluster) per [`CHUNK`] queries, so each round trip stays well inside the Redis deadline
    /// however many owners a report covers.
    /// A counter that is not an integer is skipped, logged and counted in `metrics`, so one
    /// bad field never fails a report.
    pub async fn report_figures(
        &self,
        queries: &[FigureQuery<'_>],
        metrics: &Metrics,
    ) -> StoreResult<Vec<OwnerFigures>> {
        let mut out = Vec::with_capacity(queries.len());
        for chunk in queries.chunks(CHUNK) {
            out.extend(self.chunk_figures(chunk, metrics).await?);
        }
        Ok(out)
    }

    async fn chunk_figures(
        &self,
        queries: &[FigureQuery<'_>],
        metrics: &Metrics,
    ) -> StoreResult<Vec<OwnerFigures>> {
        let keys = self.keys();
        let counts_keys: Vec<String> = queries.iter().map(|q| keys.counts(q.owner)).collect();
        let mut sizes = SlotPipeline::new();
        for key in &counts_keys {
            sizes.add(key, Cmd::hlen(key));
        }
        let sizes = self.query_slots(&sizes).await?;
        let mut pipe = SlotPipeline::new();
        let mut whole = Vec::with_capacity(queries.len());
        for ((query, counts), size) in queries.iter().zip(&counts_keys).zip(&sizes) {
            let fields = query.fields;
            let size: usize = redis::from_redis_value_ref(size)?;
            let read_whole = fields.names.is_empty() || reads_whole(size, fields.names.len());
            if read_whole {
                pipe.add(counts, Cmd::hgetall(counts));
            } else {
                let mut read_counts = redis::cmd("HMGET");
                read_counts.arg(counts).arg(&fields.names);
                pipe.add(counts, read_counts);
            }
            whole.push(read_whole);
            let clicks = keys.click_counts(query.owner);
            let mut read_clicks = redis::cmd("HMGET");
            read_clicks.arg(&clicks).arg(&fields.click_names);
            pipe.add(&clicks, read_clicks);
            let mut count_uniques = redis::cmd("PFCOUNT");
            for bucket in &fields.uniques {
                count_uniques.arg(keys.click_uniques(query.owner, *bucket));
            }
            pipe.add(&clicks, count_uniques);
        }
        let replies = self.query_slots(&pipe).await?;
        let mut out = Vec::with_capacity(queries.len());
        for (((query, key), whole), reply) in queries
            .iter()
            .zip(&counts_keys)
            .zip(whole)
            .zip(replies.chunks_exact(3))
        {
            let values = if whole {
                picked(query.fields, &reply[0])
            } else {
                listed(&reply[0])
            }
            .ok_or_else(|| StoreError::corrupt(key, "the counters hash did not read as one"))?;
            let mut figures = split(key, query.fields, &values, metrics)?;
            let clicks_key = keys.click_counts(query.owner);
            let clicks = listed(&reply[1]).ok_or_else(|| {
                StoreError::corrupt(&clicks_key, "the click counters did not read as one")
            })?;
            figures.clicks = click_totals(&clicks_key, query.fields, &clicks, metrics)?;
            figures.clicks.unique_clicks = redis::from_redis_value_ref::<u64>(&reply[2])?.into();
            out.push(figures);
        }
        Ok(out)
    }
}

/// The values of an `HMGET` reply.
fn listed(reply: &Value) -> Option<Vec<&Value>> {
    match reply {
        Value::Array(values) => Some(values.iter().collect()),
        _ => None,
    }
}

/// Whether to read a counters hash whole rather than field by field. Redis keeps a hash of
/// up to `hash-max-listpack-entries` entries (512 by default) as one list and searches it
/// from the start for every field an `HMGET` names: a report over 32 currencies asked such
/// a hash for 163 fields and Redis spent 0.5 ms per owner; on a 296-entry list, 56 fields
/// (a rolling month: 7 buckets) took 165 µs where `HGETALL` took 35 µs and 8 fields 30 µs
/// (measured with `INFO commandstats`). Reading it whole is one pass, cheaper from about a
/// dozen fields on; larger hashes are indexed, and asking them for the report's fields only
/// is cheaper than reading their whole history.
fn reads_whole(size: usize, wanted: usize) -> bool {
    size <= 512 && (wanted >= 12 || size <= wanted.saturating_mul(4))
}

static NIL: Value = Value::Nil;

/// The report's fields out of an `HGETALL` reply, in the field set's order (absent ones nil).
fn picked<'a>(fields: &FieldSet, reply: &'a Value) -> Option<Vec<&'a Value>> {
    let mut values = vec![&NIL; fields.names.len()];
    let mut place = |name: &Value, value: &'a Value| {
        if let Value::BulkString(name) = name
            && let Some(i) = std::str::from_utf8(name)
                .ok()
                .and_then(|n| fields.index.get(n))
        {
            values[*i] = value;
        }
    };
    match reply {
        Value::Array(flat) => flat.chunks_exact(2).for_each(|kv| place(&kv[0], &kv[1])),
        Value::Map(pairs) => pairs.iter().for_each(|(k, v)| place(k, v)),
        _ => return None,
    }
    Some(values)
}

/// The money of each currency out of the `counts` hash's values.
fn split(
    key: &str,
    fields: &FieldSet,
    values: &[&Value],
    metrics: &Metrics,
) -> StoreResult<OwnerFigures> {
    let signs: Vec<Sign> = fields.buckets.iter().map(|(_, sign)| *sign).collect();
    let sums = summed(key, &fields.names, &signs, values, false, metrics)?;
    let at = |i: usize| sums.get(i).copied().unwrap_or(0);
    let money = (0..fields.currencies.len())
        .map(|c| {
            let base = c * MONEY_KINDS.len();
            Totals {
                orders: at(base),
                revenue: at(base + 1),
                refunds: at(base + 2),
                commission: at(base + 3),
                costs: at(base + COSTS),
                click_orders: at(base + 5),
                coupon_orders: at(base + 6),
                held_orders: at(base + 7),
                held_revenue: at(base + 8),
                pending_orders: at(base + 9),
                ..Totals::default()
            }
        })
        .collect();
    Ok(OwnerFigures {
        clicks: Totals::default(),
        money,
    })
}

/// Human, bot and suspicious clicks out of the click counters' `HMGET` reply.
fn click_totals(
    key: &str,
    fields: &FieldSet,
    values: &[&Value],
    metrics: &Metrics,
) -> StoreResult<Totals> {
    let signs: Vec<Sign> = fields.click_buckets.iter().map(|(_, sign)| *sign).collect();
    let sums = summed(key, &fields.click_names, &signs, values, true, metrics)?;
    let at = |i: usize| sums.get(i).copied().unwrap_or(0);
    Ok(Totals {
        clicks: at(0),
        bot_clicks: at(1),
        suspicious_clicks: at(2),
        ..Totals::default()
    })
}

/// Sums each run of bucket values (named by `names`, one run per kind and currency) into its
/// figure, adding or taking away each bucket as `signs` says. A click figure below zero (only
/// corrupt counters could make one) is shown as zero.
fn summed(
    key: &str,
    names: &[String],
    signs: &[Sign],
    values: &[&Value],
    clicks: bool,
    metrics: &Metrics,
) -> StoreResult<Vec<i128>> {
    let per_kind = signs.len().max(1);
    let mut sums = Vec::with_capacity(values.len() / per_kind);
    for (names, run) in names.chunks(per_kind).zip(values.chunks(per_kind)) {
        let mut sum = 0_i128;
        for ((name, value), sign) in names.iter().zip(run).zip(signs) {
            let Some(n) = counter(key, name, value, clicks, metrics) else {
                continue;
            };
            let n = match sign {
                Sign::Add => i128::from(n),
                Sign::Subtract => -i128::from(n),
            };
            sum = checked_sum(sum, n).map_err(|e| {
                metrics.report_overflows.inc();
                tracing::error!(
                    key,
                    field = name.as_str(),
                    "counters add up beyond what a report can hold"
                );
                StoreError::corrupt(key, e.to_string())
            })?;
        }
        sums.push(if clicks { sum.max(0) } else { sum });
    }
    Ok(sums)
}

/// One counter's value: absent is 0; anything but an integer (or a negative click count) is
/// corrupt, skipped and counted.
fn counter(key: &str, name: &str, value: &Value, clicks: bool, metrics: &Metrics) -> Option<i64> {
    let parsed = match value {
        Value::Nil => return Some(0),
        Value::Int(n) => Some(*n),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok().and_then(|s| s.parse().ok()),
        _ => None,
    };
    match parsed {
        Some(n) if !(clicks && n < 0) => Some(n),
        _ => {
            metrics.corrupt_record(CorruptKind::Counter);
            tracing::warn!(
                key,
                field = name,
                "skipped a counter that is not a valid integer"
            );
            None
        }
    }
}

impl OwnerFigures {
    /// Only the costs of `self`: a campaign's influencer figures take their clicks and orders
    /// from the campaign's links and only the costs booked to the campaign from themselves.
    #[must_use]
    pub fn costs_only(&self) -> Self {
        Self {
            clicks: Totals::default(),
            money: self
                .money
                .iter()
                .map(|m| Totals {
                    costs: m.costs,
                    ..Totals::default()
                })
                .collect(),
        }
    }

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
