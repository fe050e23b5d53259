//! ROI reports: costs, commission, refunds, ratios, sorting, CSV, the daily view and links.

use chrono::{Days, Utc};
use serde_json::{Value, json};

use crate::helpers::{BROWSER, TestApp, spawn_app};

fn today() -> String {
    Utc::now().date_naive().to_string()
}

/// An influencer with a commission rule and a link; returns (id, link code).
async fn influencer_with_link(app: &TestApp, handle: &str, commission: Value) -> (String, String) {
    let id = app.influencer_with(handle, commission).await;
    let code = app.link(&id, "https://shop.example/p").await;
    (id, code)
}

async fn order(app: &TestApp, order_id: &str, amount: &str, click_id: &str) {
    let body = json!({"event": "order.created", "order_id": order_id, "amount": amount,
                      "currency": "USD", "click_id": click_id});
    assert_eq!(app.generic(&body).await.status().as_u16(), 200);
}

async fn cost(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    app.post_json(&format!("/api/v1/influencers/{id}/costs"), &body)
        .await
}

#[tokio::test]
async fn the_report_combines_clicks_orders_refunds_commission_and_costs_into_roi() {
    // Arrange
    let app = spawn_app().await;
    let (alice, code) = influencer_with_link(&app, "alice", json!({"percent": "10"})).await;
    let click_id = app.click_id(&code).await;
    app.wait_for_clicks(&alice, 1).await;
    order(&app, "O-1", "100.00", &click_id).await;
    order(&app, "O-2", "50.00", &click_id).await;
    let refund =
        json!({"event": "order.refunded", "order_id": "O-1", "amount": "25.00", "currency": "USD"});
    assert_eq!(app.generic(&refund).await.status().as_u16(), 200);

    // Act
    let fee = cost(&app, &alice, json!({"amount": "20.00", "currency": "USD", "kind": "fee", "date": today(), "note": "story + reel"})).await;
    let gift = cost(
        &app,
        &alice,
        json!({"amount": 30, "currency": "USD", "kind": "gifted_product", "date": today()}),
    )
    .await;

    // Assert
    assert_eq!(fee.status().as_u16(), 201);
    assert_eq!(gift.status().as_u16(), 201);
    let row = app.influencer_row(&alice).await;
    let expected = json!({
        "clicks": 1, "orders": 2, "conversion_rate": 2.0,
        "revenue": "150.00", "refunds": "25.00", "net_revenue": "125.00", "aov": "75.00",
        "commission": "12.50", "costs": "50.00", "total_cost": "62.50", "profit": "62.50",
        "roi": 1.0, "epc": "125.0000", "currency": "USD"
    });
    for (column, value) in expected.as_object().unwrap() {
        assert_eq!(&row[column], value, "{column} in {row}");
    }
}

#[tokio::test]
async fn roi_is_null_when_nothing_was_spent_and_flat_commission_counts_per_order() {
    // Arrange
    let app = spawn_app().await;
    let (free, free_code) = influencer_with_link(&app, "free", json!(null)).await;
    let (flat, flat_code) = influencer_with_link(&app, "flat", json!({"flat": "5.00"})).await;
    let free_click = app.click_id(&free_code).await;
    let flat_click = app.click_id(&flat_code).await;
    app.wait_for_clicks(&free, 1).await;
    app.wait_for_clicks(&flat, 1).await;

    // Act
    order(&app, "F-1", "40.00", &free_click).await;
    order(&app, "P-1", "40.00", &flat_click).await;
    order(&app, "P-2", "60.00", &flat_click).await;

    // Assert
    let free_row = app.influencer_row(&free).await;
    assert_eq!(
        (&free_row["total_cost"], &free_row["roi"]),
        (&json!("0.00"), &Value::Null)
    );
    assert_eq!(free_row["profit"], "40.00");
    let flat_row = app.influencer_row(&flat).await;
    assert_eq!(flat_row["commission"], "10.00");
    assert_eq!(flat_row["roi"], 9.0);
}

#[tokio::test]
async fn costs_are_listed_dated_and_deleted_once() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let last_year = Utc::now()
        .date_naive()
        .checked_sub_days(Days::new(400))
        .unwrap()
        .to_string();
    let kept: Value = cost(
        &app,
        &alice,
        json!({"amount": "12.34", "currency": "USD", "kind": "shipping", "date": today()}),
    )
    .await
    .json()
    .await
    .unwrap();
    let dropped: Value = cost(
        &app,
        &alice,
        json!({"amount": "100", "currency": "USD", "kind": "other", "date": today()}),
    )
    .await
    .json()
    .await
    .unwrap();
    cost(
        &app,
        &alice,
        json!({"amount": "999.00", "currency": "USD", "kind": "fee", "date": last_year}),
    )
    .await;

    // Act
    let path = format!(
        "/api/v1/influencers/{alice}/costs/{}",
        dropped["id"].as_str().unwrap()
    );
    let deleted = app.delete(&path).await;
    let deleted_again = app.delete(&path).await;

    // Assert
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(deleted_again.status().as_u16(), 404);
    let (_, list) = app
        .get_json(&format!("/api/v1/influencers/{alice}/costs"))
        .await;
    let ids: Vec<&str> = list["costs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&kept["id"].as_str().unwrap()));
    assert_eq!(kept["amount"], "12.34");
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        row["costs"], "12.34",
        "last year's cost is outside the 30-day report"
    );
}

#[tokio::test]
async fn bad_costs_are_refused_with_the_field_named() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let cases = [
        (
            json!({"amount": 5.5, "currency": "USD", "kind": "fee", "date": today()}),
            400,
        ),
        (
            json!({"amount": "-5", "currency": "USD", "kind": "fee", "date": today()}),
            400,
        ),
        (
            json!({"amount": "5.001", "currency": "USD", "kind": "fee", "date": today()}),
            400,
        ),
        (
            json!({"amount": "5", "currency": "USD", "kind": "bribe", "date": today()}),
            400,
        ),
        (
            json!({"amount": "5", "currency": "USD", "kind": "fee", "date": "2026-13-01"}),
            400,
        ),
        (
            json!({"amount": "5", "currency": "ZZZ", "kind": "fee", "date": today()}),
            400,
        ),
        (
            json!({"amount": "5", "currency": "USD", "kind": "fee"}),
            400,
        ),
    ];

    for (body, status) in cases {
        // Act
        let response = cost(&app, &alice, body.clone()).await;

        // Assert
        assert_eq!(response.status().as_u16(), status, "{body}");
    }
    let response = cost(
        &app,
        "inf_nobody",
        json!({"amount": "5", "currency": "USD", "kind": "fee", "date": today()}),
    )
    .await;
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn the_report_comes_as_csv_with_the_same_columns() {
    // Arrange
    let app = spawn_app().await;
    let (alice, code) = influencer_with_link(&app, "alice", json!({"percent": "10"})).await;
    let click_id = app.click_id(&code).await;
    app.wait_for_clicks(&alice, 1).await;
    order(&app, "O-1", "80.00", &click_id).await;
    app.influencer("bob").await;

    // Act
    let by_format = app
        .admin(
            reqwest::Method::GET,
            "/api/v1/reports/influencers?format=csv",
        )
        .send()
        .await
        .unwrap();
    let by_accept = app
        .admin(reqwest::Method::GET, "/api/v1/reports/influencers")
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();

    // Assert
    assert!(
        by_format.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = by_format.text().await.unwrap();
    assert_eq!(csv, by_accept.text().await.unwrap());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "influencer_id,handle,clicks,unique_clicks,bot_clicks,suspicious_clicks,suspicious_share,orders,conversion_rate,revenue,refunds,net_revenue,aov,commission,costs,total_cost,profit,roi,epc,currency,click_orders,coupon_orders,held_orders,held_revenue,pending_orders"
    );
    assert_eq!(lines.len(), 4, "alice, bob, unattributed: {csv}");
    assert_eq!(
        lines[1],
        format!(
            "{alice},alice,1,1,0,0,0.0,1,1.0,80.00,0.00,80.00,80.00,8.00,0.00,8.00,72.00,9.0,80.0000,USD,1,0,0,0.00,0"
        )
    );
    assert!(lines[3].starts_with(",,0,0,0,0,,0,,"), "{}", lines[3]);
}

#[tokio::test]
async fn rows_sort_by_any_column_and_unknown_columns_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let (alice, alice_code) = influencer_with_link(&app, "alice", json!({"percent": "50"})).await;
    let (bob, bob_code) = influencer_with_link(&app, "bob", json!({"percent": "10"})).await;
    for _ in 0..3 {
        app.click(&alice_code, BROWSER).await;
    }
    let bob_click = app.click_id(&bob_code).await;
    app.wait_for_clicks(&alice, 3).await;
    app.wait_for_clicks(&bob, 1).await;
    order(&app, "B-1", "10.00", &bob_click).await;

    // Act
    let (_, by_clicks) = app.get_json("/api/v1/reports/influencers").await;
    let (_, by_roi) = app.get_json("/api/v1/reports/influencers?sort=roi").await;
    let (_, by_handle_desc) = app
        .get_json("/api/v1/reports/influencers?sort=handle&order=desc")
        .await;
    let (status, _) = app.get_json("/api/v1/reports/influencers?sort=luck").await;

    // Assert
    let handles = |report: &Value| -> Vec<Value> {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["handle"].clone())
            .collect()
    };
    assert_eq!(
        handles(&by_clicks),
        vec![json!("alice"), json!("bob"), Value::Null]
    );
    assert_eq!(
        handles(&by_roi),
        vec![json!("bob"), json!("alice"), Value::Null],
        "alice's roi is null"
    );
    assert_eq!(
        handles(&by_handle_desc),
        vec![json!("bob"), json!("alice"), Value::Null]
    );
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_daily_report_shows_each_day_of_the_range() {
    // Arrange
    let app = spawn_app().await;
    let (alice, code) = influencer_with_link(&app, "alice", json!({"percent": "10"})).await;
    let click_id = app.click_id(&code).await;
    app.wait_for_clicks(&alice, 1).await;
    order(&app, "D-1", "20.00", &click_id).await;
    let from = Utc::now()
        .date_naive()
        .checked_sub_days(Days::new(6))
        .unwrap();

    // Act
    let (status, report) = app
        .get_json(&format!(
            "/api/v1/reports/influencers/{alice}/daily?from={from}&to={}",
            today()
        ))
        .await;
    let missing = app
        .get_json("/api/v1/reports/influencers/inf_nobody/daily")
        .await;

    // Assert
    assert_eq!(status, 200, "{report}");
    let days = report["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days[0]["date"], from.to_string());
    let last = days.last().unwrap();
    assert_eq!(
        (&last["clicks"], &last["orders"], &last["revenue"]),
        (&json!(1), &json!(1), &json!("20.00"))
    );
    assert!(
        days[..6]
            .iter()
            .all(|d| d["clicks"] == 0 && d["orders"] == 0)
    );
    assert_eq!(report["totals"]["commission"], "2.00");
    assert_eq!(missing.0, 404);
}

#[tokio::test]
async fn a_links_report_shows_the_orders_its_clicks_brought() {
    // Arrange
    let app = spawn_app().await;
    let (alice, first) = influencer_with_link(&app, "alice", json!({"percent": "10"})).await;
    let second = app.link(&alice, "https://shop.example/other").await;
    let click_id = app.click_id(&second).await;
    app.wait_for_clicks(&alice, 1).await;

    // Act
    order(&app, "L-1", "30.00", &click_id).await;

    // Assert
    let (_, report) = app
        .get_json(&format!("/api/v1/reports/links?influencer_id={alice}"))
        .await;
    let row = |code: &str| {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (&row(&second)["orders"], &row(&second)["revenue"]),
        (&json!(1), &json!("30.00"))
    );
    assert_eq!(row(&first)["orders"], 0);
    assert_eq!(
        app.orders_of(&alice).await[0]["attribution"]["link_code"],
        second.as_str()
    );
}
