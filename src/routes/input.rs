//! Domain values read from a request's path, query and body, each refused with its own error
//! code and a message naming the field. Shared by the admin handlers, so no route file needs
//! another's helpers.

use chrono::Days;
use serde::{Deserialize, Deserializer};

use crate::domain::{Campaign, CampaignId, DateRange, InfluencerId};
use crate::error::ApiError;
use crate::state::AppState;

/// Days covered when a report names no range: the last 30, today included.
const DEFAULT_DAYS: u64 = 30;

/// Accepts `null` as "clear this field", telling it apart from an absent field.
#[allow(
    clippy::option_option,
    reason = "absent, null and a value mean three different things"
)]
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Checks free text from a marketer: trimmed, non-empty, at most `max` characters, and no
/// control characters (which would corrupt CSV exports and terminal tables).
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("'{field}' must have 1 to {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("'{field}' must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An influencer id from a path or query.
pub fn influencer_id(raw: &str) -> Result<InfluencerId, ApiError> {
    InfluencerId::parse(raw).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_influencer_id",
            format!("'{raw}' is not an influencer id"),
        )
    })
}

/// A yes/no filter of a list's query (`true` or `false`), absent when not given.
pub fn flag(field: &'static str, raw: Option<&str>) -> Result<Option<bool>, ApiError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "'{field}' is true or false, not '{}'",
                other.chars().take(32).collect::<String>()
            ),
        )),
    }
}

/// The campaign a request names, or the client error that says why there is none.
pub async fn campaign_of(state: &AppState, raw: &str) -> Result<Campaign, ApiError> {
    let unknown = || ApiError::unprocessable("unknown_campaign", format!("no campaign '{raw}'"));
    let id = CampaignId::parse(raw).ok_or_else(unknown)?;
    state.store.campaign(&id).await?.ok_or_else(unknown)
}

/// The report range from `from` and `to` (YYYY-MM-DD), by default the last 30 days.
pub fn range(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<DateRange, ApiError> {
    let bad =
        |e: crate::domain::DateRangeError| ApiError::bad_request("invalid_range", e.to_string());
    let today = chrono::Utc::now()
        .with_timezone(&state.time_zone)
        .date_naive();
    let to = to
        .map(DateRange::parse_day)
        .transpose()
        .map_err(bad)?
        .unwrap_or(today);
    let from = match from {
        Some(raw) => DateRange::parse_day(raw).map_err(bad)?,
        None => to
            .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
            .unwrap_or(to),
    };
    DateRange::new(from, to).map_err(bad)
}
