//! Test harness: a private Redis per test (see [`TestRedis`]), the application started on
//! port 0, and helpers that speak the admin API (signed webhook deliveries and fixtures in
//! [`webhooks`]).

use std::time::{Duration, Instant};

use reftrack::config::Settings;
use reftrack::domain::ClickId;
use reftrack::startup::Application;
use reftrack::store::click_records::{self, ClickRecord};
use reftrack::store::{Keys, RedisTarget, Store};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::test_redis::TestRedis;
pub use webhooks::*;

mod webhooks;

pub const TOKEN: &str = "test-admin-token-0123456789";

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Polls `condition` until it holds, failing the test after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Settings for a test: the test's Redis, port 0, a known token, fast flushes.
pub fn test_settings(redis: &TestRedis) -> Settings {
    let [url, cluster] = redis.env();
    let vars = [
        url,
        cluster,
        ("REFTRACK_HTTP__BIND", "127.0.0.1:0".to_owned()),
        ("REFTRACK_HTTP__WORKERS", "2".to_owned()),
        ("REFTRACK_ADMIN__TOKEN", TOKEN.to_owned()),
        ("REFTRACK_CLICKS__FLUSH_INTERVAL_MS", "20".to_owned()),
        // Longer than a flush, so records land before their counts as in production.
        ("REFTRACK_CLICKS__COUNT_INTERVAL_MS", "100".to_owned()),
        ("REFTRACK_LOG__LEVEL", "warn".to_owned()),
        // Tests click one link many times from one address and browser: off unless a test
        // of the fraud heuristics turns them on.
        ("REFTRACK_FRAUD__REPEAT_WINDOW_SECS", "0".to_owned()),
        ("REFTRACK_FRAUD__BURST_MAX_CLICKS", "1000000000".to_owned()),
        (
            "REFTRACK_CLICKS__SPOOL_DIR",
            redis.dir().join("spool").display().to_string(),
        ),
        (
            "REFTRACK_WEBHOOKS__SHOPIFY_SECRET",
            SHOPIFY_SECRET.to_owned(),
        ),
        (
            "REFTRACK_WEBHOOKS__WOOCOMMERCE_SECRET",
            WOO_SECRET.to_owned(),
        ),
        ("REFTRACK_WEBHOOKS__STRIPE_SECRET", STRIPE_SECRET.to_owned()),
        (
            "REFTRACK_WEBHOOKS__GENERIC_SECRET",
            GENERIC_SECRET.to_owned(),
        ),
    ];
    Settings::load_from(None, vars.map(|(k, v)| (k.to_owned(), v)))
        .expect("test settings are valid")
}

pub struct TestApp {
    pub address: String,
    /// `http://host:port` of `/metrics` when `http.metrics_bind` moves it off `address`.
    pub metrics_address: Option<String>,
    /// `http://host:port` of the API when `http.api_bind` moves it off `address`.
    pub api_address: Option<String>,
    pub client: reqwest::Client,
    pub redis: TestRedis,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The tests' HTTP client: redirects are answers to check, not to follow; and a pooled
/// connection is dropped after a second idle, well before the server closes one (a kept-alive
/// connection idle for `http.header_timeout_secs`, 5 s): a request sent on a connection the
/// server is closing fails with `IncompleteMessage`, which a test would take for the server's
/// fault.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(1))
        .build()
        .expect("HTTP client")
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(TestRedis::start(), configure).await
}

/// Starts the application on a Redis the test chose.
pub async fn spawn_app_on(redis: TestRedis, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&redis);
    configure(&mut settings);
    let app = Application::build(&settings)
        .await
        .expect("application builds");
    let address = format!("http://{}", app.address());
    let metrics_address = app.metrics_address().map(|a| format!("http://{a}"));
    let api_address = app.api_address().map(|a| format!("http://{a}"));
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = http_client();
    TestApp {
        address,
        metrics_address,
        api_address,
        client,
        redis,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

/// A second reftrack process over the same Redis, as another replica behind a load balancer.
pub struct Replica {
    pub address: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl TestApp {
    /// A store of its own on the app's Redis, as another replica's would be.
    pub async fn store(&self) -> Store {
        let url = self.redis.url();
        let target = RedisTarget {
            urls: url.split(',').collect(),
            cluster: self.redis.is_cluster(),
            timeout: Duration::from_secs(5),
            wait_replicas: 0,
            ca_file: std::path::Path::new(""),
        };
        Store::connect(&target, "rt").await.unwrap()
    }

    /// Starts another server on this app's Redis.
    pub async fn replica(&self) -> Replica {
        self.replica_with(|_| {}).await
    }

    /// Starts another server on this app's Redis, with changed settings.
    pub async fn replica_with(&self, configure: impl FnOnce(&mut Settings)) -> Replica {
        let mut settings = test_settings(&self.redis);
        configure(&mut settings);
        let app = Application::build(&settings).await.expect("replica builds");
        let address = format!("http://{}", app.address());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Replica {
            address,
            shutdown: Some(shutdown),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `path` on the server's API: its own listener with `http.api_bind`, else `address`.
    pub fn api_url(&self, path: &str) -> String {
        let base = self.api_address.as_ref().unwrap_or(&self.address);
        format!("{base}{path}")
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.api_url(path))
            .bearer_auth(TOKEN)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.admin(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.admin(reqwest::Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Changes link `code`'s destination through the admin API.
    pub async fn change_destination(&self, code: &str, destination: &str) -> reqwest::Response {
        self.patch_json(
            &format!("/api/v1/links/{code}"),
            &serde_json::json!({ "destination": destination }),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.admin(reqwest::Method::DELETE, path)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self
            .admin(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Creates an influencer and returns its id.
    pub async fn influencer(&self, handle: &str) -> String {
        let response = self
            .post_json("/api/v1/influencers", &json!({"handle": handle}))
            .await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Creates an influencer with a commission rule (`{"percent": ..}`, `{"flat": ..}` or
    /// `null`) and returns its id.
    pub async fn influencer_with(&self, handle: &str, commission: Value) -> String {
        let response = self
            .post_json(
                "/api/v1/influencers",
                &json!({"handle": handle, "commission": commission}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a campaign and returns its id.
    pub async fn campaign(&self, body: &Value) -> String {
        let response = self.post_json("/api/v1/campaigns", body).await;
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a link and returns its code.
    pub async fn link(&self, influencer_id: &str, destination: &str) -> String {
        let response = self
            .post_json(
                "/api/v1/links",
                &json!({"influencer_id": influencer_id, "destination": destination}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.unwrap();
        body["code"].as_str().unwrap().to_owned()
    }

    /// Follows a referral link as a browser with the given user agent would.
    pub async fn click(&self, code: &str, user_agent: &str) -> reqwest::Response {
        self.click_via(&self.address, code, user_agent).await
    }

    /// Follows a referral link through the server at `base` (this app or a replica).
    pub async fn click_via(&self, base: &str, code: &str, user_agent: &str) -> reqwest::Response {
        self.client
            .get(format!("{base}/{code}"))
            .header("user-agent", user_agent)
            .send()
            .await
            .expect("request sent")
    }

    /// Follows a link as a browser and returns the click id stamped on the destination.
    pub async fn click_id(&self, code: &str) -> String {
        let response = self.click(code, BROWSER).await;
        assert_eq!(response.status().as_u16(), 302);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "rtclid")
            .map(|(_, v)| v.into_owned())
            .expect("the destination carries rtclid")
    }

    /// A click's record as reftrack keeps it in Redis (once the flusher has written it), and
    /// how many seconds Redis keeps its block.
    pub fn click_record(&self, click_id: &str) -> Option<(ClickRecord, i64)> {
        let id = ClickId::parse(click_id).expect("a click id");
        let (block, offset) = click_records::slot_of(&id);
        let key = Keys::new("rt").click_block(id.space(), block);
        let mut redis = self.redis.connection();
        let slot: Vec<u8> = redis::cmd("GETRANGE")
            .arg(&key)
            .arg(offset)
            .arg(offset + click_records::RECORD_LEN - 1)
            .query(&mut redis)
            .expect("GETRANGE of a click block");
        let record = click_records::decode(&id, &slot)?;
        let ttl: i64 = redis::cmd("TTL").arg(&key).query(&mut redis).unwrap();
        Some((record, ttl))
    }

    /// The orders listed for an influencer id (or `unattributed`).
    pub async fn orders_of(&self, influencer: &str) -> Vec<Value> {
        let (status, body) = self
            .get_json(&format!("/api/v1/orders?influencer_id={influencer}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body["orders"].as_array().unwrap().clone()
    }

    /// The report row of unattributed orders.
    pub async fn unattributed_row(&self) -> Value {
        let (status, report) = self.get_json("/api/v1/reports/influencers").await;
        assert_eq!(status, 200, "{report}");
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["influencer_id"].is_null())
            .cloned()
            .expect("the report has an unattributed row")
    }

    /// This influencer's row in the default report (the last 30 days).
    pub async fn influencer_row(&self, influencer_id: &str) -> Value {
        self.influencer_row_over(influencer_id, "").await
    }

    /// This influencer's row in the report with `query` (`?from=...&to=...`, or empty).
    pub async fn influencer_row_over(&self, influencer_id: &str, query: &str) -> Value {
        let (status, report) = self
            .get_json(&format!("/api/v1/reports/influencers{query}"))
            .await;
        assert_eq!(status, 200, "{report}");
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["influencer_id"] == influencer_id)
            .cloned()
            .expect("the influencer has a row")
    }

    /// The whole of `/metrics`, as Prometheus reads it.
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("request sent")
            .text()
            .await
            .expect("a body")
    }

    /// A metric's value from `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        self.metric_at(&self.address, name).await
    }

    /// A metric's value from the `/metrics` of the server at `base` (this app or another
    /// process on the same Redis; 0 when absent).
    pub async fn metric_at(&self, base: &str, name: &str) -> f64 {
        let text = self
            .client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("request sent")
            .text()
            .await
            .expect("a body");
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Waits until metric `name` holds `holds`, and returns its value then.
    pub async fn wait_for_metric(&self, name: &str, holds: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let value = self.metric(name).await;
            if holds(value) {
                return value;
            }
            assert!(Instant::now() < deadline, "{name} stayed at {value}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The human clicks of the first row of the influencer report served at `address` (this
    /// app's or another process's on the same Redis), once they reach `clicks` or ten
    /// seconds have passed.
    pub async fn first_row_clicks_at(&self, address: &str, clicks: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let report: Value = self
                .client
                .get(format!("{address}/api/v1/reports/influencers"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let seen = report["rows"][0]["clicks"].clone();
            if seen == clicks || Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the influencer's report row shows `clicks` human clicks.
    pub async fn wait_for_clicks(&self, influencer_id: &str, clicks: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let row = self.influencer_row(influencer_id).await;
            if row["clicks"].as_u64() == Some(clicks) || Instant::now() > deadline {
                return row;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server the way SIGTERM does, waiting for buffered clicks to be written.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}

pub const BROWSER: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
