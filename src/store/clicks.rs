//! Writing batches of clicks: one pipeline per batch (one per slot on a cluster).
//!
//! Work per click is kept small on both sides: clicks are summed as they arrive (see
//! [`super::click_sums`]), the batch's click records go in as one `SETRANGE` per run of
//! consecutive click numbers (see [`super::click_records`]), and the counters of every link
//! and influencer the batch touches go in as one script per count shard (see
//! [`super::keys::COUNT_SHARDS`]), with a plain `PFADD` per unique-visitor sketch beside it: a
//! flush is a few round trips and at most 16 script calls however widely its clicks spread,
//! where a script per owner made the cost of a click grow with the number of links in play.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use redis::{AsyncCommands, Cmd};

use super::click_records;
use super::click_sums::ClickSums;
use super::keys::{Owner, count_shard};
use super::tallies::{FieldNames, Tally};
use super::{SlotPipeline, Store, StoreError, StoreResult};
use crate::domain::Bucket;

/// Clicks written together. `(writer, seq)` identifies the batch, so writing it twice (a retry
/// after a timeout whose write had in fact landed, or a replay from the spool) counts it once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClickBatch {
    pub writer: Arc<str>,
    pub seq: u64,
    pub clicks: ClickSums,
}

/// A click counter that refused a batch's increment: a damaged field (not an integer, or at
/// the end of Redis' range) or a key that is not a hash. Only its own increment is lost; the
/// batch's other counters are written (see `lua/apply_counts.lua`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefusedCounter {
    pub key: String,
    pub field: String,
}

/// The counters a counts script's reply names as refused: none when it answers 1 or 0.
fn refused_counters(reply: &redis::Value) -> Vec<RefusedCounter> {
    let redis::Value::Array(items) = reply else {
        return Vec::new();
    };
    let text = |v: &redis::Value| redis::from_redis_value::<String>(v.clone()).unwrap_or_default();
    items
        .chunks_exact(2)
        .map(|pair| RefusedCounter {
            key: text(&pair[0]),
            field: text(&pair[1]),
        })
        .collect()
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

/// The owners a batch counts clicks for, by count shard: each link with its tally, and each
/// influencer with the sum of its links' tallies.
fn by_shard(clicks: &ClickSums) -> HashMap<u32, Vec<(Owner<'_>, Cow<'_, Tally>)>> {
    let mut by_influencer: HashMap<&str, Tally> = HashMap::new();
    for link in clicks.links.values() {
        by_influencer
            .entry(&link.influencer_id)
            .or_default()
            .add_from(&link.tally);
    }
    let links = clicks
        .links
        .iter()
        .map(|(code, link)| (Owner::Link(code), Cow::Borrowed(&link.tally)));
    let influencers = by_influencer
        .into_iter()
        .map(|(id, tally)| (Owner::Influencer(id), Cow::Owned(tally)));
    let mut out: HashMap<u32, Vec<_>> = HashMap::new();
    for (owner, tally) in links.chain(influencers) {
        out.entry(count_shard(owner))
            .or_default()
            .push((owner, tally));
    }
    out
}

/// The counters script of one count shard for a batch (see `lua/apply_counts.lua`): for each
/// owner, whether its counters are kept as a hash table, then a day's field and its month's
/// for each day and class it counts (a field may come twice when two days share a month; the
/// script adds both).
fn shard_update(
    script_hash: &str,
    applied: &str,
    batch: &ClickBatch,
    owners: &[(Owner<'_>, Cow<'_, Tally>)],
    keys: &super::Keys,
    names: &mut FieldNames,
) -> Cmd {
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script_hash).arg(1 + owners.len()).arg(applied);
    for (owner, _) in owners {
        cmd.arg(keys.click_counts(*owner));
    }
    cmd.arg(&*batch.writer).arg(batch.seq).arg(APPLIED_TTL_SECS);
    for (owner, tally) in owners {
        cmd.arg(u8::from(kept_as_table(*owner)))
            .arg(2 * tally.clicks.len());
        for &(day, class, n) in &tally.clicks {
            let [day_field, month_field] = names.of(day, class);
            cmd.arg(day_field).arg(n).arg(month_field).arg(n);
        }
    }
    cmd
}

/// Whether an owner's click counters are kept as a hash table (see
/// [`super::keys::field::TABLE`]): an influencer's are, since its report over a year names 36
/// of their fields, and each is a search of the whole hash while Redis keeps it as one list
/// (40 µs for a 148-entry hash, 9 µs as a table). A link's stay a list: a flush touches ten
/// times as many of them, a table takes about four times a list's memory (10.3 KB against
/// 2.6 KB at 148 fields), and reports of links are paged by influencer. An owner with human
/// and bot clicks most days passes 512 entries within the year and becomes a table anyway, so
/// the choice changes memory most for young and quiet owners. The flush marks the hash on a
/// day's first count (see `lua/apply_counts.lua`).
fn kept_as_table(owner: Owner<'_>) -> bool {
    matches!(owner, Owner::Influencer(_))
}

/// Visitors sent in one `PFADD` at most, so no single command holds Redis for long.
const SKETCH_CHUNK: usize = 4096;

/// Adds the unique-visitor sketch updates of a count shard's owners to `pipe`: plain `PFADD`s,
/// since a sketch that takes a visitor twice is unchanged, so a batch written again needs no
/// guard. Visitors of `today` go to the day's sketch alone, and a daily run merges the day
/// into its month's once no process writes it as today (see `month_sketches.rs`); visitors of
/// an earlier day (a batch written just after midnight, or replayed from the spool) go to both,
/// since the run may have merged that day already.
fn add_sketches(
    pipe: &mut SlotPipeline,
    owners: &[(Owner<'_>, Cow<'_, Tally>)],
    keys: &super::Keys,
    today: NaiveDate,
) {
    for (owner, tally) in owners {
        for (day, visitors) in tally.visitors_by_day() {
            let [day_bucket, month_bucket, _] = Bucket::containing(day);
            let buckets: &[Bucket] = if day >= today {
                &[day_bucket]
            } else {
                &[day_bucket, month_bucket]
            };
            for &bucket in buckets {
                let key = keys.click_uniques(*owner, bucket);
                for chunk in visitors.chunks(SKETCH_CHUNK) {
                    let mut add = redis::cmd("PFADD");
                    add.arg(&key);
                    for visitor in chunk {
                        add.arg(&visitor.to_le_bytes()[..]);
                    }
                    pipe.add(&key, add);
                }
            }
        }
    }
}

/// What a batch writes to one block of click records.
struct BlockWrite<'a> {
    key: String,
    /// The batch holds the block's first click: it allocates the block whole.
    fresh: bool,
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
                fresh: false,
                runs: Vec::new(),
                expire_at: i64::MIN,
            });
        write.fresh |= run.offset() == 0;
        let offset = isize::try_from(run.offset()).unwrap_or(isize::MAX);
        write.runs.push((offset, &run.records));
        write.expire_at = write
            .expire_at
            .max(block_expiry(run.last_at_ms, window_days));
    }
    by_block.into_values().collect()
}

impl Store {
    /// Writes a batch: click records, then, for the tallies it carries, one script per count
    /// shard with the counters of every owner the batch touches there (once per batch, by its
    /// number) and the `PFADD`s of their unique-visitor sketches, in one pipeline (one per
    /// slot on a cluster).
    ///
    /// `new_links` are codes whose number this process has not registered yet (see
    /// [`super::click_records::link_number`]): they are registered in the same pipeline.
    /// `today` is the day now, in the reporting time zone: its visitors go to day sketches
    /// alone (see [`add_sketches`]).
    ///
    /// Gives the counters that refused their increment (see [`RefusedCounter`]); the rest of
    /// the batch is written.
    pub async fn write_clicks(
        &self,
        batch: &ClickBatch,
        window_days: u64,
        new_links: &[&str],
        today: NaiveDate,
    ) -> StoreResult<Vec<RefusedCounter>> {
        let keys = self.keys();
        let mut pipe = SlotPipeline::new();
        if !new_links.is_empty() {
            let numbers = keys.link_numbers();
            let mut register = redis::cmd("HSET");
            register.arg(&numbers);
            for code in new_links {
                register.arg(click_records::link_number(code)).arg(*code);
            }
            pipe.add(&numbers, register);
        }
        let empty_block = vec![0_u8; click_records::BLOCK_BYTES];
        for block in record_writes(&batch.clicks, window_days, keys) {
            if block.fresh {
                // Allocated whole, once: a string grown by SETRANGE doubles as it grows, and
                // its records would cost half again their size.
                let mut allocate = redis::cmd("SET");
                allocate.arg(&block.key).arg(&empty_block[..]).arg("NX");
                pipe.add(&block.key, allocate);
            }
            for (offset, records) in block.runs {
                pipe.add(&block.key, Cmd::setrange(&block.key, offset, records));
            }
            pipe.add(&block.key, Cmd::expire_at(&block.key, block.expire_at));
        }
        let script_hash = self.scripts.apply_counts.get_hash();
        let mut names = FieldNames::default();
        let mut scripts = Vec::new();
        for (shard, owners) in by_shard(&batch.clicks) {
            let applied = keys.click_applied(shard);
            scripts.push(pipe.len());
            pipe.add(
                &applied,
                shard_update(script_hash, &applied, batch, &owners, keys, &mut names),
            );
            add_sketches(&mut pipe, &owners, keys, today);
        }
        let replies = match self.write_slots(&pipe).await {
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
        }?;
        Ok(scripts
            .into_iter()
            .filter_map(|at| replies.get(at))
            .flat_map(refused_counters)
            .collect())
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
    fn an_influencer_counts_the_sum_of_its_links_and_each_day_adds_its_day_and_month_field() {
        let influencer: Arc<str> = Arc::from("inf_abc");
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("aaa"), Arc::from("bbb"));
        let mut sums = ClickSums::default();
        let space = IdSpace::random();
        for (seq, (code, class, day)) in [
            (&a, ClickClass::Human, 23),
            (&a, ClickClass::Human, 24),
            (&b, ClickClass::Human, 23),
            (&b, ClickClass::Bot, 23),
        ]
        .into_iter()
        .enumerate()
        {
            let mut click = Click::for_test(code, &influencer, class);
            click.day = chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
            sums.add(&ClickId::new(space, seq as u64), &click);
        }

        let shards = by_shard(&sums);
        let (_, tally) = shards
            .values()
            .flatten()
            .find(|(owner, _)| matches!(owner, Owner::Influencer("inf_abc")))
            .unwrap();
        let mut counts = tally.clicks.clone();
        counts.sort_unstable_by_key(|&(day, class, _)| (day, class as u8));
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        assert_eq!(
            counts[..],
            [
                (day(23), ClickClass::Human, 2),
                (day(23), ClickClass::Bot, 1),
                (day(24), ClickClass::Human, 1)
            ]
        );
        let mut names = FieldNames::default();
        assert_eq!(
            names.of(day(24), ClickClass::Human),
            &["h:d:20261124".to_owned(), "h:m:202611".to_owned()]
        );
        assert_eq!(
            names.of(day(23), ClickClass::Bot),
            &["b:d:20261123".to_owned(), "b:m:202611".to_owned()]
        );
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
