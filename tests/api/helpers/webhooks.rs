//! Signed webhook deliveries as each platform sends them, and the fixtures they carry.

use std::path::PathBuf;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::{TestApp, now_secs};

/// The secrets the fixtures' signature vectors were computed with.
pub const SHOPIFY_SECRET: &str = "test_secret_key";
pub const WOO_SECRET: &str = "wc_test_secret";
pub const STRIPE_SECRET: &str = "whsec_test_secret";
pub const GENERIC_SECRET: &str = "generic_test_secret";

fn mac(secret: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// A Shopify or WooCommerce signature: base64 HMAC-SHA256 of the body.
pub fn base64_signature(secret: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret, &[body]))
}

/// A Stripe or generic signature header at unix time `t`.
pub fn timestamped_signature(secret: &str, body: &[u8], t: i64) -> String {
    let digest = mac(secret, &[t.to_string().as_bytes(), b".", body]);
    format!("t={t},v1={}", hex::encode(digest))
}

impl TestApp {
    /// Posts a webhook body with the given headers.
    pub async fn webhook(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.api_url(path))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.send().await.expect("request sent")
    }

    /// A Shopify delivery, signed as Shopify signs it.
    pub async fn shopify(&self, topic: &str, event_id: &str, body: &[u8]) -> reqwest::Response {
        let headers = [
            ("x-shopify-topic", topic.to_owned()),
            ("x-shopify-event-id", event_id.to_owned()),
            (
                "x-shopify-hmac-sha256",
                base64_signature(SHOPIFY_SECRET, body),
            ),
        ];
        self.webhook("/webhooks/shopify", &headers, body).await
    }

    /// A WooCommerce delivery, signed as WooCommerce signs it.
    pub async fn woocommerce(&self, topic: &str, delivery: &str, body: &[u8]) -> reqwest::Response {
        let headers = [
            ("x-wc-webhook-topic", topic.to_owned()),
            ("x-wc-webhook-delivery-id", delivery.to_owned()),
            ("x-wc-webhook-signature", base64_signature(WOO_SECRET, body)),
        ];
        self.webhook("/webhooks/woocommerce", &headers, body).await
    }

    /// A Stripe event, signed now as Stripe signs it.
    pub async fn stripe(&self, body: &[u8]) -> reqwest::Response {
        let header = timestamped_signature(STRIPE_SECRET, body, now_secs());
        self.webhook("/webhooks/stripe", &[("stripe-signature", header)], body)
            .await
    }

    /// A generic order event, signed now.
    pub async fn generic(&self, body: &Value) -> reqwest::Response {
        let body = serde_json::to_vec(body).unwrap();
        let header = timestamped_signature(GENERIC_SECRET, &body, now_secs());
        self.webhook(
            "/webhooks/orders",
            &[("x-reftrack-signature", header)],
            &body,
        )
        .await
    }
}

/// The bytes of a fixture file, exactly as stored.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture file")
}

/// A fixture as JSON, to be changed and sent re-serialised (and re-signed).
pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).expect("fixture JSON")
}

/// A file of `tests/fixtures/` (real-format payloads; provenance in its README).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
