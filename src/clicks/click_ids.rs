//! Handing out click ids: numbers counted up in a random id space (see [`ClickId`]), so the
//! clicks one process answers fill its record blocks slot after slot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::domain::{ClickId, IdSpace};

/// Shared by every HTTP worker of a process: one atomic increment and one uncontended read
/// lock per id.
#[derive(Debug)]
pub struct ClickIds {
    /// Ids handed out so far; the space's number and the id's number within it.
    issued: AtomicU64,
    /// The space of the current space number; a new random one when a space is full.
    space: RwLock<(u64, IdSpace)>,
}

impl Default for ClickIds {
    fn default() -> Self {
        Self::starting_at(0)
    }
}

impl ClickIds {
    fn starting_at(issued: u64) -> Self {
        Self {
            issued: AtomicU64::new(issued),
            space: RwLock::new((issued / IdSpace::CAPACITY, IdSpace::random())),
        }
    }

    pub fn next(&self) -> ClickId {
        loop {
            let n = self.issued.fetch_add(1, Ordering::Relaxed);
            let (number, seq) = (n / IdSpace::CAPACITY, n % IdSpace::CAPACITY);
            let current = *self.space.read().unwrap_or_else(PoisonError::into_inner);
            if current.0 == number {
                return ClickId::new(current.1, seq);
            }
            if current.0 < number {
                let mut space = self.space.write().unwrap_or_else(PoisonError::into_inner);
                if space.0 < number {
                    *space = (number, IdSpace::random());
                }
                if space.0 == number {
                    return ClickId::new(space.1, seq);
                }
            }
            // A number from a space already left behind: take the next one.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_up_in_one_space_and_move_to_a_new_space_when_it_is_full() {
        let ids = ClickIds::starting_at(IdSpace::CAPACITY - 2);

        let (a, b, c) = (ids.next(), ids.next(), ids.next());

        assert_eq!(
            (a.seq(), b.seq(), c.seq()),
            (IdSpace::CAPACITY - 2, IdSpace::CAPACITY - 1, 0)
        );
        assert_eq!(a.space(), b.space());
        assert_ne!(b.space(), c.space());
    }

    #[test]
    fn concurrent_callers_get_distinct_ids() {
        let ids = ClickIds::default();
        let all: Vec<ClickId> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..1000).map(|_| ids.next()).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut seqs: Vec<u64> = all.iter().map(ClickId::seq).collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), 4000);
    }
}
