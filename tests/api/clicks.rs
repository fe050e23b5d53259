use std::num::NonZero;
use std::time::Duration;

use futures::future::join_all;
use reftrack::store::{Keys, Owner};
use serde_json::Value;

use crate::helpers::{BROWSER, fixture, spawn_app, spawn_app_with};

#[tokio::test]
async fn concurrent_clicks_are_all_counted_exactly() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    let n = 500;
    // The link is in the cache before the rush: this test is about counting (a rush of first
    // clicks is link_cache.rs's).
    let first = app.click(&code, BROWSER).await;

    // Act
    let mut responses = join_all((1..n).map(|_| app.click(&code, BROWSER))).await;
    responses.push(first);
    let row = app.wait_for_clicks(&influencer, n).await;
    // A later flush must not add to the figure either.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let settled = app.influencer_row(&influencer).await;

    // Assert
    let not_redirected: Vec<u16> = responses
        .iter()
        .map(|r| r.status().as_u16())
        .filter(|s| *s != 302)
        .collect();
    assert!(not_redirected.is_empty(), "answered {not_redirected:?}");
    assert_eq!(row["clicks"], n);
    assert_eq!(settled["clicks"], n);
    assert_eq!(settled["bot_clicks"], 0);
}

#[tokio::test]
async fn an_influencers_click_counters_are_a_hash_table_and_a_links_stay_a_list() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/").await;
    let keys = Keys::new("rt");

    // Act
    app.click(&code, BROWSER).await;
    app.wait_for_clicks(&alice, 1).await;

    // Assert: see `kept_as_table` in `store/clicks.rs` for why the two differ.
    let encoding = |owner| app.redis.encoding(&keys.click_counts(owner));
    assert_eq!(encoding(Owner::Influencer(&alice)), "hashtable");
    assert_eq!(encoding(Owner::Link(&code)), "listpack");
}

#[tokio::test]
async fn unique_clicks_count_distinct_visitors_behind_a_trusted_proxy() {
    // Arrange: the test client connects from loopback, a trusted proxy by default.
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    let visitors = ["198.51.100.1", "198.51.100.2", "2001:db8::7"];

    // Act: each visitor clicks three times.
    for _ in 0..3 {
        for ip in visitors {
            app.client
                .get(app.url(&format!("/{code}")))
                .header("user-agent", BROWSER)
                .header("x-forwarded-for", format!("203.0.113.50, {ip}"))
                .send()
                .await
                .unwrap();
        }
    }
    let row = app.wait_for_clicks(&influencer, 9).await;

    // Assert
    assert_eq!(row["clicks"], 9);
    assert_eq!(row["unique_clicks"], 3);
}

#[tokio::test]
async fn forwarded_addresses_from_untrusted_peers_are_ignored() {
    let app = spawn_app_with(|s| s.http.trusted_proxies.clear()).await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    for i in 0..5 {
        app.client
            .get(app.url(&format!("/{code}")))
            .header("user-agent", BROWSER)
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap();
    }
    let row = app.wait_for_clicks(&influencer, 5).await;

    assert_eq!(row["clicks"], 5);
    assert_eq!(row["unique_clicks"], 1);
}

#[tokio::test]
async fn bots_and_people_are_told_apart_as_the_fixture_classifies_them() {
    // Arrange: one link per fixture case, so each case is checked on its own.
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("bot_user_agents_classified.json")).unwrap(),
    )
    .unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    let mut expected = Vec::new();
    for case in cases {
        let code = app.link(&influencer, "https://shop.example/").await;
        // Undecided cases (in-app browsers some lists call previews) count as people: a real
        // follower's click must never be dropped.
        let is_bot = case["expected_bot"].as_bool().unwrap_or(false);
        expected.push((code, case["name"].as_str().unwrap().to_owned(), is_bot));
    }

    // Act
    for ((code, _, _), case) in expected.iter().zip(cases) {
        let response = app.click(code, case["user_agent"].as_str().unwrap()).await;
        assert_eq!(response.status().as_u16(), 302);
    }
    let humans = expected.iter().filter(|(_, _, bot)| !bot).count() as u64;
    app.wait_for_clicks(&influencer, humans).await;

    // Assert
    let (_, report) = app
        .get_json(&format!("/api/v1/reports/links?influencer_id={influencer}"))
        .await;
    for (code, name, is_bot) in &expected {
        let row = report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code.as_str())
            .unwrap();
        let (clicks, bots) = if *is_bot { (0, 1) } else { (1, 0) };
        assert_eq!(
            (
                row["clicks"].as_u64().unwrap(),
                row["bot_clicks"].as_u64().unwrap()
            ),
            (clicks, bots),
            "{name}"
        );
    }
    assert!(expected.iter().filter(|(_, _, bot)| *bot).count() >= 15);
}

#[tokio::test]
async fn reports_cover_only_the_requested_days() {
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    app.click(&code, BROWSER).await;
    app.wait_for_clicks(&influencer, 1).await;

    let (status, past) = app
        .get_json("/api/v1/reports/influencers?from=2020-01-01&to=2020-12-31")
        .await;

    assert_eq!(status, 200);
    assert_eq!(past["rows"][0]["clicks"], 0);
    assert_eq!(past["totals"]["clicks"], 0);
    assert_eq!(past["from"], "2020-01-01");
}

#[tokio::test]
async fn report_totals_add_up_the_rows() {
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    let a = app.link(&alice, "https://shop.example/").await;
    let b = app.link(&bob, "https://shop.example/").await;
    for _ in 0..3 {
        app.click(&a, BROWSER).await;
    }
    // Batches are written in order, so once bob's human click shows, the earlier bot click
    // has been written too.
    app.click(&b, "Twitterbot/1.0").await;
    app.click(&b, BROWSER).await;
    app.wait_for_clicks(&bob, 1).await;
    app.wait_for_clicks(&alice, 3).await;

    let (_, report) = app.get_json("/api/v1/reports/influencers").await;

    assert_eq!(report["rows"][0]["handle"], "alice");
    assert_eq!(report["totals"]["clicks"], 4);
    assert_eq!(report["totals"]["bot_clicks"], 1);
    assert_eq!(report["totals"]["unique_clicks"], 2);
}

#[tokio::test]
async fn bad_report_ranges_get_a_clear_400() {
    let app = spawn_app().await;

    for query in [
        "from=2026-02-30",
        "from=yesterday",
        "from=2026-03-01&to=2026-02-01",
        "from=2000-01-01&to=2026-01-01",
    ] {
        let (status, body) = app
            .get_json(&format!("/api/v1/reports/influencers?{query}"))
            .await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["error"]["code"], "invalid_range", "{query}");
    }
}

#[tokio::test]
async fn durable_redirects_answer_only_after_the_click_is_committed() {
    // Arrange: flushes, and the writing of counts, would otherwise wait a minute.
    let app = spawn_app_with(|s| {
        s.clicks.flush_interval_ms = NonZero::new(60_000).unwrap();
        s.clicks.count_interval_ms = NonZero::new(60_000).unwrap();
        s.clicks.durable_redirects = true;
    })
    .await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act
    let responses = join_all((0..20).map(|_| app.click(&code, BROWSER))).await;
    let row = app.influencer_row(&influencer).await;

    // Assert: counted by the time the redirects were answered, with no waiting.
    assert!(responses.iter().all(|r| r.status().as_u16() == 302));
    assert_eq!(row["clicks"], 20);
}

#[tokio::test]
async fn default_redirects_answer_before_the_click_is_written() {
    // The control for the durable test: same setup without durability, the click is still
    // in the buffer when the redirect has been answered.
    let app = spawn_app_with(|s| s.clicks.flush_interval_ms = NonZero::new(60_000).unwrap()).await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    let response = app.click(&code, BROWSER).await;
    let row = app.influencer_row(&influencer).await;

    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(row["clicks"], 0);
}

#[tokio::test]
async fn a_graceful_stop_writes_every_buffered_click() {
    let mut app =
        spawn_app_with(|s| s.clicks.flush_interval_ms = NonZero::new(60_000).unwrap()).await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    join_all((0..50).map(|_| app.click(&code, BROWSER))).await;

    app.stop().await;

    let mut redis = app.redis.connection();
    let key = reftrack::store::Keys::new("rt")
        .click_counts(reftrack::store::Owner::Influencer(&influencer));
    let day = chrono::Utc::now().format("h:d:%Y%m%d").to_string();
    let counted: u64 = redis::cmd("HGET")
        .arg(&key)
        .arg(&day)
        .query(&mut redis)
        .unwrap();
    assert_eq!(counted, 50);
}

#[tokio::test]
async fn a_follower_clicking_again_within_the_window_is_one_click_and_a_suspicious_one() {
    // Arrange
    let app = spawn_app_with(|s| s.fraud.repeat_window_secs = 30).await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act: the same follower twice, then a headless browser
    app.click(&code, BROWSER).await;
    app.click(&code, BROWSER).await;
    let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36";
    assert_eq!(app.click(&code, headless).await.status().as_u16(), 302);

    // Assert
    let row = app.wait_for_clicks(&influencer, 1).await;
    let mut row = row;
    for _ in 0..100 {
        if row["suspicious_clicks"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        row = app.influencer_row(&influencer).await;
    }
    assert_eq!(
        (&row["clicks"], &row["suspicious_clicks"]),
        (&Value::from(1), &Value::from(2)),
        "{row}"
    );
    assert_eq!(row["unique_clicks"], 1);
    assert!(
        (row["suspicious_share"].as_f64().unwrap() - 0.6667).abs() < 1e-9,
        "{row}"
    );
    let suspicious = app
        .metric(r#"reftrack_clicks_total{class="suspicious"}"#)
        .await;
    assert!((suspicious - 2.0).abs() < f64::EPSILON, "{suspicious}");
}

#[tokio::test]
async fn a_burst_beyond_the_limit_is_suspicious_and_the_share_shows_who_inflates() {
    // Arrange: no repeat window, at most 3 clicks per follower and link per hour
    let app = spawn_app_with(|s| s.fraud.burst_max_clicks = NonZero::new(3).unwrap()).await;
    let honest = app.influencer("honest").await;
    let inflated = app.influencer("inflated").await;
    let honest_code = app.link(&honest, "https://shop.example/").await;
    let inflated_code = app.link(&inflated, "https://shop.example/").await;

    // Act
    app.click(&honest_code, BROWSER).await;
    for _ in 0..10 {
        app.click(&inflated_code, BROWSER).await;
    }

    // Assert
    app.wait_for_clicks(&inflated, 3).await;
    let mut row = app.influencer_row(&inflated).await;
    for _ in 0..100 {
        if row["suspicious_clicks"] == 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        row = app.influencer_row(&inflated).await;
    }
    assert_eq!(
        (&row["clicks"], &row["suspicious_clicks"]),
        (&Value::from(3), &Value::from(7)),
        "{row}"
    );
    assert_eq!(row["suspicious_share"], 0.7);
    let honest_row = app.wait_for_clicks(&honest, 1).await;
    assert_eq!(honest_row["suspicious_share"], 0.0);
}
