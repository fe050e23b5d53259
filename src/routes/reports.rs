//! `/api/v1/reports`: clicks, orders, costs and ROI per influencer, per day, and per link,
//! as JSON or CSV.
//!
//! The figures, rows and totals come from the `reports` module; this file reads the request
//! and writes the answer. Each report reads every owner's counters once, for all the currencies it shows, and holds
//! one of `reports.max_concurrent` slots while it works, so report tokens cannot tie up the
//! server: a report that finds no free slot within `reports.queue_wait_ms` is answered 503
//! `busy` with `Retry-After`.

use super::responses::Unknown;
use actix_web::get;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::NaiveDate;
use serde::Deserialize;

use super::input::{campaign_of, influencer_id, range};
use crate::domain::{
    Currency, DailyReport, DateRange, DayRow, FIGURE_COLUMNS, Figures, InfluencerReport,
    LinkReport, LinkRow, Overflow, Period, SortError, Totals, spreadsheet_text,
};
use crate::error::ApiError;
use crate::reports::{self, ReportError};
use crate::state::AppState;
use crate::store::{FieldSet, FigureQuery, Owner};

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

/// The answer when every report slot stays taken: 503 `busy`, to retry in a second.
fn busy(state: &AppState) -> HttpResponse {
    state.metrics.reports_busy.inc();
    let mut response = ApiError::client(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the server is preparing as many reports as it allows at once \
         (reports.max_concurrent); retry after the Retry-After seconds",
    )
    .error_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// A report that failed: a store failure as any other, a total too large to add up exactly
/// counted, logged and refused (never shown wrapped), a bad sort a 400.
fn report_error(state: &AppState, error: ReportError) -> ApiError {
    match error {
        ReportError::Store(e) => e.into(),
        ReportError::Overflow(what) => {
            state.metrics.report_overflows.inc();
            tracing::error!(what, "a report total does not fit");
            ApiError::client(
                StatusCode::INTERNAL_SERVER_ERROR,
                "figure_overflow",
                ReportError::Overflow(what).to_string(),
            )
        }
        ReportError::Sort(e) => {
            let code = match e {
                SortError::Order(_) => "invalid_order",
                SortError::Column(_) => "invalid_sort",
            };
            ApiError::bad_request(code, e.to_string())
        }
    }
}

/// The error of a total in `what` that does not fit.
fn overflow<'a>(state: &'a AppState, what: &'static str) -> impl Fn(Overflow) -> ApiError + 'a {
    move |_| report_error(state, ReportError::Overflow(what))
}

/// A CSV response: a header of `keys` then the figure columns, one record per row. The key
/// cells are text and are made safe for spreadsheets; the figures are numbers and stay so.
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
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    };
    let header: Vec<&str> = keys.iter().copied().chain(FIGURE_COLUMNS).collect();
    writer.write_record(&header).map_err(internal)?;
    for (key_cells, figures) in rows {
        let key_cells: Vec<_> = key_cells.iter().map(|c| spreadsheet_text(c)).collect();
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

#[utoipa::path(
    operation_id = "reports_influencers",
    summary = "The ROI report, per influencer",
    params(ReportQuery),
    responses((status = 200, content((InfluencerReport = "application/json"), (String = "text/csv"))), Unknown)
)]
#[get("/reports/influencers")]
pub async fn influencers(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let csv = wants_csv(&req, &query)?;
    let Some(_slot) = state.reports.enter().await else {
        return Ok(busy(&state));
    };
    let scope = match query.campaign_id.as_deref() {
        Some(raw) => {
            let campaign = campaign_of(&state, raw).await?;
            reports::Scope::Campaign {
                links: state.store.campaign_links(&campaign.id).await?,
                campaign,
            }
        }
        None => reports::Scope::All,
    };
    let currency = match (&scope, &query.currency) {
        (reports::Scope::Campaign { campaign, .. }, None) => campaign.currency,
        _ => currency(&state, &query)?,
    };
    // The report's currency first; the CSV shows no other currencies, so it reads none.
    let mut currencies = vec![currency];
    if !csv {
        let others = state.store.currencies().await?;
        currencies.extend(others.into_iter().filter(|c| *c != currency));
    }
    let influencers = state.store.influencers().await?;
    let figures = reports::influencer_figures(
        &state.store,
        &state.metrics,
        &influencers,
        &scope,
        &range.buckets(),
        &currencies,
    )
    .await
    .map_err(|e| report_error(&state, e))?;
    let (rows, totals) = reports::influencer_rows(
        &influencers,
        &figures,
        &scope,
        currency,
        query.sort.as_deref(),
        query.order.as_deref(),
    )
    .map_err(|e| report_error(&state, e))?;
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
    let other_currencies = reports::other_currency_totals(&figures, &currencies)
        .map_err(|e| report_error(&state, e))?;
    Ok(HttpResponse::Ok().json(InfluencerReport {
        period: period(&state, range),
        campaign_id: scope.campaign_id(),
        currency,
        rows,
        totals: Figures::new(&totals, currency),
        other_currencies,
    }))
}

#[utoipa::path(
    operation_id = "reports_daily",
    summary = "One influencer's figures per day",
    params(("id" = String, Path, description = "influencer id"), ReportQuery),
    responses((status = 200, content((DailyReport = "application/json"), (String = "text/csv"))))
)]
#[get("/reports/influencers/{id}/daily")]
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
    let Some(_slot) = state.reports.enter().await else {
        return Ok(busy(&state));
    };
    let influencer = state.store.influencer(&id).await?.ok_or_else(|| {
        ApiError::not_found("influencer_not_found", format!("no influencer {id}"))
    })?;
    let days: Vec<NaiveDate> = range.days().collect();
    let owner = Owner::Influencer(id.as_str());
    let per_day: Vec<FieldSet> = days
        .iter()
        .map(|day| FieldSet::new(&[crate::domain::Bucket::Day(*day)], &[currency], None))
        .collect();
    // Unique clicks over the whole period come from the period's sketches, not a sum of days.
    let whole = FieldSet::new(&range.buckets(), &[currency], None);
    let queries: Vec<FigureQuery<'_>> = per_day
        .iter()
        .chain([&whole])
        .map(|fields| FigureQuery { owner, fields })
        .collect();
    let mut figures = state.store.report_figures(&queries, &state.metrics).await?;
    let period_figures = figures.pop().unwrap_or_default();
    let mut totals = Totals::default();
    let mut rows = Vec::with_capacity(days.len());
    for (day, owner) in days.iter().zip(&figures) {
        let t = owner.in_currency(0);
        totals.add(&t).map_err(overflow(&state, "days"))?;
        rows.push(DayRow {
            date: *day,
            figures: Figures::new(&t, currency),
        });
    }
    if csv {
        return csv_response(
            &["date"],
            rows.iter().map(|r| (vec![r.date.to_string()], &r.figures)),
            &format!("reftrack-{id}-daily-{}-{}.csv", range.from(), range.to()),
        );
    }
    totals.unique_clicks = period_figures.clicks.unique_clicks;
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
    operation_id = "reports_links",
    summary = "Figures per link of one influencer",
    params(ReportQuery),
    responses((status = 200, body = LinkReport))
)]
#[get("/reports/links")]
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
    let id = influencer_id(raw)?;
    let Some(_slot) = state.reports.enter().await else {
        return Ok(busy(&state));
    };
    let links = state.store.links_of(&id).await?;
    let fields = FieldSet::new(&range.buckets(), &[currency], None);
    let queries: Vec<FigureQuery<'_>> = links
        .iter()
        .map(|l| FigureQuery {
            owner: Owner::Link(l.code.as_str()),
            fields: &fields,
        })
        .collect();
    let figures = state.store.report_figures(&queries, &state.metrics).await?;
    let mut totals = Totals::default();
    let mut rows = Vec::with_capacity(links.len());
    for (link, owner) in links.iter().zip(&figures) {
        let t = owner.in_currency(0);
        totals.add(&t).map_err(overflow(&state, "links"))?;
        rows.push(LinkRow {
            code: link.code.to_string(),
            influencer_id: link.influencer_id.to_string(),
            disabled: link.disabled,
            figures: Figures::new(&t, currency),
        });
    }
    Ok(HttpResponse::Ok().json(LinkReport {
        period: period(&state, range),
        currency,
        rows,
        totals: Figures::new(&totals, currency),
    }))
}
