//! The command line tests' one way to run the real binary: in an empty folder, with only the
//! environment given (plus PATH), so no token from the test's own environment or folder leaks
//! in, and the server's address in `REFTRACK_URL`.

use serde_json::Value;
use tokio::process::Command;

use crate::helpers::{TOKEN, TestApp};

pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The standard output as JSON (the command ran with `--json`).
    pub fn json(&self) -> Value {
        assert!(self.success, "{}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// Runs `reftrack args` against `url` with only `env` (and PATH) set.
pub async fn run(url: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
    let folder = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_reftrack"))
        .args(args)
        .current_dir(folder.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("REFTRACK_URL", url)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("the reftrack binary runs");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `reftrack args` against the test server with the admin token.
pub async fn reftrack(app: &TestApp, args: &[&str]) -> Run {
    reftrack_as(app, TOKEN, args).await
}

/// Runs `reftrack args` against the test server with `token` in `REFTRACK_TOKEN`.
pub async fn reftrack_as(app: &TestApp, token: &str, args: &[&str]) -> Run {
    run(&app.address, &[("REFTRACK_TOKEN", token)], args).await
}
