//! How values are written in responses.

use chrono::{DateTime, SecondsFormat};

/// A stored creation time as RFC 3339.
pub fn timestamp(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
