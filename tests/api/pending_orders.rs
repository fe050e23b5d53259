//! Orders that arrive before their click's record is in Redis: kept as pending and attributed
//! once, as soon as the click is written (by this replica's flush, another replica's, or the
//! spool's replay after an outage), or as final once the wait ends.

use std::num::NonZero;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{BROWSER, TestApp, spawn_app_with};

fn order(order_id: &str, amount: &str, click_id: &str) -> Value {
    json!({"event": "order.created", "order_id": order_id, "amount": amount,
           "currency": "USD", "click_id": click_id})
}

async fn stored(response: reqwest::Response) -> Value {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls the order list of `owner` until `holds` is true of order `order_key`.
async fn wait_for_order(
    app: &TestApp,
    owner: &str,
    order_key: &str,
    holds: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let orders = app.orders_of(owner).await;
        let found = orders.iter().find(|o| o["order_key"] == order_key);
        if let Some(order) = found.filter(|o| holds(o)) {
            return order.clone();
        }
        assert!(
            Instant::now() < deadline,
            "order {order_key} of {owner} never held: {orders:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn attributed(order: &Value) -> bool {
    order["attribution"]["by"] == "click"
}

/// An influencer with 10% commission and a link, clicked once through `base`.
async fn clicked_via(app: &TestApp, base: &str) -> (String, String) {
    let alice = app.influencer_with("alice", json!({"percent": "10"})).await;
    let code = app.link(&alice, "https://shop.example/p").await;
    let response = app.click_via(base, &code, BROWSER).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let click_id = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "rtclid")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    (alice, click_id)
}

#[tokio::test]
async fn an_order_right_after_its_click_waits_as_pending_and_is_attributed_once() {
    // Arrange: clicks reach Redis only every 2 s, so the order surely comes first
    let app = spawn_app_with(|s| s.clicks.flush_interval_ms = NonZero::new(2000).unwrap()).await;
    let (alice, click_id) = clicked_via(&app, &app.address.clone()).await;

    // Act
    stored(app.generic(&order("P-1", "50.00", &click_id)).await).await;
    let pending = app.orders_of("unattributed").await;
    let row = app.unattributed_row().await;
    let gauge = app.metric("reftrack_pending_orders").await;
    let retried = stored(app.generic(&order("P-1", "50.00", &click_id)).await).await;

    // Assert: pending, counted apart, a retry changes nothing
    assert_eq!(pending[0]["attribution"]["by"], "pending", "{pending:?}");
    assert_eq!(pending[0]["attribution"]["reason"], "awaiting_click");
    assert_eq!(
        (&row["pending_orders"], &row["orders"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(retried["status"], "duplicate");
    assert!(gauge <= 1.0, "{gauge}");
    let order = wait_for_order(&app, &alice, "generic:P-1", attributed).await;
    assert_eq!(order["commission"], "5.00");
    assert_eq!(order["history"][0]["who"], "click_arrived");
    assert_eq!(order["history"][0]["to"], alice);
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        (&row["orders"], &row["revenue"]),
        (&json!(1), &json!("50.00"))
    );
    assert_eq!(row["click_orders"], 1);
    let row = app.unattributed_row().await;
    assert_eq!(
        (&row["pending_orders"], &row["orders"]),
        (&json!(0), &json!(0))
    );
    assert!(app.orders_of("unattributed").await.is_empty());
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.metric("reftrack_pending_orders").await != 0.0 {
        assert!(
            Instant::now() < deadline,
            "the gauge still counts the order"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn an_order_through_another_replica_than_its_click_is_attributed_once() {
    // Arrange: the click is answered by a replica that writes it only every 2 s
    let app = spawn_app_with(|_| {}).await;
    let replica = app
        .replica_with(|s| s.clicks.flush_interval_ms = NonZero::new(2000).unwrap())
        .await;
    let (alice, click_id) = clicked_via(&app, &replica.address).await;

    // Act: the order reaches the first replica (twice, as a shop's retry would)
    stored(app.generic(&order("R-1", "20.00", &click_id)).await).await;
    stored(app.generic(&order("R-1", "20.00", &click_id)).await).await;

    // Assert
    wait_for_order(&app, &alice, "generic:R-1", attributed).await;
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        (&row["orders"], &row["commission"]),
        (&json!(1), &json!("2.00"))
    );
    assert_eq!(app.unattributed_row().await["pending_orders"], 0);
}

#[tokio::test]
async fn an_order_retried_after_an_outage_with_its_click_in_the_spool_is_attributed_once() {
    // Arrange: Redis hangs as the follower clicks, so the click goes to the spool
    let app = spawn_app_with(|s| s.redis.timeout_ms = NonZero::new(200).unwrap()).await;
    let alice = app.influencer_with("alice", json!({"percent": "10"})).await;
    let code = app.link(&alice, "https://shop.example/p").await;
    app.click(&code, BROWSER).await;
    app.wait_for_clicks(&alice, 1).await;
    app.redis.pause();
    let click_id = app.click_id(&code).await;
    let during = app.generic(&order("S-1", "30.00", &click_id)).await;

    // Act: Redis is back; the shop retries at once, while the spool is still replaying
    app.redis.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let retry = app.generic(&order("S-1", "30.00", &click_id)).await;
        if retry.status().is_success() {
            break;
        }
        assert!(Instant::now() < deadline, "the retry kept failing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Assert
    assert!(!during.status().is_success(), "Redis was away");
    wait_for_order(&app, &alice, "generic:S-1", attributed).await;
    let row = app.wait_for_clicks(&alice, 2).await;
    assert_eq!((&row["clicks"], &row["orders"]), (&json!(2), &json!(1)));
    assert_eq!(row["revenue"], "30.00");
    assert_eq!(app.unattributed_row().await["orders"], 0);
}

/// Moves a pending order's wait end into the past, as if `pending_click_hours` had passed.
fn end_wait(app: &TestApp, order_key: &str) {
    let mut redis = app.redis.connection();
    let key = format!("rt:{{rt:o:{order_key}}}");
    let state: String = redis::cmd("HGET")
        .arg(&key)
        .arg("state")
        .query(&mut redis)
        .unwrap();
    let mut state: Value = serde_json::from_str(&state).unwrap();
    state["attribution"]["pending_until_ms"] = json!(1);
    let _: i64 = redis::cmd("HSET")
        .arg(&key)
        .arg("state")
        .arg(state.to_string())
        .query(&mut redis)
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg("rt:{rt:pending}:orders")
        .arg(0)
        .arg(order_key)
        .query(&mut redis)
        .unwrap();
}

#[tokio::test]
async fn a_pending_order_whose_click_never_comes_ends_as_click_not_found_or_by_its_coupon() {
    // Arrange: click ids of reftrack's shape that were never issued
    let app = spawn_app_with(|_| {}).await;
    let bob = app.influencer_with("bob", json!({"percent": "10"})).await;
    let added = app
        .post_json(
            &format!("/api/v1/influencers/{bob}/coupons"),
            &json!({"code": "BOB10"}),
        )
        .await;
    assert_eq!(added.status().as_u16(), 201);
    stored(
        app.generic(&order("N-1", "40.00", "AAAAAAAAAAAAAAAAAAAAA"))
            .await,
    )
    .await;
    let mut with_coupon = order("N-2", "60.00", "BBBBBBBBBBBBBBBBBBBBB");
    with_coupon["coupon"] = "BOB10".into();
    stored(app.generic(&with_coupon).await).await;
    let pending = app.unattributed_row().await;

    // Act
    end_wait(&app, "generic:N-1");
    end_wait(&app, "generic:N-2");

    // Assert: the coupon counted only once the wait ended
    assert_eq!(pending["pending_orders"], 2);
    assert_eq!(app.influencer_row(&bob).await["orders"], 0);
    let lost = wait_for_order(&app, "unattributed", "generic:N-1", |o| {
        o["attribution"]["by"] == "none"
    })
    .await;
    assert_eq!(lost["attribution"]["reason"], "click_not_found");
    assert_eq!(lost["history"][0]["who"], "pending_wait_ended");
    wait_for_order(&app, &bob, "generic:N-2", |o| {
        o["attribution"]["by"] == "coupon"
    })
    .await;
    let row = app.unattributed_row().await;
    assert_eq!(
        (&row["pending_orders"], &row["orders"]),
        (&json!(0), &json!(1))
    );
    let row = app.influencer_row(&bob).await;
    assert_eq!(
        (&row["orders"], &row["coupon_orders"]),
        (&json!(1), &json!(1))
    );
}
