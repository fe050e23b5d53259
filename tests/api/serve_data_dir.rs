//! `reftrack serve` in its data directory: the admin token kept there, one server per
//! directory, and the private redis-server left behind by a server that was killed.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{TOKEN, wait_until};
use crate::serve::{create_link, no_redirects, reftrack, start, start_with, terminate};

fn redis_answers(dir: &std::path::Path) -> bool {
    let socket = dir.join("data/redis.sock");
    redis::Client::open(format!("redis+unix://{}", socket.display()))
        .and_then(|c| c.get_connection())
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
        .is_ok()
}

async fn influencers(base: &str, token: &str) -> u16 {
    no_redirects()
        .get(format!("{base}/api/v1/influencers"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_generated_token_is_kept_owner_only_in_the_data_directory_and_reused_after_a_restart() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let mut command = reftrack();
    command.current_dir(dir.path());
    let (mut first, _, printed) = start(command);
    assert!(terminate(&mut first).success());
    assert_eq!(printed, None, "not printed where output may be logged");
    let file = dir.path().join("data/admin_token");
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();

    // Act
    let mut command = reftrack();
    command.current_dir(dir.path());
    let (mut second, base, again) = start(command);
    let status = influencers(&base, &token).await;
    assert!(terminate(&mut second).success());

    // Assert
    assert_eq!(again, None);
    assert_eq!(status, 200);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim(),
        token,
        "reused"
    );
    assert_eq!(
        reftrack::cli::token_file(&dir.path().join("data")),
        file,
        "the CLI finds the token where serve keeps it"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn serve_token_sets_the_admin_token_and_a_short_one_is_refused() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let mut command = reftrack();
    command.current_dir(dir.path());

    // Act
    let (mut child, base, printed) = start_with(command, &["serve", "--token", TOKEN]);
    let accepted = influencers(&base, TOKEN).await;
    assert!(terminate(&mut child).success());
    let short = reftrack()
        .current_dir(dir.path())
        .args(["serve", "--token", "short"])
        .output()
        .unwrap();

    // Assert
    assert_eq!(printed, None, "a token given is not printed");
    assert_eq!(accepted, 200);
    assert_eq!(short.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(stderr.contains("--token"), "{stderr}");
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
}

#[tokio::test]
async fn a_second_server_in_the_same_folder_names_the_first_and_leaves_its_redis_alone() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let mut command = reftrack();
    command
        .current_dir(dir.path())
        .env("REFTRACK_ADMIN__TOKEN", TOKEN);
    let (mut first, base, _) = start(command);

    // Act
    let second = reftrack()
        .current_dir(dir.path())
        .env("REFTRACK_ADMIN__TOKEN", TOKEN)
        .arg("serve")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let first_still_serves = influencers(&base, TOKEN).await;
    let exit = terminate(&mut first);

    // Assert
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!("another reftrack (pid {}) is running", first.id())),
        "{stderr}"
    );
    assert!(stderr.contains("REFTRACK_REDIS__DATA_DIR"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("shutdown"), "{stderr}");
    assert_eq!(first_still_serves, 200);
    assert!(exit.success());
}

#[tokio::test]
async fn after_kill_9_the_orphaned_redis_server_is_stopped_and_the_next_start_keeps_the_data() {
    // Arrange: a server with a link, killed so that its redis-server child outlives it
    let dir = tempfile::tempdir().unwrap();
    let mut command = reftrack();
    command
        .current_dir(dir.path())
        .env("REFTRACK_ADMIN__TOKEN", TOKEN);
    let (mut killed, base, _) = start(command);
    let (_, code) = create_link(&no_redirects(), &base, TOKEN).await;
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(redis_answers(dir.path()), "the orphan is still running");

    // Act
    let mut command = reftrack();
    command
        .current_dir(dir.path())
        .env("REFTRACK_ADMIN__TOKEN", TOKEN);
    let (mut next, base, _) = start(command);
    let redirect = no_redirects()
        .get(format!("{base}/{code}"))
        .send()
        .await
        .unwrap();
    let link: Value = no_redirects()
        .get(format!("{base}/api/v1/links/{code}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exit = terminate(&mut next);

    // Assert
    assert_eq!(redirect.status().as_u16(), 302);
    assert_eq!(link["code"], code.as_str());
    assert!(exit.success());
    wait_until(
        "the private redis-server stops",
        Duration::from_secs(10),
        || !redis_answers(dir.path()),
    );
}

#[test]
fn a_spool_directory_that_cannot_be_written_stops_start_up_with_the_path_and_the_fix() {
    // Arrange: a spool path under a regular file (the tests run as root, whom modes do
    // not stop)
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("not-a-dir"), b"").unwrap();
    let spool = dir.path().join("not-a-dir/spool");

    // Act
    let output = reftrack()
        .current_dir(dir.path())
        .env("REFTRACK_ADMIN__TOKEN", TOKEN)
        .env("REFTRACK_CLICKS__SPOOL_DIR", &spool)
        .arg("serve")
        .output()
        .unwrap();

    // Assert
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&spool.display().to_string()), "{stderr}");
    assert!(stderr.contains("REFTRACK_CLICKS__SPOOL_DIR"), "{stderr}");
    assert!(stderr.contains("chown"), "{stderr}");
}

#[tokio::test]
async fn a_host_name_is_accepted_as_the_bind_address() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let mut command = reftrack();
    command
        .current_dir(dir.path())
        .env("REFTRACK_ADMIN__TOKEN", TOKEN)
        .env("REFTRACK_HTTP__BIND", "localhost:0");

    // Act
    let (mut child, base, _) = start(command);
    let status = influencers(&base, TOKEN).await;

    // Assert
    assert_eq!(status, 200);
    assert!(terminate(&mut child).success());
}

#[tokio::test]
async fn serve_ignores_the_admin_commands_reftrack_token() {
    // Arrange: a shell where REFTRACK_TOKEN is set for the CLI
    let dir = tempfile::tempdir().unwrap();
    let mut command = reftrack();
    command
        .current_dir(dir.path())
        .env("REFTRACK_TOKEN", "a-report-token-of-the-cli-0123");

    // Act
    let (mut child, base, _) = start(command);
    let with_cli_token = influencers(&base, "a-report-token-of-the-cli-0123").await;
    let kept = std::fs::read_to_string(dir.path().join("data/admin_token")).unwrap();
    let with_kept_token = influencers(&base, kept.trim()).await;
    assert!(terminate(&mut child).success());

    // Assert: the server's token is its own, not the CLI's
    assert_eq!((with_cli_token, with_kept_token), (401, 200));
}
