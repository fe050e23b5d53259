//! The task that merges settled days' unique-visitor sketches into their months' (see
//! `store/month_sketches.rs`): every process runs it, and a lease in Redis lets one at a time
//! do the work.

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::{SketchMerge, Store};

/// How often a process looks for settled days: a day is merged within this of settling, and
/// looking costs one `GET` when there is none.
const EVERY: Duration = Duration::from_secs(600);

/// How long after its end a day is settled. The flush writes a day's visitors to its sketch
/// alone only while the day is today on its clock, and builds a batch again at each attempt,
/// so past this no process does, even with its clock this far behind.
const SETTLE: TimeDelta = TimeDelta::hours(1);

/// The last settled day at `now`, the local time in the reporting time zone.
pub fn settled_through(now: NaiveDateTime) -> NaiveDate {
    let ended = (now - SETTLE).date();
    ended.pred_opt().unwrap_or(ended)
}

/// Starts the task: a first look at once, then every [`EVERY`], until `stop` changes.
pub fn start(store: Store, time_zone: Tz, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => merge_settled(&store, time_zone, &stop).await,
                _ = stop.changed() => return,
            }
        }
    })
}

/// Merges every settled day not merged yet, a few days per call, until none is left, the
/// lease is another's, or the process stops.
async fn merge_settled(store: &Store, time_zone: Tz, stop: &watch::Receiver<bool>) {
    loop {
        let through = settled_through(Utc::now().with_timezone(&time_zone).naive_local());
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
            Ok(SketchMerge::Busy | SketchMerge::LeaseLost) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not merge day sketches into their months");
                return;
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_day_settles_an_hour_after_it_ends() {
        assert_eq!(settled_through(at("2026-11-28 00:59")), day("2026-11-26"));
        assert_eq!(settled_through(at("2026-11-28 01:00")), day("2026-11-27"));
        assert_eq!(settled_through(at("2026-11-28 23:59")), day("2026-11-27"));
        assert_eq!(settled_through(at("2026-12-01 00:30")), day("2026-11-29"));
    }
}
