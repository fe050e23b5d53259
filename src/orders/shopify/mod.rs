//! Shopify: the body is the bare resource (an order, or a refund), signed with
//! `X-Shopify-Hmac-Sha256`; `X-Shopify-Topic` names the event and `X-Shopify-Event-Id` (or
//! `X-Shopify-Webhook-Id`) the delivery.
//!
//! The signature covers the body only, not the headers, so anyone holding one signed body can
//! re-send it under another topic. What happened to an order is therefore read from the signed
//! body alone (`cancelled_at`, `financial_status`, its `refunds`); the topic only says which
//! kind of body to expect, and a body that does not fit its topic is refused.

use serde::Deserialize;
use serde_json::Value;

use super::delivery::{Delivery, Parsed, PayloadError};
use super::fields::{
    amount, buyer, click_id, click_id_in_url, coupons, currency, display_id, json, rfc3339_ms, sum,
};
use crate::domain::{Currency, OrderEvent, OrderFacts, OrderKey, Platform, RefundAmount};

#[derive(Deserialize)]
struct Order {
    id: u64,
    name: Option<String>,
    currency: String,
    subtotal_price: String,
    total_price: String,
    total_tax: Option<String>,
    #[serde(default)]
    taxes_included: bool,
    created_at: Option<String>,
    landing_site: Option<String>,
    referring_site: Option<String>,
    email: Option<String>,
    customer: Option<Customer>,
    #[serde(default)]
    note_attributes: Vec<NoteAttribute>,
    #[serde(default)]
    discount_codes: Vec<DiscountCode>,
    #[serde(default)]
    test: bool,
    cancelled_at: Option<String>,
    financial_status: Option<String>,
    #[serde(default)]
    refunds: Vec<Refund>,
}

#[derive(Deserialize)]
struct Customer {
    email: Option<String>,
}

#[derive(Deserialize)]
struct NoteAttribute {
    name: String,
    value: Value,
}

#[derive(Deserialize)]
struct DiscountCode {
    code: String,
}

#[derive(Deserialize)]
#[allow(
    clippy::struct_field_names,
    reason = "Shopify's field names, kept as they are"
)]
struct Refund {
    id: u64,
    /// Present on a refund delivered on its own; an order's refunds may leave it out.
    order_id: Option<u64>,
    #[serde(default)]
    refund_line_items: Vec<RefundLineItem>,
    #[serde(default)]
    transactions: Vec<Transaction>,
}

#[derive(Deserialize)]
struct RefundLineItem {
    quantity: i64,
    /// Newer API versions state the refunded subtotal; older ones only the line item.
    subtotal: Option<Value>,
    /// The subtotal in the shop's currency and in the customer's (Shopify Markets).
    subtotal_set: Option<MoneySet>,
    line_item: LineItem,
}

#[derive(Deserialize)]
struct MoneySet {
    shop_money: Option<Money>,
}

#[derive(Deserialize)]
struct Money {
    amount: String,
    currency_code: String,
}

#[derive(Deserialize)]
struct LineItem {
    price: String,
    quantity: i64,
    total_discount: Option<String>,
}

#[derive(Deserialize)]
struct Transaction {
    amount: String,
    kind: String,
    status: Option<String>,
    currency: Option<String>,
}

/// Topics whose body is an order.
const ORDER_TOPICS: [&str; 7] = [
    "orders/create",
    "orders/paid",
    "orders/updated",
    "orders/edited",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/cancelled",
];

/// Reads a delivery. `delivery_id` is the event id header, else the webhook id header.
pub fn parse(
    topic: &str,
    delivery_id: &str,
    body: &[u8],
    received_ms: i64,
) -> Result<Parsed, PayloadError> {
    let (key, events) = if ORDER_TOPICS.contains(&topic) {
        let order: Order = json(body)?;
        let events = order_events(&order, received_ms)?;
        let cancelled = events
            .iter()
            .any(|e| matches!(e, OrderEvent::Cancelled { .. }));
        if topic == "orders/cancelled" && !cancelled {
            return Err(PayloadError::topic_mismatch(
                "the topic is orders/cancelled but the order has no cancelled_at and is not \
                 voided: the body is not a cancellation",
            ));
        }
        (
            OrderKey::of(Platform::Shopify, &order.id.to_string(), order.test),
            events,
        )
    } else if topic == "refunds/create" {
        let refund: Refund = json(body)?;
        let Some(order_id) = refund.order_id else {
            return Err(PayloadError::topic_mismatch(
                "the topic is refunds/create but the body has no order_id: it is not a refund",
            ));
        };
        match refund_event(&refund)? {
            Some(event) => (
                OrderKey::new(Platform::Shopify, &order_id.to_string()),
                vec![event],
            ),
            None => return Ok(Parsed::Ignored),
        }
    } else {
        return Ok(Parsed::Ignored);
    };
    Ok(Parsed::Order(Delivery {
        platform: Platform::Shopify,
        delivery_id: delivery_id.to_owned(),
        order_key: key,
        events,
    }))
}

/// What an order body says happened, from its own fields.
fn order_events(order: &Order, received_ms: i64) -> Result<Vec<OrderEvent>, PayloadError> {
    let facts = facts(order, received_ms)?;
    let status = order.financial_status.as_deref().unwrap_or_default();
    let cancelled = order.cancelled_at.is_some() || matches!(status, "voided" | "expired");
    let mut events = vec![if cancelled || status == "pending" {
        OrderEvent::Awaiting(facts)
    } else {
        OrderEvent::Placed(facts)
    }];
    for refund in &order.refunds {
        events.extend(refund_event(refund)?);
    }
    if status == "refunded" {
        events.push(OrderEvent::RefundedInFull);
    }
    if cancelled {
        events.push(OrderEvent::Cancelled { currency: None });
    }
    Ok(events)
}

fn facts(order: &Order, received_ms: i64) -> Result<OrderFacts, PayloadError> {
    let currency = currency("currency", &order.currency)?;
    // subtotal_price is after discounts and before shipping and tax, except in shops whose
    // prices include tax, where the tax has to come off.
    let subtotal = amount(currency, "subtotal_price", &order.subtotal_price)?;
    let mut revenue = subtotal;
    // Its lines, and refunds of them, then carry the tax too: a refund of lines takes back
    // its share of the revenue (see `OrderFacts::line_basis`).
    let mut line_basis = 0;
    if order.taxes_included
        && let Some(tax) = &order.total_tax
    {
        revenue = (subtotal - amount(currency, "total_tax", tax)?).max(0);
        if revenue != subtotal {
            line_basis = subtotal;
        }
    }
    let occurred_ms = match &order.created_at {
        Some(at) => rfc3339_ms(at)?,
        None => received_ms,
    };
    let from_landing = order.landing_site.as_deref().and_then(click_id_in_url);
    let from_notes = order
        .note_attributes
        .iter()
        .filter(|a| a.name == "rtclid")
        .filter_map(|a| a.value.as_str());
    let facts = OrderFacts {
        order_id: display_id(order.name.as_deref().unwrap_or(&order.id.to_string())),
        currency,
        revenue,
        gross: amount(currency, "total_price", &order.total_price)?,
        line_basis,
        occurred_ms,
        click_id: click_id(from_landing.as_deref().into_iter().chain(from_notes)),
        coupons: coupons(order.discount_codes.iter().map(|d| d.code.clone()))?,
        test: order.test,
        buyer: buyer(
            order.referring_site.as_deref(),
            [
                order.email.as_deref(),
                order.customer.as_ref().and_then(|c| c.email.as_deref()),
            ]
            .into_iter()
            .flatten(),
        ),
    };
    Ok(facts.checked()?)
}

/// The refund a refund object describes: the refunded line items' subtotals when it names
/// items, else the refunded money as a share of the payment. `None` when no money moved (a
/// restock only).
fn refund_event(refund: &Refund) -> Result<Option<OrderEvent>, PayloadError> {
    let refunds: Vec<&Transaction> = refund
        .transactions
        .iter()
        .filter(|t| t.kind == "refund" && t.status.as_deref().is_none_or(|s| s == "success"))
        .collect();
    let Some(code) = refunds.iter().find_map(|t| t.currency.as_deref()) else {
        return Ok(None);
    };
    let currency = currency("transactions.currency", code)?;
    if let Some(other) = refunds
        .iter()
        .filter_map(|t| t.currency.as_deref())
        .find(|c| !c.eq_ignore_ascii_case(currency.code()))
    {
        return Err(PayloadError::new(format!(
            "transactions.currency: one refund is paid back in both {currency} and {other}"
        )));
    }
    if let Some(event) = shop_money_refund(refund)? {
        return Ok(Some(event));
    }
    let amount = if refund.refund_line_items.is_empty() {
        let paid_back: Result<Vec<i64>, _> = refunds
            .iter()
            .map(|t| amount(currency, "transactions.amount", &t.amount))
            .collect();
        RefundAmount::checked(sum("transactions.amount", paid_back?)?, true)?
    } else {
        let lines: Result<Vec<i64>, _> = refund
            .refund_line_items
            .iter()
            .map(|item| line_refund(currency, item))
            .collect();
        RefundAmount::checked(sum("refund_line_items", lines?)?, false)?
    };
    Ok(Some(OrderEvent::Refunded {
        refund_id: format!("refund:{}", refund.id),
        amount,
        currency: Some(currency),
    }))
}

/// A refund of line items that all state their subtotal in the shop's currency, in that
/// currency: the order's amounts are the shop's, while the refund's transactions are in the
/// customer's currency when it differs (Shopify Markets), and would not count against them.
fn shop_money_refund(refund: &Refund) -> Result<Option<OrderEvent>, PayloadError> {
    let shop: Option<Vec<&Money>> = refund
        .refund_line_items
        .iter()
        .map(|item| item.subtotal_set.as_ref()?.shop_money.as_ref())
        .collect();
    let Some(shop) = shop.filter(|lines| !lines.is_empty()) else {
        return Ok(None);
    };
    let code = &shop[0].currency_code;
    if shop
        .iter()
        .any(|m| !m.currency_code.eq_ignore_ascii_case(code))
    {
        return Err(PayloadError::new(
            "refund_line_items.subtotal_set.shop_money: the lines name more than one currency",
        ));
    }
    let currency = currency("subtotal_set.shop_money.currency_code", code)?;
    let lines: Result<Vec<i64>, _> = shop
        .iter()
        .map(|m| amount(currency, "subtotal_set.shop_money.amount", &m.amount))
        .collect();
    Ok(Some(OrderEvent::Refunded {
        refund_id: format!("refund:{}", refund.id),
        amount: RefundAmount::checked(sum("refund_line_items", lines?)?, false)?,
        currency: Some(currency),
    }))
}

/// Revenue one refunded line gives back: its stated subtotal, else its price times the
/// quantity refunded less that quantity's share of the line's discount.
fn line_refund(currency: Currency, item: &RefundLineItem) -> Result<i64, PayloadError> {
    match &item.subtotal {
        Some(Value::String(s)) => amount(currency, "refund_line_items.subtotal", s),
        Some(Value::Number(n)) => amount(currency, "refund_line_items.subtotal", &n.to_string()),
        _ => {
            let line = &item.line_item;
            let price = amount(currency, "line_item.price", &line.price)?;
            if !(0..=line.quantity).contains(&item.quantity) {
                return Err(PayloadError::new(format!(
                    "refund_line_items.quantity: {} is not between 0 and the line's quantity {}",
                    item.quantity, line.quantity
                )));
            }
            let discount = match &line.total_discount {
                Some(d) if line.quantity > 0 => {
                    let whole = i128::from(amount(currency, "line_item.total_discount", d)?);
                    whole * i128::from(item.quantity) / i128::from(line.quantity)
                }
                _ => 0,
            };
            let refunded = (i128::from(price) * i128::from(item.quantity) - discount).max(0);
            i64::try_from(refunded)
                .ok()
                .filter(|r| *r <= crate::domain::MAX_AMOUNT_MINOR)
                .ok_or_else(|| {
                    PayloadError::new("refund_line_items: the refunded amount is out of bounds")
                })
        }
    }
}

#[cfg(test)]
mod tests;
