//! What request handlers share.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use chrono_tz::Tz;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clicks::Tracker;
use crate::config::WebhookSettings;
use crate::domain::{Currency, Platform};
use crate::link_cache::LinkCache;
use crate::metrics::Metrics;
use crate::orders::{OrderIntake, WebhookSecret};
use crate::store::Store;

#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    pub links: LinkCache,
    /// Where a redirect's click goes: classification, fraud rules, counting, recording.
    pub tracker: Tracker,
    pub metrics: Metrics,
    /// `302` or `307`.
    pub redirect_status: StatusCode,
    /// Pass a follower's query parameters on to the destination (`http.forward_query`).
    pub forward_query: bool,
    /// Where `/` redirects (`http.home_url`); `None`: a page pointing to the dashboard.
    pub home_url: Option<String>,
    pub admin_token: AdminToken,
    /// Tokens that may only read reports.
    pub report_tokens: Vec<AdminToken>,
    /// Base of printed short links, without a trailing slash.
    pub public_base: String,
    /// The calendar clicks and orders are counted in.
    pub time_zone: Tz,
    /// Money in reports that name no currency.
    pub report_currency: Currency,
    pub orders: OrderIntake,
    pub webhooks: WebhookSecrets,
    /// Bounds the reports prepared at once.
    pub reports: ReportSlots,
}

/// Slots for report work (`reports.max_concurrent`): a report reads counters of every
/// influencer, so a few report tokens polling at once could otherwise keep Redis and the
/// workers busy for everyone. A report waits up to `wait` for a slot, then is told to retry.
#[derive(Debug)]
pub struct ReportSlots {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl ReportSlots {
    pub fn new(max_concurrent: usize, wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent)),
            wait,
        }
    }

    /// A slot, held until the returned permit is dropped (a streamed report holds it until
    /// its last row is read); `None` when none came free in time.
    pub async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

/// Each platform's signing secret (`None`: not configured, nothing accepted).
#[derive(Debug)]
pub struct WebhookSecrets {
    pub shopify: Option<WebhookSecret>,
    pub woocommerce: Option<WebhookSecret>,
    pub stripe: Option<WebhookSecret>,
    pub generic: Option<WebhookSecret>,
    /// How far a timestamped signature may be from now, in seconds.
    pub tolerance_secs: i64,
}

impl WebhookSecrets {
    pub fn new(settings: &WebhookSettings) -> Self {
        Self {
            shopify: WebhookSecret::new(settings.shopify_secret.expose_secret()),
            woocommerce: WebhookSecret::new(settings.woocommerce_secret.expose_secret()),
            stripe: WebhookSecret::new(settings.stripe_secret.expose_secret()),
            generic: WebhookSecret::new(settings.generic_secret.expose_secret()),
            tolerance_secs: settings.tolerance_secs,
        }
    }

    pub fn of(&self, platform: Platform) -> Option<&WebhookSecret> {
        match platform {
            Platform::Shopify => self.shopify.as_ref(),
            Platform::WooCommerce => self.woocommerce.as_ref(),
            Platform::Stripe => self.stripe.as_ref(),
            Platform::Generic => self.generic.as_ref(),
        }
    }
}

/// The admin token, kept as a digest and compared in constant time, so neither a timing
/// difference nor a memory dump of a `Debug` print reveals it.
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl AdminToken {
    pub fn new(token: &str) -> Self {
        Self {
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }

    /// Hashing first makes the comparison constant-time in the candidate's length as well.
    pub fn matches(&self, candidate: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        self.digest.ct_eq(&candidate).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_report_finds_no_slot_while_all_are_taken_and_one_once_freed() {
        let slots = ReportSlots::new(1, Duration::from_millis(20));
        let held = slots.enter().await.expect("a free slot");
        assert!(slots.enter().await.is_none(), "the only slot is held");
        drop(held);
        assert!(slots.enter().await.is_some(), "the slot was given back");
    }

    #[test]
    fn only_the_exact_token_matches() {
        let token = AdminToken::new("s3cret-token-0123456789");
        assert!(token.matches("s3cret-token-0123456789"));
        assert!(!token.matches("s3cret-token-012345678"));
        assert!(!token.matches(""));
    }
}
