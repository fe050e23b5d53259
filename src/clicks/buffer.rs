//! The click buffer the writer fills and the flusher drains: batches of click records, and the
//! tallies of every click since the flusher last took them, shared by both through [`Shared`].

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, oneshot};

use super::ClickIds;
use crate::domain::ClickId;
use crate::metrics::Metrics;
use crate::store::{Click, ClickSums, Tallies};

/// Links the tallies make room for when they are taken at most: beyond that a map as large
/// as the one being written would be held beside it for the whole write.
const PRESIZED_LINKS: usize = 1 << 16;

/// Click records summed into a batch, and the durable-mode redirects waiting for its commit.
#[derive(Default)]
pub(super) struct Pending {
    pub clicks: ClickSums,
    pub waiters: Vec<oneshot::Sender<()>>,
}

/// The clicks not yet written: the open batch new clicks go to, and full batches behind it;
/// and the tallies (counts and visitors per link) of every click since the flusher last took
/// them, which it writes when they are due (`count_schedule.rs`).
#[derive(Default)]
pub(super) struct Buffer {
    pub open: Pending,
    pub sealed: VecDeque<Pending>,
    /// Clicks in all of them.
    pub clicks: usize,
    tallies: Tallies,
    /// Clicks in `tallies`.
    tallied: usize,
}

impl Buffer {
    /// Buffers click `id`: its record in the open batch, its counts in the tallies.
    pub fn add(&mut self, id: &ClickId, click: &Click<'_>) {
        self.tallies.add(click);
        self.tallied += 1;
        self.open.clicks.add_record(id, click);
        self.clicks += 1;
    }

    /// Seals the open batch behind the others and opens a new one.
    pub fn seal(&mut self) {
        let batch = std::mem::take(&mut self.open);
        self.sealed.push_back(batch);
    }

    /// The oldest batch, leaving an empty open batch when that was the one.
    pub fn take_oldest(&mut self) -> Pending {
        let batch = self
            .sealed
            .pop_front()
            .unwrap_or_else(|| std::mem::take(&mut self.open));
        self.clicks -= batch.clicks.len();
        batch
    }

    /// The tallies of every click since they were last taken. Those that follow start with
    /// room for as many links (up to [`PRESIZED_LINKS`]), so clicks spread over many links
    /// do not regrow (rehash) the map on the redirects' path every count interval.
    pub fn take_tallies(&mut self) -> Tallies {
        self.tallied = 0;
        let links = self.tallies.links().min(PRESIZED_LINKS);
        std::mem::replace(&mut self.tallies, Tallies::with_capacity(links))
    }

    /// Clicks counted in the tallies.
    pub fn tallied(&self) -> usize {
        self.tallied
    }

    /// Links the tallies count clicks of.
    pub fn tallied_links(&self) -> usize {
        self.tallies.links()
    }
}

pub(super) struct Shared {
    pub ids: ClickIds,
    buffer: Mutex<Buffer>,
    pub wake: Notify,
    pub capacity: usize,
    /// Clicks buffered beyond which the flusher moves the buffer to the spool.
    pub spill_at: usize,
    /// Clicks are being dropped (the buffer is full): logged once when it starts.
    pub dropping: AtomicBool,
    pub max_batch: usize,
    pub metrics: Metrics,
}

impl Shared {
    pub fn new(capacity: usize, max_batch: usize, metrics: Metrics) -> Self {
        Self {
            ids: ClickIds::default(),
            buffer: Mutex::new(Buffer::default()),
            wake: Notify::new(),
            capacity,
            spill_at: capacity / 2,
            dropping: AtomicBool::new(false),
            max_batch,
            metrics,
        }
    }

    pub fn buffer(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
