//! Money: integer minor units of an ISO 4217 currency inside, decimal strings at the edges.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency with a defined minor unit (USD, EUR, JPY, KWD, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("'{0}' is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error("'{0}' is not a decimal amount")]
    NotADecimal(String),
    #[error("'{amount}' has more decimal places than {currency} allows")]
    TooPrecise { amount: String, currency: Currency },
    #[error("'{0}' is out of range")]
    OutOfRange(String),
}

impl Currency {
    /// Parses a code in any case: Stripe sends `usd`, Shopify `USD`. Codes without a minor
    /// unit (gold, test codes) are refused: an amount in them cannot be kept in integers.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        iso_currency::Currency::from_code(&code.trim().to_ascii_uppercase())
            .filter(|c| c.exponent().is_some())
            .map(Self)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Decimal places of the minor unit: 2 for USD, 0 for JPY, 3 for KWD.
    pub fn exponent(self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }

    /// Minor units in one major unit.
    fn scale(self) -> i64 {
        10_i64.pow(self.exponent())
    }

    /// Minor units of a decimal amount (`"19.99"` → 1999), refusing sub-minor precision
    /// instead of rounding it away.
    pub fn minor_units(self, amount: &str) -> Result<i64, MoneyError> {
        let value = Decimal::from_str(amount.trim())
            .map_err(|_| MoneyError::NotADecimal(amount.to_owned()))?;
        let scaled = value
            .checked_mul(Decimal::from(self.scale()))
            .ok_or_else(|| MoneyError::OutOfRange(amount.to_owned()))?;
        if scaled.fract() != Decimal::ZERO {
            return Err(MoneyError::TooPrecise {
                amount: amount.to_owned(),
                currency: self,
            });
        }
        i64::try_from(scaled).map_err(|_| MoneyError::OutOfRange(amount.to_owned()))
    }

    /// The decimal string of an amount in minor units, with the currency's decimal places.
    pub fn format(self, minor: i64) -> String {
        Decimal::new(minor, self.exponent()).to_string()
    }

    /// Converts hundredths of a major unit (how flat commissions are kept) to minor units,
    /// rounding half away from zero.
    pub fn from_hundredths(self, hundredths: i64) -> i64 {
        let scaled = i128::from(hundredths) * i128::from(self.scale());
        i64::try_from(div_round(scaled, 100)).unwrap_or(i64::MAX)
    }
}

/// `numerator / denominator` rounded half away from zero; `denominator` must be positive.
pub fn div_round(numerator: i128, denominator: i128) -> i128 {
    let half = denominator / 2;
    if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::parse(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_codes_parse_in_any_case_and_know_their_decimals() {
        assert_eq!(Currency::parse("usd").unwrap().code(), "USD");
        assert_eq!(Currency::parse("USD").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        assert!(Currency::parse("XAU").is_err(), "no minor unit");
        assert!(Currency::parse("ZZZ").is_err());
    }

    #[test]
    fn decimal_amounts_become_exact_minor_units() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(usd.minor_units("398.00"), Ok(39_800));
        assert_eq!(usd.minor_units("0.1"), Ok(10));
        assert_eq!(usd.minor_units("-2.92"), Ok(-292));
        assert!(matches!(
            usd.minor_units("1.005"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            usd.minor_units("ten"),
            Err(MoneyError::NotADecimal(_))
        ));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.minor_units("1500"), Ok(1500));
        assert!(jpy.minor_units("1500.5").is_err());
    }

    #[test]
    fn minor_units_format_with_the_currency_decimals() {
        assert_eq!(Currency::parse("USD").unwrap().format(39_800), "398.00");
        assert_eq!(Currency::parse("USD").unwrap().format(-5), "-0.05");
        assert_eq!(Currency::parse("JPY").unwrap().format(1500), "1500");
        assert_eq!(Currency::parse("KWD").unwrap().format(1), "0.001");
    }

    #[test]
    fn flat_hundredths_scale_to_each_currency() {
        assert_eq!(Currency::parse("USD").unwrap().from_hundredths(500), 500);
        assert_eq!(Currency::parse("JPY").unwrap().from_hundredths(500), 5);
        assert_eq!(Currency::parse("JPY").unwrap().from_hundredths(550), 6);
        assert_eq!(Currency::parse("KWD").unwrap().from_hundredths(500), 5000);
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 10), 1);
        assert_eq!(div_round(4, 10), 0);
        assert_eq!(div_round(-5, 10), -1);
    }
}
