//! Shopify: `X-Shopify-Topic` names the event, the body is the bare resource (an order, or a
//! refund), and `X-Shopify-Event-Id` (or `X-Shopify-Webhook-Id`) names the delivery.

use serde::Deserialize;
use serde_json::Value;

use super::{Delivery, Parsed, PayloadError, click_id, click_id_in_url, json, rfc3339_ms};
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
    order_id: u64,
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
    line_item: LineItem,
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

/// Reads a delivery. `delivery_id` is the event id header, else the webhook id header.
pub fn parse(
    topic: &str,
    delivery_id: &str,
    body: &[u8],
    received_ms: i64,
) -> Result<Parsed, PayloadError> {
    let events = match topic {
        "orders/create" | "orders/paid" => {
            let order: Order = json(body)?;
            let facts = facts(&order, received_ms)?;
            let mut events = vec![OrderEvent::Placed(facts)];
            if order.cancelled_at.is_some() || order.financial_status.as_deref() == Some("voided") {
                events.push(OrderEvent::Cancelled);
            }
            if order.financial_status.as_deref() == Some("refunded") {
                events.push(OrderEvent::RefundedInFull);
            }
            (order.id, events)
        }
        "orders/cancelled" => {
            let order: Order = json(body)?;
            let facts = facts(&order, received_ms)?;
            (
                order.id,
                vec![OrderEvent::Awaiting(facts), OrderEvent::Cancelled],
            )
        }
        "refunds/create" => {
            let refund: Refund = json(body)?;
            match refund_amount(&refund)? {
                Some(amount) => (
                    refund.order_id,
                    vec![OrderEvent::Refunded {
                        refund_id: format!("refund:{}", refund.id),
                        amount,
                    }],
                ),
                None => return Ok(Parsed::Ignored),
            }
        }
        _ => return Ok(Parsed::Ignored),
    };
    let (order_id, events) = events;
    Ok(Parsed::Order(Delivery {
        platform: Platform::Shopify,
        delivery_id: delivery_id.to_owned(),
        order_key: OrderKey::new(Platform::Shopify, &order_id.to_string()),
        events,
    }))
}

fn money(currency: Currency, amount: &str) -> Result<i64, PayloadError> {
    currency
        .minor_units(amount)
        .map_err(|e| PayloadError::new(e.to_string()))
}

fn facts(order: &Order, received_ms: i64) -> Result<OrderFacts, PayloadError> {
    let currency =
        Currency::parse(&order.currency).map_err(|e| PayloadError::new(e.to_string()))?;
    // subtotal_price is after discounts and before shipping and tax, except in shops whose
    // prices include tax, where the tax has to come off.
    let mut revenue = money(currency, &order.subtotal_price)?;
    if order.taxes_included
        && let Some(tax) = &order.total_tax
    {
        revenue = (revenue - money(currency, tax)?).max(0);
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
    Ok(OrderFacts {
        order_id: order.name.clone().unwrap_or_else(|| order.id.to_string()),
        currency,
        revenue,
        gross: money(currency, &order.total_price)?,
        occurred_ms,
        click_id: click_id(from_landing.as_deref().into_iter().chain(from_notes)),
        coupons: order
            .discount_codes
            .iter()
            .map(|d| d.code.clone())
            .collect(),
        test: order.test,
    })
}

/// Revenue given back: the refunded line items' subtotals when the refund names items, else
/// the refunded money as a share of the payment. `None` when no money moved (a restock only).
fn refund_amount(refund: &Refund) -> Result<Option<RefundAmount>, PayloadError> {
    let refunds: Vec<&Transaction> = refund
        .transactions
        .iter()
        .filter(|t| t.kind == "refund" && t.status.as_deref().is_none_or(|s| s == "success"))
        .collect();
    let Some(currency) = refunds.iter().find_map(|t| t.currency.as_deref()) else {
        return Ok(None);
    };
    let currency = Currency::parse(currency).map_err(|e| PayloadError::new(e.to_string()))?;
    if refund.refund_line_items.is_empty() {
        let mut paid_back = 0;
        for t in &refunds {
            paid_back += money(currency, &t.amount)?;
        }
        return Ok(Some(RefundAmount::OfGross(paid_back)));
    }
    let mut revenue = 0;
    for item in &refund.refund_line_items {
        revenue += match &item.subtotal {
            Some(Value::String(s)) => money(currency, s)?,
            Some(Value::Number(n)) => money(currency, &n.to_string())?,
            _ => {
                let line = &item.line_item;
                let price = money(currency, &line.price)?;
                let discount = match &line.total_discount {
                    Some(d) if line.quantity > 0 => {
                        money(currency, d)? * item.quantity / line.quantity
                    }
                    _ => 0,
                };
                price * item.quantity - discount
            }
        };
    }
    Ok(Some(RefundAmount::Revenue(revenue)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::test_support::{delivery, fixture};

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
        let [OrderEvent::Awaiting(facts), OrderEvent::Cancelled] = d.events.as_slice() else {
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
                amount: RefundAmount::Revenue(39_800)
            }]
        );
    }

    #[test]
    fn unknown_topics_are_ignored_and_broken_bodies_refused() {
        assert_eq!(
            parse("orders/fulfilled", "e", b"{}", 0),
            Ok(Parsed::Ignored)
        );
        assert!(parse("orders/create", "e", b"{\"id\": 1}", 0).is_err());
        assert!(parse("orders/create", "e", b"not json", 0).is_err());
    }
}
