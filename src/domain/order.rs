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

use super::attribution::Attribution;
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
    use crate::domain::{AttributionPriority, Evidence, Window};

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
}
