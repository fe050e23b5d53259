//! Bodies and settings that do not fit are refused in words that name the field, what was
//! given and what is allowed, never a Rust type or serde's jargon.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// The error message of a refused body, after checking it is a 400 without Rust names.
async fn refused(response: reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    for internal in [
        "variant constructor",
        "untagged enum",
        "DecimalText",
        "CostKind",
        "struct ",
        "u64",
        "i64",
    ] {
        assert!(!message.contains(internal), "{internal} in: {message}");
    }
    message
}

#[tokio::test]
async fn a_cost_of_an_unknown_kind_names_the_field_the_value_and_the_kinds_allowed() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;

    // Act
    let response = app
        .post_json(
            &format!("/api/v1/influencers/{influencer}/costs"),
            &json!({"amount": "40.00", "currency": "USD", "kind": "ads", "date": "2026-11-01"}),
        )
        .await;

    // Assert
    let message = refused(response).await;
    for said in [
        "'kind'",
        "ads",
        "fee",
        "gifted_product",
        "shipping",
        "other",
    ] {
        assert!(message.contains(said), "{said} missing in: {message}");
    }
}

#[tokio::test]
async fn a_wrongly_typed_field_is_named_with_what_was_expected() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;

    // Act
    let float = app
        .post_json(
            &format!("/api/v1/influencers/{influencer}/costs"),
            &json!({"amount": 40.5, "currency": "USD", "kind": "fee", "date": "2026-11-01"}),
        )
        .await;
    let followers = app
        .post_json(
            "/api/v1/influencers",
            &json!({"handle": "bob", "followers": "many"}),
        )
        .await;
    let commission = app
        .post_json(
            "/api/v1/influencers",
            &json!({"handle": "carol", "commission": {"percent": "10", "flat": "5"}}),
        )
        .await;

    // Assert
    let float = refused(float).await;
    assert!(float.contains("'amount'"), "{float}");
    assert!(float.contains("\"40.5\""), "{float}");
    let followers = refused(followers).await;
    assert!(followers.contains("'followers'"), "{followers}");
    assert!(followers.contains("many"), "{followers}");
    let commission = refused(commission).await;
    assert!(commission.contains("commission"), "{commission}");
}

#[tokio::test]
async fn an_unknown_field_is_named_with_the_fields_allowed() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .post_json(
            "/api/v1/influencers",
            &json!({"handle": "bob", "fllowers": 5}),
        )
        .await;

    // Assert
    let message = refused(response).await;
    assert!(message.contains("fllowers"), "{message}");
    assert!(message.contains("followers"), "{message}");
}
