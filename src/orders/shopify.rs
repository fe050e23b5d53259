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
    amount, click_id, click_id_in_url, coupons, currency, display_id, json, rfc3339_ms, sum,
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
    let mut revenue = amount(currency, "subtotal_price", &order.subtotal_price)?;
    if order.taxes_included
        && let Some(tax) = &order.total_tax
    {
        revenue = (revenue - amount(currency, "total_tax", tax)?).max(0);
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
        occurred_ms,
        click_id: click_id(from_landing.as_deref().into_iter().chain(from_notes)),
        coupons: coupons(order.discount_codes.iter().map(|d| d.code.clone()))?,
        test: order.test,
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
mod tests {
    use super::*;
    use crate::orders::fields::test_support::{delivery, fixture};

    #[test]
    fn an_order_creation_reads_revenue_before_shipping_and_tax() {
        let body = fixture("shopify_orders_create.json");
        let d = delivery(parse("orders/create", "evt-1", &body, 0).unwrap());
        assert_eq!(d.order_key.as_str(), "shopify:450789469");
        let [OrderEvent::Placed(facts)] = d.events.as_slice() else {
            panic!("{:?}", d.events)
        };
        assert_eq!(facts.revenue, 39_800);
        assert_eq!(facts.gross, 40_994);
        assert_eq!(facts.currency.code(), "USD");
        assert_eq!(facts.coupons, vec!["TENOFF".to_owned()]);
        assert_eq!(facts.click_id, None);
        assert_eq!(facts.occurred_ms, 1_199_980_800_000);
        assert!(!facts.test);
    }

    #[test]
    fn the_click_id_comes_from_the_landing_site_or_a_note_attribute() {
        let mut order: Value =
            serde_json::from_slice(&fixture("shopify_orders_create.json")).unwrap();
        order["landing_site"] = "/products/mug?rtclid=AAAAAAAAAAAAAAAAAAAAA".into();
        let body = serde_json::to_vec(&order).unwrap();
        let d = delivery(parse("orders/paid", "e", &body, 0).unwrap());
        let OrderEvent::Placed(facts) = &d.events[0] else {
            panic!()
        };
        assert_eq!(facts.click_id.as_deref(), Some("AAAAAAAAAAAAAAAAAAAAA"));

        order["landing_site"] = Value::Null;
        order["note_attributes"] =
            serde_json::json!([{"name": "rtclid", "value": "BBBBBBBBBBBBBBBBBBBBB"}]);
        let body = serde_json::to_vec(&order).unwrap();
        let d = delivery(parse("orders/paid", "e", &body, 0).unwrap());
        let OrderEvent::Placed(facts) = &d.events[0] else {
            panic!()
        };
        assert_eq!(facts.click_id.as_deref(), Some("BBBBBBBBBBBBBBBBBBBBB"));
    }

    #[test]
    fn the_test_notification_is_a_cancelled_test_order() {
        let body = fixture("shopify_orders_cancelled_test_notification.json");
        let d = delivery(parse("orders/cancelled", "e", &body, 0).unwrap());
        assert_eq!(d.order_key.as_str(), "test:shopify:820982911946154508");
        let [OrderEvent::Awaiting(facts), OrderEvent::Cancelled { .. }] = d.events.as_slice()
        else {
            panic!("{:?}", d.events)
        };
        assert!(facts.test);
        assert_eq!(facts.revenue, 40_495);
    }

    #[test]
    fn a_refund_gives_back_its_line_items_subtotal() {
        let body = fixture("shopify_refunds_create.json");
        let d = delivery(parse("refunds/create", "e", &body, 0).unwrap());
        assert_eq!(d.order_key.as_str(), "shopify:450789469");
        assert_eq!(
            d.events,
            vec![OrderEvent::Refunded {
                refund_id: "refund:509562969".into(),
                amount: RefundAmount::Revenue(39_800),
                currency: Some(Currency::parse("USD").unwrap()),
            }]
        );
    }

    #[test]
    fn unknown_topics_are_ignored_and_broken_bodies_refused() {
        assert_eq!(parse("products/create", "e", b"{}", 0), Ok(Parsed::Ignored));
        assert!(parse("orders/create", "e", b"{\"id\": 1}", 0).is_err());
        assert!(parse("orders/create", "e", b"not json", 0).is_err());
    }

    fn order_with(changes: &[(&str, Value)]) -> Vec<u8> {
        let mut order: Value =
            serde_json::from_slice(&fixture("shopify_orders_create.json")).unwrap();
        for (field, value) in changes {
            order[*field] = value.clone();
        }
        serde_json::to_vec(&order).unwrap()
    }

    #[test]
    fn the_signed_body_not_the_topic_decides_what_happened() {
        let live = order_with(&[]);
        let err = parse("orders/cancelled", "e", &live, 0).unwrap_err();
        assert_eq!(err.kind, crate::orders::PayloadErrorKind::TopicMismatch);
        for topic in ["orders/create", "orders/paid", "orders/updated"] {
            let d = delivery(parse(topic, "e", &live, 0).unwrap());
            assert!(
                matches!(d.events.as_slice(), [OrderEvent::Placed(_)]),
                "{topic}: {:?}",
                d.events
            );
        }
        let cancelled = order_with(&[("cancelled_at", "2026-11-20T10:00:00Z".into())]);
        for topic in ["orders/cancelled", "orders/create", "orders/updated"] {
            let d = delivery(parse(topic, "e", &cancelled, 0).unwrap());
            assert!(
                matches!(
                    d.events.as_slice(),
                    [OrderEvent::Awaiting(_), OrderEvent::Cancelled { .. }]
                ),
                "{topic}: {:?}",
                d.events
            );
        }
        let pending = order_with(&[("financial_status", "pending".into())]);
        let d = delivery(parse("orders/paid", "e", &pending, 0).unwrap());
        assert!(matches!(d.events.as_slice(), [OrderEvent::Awaiting(_)]));
        let err = parse("refunds/create", "e", &live, 0).unwrap_err();
        assert!(err.to_string().contains("order_id") || err.to_string().contains("JSON"));
    }

    #[test]
    fn an_orders_own_refunds_are_read_from_its_body() {
        let refund: Value =
            serde_json::from_slice(&fixture("shopify_refunds_create.json")).unwrap();
        let body = order_with(&[
            ("refunds", Value::Array(vec![refund])),
            ("financial_status", "partially_refunded".into()),
        ]);
        let d = delivery(parse("orders/updated", "e", &body, 0).unwrap());
        assert!(matches!(
            d.events.as_slice(),
            [
                OrderEvent::Placed(_),
                OrderEvent::Refunded {
                    amount: RefundAmount::Revenue(39_800),
                    ..
                }
            ]
        ));
    }

    #[test]
    fn a_markets_refund_counts_in_the_shops_currency_not_the_customers() {
        let mut refund: Value =
            serde_json::from_slice(&fixture("shopify_refunds_create.json")).unwrap();
        refund["transactions"][0]["currency"] = "EUR".into();
        refund["transactions"][0]["amount"] = "190.00".into();
        for line in refund["refund_line_items"].as_array_mut().unwrap() {
            line["subtotal_set"] = serde_json::json!({
                "shop_money": {"amount": "199.00", "currency_code": "USD"},
                "presentment_money": {"amount": "183.00", "currency_code": "EUR"}
            });
        }
        let body = serde_json::to_vec(&refund).unwrap();
        let d = delivery(parse("refunds/create", "e", &body, 0).unwrap());
        assert_eq!(
            d.events,
            vec![OrderEvent::Refunded {
                refund_id: "refund:509562969".into(),
                amount: RefundAmount::Revenue(39_800),
                currency: Some(Currency::parse("USD").unwrap()),
            }]
        );
    }

    #[test]
    fn negative_and_oversized_amounts_are_refused() {
        for (field, value) in [
            ("subtotal_price", "-10.00"),
            ("total_price", "-1"),
            ("subtotal_price", "46116860184273879.04"),
            ("subtotal_price", "1e3"),
        ] {
            let body = order_with(&[(field, value.into())]);
            let err = parse("orders/create", "e", &body, 0).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
        let mut refund: Value =
            serde_json::from_slice(&fixture("shopify_refunds_create.json")).unwrap();
        refund["refund_line_items"][0]["subtotal"] = "-398.00".into();
        let body = serde_json::to_vec(&refund).unwrap();
        assert!(parse("refunds/create", "e", &body, 0).is_err());
    }
}
