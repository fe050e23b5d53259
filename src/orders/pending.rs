//! Orders that arrived before their click's record was in Redis (the click still in a
//! batch, another replica's or a spool after an outage) wait as pending. A sweep on every
//! replica, off the redirect path, looks at the few that are due every
//! `attribution.pending_sweep_ms` and attributes each as soon as its click's record appears,
//! or as final once `attribution.pending_click_hours` have passed. Attributing is a
//! compare-and-set on the order's revision, so of two replicas looking at one order only one
//! attributes it, and the figures it publishes count once.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::OrderIntake;
use super::attribute::FoundClick;
use super::ingest::{IngestError, MAX_ATTEMPTS, label, pause};
use crate::domain::{Actor, ChangeBy, ChangeKind, ClickId, OrderKey};

/// Pending orders looked at per sweep at most.
const SWEEP_BATCH: usize = 100;

/// What looking at a pending order found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Attributed now, by its click or as final.
    Attributed,
    /// Still waiting.
    Waiting,
    /// No longer pending (another replica attributed it), or gone.
    Done,
}

/// When to look at an order that has waited `waited_ms` again: soon while its click is likely
/// in a batch or a spool, then less and less often.
fn next_look(now_ms: i64, waited_ms: i64) -> i64 {
    let delay = match waited_ms {
        ..60_000 => 0,
        60_000..3_600_000 => 5_000,
        _ => 60_000,
    };
    now_ms.saturating_add(delay)
}

impl OrderIntake {
    /// Looks at one pending order: attributes it if its click's record is in Redis or its
    /// wait is over, else schedules the next look.
    pub async fn settle(&self, key: &OrderKey) -> Result<Settled, IngestError> {
        for attempt in 0..MAX_ATTEMPTS {
            pause(attempt).await;
            let Some(stored) = self.read(key).await? else {
                self.store.remove_pending(key).await?;
                return Ok(Settled::Done);
            };
            let (rev, mut order) = (stored.rev, stored.order);
            let waiting = order
                .attribution
                .as_ref()
                .filter(|a| a.is_pending())
                .cloned();
            let (Some(pending), Some(facts)) = (waiting, order.facts.clone()) else {
                self.publish(key, rev, &order).await?;
                self.store.remove_pending(key).await?;
                return Ok(Settled::Done);
            };
            let now = Utc::now().timestamp_millis();
            let found = match pending.click_id.as_deref().and_then(ClickId::parse) {
                Some(id) => self.find_click(&id).await?,
                None => FoundClick::Absent,
            };
            let absent = matches!(found, FoundClick::Absent);
            let click = found.seen();
            let until = pending.pending_until_ms.unwrap_or(0);
            if absent && now < until {
                let waited = now.saturating_sub(until.saturating_sub(self.trust.pending_wait_ms));
                self.store
                    .reschedule_pending(key, next_look(now, waited))
                    .await?;
                return Ok(Settled::Waiting);
            }
            let attribution = self.attribute(key, &facts, now, false).await?;
            let who = if click.is_some() {
                Actor::ClickArrived
            } else {
                Actor::PendingWaitEnded
            };
            let by = ChangeBy {
                who,
                at_ms: now,
                note: None,
            };
            order.replace_attribution(attribution, Some((ChangeKind::Attributed, by)));
            order.updated_ms = now;
            if self.store.save_order(key, rev, &order).await? {
                self.metrics.order_attributed(label(&order));
                self.publish(key, rev + 1, &order).await?;
                self.store.remove_pending(key).await?;
                return Ok(Settled::Attributed);
            }
        }
        Err(IngestError::Contended)
    }

    /// Starts this replica's sweep of pending orders; it stops when `stop` turns true.
    pub fn start_pending_sweep(
        &self,
        every: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let intake = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => intake.sweep().await,
                    _ = stop.changed() => return,
                }
            }
        })
    }

    async fn sweep(&self) {
        let now = Utc::now().timestamp_millis();
        let due = match self.store.due_pending(now, SWEEP_BATCH).await {
            Ok((due, listed)) => {
                self.metrics
                    .pending_orders
                    .set(i64::try_from(listed).unwrap_or(i64::MAX));
                due
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the pending orders");
                return;
            }
        };
        for key in due {
            if let Err(e) = self.settle(&key).await {
                tracing::warn!(order = key.as_str(), error = %e, "could not settle a pending order");
                // Looked at again in a minute rather than at every sweep.
                let _ = self
                    .store
                    .reschedule_pending(&key, now.saturating_add(60_000))
                    .await;
            }
        }
    }
}
