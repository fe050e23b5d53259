//! The fixed label sets of reftrack's metrics: every label value comes from one of these
//! enums, never from an influencer, link code, order or token.

use actix_web::http::{Method, StatusCode};

/// How a request for a referral link ended.
#[derive(Debug, Clone, Copy)]
pub enum RedirectOutcome {
    Redirected,
    NotFound,
    /// The link was not cached and Redis could not be asked.
    Unavailable,
}

/// The Redis operation that failed, for `reftrack_redis_errors_total`.
#[derive(Debug, Clone, Copy)]
pub enum RedisOperation {
    ClickFlush,
    LinkLookup,
    CacheRefresh,
    Readiness,
}

impl RedisOperation {
    pub(super) const ALL: [Self; 4] = [
        Self::ClickFlush,
        Self::LinkLookup,
        Self::CacheRefresh,
        Self::Readiness,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::ClickFlush => "click_flush",
            Self::LinkLookup => "link_lookup",
            Self::CacheRefresh => "cache_refresh",
            Self::Readiness => "readiness",
        }
    }
}

/// How a webhook delivery ended, for `reftrack_webhook_deliveries_total`.
#[derive(Debug, Clone, Copy)]
pub enum WebhookOutcome {
    /// Stored: the order's record changed.
    Applied,
    /// A delivery already applied (a shop's retry).
    Duplicate,
    /// A topic or state reftrack does not act on.
    Ignored,
    /// WooCommerce's unsigned set-up ping.
    Ping,
    InvalidSignature,
    Malformed,
    /// Signed, but the body is not what its unsigned topic header says: refused.
    TopicMismatch,
    /// A refund or cancellation in another currency than its order's: refused.
    CurrencyMismatch,
    /// Not stored (Redis unreachable, or the platform's secret is not configured): the shop
    /// is told to retry.
    Unavailable,
}

impl WebhookOutcome {
    pub(super) const ALL: [Self; 9] = [
        Self::Applied,
        Self::Duplicate,
        Self::Ignored,
        Self::Ping,
        Self::InvalidSignature,
        Self::Malformed,
        Self::TopicMismatch,
        Self::CurrencyMismatch,
        Self::Unavailable,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Ping => "ping",
            Self::InvalidSignature => "invalid_signature",
            Self::Malformed => "malformed",
            Self::TopicMismatch => "topic_mismatch",
            Self::CurrencyMismatch => "currency_mismatch",
            Self::Unavailable => "unavailable",
        }
    }
}

/// How an order was attributed when it was first attributed.
#[derive(Debug, Clone, Copy)]
pub enum AttributionLabel {
    Click,
    Coupon,
    Unattributed,
    Unqualified,
    Test,
}

impl AttributionLabel {
    pub(super) const ALL: [Self; 5] = [
        Self::Click,
        Self::Coupon,
        Self::Unattributed,
        Self::Unqualified,
        Self::Test,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Click => "click",
            Self::Coupon => "coupon",
            Self::Unattributed => "unattributed",
            Self::Unqualified => "unqualified",
            Self::Test => "test",
        }
    }
}

/// What kind of stored data could not be read, for `reftrack_corrupt_records_total`.
#[derive(Debug, Clone, Copy)]
pub enum CorruptKind {
    /// A counter field that is not an integer (or a negative click count).
    Counter,
    /// An order record whose state does not decode.
    Order,
    /// A click record an order names whose link is unknown or malformed.
    Click,
}

impl CorruptKind {
    pub(super) const ALL: [Self; 3] = [Self::Counter, Self::Order, Self::Click];

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Order => "order",
            Self::Click => "click",
        }
    }
}

/// An API request's method, for `reftrack_api_request_duration_seconds`.
#[derive(Debug, Clone, Copy)]
pub enum ApiMethod {
    Get,
    Post,
    Patch,
    Put,
    Delete,
    /// Any other (HEAD, OPTIONS, or a made-up one): one value, however many are sent.
    Other,
}

impl ApiMethod {
    pub fn of(method: &Method) -> Self {
        match *method {
            Method::GET => Self::Get,
            Method::POST => Self::Post,
            Method::PATCH => Self::Patch,
            Method::PUT => Self::Put,
            Method::DELETE => Self::Delete,
            _ => Self::Other,
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Other => "other",
        }
    }
}

/// An answer's status by its class, for `reftrack_api_request_duration_seconds`.
#[derive(Debug, Clone, Copy)]
pub enum StatusClass {
    Success,
    Redirection,
    ClientError,
    ServerError,
}

impl StatusClass {
    /// 1xx answers (which the API never gives) count with the successes.
    pub fn of(status: StatusCode) -> Self {
        if status.is_server_error() {
            Self::ServerError
        } else if status.is_client_error() {
            Self::ClientError
        } else if status.is_redirection() {
            Self::Redirection
        } else {
            Self::Success
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Success => "2xx",
            Self::Redirection => "3xx",
            Self::ClientError => "4xx",
            Self::ServerError => "5xx",
        }
    }
}
