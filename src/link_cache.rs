//! The in-process cache of links, so a redirect never waits on Redis for a known link.
//!
//! Entries are loaded on first use and kept until a change to the link or its influencer is
//! seen: immediately when the change was made through this process, and within
//! [`REFRESH_INTERVAL`] when made through another replica (each replica polls the changes
//! stream). A change marks the entry stale rather than dropping it: the next lookup reloads
//! it, and if Redis cannot be asked just then (an outage, a cluster failover), the stale
//! entry answers, so a follower of a known link is still redirected. Unknown and disabled
//! codes are cached too, so a flood of bad codes does not become a flood of Redis reads; their
//! number is capped.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::{Destination, LinkCode};
use crate::metrics::{Metrics, RedisOperation};
use crate::store::{Change, Store, StoreResult};

/// How often each replica polls the changes stream: the longest a link edited through another
/// replica keeps redirecting to its old destination.
pub const REFRESH_INTERVAL: Duration = Duration::from_millis(500);

/// Cached answers for codes that do not redirect, before they are all dropped at once.
const MAX_INACTIVE_ENTRIES: usize = 100_000;

const CHANGES_PER_POLL: usize = 1000;

/// What a redirect needs to know about an active link.
#[derive(Debug)]
pub struct ActiveLink {
    pub code: Arc<str>,
    pub influencer_id: Arc<str>,
    pub destination: Destination,
}

#[derive(Debug, Clone)]
enum Entry {
    Active(Arc<ActiveLink>),
    /// Unknown, disabled, or belonging to a disabled influencer.
    Inactive {
        influencer_id: Option<Arc<str>>,
    },
}

impl Entry {
    fn influencer_id(&self) -> Option<&str> {
        match self {
            Self::Active(link) => Some(&link.influencer_id),
            Self::Inactive { influencer_id } => influencer_id.as_deref(),
        }
    }
}

/// The answer to a lookup.
#[derive(Debug)]
pub enum Lookup {
    Active(Arc<ActiveLink>),
    Inactive,
    /// Not cached, and Redis could not be asked.
    Unavailable,
}

#[derive(Debug, Clone)]
struct Cached {
    entry: Entry,
    /// A change was seen since the entry was loaded: reload it before trusting it.
    stale: bool,
}

#[derive(Default, Debug)]
struct Entries {
    map: HashMap<Box<str>, Cached>,
    inactive: usize,
    /// Bumped by every invalidation, so a load that raced with one is not cached.
    generation: u64,
}

#[derive(Clone, Debug)]
pub struct LinkCache {
    entries: Arc<RwLock<Entries>>,
    store: Store,
    metrics: Metrics,
}

impl LinkCache {
    pub fn new(store: Store, metrics: Metrics) -> Self {
        Self {
            entries: Arc::default(),
            store,
            metrics,
        }
    }

    pub async fn lookup(&self, code: &LinkCode) -> Lookup {
        let (cached, generation) = {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            (entries.map.get(code.as_str()).cloned(), entries.generation)
        };
        let entry = match cached {
            Some(Cached {
                entry,
                stale: false,
            }) => entry,
            stale => match self.load(code).await {
                Ok(entry) => {
                    self.insert(code, entry.clone(), generation);
                    entry
                }
                Err(e) => {
                    self.metrics.redis_error(RedisOperation::LinkLookup);
                    tracing::warn!(error = %e, "link lookup failed");
                    match stale {
                        Some(Cached { entry, .. }) => entry,
                        None => return Lookup::Unavailable,
                    }
                }
            },
        };
        match entry {
            Entry::Active(link) => Lookup::Active(link),
            Entry::Inactive { .. } => Lookup::Inactive,
        }
    }

    async fn load(&self, code: &LinkCode) -> StoreResult<Entry> {
        let Some(link) = self.store.link(code).await? else {
            return Ok(Entry::Inactive {
                influencer_id: None,
            });
        };
        let influencer_id: Arc<str> = link.influencer_id.as_str().into();
        let influencer_active = self
            .store
            .influencer(&link.influencer_id)
            .await?
            .is_some_and(|i| !i.disabled);
        Ok(if link.disabled || !influencer_active {
            Entry::Inactive {
                influencer_id: Some(influencer_id),
            }
        } else {
            Entry::Active(Arc::new(ActiveLink {
                code: code.as_str().into(),
                influencer_id,
                destination: link.destination,
            }))
        })
    }

    fn insert(&self, code: &LinkCode, entry: Entry, loaded_at: u64) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.generation != loaded_at {
            return;
        }
        if matches!(entry, Entry::Inactive { .. }) {
            if entries.inactive >= MAX_INACTIVE_ENTRIES {
                entries
                    .map
                    .retain(|_, c| matches!(c.entry, Entry::Active(_)));
                entries.inactive = 0;
            }
            entries.inactive += 1;
        }
        let cached = Cached {
            entry,
            stale: false,
        };
        if let Some(Entry::Inactive { .. }) = entries
            .map
            .insert(code.as_str().into(), cached)
            .map(|c| c.entry)
        {
            entries.inactive -= 1;
        }
        self.metrics
            .link_cache_entries
            .set(i64::try_from(entries.map.len()).unwrap_or(i64::MAX));
    }

    /// Applies a change: the affected entries are reloaded on next use.
    pub fn apply(&self, change: &Change) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.generation += 1;
        match change {
            Change::Link(code) => {
                if let Some(cached) = entries.map.get_mut(code.as_str()) {
                    cached.stale = true;
                }
            }
            Change::Influencer(id) => {
                for cached in entries.map.values_mut() {
                    if cached.entry.influencer_id() == Some(id.as_str()) {
                        cached.stale = true;
                    }
                }
            }
        }
    }

    /// Marks every entry for reloading (changes were missed).
    fn invalidate_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.generation += 1;
        for cached in entries.map.values_mut() {
            cached.stale = true;
        }
    }

    /// Starts polling the changes stream; the task ends when `stop` turns true.
    pub async fn start_refresher(
        &self,
        mut stop: watch::Receiver<bool>,
    ) -> StoreResult<JoinHandle<()>> {
        let mut position = self.store.latest_change_id().await?;
        let cache = self.clone();
        Ok(tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(REFRESH_INTERVAL) => {}
                    _ = stop.changed() => return,
                }
                match cache.store.changes_after(&position, CHANGES_PER_POLL).await {
                    Ok(feed) => {
                        if feed.gap {
                            tracing::info!("link changes were missed; reloading every cached link");
                            cache.invalidate_all();
                        }
                        for change in &feed.changes {
                            cache.apply(change);
                        }
                        position = feed.last_id;
                    }
                    Err(e) => {
                        cache.metrics.redis_error(RedisOperation::CacheRefresh);
                        tracing::debug!(error = %e, "polling link changes failed");
                    }
                }
            }
        }))
    }
}
