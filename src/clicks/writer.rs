//! The click buffer and its flusher: a group commit of clicks to Redis.
//!
//! A redirect adds its click to the open batch in memory (under a mutex, no I/O): the click's
//! record is encoded and its counts summed right there (see [`ClickSums`]), and it answers.
//! One flusher task writes the open batch in one pipeline: every `flush_interval`, at once
//! when a batch reaches `max_batch` clicks (it is then sealed and a new one opened), and at
//! once when a durable-mode redirect is waiting, so redirects arriving together share one
//! write.
//!
//! Summing on arrival keeps the flusher's work per batch small. That matters because the
//! flusher shares a core with the HTTP workers: work it does per click arrives in one burst
//! per flush, and every request in flight waits out the burst.
//!
//! A batch that cannot be written goes to the [`Spool`] on local disk, and so does every batch
//! after it until the spool has been replayed into Redis, in order. Batches carry
//! `(writer id, sequence number)` and the counters script skips a batch it has applied, so a
//! replay of a batch whose write had in fact landed counts nothing twice.
//!
//! Loss window: in the default mode a click is in memory from its redirect until its flush
//! lands (or is spooled), at most about `flush_interval` plus one Redis round trip (or one
//! Redis timeout during an outage). A graceful stop writes or spools everything first;
//! `kill -9` or a power cut loses that window. With `durable_redirects`, a redirect is
//! answered after its batch is in Redis or synced to the spool, so none is lost.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::ClickIds;
use super::spool::Spool;
use crate::config::ClickSettings;
use crate::domain::{ClickId, random_string};
use crate::metrics::{Metrics, RedisOperation};
use crate::store::{Click, ClickBatch, ClickSums, Store};

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What became of a click handed to the writer.
#[derive(Debug)]
pub enum Recorded {
    /// Buffered; it will be written with the next flush.
    Buffered,
    /// Buffered; the receiver fires once the click is committed to Redis.
    Committing(oneshot::Receiver<()>),
    /// The buffer was full (Redis has been unreachable for long): the click is lost.
    Dropped,
}

/// Clicks summed into a batch, and the durable-mode redirects waiting for its commit.
#[derive(Default)]
struct Pending {
    clicks: ClickSums,
    waiters: Vec<oneshot::Sender<()>>,
}

/// The clicks not yet written: the open batch new clicks go to, and full batches behind it.
#[derive(Default)]
struct Buffer {
    open: Pending,
    sealed: VecDeque<Pending>,
    /// Clicks in all of them.
    clicks: usize,
}

impl Buffer {
    /// The oldest batch, leaving an empty open batch when that was the one.
    fn take_oldest(&mut self) -> Pending {
        let batch = self
            .sealed
            .pop_front()
            .unwrap_or_else(|| std::mem::take(&mut self.open));
        self.clicks -= batch.clicks.len();
        batch
    }
}

struct Shared {
    ids: ClickIds,
    buffer: Mutex<Buffer>,
    wake: Notify,
    capacity: usize,
    max_batch: usize,
    metrics: Metrics,
}

impl Shared {
    fn buffer(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
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
            .field("buffered", &self.shared.buffer().clicks)
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
    /// Opens the spool and starts the flusher on the current runtime. Batches a previous run
    /// left in the spool are replayed first.
    pub fn start(
        store: Store,
        settings: &ClickSettings,
        metrics: Metrics,
    ) -> std::io::Result<(Self, FlushTask)> {
        let spool = Spool::open(&settings.spool_dir, settings.spool_max_bytes)?;
        if !spool.is_empty() {
            tracing::info!(
                bytes = spool.depth().bytes,
                "replaying clicks spooled by an earlier run"
            );
        }
        let shared = Arc::new(Shared {
            ids: ClickIds::default(),
            buffer: Mutex::new(Buffer::default()),
            wake: Notify::new(),
            capacity: settings.buffer_capacity,
            max_batch: settings.max_batch.get(),
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
            spool,
            retry_spool_at: Instant::now(),
            spool_backoff: MIN_BACKOFF,
        };
        flusher.report_spool();
        let handle = tokio::spawn(flusher.run(stopped));
        Ok((Self { shared }, FlushTask { handle, stop }))
    }

    /// Gives the click its id and buffers it. With `wait_for_commit`, the result says when it
    /// is in Redis.
    ///
    /// The id is taken under the buffer's lock, so ids are buffered in order and the records
    /// of a batch lie in a few long runs, one `SETRANGE` each.
    pub fn record(&self, click: &Click<'_>, wait_for_commit: bool) -> (ClickId, Recorded) {
        let shared = &*self.shared;
        let mut buffer = shared.buffer();
        if buffer.clicks >= shared.capacity {
            drop(buffer);
            shared.metrics.clicks_dropped.inc();
            return (shared.ids.next(), Recorded::Dropped);
        }
        let id = shared.ids.next();
        buffer.open.clicks.add(&id, click);
        buffer.clicks += 1;
        let receiver = wait_for_commit.then(|| {
            let (tx, rx) = oneshot::channel();
            buffer.open.waiters.push(tx);
            rx
        });
        let full = buffer.open.clicks.len() >= shared.max_batch;
        if full {
            let batch = std::mem::take(&mut buffer.open);
            buffer.sealed.push_back(batch);
        }
        drop(buffer);
        if wait_for_commit || full {
            shared.wake.notify_one();
        }
        (
            id,
            receiver.map_or(Recorded::Buffered, Recorded::Committing),
        )
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
    spool: Spool,
    /// When to try replaying the spool next: backs off while Redis stays away.
    retry_spool_at: Instant,
    spool_backoff: Duration,
}

impl Flusher {
    async fn run(mut self, mut stop: watch::Receiver<Option<Instant>>) {
        let mut next_flush = Instant::now() + self.interval;
        loop {
            let stopping = stop.borrow_and_update().is_some();
            let backlog = !self.shared.buffer().sealed.is_empty();
            if !stopping && !backlog {
                tokio::select! {
                    () = tokio::time::sleep_until(next_flush) => {}
                    () = self.shared.wake.notified() => {}
                    changed = stop.changed() => if changed.is_err() {
                        // The owner went away without draining (only a teardown does that):
                        // nobody is left to wait for, so stop rather than spin.
                        tracing::warn!(buffered = self.shared.buffer().clicks, "click flusher dropped without a drain");
                        return;
                    },
                }
            }
            next_flush = Instant::now() + self.interval;
            if !self.spool.is_empty() && Instant::now() >= self.retry_spool_at {
                self.replay_spool().await;
            }
            let Pending { clicks, waiters } = self.shared.buffer().take_oldest();
            if !clicks.is_empty() {
                self.seq += 1;
                let batch = ClickBatch {
                    writer: Arc::clone(&self.writer),
                    seq: self.seq,
                    clicks,
                };
                self.keep(&batch, &stop).await;
                for waiter in waiters {
                    let _ = waiter.send(());
                }
            }
            let buffered = self.shared.buffer().clicks;
            self.shared.metrics.click_buffer_depth.set(gauge(buffered));
            let stopping = stop.borrow().is_some();
            if stopping && buffered == 0 {
                self.finish().await;
                return;
            }
        }
    }

    /// Puts a batch in Redis, or, when Redis is away or older batches wait in the spool, in
    /// the spool. Only when the spool cannot be written either does it wait for Redis.
    async fn keep(&mut self, batch: &ClickBatch, stop: &watch::Receiver<Option<Instant>>) {
        if self.spool.is_empty() && self.write(batch).await {
            return;
        }
        match self.spool.append(batch) {
            Ok(dropped) => {
                if dropped > 0 {
                    let metrics = &self.shared.metrics;
                    metrics.click_spool_dropped.inc_by(dropped as u64);
                    tracing::error!(
                        dropped,
                        "the click spool is full; its oldest clicks were dropped"
                    );
                }
                self.report_spool();
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot write the click spool; holding the batch in memory");
                if !self.write_until_landed(batch, stop).await {
                    tracing::error!(
                        lost = batch.clicks.len(),
                        "Redis stayed unreachable past the shutdown deadline; clicks are lost"
                    );
                }
            }
        }
    }

    /// Replays spooled batches, oldest first, until the spool is empty or a write fails.
    async fn replay_spool(&mut self) {
        loop {
            let batches = match self.spool.oldest() {
                Ok(Some(batches)) => batches,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the click spool");
                    self.back_off_spool();
                    return;
                }
            };
            for batch in &batches {
                if !self.write(batch).await {
                    self.back_off_spool();
                    return;
                }
            }
            if let Err(e) = self.spool.release_oldest() {
                tracing::error!(error = %e, "cannot remove a replayed spool segment");
                self.back_off_spool();
                return;
            }
            self.report_spool();
        }
        tracing::info!("the click spool is replayed");
        self.spool_backoff = MIN_BACKOFF;
        self.report_spool();
    }

    fn back_off_spool(&mut self) {
        self.retry_spool_at = Instant::now() + self.spool_backoff;
        self.spool_backoff = (self.spool_backoff * 2).min(MAX_BACKOFF);
    }

    /// At shutdown, with the buffer empty: one more attempt at replaying the spool. What is
    /// left is safe on disk, and the next start replays it; there is no point in waiting for
    /// Redis here.
    async fn finish(&mut self) {
        if !self.spool.is_empty() {
            self.replay_spool().await;
        }
        if !self.spool.is_empty() {
            tracing::warn!(
                bytes = self.spool.depth().bytes,
                "clicks stay in the spool; the next start replays them"
            );
        }
    }

    fn report_spool(&self) {
        let bytes = self.spool.depth().bytes;
        self.shared
            .metrics
            .click_spool_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// One attempt at writing a batch.
    async fn write(&self, batch: &ClickBatch) -> bool {
        let metrics = &self.shared.metrics;
        let started = Instant::now();
        match self.store.write_clicks(batch, self.window_days).await {
            Ok(()) => {
                metrics.flushes_ok.inc();
                metrics
                    .flush_duration
                    .observe(started.elapsed().as_secs_f64());
                #[allow(clippy::cast_precision_loss)]
                metrics.flush_batch_size.observe(batch.clicks.len() as f64);
                true
            }
            Err(e) => {
                metrics.flushes_failed.inc();
                metrics.redis_error(RedisOperation::ClickFlush);
                tracing::warn!(error = %e, clicks = batch.clicks.len(), "click flush failed");
                false
            }
        }
    }

    /// Writes the batch, retrying with backoff; `false` if stopping and the deadline passed.
    async fn write_until_landed(
        &self,
        batch: &ClickBatch,
        stop: &watch::Receiver<Option<Instant>>,
    ) -> bool {
        let mut backoff = MIN_BACKOFF;
        loop {
            if self.write(batch).await {
                return true;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClickClass;

    fn writer(capacity: usize, max_batch: usize) -> ClickWriter {
        ClickWriter {
            shared: Arc::new(Shared {
                ids: ClickIds::default(),
                buffer: Mutex::new(Buffer::default()),
                wake: Notify::new(),
                capacity,
                max_batch,
                metrics: Metrics::new(),
            }),
        }
    }

    fn record(writer: &ClickWriter) -> (ClickId, Recorded) {
        let (code, influencer) = (Arc::from("summer"), Arc::from("inf_abc"));
        writer.record(
            &Click::for_test(&code, &influencer, ClickClass::Human),
            false,
        )
    }

    #[test]
    fn a_batch_is_sealed_when_full_and_batches_are_taken_oldest_first() {
        let writer = writer(100, 3);

        let ids: Vec<u64> = (0..5).map(|_| record(&writer).0.seq()).collect();

        assert_eq!(
            ids,
            [0, 1, 2, 3, 4],
            "ids are given in the order clicks are buffered"
        );
        let mut buffer = writer.shared.buffer();
        assert_eq!(buffer.clicks, 5);
        let first = buffer.take_oldest();
        assert_eq!(first.clicks.len(), 3);
        let second = buffer.take_oldest();
        assert_eq!(second.clicks.len(), 2);
        assert!(buffer.take_oldest().clicks.is_empty());
        assert_eq!(buffer.clicks, 0);
    }

    #[test]
    fn a_click_beyond_the_capacity_is_dropped_and_counted() {
        let writer = writer(2, 10);

        let outcomes: Vec<Recorded> = (0..3).map(|_| record(&writer).1).collect();

        assert!(matches!(
            outcomes[..2],
            [Recorded::Buffered, Recorded::Buffered]
        ));
        assert!(matches!(outcomes[2], Recorded::Dropped));
        assert_eq!(writer.shared.buffer().clicks, 2);
        assert_eq!(writer.shared.metrics.clicks_dropped.get(), 1);
    }
}
