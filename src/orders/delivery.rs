//! What a verified delivery says, in one shape whatever its platform: [`Delivery`], or the
//! reason its body cannot be taken.

use crate::domain::{OrderError, OrderEvent, OrderKey, Platform};

/// What a parser reads besides the body: the topic and delivery id its platform sends in
/// headers (empty for formats that carry them in the body; never signed), and when the
/// delivery arrived.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub topic: &'a str,
    pub delivery_id: &'a str,
    pub received_ms: i64,
}

/// A verified delivery about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub platform: Platform,
    /// The shop's id for this delivery, so a retry is recognised.
    pub delivery_id: String,
    pub order_key: OrderKey,
    pub events: Vec<OrderEvent>,
}

/// What a verified body turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Order(Delivery),
    /// A topic or state reftrack does not act on: answered 200 so the shop stops retrying.
    Ignored,
}

/// A body that is signed correctly but cannot be taken: unreadable, out of bounds, or not
/// what its (unsigned) topic header says it is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct PayloadError {
    pub kind: PayloadErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadErrorKind {
    /// The body cannot be read, or a value in it is out of bounds.
    Malformed,
    /// The body does not fit the topic header, which the signature does not cover.
    TopicMismatch,
}

impl PayloadError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            kind: PayloadErrorKind::Malformed,
            message: message.into(),
        }
    }

    pub fn topic_mismatch(message: impl Into<String>) -> Self {
        Self {
            kind: PayloadErrorKind::TopicMismatch,
            message: message.into(),
        }
    }
}

impl From<OrderError> for PayloadError {
    fn from(e: OrderError) -> Self {
        Self::new(e.to_string())
    }
}
