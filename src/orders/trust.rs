//! The rules that keep figures a brand can pay on: how long an order waits for its click,
//! which orders are suspect (a coupon leaked to a coupon site, a coupon's click-less orders
//! spiking, a creator buying through their own code), which flags hold an order for review,
//! and the keyed hash that lets e-mail addresses be compared without keeping them.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::AttributionSettings;
use crate::domain::{AttributedBy, Attribution, Flag, OrderEvent, OrderFacts};
use crate::store::{Store, StoreError};

/// Coupon and deal sites reftrack knows; `attribution.coupon_sites` adds more. A host matches
/// a site when it is the site or one of its subdomains.
pub const COUPON_SITES: &[&str] = &[
    "retailmenot.com",
    "joinhoney.com",
    "honey.com",
    "couponfollow.com",
    "slickdeals.net",
    "dealspotr.com",
    "knoji.com",
    "wethrift.com",
    "couponbirds.com",
    "coupons.com",
    "groupon.com",
    "coupert.com",
    "capitaloneshopping.com",
    "rakuten.com",
    "dealnews.com",
    "couponcabin.com",
    "promocodes.com",
    "goodshop.com",
    "savings.com",
    "brads-deals.com",
    "bradsdeals.com",
    "offers.com",
    "hotdeals.com",
    "vouchercodes.co.uk",
    "myvouchercodes.co.uk",
    "vouchercloud.com",
    "mydealz.de",
    "dealabs.com",
    "ozbargain.com.au",
];

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Days whose median the coupon-spike rule compares with.
const SPIKE_BASELINE_DAYS: usize = 28;

/// How many times the daily median a coupon's last 24 hours must exceed to spike.
const SPIKE_FACTOR: i64 = 5;

pub struct TrustRules {
    pub pending_wait_ms: i64,
    pub coupon_sites: Vec<String>,
    pub spike_orders: u32,
    /// Flags that hold an order for review.
    pub held: Vec<Flag>,
    email_key: Vec<u8>,
}

impl std::fmt::Debug for TrustRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRules")
            .field("pending_wait_ms", &self.pending_wait_ms)
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

impl TrustRules {
    /// The rules of `settings`, hashing e-mail addresses with `email_key` (shared by every
    /// replica, kept in Redis).
    pub fn new(settings: &AttributionSettings, email_key: &str) -> Self {
        let mut coupon_sites: Vec<String> = COUPON_SITES.iter().map(|s| (*s).to_owned()).collect();
        coupon_sites.extend(settings.coupon_sites.iter().map(|s| s.to_ascii_lowercase()));
        Self {
            pending_wait_ms: i64::try_from(settings.pending_wait().as_millis()).unwrap_or(i64::MAX),
            coupon_sites,
            spike_orders: settings.coupon_spike_orders,
            held: settings.held(),
            email_key: email_key.as_bytes().to_vec(),
        }
    }

    /// The keyed hash of an e-mail address, normalised (trimmed, lower case): equal for
    /// ` Alice@Example.com ` and `alice@example.com`, and useless without the key.
    pub fn email_hash(&self, email: &str) -> String {
        let normalised = email.trim().to_lowercase();
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.email_key).expect("any key length");
        mac.update(normalised.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A delivery's events with each buyer's e-mail replaced by its hash.
    pub fn seal(&self, events: &[OrderEvent]) -> Vec<OrderEvent> {
        let seal = |facts: &OrderFacts| {
            let mut facts = facts.clone();
            if let Some(email) = facts.buyer.email.take() {
                facts.buyer.email_hash = Some(self.email_hash(&email));
            }
            facts
        };
        events
            .iter()
            .map(|event| match event {
                OrderEvent::Placed(facts) => OrderEvent::Placed(seal(facts)),
                OrderEvent::Awaiting(facts) => OrderEvent::Awaiting(seal(facts)),
                other => other.clone(),
            })
            .collect()
    }

    fn is_coupon_site(&self, host: &str) -> bool {
        self.coupon_sites.iter().any(|site| {
            host == site
                || host
                    .strip_suffix(site.as_str())
                    .is_some_and(|sub| sub.ends_with('.'))
        })
    }

    /// The flags of an attributed order. `clickless`: no click of the order was found;
    /// `own_email`: the hash of the influencer's own address, if one is set.
    pub(super) async fn flags(
        &self,
        store: &Store,
        attribution: &Attribution,
        facts: &OrderFacts,
        clickless: bool,
        own_email: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<Flag>, StoreError> {
        let mut flags = Vec::new();
        let Some(influencer) = &attribution.influencer_id else {
            return Ok(flags);
        };
        let by_coupon = attribution.by == AttributedBy::Coupon;
        if by_coupon
            && facts
                .buyer
                .referrer_host
                .as_deref()
                .is_some_and(|h| self.is_coupon_site(h))
        {
            flags.push(Flag::CouponSiteReferral);
        }
        if by_coupon
            && clickless
            && let Some(code) = &attribution.coupon
        {
            let since = now_ms.saturating_sub(29 * DAY_MS);
            let orders = store.coupon_orders_since(influencer, since).await?;
            if spikes(&orders, code, now_ms, i64::from(self.spike_orders)) {
                flags.push(Flag::CouponSpike);
            }
        }
        if let (Some(theirs), Some(own)) = (facts.buyer.email_hash.as_deref(), own_email)
            && theirs == own
        {
            flags.push(Flag::SelfReferral);
        }
        Ok(flags)
    }
}

/// Whether `coupon`'s click-less orders of the 24 hours before `now_ms` exceed `threshold`
/// and [`SPIKE_FACTOR`] times the influencer's daily median of the [`SPIKE_BASELINE_DAYS`]
/// days before them. `orders`: (coupon, order time) of the influencer's click-less coupon
/// orders.
fn spikes(orders: &[(String, i64)], coupon: &str, now_ms: i64, threshold: i64) -> bool {
    let day_start = now_ms.saturating_sub(DAY_MS);
    let recent = orders
        .iter()
        .filter(|(c, at)| c == coupon && *at > day_start && *at <= now_ms)
        .count();
    let recent = i64::try_from(recent).unwrap_or(i64::MAX);
    if recent <= threshold {
        return false;
    }
    let mut daily = [0_i64; SPIKE_BASELINE_DAYS];
    for (_, at) in orders {
        let days_before = day_start.saturating_sub(*at) / DAY_MS;
        if *at <= day_start
            && let Some(count) = usize::try_from(days_before)
                .ok()
                .and_then(|d| daily.get_mut(d))
        {
            *count += 1;
        }
    }
    daily.sort_unstable();
    let median = i64::midpoint(daily[daily.len() / 2 - 1], daily[daily.len() / 2]);
    recent > median.saturating_mul(SPIKE_FACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(coupon: &str, times: impl IntoIterator<Item = i64>) -> Vec<(String, i64)> {
        times.into_iter().map(|t| (coupon.to_owned(), t)).collect()
    }

    #[test]
    fn a_coupon_spikes_past_the_threshold_and_five_times_the_daily_median() {
        let now = 100 * DAY_MS;
        let today = orders("alice10", (0..21).map(|i| now - i * 1000));
        assert!(spikes(&today, "alice10", now, 20));
        assert!(
            !spikes(&today, "alice10", now, 21),
            "not above the threshold"
        );
        assert!(!spikes(&today, "bob10", now, 20), "another coupon's orders");
        let mut busy = today.clone();
        for day in 1..=28 {
            busy.extend(orders(
                "alice10",
                (0..5).map(|i| now - day * DAY_MS - i * 1000),
            ));
        }
        assert!(
            !spikes(&busy, "alice10", now, 20),
            "21 is not more than 5 times a median of 5"
        );
    }

    #[test]
    fn email_hashes_ignore_case_and_surrounding_space_and_depend_on_the_key() {
        let settings: crate::config::Settings = crate::config::Settings::load(None).unwrap();
        let rules = TrustRules::new(&settings.attribution, "key-one");
        assert_eq!(
            rules.email_hash("  Alice@Example.COM \t"),
            rules.email_hash("alice@example.com")
        );
        assert_ne!(
            rules.email_hash("alice@example.com"),
            TrustRules::new(&settings.attribution, "key-two").email_hash("alice@example.com")
        );
        assert!(rules.is_coupon_site("www.retailmenot.com"));
        assert!(!rules.is_coupon_site("notretailmenot.com"));
    }
}
