//! Writing batches of clicks: one pipeline per batch.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use redis::AsyncCommands;

use super::keys::{Owner, field};
use super::{Store, StoreResult};
use crate::domain::{Bucket, ClickId};

/// Whether a click came from a person or from a link-preview fetcher or crawler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClickClass {
    Human,
    Bot,
}

/// One answered redirect, as it is written to Redis.
#[derive(Debug, Clone)]
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
/// after a timeout whose write had in fact landed) counts it once.
#[derive(Debug, Clone)]
pub struct ClickBatch {
    pub writer: Arc<str>,
    pub seq: u64,
    pub clicks: Vec<RecordedClick>,
}

/// How long a writer's last-applied batch number is remembered: far longer than any retry.
const APPLIED_TTL_SECS: u64 = 7 * 86_400;

/// Counter increments and unique visitors for one influencer or one link.
#[derive(Default)]
struct Tally {
    increments: HashMap<String, i64>,
    visitors: HashMap<Bucket, Vec<[u8; 8]>>,
}

impl Tally {
    fn add(&mut self, click: &RecordedClick) {
        for bucket in Bucket::containing(click.day) {
            let name = match click.class {
                ClickClass::Human => field::human(bucket),
                ClickClass::Bot => field::bot(bucket),
            };
            *self.increments.entry(name).or_default() += 1;
            if click.class == ClickClass::Human {
                self.visitors
                    .entry(bucket)
                    .or_default()
                    .push(click.visitor.to_le_bytes());
            }
        }
    }
}

impl Store {
    /// Writes a batch: click records, counters (once per batch, by script) and unique-visitor
    /// sketches, in one pipeline.
    pub async fn write_clicks(&self, batch: &ClickBatch, click_ttl_secs: u64) -> StoreResult<()> {
        let keys = self.keys();
        let mut by_influencer: HashMap<&str, Tally> = HashMap::new();
        let mut by_link: HashMap<&str, Tally> = HashMap::new();
        let mut pipe = redis::pipe();
        for click in &batch.clicks {
            by_influencer
                .entry(&click.influencer_id)
                .or_default()
                .add(click);
            by_link.entry(&click.code).or_default().add(click);
            let record = format!("{}|{}|{}", click.code, click.influencer_id, click.at_ms);
            pipe.set_ex(keys.click(&click.click_id), record, click_ttl_secs)
                .ignore();
        }
        let owners = by_influencer
            .iter()
            .map(|(id, t)| (Owner::Influencer(id), t))
            .chain(by_link.iter().map(|(code, t)| (Owner::Link(code), t)));
        let script_hash = self.scripts.apply_counts.get_hash();
        for (owner, tally) in owners {
            let cmd = pipe
                .cmd("EVALSHA")
                .arg(script_hash)
                .arg(2)
                .arg(keys.applied(owner))
                .arg(keys.counts(owner))
                .arg(&*batch.writer)
                .arg(batch.seq)
                .arg(APPLIED_TTL_SECS);
            for (name, n) in &tally.increments {
                cmd.arg(name).arg(n);
            }
            cmd.ignore();
            for (bucket, visitors) in &tally.visitors {
                let elements: Vec<&[u8]> = visitors.iter().map(<[u8; 8]>::as_slice).collect();
                pipe.pfadd(keys.uniques(owner, *bucket), elements).ignore();
            }
        }
        let mut conn = self.conn();
        match pipe.query_async::<()>(&mut conn).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                // A restarted or failed-over Redis has lost its script cache. Everything in the
                // batch is idempotent (the counters by their batch number), so load the script
                // and write the batch again.
                let _: String = self
                    .scripts
                    .apply_counts
                    .prepare_invoke()
                    .load_async(&mut conn)
                    .await?;
                pipe.query_async::<()>(&mut conn).await?;
                Ok(())
            }
            other => Ok(other?),
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
