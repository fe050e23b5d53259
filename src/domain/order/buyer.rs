//! What an order says about its buyer, for the fraud flags.

use serde::{Deserialize, Serialize};

/// What an order says about its buyer. The e-mail is read by the parser, turned into a keyed
/// hash by the intake, and never stored: only its hash is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    /// The host of the page the buyer came from (lower case), when the shop reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_host: Option<String>,
    /// The buyer's address as the delivery gave it: never serialised.
    #[serde(skip)]
    pub email: Option<String>,
    /// Keyed hash of the normalised address (see `orders::buyer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_hash: Option<String>,
}
