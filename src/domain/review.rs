//! What can happen to an attribution after it is first decided: the flags that hold an order
//! for review, a marketer's decisions and corrections, and the history that records each
//! change with who made it. The commission lifecycle (approved, paid, reversed) extends this
//! history with further kinds of change.

use serde::{Deserialize, Serialize};

use super::ids::InfluencerId;

/// Why an order is suspect.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Attributed by coupon, and the buyer came from a coupon or deal site.
    CouponSiteReferral,
    /// Attributed by coupon without a click while the coupon's click-less orders spike.
    CouponSpike,
    /// The buyer's e-mail is the influencer's own.
    SelfReferral,
}

impl Flag {
    pub const ALL: [Self; 3] = [
        Self::CouponSiteReferral,
        Self::CouponSpike,
        Self::SelfReferral,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::CouponSiteReferral => "coupon_site_referral",
            Self::CouponSpike => "coupon_spike",
            Self::SelfReferral => "self_referral",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.label() == raw)
    }
}

/// Where a flagged order stands with the marketer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// Out of its influencer's figures until a marketer decides.
    Held,
    /// Counted for its influencer.
    Approved,
    /// Moved to unattributed.
    Denied,
}

/// A marketer's decision on a held order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Deny,
}

/// Who changed an attribution: a person through the API, or the rule that did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Admin,
    /// A pending order's click arrived.
    ClickArrived,
    /// A pending order's wait ended without its click.
    PendingWaitEnded,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A pending order was attributed.
    Attributed,
    /// A marketer moved the order.
    Corrected,
    Approved,
    Denied,
}

/// Longest note kept with a change, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// Changes kept per order; the oldest go first beyond it.
pub const MAX_HISTORY: usize = 100;

/// One change of an order's attribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub at_ms: i64,
    pub kind: ChangeKind,
    pub who: Actor,
    /// The influencer before (none: unattributed).
    pub from: Option<InfluencerId>,
    /// The influencer after (none: unattributed).
    pub to: Option<InfluencerId>,
    pub note: Option<String>,
}
