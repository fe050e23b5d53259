//! Moving the click counters and unique-visitor sketches of builds before the count shards
//! (see `keys.rs`) into the count shards, so an upgrade keeps click history in reports.
//!
//! Old keys are found by `SCAN` (on every master of a cluster), a page of [`SCAN_COUNT`] at a
//! time, so a large keyspace never stalls Redis. Old keys and shards sit in different slots, so
//! each owner's counters go in steps, each one script and safe to repeat after a crash:
//!
//! 1. `stage_clicks.lua` moves the click fields (`h:`, `b:`, `s:`) out of the old counters hash
//!    into a staging hash with a fresh token, in the old slot. Order, money and cost fields
//!    stay. A build still running keeps counting into the old hash; the next run moves that.
//! 2. `apply_staged_clicks.lua` adds the staged day and month fields to the shard (year fields
//!    are dropped: a year is read as its months) and marks the token applied, in one script:
//!    a rerun after a crash finds the mark and does not add again.
//! 3. The staging hash, then the mark, are deleted (each only if still that token's).
//!
//! Sketches are merged (a union, so merging twice is harmless) and the old one deleted only if
//! unchanged since it was read; year sketches are deleted. One process migrates at a time (a
//! lease, renewed every page): every owner's steps run in order, never beside another run's.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;

use super::connection::ScanNode;
use super::keys::{Owner, PreShardKey, count_shard};
use super::lease::Lease;
use super::{Store, StoreError, StoreResult};
use crate::domain::Bucket;

/// Keys a `SCAN` step looks at.
const SCAN_COUNT: usize = 500;

/// Owners or sketches migrated at once.
const CONCURRENCY: usize = 16;

/// How long the lease lasts unless renewed (it is renewed every page).
const LEASE: Duration = Duration::from_secs(60);

/// The name of this migration in the `migrations` hash.
const NAME: &str = "pre_shard_clicks";

/// Whether a finished migration runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateRun {
    /// At start-up: not when a run has finished before.
    Once,
    /// From the command line: look again (clicks an old build counted after the first run).
    Again,
}

/// What a run moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Owners whose click counters were added to their count shard.
    pub counters: u64,
    /// Day and month sketches merged into the count shards.
    pub sketches: u64,
    /// Year sketches deleted.
    pub year_sketches: u64,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migration {
    /// A run finished before (and this one was [`MigrateRun::Once`]).
    AlreadyDone,
    /// Another process holds the lease.
    Busy,
    Finished(Migrated),
    /// The lease expired mid-run (another process may have taken over); not marked finished.
    LeaseLost(Migrated),
}

impl Migrated {
    fn add(&mut self, other: Self) {
        self.counters += other.counters;
        self.sketches += other.sketches;
        self.year_sketches += other.year_sketches;
    }
}

fn token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Store {
    /// Migrates the old layout's click counters and sketches, unless `run` is
    /// [`MigrateRun::Once`] and it was done, or another process is at it.
    pub async fn migrate_pre_shard_clicks(&self, run: MigrateRun) -> StoreResult<Migration> {
        let keys = self.keys();
        let mut conn = self.conn();
        if run == MigrateRun::Once {
            let done: bool = redis::cmd("HEXISTS")
                .arg(keys.migrations())
                .arg(NAME)
                .query_async(&mut conn)
                .await?;
            if done {
                return Ok(Migration::AlreadyDone);
            }
        }
        let Some(lease) = self.take_lease(keys.migrate_lease(), LEASE).await? else {
            return Ok(Migration::Busy);
        };
        let outcome = self.migrate_every_node(&lease).await;
        let _ = self.release_lease(&lease).await;
        let outcome = outcome?;
        if let Migration::Finished(_) = outcome {
            let now = chrono::Utc::now().timestamp_millis();
            let _: i64 = redis::cmd("HSET")
                .arg(keys.migrations())
                .arg(NAME)
                .arg(now)
                .query_async(&mut conn)
                .await?;
        }
        Ok(outcome)
    }

    async fn migrate_every_node(&self, lease: &Lease) -> StoreResult<Migration> {
        let pattern = self.keys().pre_shard_pattern();
        let mut total = Migrated::default();
        for node in self.conn().scan_nodes().await? {
            let mut cursor = 0;
            loop {
                if !self.renew_lease(lease).await? {
                    return Ok(Migration::LeaseLost(total));
                }
                let (next, found) = self
                    .conn()
                    .scan_step(&node, cursor, &pattern, SCAN_COUNT)
                    .await?;
                total.add(self.migrate_page(&found).await?);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            if let ScanNode::Master { host, port } = &node {
                tracing::debug!(%host, port, "scanned a master for old click counters");
            }
        }
        Ok(Migration::Finished(total))
    }

    /// Migrates the old keys among one page of `SCAN`: each owner's counters once (its
    /// counters hash and its staging hash are one job), each sketch on its own.
    async fn migrate_page(&self, found: &[String]) -> StoreResult<Migrated> {
        let keys = self.keys();
        let mut jobs = HashSet::new();
        for key in found {
            match keys.parse_pre_shard(key) {
                Some(PreShardKey::Counts(owner) | PreShardKey::Staged(owner)) => {
                    jobs.insert(keys.counts(owner));
                }
                Some(PreShardKey::Sketch(..)) => {
                    jobs.insert(key.clone());
                }
                None => {}
            }
        }
        let mut total = Migrated::default();
        let mut done = stream::iter(jobs.into_iter().map(|key| {
            let store = self.clone();
            async move { store.migrate_key(&key).await }
        }))
        .buffer_unordered(CONCURRENCY);
        while let Some(migrated) = done.next().await {
            total.add(migrated?);
        }
        Ok(total)
    }

    async fn migrate_key(&self, key: &str) -> StoreResult<Migrated> {
        match self.keys().parse_pre_shard(key) {
            Some(PreShardKey::Counts(owner) | PreShardKey::Staged(owner)) => {
                self.migrate_counters(owner).await
            }
            Some(PreShardKey::Sketch(owner, bucket)) => self.migrate_sketch(owner, bucket).await,
            None => Ok(Migrated::default()),
        }
    }

    async fn migrate_counters(&self, owner: Owner<'_>) -> StoreResult<Migrated> {
        let keys = self.keys();
        let old = keys.counts(owner);
        let staged_key = keys.pre_shard_staged(owner);
        let fields = self.click_fields(&old).await?;
        let mut stage = self.scripts.stage_clicks.key(&old);
        stage.key(&staged_key).arg(token()).arg(&fields);
        let mut staged: HashMap<String, String> = self.write_script(&stage, &old).await?;
        let Some(staging) = staged.remove("_token") else {
            return Ok(Migrated::default());
        };
        let shard = count_shard(owner);
        let marks = keys.migrated(shard);
        let counts = keys.click_counts(owner);
        let mut apply = self.scripts.apply_staged_clicks.key(&counts);
        apply.key(&marks).arg(&old).arg(&staging);
        for (field, value) in &staged {
            apply.arg(field).arg(value);
        }
        let added: i64 = self.write_script(&apply, &counts).await?;
        let mut clear = self.scripts.clear_if.key(&staged_key);
        clear.arg("_token").arg(&staging).arg("key");
        let _: i64 = self.write_script(&clear, &staged_key).await?;
        let mut forget = self.scripts.clear_if.key(&marks);
        forget.arg(&old).arg(&staging).arg("field");
        let _: i64 = self.write_script(&forget, &marks).await?;
        Ok(Migrated {
            counters: u64::from(added == 1),
            ..Migrated::default()
        })
    }

    /// The click field names (`h:`, `b:`, `s:`) of an old counters hash, read a page at a time.
    async fn click_fields(&self, old: &str) -> StoreResult<Vec<String>> {
        let mut conn = self.conn();
        let mut fields = Vec::new();
        let mut cursor = 0_u64;
        loop {
            let (next, page): (u64, Vec<(String, String)>) = redis::cmd("HSCAN")
                .arg(old)
                .arg(cursor)
                .arg("MATCH")
                .arg("[hbs]:*")
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut conn)
                .await?;
            fields.extend(page.into_iter().map(|(field, _)| field));
            if next == 0 {
                return Ok(fields);
            }
            cursor = next;
        }
    }

    async fn migrate_sketch(&self, owner: Owner<'_>, bucket: Bucket) -> StoreResult<Migrated> {
        let keys = self.keys();
        let old = keys.pre_shard_sketch(owner, bucket);
        let mut conn = self.conn();
        if let Bucket::Year(_) = bucket {
            let deleted: u64 = redis::cmd("DEL").arg(&old).query_async(&mut conn).await?;
            return Ok(Migrated {
                year_sketches: deleted,
                ..Migrated::default()
            });
        }
        let Some(bytes): Option<Vec<u8>> =
            redis::cmd("GET").arg(&old).query_async(&mut conn).await?
        else {
            return Ok(Migrated::default());
        };
        let shard = count_shard(owner);
        let sketch = keys.click_uniques(owner, bucket);
        let mut merge = self.scripts.merge_sketch.key(&sketch);
        merge.key(keys.migrate_scratch(shard)).arg(&bytes);
        let _: i64 = self
            .write_script(&merge, &sketch)
            .await
            .map_err(|e| match e {
                // The script refused the bytes: name the key, so it can be looked at.
                StoreError::Redis(e)
                    if !(e.is_io_error() || e.is_timeout() || e.is_connection_dropped()) =>
                {
                    StoreError::corrupt(&old, e.to_string())
                }
                other => other,
            })?;
        let mut drop = self.scripts.drop_sketch.key(&old);
        drop.arg(&bytes);
        let _: i64 = self.write_script(&drop, &old).await?;
        Ok(Migrated {
            sketches: 1,
            ..Migrated::default()
        })
    }
}
