//! The in-process cache of links, so a redirect never waits on Redis for a known link.
//!
//! Entries are loaded on first use and kept until a change to the link or its influencer is
//! seen: immediately when the change was made through this process, and within
//! [`REFRESH_INTERVAL`] when made through another replica (each replica polls the changes
//! stream). A change marks the entry stale rather than dropping it: the next lookup reloads
//! it, and if Redis cannot be asked just then (an outage, a cluster failover), the stale
//! entry answers, so a follower of a known link is still redirected. Unknown and disabled
//! codes are cached too, so a flood of bad codes does not become a flood of Redis reads; their
//! number is capped (a flood of distinct unknown codes still costs one read per code).
//!
//! A code missing from the cache (or stale) is loaded once however many lookups want it at
//! the same time: they wait for the one load in flight and share its outcome (see
//! [`single_flight`]). A lookup that joins a load begun just before a change may be answered
//! with what that load read, as the lookup that began it is; such a load is not cached, so
//! the next lookup reloads. A cached code is answered as before, under the read lock alone.
//!
//! Redirects only ever take the read lock; so do changes, which flip a per-entry flag. Cached
//! codes are indexed by influencer, so an edit of an influencer marks its own links and no
//! others, however many links are cached. Each poll reads the stream to its end (a page at a
//! time); a replica that fell so far behind that entries it needed were trimmed asks which
//! influencers changed since and reloads their links (and unknown codes), not the whole cache.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::single_flight::SingleFlight;
use crate::domain::{Destination, InfluencerId, LinkCode};
use crate::metrics::{Metrics, RedisOperation};
use crate::store::{Change, Store, StoreResult};

mod single_flight;

/// How often each replica polls the changes stream: the longest a link edited through another
/// replica keeps redirecting to its old destination.
pub const REFRESH_INTERVAL: Duration = Duration::from_millis(500);

/// Cached answers for codes that do not redirect, before they are all dropped at once.
const MAX_INACTIVE_ENTRIES: usize = 100_000;

/// Stream entries read per round trip.
const CHANGES_PER_PAGE: usize = 1000;

/// Pages read per poll at most (the rest waits for the next poll): 100,000 entries a poll,
/// well above bulk link creation's ~15,000 per interval.
const PAGES_PER_POLL: usize = 100;

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
    fn influencer_id(&self) -> Option<&Arc<str>> {
        match self {
            Self::Active(link) => Some(&link.influencer_id),
            Self::Inactive { influencer_id } => influencer_id.as_ref(),
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

#[derive(Debug)]
struct Cached {
    entry: Entry,
    /// A change was seen since the entry was loaded: reload it before trusting it. Set under
    /// the read lock, so marking never waits for redirects nor makes them wait.
    stale: AtomicBool,
}

#[derive(Default, Debug)]
struct Entries {
    /// Looked up on every redirect, so hashed with foldhash rather than SipHash. An active
    /// link's key is its own code (`ActiveLink::code`): the lookup's key comparison then
    /// reads the bytes the click goes on to hash and record, rather than a copy elsewhere in
    /// memory (a cache miss of its own when clicks spread over many links).
    map: foldhash::HashMap<Arc<str>, Cached>,
    /// The cached codes that name an influencer, by influencer.
    by_influencer: HashMap<Arc<str>, HashSet<Box<str>>>,
    inactive: usize,
}

impl Entries {
    fn mark(&self, code: &str) {
        if let Some(cached) = self.map.get(code) {
            cached.stale.store(true, Ordering::Release);
        }
    }

    fn mark_influencer(&self, id: &str) {
        for code in self.by_influencer.get(id).into_iter().flatten() {
            self.mark(code);
        }
    }

    fn unindex(&mut self, code: &str, influencer_id: &str) {
        if let Some(codes) = self.by_influencer.get_mut(influencer_id) {
            codes.remove(code);
            if codes.is_empty() {
                self.by_influencer.remove(influencer_id);
            }
        }
    }

    /// Drops every inactive entry, and their codes from the index.
    fn drop_inactive(&mut self) {
        self.map.retain(|_, c| matches!(c.entry, Entry::Active(_)));
        let map = &self.map;
        self.by_influencer.retain(|_, codes| {
            codes.retain(|code| map.contains_key(&**code));
            !codes.is_empty()
        });
        self.inactive = 0;
    }
}

/// Changes applied lately, so a load that raced with a change to its link or its influencer
/// is not cached (what it read may predate the change), while loads of other links are.
#[derive(Default, Debug)]
struct Recent {
    /// The generation of each link's (`l:<code>`) and influencer's (`i:<id>`) last change.
    changed: HashMap<String, u64>,
    /// Loads begun before this generation are not cached: `changed` was cleared then, or a
    /// change of unknown reach was applied.
    floor: u64,
}

/// Changes remembered in [`Recent`] before it is cleared (raising its floor).
const MAX_RECENT: usize = 100_000;

impl Recent {
    fn note(&mut self, key: String, generation: u64) {
        if self.changed.len() >= MAX_RECENT {
            self.changed.clear();
            self.floor = generation;
        }
        self.changed.insert(key, generation);
    }

    /// Whether what a load begun at `loaded_at` read about `code` may predate a change.
    fn outdates(&self, loaded_at: u64, code: &str, influencer: Option<&Arc<str>>) -> bool {
        let after = |key: String| self.changed.get(&key).is_some_and(|g| *g > loaded_at);
        loaded_at < self.floor
            || after(format!("l:{code}"))
            || influencer.is_some_and(|id| after(format!("i:{id}")))
    }
}

#[derive(Clone, Debug)]
pub struct LinkCache {
    entries: Arc<RwLock<Entries>>,
    /// Bumped by every change applied; a load notes it when it begins.
    generation: Arc<AtomicU64>,
    recent: Arc<Mutex<Recent>>,
    /// Loads in flight, by code: `None` when Redis could not be asked.
    loads: SingleFlight<Option<Entry>>,
    store: Store,
    metrics: Metrics,
}

impl LinkCache {
    /// A cache whose loads from Redis run as tasks of `runtime` (the main runtime, whatever
    /// thread asks).
    pub fn new(store: Store, metrics: Metrics, runtime: tokio::runtime::Handle) -> Self {
        Self {
            entries: Arc::default(),
            generation: Arc::default(),
            recent: Arc::default(),
            loads: SingleFlight::new(runtime),
            store,
            metrics,
        }
    }

    pub async fn lookup(&self, code: &LinkCode) -> Lookup {
        let (cached, generation) = {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            let cached = entries
                .map
                .get(code.as_str())
                .map(|c| (c.entry.clone(), c.stale.load(Ordering::Acquire)));
            (cached, self.generation.load(Ordering::Acquire))
        };
        let entry = match cached {
            Some((entry, false)) => entry,
            stale => match self.load_once(code, generation).await {
                Some(entry) => entry,
                None => match stale {
                    Some((entry, _)) => entry,
                    None => return Lookup::Unavailable,
                },
            },
        };
        match entry {
            Entry::Active(link) => Lookup::Active(link),
            Entry::Inactive { .. } => Lookup::Inactive,
        }
    }

    /// Loads `code` and caches what was read (unless a change outdates it), once for all the
    /// lookups asking meanwhile; `None` when Redis could not be asked. `generation` is the
    /// one the lookup that starts the load saw.
    async fn load_once(&self, code: &LinkCode, generation: u64) -> Option<Entry> {
        let cache = self.clone();
        let owned = code.clone();
        let load = move || async move {
            match cache.load(&owned).await {
                Ok(entry) => {
                    cache.insert(&owned, entry.clone(), generation);
                    Some(entry)
                }
                Err(e) => {
                    cache.metrics.redis_error(RedisOperation::LinkLookup);
                    tracing::warn!(error = %e, "link lookup failed");
                    None
                }
            }
        };
        self.loads.run(code.as_str(), load).await.flatten()
    }

    async fn load(&self, code: &LinkCode) -> StoreResult<Entry> {
        self.metrics.link_cache_loads.inc();
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
            // Best effort: when Redis takes reads but not this write (out of memory, say), the
            // follower is still redirected, and the flusher registers the link with its first
            // count write.
            if let Err(e) = self.store.register_link_number(code).await {
                self.metrics.redis_error(RedisOperation::LinkLookup);
                tracing::warn!(error = %e, "could not register a link's number");
            }
            Entry::Active(Arc::new(ActiveLink {
                code: code.as_str().into(),
                influencer_id,
                destination: link.destination,
            }))
        })
    }

    fn insert(&self, code: &LinkCode, entry: Entry, loaded_at: u64) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if self
            .recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .outdates(loaded_at, code.as_str(), entry.influencer_id())
        {
            return;
        }
        if matches!(entry, Entry::Inactive { .. }) {
            if entries.inactive >= MAX_INACTIVE_ENTRIES {
                entries.drop_inactive();
            }
            entries.inactive += 1;
        }
        if let Some(id) = entry.influencer_id() {
            entries
                .by_influencer
                .entry(Arc::clone(id))
                .or_default()
                .insert(code.as_str().into());
        }
        let new_owner = entry.influencer_id().cloned();
        let key = match &entry {
            Entry::Active(link) => Arc::clone(&link.code),
            Entry::Inactive { .. } => code.as_str().into(),
        };
        let cached = Cached {
            entry,
            stale: AtomicBool::new(false),
        };
        // Removed first: inserting over an entry would keep the old key, not this code.
        let old = entries.map.remove(code.as_str());
        entries.map.insert(key, cached);
        if let Some(old) = old {
            if matches!(old.entry, Entry::Inactive { .. }) {
                entries.inactive -= 1;
            }
            if let Some(old_owner) = old.entry.influencer_id()
                && Some(old_owner) != new_owner.as_ref()
            {
                entries.unindex(code.as_str(), old_owner);
            }
        }
        self.metrics
            .link_cache_entries
            .set(i64::try_from(entries.map.len()).unwrap_or(i64::MAX));
    }

    /// Applies a change: the affected entries are reloaded on next use.
    pub fn apply(&self, change: &Change) {
        self.apply_all(std::slice::from_ref(change));
    }

    /// Applies changes under one read lock.
    fn apply_all(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        for change in changes {
            recent.note(
                match change {
                    Change::Link(code) => format!("l:{code}"),
                    Change::Influencer(id) => format!("i:{id}"),
                },
                generation,
            );
        }
        drop(recent);
        for change in changes {
            match change {
                Change::Link(code) => entries.mark(code.as_str()),
                Change::Influencer(id) => entries.mark_influencer(id.as_str()),
            }
        }
    }

    /// Applies what a replica that missed trimmed entries knows: these influencers changed
    /// (themselves or their links), and any unknown code may have become a link.
    fn apply_missed(&self, influencers: &[InfluencerId]) {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .floor = generation;
        for id in influencers {
            entries.mark_influencer(id.as_str());
        }
        for cached in entries.map.values() {
            if cached.entry.influencer_id().is_none() {
                cached.stale.store(true, Ordering::Release);
            }
        }
    }

    /// Reads the changes stream from `position` to its end (at most [`PAGES_PER_POLL`]
    /// pages) and applies what it says.
    async fn poll(&self, position: &mut String) -> StoreResult<()> {
        for _ in 0..PAGES_PER_POLL {
            let feed = self.store.changes_after(position, CHANGES_PER_PAGE).await?;
            if feed.gap {
                let missed = self.store.missed_since(position).await?;
                tracing::info!(
                    influencers = missed.influencers.len(),
                    "link changes were trimmed before this replica read them; \
                     reloading the links of the influencers changed since"
                );
                self.apply_missed(&missed.influencers);
                *position = missed.last_id;
                continue;
            }
            self.apply_all(&feed.changes);
            *position = feed.last_id;
            if !feed.more {
                break;
            }
        }
        Ok(())
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
                if let Err(e) = cache.poll(&mut position).await {
                    cache.metrics.redis_error(RedisOperation::CacheRefresh);
                    tracing::debug!(error = %e, "polling link changes failed");
                }
            }
        }))
    }
}
