//! The click buffer and its flusher: a group commit of clicks to Redis.
//!
//! A redirect adds its click to the buffer in memory (under a mutex, no I/O): the click's
//! record is encoded into the open batch (see [`ClickSums`](crate::store::ClickSums)) and its
//! counts summed into its link's tally (see [`Tallies`](crate::store::Tallies)) right there,
//! and it answers.
//! One flusher, on a thread of its own, writes the open batch in one pipeline: every
//! `flush_interval`, at once when a batch reaches `max_batch` clicks (it is then sealed and a
//! new one opened), and at once when a durable-mode redirect is waiting, so redirects arriving
//! together share one write.
//!
//! Summing on arrival keeps the flusher's work per batch small. That matters because the
//! flusher shares a core with the HTTP workers: work it does per click arrives in one burst
//! per flush, and every request in flight waits out the burst. The flusher's thread runs
//! its own single-threaded runtime, so a burst never holds one of the main runtime's
//! threads, where webhooks' orders and the other Redis connections are driven; with
//! `http.api_bind` it also runs at the redirect workers' lower priority
//! ([`crate::cpu_priority`]).
//!
//! A batch that cannot be written goes to the [`Spool`] on local disk, and so does every batch
//! after it until the spool has been replayed into Redis, in order; so does the whole buffer
//! when it passes half its capacity (Redis slower than the clicks coming: see
//! [`super::flusher`]). A click is dropped only when the buffer is full all the same (the
//! spool cannot be written), counted and logged. Batches carry `(writer id, sequence
//! number)` and the counters script skips a batch it has applied, so a replay of a batch
//! whose write had in fact landed counts nothing twice.
//!
//! Loss window: in the default mode a click is in memory from its redirect until its flush
//! lands (or is spooled), at most about `flush_interval` plus one Redis round trip (or one
//! Redis timeout during an outage). A graceful stop writes or spools everything first;
//! `kill -9` or a power cut loses that window. With `durable_redirects`, a redirect is
//! answered after its batch is in Redis or synced to the spool, so none is lost.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono_tz::Tz;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::buffer::Shared;
use super::flusher::Flusher;
use super::spool::Spool;
use crate::config::ClickSettings;
use crate::cpu_priority;
use crate::domain::ClickId;
use crate::metrics::Metrics;
use crate::store::{Click, Store, StoreError, StoreResult};

/// What became of a click handed to the writer.
#[derive(Debug)]
pub enum Recorded {
    /// Buffered; it will be written with the next flush.
    Buffered,
    /// Buffered; the receiver fires once the click is committed to Redis.
    Committing(oneshot::Receiver<()>),
    /// The buffer was full (neither Redis nor the spool took clicks): the click is lost.
    Dropped,
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

/// Why the click writer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("opening the click spool")]
    Spool(#[source] std::io::Error),
    #[error("starting the click flusher's thread")]
    Thread(#[source] std::io::Error),
    #[error("connecting the click flusher to Redis")]
    Redis(#[source] StoreError),
}

/// The running flusher. Stop it with [`FlushTask::drain`] so no buffered click is lost.
#[derive(Debug)]
pub struct FlushTask {
    /// Fires when the flusher's thread has finished; dropped unsent if it panicked.
    finished: oneshot::Receiver<()>,
    stop: watch::Sender<Option<Instant>>,
}

impl ClickWriter {
    /// Opens the spool and starts the flusher on a thread of its own, `nice` steps below the
    /// main thread's CPU priority, where `connect` opens the flusher's own Redis connections:
    /// their I/O is then driven on that thread too. Batches a previous run left in the spool
    /// are replayed first.
    ///
    /// # Errors
    ///
    /// When the spool cannot be opened, the thread or its runtime cannot be started, or
    /// `connect` fails.
    pub async fn start(
        connect: impl Future<Output = StoreResult<Store>> + Send + 'static,
        settings: &ClickSettings,
        time_zone: Tz,
        metrics: Metrics,
        nice: u8,
    ) -> Result<(Self, FlushTask), StartError> {
        let spool = Spool::open(&settings.spool_dir, settings.spool_max_bytes)
            .map_err(StartError::Spool)?;
        if !spool.is_empty() {
            tracing::info!(
                bytes = spool.depth().bytes,
                "replaying clicks spooled by an earlier run"
            );
        }
        let shared = Arc::new(Shared::new(
            settings.buffer_capacity,
            settings.max_batch.get(),
            metrics,
        ));
        let (stop, stopped) = watch::channel(None);
        let (connected, connecting) = oneshot::channel();
        let (done, finished) = oneshot::channel();
        let (thread_shared, settings) = (Arc::clone(&shared), settings.clone());
        std::thread::Builder::new()
            // Linux keeps 15 bytes of a thread's name.
            .name("reftrack-flush".into())
            .spawn(move || {
                if let Err(e) = cpu_priority::set_this_thread_below_main(nice) {
                    tracing::warn!(error = %e, nice, "cannot set the click flusher's CPU priority");
                }
                // Built here, not by the caller: a runtime may not be dropped inside another,
                // as it would be were the thread's spawn to fail.
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = connected.send(Err(StartError::Thread(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let store = match connect.await {
                        Ok(store) => store,
                        Err(e) => {
                            let _ = connected.send(Err(StartError::Redis(e)));
                            return;
                        }
                    };
                    let flusher = Flusher::new(thread_shared, store, &settings, time_zone, spool);
                    flusher.report_spool();
                    if connected.send(Ok(())).is_ok() {
                        flusher.run(stopped).await;
                    }
                });
                let _ = done.send(());
            })
            .map_err(StartError::Thread)?;
        match connecting.await {
            Ok(Ok(())) => Ok((Self { shared }, FlushTask { finished, stop })),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StartError::Thread(std::io::Error::other(
                "the click flusher's thread ended while starting",
            ))),
        }
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
            if !shared.dropping.swap(true, Ordering::Relaxed) {
                tracing::error!(
                    capacity = shared.capacity,
                    "the click buffer is full and the spool takes nothing: clicks are dropped"
                );
            }
            shared.wake.notify_one();
            return (shared.ids.next(), Recorded::Dropped);
        }
        let id = shared.ids.next();
        buffer.add(&id, click);
        let receiver = wait_for_commit.then(|| {
            let (tx, rx) = oneshot::channel();
            buffer.open.waiters.push(tx);
            rx
        });
        let full = buffer.open.clicks.len() >= shared.max_batch;
        if full {
            buffer.seal();
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
        if self.finished.await.is_err() {
            tracing::error!("click flusher panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClickClass;

    fn writer(capacity: usize, max_batch: usize) -> ClickWriter {
        ClickWriter {
            shared: Arc::new(Shared::new(capacity, max_batch, Metrics::new())),
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
    fn a_link_is_tallied_once_across_the_batches_that_hold_its_records() {
        let writer = writer(100, 2);

        for _ in 0..5 {
            record(&writer);
        }

        let mut buffer = writer.shared.buffer();
        let records: Vec<usize> = (0..3).map(|_| buffer.take_oldest().clicks.len()).collect();
        assert_eq!(records, [2, 2, 1]);
        assert_eq!(buffer.tallied(), 5);
        let tallies = buffer.take_tallies();
        assert_eq!(tallies.clicks(), 5);
        assert_eq!(tallies.split(10).len(), 1, "one tally for the one link");
        assert_eq!(buffer.tallied(), 0);
        assert!(buffer.take_tallies().is_empty());
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
