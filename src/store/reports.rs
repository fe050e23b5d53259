//! Reading pre-aggregated counters for reports: a few fields per owner and bucket, never the
//! clicks or orders themselves.
//!
//! One read per owner covers every currency a report needs: the money fields of all of them
//! come back in the same `HMGET` and are split by currency here, so a report over influencers
//! who sold in 32 currencies costs one pass, not 32.

use futures_util::{StreamExt, TryStreamExt, stream};
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
    /// The unique-visitor sketches united (days and months).
    uniques: Vec<Bucket>,
    currencies: Vec<Currency>,
    /// The money figures read, per currency and bucket.
    kinds: &'static [MoneyKind],
    /// Per currency, each of `kinds` per bucket: fields of the owner's `counts` hash.
    names: Vec<String>,
    /// Where each name is in `names`, to pick the report's fields out of a whole hash: by
    /// bytes with a fast hash, since every field of every hash read whole is looked up here.
    index: foldhash::HashMap<Box<[u8]>, usize>,
    /// Human, bot and suspicious clicks per click bucket: fields of the owner's click
    /// counters (in its count shard). Empty when the report takes no clicks from the owner.
    click_names: Vec<String>,
    /// The buckets the report's clicks are read from, each added or taken away.
    click_buckets: Vec<(Bucket, Sign)>,
    /// Where the human clicks of each of `uniques` are in the reply to the click counters'
    /// `HMGET` (`click_names`, then `extra_humans`): a sketch takes only human clicks'
    /// visitors, so a bucket without human clicks has no sketch and is left out of the
    /// owner's `PFCOUNT` (see [`Store::report_figures`]).
    unique_humans: Vec<usize>,
    /// The human-click fields of the unique-visitor buckets whose clicks the report does not
    /// read already (a field named twice is searched twice in a list). Calendar months, the
    /// last 30 days and the last year add none; a range that reads a cut month's clicks as
    /// the month less the days left out, but its visitors by day, names each of those days:
    /// in a link's list that is a search each, about what naming their sketches cost.
    extra_humans: Vec<String>,
}

/// A money counter: its field per currency and bucket, and the figure it adds up to.
#[derive(Debug)]
struct MoneyKind {
    field: fn(Currency, Bucket) -> String,
    figure: fn(&mut Totals) -> &mut i128,
}

impl MoneyKind {
    const fn new(
        field: fn(Currency, Bucket) -> String,
        figure: fn(&mut Totals) -> &mut i128,
    ) -> Self {
        Self { field, figure }
    }
}

/// Every money figure of a report row.
const MONEY_KINDS: [MoneyKind; 10] = [
    MoneyKind::new(field::orders, |t| &mut t.orders),
    MoneyKind::new(field::revenue, |t| &mut t.revenue),
    MoneyKind::new(field::refunds, |t| &mut t.refunds),
    MoneyKind::new(field::commission, |t| &mut t.commission),
    MoneyKind::new(field::costs, |t| &mut t.costs),
    MoneyKind::new(field::click_orders, |t| &mut t.click_orders),
    MoneyKind::new(field::coupon_orders, |t| &mut t.coupon_orders),
    MoneyKind::new(field::held_orders, |t| &mut t.held_orders),
    MoneyKind::new(field::held_revenue, |t| &mut t.held_revenue),
    MoneyKind::new(field::pending_orders, |t| &mut t.pending_orders),
];
/// The costs alone (named per campaign when read for one: see [`FieldSet::campaign_costs`]).
const COSTS_ONLY: [MoneyKind; 1] = [MoneyKind::new(field::costs, |t| &mut t.costs)];
const CLICK_KINDS: [fn(Bucket) -> String; 3] = [field::human, field::bot, field::suspicious];

impl FieldSet {
    /// Every figure over the buckets of `reads` for each of `currencies`.
    pub fn new(reads: &Reads, currencies: &[Currency]) -> Self {
        let names = money_names(reads, currencies, &MONEY_KINDS, |kind, currency, bucket| {
            (kind.field)(currency, bucket)
        });
        let click_names = CLICK_KINDS
            .iter()
            .flat_map(|kind| reads.clicks.iter().map(|(b, _)| kind(*b)))
            .collect();
        Self::with(reads, currencies, &MONEY_KINDS, names, click_names)
    }

    /// Only the costs booked to `campaign`: what a campaign report takes from its
    /// influencers (their clicks and orders come from the campaign's links), so nothing else
    /// of theirs is read.
    pub fn campaign_costs(reads: &Reads, currencies: &[Currency], campaign: &str) -> Self {
        let names = money_names(reads, currencies, &COSTS_ONLY, |_, currency, bucket| {
            field::campaign_costs(campaign, currency, bucket)
        });
        Self::with(reads, currencies, &COSTS_ONLY, names, Vec::new())
    }

    fn with(
        reads: &Reads,
        currencies: &[Currency],
        kinds: &'static [MoneyKind],
        names: Vec<String>,
        click_names: Vec<String>,
    ) -> Self {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.as_bytes().into(), i))
            .collect();
        let clicks = !click_names.is_empty();
        let uniques = if clicks {
            reads.uniques.clone()
        } else {
            Vec::new()
        };
        let mut extra_humans = Vec::new();
        let unique_humans = uniques
            .iter()
            .map(|bucket| {
                let name = field::human(*bucket);
                click_names
                    .iter()
                    .position(|n| *n == name)
                    .unwrap_or_else(|| {
                        extra_humans.push(name);
                        click_names.len() + extra_humans.len() - 1
                    })
            })
            .collect();
        Self {
            buckets: reads.counters.clone(),
            unique_humans,
            extra_humans,
            uniques,
            currencies: currencies.to_vec(),
            kinds,
            names,
            index,
            click_names,
            click_buckets: if clicks {
                reads.clicks.clone()
            } else {
                Vec::new()
            },
        }
    }

    pub fn currencies(&self) -> &[Currency] {
        &self.currencies
    }

    /// Whether the owner's clicks and unique visitors are read.
    fn reads_clicks(&self) -> bool {
        !self.click_names.is_empty()
    }
}

/// Per currency, per kind, the field of each counter bucket of `reads`.
fn money_names(
    reads: &Reads,
    currencies: &[Currency],
    kinds: &[MoneyKind],
    name: impl Fn(&MoneyKind, Currency, Bucket) -> String,
) -> Vec<String> {
    let mut names = Vec::with_capacity(reads.counters.len() * kinds.len() * currencies.len());
    for currency in currencies {
        for kind in kinds {
            names.extend(
                reads
                    .counters
                    .iter()
                    .map(|(b, _)| name(kind, *currency, *b)),
            );
        }
    }
    names
}

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
                    let visited: Vec<Bucket> = fields
                        .uniques
                        .iter()
                        .zip(&fields.unique_humans)
                        .filter(|(_, at)| values.get(**at).is_some_and(|human| !is_zero(human)))
                        .map(|(bucket, _)| *bucket)
                        .collect();
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
            let mut figures = split(key, query.fields, &values, metrics)?;
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

/// The next reply of a pipeline, read for `key`.
fn next_reply<'a>(replies: &mut std::slice::Iter<'a, Value>, key: &str) -> StoreResult<&'a Value> {
    replies
        .next()
        .ok_or_else(|| StoreError::corrupt(key, "a report read came back short"))
}

/// Whether a counter's reply says no clicks: absent, or zero. Anything else, a corrupt value
/// too, may have a sketch beside it, so its sketch is counted.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Nil => true,
        Value::Int(n) => *n == 0,
        Value::BulkString(bytes) => bytes.as_slice() == b"0",
        _ => false,
    }
}

/// The values of an `HMGET` reply.
fn listed(reply: &Value) -> Option<Vec<&Value>> {
    match reply {
        Value::Array(values) => Some(values.iter().collect()),
        _ => None,
    }
}

/// What Redis holds a counters hash as, which decides how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    entries: usize,
    /// Kept as a hash table (looked up by field), not one list searched from its start.
    table: bool,
}

impl Shape {
    /// Out of the `HLEN` and `OBJECT ENCODING` replies (nil when the hash does not exist).
    fn of([entries, encoding]: [&Value; 2]) -> StoreResult<Self> {
        let encoding: Option<String> = redis::from_redis_value_ref(encoding)?;
        Ok(Self {
            entries: redis::from_redis_value_ref(entries)?,
            table: encoding.as_deref() == Some("hashtable"),
        })
    }
}

/// Whether to read a counters hash whole rather than field by field. A hash table is asked
/// for the report's fields only: each is one lookup (70 fields of a 310-entry hash: 15 µs).
/// A hash Redis keeps as one list (up to `hash-max-listpack-entries` entries, 512 by
/// default, and no value over `hash-max-listpack-value`) is searched from its start for
/// every field an `HMGET` names: 70 fields (a rolling month) took 230 µs there, `HGETALL`
/// 56 µs, 8 fields 30 µs (measured with `INFO commandstats`). Reading a list whole is one
/// pass, cheaper from about a dozen fields on. Money counters are kept as tables (see
/// [`field::TABLE`]); a hash not written since a build before that may still be a list.
fn reads_whole(shape: Shape, wanted: usize) -> bool {
    !shape.table
        && shape.entries <= 512
        && (wanted >= 12 || shape.entries <= wanted.saturating_mul(4))
}

static NIL: Value = Value::Nil;

/// The report's fields out of an `HGETALL` reply, in the field set's order (absent ones nil).
fn picked<'a>(fields: &FieldSet, reply: &'a Value) -> Option<Vec<&'a Value>> {
    let mut values = vec![&NIL; fields.names.len()];
    let mut place = |name: &Value, value: &'a Value| {
        if let Value::BulkString(name) = name
            && let Some(i) = fields.index.get(name.as_slice())
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
    let kinds = fields.kinds.len();
    let money = (0..fields.currencies.len())
        .map(|c| {
            let mut totals = Totals::default();
            for (i, kind) in fields.kinds.iter().enumerate() {
                *(kind.figure)(&mut totals) = sums.get(c * kinds + i).copied().unwrap_or(0);
            }
            totals
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

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::DateRange;

    fn fields(from: &str, to: &str, today: &str) -> FieldSet {
        let day = |raw: &str| NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap();
        let range = DateRange::new(day(from), day(to)).unwrap();
        FieldSet::new(&Reads::of(range, day(today)), &[])
    }

    #[test]
    fn each_unique_bucket_finds_its_human_clicks_and_none_is_named_twice() {
        // A calendar year, a rolling year, a rolling month and a range of days within one.
        for (from, to) in [
            ("2025-01-01", "2025-12-31"),
            ("2025-11-28", "2026-11-28"),
            ("2026-10-30", "2026-11-28"),
            ("2026-09-03", "2026-09-30"),
        ] {
            let fields = fields(from, to, "2026-11-28");
            let named: Vec<&String> = fields
                .click_names
                .iter()
                .chain(&fields.extra_humans)
                .collect();
            for (bucket, at) in fields.uniques.iter().zip(&fields.unique_humans) {
                assert_eq!(*named[*at], field::human(*bucket), "{from}..{to}");
            }
            let distinct: std::collections::HashSet<&&String> = named.iter().collect();
            assert_eq!(distinct.len(), named.len(), "{from}..{to}: {named:?}");
        }
    }

    #[test]
    fn a_bucket_without_human_clicks_reads_as_zero_and_anything_else_as_some() {
        for zero in [Value::Nil, Value::Int(0), Value::BulkString(b"0".to_vec())] {
            assert!(is_zero(&zero), "{zero:?}");
        }
        for some in [
            Value::Int(3),
            Value::BulkString(b"12".to_vec()),
            Value::BulkString(b"x".to_vec()),
        ] {
            assert!(!is_zero(&some), "{some:?}");
        }
    }
}
