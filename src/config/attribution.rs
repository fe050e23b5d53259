//! The `[attribution]` section: who earns an order, how long an order waits for its click,
//! and which suspect orders are held for review.

use std::time::Duration;

use serde::Deserialize;

use super::de::string_list;
use super::{ConfigError, invalid};
use crate::domain::{AttributionPriority, Flag};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionSettings {
    #[serde(deserialize_with = "super::de::priority")]
    pub priority: AttributionPriority,
    pub clock_skew_secs: u32,
    pub pending_click_hours: u32,
    pub pending_sweep_ms: u64,
    #[serde(deserialize_with = "string_list")]
    pub coupon_sites: Vec<String>,
    pub coupon_spike_orders: u32,
    #[serde(deserialize_with = "string_list")]
    pub held_flags: Vec<String>,
}

impl AttributionSettings {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.clock_skew_secs > 86_400 {
            return Err(invalid("attribution.clock_skew_secs", "must be 0 to 86400"));
        }
        if !(1..=720).contains(&self.pending_click_hours) {
            return Err(invalid(
                "attribution.pending_click_hours",
                "must be 1 to 720",
            ));
        }
        if !(50..=60_000).contains(&self.pending_sweep_ms) {
            return Err(invalid(
                "attribution.pending_sweep_ms",
                "must be 50 to 60000",
            ));
        }
        if !(1..=1_000_000).contains(&self.coupon_spike_orders) {
            return Err(invalid(
                "attribution.coupon_spike_orders",
                "must be 1 to 1000000",
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
