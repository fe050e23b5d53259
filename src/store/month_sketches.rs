//! Month sketches merged from day sketches once a day is settled.
//!
//! A flush adds today's visitors to each owner's day sketch alone (see
//! [`super::clicks`]): adding each visitor to the month's sketch as well was about a third of
//! what a click cost Redis with clicks spread over 10,000 links (`deploy/bench/flush_redis.sh`),
//! since a sketch takes a new visitor by searching its sparse form. Once a day is settled (no
//! process writes it as today any more; the caller decides, see `clicks/sketch_merger.rs`),
//! [`Store::merge_day_sketches`] merges every owner's sketch of that day into its month's and
//! records the day in `sketches_merged`. Reports join a month's sketch with those of its days
//! after the recorded one (`Reads::with_unmerged_days`), so what they count does not depend on
//! whether a merge has run: a union counts a visitor once whichever sketches hold it.
//!
//! Owners are every influencer (`infs`) and every link: each influencer's (`inf:<id>:links`)
//! and every one with a number (`link_numbers`: the link cache registers a link when it loads
//! it, and the flush in the pipeline that first writes its clicks), grouped by count shard:
//! one script per [`PAIRS_PER_SCRIPT`] owners of a shard, each waited on by
//! `redis.wait_replicas` replicas as every write is, under a lease so that one process merges
//! at a time. The lease is checked before each script and before each day
//! is recorded, so a process that lost it records nothing.

use std::collections::HashMap;
use std::time::Duration;

use chrono::NaiveDate;

use super::keys::{Owner, count_shard};
use super::lease::Lease;
use super::{Store, StoreError, StoreResult};
use crate::domain::{Bucket, InfluencerId};

/// Owners merged by one script call: a few milliseconds of Redis at most.
const PAIRS_PER_SCRIPT: usize = 256;

/// Days merged by one call at most: a process that finds merges weeks behind (it was down)
/// gives the lease back every few days rather than holding it for the whole catch-up.
const MAX_DAYS_PER_CALL: usize = 7;

/// How long the lease lasts unless renewed; it is renewed before every script.
const LEASE: Duration = Duration::from_secs(60);

/// What a call of [`Store::merge_day_sketches`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SketchMerge {
    /// These days were merged (none when every settled day already was), and this many pairs
    /// were left because a key did not hold a sketch.
    Merged { days: Vec<NaiveDate>, refused: u64 },
    /// Another process holds the lease.
    Busy,
    /// The lease was lost part-way (it expired); the days before were merged.
    LeaseLost,
    /// No day is recorded, though a process of this layout started (it records one first):
    /// something removed the record, and nothing says which days are merged.
    Unrecorded,
}

impl Store {
    /// The last day whose day sketches are all in their months' sketches; `None` where no
    /// process of this layout has started (every month sketch then holds all its days).
    /// A record that is not a date is [`StoreError::Corrupt`]: nothing says which days are
    /// merged, so reports join every day (see `routes/reports.rs`) and merges stop.
    pub async fn sketches_merged_through(&self) -> StoreResult<Option<NaiveDate>> {
        let key = self.keys().sketches_merged();
        let day: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut self.conn())
            .await?;
        day.map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| StoreError::Corrupt {
                key,
                problem: format!("{d:?} is not a day (YYYY-MM-DD)"),
            })
        })
        .transpose()
    }

    /// Records `day` as merged unless some day is recorded already: at a start where no merge
    /// has run, every day before the first one written day-only is whole in its month (older
    /// builds wrote both sketches), so a start records the day before yesterday. Done before
    /// the first flush, so no visitor is ever written day-only with no record beside it. Not
    /// waited on by replicas: a start must not fail where `redis.wait_replicas` finds none
    /// (redirects still work then), and a record lost in a failover stops merges and makes
    /// reports join every day, which stays exact.
    pub async fn seed_sketches_merged(&self, day: NaiveDate) -> StoreResult<()> {
        let _: Option<String> = redis::cmd("SET")
            .arg(self.keys().sketches_merged())
            .arg(day.format("%Y-%m-%d").to_string())
            .arg("NX")
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Merges every owner's day sketches into their months' for each day after the recorded
    /// one up to `through` (at most [`MAX_DAYS_PER_CALL`]), recording each day once all its
    /// owners are merged.
    pub async fn merge_day_sketches(&self, through: NaiveDate) -> StoreResult<SketchMerge> {
        let Some(lease) = self
            .take_lease(self.keys().sketch_merge_lease(), LEASE)
            .await?
        else {
            return Ok(SketchMerge::Busy);
        };
        let outcome = self.merge_days_leased(&lease, through).await;
        let _ = self.release_lease(&lease).await;
        outcome
    }

    async fn merge_days_leased(
        &self,
        lease: &Lease,
        through: NaiveDate,
    ) -> StoreResult<SketchMerge> {
        // Read under the lease: a process that held it before has recorded all it merged.
        let Some(merged) = self.sketches_merged_through().await? else {
            return Ok(SketchMerge::Unrecorded);
        };
        let days: Vec<NaiveDate> = merged
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= through)
            .take(MAX_DAYS_PER_CALL)
            .collect();
        if days.is_empty() {
            return Ok(SketchMerge::Merged { days, refused: 0 });
        }
        let influencers = self.index_members(&self.keys().influencer_index()).await?;
        let links = self.links_to_merge(&influencers).await?;
        let owners = influencers
            .iter()
            .map(|id| Owner::Influencer(id))
            .chain(links.iter().map(|code| Owner::Link(code)));
        let mut by_shard: HashMap<u32, Vec<Owner<'_>>> = HashMap::new();
        for owner in owners {
            by_shard.entry(count_shard(owner)).or_default().push(owner);
        }
        let mut refused = 0;
        for &day in &days {
            let [day_bucket, month_bucket, _] = Bucket::containing(day);
            for owners in by_shard.values() {
                for chunk in owners.chunks(PAIRS_PER_SCRIPT) {
                    if !self.renew_lease(lease).await? {
                        return Ok(SketchMerge::LeaseLost);
                    }
                    let keys = self.keys();
                    let first = keys.click_uniques(chunk[0], day_bucket);
                    let mut invocation = self.scripts.merge_days.prepare_invoke();
                    for owner in chunk {
                        invocation
                            .key(keys.click_uniques(*owner, day_bucket))
                            .key(keys.click_uniques(*owner, month_bucket));
                    }
                    let left: u64 = self.write_script(&invocation, &first).await?;
                    refused += left;
                }
            }
            if !self.renew_lease(lease).await? {
                return Ok(SketchMerge::LeaseLost);
            }
            let recorded = self.keys().sketches_merged();
            let _: () = redis::cmd("SET")
                .arg(&recorded)
                .arg(day.format("%Y-%m-%d").to_string())
                .query_async(&mut self.conn())
                .await?;
            self.replicated(&recorded).await?;
        }
        Ok(SketchMerge::Merged { days, refused })
    }

    /// Every link that may have sketches: each influencer's links, and every code with a
    /// number (see [`Self::write_clicks`]), which also names links written into the catalog by
    /// other means. Either alone could miss one: two codes that share a number keep only one
    /// of them in `link_numbers`.
    async fn links_to_merge(&self, influencers: &[String]) -> StoreResult<Vec<String>> {
        let keys = self.keys();
        let mut codes = Vec::new();
        let ids: Vec<InfluencerId> = influencers
            .iter()
            .filter_map(|id| InfluencerId::parse(id))
            .collect();
        for chunk in ids.chunks(1000) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("ZRANGE")
                    .arg(keys.influencer_links(id))
                    .arg(0)
                    .arg(-1);
            }
            let lists: Vec<Vec<String>> = pipe.query_async(&mut self.conn()).await?;
            codes.extend(lists.into_iter().flatten());
        }
        let numbered = keys.link_numbers();
        let mut cursor = 0_u64;
        loop {
            let (next, page): (u64, Vec<(String, String)>) = redis::cmd("HSCAN")
                .arg(&numbered)
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut self.conn())
                .await?;
            codes.extend(page.into_iter().map(|(_, code)| code));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        codes.sort_unstable();
        codes.dedup();
        Ok(codes)
    }
}
