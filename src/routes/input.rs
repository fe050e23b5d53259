//! Domain values read from a request's path, query and body, each refused with its own error
//! code and a message naming the field. Shared by the admin handlers, so no route file needs
//! another's helpers.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Days;
use futures_util::future::{LocalBoxFuture, Ready, ready};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::domain::{Campaign, CampaignId, DateRange, InfluencerId, code_point, hidden_char};
use crate::error::{ApiError, serde_fault};
use crate::state::AppState;

/// Days covered when a report names no range: the last 30, today included.
const DEFAULT_DAYS: u64 = 30;

/// A JSON request body, read as `web::Json` reads it (its size limit, content type and
/// syntax errors come from the scope's `JsonConfig`), but refused with a message that names
/// the field at fault: `'kind': unknown value `ads`, expected one of `fee`, ...`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw = web::Json::<Box<RawValue>>::from_request(req, payload);
        Box::pin(async move {
            let raw = raw.await?.into_inner();
            // Every body is an object: serde would read a list as the fields in their order.
            if !raw.get().starts_with('{') {
                return Err(ApiError::bad_request(
                    "invalid_json",
                    format!(
                        "the body must be a JSON object ({{...}}), not '{}'",
                        clipped(raw.get())
                    ),
                )
                .into());
            }
            Ok(Self(json_body(raw.get())?))
        })
    }
}

/// Reads a JSON body into `T`, naming the field at fault when it does not fit.
pub fn json_body<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            serde_fault(&e.path().to_string(), &e.inner().to_string()),
        )
    })
}

/// A query string read into `T` (a struct of `Option<String>` fields that denies unknown
/// ones, as request bodies do), refused with `invalid_query` and a message that names the
/// parameter, the value given and what is allowed: `unknown parameter `sortt`, expected one
/// of `from`, `to`, ...`. The values themselves are checked by the handler, which names them
/// the same way; admin handlers take this rather than `web::Query`, whose errors name no
/// parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(query_string(req.query_string()).map(Self))
    }
}

/// Reads a query string into `T`, naming the parameter at fault (and the value it was given)
/// in the words [`serde_fault`] uses for bodies, with "parameter" where serde says "field".
pub fn query_string<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let pairs = || form_urlencoded::parse(text.as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs())).map_err(|e| {
        let path = e.path().to_string();
        let inner = e
            .inner()
            .to_string()
            .replace("unknown field", "unknown parameter")
            .replace("duplicate field", "repeated parameter")
            .replace("missing field", "missing parameter")
            .replace("there are no fields", "this endpoint takes none");
        let message = serde_fault(&path, &inner);
        let message = match pairs().find(|(name, _)| *name == path) {
            Some((_, given)) => format!("{message} (given '{}')", clipped(&given)),
            None => message,
        };
        ApiError::bad_request("invalid_query", message)
    })
}

/// At most the first 32 characters of a value a client sent, to quote it in an error.
pub fn clipped(raw: &str) -> String {
    raw.chars().take(32).collect()
}

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

/// A field of a change that may be left out but not cleared: `null` is refused in those
/// words, rather than read as "left out" (which would silently keep the value the client
/// meant to change).
pub fn not_null<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer)?
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(
                "null is not allowed here; leave the field out to keep its value",
            )
        })
}

/// Checks free text from a marketer: trimmed, non-empty, at most `max` characters, and no
/// character a reader cannot see (controls would corrupt CSV exports and terminal tables;
/// zero-width, direction and separator characters hide in or reorder what others read).
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("'{field}' must have 1 to {max} characters"),
        ));
    }
    if let Some(c) = hidden_char(value, true) {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!(
                "'{field}' must not contain {}, a character no one can see (control, \
                 zero-width, direction and separator characters are refused)",
                code_point(c)
            ),
        ));
    }
    Ok(value.to_owned())
}

/// An influencer id from a path or query.
pub fn influencer_id(raw: &str) -> Result<InfluencerId, ApiError> {
    InfluencerId::parse(raw).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_influencer_id",
            format!(
                "'{}' is not an influencer id (inf_ and letters or digits)",
                clipped(raw)
            ),
        )
    })
}

/// The influencer a filter names (`?influencer_id=`), which must exist: an empty list for a
/// mistyped id would read as "none yet". Refused as an unknown campaign is.
pub async fn existing_influencer(state: &AppState, raw: &str) -> Result<InfluencerId, ApiError> {
    let id = influencer_id(raw)?;
    match state.store.influencer(&id).await? {
        Some(_) => Ok(id),
        None => Err(ApiError::unprocessable(
            "unknown_influencer",
            format!("no influencer '{id}'"),
        )),
    }
}

/// A yes/no filter of a list's query (`true` or `false`), absent when not given.
pub fn flag(field: &'static str, raw: Option<&str>) -> Result<Option<bool>, ApiError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(
            "invalid_query",
            format!("'{field}' is true or false, not '{}'", clipped(other)),
        )),
    }
}

/// The campaign a request names, or the client error that says why there is none.
pub async fn campaign_of(state: &AppState, raw: &str) -> Result<Campaign, ApiError> {
    let unknown = || {
        ApiError::unprocessable(
            "unknown_campaign",
            format!("no campaign '{}'", clipped(raw)),
        )
    };
    let id = CampaignId::parse(raw).ok_or_else(unknown)?;
    state.store.campaign(&id).await?.ok_or_else(unknown)
}

/// Today in the reporting time zone.
pub fn today(state: &AppState) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&state.time_zone)
        .date_naive()
}

/// The report range from `from` and `to` (YYYY-MM-DD), by default the last 30 days. A date
/// that does not parse is named by its parameter.
pub fn range(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<DateRange, ApiError> {
    let day = |name: &str, raw: &str| {
        DateRange::parse_day(raw)
            .map_err(|e| ApiError::bad_request("invalid_range", format!("'{name}': {e}")))
    };
    let to = match to {
        Some(raw) => day("to", raw)?,
        None => today(state),
    };
    let from = match from {
        Some(raw) => day("from", raw)?,
        None => to
            .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
            .unwrap_or(to),
    };
    DateRange::new(from, to).map_err(|e| ApiError::bad_request("invalid_range", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "only deserialised, to see the error")]
    struct Listing {
        limit: Option<String>,
        cursor: Option<String>,
        count: Option<u32>,
    }

    fn refused(query: &str) -> String {
        match query_string::<Listing>(query) {
            Err(ApiError::Client { code, message, .. }) => {
                assert_eq!(code, "invalid_query", "{query}");
                message
            }
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn query_errors_name_the_parameter_and_what_was_given_without_rust_words() {
        for (query, said) in [
            ("limitt=5", ["limitt", "limit", "cursor"]),
            ("limit=1&limit=2", ["limit", "repeated", "limit"]),
            ("count=-3", ["'count'", "whole number", "given '-3'"]),
            ("count=ten", ["'count'", "whole number", "given 'ten'"]),
        ] {
            let message = refused(query);
            for word in said {
                assert!(message.contains(word), "{word} missing in: {message}");
            }
            for rust in ["u32", "variant", "invalid type", "struct", "field"] {
                assert!(!message.contains(rust), "{rust} in: {message}");
            }
        }
    }
}
