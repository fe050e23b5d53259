//! Attribution of orders to influencers (click, coupon, window), commission, refunds,
//! cancellations, test orders, exactly-once under concurrency, and the figures in reports.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixture_json, spawn_app, spawn_app_with};

const DAY_MS: i64 = 86_400_000;

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An influencer with a commission rule, one link, and a click on it; returns (id, click id).
async fn clicked(app: &TestApp, handle: &str, commission: Value) -> (String, String) {
    let id = app.influencer_with(handle, commission).await;
    let code = app.link(&id, "https://shop.example/p").await;
    let click_id = app.click_id(&code).await;
    (id, click_id)
}

/// When a click was recorded, read back from its record once the flusher has written it.
async fn click_time_ms(app: &TestApp, click_id: &str) -> i64 {
    for _ in 0..500 {
        if let Some((record, _)) = app.click_record(click_id) {
            return record.at_ms;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the click was never written");
}

fn generic_order(order_id: &str, amount: &str) -> Value {
    json!({"event": "order.created", "order_id": order_id, "amount": amount, "currency": "USD"})
}

async fn stored(response: reqwest::Response) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        matches!(body["status"].as_str(), Some("stored" | "duplicate")),
        "{body}"
    );
}

fn shopify_order_with_click(click_id: &str) -> Vec<u8> {
    let mut order = fixture_json("shopify_orders_create.json");
    order["landing_site"] = format!("/products/ipod?utm_source=ig&rtclid={click_id}").into();
    order["created_at"] = rfc3339(Utc::now().timestamp_millis()).into();
    serde_json::to_vec(&order).unwrap()
}

#[tokio::test]
async fn a_shopify_order_from_a_click_earns_the_clicks_influencer_their_commission() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;

    // Act
    stored(
        app.shopify("orders/create", "e1", &shopify_order_with_click(&click_id))
            .await,
    )
    .await;

    // Assert
    let row = app.influencer_row(&alice).await;
    assert_eq!(row["orders"], 1);
    assert_eq!(
        row["revenue"], "398.00",
        "subtotal, before shipping and tax"
    );
    assert_eq!(row["commission"], "39.80");
    assert_eq!(row["net_revenue"], "398.00");
    let orders = app.orders_of(&alice).await;
    assert_eq!(orders.len(), 1);
    let attribution = &orders[0]["attribution"];
    assert_eq!(attribution["by"], "click");
    assert_eq!(attribution["reason"], "click_in_window");
    assert_eq!(attribution["click_id"], click_id.as_str());
    assert_eq!(attribution["commission_rule"], json!({"percent": "10"}));
    assert_eq!(orders[0]["counted"], true);
}

#[tokio::test]
async fn many_concurrent_deliveries_of_one_order_count_once() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"flat": "5.00"})).await;
    click_time_ms(&app, &click_id).await;
    let body = shopify_order_with_click(&click_id);

    // Act: create and paid topics, retries of each, all at once
    let deliveries = (0..40).map(|i| {
        let topic = if i % 2 == 0 {
            "orders/create"
        } else {
            "orders/paid"
        };
        let event = format!("evt-{}", i % 10);
        let app = &app;
        let body = &body;
        async move { app.shopify(topic, &event, body).await.status().as_u16() }
    });
    let statuses = futures::future::join_all(deliveries).await;

    // Assert
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let row = app.influencer_row(&alice).await;
    assert_eq!(row["orders"], 1, "{row}");
    assert_eq!(row["revenue"], "398.00");
    assert_eq!(row["commission"], "5.00", "a flat commission per order");
}

#[tokio::test]
async fn one_order_delivered_to_two_replicas_at_once_counts_once() {
    // Arrange
    let app = spawn_app().await;
    let replica = app.replica().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;
    let body = shopify_order_with_click(&click_id);
    let signature = crate::helpers::base64_signature(crate::helpers::SHOPIFY_SECRET, &body);

    // Act: each delivery goes to both replicas at the same moment
    let deliveries = (0..20).map(|i| {
        let base = if i % 2 == 0 {
            app.address.as_str()
        } else {
            replica.address.as_str()
        };
        let request = app
            .client
            .post(format!("{base}/webhooks/shopify"))
            .header(
                "x-shopify-topic",
                if i % 4 < 2 {
                    "orders/create"
                } else {
                    "orders/paid"
                },
            )
            .header("x-shopify-event-id", format!("evt-{}", i / 2))
            .header("x-shopify-hmac-sha256", &signature)
            .body(body.clone());
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(deliveries).await;

    // Assert
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        (&row["orders"], &row["revenue"], &row["commission"]),
        (&json!(1), &json!("398.00"), &json!("39.80"))
    );
}

#[tokio::test]
async fn a_refund_that_arrives_before_its_order_is_applied_when_the_order_arrives() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;
    let refund =
        json!({"event": "order.refunded", "order_id": "G-7", "amount": "40.00", "currency": "USD"});

    // Act
    stored(app.generic(&refund).await).await;
    let before = app.influencer_row(&alice).await;
    let mut order = generic_order("G-7", "100.00");
    order["click_id"] = click_id.into();
    stored(app.generic(&order).await).await;

    // Assert
    assert_eq!(before["orders"], 0);
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        (
            &row["orders"],
            &row["revenue"],
            &row["refunds"],
            &row["net_revenue"],
            &row["commission"]
        ),
        (
            &json!(1),
            &json!("100.00"),
            &json!("40.00"),
            &json!("60.00"),
            &json!("6.00")
        )
    );
}

#[tokio::test]
async fn partial_refunds_reduce_revenue_and_commission_in_proportion() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;
    let mut order = generic_order("G-1", "100.00");
    order["click_id"] = click_id.into();
    stored(app.generic(&order).await).await;

    // Act: two partial refunds, the first retried
    let first = json!({"event": "order.refunded", "order_id": "G-1", "amount": "25.00", "currency": "USD", "event_id": "r1"});
    let second = json!({"event": "order.refunded", "order_id": "G-1", "amount": "5.00", "currency": "USD", "event_id": "r2"});
    stored(app.generic(&first).await).await;
    stored(app.generic(&first).await).await;
    stored(app.generic(&second).await).await;

    // Assert
    let row = app.influencer_row(&alice).await;
    assert_eq!(row["revenue"], "100.00");
    assert_eq!(row["refunds"], "30.00");
    assert_eq!(row["net_revenue"], "70.00");
    assert_eq!(row["commission"], "7.00");
    assert_eq!(row["orders"], 1);
}

#[tokio::test]
async fn a_cancellation_reverses_the_order_and_a_late_retry_does_not_revive_it() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;
    let body = shopify_order_with_click(&click_id);
    stored(app.shopify("orders/create", "e1", &body).await).await;
    assert_eq!(app.influencer_row(&alice).await["orders"], 1);

    // Act
    let mut cancelled: Value = serde_json::from_slice(&body).unwrap();
    cancelled["cancelled_at"] = rfc3339(Utc::now().timestamp_millis()).into();
    let cancelled = serde_json::to_vec(&cancelled).unwrap();
    stored(app.shopify("orders/cancelled", "e2", &cancelled).await).await;
    stored(app.shopify("orders/paid", "e3", &body).await).await;

    // Assert
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        (&row["orders"], &row["revenue"], &row["commission"]),
        (&json!(0), &json!("0.00"), &json!("0.00"))
    );
    let orders = app.orders_of(&alice).await;
    assert_eq!(orders[0]["status"], "cancelled");
    assert_eq!(orders[0]["counted"], false);
}

#[tokio::test]
async fn test_orders_are_recorded_for_audit_and_never_in_revenue() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;
    let mut order: Value = serde_json::from_slice(&shopify_order_with_click(&click_id)).unwrap();
    order["test"] = true.into();

    // Act
    stored(
        app.shopify("orders/create", "e1", &serde_json::to_vec(&order).unwrap())
            .await,
    )
    .await;

    // Assert
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        (&row["orders"], &row["revenue"]),
        (&json!(0), &json!("0.00"))
    );
    let orders = app.orders_of(&alice).await;
    assert_eq!(
        (&orders[0]["test"], &orders[0]["counted"]),
        (&json!(true), &json!(false))
    );
}

#[tokio::test]
async fn a_click_attributes_up_to_the_windows_edge_and_not_a_moment_after() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    let clicked_at = click_time_ms(&app, &click_id).await;
    let window = 30 * DAY_MS;
    let mut at_edge = generic_order("edge", "10.00");
    at_edge["click_id"] = click_id.clone().into();
    at_edge["occurred_at"] = rfc3339(clicked_at + window).into();
    let mut after = generic_order("after", "20.00");
    after["click_id"] = click_id.clone().into();
    after["occurred_at"] = rfc3339(clicked_at + window + 1).into();
    let mut before = generic_order("before", "30.00");
    before["click_id"] = click_id.into();
    before["occurred_at"] = rfc3339(clicked_at - 300_000 - 1).into();

    // Act
    for order in [&at_edge, &after, &before] {
        stored(app.generic(order).await).await;
    }

    // Assert
    let (_, orders) = app
        .get_json(&format!(
            "/api/v1/orders?influencer_id={alice}&from={}&to={}",
            rfc3339(clicked_at - DAY_MS).get(..10).unwrap(),
            rfc3339(clicked_at + window + DAY_MS).get(..10).unwrap()
        ))
        .await;
    let orders = orders["orders"].as_array().unwrap();
    let of = |id: &str| {
        orders
            .iter()
            .find(|o| o["order_id"] == id)
            .unwrap_or_else(|| panic!("no order {id} in {orders:?}"))
            .clone()
    };
    assert_eq!(of("edge")["counted"], true);
    assert_eq!(of("edge")["attribution"]["by"], "click");
    for late in ["after", "before"] {
        let order = of(late);
        assert_eq!(order["counted"], false, "{order}");
        assert_eq!(order["attribution"]["qualified"], false);
        assert_eq!(order["attribution"]["reason"], "click_outside_window");
    }
}

#[tokio::test]
async fn a_coupon_attributes_case_insensitively_and_belongs_to_one_influencer() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    let added = app
        .post_json(
            &format!("/api/v1/influencers/{alice}/coupons"),
            &json!({"code": "Alice10"}),
        )
        .await;
    let taken = app
        .post_json(
            &format!("/api/v1/influencers/{bob}/coupons"),
            &json!({"code": "ALICE10"}),
        )
        .await;
    let mut order = generic_order("C-1", "50.00");
    order["coupon"] = "aLiCe10".into();

    // Act
    stored(app.generic(&order).await).await;

    // Assert
    assert_eq!(added.status().as_u16(), 201);
    assert_eq!(taken.status().as_u16(), 409);
    let (_, coupons) = app
        .get_json(&format!("/api/v1/influencers/{alice}/coupons"))
        .await;
    assert_eq!(coupons["coupons"], json!(["alice10"]));
    let orders = app.orders_of(&alice).await;
    assert_eq!(orders[0]["attribution"]["by"], "coupon");
    assert_eq!(app.influencer_row(&alice).await["orders"], 1);
}

#[tokio::test]
async fn the_configured_priority_decides_when_click_and_coupon_disagree() {
    for (priority, winner) in [("click", 0), ("coupon", 1)] {
        // Arrange
        let app = spawn_app_with(|s| {
            s.attribution.priority = serde_json::from_value(json!(priority)).unwrap();
        })
        .await;
        let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
        click_time_ms(&app, &click_id).await;
        let bob = app.influencer("bob").await;
        app.post_json(
            &format!("/api/v1/influencers/{bob}/coupons"),
            &json!({"code": "BOB5"}),
        )
        .await;
        let mut order = generic_order("P-1", "10.00");
        order["click_id"] = click_id.into();
        order["coupon"] = "bob5".into();

        // Act
        stored(app.generic(&order).await).await;

        // Assert
        let ids = [alice, bob];
        let orders = app.orders_of(&ids[winner]).await;
        assert_eq!(orders.len(), 1, "priority {priority}");
        assert_eq!(
            orders[0]["attribution"]["overruled"],
            ids[1 - winner].as_str()
        );
        assert_eq!(app.influencer_row(&ids[1 - winner]).await["orders"], 0);
    }
}

#[tokio::test]
async fn unattributed_orders_are_in_the_totals_on_a_row_of_their_own() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;
    let mut attributed = generic_order("A-1", "10.00");
    attributed["click_id"] = click_id.into();
    let mut unknown_click = generic_order("U-1", "5.50");
    unknown_click["click_id"] = "not-a-click-id".into();

    // Act
    stored(app.generic(&attributed).await).await;
    stored(app.generic(&unknown_click).await).await;
    stored(app.generic(&generic_order("U-2", "4.50")).await).await;

    // Assert
    let (_, report) = app.get_json("/api/v1/reports/influencers").await;
    let rows = report["rows"].as_array().unwrap();
    let last = rows.last().unwrap();
    assert!(last["influencer_id"].is_null(), "{report}");
    assert_eq!(
        (&last["orders"], &last["revenue"]),
        (&json!(2), &json!("10.00"))
    );
    assert_eq!(report["totals"]["orders"], 3);
    assert_eq!(report["totals"]["revenue"], "20.00");
    assert_eq!(report["currency"], "USD");
    let orders = app.orders_of("unattributed").await;
    let reasons: Vec<&str> = orders
        .iter()
        .map(|o| o["attribution"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"click_not_found") && reasons.contains(&"no_click_or_coupon"),
        "{reasons:?}"
    );
    assert_eq!(app.influencer_row(&alice).await["orders"], 1);
}

#[tokio::test]
async fn orders_in_another_currency_are_reported_apart_never_summed() {
    // Arrange
    let app = spawn_app().await;
    let mut euros = generic_order("E-1", "30.00");
    euros["currency"] = "EUR".into();

    // Act
    stored(app.generic(&generic_order("D-1", "10.00")).await).await;
    stored(app.generic(&euros).await).await;

    // Assert
    let (_, usd) = app.get_json("/api/v1/reports/influencers").await;
    assert_eq!(usd["totals"]["revenue"], "10.00");
    assert_eq!(
        usd["other_currencies"],
        json!([{"currency": "EUR", "orders": 1, "revenue": "30.00", "refunds": "0.00", "net_revenue": "30.00", "commission": "0.00", "costs": "0.00"}])
    );
    let (_, eur) = app
        .get_json("/api/v1/reports/influencers?currency=eur")
        .await;
    assert_eq!(eur["totals"]["revenue"], "30.00");
    let (status, _) = app
        .get_json("/api/v1/reports/influencers?currency=dollars")
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_live_stripe_checkout_is_attributed_and_its_charge_refund_reverses_it() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "20"})).await;
    click_time_ms(&app, &click_id).await;
    let mut session = fixture_json("stripe_checkout_session_completed.json");
    session["livemode"] = true.into();
    session["data"]["object"]["metadata"]["rtclid"] = click_id.into();
    session["data"]["object"]["created"] = Utc::now().timestamp().into();
    let mut charge = fixture_json("stripe_charge_refunded.json");
    charge["livemode"] = true.into();
    charge["data"]["object"]["amount_refunded"] = 1500.into();

    // Act
    stored(app.stripe(&serde_json::to_vec(&session).unwrap()).await).await;
    let paid = app.influencer_row(&alice).await;
    stored(app.stripe(&serde_json::to_vec(&charge).unwrap()).await).await;

    // Assert
    assert_eq!(
        (&paid["revenue"], &paid["commission"]),
        (&json!("45.00"), &json!("9.00"))
    );
    let row = app.influencer_row(&alice).await;
    assert_eq!(row["refunds"], "15.00", "a third of the payment refunded");
    assert_eq!(row["commission"], "6.00");
}

#[tokio::test]
async fn a_woocommerce_order_with_a_click_id_in_its_meta_data_is_attributed() {
    // Arrange
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;
    let mut order = fixture_json("woocommerce_order_created.json");
    order["meta_data"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": 1, "key": "rtclid", "value": click_id}));
    order["date_created_gmt"] = Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string().into();
    let body = serde_json::to_vec(&order).unwrap();

    // Act
    stored(app.woocommerce("order.created", "d1", &body).await).await;
    order["status"] = "refunded".into();
    let refunded = serde_json::to_vec(&order).unwrap();
    let before_refund = app.influencer_row(&alice).await;
    stored(app.woocommerce("order.updated", "d2", &refunded).await).await;

    // Assert
    assert_eq!(
        before_refund["orders"],
        1,
        "{:?}",
        app.orders_of("unattributed").await
    );
    assert_ne!(before_refund["revenue"], "0.00");
    let row = app.influencer_row(&alice).await;
    assert_eq!(row["net_revenue"], "0.00");
    assert_eq!(row["commission"], "0.00");
}

#[tokio::test]
async fn a_removed_coupon_no_longer_attributes_and_bad_codes_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let coupons = format!("/api/v1/influencers/{alice}/coupons");
    app.post_json(&coupons, &json!({"code": "SPRING"})).await;

    // Act
    let removed = app.delete(&format!("{coupons}/spring")).await;
    let removed_again = app.delete(&format!("{coupons}/spring")).await;
    let blank = app.post_json(&coupons, &json!({"code": "  "})).await;
    let unknown_influencer = app
        .post_json(
            "/api/v1/influencers/inf_nobody/coupons",
            &json!({"code": "X1"}),
        )
        .await;
    let mut order = generic_order("R-1", "12.00");
    order["coupon"] = "SPRING".into();
    stored(app.generic(&order).await).await;

    // Assert
    assert_eq!(removed.status().as_u16(), 204);
    assert_eq!(removed_again.status().as_u16(), 404);
    assert_eq!(blank.status().as_u16(), 400);
    assert_eq!(unknown_influencer.status().as_u16(), 404);
    assert!(app.orders_of(&alice).await.is_empty());
    assert_eq!(app.orders_of("unattributed").await.len(), 1);
}

#[tokio::test]
async fn the_orders_list_lists_everyone_without_an_influencer_and_needs_a_sane_limit() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let everyone = app.get_json("/api/v1/orders").await;
    let bad_id = app.get_json("/api/v1/orders?influencer_id=bob").await;
    let bad_limit = app
        .get_json("/api/v1/orders?influencer_id=unattributed&limit=0")
        .await;
    let bad_range = app
        .get_json("/api/v1/orders?influencer_id=unattributed&from=2026-02-30")
        .await;
    let anonymous = app
        .client
        .get(app.url("/api/v1/orders?influencer_id=unattributed"))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(everyone.0, 200, "{}", everyone.1);
    assert_eq!(everyone.1["orders"], json!([]));
    assert_eq!(bad_id.0, 400);
    assert_eq!(bad_limit.0, 400);
    assert_eq!(bad_range.0, 400);
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test]
async fn an_order_whose_click_record_cannot_be_read_is_attributed_without_it_at_once_and_counted() {
    // Arrange: alice's click, whose record's link number then names no valid code; bob's
    // coupon
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;
    let bob = app.influencer("bob").await;
    let added = app
        .post_json(
            &format!("/api/v1/influencers/{bob}/coupons"),
            &json!({"code": "BOB10"}),
        )
        .await;
    assert_eq!(added.status().as_u16(), 201);
    let mut redis = app.redis.connection();
    let numbers = reftrack::store::Keys::new("rt").link_numbers();
    let registered: Vec<String> = redis::cmd("HKEYS").arg(&numbers).query(&mut redis).unwrap();
    for number in registered {
        let _: () = redis::cmd("HSET")
            .arg(&numbers)
            .arg(number)
            .arg("not a code!")
            .query(&mut redis)
            .map(|_: i64| ())
            .unwrap();
    }
    let mut order = generic_order("D-1", "80.00");
    order["click_id"] = click_id.as_str().into();
    order["coupon"] = "BOB10".into();

    // Act
    stored(app.generic(&order).await).await;

    // Assert: bob's by the coupon, not pending, not alice's; the damage counted
    let orders = app.orders_of(&bob).await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0]["attribution"]["by"], "coupon", "{}", orders[0]);
    assert!(app.orders_of(&alice).await.is_empty());
    assert_eq!(app.influencer_row(&bob).await["orders"], 1);
    let damaged = app
        .metric("reftrack_corrupt_records_total{kind=\"click\"}")
        .await;
    assert!((damaged - 1.0).abs() < f64::EPSILON, "{damaged}");
}

#[tokio::test]
async fn a_partial_refund_in_a_shop_whose_prices_include_tax_takes_back_its_share_of_revenue() {
    // Arrange: 120.00 with 20.00 of VAT in it, so 100.00 of revenue
    let app = spawn_app().await;
    let (alice, click_id) = clicked(&app, "alice", json!({"percent": "10"})).await;
    click_time_ms(&app, &click_id).await;
    let mut order: Value = serde_json::from_slice(&shopify_order_with_click(&click_id)).unwrap();
    for (field, value) in [
        ("subtotal_price", "120.00"),
        ("total_tax", "20.00"),
        ("total_price", "120.00"),
    ] {
        order[field] = value.into();
    }
    order["taxes_included"] = true.into();
    stored(
        app.shopify("orders/create", "t1", &serde_json::to_vec(&order).unwrap())
            .await,
    )
    .await;

    // Act: a refund of one line of 60.00, its 10.00 of VAT in it
    let mut refund = fixture_json("shopify_refunds_create.json");
    let mut line = refund["refund_line_items"][0].clone();
    line["subtotal"] = "60.00".into();
    line["total_tax"] = "10.00".into();
    refund["refund_line_items"] = json!([line]);
    refund["transactions"][0]["amount"] = "60.00".into();
    stored(
        app.shopify(
            "refunds/create",
            "t2",
            &serde_json::to_vec(&refund).unwrap(),
        )
        .await,
    )
    .await;

    // Assert: half the revenue refunded, not 60.00 of 100.00
    let row = app.influencer_row(&alice).await;
    assert_eq!(row["revenue"], "100.00", "{row}");
    assert_eq!(row["refunds"], "50.00", "{row}");
    assert_eq!(row["net_revenue"], "50.00", "{row}");
    assert_eq!(row["commission"], "5.00", "{row}");
}

#[tokio::test]
async fn a_disabled_influencer_is_given_no_new_coupon_as_no_new_link() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let disabled = app.delete(&format!("/api/v1/influencers/{alice}")).await;
    assert_eq!(disabled.status().as_u16(), 200);

    // Act
    let coupon = app
        .post_json(
            &format!("/api/v1/influencers/{alice}/coupons"),
            &json!({"code": "LATE10"}),
        )
        .await;
    let link = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": alice, "destination": "https://shop.example/p"}),
        )
        .await;

    // Assert: both refused alike; the code stays free
    for response in [coupon, link] {
        assert_eq!(response.status().as_u16(), 409);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "influencer_disabled", "{body}");
    }
    let bob = app.influencer("bob").await;
    let taken = app
        .post_json(
            &format!("/api/v1/influencers/{bob}/coupons"),
            &json!({"code": "LATE10"}),
        )
        .await;
    assert_eq!(taken.status().as_u16(), 201);
}
