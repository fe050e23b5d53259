//! The order list: pages by cursor that give every order once, limits and cursors checked,
//! and corrupt records skipped.

use std::collections::HashSet;

use chrono::{Duration, SecondsFormat, Utc};
use reftrack::domain::{OrderKey, Platform};
use reftrack::store::Keys;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// `count` unattributed orders `L-0..`, a third of them at each of three times, so pages
/// end inside runs of orders placed in the same millisecond.
async fn orders(app: &TestApp, count: usize) {
    let base = Utc::now() - Duration::hours(1);
    for i in 0..count {
        let at = base + Duration::seconds(i64::try_from(i % 3).unwrap());
        let body = json!({"event": "order.created", "order_id": format!("L-{i}"),
                          "amount": "1.00", "currency": "USD",
                          "occurred_at": at.to_rfc3339_opts(SecondsFormat::Secs, true)});
        assert_eq!(app.generic(&body).await.status().as_u16(), 200);
    }
}

/// Every page of the unattributed orders at `limit`; returns the order ids in the order
/// listed and the number of pages.
async fn all_pages(app: &TestApp, limit: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let after = cursor
            .as_ref()
            .map_or_else(String::new, |c| format!("&cursor={c}"));
        let path = format!("/api/v1/orders?influencer_id=unattributed&limit={limit}{after}");
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let listed = page["orders"].as_array().unwrap();
        assert!(listed.len() <= limit);
        ids.extend(
            listed
                .iter()
                .map(|o| o["order_id"].as_str().unwrap().to_owned()),
        );
        match &page["next_cursor"] {
            Value::Null => return (ids, pages),
            Value::String(next) => cursor = Some(next.clone()),
            other => panic!("next_cursor is {other}"),
        }
        assert!(pages < 10, "pages never end");
    }
}

#[tokio::test]
async fn pages_of_a_hundred_list_each_of_250_orders_exactly_once() {
    // Arrange
    let app = spawn_app().await;
    orders(&app, 250).await;

    // Act
    let (ids, pages) = all_pages(&app, 100).await;

    // Assert
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 250, "{ids:?}");
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 250, "an order was listed twice");
}

#[tokio::test]
async fn a_corrupt_order_record_is_skipped_and_counted_and_the_rest_are_listed() {
    // Arrange
    let app = spawn_app().await;
    orders(&app, 30).await;
    let record = Keys::new("rt").order(&OrderKey::new(Platform::Generic, "L-7"));
    let mut redis = app.redis.connection();
    let _: () = redis::cmd("HSET")
        .arg(&record)
        .arg("state")
        .arg("{not an order")
        .query(&mut redis)
        .unwrap();
    let metric = r#"reftrack_corrupt_records_total{kind="order"}"#;
    let before = app.metric(metric).await;

    // Act
    let (ids, _) = all_pages(&app, 10).await;

    // Assert
    assert_eq!(ids.len(), 29);
    assert!(!ids.contains(&"L-7".to_owned()));
    assert!(app.metric(metric).await > before);
}

#[tokio::test]
async fn bad_limits_and_cursors_get_a_400_naming_the_parameter() {
    // Arrange
    let app = spawn_app().await;
    let list = "/api/v1/orders?influencer_id=unattributed";

    // Act and assert
    for (query, code, named) in [
        ("&limit=0", "invalid_limit", "limit"),
        ("&limit=1001", "invalid_limit", "limit"),
        ("&limit=ten", "invalid_limit", "limit"),
        ("&cursor=not-a-cursor", "invalid_cursor", "cursor"),
        ("&cursor=djE6MTo", "invalid_cursor", "cursor"),
    ] {
        let (status, body) = app.get_json(&format!("{list}{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(named), "{query}: {message}");
    }
}
