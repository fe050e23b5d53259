//! The fixed label sets of reftrack's metrics: every label value comes from one of these
//! enums, never from an influencer, link code, order or token.

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
}

impl CorruptKind {
    pub(super) const ALL: [Self; 2] = [Self::Counter, Self::Order];

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Order => "order",
        }
    }
}
