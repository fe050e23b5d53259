//! Identifiers minted by reftrack.

use std::fmt;

use rand::Rng;

/// Letters and digits only: ids end up in URLs, CSV files and terminal tables, where `-` and `_`
/// are easy to lose when a marketer copies them.
const ALPHANUMERIC: [char; 62] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
    'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'A', 'B',
    'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U',
    'V', 'W', 'X', 'Y', 'Z',
];

/// A nanoid of `len` characters from `alphabet`.
///
/// `nanoid`'s default random source seeds a fresh generator from the OS on every call (one
/// syscall per id); on the redirect path that cost is measurable, so this feeds it the
/// thread-local CSPRNG instead, which the OS reseeds periodically.
pub fn random_string(alphabet: &[char], len: usize) -> String {
    nanoid::format(
        |size| {
            let mut bytes = vec![0_u8; size];
            rand::rng().fill(&mut bytes[..]);
            bytes
        },
        alphabet,
        len,
    )
}

/// The id of an influencer: `inf_` and twelve letters or digits (71 bits of randomness).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfluencerId(String);

impl InfluencerId {
    const PREFIX: &'static str = "inf_";
    const RANDOM_LEN: usize = 12;

    pub fn generate() -> Self {
        Self(format!(
            "{}{}",
            Self::PREFIX,
            random_string(&ALPHANUMERIC, Self::RANDOM_LEN)
        ))
    }

    /// Accepts any id of the shape reftrack mints (`inf_` and 1 to 32 letters or digits), so
    /// ids never carry characters that would break a Redis key or a URL.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(Self::PREFIX)?;
        let valid =
            (1..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric());
        valid.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InfluencerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id stamped on a destination as `rtclid`: a 21-character nanoid (126 bits), the same
/// strength as nanoid's default, so ids cannot be guessed to claim someone else's click.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClickId(String);

impl ClickId {
    pub const LEN: usize = 21;

    pub fn generate() -> Self {
        Self(random_string(&nanoid::alphabet::SAFE, Self::LEN))
    }

    /// Parses a click id read back from a shop (a landing-site URL, order metadata).
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = raw.len() == Self::LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClickId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn alphanumeric() -> &'static [char] {
    &ALPHANUMERIC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_influencer_ids_parse_back() {
        let id = InfluencerId::generate();
        assert_eq!(InfluencerId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn influencer_ids_reject_foreign_shapes() {
        for raw in [
            "",
            "inf_",
            "usr_abc",
            "inf_ab:c",
            "inf_{x}",
            &format!("inf_{}", "a".repeat(33)),
        ] {
            assert_eq!(InfluencerId::parse(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn click_ids_are_url_safe_nanoids_that_parse_back() {
        let id = ClickId::generate();
        assert_eq!(id.as_str().len(), ClickId::LEN);
        assert_eq!(ClickId::parse(id.as_str()), Some(id));
        assert_eq!(ClickId::parse("short"), None);
        assert_eq!(ClickId::parse(&format!("{}%", "a".repeat(20))), None);
    }
}
