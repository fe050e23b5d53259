//! All Redis code: keys, scripts and the reads and writes of each kind of record.

mod campaigns;
mod changes;
mod clicks;
mod costs;
mod coupons;
mod influencers;
pub mod keys;
mod links;
mod orders;
mod reports;
mod scripts;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use changes::{Change, ChangeFeed};
pub use clicks::{ClickBatch, ClickClass, RecordedClick};
pub use coupons::AddCoupon;
pub use influencers::{InfluencerRecord, SaveInfluencer};
pub use keys::{Keys, Owner};
pub use links::{CreateLink, LinkRecord};
pub use orders::StoredOrder;
pub use reports::FigureQuery;

use scripts::Scripts;

/// Entries kept in the changes stream; a replica further behind than this reloads its cache.
const CHANGES_MAX_LEN: usize = 100_000;

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

/// A handle on the Redis store, cheap to clone: clones share one multiplexed connection that
/// reconnects by itself.
#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
    keys: Arc<Keys>,
    scripts: Arc<Scripts>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to Redis. `timeout` bounds every call, so a hung Redis fails a request instead
    /// of hanging it.
    pub async fn connect(url: &str, key_prefix: &str, timeout: Duration) -> StoreResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_max_delay(Duration::from_secs(2));
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(Self {
            conn,
            keys: Arc::new(Keys::new(key_prefix)),
            scripts: Arc::new(Scripts::new()),
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A connection handle for one operation (a clone of the multiplexed connection).
    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The members of a sorted-set index in score order, each with its key and the hash at that
    /// key; members whose hash is gone are skipped. One round trip for the index, one pipeline
    /// for the hashes.
    async fn indexed_hashes(
        &self,
        index: &str,
        key_of: impl Fn(&str) -> String,
    ) -> StoreResult<Vec<(String, String, HashMap<String, String>)>> {
        let mut conn = self.conn();
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(index)
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await?;
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
