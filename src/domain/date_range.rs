//! Report periods and the counter buckets that cover them.

use std::fmt;

use chrono::{Datelike, NaiveDate};

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
    #[error(
        "'{0}' is outside the years reftrack counts ({first} to {last})",
        first = DateRange::FIRST_YEAR,
        last = DateRange::LAST_YEAR
    )]
    OutsideYears(String),
    #[error("'from' ({from}) is after 'to' ({to})")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error(
        "{from} to {to} is longer than a report covers (at most {} days)",
        DateRange::MAX_DAYS
    )]
    TooLong { from: NaiveDate, to: NaiveDate },
}

/// A counter bucket: everything is counted per day, per month and per year. Reports read days
/// and months only (see `range_reads.rs`), about one bucket per month of their range.
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

    /// The bucket's first day (`None` only for a month or year outside the calendar).
    pub fn first_day(&self) -> Option<NaiveDate> {
        match *self {
            Self::Day(day) => Some(day),
            Self::Month { year, month } => NaiveDate::from_ymd_opt(year, month, 1),
            Self::Year(year) => NaiveDate::from_ymd_opt(year, 1, 1),
        }
    }
}

impl fmt::Display for Bucket {
    /// The suffix used in Redis field and key names: `d:20261121`, `m:202611` or `y:2026`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Numbers rather than `format("%Y%m%d")`, which parses its pattern on every call:
            // the flusher names a day bucket per link it writes.
            Self::Day(d) => write!(f, "d:{:04}{:02}{:02}", d.year(), d.month(), d.day()),
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
            return Err(DateRangeError::TooLong { from, to });
        }
        Ok(Self { from, to })
    }

    /// The years a date may name, as order times (`domain::order`): a date outside them is a
    /// typo (`0026-11-01`) that would file a cost under a year no report asks for.
    pub const FIRST_YEAR: i32 = 2000;
    pub const LAST_YEAR: i32 = 2099;

    /// A day written exactly `YYYY-MM-DD` (no spaces, signs or short fields: `2026-1-1` is a
    /// typo as often as a date), in the years reftrack counts.
    pub fn parse_day(raw: &str) -> Result<NaiveDate, DateRangeError> {
        let shaped = raw.len() == 10
            && raw.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .filter(|_| shaped)
            .ok_or_else(|| DateRangeError::NotADate(raw.to_owned()))?;
        if (Self::FIRST_YEAR..=Self::LAST_YEAR).contains(&day.year()) {
            Ok(day)
        } else {
            Err(DateRangeError::OutsideYears(raw.to_owned()))
        }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Every day in the range, for figures that are only kept per day.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        self.from.iter_days().take_while({
            let to = self.to;
            move |d| *d <= to
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_exactly_yyyy_mm_dd_within_the_years_counted() {
        for raw in [
            "2026-1-1",
            " 2026-02-03",
            "2026-02-03 ",
            "+2026-02-03",
            "2026/02/03",
        ] {
            assert_eq!(
                DateRange::parse_day(raw),
                Err(DateRangeError::NotADate(raw.to_owned())),
                "{raw}"
            );
        }
        for raw in ["0026-11-01", "1999-12-31", "2100-01-01", "0000-01-01"] {
            assert_eq!(
                DateRange::parse_day(raw),
                Err(DateRangeError::OutsideYears(raw.to_owned())),
                "{raw}"
            );
        }
        assert!(DateRange::parse_day("2000-01-01").is_ok());
        assert!(DateRange::parse_day("2099-12-31").is_ok());
    }

    fn date(s: &str) -> NaiveDate {
        DateRange::parse_day(s).unwrap()
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
    fn a_range_lists_its_days() {
        let range = DateRange::new(date("2025-11-21"), date("2026-11-20")).unwrap();
        assert_eq!(range.days().count(), 365);
    }

    #[test]
    fn reversed_overlong_and_malformed_ranges_are_refused() {
        assert!(matches!(
            DateRange::new(date("2026-02-02"), date("2026-02-01")),
            Err(DateRangeError::Reversed { .. })
        ));
        assert!(matches!(
            DateRange::new(date("2000-01-01"), date("2026-01-01")),
            Err(DateRangeError::TooLong { .. })
        ));
        assert_eq!(
            DateRange::parse_day("2026-13-01"),
            Err(DateRangeError::NotADate("2026-13-01".into()))
        );
    }
}
