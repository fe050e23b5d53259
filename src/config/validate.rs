//! Every setting checked once, at load: a value out of range is refused with its key, what
//! was given and what is allowed, before anything starts.

use secrecy::ExposeSecret;
use url::Url;

use super::{ConfigError, HttpSettings, Settings, check_range, invalid, to_u64};

impl Settings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("http.public_url", &self.http.public_url),
            ("http.home_url", &self.http.home_url),
        ] {
            if value.is_empty() {
                continue;
            }
            let url = Url::parse(value)
                .map_err(|e| invalid(key, format!("'{value}' is not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
                return Err(invalid(
                    key,
                    format!("'{value}' is not an http(s) URL such as https://go.example.com"),
                ));
            }
        }
        self.http.validate()?;
        self.redis.validate_url()?;
        // WAIT for more replicas than any deployment has would fail every write.
        check_range(
            "redis.wait_replicas",
            u64::from(self.redis.wait_replicas),
            0,
            100,
        )?;
        if self.redis.key_prefix.is_empty()
            || !self
                .redis
                .key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(invalid(
                "redis.key_prefix",
                format!(
                    "must be non-empty letters, digits, '-', '_' or '.' (no ':' or braces); got '{}'",
                    self.redis.key_prefix
                ),
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
        self.check_time_and_size_bounds()?;
        if self.clicks.buffer_capacity < self.clicks.max_batch.get() {
            return Err(invalid(
                "clicks.buffer_capacity",
                format!(
                    "must be at least clicks.max_batch ({}); got {}",
                    self.clicks.max_batch, self.clicks.buffer_capacity
                ),
            ));
        }
        self.reports.check_limits()?;
        self.attribution.check()?;
        let tolerance = self.webhooks.tolerance_secs;
        if !(1..=86_400).contains(&tolerance) {
            return Err(invalid(
                "webhooks.tolerance_secs",
                format!("must be 1 to 86400; got {tolerance}"),
            ));
        }
        Ok(())
    }
}

impl Settings {
    /// Every number with a range, refused with its key, its range and what was given. Times
    /// and sizes have upper bounds as well: a value far past any sensible one (a flush
    /// interval of 2^64 ms) would not mean "never", it would overflow the clock arithmetic
    /// that uses it and stop the task at start-up; a count interval is also the counts a
    /// crash can lose.
    fn check_time_and_size_bounds(&self) -> Result<(), ConfigError> {
        let bounds: [(&str, u64, u64, u64); 16] = [
            (
                "http.header_timeout_secs",
                self.http.header_timeout_secs,
                1,
                300,
            ),
            (
                "http.body_timeout_secs",
                self.http.body_timeout_secs,
                1,
                3_600,
            ),
            (
                "http.max_connections_per_worker",
                to_u64(self.http.max_connections_per_worker),
                1,
                1_000_000,
            ),
            (
                "clicks.attribution_window_days",
                u64::from(self.clicks.attribution_window_days),
                1,
                365,
            ),
            (
                "clicks.spool_max_bytes",
                self.clicks.spool_max_bytes,
                1024 * 1024,
                u64::MAX,
            ),
            (
                "clicks.count_interval_ms",
                self.clicks.count_interval_ms.get(),
                1,
                60_000,
            ),
            (
                "clicks.max_count_interval_ms",
                self.clicks.max_count_interval_ms.get(),
                1,
                60_000,
            ),
            (
                "fraud.address_burst_window_secs",
                u64::from(self.fraud.address_burst_window_secs),
                1,
                86_400,
            ),
            (
                "http.shutdown_timeout_secs",
                self.http.shutdown_timeout_secs,
                0,
                3_600,
            ),
            ("redis.timeout_ms", self.redis.timeout_ms.get(), 1, 60_000),
            (
                "clicks.flush_interval_ms",
                self.clicks.flush_interval_ms.get(),
                1,
                3_600_000,
            ),
            (
                "clicks.durable_timeout_ms",
                self.clicks.durable_timeout_ms,
                0,
                60_000,
            ),
            (
                "clicks.buffer_capacity",
                to_u64(self.clicks.buffer_capacity),
                1,
                100_000_000,
            ),
            (
                "fraud.repeat_window_secs",
                u64::from(self.fraud.repeat_window_secs),
                0,
                86_400,
            ),
            (
                "fraud.burst_window_secs",
                u64::from(self.fraud.burst_window_secs.get()),
                1,
                86_400,
            ),
            (
                "fraud.tracked_clients",
                to_u64(self.fraud.tracked_clients.get()),
                1,
                100_000_000,
            ),
        ];
        for (key, value, min, max) in bounds {
            check_range(key, value, min, max)?;
        }
        Ok(())
    }
}

impl HttpSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        // 0: one worker per core. Each worker is a thread with its own connections; past a
        // thousand they only cost memory and context switches.
        check_range("http.workers", to_u64(self.workers), 0, 1_024)?;
        check_range(
            "http.api_workers",
            to_u64(self.api_workers),
            1,
            to_u64(API_WORKERS_MAX),
        )?;
        check_range(
            "http.redirect_nice",
            u64::from(self.redirect_nice),
            0,
            u64::from(REDIRECT_NICE_MAX),
        )?;
        self.check_api_bind()
    }

    /// Two listeners on one address would fail at start-up with only "address in use"; port 0
    /// (any free port) may repeat.
    fn check_api_bind(&self) -> Result<(), ConfigError> {
        let Some(api) = self.api_bind.filter(|a| a.port() != 0) else {
            return Ok(());
        };
        for (key, other) in [
            ("http.bind", Some(self.bind)),
            ("http.metrics_bind", self.metrics_bind),
        ] {
            if other == Some(api) {
                return Err(invalid(
                    "http.api_bind",
                    format!("{api} is also {key}; give the API a port of its own"),
                ));
            }
        }
        Ok(())
    }
}

/// The API listener serves the admin calls and webhooks of a few operators and shops, not the
/// public: more threads than this only take memory and descriptors.
const API_WORKERS_MAX: usize = 64;
/// The nice steps between the highest priority and the lowest.
const REDIRECT_NICE_MAX: u32 = 19;
