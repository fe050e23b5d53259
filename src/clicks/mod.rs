//! Everything between an answered redirect and its click landing in Redis: the [`Tracker`]
//! the redirect hands its click to, telling people from bots, finding the client's address,
//! hashing the visitor, the fraud rules, and the batching writer; and the daily merge of the
//! unique-visitor sketches it writes.

mod buffer;
mod classify;
mod click_ids;
mod client_addr;
mod count_schedule;
mod flusher;
mod fraud;
pub mod sketch_merger;
mod spool;
mod tracker;
mod visitor;
mod writer;

use classify::classify_user_agent;
use fraud::{FraudGuard, Verdict};
use visitor::VisitorHasher;
use writer::Recorded;

pub use click_ids::ClickIds;
pub use tracker::{Follower, Tracker};
pub use writer::{ClickWriter, FlushTask, StartError};
