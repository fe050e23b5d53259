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
use url::Url;

use crate::domain::Currency;

mod attribution;
pub use attribution::AttributionSettings;

const DEFAULTS: &str = include_str!("../../config/default.toml");
const ENV_PREFIX: &str = "REFTRACK_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key {key}: {message}")]
    Invalid { key: &'static str, message: String },
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
    pub bind: SocketAddr,
    pub public_url: String,
    pub workers: usize,
    pub redirect_status: RedirectStatus,
    #[serde(deserialize_with = "cidr_list")]
    pub trusted_proxies: Vec<IpNet>,
    pub shutdown_timeout_secs: u64,
    pub header_timeout_secs: u64,
    pub body_timeout_secs: u64,
    pub max_connections_per_worker: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Secret: the URL may carry a password.
    pub url: SecretString,
    pub cluster: bool,
    pub data_dir: PathBuf,
    pub key_prefix: String,
    #[serde(deserialize_with = "at_least_one")]
    pub timeout_ms: NonZeroU64,
    pub wait_replicas: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub token: SecretString,
    #[serde(deserialize_with = "secret_list")]
    pub report_tokens: Vec<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickSettings {
    pub attribution_window_days: u32,
    #[serde(deserialize_with = "at_least_one")]
    pub flush_interval_ms: NonZeroU64,
    #[serde(deserialize_with = "at_least_one")]
    pub max_batch: NonZeroUsize,
    pub buffer_capacity: usize,
    pub durable_redirects: bool,
    pub durable_timeout_ms: u64,
    pub spool_dir: PathBuf,
    pub spool_max_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    #[serde(deserialize_with = "time_zone")]
    pub time_zone: Tz,
    pub currency: Currency,
    pub max_concurrent: usize,
    pub queue_wait_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub shopify_secret: SecretString,
    pub woocommerce_secret: SecretString,
    pub stripe_secret: SecretString,
    pub generic_secret: SecretString,
    pub tolerance_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudSettings {
    pub repeat_window_secs: u32,
    #[serde(deserialize_with = "at_least_one")]
    pub burst_window_secs: NonZeroU32,
    #[serde(deserialize_with = "at_least_one")]
    pub burst_max_clicks: NonZeroU32,
    pub address_burst_window_secs: u32,
    pub address_burst_max_clicks: u32,
    #[serde(deserialize_with = "cidr_list")]
    pub address_burst_exempt: Vec<IpNet>,
    #[serde(deserialize_with = "at_least_one")]
    pub tracked_clients: NonZeroUsize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
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
        match u16::deserialize(deserializer)? {
            302 => Ok(Self::Found),
            307 => Ok(Self::TemporaryRedirect),
            other => Err(serde::de::Error::custom(format!(
                "{other} is not a redirect reftrack answers with; use 302 or 307"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
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
        let settings: Self = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !self.http.public_url.is_empty() {
            let url = Url::parse(&self.http.public_url)
                .map_err(|e| invalid("http.public_url", format!("not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
                return Err(invalid("http.public_url", "must be an http(s) base URL"));
            }
        }
        self.http.validate()?;
        self.redis.validate_url()?;
        if self.redis.key_prefix.is_empty()
            || !self
                .redis
                .key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(invalid(
                "redis.key_prefix",
                "must be non-empty letters, digits, '-', '_' or '.' (no ':' or braces)",
            ));
        }
        let token = self.admin.token.expose_secret();
        if !token.is_empty() && token.len() < 16 {
            return Err(invalid("admin.token", "must be at least 16 characters"));
        }
        if self
            .admin
            .report_tokens
            .iter()
            .any(|t| t.expose_secret().len() < 16)
        {
            return Err(invalid(
                "admin.report_tokens",
                "each token must be at least 16 characters",
            ));
        }
        if !(1..=365).contains(&self.clicks.attribution_window_days) {
            return Err(invalid(
                "clicks.attribution_window_days",
                "must be 1 to 365",
            ));
        }
        if self.clicks.spool_max_bytes < 1024 * 1024 {
            return Err(invalid(
                "clicks.spool_max_bytes",
                "must be at least 1048576 (1 MiB)",
            ));
        }
        if self.clicks.buffer_capacity < self.clicks.max_batch.get() {
            return Err(invalid(
                "clicks.buffer_capacity",
                "must be at least clicks.max_batch",
            ));
        }
        self.reports.check_limits()?;
        if !(1..=86_400).contains(&self.fraud.address_burst_window_secs) {
            return Err(invalid(
                "fraud.address_burst_window_secs",
                "must be 1 to 86400",
            ));
        }
        self.attribution.check()?;
        if !(1..=86_400).contains(&self.webhooks.tolerance_secs) {
            return Err(invalid("webhooks.tolerance_secs", "must be 1 to 86400"));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e.to_string()))?;
        Ok(())
    }
}

/// Strings from a TOML array, or from one comma-separated string (the environment's form).
fn string_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<String>),
        Joined(String),
    }
    Ok(match Form::deserialize(deserializer)? {
        Form::List(items) => items,
        Form::Joined(joined) => joined
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Secrets, as [`string_list`] reads them.
fn secret_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SecretString>, D::Error> {
    Ok(string_list(deserializer)?
        .into_iter()
        .map(SecretString::from)
        .collect())
}

/// A count or duration that must be at least 1, refused in those words (serde's own message
/// for a zero names the Rust type).
fn at_least_one<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<NonZeroU64>,
{
    let n = u64::deserialize(deserializer)?;
    let at_least_one = NonZeroU64::new(n)
        .ok_or_else(|| serde::de::Error::custom("0 is not allowed: it must be at least 1"))?;
    T::try_from(at_least_one)
        .map_err(|_| serde::de::Error::custom(format!("{n} is larger than this setting allows")))
}

/// An IANA time zone name (`Europe/Berlin`).
fn time_zone<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(deserializer)?;
    name.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone '{name}'; use an IANA name such as UTC or Europe/Berlin"
        ))
    })
}

/// CIDR blocks, as [`string_list`] reads them. Values are kept as strings until here: the
/// config crate's own parsing would turn a numeric-looking admin token into a number and drop
/// its leading zeros. IPv4-mapped blocks become the IPv4 blocks they mean, as addresses are
/// matched in canonical form.
fn cidr_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    string_list(deserializer)?
        .iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(crate::domain::canonical_net)
                .map_err(|_| {
                    serde::de::Error::custom(format!("'{item}' is not an address or CIDR block"))
                })
        })
        .collect()
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

    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=300).contains(&self.header_timeout_secs) {
            return Err(invalid("http.header_timeout_secs", "must be 1 to 300"));
        }
        if !(1..=3600).contains(&self.body_timeout_secs) {
            return Err(invalid("http.body_timeout_secs", "must be 1 to 3600"));
        }
        if !(1..=1_000_000).contains(&self.max_connections_per_worker) {
            return Err(invalid(
                "http.max_connections_per_worker",
                "must be 1 to 1000000",
            ));
        }
        Ok(())
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

    fn validate_url(&self) -> Result<(), ConfigError> {
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

    pub fn durable_timeout(&self) -> Duration {
        Duration::from_millis(self.durable_timeout_ms)
    }
}

impl ReportSettings {
    /// How long a report waits for a free slot before it is answered 503 `busy`.
    pub fn queue_wait(&self) -> Duration {
        Duration::from_millis(self.queue_wait_ms)
    }

    fn check_limits(&self) -> Result<(), ConfigError> {
        if !(1..=1024).contains(&self.max_concurrent) {
            return Err(invalid("reports.max_concurrent", "must be 1 to 1024"));
        }
        if self.queue_wait_ms > 60_000 {
            return Err(invalid("reports.queue_wait_ms", "must be 0 to 60000"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
