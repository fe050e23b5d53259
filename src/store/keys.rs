//! Every Redis key reftrack uses, built in one place.
//!
//! # Layout
//!
//! Keys that a script or transaction touches together share a hash tag (the part in braces),
//! so they live in one Redis Cluster slot:
//!
//! | key | type | what |
//! |---|---|---|
//! | `P:{P:cat}:inf:<id>` | hash | an influencer (handle, name, platform, followers, commission, disabled, created_ms) |
//! | `P:{P:cat}:infs` | zset | influencer ids by creation time |
//! | `P:{P:cat}:handles` | hash | handle → influencer id (uniqueness) |
//! | `P:{P:cat}:link:<code>` | hash | a link (influencer_id, destination, campaign_id, disabled, created_ms) |
//! | `P:{P:cat}:inf:<id>:links` | zset | an influencer's link codes by creation time |
//! | `P:{P:cat}:links` | zset | every link code by creation time, for the list of all links a page at a time; links created before it are added by the `links_by_time` migration (see `links_index.rs`) |
//! | `P:{P:cat}:changes` | stream | link and influencer changes, read by every replica to refresh its link cache |
//! | `P:{P:cat}:changed` | zset | influencer id → time (ms) of the last change to it or one of its links, for a replica that missed trimmed stream entries |
//! | `P:{P:cat}:salt` | string | secret salt of the unique-visitor hash, shared by all replicas |
//! | `P:{P:cat}:link_numbers` | hash | link number (decimal; see `click_records::link_number`) → code, for reading click records back |
//! | `P:{P:cs:<n>}:clicks:i:<id>` | hash | an influencer's click counters, in count shard `n` (see [`count_shard`]): `h:<bucket>` human, `b:<bucket>` bot, `s:<bucket>` suspicious, day and month buckets (a year is the sum of its months); `_table` from a day's first count (see [`field::TABLE`]) |
//! | `P:{P:cs:<n>}:uniq:i:<id>:<bucket>` | HyperLogLog | an influencer's unique visitors per day and month (a year is the union of its months); a flush adds today's visitors to the day's sketch alone, and a daily run merges each settled day into its month (see `clicks/sketch_merger.rs`) |
//! | `P:{P:cat}:sketches_merged` | string | `YYYY-MM-DD`: the last day whose day sketches are all in their months'; reports join a month's sketch with its days after it |
//! | `P:{P:cat}:sketch_merge_lease` | string | token of the process merging day sketches, expiring unless renewed |
//! | `P:{P:cs:<n>}:clicks:l:<code>`, `:uniq:l:<code>:<bucket>` | | the same per link |
//! | `P:{P:cs:<n>}:applied` | hash | click-writer instance → last batch applied to count shard `n` |
//! | `P:{P:cs:<n>}:migrated` | hash | old counters key → token of the staged clicks added to count shard `n` (see `migrate.rs`); a field lives only while its old key is being migrated |
//! | `P:{P:cs:<n>}:migrate_scratch` | HyperLogLog | an old sketch's bytes for the moment `PFMERGE` takes (set and deleted in one script) |
//! | `P:{P:i:<id>}:clicks_staged`, `P:{P:l:<code>}:clicks_staged` | hash | click counters moved out of the old counters hash, with `_token`, until added to the count shard |
//! | `P:{P:cat}:migrate_lease` | string | token of the process migrating, expiring unless renewed |
//! | `P:{P:cat}:migrations` | hash | migration name → unix ms it finished (`pre_shard_clicks`, `links_by_time`) |
//! | `P:{P:clk:<space>:<block>}` | string | click records of one id space, 16,384 slots of 18 bytes (see `click_records.rs`), allocated whole; the click id names its block and slot; expires when the attribution window of its last click has passed |
//! | `P:{P:cat}:coupons` | hash | coupon code (lower case) → influencer id (a code belongs to one influencer) |
//! | `P:{P:cat}:inf:<id>:coupons` | set | an influencer's coupon codes |
//! | `P:{P:cat}:campaigns` | hash | campaign id → campaign (JSON) |
//! | `P:{P:cat}:campaign:<id>:links` | zset | a campaign's link codes by creation time |
//! | `P:{P:cat}:currencies` | set | currencies orders have counted in, so reports name every one |
//! | `P:{P:o:<platform>:<order id>}` | hash | an order: `rev` (its revision) and `state` (JSON), replaced only by compare-and-set on `rev` |
//! | `P:{P:i:<id>}:counts` (order fields) | hash | `o:`, `r:`, `f:`, `c:<CUR>:<bucket>`: orders, revenue, refunds, commission in minor units; `ko:`, `qo:` orders by click and by coupon; `ho:`, `hr:` orders and revenue held for review; `p:` (unattributed only) orders waiting for their click; `_table`, whose long value keeps the hash a hash table (see [`field::TABLE`]) |
//! | `P:{P:i:<id>}:orders` | hash | order key → `rev field=value ...`: what the order's latest applied revision added to the counters |
//! | `P:{P:i:<id>}:order_index` | zset | order keys by order time, for the audit list |
//! | `P:{P:u}:counts`, `:orders`, `:order_index` | | the same for unattributed orders |
//! | `P:{P:pending}:orders` | zset | keys of orders waiting for their click, scored by when a sweep next looks at them |
//! | `P:{P:i:<id>}:coupon_orders` | zset | `<coupon> <order key>` of the influencer's click-less coupon orders by order time (28 days kept), for the coupon_spike flag |
//! | `P:{P:review}:held` | zset | keys of orders held for review by order time: the review queue |
//! | `P:{P:cat}:email_key` | string | secret key of the e-mail hashes (buyers' and influencers'), shared by all replicas |
//! | `P:{P:i:<id>}:costs` | hash | cost id → cost (JSON); its amount is in the counters as `k:<CUR>:<bucket>`, and as `ck:<campaign>:<CUR>:<bucket>` when it belongs to a campaign |
//!
//! Builds before the count shards (up to b926925^) kept click counters in the owner's own
//! `P:{P:i:<id>}:counts` (and `P:{P:l:<code>}:counts`) as `h:`, `b:`, `s:` fields of day, month
//! and year buckets, sketches in `P:{P:i:<id>}:uniq:<bucket>` (and per link), and applied
//! batches in `P:{P:i:<id>}:applied` (expiring by itself). [`PreShardKey`] names them for the
//! migration that moves them into the count shards.
//!
//! `P` is `redis.key_prefix`; a bucket is `d:YYYYMMDD` or `m:YYYYMM` (see [`Bucket`]).
//! The catalog (influencers and links) is small and rarely written, so it sits in one slot
//! where scripts can keep handles and codes unique. Click counters and sketches live in
//! [`COUNT_SHARDS`] count shards, each one slot, an owner's shard fixed by its name: a flush
//! runs one script per shard carrying all of the batch's increments for the owners there, so
//! its cost is a handful of scripts however many links the batch spreads over. Order money
//! stays in each influencer's own slot. Click records fill blocks of 16,384 clicks, each its
//! own slot (so a busy day is not one hot slot), and a click id names its block, so one read
//! finds it.
//! Each order is its own slot: concurrent deliveries of one order serialise on its revision,
//! and what the order adds to an influencer's counters is applied by a script in the
//! influencer's slot that replaces the order's previous contribution, so replays count once.
//!
//! On Redis Cluster (`redis.cluster = true`) every script and `MULTI` stays within one slot by
//! this layout. Work that spans slots (a batch of clicks, a report over many influencers, an
//! order list) goes through `SlotPipeline` (in `connection.rs`): one pipeline per slot, sent
//! together.

use crate::domain::{Bucket, CampaignId, InfluencerId, LinkCode, OrderKey};

mod pre_shard;

pub use pre_shard::PreShardKey;

/// Count shards: the slots click counters are spread over. Fixed, since an owner's counters
/// are found by it; 16 spread a flush over the nodes of any usual cluster while keeping a
/// flush at 16 scripts or fewer.
pub const COUNT_SHARDS: u32 = 16;

/// The count shard of an owner: FNV-1a of its name (stable across builds and processes).
pub fn count_shard(owner: Owner<'_>) -> u32 {
    let (kind, name) = owner.kind_and_name();
    let hash = [kind.as_bytes(), b":", name.as_bytes()]
        .concat()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    u32::try_from(hash % u64::from(COUNT_SHARDS)).unwrap_or(0)
}

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
    catalog: String,
}

/// Whose counters a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner<'a> {
    Influencer(&'a str),
    Link(&'a str),
    /// Orders no influencer earned.
    Unattributed,
}

impl<'a> Owner<'a> {
    /// `i` and the id, `l` and the code, or `u` and nothing.
    fn kind_and_name(self) -> (&'static str, &'a str) {
        match self {
            Owner::Influencer(id) => ("i", id),
            Owner::Link(code) => ("l", code),
            Owner::Unattributed => ("u", ""),
        }
    }
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            catalog: format!("{prefix}:{{{prefix}:cat}}"),
        }
    }

    pub fn influencer(&self, id: &InfluencerId) -> String {
        format!("{}:inf:{id}", self.catalog)
    }

    pub fn influencer_index(&self) -> String {
        format!("{}:infs", self.catalog)
    }

    pub fn handles(&self) -> String {
        format!("{}:handles", self.catalog)
    }

    pub fn link(&self, code: &LinkCode) -> String {
        format!("{}:link:{code}", self.catalog)
    }

    pub fn influencer_links(&self, id: &InfluencerId) -> String {
        format!("{}:inf:{id}:links", self.catalog)
    }

    pub fn links_by_time(&self) -> String {
        format!("{}:links", self.catalog)
    }

    pub fn link_numbers(&self) -> String {
        format!("{}:link_numbers", self.catalog)
    }

    pub fn changes(&self) -> String {
        format!("{}:changes", self.catalog)
    }

    pub fn changed_influencers(&self) -> String {
        format!("{}:changed", self.catalog)
    }

    pub fn coupons(&self) -> String {
        format!("{}:coupons", self.catalog)
    }

    pub fn influencer_coupons(&self, id: &InfluencerId) -> String {
        format!("{}:inf:{id}:coupons", self.catalog)
    }

    pub fn campaigns(&self) -> String {
        format!("{}:campaigns", self.catalog)
    }

    pub fn campaign_links(&self, id: &CampaignId) -> String {
        format!("{}:campaign:{}:links", self.catalog, id.as_str())
    }

    pub fn currencies(&self) -> String {
        format!("{}:currencies", self.catalog)
    }

    pub fn order(&self, key: &OrderKey) -> String {
        format!("{p}:{{{p}:o:{}}}", key.as_str(), p = self.prefix)
    }

    pub fn order_contributions(&self, owner: Owner<'_>) -> String {
        format!("{}:orders", self.owner_tag(owner))
    }

    pub fn costs(&self, owner: Owner<'_>) -> String {
        format!("{}:costs", self.owner_tag(owner))
    }

    pub fn order_index(&self, owner: Owner<'_>) -> String {
        format!("{}:order_index", self.owner_tag(owner))
    }

    /// The last day whose day sketches are all merged into their months' (see
    /// `clicks/sketch_merger.rs`).
    pub fn sketches_merged(&self) -> String {
        format!("{}:sketches_merged", self.catalog)
    }

    /// Held by the one process merging day sketches into months.
    pub fn sketch_merge_lease(&self) -> String {
        format!("{}:sketch_merge_lease", self.catalog)
    }

    pub fn visitor_salt(&self) -> String {
        format!("{}:salt", self.catalog)
    }

    pub fn email_key(&self) -> String {
        format!("{}:email_key", self.catalog)
    }

    /// Orders waiting for their click: one small index, read by every replica's sweep.
    pub fn pending_orders(&self) -> String {
        format!("{p}:{{{p}:pending}}:orders", p = self.prefix)
    }

    /// Orders held for review: the review queue.
    pub fn held_orders(&self) -> String {
        format!("{p}:{{{p}:review}}:held", p = self.prefix)
    }

    /// An influencer's click-less coupon orders, for the coupon_spike flag.
    pub fn coupon_orders(&self, id: &InfluencerId) -> String {
        format!(
            "{}:coupon_orders",
            self.owner_tag(Owner::Influencer(id.as_str()))
        )
    }

    fn owner_tag(&self, owner: Owner<'_>) -> String {
        match owner {
            Owner::Influencer(id) => format!("{p}:{{{p}:i:{id}}}", p = self.prefix),
            Owner::Link(code) => format!("{p}:{{{p}:l:{code}}}", p = self.prefix),
            Owner::Unattributed => format!("{p}:{{{p}:u}}", p = self.prefix),
        }
    }

    pub fn counts(&self, owner: Owner<'_>) -> String {
        format!("{}:counts", self.owner_tag(owner))
    }

    fn count_shard_tag(&self, shard: u32) -> String {
        format!("{p}:{{{p}:cs:{shard}}}", p = self.prefix)
    }

    /// An owner's click counters (day and month buckets), in its count shard.
    pub fn click_counts(&self, owner: Owner<'_>) -> String {
        let (kind, name) = owner.kind_and_name();
        format!(
            "{}:clicks:{kind}:{name}",
            self.count_shard_tag(count_shard(owner))
        )
    }

    /// An owner's unique visitors of a day or a month, in its count shard.
    pub fn click_uniques(&self, owner: Owner<'_>, bucket: Bucket) -> String {
        let (kind, name) = owner.kind_and_name();
        format!(
            "{}:uniq:{kind}:{name}:{bucket}",
            self.count_shard_tag(count_shard(owner))
        )
    }

    /// Which batch of each click writer count shard `shard` has applied.
    pub fn click_applied(&self, shard: u32) -> String {
        format!("{}:applied", self.count_shard_tag(shard))
    }

    /// The block holding the records of clicks `block * BLOCK_CLICKS ..` of an id space.
    pub fn click_block(&self, space: &str, block: u64) -> String {
        format!("{p}:{{{p}:clk:{space}:{block}}}", p = self.prefix)
    }
}

/// Counter field names inside a `counts` hash.
pub mod field {
    use crate::domain::{Bucket, Currency};

    /// A field every money `counts` hash is given with its first counter, whose value
    /// ([`TABLE_NOTE`]) is longer than Redis keeps in a list (`hash-max-listpack-value`, 64
    /// bytes by default). Redis then holds the hash as a hash table, and a report's `HMGET`
    /// of 70 fields is 70 lookups (15 µs) instead of 70 searches of one list (230 µs on 310
    /// entries) or reading the whole list back (56 µs in Redis, and parsing 620 values here).
    /// A hash table costs about 3x a list's memory (24 KB against 8 KB at 310 entries); a
    /// hash past 512 entries is one anyway. Reports ask Redis for the encoding rather than
    /// trust this field (a hash written before it, or a server that keeps longer values in
    /// lists, is still a list), see `store/reports/replies.rs`.
    /// An influencer's click counters are given it too, by the first flush of each day that
    /// counts a click of theirs (see `store/clicks.rs`, `kept_as_table`); a link's are not.
    pub const TABLE: &str = "_table";

    /// [`TABLE`]'s value: says in Redis why it is there. Over 64 bytes, and free of quotes,
    /// since the Lua scripts get it inlined (see `scripts.rs`).
    pub const TABLE_NOTE: &str = "reftrack: a value longer than hash-max-listpack-value keeps \
        this hash a hash table, so reports look its fields up instead of searching a list";

    pub fn human(bucket: Bucket) -> String {
        format!("h:{bucket}")
    }

    pub fn bot(bucket: Bucket) -> String {
        format!("b:{bucket}")
    }

    pub fn suspicious(bucket: Bucket) -> String {
        format!("s:{bucket}")
    }

    pub fn orders(currency: Currency, bucket: Bucket) -> String {
        format!("o:{currency}:{bucket}")
    }

    pub fn revenue(currency: Currency, bucket: Bucket) -> String {
        format!("r:{currency}:{bucket}")
    }

    pub fn refunds(currency: Currency, bucket: Bucket) -> String {
        format!("f:{currency}:{bucket}")
    }

    pub fn commission(currency: Currency, bucket: Bucket) -> String {
        format!("c:{currency}:{bucket}")
    }

    pub fn click_orders(currency: Currency, bucket: Bucket) -> String {
        format!("ko:{currency}:{bucket}")
    }

    pub fn coupon_orders(currency: Currency, bucket: Bucket) -> String {
        format!("qo:{currency}:{bucket}")
    }

    pub fn held_orders(currency: Currency, bucket: Bucket) -> String {
        format!("ho:{currency}:{bucket}")
    }

    pub fn held_revenue(currency: Currency, bucket: Bucket) -> String {
        format!("hr:{currency}:{bucket}")
    }

    pub fn pending_orders(currency: Currency, bucket: Bucket) -> String {
        format!("p:{currency}:{bucket}")
    }

    pub fn costs(currency: Currency, bucket: Bucket) -> String {
        format!("k:{currency}:{bucket}")
    }

    /// Costs of one campaign, kept beside an influencer's other costs.
    pub fn campaign_costs(campaign: &str, currency: Currency, bucket: Bucket) -> String {
        format!("ck:{campaign}:{currency}:{bucket}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn tag(key: &str) -> &str {
        let open = key.find('{').unwrap();
        let close = key[open..].find('}').unwrap() + open;
        &key[open + 1..close]
    }

    #[test]
    fn keys_updated_together_share_a_hash_tag() {
        let keys = Keys::new("rt");
        let id = InfluencerId::parse("inf_abc").unwrap();
        let code = LinkCode::parse("summer").unwrap();
        let catalog = [
            keys.influencer(&id),
            keys.influencer_index(),
            keys.handles(),
            keys.link(&code),
            keys.influencer_links(&id),
            keys.changes(),
            keys.changed_influencers(),
            keys.coupons(),
            keys.influencer_coupons(&id),
            keys.currencies(),
            keys.link_numbers(),
        ];
        assert!(catalog.iter().all(|k| tag(k) == "rt:cat"), "{catalog:?}");

        let day = Bucket::Day(chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        let owner = Owner::Influencer(id.as_str());
        assert_eq!(tag(&keys.counts(owner)), "rt:i:inf_abc");
        assert_eq!(tag(&keys.order_contributions(owner)), "rt:i:inf_abc");
        assert_eq!(tag(&keys.order_index(owner)), "rt:i:inf_abc");
        assert_eq!(tag(&keys.coupon_orders(&id)), "rt:i:inf_abc");
        assert_eq!(tag(&keys.email_key()), "rt:cat");
        assert_eq!(tag(&keys.counts(Owner::Unattributed)), "rt:u");
        assert_eq!(
            tag(&keys.order_contributions(Owner::Unattributed)),
            tag(&keys.order_index(Owner::Unattributed))
        );
        let order = crate::domain::OrderKey::new(crate::domain::Platform::Shopify, "450789469");
        assert_eq!(tag(&keys.order(&order)), "rt:o:shopify:450789469");
        let shard = count_shard(owner);
        assert_eq!(
            keys.click_uniques(owner, day),
            format!("rt:{{rt:cs:{shard}}}:uniq:i:inf_abc:d:20261121")
        );
        assert_eq!(tag(&keys.click_counts(owner)), format!("rt:cs:{shard}"));
        assert_eq!(tag(&keys.click_applied(shard)), format!("rt:cs:{shard}"));
    }

    #[test]
    fn owners_spread_over_every_count_shard_and_each_keeps_its_own() {
        let codes: Vec<String> = (0..1000).map(|n| format!("link{n}")).collect();
        let mut used = std::collections::HashSet::new();
        for code in &codes {
            used.insert(count_shard(Owner::Link(code)));
        }
        assert_eq!(used.len(), COUNT_SHARDS as usize);
        assert_eq!(
            count_shard(Owner::Link("summer")),
            count_shard(Owner::Link("summer"))
        );
        assert_ne!(
            Keys::new("rt").click_counts(Owner::Link("a")),
            Keys::new("rt").click_counts(Owner::Influencer("a"))
        );
    }

    #[test]
    fn prefixes_keep_deployments_apart() {
        let code = LinkCode::parse("summer").unwrap();
        assert_ne!(Keys::new("a").link(&code), Keys::new("b").link(&code));
    }
}
