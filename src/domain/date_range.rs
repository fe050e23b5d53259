//! Report periods and the counter buckets that cover them.

use std::fmt;

use chrono::{Datelike, Days, Months, NaiveDate};

/// An inclusive range of calendar days in the reporting time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DateRangeError {
    #[error("'{0}' is not a date in YYYY-MM-DD form")]
    NotADate(String),
    #[error("'from' ({from}) is after 'to' ({to})")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("a report covers at most {} days", DateRange::MAX_DAYS)]
    TooLong,
}

/// A counter bucket: everything is counted per day, per month and per year, so a long range
/// reads a few year and month counters and the days at its edges instead of one counter per
/// day (and a year's unique visitors are one sketch, not a merge of twelve).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    Day(NaiveDate),
    Month { year: i32, month: u32 },
    Year(i32),
}

impl Bucket {
    /// The buckets a click (or order, or cost) on `day` is counted in.
    pub fn containing(day: NaiveDate) -> [Self; 3] {
        [
            Self::Day(day),
            Self::Month {
                year: day.year(),
                month: day.month(),
            },
            Self::Year(day.year()),
        ]
    }
}

impl fmt::Display for Bucket {
    /// The suffix used in Redis field and key names: `d:20261121`, `m:202611` or `y:2026`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Day(d) => write!(f, "d:{}", d.format("%Y%m%d")),
            Self::Month { year, month } => write!(f, "m:{year:04}{month:02}"),
            Self::Year(year) => write!(f, "y:{year:04}"),
        }
    }
}

impl DateRange {
    /// Ten years: enough for any report, small enough that a request cannot ask for millions
    /// of buckets.
    pub const MAX_DAYS: i64 = 3660;

    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, DateRangeError> {
        if from > to {
            return Err(DateRangeError::Reversed { from, to });
        }
        if (to - from).num_days() >= Self::MAX_DAYS {
            return Err(DateRangeError::TooLong);
        }
        Ok(Self { from, to })
    }

    pub fn parse_day(raw: &str) -> Result<NaiveDate, DateRangeError> {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| DateRangeError::NotADate(raw.to_owned()))
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// The fewest buckets that cover the range exactly: whole years and months inside it,
    /// days elsewhere.
    pub fn buckets(&self) -> Vec<Bucket> {
        let mut out = Vec::new();
        let mut day = self.from;
        while day <= self.to {
            let month_end = first_of_next_month(day).pred_opt().unwrap_or(day);
            let year_end = NaiveDate::from_ymd_opt(day.year(), 12, 31).unwrap_or(day);
            if day.ordinal() == 1 && year_end <= self.to {
                out.push(Bucket::Year(day.year()));
                day = year_end;
            } else if day.day() == 1 && month_end <= self.to {
                out.push(Bucket::Month {
                    year: day.year(),
                    month: day.month(),
                });
                day = month_end;
            } else {
                out.push(Bucket::Day(day));
            }
            match day.checked_add_days(Days::new(1)) {
                Some(next) => day = next,
                None => break,
            }
        }
        out
    }

    /// Every day in the range, for figures that are only kept per day.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        self.from.iter_days().take_while({
            let to = self.to;
            move |d| *d <= to
        })
    }
}

fn first_of_next_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1)
        .and_then(|first| first.checked_add_months(Months::new(1)))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        DateRange::parse_day(s).unwrap()
    }

    fn names(from: &str, to: &str) -> Vec<String> {
        DateRange::new(date(from), date(to))
            .unwrap()
            .buckets()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn whole_months_use_month_buckets_and_edges_use_days() {
        assert_eq!(
            names("2026-01-30", "2026-03-02"),
            [
                "d:20260130",
                "d:20260131",
                "m:202602",
                "d:20260301",
                "d:20260302"
            ]
        );
        assert_eq!(names("2024-02-01", "2024-02-29"), ["m:202402"]);
        assert_eq!(names("2024-02-01", "2024-02-28").len(), 28);
        assert_eq!(names("2026-11-21", "2026-11-21"), ["d:20261121"]);
    }

    #[test]
    fn whole_calendar_years_use_one_bucket() {
        assert_eq!(names("2025-01-01", "2025-12-31"), ["y:2025"]);
        assert_eq!(
            names("2024-12-31", "2026-02-28"),
            ["d:20241231", "y:2025", "m:202601", "m:202602"]
        );
        assert_eq!(names("2025-01-01", "2025-12-30").len(), 11 + 30);
    }

    #[test]
    fn a_day_counts_in_its_day_month_and_year() {
        let names: Vec<String> = Bucket::containing(date("2026-11-21"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["d:20261121", "m:202611", "y:2026"]);
    }

    #[test]
    fn a_year_needs_few_buckets() {
        let range = DateRange::new(date("2025-11-21"), date("2026-11-20")).unwrap();
        assert_eq!(range.buckets().len(), 10 + 11 + 20);
        assert_eq!(range.days().count(), 365);
    }

    #[test]
    fn reversed_overlong_and_malformed_ranges_are_refused() {
        assert!(matches!(
            DateRange::new(date("2026-02-02"), date("2026-02-01")),
            Err(DateRangeError::Reversed { .. })
        ));
        assert_eq!(
            DateRange::new(date("2000-01-01"), date("2026-01-01")),
            Err(DateRangeError::TooLong)
        );
        assert_eq!(
            DateRange::parse_day("2026-13-01"),
            Err(DateRangeError::NotADate("2026-13-01".into()))
        );
    }
}
