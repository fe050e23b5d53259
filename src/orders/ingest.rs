//! Taking in a verified order delivery: attribution, exactly-once storage, and the owner's
//! counters.
//!
//! Each delivery is folded into the order's record by compare-and-set on its revision: read,
//! apply the events in memory, write back only if nobody wrote in between, else read again.
//! Concurrent deliveries of one order (on one replica or several) therefore serialise, and
//! since folding is idempotent, a retried delivery changes nothing. The record's figures are
//! then applied to its owner's counters as of that revision, replacing what the previous
//! revision added; a crash between the two steps is repaired by the shop's retry, which finds
//! the delivery already folded and applies the figures again (a no-op if they had landed).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::runtime::Handle;
use tracing::Instrument;

use super::delivery::Delivery;
use super::trust::TrustRules;
use crate::domain::{AttributedBy, AttributionPolicy, Currency, Order, Platform};
use crate::metrics::{AttributionLabel, CorruptKind, Metrics};
use crate::store::{Store, StoreError};

/// Compare-and-set attempts before a delivery is refused with a retry-later status. Only a
/// storm of simultaneous deliveries of one order could exhaust them.
pub(super) const MAX_ATTEMPTS: usize = 16;

/// What taking in an order needs, and nothing else: the store, how orders are attributed and
/// held, the calendar they are counted in, and the metrics.
#[derive(Debug, Clone)]
pub struct OrderIntake {
    pub(super) store: Store,
    pub(super) policy: AttributionPolicy,
    pub(super) trust: Arc<TrustRules>,
    pub(super) time_zone: Tz,
    pub(super) metrics: Metrics,
    /// The runtime that drives the Redis connections (see [`Self::ingest_on_runtime`]).
    runtime: Handle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Applied,
    /// The delivery had been applied before: a retry.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the order was changed by {MAX_ATTEMPTS} concurrent deliveries in a row")]
    Contended,
    #[error(
        "currency: the order is in {order} but this delivery states {given}; a refund or \
         cancellation must be in its order's currency (nothing is converted)"
    )]
    CurrencyMismatch { order: Currency, given: Currency },
    #[error("taking in the order stopped before it finished; send the delivery again")]
    Interrupted,
}

impl OrderIntake {
    /// How orders are attributed.
    pub fn policy(&self) -> AttributionPolicy {
        self.policy
    }

    pub fn new(
        store: Store,
        policy: AttributionPolicy,
        trust: TrustRules,
        time_zone: Tz,
        metrics: Metrics,
        runtime: Handle,
    ) -> Self {
        Self {
            store,
            policy,
            trust: Arc::new(trust),
            time_zone,
            metrics,
            runtime,
        }
    }

    /// Takes in a delivery as [`Self::ingest`] does, as a task of the runtime that drives the
    /// Redis connections rather than of the HTTP worker that received it. Its several Redis
    /// round trips then each resume at once, where on a worker busy with redirects each one
    /// waited for the worker's turn (a webhook took ~11 ms inside the server at full redirect
    /// load, against 0.4 ms idle). The task runs to its end even if the shop hangs up.
    pub async fn ingest_on_runtime(&self, delivery: Delivery) -> Result<Ingested, IngestError> {
        let intake = self.clone();
        let task = self
            .runtime
            .spawn(async move { intake.ingest(&delivery).await }.in_current_span());
        match task.await {
            Ok(ingested) => ingested,
            Err(e) => {
                if e.is_panic() {
                    tracing::error!(error = %e, "taking in an order panicked");
                }
                Err(IngestError::Interrupted)
            }
        }
    }

    /// How suspect orders are found and held, and the key of e-mail hashes.
    pub fn trust(&self) -> &TrustRules {
        &self.trust
    }

    pub async fn ingest(&self, delivery: &Delivery) -> Result<Ingested, IngestError> {
        let store = &self.store;
        let key = &delivery.order_key;
        // Buyers' e-mail addresses become keyed hashes here, before anything is stored.
        let events = self.trust.seal(&delivery.events);
        for attempt in 0..MAX_ATTEMPTS {
            pause(attempt).await;
            let (rev, mut order) = match self.read(key).await? {
                Some(stored) => (stored.rev, stored.order),
                None => (0, Order::new(key, delivery.platform)),
            };
            if order.has_seen(&delivery.delivery_id) {
                self.publish(key, rev, &order).await?;
                return Ok(Ingested::Duplicate);
            }
            // reftrack's own format is refused outright, since its sender can correct it; a shop's
            // refund in another currency is kept apart (see `Order::foreign_refunds`) and counted
            // in a metric, since refusing it would only make the shop retry it forever.
            if let Some((order_currency, given)) = order.currency_conflict(&events)
                && delivery.platform == Platform::Generic
            {
                return Err(IngestError::CurrencyMismatch {
                    order: order_currency,
                    given,
                });
            }
            let foreign_before = order.foreign_refunds();
            let now = Utc::now().timestamp_millis();
            order.apply(&delivery.delivery_id, &events, now);
            let newly_attributed = match order.awaiting_attribution() {
                Some(facts) => {
                    let attribution = self.attribute(key, facts, now, true).await?;
                    order.attribution = Some(attribution);
                    true
                }
                None => false,
            };
            if store.save_order(key, rev, &order).await? {
                if newly_attributed
                    && !order
                        .attribution
                        .as_ref()
                        .is_some_and(crate::domain::Attribution::is_pending)
                {
                    self.metrics.order_attributed(label(&order));
                }
                let foreign = order.foreign_refunds().saturating_sub(foreign_before);
                if foreign > 0 {
                    tracing::warn!(
                        order = key.as_str(),
                        "refund in another currency than its order's, not counted"
                    );
                    self.metrics
                        .refunds_in_other_currency(delivery.platform, foreign);
                }
                self.publish(key, rev + 1, &order).await?;
                return Ok(Ingested::Applied);
            }
        }
        Err(IngestError::Contended)
    }
}

impl OrderIntake {
    /// An order's record and revision, counting a damaged record in the metrics. A damaged
    /// record is never folded into: the delivery is answered 500 and the shop retries until
    /// an operator repairs the record. Not removes it: a new record would start again at
    /// revision 1, below what its owners' counters applied, and without its former owners.
    pub(super) async fn read(
        &self,
        key: &crate::domain::OrderKey,
    ) -> Result<Option<crate::store::StoredOrder>, StoreError> {
        self.store.order(key).await.inspect_err(|e| {
            if matches!(e, StoreError::Corrupt { .. }) {
                self.metrics.corrupt_record(CorruptKind::Order);
            }
        })
    }
}

/// Before another compare-and-set attempt: another writer of the order wrote first, and a
/// short random pause spreads the contenders out so that one of them wins the next round.
pub(super) async fn pause(attempt: usize) {
    if attempt > 0 {
        let jitter = rand::random_range(0..=attempt as u64 * 2);
        tokio::time::sleep(Duration::from_millis(jitter)).await;
    }
}

/// The calendar day of an order in the reporting time zone.
pub(super) fn order_day(at_ms: i64, time_zone: Tz) -> chrono::NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .with_timezone(&time_zone)
        .date_naive()
}

pub(super) fn label(order: &Order) -> AttributionLabel {
    let test = order.facts.as_ref().is_some_and(|f| f.test);
    match &order.attribution {
        _ if test => AttributionLabel::Test,
        Some(a) if !a.qualified => AttributionLabel::Unqualified,
        Some(a) if a.by == AttributedBy::Click => AttributionLabel::Click,
        Some(a) if a.by == AttributedBy::Coupon => AttributionLabel::Coupon,
        _ => AttributionLabel::Unattributed,
    }
}
