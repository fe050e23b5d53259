//! Keys of the layout before the count shards, as the migration of their click counters
//! (`store/migrate.rs`) finds, stages and retires them.

use chrono::NaiveDate;

use super::{Keys, Owner};
use crate::domain::{Bucket, InfluencerId, LinkCode};

/// A key of the layout before the count shards, as the migration finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreShardKey<'a> {
    /// The owner's counters hash: its click fields move; its order fields stay.
    Counts(Owner<'a>),
    /// Click fields moved out of the counters hash, not yet added to the count shard.
    Staged(Owner<'a>),
    /// A unique-visitor sketch (year buckets included, which are dropped).
    Sketch(Owner<'a>, Bucket),
}

impl Keys {
    /// A `SCAN` pattern matching every key of an influencer's or a link's own slot (the old
    /// keys among them; the prefix holds no glob characters, see `redis.key_prefix`).
    pub fn pre_shard_pattern(&self) -> String {
        format!("{p}:{{{p}:[il]:*", p = self.prefix)
    }

    /// What an old-layout key found by [`Self::pre_shard_pattern`] is; `None` for the keys
    /// that stay (orders, costs, applied batches) and anything else.
    pub fn parse_pre_shard<'k>(&self, key: &'k str) -> Option<PreShardKey<'k>> {
        let rest = key
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(":{")?
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(':')?;
        let (kind, rest) = rest.split_at_checked(1)?;
        let (name, suffix) = rest.strip_prefix(':')?.split_once("}:")?;
        let owner = match kind {
            "i" if InfluencerId::parse(name).is_some() => Owner::Influencer(name),
            "l" if LinkCode::parse(name).is_ok() => Owner::Link(name),
            _ => return None,
        };
        match suffix {
            "counts" => Some(PreShardKey::Counts(owner)),
            "clicks_staged" => Some(PreShardKey::Staged(owner)),
            _ => Some(PreShardKey::Sketch(
                owner,
                parse_bucket(suffix.strip_prefix("uniq:")?)?,
            )),
        }
    }

    /// An owner's unique visitors of a bucket in the layout before the count shards.
    pub fn pre_shard_sketch(&self, owner: Owner<'_>, bucket: Bucket) -> String {
        format!("{}:uniq:{bucket}", self.owner_tag(owner))
    }

    /// An owner's click counters on their way from its counters hash to its count shard.
    pub fn pre_shard_staged(&self, owner: Owner<'_>) -> String {
        format!("{}:clicks_staged", self.owner_tag(owner))
    }

    /// Which staged clicks count shard `shard` has added, by old counters key.
    pub fn migrated(&self, shard: u32) -> String {
        format!("{}:migrated", self.count_shard_tag(shard))
    }

    /// Where a script of count shard `shard` puts an old sketch for `PFMERGE`.
    pub fn migrate_scratch(&self, shard: u32) -> String {
        format!("{}:migrate_scratch", self.count_shard_tag(shard))
    }

    /// Held by the one process migrating.
    pub fn migrate_lease(&self) -> String {
        format!("{}:migrate_lease", self.catalog)
    }

    /// The migrations finished, by name.
    pub fn migrations(&self) -> String {
        format!("{}:migrations", self.catalog)
    }
}

/// A bucket as keys and fields name it (`d:YYYYMMDD`, `m:YYYYMM`, `y:YYYY`).
fn parse_bucket(text: &str) -> Option<Bucket> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let (kind, value) = text.split_once(':')?;
    match kind {
        "d" if digits(value, 8) => NaiveDate::parse_from_str(value, "%Y%m%d")
            .ok()
            .map(Bucket::Day),
        "m" if digits(value, 6) => {
            let year = value[..4].parse().ok()?;
            let month = value[4..].parse().ok()?;
            NaiveDate::from_ymd_opt(year, month, 1)?;
            Some(Bucket::Month { year, month })
        }
        "y" if digits(value, 4) => Some(Bucket::Year(value.parse().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::tag;
    use super::*;

    #[test]
    fn old_layout_keys_are_told_apart_from_the_keys_that_stay() {
        let keys = Keys::new("rt");
        let day = Bucket::Day(chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        let month = Bucket::Month {
            year: 2026,
            month: 11,
        };
        let alice = Owner::Influencer("inf_abc");
        let summer = Owner::Link("summer");

        assert_eq!(
            keys.parse_pre_shard("rt:{rt:i:inf_abc}:counts"),
            Some(PreShardKey::Counts(alice))
        );
        assert_eq!(
            keys.parse_pre_shard(&keys.pre_shard_staged(summer)),
            Some(PreShardKey::Staged(summer))
        );
        assert_eq!(
            keys.parse_pre_shard("rt:{rt:l:summer}:uniq:d:20261121"),
            Some(PreShardKey::Sketch(summer, day))
        );
        assert_eq!(
            keys.parse_pre_shard(&keys.pre_shard_sketch(alice, month)),
            Some(PreShardKey::Sketch(alice, month))
        );
        assert_eq!(
            keys.parse_pre_shard("rt:{rt:i:inf_abc}:uniq:y:2026"),
            Some(PreShardKey::Sketch(alice, Bucket::Year(2026)))
        );
        for stays in [
            "rt:{rt:i:inf_abc}:orders",
            "rt:{rt:i:inf_abc}:applied",
            "rt:{rt:i:inf_abc}:uniq:d:20261332",
            "rt:{rt:u}:counts",
            "rt:{rt:cat}:link:summer",
            "rtx:{rtx:i:inf_abc}:counts",
        ] {
            assert_eq!(keys.parse_pre_shard(stays), None, "{stays}");
        }
        assert_eq!(tag(&keys.pre_shard_staged(alice)), "rt:i:inf_abc");
        assert_eq!(tag(&keys.migrated(3)), "rt:cs:3");
        assert_eq!(tag(&keys.migrate_scratch(3)), "rt:cs:3");
        assert_eq!(tag(&keys.migrate_lease()), tag(&keys.migrations()));
    }
}
