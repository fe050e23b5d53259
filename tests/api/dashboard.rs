//! The dashboard in a real headless browser (Debian's chromium driven through chromedriver):
//! sign in, read a known influencer's figures, see the chart, create an influencer and a link.
//!
//! The browser tests are `#[ignore]`d, so a plain `cargo test` reports them as ignored rather
//! than passing tests that did not run; `cargo test -- --include-ignored` runs them, and
//! then a missing chromium or chromedriver fails them. CI (`.ci/run`) installs both and runs
//! them, on a single Redis and on a cluster.

use std::net::TcpListener;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::helpers::{TOKEN, TestApp, spawn_app};

pub struct Browser {
    pub client: Client,
    driver: Child,
}

/// chromedriver runs in a process group of its own with the browsers it starts; ending the
/// group ends them all, even when a failed test never closed its session.
impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

pub async fn browser() -> Browser {
    browser_with_prefs(json!({})).await
}

/// A browser that saves downloads into `folder` without asking, so a test can read the bytes
/// a user would get.
pub async fn browser_downloading_to(folder: &std::path::Path) -> Browser {
    browser_with_prefs(json!({
        "download.default_directory": folder.display().to_string(),
        "download.prompt_for_download": false,
        "download.directory_upgrade": true,
    }))
    .await
}

/// A browser with chromium's preferences `prefs` (an object).
async fn browser_with_prefs(prefs: Value) -> Browser {
    let driver_path = which("chromedriver").expect(
        "chromedriver is required to run the browser tests (apt-get install chromium \
         chromium-driver)",
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let driver = Command::new(driver_path)
        .arg(format!("--port={port}"))
        .kill_on_drop(true)
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1100"],
        "prefs": prefs,
    });
    if let Ok(chromium) = which("chromium") {
        options["binary"] = chromium.into();
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    for _ in 0..100 {
        // chromedriver speaks plain HTTP on localhost: no TLS stack needed.
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        if let Ok(client) = connected {
            return Browser { client, driver };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start a browser session");
}

fn which(program: &str) -> Result<String, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .map(|path| path.display().to_string())
        .ok_or(())
}

/// The element's text once it is there; an element replaced as it is read (a view
/// re-rendering as its data arrives) is found and read again.
pub async fn element_text(client: &Client, css: &str) -> String {
    for _ in 0..100 {
        let element = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        if let Ok(text) = element.text().await {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{css} kept being replaced");
}

pub async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

pub async fn press(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

pub async fn sign_in(client: &Client, app: &TestApp, token: &str) {
    client.goto(&app.url("/dashboard")).await.unwrap();
    fill(client, "token", token).await;
    press(client, "#sign-in-form button").await;
}

/// Alice (10 %, a click on her Spring campaign link and an 80.00 order from it) and bea (a
/// click on a link outside any campaign and a 25.00 gifted product). Returns the ids of alice,
/// bea and the campaign.
pub async fn known_figures(app: &TestApp) -> (String, String, String) {
    let alice = app.influencer_with("alice", json!({"percent": "10"})).await;
    let spring = app
        .campaign(&json!({"name": "Spring", "currency": "USD"}))
        .await;
    let link: Value = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": alice, "destination": "https://shop.example/p", "campaign_id": spring}),
        )
        .await
        .json()
        .await
        .unwrap();
    let click_id = app.click_id(link["code"].as_str().unwrap()).await;
    app.wait_for_clicks(&alice, 1).await;
    let order = json!({"event": "order.created", "order_id": "W-1", "amount": "80.00",
                       "currency": "USD", "click_id": click_id});
    assert_eq!(app.generic(&order).await.status().as_u16(), 200);

    let bea = app.influencer("bakery.bea").await;
    let bea_code = app.link(&bea, "https://shop.example/bea").await;
    app.click_id(&bea_code).await;
    app.wait_for_clicks(&bea, 1).await;
    let gift = json!({"amount": "25.00", "currency": "USD", "kind": "gifted_product",
                      "date": chrono::Utc::now().date_naive().to_string()});
    app.post_json(&format!("/api/v1/influencers/{bea}/costs"), &gift)
        .await;

    (alice, bea, spring)
}

#[tokio::test]
#[ignore = "drives chromium through chromedriver; run with cargo test -- --include-ignored (CI does)"]
async fn a_marketer_signs_in_and_reads_figures_chart_and_campaign() {
    let browser = browser().await;
    let client = &browser.client;
    // Arrange
    let app = spawn_app().await;
    let (alice, _bea, spring) = known_figures(&app).await;

    // Act: sign in
    sign_in(client, &app, TOKEN).await;

    // Assert: alice's row and the chart
    let row = element_text(client, &format!("tr[data-influencer='{alice}']")).await;
    for figure in ["@alice", "80.00", "8.00", "72.00"] {
        assert!(row.contains(figure), "{figure} in {row}");
    }
    let body = element_text(client, "#report tbody").await;
    let (alice_at, bea_at) = (
        body.find("@alice").unwrap(),
        body.find("@bakery.bea").unwrap(),
    );
    assert!(alice_at < bea_at, "best ROI first: {body}");
    assert!(body.contains("-25.00"), "bea's loss: {body}");
    press(client, &format!("tr[data-influencer='{alice}'] a")).await;
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#chart rect"))
        .await
        .unwrap();
    let bars = client.find_all(Locator::Css("#chart rect")).await.unwrap();
    assert_eq!(bars.len(), 30, "one bar per day of the default range");

    // Act: back to the overview, limited to the Spring campaign
    press(client, "#nav a[data-view='overview']").await;
    element_text(client, &format!("tr[data-influencer='{alice}']")).await;
    client
        .find(Locator::Id("campaign"))
        .await
        .unwrap()
        .select_by_value(&spring)
        .await
        .unwrap();

    // Assert: bea has nothing in it and leaves the table; alice stays
    let mut body = String::new();
    for _ in 0..100 {
        body = element_text(client, "#report tbody").await;
        if !body.contains("@bakery.bea") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !body.contains("@bakery.bea") && body.contains("@alice"),
        "{body}"
    );

    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
#[ignore = "drives chromium through chromedriver; run with cargo test -- --include-ignored (CI does)"]
async fn a_marketer_creates_an_influencer_and_a_link_and_gets_its_short_url() {
    let browser = browser().await;
    let client = &browser.client;
    // Arrange
    let app = spawn_app().await;
    sign_in(client, &app, TOKEN).await;
    element_text(client, "#report tbody").await;
    press(client, "#nav a[data-view='influencers']").await;

    // Act: create bob, then a link for him
    fill(client, "handle", "@bob").await;
    fill(client, "percent", "5").await;
    press(client, "#new-influencer button").await;
    let bob_option = client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//select[@id='link-influencer']/option[text()='@bob']",
        ))
        .await
        .unwrap();
    let bob = bob_option.attr("value").await.unwrap().unwrap();
    client
        .find(Locator::Id("link-influencer"))
        .await
        .unwrap()
        .select_by_value(&bob)
        .await
        .unwrap();
    fill(client, "destination", "https://shop.example/bob").await;
    press(client, "#new-link button").await;
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#short-url-row:not([hidden])"))
        .await
        .unwrap();
    let short_url = client
        .find(Locator::Id("short-url"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();

    // Assert: the link exists, belongs to bob, and redirects
    let code = short_url
        .strip_prefix(&format!("{}/", app.address))
        .unwrap_or_else(|| panic!("{short_url}"));
    let (status, link) = app.get_json(&format!("/api/v1/links/{code}")).await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["influencer_id"], bob.as_str());
    assert_eq!(link["destination"], "https://shop.example/bob");
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
#[ignore = "drives chromium through chromedriver; run with cargo test -- --include-ignored (CI does)"]
async fn a_wrong_token_is_refused_on_the_sign_in_page() {
    let browser = browser().await;
    let app = spawn_app().await;

    // Act
    sign_in(&browser.client, &app, "not-the-admin-token").await;

    // Assert
    client_waits_for_text(&browser.client, "#sign-in-error", "The token was refused.").await;
    let app_hidden = browser
        .client
        .find(Locator::Id("app"))
        .await
        .unwrap()
        .attr("hidden")
        .await
        .unwrap();
    assert!(app_hidden.is_some(), "the data stays hidden");
    browser.client.clone().close().await.unwrap();
}

pub async fn client_waits_for_text(client: &Client, css: &str, expected: &str) {
    for _ in 0..100 {
        if element_text(client, css).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never said {expected:?}");
}

#[tokio::test]
async fn the_dashboard_is_served_with_a_strict_content_security_policy() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let page = app.client.get(app.url("/dashboard")).send().await.unwrap();
    let script = app
        .client
        .get(app.url("/dashboard/app.js"))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let html = page.text().await.unwrap();
    for outside in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!html.contains(outside), "no outside assets: {outside}");
    }
}
