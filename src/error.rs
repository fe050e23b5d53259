//! The admin API's error type: every failure becomes `{"error": {"code", "message"}}` with
//! the right status. Client mistakes are 4xx with a message saying what to fix; store
//! failures are an opaque 503 (retry later) or 500 with the cause logged, never shown.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::{
    CampaignError, CommissionError, CouponCodeError, DateRangeError, DestinationError, HandleError,
    LinkCodeError, MoneyError,
};
use crate::pagination::PageError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("store error")]
    Store(#[from] StoreError),
}

/// Domain errors are client mistakes: each becomes a 400 with its code, so a handler's `?`
/// answers it.
macro_rules! bad_request_from {
    ($($error:ty => $code:literal),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                Self::bad_request($code, e.to_string())
            }
        }
    )*};
}

bad_request_from! {
    HandleError => "invalid_handle",
    CommissionError => "invalid_commission",
    DestinationError => "invalid_destination",
    LinkCodeError => "invalid_code",
    CouponCodeError => "invalid_coupon",
}

impl From<MoneyError> for ApiError {
    fn from(e: MoneyError) -> Self {
        let code = match e {
            MoneyError::UnknownCurrency(_) => "invalid_currency",
            _ => "invalid_amount",
        };
        Self::bad_request(code, e.to_string())
    }
}

impl From<DateRangeError> for ApiError {
    fn from(e: DateRangeError) -> Self {
        let code = match e {
            DateRangeError::NotADate(_) | DateRangeError::OutsideYears(_) => "invalid_date",
            DateRangeError::Reversed { .. } | DateRangeError::TooLong { .. } => "invalid_range",
        };
        Self::bad_request(code, e.to_string())
    }
}

impl From<PageError> for ApiError {
    fn from(e: PageError) -> Self {
        let code = match e {
            PageError::Limit(_) => "invalid_limit",
            PageError::Cursor(_) => "invalid_cursor",
        };
        Self::bad_request(code, e.to_string())
    }
}

impl From<CampaignError> for ApiError {
    fn from(e: CampaignError) -> Self {
        let code = match e {
            CampaignError::Domain(_) => "invalid_domain",
            CampaignError::DomainNotAllowed { .. } => "destination_not_allowed",
        };
        Self::bad_request(code, e.to_string())
    }
}

/// A JSON body's fault in words for the client (see [`plain_serde_message`]). The position is
/// kept.
pub fn plain_json_message(e: &serde_json::Error) -> String {
    plain_serde_message(&e.to_string())
}

/// A serde error of a body or a query string, at `path` (`.` for the whole), as the client is
/// told it: the field first, then the fault in plain words. One function for both, so a body
/// and a query string that fail alike are told alike.
pub fn serde_fault(path: &str, inner: &str) -> String {
    let message = plain_serde_message(inner);
    if path == "." || path == "?" {
        message
    } else {
        format!("'{path}': {message}")
    }
}

/// A serde message in words for the client: serde's own name Rust types (`expected u64`,
/// `expected struct Order with 15 elements`, `untagged enum ...`), which say nothing to whoever
/// sent the request.
pub fn plain_serde_message(text: &str) -> String {
    let mut message = text.to_owned();
    for (rust, plain) in [
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected u32", "expected a whole number of 0 or more"),
        ("expected u16", "expected a whole number of 0 or more"),
        ("expected usize", "expected a whole number of 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        // Query strings parse numbers from text, and say so in the words of `FromStr`.
        ("invalid digit found in string", "expected a whole number"),
        (
            "cannot parse integer from empty string",
            "expected a whole number",
        ),
        (
            "number too large to fit in target type",
            "the number is too large",
        ),
        (
            "number too small to fit in target type",
            "the number is too small",
        ),
        ("invalid float literal", "expected a number"),
    ] {
        message = message.replace(rust, plain);
    }
    while let Some(at) = message.find("expected struct ") {
        let rest = &message[at + "expected struct ".len()..];
        let name_end = rest.find([' ', ',']).unwrap_or(rest.len());
        let mut end = at + "expected struct ".len() + name_end;
        if let Some(after) = message[end..].strip_prefix(" with ")
            && let Some(elements) = after.find(" elements")
        {
            end += " with ".len() + elements + " elements".len();
        }
        message.replace_range(at..end, "expected an object");
    }
    message = message
        .replace("unknown variant ", "unknown value ")
        .replace("invalid type: ", "got ")
        .replace("invalid value: ", "got ")
        .replace("got map", "got an object")
        .replace("got sequence", "got a list")
        .replace("expected a sequence", "expected a list")
        .replace("expected a map", "expected an object")
        .replace("got floating point `", "got the number `")
        .replace("got integer `", "got the number `")
        .replace("got unit value", "got null");
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((count, expected)) = rest.split_once(", ")
    {
        message = format!("got a list of {count} items, {expected}");
    }
    if let Some(at) = message.find("data did not match any variant of untagged enum ") {
        let rest = &message[at..];
        let end = at + rest.find(" at line").unwrap_or(rest.len());
        message.replace_range(at..end, "the value has none of the accepted shapes");
    }
    message
}

/// Every error's body: `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ErrorDetail<'a> {
    /// A stable, machine-readable code such as `invalid_destination`.
    code: &'a str,
    message: &'a str,
    /// The request's id, as in its `X-Request-Id` header and its log lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl ApiError {
    /// This client error with the field at fault named in front (`'amount': ...`), and the
    /// value given when the message does not already quote it. Domain errors know the value
    /// but not the field it came in.
    #[must_use]
    pub fn in_field(self, field: &str, given: &str) -> Self {
        match self {
            Self::Client {
                status,
                code,
                message,
            } => {
                // Quoted safely: without a URL's password, and with control characters
                // escaped (the CLI prints messages to a terminal).
                let shown: String = crate::telemetry::without_credentials(given)
                    .chars()
                    .take(64)
                    .flat_map(|c| {
                        let escaped: Vec<char> = if c.is_control() {
                            c.escape_default().collect()
                        } else {
                            vec![c]
                        };
                        escaped
                    })
                    .collect();
                let message = if given.is_empty() || message.contains(&shown) {
                    format!("'{field}': {message}")
                } else {
                    format!("'{field}': {message} (given '{shown}')")
                };
                Self::Client {
                    status,
                    code,
                    message,
                }
            }
            store @ Self::Store(_) => store,
        }
    }

    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Client {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::client(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the admin token as 'Authorization: Bearer <token>'",
        )
    }

    fn parts(&self) -> (&'static str, &str) {
        match self {
            Self::Client { code, message, .. } => (code, message),
            Self::Store(StoreError::Redis(_)) => (
                "store_unavailable",
                "the data store is unavailable; retry later",
            ),
            Self::Store(StoreError::Corrupt { .. }) => ("internal", "internal error"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Client { status, .. } => *status,
            Self::Store(StoreError::Redis(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(StoreError::Corrupt { .. }) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let Self::Store(cause) = self {
            tracing::error!(error = %cause, "request failed in the store");
        }
        let (code, message) = self.parts();
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code,
                message,
                request_id: crate::telemetry::request_id(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_quoted_after_its_field_loses_its_password_and_its_control_characters() {
        let error = ApiError::bad_request("invalid_destination", "the destination is bad")
            .in_field(
                "destination",
                "https://u:PASSWORD@shop.example/\u{1b}[31mred",
            );
        let message = error.to_string();
        assert!(message.starts_with("'destination': "), "{message}");
        assert!(!message.contains("PASSWORD"), "{message}");
        assert!(!message.contains('\u{1b}'), "{message}");
        assert!(message.contains("shop.example"), "{message}");
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code, reason = "only deserialised, to see the error")]
    struct Order {
        id: u64,
        total: i64,
    }

    #[test]
    fn json_errors_are_told_without_rust_type_names_and_keep_their_position() {
        for (body, said) in [
            (r#"{"id": -1, "total": 1}"#, "a whole number of 0 or more"),
            (r#"{"id": 1, "total": 1.5}"#, "a whole number"),
            ("[]", "expected an object"),
            ("5", "expected an object"),
        ] {
            let e = serde_json::from_str::<Order>(body).unwrap_err();
            let message = plain_json_message(&e);
            assert!(message.contains(said), "{body}: {message}");
            assert!(message.contains("line 1"), "{body}: {message}");
            for rust in ["u64", "i64", "struct", "Order"] {
                assert!(!message.contains(rust), "{body}: {message}");
            }
        }
    }
}
