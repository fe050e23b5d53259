//! Limits on hostile input: nesting, header sizes and query strings get a client error, never
//! a crash or a 500, and nothing is stored.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{GENERIC_SECRET, now_secs, spawn_app, timestamped_signature};

/// `[[[ ... ]]]`, `depth` levels deep.
fn nested(depth: usize) -> Vec<u8> {
    let mut body = vec![b'['; depth];
    body.extend(std::iter::repeat_n(b']', depth));
    body
}

#[tokio::test]
async fn deeply_nested_json_gets_400_on_the_admin_api_and_the_webhooks() {
    // Arrange
    let app = spawn_app().await;
    let body = nested(10_000);
    let signature = timestamped_signature(GENERIC_SECRET, &body, now_secs());

    // Act
    let admin = app
        .admin(Method::POST, "/api/v1/influencers")
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let webhook = app
        .webhook(
            "/webhooks/orders",
            &[("x-reftrack-signature", signature)],
            &body,
        )
        .await;

    // Assert
    for response in [admin, webhook] {
        assert_eq!(response.status().as_u16(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let (_, influencers) = app.get_json("/api/v1/influencers").await;
    assert_eq!(influencers["influencers"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn oversized_request_headers_are_refused_and_the_server_keeps_serving() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let huge = app
        .client
        .get(app.url("/healthz"))
        .header("x-padding", "a".repeat(256 * 1024))
        .send()
        .await
        .unwrap();
    let after = app.client.get(app.url("/healthz")).send().await.unwrap();

    // Assert: refused as too large, then business as usual
    assert_eq!(huge.status().as_u16(), 431);
    assert_eq!(after.status().as_u16(), 200);
}

#[tokio::test]
async fn long_or_repeated_query_parameters_get_a_clear_400() {
    // Arrange
    let app = spawn_app().await;
    let long_date = "9".repeat(10_000);

    // Act
    let (long_status, long_body) = app
        .get_json(&format!("/api/v1/reports/influencers?from={long_date}"))
        .await;
    let (unknown_status, unknown_body) = app
        .get_json("/api/v1/reports/influencers?sort=handle;DROP")
        .await;

    // Assert
    assert_eq!(long_status, 400, "{long_body}");
    assert!(long_body["error"]["code"].is_string());
    assert_eq!(unknown_status, 400, "{unknown_body}");
}
