//! The reports without HTTP: which owners a report covers, their figures in every currency
//! from one read of each owner's counters, the rows and their totals, the order of rows, and
//! the totals in other currencies. `routes/reports.rs` only reads the request and writes the
//! answer (JSON or CSV).

use std::collections::{HashMap, HashSet};

use crate::domain::{
    Campaign, CampaignId, Currency, CurrencyTotals, Figures, InfluencerRow, Overflow, Reads,
    SortError, Totals, sort_rows,
};
use crate::metrics::Metrics;
use crate::store::{
    FieldSet, FigureQuery, InfluencerRecord, LinkRecord, Owner, OwnerFigures, Store, StoreError,
};

/// What an influencer report covers: everything, or one campaign (its links' clicks and
/// orders, and the costs booked to it).
#[derive(Debug)]
pub enum Scope {
    All,
    Campaign {
        campaign: Campaign,
        links: Vec<LinkRecord>,
    },
}

impl Scope {
    pub fn campaign_id(&self) -> Option<CampaignId> {
        match self {
            Self::Campaign { campaign, .. } => Some(campaign.id.clone()),
            Self::All => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A total beyond what a report adds up exactly: refused rather than shown wrapped.
    #[error("the {0} of this report add up beyond ±2^90 minor units and cannot be shown exactly")]
    Overflow(&'static str),
    #[error(transparent)]
    Sort(#[from] SortError),
}

fn overflow(what: &'static str) -> impl Fn(Overflow) -> ReportError {
    move |_| ReportError::Overflow(what)
}

/// Figures per influencer, in the order given, then those of unattributed orders, each in
/// every currency of `currencies` from one read of each owner's counters.
pub async fn influencer_figures(
    store: &Store,
    metrics: &Metrics,
    influencers: &[InfluencerRecord],
    scope: &Scope,
    reads: &Reads,
    currencies: &[Currency],
) -> Result<Vec<OwnerFigures>, ReportError> {
    let owners = influencers.iter().map(|i| Owner::Influencer(i.id.as_str()));
    let plain = FieldSet::new(reads, currencies);
    match scope {
        Scope::All => {
            let queries: Vec<FigureQuery<'_>> = owners
                .chain([Owner::Unattributed])
                .map(|owner| FigureQuery {
                    owner,
                    fields: &plain,
                })
                .collect();
            Ok(store.report_figures(&queries, metrics).await?)
        }
        Scope::Campaign { campaign, links } => {
            let costs = FieldSet::campaign_costs(reads, currencies, campaign.id.as_str());
            let queries: Vec<FigureQuery<'_>> = links
                .iter()
                .map(|l| FigureQuery {
                    owner: Owner::Link(l.code.as_str()),
                    fields: &plain,
                })
                .chain(owners.map(|owner| FigureQuery {
                    owner,
                    fields: &costs,
                }))
                .collect();
            let figures = store.report_figures(&queries, metrics).await?;
            let (by_link, by_influencer) = figures.split_at(links.len());
            let mut out: Vec<OwnerFigures> = by_influencer.to_vec();
            let position: HashMap<&str, usize> = influencers
                .iter()
                .enumerate()
                .map(|(i, influencer)| (influencer.id.as_str(), i))
                .collect();
            for (link, figures) in links.iter().zip(by_link) {
                if let Some(i) = position.get(link.influencer_id.as_str()) {
                    out[*i]
                        .add_without_costs(figures)
                        .map_err(overflow("figures of a campaign's links"))?;
                }
            }
            out.push(OwnerFigures::default());
            Ok(out)
        }
    }
}

/// The rows of an influencer report in `currency` (the first of the figures' currencies),
/// sorted by `sort` and `order` on their totals, with the unattributed row last, and the
/// rows' totals. A campaign's report lists the influencers in it: with a link or a cost there.
pub fn influencer_rows(
    influencers: &[InfluencerRecord],
    figures: &[OwnerFigures],
    scope: &Scope,
    currency: Currency,
    sort: Option<&str>,
    order: Option<&str>,
) -> Result<(Vec<InfluencerRow>, Totals), ReportError> {
    let in_campaign: Option<HashSet<&str>> = match scope {
        Scope::Campaign { links, .. } => {
            Some(links.iter().map(|l| l.influencer_id.as_str()).collect())
        }
        Scope::All => None,
    };
    let mut totals = Totals::default();
    let mut rows = Vec::with_capacity(figures.len());
    for (i, owner) in figures.iter().enumerate() {
        let t = owner.in_currency(0);
        let influencer = influencers.get(i);
        if let (Some(listed), Some(influencer)) = (&in_campaign, influencer)
            && t.costs == 0
            && !listed.contains(influencer.id.as_str())
        {
            continue;
        }
        totals.add(&t).map_err(overflow("rows"))?;
        rows.push(InfluencerRow {
            influencer_id: influencer.map(|i| i.id.to_string()),
            handle: influencer.map(|i| i.handle.to_string()),
            figures: Figures::new(&t, currency),
            totals: t,
        });
    }
    let unattributed = rows.pop();
    sort_rows(&mut rows, sort, order)?;
    rows.extend(unattributed);
    Ok((rows, totals))
}

/// The totals in each of `currencies` after the first (the report's own), for those in which
/// anything was sold or spent.
pub fn other_currency_totals(
    figures: &[OwnerFigures],
    currencies: &[Currency],
) -> Result<Vec<CurrencyTotals>, ReportError> {
    let mut out = Vec::new();
    for (j, other) in currencies.iter().enumerate().skip(1) {
        let mut t = Totals::default();
        for owner in figures {
            t.add(&owner.money.get(j).copied().unwrap_or_default())
                .map_err(overflow("totals in another currency"))?;
        }
        if t.orders != 0 || t.costs != 0 {
            out.push(CurrencyTotals::new(&t, *other));
        }
    }
    Ok(out)
}
