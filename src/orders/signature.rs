//! Webhook signature checks, all over the raw body bytes as received and all constant-time.
//!
//! Two schemes cover the four endpoints:
//! - a base64 HMAC-SHA256 of the body in one header (Shopify, WooCommerce);
//! - `t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">` (Stripe, and reftrack's generic
//!   endpoint), where the timestamp must be within a tolerance of now, so a captured delivery
//!   cannot be replayed later, and any `v1` may match, so a secret can be rolled.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// A webhook secret: kept out of `Debug` output and logs.
#[derive(Clone)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the signature's timestamp is more than {tolerance_secs} s from now")]
    Expired { tolerance_secs: i64 },
}

impl WebhookSecret {
    /// `None` for an empty secret: an endpoint without a secret accepts nothing.
    pub fn new(secret: &str) -> Option<Self> {
        (!secret.is_empty()).then(|| Self(secret.to_owned()))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.0.as_bytes()).expect("HMAC takes keys of any length")
    }

    /// Checks a base64 HMAC-SHA256 of `body` (Shopify's `X-Shopify-Hmac-Sha256`,
    /// WooCommerce's `X-WC-Webhook-Signature`).
    pub fn verify_base64(&self, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let expected = STANDARD
            .decode(header.trim())
            .map_err(|_| SignatureError::Malformed)?;
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_slice(&expected)
            .map_err(|_| SignatureError::Mismatch)
    }

    /// Checks a `t=...,v1=...` header against `body` at `now` (unix seconds).
    pub fn verify_timestamped(
        &self,
        body: &[u8],
        header: Option<&str>,
        now: i64,
        tolerance_secs: i64,
    ) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let mut timestamp = None;
        let mut candidates = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => {
                    timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?);
                }
                Some(("v1", hex)) => candidates.push(hex),
                Some(_) => {}
                None => return Err(SignatureError::Malformed),
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        if candidates.is_empty() {
            return Err(SignatureError::Malformed);
        }
        // Checked before the MAC, but only a matching MAC makes the delivery good: a forged
        // body with a fresh timestamp still fails below.
        // abs_diff: a timestamp near i64::MIN or MAX cannot overflow the subtraction.
        if now.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
            return Err(SignatureError::Expired { tolerance_secs });
        }
        let mut mac = self.mac();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        let matched = candidates.iter().any(|candidate| {
            hex::decode(candidate).is_ok_and(|given| given.ct_eq(expected.as_slice()).into())
        });
        if matched {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"foo": "bar"}"#;

    fn secret(s: &str) -> WebhookSecret {
        WebhookSecret::new(s).unwrap()
    }

    #[test]
    fn shopifys_published_vectors_verify() {
        let s = secret("test_secret_key");
        assert_eq!(
            s.verify_base64(BODY, Some("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")),
            Ok(())
        );
        let body = br#"{"id":1234567890,"email":"customer@example.com","total_price":"123.45"}"#;
        assert_eq!(
            secret("test-webhook-secret")
                .verify_base64(body, Some("QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw=")),
            Ok(())
        );
    }

    #[test]
    fn a_hex_digest_or_one_over_reserialised_json_is_refused() {
        let s = secret("test_secret_key");
        assert_eq!(
            s.verify_base64(
                BODY,
                Some("076ded5cdebcd60674a8858d46b82dcc113d5d20e8e72694bbac1f9a1bb76bb8")
            ),
            Err(SignatureError::Mismatch),
            "hex digits are valid base64, of the wrong bytes"
        );
        assert_eq!(
            s.verify_base64(BODY, Some("1kjVjZBASoDr0j4pTeXLurkG6u87OrkQXzf+h707p2w=")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(s.verify_base64(BODY, None), Err(SignatureError::Missing));
        assert_eq!(
            secret("another_secret")
                .verify_base64(BODY, Some("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")),
            Err(SignatureError::Mismatch)
        );
    }

    fn stripe_fixture() -> Vec<u8> {
        crate::orders::fields::test_support::fixture("stripe_checkout_session_completed.json")
    }

    #[test]
    fn stripes_computed_vector_verifies_within_the_tolerance_and_any_v1_may_match() {
        let s = secret("whsec_test_secret");
        let body = stripe_fixture();
        let header =
            "t=1735689660,v1=853a485f94a66fc9a0e90d2daea7d5133e99f42c9cdfc25205713cd60bbe9bd6";
        assert_eq!(
            s.verify_timestamped(&body, Some(header), 1_735_689_660 + 300, 300),
            Ok(())
        );
        let rolled = "t=1735689660,v1=0000000000000000000000000000000000000000000000000000000000000000,v1=853a485f94a66fc9a0e90d2daea7d5133e99f42c9cdfc25205713cd60bbe9bd6,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39";
        assert_eq!(
            s.verify_timestamped(&body, Some(rolled), 1_735_689_660, 300),
            Ok(())
        );
    }

    #[test]
    fn stale_future_forged_and_malformed_timestamped_signatures_are_refused() {
        let s = secret("whsec_test_secret");
        let body = stripe_fixture();
        let header =
            "t=1735689660,v1=853a485f94a66fc9a0e90d2daea7d5133e99f42c9cdfc25205713cd60bbe9bd6";
        for now in [1_735_689_660 + 301, 1_735_689_660 - 301] {
            assert_eq!(
                s.verify_timestamped(&body, Some(header), now, 300),
                Err(SignatureError::Expired {
                    tolerance_secs: 300
                })
            );
        }
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert_eq!(
            s.verify_timestamped(&tampered, Some(header), 1_735_689_660, 300),
            Err(SignatureError::Mismatch)
        );
        let shifted =
            "t=1735689661,v1=853a485f94a66fc9a0e90d2daea7d5133e99f42c9cdfc25205713cd60bbe9bd6";
        assert_eq!(
            s.verify_timestamped(&body, Some(shifted), 1_735_689_660, 300),
            Err(SignatureError::Mismatch)
        );
        for bad in ["", "t=abc,v1=00", "v1=00", "t=1735689660", "garbage"] {
            assert_eq!(
                s.verify_timestamped(&body, Some(bad), 1_735_689_660, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn timestamps_at_the_ends_of_the_integers_are_expired_without_overflow() {
        let s = WebhookSecret::new("whsec_test").unwrap();
        let now = 1_735_689_660;
        for t in [i64::MIN, i64::MIN + 1, now - (1 << 62), i64::MAX] {
            let header = format!("t={t},v1=00");
            assert_eq!(
                s.verify_timestamped(b"{}", Some(&header), now, 300),
                Err(SignatureError::Expired {
                    tolerance_secs: 300
                }),
                "{t}"
            );
        }
    }

    /// Every computed vector of the fixtures, over the exact bytes of its file.
    #[test]
    fn every_fixture_vector_verifies_over_the_files_exact_bytes() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let vectors: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!("{dir}/signature_test_vectors.json")).unwrap(),
        )
        .unwrap();
        let mut checked = 0;
        for platform in ["shopify", "woocommerce"] {
            for v in vectors[platform].as_array().unwrap() {
                let Some(file) = v["file"].as_str() else {
                    continue;
                };
                let body = std::fs::read(format!("{dir}/{file}")).unwrap();
                let s = secret(v["secret"].as_str().unwrap());
                assert_eq!(
                    s.verify_base64(&body, v["expected"].as_str()),
                    Ok(()),
                    "{file}"
                );
                checked += 1;
            }
        }
        for v in vectors["stripe"].as_array().unwrap() {
            let Some(file) = v["file"].as_str() else {
                continue;
            };
            let body = std::fs::read(format!("{dir}/{file}")).unwrap();
            let s = secret(v["secret"].as_str().unwrap());
            let t = v["timestamp"].as_i64().unwrap();
            for header in ["expected_header", "multi_sig_header_should_pass"] {
                assert_eq!(
                    s.verify_timestamped(&body, v[header].as_str(), t, 300),
                    Ok(()),
                    "{file} {header}"
                );
            }
            checked += 1;
        }
        assert_eq!(checked, 7);
    }
}
