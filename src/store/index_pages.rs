//! Pages of the catalog's indexes (sorted sets of ids scored by creation time) read a chunk at
//! a time: the members after a cursor with `ZRANGE ... BYSCORE LIMIT`, then their hashes. So
//! a page of influencers, or of one influencer's links, costs about a page of reads however
//! large the index, where reading the index whole made every page of 100,000 links read all
//! of them.
//!
//! A cursor is the (score, member) of the last member read (see `pagination.rs`); Redis orders
//! members of equal score by their bytes, as Rust orders strings, so a page boundary inside a
//! run of equal times neither skips nor repeats a member. Members are only ever added to these
//! indexes, so a member added while a client pages is either before its cursor (not listed)
//! or after it (listed once).

use std::collections::HashMap;

use super::{Store, StoreResult};
use crate::pagination::{Cursor, Page};

/// Index members one page reads at most while its filter refuses them: a filter that matches
/// little (the disabled links among 100,000) cannot make one request read a whole index. The
/// page then ends short of its limit, with a cursor where the reading stopped.
pub const MAX_SCANNED: usize = 10_000;

/// Members read with their hashes in one round trip at most.
const CHUNK: usize = 1_000;

/// How a page's records are made from an index's members.
pub(super) struct IndexRecords<K, P> {
    /// A member's id and the key of its hash; `None` for a member that is no id (skipped).
    pub key_of: K,
    /// The record of an id from its key and hash.
    pub parse: P,
}

impl Store {
    /// Up to `limit` records of `index` after `after`, in index order, that pass `keep`; the
    /// next page's cursor when more may follow. Members whose hash is gone are skipped.
    pub(super) async fn index_page<T, I, K, P>(
        &self,
        index: &str,
        records: &IndexRecords<K, P>,
        after: Option<&Cursor>,
        limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> StoreResult<Page<T>>
    where
        K: Fn(&str) -> Option<(I, String)>,
        P: Fn(I, &str, &HashMap<String, String>) -> StoreResult<T>,
    {
        let mut items: Vec<(T, Cursor)> = Vec::new();
        let mut position = after.cloned();
        let mut scanned = 0;
        // The first read is the page and one more (to tell whether another page follows); when
        // members were skipped or refused, each further read is twice the last, up to a chunk.
        let mut want = limit + 1;
        loop {
            let want_now = want.min(MAX_SCANNED - scanned).max(1);
            let (members, exhausted) = self
                .members_after(index, position.as_ref(), want_now)
                .await?;
            want = (want * 2).min(CHUNK);
            let ids: Vec<Option<(I, String)>> = members
                .iter()
                .map(|m| (records.key_of)(&m.member))
                .collect();
            let mut pipe = redis::pipe();
            for (_, key) in ids.iter().flatten() {
                pipe.hgetall(key);
            }
            let mut maps = if ids.iter().flatten().next().is_none() {
                Vec::new().into_iter()
            } else {
                pipe.query_async::<Vec<HashMap<String, String>>>(&mut self.conn())
                    .await?
                    .into_iter()
            };
            for (member, id) in members.into_iter().zip(ids) {
                scanned += 1;
                if let Some((id, key)) = id
                    && let Some(map) = maps.next().filter(|m| !m.is_empty())
                {
                    let item = (records.parse)(id, &key, &map)?;
                    if keep(&item) {
                        items.push((item, member.clone()));
                        if items.len() > limit {
                            items.truncate(limit);
                            let next = items.last().map(|(_, cursor)| cursor.clone());
                            return Ok(page(items, next));
                        }
                    }
                }
                position = Some(member);
            }
            if exhausted {
                return Ok(page(items, None));
            }
            if scanned >= MAX_SCANNED {
                return Ok(page(items, position));
            }
        }
    }

    /// Every member of `index`, in order, read [`CHUNK`] at a time: one `ZRANGE 0 -1` over
    /// 100,000 influencers held Redis for 20 ms (`deploy/bench/sketch_merge.sh`), and every
    /// other client's call with it. A member added meanwhile with an earlier score (another
    /// replica's clock) shifts the rest, so one may be read twice: each is kept once.
    pub(super) async fn index_members(&self, index: &str) -> StoreResult<Vec<String>> {
        let mut members = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut start = 0;
        loop {
            let read: Vec<String> = redis::cmd("ZRANGE")
                .arg(index)
                .arg(start)
                .arg(start + CHUNK - 1)
                .query_async(&mut self.conn())
                .await?;
            start += read.len();
            let done = read.len() < CHUNK;
            members.extend(read.into_iter().filter(|m| seen.insert(m.clone())));
            if done {
                return Ok(members);
            }
        }
    }

    /// Up to `count` members of `index` after `after`, in order, and whether the index ends
    /// there. Members of the cursor's score up to its member are read and passed over.
    async fn members_after(
        &self,
        index: &str,
        after: Option<&Cursor>,
        count: usize,
    ) -> StoreResult<(Vec<Cursor>, bool)> {
        let min = after.map_or_else(|| "-inf".to_owned(), |a| a.score.to_string());
        let mut offset = 0;
        // Members of the cursor's score up to its member are passed over in reads that double,
        // so a long run of one millisecond costs a few round trips, not one per page size.
        let mut count = count;
        loop {
            let read: Vec<(String, String)> = redis::cmd("ZRANGE")
                .arg(index)
                .arg(&min)
                .arg("+inf")
                .arg("BYSCORE")
                .arg("LIMIT")
                .arg(offset)
                .arg(count)
                .arg("WITHSCORES")
                .query_async(&mut self.conn())
                .await?;
            let exhausted = read.len() < count;
            let members: Vec<Cursor> = read
                .into_iter()
                .filter_map(|(member, score)| {
                    Some(Cursor {
                        score: score.parse().ok()?,
                        member,
                    })
                })
                .filter(|m| after.is_none_or(|a| (m.score, &m.member) > (a.score, &a.member)))
                .collect();
            if !members.is_empty() || exhausted {
                return Ok((members, exhausted));
            }
            offset += count;
            count = (count * 2).min(CHUNK).max(count);
        }
    }
}

fn page<T>(items: Vec<(T, Cursor)>, next: Option<Cursor>) -> Page<T> {
    Page {
        items: items.into_iter().map(|(item, _)| item).collect(),
        next,
    }
}
