//! `http.api_bind`: the API, the webhooks and the dashboard on a listener (and worker threads)
//! of their own, the public listener left with the redirects, `/` and the health probes.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{BROWSER, SHOPIFY_SECRET, TOKEN, TestApp, base64_signature, spawn_app_with};

async fn app_with_api_listener() -> TestApp {
    spawn_app_with(|s| s.http.api_bind = Some("127.0.0.1:0".parse().unwrap())).await
}

/// Waits until the flusher has written the click, so an order can be attributed to it.
async fn click_written(app: &TestApp, click_id: &str) {
    for _ in 0..500 {
        if app.click_record(click_id).is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the click was never written");
}

async fn status_and_body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn with_api_bind_admin_calls_and_signed_webhooks_work_on_the_api_address_and_redirects_on_the_public_one()
 {
    // Arrange
    let app = app_with_api_listener().await;
    let api = app.api_address.clone().expect("an API address");
    assert_ne!(api, app.address);

    // Act: the helpers send admin calls and webhooks to the API address, clicks to the public
    let alice = app.influencer_with("alice", json!({"percent": "10"})).await;
    let code = app.link(&alice, "https://shop.example/p").await;
    let click_id = app.click_id(&code).await;
    click_written(&app, &click_id).await;
    let order = json!({"event": "order.created", "order_id": "G-1", "amount": "100.00",
                       "currency": "USD", "click_id": click_id});
    let (webhook_status, webhook) = status_and_body(app.generic(&order).await).await;
    let redirect_on_api = app
        .client
        .get(format!("{api}/{code}"))
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(webhook_status, 200, "{webhook}");
    assert_eq!(webhook["status"], "stored", "{webhook}");
    let row = app.influencer_row(&alice).await;
    assert_eq!(
        (&row["orders"], &row["revenue"]),
        (&json!(1), &json!("100.00"))
    );
    let (status, body) = status_and_body(redirect_on_api).await;
    assert_eq!(status, 404, "the API listener follows no link: {body}");
    assert_eq!(body["error"]["code"], "no_such_route", "{body}");
}

#[tokio::test]
async fn with_api_bind_the_public_address_answers_the_api_paths_404_naming_the_api_listener() {
    // Arrange
    let app = app_with_api_listener().await;
    let body = br#"{"id": 1}"#;

    // Act
    let admin = app
        .client
        .get(app.url("/api/v1/influencers"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let webhook = app
        .client
        .post(app.url("/webhooks/shopify"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-event-id", "evt-1")
        .header(
            "x-shopify-hmac-sha256",
            base64_signature(SHOPIFY_SECRET, body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let mut answers = vec![status_and_body(admin).await, status_and_body(webhook).await];
    for path in ["/dashboard", "/dashboard/app.js", "/api/v1/openapi.json"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        answers.push(status_and_body(response).await);
    }

    // Assert
    for (status, body) in answers {
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "api_elsewhere", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("http.api_bind"), "{message}");
    }
}

#[tokio::test]
async fn with_api_bind_health_is_on_both_addresses_and_only_the_api_one_points_to_the_dashboard() {
    // Arrange
    let app = app_with_api_listener().await;
    let api = app.api_address.clone().expect("an API address");

    // Act
    let mut health = Vec::new();
    for base in [&app.address, &api] {
        for probe in ["/healthz", "/readyz"] {
            let response = app
                .client
                .get(format!("{base}{probe}"))
                .send()
                .await
                .unwrap();
            health.push((format!("{base}{probe}"), response.status().as_u16()));
        }
    }
    let public_home = app.client.get(app.url("/")).send().await.unwrap();
    let api_home = app.client.get(format!("{api}/")).send().await.unwrap();
    let (_, document) = status_and_body(
        app.client
            .get(format!("{api}/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Assert
    for (probe, status) in health {
        assert_eq!(status, 200, "{probe}");
    }
    assert_eq!(public_home.status().as_u16(), 200);
    assert!(!public_home.text().await.unwrap().contains("/dashboard"));
    assert!(
        api_home
            .text()
            .await
            .unwrap()
            .contains("href=\"/dashboard\"")
    );
    assert_eq!(
        document["servers"][0]["url"], "/",
        "the API's own address may be private: the document names it relatively"
    );
}

#[tokio::test]
async fn with_api_bind_a_graceful_stop_stops_both_listeners() {
    // Arrange
    let mut app = app_with_api_listener().await;
    let api = app.api_address.clone().expect("an API address");
    let before = app.client.get(format!("{api}/healthz")).send().await;
    assert!(before.is_ok(), "the API listener answers before the stop");

    // Act: a deadlock between the two servers' stops fails here instead of hanging
    tokio::time::timeout(Duration::from_secs(30), app.stop())
        .await
        .expect("both servers stop within 30 s");

    // Assert
    for base in [&app.address, &api] {
        let after = app.client.get(format!("{base}/healthz")).send().await;
        assert!(after.is_err(), "{base} still answers after the stop");
    }
}

/// The name and nice value in a `/proc/.../stat` line: "tid (name) state ...". The name may
/// hold spaces and parentheses, so it ends at the last ')'; the nice value is the 19th field,
/// the 17th after the name.
#[cfg(target_os = "linux")]
fn name_and_nice(stat: &str) -> (&str, i32) {
    let (head, rest) = stat.rsplit_once(')').expect("a stat line");
    let name = head.split_once('(').expect("a stat line").1;
    let nice = rest.split_whitespace().nth(16).expect("a nice field");
    (name, nice.parse().expect("a number"))
}

/// The nice value of each of this process's threads whose name starts with `prefix` (Linux
/// keeps the first 15 bytes of a thread's name: actix's "actix-server worker 0" is
/// "actix-server wo").
#[cfg(target_os = "linux")]
fn thread_nices(prefix: &str) -> Vec<i32> {
    let mut nices = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        // A thread that ended while the list was read has no stat to read.
        if let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) {
            let (name, nice) = name_and_nice(&stat);
            if name.starts_with(prefix) {
                nices.push(nice);
            }
        }
    }
    nices
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn with_api_bind_the_redirect_workers_and_the_click_flusher_run_below_the_api_and_still_serve()
 {
    // Arrange: 7 steps, a value no other test uses (the tests share this process's threads)
    let app = spawn_app_with(|s| {
        s.http.api_bind = Some("127.0.0.1:0".parse().unwrap());
        s.http.redirect_nice = 7;
    })
    .await;
    let main = name_and_nice(&std::fs::read_to_string("/proc/self/stat").unwrap()).1;

    // Act: a click through a lowered worker, written by a lowered flusher
    let alice = app.influencer_with("alice", json!({"percent": "10"})).await;
    let code = app.link(&alice, "https://shop.example/p").await;
    let click_id = app.click_id(&code).await;
    click_written(&app, &click_id).await;

    // Assert: both bulk kinds run 7 steps below the main thread
    let lowered = (main + 7).min(19);
    let flushers = thread_nices("reftrack-flush");
    assert!(
        flushers.contains(&lowered),
        "no flusher at nice {lowered}: {flushers:?}"
    );
    let workers = thread_nices("actix-server wo");
    assert!(
        workers.contains(&lowered),
        "no HTTP worker at nice {lowered}: {workers:?}"
    );
}
