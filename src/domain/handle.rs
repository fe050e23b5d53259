//! An influencer's handle on their platform, unique within reftrack.

use std::fmt;

/// A handle such as `alice.bakes`: 1 to 64 letters, digits, `.`, `_` or `-`, stored in lower case
/// (platforms treat handles case-insensitively, so `@Alice` and `alice` are one person).
/// A leading `@` is accepted and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Handle(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandleError {
    #[error("a handle has 1 to 64 characters")]
    Length,
    #[error("a handle may only contain letters, digits, '.', '_' and '-'")]
    Charset,
}

impl Handle {
    pub fn parse(raw: &str) -> Result<Self, HandleError> {
        let raw = raw.trim();
        let raw = raw.strip_prefix('@').unwrap_or(raw);
        if !(1..=64).contains(&raw.len()) {
            return Err(HandleError::Length);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(HandleError::Charset);
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_normalised_to_lower_case_without_the_at_sign() {
        assert_eq!(
            Handle::parse(" @Alice.Bakes ").unwrap().as_str(),
            "alice.bakes"
        );
    }

    #[test]
    fn bad_handles_are_rejected() {
        assert_eq!(Handle::parse("@"), Err(HandleError::Length));
        assert_eq!(Handle::parse(&"a".repeat(65)), Err(HandleError::Length));
        assert_eq!(Handle::parse("alice bakes"), Err(HandleError::Charset));
        assert_eq!(Handle::parse("alice\n"), Ok(Handle("alice".into())));
        assert_eq!(Handle::parse("al\u{0}ice"), Err(HandleError::Charset));
    }
}
