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

/// Declares an id type reftrack mints: `prefix` and twelve letters or digits when generated;
/// any id of that shape when parsed, from a request or from a stored record alike (a stored
/// id of another shape is refused on read, never passed on).
macro_rules! prefixed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                Self($crate::domain::ids::new_prefixed_id(Self::PREFIX))
            }

            /// Accepts any id of the shape reftrack mints (the prefix and 1 to 32 letters or
            /// digits).
            pub fn parse(raw: &str) -> Option<Self> {
                $crate::domain::ids::is_prefixed_id(raw, Self::PREFIX).then(|| Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).ok_or_else(|| {
                    serde::de::Error::custom(format!(concat!("'{}' is not ", $what), raw))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use prefixed_id;

prefixed_id!(
    /// The id of an influencer: `inf_` and twelve letters or digits (71 bits of randomness).
    InfluencerId,
    "inf_",
    "an influencer id"
);

/// The id stamped on a destination as `rtclid`: 21 characters of nanoid's URL-safe alphabet.
///
/// An id says where its click's record is, so recording a click costs Redis a few bytes
/// copied into a block, not a hash entry per click (that entry was nine tenths of Redis's
/// work per click): 7 characters name the [`IdSpace`] of the process that answered the click
/// (42 random bits), 6 are the click's number in that space (36 bits), and the last 8 are
/// random (48 bits). The random tail is kept in the record too, so an id that was never
/// issued, or one whose space happens to collide with another process's, finds nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClickId([u8; ClickId::LEN]);

/// Where a process's click ids come from: a random name, and numbers counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdSpace([u8; IdSpace::LEN]);

impl IdSpace {
    const LEN: usize = 7;
    /// Numbers one space holds (six characters of six bits); then a process takes a new one.
    pub const CAPACITY: u64 = 1 << 36;

    pub fn random() -> Self {
        let mut name = [0_u8; Self::LEN];
        fill_safe(&mut name);
        Self(name)
    }
}

impl ClickId {
    pub const LEN: usize = 21;
    const SEQ_AT: usize = IdSpace::LEN;
    const TAG_AT: usize = Self::SEQ_AT + 6;

    /// The id of click number `seq` (below [`IdSpace::CAPACITY`]) of `space`.
    pub fn new(space: IdSpace, seq: u64) -> Self {
        debug_assert!(seq < IdSpace::CAPACITY);
        let mut id = [0_u8; Self::LEN];
        id[..Self::SEQ_AT].copy_from_slice(&space.0);
        for (i, byte) in id[Self::SEQ_AT..Self::TAG_AT].iter_mut().enumerate() {
            let shift = 6 * (5 - i);
            *byte = SAFE_BYTES[usize::try_from((seq >> shift) & 63).unwrap_or(0)];
        }
        fill_safe(&mut id[Self::TAG_AT..]);
        Self(id)
    }

    /// The name of the id space the click was counted in.
    pub fn space(&self) -> &str {
        &self.as_str()[..Self::SEQ_AT]
    }

    /// The click's number in its space.
    pub fn seq(&self) -> u64 {
        self.0[Self::SEQ_AT..Self::TAG_AT]
            .iter()
            .fold(0, |acc, b| (acc << 6) | u64::from(safe_index(*b)))
    }

    /// The random tail, kept in the click's record.
    pub fn tag(&self) -> &[u8] {
        &self.0[Self::TAG_AT..]
    }

    /// The random tail as the 48 bits its eight characters hold.
    pub fn tag_bits(&self) -> u64 {
        self.tag()
            .iter()
            .fold(0, |acc, b| (acc << 6) | u64::from(safe_index(*b)))
    }

    /// Parses a click id read back from a shop (a landing-site URL, order metadata).
    pub fn parse(raw: &str) -> Option<Self> {
        let bytes: [u8; Self::LEN] = raw.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .then_some(Self(bytes))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a click id is ASCII")
    }
}

impl fmt::Debug for ClickId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClickId").field(&self.as_str()).finish()
    }
}

impl serde::Serialize for ClickId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
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
        f.write_str(self.as_str())
    }
}

/// nanoid's URL-safe alphabet (`_-0-9a-zA-Z`), as bytes.
const SAFE_BYTES: &[u8; 64] = b"_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Random characters of the URL-safe alphabet; 64 divides 256, so each is uniform.
fn fill_safe(out: &mut [u8]) {
    rand::rng().fill(out);
    for byte in out {
        *byte = SAFE_BYTES[usize::from(*byte & 63)];
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
    fn every_minted_id_is_checked_when_read_back_from_a_record() {
        use crate::domain::{CampaignId, CostId};
        for bad in [r#""cmp_../x""#, r#""inf_1""#, r#""""#, r#""cmp_""#] {
            assert!(serde_json::from_str::<CampaignId>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<CostId>(r#""cost_a b""#).is_err());
        let id = CampaignId::generate();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<CampaignId>(&json).unwrap(), id);
        assert!(
            serde_json::from_str::<InfluencerId>(r#""cmp_abc""#)
                .unwrap_err()
                .to_string()
                .contains("is not an influencer id")
        );
    }

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
    fn click_ids_carry_their_space_and_number() {
        let space = IdSpace::random();
        for seq in [0, 1, 4095, IdSpace::CAPACITY - 1] {
            let id = ClickId::new(space, seq);
            assert_eq!(id.seq(), seq);
            assert_eq!(id.space().as_bytes(), space.0);
        }
        let (a, b) = (ClickId::new(space, 7), ClickId::new(space, 7));
        assert_ne!(a.tag(), b.tag(), "the random tail tells two issues apart");
    }

    #[test]
    fn the_alphabet_bytes_match_nanoids_safe_alphabet() {
        let safe: String = nanoid::alphabet::SAFE.iter().collect();
        assert_eq!(safe.as_bytes(), SAFE_BYTES);
    }

    #[test]
    fn click_ids_are_url_safe_and_parse_back() {
        let id = ClickId::new(IdSpace::random(), 12_345);
        assert_eq!(id.as_str().len(), ClickId::LEN);
        assert_eq!(ClickId::parse(id.as_str()), Some(id));
        assert_eq!(ClickId::parse("short"), None);
        assert_eq!(ClickId::parse(&format!("{}%", "a".repeat(20))), None);
    }
}
