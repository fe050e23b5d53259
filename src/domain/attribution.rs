//! Who earns an order: the evidence (a click, a coupon), the window a click counts in, and the
//! attribution decided from them, kept with the order for audit.

use serde::{Deserialize, Serialize};

use super::ids::InfluencerId;
use super::review::{Flag, Review};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributedBy {
    Click,
    Coupon,
    None,
    /// The order names a click whose record has not reached Redis yet: it waits for it.
    Pending,
    /// A marketer's correction.
    Manual,
}

/// Why an order was attributed as it was, kept for audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributionReason {
    ClickInWindow,
    Coupon,
    /// The click exists but the order came outside its window (or before it): unqualified.
    ClickOutsideWindow,
    /// The order names a click id reftrack does not know (or no longer keeps).
    ClickNotFound,
    NoClickOrCoupon,
    /// Waiting for the click the order names (see [`AttributedBy::Pending`]).
    AwaitingClick,
    /// A marketer moved the order.
    Corrected,
    /// A marketer denied a held order: it is unattributed.
    ReviewDenied,
}

/// Which influencer an order belongs to, decided once, when its amounts are first known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub by: AttributedBy,
    pub reason: AttributionReason,
    /// The influencer credited, or for an unqualified order the one whose click it was.
    pub influencer_id: Option<InfluencerId>,
    /// False for an order that missed its click's window: visible for audit, never in revenue.
    pub qualified: bool,
    pub click_id: Option<String>,
    /// The clicked link, when the click attributed the order: its figures count there too.
    #[serde(default)]
    pub link_code: Option<String>,
    /// The clicked link's campaign, when the click attributed the order.
    #[serde(default)]
    pub campaign_id: Option<super::campaign::CampaignId>,
    pub coupon: Option<String>,
    /// The other influencer when click and coupon disagreed (the configured priority decided).
    pub overruled: Option<InfluencerId>,
    /// The commission rule in force at attribution, in its stored form.
    pub commission_rule: Option<String>,
    /// Commission on the full revenue, in minor units, fixed at attribution.
    pub commission: i64,
    /// Why the order is suspect; empty when clean.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    /// Where a flagged order stands; `Held` keeps it out of its influencer's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    /// For a pending order: when the wait for its click ends (ms since 1970).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_until_ms: Option<i64>,
}

impl Attribution {
    /// An order waiting for the click `click_id` until `until_ms`.
    pub fn pending(click_id: String, until_ms: i64) -> Self {
        Self {
            by: AttributedBy::Pending,
            reason: AttributionReason::AwaitingClick,
            click_id: Some(click_id),
            pending_until_ms: Some(until_ms),
            ..Self::unattributed()
        }
    }

    /// Nobody's order, with nothing known.
    pub fn unattributed() -> Self {
        Self {
            by: AttributedBy::None,
            reason: AttributionReason::NoClickOrCoupon,
            influencer_id: None,
            qualified: true,
            click_id: None,
            link_code: None,
            campaign_id: None,
            coupon: None,
            overruled: None,
            commission_rule: None,
            commission: 0,
            flags: Vec::new(),
            review: None,
            pending_until_ms: None,
        }
    }

    pub fn is_pending(&self) -> bool {
        self.by == AttributedBy::Pending
    }

    pub fn is_held(&self) -> bool {
        self.review == Some(Review::Held)
    }
}

/// Which signal wins when a click and a coupon point at different influencers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributionPriority {
    #[default]
    Click,
    Coupon,
}

/// When an order may follow a click and still be the click's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// How long after the click.
    pub after_ms: i64,
    /// How long before the click, by the shop's clock: shops report order times to the whole
    /// second and their clocks are not reftrack's, so an order placed just after a click can
    /// carry an earlier time.
    pub skew_ms: i64,
}

/// Milliseconds in a day of the window (a fixed 24 hours, not a calendar day).
const DAY_MS: i64 = 86_400_000;

impl Window {
    /// A window of `days` after the click and `skew_secs` before it.
    pub fn from_days(days: u32, skew_secs: u32) -> Self {
        Self {
            after_ms: i64::from(days) * DAY_MS,
            skew_ms: i64::from(skew_secs) * 1000,
        }
    }

    /// The same window with `days` after the click (a campaign's own window).
    #[must_use]
    pub fn with_days(self, days: u32) -> Self {
        Self {
            after_ms: i64::from(days) * DAY_MS,
            ..self
        }
    }

    /// Whole days after the click.
    pub fn days(&self) -> i64 {
        self.after_ms / DAY_MS
    }

    pub fn contains(&self, click_ms: i64, order_ms: i64) -> bool {
        click_ms.saturating_sub(self.skew_ms) <= order_ms
            && order_ms <= click_ms.saturating_add(self.after_ms)
    }
}

/// A click as kept for attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenClick {
    pub influencer_id: InfluencerId,
    /// The link that was clicked.
    pub code: String,
    /// The clicked link's campaign, read with the link.
    pub campaign_id: Option<super::campaign::CampaignId>,
    pub at_ms: i64,
}

/// What reftrack found for an order's click id and coupons.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub click_id: Option<String>,
    pub click: Option<SeenClick>,
    /// The first of the order's coupons that belongs to an influencer.
    pub coupon: Option<(String, InfluencerId)>,
}

impl Evidence {
    /// Decides who gets the order placed at `order_ms`. The commission is filled in later,
    /// from the chosen influencer's rule.
    pub fn attribute(
        self,
        order_ms: i64,
        window: &Window,
        priority: AttributionPriority,
    ) -> Attribution {
        let in_window = self
            .click
            .as_ref()
            .filter(|c| window.contains(c.at_ms, order_ms))
            .map(|c| c.influencer_id.clone());
        let coupon_owner = self.coupon.as_ref().map(|(_, id)| id.clone());
        let base = Attribution {
            click_id: self.click_id.clone(),
            coupon: self.coupon.as_ref().map(|(code, _)| code.clone()),
            ..Attribution::unattributed()
        };
        let by_click = |overruled| Attribution {
            by: AttributedBy::Click,
            reason: AttributionReason::ClickInWindow,
            influencer_id: in_window.clone(),
            link_code: self.click.as_ref().map(|c| c.code.clone()),
            overruled,
            ..base.clone()
        };
        let by_coupon = |overruled| Attribution {
            by: AttributedBy::Coupon,
            reason: AttributionReason::Coupon,
            influencer_id: coupon_owner.clone(),
            overruled,
            ..base.clone()
        };
        match (&in_window, &coupon_owner) {
            (Some(click), Some(coupon)) if click != coupon => match priority {
                AttributionPriority::Click => by_click(Some(coupon.clone())),
                AttributionPriority::Coupon => by_coupon(Some(click.clone())),
            },
            (Some(_), _) => by_click(None),
            (None, Some(_)) => by_coupon(None),
            (None, None) => match (&self.click, &self.click_id) {
                (Some(click), _) => Attribution {
                    reason: AttributionReason::ClickOutsideWindow,
                    influencer_id: Some(click.influencer_id.clone()),
                    qualified: false,
                    ..base
                },
                (None, Some(_)) => Attribution {
                    reason: AttributionReason::ClickNotFound,
                    ..base
                },
                (None, None) => base,
            },
        }
    }
}

/// How orders are attributed: the window a click counts in and which signal wins.
#[derive(Debug, Clone, Copy)]
pub struct AttributionPolicy {
    pub window: Window,
    pub priority: AttributionPriority,
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;
    const SKEW: i64 = 300_000;
    const WINDOW: Window = Window {
        after_ms: 30 * DAY_MS,
        skew_ms: SKEW,
    };

    fn inf(id: &str) -> InfluencerId {
        InfluencerId::parse(id).unwrap()
    }

    fn click(id: &str, at_ms: i64) -> SeenClick {
        SeenClick {
            campaign_id: None,
            influencer_id: inf(id),
            code: "summer".into(),
            at_ms,
        }
    }

    #[test]
    fn a_click_attributes_inside_the_window_edges_included() {
        for order_ms in [DAY_MS - SKEW, DAY_MS, DAY_MS + WINDOW.after_ms] {
            let evidence = Evidence {
                click_id: Some("c".into()),
                click: Some(click("inf_alice", DAY_MS)),
                coupon: None,
            };
            let a = evidence.attribute(order_ms, &WINDOW, AttributionPriority::Click);
            assert_eq!(a.by, AttributedBy::Click);
            assert_eq!(a.influencer_id, Some(inf("inf_alice")));
            assert_eq!(a.link_code.as_deref(), Some("summer"));
            assert!(a.qualified);
        }
    }

    #[test]
    fn a_click_outside_the_window_leaves_the_order_unqualified_unless_a_coupon_claims_it() {
        for order_ms in [DAY_MS - SKEW - 1, DAY_MS + WINDOW.after_ms + 1] {
            let evidence = Evidence {
                click_id: Some("c".into()),
                click: Some(click("inf_alice", DAY_MS)),
                coupon: None,
            };
            let a = evidence
                .clone()
                .attribute(order_ms, &WINDOW, AttributionPriority::Click);
            assert_eq!(a.reason, AttributionReason::ClickOutsideWindow);
            assert!(!a.qualified);
            assert_eq!(a.influencer_id, Some(inf("inf_alice")));

            let with_coupon = Evidence {
                coupon: Some(("bob10".into(), inf("inf_bob"))),
                ..evidence
            };
            let a = with_coupon.attribute(order_ms, &WINDOW, AttributionPriority::Click);
            assert_eq!(a.by, AttributedBy::Coupon);
            assert_eq!(a.influencer_id, Some(inf("inf_bob")));
            assert!(a.qualified);
        }
    }

    #[test]
    fn the_configured_priority_settles_a_click_and_coupon_disagreement() {
        let evidence = Evidence {
            click_id: Some("c".into()),
            click: Some(click("inf_alice", DAY_MS)),
            coupon: Some(("bob10".into(), inf("inf_bob"))),
        };
        let a = evidence
            .clone()
            .attribute(DAY_MS, &WINDOW, AttributionPriority::Click);
        assert_eq!(
            (a.by, a.influencer_id, a.overruled),
            (
                AttributedBy::Click,
                Some(inf("inf_alice")),
                Some(inf("inf_bob"))
            )
        );
        let a = evidence.attribute(DAY_MS, &WINDOW, AttributionPriority::Coupon);
        assert_eq!(
            (a.by, a.influencer_id, a.overruled),
            (
                AttributedBy::Coupon,
                Some(inf("inf_bob")),
                Some(inf("inf_alice"))
            )
        );
    }

    #[test]
    fn an_order_without_evidence_is_unattributed_with_its_reason() {
        let a = Evidence::default().attribute(DAY_MS, &WINDOW, AttributionPriority::Click);
        assert_eq!(
            (a.by, a.reason, a.qualified),
            (AttributedBy::None, AttributionReason::NoClickOrCoupon, true)
        );
        let a = Evidence {
            click_id: Some("unknown".into()),
            ..Evidence::default()
        }
        .attribute(DAY_MS, &WINDOW, AttributionPriority::Click);
        assert_eq!(a.reason, AttributionReason::ClickNotFound);
    }
}
