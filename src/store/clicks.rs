//! Writing batches of clicks: one pipeline per batch (one per slot on a cluster).
//!
//! Work per click is kept small on both sides: clicks are summed as they arrive (see
//! [`super::click_sums`]), so each influencer and link gets one counters update per batch,
//! the batch's click records go in as one `SETRANGE` per run of consecutive click numbers
//! (see [`super::click_records`]), and each unique-visitor sketch gets one `PFADD` of the
//! batch's distinct visitors.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Days;
use redis::{AsyncCommands, Cmd};

use super::click_sums::{ClickSums, Tally};
use super::keys::Owner;
use super::{SlotPipeline, Store, StoreError, StoreResult};

/// Clicks written together. `(writer, seq)` identifies the batch, so writing it twice (a retry
/// after a timeout whose write had in fact landed, or a replay from the spool) counts it once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClickBatch {
    pub writer: Arc<str>,
    pub seq: u64,
    pub clicks: ClickSums,
}

/// How long a writer's last-applied batch number is remembered: far longer than any retry.
const APPLIED_TTL_SECS: u64 = 7 * 86_400;

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
struct BlockWrite<'a> {
    key: String,
    /// Runs of consecutive clicks: the byte offset of the first, and their records.
    runs: Vec<(isize, &'a [u8])>,
    /// When the block can go (unix seconds).
    expire_at: i64,
}

/// The writes of a batch's click records, one per block it touches.
fn record_writes<'a>(
    clicks: &'a ClickSums,
    window_days: u64,
    keys: &super::Keys,
) -> Vec<BlockWrite<'a>> {
    let mut by_block: HashMap<(&str, u64), BlockWrite<'a>> = HashMap::new();
    for run in &clicks.runs {
        let write = by_block
            .entry((&run.space, run.block()))
            .or_insert_with(|| BlockWrite {
                key: keys.click_block(&run.space, run.block()),
                runs: Vec::new(),
                expire_at: i64::MIN,
            });
        let offset = isize::try_from(run.offset()).unwrap_or(isize::MAX);
        write.runs.push((offset, &run.records));
        write.expire_at = write
            .expire_at
            .max(block_expiry(run.last_at_ms, window_days));
    }
    by_block.into_values().collect()
}

impl Store {
    /// Writes a batch: click records, counters (once per batch, by script) and unique-visitor
    /// sketches, in one pipeline.
    pub async fn write_clicks(&self, batch: &ClickBatch, window_days: u64) -> StoreResult<()> {
        let keys = self.keys();
        // Clicks are tallied per link; an influencer's tally is the sum of its links'.
        let mut by_influencer: HashMap<&str, Tally> = HashMap::new();
        for link in batch.clicks.links.values() {
            by_influencer
                .entry(&link.influencer_id)
                .or_default()
                .merge(&link.tally);
        }
        let mut pipe = SlotPipeline::new();
        for block in record_writes(&batch.clicks, window_days, keys) {
            for (offset, records) in block.runs {
                pipe.add(&block.key, Cmd::setrange(&block.key, offset, records));
            }
            pipe.add(&block.key, Cmd::expire_at(&block.key, block.expire_at));
        }
        let owners = by_influencer
            .iter()
            .map(|(id, t)| (Owner::Influencer(id), t))
            .chain(
                batch
                    .clicks
                    .links
                    .iter()
                    .map(|(code, link)| (Owner::Link(code), &link.tally)),
            );
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
            for (bucket, visitors) in tally.distinct_visitors() {
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
    use crate::domain::ClickClass;
    use crate::domain::{ClickId, IdSpace};
    use crate::store::click_records::{BLOCK_CLICKS, RECORD_LEN};
    use crate::store::{Click, Keys};

    fn sums_of(space: IdSpace, seqs: &[u64]) -> ClickSums {
        let (code, influencer) = (Arc::from("summer"), Arc::from("inf_abc"));
        let mut sums = ClickSums::default();
        let click = Click::for_test(&code, &influencer, ClickClass::Human);
        for &seq in seqs {
            sums.add(&ClickId::new(space, seq), &click);
        }
        sums
    }

    fn offset(slot: u64) -> isize {
        isize::try_from(usize::try_from(slot).unwrap() * RECORD_LEN).unwrap()
    }

    #[test]
    fn a_batch_writes_one_range_per_run_of_consecutive_clicks_in_each_block() {
        let space = IdSpace::random();
        let sums = sums_of(space, &[5, 6, 7, 9, BLOCK_CLICKS - 1, BLOCK_CLICKS]);

        let mut writes = record_writes(&sums, 30, &Keys::new("rt"));
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
