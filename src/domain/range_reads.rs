//! Which counter buckets a report reads to cover a range of days: about one per month.
//!
//! Counters are kept per day and per month, and money counters per year too (see
//! [`Bucket`]). A month wholly inside the range is its month bucket. A month the range cuts
//! is either its days in the range, or its month bucket less its days outside the range,
//! whichever is fewer; so a rolling 30 days ending today reads two months and a few days, not
//! 30 days, and any range up to a year reads at most about 13 month buckets and 30 days. Money
//! counters go one step further: a year the range covers most of is its year bucket less the
//! months and days left out, when that is fewer buckets (a calendar year is one bucket, not
//! twelve; the last 366 days about ten, not twenty). Click counters have no year bucket (a
//! flush would write half again as many counters for it), so clicks read months and days.
//! Unique visitors are sketches, which cannot be subtracted: a cut month's sketch is its
//! month's when every day left out is still to come (no visitor counted yet), and otherwise
//! the union of its days in the range.
//! Counters of days to come are still read and subtracted: orders and costs can be dated
//! ahead (a fee booked for next week), so those days are not known to be empty. Clicks
//! cannot: a click is counted in the bucket of the moment it was answered, so the click
//! counters and sketches of buckets that have not begun are not read at all (a rolling 30
//! days reads four click buckets, not seven).

use chrono::{Datelike, Months, NaiveDate};

use super::date_range::{Bucket, DateRange};

/// Whether a bucket's counters are added to the range's or taken from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Add,
    Subtract,
}

impl Sign {
    fn flipped(self) -> Self {
        match self {
            Self::Add => Self::Subtract,
            Self::Subtract => Self::Add,
        }
    }
}

/// The buckets a report reads for one range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    /// Money counter buckets (years among them) whose signed sum is the range's figure.
    pub counters: Vec<(Bucket, Sign)>,
    /// Click counter buckets whose signed sum is the range's clicks: months and days, less
    /// the buckets that have not begun (they hold no click).
    pub clicks: Vec<(Bucket, Sign)>,
    /// Unique-visitor sketches whose union counts the range's visitors.
    pub uniques: Vec<Bucket>,
}

impl Reads {
    /// The reads covering `range`, where `today` (in the reporting time zone) says which days
    /// have not begun.
    pub fn of(range: DateRange, today: NaiveDate) -> Self {
        let begun = |bucket: &Bucket| bucket.first_day().is_some_and(|first| first <= today);
        let mut uniques = Vec::new();
        for (first, last) in months(range.from(), range.to()) {
            month_uniques(&mut uniques, first, last, range, today);
        }
        uniques.retain(begun);
        Self {
            counters: by_years(range.from(), range.to()),
            clicks: by_months(range.from(), range.to())
                .into_iter()
                .filter(|(bucket, _)| begun(bucket))
                .collect(),
            uniques,
        }
    }

    /// These reads where the day sketches after `merged_through` may not be in their month's
    /// yet (the flush writes today's visitors to the day's sketch alone, and a daily run
    /// merges each settled day into its month: see `clicks/sketch_merger.rs`): each month
    /// sketch read is joined by those of its days after `merged_through`, up to `today`. A
    /// union, so a day merged since costs a key and changes nothing.
    #[must_use]
    pub fn with_unmerged_days(mut self, merged_through: NaiveDate, today: NaiveDate) -> Self {
        let Some(after) = merged_through.succ_opt() else {
            return self;
        };
        let mut unmerged = Vec::new();
        for bucket in &self.uniques {
            if let &Bucket::Month { year, month } = bucket {
                let Some((first, last)) = NaiveDate::from_ymd_opt(year, month, 1)
                    .and_then(|first| months(first, first).next())
                else {
                    continue;
                };
                unmerged.extend(days(first.max(after), last.min(today)).map(Bucket::Day));
            }
        }
        self.uniques.extend(unmerged);
        self
    }

    /// One day.
    pub fn day(day: NaiveDate) -> Self {
        Self {
            counters: vec![(Bucket::Day(day), Sign::Add)],
            clicks: vec![(Bucket::Day(day), Sign::Add)],
            uniques: vec![Bucket::Day(day)],
        }
    }
}

/// The first and last day of each month from `from`'s to `to`'s.
fn months(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = (NaiveDate, NaiveDate)> {
    let mut first = Some(from.with_day(1).unwrap_or(from));
    std::iter::from_fn(move || {
        let this = first.filter(|f| *f <= to)?;
        let next = this.checked_add_months(Months::new(1));
        let last = next.and_then(|n| n.pred_opt()).unwrap_or(NaiveDate::MAX);
        first = next;
        Some((this, last))
    })
}

/// Month and day buckets whose signed sum covers `from..=to`: per month, its bucket when
/// wholly inside, else its days inside or its bucket less its days outside, whichever is
/// fewer.
fn by_months(from: NaiveDate, to: NaiveDate) -> Vec<(Bucket, Sign)> {
    let mut out = Vec::new();
    for (first, last) in months(from, to) {
        let inside = (from.max(first), to.min(last));
        let days_in = span(inside.0, inside.1);
        let days_out = span(first, last) - days_in;
        let month = Bucket::Month {
            year: first.year(),
            month: first.month(),
        };
        if days_in <= 1 + days_out && days_out > 0 {
            out.extend(days(inside.0, inside.1).map(|d| (Bucket::Day(d), Sign::Add)));
        } else {
            out.push((month, Sign::Add));
            let outside = outside(first, last, inside);
            out.extend(outside.map(|d| (Bucket::Day(d), Sign::Subtract)));
        }
    }
    out
}

/// Year, month and day buckets whose signed sum covers `from..=to`: per year, its months
/// and days ([`by_months`]) or its year bucket less the months and days outside, whichever
/// is fewer.
fn by_years(from: NaiveDate, to: NaiveDate) -> Vec<(Bucket, Sign)> {
    let mut out = Vec::new();
    for year in from.year()..=to.year() {
        let (Some(first), Some(last)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            // Every year of a valid date has both; were one missing, months still cover it.
            return by_months(from, to);
        };
        let inside = (from.max(first), to.min(last));
        let within = by_months(inside.0, inside.1);
        let mut whole = vec![(Bucket::Year(year), Sign::Add)];
        let before = inside.0.pred_opt().filter(|d| *d >= first);
        let after = inside.1.succ_opt().filter(|d| *d <= last);
        for (from, to) in [before.map(|b| (first, b)), after.map(|a| (a, last))]
            .into_iter()
            .flatten()
        {
            let left_out = by_months(from, to).into_iter();
            whole.extend(left_out.map(|(bucket, sign)| (bucket, sign.flipped())));
        }
        out.extend(if whole.len() < within.len() {
            whole
        } else {
            within
        });
    }
    out
}

/// The days of the month `first..=last` outside `inside`.
fn outside(
    first: NaiveDate,
    last: NaiveDate,
    inside: (NaiveDate, NaiveDate),
) -> impl Iterator<Item = NaiveDate> {
    let before = inside.0.pred_opt().filter(|d| *d >= first);
    let after = inside.1.succ_opt().filter(|d| *d <= last);
    let before = before.into_iter().flat_map(move |b| days(first, b));
    before.chain(after.into_iter().flat_map(move |a| days(a, last)))
}

/// The sketches of the month `first..=last` to unite for `range`: its own when wholly inside
/// or when every day left out is still to come, else its days in the range.
fn month_uniques(
    uniques: &mut Vec<Bucket>,
    first: NaiveDate,
    last: NaiveDate,
    range: DateRange,
    today: NaiveDate,
) {
    let inside = (range.from().max(first), range.to().min(last));
    let days_in = span(inside.0, inside.1);
    let month = Bucket::Month {
        year: first.year(),
        month: first.month(),
    };
    if days_in == span(first, last)
        || (days_in > 1 && outside(first, last, inside).all(|d| d > today))
    {
        uniques.push(month);
    } else {
        uniques.extend(days(inside.0, inside.1).map(Bucket::Day));
    }
}

/// Days from `from` to `to`, both included.
fn span(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days() + 1
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        DateRange::parse_day(s).unwrap()
    }

    fn signed(buckets: &[(Bucket, Sign)]) -> Vec<String> {
        buckets
            .iter()
            .map(|(b, s)| match s {
                Sign::Add => format!("+{b}"),
                Sign::Subtract => format!("-{b}"),
            })
            .collect()
    }

    fn reads(from: &str, to: &str, today: &str) -> (Vec<String>, Vec<String>) {
        let reads = Reads::of(DateRange::new(date(from), date(to)).unwrap(), date(today));
        (
            signed(&reads.counters),
            reads.uniques.iter().map(ToString::to_string).collect(),
        )
    }

    fn click_reads(from: &str, to: &str, today: &str) -> Vec<String> {
        signed(&Reads::of(DateRange::new(date(from), date(to)).unwrap(), date(today)).clicks)
    }

    #[test]
    fn a_month_sketch_is_joined_by_its_days_after_the_last_merge_up_to_today() {
        let uniques = |from, to, merged| {
            Reads::of(
                DateRange::new(date(from), date(to)).unwrap(),
                date("2026-11-28"),
            )
            .with_unmerged_days(date(merged), date("2026-11-28"))
            .uniques
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
        };
        // The calendar month: its sketch, and yesterday's and today's.
        assert_eq!(
            uniques("2026-11-01", "2026-11-30", "2026-11-26"),
            ["m:202611", "d:20261127", "d:20261128"]
        );
        // A rolling month: the cut month's days as before; only the current month is joined.
        assert_eq!(
            uniques("2026-10-30", "2026-11-28", "2026-11-26"),
            [
                "d:20261030",
                "d:20261031",
                "m:202611",
                "d:20261127",
                "d:20261128"
            ]
        );
        // Merges that fell behind: every unmerged day of every month read, none to come.
        let mut behind = vec!["m:202610", "m:202611", "d:20261031"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        behind.extend((1..=28).map(|d| format!("d:202611{d:02}")));
        assert_eq!(uniques("2026-10-01", "2026-11-30", "2026-10-30"), behind);
        // All merged: nothing joins.
        assert_eq!(
            uniques("2026-11-01", "2026-11-30", "2026-11-28"),
            ["m:202611"]
        );
    }

    #[test]
    fn whole_months_read_their_month_bucket() {
        let (counters, uniques) = reads("2024-02-01", "2024-03-31", "2026-11-27");
        assert_eq!(counters, ["+m:202402", "+m:202403"]);
        assert_eq!(uniques, ["m:202402", "m:202403"]);
    }

    #[test]
    fn a_rolling_month_ending_today_reads_two_months_and_a_few_days() {
        let (counters, uniques) = reads("2026-10-29", "2026-11-27", "2026-11-27");
        assert_eq!(
            counters,
            [
                "+d:20261029",
                "+d:20261030",
                "+d:20261031",
                "+m:202611",
                "-d:20261128",
                "-d:20261129",
                "-d:20261130"
            ]
        );
        assert_eq!(
            uniques,
            ["d:20261029", "d:20261030", "d:20261031", "m:202611"]
        );
    }

    #[test]
    fn clicks_skip_the_buckets_that_have_not_begun_and_subtract_only_past_days() {
        assert_eq!(
            click_reads("2026-10-29", "2026-11-27", "2026-11-27"),
            ["+d:20261029", "+d:20261030", "+d:20261031", "+m:202611"]
        );
        assert_eq!(
            click_reads("2026-11-02", "2026-12-30", "2026-11-27"),
            ["+m:202611", "-d:20261101"]
        );
        assert!(click_reads("2026-12-01", "2026-12-31", "2026-11-27").is_empty());
        let (_, uniques) = reads("2026-11-02", "2027-01-31", "2026-11-27");
        assert_eq!(uniques.last().map(String::as_str), Some("d:20261127"));
    }

    #[test]
    fn a_cut_month_in_the_past_subtracts_counters_but_unites_day_sketches() {
        let (counters, uniques) = reads("2026-09-03", "2026-09-30", "2026-11-27");
        assert_eq!(counters, ["+m:202609", "-d:20260901", "-d:20260902"]);
        assert_eq!(uniques.len(), 28);
        assert_eq!(uniques[0], "d:20260903");
    }

    #[test]
    fn a_rolling_year_reads_about_one_bucket_per_month() {
        for today in [
            "2026-11-27",
            "2026-02-28",
            "2026-03-01",
            "2026-12-31",
            "2026-01-15",
        ] {
            let to = date(today);
            let from = to - chrono::Days::new(365);
            let reads = Reads::of(DateRange::new(from, to).unwrap(), to);
            assert!(
                reads.clicks.len() <= 13 + 16 + 16,
                "{today}: {:?}",
                reads.clicks
            );
            assert!(
                reads.counters.len() <= 2 + 16 + 16,
                "{today}: {:?}",
                reads.counters
            );
            assert!(
                reads.uniques.len() <= 13 + 31,
                "{today}: {:?}",
                reads.uniques
            );
        }
    }

    #[test]
    fn money_reads_a_year_bucket_less_what_is_left_out_when_that_is_fewer_and_clicks_never_do() {
        let (counters, _) = reads("2025-01-01", "2025-12-31", "2026-11-27");
        assert_eq!(counters, ["+y:2025"]);
        assert_eq!(
            click_reads("2025-01-01", "2025-12-31", "2026-11-27").len(),
            12
        );
        let (counters, _) = reads("2025-11-27", "2026-11-27", "2026-11-27");
        assert_eq!(
            counters,
            [
                "+d:20251127",
                "+d:20251128",
                "+d:20251129",
                "+d:20251130",
                "+m:202512",
                "+y:2026",
                "-d:20261128",
                "-d:20261129",
                "-d:20261130",
                "-m:202612"
            ]
        );
        let (counters, _) = reads("2026-01-01", "2026-06-30", "2026-11-27");
        assert_eq!(
            counters.len(),
            6,
            "half a year reads its months: {counters:?}"
        );
        let (counters, _) = reads("2026-02-01", "2026-12-30", "2026-11-27");
        assert_eq!(counters, ["+y:2026", "-m:202601", "-d:20261231"]);
        assert!(
            click_reads("2026-02-01", "2026-12-30", "2026-11-27")
                .iter()
                .all(|b| !b.contains("y:"))
        );
    }

    #[test]
    fn a_single_day_reads_its_day() {
        let (counters, uniques) = reads("2026-11-21", "2026-11-21", "2026-11-27");
        assert_eq!(counters, ["+d:20261121"]);
        assert_eq!(uniques, ["d:20261121"]);
        assert_eq!(
            Reads::of(
                DateRange::new(date("2026-11-21"), date("2026-11-21")).unwrap(),
                date("2026-11-27")
            ),
            Reads::day(date("2026-11-21"))
        );
    }

    #[test]
    fn every_day_is_counted_once_whatever_the_range() {
        let today = date("2026-11-27");
        for (from, to) in [
            ("2025-12-30", "2026-03-02"),
            ("2026-01-31", "2026-02-01"),
            ("2026-11-02", "2026-12-30"),
            ("2024-02-10", "2024-02-29"),
            ("2026-10-15", "2027-02-10"),
            ("2025-11-27", "2026-11-27"),
            ("2025-01-01", "2025-12-31"),
            ("2024-12-31", "2026-01-01"),
            ("2026-01-02", "2026-12-30"),
            ("2026-02-15", "2026-12-31"),
        ] {
            let range = DateRange::new(date(from), date(to)).unwrap();
            let reads = Reads::of(range, today);
            let all: Vec<NaiveDate> = range.days().collect();
            assert_eq!(counted_days(&reads.counters), all, "{from}..{to}");
            // A month bucket also covers its days to come: they hold no click.
            let begun = |days: Vec<NaiveDate>| -> Vec<NaiveDate> {
                days.into_iter().filter(|d| *d <= today).collect()
            };
            assert_eq!(
                begun(counted_days(&reads.clicks)),
                begun(all),
                "clicks {from}..{to}"
            );
        }
    }

    /// The days the signed buckets cover, each exactly once (or the test fails).
    fn counted_days(buckets: &[(Bucket, Sign)]) -> Vec<NaiveDate> {
        let mut weight = std::collections::HashMap::<NaiveDate, i32>::new();
        for (bucket, sign) in buckets {
            let n = if *sign == Sign::Add { 1 } else { -1 };
            let covered: Vec<NaiveDate> = match bucket {
                Bucket::Day(d) => vec![*d],
                Bucket::Month { year, month } => {
                    let first = NaiveDate::from_ymd_opt(*year, *month, 1).unwrap();
                    let last = first
                        .checked_add_months(Months::new(1))
                        .unwrap()
                        .pred_opt()
                        .unwrap();
                    days(first, last).collect()
                }
                Bucket::Year(year) => {
                    let first = NaiveDate::from_ymd_opt(*year, 1, 1).unwrap();
                    days(first, NaiveDate::from_ymd_opt(*year, 12, 31).unwrap()).collect()
                }
            };
            for d in covered {
                *weight.entry(d).or_default() += n;
            }
        }
        weight.retain(|_, w| *w != 0);
        assert!(weight.values().all(|w| *w == 1), "{weight:?}");
        let mut counted: Vec<NaiveDate> = weight.into_keys().collect();
        counted.sort();
        counted
    }
}
