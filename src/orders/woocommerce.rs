//! WooCommerce: `X-WC-Webhook-Topic` names the event (`order.created`, `order.updated`), the
//! body is the REST v3 order, and `X-WC-Webhook-Delivery-ID` names the delivery. When a webhook
//! is saved, WooCommerce first posts an unsigned `webhook_id=<n>` form and needs a 200.

use serde::Deserialize;
use serde_json::Value;

use super::delivery::{Delivery, Parsed, PayloadError};
use super::fields::{amount, buyer, click_id, coupons, currency, display_id, json, sum, utc_ms};
use crate::domain::{OrderEvent, OrderFacts, OrderKey, Platform, RefundAmount};

#[derive(Deserialize)]
struct Order {
    id: u64,
    number: Option<String>,
    status: String,
    currency: String,
    total: String,
    #[serde(default)]
    line_items: Vec<LineItem>,
    #[serde(default)]
    coupon_lines: Vec<CouponLine>,
    #[serde(default)]
    meta_data: Vec<Meta>,
    #[serde(default)]
    refunds: Vec<Refund>,
    date_created_gmt: Option<String>,
    billing: Option<Billing>,
}

#[derive(Deserialize)]
struct Billing {
    email: Option<String>,
}

#[derive(Deserialize)]
struct LineItem {
    /// After discounts, before tax.
    total: String,
}

#[derive(Deserialize)]
struct CouponLine {
    code: String,
}

#[derive(Deserialize)]
struct Meta {
    key: String,
    value: Value,
}

#[derive(Deserialize)]
struct Refund {
    id: u64,
    /// Negative: `"-10.00"`.
    total: String,
}

/// The set-up ping: an unsigned form body `webhook_id=<digits>`.
pub fn is_ping(body: &[u8]) -> bool {
    body.strip_prefix(b"webhook_id=")
        .is_some_and(|id| !id.is_empty() && id.iter().all(u8::is_ascii_digit))
}

pub fn parse(
    topic: &str,
    delivery_id: &str,
    body: &[u8],
    received_ms: i64,
) -> Result<Parsed, PayloadError> {
    if !matches!(topic, "order.created" | "order.updated") {
        return Ok(Parsed::Ignored);
    }
    let order: Order = json(body)?;
    let facts = facts(&order, received_ms)?;
    let currency = facts.currency;
    // The status in the signed body decides; the topic header is not signed.
    let events = match order.status.as_str() {
        "processing" | "completed" => {
            let mut events = vec![OrderEvent::Placed(facts)];
            for refund in &order.refunds {
                // WooCommerce writes money given back as a negative total.
                let paid_back = currency
                    .signed_amount(&refund.total)
                    .map_err(|e| PayloadError::new(format!("refunds.total: {e}")))?;
                events.push(OrderEvent::Refunded {
                    refund_id: format!("refund:{}", refund.id),
                    amount: RefundAmount::checked(paid_back.abs(), true)?,
                    currency: Some(currency),
                });
            }
            events
        }
        "refunded" => vec![OrderEvent::Placed(facts), OrderEvent::RefundedInFull],
        "cancelled" => vec![
            OrderEvent::Awaiting(facts),
            OrderEvent::Cancelled { currency: None },
        ],
        // A failed payment is not the end of an order: the customer may pay again, and the
        // order then moves on to processing. It waits, as an unpaid order does.
        "pending" | "on-hold" | "failed" => vec![OrderEvent::Awaiting(facts)],
        _ => return Ok(Parsed::Ignored),
    };
    Ok(Parsed::Order(Delivery {
        platform: Platform::WooCommerce,
        delivery_id: delivery_id.to_owned(),
        order_key: OrderKey::new(Platform::WooCommerce, &order.id.to_string()),
        events,
    }))
}

fn facts(order: &Order, received_ms: i64) -> Result<OrderFacts, PayloadError> {
    let currency = currency("currency", &order.currency)?;
    let lines: Result<Vec<i64>, _> = order
        .line_items
        .iter()
        .map(|line| amount(currency, "line_items.total", &line.total))
        .collect();
    let occurred_ms = match &order.date_created_gmt {
        Some(at) => utc_ms(at)?,
        None => received_ms,
    };
    let candidates = order
        .meta_data
        .iter()
        .filter(|m| m.key == "rtclid" || m.key == "_rtclid")
        .filter_map(|m| m.value.as_str());
    let facts = OrderFacts {
        order_id: display_id(order.number.as_deref().unwrap_or(&order.id.to_string())),
        currency,
        revenue: sum("line_items.total", lines?)?,
        gross: amount(currency, "total", &order.total)?,
        line_basis: 0,
        occurred_ms,
        click_id: click_id(candidates),
        coupons: coupons(order.coupon_lines.iter().map(|c| c.code.clone()))?,
        test: false,
        buyer: buyer(
            order
                .meta_data
                .iter()
                .filter(|m| m.key == "_wc_order_attribution_referrer")
                .filter_map(|m| m.value.as_str()),
            order.billing.as_ref().and_then(|b| b.email.as_deref()),
        ),
    };
    Ok(facts.checked()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire() -> Vec<u8> {
        crate::orders::fields::test_support::fixture("woocommerce_order_created.wire.json")
    }

    #[test]
    fn a_processing_order_counts_its_line_totals_and_coupon() {
        let Parsed::Order(d) = parse("order.created", "1", &wire(), 0).unwrap() else {
            panic!("expected an order")
        };
        assert_eq!(d.order_key.as_str(), "woocommerce:727");
        let [OrderEvent::Placed(facts)] = d.events.as_slice() else {
            panic!("{:?}", d.events)
        };
        assert_eq!(facts.currency.code(), "USD");
        assert_eq!(facts.gross, 2_935);
        assert_eq!(facts.coupons, vec!["alice10".to_owned()]);
        assert_eq!(facts.occurred_ms, 1_490_210_882_000);
        let lines: Value = serde_json::from_slice(&wire()).unwrap();
        let expected: i64 = lines["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                crate::domain::Currency::parse("USD")
                    .unwrap()
                    .amount(l["total"].as_str().unwrap())
                    .unwrap()
            })
            .sum();
        assert_eq!(facts.revenue, expected);
    }

    #[test]
    fn statuses_map_to_placement_waiting_refund_and_reversal() {
        let mut order: Value = serde_json::from_slice(&wire()).unwrap();
        let events_for = |order: &Value| match parse(
            "order.updated",
            "1",
            &serde_json::to_vec(order).unwrap(),
            0,
        )
        .unwrap()
        {
            Parsed::Order(d) => d.events.len(),
            Parsed::Ignored => 0,
        };
        order["status"] = "on-hold".into();
        assert_eq!(events_for(&order), 1);
        order["status"] = "refunded".into();
        assert_eq!(events_for(&order), 2);
        order["status"] = "failed".into();
        assert_eq!(events_for(&order), 1, "a failed payment waits for another");
        order["status"] = "cancelled".into();
        assert_eq!(events_for(&order), 2);
        order["status"] = "trash".into();
        assert_eq!(events_for(&order), 0);
        order["status"] = "completed".into();
        order["refunds"] = serde_json::json!([{"id": 9, "reason": "", "total": "-5.00"}]);
        let Parsed::Order(d) = parse(
            "order.updated",
            "1",
            &serde_json::to_vec(&order).unwrap(),
            0,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            d.events[1],
            OrderEvent::Refunded {
                refund_id: "refund:9".into(),
                amount: RefundAmount::OfGross(500),
                currency: Some(crate::domain::Currency::parse("USD").unwrap()),
            }
        );
    }

    #[test]
    fn the_set_up_ping_is_recognised_and_nothing_else_is() {
        assert!(is_ping(b"webhook_id=42"));
        assert!(!is_ping(b"webhook_id="));
        assert!(!is_ping(b"webhook_id=42&x=1"));
        assert!(!is_ping(b"{\"id\":1}"));
    }

    #[test]
    fn other_topics_are_ignored() {
        assert_eq!(parse("order.deleted", "1", b"{}", 0), Ok(Parsed::Ignored));
    }
}
