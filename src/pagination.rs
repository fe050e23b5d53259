//! The list convention of the admin API: `limit` (how many items a page holds) and an opaque
//! `cursor` (where the previous page ended), answered with `next_cursor` (`null` on the last
//! page). Every list that pages parses its parameters here, so they fail the same way.
//!
//! A cursor is the sort key of the last item returned: its score (a time in milliseconds) and
//! its member (a unique key). Items that share a score are ordered by member, so a page
//! boundary inside a run of equal times neither skips nor repeats one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a list's paging parameters cannot be used; each names its parameter.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    #[error("limit '{0}' is not a whole number from 1 to {MAX_LIMIT}")]
    Limit(String),
    #[error("cursor '{0}' is not one this server returned as next_cursor; start again without it")]
    Cursor(String),
}

/// Items on a page when the request names no limit.
pub const DEFAULT_LIMIT: usize = 100;
/// The most a page may hold.
pub const MAX_LIMIT: usize = 1_000;

/// Longest member a cursor may carry: item keys are far shorter, and an unbounded one would
/// let a request make Redis compare megabytes.
const MAX_MEMBER_LEN: usize = 512;
/// Marks the cursor format, so a later format can tell old cursors apart.
const VERSION: &str = "v1";

/// A page's size from the `limit` query parameter (raw text, so a bad value is named).
pub fn limit(raw: Option<&str>) -> Result<usize, PageError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| PageError::Limit(raw.chars().take(32).collect()))
}

/// Where a page ends: the sort key of its last item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub score: i64,
    pub member: String,
}

impl Cursor {
    /// The text a client sends back as `cursor`: URL-safe, with no meaning it should rely on.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{VERSION}:{}:{}", self.score, self.member))
    }

    /// Reads a client's `cursor`; anything this module did not write is a 400 naming it.
    pub fn decode(raw: &str) -> Result<Self, PageError> {
        let bad = || PageError::Cursor(raw.chars().take(32).collect());
        if raw.len() > 4 * MAX_MEMBER_LEN {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.splitn(3, ':');
        let (Some(VERSION), Some(score), Some(member)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let score = score.parse().map_err(|_| bad())?;
        if member.is_empty()
            || member.len() > MAX_MEMBER_LEN
            || member.chars().any(char::is_control)
        {
            return Err(bad());
        }
        Ok(Self {
            score,
            member: member.to_owned(),
        })
    }

    /// The cursor of the `cursor` query parameter, if any.
    pub fn from_query(raw: Option<&str>) -> Result<Option<Self>, PageError> {
        raw.map(Self::decode).transpose()
    }
}

/// One page of a list and the cursor of the next (`None`: this was the last).
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// One page of a list read whole (the catalog's small lists: campaigns, coupons, costs; and
/// every link until its index is whole), in the order of `key`, after `after`. Keys must be
/// unique per item. Influencers and links are paged in Redis instead
/// (`store/index_pages.rs`).
pub fn page_of<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> Cursor,
    after: Option<&Cursor>,
    limit: usize,
) -> Page<T> {
    let sort_key = |c: Cursor| (c.score, c.member);
    items.sort_by_cached_key(|item| sort_key(key(item)));
    if let Some(after) = after {
        let after = (after.score, after.member.clone());
        items.retain(|item| sort_key(key(item)) > after);
    }
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(&key) } else { None };
    Page { items, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_a_whole_list_give_each_item_once_in_order() {
        let items: Vec<(i64, String)> = (0..7).map(|i| (i % 3, format!("m{i}"))).collect();
        let key = |item: &(i64, String)| Cursor {
            score: item.0,
            member: item.1.clone(),
        };
        let mut seen = Vec::new();
        let mut after = None;
        for _ in 0..10 {
            let page = page_of(items.clone(), key, after.as_ref(), 3);
            assert!(page.items.len() <= 3);
            seen.extend(page.items.iter().map(|i| i.1.clone()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["m0", "m3", "m6", "m1", "m4", "m2", "m5"]);
    }

    #[test]
    fn a_cursor_reads_back_as_written_even_with_colons_in_its_member() {
        let cursor = Cursor {
            score: 1_764_000_000_123,
            member: "shopify:450789469".to_owned(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        let negative = Cursor {
            score: -5,
            member: "generic:A-1".to_owned(),
        };
        assert_eq!(Cursor::decode(&negative.encode()).unwrap(), negative);
    }

    #[test]
    fn cursors_this_server_did_not_write_are_refused_naming_the_cursor() {
        let forged = [
            "",
            "not base64!",
            &URL_SAFE_NO_PAD.encode("v2:1:generic:A"),
            &URL_SAFE_NO_PAD.encode("v1:soon:generic:A"),
            &URL_SAFE_NO_PAD.encode("v1:1:"),
            &URL_SAFE_NO_PAD.encode("v1:1:generic:\nA"),
            &URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
            &"A".repeat(5000),
        ];
        for raw in forged {
            let err = Cursor::decode(raw).unwrap_err();
            assert!(matches!(err, PageError::Cursor(_)), "{raw}");
            assert!(err.to_string().starts_with("cursor"), "{raw}");
        }
    }

    #[test]
    fn limits_default_to_a_hundred_and_out_of_range_ones_name_limit() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(Some("1")).unwrap(), 1);
        assert_eq!(limit(Some("1000")).unwrap(), MAX_LIMIT);
        for raw in ["0", "1001", "-1", "ten", "", "99999999999999999999999"] {
            let err = limit(Some(raw)).unwrap_err().to_string();
            assert!(err.starts_with("limit"), "{raw}: {err}");
            assert!(err.contains("1 to 1000"), "{raw}: {err}");
        }
    }
}
