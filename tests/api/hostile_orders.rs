//! Signed but hostile, odd or out-of-order deliveries: each one a class of input that once
//! corrupted figures, panicked a worker, or half-applied. Whatever arrives, figures stay true,
//! bad input gets a 400 that names the field, and nothing is applied in part.

use chrono::{SecondsFormat, Utc};
use reftrack::domain::{Bucket, Currency};
use reftrack::store::keys::field;
use reftrack::store::{Keys, Owner};
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixture_json, spawn_app};

async fn status_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Asserts a delivery was answered 200.
async fn accepted(response: reqwest::Response) {
    let (status, body) = status_of(response).await;
    assert_eq!(status, 200, "{body}");
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An influencer earning `percent` with a coupon code of their own.
async fn with_coupon(app: &TestApp, handle: &str, percent: &str, coupon: &str) -> String {
    let id = app
        .influencer_with(handle, json!({ "percent": percent }))
        .await;
    let response = app
        .post_json(
            &format!("/api/v1/influencers/{id}/coupons"),
            &json!({ "code": coupon }),
        )
        .await;
    assert!(response.status().is_success(), "coupon added");
    id
}

fn generic(event: &str, order_id: &str, amount: &str, currency: &str) -> Value {
    json!({"event": event, "order_id": order_id, "amount": amount, "currency": currency,
           "occurred_at": now_rfc3339()})
}

/// The fixture order as created now, with a coupon.
fn shopify_order(coupon: &str) -> Value {
    let mut order = fixture_json("shopify_orders_create.json");
    order["created_at"] = now_rfc3339().into();
    order["discount_codes"] = json!([{ "code": coupon, "amount": "0.00", "type": "fixed_amount" }]);
    order
}

fn woo_order(status: &str, line_total: &str, coupon: &str) -> Value {
    let mut order = fixture_json("woocommerce_order_created.json");
    order["status"] = status.into();
    order["date_created_gmt"] = Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string().into();
    order["line_items"] = json!([{ "id": 1, "total": line_total }]);
    order["coupon_lines"] = json!([{ "id": 1, "code": coupon }]);
    order["refunds"] = json!([]);
    order
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// The figures of an influencer's report row that orders move.
async fn figures(app: &TestApp, influencer: &str) -> Value {
    let row = app.influencer_row(influencer).await;
    json!([
        row["orders"],
        row["revenue"],
        row["refunds"],
        row["commission"]
    ])
}

#[tokio::test]
async fn a_signed_order_resent_under_the_cancelled_topic_is_refused_and_cancels_nothing() {
    // Arrange
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let body = bytes(&shopify_order("ALICE10"));
    accepted(app.shopify("orders/create", "e1", &body).await).await;

    // Act
    let (status, error) = status_of(app.shopify("orders/cancelled", "e2", &body).await).await;

    // Assert
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "topic_mismatch");
    assert_eq!(
        figures(&app, &alice).await,
        json!([1, "398.00", "0.00", "39.80"])
    );
    let refused = app
        .metric(r#"reftrack_webhook_deliveries_total{outcome="topic_mismatch",platform="shopify"}"#)
        .await;
    assert!((refused - 1.0).abs() < f64::EPSILON, "{refused}");
}

#[tokio::test]
async fn a_woocommerce_order_attributed_while_pending_earns_on_the_amount_it_was_placed_at() {
    // Arrange
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "alice10").await;
    let pending = woo_order("pending", "500.00", "alice10");
    accepted(
        app.woocommerce("order.created", "1", &bytes(&pending))
            .await,
    )
    .await;

    // Act
    let placed = woo_order("processing", "40.00", "alice10");
    accepted(app.woocommerce("order.updated", "2", &bytes(&placed)).await).await;

    // Assert
    assert_eq!(
        figures(&app, &alice).await,
        json!([1, "40.00", "0.00", "4.00"])
    );
    let orders = app.orders_of(&alice).await;
    assert_eq!(orders[0]["commission"], "4.00");
    assert_eq!(
        orders[0]["attribution"]["commission_at_attribution"],
        "4.00"
    );
}

#[tokio::test]
async fn negative_amounts_in_signed_bodies_are_refused_naming_the_field_and_listing_still_works() {
    // Arrange
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let mut shopify = shopify_order("ALICE10");
    shopify["subtotal_price"] = "-10.00".into();
    let woo = woo_order("processing", "-40.00", "ALICE10");
    let refund = generic("order.refunded", "G-1", "-5.00", "USD");

    // Act
    let answers = [
        status_of(app.shopify("orders/create", "e1", &bytes(&shopify)).await).await,
        status_of(app.woocommerce("order.created", "1", &bytes(&woo)).await).await,
        status_of(app.generic(&refund).await).await,
    ];

    // Assert
    for ((status, body), field) in
        answers
            .iter()
            .zip(["subtotal_price", "line_items.total", "amount"])
    {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["error"]["code"], "malformed_payload");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(field) && message.contains("negative"),
            "{message}"
        );
    }
    assert!(app.orders_of(&alice).await.is_empty());
    assert_eq!(
        figures(&app, &alice).await,
        json!([0, "0.00", "0.00", "0.00"])
    );
}

#[tokio::test]
async fn amounts_and_rates_beyond_their_bounds_are_refused_with_what_is_allowed() {
    // Arrange
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let mut huge = generic("order.created", "G-1", "46116860184273879.04", "USD");
    huge["coupon"] = "ALICE10".into();
    let mut exponent = generic("order.created", "G-2", "1e3", "USD");
    exponent["coupon"] = "ALICE10".into();

    // Act
    let huge = status_of(app.generic(&huge).await).await;
    let exponent = status_of(app.generic(&exponent).await).await;
    let percent = app
        .post_json(
            "/api/v1/influencers",
            &json!({"handle": "bob", "commission": {"percent": "7900000000000000000000000000"}}),
        )
        .await;
    let cost = app
        .post_json(
            &format!("/api/v1/influencers/{alice}/costs"),
            &json!({"kind": "fee", "amount": "1e3", "currency": "USD", "date": "2026-11-01"}),
        )
        .await;

    // Assert
    assert_eq!(huge.0, 400, "{}", huge.1);
    assert!(
        huge.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1000000000000 minor units")
    );
    assert_eq!(exponent.0, 400, "{}", exponent.1);
    assert!(
        exponent.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("plain decimal")
    );
    let (status, body) = status_of(percent).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("between 0 and 100"),
        "{body}"
    );
    let (status, body) = status_of(cost).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_amount")),
        "{body}"
    );
    assert_eq!(
        figures(&app, &alice).await,
        json!([0, "0.00", "0.00", "0.00"])
    );
}

#[tokio::test]
async fn an_order_that_would_overflow_a_counter_changes_nothing_however_often_it_is_retried() {
    // Arrange: the month's revenue counter of unattributed orders is near its bound.
    let app = spawn_app().await;
    let usd = Currency::parse("USD").unwrap();
    let today = Utc::now().date_naive();
    let [day, month, _year] = Bucket::containing(today);
    let counts = Keys::new("rt").counts(Owner::Unattributed);
    let mut redis = app.redis.connection();
    let near_bound = (1_i64 << 62) - 10;
    let _: () = redis::cmd("HSET")
        .arg(&counts)
        .arg(field::revenue(usd, month))
        .arg(near_bound)
        .query(&mut redis)
        .unwrap();
    let order = generic("order.created", "G-1", "100.00", "USD");

    // Act
    let first = app.generic(&order).await.status().as_u16();
    let retry = app.generic(&order).await.status().as_u16();

    // Assert: refused as a store failure (the shop retries), and not one counter moved.
    assert_eq!((first, retry), (503, 503));
    let day_orders: Option<i64> = redis::cmd("HGET")
        .arg(&counts)
        .arg(field::orders(usd, day))
        .query(&mut redis)
        .unwrap();
    let month_revenue: i64 = redis::cmd("HGET")
        .arg(&counts)
        .arg(field::revenue(usd, month))
        .query(&mut redis)
        .unwrap();
    assert_eq!((day_orders, month_revenue), (None, near_bound));
}

#[tokio::test]
async fn a_refund_in_another_currency_is_refused_for_the_generic_format_and_kept_apart_for_shops() {
    // Arrange
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let mut order = generic("order.created", "G-1", "30000", "JPY");
    order["coupon"] = "ALICE10".into();
    accepted(app.generic(&order).await).await;
    let mut stripe = fixture_json("stripe_checkout_session_completed.json");
    stripe["livemode"] = true.into();
    stripe["data"]["object"]["metadata"]["coupon"] = "ALICE10".into();
    stripe["data"]["object"]["created"] = Utc::now().timestamp().into();
    accepted(app.stripe(&bytes(&stripe)).await).await;
    let mut refund = fixture_json("stripe_charge_refunded.json");
    refund["livemode"] = true.into();
    refund["data"]["object"]["currency"] = "eur".into();

    // Act
    let generic_refund = status_of(
        app.generic(&generic("order.refunded", "G-1", "3000", "USD"))
            .await,
    )
    .await;
    let generic_cancel = status_of(
        app.generic(&json!({"event": "order.cancelled", "order_id": "G-1", "currency": "USD"}))
            .await,
    )
    .await;
    let shop_refund = status_of(app.stripe(&bytes(&refund)).await).await;

    // Assert
    for (status, body) in [&generic_refund, &generic_cancel] {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["error"]["code"], "currency_mismatch");
        assert!(body["error"]["message"].as_str().unwrap().contains("JPY"));
    }
    assert_eq!(shop_refund.0, 200, "{}", shop_refund.1);
    let report = app
        .get_json("/api/v1/reports/influencers?currency=JPY")
        .await
        .1;
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["influencer_id"] == alice.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (&row["revenue"], &row["refunds"]),
        (&json!("30000"), &json!("0"))
    );
    assert_eq!(
        figures(&app, &alice).await,
        json!([1, "45.00", "0.00", "4.50"])
    );
    let kept_apart = app
        .metric(r#"reftrack_refunds_other_currency_total{platform="stripe"}"#)
        .await;
    assert!((kept_apart - 1.0).abs() < f64::EPSILON, "{kept_apart}");
}

#[tokio::test]
async fn a_live_order_that_follows_a_test_order_with_the_same_id_counts() {
    // Arrange
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let mut test = generic("order.created", "G-1", "100.00", "USD");
    test["coupon"] = "ALICE10".into();
    test["test"] = true.into();
    let mut shopify_test = fixture_json("shopify_orders_cancelled_test_notification.json");
    shopify_test["discount_codes"] = json!([{ "code": "ALICE10" }]);
    accepted(app.generic(&test).await).await;
    let body = bytes(&shopify_test);
    accepted(app.shopify("orders/cancelled", "t1", &body).await).await;

    // Act
    let mut live = test.clone();
    live["test"] = false.into();
    accepted(app.generic(&live).await).await;
    let mut shopify_live = shopify_order("ALICE10");
    shopify_live["id"] = shopify_test["id"].clone();
    let body = bytes(&shopify_live);
    accepted(app.shopify("orders/create", "l1", &body).await).await;

    // Assert
    assert_eq!(
        figures(&app, &alice).await,
        json!([2, "498.00", "0.00", "49.80"])
    );
    let keys: Vec<String> = app
        .orders_of(&alice)
        .await
        .iter()
        .map(|o| o["order_key"].as_str().unwrap().to_owned())
        .collect();
    for key in [
        "generic:G-1",
        "test:generic:G-1",
        "shopify:820982911946154508",
    ] {
        assert!(keys.contains(&key.to_owned()), "{key} in {keys:?}");
    }
}

#[tokio::test]
async fn an_order_cancelled_before_its_creation_arrives_is_listed_and_counts_nothing() {
    // Arrange
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let cancel = json!({"event": "order.cancelled", "order_id": "G-9"});
    let mut create = generic("order.created", "G-9", "25.00", "USD");
    create["coupon"] = "ALICE10".into();

    // Act
    accepted(app.generic(&cancel).await).await;
    accepted(app.generic(&create).await).await;

    // Assert
    let orders = app.orders_of(&alice).await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(
        (
            &orders[0]["status"],
            &orders[0]["counted"],
            &orders[0]["revenue"]
        ),
        (&json!("cancelled"), &json!(false), &json!("25.00"))
    );
    assert_eq!(
        figures(&app, &alice).await,
        json!([0, "0.00", "0.00", "0.00"])
    );
}

#[tokio::test]
async fn signature_timestamps_at_the_ends_of_the_integers_are_refused_as_expired() {
    // Arrange
    let app = spawn_app().await;
    let body = bytes(&generic("order.created", "G-1", "1.00", "USD"));

    for t in [i64::MIN, Utc::now().timestamp() - i64::MAX, i64::MAX] {
        // Act
        let header =
            crate::helpers::timestamped_signature(crate::helpers::GENERIC_SECRET, &body, t);
        let (status, error) = status_of(
            app.webhook(
                "/webhooks/orders",
                &[("x-reftrack-signature", header)],
                &body,
            )
            .await,
        )
        .await;

        // Assert
        assert_eq!(status, 401, "{t}: {error}");
        assert_eq!(error["error"]["code"], "invalid_signature");
    }
}

#[tokio::test]
async fn a_signature_topic_or_delivery_header_sent_twice_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let body = bytes(&shopify_order("ALICE10"));
    let signature = crate::helpers::base64_signature(crate::helpers::SHOPIFY_SECRET, &body);
    let single = [
        ("x-shopify-topic", "orders/create".to_owned()),
        ("x-shopify-event-id", "e1".to_owned()),
        ("x-shopify-hmac-sha256", signature.clone()),
    ];

    for twice in [
        "x-shopify-topic",
        "x-shopify-event-id",
        "x-shopify-hmac-sha256",
    ] {
        // Act
        let mut headers = single.to_vec();
        let value = if twice == "x-shopify-topic" {
            "orders/cancelled".to_owned()
        } else {
            single.iter().find(|(n, _)| *n == twice).unwrap().1.clone()
        };
        headers.push((twice, value));
        let (status, error) =
            status_of(app.webhook("/webhooks/shopify", &headers, &body).await).await;

        // Assert
        assert_eq!(status, 400, "{twice}: {error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("more than once"),
            "{error}"
        );
    }
    assert!(app.orders_of("unattributed").await.is_empty());
}

#[tokio::test]
async fn a_damaged_order_record_is_never_folded_into_and_is_counted() {
    // Arrange: an order stored, then its record damaged outside reftrack
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let mut order = generic("order.created", "G-1", "10.00", "USD");
    order["coupon"] = "ALICE10".into();
    accepted(app.generic(&order).await).await;
    let key = Keys::new("rt").order(&reftrack::domain::OrderKey::new(
        reftrack::domain::Platform::Generic,
        "G-1",
    ));
    let mut redis = app.redis.connection();
    let state: String = redis::cmd("HGET")
        .arg(&key)
        .arg("state")
        .query(&mut redis)
        .unwrap();
    let damaged = state.replace("\"revenue\":1000", "\"revenue\":-1000");
    assert_ne!(damaged, state);
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("state")
        .arg(&damaged)
        .query(&mut redis)
        .unwrap();

    // Act
    let refund = status_of(
        app.generic(&generic("order.refunded", "G-1", "5.00", "USD"))
            .await,
    )
    .await;

    // Assert
    assert_eq!(refund.0, 500, "{}", refund.1);
    assert_eq!(refund.1["error"]["code"], "internal");
    assert_eq!(
        figures(&app, &alice).await,
        json!([1, "10.00", "0.00", "1.00"])
    );
    let counted = app
        .metric(r#"reftrack_corrupt_records_total{kind="order"}"#)
        .await;
    assert!(counted >= 1.0, "{counted}");
}

#[tokio::test]
async fn a_woocommerce_order_whose_payment_failed_counts_once_it_is_paid() {
    // Arrange
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "alice10").await;
    let failed = woo_order("failed", "40.00", "alice10");
    accepted(app.woocommerce("order.updated", "1", &bytes(&failed)).await).await;

    // Act
    let paid = woo_order("processing", "40.00", "alice10");
    accepted(app.woocommerce("order.updated", "2", &bytes(&paid)).await).await;

    // Assert
    assert_eq!(
        figures(&app, &alice).await,
        json!([1, "40.00", "0.00", "4.00"])
    );
}

#[tokio::test]
async fn a_commission_of_the_wrong_shape_is_explained_without_rust_type_names() {
    // Arrange
    let app = spawn_app().await;

    for commission in [
        json!({"percent": 1.5}),
        json!({"percent": "10", "flat": "5"}),
        json!({"percent": "10.0000000000000000000000000000001"}),
        json!(5),
        json!({"bonus": "5"}),
    ] {
        // Act
        let response = app
            .post_json(
                "/api/v1/influencers",
                &json!({"handle": "bob", "commission": commission}),
            )
            .await;
        let (status, body) = status_of(response).await;

        // Assert
        assert_eq!(status, 400, "{commission}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        for rust in [
            "untagged",
            "enum",
            "struct",
            "variant",
            "Fields",
            "DecimalText",
            "i64",
            "u64",
        ] {
            assert!(!message.contains(rust), "{commission}: {message}");
        }
    }
}
