//! Where a referral link sends a follower.

use std::fmt;

use url::Url;

/// A validated absolute `http`/`https` URL without credentials, at most 2048 bytes.
///
/// The check runs on the raw input *and* on what a URL parser makes of it: parsers silently
/// drop tabs and newlines (`java\tscript:` parses as `javascript:`), so control characters are
/// refused before parsing, and the scheme is checked after. What is stored and sent in
/// `Location` is the parser's serialisation, which percent-encodes anything that could split a
/// header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    url: String,
    /// Byte offset of `#`, if there is a fragment: the click id goes before it.
    fragment_at: Option<usize>,
    /// What joins the click id to the URL: `?`, `&`, or nothing when the URL ends in `?`.
    separator: &'static str,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DestinationError {
    #[error("the destination is longer than 2048 bytes")]
    TooLong,
    #[error("the destination contains a control character")]
    ControlCharacter,
    #[error("the destination is not an absolute URL: {0}")]
    NotAUrl(String),
    #[error("the destination must use http or https, not '{0}'")]
    Scheme(String),
    #[error("the destination must not contain a user name or password")]
    Credentials,
    #[error("the destination must not carry its own rtclid parameter")]
    ClickIdParameter,
}

impl Destination {
    pub const MAX_LEN: usize = 2048;
    pub const CLICK_ID_PARAM: &'static str = "rtclid";
    /// Most bytes of a follower's query a redirect passes on.
    pub const MAX_FORWARDED_QUERY: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, DestinationError> {
        if raw.len() > Self::MAX_LEN {
            return Err(DestinationError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(DestinationError::ControlCharacter);
        }
        let url = Url::parse(raw).map_err(|e| DestinationError::NotAUrl(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(DestinationError::Scheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(DestinationError::Credentials);
        }
        if url.query_pairs().any(|(k, _)| k == Self::CLICK_ID_PARAM) {
            return Err(DestinationError::ClickIdParameter);
        }
        let serialised = String::from(url);
        if serialised.len() > Self::MAX_LEN {
            return Err(DestinationError::TooLong);
        }
        Ok(Self::from_serialised(serialised))
    }

    /// Rebuilds a destination that [`Destination::parse`] accepted earlier (read back from the
    /// store), without parsing it again.
    pub fn from_stored(url: String) -> Self {
        Self::from_serialised(url)
    }

    fn from_serialised(url: String) -> Self {
        let fragment_at = url.find('#');
        let before_fragment = &url[..fragment_at.unwrap_or(url.len())];
        let separator = match before_fragment.find('?') {
            None => "?",
            Some(q) if q + 1 == before_fragment.len() => "",
            Some(_) => "&",
        };
        Self {
            url,
            fragment_at,
            separator,
        }
    }

    /// The destination with `rtclid=<click id>` added to its query, before any fragment.
    pub fn with_click_id(&self, click_id: &str) -> String {
        self.location("", Some(click_id))
    }

    /// Where a follower is sent: the destination, then the parameters of the follower's own
    /// query (`forwarded`, as it came, e.g. `utm_campaign=bf`) that the destination does not
    /// set itself and that are not `rtclid`, then `rtclid=<click id>` when there is one; all
    /// before any fragment. At most [`Self::MAX_FORWARDED_QUERY`] bytes are forwarded, and
    /// only parameters of plain URL characters.
    pub fn location(&self, forwarded: &str, click_id: Option<&str>) -> String {
        let split = self.fragment_at.unwrap_or(self.url.len());
        let (head, fragment) = self.url.split_at(split);
        let mut out = String::with_capacity(
            self.url.len() + forwarded.len().min(Self::MAX_FORWARDED_QUERY) + 32,
        );
        out.push_str(head);
        let mut separator = self.separator;
        if !forwarded.is_empty() {
            let own = head.split_once('?').map_or("", |(_, query)| query);
            let limit = head.len() + Self::MAX_FORWARDED_QUERY;
            for pair in forwarded.split('&') {
                if pair.is_empty()
                    || !pair.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
                    || out.len() + separator.len() + pair.len() > limit
                    || !forwardable(own, pair)
                {
                    continue;
                }
                out.push_str(separator);
                out.push_str(pair);
                separator = "&";
            }
        }
        if let Some(click_id) = click_id {
            out.push_str(separator);
            out.push_str(Self::CLICK_ID_PARAM);
            out.push('=');
            out.push_str(click_id);
        }
        out.push_str(fragment);
        out
    }

    /// The destination's host name (lower case, as the URL parser normalises it).
    pub fn host(&self) -> String {
        Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }
}

/// Whether a follower's query parameter may be passed on: not `rtclid`, which reftrack owns,
/// and not one the destination's own query (`own`) sets, which wins. Names are compared
/// decoded, so `utm%5Fsource` is `utm_source`.
fn forwardable(own: &str, pair: &str) -> bool {
    let Some((name, _)) = url::form_urlencoded::parse(pair.as_bytes()).next() else {
        return false;
    };
    name != Destination::CLICK_ID_PARAM
        && !url::form_urlencoded::parse(own.as_bytes()).any(|(own_name, _)| own_name == name)
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(raw: &str) -> String {
        Destination::parse(raw).unwrap().with_click_id("CLICK")
    }

    #[test]
    fn the_click_id_joins_the_query_and_stays_before_the_fragment() {
        assert_eq!(
            location("https://shop.example"),
            "https://shop.example/?rtclid=CLICK"
        );
        assert_eq!(
            location("https://shop.example/p?utm_source=ig&x=1#reviews"),
            "https://shop.example/p?utm_source=ig&x=1&rtclid=CLICK#reviews"
        );
        assert_eq!(
            location("https://shop.example/p?"),
            "https://shop.example/p?rtclid=CLICK"
        );
        assert_eq!(
            location("http://shop.example/p#a?b"),
            "http://shop.example/p?rtclid=CLICK#a?b"
        );
    }

    #[test]
    fn script_and_data_schemes_are_refused_even_when_disguised() {
        for raw in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,hi",
            "ftp://x.example/",
        ] {
            assert!(
                matches!(Destination::parse(raw), Err(DestinationError::Scheme(_))),
                "{raw}"
            );
        }
        assert_eq!(
            Destination::parse("java\tscript:alert(1)"),
            Err(DestinationError::ControlCharacter)
        );
    }

    #[test]
    fn relative_credentialed_and_oversized_destinations_are_refused() {
        assert!(matches!(
            Destination::parse("/cart"),
            Err(DestinationError::NotAUrl(_))
        ));
        assert!(matches!(
            Destination::parse("//evil.example"),
            Err(DestinationError::NotAUrl(_))
        ));
        assert_eq!(
            Destination::parse("https://user:pw@shop.example/"),
            Err(DestinationError::Credentials)
        );
        let long = format!("https://shop.example/{}", "a".repeat(2048));
        assert_eq!(Destination::parse(&long), Err(DestinationError::TooLong));
        assert_eq!(
            Destination::parse("https://shop.example/\r\nSet-Cookie: x=1"),
            Err(DestinationError::ControlCharacter)
        );
    }

    #[test]
    fn a_followers_query_is_passed_on_before_the_click_id_and_the_fragment() {
        let destination = Destination::parse("https://shop.example/p?utm_source=ig#top").unwrap();

        let location = destination.location("utm_campaign=bf&ref=story", Some("CLICK"));

        assert_eq!(
            location,
            "https://shop.example/p?utm_source=ig&utm_campaign=bf&ref=story&rtclid=CLICK#top"
        );
    }

    #[test]
    fn the_destinations_own_parameters_and_rtclid_are_not_overridden_by_the_followers() {
        let destination = Destination::parse("https://shop.example/p?utm_source=ig").unwrap();

        let location = destination.location(
            "utm_source=tiktok&utm%5Fsource=x&rtclid=forged&x=1&&bad#frag&sp%20ace=y",
            Some("CLICK"),
        );

        assert_eq!(
            location,
            "https://shop.example/p?utm_source=ig&x=1&sp%20ace=y&rtclid=CLICK"
        );
    }

    #[test]
    fn a_destination_without_a_query_gets_one_and_the_forwarded_query_is_bounded() {
        let destination = Destination::parse("https://shop.example/").unwrap();
        let huge = format!("a={}&b=2", "x".repeat(Destination::MAX_FORWARDED_QUERY));

        assert_eq!(
            destination.location("c=3", None),
            "https://shop.example/?c=3"
        );
        assert_eq!(
            destination.location(&huge, Some("CLICK")),
            "https://shop.example/?b=2&rtclid=CLICK"
        );
    }

    #[test]
    fn stored_destinations_rebuild_the_same_locations() {
        let parsed = Destination::parse("https://shop.example/p?a=1#f").unwrap();
        let stored = Destination::from_stored(parsed.as_str().to_owned());
        assert_eq!(stored.with_click_id("X"), parsed.with_click_id("X"));
    }
}
