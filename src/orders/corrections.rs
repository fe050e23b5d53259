//! A marketer's changes to an order: moving it to another influencer (or to unattributed),
//! and deciding on an order held for review. Each is a compare-and-set on the order's
//! revision, like a delivery, so concurrent changes serialise and the figures move once; a
//! repeat of the same change finds nothing to do and only re-applies the figures.

use chrono::Utc;

use super::OrderIntake;
use super::ingest::{IngestError, MAX_ATTEMPTS, pause};
use crate::domain::{
    Actor, ChangeBy, Commission, Decision, InfluencerId, Order, OrderKey, ReviewError,
};

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no order has this key")]
    NotFound,
    #[error("the order has no amounts yet (only a refund or cancellation arrived)")]
    NotPlaced,
    #[error("no influencer has this id")]
    UnknownInfluencer,
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl From<crate::store::StoreError> for ChangeError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Ingest(e.into())
    }
}

/// What a change does to a record read at one revision: `Ok(false)` when nothing changes.
type Edit<'a> = dyn FnMut(&mut Order, i64) -> Result<bool, ChangeError> + Send + 'a;

impl OrderIntake {
    /// Moves the order `key` to `to` (none: unattributed), with the new influencer's
    /// commission rule of now; the order, as it stands after.
    pub async fn reattribute(
        &self,
        key: &OrderKey,
        to: Option<InfluencerId>,
        note: Option<String>,
    ) -> Result<Order, ChangeError> {
        let rule = match &to {
            Some(id) => {
                let influencer = self
                    .store
                    .influencer(id)
                    .await?
                    .ok_or(ChangeError::UnknownInfluencer)?;
                influencer.commission
            }
            None => None,
        };
        self.change(key, &mut |order, now| {
            if order.counts_for(to.as_ref()) {
                return Ok(false);
            }
            let facts = order.facts.as_ref().ok_or(ChangeError::NotPlaced)?;
            let commission = match (&to, rule) {
                (Some(_), Some(rule)) => rule.earned(facts.revenue, facts.currency),
                _ => 0,
            };
            let stored_rule = rule.filter(|_| to.is_some()).map(Commission::to_stored);
            order.correct(
                to.clone(),
                stored_rule,
                commission,
                admin(now, note.as_ref()),
            );
            Ok(true)
        })
        .await
    }

    /// Applies a marketer's decision on the held order `key`; the order, as it stands after.
    pub async fn review(
        &self,
        key: &OrderKey,
        decision: Decision,
        note: Option<String>,
    ) -> Result<Order, ChangeError> {
        self.change(key, &mut |order, now| {
            if order.facts.is_none() {
                return Err(ChangeError::NotPlaced);
            }
            Ok(order.decide(decision, admin(now, note.as_ref()))?)
        })
        .await
    }

    async fn change(&self, key: &OrderKey, edit: &mut Edit<'_>) -> Result<Order, ChangeError> {
        for attempt in 0..MAX_ATTEMPTS {
            pause(attempt).await;
            let stored = self.read(key).await?.ok_or(ChangeError::NotFound)?;
            let (rev, mut order) = (stored.rev, stored.order);
            let now = Utc::now().timestamp_millis();
            if !edit(&mut order, now)? {
                // Nothing to change: the figures are applied again, in case a crash cut off
                // the change that made them so.
                self.publish(key, rev, &order).await?;
                return Ok(order);
            }
            order.updated_ms = now;
            if self.store.save_order(key, rev, &order).await? {
                self.publish(key, rev + 1, &order).await?;
                if order.attribution.as_ref().is_some_and(|a| !a.is_pending()) {
                    self.store.remove_pending(key).await?;
                }
                return Ok(order);
            }
        }
        Err(IngestError::Contended.into())
    }
}

fn admin(now: i64, note: Option<&String>) -> ChangeBy {
    ChangeBy {
        who: Actor::Admin,
        at_ms: now,
        note: note.cloned(),
    }
}
