//! The `reftrack serve` binary as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{BROWSER, TOKEN, TestRedis, wait_until};

pub fn reftrack() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reftrack"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("REFTRACK_HTTP__BIND", "127.0.0.1:0")
        .env("REFTRACK_LOG__LEVEL", "warn")
        .env("REFTRACK_FRAUD__REPEAT_WINDOW_SECS", "0")
        .env("REFTRACK_FRAUD__BURST_MAX_CLICKS", "1000000000");
    command
}

/// Starts `reftrack serve` and reads its start-up lines until it says where it listens.
/// Returns the child, the base URL and the admin token it printed, if any.
pub fn start(command: Command) -> (Child, String, Option<String>) {
    start_with(command, &["serve"])
}

/// As [`start`], with the command line's arguments.
pub fn start_with(mut command: Command, args: &[&str]) -> (Child, String, Option<String>) {
    let mut child = command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the reftrack binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut token = None;
    let mut previous_was_token_intro = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if previous_was_token_intro && !line.trim().is_empty() {
            token = Some(line.trim().to_owned());
            previous_was_token_intro = false;
        } else if line.ends_with("The admin token is:") {
            previous_was_token_intro = true;
        }
        if let Some(rest) = line.strip_prefix("reftrack is serving on ") {
            let url = rest.split_whitespace().next().unwrap().to_owned();
            std::thread::spawn(move || lines.for_each(drop));
            return (child, url, token);
        }
    }
    panic!("reftrack exited before serving: {:?}", child.wait());
}

pub fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exit = None;
    wait_until("reftrack exits", Duration::from_secs(20), || {
        exit = child.try_wait().unwrap();
        exit.is_some()
    });
    exit.unwrap()
}

pub async fn create_link(client: &reqwest::Client, base: &str, token: &str) -> (String, String) {
    let influencer: Value = client
        .post(format!("{base}/api/v1/influencers"))
        .bearer_auth(token)
        .json(&json!({"handle": "alice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = influencer["id"].as_str().unwrap().to_owned();
    let link: Value = client
        .post(format!("{base}/api/v1/links"))
        .bearer_auth(token)
        .json(&json!({"influencer_id": id, "destination": "https://shop.example/"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (id, link["code"].as_str().unwrap().to_owned())
}

pub fn no_redirects() -> reqwest::Client {
    crate::helpers::http_client()
}

#[tokio::test]
async fn sigterm_writes_every_buffered_click_before_exit() {
    // Arrange: a flush interval so long that only the shutdown flush can write the clicks.
    let redis = TestRedis::start();
    let mut command = reftrack();
    command
        .envs(redis.env())
        .env("REFTRACK_CLICKS__SPOOL_DIR", redis.dir().join("spool"))
        .env("REFTRACK_ADMIN__TOKEN", TOKEN)
        .env("REFTRACK_CLICKS__FLUSH_INTERVAL_MS", "600000");
    let (mut child, base, _) = start(command);
    let client = no_redirects();
    let (influencer, code) = create_link(&client, &base, TOKEN).await;
    let responses = join_all((0..200).map(|_| {
        client
            .get(format!("{base}/{code}"))
            .header("user-agent", BROWSER)
            .send()
    }))
    .await;
    assert!(
        responses
            .iter()
            .all(|r| r.as_ref().unwrap().status().as_u16() == 302)
    );

    // Act
    let status = terminate(&mut child);

    // Assert
    assert!(status.success(), "{status}");
    let mut conn = redis.connection();
    let key = reftrack::store::Keys::new("rt")
        .click_counts(reftrack::store::Owner::Influencer(&influencer));
    let day = chrono::Utc::now().format("h:d:%Y%m%d").to_string();
    let counted: u64 = redis::cmd("HGET")
        .arg(&key)
        .arg(&day)
        .query(&mut conn)
        .unwrap();
    assert_eq!(counted, 200);
}

#[tokio::test]
async fn kill_9_in_durable_mode_loses_no_click_that_was_answered() {
    // Arrange
    let redis = TestRedis::start();
    let mut command = reftrack();
    command
        .envs(redis.env())
        .env("REFTRACK_CLICKS__SPOOL_DIR", redis.dir().join("spool"))
        .env("REFTRACK_ADMIN__TOKEN", TOKEN)
        .env("REFTRACK_CLICKS__DURABLE_REDIRECTS", "true");
    let (mut child, base, _) = start(command);
    let client = no_redirects();
    let (influencer, code) = create_link(&client, &base, TOKEN).await;

    // Act: clicks from many followers at once, then kill -9 the moment they are answered
    let responses = join_all((0..300).map(|_| {
        client
            .get(format!("{base}/{code}"))
            .header("user-agent", BROWSER)
            .send()
    }))
    .await;
    child.kill().unwrap();
    child.wait().unwrap();

    // Assert
    let answered = responses
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|r| r.status().as_u16() == 302))
        .count();
    assert_eq!(answered, 300);
    let counted: u64 = redis::cmd("HGET")
        .arg(
            reftrack::store::Keys::new("rt")
                .click_counts(reftrack::store::Owner::Influencer(&influencer)),
        )
        .arg(chrono::Utc::now().format("h:d:%Y%m%d").to_string())
        .query(&mut redis.connection())
        .unwrap();
    assert_eq!(counted, 300);
}

#[tokio::test]
async fn serve_without_a_redis_url_runs_a_private_redis_server_and_keeps_a_token_in_its_data() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let mut command = reftrack();
    command.current_dir(dir.path());

    // Act
    let (mut child, base, printed) = start(command);
    assert_eq!(printed, None, "no token printed where output may be logged");
    let token = std::fs::read_to_string(dir.path().join("data/admin_token")).unwrap();
    let token = token.trim().to_owned();
    let client = no_redirects();
    let (_, code) = create_link(&client, &base, &token).await;
    let redirect = client.get(format!("{base}/{code}")).send().await.unwrap();
    let status = terminate(&mut child);

    // Assert
    assert!(token.len() >= 32);
    assert_eq!(redirect.status().as_u16(), 302);
    assert!(status.success(), "{status}");
    assert!(
        dir.path().join("data/appendonlydir").is_dir(),
        "AOF is on under ./data"
    );
    let socket = dir.path().join("data/redis.sock");
    let stopped = redis::Client::open(format!("redis+unix://{}", socket.display()))
        .and_then(|c| c.get_connection())
        .is_err();
    assert!(stopped, "the private redis-server is stopped on exit");
}

#[test]
fn serve_explains_how_to_install_redis_when_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();

    let output = reftrack()
        .current_dir(dir.path())
        .env("PATH", dir.path())
        .arg("serve")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("redis-server is not installed"), "{stderr}");
    assert!(stderr.contains("apt-get install redis-server"), "{stderr}");
    assert!(stderr.contains("REFTRACK_REDIS__URL"), "{stderr}");
}

#[test]
fn bad_configuration_stops_start_up_with_a_message_naming_the_key() {
    let cases = [
        ("REFTRACK_HTTP__BIND", "localhost", "http.bind"),
        (
            "REFTRACK_CLICKS__DURABLE_REDIRECTS",
            "sometimes",
            "clicks.durable_redirects",
        ),
        ("REFTRACK_HTTP__PUBLIC_URL", "not a url", "http.public_url"),
        ("REFTRACK_REDIS__TIMEOUT_MS", "0", "redis.timeout_ms"),
        (
            "REFTRACK_HTTP__TRUSTED_PROXIES",
            "10.0.0.0/8,nonsense",
            "http.trusted_proxies",
        ),
        ("REFTRACK_CLICKS__NOT_A_SETTING", "1", "not_a_setting"),
        ("REFTRACK_LOG__LEVEL", "verbose", "log.level"),
        (
            "REFTRACK_ATTRIBUTION__PRIORITY",
            "both",
            "attribution.priority",
        ),
        ("REFTRACK_LOG__FORMAT", "yaml", "log.format"),
    ];

    for (var, value, key) in cases {
        let output = reftrack().env(var, value).arg("serve").output().unwrap();

        assert_eq!(output.status.code(), Some(2), "{var}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(key), "{var}={value}: {stderr}");
        if value.chars().all(char::is_alphabetic) {
            assert!(stderr.contains(value), "{var}={value}: {stderr}");
        }
        assert!(!stderr.contains("variant"), "{var}={value}: {stderr}");
    }
}

#[test]
fn a_missing_config_file_is_reported() {
    let output = reftrack()
        .args(["serve", "--config", "/nonexistent/reftrack.toml"])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/reftrack.toml"));
}
