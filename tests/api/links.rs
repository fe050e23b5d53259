use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn creating_a_link_returns_its_code_and_short_url() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let campaign = app
        .campaign(&json!({"name": "Summer 24", "currency": "USD"}))
        .await;

    // Act
    let response = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": influencer, "destination": "https://shop.example/p", "campaign_id": campaign}),
        )
        .await;

    // Assert
    assert_eq!(response.status().as_u16(), 201);
    let link: Value = response.json().await.unwrap();
    let code = link["code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()), "{code}");
    assert_eq!(link["short_url"], format!("{}/{code}", app.address));
    assert_eq!(link["destination"], "https://shop.example/p");
    assert_eq!(link["campaign_id"], campaign.as_str());
    let (status, fetched) = app.get_json(&format!("/api/v1/links/{code}")).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, link);
}

#[tokio::test]
async fn a_custom_code_is_used_when_free_and_refused_when_taken() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let body = json!({"influencer_id": influencer, "destination": "https://shop.example/", "code": "alice-summer"});

    let first = app.post_json("/api/v1/links", &body).await;
    let second = app.post_json("/api/v1/links", &body).await;

    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(first.json::<Value>().await.unwrap()["code"], "alice-summer");
    assert_eq!(second.status().as_u16(), 409);
    assert_eq!(
        second.json::<Value>().await.unwrap()["error"]["code"],
        "code_taken"
    );
}

#[tokio::test]
async fn bad_custom_codes_are_refused() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;

    for code in ["ab", "has space", "slash/y", "metrics", "api", "ünï"] {
        let response = app
            .post_json(
                "/api/v1/links",
                &json!({"influencer_id": influencer, "destination": "https://shop.example/", "code": code}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 400, "{code}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"]["code"],
            "invalid_code"
        );
    }
}

#[tokio::test]
async fn every_destination_rule_is_enforced() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let too_long = format!("https://shop.example/{}", "a".repeat(2030));
    let bad = [
        "javascript:alert(1)",
        "java\tscript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://shop.example/file",
        "/relative/path",
        "//shop.example/protocol-relative",
        "shop.example",
        "",
        "https://user:password@shop.example/",
        "https://user@shop.example/",
        "https://shop.example/\r\nSet-Cookie: a=b",
        "https://shop.example/\u{7f}",
        "https://shop.example/?rtclid=forged",
        "http://",
        too_long.as_str(),
    ];

    for destination in bad {
        // Act
        let response = app
            .post_json(
                "/api/v1/links",
                &json!({"influencer_id": influencer, "destination": destination}),
            )
            .await;

        // Assert
        assert_eq!(response.status().as_u16(), 400, "{destination:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["error"]["code"], "invalid_destination",
            "{destination:?}"
        );
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn destinations_are_stored_as_the_url_parser_serialises_them() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;

    let response = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": influencer, "destination": "HTTPS://Shop.Example:443/a b?q=x y"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let link: Value = response.json().await.unwrap();
    assert_eq!(link["destination"], "https://shop.example/a%20b?q=x%20y");
}

#[tokio::test]
async fn a_link_for_an_unknown_or_disabled_influencer_is_refused() {
    let app = spawn_app().await;
    let disabled = app.influencer("bob").await;
    app.delete(&format!("/api/v1/influencers/{disabled}")).await;

    let unknown = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": "inf_doesnotexist", "destination": "https://shop.example/"}),
        )
        .await;
    let malformed = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": "not-an-id", "destination": "https://shop.example/"}),
        )
        .await;
    let refused = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": disabled, "destination": "https://shop.example/"}),
        )
        .await;

    assert_eq!(unknown.status().as_u16(), 422);
    assert_eq!(malformed.status().as_u16(), 400);
    assert_eq!(refused.status().as_u16(), 409);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"]["code"],
        "influencer_disabled"
    );
}

#[tokio::test]
async fn links_are_listed_by_influencer_or_all_without_one() {
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    let a1 = app.link(&alice, "https://shop.example/1").await;
    let a2 = app.link(&alice, "https://shop.example/2").await;
    app.link(&bob, "https://shop.example/3").await;

    let (status, listed) = app
        .get_json(&format!("/api/v1/links?influencer_id={alice}"))
        .await;
    let (all_status, everyone) = app.get_json("/api/v1/links").await;

    assert_eq!(status, 200);
    let codes: Vec<&str> = listed["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [a1.as_str(), a2.as_str()]);
    assert_eq!(all_status, 200, "{everyone}");
    assert_eq!(everyone["links"].as_array().unwrap().len(), 3, "{everyone}");
    assert!(everyone["next_cursor"].is_null());
}

#[tokio::test]
async fn changing_a_destination_validates_it_and_unknown_links_are_404() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    let bad = app.change_destination(&code, "javascript:alert(1)").await;
    let unknown = app
        .patch_json(
            "/api/v1/links/nosuchcode",
            &json!({"destination": "https://shop.example/"}),
        )
        .await;
    let (_, still) = app.get_json(&format!("/api/v1/links/{code}")).await;

    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(still["destination"], "https://shop.example/");
}

#[tokio::test]
async fn a_link_to_one_of_this_servers_own_short_links_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/p").await;
    let own = format!("{}/{code}", app.address);

    // Act
    let created = app
        .post_json(
            "/api/v1/links",
            &serde_json::json!({"influencer_id": alice, "destination": own}),
        )
        .await;
    let changed = app.change_destination(&code, &own).await;

    // Assert
    for response in [created, changed] {
        assert_eq!(response.status().as_u16(), 400);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_destination", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("loop"),
            "{body}"
        );
    }
}
