//! Money: integer minor units of an ISO 4217 currency inside, decimal strings at the edges.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The largest amount of money reftrack takes in one value (an order, a refund, a cost, a
/// commission): 10^12 minor units, ten billion dollars. Bounding every amount at the edge keeps
/// every sum of them exact: a counter would need over nine million orders of this size before it
/// could leave an `i64`, and the Lua scripts refuse the write that would.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// Longest decimal text read as an amount; more digits than this cannot be a bounded amount.
const MAX_DECIMAL_LEN: usize = 40;

/// Most decimal places read: beyond 28 the decimal type would round them away before any
/// precision check, and no currency or rate has more than a few.
const MAX_DECIMALS: usize = 18;

/// An ISO 4217 currency with a defined minor unit (USD, EUR, JPY, KWD, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error(
        "'{0}' is not a currency of money: use an ISO 4217 code such as USD, EUR or JPY (metals \
         and test codes, which have no minor unit, are refused)"
    )]
    UnknownCurrency(String),
    #[error(
        "'{0}' is not a plain decimal amount (digits with an optional '.' and decimals, such as 19.99)"
    )]
    NotADecimal(String),
    #[error("'{0}' is negative; amounts are 0 or more")]
    Negative(String),
    #[error("'{amount}' has more decimal places than {currency} allows")]
    TooPrecise { amount: String, currency: Currency },
    #[error("'{0}' has more decimal places than any amount can have ({MAX_DECIMALS})")]
    TooManyDecimals(String),
    #[error("'{0}' is beyond the largest amount accepted ({MAX_AMOUNT_MINOR} minor units)")]
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
    /// instead of rounding it away, and anything negative or beyond [`MAX_AMOUNT_MINOR`].
    pub fn amount(self, text: &str) -> Result<i64, MoneyError> {
        let minor = self.signed_amount(text)?;
        if minor < 0 {
            return Err(MoneyError::Negative(text.to_owned()));
        }
        Ok(minor)
    }

    /// As [`Currency::amount`], but a leading `-` is allowed: for formats that write money
    /// given back as a negative number (WooCommerce refunds).
    pub fn signed_amount(self, text: &str) -> Result<i64, MoneyError> {
        let value = plain_decimal(text)?;
        let scaled = value
            .checked_mul(Decimal::from(self.scale()))
            .ok_or_else(|| MoneyError::OutOfRange(text.to_owned()))?;
        if scaled.fract() != Decimal::ZERO {
            return Err(MoneyError::TooPrecise {
                amount: text.to_owned(),
                currency: self,
            });
        }
        i64::try_from(scaled)
            .ok()
            .filter(|minor| minor.unsigned_abs() <= MAX_AMOUNT_MINOR.unsigned_abs())
            .ok_or_else(|| MoneyError::OutOfRange(text.to_owned()))
    }

    /// An amount already in minor units (Stripe's integers), checked against the same bounds.
    pub fn minor(self, minor: i64) -> Result<i64, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative(self.format(minor)));
        }
        if minor > MAX_AMOUNT_MINOR {
            return Err(MoneyError::OutOfRange(minor.to_string()));
        }
        Ok(minor)
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

/// A decimal written the plain way money is: an optional `-`, digits, and optionally a `.` and
/// more digits (`19.99`, `-5`, `0.5`). Exponents (`1e3`), signs like `+5`, bare points (`.5`, `5.`),
/// separators and anything longer than [`MAX_DECIMAL_LEN`] are refused, so that what a shop or a
/// marketer wrote is exactly the number kept.
/// A plain decimal too large for any bound is `OutOfRange`, anything else `NotADecimal`.
pub fn plain_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let original = text;
    let text = text.trim();
    let not_plain = || MoneyError::NotADecimal(original.to_owned());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return Err(not_plain());
    }
    if fraction.is_some_and(|f| f.len() > MAX_DECIMALS) {
        return Err(MoneyError::TooManyDecimals(original.to_owned()));
    }
    if text.len() > MAX_DECIMAL_LEN {
        return Err(MoneyError::OutOfRange(original.to_owned()));
    }
    Decimal::from_str(text).map_err(|_| MoneyError::OutOfRange(original.to_owned()))
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
        assert_eq!(usd.amount("398.00"), Ok(39_800));
        assert_eq!(usd.amount("0.1"), Ok(10));
        assert_eq!(usd.signed_amount("-2.92"), Ok(-292));
        assert!(matches!(
            usd.amount("1.005"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(usd.amount("ten"), Err(MoneyError::NotADecimal(_))));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.amount("1500"), Ok(1500));
        assert!(jpy.amount("1500.5").is_err());
    }

    #[test]
    fn only_plain_decimals_are_money() {
        let usd = Currency::parse("USD").unwrap();
        for text in [
            "1e3", "1E3", "+5", ".5", "5.", "1,000", "1_000", "0x10", "NaN", "inf", "", "-", "--1",
            "1.2.3", " 1 2", "１２",
        ] {
            assert!(
                matches!(usd.amount(text), Err(MoneyError::NotADecimal(_))),
                "{text:?}"
            );
        }
        assert_eq!(
            usd.amount(" 12.50 "),
            Ok(1_250),
            "surrounding spaces are fine"
        );
    }

    #[test]
    fn amounts_are_bounded_and_negative_ones_refused_where_money_is_not_given_back() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(usd.amount("10000000000.00"), Ok(MAX_AMOUNT_MINOR));
        for text in [
            "10000000000.01",
            "46116860184273879.04",
            "79228162514264337593543950335",
            "99999999999999999999999999999999999999",
        ] {
            assert!(
                matches!(usd.amount(text), Err(MoneyError::OutOfRange(_))),
                "{text}"
            );
        }
        assert!(matches!(usd.amount("-0.01"), Err(MoneyError::Negative(_))));
        assert_eq!(usd.signed_amount("-10000000000"), Ok(-MAX_AMOUNT_MINOR));
        assert!(usd.signed_amount("-10000000000.01").is_err());
        assert_eq!(usd.minor(MAX_AMOUNT_MINOR), Ok(MAX_AMOUNT_MINOR));
        assert!(usd.minor(MAX_AMOUNT_MINOR + 1).is_err());
        assert!(usd.minor(-1).is_err());
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
