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

use super::attribution::{AttributedBy, Attribution};
use super::commission::Commission;
use super::money::{Currency, MAX_AMOUNT_MINOR, div_round};
use super::review::Change;

/// Delivery ids remembered per order, to answer re-deliveries without work.
const DELIVERIES_KEPT: usize = 64;

/// The span of order times accepted: 2000-01-01 to 2100-01-01 (UTC, in ms). A time outside
/// it is a shop's bug or a forgery, and would file the order under a day no report asks for.
const EARLIEST_ORDER_MS: i64 = 946_684_800_000;
const LATEST_ORDER_MS: i64 = 4_102_444_800_000;

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

/// An order's identity across deliveries: its platform and the shop's id for it
/// (`shopify:1001`). A shop's test orders have keys of their own (`test:shopify:1001`): shops
/// reuse ids between test and live orders (Shopify's test notification always carries one id),
/// and a live order must never be folded into a test order's record, nor a test into a live one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderKey(String);

impl OrderKey {
    pub fn new(platform: Platform, shop_id: &str) -> Self {
        Self(format!("{}:{shop_id}", platform.label()))
    }

    /// The key of a live order, or of a test order when `test` is set.
    pub fn of(platform: Platform, shop_id: &str, test: bool) -> Self {
        if test {
            Self(format!("test:{}:{shop_id}", platform.label()))
        } else {
            Self::new(platform, shop_id)
        }
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
    /// Minor units the order's line subtotals add up to, where that is not `revenue`: a shop
    /// whose prices include tax states its lines, and refunds of lines, with the tax in them,
    /// so a refund of lines takes back its share of `revenue` (20% VAT: 60 of 120 is 50 of
    /// 100). 0: the lines add up to `revenue`. Left out of records where it is 0, so they
    /// read as before.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub line_basis: i64,
    /// When the order was placed (the payload's creation time, else receipt time).
    pub occurred_ms: i64,
    pub click_id: Option<String>,
    pub coupons: Vec<String>,
    /// A shop's test order: recorded, never in revenue.
    pub test: bool,
    /// Who bought and where they came from, for the fraud flags.
    #[serde(default)]
    pub buyer: Buyer,
}

/// Why a parser's reading of an order cannot be kept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OrderError {
    #[error("{field} is {value} minor units; it must be 0 to {MAX_AMOUNT_MINOR}")]
    Amount { field: &'static str, value: i64 },
    #[error("the order time ({0} ms since 1970) is not between 2000-01-01 and 2100-01-01")]
    Time(i64),
}

impl OrderFacts {
    /// Checks what a parser read against the bounds every order keeps, whatever its format:
    /// amounts from 0 to [`MAX_AMOUNT_MINOR`], a time between 2000 and 2100.
    pub fn checked(self) -> Result<Self, OrderError> {
        for (field, value) in [
            ("revenue", self.revenue),
            ("total", self.gross),
            ("subtotal", self.line_basis),
        ] {
            if !(0..=MAX_AMOUNT_MINOR).contains(&value) {
                return Err(OrderError::Amount { field, value });
            }
        }
        if !(EARLIEST_ORDER_MS..=LATEST_ORDER_MS).contains(&self.occurred_ms) {
            return Err(OrderError::Time(self.occurred_ms));
        }
        Ok(self)
    }
}

/// One thing a delivery reports about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// The order exists and counts (created, paid, or processing).
    Placed(OrderFacts),
    /// The order exists but is not paid yet; it counts when a placement follows.
    Awaiting(OrderFacts),
    /// Money given back, under the shop's id for the refund, in the currency the delivery
    /// states (when it states one).
    Refunded {
        refund_id: String,
        amount: RefundAmount,
        currency: Option<Currency>,
    },
    /// The whole order was refunded.
    RefundedInFull,
    /// The order was cancelled or its payment failed: it counts for nothing. The currency is
    /// the one the delivery states, when it states one.
    Cancelled { currency: Option<Currency> },
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
    /// The currency each refund was stated in, where the delivery stated one. A refund in
    /// another currency than the order's is kept here for audit but never counted: its amount
    /// means nothing in the order's currency.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refund_currencies: BTreeMap<String, Currency>,
    pub refunded_in_full: bool,
    /// Ids of the latest deliveries applied, newest last.
    pub deliveries: VecDeque<String>,
    pub updated_ms: i64,
    /// Every change of the attribution after it was first decided, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Change>,
    /// Owners (see [`OrderOwner`]) the order's figures were ever applied to but no longer
    /// belong to: each is cleared at every revision, so a move is repaired by any retry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub former_owners: Vec<OrderOwner>,
}

/// What an order adds to its owner's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderFigures {
    pub orders: i64,
    pub revenue: i64,
    pub refunds: i64,
    /// Commission after refunds.
    pub commission: i64,
    /// 1 while the order waits for its click.
    pub pending: i64,
    /// 1 for a counted order attributed by click, or by coupon.
    pub click_orders: i64,
    pub coupon_orders: i64,
    /// 1 and its revenue while the order is held for review (then the figures above are 0).
    pub held_orders: i64,
    pub held_revenue: i64,
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
            refund_currencies: BTreeMap::new(),
            refunded_in_full: false,
            deliveries: VecDeque::new(),
            updated_ms: 0,
            history: Vec::new(),
            former_owners: Vec::new(),
        }
    }

    pub fn has_seen(&self, delivery_id: &str) -> bool {
        self.deliveries.iter().any(|d| d == delivery_id)
    }

    /// Folds one delivery's events into the record. An attributed order's commission follows
    /// its amounts at the rule fixed at attribution, so an order attributed while pending at one
    /// amount and placed at another earns on the amount that counts.
    pub fn apply(&mut self, delivery_id: &str, events: &[OrderEvent], now_ms: i64) {
        for event in events {
            self.apply_event(event);
        }
        self.deliveries.push_back(delivery_id.to_owned());
        while self.deliveries.len() > DELIVERIES_KEPT {
            self.deliveries.pop_front();
        }
        self.updated_ms = now_ms;
        self.refresh_commission();
    }

    fn apply_event(&mut self, event: &OrderEvent) {
        match event {
            OrderEvent::Placed(facts) => {
                // The first placement fixes the amounts; before it, a pending order's amounts
                // may still change. A cancellation that came first keeps the order cancelled,
                // but its amounts are still recorded, so it is listed and audited.
                if self.facts.is_none()
                    || matches!(self.status, OrderStatus::Unknown | OrderStatus::Awaiting)
                {
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
            OrderEvent::Refunded {
                refund_id,
                amount,
                currency,
            } => {
                let kept = self.refunds.entry(refund_id.clone()).or_insert(*amount);
                *kept = kept.larger(*amount);
                if let Some(currency) = currency {
                    self.refund_currencies.insert(refund_id.clone(), *currency);
                }
            }
            OrderEvent::RefundedInFull => self.refunded_in_full = true,
            OrderEvent::Cancelled { .. } => self.status = OrderStatus::Cancelled,
        }
    }

    /// Recomputes an attributed order's commission from its rule and current revenue.
    fn refresh_commission(&mut self) {
        let (Some(facts), Some(attribution)) = (&self.facts, &mut self.attribution) else {
            return;
        };
        if let Some(rule) = attribution
            .commission_rule
            .as_deref()
            .and_then(|r| Commission::from_stored(r).ok())
        {
            attribution.commission = rule.earned(facts.revenue, facts.currency);
        }
    }

    /// The facts of an order that has them and has not been attributed yet.
    pub fn awaiting_attribution(&self) -> Option<&OrderFacts> {
        self.facts.as_ref().filter(|_| self.attribution.is_none())
    }

    /// The order's currency and the other currency a refund or cancellation among `events`
    /// states, if one states a different currency than the order's.
    pub fn currency_conflict(&self, events: &[OrderEvent]) -> Option<(Currency, Currency)> {
        let ours = self.facts.as_ref()?.currency;
        events.iter().find_map(|event| match event {
            OrderEvent::Refunded {
                currency: Some(theirs),
                ..
            }
            | OrderEvent::Cancelled {
                currency: Some(theirs),
            } if *theirs != ours => Some((ours, *theirs)),
            _ => None,
        })
    }

    /// Refunds kept but not counted, because they were stated in another currency.
    pub fn foreign_refunds(&self) -> usize {
        self.refunds
            .keys()
            .filter(|id| !self.counts_refund(id))
            .count()
    }

    fn counts_refund(&self, refund_id: &str) -> bool {
        match (self.refund_currencies.get(refund_id), &self.facts) {
            (Some(theirs), Some(facts)) => *theirs == facts.currency,
            _ => true,
        }
    }

    /// Revenue refunded so far, in minor units, from 0 to the revenue.
    pub fn refunded(&self) -> i64 {
        let Some(facts) = &self.facts else {
            return 0;
        };
        let revenue = facts.revenue.clamp(0, MAX_AMOUNT_MINOR);
        if self.refunded_in_full {
            return revenue;
        }
        let total: i128 = self
            .refunds
            .iter()
            .filter(|(id, _)| self.counts_refund(id))
            .map(|(_, amount)| match *amount {
                RefundAmount::Revenue(minor) if facts.line_basis > 0 => div_round(
                    i128::from(minor) * i128::from(revenue),
                    i128::from(facts.line_basis),
                ),
                RefundAmount::Revenue(minor) => i128::from(minor),
                RefundAmount::OfGross(_) if facts.gross <= 0 => 0,
                RefundAmount::OfGross(minor) => div_round(
                    i128::from(minor) * i128::from(revenue),
                    i128::from(facts.gross),
                ),
            })
            .sum();
        i64::try_from(total.clamp(0, i128::from(revenue))).unwrap_or(revenue)
    }

    /// Whether the order counts in revenue: placed, not a test, not unqualified, not
    /// waiting for its click and not held for review.
    pub fn counts(&self) -> bool {
        self.placed_live()
            && self
                .attribution
                .as_ref()
                .is_some_and(|a| a.qualified && !a.is_pending() && !a.is_held())
    }

    fn placed_live(&self) -> bool {
        self.status == OrderStatus::Placed && self.facts.as_ref().is_some_and(|f| !f.test)
    }

    /// Whether a record read back from the store keeps the bounds every order is taken in
    /// with. One that does not was damaged outside reftrack and is not counted.
    pub fn is_sound(&self) -> bool {
        let amount = |minor: i64| (0..=MAX_AMOUNT_MINOR).contains(&minor);
        self.facts
            .as_ref()
            .is_none_or(|f| amount(f.revenue) && amount(f.gross))
            && self.refunds.values().all(|r| amount(r.minor()))
            && self
                .attribution
                .as_ref()
                .is_none_or(|a| amount(a.commission))
    }

    /// What the order adds to its owner's figures now.
    pub fn figures(&self) -> OrderFigures {
        let (Some(facts), Some(attribution)) = (&self.facts, &self.attribution) else {
            return OrderFigures::default();
        };
        let revenue = facts.revenue.clamp(0, MAX_AMOUNT_MINOR);
        if !self.counts() {
            let live = self.placed_live();
            return OrderFigures {
                pending: i64::from(live && attribution.is_pending()),
                held_orders: i64::from(live && attribution.is_held()),
                held_revenue: if live && attribution.is_held() {
                    revenue
                } else {
                    0
                },
                ..OrderFigures::default()
            };
        }
        let commission = attribution.commission.clamp(0, MAX_AMOUNT_MINOR);
        let refunds = self.refunded();
        let reversed = if revenue > 0 {
            div_round(
                i128::from(commission) * i128::from(refunds),
                i128::from(revenue),
            )
        } else {
            0
        };
        let reversed = i64::try_from(reversed.clamp(0, i128::from(commission))).unwrap_or(0);
        OrderFigures {
            orders: 1,
            revenue,
            refunds,
            commission: commission - reversed,
            click_orders: i64::from(attribution.by == AttributedBy::Click),
            coupon_orders: i64::from(attribution.by == AttributedBy::Coupon),
            ..OrderFigures::default()
        }
    }
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &i64) -> bool {
    *n == 0
}

mod buyer;
mod changes;
mod refund;
pub use buyer::Buyer;
pub use changes::{ChangeBy, OrderOwner, ReviewError};
pub use refund::RefundAmount;
#[cfg(test)]
mod tests;
