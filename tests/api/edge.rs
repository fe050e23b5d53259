//! The network edge: which address a click is counted under (forwarded headers, IPv4-mapped
//! peers), slow clients that would hold connections open, and one address posing as many
//! followers.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{BROWSER, TOKEN, TestApp, spawn_app, spawn_app_with};

/// Clicks `code` through the trusted loopback proxy with the given extra header lines.
async fn click_with(app: &TestApp, base: &str, code: &str, headers: &[(&str, String)]) {
    let mut request = app
        .client
        .get(format!("{base}/{code}"))
        .header("user-agent", BROWSER);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302);
}

/// Waits until the influencer's row shows `clicks` human clicks and returns its unique count.
async fn unique_clicks(app: &TestApp, influencer: &str, clicks: u64) -> Value {
    let row = app.wait_for_clicks(influencer, clicks).await;
    assert_eq!(row["clicks"], clicks, "{row}");
    row["unique_clicks"].clone()
}

#[tokio::test]
async fn a_forged_first_forwarded_line_is_not_believed() {
    // Arrange: the test client is the trusted proxy (loopback); each request carries the
    // client's own line first and the line the proxy adds (HAProxy's option forwardfor).
    let app = spawn_app().await;
    let forger = app.influencer("forger").await;
    let honest = app.influencer("honest").await;
    let forger_code = app.link(&forger, "https://shop.example/").await;
    let honest_code = app.link(&honest, "https://shop.example/").await;

    // Act: one client forging a new address each time; three clients forging the same one
    for i in 0..5 {
        let lines = [
            ("x-forwarded-for", format!("203.0.113.{i}")),
            ("x-forwarded-for", "198.51.100.7".to_owned()),
        ];
        click_with(&app, &app.address, &forger_code, &lines).await;
    }
    for i in 1..=3 {
        let lines = [
            ("x-forwarded-for", "6.6.6.6".to_owned()),
            ("x-forwarded-for", format!("198.51.100.{i}")),
        ];
        click_with(&app, &app.address, &honest_code, &lines).await;
    }

    // Assert
    assert_eq!(unique_clicks(&app, &forger, 5).await, 1);
    assert_eq!(unique_clicks(&app, &honest, 3).await, 3);
}

#[tokio::test]
async fn forwarded_headers_and_odd_entries_never_pick_the_clients_address() {
    // Arrange
    let app = spawn_app().await;
    let standard = app.influencer("standard").await;
    let ports = app.influencer("ports").await;
    let standard_code = app.link(&standard, "https://shop.example/").await;
    let ports_code = app.link(&ports, "https://shop.example/").await;

    // Act: `Forwarded` is never read, and `unknown` stops at the proxy: all one visitor
    for i in 0..4 {
        let headers = [("forwarded", format!("for=203.0.113.{i}"))];
        click_with(&app, &app.address, &standard_code, &headers).await;
        let headers = [("x-forwarded-for", format!("203.0.113.{i}, unknown"))];
        click_with(&app, &app.address, &standard_code, &headers).await;
    }
    // a proxy writing ports, brackets and empty entries: one address is one visitor
    for entry in [
        "198.51.100.1:5678",
        "198.51.100.1:9999,",
        ", 198.51.100.1",
        "[2001:db8::1]:443",
        "2001:db8::1",
    ] {
        let headers = [("x-forwarded-for", format!("6.6.6.6,{entry}"))];
        click_with(&app, &app.address, &ports_code, &headers).await;
    }

    // Assert
    assert_eq!(unique_clicks(&app, &standard, 8).await, 1);
    assert_eq!(unique_clicks(&app, &ports, 5).await, 2);
}

#[tokio::test]
async fn a_server_bound_to_every_ipv6_address_trusts_its_ipv4_proxies() {
    // Arrange: bound to [::], a proxy connecting over IPv4 is seen as ::ffff:127.0.0.1.
    let app = spawn_app_with(|s| s.http.bind = "[::]:0".parse().unwrap()).await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let over_ipv4 = format!("http://127.0.0.1:{port}");
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act: three followers through the proxy, each twice
    for _ in 0..2 {
        for ip in ["198.51.100.1", "198.51.100.2", "::ffff:198.51.100.3"] {
            let headers = [("x-forwarded-for", ip.to_owned())];
            click_with(&app, &over_ipv4, &code, &headers).await;
        }
    }

    // Assert: three visitors, not one proxy
    assert_eq!(unique_clicks(&app, &influencer, 6).await, 3);
}

#[tokio::test]
async fn sixty_user_agents_from_one_address_are_mostly_suspicious_unless_its_range_is_exempt() {
    // Arrange: at most 5 clicks per address and link an hour; a carrier NAT range exempt
    let app = spawn_app_with(|s| {
        s.fraud.address_burst_max_clicks = 5;
        s.fraud.address_burst_exempt = vec!["100.64.0.0/10".parse().unwrap()];
    })
    .await;
    let scripted = app.influencer("scripted").await;
    let carrier = app.influencer("carrier").await;
    let scripted_code = app.link(&scripted, "https://shop.example/").await;
    let carrier_code = app.link(&carrier, "https://shop.example/").await;

    // Act: 60 user agents from one address, through the trusted proxy
    for i in 0..60 {
        for (code, address) in [
            (&scripted_code, "198.51.100.7"),
            (&carrier_code, "100.64.3.4"),
        ] {
            app.client
                .get(app.url(&format!("/{code}")))
                .header("user-agent", format!("{BROWSER} build/{i}"))
                .header("x-forwarded-for", address)
                .send()
                .await
                .unwrap();
        }
    }

    // Assert
    let row = app.wait_for_clicks(&scripted, 5).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut row = row;
    while row["suspicious_clicks"] != 55 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        row = app.influencer_row(&scripted).await;
    }
    assert_eq!(
        (&row["clicks"], &row["suspicious_clicks"]),
        (&Value::from(5), &Value::from(55)),
        "{row}"
    );
    assert_eq!(row["unique_clicks"], 5, "suspicious clicks are no visitors");
    let carrier_row = app.wait_for_clicks(&carrier, 60).await;
    assert_eq!(
        (&carrier_row["clicks"], &carrier_row["suspicious_clicks"]),
        (&Value::from(60), &Value::from(0)),
        "{carrier_row}"
    );
}

/// Opens a connection to `app` and sends `head`, then one byte of body every 200 ms until the
/// server closes; returns what the server answered and when.
async fn dribble(app: &TestApp, head: String) -> (String, Duration) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let dribbler = tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(200));
        loop {
            interval.tick().await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), reader.read_to_end(&mut answer));
    // A reset after the answer is as good as a close.
    let _ = read.await.expect("the server closes the connection");
    dribbler.abort();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

fn post_head(path: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: reftrack\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn bodies_dribbled_past_the_deadline_get_408_while_redirects_keep_answering() {
    // Arrange
    let app = spawn_app_with(|s| s.http.body_timeout_secs = 1).await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    let bearer = format!("Authorization: Bearer {TOKEN}\r\n");
    let paths = [
        ("/webhooks/orders", ""),
        ("/webhooks/shopify", ""),
        ("/api/v1/influencers", bearer.as_str()),
    ];

    // Act: 20 slow bodies at once, and redirects while they dribble
    let slow = futures::future::join_all(
        (0..20).map(|i| dribble(&app, post_head(paths[i % 3].0, paths[i % 3].1))),
    );
    let redirects = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(app.click(&code, BROWSER).await.status().as_u16());
        }
        statuses
    };
    let (answers, statuses) = tokio::join!(slow, redirects);

    // Assert
    assert_eq!(statuses, [302, 302, 302]);
    for (answer, took) in answers {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains(r#""code":"body_timeout""#), "{answer}");
        assert!(answer.contains("http.body_timeout_secs"), "{answer}");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }
    let (_, influencers) = app.get_json("/api/v1/influencers").await;
    assert_eq!(influencers["influencers"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn headers_dribbled_past_the_deadline_are_cut_off() {
    // Arrange
    let app = spawn_app_with(|s| s.http.header_timeout_secs = 1).await;

    // Act: a request line, then header bytes that never end
    let (answer, took) = dribble(&app, "GET /healthz HTTP/1.1\r\nX-Slow: ".to_owned()).await;

    // Assert
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn slow_clients_beyond_a_workers_connection_cap_wait_and_are_freed_by_the_deadline() {
    // Arrange: one worker holding at most 4 connections, bodies due within 2 s; the admin
    // calls close their connections, so none holds a slot.
    let mut app = spawn_app_with(|s| {
        s.http.workers = 1;
        s.http.max_connections_per_worker = 4;
        s.http.body_timeout_secs = 2;
    })
    .await;
    app.client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act: four slow bodies take every slot; a redirect arrives while they dribble
    let slow =
        futures::future::join_all((0..4).map(|_| dribble(&app, post_head("/webhooks/orders", ""))));
    let redirect = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        let response = app
            .client
            .get(app.url(&format!("/{code}")))
            .header("user-agent", BROWSER)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), started.elapsed())
    };
    let (answers, (status, waited)) = tokio::join!(slow, redirect);

    // Assert: the redirect waited for a slot, and got one when the deadline freed them
    assert!(answers.iter().all(|(a, _)| a.starts_with("HTTP/1.1 408")));
    assert_eq!(status, 302);
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[tokio::test]
async fn headers_dribbled_or_stalled_on_a_kept_alive_connection_are_cut_off() {
    // Arrange
    let app = spawn_app_with(|s| s.http.header_timeout_secs = 1).await;
    let two_heads =
        "GET /healthz HTTP/1.1\r\nHost: reftrack\r\n\r\nGET /healthz HTTP/1.1\r\nX-Slow: ";

    // Act: one whole request, then a second whose header bytes never end
    let (dribbled, dribbled_took) = dribble(&app, two_heads.to_owned()).await;
    // and one whose header bytes stop
    let started = Instant::now();
    let mut stalled = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stalled.write_all(two_heads.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(15), stalled.read_to_end(&mut answer));
    let _ = closed.await.expect("the server closes the connection");
    let stalled_took = started.elapsed();

    // Assert: each first request was answered, then the connection was cut
    for (case, answer, took) in [
        ("dribbled", dribbled, dribbled_took),
        (
            "stalled",
            String::from_utf8_lossy(&answer).into_owned(),
            stalled_took,
        ),
    ] {
        assert!(answer.starts_with("HTTP/1.1 200"), "{case}: {answer}");
        assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{case}: {answer}");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{case}: {took:?}"
        );
    }
}
