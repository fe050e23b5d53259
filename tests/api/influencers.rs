use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn creating_an_influencer_returns_201_with_an_id() {
    // Arrange
    let app = spawn_app().await;
    let body = json!({
        "handle": "@Alice.Bakes", "name": "Alice", "platform": "instagram",
        "followers": 12000, "commission": {"percent": "12.5"}
    });

    // Act
    let response = app.post_json("/api/v1/influencers", &body).await;

    // Assert
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.unwrap();
    assert!(created["id"].as_str().unwrap().starts_with("inf_"));
    assert_eq!(created["handle"], "alice.bakes");
    assert_eq!(created["commission"], json!({"percent": "12.5"}));
    assert_eq!(created["followers"], 12000);
    let (status, fetched) = app
        .get_json(&format!(
            "/api/v1/influencers/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn handles_are_unique_whatever_their_case() {
    let app = spawn_app().await;
    app.influencer("alice").await;

    let response = app
        .post_json("/api/v1/influencers", &json!({"handle": "@ALICE"}))
        .await;

    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "handle_taken"
    );
}

#[tokio::test]
async fn influencers_can_be_listed_updated_and_disabled() {
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    let path = format!("/api/v1/influencers/{alice}");

    let updated: Value = app
        .patch_json(
            &path,
            &json!({"handle": "alice2", "commission": {"flat": "5.00"}, "name": "Alice B"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let cleared: Value = app
        .patch_json(&path, &json!({"name": null}))
        .await
        .json()
        .await
        .unwrap();
    let disabled = app.delete(&path).await;
    let (_, listed) = app.get_json("/api/v1/influencers").await;
    let reuse_old_handle = app
        .post_json("/api/v1/influencers", &json!({"handle": "alice"}))
        .await;
    let take_bobs = app.patch_json(&path, &json!({"handle": "bob"})).await;

    assert_eq!(updated["handle"], "alice2");
    assert_eq!(updated["commission"], json!({"flat": "5.00"}));
    assert_eq!(updated["name"], "Alice B");
    assert_eq!(cleared["name"], Value::Null);
    assert_eq!(cleared["handle"], "alice2");
    assert_eq!(disabled.status().as_u16(), 200);
    let ids: Vec<&str> = listed["influencers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [alice.as_str(), bob.as_str()]);
    assert_eq!(listed["influencers"][0]["disabled"], true);
    assert_eq!(reuse_old_handle.status().as_u16(), 201);
    assert_eq!(take_bobs.status().as_u16(), 409);
}

#[tokio::test]
async fn unknown_and_malformed_influencer_ids_are_404_and_400() {
    let app = spawn_app().await;

    let (unknown, body) = app.get_json("/api/v1/influencers/inf_nobody").await;
    let (malformed, _) = app.get_json("/api/v1/influencers/alice").await;

    assert_eq!(unknown, 404);
    assert_eq!(body["error"]["code"], "influencer_not_found");
    assert_eq!(malformed, 400);
}

#[tokio::test]
async fn bad_influencer_bodies_get_a_clear_400() {
    let app = spawn_app().await;
    let cases = [
        (json!({"handle": ""}), "invalid_handle"),
        (json!({"handle": "has space"}), "invalid_handle"),
        (
            json!({"handle": "a", "commission": {"percent": "150"}}),
            "invalid_commission",
        ),
        (
            json!({"handle": "a", "commission": {"flat": "1.005"}}),
            "invalid_commission",
        ),
        (
            json!({"handle": "a", "commission": {"flat": 5.5}}),
            "invalid_json",
        ),
        (json!({"handle": "a", "followers": -3}), "invalid_field"),
        (
            json!({"handle": "a", "name": "bad\u{0007}name"}),
            "invalid_field",
        ),
        (json!({"handle": "a", "surprise": true}), "invalid_json"),
        (json!({"name": "no handle"}), "invalid_json"),
    ];

    for (body, code) in cases {
        let response = app.post_json("/api/v1/influencers", &body).await;
        assert_eq!(response.status().as_u16(), 400, "{body}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"]["code"],
            code,
            "{body}"
        );
    }
    let (_, listed) = app.get_json("/api/v1/influencers").await;
    assert_eq!(listed["influencers"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_requests_are_client_errors() {
    let app = spawn_app().await;
    let send = |body: Vec<u8>, content_type: &'static str| {
        app.admin(Method::POST, "/api/v1/influencers")
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let malformed = send(b"{\"handle\": ".to_vec(), "application/json")
        .await
        .unwrap();
    let oversized = send(vec![b' '; 100 * 1024], "application/json")
        .await
        .unwrap();
    let mistyped = send(
        b"handle=alice".to_vec(),
        "application/x-www-form-urlencoded",
    )
    .await
    .unwrap();
    let wrong_method = app
        .admin(Method::PUT, "/api/v1/influencers")
        .send()
        .await
        .unwrap();
    let no_route = app
        .admin(Method::GET, "/api/v1/nothing")
        .send()
        .await
        .unwrap();

    assert_eq!(malformed.status().as_u16(), 400);
    assert_eq!(oversized.status().as_u16(), 413);
    assert_eq!(mistyped.status().as_u16(), 415);
    assert_eq!(wrong_method.status().as_u16(), 405);
    assert_eq!(no_route.status().as_u16(), 404);
    // The server answers 413 before reading the body and closes the connection, so only
    // its headers are certain to arrive while the client is still sending.
    assert_eq!(oversized.headers()["content-type"], "application/json");
    for response in [malformed, mistyped, wrong_method, no_route] {
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn an_impossible_follower_count_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let id = app.influencer("alice").await;

    // Act
    let created = app
        .post_json(
            "/api/v1/influencers",
            &json!({"handle": "bob", "followers": 10_000_000_001_u64}),
        )
        .await;
    let patched = app
        .patch_json(
            &format!("/api/v1/influencers/{id}"),
            &json!({"followers": 9_223_372_036_854_775_808_u64}),
        )
        .await;

    // Assert
    assert_eq!(created.status().as_u16(), 400);
    assert_eq!(patched.status().as_u16(), 400);
    let (_, alice) = app.get_json(&format!("/api/v1/influencers/{id}")).await;
    assert!(alice["followers"].is_null(), "unchanged: {alice}");
    // Past what a u64 holds, negative or not whole: the same range, and what was given
    for (given, shown) in [
        (json!(99_999_999_999_999_999_999.0_f64), "1e+20"),
        (json!(-1), "-1"),
        (json!(1.5), "1.5"),
    ] {
        let response = app
            .patch_json(
                &format!("/api/v1/influencers/{id}"),
                &json!({"followers": given}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 400);
        let body: serde_json::Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("from 0 to 10000000000") && message.contains(shown),
            "{given}: {message}"
        );
    }
}
