//! How settings are read from their text: each refuses a bad value in words that say what was
//! given and what is allowed (the configuration loader adds the key), never a Rust type name.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use chrono_tz::Tz;
use ipnet::IpNet;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::Error as _;

use super::LogFormat;
use crate::domain::AttributionPriority;

/// Strings from a TOML array, or from one comma-separated string (the environment's form).
pub(super) fn string_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<String>),
        Joined(String),
    }
    Ok(match Form::deserialize(deserializer)? {
        Form::List(items) => items,
        Form::Joined(joined) => joined
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Secrets, as [`string_list`] reads them.
pub(super) fn secret_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SecretString>, D::Error> {
    Ok(string_list(deserializer)?
        .into_iter()
        .map(SecretString::from)
        .collect())
}

/// A whole number from `MIN` to `MAX` (`MAX` = `u64::MAX`: "at least `MIN`"), refused in
/// those words with what was given. Any number or numeric text is read first and then
/// checked, so a negative number, or one too large for the setting's Rust type (5000000000
/// for a `u32`), gets the same message as one just past its range, not serde's, which names
/// the type (`expected u32`). Times and sizes have upper bounds as well: a value far past any
/// sensible one (a flush interval of 2^64 ms) would not mean "never", it would overflow the
/// clock arithmetic that uses it and stop the task at start-up.
pub(super) fn whole<'de, const MIN: u64, const MAX: u64, D, T>(
    deserializer: D,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: FromWhole,
{
    let allowed = range_words(MIN, MAX);
    let given = deserializer.deserialize_any(WholeVisitor { allowed: &allowed })?;
    given
        .value
        .and_then(|v| u64::try_from(v).ok())
        .filter(|n| (MIN..=MAX).contains(n))
        .and_then(T::from_whole)
        .ok_or_else(|| D::Error::custom(format!("must be {allowed}; got {}", given.text)))
}

/// A whole number read as [`whole`] reads it, for a setting that allows a few values rather
/// than a range (`allowed` names them).
pub(super) fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    allowed: &str,
) -> Result<Whole, D::Error> {
    deserializer.deserialize_any(WholeVisitor { allowed })
}

/// "`min` to `max`", or "at least `min`" for a range open upwards.
pub(super) fn range_words(min: u64, max: u64) -> String {
    if max == u64::MAX {
        format!("at least {min}")
    } else {
        format!("{min} to {max}")
    }
}

/// A whole number as given: its value, when it fits an `i128`, and its text for messages.
#[derive(Debug)]
pub(super) struct Whole {
    pub(super) value: Option<i128>,
    pub(super) text: String,
}

impl Whole {
    fn of(value: i128) -> Self {
        Self {
            value: Some(value),
            text: value.to_string(),
        }
    }
}

struct WholeVisitor<'a> {
    allowed: &'a str,
}

impl WholeVisitor<'_> {
    fn refuse<E: serde::de::Error>(&self, given: impl std::fmt::Display) -> E {
        E::custom(format!(
            "got {given}, expected a whole number, {}",
            self.allowed
        ))
    }
}

impl serde::de::Visitor<'_> for WholeVisitor<'_> {
    type Value = Whole;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a whole number, {}", self.allowed)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Whole, E> {
        Ok(Whole::of(v.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Whole, E> {
        Ok(Whole::of(v.into()))
    }

    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Whole, E> {
        Ok(Whole::of(v))
    }

    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Whole, E> {
        Ok(Whole {
            value: i128::try_from(v).ok(),
            text: v.to_string(),
        })
    }

    /// A whole number written as a float (`2e9` in TOML) is that number, as the loader read
    /// it before; a fraction is refused.
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Whole, E> {
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e30 {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "a whole number under 1e30 fits an i128 exactly"
            )]
            return Ok(Whole::of(v as i128));
        }
        Err(self.refuse(v))
    }

    /// The environment's values are text: digits are a number however many there are (too
    /// many for any setting is a number out of range, said so), anything else is refused.
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Whole, E> {
        let text = v.trim();
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.refuse(format_args!("'{v}'")));
        }
        Ok(Whole {
            value: text.parse().ok(),
            text: text.to_owned(),
        })
    }
}

/// The types a whole-number setting is kept in: the conversion fails (and the value is
/// refused as out of range) only where a range is wider than its type.
pub(super) trait FromWhole: Sized {
    fn from_whole(n: u64) -> Option<Self>;
}

macro_rules! from_whole {
    ($($plain:ty),* ; $($nonzero:ty : $inner:ty),*) => {
        $(impl FromWhole for $plain {
            fn from_whole(n: u64) -> Option<Self> {
                Self::try_from(n).ok()
            }
        })*
        $(impl FromWhole for $nonzero {
            fn from_whole(n: u64) -> Option<Self> {
                Self::new(<$inner>::try_from(n).ok()?)
            }
        })*
    };
}

from_whole!(u32, u64, usize, i64; NonZeroU32: u32, NonZeroU64: u64, NonZeroUsize: usize);

/// An IANA time zone name (`Europe/Berlin`).
pub(super) fn time_zone<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(deserializer)?;
    name.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone '{name}'; use an IANA name such as UTC or Europe/Berlin"
        ))
    })
}

/// CIDR blocks, as [`string_list`] reads them. Values are kept as strings until here: the
/// config crate's own parsing would turn a numeric-looking admin token into a number and drop
/// its leading zeros. IPv4-mapped blocks become the IPv4 blocks they mean, as addresses are
/// matched in canonical form.
pub(super) fn cidr_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<IpNet>, D::Error> {
    string_list(deserializer)?
        .iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(crate::domain::canonical_net)
                .map_err(|_| {
                    serde::de::Error::custom(format!("'{item}' is not an address or CIDR block"))
                })
        })
        .collect()
}

/// One of a few names, refused with the names allowed.
fn one_of<'de, D, T: Copy>(deserializer: D, what: &str, names: &[(&str, T)]) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let given = String::deserialize(deserializer)?;
    names
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(given.trim()))
        .map(|&(_, value)| value)
        .ok_or_else(|| {
            let allowed: Vec<&str> = names.iter().map(|(name, _)| *name).collect();
            D::Error::custom(format!(
                "'{given}' is not {what}; use {}",
                allowed.join(" or ")
            ))
        })
}

/// `click` or `coupon`.
pub(super) fn priority<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<AttributionPriority, D::Error> {
    one_of(
        deserializer,
        "an attribution priority",
        &[
            ("click", AttributionPriority::Click),
            ("coupon", AttributionPriority::Coupon),
        ],
    )
}

/// `text` or `json`.
pub(super) fn log_format<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<LogFormat, D::Error> {
    one_of(
        deserializer,
        "a log format",
        &[("text", LogFormat::Text), ("json", LogFormat::Json)],
    )
}

/// Levels a log filter may name, alone or after `target=`.
const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// A log filter: a level (`info`), or comma-separated `target=level` directives
/// (`reftrack=debug,actix_web=info`). A bare word that is no level (`verbose`) is refused: the
/// filter syntax would read it as a target and turn every other log off.
pub(super) fn log_level<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    let filter = String::deserialize(deserializer)?;
    let allowed = "use one of error, warn, info, debug, trace or off, or target=level \
                   directives such as reftrack=debug,actix_web=info";
    for directive in filter.split(',').map(str::trim) {
        let level = directive
            .rsplit_once('=')
            .map_or(directive, |(_, level)| level);
        if !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
            return Err(D::Error::custom(format!(
                "'{directive}' is not a log level; {allowed}"
            )));
        }
    }
    tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| {
        D::Error::custom(format!("'{filter}' is not a log filter ({e}); {allowed}"))
    })?;
    Ok(filter)
}

/// An address and port to listen on: an IP address (`0.0.0.0:8080`, `[::]:8080`) or a host
/// name that resolves (`localhost:8080`; its first address is used).
pub(super) fn bind_address<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    let given = String::deserialize(deserializer)?;
    let refused = |why: String| {
        D::Error::custom(format!(
            "'{given}' {why}; use host:port, such as 127.0.0.1:8080, 0.0.0.0:8080 or \
             localhost:8080"
        ))
    };
    if let Ok(address) = given.trim().parse::<SocketAddr>() {
        return Ok(address);
    }
    if !given.contains(':') {
        return Err(refused("has no port".to_owned()));
    }
    let mut addresses = given
        .trim()
        .to_socket_addrs()
        .map_err(|e| refused(format!("is not an address this host can listen on ({e})")))?;
    addresses
        .next()
        .ok_or_else(|| refused("names a host with no address".to_owned()))
}

/// As [`bind_address`], or empty for none.
pub(super) fn optional_bind_address<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SocketAddr>, D::Error> {
    let given = String::deserialize(deserializer)?;
    if given.trim().is_empty() {
        return Ok(None);
    }
    bind_address(serde::de::value::StrDeserializer::<D::Error>::new(&given)).map(Some)
}
