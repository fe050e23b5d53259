//! The webhook endpoints: every fixture signed as its platform signs it, refused signatures,
//! malformed and oversized bodies, ignored topics, retries and Redis outages.

use serde_json::{Value, json};

use crate::helpers::{
    GENERIC_SECRET, STRIPE_SECRET, TestApp, base64_signature, fixture_bytes, fixture_json,
    now_secs, spawn_app, timestamped_signature,
};

fn order_keys(app: &TestApp) -> Vec<String> {
    app.redis.keys("rt:{rt:o:*")
}

async fn status_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_fixture_is_accepted_when_signed_as_its_platform_signs_it() {
    // Arrange
    let app = spawn_app().await;
    let vectors = fixture_json("signature_test_vectors.json");
    let shopify_header = vectors["shopify"][2]["expected"]
        .as_str()
        .unwrap()
        .to_owned();
    let woo_header = vectors["woocommerce"][0]["expected"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act: the published/computed headers, sent with the files' exact bytes
    let created = app
        .webhook(
            "/webhooks/shopify",
            &[
                ("x-shopify-topic", "orders/create".into()),
                ("x-shopify-event-id", "evt-create".into()),
                ("x-shopify-hmac-sha256", shopify_header),
            ],
            &fixture_bytes("shopify_orders_create.json"),
        )
        .await;
    let woo = app
        .webhook(
            "/webhooks/woocommerce",
            &[
                ("x-wc-webhook-topic", "order.created".into()),
                ("x-wc-webhook-delivery-id", "wc-1".into()),
                ("x-wc-webhook-signature", woo_header),
            ],
            &fixture_bytes("woocommerce_order_created.wire.json"),
        )
        .await;
    let refund = app
        .shopify(
            "refunds/create",
            "evt-refund",
            &fixture_bytes("shopify_refunds_create.json"),
        )
        .await;
    let cancelled = app
        .shopify(
            "orders/cancelled",
            "evt-cancel",
            &fixture_bytes("shopify_orders_cancelled_test_notification.json"),
        )
        .await;
    // Stripe's vectors are from 2025, outside the 300 s tolerance: re-signed now, as Stripe
    // signs each delivery when it sends it.
    let session = app
        .stripe(&fixture_bytes("stripe_checkout_session_completed.json"))
        .await;
    let charge = app
        .stripe(&fixture_bytes("stripe_charge_refunded.json"))
        .await;

    // Assert
    for (name, response) in [
        ("shopify order", created),
        ("woocommerce order", woo),
        ("shopify refund", refund),
        ("shopify cancellation", cancelled),
        ("stripe session", session),
        ("stripe refund", charge),
    ] {
        let (status, body) = status_of(response).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("stored")),
            "{name}: {body}"
        );
    }
    assert_eq!(
        order_keys(&app).len(),
        4,
        "two Shopify orders, one Woo, one Stripe"
    );
}

/// A named request: path, headers, body.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, String)>, &'a [u8]);

#[tokio::test]
async fn forged_expired_and_missing_signatures_get_401_and_store_nothing() {
    // Arrange
    let app = spawn_app().await;
    let shopify = fixture_bytes("shopify_orders_create.json");
    let stripe = fixture_bytes("stripe_checkout_session_completed.json");
    let generic = serde_json::to_vec(&json!({
        "event": "order.created", "order_id": "G-1", "amount": "10.00", "currency": "USD"
    }))
    .unwrap();
    let shopify_headers = |signature: Option<String>| {
        let mut h = vec![
            ("x-shopify-topic", "orders/create".to_owned()),
            ("x-shopify-event-id", "e1".to_owned()),
        ];
        h.extend(signature.map(|s| ("x-shopify-hmac-sha256", s)));
        h
    };
    // Ten seconds past the 300 s tolerance: a second that ticks between signing and checking
    // must not turn a refused signature into an accepted one.
    let now = now_secs();
    let cases: Vec<Case> = vec![
        (
            "shopify unsigned",
            "/webhooks/shopify",
            shopify_headers(None),
            &shopify,
        ),
        (
            "shopify forged",
            "/webhooks/shopify",
            shopify_headers(Some(base64_signature("not-the-secret", &shopify))),
            &shopify,
        ),
        (
            "shopify signed over other bytes",
            "/webhooks/shopify",
            shopify_headers(Some(base64_signature(
                crate::helpers::SHOPIFY_SECRET,
                b"{\"id\": 1}",
            ))),
            &shopify,
        ),
        (
            "woocommerce forged",
            "/webhooks/woocommerce",
            vec![
                ("x-wc-webhook-topic", "order.created".into()),
                ("x-wc-webhook-delivery-id", "1".into()),
                ("x-wc-webhook-signature", base64_signature("nope", b"x")),
            ],
            b"{}",
        ),
        (
            "stripe expired",
            "/webhooks/stripe",
            vec![(
                "stripe-signature",
                timestamped_signature(STRIPE_SECRET, &stripe, now - 310),
            )],
            &stripe,
        ),
        (
            "stripe from the future",
            "/webhooks/stripe",
            vec![(
                "stripe-signature",
                timestamped_signature(STRIPE_SECRET, &stripe, now + 310),
            )],
            &stripe,
        ),
        (
            "stripe forged",
            "/webhooks/stripe",
            vec![(
                "stripe-signature",
                timestamped_signature("whsec_other", &stripe, now),
            )],
            &stripe,
        ),
        ("stripe unsigned", "/webhooks/stripe", vec![], &stripe),
        (
            "generic expired",
            "/webhooks/orders",
            vec![(
                "x-reftrack-signature",
                timestamped_signature(GENERIC_SECRET, &generic, now - 3600),
            )],
            &generic,
        ),
        (
            "generic malformed header",
            "/webhooks/orders",
            vec![("x-reftrack-signature", "v1=abc".into())],
            &generic,
        ),
    ];

    for (name, path, headers, body) in cases {
        // Act
        let (status, body) = status_of(app.webhook(path, &headers, body).await).await;

        // Assert
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"]["code"], "invalid_signature", "{name}");
    }
    assert!(order_keys(&app).is_empty(), "{:?}", order_keys(&app));
}

#[tokio::test]
async fn a_signed_but_malformed_body_gets_400_and_an_unknown_topic_200() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let malformed = app.shopify("orders/create", "e1", b"{\"id\": \"x\"}").await;
    let not_json = app
        .generic(
            &json!({"event": "order.created", "order_id": "A", "amount": 1.5, "currency": "USD"}),
        )
        .await;
    let unknown = app.shopify("products/create", "e2", b"{}").await;

    // Assert
    let (status, body) = status_of(malformed).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_payload"))
    );
    let (status, body) = status_of(not_json).await;
    assert_eq!(status, 400, "floats are not money: {body}");
    let (status, body) = status_of(unknown).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ignored")));
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(
            r#"reftrack_webhook_deliveries_total{outcome="ignored",platform="shopify"} 1"#
        ),
        "{metrics}"
    );
    assert!(order_keys(&app).is_empty());
}

#[tokio::test]
async fn bodies_over_one_mebibyte_get_413() {
    // Arrange
    let app = spawn_app().await;
    let mut body = b"{\"pad\": \"".to_vec();
    body.resize(1024 * 1024 + 1, b'a');

    // Act
    let (status, reply) = status_of(app.shopify("orders/create", "e1", &body).await).await;

    // Assert
    assert_eq!(
        (status, reply["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

#[tokio::test]
async fn the_woocommerce_set_up_ping_gets_200_without_a_signature() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let ping = app
        .client
        .post(app.url("/webhooks/woocommerce"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("webhook_id=42")
        .send()
        .await
        .unwrap();
    let unsigned_order = app
        .webhook(
            "/webhooks/woocommerce",
            &[],
            &fixture_bytes("woocommerce_order_created.wire.json"),
        )
        .await;

    // Assert
    assert_eq!(ping.status().as_u16(), 200);
    assert_eq!(unsigned_order.status().as_u16(), 401);
    assert!(order_keys(&app).is_empty());
}

#[tokio::test]
async fn a_retried_delivery_is_answered_200_and_counted_once() {
    // Arrange
    let app = spawn_app().await;
    let body = fixture_bytes("shopify_orders_create.json");

    // Act
    let first = app.shopify("orders/create", "evt-1", &body).await;
    let retry = app.shopify("orders/create", "evt-1", &body).await;
    let paid = app.shopify("orders/paid", "evt-2", &body).await;

    // Assert
    assert_eq!(status_of(first).await.1["status"], "stored");
    assert_eq!(status_of(retry).await.1["status"], "duplicate");
    assert_eq!(status_of(paid).await.1["status"], "stored");
    let row = app.unattributed_row().await;
    assert_eq!(
        row["orders"], 0,
        "the fixture's 2008 order is outside the default report range"
    );
    let orders = app
        .get_json("/api/v1/orders?influencer_id=unattributed&from=2008-01-01&to=2008-12-31")
        .await
        .1;
    assert_eq!(orders["orders"].as_array().unwrap().len(), 1, "{orders}");
    assert_eq!(orders["orders"][0]["revenue"], "398.00");
}

#[tokio::test]
async fn a_delivery_that_cannot_be_stored_gets_503_so_the_shop_retries() {
    // Arrange
    let mut app = spawn_app().await;
    app.redis.kill();

    // Act
    let (status, body) = status_of(
        app.generic(&json!({"event": "order.created", "order_id": "A-1", "amount": "1.00", "currency": "USD"}))
            .await,
    )
    .await;

    // Assert
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("store_unavailable"))
    );
}

#[tokio::test]
async fn a_platform_without_a_secret_refuses_with_503_naming_the_setting() {
    // Arrange
    let app =
        crate::helpers::spawn_app_with(|s| s.webhooks.stripe_secret = String::new().into()).await;

    // Act
    let (status, body) = status_of(
        app.stripe(&fixture_bytes("stripe_checkout_session_completed.json"))
            .await,
    )
    .await;

    // Assert
    assert_eq!(status, 503);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("REFTRACK_WEBHOOKS__STRIPE_SECRET")
    );
}

#[tokio::test]
async fn webhooks_answer_405_to_other_methods_and_404_to_unknown_platforms() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let get = app
        .client
        .get(app.url("/webhooks/shopify"))
        .send()
        .await
        .unwrap();
    let unknown = app.webhook("/webhooks/magento", &[], b"{}").await;

    // Assert
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(unknown.status().as_u16(), 404);
}
