//! The `[attribution]` section: who earns an order, how long an order waits for its click,
//! and which suspect orders are held for review.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::de::string_list;
use super::{ConfigError, invalid};
use crate::domain::{AttributionPriority, Flag};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionSettings {
    #[serde(deserialize_with = "super::de::priority")]
    pub priority: AttributionPriority,
    #[serde(deserialize_with = "super::de::whole::<0, 86_400, _, _>")]
    pub clock_skew_secs: u32,
    #[serde(deserialize_with = "super::de::whole::<1, 720, _, _>")]
    pub pending_click_hours: u32,
    #[serde(deserialize_with = "super::de::whole::<50, 60_000, _, _>")]
    pub pending_sweep_ms: u64,
    #[serde(deserialize_with = "string_list")]
    pub coupon_sites: Vec<String>,
    #[serde(deserialize_with = "super::de::whole::<1, 1_000_000, _, _>")]
    pub coupon_spike_orders: u32,
    #[serde(deserialize_with = "string_list")]
    pub held_flags: Vec<String>,
    /// Secret: the key of the e-mail hashes; empty, the one kept in Redis.
    pub email_key: SecretString,
}

impl AttributionSettings {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let key = self.email_key.expose_secret();
        if !key.is_empty() && key.len() < 16 {
            return Err(invalid(
                "attribution.email_key",
                format!(
                    "a key of {} characters was given; it must be at least 16",
                    key.len()
                ),
            ));
        }
        if let Some(bad) = self.held_flags.iter().find(|f| Flag::parse(f).is_none()) {
            return Err(invalid(
                "attribution.held_flags",
                format!(
                    "'{bad}' is not a flag; the flags are coupon_site_referral, coupon_spike \
                     and self_referral"
                ),
            ));
        }
        if let Some(bad) = self
            .coupon_sites
            .iter()
            .find(|h| h.is_empty() || h.len() > 253 || h.contains(['/', ':', ' ']))
        {
            return Err(invalid(
                "attribution.coupon_sites",
                format!("'{bad}' is not a host name (write retailmenot.com, no scheme or path)"),
            ));
        }
        Ok(())
    }

    /// The flags that hold an order for review.
    pub fn held(&self) -> Vec<Flag> {
        self.held_flags
            .iter()
            .filter_map(|f| Flag::parse(f))
            .collect()
    }

    /// How long an order waits for its click.
    pub fn pending_wait(&self) -> Duration {
        Duration::from_secs(u64::from(self.pending_click_hours) * 3600)
    }

    pub fn pending_sweep(&self) -> Duration {
        Duration::from_millis(self.pending_sweep_ms)
    }
}
