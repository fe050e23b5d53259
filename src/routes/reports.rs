//! `/api/v1/reports`: clicks, orders, costs and ROI per influencer, per day, and per link,
//! as JSON or CSV.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::campaigns::campaign_of;
use super::influencers::influencer_id;
use crate::domain::{Bucket, Campaign, CampaignId, Currency, DateRange, Totals};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{FigureQuery, InfluencerRecord, LinkRecord, Owner};

/// Days covered when a report names no range: the last 30, today included.
const DEFAULT_DAYS: u64 = 30;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    influencer_id: Option<String>,
    currency: Option<String>,
    campaign_id: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    format: Option<String>,
}

/// A row's figures, money as decimal strings of the report's currency and ratios as numbers
/// (`null` where the denominator is zero).
#[derive(Serialize, utoipa::ToSchema)]
struct Figures {
    clicks: u64,
    unique_clicks: u64,
    bot_clicks: u64,
    suspicious_clicks: u64,
    /// Suspicious clicks over human and suspicious ones: who inflates their numbers.
    suspicious_share: Option<f64>,
    orders: i64,
    conversion_rate: Option<f64>,
    revenue: String,
    refunds: String,
    net_revenue: String,
    aov: Option<String>,
    commission: String,
    costs: String,
    total_cost: String,
    profit: String,
    roi: Option<f64>,
    epc: Option<String>,
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
}

/// Column names of [`Figures`], in order, for CSV headers.
const FIGURE_COLUMNS: [&str; 18] = [
    "clicks",
    "unique_clicks",
    "bot_clicks",
    "suspicious_clicks",
    "suspicious_share",
    "orders",
    "conversion_rate",
    "revenue",
    "refunds",
    "net_revenue",
    "aov",
    "commission",
    "costs",
    "total_cost",
    "profit",
    "roi",
    "epc",
    "currency",
];

impl Figures {
    fn new(t: &Totals, currency: Currency) -> Self {
        let money = |minor: i64| currency.format(minor);
        Self {
            clicks: t.clicks,
            unique_clicks: t.unique_clicks,
            bot_clicks: t.bot_clicks,
            suspicious_clicks: t.suspicious_clicks,
            suspicious_share: t.suspicious_share(),
            orders: t.orders,
            conversion_rate: t.conversion_rate(),
            revenue: money(t.revenue),
            refunds: money(t.refunds),
            net_revenue: money(t.net_revenue()),
            aov: t.aov().map(money),
            commission: money(t.commission),
            costs: money(t.costs),
            total_cost: money(t.total_cost()),
            profit: money(t.profit()),
            roi: t.roi(),
            epc: t.epc(currency),
            currency,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct InfluencerRow {
    /// `null` on the row of unattributed orders.
    influencer_id: Option<String>,
    handle: Option<String>,
    #[serde(flatten)]
    figures: Figures,
    #[serde(skip)]
    totals: Totals,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DayRow {
    date: NaiveDate,
    #[serde(flatten)]
    figures: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LinkRow {
    code: String,
    influencer_id: String,
    disabled: bool,
    #[serde(flatten)]
    figures: Figures,
}

/// The period of a report in the reporting time zone.
#[derive(Serialize, utoipa::ToSchema)]
struct Period {
    from: NaiveDate,
    to: NaiveDate,
    time_zone: String,
}

/// Totals of orders in a currency other than the report's: shown apart, never converted or
/// added in.
#[derive(Serialize, utoipa::ToSchema)]
struct CurrencyTotals {
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
    orders: i64,
    revenue: String,
    refunds: String,
    net_revenue: String,
    commission: String,
    costs: String,
}

/// The influencer report: one row per influencer, then the row of unattributed orders.
/// Totals add the rows up (a follower who clicked two influencers' links is a unique click
/// of each).
#[derive(Serialize, utoipa::ToSchema)]
struct InfluencerReport {
    #[serde(flatten)]
    period: Period,
    /// The campaign the report is limited to, if any.
    #[schema(value_type = Option<String>)]
    campaign_id: Option<CampaignId>,
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
    rows: Vec<InfluencerRow>,
    totals: Figures,
    other_currencies: Vec<CurrencyTotals>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DailyReport {
    #[serde(flatten)]
    period: Period,
    influencer_id: String,
    handle: String,
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
    days: Vec<DayRow>,
    totals: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LinkReport {
    #[serde(flatten)]
    period: Period,
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
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

fn currency(state: &AppState, query: &ReportQuery) -> Result<Currency, ApiError> {
    match &query.currency {
        Some(code) => Currency::parse(code)
            .map_err(|e| ApiError::bad_request("invalid_currency", e.to_string())),
        None => Ok(state.report_currency),
    }
}

/// Whether the client asked for CSV (`?format=csv`, or `Accept: text/csv`).
fn wants_csv(req: &HttpRequest, query: &ReportQuery) -> Result<bool, ApiError> {
    match query.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::bad_request(
            "invalid_format",
            format!("format '{other}' is not json or csv"),
        )),
        None => Ok(req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"))),
    }
}

/// A CSV response: a header of `keys` then the figure columns, one record per row.
fn csv_response<'a>(
    keys: &[&str],
    rows: impl IntoIterator<Item = (Vec<String>, &'a Figures)>,
    filename: &str,
) -> Result<HttpResponse, ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let internal = |e: csv::Error| {
        tracing::error!(error = %e, "writing CSV");
        ApiError::client(
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    };
    let header: Vec<&str> = keys.iter().copied().chain(FIGURE_COLUMNS).collect();
    writer.write_record(&header).map_err(internal)?;
    for (key_cells, figures) in rows {
        writer.serialize((key_cells, figures)).map_err(internal)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| internal(e.into_error().into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body))
}

/// Sorts influencer rows by a column, descending by default (`order=asc` to reverse);
/// rows without a value (a `null` ratio) go last either way.
fn sort_rows(
    rows: &mut [InfluencerRow],
    sort: Option<&str>,
    order: Option<&str>,
) -> Result<(), ApiError> {
    let ascending = match order {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_order",
                format!("order '{other}' is not asc or desc"),
            ));
        }
    };
    let key: fn(&Totals) -> Option<Decimal> = match sort.unwrap_or("clicks") {
        "handle" => {
            // Names read A to Z unless asked otherwise.
            rows.sort_by(|a, b| a.handle.cmp(&b.handle));
            if order == Some("desc") {
                rows.reverse();
            }
            return Ok(());
        }
        "clicks" => |t| Some(t.clicks.into()),
        "unique_clicks" => |t| Some(t.unique_clicks.into()),
        "bot_clicks" => |t| Some(t.bot_clicks.into()),
        "suspicious_clicks" => |t| Some(t.suspicious_clicks.into()),
        "suspicious_share" => |t| t.suspicious_share().and_then(|r| Decimal::try_from(r).ok()),
        "orders" => |t| Some(t.orders.into()),
        "conversion_rate" => |t| t.conversion_rate().and_then(|r| Decimal::try_from(r).ok()),
        "revenue" => |t| Some(t.revenue.into()),
        "net_revenue" => |t| Some(t.net_revenue().into()),
        "commission" => |t| Some(t.commission.into()),
        "costs" => |t| Some(t.costs.into()),
        "total_cost" => |t| Some(t.total_cost().into()),
        "profit" => |t| Some(t.profit().into()),
        "roi" => |t| t.roi().and_then(|r| Decimal::try_from(r).ok()),
        "epc" => {
            |t| (t.clicks > 0).then(|| Decimal::from(t.net_revenue()) / Decimal::from(t.clicks))
        }
        other => {
            return Err(ApiError::bad_request(
                "invalid_sort",
                format!("cannot sort by '{other}'"),
            ));
        }
    };
    rows.sort_by(|a, b| {
        let ordering = match (key(&a.totals), key(&b.totals)) {
            (Some(x), Some(y)) => {
                let o = x.cmp(&y);
                if ascending { o } else { o.reverse() }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        ordering.then_with(|| a.handle.cmp(&b.handle))
    });
    Ok(())
}

/// What an influencer report covers: everything, or one campaign (its links' clicks and
/// orders, and the costs booked to it).
enum Scope {
    All,
    Campaign {
        campaign: Campaign,
        links: Vec<LinkRecord>,
    },
}

/// Totals per influencer, in the order given, then those of unattributed orders.
async fn influencer_totals(
    state: &AppState,
    influencers: &[InfluencerRecord],
    scope: &Scope,
    buckets: &[Bucket],
    currency: Currency,
) -> Result<Vec<Totals>, ApiError> {
    let query = |owner, campaign| FigureQuery {
        owner,
        buckets: buckets.to_vec(),
        campaign,
    };
    let owners = influencers.iter().map(|i| Owner::Influencer(i.id.as_str()));
    match scope {
        Scope::All => {
            let queries: Vec<FigureQuery<'_>> = owners
                .chain([Owner::Unattributed])
                .map(|owner| query(owner, None))
                .collect();
            Ok(state.store.report_figures(&queries, currency).await?)
        }
        Scope::Campaign { campaign, links } => {
            let id = Some(campaign.id.as_str());
            let queries: Vec<FigureQuery<'_>> = links
                .iter()
                .map(|l| query(Owner::Link(l.code.as_str()), None))
                .chain(owners.map(|owner| query(owner, id)))
                .collect();
            let figures = state.store.report_figures(&queries, currency).await?;
            let (by_link, by_influencer) = figures.split_at(links.len());
            let mut out: Vec<Totals> = by_influencer
                .iter()
                .map(|t| Totals {
                    costs: t.costs,
                    ..Totals::default()
                })
                .collect();
            for (link, t) in links.iter().zip(by_link) {
                if let Some(i) = influencers.iter().position(|i| i.id == link.influencer_id) {
                    out[i].add(&Totals { costs: 0, ..*t });
                }
            }
            out.push(Totals::default());
            Ok(out)
        }
    }
}

#[utoipa::path(
    get,
    operation_id = "reports_influencers",
    path = "/api/v1/reports/influencers",
    summary = "The ROI report, per influencer",
    params(ReportQuery),
    responses((status = 200, content((InfluencerReport = "application/json"), (String = "text/csv"))), (status = 400, description = "invalid input", body = crate::error::ErrorBody), (status = 401, description = "missing or wrong admin token", body = crate::error::ErrorBody), (status = 422, description = "refers to something that does not exist", body = crate::error::ErrorBody), (status = 503, description = "the store is unavailable", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn influencers(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let csv = wants_csv(&req, &query)?;
    let scope = match query.campaign_id.as_deref() {
        Some(raw) => {
            let campaign = campaign_of(&state, raw).await?;
            let links = state.store.campaign_links(&campaign.id).await?;
            Scope::Campaign { campaign, links }
        }
        None => Scope::All,
    };
    let currency = match (&scope, &query.currency) {
        (Scope::Campaign { campaign, .. }, None) => campaign.currency,
        _ => currency(&state, &query)?,
    };
    let influencers = state.store.influencers().await?;
    let buckets = range.buckets();
    let figures = influencer_totals(&state, &influencers, &scope, &buckets, currency).await?;
    let mut totals = Totals::default();
    let mut rows: Vec<InfluencerRow> = figures
        .iter()
        .enumerate()
        .filter(|(i, t)| match (&scope, influencers.get(*i)) {
            // A campaign's report lists the influencers in it: with a link or a cost there.
            (Scope::Campaign { links, .. }, Some(influencer)) => {
                t.costs != 0 || links.iter().any(|l| l.influencer_id == influencer.id)
            }
            _ => true,
        })
        .map(|(i, t)| {
            totals.add(t);
            let influencer = influencers.get(i);
            InfluencerRow {
                influencer_id: influencer.map(|i| i.id.to_string()),
                handle: influencer.map(|i| i.handle.to_string()),
                figures: Figures::new(t, currency),
                totals: *t,
            }
        })
        .collect();
    let unattributed = rows.pop();
    sort_rows(&mut rows, query.sort.as_deref(), query.order.as_deref())?;
    rows.extend(unattributed);
    if csv {
        return csv_response(
            &["influencer_id", "handle"],
            rows.iter().map(|r| {
                (
                    vec![
                        r.influencer_id.clone().unwrap_or_default(),
                        r.handle.clone().unwrap_or_default(),
                    ],
                    &r.figures,
                )
            }),
            &format!("reftrack-influencers-{}-{}.csv", range.from(), range.to()),
        );
    }
    let mut other_currencies = Vec::new();
    for other in state.store.currencies().await? {
        if other == currency {
            continue;
        }
        let mut t = Totals::default();
        for figures in influencer_totals(&state, &influencers, &scope, &buckets, other).await? {
            t.add(&figures);
        }
        if t.orders != 0 || t.costs != 0 {
            other_currencies.push(CurrencyTotals {
                currency: other,
                orders: t.orders,
                revenue: other.format(t.revenue),
                refunds: other.format(t.refunds),
                net_revenue: other.format(t.net_revenue()),
                commission: other.format(t.commission),
                costs: other.format(t.costs),
            });
        }
    }
    Ok(HttpResponse::Ok().json(InfluencerReport {
        period: period(&state, range),
        campaign_id: match &scope {
            Scope::Campaign { campaign, .. } => Some(campaign.id.clone()),
            Scope::All => None,
        },
        currency,
        rows,
        totals: Figures::new(&totals, currency),
        other_currencies,
    }))
}

#[utoipa::path(
    get,
    operation_id = "reports_daily",
    path = "/api/v1/reports/influencers/{id}/daily",
    summary = "One influencer's figures per day",
    params(("id" = String, Path, description = "influencer id"), ReportQuery),
    responses((status = 200, content((DailyReport = "application/json"), (String = "text/csv"))), (status = 400, description = "invalid input", body = crate::error::ErrorBody), (status = 401, description = "missing or wrong admin token", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody), (status = 503, description = "the store is unavailable", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn daily(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let currency = currency(&state, &query)?;
    let csv = wants_csv(&req, &query)?;
    let id = influencer_id(&path)?;
    let influencer = state.store.influencer(&id).await?.ok_or_else(|| {
        ApiError::not_found("influencer_not_found", format!("no influencer {id}"))
    })?;
    let days: Vec<NaiveDate> = range.days().collect();
    let queries: Vec<FigureQuery<'_>> = days
        .iter()
        .map(|day| FigureQuery {
            owner: Owner::Influencer(id.as_str()),
            buckets: vec![Bucket::Day(*day)],
            campaign: None,
        })
        .collect();
    let figures = state.store.report_figures(&queries, currency).await?;
    let mut totals = Totals::default();
    let rows: Vec<DayRow> = days
        .iter()
        .zip(&figures)
        .map(|(day, t)| {
            totals.add(t);
            DayRow {
                date: *day,
                figures: Figures::new(t, currency),
            }
        })
        .collect();
    if csv {
        return csv_response(
            &["date"],
            rows.iter().map(|r| (vec![r.date.to_string()], &r.figures)),
            &format!("reftrack-{id}-daily-{}-{}.csv", range.from(), range.to()),
        );
    }
    // Unique clicks over the whole period come from the period's sketches, not a sum of days.
    let period_query = [FigureQuery {
        owner: Owner::Influencer(id.as_str()),
        buckets: range.buckets(),
        campaign: None,
    }];
    if let Some(whole) = state
        .store
        .report_figures(&period_query, currency)
        .await?
        .first()
    {
        totals.unique_clicks = whole.unique_clicks;
    }
    Ok(HttpResponse::Ok().json(DailyReport {
        period: period(&state, range),
        influencer_id: id.to_string(),
        handle: influencer.handle.to_string(),
        currency,
        days: rows,
        totals: Figures::new(&totals, currency),
    }))
}

#[utoipa::path(
    get,
    operation_id = "reports_links",
    path = "/api/v1/reports/links",
    summary = "Figures per link of one influencer",
    params(ReportQuery),
    responses((status = 200, body = LinkReport), (status = 400, description = "invalid input", body = crate::error::ErrorBody), (status = 401, description = "missing or wrong admin token", body = crate::error::ErrorBody), (status = 503, description = "the store is unavailable", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn links(
    state: web::Data<AppState>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let currency = currency(&state, &query)?;
    let Some(raw) = &query.influencer_id else {
        return Err(ApiError::bad_request(
            "missing_influencer_id",
            "report links with ?influencer_id=<id>",
        ));
    };
    let links = state.store.links_of(&influencer_id(raw)?).await?;
    let buckets = range.buckets();
    let queries: Vec<FigureQuery<'_>> = links
        .iter()
        .map(|l| FigureQuery {
            owner: Owner::Link(l.code.as_str()),
            buckets: buckets.clone(),
            campaign: None,
        })
        .collect();
    let figures = state.store.report_figures(&queries, currency).await?;
    let mut totals = Totals::default();
    let rows = links
        .iter()
        .zip(&figures)
        .map(|(link, t)| {
            totals.add(t);
            LinkRow {
                code: link.code.to_string(),
                influencer_id: link.influencer_id.to_string(),
                disabled: link.disabled,
                figures: Figures::new(t, currency),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(LinkReport {
        period: period(&state, range),
        currency,
        rows,
        totals: Figures::new(&totals, currency),
    }))
}
