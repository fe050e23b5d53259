//! `/api/v1/reports`: click and order figures per influencer and per link over a date range.

use actix_web::{HttpResponse, web};
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::influencers::influencer_id;
use crate::domain::{Currency, DateRange, OrderFigures};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ClickCounts, Owner};

/// Days covered when a report names no range: the last 30, today included.
const DEFAULT_DAYS: u64 = 30;

#[derive(Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    influencer_id: Option<String>,
    currency: Option<String>,
}

#[derive(Serialize, Default)]
struct Figures {
    clicks: u64,
    unique_clicks: u64,
    bot_clicks: u64,
}

impl From<ClickCounts> for Figures {
    fn from(c: ClickCounts) -> Self {
        Self {
            clicks: c.clicks,
            unique_clicks: c.unique_clicks,
            bot_clicks: c.bot_clicks,
        }
    }
}

impl Figures {
    fn add(&mut self, other: &Self) {
        self.clicks += other.clicks;
        self.unique_clicks += other.unique_clicks;
        self.bot_clicks += other.bot_clicks;
    }
}

/// Order figures as decimal strings of the report's currency.
#[derive(Serialize)]
struct Sales {
    orders: i64,
    revenue: String,
    refunds: String,
    net_revenue: String,
    commission: String,
}

impl Sales {
    fn new(f: OrderFigures, currency: Currency) -> Self {
        Self {
            orders: f.orders,
            revenue: currency.format(f.revenue),
            refunds: currency.format(f.refunds),
            net_revenue: currency.format(f.revenue - f.refunds),
            commission: currency.format(f.commission),
        }
    }
}

fn add_orders(total: &mut OrderFigures, f: &OrderFigures) {
    total.orders += f.orders;
    total.revenue += f.revenue;
    total.refunds += f.refunds;
    total.commission += f.commission;
}

#[derive(Serialize)]
struct InfluencerRow {
    /// `null` on the row of unattributed orders.
    influencer_id: Option<String>,
    handle: Option<String>,
    disabled: bool,
    #[serde(flatten)]
    figures: Figures,
    #[serde(flatten)]
    sales: Sales,
}

#[derive(Serialize)]
struct Totals {
    #[serde(flatten)]
    figures: Figures,
    #[serde(flatten)]
    sales: Sales,
}

/// Totals of orders in a currency other than the report's: shown apart, never converted or
/// added in.
#[derive(Serialize)]
struct CurrencyTotals {
    currency: Currency,
    #[serde(flatten)]
    sales: Sales,
}

#[derive(Serialize)]
struct LinkRow {
    code: String,
    influencer_id: String,
    disabled: bool,
    #[serde(flatten)]
    figures: Figures,
}

/// The period of a report in the reporting time zone.
#[derive(Serialize)]
struct Period {
    from: NaiveDate,
    to: NaiveDate,
    time_zone: String,
}

/// The influencer report: one row per influencer, then a row of unattributed orders; totals
/// sum unique clicks across rows (a follower who clicked two influencers' links counts for
/// each).
#[derive(Serialize)]
struct InfluencerReport {
    #[serde(flatten)]
    period: Period,
    currency: Currency,
    rows: Vec<InfluencerRow>,
    totals: Totals,
    other_currencies: Vec<CurrencyTotals>,
}

#[derive(Serialize)]
struct LinkReport {
    #[serde(flatten)]
    period: Period,
    rows: Vec<LinkRow>,
    totals: Figures,
}

/// The report range from `from` and `to` (YYYY-MM-DD), by default the last 30 days.
pub fn range(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<DateRange, ApiError> {
    let bad =
        |e: crate::domain::DateRangeError| ApiError::bad_request("invalid_range", e.to_string());
    let today = chrono::Utc::now()
        .with_timezone(&state.time_zone)
        .date_naive();
    let to = to
        .map(DateRange::parse_day)
        .transpose()
        .map_err(bad)?
        .unwrap_or(today);
    let from = match from {
        Some(raw) => DateRange::parse_day(raw).map_err(bad)?,
        None => to
            .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
            .unwrap_or(to),
    };
    DateRange::new(from, to).map_err(bad)
}

fn period(state: &AppState, range: DateRange) -> Period {
    Period {
        from: range.from(),
        to: range.to(),
        time_zone: state.time_zone.name().to_owned(),
    }
}

pub async fn influencers(
    state: web::Data<AppState>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let currency = match &query.currency {
        Some(code) => Currency::parse(code)
            .map_err(|e| ApiError::bad_request("invalid_currency", e.to_string()))?,
        None => state.report_currency,
    };
    let influencers = state.store.influencers().await?;
    let owners: Vec<Owner<'_>> = influencers
        .iter()
        .map(|i| Owner::Influencer(i.id.as_str()))
        .chain([Owner::Unattributed])
        .collect();
    let counts = state.store.click_counts(&owners, &range).await?;
    let orders = state.store.order_figures(&owners, &range, currency).await?;
    let mut click_totals = Figures::default();
    let mut order_totals = OrderFigures::default();
    let mut rows: Vec<InfluencerRow> = owners
        .iter()
        .zip(counts.into_iter().zip(orders))
        .map(|(owner, (counts, sales))| {
            let figures = Figures::from(counts);
            click_totals.add(&figures);
            add_orders(&mut order_totals, &sales);
            let influencer = influencers
                .iter()
                .find(|i| matches!(owner, Owner::Influencer(id) if *id == i.id.as_str()));
            InfluencerRow {
                influencer_id: influencer.map(|i| i.id.to_string()),
                handle: influencer.map(|i| i.handle.to_string()),
                disabled: influencer.is_some_and(|i| i.disabled),
                figures,
                sales: Sales::new(sales, currency),
            }
        })
        .collect();
    let unattributed = rows.pop();
    rows.sort_by(|a, b| {
        b.figures
            .clicks
            .cmp(&a.figures.clicks)
            .then_with(|| a.handle.cmp(&b.handle))
    });
    rows.extend(unattributed);
    let mut other_currencies = Vec::new();
    for other in state.store.currencies().await? {
        if other == currency {
            continue;
        }
        let mut total = OrderFigures::default();
        for figures in state.store.order_figures(&owners, &range, other).await? {
            add_orders(&mut total, &figures);
        }
        if total.orders != 0 {
            other_currencies.push(CurrencyTotals {
                currency: other,
                sales: Sales::new(total, other),
            });
        }
    }
    Ok(HttpResponse::Ok().json(InfluencerReport {
        period: period(&state, range),
        currency,
        rows,
        totals: Totals {
            figures: click_totals,
            sales: Sales::new(order_totals, currency),
        },
        other_currencies,
    }))
}

pub async fn links(
    state: web::Data<AppState>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let Some(raw) = &query.influencer_id else {
        return Err(ApiError::bad_request(
            "missing_influencer_id",
            "report links with ?influencer_id=<id>",
        ));
    };
    let links = state.store.links_of(&influencer_id(raw)?).await?;
    let owners: Vec<Owner<'_>> = links.iter().map(|l| Owner::Link(l.code.as_str())).collect();
    let counts = state.store.click_counts(&owners, &range).await?;
    let mut totals = Figures::default();
    let rows = links
        .iter()
        .zip(counts)
        .map(|(link, counts)| {
            let figures = Figures::from(counts);
            totals.add(&figures);
            LinkRow {
                code: link.code.to_string(),
                influencer_id: link.influencer_id.to_string(),
                disabled: link.disabled,
                figures,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(LinkReport {
        period: period(&state, range),
        rows,
        totals,
    }))
}
