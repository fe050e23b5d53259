//! Stripe: an event envelope (`id`, `type`, `livemode`, `data.object`) signed with
//! `Stripe-Signature`. Orders are checkout sessions, keyed by their payment intent so that
//! `charge.refunded` (which names the payment intent) finds them.

use std::collections::HashMap;

use serde::Deserialize;

use super::delivery::{Delivery, Parsed, PayloadError};
use super::fields::{buyer, click_id, coupons, currency, display_id, json};
use crate::domain::{OrderEvent, OrderFacts, OrderKey, Platform, RefundAmount};

#[derive(Deserialize)]
struct Event<T> {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    livemode: bool,
    data: Data<T>,
}

#[derive(Deserialize)]
struct Data<T> {
    object: T,
}

#[derive(Deserialize)]
struct Session {
    id: String,
    payment_intent: Option<String>,
    amount_subtotal: i64,
    amount_total: i64,
    currency: String,
    total_details: Option<TotalDetails>,
    client_reference_id: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
    payment_status: String,
    created: i64,
    customer_details: Option<CustomerDetails>,
}

#[derive(Deserialize)]
struct CustomerDetails {
    email: Option<String>,
}

#[derive(Deserialize)]
struct TotalDetails {
    #[serde(default)]
    amount_discount: i64,
}

#[derive(Deserialize)]
struct Charge {
    id: String,
    payment_intent: Option<String>,
    amount_refunded: i64,
    currency: Option<String>,
}

#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: String,
}

pub fn parse(body: &[u8]) -> Result<Parsed, PayloadError> {
    let Kind { kind } = json(body)?;
    match kind.as_str() {
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed" => session(body),
        "charge.refunded" => refund(body),
        _ => Ok(Parsed::Ignored),
    }
}

fn session(body: &[u8]) -> Result<Parsed, PayloadError> {
    let event: Event<Session> = json(body)?;
    let s = event.data.object;
    let currency = currency("currency", &s.currency)?;
    let minor = |field: &str, value: i64| {
        currency
            .minor(value)
            .map_err(|e| PayloadError::new(format!("{field}: {e}")))
    };
    let subtotal = minor("amount_subtotal", s.amount_subtotal)?;
    let discount = minor(
        "total_details.amount_discount",
        s.total_details.map_or(0, |t| t.amount_discount),
    )?;
    let candidates = [
        s.client_reference_id.as_deref(),
        s.metadata.get("rtclid").map(String::as_str),
    ];
    let occurred_ms = s
        .created
        .checked_mul(1000)
        .ok_or_else(|| PayloadError::new(format!("created: {} is not a time", s.created)))?;
    let facts = OrderFacts {
        order_id: display_id(s.payment_intent.as_deref().unwrap_or(&s.id)),
        currency,
        // amount_subtotal is before discounts, shipping and tax.
        revenue: (subtotal - discount).max(0),
        gross: minor("amount_total", s.amount_total)?,
        line_basis: 0,
        occurred_ms,
        click_id: click_id(candidates.into_iter().flatten()),
        coupons: coupons(s.metadata.get("coupon").into_iter().cloned())?,
        // Events from Stripe's test mode are test orders.
        test: !event.livemode,
        buyer: buyer(
            s.metadata.get("referrer").map(String::as_str),
            s.customer_details.as_ref().and_then(|c| c.email.as_deref()),
        ),
    }
    .checked()?;
    let events = match (event.kind.as_str(), s.payment_status.as_str()) {
        ("checkout.session.async_payment_failed", _) => vec![
            OrderEvent::Awaiting(facts),
            OrderEvent::Cancelled { currency: None },
        ],
        ("checkout.session.completed", "unpaid") => vec![OrderEvent::Awaiting(facts)],
        _ => vec![OrderEvent::Placed(facts)],
    };
    let key = s.payment_intent.as_deref().unwrap_or(&s.id);
    Ok(Parsed::Order(Delivery {
        platform: Platform::Stripe,
        delivery_id: event.id,
        order_key: OrderKey::of(Platform::Stripe, key, !event.livemode),
        events,
    }))
}

fn refund(body: &[u8]) -> Result<Parsed, PayloadError> {
    let event: Event<Charge> = json(body)?;
    let charge = event.data.object;
    // A charge outside a checkout session has no order to reverse.
    let Some(payment_intent) = charge.payment_intent else {
        return Ok(Parsed::Ignored);
    };
    let currency = charge
        .currency
        .as_deref()
        .map(|code| currency("currency", code))
        .transpose()?;
    Ok(Parsed::Order(Delivery {
        platform: Platform::Stripe,
        delivery_id: event.id,
        order_key: OrderKey::of(Platform::Stripe, &payment_intent, !event.livemode),
        // amount_refunded is cumulative, and the record keeps the largest per charge, so
        // successive partial refunds arriving in any order end at the right total.
        events: vec![OrderEvent::Refunded {
            refund_id: format!("charge:{}", charge.id),
            amount: RefundAmount::checked(charge.amount_refunded, true)?,
            currency,
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::fields::test_support::{delivery, fixture};

    #[test]
    fn a_paid_checkout_session_is_an_order_keyed_by_its_payment_intent() {
        let d = delivery(parse(&fixture("stripe_checkout_session_completed.json")).unwrap());
        assert_eq!(d.delivery_id, "evt_1QbCdEfGhIjKlMnOpQrStUvW");
        assert_eq!(
            d.order_key.as_str(),
            "test:stripe:pi_1PgafyB7WZ01zgkWSjxsAJo3",
            "a test-mode event is a test order, under a key of its own"
        );
        let [OrderEvent::Placed(facts)] = d.events.as_slice() else {
            panic!("{:?}", d.events)
        };
        assert_eq!((facts.revenue, facts.gross), (4_500, 4_500));
        assert_eq!(facts.currency.code(), "USD");
        assert_eq!(facts.occurred_ms, 1_735_689_600_000);
        assert_eq!(facts.click_id.as_deref(), Some("inf_7Kq2ZbLm"));
        assert!(facts.test, "livemode false is Stripe's test mode");
    }

    #[test]
    fn an_unpaid_session_waits_for_its_async_payment() {
        let mut event: serde_json::Value =
            serde_json::from_slice(&fixture("stripe_checkout_session_completed.json")).unwrap();
        event["data"]["object"]["payment_status"] = "unpaid".into();
        let d = delivery(parse(&serde_json::to_vec(&event).unwrap()).unwrap());
        assert!(matches!(d.events.as_slice(), [OrderEvent::Awaiting(_)]));
        event["type"] = "checkout.session.async_payment_succeeded".into();
        let d = delivery(parse(&serde_json::to_vec(&event).unwrap()).unwrap());
        assert!(matches!(d.events.as_slice(), [OrderEvent::Placed(_)]));
    }

    #[test]
    fn a_refunded_charge_reverses_its_payment_intents_order() {
        let d = delivery(parse(&fixture("stripe_charge_refunded.json")).unwrap());
        assert_eq!(
            d.order_key.as_str(),
            "test:stripe:pi_1PgafyB7WZ01zgkWSjxsAJo3"
        );
        assert_eq!(
            d.events,
            vec![OrderEvent::Refunded {
                refund_id: "charge:ch_1PgafuB7WZ01zgkWXYmPNZs8".into(),
                amount: RefundAmount::OfGross(4_500),
                currency: Some(crate::domain::Currency::parse("usd").unwrap()),
            }]
        );
    }

    #[test]
    fn other_event_types_are_ignored() {
        assert_eq!(
            parse(br#"{"type": "customer.created"}"#),
            Ok(Parsed::Ignored)
        );
        assert!(parse(br#"{"id": "evt"}"#).is_err());
    }
}
