//! Discount codes, matched case-insensitively.

use std::fmt;

/// A discount code in its canonical (lower-case) form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CouponCode(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CouponCodeError {
    #[error("a coupon code has 1 to 64 characters")]
    Length,
    #[error("a coupon code must not contain {0}, a character no one can see")]
    HiddenCharacter(String),
}

impl CouponCode {
    const MAX_CHARS: usize = 64;

    /// A new code a marketer gives: as [`Self::named`], and without a character no one can
    /// see (a code pasted with a byte-order mark would never match what a shop sends). The
    /// zero-width joiner and non-joiner pass: Persian codes, among others, are written with
    /// them.
    pub fn parse(raw: &str) -> Result<Self, CouponCodeError> {
        let code = Self::named(raw)?;
        if let Some(c) = super::hidden_char(&code.0, true) {
            return Err(CouponCodeError::HiddenCharacter(super::code_point(c)));
        }
        Ok(code)
    }

    /// A code as a shop sends it, or as one stored earlier is named to remove it: 1 to 64
    /// characters. Shops treat codes case-insensitively (`ALICE10` and `alice10` are one
    /// code), so the canonical form is lower case, surrounding spaces trimmed. A code stored
    /// before invisible characters were refused still matches, and can still be removed.
    pub fn named(raw: &str) -> Result<Self, CouponCodeError> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(CouponCodeError::Length);
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CouponCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_differing_only_in_case_are_one_code() {
        assert_eq!(
            CouponCode::parse(" ALICE10 ").unwrap(),
            CouponCode::parse("alice10").unwrap()
        );
    }

    #[test]
    fn a_stored_code_with_an_invisible_character_is_still_named_and_joiners_pass() {
        assert_eq!(
            CouponCode::named("\u{feff}Summer20").unwrap().as_str(),
            "\u{feff}summer20"
        );
        assert!(CouponCode::parse("نوروز\u{200c}۱۴۰۳").is_ok());
    }

    #[test]
    fn empty_long_or_invisible_character_codes_are_refused() {
        assert_eq!(CouponCode::parse("  "), Err(CouponCodeError::Length));
        assert_eq!(
            CouponCode::parse(&"x".repeat(65)),
            Err(CouponCodeError::Length)
        );
        for (code, hidden) in [
            ("a\nb", "U+000A"),
            ("\u{feff}SUMMER20", "U+FEFF"),
            ("\u{200b}", "U+200B"),
            ("SUMMER\u{2060}20", "U+2060"),
        ] {
            assert_eq!(
                CouponCode::parse(code),
                Err(CouponCodeError::HiddenCharacter(hidden.to_owned())),
                "{code:?}"
            );
        }
    }
}
