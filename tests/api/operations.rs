use std::process::Command;

use crate::helpers::{BROWSER, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_readiness_follow_redis() {
    let mut app = spawn_app().await;

    let healthy = app.client.get(app.url("/healthz")).send().await.unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    app.redis.kill();
    let not_ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    let still_alive = app.client.get(app.url("/healthz")).send().await.unwrap();

    assert_eq!(healthy.status().as_u16(), 200);
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(not_ready.status().as_u16(), 503);
    let body: serde_json::Value = not_ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "redis_unavailable");
    assert_eq!(still_alive.status().as_u16(), 200);
}

#[tokio::test]
async fn known_links_keep_redirecting_while_redis_is_down() {
    let mut app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    app.click(&code, BROWSER).await;

    app.redis.kill();
    let cached = app.click(&code, BROWSER).await;
    let uncached = app.click("neverseen", BROWSER).await;

    assert_eq!(cached.status().as_u16(), 302);
    assert_eq!(uncached.status().as_u16(), 503);
}

#[tokio::test]
async fn a_link_changed_just_before_redis_goes_down_keeps_redirecting() {
    // Arrange: the link is cached, then changed (its entry must be reloaded before use)
    let mut app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/old").await;
    app.click(&code, BROWSER).await;
    let response = app
        .change_destination(&code, "https://shop.example/new")
        .await;
    assert_eq!(response.status().as_u16(), 200);

    // Act: Redis is gone before the change could be read back
    app.redis.kill();
    let during_outage = app.click(&code, BROWSER).await;

    // Assert: the follower still reaches the shop, by the last known destination
    assert_eq!(during_outage.status().as_u16(), 302);
    let location = during_outage.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://shop.example/old?"),
        "{location}"
    );
}

#[tokio::test]
async fn metrics_expose_the_redirect_path_without_per_link_labels() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    app.click(&code, BROWSER).await;
    app.click(&code, "Twitterbot/1.0").await;
    app.click("unknown-code", BROWSER).await;
    app.wait_for_clicks(&influencer, 1).await;

    // Act
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    for expected in [
        "reftrack_redirect_duration_seconds_bucket",
        "reftrack_redirects_total{outcome=\"redirected\"} 2",
        "reftrack_redirects_total{outcome=\"not_found\"} 1",
        "reftrack_clicks_total{class=\"human\"} 1",
        "reftrack_clicks_total{class=\"bot\"} 1",
        "reftrack_click_flush_batch_size_count",
        "reftrack_click_buffer_depth",
        "reftrack_click_tallies_held",
        "reftrack_redis_errors_total{operation=\"click_flush\"} 0",
        "reftrack_build_info{version=",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(
        !text.contains(&code),
        "a link code leaked into metric labels"
    );
    assert!(
        !text.contains(&influencer),
        "an influencer id leaked into metric labels"
    );
    promtool_check(&text);
}

#[tokio::test]
async fn api_requests_are_timed_by_their_documented_route_never_by_the_code_or_path_sent() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act: a read of the link, a read with no token, and two paths no route has.
    let (read, _) = app.get_json(&format!("/api/v1/links/{code}")).await;
    assert_eq!(read, 200);
    let refused = app
        .client
        .get(app.url(&format!("/api/v1/links/{code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    for path in ["/api/v1/nothing-here-0123", "/api/v2/links"] {
        assert_eq!(app.get_json(path).await.0, 404);
    }
    let text = app.metrics_text().await;

    // Assert: each under its pattern, method and status class, with exactly its count (a line
    // ends after it); the code, the influencer and the unknown paths appear nowhere.
    for expected in [
        "reftrack_api_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/links/{code}\",status=\"2xx\"} 1\n",
        "reftrack_api_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/links/{code}\",status=\"4xx\"} 1\n",
        "reftrack_api_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/links\",status=\"2xx\"} 1\n",
        "reftrack_api_request_duration_seconds_count{method=\"GET\",route=\"unmatched\",status=\"4xx\"} 2\n",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    for leaked in [
        code.as_str(),
        influencer.as_str(),
        "nothing-here",
        "/api/v2",
    ] {
        assert!(!text.contains(leaked), "{leaked} leaked into metric labels");
    }
    promtool_check(&text);
}

/// `promtool check metrics` when promtool is installed; CI installs it and sets
/// REFTRACK_REQUIRE_PROMTOOL=1 so the check cannot be skipped there.
fn promtool_check(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.txt");
    std::fs::write(&path, text).unwrap();
    let script = format!("promtool check metrics < {}", path.display());
    match Command::new("sh").args(["-c", &script]).output() {
        Ok(out) if out.status.code() == Some(127) => {
            assert!(
                std::env::var_os("REFTRACK_REQUIRE_PROMTOOL").is_none(),
                "promtool is required but not installed"
            );
            eprintln!("promtool not installed; skipping the exposition-format check");
        }
        Ok(out) => assert!(
            out.status.success(),
            "promtool check metrics failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("running sh: {e}"),
    }
}

#[tokio::test]
async fn api_and_webhook_errors_name_the_request_id_their_logs_carry_and_redirects_carry_none() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act
    let api = app
        .admin(reqwest::Method::GET, "/api/v1/influencers/inf_unknown1")
        .send()
        .await
        .unwrap();
    let webhook = app.webhook("/webhooks/orders", &[], b"{}").await;
    let redirect = app.click(&code, BROWSER).await;

    // Assert
    for response in [api, webhook] {
        let header = response
            .headers()
            .get("x-request-id")
            .expect("an X-Request-Id header")
            .to_str()
            .unwrap()
            .to_owned();
        assert!(response.status().is_client_error());
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["request_id"], header.as_str(), "{body}");
        assert!(header.len() >= 32, "{header}");
    }
    assert!(redirect.headers().get("x-request-id").is_none());
}

#[tokio::test]
async fn with_metrics_bind_metrics_are_served_there_and_not_on_the_public_port() {
    // Arrange
    let app = spawn_app_with(|s| s.http.metrics_bind = Some("127.0.0.1:0".parse().unwrap())).await;
    let metrics = app.metrics_address.clone().expect("a metrics address");

    // Act
    let private = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    let other = app
        .client
        .get(format!("{metrics}/api/v1/influencers"))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(private.status().as_u16(), 200);
    assert!(
        private
            .text()
            .await
            .unwrap()
            .contains("reftrack_redirects_total")
    );
    assert_eq!(public.status().as_u16(), 404);
    assert_eq!(other.status().as_u16(), 404);
}

#[tokio::test]
async fn the_root_page_points_marketers_to_the_dashboard() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.client.get(app.url("/")).send().await.unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("href=\"/dashboard\"")
    );
}

#[tokio::test]
async fn the_root_redirects_to_the_configured_home_url() {
    // Arrange
    let app = spawn_app_with(|s| s.http.home_url = "https://brand.example/".to_owned()).await;

    // Act
    let response = app.client.get(app.url("/")).send().await.unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(response.headers()["location"], "https://brand.example/");
}
