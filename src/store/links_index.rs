//! The index of every link by creation time (`links_by_time` in `keys.rs`), which the list of
//! all links pages through (see `index_pages.rs`).
//!
//! Link creation adds each new link to it (`lua/create_link.lua`). Links created by a build
//! before it are added by the `links_by_time` migration: every influencer's index of links,
//! read a thousand members at a time, is added to it with the same scores, and the migration
//! is recorded done. Adding a link twice changes nothing, so runs need no lease and a run cut
//! short is simply run again. Until a run has finished, the list of all links reads every
//! link instead, as builds before it did, so it never misses one. Every start runs it (see
//! `startup`), so a link an older replica creates during a rolling upgrade is added when the
//! newer replicas after it start; `reftrack migrate` runs it without a restart.

use super::{Store, StoreResult};
use crate::domain::InfluencerId;

/// The name of this migration in the `migrations` hash.
const NAME: &str = "links_by_time";

/// Links added to the index in one round trip at most.
const CHUNK: usize = 1_000;

impl Store {
    /// Whether the index of every link is whole (its migration has finished once).
    pub async fn links_by_time_ready(&self) -> StoreResult<bool> {
        Ok(redis::cmd("HEXISTS")
            .arg(self.keys().migrations())
            .arg(NAME)
            .query_async(&mut self.conn())
            .await?)
    }

    /// Adds every influencer's links to the index of every link and records the index whole;
    /// the links looked at (already there or not).
    pub async fn index_links_by_time(&self) -> StoreResult<u64> {
        let keys = self.keys();
        let index = keys.links_by_time();
        let mut added = 0_u64;
        for member in self.index_members(&keys.influencer_index()).await? {
            let Some(influencer) = InfluencerId::parse(&member) else {
                continue;
            };
            let links = keys.influencer_links(&influencer);
            let mut start = 0;
            loop {
                let page: Vec<(String, String)> = redis::cmd("ZRANGE")
                    .arg(&links)
                    .arg(start)
                    .arg(start + CHUNK - 1)
                    .arg("WITHSCORES")
                    .query_async(&mut self.conn())
                    .await?;
                start += page.len();
                if !page.is_empty() {
                    let mut add = redis::cmd("ZADD");
                    add.arg(&index);
                    for (code, score) in &page {
                        add.arg(score).arg(code);
                    }
                    let _: u64 = add.query_async(&mut self.conn()).await?;
                    added += u64::try_from(page.len()).unwrap_or(u64::MAX);
                }
                if page.len() < CHUNK {
                    break;
                }
            }
        }
        let _: i64 = redis::cmd("HSET")
            .arg(keys.migrations())
            .arg(NAME)
            .arg(chrono::Utc::now().timestamp_millis())
            .query_async(&mut self.conn())
            .await?;
        Ok(added)
    }
}
