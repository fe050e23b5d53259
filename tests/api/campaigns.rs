//! Campaigns: their own currency and attribution window, the domains their links may use,
//! and reports limited to one campaign.

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn link_in(app: &TestApp, influencer: &str, campaign: Option<&str>) -> String {
    let mut body = json!({"influencer_id": influencer, "destination": "https://shop.example/p"});
    if let Some(campaign) = campaign {
        body["campaign_id"] = campaign.into();
    }
    let response = app.post_json("/api/v1/links", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    response.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn order(app: &TestApp, id: &str, amount: &str, click_id: &str, occurred_ms: i64) {
    let occurred = chrono::DateTime::<Utc>::from_timestamp_millis(occurred_ms)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let body = json!({"event": "order.created", "order_id": id, "amount": amount,
                      "currency": "USD", "click_id": click_id, "occurred_at": occurred});
    assert_eq!(app.generic(&body).await.status().as_u16(), 200);
}

#[tokio::test]
async fn campaigns_are_created_listed_and_fetched_and_bad_ones_refused() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let id = app
        .campaign(&json!({"name": "Spring launch", "currency": "eur",
                          "attribution_window_days": 7, "allowed_domains": ["Shop.Example"]}))
        .await;
    let (status, fetched) = app.get_json(&format!("/api/v1/campaigns/{id}")).await;
    let (_, list) = app.get_json("/api/v1/campaigns").await;
    let bad = [
        json!({"name": "", "currency": "EUR"}),
        json!({"name": "X", "currency": "EURO"}),
        json!({"name": "X", "currency": "EUR", "attribution_window_days": 0}),
        // Longer than clicks are kept (clicks.attribution_window_days, 30 by default).
        json!({"name": "X", "currency": "EUR", "attribution_window_days": 31}),
        json!({"name": "X", "currency": "EUR", "allowed_domains": ["https://shop.example"]}),
        json!({"name": "X", "currency": "EUR", "budget": 5}),
    ];

    // Assert
    assert_eq!(status, 200);
    assert_eq!(fetched["currency"], "EUR");
    assert_eq!(fetched["allowed_domains"], json!(["shop.example"]));
    assert_eq!(list["campaigns"][0]["id"], id.as_str());
    for body in bad {
        let response = app.post_json("/api/v1/campaigns", &body).await;
        assert_eq!(response.status().as_u16(), 400, "{body}");
    }
    assert_eq!(app.get_json("/api/v1/campaigns/cmp_nothing").await.0, 404);
}

#[tokio::test]
async fn a_campaigns_links_only_go_to_its_allowed_domains() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let campaign = app
        .campaign(
            &json!({"name": "Spring", "currency": "USD", "allowed_domains": ["shop.example"]}),
        )
        .await;
    let create = |destination: &str| json!({"influencer_id": alice, "destination": destination, "campaign_id": campaign});

    // Act
    let inside = app
        .post_json("/api/v1/links", &create("https://eu.shop.example/p"))
        .await;
    let outside = app
        .post_json("/api/v1/links", &create("https://evil.test/p"))
        .await;
    let unknown = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": alice, "destination": "https://x.test/", "campaign_id": "cmp_nope"}),
        )
        .await;
    let code = inside.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let moved_out = app.change_destination(&code, "https://evil.test/").await;

    // Assert
    assert_eq!(outside.status().as_u16(), 400);
    let body: Value = outside.json().await.unwrap();
    assert_eq!(body["error"]["code"], "destination_not_allowed");
    assert_eq!(unknown.status().as_u16(), 422);
    assert_eq!(moved_out.status().as_u16(), 400);
    let (_, link) = app.get_json(&format!("/api/v1/links/{code}")).await;
    assert_eq!(
        link["destination"], "https://eu.shop.example/p",
        "unchanged"
    );
}

#[tokio::test]
async fn a_campaign_with_its_own_window_judges_its_clicks_by_it() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let short = app
        .campaign(&json!({"name": "Flash sale", "currency": "USD", "attribution_window_days": 1}))
        .await;
    let in_short = link_in(&app, &alice, Some(&short)).await;
    let plain = link_in(&app, &alice, None).await;
    let short_click = app.click_id(&in_short).await;
    let plain_click = app.click_id(&plain).await;
    app.wait_for_clicks(&alice, 2).await;
    let in_two_days = Utc::now().timestamp_millis() + 2 * 86_400_000;

    // Act
    order(&app, "S-1", "10.00", &short_click, in_two_days).await;
    order(&app, "P-1", "10.00", &plain_click, in_two_days).await;

    // Assert
    let (_, orders) = app
        .get_json(&format!(
            "/api/v1/orders?influencer_id={alice}&to={}",
            (Utc::now() + chrono::Days::new(3)).date_naive()
        ))
        .await;
    let of = |id: &str| {
        orders["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["order_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(of("S-1")["attribution"]["reason"], "click_outside_window");
    assert_eq!(of("P-1")["attribution"]["reason"], "click_in_window");
    assert_eq!(of("P-1")["attribution"]["campaign_id"], Value::Null);
}

#[tokio::test]
async fn a_campaign_report_counts_only_the_campaigns_links_orders_and_costs() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    let spring = app
        .campaign(&json!({"name": "Spring", "currency": "USD"}))
        .await;
    let in_spring = link_in(&app, &alice, Some(&spring)).await;
    let outside = link_in(&app, &alice, None).await;
    link_in(&app, &bob, None).await;
    let spring_click = app.click_id(&in_spring).await;
    let other_click = app.click_id(&outside).await;
    app.wait_for_clicks(&alice, 2).await;
    let now = Utc::now().timestamp_millis();
    order(&app, "A-1", "100.00", &spring_click, now).await;
    order(&app, "A-2", "40.00", &other_click, now).await;
    let today = Utc::now().date_naive().to_string();
    for campaign in [Some(spring.as_str()), None] {
        let mut cost = json!({"amount": "10.00", "currency": "USD", "kind": "fee", "date": today});
        if let Some(campaign) = campaign {
            cost["campaign_id"] = campaign.into();
        }
        let response = app
            .post_json(&format!("/api/v1/influencers/{alice}/costs"), &cost)
            .await;
        assert_eq!(response.status().as_u16(), 201);
    }

    // Act
    let (status, report) = app
        .get_json(&format!("/api/v1/reports/influencers?campaign_id={spring}"))
        .await;
    let unknown = app
        .get_json("/api/v1/reports/influencers?campaign_id=cmp_none")
        .await;

    // Assert
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["campaign_id"], spring.as_str());
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        2,
        "alice and the unattributed row, not bob: {report}"
    );
    let alice_row = &rows[0];
    assert_eq!(alice_row["handle"], "alice");
    assert_eq!(
        (&alice_row["clicks"], &alice_row["orders"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        (&alice_row["revenue"], &alice_row["costs"]),
        (&json!("100.00"), &json!("10.00"))
    );
    let everything = app.influencer_row(&alice).await;
    assert_eq!(
        (
            &everything["clicks"],
            &everything["revenue"],
            &everything["costs"]
        ),
        (&json!(2), &json!("140.00"), &json!("20.00"))
    );
    assert_eq!(unknown.0, 422);
    assert_eq!(
        app.orders_of(&alice)
            .await
            .iter()
            .filter(|o| o["attribution"]["campaign_id"] == spring.as_str())
            .count(),
        1
    );
}
