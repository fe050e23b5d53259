//! Test harness: a private redis-server per test, the application started on port 0, and
//! helpers that speak the admin API.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reftrack::config::Settings;
use reftrack::startup::Application;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-admin-token-0123456789";

/// A `redis-server` of the test's own, listening on a Unix socket in a temporary directory,
/// killed when dropped.
pub struct TestRedis {
    child: Child,
    dir: TempDir,
}

impl TestRedis {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(dir.path().join("redis.sock"))
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect(
                "redis-server must be installed to run the tests (apt-get install redis-server)",
            );
        let redis = Self { child, dir };
        wait_until("redis-server answers PING", Duration::from_secs(10), || {
            redis.ping()
        });
        redis
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("connecting to the test redis-server")
    }

    fn ping(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
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
    let vars = [
        ("REFTRACK_HTTP__BIND", "127.0.0.1:0".to_owned()),
        ("REFTRACK_HTTP__WORKERS", "2".to_owned()),
        ("REFTRACK_REDIS__URL", redis.url()),
        ("REFTRACK_ADMIN__TOKEN", TOKEN.to_owned()),
        ("REFTRACK_CLICKS__FLUSH_INTERVAL_MS", "20".to_owned()),
        ("REFTRACK_LOG__LEVEL", "warn".to_owned()),
    ];
    Settings::load_from(None, vars.map(|(k, v)| (k.to_owned(), v)))
        .expect("test settings are valid")
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub redis: TestRedis,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let redis = TestRedis::start();
    let mut settings = test_settings(&redis);
    configure(&mut settings);
    let app = Application::build(&settings)
        .await
        .expect("application builds");
    let address = format!("http://{}", app.address());
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    TestApp {
        address,
        client,
        redis,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
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
        self.client
            .get(self.url(&format!("/{code}")))
            .header("user-agent", user_agent)
            .send()
            .await
            .expect("request sent")
    }

    /// This influencer's row in today's report.
    pub async fn influencer_row(&self, influencer_id: &str) -> Value {
        let (status, report) = self.get_json("/api/v1/reports/influencers").await;
        assert_eq!(status, 200, "{report}");
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["influencer_id"] == influencer_id)
            .cloned()
            .expect("the influencer has a row")
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

/// A file of `tests/fixtures/` (real-format payloads; provenance in its README).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
