//! Every setting checked once, at load: a value out of range is refused with its key, what
//! was given and what is allowed, before anything starts. Numbers are checked against their
//! ranges as they are read (`de::whole`, the range written on each field); what is left here
//! are text formats and rules between settings.

use secrecy::ExposeSecret;
use url::Url;

use super::{ConfigError, HttpSettings, Settings, invalid};

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
        self.http.check_api_bind()?;
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
        if self.clicks.buffer_capacity < self.clicks.max_batch.get() {
            return Err(invalid(
                "clicks.buffer_capacity",
                format!(
                    "must be at least clicks.max_batch ({}); got {}",
                    self.clicks.max_batch, self.clicks.buffer_capacity
                ),
            ));
        }
        self.attribution.check()?;
        Ok(())
    }
}

impl HttpSettings {
    /// Two listeners on one address would fail at start-up with only "address in use"; port 0
    /// (any free port) may repeat.
    pub(super) fn check_api_bind(&self) -> Result<(), ConfigError> {
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
