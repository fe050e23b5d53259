//! Deciding who earns an order: its click (or, while the click's record is not in Redis yet,
//! a wait for it), its coupons, the commission of the moment, and the flags that hold a
//! suspect order for review.

use super::OrderIntake;
use crate::domain::{
    AttributedBy, Attribution, ClickId, CouponCode, Evidence, OrderFacts, OrderKey, Review,
    SeenClick,
};
use crate::metrics::CorruptKind;
use crate::store::StoreError;

/// What the store holds for an order's click id.
pub(super) enum FoundClick {
    Seen(SeenClick),
    /// No record (yet): the click may still be in a batch, a spool or another replica.
    Absent,
    /// A record that cannot be read (its link unknown or its code malformed).
    Unreadable,
}

impl FoundClick {
    pub(super) fn seen(self) -> Option<SeenClick> {
        match self {
            Self::Seen(click) => Some(click),
            Self::Absent | Self::Unreadable => None,
        }
    }
}

impl OrderIntake {
    /// The click `id` names. A record that cannot be read is counted, logged and attributed
    /// as no click, without waiting for it: the order goes by what else it carries rather
    /// than being answered 500 on every retry of the shop.
    pub(super) async fn find_click(&self, id: &ClickId) -> Result<FoundClick, StoreError> {
        match self.store.click(id).await {
            Ok(Some(click)) => Ok(FoundClick::Seen(click)),
            Ok(None) => Ok(FoundClick::Absent),
            Err(StoreError::Corrupt { key, problem }) => {
                self.metrics.corrupt_record(CorruptKind::Click);
                tracing::warn!(
                    %key,
                    %problem,
                    "a click record could not be read; its order is attributed without it"
                );
                Ok(FoundClick::Unreadable)
            }
            Err(e) => Err(e),
        }
    }

    /// Decides who earns the order `key` from its click and coupons at `now_ms`, and fixes the
    /// commission. With `may_wait`, an order naming a click id of reftrack's own format whose
    /// record is not (yet) in Redis is pending instead: its click may still be in a batch, a
    /// spool or another replica.
    pub(super) async fn attribute(
        &self,
        key: &OrderKey,
        facts: &OrderFacts,
        now_ms: i64,
        may_wait: bool,
    ) -> Result<Attribution, StoreError> {
        let store = &self.store;
        let policy = self.policy;
        let click_id = facts.click_id.as_deref().and_then(ClickId::parse);
        let found = match &click_id {
            Some(id) => self.find_click(id).await?,
            None => FoundClick::Absent,
        };
        let waits = may_wait && matches!(found, FoundClick::Absent);
        let click = found.seen();
        if let (Some(id), true) = (&click_id, waits) {
            let until = now_ms.saturating_add(self.trust.pending_wait_ms);
            return Ok(Attribution::pending(id.to_string(), until));
        }
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
            let Ok(code) = CouponCode::named(raw) else {
                continue;
            };
            if let Some(owner) = store.coupon_owner(&code).await? {
                coupon = Some((code.to_string(), owner));
                break;
            }
        }
        let clickless = click.is_none();
        let evidence = Evidence {
            click_id: facts.click_id.clone(),
            click,
            coupon,
        };
        let mut attribution = evidence.attribute(facts.occurred_ms, &window, policy.priority);
        if attribution.by == AttributedBy::Click {
            attribution.campaign_id = campaign_id;
        }
        let Some(id) = attribution.influencer_id.clone() else {
            return Ok(attribution);
        };
        let influencer = store.influencer(&id).await?;
        if attribution.qualified
            && let Some(rule) = influencer.as_ref().and_then(|i| i.commission)
        {
            attribution.commission_rule = Some(rule.to_stored());
            attribution.commission = rule.earned(facts.revenue, facts.currency);
        }
        if attribution.by == AttributedBy::Coupon
            && clickless
            && let Some(code) = &attribution.coupon
        {
            store
                .note_coupon_order(&id, code, key, facts.occurred_ms)
                .await?;
        }
        let own_email = influencer.and_then(|i| i.email_hash);
        attribution.flags = self
            .trust
            .flags(
                store,
                &attribution,
                facts,
                clickless,
                own_email.as_deref(),
                now_ms,
            )
            .await?;
        if attribution
            .flags
            .iter()
            .any(|f| self.trust.held.contains(f))
        {
            attribution.review = Some(Review::Held);
        }
        Ok(attribution)
    }
}
