//! Property tests of every parser that takes outside input: whatever arrives, they answer
//! with a value or an error, never a panic, and what they accept is safe to use.

use actix_web::http::header::HeaderValue;
use proptest::prelude::*;
use reftrack::config::Settings;
use reftrack::domain::{
    ClickId, CouponCode, Currency, Destination, IdSpace, LinkCode, MAX_AMOUNT_MINOR, OrderEvent,
    RefundAmount,
};
use reftrack::orders::{
    Parsed, PayloadError, WebhookSecret, generic, shopify, stripe, woocommerce,
};
use serde_json::{Value, json};

/// Arbitrary JSON, a few levels deep, with the field names the shop formats use, so the
/// parsers get past "not JSON" and into their own logic.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        "-?[0-9]{1,12}(\\.[0-9]{0,4})?".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("event".to_owned()),
                    Just("order_id".to_owned()),
                    Just("amount".to_owned()),
                    Just("currency".to_owned()),
                    Just("type".to_owned()),
                    Just("data".to_owned()),
                    Just("object".to_owned()),
                    Just("status".to_owned()),
                    Just("total".to_owned()),
                    Just("subtotal_price".to_owned()),
                    Just("total_price".to_owned()),
                    Just("line_items".to_owned()),
                    Just("refund_line_items".to_owned()),
                    Just("transactions".to_owned()),
                    Just("landing_site".to_owned()),
                    Just("created_at".to_owned()),
                    Just("amount_subtotal".to_owned()),
                    Just("amount_total".to_owned()),
                    Just("payment_intent".to_owned()),
                    ".{0,12}",
                ],
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Everything a parser accepts keeps the bounds of money: no negative or oversized amount
/// ever reaches an order's record.
fn bounded(parsed: Result<Parsed, PayloadError>) -> Result<(), TestCaseError> {
    let Ok(Parsed::Order(delivery)) = parsed else {
        return Ok(());
    };
    let amount = |minor: i64| (0..=MAX_AMOUNT_MINOR).contains(&minor);
    for event in &delivery.events {
        match event {
            OrderEvent::Placed(facts) | OrderEvent::Awaiting(facts) => {
                prop_assert!(amount(facts.revenue) && amount(facts.gross), "{facts:?}");
            }
            OrderEvent::Refunded {
                amount: RefundAmount::Revenue(minor) | RefundAmount::OfGross(minor),
                ..
            } => prop_assert!(amount(*minor), "{event:?}"),
            OrderEvent::RefundedInFull | OrderEvent::Cancelled { .. } => {}
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn destinations_never_panic_and_accepted_ones_are_safe_location_headers(raw in ".{0,300}") {
        if let Ok(destination) = Destination::parse(&raw) {
            let click_id = ClickId::new(IdSpace::random(), 1);
            let target = destination.with_click_id(click_id.as_str());
            prop_assert!(HeaderValue::from_str(&target).is_ok(), "{target:?}");
            prop_assert!(target.starts_with("http://") || target.starts_with("https://"));
            prop_assert!(!target.contains(['\r', '\n']));
        }
    }

    #[test]
    fn codes_ids_coupons_and_currencies_parse_or_refuse(raw in ".{0,80}") {
        if let Ok(code) = LinkCode::parse(&raw) {
            prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        let _ = ClickId::parse(&raw);
        let _ = CouponCode::parse(&raw);
        if let Ok(currency) = Currency::parse(&raw) {
            let _ = currency.signed_amount(&raw);
        }
        let _ = Currency::parse("USD").unwrap().signed_amount(&raw);
    }

    #[test]
    fn webhook_bodies_never_panic_any_parser(value in json_value(), topic in prop_oneof![
        Just("orders/create"), Just("orders/paid"), Just("orders/cancelled"), Just("refunds/create"),
        Just("order.created"), Just("order.updated"), Just("x")]) {
        let body = serde_json::to_vec(&value).unwrap();
        bounded(shopify::parse(topic, "delivery", &body, 0))?;
        bounded(woocommerce::parse(topic, "delivery", &body, 0))?;
        bounded(stripe::parse(&body))?;
        bounded(generic::parse(&body, 0))?;
        let _ = woocommerce::is_ping(&body);
    }

    #[test]
    fn raw_bytes_never_panic_any_parser(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = shopify::parse("orders/create", "d", &body, 0);
        let _ = woocommerce::parse("order.updated", "d", &body, 0);
        let _ = stripe::parse(&body);
        let _ = generic::parse(&body, 0);
    }

    #[test]
    fn shopify_orders_with_any_landing_site_parse_or_refuse(landing in ".{0,200}") {
        let mut order: Value = serde_json::from_slice(
            &std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/shopify_orders_create.json")).unwrap(),
        ).unwrap();
        order["landing_site"] = landing.into();
        let body = serde_json::to_vec(&order).unwrap();
        prop_assert!(shopify::parse("orders/create", "d", &body, 0).is_ok());
    }

    #[test]
    fn signature_headers_never_panic_and_never_verify_by_chance(header in ".{0,200}", body in ".{0,64}") {
        let secret = WebhookSecret::new("secret").unwrap();
        prop_assert!(secret.verify_base64(body.as_bytes(), Some(&header)).is_err());
        prop_assert!(secret.verify_timestamped(body.as_bytes(), Some(&header), 1_700_000_000, 300).is_err());
    }

    #[test]
    fn configuration_values_are_accepted_or_refused_with_the_key_named(
        key in prop_oneof![
            Just("REFTRACK_HTTP__BIND"), Just("REFTRACK_HTTP__WORKERS"), Just("REFTRACK_HTTP__TRUSTED_PROXIES"),
            Just("REFTRACK_REDIS__URL"), Just("REFTRACK_CLICKS__FLUSH_INTERVAL_MS"),
            Just("REFTRACK_REPORTS__TIME_ZONE"), Just("REFTRACK_REPORTS__CURRENCY"),
            Just("REFTRACK_ATTRIBUTION__PRIORITY"), Just("REFTRACK_WEBHOOKS__TOLERANCE_SECS"),
        ],
        value in ".{0,40}",
    ) {
        let result = Settings::load_from(None, [(key.to_owned(), value)]);
        if let Err(e) = result {
            let name = key.trim_start_matches("REFTRACK_").replace("__", ".").to_lowercase();
            let section = name.split('.').next().unwrap().to_owned();
            let message = e.to_string();
            prop_assert!(message.contains(&name) || message.contains(&section) || message.contains(name.split('.').nth(1).unwrap()), "{message}");
        }
    }
}
