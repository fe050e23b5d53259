use std::collections::{HashMap, HashSet};
use std::num::NonZero;

use reftrack::store::Keys;
use reftrack::store::click_records::{self, RecordedLink, link_number};
use serde_json::json;

use crate::helpers::{BROWSER, spawn_app, spawn_app_with};

use reftrack::domain::ClickId;

#[tokio::test]
async fn redirect_sends_the_follower_to_the_destination_with_a_click_id() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app
        .link(
            &influencer,
            "https://shop.example/p?utm_source=ig&x=1#reviews",
        )
        .await;

    // Act
    let response = app.click(&code, BROWSER).await;

    // Assert
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()["location"].to_str().unwrap();
    let prefix = "https://shop.example/p?utm_source=ig&x=1&rtclid=";
    assert!(location.starts_with(prefix), "{location}");
    assert!(location.ends_with("#reviews"), "{location}");
    let click_id = &location[prefix.len()..location.len() - "#reviews".len()];
    assert_eq!(click_id.len(), 21, "{click_id}");
}

#[tokio::test]
async fn every_click_gets_its_own_click_id_recorded_for_the_attribution_window() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act
    let mut ids = HashSet::new();
    for _ in 0..5 {
        let response = app.click(&code, BROWSER).await;
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        ids.insert(location.rsplit_once("rtclid=").unwrap().1.to_owned());
    }
    app.wait_for_clicks(&influencer, 5).await;

    // Assert
    assert_eq!(ids.len(), 5);
    let now_ms = chrono::Utc::now().timestamp_millis();
    for id in &ids {
        let (record, ttl) = app.click_record(id).expect("the click is recorded");
        assert_eq!(record.link, RecordedLink::Number(link_number(&code)));
        assert!(
            (now_ms - 10_000..=now_ms).contains(&record.at_ms),
            "{record:?}"
        );
        // Kept until the window of the block's last click has passed: 31 days from midnight.
        assert!((30 * 86_400..=31 * 86_400).contains(&ttl), "ttl {ttl}");
    }
    let forged = format!("{}{}", &ids.iter().next().unwrap()[..13], "AAAAAAAA");
    assert!(
        app.click_record(&forged).is_none(),
        "a forged id finds no click"
    );
}

#[tokio::test]
async fn clicks_answered_at_once_by_several_workers_each_find_their_own_record() {
    // Arrange
    let app = spawn_app_with(|s| s.http.workers = 4).await;
    let influencer = app.influencer("alice").await;
    let codes = [
        app.link(&influencer, "https://shop.example/a").await,
        app.link(&influencer, "https://shop.example/b").await,
    ];
    let n = 300;

    // Act
    let responses =
        futures::future::join_all((0..n).map(|i| app.click(&codes[i % 2], BROWSER))).await;
    app.wait_for_clicks(&influencer, n as u64).await;

    // Assert
    let mut ids = HashSet::new();
    for (i, response) in responses.iter().enumerate() {
        let location = response.headers()["location"].to_str().unwrap();
        let id = location.rsplit_once("rtclid=").unwrap().1;
        let (record, _) = app
            .click_record(id)
            .expect("every answered click is recorded");
        assert_eq!(
            record.link,
            RecordedLink::Number(link_number(&codes[i % 2])),
            "click {id}"
        );
        ids.insert(id.to_owned());
    }
    assert_eq!(ids.len(), n, "every click has its own id");
}

#[tokio::test]
async fn redirect_status_can_be_configured_to_307() {
    let app = spawn_app_with(|s| {
        s.http.redirect_status = reftrack::config::RedirectStatus::TemporaryRedirect;
    })
    .await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    let response = app.click(&code, BROWSER).await;

    assert_eq!(response.status().as_u16(), 307);
}

#[tokio::test]
async fn redirect_returns_404_for_an_unknown_code() {
    let app = spawn_app().await;

    for path in ["/unknown-code", "/a", "/bad%20code", "/x/y", "/api2"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
        assert!(response.headers().get("location").is_none());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This link does not exist"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_disabled_link_stops_redirecting() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    assert_eq!(app.click(&code, BROWSER).await.status().as_u16(), 302);

    let response = app.delete(&format!("/api/v1/links/{code}")).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.click(&code, BROWSER).await.status().as_u16(), 404);
}

#[tokio::test]
async fn links_of_a_disabled_influencer_stop_until_they_are_enabled_again() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    assert_eq!(app.click(&code, BROWSER).await.status().as_u16(), 302);
    let path = format!("/api/v1/influencers/{influencer}");

    app.delete(&path).await;
    let while_disabled = app.click(&code, BROWSER).await.status().as_u16();
    app.patch_json(&path, &json!({"disabled": false})).await;
    let after = app.click(&code, BROWSER).await.status().as_u16();

    assert_eq!(while_disabled, 404);
    assert_eq!(after, 302);
}

#[tokio::test]
async fn a_changed_destination_takes_effect_at_once() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://old.example/").await;
    app.click(&code, BROWSER).await;

    let response = app
        .change_destination(&code, "https://new.example/sale")
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let location = app.click(&code, BROWSER).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        location.starts_with("https://new.example/sale?rtclid="),
        "{location}"
    );
}

#[tokio::test]
async fn head_requests_redirect_but_count_nothing() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/p").await;

    let head = app
        .client
        .head(app.url(&format!("/{code}")))
        .send()
        .await
        .unwrap();
    app.click(&code, BROWSER).await;
    let row = app.wait_for_clicks(&influencer, 1).await;

    assert_eq!(head.status().as_u16(), 302);
    assert_eq!(head.headers()["location"], "https://shop.example/p");
    assert_eq!(row["clicks"], 1);
    assert_eq!(row["bot_clicks"], 0);
}

#[tokio::test]
async fn only_get_and_head_follow_a_link() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    let response = app
        .client
        .post(app.url(&format!("/{code}")))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn a_block_of_click_records_is_allocated_whole_so_a_click_costs_at_most_24_bytes() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act: the first click of a process opens its first block
    let id = app.click_id(&code).await;
    app.wait_for_clicks(&influencer, 1).await;

    // Assert
    let id = ClickId::parse(&id).unwrap();
    let (block, _) = click_records::slot_of(&id);
    let key = Keys::new("rt").click_block(id.space(), block);
    let mut redis = app.redis.connection();
    let length: usize = redis::cmd("STRLEN").arg(&key).query(&mut redis).unwrap();
    let memory: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .query(&mut redis)
        .unwrap();
    assert_eq!(length, click_records::BLOCK_BYTES);
    assert!(
        memory <= 24 * click_records::BLOCK_CLICKS,
        "a block of {} clicks takes {memory} bytes",
        click_records::BLOCK_CLICKS
    );
}

#[tokio::test]
async fn a_followers_query_reaches_the_destination_but_never_overrides_it_or_rtclid() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app
        .link(&influencer, "https://shop.example/p?utm_source=ig#top")
        .await;

    // Act
    let response = app
        .client
        .get(app.url(&format!(
            "/{code}?utm_campaign=bf&utm_source=tiktok&rtclid=forged"
        )))
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs[0], ("utm_source".into(), "ig".into()), "{location}");
    assert_eq!(pairs[1], ("utm_campaign".into(), "bf".into()), "{location}");
    assert_eq!(pairs.len(), 3, "{location}");
    assert_eq!(pairs[2].0, "rtclid");
    assert_ne!(pairs[2].1, "forged");
    assert_eq!(url.fragment(), Some("top"));
}

#[tokio::test]
async fn with_forward_query_off_the_followers_query_is_dropped() {
    // Arrange
    let app = spawn_app_with(|s| s.http.forward_query = false).await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/p").await;

    // Act
    let response = app
        .client
        .get(app.url(&format!("/{code}?utm_campaign=bf")))
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();

    // Assert
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://shop.example/p?rtclid="),
        "{location}"
    );
}

#[tokio::test]
async fn a_links_number_is_registered_before_its_first_click_is_answered_and_an_unknown_codes_never_is()
 {
    // Arrange: flushes ten seconds apart, so no flush of the click can have registered it
    let app = spawn_app_with(|s| s.clicks.flush_interval_ms = NonZero::new(10_000).unwrap()).await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act
    assert_eq!(app.click(&code, BROWSER).await.status().as_u16(), 302);
    assert_eq!(
        app.click("nosuchcode", BROWSER).await.status().as_u16(),
        404
    );

    // Assert: an order citing the click can name its link at once
    let mut redis = app.redis.connection();
    let registered: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(Keys::new("rt").link_numbers())
        .query(&mut redis)
        .unwrap();
    assert_eq!(
        registered.get(&link_number(&code).to_string()),
        Some(&code),
        "{registered:?}"
    );
    assert!(
        !registered.values().any(|c| c == "nosuchcode"),
        "{registered:?}"
    );
}
