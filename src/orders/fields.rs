//! Reading the fields of a shop's body: money, currencies, times, click ids and coupon codes,
//! each checked against the bounds an order keeps, with the field named in every refusal.
//! The platform parsers share these, so each rule exists once.

use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;

use super::delivery::PayloadError;
use crate::domain::{Buyer, ClickId, Currency, MAX_AMOUNT_MINOR};

/// Most coupon codes read from one order: real orders carry one or two, and each is looked up
/// at attribution, so a body with thousands must not cost thousands of Redis calls.
const MAX_COUPONS: usize = 16;

/// Longest coupon code kept (Shopify allows 255 characters).
const MAX_COUPON_LEN: usize = 255;

/// The coupon codes of an order, refused beyond [`MAX_COUPONS`] codes or
/// [`MAX_COUPON_LEN`] characters.
pub(crate) fn coupons(
    codes: impl IntoIterator<Item = String>,
) -> Result<Vec<String>, PayloadError> {
    let codes: Vec<String> = codes.into_iter().take(MAX_COUPONS + 1).collect();
    if codes.len() > MAX_COUPONS {
        return Err(PayloadError::new(format!(
            "an order names at most {MAX_COUPONS} coupon codes"
        )));
    }
    if codes.iter().any(|c| c.chars().count() > MAX_COUPON_LEN) {
        return Err(PayloadError::new(format!(
            "coupon codes are at most {MAX_COUPON_LEN} characters"
        )));
    }
    Ok(codes)
}

/// An order id as shown to people, cut to a length a list can show, without characters no
/// one can see (a shop's id is kept, not refused: the order counts whatever its id holds).
pub(crate) fn display_id(raw: &str) -> String {
    raw.chars()
        .filter(|&c| !crate::domain::is_hidden(c, false))
        .take(128)
        .collect()
}

/// The currency a body names in `field`.
pub(crate) fn currency(field: &str, code: &str) -> Result<Currency, PayloadError> {
    Currency::parse(code).map_err(|e| PayloadError::new(format!("{field}: {e}")))
}

/// Minor units of the amount a body writes as decimal text in `field`: a plain decimal, not
/// negative, at most [`crate::domain::MAX_AMOUNT_MINOR`].
pub(crate) fn amount(currency: Currency, field: &str, text: &str) -> Result<i64, PayloadError> {
    currency
        .amount(text)
        .map_err(|e| PayloadError::new(format!("{field}: {e}")))
}

/// The sum of amounts already checked, refused when it leaves the bounds of one amount.
pub(crate) fn sum(
    field: &str,
    amounts: impl IntoIterator<Item = i64>,
) -> Result<i64, PayloadError> {
    amounts
        .into_iter()
        .try_fold(0_i64, i64::checked_add)
        .filter(|total| (0..=MAX_AMOUNT_MINOR).contains(total))
        .ok_or_else(|| {
            PayloadError::new(format!(
                "{field}: the amounts add up to more than {MAX_AMOUNT_MINOR} minor units"
            ))
        })
}

pub(crate) fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, PayloadError> {
    serde_json::from_slice(body).map_err(|e| {
        PayloadError::new(format!(
            "invalid JSON: {}",
            crate::error::plain_json_message(&e)
        ))
    })
}

/// Milliseconds since the epoch of an RFC 3339 time (`2008-01-10T11:00:00-05:00`).
pub(crate) fn rfc3339_ms(raw: &str) -> Result<i64, PayloadError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp_millis())
        .map_err(|_| PayloadError::new(format!("'{raw}' is not an RFC 3339 time")))
}

/// Milliseconds since the epoch of a UTC time without an offset (`2017-03-22T19:28:02`).
pub(crate) fn utc_ms(raw: &str) -> Result<i64, PayloadError> {
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S")
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|_| PayloadError::new(format!("'{raw}' is not a time")))
}

/// The click id among candidates: the first that has a click id's shape, else the first
/// non-empty one (kept so the audit shows which id the shop sent and that it was not found).
pub(crate) fn click_id<'a>(candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let candidates: Vec<&str> = candidates
        .into_iter()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    candidates
        .iter()
        .find(|c| ClickId::parse(c).is_some())
        .or_else(|| candidates.first())
        .map(|c| c.chars().take(64).collect())
}

/// The `rtclid` query parameter of a landing URL, absolute or relative (`/products/x?rtclid=`).
pub(crate) fn click_id_in_url(landing: &str) -> Option<String> {
    let base = url::Url::parse("https://landing.invalid/").expect("a valid base URL");
    let url = base.join(landing.trim()).ok()?;
    url.query_pairs()
        .find(|(name, _)| name == crate::domain::Destination::CLICK_ID_PARAM)
        .map(|(_, value)| value.into_owned())
}

/// Longest e-mail address kept for matching (RFC 5321's limit).
const MAX_EMAIL_LEN: usize = 254;

/// What an order says about its buyer: the host of the referring page (a URL or a bare host)
/// and the e-mail address. Both only feed the fraud flags, so a malformed one is left out
/// rather than refusing the order.
pub(crate) fn buyer<'a>(
    referrer: impl IntoIterator<Item = &'a str>,
    email: impl IntoIterator<Item = &'a str>,
) -> Buyer {
    let referrer_host = referrer.into_iter().find_map(referrer_host);
    let email = email
        .into_iter()
        .map(str::trim)
        .find(|e| !e.is_empty() && e.len() <= MAX_EMAIL_LEN && e.contains('@'))
        .map(str::to_owned);
    Buyer {
        referrer_host,
        email,
        email_hash: None,
    }
}

/// The lower-case host of a referrer: `https://www.retailmenot.com/view/x` and
/// `retailmenot.com` alike.
fn referrer_host(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 2048 {
        return None;
    }
    let url = url::Url::parse(raw)
        .or_else(|_| url::Url::parse(&format!("https://{raw}")))
        .ok()?;
    url.host_str().map(str::to_ascii_lowercase)
}

/// What the parsers' unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::super::delivery::{Delivery, Parsed};

    /// A file of `tests/fixtures/`, exactly as stored.
    pub fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// The delivery a parser made of a body, failing the test if it ignored the body.
    pub fn delivery(parsed: Parsed) -> Delivery {
        match parsed {
            Parsed::Order(d) => d,
            Parsed::Ignored => panic!("expected an order delivery"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_id_is_shown_without_characters_no_one_can_see() {
        assert_eq!(display_id("#10\u{200b}01\u{202e}\u{1b}"), "#1001");
        assert_eq!(display_id(&"9".repeat(500)).len(), 128);
    }

    #[test]
    fn click_ids_are_found_in_absolute_and_relative_landing_urls() {
        assert_eq!(
            click_id_in_url("https://shop.example/p?a=1&rtclid=abc#top").as_deref(),
            Some("abc")
        );
        assert_eq!(
            click_id_in_url("/products/mug?rtclid=xyz").as_deref(),
            Some("xyz")
        );
        assert_eq!(click_id_in_url("http://www.example.com?source=abc"), None);
    }

    #[test]
    fn a_well_formed_click_id_wins_over_other_candidates() {
        let real = ClickId::new(crate::domain::IdSpace::random(), 1);
        assert_eq!(
            click_id(["inf_7Kq2ZbLm", real.as_str()]).as_deref(),
            Some(real.as_str())
        );
        assert_eq!(
            click_id(["", "inf_7Kq2ZbLm"]).as_deref(),
            Some("inf_7Kq2ZbLm")
        );
        assert_eq!(click_id([" "]), None);
    }
}
