//! Order intake: a shop's webhook delivery verified, read into one shape, attributed, and
//! stored exactly once.
//!
//! # Layout
//!
//! - [`platforms`]: the table of formats reftrack takes (path, signature scheme, secret,
//!   headers, parser), so one HTTP handler serves them all.
//! - [`signature`]: the two signature schemes, constant-time, over the raw body.
//! - [`shopify`], [`woocommerce`], [`stripe`], [`generic`]: one file per format, each turning
//!   a verified body into order events. They do no I/O, so they are tested (and fuzzed) on
//!   their own; [`fields`] holds the field readers they share (money, times, click ids).
//! - [`delivery`]: what a parser produces, [`Delivery`], or why a body cannot be taken.
//! - [`ingest`]: [`OrderIntake`], attribution and exactly-once storage of a delivery, and the
//!   owner's counters.

pub mod delivery;
pub mod fields;
pub mod generic;
pub mod ingest;
pub mod platforms;
pub mod shopify;
pub mod signature;
pub mod stripe;
pub mod woocommerce;

pub use delivery::{Delivery, Envelope, Parsed, PayloadError, PayloadErrorKind};
pub use ingest::{IngestError, Ingested, OrderIntake};
pub use platforms::{Format, Scheme};
pub use signature::{SignatureError, WebhookSecret};
