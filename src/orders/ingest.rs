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

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::delivery::Delivery;
use crate::domain::{
    AttributedBy, AttributionPolicy, Bucket, ClickId, CouponCode, Currency, Evidence, Order,
    OrderFacts, OrderKey, Platform,
};
use crate::metrics::{AttributionLabel, CorruptKind, Metrics};
use crate::store::keys::{Owner, field};
use crate::store::{Store, StoreError};

/// Compare-and-set attempts before a delivery is refused with a retry-later status. Only a
/// storm of simultaneous deliveries of one order could exhaust them.
const MAX_ATTEMPTS: usize = 16;

/// What taking in an order needs, and nothing else: the store, how orders are attributed,
/// the calendar they are counted in, and the metrics.
#[derive(Debug, Clone)]
pub struct OrderIntake {
    store: Store,
    policy: AttributionPolicy,
    time_zone: Tz,
    metrics: Metrics,
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
}

impl OrderIntake {
    /// How orders are attributed.
    pub fn policy(&self) -> AttributionPolicy {
        self.policy
    }

    pub fn new(store: Store, policy: AttributionPolicy, time_zone: Tz, metrics: Metrics) -> Self {
        Self {
            store,
            policy,
            time_zone,
            metrics,
        }
    }

    pub async fn ingest(&self, delivery: &Delivery) -> Result<Ingested, IngestError> {
        let store = &self.store;
        let key = &delivery.order_key;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                // Another delivery of this order wrote first. A short random pause spreads the
                // contenders out so that one of them wins the next round.
                let jitter = rand::random_range(0..=attempt as u64 * 2);
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            let stored = store.order(key).await.inspect_err(|e| {
                // A damaged record is never folded into: the delivery is answered 500 and
                // the shop retries until an operator repairs or removes the record.
                if matches!(e, StoreError::Corrupt { .. }) {
                    self.metrics.corrupt_record(CorruptKind::Order);
                }
            })?;
            let (rev, mut order) = match stored {
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
            if let Some((order_currency, given)) = order.currency_conflict(&delivery.events)
                && delivery.platform == Platform::Generic
            {
                return Err(IngestError::CurrencyMismatch {
                    order: order_currency,
                    given,
                });
            }
            let foreign_before = order.foreign_refunds();
            order.apply(
                &delivery.delivery_id,
                &delivery.events,
                Utc::now().timestamp_millis(),
            );
            let newly_attributed = match order.awaiting_attribution() {
                Some(facts) => {
                    let attribution = self.attribute(facts).await?;
                    order.attribution = Some(attribution);
                    true
                }
                None => false,
            };
            if store.save_order(key, rev, &order).await? {
                if newly_attributed {
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

    /// Decides who earns an order from its click and coupons, and fixes the commission.
    async fn attribute(
        &self,
        facts: &OrderFacts,
    ) -> Result<crate::domain::Attribution, StoreError> {
        let store = &self.store;
        let policy = self.policy;
        let click = match facts.click_id.as_deref().and_then(ClickId::parse) {
            Some(id) => store.click(&id).await?,
            None => None,
        };
        // A click on a campaign's link is judged by the campaign's window, if it has one.
        let mut window = policy.window;
        let campaign_id = click.as_ref().and_then(|c| c.campaign_id.clone());
        if let Some(id) = &campaign_id
            && let Some(days) = store
                .campaign(id)
                .await?
                .and_then(|c| c.attribution_window_days)
        {
            window = window.with_days(days);
        }
        let mut coupon = None;
        for raw in &facts.coupons {
            let Ok(code) = CouponCode::parse(raw) else {
                continue;
            };
            if let Some(owner) = store.coupon_owner(&code).await? {
                coupon = Some((code.to_string(), owner));
                break;
            }
        }
        let evidence = Evidence {
            click_id: facts.click_id.clone(),
            click,
            coupon,
        };
        let mut attribution = evidence.attribute(facts.occurred_ms, &window, policy.priority);
        if attribution.by == AttributedBy::Click {
            attribution.campaign_id = campaign_id;
        }
        if let (Some(id), true) = (&attribution.influencer_id, attribution.qualified)
            && let Some(rule) = store.influencer(id).await?.and_then(|i| i.commission)
        {
            attribution.commission_rule = Some(rule.to_stored());
            attribution.commission = rule.earned(facts.revenue, facts.currency);
        }
        Ok(attribution)
    }

    /// Applies the order's figures at revision `rev` to its owner's counters.
    async fn publish(&self, key: &OrderKey, rev: u64, order: &Order) -> Result<(), StoreError> {
        let (Some(facts), Some(attribution)) = (&order.facts, &order.attribution) else {
            return Ok(());
        };
        let owner = match &attribution.influencer_id {
            Some(id) => Owner::Influencer(id.as_str()),
            None => Owner::Unattributed,
        };
        let figures = order.figures();
        let day = order_day(facts.occurred_ms, self.time_zone);
        let currency = facts.currency;
        let amounts: Vec<(String, i64)> = Bucket::containing(day)
            .into_iter()
            .flat_map(|bucket| {
                [
                    (field::orders(currency, bucket), figures.orders),
                    (field::revenue(currency, bucket), figures.revenue),
                    (field::refunds(currency, bucket), figures.refunds),
                    (field::commission(currency, bucket), figures.commission),
                ]
            })
            .collect();
        self.store
            .apply_order_figures(owner, key, rev, facts.occurred_ms, &amounts)
            .await?;
        if let Some(code) = &attribution.link_code {
            self.store
                .apply_order_figures(Owner::Link(code), key, rev, facts.occurred_ms, &amounts)
                .await?;
        }
        if figures.orders > 0 {
            self.store.note_currency(currency).await?;
        }
        Ok(())
    }
}

/// The calendar day of an order in the reporting time zone.
fn order_day(at_ms: i64, time_zone: Tz) -> chrono::NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .with_timezone(&time_zone)
        .date_naive()
}

fn label(order: &Order) -> AttributionLabel {
    let test = order.facts.as_ref().is_some_and(|f| f.test);
    match &order.attribution {
        _ if test => AttributionLabel::Test,
        Some(a) if !a.qualified => AttributionLabel::Unqualified,
        Some(a) if a.by == AttributedBy::Click => AttributionLabel::Click,
        Some(a) if a.by == AttributedBy::Coupon => AttributionLabel::Coupon,
        _ => AttributionLabel::Unattributed,
    }
}
