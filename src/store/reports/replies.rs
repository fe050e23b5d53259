//! Reading the replies of a report's reads: counters summed by bucket and sign, a bad one
//! skipped and counted, never a failed report.

use redis::Value;

use super::FieldSet;
use crate::domain::{Bucket, Sign, Totals, checked_sum};
use crate::metrics::{CorruptKind, Metrics};
use crate::store::{StoreError, StoreResult};

/// The next reply of a pipeline, read for `key`.
pub(super) fn next_reply<'a>(
    replies: &mut std::slice::Iter<'a, Value>,
    key: &str,
) -> StoreResult<&'a Value> {
    replies
        .next()
        .ok_or_else(|| StoreError::corrupt(key, "a report read came back short"))
}

/// The unique-visitor buckets of `fields` that had human clicks, by the click counters'
/// `HMGET` reply: the only ones with a sketch (see [`FieldSet`]'s `unique_humans`).
pub(super) fn visited_buckets(fields: &FieldSet, values: &[&Value]) -> Vec<Bucket> {
    fields
        .uniques
        .iter()
        .zip(&fields.unique_humans)
        .filter(|(_, at)| values.get(**at).is_some_and(|human| !is_zero(human)))
        .map(|(bucket, _)| *bucket)
        .collect()
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
pub(super) fn listed(reply: &Value) -> Option<Vec<&Value>> {
    match reply {
        Value::Array(values) => Some(values.iter().collect()),
        _ => None,
    }
}

/// What Redis holds a counters hash as, which decides how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shape {
    entries: usize,
    /// Kept as a hash table (looked up by field), not one list searched from its start.
    table: bool,
}

impl Shape {
    /// Out of the `HLEN` and `OBJECT ENCODING` replies (nil when the hash does not exist).
    pub(super) fn of([entries, encoding]: [&Value; 2]) -> StoreResult<Self> {
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
/// [`crate::store::keys::field::TABLE`]); a hash not written since a build before that may
/// still be a list.
pub(super) fn reads_whole(shape: Shape, wanted: usize) -> bool {
    !shape.table
        && shape.entries <= 512
        && (wanted >= 12 || shape.entries <= wanted.saturating_mul(4))
}

static NIL: Value = Value::Nil;

/// The report's fields out of an `HGETALL` reply, in the field set's order (absent ones nil).
pub(super) fn picked<'a>(fields: &FieldSet, reply: &'a Value) -> Option<Vec<&'a Value>> {
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

/// The money of each currency out of the `counts` hash's values, in the field set's
/// currencies' order.
pub(super) fn split(
    key: &str,
    fields: &FieldSet,
    values: &[&Value],
    metrics: &Metrics,
) -> StoreResult<Vec<Totals>> {
    let signs: Vec<Sign> = fields.buckets.iter().map(|(_, sign)| *sign).collect();
    let sums = summed(key, &fields.names, &signs, values, false, metrics)?;
    let kinds = fields.kinds.len();
    Ok((0..fields.currencies.len())
        .map(|c| {
            let mut totals = Totals::default();
            for (i, kind) in fields.kinds.iter().enumerate() {
                *(kind.figure)(&mut totals) = sums.get(c * kinds + i).copied().unwrap_or(0);
            }
            totals
        })
        .collect())
}

/// Human, bot and suspicious clicks out of the click counters' `HMGET` reply.
pub(super) fn click_totals(
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
#[cfg(test)]
mod tests {
    use super::*;

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
