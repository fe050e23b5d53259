//! The short code in a referral link (`https://go.example/{code}`).

use std::fmt;

use super::ids::{alphanumeric, random_string};

/// A link code: 3 to 32 letters, digits, `-` or `_`.
///
/// Generated codes are 8 letters or digits (62^8, about 2·10^14), short enough to type and far
/// too many to enumerate. Custom codes may use `-` and `_` too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkCode(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkCodeError {
    #[error("a link code has 3 to 32 characters")]
    Length,
    #[error("a link code may only contain letters, digits, '-' and '_'")]
    Charset,
    #[error("'{0}' is reserved for reftrack's own routes")]
    Reserved(String),
}

/// Paths the server answers itself; a link with one of these codes could never be reached.
const RESERVED: [&str; 9] = [
    "api",
    "metrics",
    "healthz",
    "readyz",
    "dashboard",
    "webhooks",
    "static",
    "favicon.ico",
    "robots.txt",
];

impl LinkCode {
    const GENERATED_LEN: usize = 8;
    const MIN_LEN: usize = 3;
    const MAX_LEN: usize = 32;

    pub fn generate() -> Self {
        Self(random_string(alphanumeric(), Self::GENERATED_LEN))
    }

    pub fn parse(raw: &str) -> Result<Self, LinkCodeError> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&raw.len()) {
            return Err(LinkCodeError::Length);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(LinkCodeError::Charset);
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(raw)) {
            return Err(LinkCodeError::Reserved(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LinkCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_valid_codes() {
        for _ in 0..100 {
            let code = LinkCode::generate();
            assert_eq!(code.as_str().len(), 8);
            assert_eq!(LinkCode::parse(code.as_str()), Ok(code));
        }
    }

    #[test]
    fn custom_codes_follow_the_charset_and_length_rules() {
        assert!(LinkCode::parse("alice-summer_24").is_ok());
        assert_eq!(LinkCode::parse("ab"), Err(LinkCodeError::Length));
        assert_eq!(LinkCode::parse(&"a".repeat(33)), Err(LinkCodeError::Length));
        assert_eq!(LinkCode::parse("a/b/c"), Err(LinkCodeError::Charset));
        assert_eq!(LinkCode::parse("{tag}"), Err(LinkCodeError::Charset));
        assert_eq!(LinkCode::parse("café"), Err(LinkCodeError::Charset));
    }

    #[test]
    fn codes_that_shadow_server_routes_are_reserved() {
        assert!(matches!(
            LinkCode::parse("METRICS"),
            Err(LinkCodeError::Reserved(_))
        ));
        assert!(matches!(
            LinkCode::parse("api"),
            Err(LinkCodeError::Reserved(_))
        ));
    }
}
