//! Where the server is and how to sign in, for every command but `serve`: the URL, and the
//! admin token from `--token`, `REFTRACK_TOKEN`, the server's own `REFTRACK_ADMIN__TOKEN`, or
//! the token file `serve` keeps in its data directory, in that order.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Connection {
    /// The server's base URL.
    #[arg(
        long,
        env = "REFTRACK_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// The admin token (the one `serve` printed); else REFTRACK_ADMIN__TOKEN, else the
    /// token file in --data-dir. With `serve`: the token the server accepts (overriding
    /// admin.token), from the command line only (serve ignores REFTRACK_TOKEN; prefer
    /// REFTRACK_ADMIN__TOKEN there, as a command line is visible to every local user).
    #[arg(long, env = "REFTRACK_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// The server's data directory, where `serve` keeps a generated admin token (default:
    /// REFTRACK_REDIS__DATA_DIR, else ./data). Not for `serve`, which reads redis.data_dir.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

/// Without the token, and the URL without credentials.
impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &crate::telemetry::without_credentials(&self.url))
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// The admin token to send, from the first place that has one.
    pub fn token(&self) -> Option<String> {
        let given = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
        self.token
            .as_deref()
            .and_then(given)
            .or_else(|| {
                std::env::var("REFTRACK_ADMIN__TOKEN")
                    .ok()
                    .as_deref()
                    .and_then(given)
            })
            .or_else(|| {
                std::fs::read_to_string(super::token_file(&self.data_dir()))
                    .ok()
                    .as_deref()
                    .and_then(given)
            })
    }

    /// The data directory: `--data-dir`, else the server's own variable, else its default.
    fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .or_else(|| std::env::var_os("REFTRACK_REDIS__DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("./data"))
    }
}
