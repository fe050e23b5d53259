//! Click counts summed apart from their records: a tally per link (clicks by day and class,
//! and the visitors of the human ones), summed by the click buffer over a count interval and
//! written as counters and unique-visitor sketches (see `store/clicks.rs`).

use std::sync::Arc;

use chrono::NaiveDate;
use smallvec::SmallVec;

use super::click::Click;
use super::keys::field;
use crate::domain::{Bucket, ClickClass};

/// Tallies by link code. Looked up once per click, so with foldhash rather than SipHash.
pub(super) type Links = foldhash::HashMap<Arc<str>, LinkTally>;

/// A link's clicks: its influencer, and its counts and visitors.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct LinkTally {
    pub influencer_id: Arc<str>,
    pub tally: Tally,
}

/// Clicks by day and class, and the visitors of the human ones by day. A batch rarely spans
/// more than a day or two, so short lists searched in order beat maps here. The lists hold
/// their first entries in place rather than on the heap: a click adds to its link's tally,
/// and with clicks spread over many links each list elsewhere in memory cost a cache miss
/// per click (and an allocation per link per count interval). They serialize as `Vec`s do.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Tally {
    pub clicks: SmallVec<[(NaiveDate, ClickClass, i64); 2]>,
    pub visitors: SmallVec<[(NaiveDate, Vec<u64>); 1]>,
}

/// Clicks counted per link and not yet written, apart from their records: the click buffer
/// sums every click of a count interval here, one tally per link.
#[derive(Debug, Default)]
pub struct Tallies {
    pub(super) links: Links,
}

impl Tallies {
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Empty tallies with room for `links` links.
    pub fn with_capacity(links: usize) -> Self {
        Self {
            links: Links::with_capacity_and_hasher(links, foldhash::fast::RandomState::default()),
        }
    }

    /// The links tallied.
    pub fn links(&self) -> usize {
        self.links.len()
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
pub(super) fn add_to(links: &mut Links, click: &Click<'_>) {
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

impl Tally {
    /// The clicks it counts, whatever their day and class.
    pub(super) fn count(&self) -> i64 {
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

    /// Distinct visitors by day.
    pub(super) fn visitors_by_day(&self) -> impl Iterator<Item = (NaiveDate, Vec<u64>)> + '_ {
        self.visitors.iter().map(|(day, visitors)| {
            let mut distinct = visitors.clone();
            distinct.sort_unstable();
            distinct.dedup();
            (*day, distinct)
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
            if let Some((_, visitors)) = self.visitors.iter_mut().find(|(day, _)| *day == click.day)
            {
                visitors.push(click.visitor);
            } else {
                // Room for a few: a link is clicked a few times per count interval when
                // clicks spread over many links, and each regrowth copies.
                let mut visitors = Vec::with_capacity(4);
                visitors.push(click.visitor);
                self.visitors.push((click.day, visitors));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A tally as spool files of builds before its lists were held in place spell it.
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct VecTally {
        clicks: Vec<(NaiveDate, ClickClass, i64)>,
        visitors: Vec<(NaiveDate, Vec<u64>)>,
    }

    #[test]
    fn a_tally_is_spooled_in_the_same_form_as_when_its_lists_were_vecs() {
        let (code, influencer) = (Arc::from("summer"), Arc::from("inf_abc"));
        let mut tally = Tally::default();
        let mut click = Click::for_test(&code, &influencer, ClickClass::Human);
        for (day, class, visitor) in [
            (23, ClickClass::Human, 7),
            (23, ClickClass::Bot, 8),
            (24, ClickClass::Human, 9),
            (25, ClickClass::Suspicious, 10),
            (25, ClickClass::Human, 11),
        ] {
            click.day = NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
            click.class = class;
            click.visitor = visitor;
            tally.add(&click);
        }
        let old = VecTally {
            clicks: tally.clicks.to_vec(),
            visitors: tally.visitors.to_vec(),
        };

        let json = serde_json::to_string(&tally).unwrap();

        assert_eq!(json, serde_json::to_string(&old).unwrap());
        let back: Tally = serde_json::from_str(&json).unwrap();
        assert_eq!(back.clicks[..], old.clicks[..]);
        assert_eq!(back.visitors[..], old.visitors[..]);
        assert_eq!(back.count(), 5);
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
}
