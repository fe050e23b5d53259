//! The formats reftrack takes orders in, one entry each: where they are posted, how they are
//! signed, which setting holds the secret, which headers name the topic and the delivery, and
//! the parser. The webhook handler is written once over this table, so adding a platform is
//! adding an entry and its parser.

use super::delivery::{Envelope, Parsed, PayloadError};
use super::{generic, shopify, stripe, woocommerce};
use crate::domain::Platform;

/// How a platform signs its deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Base64 HMAC-SHA256 of the raw body in `header` (Shopify, WooCommerce). It carries no
    /// time, so a captured delivery can be sent again: folding it is idempotent, so a replay
    /// changes nothing.
    Base64Hmac { header: &'static str },
    /// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">` in `header` (Stripe's scheme,
    /// and reftrack's own), refused outside the configured tolerance of now.
    Timestamped { header: &'static str },
}

/// One format's entry in the table.
#[derive(Debug)]
pub struct Format {
    pub platform: Platform,
    /// Where deliveries are posted, under `/webhooks`.
    pub path: &'static str,
    pub scheme: Scheme,
    /// The environment variable of the secret, named when it is missing.
    pub secret_setting: &'static str,
    /// The header naming the event, when the body does not.
    pub topic_header: Option<&'static str>,
    /// Headers naming the delivery, the first present wins; empty when the body names it.
    pub delivery_headers: &'static [&'static str],
    /// An unsigned set-up request the platform needs a 200 for (WooCommerce's ping).
    pub unsigned_ping: Option<fn(&[u8]) -> bool>,
    pub parse: fn(&Envelope<'_>, &[u8]) -> Result<Parsed, PayloadError>,
}

pub const FORMATS: [Format; 4] = [
    Format {
        platform: Platform::Shopify,
        path: "/shopify",
        scheme: Scheme::Base64Hmac {
            header: "x-shopify-hmac-sha256",
        },
        secret_setting: "REFTRACK_WEBHOOKS__SHOPIFY_SECRET",
        topic_header: Some("x-shopify-topic"),
        delivery_headers: &["x-shopify-event-id", "x-shopify-webhook-id"],
        unsigned_ping: None,
        parse: |e, body| shopify::parse(e.topic, e.delivery_id, body, e.received_ms),
    },
    Format {
        platform: Platform::WooCommerce,
        path: "/woocommerce",
        scheme: Scheme::Base64Hmac {
            header: "x-wc-webhook-signature",
        },
        secret_setting: "REFTRACK_WEBHOOKS__WOOCOMMERCE_SECRET",
        topic_header: Some("x-wc-webhook-topic"),
        delivery_headers: &["x-wc-webhook-delivery-id"],
        unsigned_ping: Some(woocommerce::is_ping),
        parse: |e, body| woocommerce::parse(e.topic, e.delivery_id, body, e.received_ms),
    },
    Format {
        platform: Platform::Stripe,
        path: "/stripe",
        scheme: Scheme::Timestamped {
            header: "stripe-signature",
        },
        secret_setting: "REFTRACK_WEBHOOKS__STRIPE_SECRET",
        topic_header: None,
        delivery_headers: &[],
        unsigned_ping: None,
        parse: |_, body| stripe::parse(body),
    },
    Format {
        platform: Platform::Generic,
        path: "/orders",
        scheme: Scheme::Timestamped {
            header: "x-reftrack-signature",
        },
        secret_setting: "REFTRACK_WEBHOOKS__GENERIC_SECRET",
        topic_header: None,
        delivery_headers: &[],
        unsigned_ping: None,
        parse: |e, body| generic::parse(body, e.received_ms),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_has_one_format_at_its_own_path() {
        for platform in Platform::ALL {
            assert_eq!(
                FORMATS.iter().filter(|f| f.platform == platform).count(),
                1,
                "{platform:?}"
            );
        }
        let mut paths: Vec<&str> = FORMATS.iter().map(|f| f.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), FORMATS.len());
    }
}
