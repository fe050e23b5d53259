//! The `[attribution]` section: who earns an order, how long an order waits for its click,
//! and which suspect orders are held for review.

use std::time::Duration;

use serde::Deserialize;

use super::de::string_list;
use super::{ConfigError, check_range, invalid};
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
        check_range(
            "attribution.clock_skew_secs",
            u64::from(self.clock_skew_secs),
            0,
            86_400,
        )?;
        check_range(
            "attribution.pending_click_hours",
            u64::from(self.pending_click_hours),
            1,
            720,
        )?;
        check_range(
            "attribution.pending_sweep_ms",
            self.pending_sweep_ms,
            50,
            60_000,
        )?;
        check_range(
            "attribution.coupon_spike_orders",
            u64::from(self.coupon_spike_orders),
            1,
            1_000_000,
        )?;
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
