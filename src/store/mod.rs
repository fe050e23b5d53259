//! All Redis code: keys, scripts and the reads and writes of each kind of record.

mod campaigns;
mod changes;
mod click;
pub mod click_records;
mod click_sums;
mod clicks;
mod connection;
mod costs;
mod coupons;
mod index_pages;
mod influencers;
pub mod keys;
mod lease;
mod links;
mod links_index;
mod migrate;
mod month_sketches;
mod orders;
mod pending;
mod reports;
mod scripts;
mod tallies;

use std::collections::HashMap;
use std::sync::Arc;

use connection::{Connection, Replication, SlotPipeline};

pub use changes::{Change, ChangeFeed, Missed};
pub use click::Click;
pub use click_sums::ClickSums;
pub use clicks::{ClickBatch, RefusedCounter};
pub use connection::RedisTarget;
pub use coupons::AddCoupon;
pub use index_pages::MAX_SCANNED;
pub use influencers::{InfluencerRecord, SaveInfluencer};
pub use keys::{Keys, Owner};
pub use links::{CreateLink, LinkRecord};
pub use migrate::{MigrateRun, Migrated, Migration};
pub use month_sketches::SketchMerge;
pub use orders::StoredOrder;
pub use reports::{FieldSet, FigureQuery, OwnerFigures};
pub use scripts::checked_source;
pub use tallies::Tallies;

use scripts::Scripts;

/// Entries kept in the changes stream (about 28 bytes each, measured: ~28 MB at the cap):
/// 33 s of bulk link creation at 30,000 a second. A replica further behind than this reloads the links of the influencers
/// changed since (see `changes.rs`).
const CHANGES_MAX_LEN: usize = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("stored record {key} is malformed: {problem}")]
    Corrupt { key: String, problem: String },
}

impl From<redis::ParsingError> for StoreError {
    fn from(e: redis::ParsingError) -> Self {
        Self::Redis(e.into())
    }
}

impl StoreError {
    pub(crate) fn corrupt(key: &str, problem: impl Into<String>) -> Self {
        Self::Corrupt {
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A handle on the Redis store (one server or a cluster), cheap to clone: clones share one
/// multiplexed connection (per node) that reconnects by itself.
#[derive(Clone)]
pub struct Store {
    conn: Connection,
    keys: Arc<Keys>,
    scripts: Arc<Scripts>,
    /// What a write waits for (`redis.wait_replicas`). A `WAIT` may take half the Redis
    /// deadline, so a write no replica took in time fails with that reason before the call's
    /// deadline cuts it off.
    replication: Replication,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to Redis. The target's timeout bounds every call, so a hung Redis fails a
    /// request instead of hanging it.
    pub async fn connect(target: &RedisTarget<'_>, key_prefix: &str) -> StoreResult<Self> {
        Ok(Self {
            conn: Connection::open(target).await?,
            keys: Arc::new(Keys::new(key_prefix)),
            scripts: Arc::new(Scripts::new()),
            replication: Replication {
                replicas: target.wait_replicas,
                timeout: target.timeout / 2,
            },
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A connection handle for one operation (a clone of the multiplexed connection).
    fn conn(&self) -> Connection {
        self.conn.clone()
    }

    /// Sends commands that may touch many slots; see [`SlotPipeline`].
    async fn query_slots(&self, pipe: &SlotPipeline) -> StoreResult<Vec<redis::Value>> {
        Ok(pipe.query(&mut self.conn(), Replication::NONE).await?)
    }

    /// Writes commands that may touch many slots, and waits for `redis.wait_replicas`
    /// replicas of every node written to.
    /// Gives the replies, in the order the commands were added.
    async fn write_slots(&self, pipe: &SlotPipeline) -> StoreResult<Vec<redis::Value>> {
        Ok(pipe.query(&mut self.conn(), self.replication).await?)
    }

    /// Runs a script that writes to `key`'s slot, then waits for `redis.wait_replicas`
    /// replicas of that slot's node to hold the write.
    async fn write_script<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
        key: &str,
    ) -> StoreResult<T> {
        let outcome = invocation.invoke_async(&mut self.conn()).await?;
        self.replicated(key).await?;
        Ok(outcome)
    }

    /// Waits for `redis.wait_replicas` replicas of the node holding `key` to have what was
    /// written to it (nothing to wait for when that is 0).
    async fn replicated(&self, key: &str) -> StoreResult<()> {
        if self.replication.replicas > 0 {
            self.conn().wait_for_replicas(key, self.replication).await?;
        }
        Ok(())
    }

    /// The members of a sorted-set index in score order, each with its key and the hash at that
    /// key; members whose hash is gone are skipped. The index a thousand members a round trip,
    /// then one pipeline for the hashes.
    async fn indexed_hashes(
        &self,
        index: &str,
        key_of: impl Fn(&str) -> String,
    ) -> StoreResult<Vec<(String, String, HashMap<String, String>)>> {
        let mut conn = self.conn();
        let members = self.index_members(index).await?;
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = members.iter().map(|m| key_of(m)).collect();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.hgetall(key);
        }
        let maps: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await?;
        Ok(members
            .into_iter()
            .zip(keys)
            .zip(maps)
            .filter(|(_, map)| !map.is_empty())
            .map(|((member, key), map)| (member, key, map))
            .collect())
    }

    pub async fn ping(&self) -> StoreResult<()> {
        let _: String = redis::cmd("PING").query_async(&mut self.conn()).await?;
        Ok(())
    }
}

/// Reads a field that must be present in a stored hash.
pub(crate) fn required<'a>(
    key: &str,
    map: &'a HashMap<String, String>,
    field: &str,
) -> StoreResult<&'a str> {
    map.get(field)
        .map(String::as_str)
        .ok_or_else(|| StoreError::corrupt(key, format!("missing field '{field}'")))
}

/// Reads an integer field of a stored hash.
pub(crate) fn parsed<T: std::str::FromStr>(
    key: &str,
    map: &HashMap<String, String>,
    field: &str,
) -> StoreResult<T> {
    required(key, map, field)?
        .parse()
        .map_err(|_| StoreError::corrupt(key, format!("field '{field}' is not a number")))
}
