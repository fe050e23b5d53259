//! Writing batches of clicks: one pipeline per batch (one per slot on a cluster).
//!
//! Work per click is kept small on both sides: clicks are tallied in memory first, so each
//! influencer and link gets one counters update per batch, the batch's click records go in as
//! one `SETRANGE` per run of consecutive click numbers (see [`super::click_records`]), and each
//! unique-visitor sketch gets one `PFADD` of the batch's distinct visitors.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use redis::{AsyncCommands, Cmd};

use super::click_records::{self, BLOCK_CLICKS};
use super::keys::{Owner, field};
use super::{SlotPipeline, Store, StoreError, StoreResult};
use crate::domain::{Bucket, ClickId};

/// Whether a click came from a person or from a link-preview fetcher or crawler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ClickClass {
    Human,
    Bot,
    /// Scripted or repeated: a headless browser, a repeat within the repeat window, or a
    /// burst. Counted apart from people's clicks, and not as a unique visitor.
    Suspicious,
}

/// One answered redirect, as it is written to Redis (or to the spool while Redis is away).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RecordedClick {
    pub click_id: ClickId,
    pub code: Arc<str>,
    pub influencer_id: Arc<str>,
    pub at_ms: i64,
    /// The calendar day of the click in the reporting time zone.
    pub day: NaiveDate,
    pub class: ClickClass,
    /// Salted hash of the visitor's address and user agent, for unique counting.
    pub visitor: u64,
}

/// Clicks written together. `(writer, seq)` identifies the batch, so writing it twice (a retry
/// after a timeout whose write had in fact landed, or a replay from the spool) counts it once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClickBatch {
    pub writer: Arc<str>,
    pub seq: u64,
    pub clicks: Vec<RecordedClick>,
}

/// How long a writer's last-applied batch number is remembered: far longer than any retry.
const APPLIED_TTL_SECS: u64 = 7 * 86_400;

/// One influencer's or link's clicks in a batch.
#[derive(Default)]
struct Tally {
    clicks: HashMap<(NaiveDate, ClickClass), i64>,
    visitors: HashMap<NaiveDate, Vec<u64>>,
}

impl Tally {
    fn add(&mut self, click: &RecordedClick) {
        *self.clicks.entry((click.day, click.class)).or_default() += 1;
        if click.class == ClickClass::Human {
            self.visitors
                .entry(click.day)
                .or_default()
                .push(click.visitor);
        }
    }

    fn merge(&mut self, other: &Self) {
        for (key, n) in &other.clicks {
            *self.clicks.entry(*key).or_default() += n;
        }
        for (day, visitors) in &other.visitors {
            self.visitors.entry(*day).or_default().extend(visitors);
        }
    }

    /// Counter field increments, per day and per month.
    fn increments(&self) -> HashMap<String, i64> {
        let mut out = HashMap::new();
        for (&(day, class), &n) in &self.clicks {
            for bucket in Bucket::containing(day) {
                let name = match class {
                    ClickClass::Human => field::human(bucket),
                    ClickClass::Bot => field::bot(bucket),
                    ClickClass::Suspicious => field::suspicious(bucket),
                };
                *out.entry(name).or_default() += n;
            }
        }
        out
    }

    /// Distinct visitors per day and per month bucket.
    fn visitors(&self) -> HashMap<Bucket, Vec<u64>> {
        let mut out: HashMap<Bucket, Vec<u64>> = HashMap::new();
        for (&day, visitors) in &self.visitors {
            for bucket in Bucket::containing(day) {
                out.entry(bucket).or_default().extend(visitors);
            }
        }
        for visitors in out.values_mut() {
            visitors.sort_unstable();
            visitors.dedup();
        }
        out
    }
}

/// Unix time at which a block of click records can go: when the attribution window of its
/// last click (at `at_ms`) has passed, rounded up to a day.
fn block_expiry(at_ms: i64, window_days: u64) -> i64 {
    chrono::DateTime::from_timestamp_millis(at_ms)
        .map(|t| t.date_naive())
        .and_then(|day| day.checked_add_days(Days::new(window_days + 1)))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(i64::MAX, |t| t.and_utc().timestamp())
}

/// What a batch writes to one block of click records.
struct BlockWrite {
    key: String,
    /// Runs of consecutive clicks: the byte offset of the first, and their records.
    runs: Vec<(isize, Vec<u8>)>,
    /// When the block can go (unix seconds).
    expire_at: i64,
}

/// The writes of a batch's click records, one per block it touches.
fn record_writes(batch: &ClickBatch, window_days: u64, keys: &super::Keys) -> Vec<BlockWrite> {
    let mut by_block: HashMap<(&str, u64), Vec<&RecordedClick>> = HashMap::new();
    for click in &batch.clicks {
        let block = click.click_id.seq() / BLOCK_CLICKS;
        by_block
            .entry((click.click_id.space(), block))
            .or_default()
            .push(click);
    }
    by_block
        .into_iter()
        .map(|((space, block), mut clicks)| {
            clicks.sort_unstable_by_key(|c| c.click_id.seq());
            let mut runs: Vec<(isize, Vec<u8>)> = Vec::new();
            let mut next_seq = None;
            for click in &clicks {
                let seq = click.click_id.seq();
                if next_seq != Some(seq) {
                    let offset = click_records::slot_of(&click.click_id).1;
                    runs.push((isize::try_from(offset).unwrap_or(isize::MAX), Vec::new()));
                }
                next_seq = Some(seq + 1);
                let (_, records) = runs.last_mut().expect("a run was started");
                click_records::encode(&click.click_id, &click.code, click.at_ms, records);
            }
            let last_ms = clicks.iter().map(|c| c.at_ms).max().unwrap_or_default();
            BlockWrite {
                key: keys.click_block(space, block),
                runs,
                expire_at: block_expiry(last_ms, window_days),
            }
        })
        .collect()
}

impl Store {
    /// Writes a batch: click records, counters (once per batch, by script) and unique-visitor
    /// sketches, in one pipeline.
    pub async fn write_clicks(&self, batch: &ClickBatch, window_days: u64) -> StoreResult<()> {
        let keys = self.keys();
        // Per link first (a link names its influencer), then per influencer from the links.
        let mut by_link: HashMap<&str, (&str, Tally)> = HashMap::new();
        for click in &batch.clicks {
            by_link
                .entry(&click.code)
                .or_insert_with(|| (&click.influencer_id, Tally::default()))
                .1
                .add(click);
        }
        let mut by_influencer: HashMap<&str, Tally> = HashMap::new();
        for (influencer, tally) in by_link.values() {
            by_influencer.entry(influencer).or_default().merge(tally);
        }
        let mut pipe = SlotPipeline::new();
        for block in record_writes(batch, window_days, keys) {
            for (offset, records) in block.runs {
                pipe.add(&block.key, Cmd::setrange(&block.key, offset, records));
            }
            pipe.add(&block.key, Cmd::expire_at(&block.key, block.expire_at));
        }
        let owners = by_influencer
            .iter()
            .map(|(id, t)| (Owner::Influencer(id), t))
            .chain(by_link.iter().map(|(code, (_, t))| (Owner::Link(code), t)));
        let script_hash = self.scripts.apply_counts.get_hash();
        for (owner, tally) in owners {
            let counts = keys.counts(owner);
            let mut apply = redis::cmd("EVALSHA");
            apply
                .arg(script_hash)
                .arg(2)
                .arg(keys.applied(owner))
                .arg(&counts)
                .arg(&*batch.writer)
                .arg(batch.seq)
                .arg(APPLIED_TTL_SECS);
            for (name, n) in tally.increments() {
                apply.arg(name).arg(n);
            }
            pipe.add(&counts, apply);
            for (bucket, visitors) in tally.visitors() {
                let elements: Vec<[u8; 8]> = visitors.iter().map(|v| v.to_le_bytes()).collect();
                let elements: Vec<&[u8]> = elements.iter().map(<[u8; 8]>::as_slice).collect();
                let sketch = keys.uniques(owner, bucket);
                pipe.add(&sketch, Cmd::pfadd(&sketch, elements));
            }
        }
        match self.write_slots(&pipe).await {
            Err(StoreError::Redis(e))
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
            {
                // A restarted or failed-over Redis has lost its script cache. Everything in the
                // batch is idempotent (the counters by their batch number), so load the script
                // and write the batch again.
                let _: String = self
                    .scripts
                    .apply_counts
                    .prepare_invoke()
                    .load_async(&mut self.conn())
                    .await?;
                self.write_slots(&pipe).await
            }
            other => other,
        }
    }

    /// The secret salt of the visitor hash, created by whichever replica asks first.
    pub async fn visitor_salt(&self) -> StoreResult<String> {
        let key = self.keys().visitor_salt();
        let mut conn = self.conn();
        let fresh = crate::domain::random_string(&nanoid::alphabet::SAFE, 32);
        let _: bool = conn.set_nx(&key, &fresh).await?;
        Ok(conn.get(&key).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IdSpace;
    use crate::store::Keys;
    use click_records::RECORD_LEN;

    fn batch_of(space: IdSpace, seqs: &[u64]) -> ClickBatch {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        ClickBatch {
            writer: Arc::from("w"),
            seq: 1,
            clicks: seqs
                .iter()
                .map(|&seq| RecordedClick {
                    click_id: ClickId::new(space, seq),
                    code: Arc::from("summer"),
                    influencer_id: Arc::from("inf_abc"),
                    at_ms: 1_795_400_000_000,
                    day,
                    class: ClickClass::Human,
                    visitor: 1,
                })
                .collect(),
        }
    }

    fn offset(slot: u64) -> isize {
        isize::try_from(usize::try_from(slot).unwrap() * RECORD_LEN).unwrap()
    }

    #[test]
    fn a_batch_writes_one_range_per_run_of_consecutive_clicks_in_each_block() {
        let space = IdSpace::random();
        let batch = batch_of(space, &[7, 5, 6, BLOCK_CLICKS, 9, BLOCK_CLICKS - 1]);

        let mut writes = record_writes(&batch, 30, &Keys::new("rt"));
        writes.sort_by(|a, b| a.key.cmp(&b.key));

        let runs = |w: &BlockWrite| {
            let mut runs: Vec<(isize, usize)> = w
                .runs
                .iter()
                .map(|(at, r)| (*at, r.len() / RECORD_LEN))
                .collect();
            runs.sort_unstable();
            runs
        };
        assert_eq!(writes.len(), 2);
        assert!(writes[0].key.ends_with(":0}") && writes[1].key.ends_with(":1}"));
        assert_eq!(
            runs(&writes[0]),
            [
                (offset(5), 3),
                (offset(9), 1),
                (offset(BLOCK_CLICKS - 1), 1)
            ]
        );
        assert_eq!(runs(&writes[1]), [(0, 1)]);
        // Kept until the window has passed: 31 days after the click's day began.
        let day_start = 1_795_392_000;
        assert_eq!(writes[0].expire_at, day_start + 31 * 86_400);
    }
}
