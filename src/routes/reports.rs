//! `/api/v1/reports`: click figures per influencer and per link over a date range.

use actix_web::{HttpResponse, web};
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::influencers::influencer_id;
use crate::domain::DateRange;
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

#[derive(Serialize)]
struct InfluencerRow {
    influencer_id: String,
    handle: String,
    disabled: bool,
    #[serde(flatten)]
    figures: Figures,
}

#[derive(Serialize)]
struct LinkRow {
    code: String,
    influencer_id: String,
    disabled: bool,
    #[serde(flatten)]
    figures: Figures,
}

/// A report: rows, their totals (unique clicks are summed across rows: a follower who clicked
/// two influencers' links counts for each), and the period in the reporting time zone.
#[derive(Serialize)]
struct Report<Row> {
    from: NaiveDate,
    to: NaiveDate,
    time_zone: String,
    rows: Vec<Row>,
    totals: Figures,
}

fn range(state: &AppState, query: &RangeQuery) -> Result<DateRange, ApiError> {
    let bad =
        |e: crate::domain::DateRangeError| ApiError::bad_request("invalid_range", e.to_string());
    let today = chrono::Utc::now()
        .with_timezone(&state.time_zone)
        .date_naive();
    let to = query
        .to
        .as_deref()
        .map(DateRange::parse_day)
        .transpose()
        .map_err(bad)?
        .unwrap_or(today);
    let from = match query.from.as_deref() {
        Some(raw) => DateRange::parse_day(raw).map_err(bad)?,
        None => to
            .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
            .unwrap_or(to),
    };
    DateRange::new(from, to).map_err(bad)
}

fn report<Row>(state: &AppState, range: DateRange, rows: Vec<Row>, totals: Figures) -> HttpResponse
where
    Row: Serialize,
{
    HttpResponse::Ok().json(Report {
        from: range.from(),
        to: range.to(),
        time_zone: state.time_zone.name().to_owned(),
        rows,
        totals,
    })
}

pub async fn influencers(
    state: web::Data<AppState>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, &query)?;
    let influencers = state.store.influencers().await?;
    let owners: Vec<Owner<'_>> = influencers
        .iter()
        .map(|i| Owner::Influencer(i.id.as_str()))
        .collect();
    let counts = state.store.click_counts(&owners, &range).await?;
    let mut totals = Figures::default();
    let mut rows: Vec<InfluencerRow> = influencers
        .iter()
        .zip(counts)
        .map(|(influencer, counts)| {
            let figures = Figures::from(counts);
            totals.add(&figures);
            InfluencerRow {
                influencer_id: influencer.id.to_string(),
                handle: influencer.handle.to_string(),
                disabled: influencer.disabled,
                figures,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.figures
            .clicks
            .cmp(&a.figures.clicks)
            .then_with(|| a.handle.cmp(&b.handle))
    });
    Ok(report(&state, range, rows, totals))
}

pub async fn links(
    state: web::Data<AppState>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, &query)?;
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
    Ok(report(&state, range, rows, totals))
}
