//! The fraud rules' memory: what each follower (or address) did lately on a link, by key.
//!
//! With a new visitor every click, every click inserts an entry in a table of up to
//! `tracked_clients` (a million by default), far larger than any cache. A general hash map
//! touches two cache lines per lookup there (its control bytes, then the entry); this table
//! keeps each key beside its entry, 24 bytes in all, and probes in order from the key's
//! home slot, so a lookup or an insert mostly touches one line. It holds at most 5/8 of its
//! slots, so runs of taken slots stay short.

/// A follower's (or an address's) clicks: when it last clicked, and its clicks in the
/// current burst window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Seen {
    pub last_ms: i64,
    /// How long before `last_ms` the window began, in ms. A window is at most a day
    /// (`burst_window_secs`, `address_burst_window_secs`), and it begins at a click no later
    /// than `last_ms` plus the skew of clicks judged out of order, so this holds it in 32
    /// bits (it saturates only for a click judged 49 days out of order).
    window_age_ms: u32,
    pub clicks: u32,
}

impl Seen {
    /// A first click at `now_ms`, opening its window.
    pub fn first(now_ms: i64) -> Self {
        Self {
            last_ms: now_ms,
            window_age_ms: 0,
            clicks: 1,
        }
    }

    pub fn window_start_ms(&self) -> i64 {
        self.last_ms.saturating_sub(i64::from(self.window_age_ms))
    }

    /// Sets the start of the window, which is no later than `last_ms`.
    pub fn set_window_start_ms(&mut self, start_ms: i64) {
        let age = self.last_ms.saturating_sub(start_ms).max(0);
        self.window_age_ms = u32::try_from(age).unwrap_or(u32::MAX);
    }
}

/// A slot: a key (0 when the slot is free) and its entry.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: u64,
    seen: Seen,
}

/// The slots a table starts with once it holds anything.
const MIN_SLOTS: usize = 64;

/// Entries by key (a hash: its high bits pick the home slot), with linear probing.
#[derive(Debug, Default)]
pub(super) struct SeenTable {
    /// None, or a power of two of them.
    slots: Vec<Slot>,
    len: usize,
}

/// The key as stored: 0 marks a free slot, so a key of 0 is stored as 1 (two followers of
/// 2^64 then share an entry, as two with one hash already do).
fn stored(key: u64) -> u64 {
    key.max(1)
}

impl SeenTable {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn contains(&self, key: u64) -> bool {
        self.find(stored(key)).is_ok()
    }

    pub fn get_mut(&mut self, key: u64) -> Option<&mut Seen> {
        let at = self.find(stored(key)).ok()?;
        self.slots.get_mut(at).map(|slot| &mut slot.seen)
    }

    /// Enters `seen` under `key`, which the table does not hold.
    pub fn insert(&mut self, key: u64, seen: Seen) {
        let grown = self.len.saturating_add(1).saturating_mul(8);
        if grown > self.slots.len().saturating_mul(5) {
            self.resize(self.slots.len().saturating_mul(2).max(MIN_SLOTS));
        }
        self.put(Slot {
            key: stored(key),
            seen,
        });
    }

    /// Keeps only the entries `keep` says to, in the slots the table has.
    pub fn retain(&mut self, mut keep: impl FnMut(&Seen) -> bool) {
        let kept: Vec<Slot> = self
            .slots
            .iter()
            .filter(|slot| slot.key != 0 && keep(&slot.seen))
            .copied()
            .collect();
        self.clear();
        for slot in kept {
            self.put(slot);
        }
    }

    /// Forgets every entry, keeping the slots.
    pub fn clear(&mut self) {
        self.slots.fill(Slot::default());
        self.len = 0;
    }

    /// Where `key` (as stored) is, or else the free slot it would go in; `Err(0)` when there
    /// are no slots.
    fn find(&self, key: u64) -> Result<usize, usize> {
        let Some(mask) = self.slots.len().checked_sub(1) else {
            return Err(0);
        };
        let bits = self.slots.len().trailing_zeros();
        let home = key.checked_shr(64 - bits).unwrap_or(0);
        let mut at = usize::try_from(home).unwrap_or(0) & mask;
        // At most 5/8 of the slots are taken, so a free one ends every run.
        loop {
            match self.slots.get(at) {
                Some(slot) if slot.key == key => return Ok(at),
                Some(slot) if slot.key != 0 => at = (at + 1) & mask,
                _ => return Err(at),
            }
        }
    }

    /// Puts `slot` in its key's free slot (the table has room, and not its key).
    fn put(&mut self, slot: Slot) {
        if let Err(at) = self.find(slot.key)
            && let Some(free) = self.slots.get_mut(at)
        {
            *free = slot;
            self.len += 1;
        }
    }

    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); slots]);
        self.len = 0;
        for slot in old.into_iter().filter(|slot| slot.key != 0) {
            self.put(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(last_ms: i64) -> Seen {
        Seen::first(last_ms)
    }

    #[test]
    fn entries_are_found_by_key_through_growth_and_collisions_of_home_slots() {
        let mut table = SeenTable::default();
        // Keys sharing their high bits share a home slot: they probe past each other.
        let keys: Vec<u64> = (1..=1000_u64)
            .map(|i| ((i % 7) << 61) | (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 8))
            .chain([0, 1, u64::MAX])
            .collect();
        for (i, &key) in keys.iter().enumerate() {
            if !table.contains(key) {
                table.insert(key, seen(i64::try_from(i).unwrap()));
            }
        }
        assert_eq!(table.len(), keys.len() - 1, "keys 0 and 1 share an entry");
        for (i, &key) in keys.iter().enumerate().filter(|&(_, &k)| k > 1) {
            assert_eq!(
                table.get_mut(key).map(|s| s.last_ms),
                Some(i64::try_from(i).unwrap())
            );
        }
        assert!(!table.contains(12_345));
        assert!(table.slots.len() * 5 >= table.len() * 8);
    }

    #[test]
    fn retain_keeps_what_it_is_told_to_and_those_are_still_found() {
        let mut table = SeenTable::default();
        for key in 1..=500_u64 {
            table.insert(key << 40, seen(i64::try_from(key).unwrap()));
        }
        let slots = table.slots.len();

        table.retain(|s| s.last_ms % 3 == 0);

        assert_eq!(table.len(), 166);
        assert_eq!(table.slots.len(), slots, "the slots are kept");
        for key in 1..=500_u64 {
            let found = table.get_mut(key << 40).map(|s| s.last_ms);
            let expected = (key % 3 == 0).then(|| i64::try_from(key).unwrap());
            assert_eq!(found, expected, "key {key}");
        }
        table.clear();
        assert_eq!(table.len(), 0);
        assert!(!table.contains(3 << 40));
    }

    #[test]
    fn a_window_start_reads_back_as_set_and_never_after_the_last_click() {
        let mut s = seen(1_000_000);
        s.set_window_start_ms(1_000_000 - 86_400_000);
        assert_eq!(s.window_start_ms(), 1_000_000 - 86_400_000);
        s.set_window_start_ms(1_000_001);
        assert_eq!(s.window_start_ms(), 1_000_000);
        assert_eq!(std::mem::size_of::<Slot>(), 24);
    }
}
