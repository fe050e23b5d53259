//! The counter fields a report reads from each owner, named once per report.

use crate::domain::{Bucket, Currency, Reads, Sign, Totals};
use crate::store::keys::field;

/// The counter fields a report reads from each owner: the same for every owner of a report,
/// so they are named once and sent with every read.
#[derive(Debug, Clone)]
pub struct FieldSet {
    /// The counter buckets, each added or taken away (see [`Reads`]).
    pub(super) buckets: Vec<(Bucket, Sign)>,
    /// The unique-visitor sketches united (days and months).
    pub(super) uniques: Vec<Bucket>,
    pub(super) currencies: Vec<Currency>,
    /// The money figures read, per currency and bucket.
    pub(super) kinds: &'static [MoneyKind],
    /// Per currency, each of `kinds` per bucket: fields of the owner's `counts` hash.
    pub(super) names: Vec<String>,
    /// Where each name is in `names`, to pick the report's fields out of a whole hash: by
    /// bytes with a fast hash, since every field of every hash read whole is looked up here.
    pub(super) index: foldhash::HashMap<Box<[u8]>, usize>,
    /// Human, bot and suspicious clicks per click bucket: fields of the owner's click
    /// counters (in its count shard). Empty when the report takes no clicks from the owner.
    pub(super) click_names: Vec<String>,
    /// The buckets the report's clicks are read from, each added or taken away.
    pub(super) click_buckets: Vec<(Bucket, Sign)>,
    /// Where the human clicks of each of `uniques` are in the reply to the click counters'
    /// `HMGET` (`click_names`, then `extra_humans`): a sketch takes only human clicks'
    /// visitors, so a bucket without human clicks has no sketch and is left out of the
    /// owner's `PFCOUNT` (see [`crate::store::Store::report_figures`]).
    pub(super) unique_humans: Vec<usize>,
    /// The human-click fields of the unique-visitor buckets whose clicks the report does not
    /// read already (a field named twice is searched twice in a list). Calendar months, the
    /// last 30 days and the last year add none; a range that reads a cut month's clicks as
    /// the month less the days left out, but its visitors by day, names each of those days:
    /// in a link's list that is a search each, about what naming their sketches cost.
    pub(super) extra_humans: Vec<String>,
}

/// A money counter: its field per currency and bucket, and the figure it adds up to.
#[derive(Debug)]
pub(super) struct MoneyKind {
    field: fn(Currency, Bucket) -> String,
    pub(super) figure: fn(&mut Totals) -> &mut i128,
}

impl MoneyKind {
    const fn new(
        field: fn(Currency, Bucket) -> String,
        figure: fn(&mut Totals) -> &mut i128,
    ) -> Self {
        Self { field, figure }
    }
}

/// Every money figure of a report row.
const MONEY_KINDS: [MoneyKind; 10] = [
    MoneyKind::new(field::orders, |t| &mut t.orders),
    MoneyKind::new(field::revenue, |t| &mut t.revenue),
    MoneyKind::new(field::refunds, |t| &mut t.refunds),
    MoneyKind::new(field::commission, |t| &mut t.commission),
    MoneyKind::new(field::costs, |t| &mut t.costs),
    MoneyKind::new(field::click_orders, |t| &mut t.click_orders),
    MoneyKind::new(field::coupon_orders, |t| &mut t.coupon_orders),
    MoneyKind::new(field::held_orders, |t| &mut t.held_orders),
    MoneyKind::new(field::held_revenue, |t| &mut t.held_revenue),
    MoneyKind::new(field::pending_orders, |t| &mut t.pending_orders),
];
/// The costs alone (named per campaign when read for one: see [`FieldSet::campaign_costs`]).
const COSTS_ONLY: [MoneyKind; 1] = [MoneyKind::new(field::costs, |t| &mut t.costs)];
const CLICK_KINDS: [fn(Bucket) -> String; 3] = [field::human, field::bot, field::suspicious];

impl FieldSet {
    /// Every figure over the buckets of `reads` for each of `currencies`.
    pub fn new(reads: &Reads, currencies: &[Currency]) -> Self {
        let names = money_names(reads, currencies, &MONEY_KINDS, |kind, currency, bucket| {
            (kind.field)(currency, bucket)
        });
        let click_names = CLICK_KINDS
            .iter()
            .flat_map(|kind| reads.clicks.iter().map(|(b, _)| kind(*b)))
            .collect();
        Self::with(reads, currencies, &MONEY_KINDS, names, click_names)
    }

    /// Only the costs booked to `campaign`: what a campaign report takes from its
    /// influencers (their clicks and orders come from the campaign's links), so nothing else
    /// of theirs is read.
    pub fn campaign_costs(reads: &Reads, currencies: &[Currency], campaign: &str) -> Self {
        let names = money_names(reads, currencies, &COSTS_ONLY, |_, currency, bucket| {
            field::campaign_costs(campaign, currency, bucket)
        });
        Self::with(reads, currencies, &COSTS_ONLY, names, Vec::new())
    }

    fn with(
        reads: &Reads,
        currencies: &[Currency],
        kinds: &'static [MoneyKind],
        names: Vec<String>,
        click_names: Vec<String>,
    ) -> Self {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.as_bytes().into(), i))
            .collect();
        let clicks = !click_names.is_empty();
        let uniques = if clicks {
            reads.uniques.clone()
        } else {
            Vec::new()
        };
        let mut extra_humans = Vec::new();
        let unique_humans = uniques
            .iter()
            .map(|bucket| {
                let name = field::human(*bucket);
                click_names
                    .iter()
                    .position(|n| *n == name)
                    .unwrap_or_else(|| {
                        extra_humans.push(name);
                        click_names.len() + extra_humans.len() - 1
                    })
            })
            .collect();
        Self {
            buckets: reads.counters.clone(),
            unique_humans,
            extra_humans,
            uniques,
            currencies: currencies.to_vec(),
            kinds,
            names,
            index,
            click_names,
            click_buckets: if clicks {
                reads.clicks.clone()
            } else {
                Vec::new()
            },
        }
    }

    pub fn currencies(&self) -> &[Currency] {
        &self.currencies
    }

    /// Whether the owner's clicks and unique visitors are read.
    pub(super) fn reads_clicks(&self) -> bool {
        !self.click_names.is_empty()
    }
}

/// Per currency, per kind, the field of each counter bucket of `reads`.
fn money_names(
    reads: &Reads,
    currencies: &[Currency],
    kinds: &[MoneyKind],
    name: impl Fn(&MoneyKind, Currency, Bucket) -> String,
) -> Vec<String> {
    let mut names = Vec::with_capacity(reads.counters.len() * kinds.len() * currencies.len());
    for currency in currencies {
        for kind in kinds {
            names.extend(
                reads
                    .counters
                    .iter()
                    .map(|(b, _)| name(kind, *currency, *b)),
            );
        }
    }
    names
}
#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::DateRange;

    fn fields(from: &str, to: &str, today: &str) -> FieldSet {
        let day = |raw: &str| NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap();
        let range = DateRange::new(day(from), day(to)).unwrap();
        FieldSet::new(&Reads::of(range, day(today)), &[])
    }

    #[test]
    fn each_unique_bucket_finds_its_human_clicks_and_none_is_named_twice() {
        // A calendar year, a rolling year, a rolling month and a range of days within one.
        for (from, to) in [
            ("2025-01-01", "2025-12-31"),
            ("2025-11-28", "2026-11-28"),
            ("2026-10-30", "2026-11-28"),
            ("2026-09-03", "2026-09-30"),
        ] {
            let fields = fields(from, to, "2026-11-28");
            let named: Vec<&String> = fields
                .click_names
                .iter()
                .chain(&fields.extra_humans)
                .collect();
            for (bucket, at) in fields.uniques.iter().zip(&fields.unique_humans) {
                assert_eq!(*named[*at], field::human(*bucket), "{from}..{to}");
            }
            let distinct: std::collections::HashSet<&&String> = named.iter().collect();
            assert_eq!(distinct.len(), named.len(), "{from}..{to}: {named:?}");
        }
    }
}
