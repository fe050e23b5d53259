//! Layered configuration: the documented defaults compiled in from `config/default.toml`, then
//! an optional file, then `REFTRACK_<SECTION>__<KEY>` environment variables.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use config::{Config, Environment, File, FileFormat};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::Currency;

mod attribution;
pub use attribution::AttributionSettings;

mod de;
mod validate;

const DEFAULTS: &str = include_str!("../../config/default.toml");
const ENV_PREFIX: &str = "REFTRACK_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A file that is not valid TOML: where, and why, without the parser's quote of the line
    /// (which may hold a secret: `token = "...`).
    #[error("configuration file {path}: {message}")]
    Syntax { path: String, message: String },
    #[error("configuration key {key}: {message}")]
    Invalid { key: &'static str, message: String },
    /// A value the loader refused, its key moved to the front.
    #[error("configuration key {key}: {message}")]
    Value { key: String, message: String },
}

impl ConfigError {
    /// The loader's error, with a file's syntax error cut to its position and its reason.
    fn from_file(e: config::ConfigError) -> Self {
        let config::ConfigError::FileParse { uri, cause } = &e else {
            return Self::Load(e);
        };
        let text = cause.to_string();
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let at = lines.next().unwrap_or_default();
        // The parser prints its position first, then the line quoted (`2 | token = "...`)
        // and marked (`|   ^`), then its reason.
        let reason = lines
            .rfind(|l| !l.contains('|'))
            .unwrap_or("not valid TOML");
        Self::Syntax {
            path: uri.clone().unwrap_or_else(|| "(defaults)".to_owned()),
            message: format!("{at}: {reason}"),
        }
    }

    /// The loader says `<message> for key `<key>`[ in <source>]`; the key goes first, as in
    /// every other configuration error, and serde's words for types become plain ones.
    fn from_loader(e: config::ConfigError) -> Self {
        let text = e.to_string();
        let Some((message, rest)) = text.rsplit_once(" for key `") else {
            return Self::Load(e);
        };
        let Some((key, source)) = rest.split_once('`') else {
            return Self::Load(e);
        };
        let message = message
            .replace("invalid type: string ", "got ")
            .replace("invalid type: ", "got ")
            .replace("expected an integer", "expected a whole number")
            .replace("expected a boolean", "expected true or false");
        Self::Value {
            key: key.to_owned(),
            message: format!(
                "{message}{}",
                source.replace(" in the environment", " (from the environment)")
            ),
        }
    }
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub http: HttpSettings,
    pub redis: RedisSettings,
    pub admin: AdminSettings,
    pub clicks: ClickSettings,
    pub reports: ReportSettings,
    pub webhooks: WebhookSettings,
    pub attribution: AttributionSettings,
    pub fraud: FraudSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    #[serde(deserialize_with = "de::bind_address")]
    pub bind: SocketAddr,
    pub public_url: String,
    /// 0: one worker per core. Each worker is a thread with its own connections; past a
    /// thousand they only cost memory and context switches.
    #[serde(deserialize_with = "de::whole::<0, 1_024, _, _>")]
    pub workers: usize,
    pub redirect_status: RedirectStatus,
    pub forward_query: bool,
    #[serde(deserialize_with = "de::cidr_list")]
    pub trusted_proxies: Vec<IpNet>,
    #[serde(deserialize_with = "de::whole::<0, 3_600, _, _>")]
    pub shutdown_timeout_secs: u64,
    #[serde(deserialize_with = "de::whole::<1, 300, _, _>")]
    pub header_timeout_secs: u64,
    #[serde(deserialize_with = "de::whole::<1, 3_600, _, _>")]
    pub body_timeout_secs: u64,
    #[serde(deserialize_with = "de::whole::<1, 1_000_000, _, _>")]
    pub max_connections_per_worker: usize,
    /// Where `/metrics` is served instead of `bind`; `None`: on `bind`.
    #[serde(deserialize_with = "de::optional_bind_address")]
    pub metrics_bind: Option<SocketAddr>,
    /// Where the API, the webhooks and the dashboard are served instead of `bind`, by worker
    /// threads of their own; `None`: on `bind`, beside the redirects.
    #[serde(deserialize_with = "de::optional_bind_address")]
    pub api_bind: Option<SocketAddr>,
    /// Worker threads of the `api_bind` listener. It serves the admin calls and webhooks of a
    /// few operators and shops, not the public: more threads than 64 only take memory and
    /// descriptors.
    #[serde(deserialize_with = "de::whole::<1, 64, _, _>")]
    pub api_workers: usize,
    /// With `api_bind`: how many nice steps (0 to 19) below the API's threads the redirect
    /// workers and the click flusher run, so a saturated core serves the API first.
    #[serde(deserialize_with = "de::whole::<0, 19, _, _>")]
    pub redirect_nice: u32,
    /// Where `/` redirects; empty: a small page pointing to `/dashboard`.
    pub home_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Secret: the URL may carry a password.
    pub url: SecretString,
    pub cluster: bool,
    pub data_dir: PathBuf,
    pub key_prefix: String,
    #[serde(deserialize_with = "de::whole::<1, 60_000, _, _>")]
    pub timeout_ms: NonZeroU64,
    /// WAIT for more replicas than any deployment has would fail every write.
    #[serde(deserialize_with = "de::whole::<0, 100, _, _>")]
    pub wait_replicas: u32,
    /// PEM file of the certificate authorities a `rediss://` server's certificate is checked
    /// against; empty: the system's.
    pub ca_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub token: SecretString,
    #[serde(deserialize_with = "de::secret_list")]
    pub report_tokens: Vec<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickSettings {
    #[serde(deserialize_with = "de::whole::<1, 365, _, _>")]
    pub attribution_window_days: u32,
    #[serde(deserialize_with = "de::whole::<1, 3_600_000, _, _>")]
    pub flush_interval_ms: NonZeroU64,
    #[serde(deserialize_with = "de::whole::<1, 60_000, _, _>")]
    pub count_interval_ms: NonZeroU64,
    #[serde(deserialize_with = "de::whole::<1, 60_000, _, _>")]
    pub max_count_interval_ms: NonZeroU64,
    #[serde(deserialize_with = "de::whole::<1, 100_000_000, _, _>")]
    pub max_batch: NonZeroUsize,
    #[serde(deserialize_with = "de::whole::<1, 100_000_000, _, _>")]
    pub buffer_capacity: usize,
    pub durable_redirects: bool,
    #[serde(deserialize_with = "de::whole::<0, 60_000, _, _>")]
    pub durable_timeout_ms: u64,
    pub spool_dir: PathBuf,
    #[serde(deserialize_with = "de::whole::<1_048_576, { u64::MAX }, _, _>")]
    pub spool_max_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    #[serde(deserialize_with = "de::time_zone")]
    pub time_zone: Tz,
    pub currency: Currency,
    #[serde(deserialize_with = "de::whole::<1, 1_024, _, _>")]
    pub max_concurrent: usize,
    #[serde(deserialize_with = "de::whole::<0, 60_000, _, _>")]
    pub queue_wait_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub shopify_secret: SecretString,
    pub woocommerce_secret: SecretString,
    pub stripe_secret: SecretString,
    pub generic_secret: SecretString,
    #[serde(deserialize_with = "de::whole::<1, 86_400, _, _>")]
    pub tolerance_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudSettings {
    #[serde(deserialize_with = "de::whole::<0, 86_400, _, _>")]
    pub repeat_window_secs: u32,
    #[serde(deserialize_with = "de::whole::<1, 86_400, _, _>")]
    pub burst_window_secs: NonZeroU32,
    #[serde(deserialize_with = "de::whole::<1, 4_294_967_295, _, _>")]
    pub burst_max_clicks: NonZeroU32,
    #[serde(deserialize_with = "de::whole::<1, 86_400, _, _>")]
    pub address_burst_window_secs: u32,
    #[serde(deserialize_with = "de::whole::<0, 4_294_967_295, _, _>")]
    pub address_burst_max_clicks: u32,
    #[serde(deserialize_with = "de::cidr_list")]
    pub address_burst_exempt: Vec<IpNet>,
    #[serde(deserialize_with = "de::whole::<1, 100_000_000, _, _>")]
    pub tracked_clients: NonZeroUsize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    #[serde(deserialize_with = "de::log_format")]
    pub format: LogFormat,
    #[serde(deserialize_with = "de::log_level")]
    pub level: String,
}

/// The status of a referral redirect: never a cacheable 301, so a browser asks again and
/// every click is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectStatus {
    Found,
    TemporaryRedirect,
}

impl RedirectStatus {
    pub fn code(self) -> u16 {
        match self {
            Self::Found => 302,
            Self::TemporaryRedirect => 307,
        }
    }
}

impl<'de> Deserialize<'de> for RedirectStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let given = de::whole_number(deserializer, "302 or 307")?;
        match given.value {
            Some(302) => Ok(Self::Found),
            Some(307) => Ok(Self::TemporaryRedirect),
            _ => Err(serde::de::Error::custom(format!(
                "{} is not a redirect reftrack answers with; use 302 or 307",
                given.text
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// Loads the settings from the process environment and an optional file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Loads the settings from the given environment variables, so tests need not touch the
    /// process environment.
    pub fn load_from(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).required(true));
        }
        // Only REFTRACK_<SECTION>__<KEY> names are configuration; other REFTRACK_* variables
        // (the CLI's server URL and token) are not, and must not trip the unknown-key check.
        let vars: HashMap<String, String> = vars
            .into_iter()
            .filter(|(name, _)| {
                name.strip_prefix(ENV_PREFIX)
                    .is_some_and(|rest| rest.contains("__"))
            })
            .collect();
        builder = builder.add_source(
            Environment::with_prefix("REFTRACK")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(false)
                .source(Some(vars)),
        );
        let settings: Self = builder
            .build()
            .map_err(ConfigError::from_file)?
            .try_deserialize()
            .map_err(ConfigError::from_loader)?;
        settings.validate()?;
        Ok(settings)
    }
}

impl HttpSettings {
    /// The base URL short links are printed under.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        if self.public_url.is_empty() {
            format!("http://{bound}")
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }
}

impl RedisSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.get())
    }

    /// The URLs to connect to: the one server, or the cluster's seed nodes.
    pub fn urls(&self) -> Vec<&str> {
        let url = self.url.expose_secret();
        if self.cluster {
            url.split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .collect()
        } else {
            vec![url]
        }
    }

    /// The certificate authorities of `ca_file`, when one is set.
    pub fn ca_certificates(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        if self.ca_file.as_os_str().is_empty() {
            return Ok(None);
        }
        std::fs::read(&self.ca_file).map(Some).map_err(|e| {
            invalid(
                "redis.ca_file",
                format!("cannot read {}: {e}", self.ca_file.display()),
            )
        })
    }

    fn validate_url(&self) -> Result<(), ConfigError> {
        self.ca_certificates()?;
        if self.url.expose_secret().is_empty() {
            if self.cluster {
                return Err(invalid(
                    "redis.url",
                    "redis.cluster needs the cluster's seed nodes here (redis://host:port,...)",
                ));
            }
            return Ok(());
        }
        let urls = self.urls();
        if urls.is_empty() {
            return Err(invalid("redis.url", "names no seed node"));
        }
        for url in urls {
            let info = redis::parse_redis_url(url).ok_or_else(|| {
                invalid(
                    "redis.url",
                    "not a redis://, rediss:// or redis+unix:// URL (several, comma-separated, only with redis.cluster = true)",
                )
            })?;
            if self.cluster && info.scheme().ends_with("unix") {
                return Err(invalid(
                    "redis.url",
                    "a cluster's nodes are reached over TCP (redis:// or rediss://), not a Unix socket",
                ));
            }
        }
        Ok(())
    }
}

impl ClickSettings {
    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.flush_interval_ms.get())
    }

    pub fn count_interval(&self) -> Duration {
        Duration::from_millis(self.count_interval_ms.get())
    }

    /// The longest tallies wait while clicks spread thin (`clicks/count_schedule.rs`); never
    /// shorter than the count interval, so raising that alone keeps working.
    pub fn max_count_interval(&self) -> Duration {
        Duration::from_millis(self.max_count_interval_ms.get()).max(self.count_interval())
    }

    pub fn durable_timeout(&self) -> Duration {
        Duration::from_millis(self.durable_timeout_ms)
    }
}

impl ReportSettings {
    /// How long a report waits for a free slot before it is answered 503 `busy`.
    pub fn queue_wait(&self) -> Duration {
        Duration::from_millis(self.queue_wait_ms)
    }
}

#[cfg(test)]
mod tests;
