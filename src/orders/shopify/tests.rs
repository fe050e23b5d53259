use super::*;
use crate::orders::fields::test_support::{delivery, fixture};

/// What the refund fixture gives back: its two lines' 398.00 of revenue, in USD.
fn fixture_refund_in_usd() -> Vec<OrderEvent> {
    vec![OrderEvent::Refunded {
        refund_id: "refund:509562969".into(),
        amount: RefundAmount::Revenue(39_800),
        currency: Some(Currency::parse("USD").unwrap()),
    }]
}

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
    let mut order: Value = serde_json::from_slice(&fixture("shopify_orders_create.json")).unwrap();
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
    let [OrderEvent::Awaiting(facts), OrderEvent::Cancelled { .. }] = d.events.as_slice() else {
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
    assert_eq!(d.events, fixture_refund_in_usd());
}

#[test]
fn unknown_topics_are_ignored_and_broken_bodies_refused() {
    assert_eq!(parse("products/create", "e", b"{}", 0), Ok(Parsed::Ignored));
    assert!(parse("orders/create", "e", b"{\"id\": 1}", 0).is_err());
    assert!(parse("orders/create", "e", b"not json", 0).is_err());
}

fn order_with(changes: &[(&str, Value)]) -> Vec<u8> {
    let mut order: Value = serde_json::from_slice(&fixture("shopify_orders_create.json")).unwrap();
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
    let refund: Value = serde_json::from_slice(&fixture("shopify_refunds_create.json")).unwrap();
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
    assert_eq!(d.events, fixture_refund_in_usd());
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
