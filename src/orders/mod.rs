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
//! - [`ingest`]: [`OrderIntake`], exactly-once storage of a delivery; `attribute` decides who
//!   earns it, `publish` applies its figures to its owners' counters.
//! - [`trust`]: the rules that flag and hold suspect orders, and e-mail hashing; [`pending`]:
//!   orders waiting for their click, and the sweep that attributes them; [`corrections`]: a
//!   marketer's corrections and review decisions, recorded in the order's history.

mod attribute;
pub mod corrections;
pub mod delivery;
pub mod fields;
pub mod generic;
pub mod ingest;
pub mod pending;
pub mod platforms;
mod publish;
pub mod shopify;
pub mod signature;
pub mod stripe;
pub mod trust;
pub mod woocommerce;

pub use corrections::ChangeError;
pub use delivery::{Delivery, Envelope, Parsed, PayloadError, PayloadErrorKind};
pub use ingest::{IngestError, Ingested, OrderIntake};
pub use pending::Settled;
pub use platforms::{Format, Scheme};
pub use signature::{SignatureError, WebhookSecret};
pub use trust::TrustRules;
