//! A marketer's corrections of attribution, with their history, and orders held for review:
//! coupons leaked to coupon sites, coupon spikes and self-referrals, each with the figures
//! before and after the decision.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn order(order_id: &str, amount: &str) -> Value {
    json!({"event": "order.created", "order_id": order_id, "amount": amount, "currency": "USD"})
}

async fn post_order(app: &TestApp, body: &Value) {
    let response = app.generic(body).await;
    assert_eq!(
        response.status().as_u16(),
        200,
        "{:?}",
        response.text().await
    );
}

/// An influencer with a commission and a coupon.
async fn with_coupon(app: &TestApp, handle: &str, percent: &str, coupon: &str) -> String {
    let id = app
        .influencer_with(handle, json!({"percent": percent}))
        .await;
    let added = app
        .post_json(
            &format!("/api/v1/influencers/{id}/coupons"),
            &json!({"code": coupon}),
        )
        .await;
    assert_eq!(added.status().as_u16(), 201);
    id
}

async fn put_attribution(app: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    let response = app
        .admin(
            reqwest::Method::PUT,
            &format!("/api/v1/orders/{key}/attribution"),
        )
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn review(app: &TestApp, key: &str, decision: &str) -> (u16, Value) {
    let response = app
        .post_json(
            &format!("/api/v1/orders/{key}/review"),
            &json!({"decision": decision, "note": "checked the buyer"}),
        )
        .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn held_queue(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get_json("/api/v1/orders?review=held").await;
    assert_eq!(status, 200, "{body}");
    body["orders"].as_array().unwrap().clone()
}

fn figures(row: &Value) -> [Value; 4] {
    [
        row["orders"].clone(),
        row["commission"].clone(),
        row["held_orders"].clone(),
        row["held_revenue"].clone(),
    ]
}

#[tokio::test]
async fn a_correction_moves_the_figures_once_and_keeps_its_history() {
    // Arrange: an order by alice's coupon; bob earns 20%
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let bob = app.influencer_with("bob", json!({"percent": "20"})).await;
    let mut body = order("C-1", "100.00");
    body["coupon"] = "ALICE10".into();
    post_order(&app, &body).await;
    let before = app.influencer_row(&alice).await;

    // Act
    let change = json!({"influencer_id": bob, "note": "bob's story drove it"});
    let (status, moved) = put_attribution(&app, "generic%3AC-1", &change).await;
    let (again, repeated) = put_attribution(&app, "generic:C-1", &change).await;

    // Assert
    assert_eq!(
        (&before["orders"], &before["commission"]),
        (&json!(1), &json!("10.00"))
    );
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["attribution"]["by"], "manual");
    assert_eq!(moved["attribution"]["influencer_id"], bob);
    assert_eq!(moved["commission"], "20.00", "the new influencer's rule");
    let history = moved["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            &history[0]["from"],
            &history[0]["to"],
            &history[0]["who"],
            &history[0]["note"]
        ),
        (
            &json!(alice),
            &json!(bob),
            &json!("admin"),
            &json!("bob's story drove it")
        )
    );
    assert_eq!(again, 200);
    assert_eq!(
        repeated["history"].as_array().unwrap().len(),
        1,
        "a repeat changes nothing"
    );
    let alice_row = app.influencer_row(&alice).await;
    let bob_row = app.influencer_row(&bob).await;
    assert_eq!(
        (&alice_row["orders"], &alice_row["revenue"]),
        (&json!(0), &json!("0.00"))
    );
    assert_eq!(
        (&bob_row["orders"], &bob_row["commission"]),
        (&json!(1), &json!("20.00"))
    );
    assert!(app.orders_of(&alice).await.is_empty());
    assert_eq!(app.orders_of(&bob).await.len(), 1);

    let (status, _) = put_attribution(&app, "generic:C-1", &json!({"influencer_id": null})).await;
    assert_eq!(status, 200);
    assert_eq!(app.influencer_row(&bob).await["orders"], 0);
    let row = app.unattributed_row().await;
    assert_eq!(
        (&row["orders"], &row["revenue"]),
        (&json!(1), &json!("100.00"))
    );
}

#[tokio::test]
async fn corrections_of_unknown_orders_and_influencers_are_refused() {
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    post_order(&app, &order("C-2", "10.00")).await;

    let (missing, body) =
        put_attribution(&app, "generic:nope", &json!({"influencer_id": alice})).await;
    assert_eq!(
        (missing, &body["error"]["code"]),
        (404, &json!("order_not_found"))
    );
    let (unknown, body) = put_attribution(
        &app,
        "generic:C-2",
        &json!({"influencer_id": "inf_nobody123"}),
    )
    .await;
    assert_eq!(
        (unknown, &body["error"]["code"]),
        (422, &json!("unknown_influencer"))
    );
    let (not_held, body) = review(&app, "generic:C-2", "approve").await;
    assert_eq!(
        (not_held, &body["error"]["code"]),
        (409, &json!("not_held"))
    );
}

#[tokio::test]
async fn concurrent_corrections_of_one_order_leave_it_counted_once() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer_with("alice", json!({"percent": "10"})).await;
    let bob = app.influencer_with("bob", json!({"percent": "10"})).await;
    post_order(&app, &order("C-3", "80.00")).await;

    // Act: twenty corrections race, half to each influencer
    let bodies: Vec<Value> = (0..20)
        .map(|i| json!({"influencer_id": if i % 2 == 0 { &alice } else { &bob }}))
        .collect();
    let tasks = bodies
        .iter()
        .map(|body| put_attribution(&app, "generic:C-3", body));
    let outcomes = futures::future::join_all(tasks).await;

    // Assert
    assert!(
        outcomes.iter().all(|(status, _)| *status == 200),
        "{outcomes:?}"
    );
    let rows = [
        app.influencer_row(&alice).await,
        app.influencer_row(&bob).await,
    ];
    let orders: i64 = rows.iter().map(|r| r["orders"].as_i64().unwrap()).sum();
    assert_eq!(orders, 1, "{rows:?}");
    assert_eq!(app.unattributed_row().await["orders"], 0);
    let listed = app.orders_of(&alice).await.len() + app.orders_of(&bob).await.len();
    assert_eq!(listed, 1);
}

#[tokio::test]
async fn a_coupon_from_a_coupon_site_is_held_until_approved() {
    // Arrange
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let mut body = order("H-1", "70.00");
    body["coupon"] = "alice10".into();
    body["referrer"] = "https://www.RetailMeNot.com/view/shop.example".into();

    // Act
    post_order(&app, &body).await;
    let held = app.influencer_row(&alice).await;
    let queue = held_queue(&app).await;
    let (status, approved) = review(&app, "generic:H-1", "approve").await;

    // Assert
    assert_eq!(
        figures(&held),
        [json!(0), json!("0.00"), json!(1), json!("70.00")]
    );
    assert_eq!(queue.len(), 1);
    assert_eq!(
        queue[0]["attribution"]["flags"],
        json!(["coupon_site_referral"])
    );
    assert_eq!(queue[0]["attribution"]["review"], "held");
    assert_eq!(
        app.orders_of(&alice).await.len(),
        1,
        "listed with its influencer"
    );
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["history"][0]["kind"], "approved");
    let after = app.influencer_row(&alice).await;
    assert_eq!(
        figures(&after),
        [json!(1), json!("7.00"), json!(0), json!("0.00")]
    );
    assert_eq!(after["coupon_orders"], 1);
    assert!(held_queue(&app).await.is_empty());
}

#[tokio::test]
async fn a_self_referral_is_matched_whatever_the_case_and_spaces_and_denied_to_unattributed() {
    // Arrange: the influencer's address, written one way; the buyer's, another
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let set = app
        .patch_json(
            &format!("/api/v1/influencers/{alice}"),
            &json!({"email": "Alice.Bakes@Example.com"}),
        )
        .await;
    assert_eq!(set.status().as_u16(), 200);
    let mut body = order("H-2", "40.00");
    body["coupon"] = "ALICE10".into();
    body["customer_email"] = "  alice.bakes@EXAMPLE.COM\t".into();

    // Act
    post_order(&app, &body).await;
    let held = app.influencer_row(&alice).await;
    let flags = held_queue(&app).await[0]["attribution"]["flags"].clone();
    let (status, denied) = review(&app, "generic:H-2", "deny").await;
    let (repeat, _) = review(&app, "generic:H-2", "deny").await;

    // Assert
    assert_eq!(flags, json!(["self_referral"]));
    assert_eq!(
        figures(&held),
        [json!(0), json!("0.00"), json!(1), json!("40.00")]
    );
    assert_eq!((status, repeat), (200, 200));
    assert_eq!(denied["attribution"]["reason"], "review_denied");
    assert_eq!(denied["history"].as_array().unwrap().len(), 1);
    let after = app.influencer_row(&alice).await;
    assert_eq!(
        figures(&after),
        [json!(0), json!("0.00"), json!(0), json!("0.00")]
    );
    let row = app.unattributed_row().await;
    assert_eq!(
        (&row["orders"], &row["revenue"]),
        (&json!(1), &json!("40.00"))
    );
    assert!(held_queue(&app).await.is_empty());
    for key in app.redis.keys("*") {
        let dump = dump(&app, &key);
        assert!(
            !dump.to_lowercase().contains("alice.bakes@"),
            "{key} keeps an address"
        );
    }
}

/// Every value of a key, as text, to look for what must never be stored.
fn dump(app: &TestApp, key: &str) -> String {
    let mut redis = app.redis.connection();
    let kind: String = redis::cmd("TYPE").arg(key).query(&mut redis).unwrap();
    let value: redis::Value = match kind.as_str() {
        "hash" => redis::cmd("HGETALL").arg(key).query(&mut redis).unwrap(),
        "string" => redis::cmd("GET").arg(key).query(&mut redis).unwrap(),
        _ => redis::Value::Nil,
    };
    format!("{value:?}")
}

#[tokio::test]
async fn a_spike_of_clickless_coupon_orders_is_held_past_the_threshold() {
    // Arrange
    let app = spawn_app_with(|s| s.attribution.coupon_spike_orders = 2).await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;

    // Act: three click-less orders with the coupon today, none before
    for id in ["S-1", "S-2", "S-3"] {
        let mut body = order(id, "10.00");
        body["coupon"] = "ALICE10".into();
        post_order(&app, &body).await;
    }

    // Assert
    let queue = held_queue(&app).await;
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0]["order_key"], "generic:S-3");
    assert_eq!(queue[0]["attribution"]["flags"], json!(["coupon_spike"]));
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        figures(&row),
        [json!(2), json!("2.00"), json!(1), json!("10.00")]
    );
    let (status, _) = review(&app, "generic:S-3", "approve").await;
    assert_eq!(status, 200);
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        figures(&row),
        [json!(3), json!("3.00"), json!(0), json!("0.00")]
    );
}

#[tokio::test]
async fn flags_that_are_not_held_only_mark_the_order() {
    let app = spawn_app_with(|s| s.attribution.held_flags = vec![]).await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let mut body = order("F-1", "10.00");
    body["coupon"] = "ALICE10".into();
    body["referrer"] = "slickdeals.net".into();

    post_order(&app, &body).await;

    let orders = app.orders_of(&alice).await;
    assert_eq!(
        orders[0]["attribution"]["flags"],
        json!(["coupon_site_referral"])
    );
    assert!(orders[0]["attribution"]["review"].is_null());
    assert_eq!(app.influencer_row(&alice).await["orders"], 1);
    assert!(held_queue(&app).await.is_empty());
}

#[tokio::test]
async fn a_correction_without_an_influencer_id_is_refused_and_the_order_stays_where_it_was() {
    // Arrange: alice's order, by her coupon
    let app = spawn_app().await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let mut placed = order("C-3", "40.00");
    placed["coupon"] = "ALICE10".into();
    post_order(&app, &placed).await;

    for body in [json!({"note": "checked with Alice, fine"}), json!({})] {
        // Act
        let (status, answer) = put_attribution(&app, "generic:C-3", &body).await;

        // Assert: 400 naming the field; alice keeps the order
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("'influencer_id' is required"), "{message}");
        assert_eq!(app.orders_of(&alice).await.len(), 1, "{body}");
    }
    let (status, answer) = put_attribution(&app, "generic:C-3", &json!({"influencer_id": 7})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("'influencer_id'"),
        "{answer}"
    );
}

#[tokio::test]
async fn with_an_e_mail_key_configured_self_referrals_are_matched_and_no_key_is_kept_in_redis() {
    // Arrange
    let app = spawn_app_with(|s| {
        s.attribution.email_key = "configured-email-key-0123".to_owned().into();
    })
    .await;
    let alice = with_coupon(&app, "alice", "10", "ALICE10").await;
    let set = app
        .patch_json(
            &format!("/api/v1/influencers/{alice}"),
            &json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(set.status().as_u16(), 200);
    let mut body = order("H-3", "40.00");
    body["coupon"] = "ALICE10".into();
    body["customer_email"] = "alice@example.com".into();

    // Act
    post_order(&app, &body).await;

    // Assert: flagged as before; the key is not in Redis, whose copy would reverse the hashes
    let flags = held_queue(&app).await[0]["attribution"]["flags"].clone();
    assert_eq!(flags, json!(["self_referral"]));
    assert!(
        app.redis.keys("*email_key*").is_empty(),
        "{:?}",
        app.redis.keys("*")
    );
}
