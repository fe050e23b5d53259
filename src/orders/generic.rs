//! reftrack's own order format, for any shop without a built-in adapter:
//!
//! ```json
//! {"event": "order.created", "order_id": "A-1001", "amount": "49.90", "currency": "EUR",
//!  "click_id": "...", "coupon": "ALICE10", "occurred_at": "2026-11-20T10:00:00Z"}
//! ```
//!
//! signed as `X-Reftrack-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}">`.
//! `amount` is the order's revenue (after discounts, before shipping and tax) for
//! `order.created`, and the revenue given back for `order.refunded`. An optional `event_id`
//! names the delivery; without it the body's digest does, so a retried body counts once.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::delivery::{Delivery, Parsed, PayloadError};
use super::fields::{buyer, click_id, coupons, currency, json, rfc3339_ms};
use crate::domain::{
    Currency, DecimalText, OrderEvent, OrderFacts, OrderKey, Platform, RefundAmount,
};

/// Longest order or event id accepted.
const MAX_ID_LEN: usize = 128;

#[derive(Deserialize)]
struct Body {
    event: String,
    order_id: String,
    amount: Option<DecimalText>,
    currency: Option<String>,
    click_id: Option<String>,
    coupon: Option<String>,
    occurred_at: Option<String>,
    event_id: Option<String>,
    #[serde(default)]
    test: bool,
    referrer: Option<String>,
    customer_email: Option<String>,
}

fn id(field: &str, raw: &str) -> Result<String, PayloadError> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_ID_LEN
        && !raw.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(PayloadError::new(format!(
            "{field} must be 1 to {MAX_ID_LEN} characters without spaces"
        )))
    }
}

pub fn parse(body: &[u8], received_ms: i64) -> Result<Parsed, PayloadError> {
    let b: Body = json(body)?;
    if !matches!(
        b.event.as_str(),
        "order.created" | "order.refunded" | "order.cancelled"
    ) {
        return Ok(Parsed::Ignored);
    }
    let order_id = id("order_id", &b.order_id)?;
    let delivery_id = match &b.event_id {
        Some(event_id) => id("event_id", event_id)?,
        None => format!("sha256:{}", hex::encode(Sha256::digest(body))),
    };
    let stated_currency = b
        .currency
        .as_deref()
        .map(|code| currency("currency", code))
        .transpose()?;
    let amount = |b: &Body| -> Result<(Currency, i64), PayloadError> {
        let (Some(amount), Some(currency)) = (&b.amount, stated_currency) else {
            return Err(PayloadError::new(format!(
                "{} needs amount and currency",
                b.event
            )));
        };
        Ok((
            currency,
            super::fields::amount(currency, "amount", &amount.text())?,
        ))
    };
    let events = match b.event.as_str() {
        "order.created" => {
            let (currency, revenue) = amount(&b)?;
            let occurred_ms = match &b.occurred_at {
                Some(at) => rfc3339_ms(at)?,
                None => received_ms,
            };
            vec![OrderEvent::Placed(
                OrderFacts {
                    order_id: order_id.clone(),
                    currency,
                    revenue,
                    gross: revenue,
                    line_basis: 0,
                    occurred_ms,
                    click_id: click_id(b.click_id.as_deref()),
                    coupons: coupons(b.coupon.iter().cloned())?,
                    test: b.test,
                    buyer: buyer(b.referrer.as_deref(), b.customer_email.as_deref()),
                }
                .checked()?,
            )]
        }
        "order.refunded" => {
            let (currency, refunded) = amount(&b)?;
            vec![OrderEvent::Refunded {
                refund_id: delivery_id.clone(),
                amount: RefundAmount::checked(refunded, false)?,
                currency: Some(currency),
            }]
        }
        _ => vec![OrderEvent::Cancelled {
            currency: stated_currency,
        }],
    };
    Ok(Parsed::Order(Delivery {
        platform: Platform::Generic,
        delivery_id,
        order_key: OrderKey::of(Platform::Generic, &order_id, b.test),
        events,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-20T10:00:00Z.
    const RECEIVED_MS: i64 = 1_795_600_800_000;

    fn events(body: &str) -> Result<Vec<OrderEvent>, PayloadError> {
        match parse(body.as_bytes(), RECEIVED_MS)? {
            Parsed::Order(d) => Ok(d.events),
            Parsed::Ignored => Ok(vec![]),
        }
    }

    #[test]
    fn an_order_carries_its_amount_in_minor_units() {
        let e = events(
            r#"{"event":"order.created","order_id":"A-1","amount":"49.90","currency":"eur","coupon":"ALICE10"}"#,
        )
        .unwrap();
        let [OrderEvent::Placed(facts)] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert_eq!((facts.revenue, facts.currency.code()), (4_990, "EUR"));
        assert_eq!(
            facts.occurred_ms, RECEIVED_MS,
            "receipt time when occurred_at is absent"
        );
        assert_eq!(facts.coupons, vec!["ALICE10".to_owned()]);
    }

    #[test]
    fn a_retried_body_is_one_delivery_and_an_event_id_names_it() {
        let body = br#"{"event":"order.refunded","order_id":"A-1","amount":"5","currency":"EUR"}"#;
        let (Parsed::Order(a), Parsed::Order(b)) =
            (parse(body, 1).unwrap(), parse(body, 2).unwrap())
        else {
            panic!()
        };
        assert_eq!(a.delivery_id, b.delivery_id);
        let Parsed::Order(named) = parse(
            br#"{"event":"order.cancelled","order_id":"A-1","event_id":"ev-9"}"#,
            0,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(named.delivery_id, "ev-9");
    }

    #[test]
    fn bad_amounts_ids_and_times_are_refused_and_unknown_events_ignored() {
        for body in [
            r#"{"event":"order.created","order_id":"A-1","amount":"4.999","currency":"USD"}"#,
            r#"{"event":"order.created","order_id":"A-1","amount":4.5,"currency":"USD"}"#,
            r#"{"event":"order.created","order_id":"A-1","amount":"-1","currency":"USD"}"#,
            r#"{"event":"order.created","order_id":"A-1","currency":"USD"}"#,
            r#"{"event":"order.created","order_id":"A-1","amount":"1","currency":"XXX"}"#,
            r#"{"event":"order.created","order_id":"has space","amount":"1","currency":"USD"}"#,
            r#"{"event":"order.created","order_id":"A-1","amount":"1","currency":"USD","occurred_at":"yesterday"}"#,
            r#"{"event":"order.created"}"#,
            r#"{"event":"order.created","order_id":"A-1","amount":"1e3","currency":"USD"}"#,
            r#"{"event":"order.created","order_id":"A-1","amount":"46116860184273879.04","currency":"USD"}"#,
            r#"{"event":"order.refunded","order_id":"A-1","amount":"-3","currency":"USD"}"#,
            r#"{"event":"order.cancelled","order_id":"A-1","currency":"ZZZ"}"#,
        ] {
            assert!(events(body).is_err(), "{body}");
        }
        assert_eq!(
            events(r#"{"event":"order.shipped","order_id":"A-1"}"#).unwrap(),
            vec![]
        );
    }
}
