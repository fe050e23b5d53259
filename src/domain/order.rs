//! An order as its shop reports it, one event at a time, and what it adds to its owner's
//! figures.
//!
//! Shops deliver an order's events more than once, out of order and concurrently. Every
//! transition here is idempotent and commutative where it can be: a placement after a
//! cancellation leaves the order cancelled, a refund keeps the largest amount reported under its
//! id (Stripe reports cumulative refunds), and a refund that arrives before its order waits in
//! the record until the order's amounts are known. So applying the same events in any order,
//! any number of times, gives one result, which is what lets retries count once.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::ids::InfluencerId;
use super::money::{Currency, div_round};

/// Delivery ids remembered per order, to answer re-deliveries without work.
const DELIVERIES_KEPT: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Shopify,
    WooCommerce,
    Stripe,
    Generic,
}

impl Platform {
    pub const ALL: [Self; 4] = [
        Self::Shopify,
        Self::WooCommerce,
        Self::Stripe,
        Self::Generic,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::WooCommerce => "woocommerce",
            Self::Stripe => "stripe",
            Self::Generic => "generic",
        }
    }
}

/// An order's identity across deliveries: its platform and the shop's id for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderKey(String);

impl OrderKey {
    pub fn new(platform: Platform, shop_id: &str) -> Self {
        Self(format!("{}:{shop_id}", platform.label()))
    }

    /// A key read back from the store.
    pub fn from_stored(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a delivery says about the order itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFacts {
    /// The shop's id for the order, as shown to people.
    pub order_id: String,
    pub currency: Currency,
    /// Minor units that earn commission: the subtotal after discounts, before shipping and tax.
    pub revenue: i64,
    /// Minor units the customer paid in all, for refunds reported as a part of the payment.
    pub gross: i64,
    /// When the order was placed (the payload's creation time, else receipt time).
    pub occurred_ms: i64,
    pub click_id: Option<String>,
    pub coupons: Vec<String>,
    /// A shop's test order: recorded, never in revenue.
    pub test: bool,
}

/// How much a refund gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundAmount {
    /// Minor units of revenue (refunded line items, or an amount a shop states as such).
    Revenue(i64),
    /// Minor units of the payment: revenue is reduced by the same share of it.
    OfGross(i64),
}

/// One thing a delivery reports about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// The order exists and counts (created, paid, or processing).
    Placed(OrderFacts),
    /// The order exists but is not paid yet; it counts when a placement follows.
    Awaiting(OrderFacts),
    /// Money given back, under the shop's id for the refund.
    Refunded {
        refund_id: String,
        amount: RefundAmount,
    },
    /// The whole order was refunded.
    RefundedInFull,
    /// The order was cancelled or its payment failed: it counts for nothing.
    Cancelled,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Only refunds have arrived so far.
    #[default]
    Unknown,
    Awaiting,
    Placed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributedBy {
    Click,
    Coupon,
    None,
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

impl Window {
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
            by: AttributedBy::None,
            reason: AttributionReason::NoClickOrCoupon,
            influencer_id: None,
            qualified: true,
            click_id: self.click_id.clone(),
            link_code: None,
            campaign_id: None,
            coupon: self.coupon.as_ref().map(|(code, _)| code.clone()),
            overruled: None,
            commission_rule: None,
            commission: 0,
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

/// An order's record: everything its deliveries said, folded together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub key: String,
    pub platform: Platform,
    pub status: OrderStatus,
    pub facts: Option<OrderFacts>,
    pub attribution: Option<Attribution>,
    /// Refunds by the shop's refund id.
    pub refunds: BTreeMap<String, RefundAmount>,
    pub refunded_in_full: bool,
    /// Ids of the latest deliveries applied, newest last.
    pub deliveries: VecDeque<String>,
    pub updated_ms: i64,
}

/// What an order adds to its owner's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderFigures {
    pub orders: i64,
    pub revenue: i64,
    pub refunds: i64,
    /// Commission after refunds.
    pub commission: i64,
}

impl Order {
    pub fn new(key: &OrderKey, platform: Platform) -> Self {
        Self {
            key: key.as_str().to_owned(),
            platform,
            status: OrderStatus::Unknown,
            facts: None,
            attribution: None,
            refunds: BTreeMap::new(),
            refunded_in_full: false,
            deliveries: VecDeque::new(),
            updated_ms: 0,
        }
    }

    pub fn has_seen(&self, delivery_id: &str) -> bool {
        self.deliveries.iter().any(|d| d == delivery_id)
    }

    /// Folds one delivery's events into the record.
    pub fn apply(&mut self, delivery_id: &str, events: &[OrderEvent], now_ms: i64) {
        for event in events {
            self.apply_event(event);
        }
        self.deliveries.push_back(delivery_id.to_owned());
        while self.deliveries.len() > DELIVERIES_KEPT {
            self.deliveries.pop_front();
        }
        self.updated_ms = now_ms;
    }

    fn apply_event(&mut self, event: &OrderEvent) {
        match event {
            OrderEvent::Placed(facts) => {
                if self.status != OrderStatus::Placed && self.status != OrderStatus::Cancelled {
                    self.facts = Some(facts.clone());
                }
                if self.status != OrderStatus::Cancelled {
                    self.status = OrderStatus::Placed;
                }
            }
            OrderEvent::Awaiting(facts) => {
                if self.facts.is_none() {
                    self.facts = Some(facts.clone());
                }
                if self.status == OrderStatus::Unknown {
                    self.status = OrderStatus::Awaiting;
                }
            }
            OrderEvent::Refunded { refund_id, amount } => {
                let kept = self.refunds.entry(refund_id.clone()).or_insert(*amount);
                *kept = larger(*kept, *amount);
            }
            OrderEvent::RefundedInFull => self.refunded_in_full = true,
            OrderEvent::Cancelled => self.status = OrderStatus::Cancelled,
        }
    }

    /// The facts of an order that has them and has not been attributed yet.
    pub fn awaiting_attribution(&self) -> Option<&OrderFacts> {
        self.facts.as_ref().filter(|_| self.attribution.is_none())
    }

    /// Revenue refunded so far, in minor units, never more than the revenue.
    pub fn refunded(&self) -> i64 {
        let Some(facts) = &self.facts else {
            return 0;
        };
        if self.refunded_in_full {
            return facts.revenue;
        }
        let total: i128 = self
            .refunds
            .values()
            .map(|amount| match *amount {
                RefundAmount::Revenue(minor) => i128::from(minor),
                RefundAmount::OfGross(_) if facts.gross <= 0 => 0,
                RefundAmount::OfGross(minor) => div_round(
                    i128::from(minor) * i128::from(facts.revenue),
                    i128::from(facts.gross),
                ),
            })
            .sum();
        i64::try_from(total.clamp(0, i128::from(facts.revenue))).unwrap_or(facts.revenue)
    }

    /// Whether the order counts in revenue: placed, not a test, and not unqualified.
    pub fn counts(&self) -> bool {
        self.status == OrderStatus::Placed
            && self.facts.as_ref().is_some_and(|f| !f.test)
            && self.attribution.as_ref().is_some_and(|a| a.qualified)
    }

    /// What the order adds to its owner's figures now.
    pub fn figures(&self) -> OrderFigures {
        let (Some(facts), Some(attribution)) = (&self.facts, &self.attribution) else {
            return OrderFigures::default();
        };
        if !self.counts() {
            return OrderFigures::default();
        }
        let refunds = self.refunded();
        let reversed = if facts.revenue > 0 {
            div_round(
                i128::from(attribution.commission) * i128::from(refunds),
                i128::from(facts.revenue),
            )
        } else {
            0
        };
        let reversed = i64::try_from(reversed).unwrap_or(attribution.commission);
        OrderFigures {
            orders: 1,
            revenue: facts.revenue,
            refunds,
            commission: attribution.commission - reversed,
        }
    }
}

/// The larger of two reports of one refund. Amounts of different kinds cannot be compared;
/// the later report wins.
fn larger(kept: RefundAmount, new: RefundAmount) -> RefundAmount {
    match (kept, new) {
        (RefundAmount::Revenue(a), RefundAmount::Revenue(b)) => RefundAmount::Revenue(a.max(b)),
        (RefundAmount::OfGross(a), RefundAmount::OfGross(b)) => RefundAmount::OfGross(a.max(b)),
        (_, new) => new,
    }
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

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn facts(revenue: i64, gross: i64) -> OrderFacts {
        OrderFacts {
            order_id: "1001".into(),
            currency: usd(),
            revenue,
            gross,
            occurred_ms: 10 * DAY_MS,
            click_id: None,
            coupons: vec![],
            test: false,
        }
    }

    fn inf(id: &str) -> InfluencerId {
        InfluencerId::parse(id).unwrap()
    }

    fn attributed(order: &mut Order, commission: i64) {
        order.attribution = Some(Attribution {
            commission,
            ..Evidence::default().attribute(0, &WINDOW, AttributionPriority::Click)
        });
    }

    fn order_with(events: &[OrderEvent]) -> Order {
        let mut order = Order::new(&OrderKey::new(Platform::Shopify, "1001"), Platform::Shopify);
        for (i, event) in events.iter().enumerate() {
            order.apply(&format!("d{i}"), std::slice::from_ref(event), 0);
        }
        order
    }

    fn refund(id: &str, amount: RefundAmount) -> OrderEvent {
        OrderEvent::Refunded {
            refund_id: id.into(),
            amount,
        }
    }

    #[test]
    fn a_placed_order_counts_its_revenue_and_commission() {
        let mut order = order_with(&[OrderEvent::Placed(facts(39_800, 40_994))]);
        attributed(&mut order, 3_980);
        assert_eq!(
            order.figures(),
            OrderFigures {
                orders: 1,
                revenue: 39_800,
                refunds: 0,
                commission: 3_980
            }
        );
    }

    #[test]
    fn repeated_and_reordered_events_give_one_result() {
        let events = [
            OrderEvent::Placed(facts(10_000, 11_000)),
            refund("r1", RefundAmount::Revenue(2_500)),
            OrderEvent::Placed(facts(10_000, 11_000)),
            refund("r1", RefundAmount::Revenue(2_500)),
        ];
        let mut forward = order_with(&events);
        let mut reversed: Vec<OrderEvent> = events.to_vec();
        reversed.reverse();
        let mut backward = order_with(&reversed);
        attributed(&mut forward, 1_000);
        attributed(&mut backward, 1_000);
        assert_eq!(forward.figures(), backward.figures());
        assert_eq!(forward.figures().refunds, 2_500);
        assert_eq!(forward.figures().commission, 750);
    }

    #[test]
    fn a_refund_before_its_order_is_applied_when_the_order_arrives() {
        let mut order = order_with(&[refund("r1", RefundAmount::Revenue(4_000))]);
        assert_eq!(order.status, OrderStatus::Unknown);
        assert_eq!(order.refunded(), 0);
        order.apply("late", &[OrderEvent::Placed(facts(10_000, 10_000))], 0);
        attributed(&mut order, 1_000);
        assert_eq!(order.figures().refunds, 4_000);
        assert_eq!(order.figures().commission, 600);
    }

    #[test]
    fn refunds_of_the_payment_reduce_revenue_in_proportion_and_never_below_zero() {
        let mut order = order_with(&[
            OrderEvent::Placed(facts(4_500, 9_000)),
            refund("ch_1", RefundAmount::OfGross(3_000)),
            refund("ch_1", RefundAmount::OfGross(1_000)),
        ]);
        attributed(&mut order, 450);
        assert_eq!(
            order.refunded(),
            1_500,
            "cumulative reports keep the largest"
        );
        order.apply("more", &[refund("other", RefundAmount::Revenue(99_999))], 0);
        assert_eq!(order.figures().refunds, 4_500);
        assert_eq!(order.figures().commission, 0);
    }

    #[test]
    fn a_cancellation_reverses_everything_and_a_late_placement_does_not_revive_it() {
        let mut order = order_with(&[OrderEvent::Placed(facts(10_000, 10_000))]);
        attributed(&mut order, 1_000);
        order.apply("cancel", &[OrderEvent::Cancelled], 0);
        order.apply("retry", &[OrderEvent::Placed(facts(10_000, 10_000))], 0);
        assert_eq!(order.status, OrderStatus::Cancelled);
        assert_eq!(order.figures(), OrderFigures::default());
    }

    #[test]
    fn an_awaiting_order_counts_only_once_placed() {
        let mut order = order_with(&[OrderEvent::Awaiting(facts(5_000, 5_000))]);
        attributed(&mut order, 500);
        assert_eq!(order.figures().orders, 0);
        order.apply("paid", &[OrderEvent::Placed(facts(5_000, 5_000))], 0);
        assert_eq!(order.figures().orders, 1);
    }

    #[test]
    fn test_orders_and_unqualified_orders_never_count() {
        let mut test_facts = facts(5_000, 5_000);
        test_facts.test = true;
        let mut order = order_with(&[OrderEvent::Placed(test_facts)]);
        attributed(&mut order, 500);
        assert_eq!(order.figures(), OrderFigures::default());

        let mut order = order_with(&[OrderEvent::Placed(facts(5_000, 5_000))]);
        order.attribution = Some(Attribution {
            qualified: false,
            ..Evidence::default().attribute(0, &WINDOW, AttributionPriority::Click)
        });
        assert_eq!(order.figures(), OrderFigures::default());
    }

    #[test]
    fn deliveries_are_remembered_but_not_forever() {
        let mut order = order_with(&[]);
        for i in 0..100 {
            order.apply(&format!("d{i}"), &[], 0);
        }
        assert!(order.has_seen("d99"));
        assert!(!order.has_seen("d0"));
    }

    fn click(id: &str, at_ms: i64) -> SeenClick {
        SeenClick {
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
