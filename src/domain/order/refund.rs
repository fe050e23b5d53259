//! What a refund gives back, as a shop reports it: revenue, or a part of the payment.

use serde::{Deserialize, Serialize};

use super::OrderError;
use crate::domain::money::MAX_AMOUNT_MINOR;

/// How much a refund gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundAmount {
    /// Minor units of revenue (refunded line items, or an amount a shop states as such); of
    /// line subtotals with tax in them where the order's facts have a `line_basis`.
    Revenue(i64),
    /// Minor units of the payment: revenue is reduced by the same share of it.
    OfGross(i64),
}

impl RefundAmount {
    /// A refund of `minor` units of revenue (`of_gross` false) or of the payment, checked
    /// against the bounds of any amount.
    pub fn checked(minor: i64, of_gross: bool) -> Result<Self, OrderError> {
        if !(0..=MAX_AMOUNT_MINOR).contains(&minor) {
            return Err(OrderError::Amount {
                field: "refund",
                value: minor,
            });
        }
        Ok(if of_gross {
            Self::OfGross(minor)
        } else {
            Self::Revenue(minor)
        })
    }

    pub(super) fn minor(self) -> i64 {
        match self {
            Self::Revenue(minor) | Self::OfGross(minor) => minor,
        }
    }

    /// The larger of two reports of one refund. Amounts of different kinds cannot be
    /// compared; the later report wins.
    pub(super) fn larger(self, new: Self) -> Self {
        match (self, new) {
            (Self::Revenue(a), Self::Revenue(b)) => Self::Revenue(a.max(b)),
            (Self::OfGross(a), Self::OfGross(b)) => Self::OfGross(a.max(b)),
            (_, new) => new,
        }
    }
}
