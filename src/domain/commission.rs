//! How an influencer is paid per attributed order.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::{Currency, MoneyError, div_round, plain_decimal};

/// A commission rule, in integers: basis points of revenue, or hundredths of the order's
/// currency unit per order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commission {
    /// Hundredths of a percent: `10` per cent is `1000`.
    PercentBasisPoints(u32),
    /// Hundredths of the order currency's unit per order: `5.00` is `500`.
    FlatHundredths(i64),
}

/// The JSON shape marketers send: `{"percent": "10"}` or `{"flat": "5.00"}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CommissionInput {
    Percent { percent: DecimalText },
    Flat { flat: DecimalText },
}

/// Read by hand, so a wrong shape is explained in the API's words (serde's untagged enums
/// answer "data did not match any variant of untagged enum ...").
impl<'de> Deserialize<'de> for CommissionInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            deny_unknown_fields,
            expecting = "a commission object: {\"percent\": \"10\"} or {\"flat\": \"5.00\"}"
        )]
        struct Fields {
            percent: Option<DecimalText>,
            flat: Option<DecimalText>,
        }
        match Fields::deserialize(deserializer)? {
            Fields {
                percent: Some(percent),
                flat: None,
            } => Ok(Self::Percent { percent }),
            Fields {
                percent: None,
                flat: Some(flat),
            } => Ok(Self::Flat { flat }),
            _ => Err(serde::de::Error::custom(
                "a commission has exactly one of \"percent\" (such as \"10\") or \"flat\" (such as \"5.00\")",
            )),
        }
    }
}

/// A decimal given as a string (`"12.5"`) or an integer (`10`); never a float, which could not
/// hold money exactly.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DecimalText {
    Text(String),
    Integer(i64),
}

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DecimalText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal as a string (\"12.50\") or an integer")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DecimalText, E> {
                Ok(DecimalText::Text(text.to_owned()))
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<DecimalText, E> {
                Ok(DecimalText::Integer(n))
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<DecimalText, E> {
                i64::try_from(n)
                    .map(DecimalText::Integer)
                    .map_err(|_| E::custom(format!("{n} is beyond any amount accepted")))
            }

            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<DecimalText, E> {
                Err(E::custom(format!(
                    "{n} is a JSON float; write decimals as a string (\"{n}\") so they stay exact"
                )))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommissionError {
    #[error("'{0}' is not a plain decimal number (such as 12.5)")]
    NotADecimal(String),
    #[error("'{0}' has more than two decimal places; a commission has at most two")]
    TooPrecise(String),
    #[error("'percent' is {0}; a percent commission is between 0 and 100")]
    PercentRange(String),
    #[error("'flat' is {0}; a flat commission is between 0 and 1000000")]
    FlatRange(String),
    #[error("'{0}' is not a stored commission")]
    Stored(String),
}

impl DecimalText {
    /// The decimal as text, for parsing into an amount of a given currency.
    pub fn text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Integer(n) => n.to_string(),
        }
    }

    /// Hundredths of the value, or `None` when it has no `i64` of hundredths (far beyond any
    /// bound a caller checks next).
    fn hundredths(&self) -> Result<Option<i64>, CommissionError> {
        let value = match self {
            Self::Text(text) => match plain_decimal(text) {
                Ok(value) => value,
                Err(MoneyError::OutOfRange(_)) => return Ok(None),
                Err(MoneyError::TooManyDecimals(_)) => {
                    return Err(CommissionError::TooPrecise(text.clone()));
                }
                Err(_) => return Err(CommissionError::NotADecimal(text.clone())),
            },
            Self::Integer(n) => Decimal::from(*n),
        };
        let Some(scaled) = value.checked_mul(Decimal::ONE_HUNDRED) else {
            return Ok(None);
        };
        if scaled.fract() != Decimal::ZERO {
            return Err(CommissionError::TooPrecise(self.text()));
        }
        Ok(i64::try_from(scaled).ok())
    }
}

impl TryFrom<&CommissionInput> for Commission {
    type Error = CommissionError;

    fn try_from(input: &CommissionInput) -> Result<Self, Self::Error> {
        match input {
            CommissionInput::Percent { percent } => percent
                .hundredths()?
                .and_then(|bp| u32::try_from(bp).ok())
                .filter(|bp| *bp <= 10_000)
                .map(Self::PercentBasisPoints)
                .ok_or_else(|| CommissionError::PercentRange(percent.text())),
            CommissionInput::Flat { flat } => flat
                .hundredths()?
                .filter(|h| (0..=100_000_000).contains(h))
                .map(Self::FlatHundredths)
                .ok_or_else(|| CommissionError::FlatRange(flat.text())),
        }
    }
}

impl Commission {
    /// The compact form kept in Redis: `pct:1000` or `flat:500`.
    pub fn to_stored(self) -> String {
        match self {
            Self::PercentBasisPoints(bp) => format!("pct:{bp}"),
            Self::FlatHundredths(h) => format!("flat:{h}"),
        }
    }

    pub fn from_stored(stored: &str) -> Result<Self, CommissionError> {
        let bad = || CommissionError::Stored(stored.to_owned());
        // A stored rule is checked against the same bounds as one typed in, so a damaged
        // record can never pay more than a valid rule could.
        match stored.split_once(':') {
            Some(("pct", bp)) => bp
                .parse()
                .ok()
                .filter(|bp| *bp <= 10_000)
                .map(Self::PercentBasisPoints)
                .ok_or_else(bad),
            Some(("flat", h)) => h
                .parse()
                .ok()
                .filter(|h| (0..=100_000_000).contains(h))
                .map(Self::FlatHundredths)
                .ok_or_else(bad),
            _ => Err(bad()),
        }
    }

    /// What an attributed order of `revenue` minor units earns, in the same units: a percent
    /// rounds half away from zero to the minor unit; a flat amount is converted to the
    /// currency's minor unit (5.00 is 500 cents, or 5 yen).
    pub fn earned(self, revenue: i64, currency: Currency) -> i64 {
        match self {
            Self::PercentBasisPoints(bp) => {
                let scaled = div_round(i128::from(revenue) * i128::from(bp), 10_000);
                i64::try_from(scaled).unwrap_or(i64::MAX)
            }
            Self::FlatHundredths(h) => currency.from_hundredths(h),
        }
    }

    /// The JSON shape the API returns, with decimal strings.
    pub fn to_input(self) -> CommissionInput {
        match self {
            Self::PercentBasisPoints(bp) => CommissionInput::Percent {
                percent: DecimalText::Text(Decimal::new(i64::from(bp), 2).normalize().to_string()),
            },
            Self::FlatHundredths(h) => CommissionInput::Flat {
                flat: DecimalText::Text(Decimal::new(h, 2).to_string()),
            },
        }
    }
}

impl fmt::Display for Commission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_input() {
            CommissionInput::Percent {
                percent: DecimalText::Text(p),
            } => write!(f, "{p}%"),
            CommissionInput::Flat {
                flat: DecimalText::Text(a),
            } => write!(f, "{a} per order"),
            _ => unreachable!("to_input always yields text"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Commission, CommissionError> {
        let input: CommissionInput = serde_json::from_str(json).unwrap();
        Commission::try_from(&input)
    }

    #[test]
    fn percent_and_flat_commissions_parse_to_integers() {
        assert_eq!(
            parse(r#"{"percent": "10"}"#),
            Ok(Commission::PercentBasisPoints(1000))
        );
        assert_eq!(
            parse(r#"{"percent": "12.5"}"#),
            Ok(Commission::PercentBasisPoints(1250))
        );
        assert_eq!(
            parse(r#"{"percent": 7}"#),
            Ok(Commission::PercentBasisPoints(700))
        );
        assert_eq!(
            parse(r#"{"flat": "5.00"}"#),
            Ok(Commission::FlatHundredths(500))
        );
    }

    #[test]
    fn out_of_range_or_too_precise_commissions_are_refused() {
        assert_eq!(
            parse(r#"{"percent": "100.01"}"#),
            Err(CommissionError::PercentRange("100.01".to_owned()))
        );
        assert_eq!(
            parse(r#"{"percent": "-1"}"#),
            Err(CommissionError::PercentRange("-1".to_owned()))
        );
        assert_eq!(
            parse(r#"{"flat": "0.001"}"#),
            Err(CommissionError::TooPrecise("0.001".to_owned()))
        );
        assert!(matches!(
            parse(r#"{"flat": "ten"}"#),
            Err(CommissionError::NotADecimal(_))
        ));
    }

    #[test]
    fn percent_commission_rounds_to_the_minor_unit_and_flat_follows_the_currency() {
        let usd = Currency::parse("USD").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(
            Commission::PercentBasisPoints(1000).earned(39_800, usd),
            3980
        );
        assert_eq!(Commission::PercentBasisPoints(1250).earned(1_999, usd), 250);
        assert_eq!(Commission::PercentBasisPoints(1250).earned(1_996, usd), 250);
        assert_eq!(Commission::PercentBasisPoints(1250).earned(1_995, usd), 249);
        assert_eq!(Commission::FlatHundredths(500).earned(39_800, usd), 500);
        assert_eq!(Commission::FlatHundredths(500).earned(1_500, jpy), 5);
    }

    #[test]
    fn floats_are_not_accepted_for_money() {
        assert!(serde_json::from_str::<CommissionInput>(r#"{"flat": 5.5}"#).is_err());
    }

    #[test]
    fn stored_form_round_trips_and_renders_decimal_strings() {
        for c in [
            Commission::PercentBasisPoints(1250),
            Commission::FlatHundredths(500),
        ] {
            assert_eq!(Commission::from_stored(&c.to_stored()), Ok(c));
        }
        assert_eq!(
            serde_json::to_string(&Commission::PercentBasisPoints(1000).to_input()).unwrap(),
            r#"{"percent":"10"}"#
        );
        assert_eq!(
            serde_json::to_string(&Commission::FlatHundredths(500).to_input()).unwrap(),
            r#"{"flat":"5.00"}"#
        );
    }
}
