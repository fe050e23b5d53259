//! Spotting bought or scripted clicks: the same follower clicking one link again within a
//! short window (a person who clicks twice is one click), and one follower clicking one link
//! in a burst beyond a configured rate.
//!
//! The tracker lives in process memory, bounded in size: it sees the clicks this replica
//! answers. Behind a load balancer that spreads one client over several replicas it sees part
//! of a burst; sticky balancing (by client address) makes it see all of it.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};

use crate::config::FraudSettings;

/// What the tracker makes of a click from a follower on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counts as a person's click.
    Fresh,
    /// The same follower clicked the same link within the repeat window.
    Repeat,
    /// The follower's clicks on this link passed the burst limit.
    Burst,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    last_ms: i64,
    window_start_ms: i64,
    clicks: u32,
}

#[derive(Debug)]
pub struct FraudGuard {
    seen: Mutex<HashMap<u64, Seen>>,
    hasher: RandomState,
    repeat_ms: i64,
    burst_ms: i64,
    burst_max: u32,
    capacity: usize,
}

impl FraudGuard {
    pub fn new(settings: &FraudSettings) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
            repeat_ms: i64::from(settings.repeat_window_secs) * 1000,
            burst_ms: i64::from(settings.burst_window_secs) * 1000,
            burst_max: settings.burst_max_clicks,
            capacity: settings.tracked_clients,
        }
    }

    /// Judges a click by `visitor` (the salted visitor hash) on the link `code` at `now_ms`.
    pub fn judge(&self, code: &str, visitor: u64, now_ms: i64) -> Verdict {
        let key = self.hasher.hash_one((code, visitor));
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= self.capacity && !seen.contains_key(&key) {
            self.forget_stale(&mut seen, now_ms);
        }
        let Some(entry) = seen.get_mut(&key) else {
            seen.insert(
                key,
                Seen {
                    last_ms: now_ms,
                    window_start_ms: now_ms,
                    clicks: 1,
                },
            );
            return Verdict::Fresh;
        };
        // Clicks answered at the same moment on two workers can arrive here out of order:
        // time never runs backwards for a follower.
        let since_last = (now_ms - entry.last_ms).max(0);
        let repeat = since_last < self.repeat_ms;
        if now_ms - entry.window_start_ms >= self.burst_ms {
            entry.window_start_ms = now_ms;
            entry.clicks = 0;
        }
        entry.clicks = entry.clicks.saturating_add(1);
        entry.last_ms = entry.last_ms.max(now_ms);
        if repeat {
            Verdict::Repeat
        } else if entry.clicks > self.burst_max {
            Verdict::Burst
        } else {
            Verdict::Fresh
        }
    }

    /// Keeps memory bounded: drops followers not seen within either window, and if that is
    /// not enough (a flood of distinct clients), everyone.
    fn forget_stale(&self, seen: &mut HashMap<u64, Seen>, now_ms: i64) {
        let horizon = self.repeat_ms.max(self.burst_ms);
        seen.retain(|_, s| now_ms - s.last_ms < horizon);
        if seen.len() >= self.capacity {
            seen.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(burst_max: u32) -> FraudGuard {
        FraudGuard::new(&FraudSettings {
            repeat_window_secs: 30,
            burst_window_secs: 3600,
            burst_max_clicks: burst_max,
            tracked_clients: 1000,
        })
    }

    #[test]
    fn a_second_click_within_the_repeat_window_is_a_repeat() {
        let g = guard(10);
        assert_eq!(g.judge("summer", 1, 0), Verdict::Fresh);
        assert_eq!(g.judge("summer", 1, 29_999), Verdict::Repeat);
        assert_eq!(g.judge("summer", 1, 29_999 + 30_000), Verdict::Fresh);
        assert_eq!(g.judge("summer", 2, 1), Verdict::Fresh, "another follower");
        assert_eq!(g.judge("winter", 1, 2), Verdict::Fresh, "another link");
    }

    #[test]
    fn without_a_repeat_window_even_simultaneous_clicks_are_fresh() {
        let g = FraudGuard::new(&FraudSettings {
            repeat_window_secs: 0,
            burst_window_secs: 3600,
            burst_max_clicks: 100,
            tracked_clients: 1000,
        });
        assert_eq!(g.judge("summer", 1, 1_000), Verdict::Fresh);
        assert_eq!(
            g.judge("summer", 1, 999),
            Verdict::Fresh,
            "answered earlier, judged later"
        );
        assert_eq!(g.judge("summer", 1, 1_000), Verdict::Fresh);
    }

    #[test]
    fn clicks_beyond_the_burst_limit_are_a_burst_until_the_window_passes() {
        let g = guard(3);
        let verdicts: Vec<Verdict> = (0..5).map(|i| g.judge("summer", 7, i * 60_000)).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Fresh,
                Verdict::Fresh,
                Verdict::Fresh,
                Verdict::Burst,
                Verdict::Burst
            ]
        );
        assert_eq!(g.judge("summer", 7, 3_600_000 + 4 * 60_000), Verdict::Fresh);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_clients() {
        let g = guard(10);
        for visitor in 0..5000 {
            g.judge("summer", visitor, 0);
        }
        assert!(g.seen.lock().unwrap().len() <= 1000);
    }
}
