//! Writing batches of clicks: one pipeline per batch (one per slot on a cluster).
//!
//! Work per click is kept small on both sides: clicks are tallied in memory first, so each
//! influencer and link gets one counters update per batch, each day's click records go in one
//! multi-field `HSET`, and each unique-visitor sketch gets one `PFADD` of the batch's distinct
//! visitors.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use redis::{AsyncCommands, Cmd};

use super::keys::{CLICK_SHARDS, Owner, field};
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

/// Click records of one batch, by the `(UTC day, shard)` of the hash they go in.
type RecordsByBucket<'a> = HashMap<(NaiveDate, u8), Vec<(&'a str, String)>>;

/// Unix time at which a day's click bucket can go: when the attribution window of its last
/// click has passed.
fn bucket_expiry(day: NaiveDate, window_days: u64) -> i64 {
    day.checked_add_days(Days::new(window_days + 1))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(i64::MAX, |t| t.and_utc().timestamp())
}

impl Store {
    /// Writes a batch: click records, counters (once per batch, by script) and unique-visitor
    /// sketches, in one pipeline.
    pub async fn write_clicks(&self, batch: &ClickBatch, window_days: u64) -> StoreResult<()> {
        let keys = self.keys();
        // Per link first (a link names its influencer), then per influencer from the links.
        let mut by_link: HashMap<&str, (&str, Tally)> = HashMap::new();
        let mut records = RecordsByBucket::new();
        for click in &batch.clicks {
            by_link
                .entry(&click.code)
                .or_insert_with(|| (&click.influencer_id, Tally::default()))
                .1
                .add(click);
            let id = &click.click_id;
            let record = format!("{}|{}|{}", click.code, click.influencer_id, click.at_ms);
            records
                .entry((id.day(), id.shard(CLICK_SHARDS)))
                .or_default()
                .push((id.as_str(), record));
        }
        let mut by_influencer: HashMap<&str, Tally> = HashMap::new();
        for (influencer, tally) in by_link.values() {
            by_influencer.entry(influencer).or_default().merge(tally);
        }
        let mut pipe = SlotPipeline::new();
        for (&(day, shard), fields) in &records {
            let key = keys.click_bucket_of(day, shard);
            pipe.add(&key, Cmd::hset_multiple(&key, fields));
            pipe.add(&key, Cmd::expire_at(&key, bucket_expiry(day, window_days)));
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
