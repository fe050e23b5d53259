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

use chrono::NaiveDate;

use super::click_records::{self, BLOCK_CLICKS};
use super::keys::field;
use crate::domain::{Bucket, ClickClass, ClickId};

/// One answered redirect, as the redirect hands it over. Its id is given when it is summed,
/// so ids and records come in the same order.
#[derive(Debug, Clone, Copy)]
pub struct Click<'a> {
    pub code: &'a Arc<str>,
    pub influencer_id: &'a Arc<str>,
    pub at_ms: i64,
    /// The calendar day of the click in the reporting time zone.
    pub day: NaiveDate,
    pub class: ClickClass,
    /// Salted hash of the visitor's address and user agent, for unique counting.
    pub visitor: u64,
}

/// Tallies by link code. Looked up once per click, so with foldhash rather than SipHash.
type Links = foldhash::HashMap<Arc<str>, LinkTally>;

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

/// A link's clicks: its influencer, and its counts and visitors.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct LinkTally {
    pub influencer_id: Arc<str>,
    pub tally: Tally,
}

/// Clicks by day and class, and the visitors of the human ones by day. A batch rarely spans
/// more than a day or two, so short lists searched in order beat maps here.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Tally {
    pub clicks: Vec<(NaiveDate, ClickClass, i64)>,
    pub visitors: Vec<(NaiveDate, Vec<u64>)>,
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

/// Clicks counted per link and not yet written, apart from their records: the click buffer
/// sums every click of a count interval here, one tally per link.
#[derive(Debug, Default)]
pub struct Tallies {
    links: Links,
}

impl Tallies {
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Counts `click`.
    pub fn add(&mut self, click: &Click<'_>) {
        add_to(&mut self.links, click);
    }

    /// These tallies in parts of about `max_links` links each (none when empty), an
    /// influencer's links together: its counters and sketches are then written once, not once
    /// per part its links fell in (with ten links each, parts of 1,000 links cut at random
    /// wrote each influencer about six times). A part closes at the first new influencer past
    /// `max_links` links, and at twice that whatever, so one influencer with very many links
    /// is still split.
    pub fn split(self, max_links: usize) -> Vec<Self> {
        let max_links = max_links.max(1);
        if self.links.len() <= max_links {
            return if self.links.is_empty() {
                Vec::new()
            } else {
                vec![self]
            };
        }
        let mut by_influencer: foldhash::HashMap<Arc<str>, Vec<(Arc<str>, LinkTally)>> =
            foldhash::HashMap::default();
        for (code, link) in self.links {
            by_influencer
                .entry(Arc::clone(&link.influencer_id))
                .or_default()
                .push((code, link));
        }
        let mut parts = Vec::new();
        let mut part = Links::default();
        for links in by_influencer.into_values() {
            for (k, (code, link)) in links.into_iter().enumerate() {
                if (k == 0 && part.len() >= max_links) || part.len() >= 2 * max_links {
                    parts.push(Self {
                        links: std::mem::take(&mut part),
                    });
                }
                part.insert(code, link);
            }
        }
        if !part.is_empty() {
            parts.push(Self { links: part });
        }
        parts
    }
}

/// Counts `click` in its link's tally.
fn add_to(links: &mut Links, click: &Click<'_>) {
    if let Some(link) = links.get_mut(&**click.code) {
        link.tally.add(click);
        return;
    }
    let mut tally = Tally::default();
    tally.add(click);
    links.insert(
        Arc::clone(click.code),
        LinkTally {
            influencer_id: Arc::clone(click.influencer_id),
            tally,
        },
    );
}

#[cfg(test)]
impl Tallies {
    /// Every click counted, whatever its link, day and class.
    pub(crate) fn clicks(&self) -> i64 {
        self.links.values().map(|link| link.tally.count()).sum()
    }
}

#[cfg(test)]
impl<'a> Click<'a> {
    /// A click of `class` on link `code` of `influencer`, on 2026-11-23 (UTC), for tests.
    pub(crate) fn for_test(
        code: &'a Arc<str>,
        influencer: &'a Arc<str>,
        class: ClickClass,
    ) -> Self {
        Click {
            code,
            influencer_id: influencer,
            at_ms: 1_795_400_000_000,
            day: NaiveDate::from_ymd_opt(2026, 11, 23).expect("a valid date"),
            class,
            visitor: 7,
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

impl Tally {
    /// The clicks it counts, whatever their day and class.
    fn count(&self) -> i64 {
        self.clicks.iter().map(|&(_, _, n)| n).sum()
    }

    /// Adds `other` (read, not taken): an influencer's tally is the sum of its links'.
    pub(super) fn add_from(&mut self, other: &Self) {
        for &(day, class, n) in &other.clicks {
            match self
                .clicks
                .iter_mut()
                .find(|(d, c, _)| *d == day && *c == class)
            {
                Some((_, _, total)) => *total += n,
                None => self.clicks.push((day, class, n)),
            }
        }
        for (day, visitors) in &other.visitors {
            match self.visitors.iter_mut().find(|(d, _)| d == day) {
                Some((_, all)) => all.extend_from_slice(visitors),
                None => self.visitors.push((*day, visitors.clone())),
            }
        }
    }

    /// Distinct visitors by day, each with the sketches' buckets they go in (its day and its
    /// month).
    pub(super) fn visitors_by_day(&self) -> impl Iterator<Item = ([Bucket; 2], Vec<u64>)> + '_ {
        self.visitors.iter().map(|(day, visitors)| {
            let mut distinct = visitors.clone();
            distinct.sort_unstable();
            distinct.dedup();
            (click_buckets(*day), distinct)
        })
    }

    fn add(&mut self, click: &Click<'_>) {
        match self
            .clicks
            .iter_mut()
            .find(|(day, class, _)| *day == click.day && *class == click.class)
        {
            Some((_, _, n)) => *n += 1,
            None => self.clicks.push((click.day, click.class, 1)),
        }
        if click.class == ClickClass::Human {
            match self.visitors.iter_mut().find(|(day, _)| *day == click.day) {
                Some((_, visitors)) => visitors.push(click.visitor),
                None => self.visitors.push((click.day, vec![click.visitor])),
            }
        }
    }
}

/// The buckets a click on `day` is counted in: its day and its month. Clicks keep no year
/// bucket: a year's clicks are read as the sum of its months, and its unique visitors as the
/// union of its months' sketches, which saves a counter and a sketch per owner per flush.
fn click_buckets(day: NaiveDate) -> [Bucket; 2] {
    let [day, month, _year] = Bucket::containing(day);
    [day, month]
}

/// The counter field names of each day and class a write counts, built once per write rather
/// than once per owner (a write rarely spans more than a day or two).
#[derive(Debug, Default)]
pub(super) struct FieldNames(Vec<((NaiveDate, ClickClass), [String; 2])>);

impl FieldNames {
    /// The names of the day's and the month's field of clicks of `class` on `day`.
    pub(super) fn of(&mut self, day: NaiveDate, class: ClickClass) -> &[String; 2] {
        let known = self.0.iter().position(|(key, _)| *key == (day, class));
        let at = known.unwrap_or_else(|| {
            let names = click_buckets(day).map(|bucket| match class {
                ClickClass::Human => field::human(bucket),
                ClickClass::Bot => field::bot(bucket),
                ClickClass::Suspicious => field::suspicious(bucket),
            });
            self.0.push(((day, class), names));
            self.0.len() - 1
        });
        &self.0[at].1
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
    use super::*;
    use crate::domain::IdSpace;
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
            counts,
            [
                (day, ClickClass::Human, 2),
                (day, ClickClass::Bot, 1),
                (day, ClickClass::Suspicious, 1)
            ]
        );
        assert_eq!(link.tally.visitors, [(day, vec![7, 7])]);
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
            back.links["summer"].tally.clicks,
            [(day(), ClickClass::Human, 1)]
        );
    }

    #[test]
    fn tallies_split_into_parts_that_keep_each_influencers_links_together_and_lose_no_click() {
        let influencers: Vec<Arc<str>> = (0..5).map(|i| Arc::from(format!("inf{i}"))).collect();
        let big: Arc<str> = Arc::from("inf_big");
        let mut links: Vec<(Arc<str>, &Arc<str>)> = Vec::new();
        for (i, influencer) in influencers.iter().enumerate() {
            for k in 0..3 {
                links.push((Arc::from(format!("c{i}x{k}")), influencer));
            }
        }
        for k in 0..10 {
            links.push((Arc::from(format!("big{k}")), &big));
        }
        let mut tallies = Tallies::default();
        for (code, influencer) in links.iter().cycle().take(60) {
            tallies.add(&Click::for_test(code, influencer, ClickClass::Human));
        }

        let parts = tallies.split(4);

        let sizes: Vec<usize> = parts.iter().map(|p| p.links.len()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 25);
        assert!(sizes.iter().all(|&n| (1..=8).contains(&n)), "{sizes:?}");
        for influencer in &influencers {
            let holding = parts
                .iter()
                .filter(|p| p.links.values().any(|l| l.influencer_id == *influencer))
                .count();
            assert_eq!(holding, 1, "{influencer}'s links are in {holding} parts");
        }
        let clicks: i64 = parts.iter().map(Tallies::clicks).sum();
        assert_eq!(clicks, 60);
        assert!(Tallies::default().split(4).is_empty());
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }
}
