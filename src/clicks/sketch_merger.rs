//! The task that merges settled days' unique-visitor sketches into their months' (see
//! `store/month_sketches.rs`): every process runs it, and a lease in Redis lets one at a time
//! do the work.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::store::{SketchMerge, Store};

/// How often a process looks for settled days: a day is merged within this of settling, and
/// looking costs one `GET` when there is none.
const EVERY: Duration = Duration::from_secs(600);

/// How long after its end a day is settled. The flush writes a day's visitors to its sketch
/// alone only while the day is today on its clock (it reads the clock at every attempt of a
/// write), so past this no process does, even with its clock this far behind.
const SETTLE: TimeDelta = TimeDelta::hours(1);

/// The last settled day at `now`, in `time_zone`: the hour is taken off the instant, not the
/// local time, so a day whose midnight a daylight-saving change skips still settles an hour
/// after it ends.
pub fn settled_through(now: DateTime<Utc>, time_zone: Tz) -> NaiveDate {
    let ended = (now - SETTLE).with_timezone(&time_zone).date_naive();
    ended.pred_opt().unwrap_or(ended)
}

/// Starts the task: a first look at once, then every [`EVERY`], until `stop` changes. After
/// each look, `reftrack_sketch_merge_lag_seconds` shows the settled days still not merged.
pub fn start(
    store: Store,
    time_zone: Tz,
    metrics: Metrics,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    merge_settled(&store, time_zone).await;
                    show_lag(&store, time_zone, &metrics).await;
                }
                _ = stop.changed() => return,
            }
        }
    })
}

/// Merges every settled day not merged yet, a few days per call, until none is left or the
/// lease is another's. A graceful stop aborts the task (see `startup`), which a union allows.
async fn merge_settled(store: &Store, time_zone: Tz) {
    loop {
        let through = settled_through(Utc::now(), time_zone);
        match store.merge_day_sketches(through).await {
            Ok(SketchMerge::Merged { days, refused }) => {
                if refused > 0 {
                    tracing::warn!(
                        refused,
                        "day sketches left out of their months: a key holds no HyperLogLog"
                    );
                }
                let Some(last) = days.last() else { return };
                tracing::info!(through = %last, days = days.len(), "merged day sketches into their months");
            }
            Ok(SketchMerge::Busy) => return,
            Ok(SketchMerge::LeaseLost) => {
                tracing::warn!("lost the lease while merging day sketches: the next run goes on");
                return;
            }
            Ok(SketchMerge::Unrecorded) => {
                tracing::error!(
                    "the record of merged day sketches (sketches_merged) is gone: merges stop and \
                     reports join every day of each month; set it to the last day whose merge \
                     finished (YYYY-MM-DD) to resume"
                );
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not merge day sketches into their months");
                return;
            }
        }
    }
}

/// Sets the lag gauge from the record of merged days; leaves it where the record cannot be
/// read (the merge has logged why).
async fn show_lag(store: &Store, time_zone: Tz, metrics: &Metrics) {
    if let Ok(Some(merged)) = store.sketches_merged_through().await {
        let settled = settled_through(Utc::now(), time_zone);
        metrics
            .sketch_merge_lag_seconds
            .set(lag_days(settled, merged).saturating_mul(86_400));
    }
}

/// Settled days after the last merged one (none when the record is ahead).
fn lag_days(settled: NaiveDate, merged: NaiveDate) -> i64 {
    (settled - merged).num_days().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_day_settles_an_hour_after_it_ends() {
        let utc = chrono_tz::UTC;
        assert_eq!(
            settled_through(at("2026-11-28T00:59:00Z"), utc),
            day("2026-11-26")
        );
        assert_eq!(
            settled_through(at("2026-11-28T01:00:00Z"), utc),
            day("2026-11-27")
        );
        assert_eq!(
            settled_through(at("2026-11-28T23:59:00Z"), utc),
            day("2026-11-27")
        );
        assert_eq!(
            settled_through(at("2026-12-01T00:30:00Z"), utc),
            day("2026-11-29")
        );
        // In the reporting time zone: Berlin's 28th ends at 23:00 UTC, and settles at 00:00.
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            settled_through(at("2026-11-28T23:59:00Z"), berlin),
            day("2026-11-27")
        );
        assert_eq!(
            settled_through(at("2026-11-29T00:00:00Z"), berlin),
            day("2026-11-28")
        );
    }

    #[test]
    fn the_lag_counts_settled_days_not_merged_and_never_goes_below_zero() {
        assert_eq!(lag_days(day("2026-11-27"), day("2026-11-27")), 0);
        assert_eq!(lag_days(day("2026-11-27"), day("2026-11-22")), 5);
        assert_eq!(lag_days(day("2026-11-27"), day("2026-11-28")), 0);
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_still_settles_an_hour_after_it_ends() {
        // Santiago moves its clocks from 00:00 to 01:00 on 2026-09-06 (03:00 UTC -> 04:00
        // UTC offsets -4 -> -3): the 5th ends at 04:00 UTC, when local time reads 01:00.
        let santiago = chrono_tz::America::Santiago;
        assert_eq!(
            settled_through(at("2026-09-06T04:30:00Z"), santiago),
            day("2026-09-04")
        );
        assert_eq!(
            settled_through(at("2026-09-06T05:00:00Z"), santiago),
            day("2026-09-05")
        );
    }
}
