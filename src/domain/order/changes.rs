//! Changes of an order's attribution after it was first decided: a pending order settled, a
//! marketer's correction or review decision. Each records who made it in the order's history
//! and remembers the owners the order leaves, so their counters are cleared.

use serde::{Deserialize, Serialize};

use super::Order;
use crate::domain::attribution::{AttributedBy, Attribution, AttributionReason};
use crate::domain::ids::InfluencerId;
use crate::domain::review::{Actor, Change, ChangeKind, Decision, MAX_HISTORY, Review};

/// Whose counters an order's figures go to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderOwner {
    Influencer(InfluencerId),
    Link(String),
    Unattributed,
}

/// Why a review decision cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("the order is not held for review")]
    NotHeld,
    #[error("the order has not been attributed yet")]
    NotAttributed,
}

/// Who made a change, when, and why.
#[derive(Debug, Clone)]
pub struct ChangeBy {
    pub who: Actor,
    pub at_ms: i64,
    pub note: Option<String>,
}

impl Order {
    /// Whose counters the order's figures go to now: its influencer (or the unattributed
    /// orders) and the clicked link.
    pub fn owners(&self) -> Vec<OrderOwner> {
        let Some(a) = &self.attribution else {
            return Vec::new();
        };
        let mut owners = vec![match &a.influencer_id {
            Some(id) => OrderOwner::Influencer(id.clone()),
            None => OrderOwner::Unattributed,
        }];
        if let Some(code) = &a.link_code {
            owners.push(OrderOwner::Link(code.clone()));
        }
        owners
    }

    /// Replaces the attribution, remembering the owners it leaves, and records `change`.
    pub fn replace_attribution(
        &mut self,
        new: Attribution,
        change: Option<(ChangeKind, ChangeBy)>,
    ) {
        let from = self
            .attribution
            .as_ref()
            .and_then(|a| a.influencer_id.clone());
        let before = self.owners();
        let to = new.influencer_id.clone();
        self.attribution = Some(new);
        let after = self.owners();
        for owner in before {
            if !after.contains(&owner) && !self.former_owners.contains(&owner) {
                self.former_owners.push(owner);
            }
        }
        self.former_owners.retain(|o| !after.contains(o));
        if let Some((kind, by)) = change {
            self.history.push(Change {
                at_ms: by.at_ms,
                kind,
                who: by.who,
                from,
                to,
                note: by.note,
            });
            let excess = self.history.len().saturating_sub(MAX_HISTORY);
            self.history.drain(..excess);
        }
        self.refresh_commission();
    }

    /// Whether the order already counts for `to` (or, for `None`, is unattributed and final),
    /// so a correction to it changes nothing.
    pub fn counts_for(&self, to: Option<&InfluencerId>) -> bool {
        self.attribution.as_ref().is_some_and(|a| {
            a.influencer_id.as_ref() == to && a.qualified && !a.is_pending() && !a.is_held()
        })
    }

    /// Moves the order to `to` (none: unattributed) at the commission `rule` and `commission`
    /// of the new influencer. The evidence (click id, coupon, flags) stays for audit.
    pub fn correct(
        &mut self,
        to: Option<InfluencerId>,
        rule: Option<String>,
        commission: i64,
        by: ChangeBy,
    ) {
        let old = self
            .attribution
            .clone()
            .unwrap_or_else(Attribution::unattributed);
        let new = Attribution {
            by: AttributedBy::Manual,
            reason: AttributionReason::Corrected,
            influencer_id: to,
            click_id: old.click_id,
            coupon: old.coupon,
            flags: old.flags,
            commission_rule: rule,
            commission,
            ..Attribution::unattributed()
        };
        self.replace_attribution(new, Some((ChangeKind::Corrected, by)));
    }

    /// Applies a marketer's decision on a held order. `Ok(false)`: the same decision was
    /// made before, nothing changes.
    pub fn decide(&mut self, decision: Decision, by: ChangeBy) -> Result<bool, ReviewError> {
        let current = self.attribution.clone().ok_or(ReviewError::NotAttributed)?;
        match (decision, current.review) {
            (Decision::Approve, Some(Review::Approved))
            | (Decision::Deny, Some(Review::Denied)) => Ok(false),
            (Decision::Approve, Some(Review::Held)) => {
                let new = Attribution {
                    review: Some(Review::Approved),
                    ..current
                };
                self.replace_attribution(new, Some((ChangeKind::Approved, by)));
                Ok(true)
            }
            (Decision::Deny, Some(Review::Held)) => {
                let new = Attribution {
                    reason: AttributionReason::ReviewDenied,
                    review: Some(Review::Denied),
                    click_id: current.click_id,
                    coupon: current.coupon,
                    flags: current.flags,
                    ..Attribution::unattributed()
                };
                self.replace_attribution(new, Some((ChangeKind::Denied, by)));
                Ok(true)
            }
            _ => Err(ReviewError::NotHeld),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Flag, OrderKey, Platform};

    fn inf(id: &str) -> InfluencerId {
        InfluencerId::parse(id).unwrap()
    }

    fn admin() -> ChangeBy {
        ChangeBy {
            who: Actor::Admin,
            at_ms: 1,
            note: Some("checked".into()),
        }
    }

    fn held_order() -> Order {
        let mut order = Order::new(&OrderKey::new(Platform::Generic, "1"), Platform::Generic);
        order.attribution = Some(Attribution {
            by: AttributedBy::Click,
            influencer_id: Some(inf("inf_alice")),
            link_code: Some("alice".into()),
            flags: vec![Flag::SelfReferral],
            review: Some(Review::Held),
            ..Attribution::unattributed()
        });
        order
    }

    #[test]
    fn a_correction_remembers_the_owners_it_leaves_and_its_history() {
        let mut order = held_order();
        order.correct(Some(inf("inf_bob")), None, 0, admin());
        assert_eq!(order.owners(), vec![OrderOwner::Influencer(inf("inf_bob"))]);
        assert_eq!(
            order.former_owners,
            vec![
                OrderOwner::Influencer(inf("inf_alice")),
                OrderOwner::Link("alice".into())
            ]
        );
        let change = &order.history[0];
        assert_eq!(
            (
                change.kind,
                change.who,
                change.from.clone(),
                change.to.clone()
            ),
            (
                ChangeKind::Corrected,
                Actor::Admin,
                Some(inf("inf_alice")),
                Some(inf("inf_bob"))
            )
        );
        assert!(order.counts_for(Some(&inf("inf_bob"))));
        order.correct(Some(inf("inf_alice")), None, 0, admin());
        assert_eq!(
            order.former_owners,
            vec![
                OrderOwner::Link("alice".into()),
                OrderOwner::Influencer(inf("inf_bob"))
            ],
            "an owner the order returns to is no longer a former one"
        );
    }

    #[test]
    fn review_decisions_apply_once_and_only_to_held_orders() {
        let mut order = held_order();
        assert_eq!(order.decide(Decision::Approve, admin()), Ok(true));
        assert_eq!(order.decide(Decision::Approve, admin()), Ok(false));
        assert_eq!(
            order.decide(Decision::Deny, admin()),
            Err(ReviewError::NotHeld)
        );
        let mut order = held_order();
        assert_eq!(order.decide(Decision::Deny, admin()), Ok(true));
        assert_eq!(order.owners(), vec![OrderOwner::Unattributed]);
        assert_eq!(order.history.len(), 1);
        assert_eq!(
            order.attribution.as_ref().unwrap().flags,
            vec![Flag::SelfReferral]
        );
    }

    #[test]
    fn history_keeps_the_newest_changes() {
        let mut order = held_order();
        for i in 0..MAX_HISTORY + 5 {
            let to = if i % 2 == 0 { "inf_bob" } else { "inf_alice" };
            order.correct(Some(inf(to)), None, 0, admin());
        }
        assert_eq!(order.history.len(), MAX_HISTORY);
    }
}
