//! Which counter buckets a report reads to cover a range of days: about one per month.
//!
//! Counters are kept per day and per month (see [`Bucket`]). A month wholly inside the range
//! is its month bucket. A month the range cuts is either its days inside the range, or its
//! month bucket less its days outside the range, whichever is fewer; so a rolling 30 days
//! ending today reads two months and a few days, not 30 days, and any range up to a year
//! reads at most about 13 month buckets and 30 days. Unique visitors are sketches, which
//! cannot be subtracted: a cut month's sketch is its month's when every day left out is
//! still to come (no visitor counted yet), and otherwise the union of its days in the range.
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

/// The buckets a report reads for one range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    /// Counter buckets whose signed sum is the range's figure.
    pub counters: Vec<(Bucket, Sign)>,
    /// Click counter buckets whose signed sum is the range's clicks: `counters` without
    /// the buckets that have not begun (they hold no click).
    pub clicks: Vec<(Bucket, Sign)>,
    /// Unique-visitor sketches whose union counts the range's visitors.
    pub uniques: Vec<Bucket>,
}

impl Reads {
    /// The reads covering `range`, where `today` (in the reporting time zone) says which days
    /// have not begun.
    pub fn of(range: DateRange, today: NaiveDate) -> Self {
        let mut reads = Self {
            counters: Vec::new(),
            clicks: Vec::new(),
            uniques: Vec::new(),
        };
        let mut first = range.from().with_day(1).unwrap_or(range.from());
        while first <= range.to() {
            let next = first.checked_add_months(Months::new(1));
            let last = next.and_then(|n| n.pred_opt()).unwrap_or(NaiveDate::MAX);
            reads.add_month(first, last, range, today);
            match next {
                Some(next) => first = next,
                None => break,
            }
        }
        let begun = |bucket: &Bucket| bucket.first_day().is_some_and(|first| first <= today);
        reads.clicks = reads
            .counters
            .iter()
            .copied()
            .filter(|(bucket, _)| begun(bucket))
            .collect();
        reads.uniques.retain(begun);
        reads
    }

    /// One day.
    pub fn day(day: NaiveDate) -> Self {
        Self {
            counters: vec![(Bucket::Day(day), Sign::Add)],
            clicks: vec![(Bucket::Day(day), Sign::Add)],
            uniques: vec![Bucket::Day(day)],
        }
    }

    fn add_month(&mut self, first: NaiveDate, last: NaiveDate, range: DateRange, today: NaiveDate) {
        let month = Bucket::Month {
            year: first.year(),
            month: first.month(),
        };
        let inside = (range.from().max(first), range.to().min(last));
        let days_in = span(inside.0, inside.1);
        let days_out = span(first, last) - days_in;
        if days_out == 0 {
            self.counters.push((month, Sign::Add));
            self.uniques.push(month);
            return;
        }
        let before = inside.0.pred_opt().filter(|d| *d >= first);
        let after = inside.1.succ_opt().filter(|d| *d <= last);
        let outside = || {
            let before = before.into_iter().flat_map(move |b| days(first, b));
            before.chain(after.into_iter().flat_map(move |a| days(a, last)))
        };
        if days_in <= 1 + days_out {
            self.counters
                .extend(days(inside.0, inside.1).map(|d| (Bucket::Day(d), Sign::Add)));
        } else {
            self.counters.push((month, Sign::Add));
            self.counters
                .extend(outside().map(|d| (Bucket::Day(d), Sign::Subtract)));
        }
        if days_in > 1 && outside().all(|d| d > today) {
            self.uniques.push(month);
        } else {
            self.uniques
                .extend(days(inside.0, inside.1).map(Bucket::Day));
        }
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
                reads.counters.len() <= 13 + 16 + 16,
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
                Bucket::Year(_) => unreachable!(),
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
