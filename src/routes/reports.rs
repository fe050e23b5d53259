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
use serde::{Deserialize, Serialize};

use futures_util::{StreamExt, stream};
use tokio::sync::OwnedSemaphorePermit;

use super::input::{Query, campaign_of, existing_influencer, influencer_id, range, today};
use super::report_body as body;
use crate::domain::{
    CampaignId, Currency, CurrencyTotals, DailyReport, DateRange, DayRow, Figures,
    InfluencerReport, LinkCode, LinkReport, LinkRow, Overflow, Period, Reads, SortError, Totals,
};
use crate::error::ApiError;
use crate::reports::{self, ReportError};
use crate::state::AppState;
use crate::store::{FieldSet, FigureQuery, Owner, StoreError};

/// The ROI report's parameters. Each report has its own, so a parameter it does not take is
/// refused by name rather than ignored.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InfluencersQuery {
    /// First day (YYYY-MM-DD, in the reporting time zone); by default 29 days before `to`.
    from: Option<String>,
    /// Last day (YYYY-MM-DD); by default today.
    to: Option<String>,
    /// ISO 4217 code of the report's currency; by default the campaign's or `reports.currency`.
    currency: Option<String>,
    /// Only the figures of this campaign's links.
    campaign_id: Option<String>,
    /// The column rows are sorted by, such as `roi` (the default), `profit` or `handle`.
    sort: Option<String>,
    /// `asc` or `desc` (the default).
    order: Option<String>,
    /// `json` (the default) or `csv`; `Accept: text/csv` also asks for CSV.
    format: Option<String>,
}

/// The daily report's parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DailyQuery {
    /// First day (YYYY-MM-DD, in the reporting time zone); by default 29 days before `to`.
    from: Option<String>,
    /// Last day (YYYY-MM-DD); by default today.
    to: Option<String>,
    /// ISO 4217 code of the report's currency; by default `reports.currency`.
    currency: Option<String>,
    /// `json` (the default) or `csv`; `Accept: text/csv` also asks for CSV.
    format: Option<String>,
}

/// The link report's parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinksQuery {
    /// The influencer whose links are reported (required).
    influencer_id: Option<String>,
    /// First day (YYYY-MM-DD, in the reporting time zone); by default 29 days before `to`.
    from: Option<String>,
    /// Last day (YYYY-MM-DD); by default today.
    to: Option<String>,
    /// ISO 4217 code of the report's currency; by default `reports.currency`.
    currency: Option<String>,
}

fn period(state: &AppState, range: DateRange) -> Period {
    Period {
        from: range.from(),
        to: range.to(),
        time_zone: state.time_zone.name().to_owned(),
    }
}

/// The `currency` parameter, by default the server's report currency.
fn currency(state: &AppState, raw: Option<&str>) -> Result<Currency, ApiError> {
    match raw {
        Some(code) => Currency::parse(code)
            .map_err(|e| ApiError::bad_request("invalid_currency", format!("'currency': {e}"))),
        None => Ok(state.report_currency),
    }
}

/// Whether the client asked for CSV (`?format=csv`, or `Accept: text/csv`).
fn wants_csv(req: &HttpRequest, format: Option<&str>) -> Result<bool, ApiError> {
    match format {
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

/// A CSV response of rows already read: a header of `keys` then the figure columns, one
/// record per row.
fn csv_response<'a>(
    keys: &[&str],
    rows: impl IntoIterator<Item = (Vec<String>, &'a Figures)>,
    filename: &str,
) -> HttpResponse {
    let chunks = [body::csv_head(keys), body::csv_rows(rows)];
    body::csv_response(stream::iter(chunks), filename)
}

/// The fields of an influencer report before its rows.
#[derive(Serialize)]
struct InfluencerHead {
    #[serde(flatten)]
    period: Period,
    campaign_id: Option<CampaignId>,
    currency: Currency,
}

/// The fields of an influencer report after its rows.
#[derive(Serialize)]
struct InfluencerTail {
    totals: Figures,
    other_currencies: Vec<CurrencyTotals>,
}

/// `rows` a chunk at a time.
fn chunked<R>(rows: Vec<R>) -> impl Iterator<Item = Vec<R>> {
    let mut rows = rows.into_iter().peekable();
    std::iter::from_fn(move || {
        rows.peek()?;
        Some(rows.by_ref().take(body::ROWS_PER_CHUNK).collect())
    })
}

#[utoipa::path(
    operation_id = "reports_influencers",
    summary = "The ROI report, per influencer",
    params(InfluencersQuery),
    responses((status = 200, content((InfluencerReport = "application/json"), (String = "text/csv"))), Unknown)
)]
#[get("/reports/influencers")]
pub async fn influencers(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<InfluencersQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let csv = wants_csv(&req, query.format.as_deref())?;
    let Some(slot) = state.reports.enter().await else {
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
        _ => currency(&state, query.currency.as_deref())?,
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
        &range_reads(&state, range).await?,
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
    // Every figure is read: the slot is free for another report while this one is sent.
    drop(slot);
    if csv {
        let rows = chunked(rows).map(|chunk| {
            body::csv_rows(chunk.iter().map(|r| {
                (
                    vec![
                        r.influencer_id.clone().unwrap_or_default(),
                        r.handle.clone().unwrap_or_default(),
                    ],
                    &r.figures,
                )
            }))
        });
        let chunks = std::iter::once(body::csv_head(&["influencer_id", "handle"])).chain(rows);
        return Ok(body::csv_response(
            stream::iter(chunks),
            &format!("reftrack-influencers-{}-{}.csv", range.from(), range.to()),
        ));
    }
    let other_currencies = reports::other_currency_totals(&figures, &currencies)
        .map_err(|e| report_error(&state, e))?;
    let head = body::json_head(&InfluencerHead {
        period: period(&state, range),
        campaign_id: scope.campaign_id(),
        currency,
    });
    let tail = body::json_tail(&InfluencerTail {
        totals: Figures::new(&totals, currency),
        other_currencies,
    });
    let rows = chunked(rows)
        .enumerate()
        .map(|(i, chunk)| body::json_rows(&chunk, i == 0));
    let chunks = std::iter::once(head).chain(rows).chain([tail]);
    Ok(body::json_response(stream::iter(chunks)))
}

#[utoipa::path(
    operation_id = "reports_daily",
    summary = "One influencer's figures per day",
    params(("id" = String, Path, description = "influencer id"), DailyQuery),
    responses((status = 200, content((DailyReport = "application/json"), (String = "text/csv"))))
)]
#[get("/reports/influencers/{id}/daily")]
pub async fn daily(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: Query<DailyQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let currency = currency(&state, query.currency.as_deref())?;
    let csv = wants_csv(&req, query.format.as_deref())?;
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
        .map(|day| FieldSet::new(&Reads::day(*day), &[currency]))
        .collect();
    // Unique clicks over the whole period come from the period's sketches, not a sum of days.
    let whole = FieldSet::new(&range_reads(&state, range).await?, &[currency]);
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
        return Ok(csv_response(
            &["date"],
            rows.iter().map(|r| (vec![r.date.to_string()], &r.figures)),
            &format!("reftrack-{id}-daily-{}-{}.csv", range.from(), range.to()),
        ));
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
    params(LinksQuery),
    responses((status = 200, body = LinkReport))
)]
#[get("/reports/links")]
pub async fn links(
    state: web::Data<AppState>,
    query: Query<LinksQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let currency = currency(&state, query.currency.as_deref())?;
    let Some(raw) = &query.influencer_id else {
        return Err(ApiError::bad_request(
            "missing_influencer_id",
            "report links with ?influencer_id=<id>",
        ));
    };
    let id = existing_influencer(&state, raw).await?;
    let Some(slot) = state.reports.enter().await else {
        return Ok(busy(&state));
    };
    let codes = state.store.link_codes_of(&id).await?;
    let head = body::json_head(&LinkHead {
        period: period(&state, range),
        currency,
    });
    let links = LinkRows {
        fields: FieldSet::new(&range_reads(&state, range).await?, &[currency]),
        state,
        codes,
        at: 0,
        currency,
        totals: Totals::default(),
        done: false,
        _slot: slot,
    };
    let rows = stream::unfold(links, LinkRows::next);
    Ok(body::json_response(
        stream::once(async { head }).chain(rows),
    ))
}

/// The fields of a link report before its rows.
#[derive(Serialize)]
struct LinkHead {
    #[serde(flatten)]
    period: Period,
    currency: Currency,
}

/// The fields of a link report after its rows.
#[derive(Serialize)]
struct LinkTail {
    totals: Figures,
}

/// A link report's rows, read and sent [`body::ROWS_PER_CHUNK`] links at a time while the
/// report holds its slot, then its totals.
struct LinkRows {
    state: web::Data<AppState>,
    codes: Vec<LinkCode>,
    /// The first code not yet read.
    at: usize,
    fields: FieldSet,
    currency: Currency,
    totals: Totals,
    done: bool,
    _slot: OwnedSemaphorePermit,
}

impl LinkRows {
    async fn next(mut self) -> Option<(body::Chunk, Self)> {
        if self.done {
            return None;
        }
        if self.at >= self.codes.len() {
            self.done = true;
            let tail = body::json_tail(&LinkTail {
                totals: Figures::new(&self.totals, self.currency),
            });
            return Some((tail, self));
        }
        let end = self.codes.len().min(self.at + body::ROWS_PER_CHUNK);
        let chunk = self.rows(self.at, end).await;
        self.done = chunk.is_err();
        self.at = end;
        Some((chunk, self))
    }

    /// The rows of the links `from..to` of the report's codes.
    async fn rows(&mut self, from: usize, to: usize) -> body::Chunk {
        let state = &self.state;
        let records = state.store.links_by_code(&self.codes[from..to]).await?;
        let queries: Vec<FigureQuery<'_>> = records
            .iter()
            .map(|l| FigureQuery {
                owner: Owner::Link(l.code.as_str()),
                fields: &self.fields,
            })
            .collect();
        let figures = state.store.report_figures(&queries, &state.metrics).await?;
        let mut rows = Vec::with_capacity(records.len());
        for (link, owner) in records.iter().zip(&figures) {
            let t = owner.in_currency(0);
            self.totals.add(&t).map_err(overflow(state, "links"))?;
            rows.push(LinkRow {
                code: link.code.to_string(),
                influencer_id: link.influencer_id.to_string(),
                disabled: link.disabled,
                figures: Figures::new(&t, self.currency),
            });
        }
        body::json_rows(&rows, from == 0)
    }
}

/// The reads covering `range`, each month's sketch joined by its days not yet merged into it
/// (see `store/month_sketches.rs`). Where the record of merged days is unreadable or gone
/// (this process recorded one at start, so something removed it), every day of each month
/// read joins it: slower, and still exact.
async fn range_reads(state: &AppState, range: DateRange) -> Result<Reads, ApiError> {
    let today = today(state);
    let reads = Reads::of(range, today);
    let merged = match state.store.sketches_merged_through().await {
        Ok(Some(merged)) => merged,
        Ok(None) => {
            tracing::error!("the record of merged sketches is gone: reports join every day");
            NaiveDate::MIN
        }
        Err(StoreError::Corrupt { key, problem }) => {
            tracing::error!(%key, %problem, "unreadable record of merged sketches: reports join every day");
            NaiveDate::MIN
        }
        Err(e) => return Err(e.into()),
    };
    Ok(reads.with_unmerged_days(merged, today))
}
