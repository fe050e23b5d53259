//! The click buffer and its flusher: a group commit of clicks to Redis.
//!
//! A redirect appends its click to an in-memory queue (a mutex-guarded push, no I/O) and
//! answers. One flusher task takes up to `max_batch` clicks at a time and writes them in one
//! pipeline: every `flush_interval`, at once when a batch is full, and at once when a
//! durable-mode redirect is waiting, so redirects arriving together share one write.
//!
//! A batch that fails is retried, before any later batch, until it lands: batches carry
//! `(writer id, sequence number)` and the counters script skips a batch it has applied, so a
//! retry after a write that landed but whose reply was lost counts nothing twice.
//!
//! Loss window: in the default mode a click is in memory from its redirect until its flush
//! lands, at most about `flush_interval` plus one Redis round trip under normal operation.
//! A graceful stop flushes everything first; `kill -9` or a power cut loses that window.
//! With `durable_redirects`, a redirect is answered after its batch landed, so none is lost.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::ClickSettings;
use crate::domain::random_string;
use crate::metrics::{Metrics, RedisOperation};
use crate::store::{ClickBatch, RecordedClick, Store};

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What became of a click handed to the writer.
#[derive(Debug)]
pub enum Recorded {
    /// Queued; it will be written with the next flush.
    Buffered,
    /// Queued; the receiver fires once the click is committed to Redis.
    Committing(oneshot::Receiver<()>),
    /// The buffer was full (Redis has been unreachable for long): the click is lost.
    Dropped,
}

struct Pending {
    click: RecordedClick,
    committed: Option<oneshot::Sender<()>>,
}

struct Shared {
    queue: Mutex<VecDeque<Pending>>,
    wake: Notify,
    capacity: usize,
    max_batch: usize,
    metrics: Metrics,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, VecDeque<Pending>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_batch(&self) -> (Vec<RecordedClick>, Vec<oneshot::Sender<()>>, usize) {
        let mut queue = self.queue();
        let n = queue.len().min(self.max_batch);
        let mut clicks = Vec::with_capacity(n);
        let mut waiters = Vec::new();
        for pending in queue.drain(..n) {
            clicks.push(pending.click);
            waiters.extend(pending.committed);
        }
        (clicks, waiters, queue.len())
    }
}

/// The handle redirects record clicks through. Cheap to clone.
#[derive(Clone)]
pub struct ClickWriter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ClickWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickWriter")
            .field("buffered", &self.shared.queue().len())
            .finish()
    }
}

/// The running flusher. Stop it with [`FlushTask::drain`] so no buffered click is lost.
#[derive(Debug)]
pub struct FlushTask {
    handle: JoinHandle<()>,
    stop: watch::Sender<Option<Instant>>,
}

impl ClickWriter {
    /// Starts the flusher on the current runtime.
    pub fn start(store: Store, settings: &ClickSettings, metrics: Metrics) -> (Self, FlushTask) {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            capacity: settings.buffer_capacity,
            max_batch: settings.max_batch,
            metrics,
        });
        let (stop, stopped) = watch::channel(None);
        let flusher = Flusher {
            shared: Arc::clone(&shared),
            store,
            interval: settings.flush_interval(),
            window_days: u64::from(settings.attribution_window_days),
            writer: random_string(&nanoid::alphabet::SAFE, 12).into(),
            seq: 0,
        };
        let handle = tokio::spawn(flusher.run(stopped));
        (Self { shared }, FlushTask { handle, stop })
    }

    /// Queues a click. With `wait_for_commit`, the result says when it is in Redis.
    pub fn record(&self, click: RecordedClick, wait_for_commit: bool) -> Recorded {
        let (committed, receiver) = if wait_for_commit {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let depth = {
            let mut queue = self.shared.queue();
            if queue.len() >= self.shared.capacity {
                drop(queue);
                self.shared.metrics.clicks_dropped.inc();
                return Recorded::Dropped;
            }
            queue.push_back(Pending { click, committed });
            queue.len()
        };
        if wait_for_commit || depth >= self.shared.max_batch {
            self.shared.wake.notify_one();
        }
        receiver.map_or(Recorded::Buffered, Recorded::Committing)
    }
}

impl FlushTask {
    /// Writes every buffered click, retrying failed writes until `deadline` has passed, then
    /// stops the flusher. Call it after the HTTP server has stopped taking requests.
    pub async fn drain(self, deadline: Duration) {
        let _ = self.stop.send(Some(Instant::now() + deadline));
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "click flusher panicked");
        }
    }
}

struct Flusher {
    shared: Arc<Shared>,
    store: Store,
    interval: Duration,
    window_days: u64,
    writer: Arc<str>,
    seq: u64,
}

impl Flusher {
    async fn run(mut self, mut stop: watch::Receiver<Option<Instant>>) {
        let mut next_flush = Instant::now() + self.interval;
        loop {
            let stopping = stop.borrow_and_update().is_some();
            let backlog = self.shared.queue().len() >= self.shared.max_batch;
            if !stopping && !backlog {
                tokio::select! {
                    () = tokio::time::sleep_until(next_flush) => {}
                    () = self.shared.wake.notified() => {}
                    changed = stop.changed() => if changed.is_err() {
                        // The owner went away without draining (only a teardown does that):
                        // nobody is left to wait for, so stop rather than spin.
                        tracing::warn!(buffered = self.shared.queue().len(), "click flusher dropped without a drain");
                        return;
                    },
                }
            }
            next_flush = Instant::now() + self.interval;
            let (clicks, waiters, left) = self.shared.take_batch();
            if clicks.is_empty() {
                if stop.borrow().is_some() {
                    return;
                }
                continue;
            }
            self.seq += 1;
            let batch = ClickBatch {
                writer: Arc::clone(&self.writer),
                seq: self.seq,
                clicks,
            };
            if !self.write_until_landed(&batch, &stop).await {
                let lost = batch.clicks.len() + left;
                tracing::error!(
                    lost,
                    "Redis stayed unreachable past the shutdown deadline; buffered clicks are lost"
                );
                return;
            }
            for waiter in waiters {
                let _ = waiter.send(());
            }
            self.shared
                .metrics
                .click_buffer_depth
                .set(gauge(self.shared.queue().len()));
        }
    }

    /// Writes the batch, retrying with backoff; `false` if stopping and the deadline passed.
    async fn write_until_landed(
        &self,
        batch: &ClickBatch,
        stop: &watch::Receiver<Option<Instant>>,
    ) -> bool {
        let metrics = &self.shared.metrics;
        let mut backoff = MIN_BACKOFF;
        loop {
            let started = Instant::now();
            match self.store.write_clicks(batch, self.window_days).await {
                Ok(()) => {
                    metrics.flushes_ok.inc();
                    metrics
                        .flush_duration
                        .observe(started.elapsed().as_secs_f64());
                    #[allow(clippy::cast_precision_loss)]
                    metrics.flush_batch_size.observe(batch.clicks.len() as f64);
                    return true;
                }
                Err(e) => {
                    metrics.flushes_failed.inc();
                    metrics.redis_error(RedisOperation::ClickFlush);
                    tracing::warn!(error = %e, clicks = batch.clicks.len(), "click flush failed; retrying");
                }
            }
            metrics
                .click_buffer_depth
                .set(gauge(self.shared.queue().len() + batch.clicks.len()));
            if let Some(deadline) = *stop.borrow()
                && Instant::now() >= deadline
            {
                return false;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
