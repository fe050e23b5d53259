//! When the click buffer's tallies are written: every `clicks.count_interval_ms` while a
//! write is cheap, and up to `clicks.max_count_interval_ms` while clicks spread so thin that
//! writing them every interval would cost Redis mostly per link rather than per click.
//!
//! A count write costs Redis per owner it touches (a link or an influencer: its share of a
//! script, two counters, a `PFADD` call; about 3 µs together) and per visitor it adds to a
//! sketch. Clicks spread over 100,000 links at 100,000 a second give each link about one
//! click a second, so a write every second paid the per-owner cost once per click: 3.1 µs a
//! click against 1.35 µs when the same clicks were written every four seconds
//! (`deploy/bench/flush_redis.sh`, `LINKS=100000`, `CLICKS=100000 INTERVALS=8` against
//! `CLICKS=400000 INTERVALS=2`). So a write over more than about one part's worth of links
//! (the flusher's parts, of about 1,000 links) waits until its links average
//! [`DENSE_CLICKS_PER_LINK`] clicks, or the longer interval passes. A write over fewer links
//! (most programs most of the time) goes every count interval, as before.
//!
//! The price of waiting is the price of the count interval, stretched: reports trail the
//! clicks by up to the longer interval, and a crash (`kill -9`) loses up to that much of the
//! counts. A graceful stop, a durable-mode redirect and a batch headed for the spool take the
//! tallies at once, whatever this says.

use std::time::Duration;

/// Clicks per link, on average, at which a write over more links goes without waiting for
/// the longer interval: the per-owner cost is then a small part of a click's.
pub(super) const DENSE_CLICKS_PER_LINK: usize = 16;

/// The intervals and the memory bound that decide when tallies are written.
#[derive(Debug, Clone, Copy)]
pub(super) struct CountSchedule {
    /// `clicks.count_interval_ms`.
    pub interval: Duration,
    /// `clicks.max_count_interval_ms`, at least `interval`.
    pub max_interval: Duration,
    /// Links a write may carry and still go every count interval: one part of a count
    /// write, a handful of scripts however thin the clicks.
    pub cheap_links: usize,
    /// Clicks tallied at which they are written whatever the time (the buffer's spill mark,
    /// which bounds the memory they hold).
    pub max_tallied: usize,
}

/// What the buffer holds in tallies, and since when.
#[derive(Debug, Clone, Copy)]
pub(super) struct Held {
    /// Since the end of the last count write.
    pub elapsed: Duration,
    /// Clicks counted in the tallies.
    pub clicks: usize,
    /// Links they count clicks of.
    pub links: usize,
}

impl CountSchedule {
    /// Whether tallies holding `held` are to be written now.
    pub fn due(&self, held: Held) -> bool {
        if held.clicks == 0 {
            return false;
        }
        if held.clicks >= self.max_tallied || held.elapsed >= self.max_interval {
            return true;
        }
        held.elapsed >= self.interval
            && (held.links <= self.cheap_links
                || held.clicks >= held.links.saturating_mul(DENSE_CLICKS_PER_LINK))
    }

    /// When, counted from the end of the last count write, tallies held for `elapsed` are
    /// next to be looked at: the count interval, then the longer one. The flusher wakes by
    /// then whatever its flush interval, so a flush interval longer than the count interval
    /// never holds counts past it.
    pub fn next_look(&self, elapsed: Duration) -> Duration {
        if elapsed < self.interval {
            self.interval
        } else {
            self.max_interval
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP_LINKS: usize = 1_000;

    const SCHEDULE: CountSchedule = CountSchedule {
        interval: Duration::from_secs(1),
        max_interval: Duration::from_secs(5),
        cheap_links: CHEAP_LINKS,
        max_tallied: 500_000,
    };

    fn held(elapsed_ms: u64, clicks: usize, links: usize) -> Held {
        Held {
            elapsed: Duration::from_millis(elapsed_ms),
            clicks,
            links,
        }
    }

    #[test]
    fn held_tallies_are_looked_at_after_the_count_interval_then_after_the_longer_one() {
        assert_eq!(SCHEDULE.next_look(Duration::ZERO), SCHEDULE.interval);
        assert_eq!(
            SCHEDULE.next_look(Duration::from_millis(999)),
            SCHEDULE.interval
        );
        assert_eq!(SCHEDULE.next_look(SCHEDULE.interval), SCHEDULE.max_interval);
        assert_eq!(
            SCHEDULE.next_look(Duration::from_secs(60)),
            SCHEDULE.max_interval
        );
    }

    #[test]
    fn nothing_tallied_is_never_due() {
        assert!(!SCHEDULE.due(held(60_000, 0, 0)));
    }

    #[test]
    fn a_write_over_few_links_goes_every_count_interval() {
        assert!(!SCHEDULE.due(held(999, 1, 1)));
        assert!(SCHEDULE.due(held(1_000, 1, 1)));
        assert!(SCHEDULE.due(held(1_000, 1_000, CHEAP_LINKS)));
    }

    #[test]
    fn clicks_spread_thin_over_many_links_wait_for_the_longer_interval() {
        let links = 100_000;
        assert!(!SCHEDULE.due(held(1_000, 100_000, links)));
        assert!(!SCHEDULE.due(held(4_999, 499_999, links)));
        assert!(SCHEDULE.due(held(5_000, 100_000, links)));
    }

    #[test]
    fn clicks_dense_enough_over_many_links_go_every_count_interval() {
        let links = 10_000;
        assert!(!SCHEDULE.due(held(1_000, links * DENSE_CLICKS_PER_LINK - 1, links)));
        assert!(SCHEDULE.due(held(1_000, links * DENSE_CLICKS_PER_LINK, links)));
        assert!(!SCHEDULE.due(held(999, links * DENSE_CLICKS_PER_LINK, links)));
    }

    #[test]
    fn tallies_holding_as_many_clicks_as_the_spill_mark_go_at_once() {
        assert!(SCHEDULE.due(held(0, 500_000, 100_000)));
    }

    #[test]
    fn a_longer_interval_equal_to_the_count_interval_keeps_every_write_on_time() {
        let flat = CountSchedule {
            max_interval: SCHEDULE.interval,
            ..SCHEDULE
        };
        assert!(flat.due(held(1_000, 1, usize::MAX)));
        assert!(!flat.due(held(999, 1, usize::MAX)));
    }
}
