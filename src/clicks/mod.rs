//! Everything between an answered redirect and its click landing in Redis: telling people
//! from bots, finding the client's address, hashing the visitor, and the batching writer.

mod classify;
mod click_ids;
mod client_addr;
mod fraud;
mod spool;
mod visitor;
mod writer;

pub use classify::classify_user_agent;
pub use click_ids::ClickIds;
pub use client_addr::{canonical_net, client_addr};
pub use fraud::{FraudGuard, Verdict};
pub use visitor::VisitorHasher;
pub use writer::{ClickWriter, FlushTask, Recorded};
