//! The click buffer the writer fills and the flusher drains: batches summed in memory, shared
//! by both through [`Shared`].

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, oneshot};

use super::ClickIds;
use crate::metrics::Metrics;
use crate::store::ClickSums;

/// Clicks summed into a batch, and the durable-mode redirects waiting for its commit.
#[derive(Default)]
pub(super) struct Pending {
    pub clicks: ClickSums,
    pub waiters: Vec<oneshot::Sender<()>>,
}

/// The clicks not yet written: the open batch new clicks go to, and full batches behind it.
#[derive(Default)]
pub(super) struct Buffer {
    pub open: Pending,
    pub sealed: VecDeque<Pending>,
    /// Clicks in all of them.
    pub clicks: usize,
}

impl Buffer {
    /// The oldest batch, leaving an empty open batch when that was the one.
    pub fn take_oldest(&mut self) -> Pending {
        let batch = self
            .sealed
            .pop_front()
            .unwrap_or_else(|| std::mem::take(&mut self.open));
        self.clicks -= batch.clicks.len();
        batch
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
