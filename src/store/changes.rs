//! The changes stream: how a link edited through one replica reaches every replica's cache.
//!
//! Every write to a link or an influencer appends an entry in the same script that makes the
//! change. Replicas poll the stream from the last entry they saw. Unlike pub/sub, a replica
//! that was disconnected still sees what it missed; if it fell so far behind that the entries
//! it needed were trimmed, it is told so, and asks which influencers changed since (each write
//! notes its time against its influencer in the `changed` zset) to reload only their links.

use redis::streams::{StreamId, StreamRangeReply};

use super::{Store, StoreResult};
use crate::domain::{InfluencerId, LinkCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Link(LinkCode),
    Influencer(InfluencerId),
}

/// What happened since a position in the stream.
#[derive(Debug, Default)]
pub struct ChangeFeed {
    pub changes: Vec<Change>,
    /// The position to poll from next time.
    pub last_id: String,
    /// Entries after the given position were trimmed before they could be read.
    pub gap: bool,
    /// As many entries as asked for were read: more may follow.
    pub more: bool,
}

/// What changed since a position whose following entries were trimmed.
#[derive(Debug, Default)]
pub struct Missed {
    /// Influencers changed (themselves or one of their links) at or after the position.
    pub influencers: Vec<InfluencerId>,
    /// The newest entry when they were read: later changes are in the stream after it.
    pub last_id: String,
}

/// The position before any entry.
pub const START: &str = "0-0";

fn parse_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

fn change_of(entry: &StreamId) -> Option<Change> {
    if let Some(code) = entry.get::<String>("link") {
        return LinkCode::parse(&code).ok().map(Change::Link);
    }
    entry
        .get::<String>("influencer")
        .and_then(|id| InfluencerId::parse(&id))
        .map(Change::Influencer)
}

impl Store {
    /// The position of the newest entry, to start polling from.
    pub async fn latest_change_id(&self) -> StoreResult<String> {
        let newest: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.keys().changes())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn())
            .await?;
        Ok(newest
            .ids
            .first()
            .map_or_else(|| START.to_owned(), |e| e.id.clone()))
    }

    /// Up to `max` changes after position `after`.
    pub async fn changes_after(&self, after: &str, max: usize) -> StoreResult<ChangeFeed> {
        let key = self.keys().changes();
        let (oldest, newer): (StreamRangeReply, StreamRangeReply) = redis::pipe()
            .cmd("XRANGE")
            .arg(&key)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .cmd("XRANGE")
            .arg(&key)
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(max)
            .query_async(&mut self.conn())
            .await?;
        let gap = oldest
            .ids
            .first()
            .is_some_and(|e| after != START && parse_id(&e.id) > parse_id(after));
        Ok(ChangeFeed {
            more: newer.ids.len() >= max,
            changes: newer.ids.iter().filter_map(change_of).collect(),
            last_id: newer
                .ids
                .last()
                .map_or_else(|| after.to_owned(), |e| e.id.clone()),
            gap,
        })
    }

    /// The influencers changed at or after position `after` (a stream entry id), and the
    /// newest entry's id, read in that order in one round trip, so nothing falls between.
    pub async fn missed_since(&self, after: &str) -> StoreResult<Missed> {
        let keys = self.keys();
        let (newest, ids): (StreamRangeReply, Vec<String>) = redis::pipe()
            .cmd("XREVRANGE")
            .arg(keys.changes())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .cmd("ZRANGE")
            .arg(keys.changed_influencers())
            .arg(parse_id(after).0)
            .arg("+inf")
            .arg("BYSCORE")
            .query_async(&mut self.conn())
            .await?;
        Ok(Missed {
            influencers: ids
                .iter()
                .filter_map(|id| InfluencerId::parse(id))
                .collect(),
            last_id: newest
                .ids
                .first()
                .map_or_else(|| after.to_owned(), |e| e.id.clone()),
        })
    }
}
