//! Clicks summed as they arrive, in the form a flush writes them.
//!
//! A redirect adds its click here (under the click buffer's lock) instead of queueing it for
//! the flusher to sort out later: the click's record is encoded straight into the run of
//! records it continues ([`ClickSums`], one per batch), and its counts and visitor go into its
//! link's tally ([`Tallies`], one per link for the whole count interval, however many batches
//! that is). The flusher then only sends what is already there. (When the flusher did that
//! per-click work itself, every flush of ~900 clicks stalled the HTTP worker sharing its core
//! for ~0.4 ms; and while each batch had tallies of its own, clicks spread over 10,000 links
//! cost a tally per link per batch, built, merged into the second's sum and freed.)

use std::sync::Arc;

use super::click::Click;
use super::click_records::{self, BLOCK_CLICKS};
use super::tallies::{Links, Tallies, add_to};
use crate::domain::ClickId;

/// Summed clicks: their records in runs of consecutive click numbers, and the tallies the
/// batch carries (none while they are summed apart, in [`Tallies`]). Also what the spool
/// keeps while Redis is away.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClickSums {
    clicks: usize,
    pub(super) runs: Vec<RecordRun>,
    pub(super) links: Links,
}
/// Records of clicks with consecutive numbers in one block.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct RecordRun {
    /// The id space of the clicks.
    pub space: String,
    /// The number of the first click.
    pub first: u64,
    /// When the run's last click came (unix ms): its block is kept a window past that.
    pub last_at_ms: i64,
    #[serde(with = "base64_bytes")]
    pub records: Vec<u8>,
}

impl ClickSums {
    /// Adds the record of click `id`.
    pub fn add_record(&mut self, id: &ClickId, click: &Click<'_>) {
        self.clicks += 1;
        let seq = id.seq();
        let run = match self.runs.last_mut() {
            Some(run) if run.continues_with(id.space(), seq) => run,
            _ => {
                self.runs.push(RecordRun {
                    space: id.space().to_owned(),
                    first: seq,
                    last_at_ms: click.at_ms,
                    records: Vec::new(),
                });
                self.runs.last_mut().expect("a run was just pushed")
            }
        };
        click_records::encode(id, click.code, click.at_ms, &mut run.records);
        run.last_at_ms = run.last_at_ms.max(click.at_ms);
    }

    /// Adds click `id` whole: its record, and its counts to the tallies the batch carries.
    pub fn add(&mut self, id: &ClickId, click: &Click<'_>) {
        add_to(&mut self.links, click);
        self.add_record(id, click);
    }

    /// The codes of the links whose tallies the batch holds. Their numbers are registered
    /// with it: the link cache registers every link it loads, but a spool file of a build
    /// before that relies on its batches to register the links their records use.
    pub fn codes(&self) -> impl Iterator<Item = &Arc<str>> {
        self.links.keys()
    }

    /// The clicks whose records it holds.
    pub fn len(&self) -> usize {
        self.clicks
    }

    /// Holds neither records nor tallies.
    pub fn is_empty(&self) -> bool {
        self.clicks == 0 && self.links.is_empty()
    }

    /// The clicks its tallies count (a batch of tallies alone holds no record).
    pub fn tallied(&self) -> i64 {
        self.links.values().map(|link| link.tally.count()).sum()
    }

    /// Tallies only, with no record.
    pub fn of_tallies(tallies: Tallies) -> Self {
        Self {
            links: tallies.links,
            ..Self::default()
        }
    }
}

impl RecordRun {
    fn continues_with(&self, space: &str, seq: u64) -> bool {
        let next = self.first + (self.records.len() / click_records::RECORD_LEN) as u64;
        seq == next && !seq.is_multiple_of(BLOCK_CLICKS) && self.space == space
    }

    /// The block the run is in.
    pub fn block(&self) -> u64 {
        self.first / BLOCK_CLICKS
    }

    /// Where the run starts in its block, in bytes.
    pub fn offset(&self) -> usize {
        usize::try_from(self.first % BLOCK_CLICKS).unwrap_or(0) * click_records::RECORD_LEN
    }
}

/// Click records as base64 in the spool's JSON, rather than an array of numbers.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::{ClickClass, IdSpace};
    use click_records::RECORD_LEN;

    #[test]
    fn consecutive_clicks_share_a_run_until_a_block_ends_or_the_numbers_jump() {
        let (code, influencer) = (Arc::from("summer"), Arc::from("inf_abc"));
        let space = IdSpace::random();
        let mut sums = ClickSums::default();

        for seq in [BLOCK_CLICKS - 2, BLOCK_CLICKS - 1, BLOCK_CLICKS, 40, 41] {
            let id = ClickId::new(space, seq);
            sums.add(&id, &Click::for_test(&code, &influencer, ClickClass::Human));
        }

        let runs: Vec<(u64, usize, usize)> = sums
            .runs
            .iter()
            .map(|r| (r.block(), r.offset(), r.records.len() / RECORD_LEN))
            .collect();
        assert_eq!(
            runs,
            [
                (
                    0,
                    usize::try_from(BLOCK_CLICKS - 2).unwrap() * RECORD_LEN,
                    2
                ),
                (1, 0, 1),
                (0, 40 * RECORD_LEN, 2),
            ]
        );
        assert_eq!(sums.len(), 5);
    }

    #[test]
    fn a_record_in_a_run_reads_back_for_its_click() {
        let (code, influencer) = (Arc::from("summer"), Arc::from("inf_abc"));
        let space = IdSpace::random();
        let (first, second) = (ClickId::new(space, 8), ClickId::new(space, 9));
        let mut sums = ClickSums::default();

        sums.add(
            &first,
            &Click::for_test(&code, &influencer, ClickClass::Human),
        );
        sums.add(
            &second,
            &Click::for_test(&code, &influencer, ClickClass::Bot),
        );

        let records = &sums.runs[0].records;
        let read = click_records::decode(&second, &records[RECORD_LEN..]).unwrap();
        assert_eq!(
            read.link,
            click_records::RecordedLink::Number(click_records::link_number("summer"))
        );
        assert_eq!(click_records::decode(&second, records), None);
    }

    #[test]
    fn a_link_tallies_its_clicks_by_class_and_keeps_only_human_visitors() {
        let (code, influencer) = (Arc::from("summer"), Arc::from("inf_abc"));
        let space = IdSpace::random();
        let mut sums = ClickSums::default();

        for (seq, class) in [
            ClickClass::Human,
            ClickClass::Bot,
            ClickClass::Human,
            ClickClass::Suspicious,
        ]
        .into_iter()
        .enumerate()
        {
            let id = ClickId::new(space, seq as u64);
            sums.add(&id, &Click::for_test(&code, &influencer, class));
        }

        let link = &sums.links["summer"];
        let day = day();
        let mut counts = link.tally.clicks.clone();
        counts.sort_by_key(|&(_, class, _)| class as u8);
        assert_eq!(
            counts[..],
            [
                (day, ClickClass::Human, 2),
                (day, ClickClass::Bot, 1),
                (day, ClickClass::Suspicious, 1)
            ]
        );
        assert_eq!(link.tally.visitors[..], [(day, vec![7, 7])]);
        assert_eq!(&*link.influencer_id, "inf_abc");
    }

    #[test]
    fn sums_come_back_whole_from_the_spool_format() {
        let (code, influencer) = (Arc::from("summer"), Arc::from("inf_abc"));
        let id = ClickId::new(IdSpace::random(), 3);
        let mut sums = ClickSums::default();
        sums.add(&id, &Click::for_test(&code, &influencer, ClickClass::Human));

        let json = serde_json::to_string(&sums).unwrap();
        let back: ClickSums = serde_json::from_str(&json).unwrap();

        assert_eq!(back.len(), 1);
        assert_eq!(back.runs[0].records, sums.runs[0].records);
        assert_eq!(
            back.links["summer"].tally.clicks[..],
            [(day(), ClickClass::Human, 1)]
        );
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }
}
