//! The flusher: the one task that takes batches out of the click buffer and keeps them, in
//! Redis or in the spool.
//!
//! Normally each batch's click records go straight to Redis, and the tallies (counts and
//! unique visitors per link and influencer), which the buffer sums apart for every click, are
//! taken and written together once per count interval (a longer one while clicks spread thin:
//! see [`CountSchedule`]), in parts of about a thousand links: clicks spread over many links
//! reach each link's counters once an interval rather than once a flush, which is most of
//! what a click costs Redis. The tallies are taken and written at
//! once, ahead of the batch, when a durable-mode redirect waits for it (they count its click),
//! when the flusher stops, and whenever a batch is headed for the spool (they go along), so
//! what the spool holds is whole.
//!
//! Normally each batch goes straight to Redis. A batch goes to the [`Spool`] instead when
//! Redis is away (the write failed), when older batches wait in the spool (so batches land in
//! order), or when the buffer has passed its spill mark (half its capacity: Redis takes clicks
//! slower than they come). Then the flusher moves the whole buffer to the spool at disk speed,
//! so redirects never find it full while the disk has room, and replays the spool one segment
//! per round, oldest first, in between.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono_tz::Tz;
use tokio::sync::watch;
use tokio::time::Instant;

use super::buffer::{Pending, Shared};
use super::count_schedule::{CountSchedule, Held};
use super::spool::{Dropped, Spool};
use crate::config::ClickSettings;
use crate::domain::random_string;
use crate::metrics::{CorruptKind, RedisOperation};
use crate::store::{ClickBatch, ClickSums, RefusedCounter, Store};

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

pub(super) struct Flusher {
    shared: Arc<Shared>,
    store: Store,
    interval: Duration,
    window_days: u64,
    /// This process's writer id: with `seq`, names each batch so it counts once.
    writer: Arc<str>,
    seq: u64,
    spool: Spool,
    /// When to try replaying the spool next: backs off while Redis stays away.
    retry_spool_at: Instant,
    spool_backoff: Duration,
    /// Links whose number this process registered when it wrote their tallies: a spool file
    /// of a build before the link cache registered links relies on its batches for that.
    registered: foldhash::HashSet<Arc<str>>,
    /// Damaged counters already logged: one stays damaged until repaired, and a flush meets
    /// it every interval, so it is logged once per process (and counted every time).
    logged_refusals: foldhash::HashSet<RefusedCounter>,
    /// When the last write of the buffer's tallies ended: the schedule counts from there.
    tallies_taken: Instant,
    count_schedule: CountSchedule,
    /// The reporting time zone: a batch's visitors of today go to day sketches alone.
    time_zone: Tz,
}

/// Links whose tallies one write carries, about (at most twice as many, with their influencers;
/// see [`crate::store::Tallies::split`]). Small enough that building a write takes
/// the runtime thread a few milliseconds at a time, and Redis a millisecond or two per script,
/// so neither holds up other work for long.
const MAX_TALLIED_LINKS: usize = 1_000;

/// Registered links remembered, at most: past it the set starts again (registering twice
/// is harmless), so a catalog of millions of links cannot grow it without bound.
const MAX_REGISTERED: usize = 1_000_000;

/// Where a batch is to go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// To Redis, unless Redis is away or the spool holds older batches.
    Redis,
    /// To the spool: the buffer is over its spill mark.
    Spill,
}

impl Flusher {
    pub fn new(
        shared: Arc<Shared>,
        store: Store,
        settings: &ClickSettings,
        time_zone: Tz,
        spool: Spool,
    ) -> Self {
        let count_schedule = CountSchedule {
            interval: settings.count_interval(),
            max_interval: settings.max_count_interval(),
            cheap_links: MAX_TALLIED_LINKS,
            max_tallied: shared.spill_at,
        };
        Self {
            time_zone,
            shared,
            store,
            interval: settings.flush_interval(),
            window_days: u64::from(settings.attribution_window_days),
            writer: random_string(&nanoid::alphabet::SAFE, 12).into(),
            seq: 0,
            spool,
            retry_spool_at: Instant::now(),
            spool_backoff: MIN_BACKOFF,
            registered: foldhash::HashSet::default(),
            logged_refusals: foldhash::HashSet::default(),
            tallies_taken: Instant::now(),
            count_schedule,
        }
    }

    pub async fn run(mut self, mut stop: watch::Receiver<Option<Instant>>) {
        let mut next_flush = Instant::now() + self.interval;
        loop {
            let stopping = stop.borrow_and_update().is_some();
            let backlog = !self.shared.buffer().sealed.is_empty();
            if !stopping && !backlog {
                let wake = self.next_wake(next_flush);
                tokio::select! {
                    () = tokio::time::sleep_until(wake) => {}
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
                self.replay_spool(false).await;
            }
            let (route, batches) = self.take();
            for Pending { clicks, waiters } in batches {
                if clicks.is_empty() {
                    continue;
                }
                // The tallies count this batch's clicks (and perhaps newer ones). They wait for
                // their interval only when the batch is about to land in Redis and nobody waits
                // for it; otherwise they are taken now and kept ahead of it.
                let hold = route == Route::Redis
                    && self.spool.is_empty()
                    && waiters.is_empty()
                    && !stopping;
                if !hold || self.tallies_due() {
                    self.write_tallies(route, &stop).await;
                }
                let batch = self.next_batch(clicks);
                self.keep(batch, route, &stop).await;
                for waiter in waiters {
                    let _ = waiter.send(());
                }
            }
            let stopping = stop.borrow().is_some();
            if stopping || self.tallies_due() {
                self.write_tallies(Route::Redis, &stop).await;
            }
            let (buffered, tallied) = {
                let buffer = self.shared.buffer();
                (buffer.clicks, buffer.tallied())
            };
            self.shared.metrics.click_buffer_depth.set(gauge(buffered));
            self.shared.metrics.click_tallies_held.set(gauge(tallied));
            if stopping && buffered == 0 && tallied == 0 {
                self.finish().await;
                return;
            }
        }
    }

    /// The batches to keep this round: the oldest, or, when the buffer is over its spill mark
    /// or the spool holds older batches (so the new ones go behind them at disk speed), all.
    fn take(&self) -> (Route, Vec<Pending>) {
        let mut buffer = self.shared.buffer();
        let over = buffer.clicks >= self.shared.spill_at;
        if self.shared.dropping.swap(false, Ordering::Relaxed) {
            tracing::warn!("the click buffer has room again");
        }
        if !over && self.spool.is_empty() {
            return (Route::Redis, vec![buffer.take_oldest()]);
        }
        let mut all = Vec::with_capacity(buffer.sealed.len() + 1);
        while buffer.clicks > 0 {
            all.push(buffer.take_oldest());
        }
        drop(buffer);
        if over {
            let clicks: usize = all.iter().map(|p| p.clicks.len()).sum();
            self.shared.metrics.clicks_spilled.inc_by(clicks as u64);
            tracing::warn!(
                clicks,
                "Redis takes clicks slower than they come: the buffer goes to the spool"
            );
            return (Route::Spill, all);
        }
        (Route::Redis, all)
    }

    /// Numbers a batch.
    fn next_batch(&mut self, clicks: ClickSums) -> ClickBatch {
        self.seq += 1;
        ClickBatch {
            writer: Arc::clone(&self.writer),
            seq: self.seq,
            clicks,
        }
    }

    /// When to look at the buffer next: at the next flush, or sooner when the count schedule
    /// looks at held tallies first. With none held yet, a count interval from now: a click
    /// that comes meanwhile wakes nobody, and its count must not wait for a flush interval
    /// set longer than the count interval.
    fn next_wake(&self, next_flush: Instant) -> Instant {
        let look = if self.shared.buffer().tallied() == 0 {
            Instant::now() + self.count_schedule.interval
        } else {
            self.tallies_taken + self.count_schedule.next_look(self.tallies_taken.elapsed())
        };
        next_flush.min(look)
    }

    /// The buffer's tallies are to be written (see [`CountSchedule`]).
    fn tallies_due(&self) -> bool {
        let (clicks, links) = {
            let buffer = self.shared.buffer();
            (buffer.tallied(), buffer.tallied_links())
        };
        self.count_schedule.due(Held {
            elapsed: self.tallies_taken.elapsed(),
            clicks,
            links,
        })
    }

    /// Takes the buffer's tallies and writes them in parts of about [`MAX_TALLIED_LINKS`]
    /// links, each a batch of its own: so no write carries so much that it outlasts the Redis
    /// deadline or holds Redis for long, however many links were clicked.
    async fn write_tallies(&mut self, route: Route, stop: &watch::Receiver<Option<Instant>>) {
        let tallies = self.shared.buffer().take_tallies();
        for part in tallies.split(MAX_TALLIED_LINKS) {
            let batch = self.next_batch(ClickSums::of_tallies(part));
            self.keep(batch, route, stop).await;
        }
        // The next interval starts when this write ends: over 100,000 links a write takes a
        // good part of a second, and counting from its start wrote counts half again as often,
        // each carrying fewer clicks per owner, and left the click records too little time.
        self.tallies_taken = Instant::now();
    }

    /// Puts a batch in Redis, or, when Redis is away, older batches wait in the spool or the
    /// buffer is being spilled, in the spool. Only when the spool cannot be written either
    /// does it wait for Redis. A batch that goes to the spool takes the buffer's tallies
    /// along.
    async fn keep(
        &mut self,
        batch: ClickBatch,
        route: Route,
        stop: &watch::Receiver<Option<Instant>>,
    ) {
        if route == Route::Redis && self.spool.is_empty() && self.write(&batch).await {
            return;
        }
        self.spool(&batch, stop).await;
        // While Redis is away the tallies are safer on disk than in memory, and they land in
        // order with the rest. They go as batches of their own, never added to the one just
        // tried: its write may have landed in some count shards, which would then skip what
        // was added to it when it is replayed.
        let tallies = self.shared.buffer().take_tallies();
        for part in tallies.split(MAX_TALLIED_LINKS) {
            let part = self.next_batch(ClickSums::of_tallies(part));
            self.spool(&part, stop).await;
        }
    }

    /// Appends a batch to the spool; if the spool cannot be written, waits for Redis instead.
    async fn spool(&mut self, batch: &ClickBatch, stop: &watch::Receiver<Option<Instant>>) {
        match self.spool.append(batch) {
            Ok(dropped) => {
                if dropped != Dropped::default() {
                    let metrics = &self.shared.metrics;
                    metrics.click_spool_dropped.inc_by(dropped.records as u64);
                    metrics.click_spool_counts_dropped.inc_by(dropped.counted);
                    tracing::error!(
                        records = dropped.records,
                        counted = dropped.counted,
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
                        counted = batch.clicks.tallied(),
                        "Redis stayed unreachable past the shutdown deadline; clicks are lost"
                    );
                }
            }
        }
    }

    /// Replays spooled batches, oldest first: one segment, or with `all` until the spool is
    /// empty, stopping at the first write that fails.
    async fn replay_spool(&mut self, all: bool) {
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
            self.spool_backoff = MIN_BACKOFF;
            self.report_spool();
            if !all {
                break;
            }
        }
        if self.spool.is_empty() {
            tracing::info!("the click spool is replayed");
        }
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
            self.replay_spool(true).await;
        }
        if !self.spool.is_empty() {
            tracing::warn!(
                bytes = self.spool.depth().bytes,
                "clicks stay in the spool; the next start replays them"
            );
        }
    }

    pub fn report_spool(&self) {
        let bytes = self.spool.depth().bytes;
        self.shared
            .metrics
            .click_spool_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// The day now in the reporting time zone, read at each attempt: a batch retried past
    /// midnight writes yesterday's visitors to both sketches (see `store/month_sketches.rs`).
    fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.time_zone)
            .date_naive()
    }

    /// One attempt at writing a batch.
    async fn write(&mut self, batch: &ClickBatch) -> bool {
        let metrics = &self.shared.metrics;
        let started = Instant::now();
        let new_links: Vec<&Arc<str>> = batch
            .clicks
            .codes()
            .filter(|code| !self.registered.contains(*code))
            .collect();

        let codes: Vec<&str> = new_links.iter().map(|code| &***code).collect();
        match self
            .store
            .write_clicks(batch, self.window_days, &codes, self.today())
            .await
        {
            Ok(refused) => {
                for counter in refused {
                    metrics.corrupt_record(CorruptKind::Counter);
                    if self.logged_refusals.len() >= MAX_REGISTERED {
                        self.logged_refusals.clear();
                    }
                    if !self.logged_refusals.insert(counter.clone()) {
                        continue;
                    }
                    tracing::error!(
                        key = %counter.key,
                        field = %counter.field,
                        "a click counter refused its increment (not an integer, or at the end of \
                         its range); its clicks are not counted there until it is repaired, the \
                         rest are (logged once; reftrack_corrupt_records_total counts each)"
                    );
                }
                if self.registered.len() + new_links.len() > MAX_REGISTERED {
                    self.registered.clear();
                }
                self.registered
                    .extend(new_links.into_iter().map(Arc::clone));
                metrics.flushes_ok.inc();
                metrics
                    .flush_duration
                    .observe(started.elapsed().as_secs_f64());
                // Clicks whose records the batch carried: a write of summed tallies alone
                // carries none and is not a batch size.
                let records = batch.clicks.len();
                if records != 0 {
                    #[allow(clippy::cast_precision_loss)]
                    metrics.flush_batch_size.observe(records as f64);
                }
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
        &mut self,
        batch: &ClickBatch,
        stop: &watch::Receiver<Option<Instant>>,
    ) -> bool {
        let mut backoff = MIN_BACKOFF;
        loop {
            // Older batches in the spool land first: a later batch number landing before them
            // would make the counts script skip them.
            if !self.spool.is_empty() {
                self.replay_spool(true).await;
            }
            if self.spool.is_empty() && self.write(batch).await {
                return true;
            }
            if let Some(deadline) = *stop.borrow()
                && Instant::now() >= deadline
            {
                return false;
            }
            if stop.has_changed().is_err() {
                // The owner went away without draining (only a teardown does that): nobody
                // will set a deadline, so give up rather than retry for the life of the process.
                tracing::warn!(
                    clicks = batch.clicks.len(),
                    "click flusher dropped without a drain"
                );
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
