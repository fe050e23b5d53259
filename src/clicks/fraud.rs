//! Spotting bought or scripted clicks: the same follower clicking one link again within a
//! short window (a person who clicks twice is one click), one follower clicking one link in a
//! burst beyond a configured rate, and one address clicking one link beyond a (higher) rate
//! whatever user agents it sends, so rotating user agents does not make a script many people.
//!
//! The tracker lives in process memory, bounded in size: it sees the clicks this replica
//! answers. Behind a load balancer that spreads one client over several replicas it sees part
//! of a burst; sticky balancing (by client address) makes it see all of it.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use foldhash::HashMap;
use foldhash::fast::RandomState;
use ipnet::IpNet;

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
    /// The address's clicks on this link, over all user agents, passed the address limit.
    AddressBurst,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    last_ms: i64,
    window_start_ms: i64,
    clicks: u32,
}

/// Followers (link and visitor hash) and addresses (link and address) seen lately, each map
/// keyed by a hash and bounded by `tracked_clients`.
#[derive(Debug, Default)]
struct Tracker {
    followers: HashMap<u64, Seen>,
    addresses: HashMap<u64, Seen>,
}

#[derive(Debug)]
pub struct FraudGuard {
    seen: Mutex<Tracker>,
    hasher: RandomState,
    repeat_ms: i64,
    burst_ms: i64,
    burst_max: u32,
    address_burst_ms: i64,
    /// 0: the address rule is off.
    address_burst_max: u32,
    /// Addresses the address rule does not apply to: the configured exemptions (a carrier NAT
    /// many real followers share) and the trusted proxies (a click whose address is a proxy's
    /// came without a forwarded address, so the proxy's address stands for all its clients).
    address_exempt: Vec<IpNet>,
    capacity: usize,
}

impl FraudGuard {
    pub fn new(settings: &FraudSettings, trusted_proxies: &[IpNet]) -> Self {
        Self {
            seen: Mutex::new(Tracker::default()),
            hasher: RandomState::default(),
            repeat_ms: i64::from(settings.repeat_window_secs) * 1000,
            burst_ms: i64::from(settings.burst_window_secs.get()) * 1000,
            burst_max: settings.burst_max_clicks.get(),
            address_burst_ms: i64::from(settings.address_burst_window_secs) * 1000,
            address_burst_max: settings.address_burst_max_clicks,
            address_exempt: settings
                .address_burst_exempt
                .iter()
                .chain(trusted_proxies)
                .copied()
                .collect(),
            capacity: settings.tracked_clients.get(),
        }
    }

    /// Judges a click by `visitor` (the salted visitor hash) from `addr` on the link `code` at
    /// `now_ms`.
    pub fn judge(&self, code: &str, visitor: u64, addr: Option<IpAddr>, now_ms: i64) -> Verdict {
        let follower_key = self.hasher.hash_one((code, visitor));
        let address_key = self.address_key(code, addr);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let follower = self.count(
            &mut seen.followers,
            follower_key,
            now_ms,
            self.burst_ms,
            self.repeat_ms.max(self.burst_ms),
        );
        let address_clicks = address_key.map_or(0, |key| {
            let window = self.address_burst_ms;
            self.count(&mut seen.addresses, key, now_ms, window, window)
                .clicks
        });
        if follower.repeat {
            Verdict::Repeat
        } else if follower.clicks > self.burst_max {
            Verdict::Burst
        } else if address_clicks > self.address_burst_max {
            Verdict::AddressBurst
        } else {
            Verdict::Fresh
        }
    }

    /// The address rule's key, or `None` when the rule is off or does not apply.
    fn address_key(&self, code: &str, addr: Option<IpAddr>) -> Option<u64> {
        if self.address_burst_max == 0 {
            return None;
        }
        let addr = addr?.to_canonical();
        if self.address_exempt.iter().any(|net| net.contains(&addr)) {
            return None;
        }
        Some(self.hasher.hash_one((code, addr)))
    }

    /// Counts a click under `key` in a window of `window_ms`, and says whether it repeats the
    /// previous one within the repeat window.
    fn count(
        &self,
        map: &mut HashMap<u64, Seen>,
        key: u64,
        now_ms: i64,
        window_ms: i64,
        horizon_ms: i64,
    ) -> Counted {
        if map.len() >= self.capacity && !map.contains_key(&key) {
            self.forget_stale(map, now_ms, horizon_ms);
        }
        let Some(entry) = map.get_mut(&key) else {
            map.insert(
                key,
                Seen {
                    last_ms: now_ms,
                    window_start_ms: now_ms,
                    clicks: 1,
                },
            );
            return Counted {
                repeat: false,
                clicks: 1,
            };
        };
        // Clicks answered at the same moment on two workers can arrive here out of order:
        // time never runs backwards for a follower.
        let since_last = now_ms.saturating_sub(entry.last_ms).max(0);
        let repeat = since_last < self.repeat_ms;
        if now_ms.saturating_sub(entry.window_start_ms) >= window_ms {
            entry.window_start_ms = now_ms;
            entry.clicks = 0;
        }
        entry.clicks = entry.clicks.saturating_add(1);
        entry.last_ms = entry.last_ms.max(now_ms);
        Counted {
            repeat,
            clicks: entry.clicks,
        }
    }

    /// Keeps memory bounded: drops entries not seen within `horizon_ms`, and if that is not
    /// enough (a flood of distinct clients), all of them.
    fn forget_stale(&self, map: &mut HashMap<u64, Seen>, now_ms: i64, horizon_ms: i64) {
        map.retain(|_, s| now_ms.saturating_sub(s.last_ms) < horizon_ms);
        if map.len() >= self.capacity {
            map.clear();
        }
    }
}

struct Counted {
    repeat: bool,
    clicks: u32,
}

#[cfg(test)]
mod tests {
    use std::num::NonZero;

    use super::*;

    fn settings(burst_max: u32) -> FraudSettings {
        FraudSettings {
            repeat_window_secs: 30,
            burst_window_secs: NonZero::new(3600).unwrap(),
            burst_max_clicks: NonZero::new(burst_max).unwrap(),
            address_burst_window_secs: 3600,
            address_burst_max_clicks: 0,
            address_burst_exempt: Vec::new(),
            tracked_clients: NonZero::new(1000).unwrap(),
        }
    }

    fn guard(burst_max: u32) -> FraudGuard {
        FraudGuard::new(&settings(burst_max), &[])
    }

    #[test]
    fn a_second_click_within_the_repeat_window_is_a_repeat() {
        let g = guard(10);
        assert_eq!(g.judge("summer", 1, None, 0), Verdict::Fresh);
        assert_eq!(g.judge("summer", 1, None, 29_999), Verdict::Repeat);
        assert_eq!(g.judge("summer", 1, None, 29_999 + 30_000), Verdict::Fresh);
        assert_eq!(
            g.judge("summer", 2, None, 1),
            Verdict::Fresh,
            "another follower"
        );
        assert_eq!(
            g.judge("winter", 1, None, 2),
            Verdict::Fresh,
            "another link"
        );
    }

    #[test]
    fn without_a_repeat_window_even_simultaneous_clicks_are_fresh() {
        let g = FraudGuard::new(
            &FraudSettings {
                repeat_window_secs: 0,
                burst_max_clicks: NonZero::new(100).unwrap(),
                ..settings(100)
            },
            &[],
        );
        assert_eq!(g.judge("summer", 1, None, 1_000), Verdict::Fresh);
        assert_eq!(
            g.judge("summer", 1, None, 999),
            Verdict::Fresh,
            "answered earlier, judged later"
        );
        assert_eq!(g.judge("summer", 1, None, 1_000), Verdict::Fresh);
    }

    #[test]
    fn clicks_beyond_the_burst_limit_are_a_burst_until_the_window_passes() {
        let g = guard(3);
        let verdicts: Vec<Verdict> = (0..5)
            .map(|i| g.judge("summer", 7, None, i * 60_000))
            .collect();
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
        assert_eq!(
            g.judge("summer", 7, None, 3_600_000 + 4 * 60_000),
            Verdict::Fresh
        );
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_clients() {
        let g = guard(10);
        for visitor in 0..5000 {
            g.judge("summer", visitor, None, 0);
        }
        assert!(g.seen.lock().unwrap().followers.len() <= 1000);
    }

    fn address_guard(exempt: &[&str], trusted: &[IpNet]) -> FraudGuard {
        FraudGuard::new(
            &FraudSettings {
                repeat_window_secs: 0,
                address_burst_max_clicks: 5,
                address_burst_exempt: exempt.iter().map(|n| n.parse().unwrap()).collect(),
                ..settings(10)
            },
            trusted,
        )
    }

    #[test]
    fn rotating_user_agents_from_one_address_passes_the_address_limit() {
        let g = address_guard(&[], &[]);
        let addr = Some("198.51.100.1".parse().unwrap());
        let verdicts: Vec<Verdict> = (0..8).map(|ua| g.judge("summer", ua, addr, 0)).collect();
        assert_eq!(verdicts[..5], [Verdict::Fresh; 5]);
        assert_eq!(verdicts[5..], [Verdict::AddressBurst; 3]);
        let mapped = Some("::ffff:198.51.100.1".parse().unwrap());
        assert_eq!(
            g.judge("summer", 99, mapped, 1),
            Verdict::AddressBurst,
            "the mapped form is the same address"
        );
        let other = Some("198.51.100.2".parse().unwrap());
        assert_eq!(g.judge("summer", 100, other, 2), Verdict::Fresh);
        assert_eq!(
            g.judge("winter", 101, addr, 3),
            Verdict::Fresh,
            "another link"
        );
        assert_eq!(
            g.judge("summer", 102, addr, 3_600_000),
            Verdict::Fresh,
            "the window passed"
        );
    }

    #[test]
    fn exempt_ranges_trusted_proxies_and_a_limit_of_zero_skip_the_address_rule() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let g = address_guard(&["100.64.0.0/10"], &proxies);
        for addr in ["100.64.1.2", "10.1.2.3", "::ffff:100.64.1.2"] {
            let addr = Some(addr.parse().unwrap());
            for ua in 0..20 {
                assert_eq!(g.judge("summer", ua, addr, 0), Verdict::Fresh, "{addr:?}");
            }
        }
        let off = FraudGuard::new(&settings(10), &[]);
        let addr = Some("198.51.100.1".parse().unwrap());
        for ua in 0..20 {
            assert_eq!(off.judge("summer", ua, addr, 0), Verdict::Fresh);
        }
    }

    #[test]
    fn address_memory_stays_bounded_under_a_flood_of_addresses() {
        let g = address_guard(&[], &[]);
        for i in 0..5000_u32 {
            let addr = Some(std::net::IpAddr::from(i.to_be_bytes()));
            g.judge("summer", u64::from(i), addr, 0);
        }
        let seen = g.seen.lock().unwrap();
        assert!(seen.addresses.len() <= 1000 && seen.followers.len() <= 1000);
    }
}
