//! Identifiers minted by reftrack.

use std::fmt;

use chrono::{Days, NaiveDate};
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

/// A new id: `prefix` and twelve random letters or digits (71 bits of randomness).
pub(crate) fn new_prefixed_id(prefix: &str) -> String {
    format!("{prefix}{}", random_string(&ALPHANUMERIC, 12))
}

/// Whether `raw` has the shape of an id reftrack mints: `prefix` and 1 to 32 letters or
/// digits, so ids never carry characters that would break a Redis key or a URL.
pub(crate) fn is_prefixed_id(raw: &str, prefix: &str) -> bool {
    raw.strip_prefix(prefix).is_some_and(|rest| {
        (1..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The id of an influencer: `inf_` and twelve letters or digits (71 bits of randomness).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfluencerId(String);

impl InfluencerId {
    const PREFIX: &'static str = "inf_";

    pub fn generate() -> Self {
        Self(new_prefixed_id(Self::PREFIX))
    }

    /// Accepts any id of the shape reftrack mints (`inf_` and 1 to 32 letters or digits).
    pub fn parse(raw: &str) -> Option<Self> {
        is_prefixed_id(raw, Self::PREFIX).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for InfluencerId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for InfluencerId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("'{raw}' is not an influencer id")))
    }
}

impl fmt::Display for InfluencerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id stamped on a destination as `rtclid`: 21 characters of nanoid's URL-safe alphabet.
///
/// The first three characters encode the click's UTC day (days since 1970 in base 64, enough
/// until the year 2687), so the store finds a click's record with one read of that day's
/// bucket; the other eighteen are random (108 bits), so ids cannot be guessed to claim
/// someone else's click.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClickId(String);

impl ClickId {
    pub const LEN: usize = 21;
    const DAY_LEN: usize = 3;

    pub fn generate(day: NaiveDate) -> Self {
        let days =
            u32::try_from(day.signed_duration_since(NaiveDate::default()).num_days()).unwrap_or(0);
        let alphabet = &nanoid::alphabet::SAFE;
        let mut id = String::with_capacity(Self::LEN);
        for shift in [12, 6, 0] {
            id.push(alphabet[((days >> shift) & 63) as usize]);
        }
        id.push_str(&random_string(alphabet, Self::LEN - Self::DAY_LEN));
        Self(id)
    }

    /// The UTC day the click happened on.
    pub fn day(&self) -> NaiveDate {
        let days = self
            .0
            .bytes()
            .take(Self::DAY_LEN)
            .fold(0_u64, |acc, b| (acc << 6) | u64::from(safe_index(b)));
        NaiveDate::default()
            .checked_add_days(Days::new(days))
            .unwrap_or_default()
    }

    /// A number in `0..n` taken from the random part, to spread one day's clicks over `n`
    /// buckets.
    pub fn shard(&self, n: u8) -> u8 {
        self.0.bytes().last().map_or(0, safe_index) % n
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

impl serde::Serialize for ClickId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ClickId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("'{raw}' is not a click id")))
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

/// The position of an ASCII byte in nanoid's URL-safe alphabet (`_-0-9a-zA-Z`).
fn safe_index(byte: u8) -> u8 {
    match byte {
        b'-' => 1,
        b'0'..=b'9' => byte - b'0' + 2,
        b'a'..=b'z' => byte - b'a' + 12,
        b'A'..=b'Z' => byte - b'A' + 38,
        _ => 0,
    }
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
    fn the_alphabet_index_matches_nanoids_safe_alphabet() {
        for (i, c) in nanoid::alphabet::SAFE.iter().enumerate() {
            assert_eq!(usize::from(safe_index(*c as u8)), i, "{c}");
        }
    }

    #[test]
    fn click_ids_carry_their_day() {
        for day in ["1970-01-01", "2026-11-21", "2400-02-29"] {
            let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
            assert_eq!(ClickId::generate(day).day(), day);
        }
    }

    #[test]
    fn click_ids_are_url_safe_nanoids_that_parse_back() {
        let id = ClickId::generate(NaiveDate::default());
        assert_eq!(id.as_str().len(), ClickId::LEN);
        assert_eq!(ClickId::parse(id.as_str()), Some(id));
        assert_eq!(ClickId::parse("short"), None);
        assert_eq!(ClickId::parse(&format!("{}%", "a".repeat(20))), None);
    }
}
