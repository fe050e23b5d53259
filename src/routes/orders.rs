//! `/api/v1/orders`: orders with how each was attributed, so a marketer can audit a
//! commission: everyone's, one influencer's, the unattributed (`influencer_id=unattributed`),
//! or the orders held for review (`review=held`, the review queue).

use actix_web::get;
use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::input::{Query, campaign_of, existing_influencer, range};
use super::order_view::{OrderView, view};
use crate::domain::InfluencerId;
use crate::error::ApiError;
use crate::pagination::{self, Cursor, Page};
use crate::state::AppState;
use crate::store::Owner;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    /// Only this influencer's orders (`unattributed`: the orders nobody earned); absent: all.
    influencer_id: Option<String>,
    /// `held`: only the orders held for review, of every influencer (not with
    /// `influencer_id`).
    review: Option<String>,
    /// Only orders attributed through this campaign's links (a page may then hold fewer than
    /// `limit`; follow `next_cursor` to the end).
    campaign_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Orders per page: 1 to 1000, 100 by default.
    limit: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first.
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct OrderList {
    #[schema(value_type = Option<String>)]
    influencer_id: Option<InfluencerId>,
    /// `held` for the review queue.
    review: Option<&'static str>,
    from: NaiveDate,
    to: NaiveDate,
    orders: Vec<OrderView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// Milliseconds of the start of a local day.
fn day_start_ms(day: NaiveDate, tz: Tz) -> i64 {
    tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map_or(i64::MIN, |t| t.timestamp_millis())
}

/// Whether the list is the review queue.
fn held_queue(query: &OrdersQuery) -> Result<bool, ApiError> {
    match (query.review.as_deref(), &query.influencer_id) {
        (None, _) => Ok(false),
        (Some("held"), None) => Ok(true),
        (Some("held"), Some(_)) => Err(ApiError::bad_request(
            "invalid_query",
            "review=held lists every influencer's held orders; leave out influencer_id",
        )),
        (Some(other), _) => Err(ApiError::bad_request(
            "invalid_review",
            format!("review '{other}' is not a queue; the only one is review=held"),
        )),
    }
}

#[utoipa::path(
    operation_id = "orders_list",
    summary = "Orders and how each was attributed, oldest first, a page at a time: all, one influencer's, the unattributed, or those held for review",
    params(OrdersQuery),
    responses((status = 200, body = OrderList))
)]
#[get("/orders")]
pub async fn list(
    state: web::Data<AppState>,
    query: Query<OrdersQuery>,
) -> Result<HttpResponse, ApiError> {
    let held = held_queue(&query)?;
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let limit = pagination::limit(query.limit.as_deref())?;
    let cursor = Cursor::from_query(query.cursor.as_deref())?;
    let campaign = match query.campaign_id.as_deref() {
        Some(raw) => Some(campaign_of(&state, raw).await?.id),
        None => None,
    };
    let from_ms = day_start_ms(range.from(), state.time_zone);
    let to_ms = range
        .to()
        .succ_opt()
        .map_or(i64::MAX, |next| day_start_ms(next, state.time_zone) - 1);
    let (influencer, page) = if held {
        let page = state
            .store
            .held_orders(from_ms, to_ms, cursor.as_ref(), limit, &state.metrics)
            .await?;
        (None, page)
    } else {
        owners_page(&state, &query, (from_ms, to_ms), cursor.as_ref(), limit).await?
    };
    Ok(HttpResponse::Ok().json(OrderList {
        influencer_id: influencer,
        review: held.then_some("held"),
        from: range.from(),
        to: range.to(),
        orders: page
            .items
            .iter()
            .filter(|o| {
                campaign.as_ref().is_none_or(|c| {
                    o.attribution
                        .as_ref()
                        .is_some_and(|a| a.campaign_id.as_ref() == Some(c))
                })
            })
            .filter_map(view)
            .collect(),
        next_cursor: page.next.as_ref().map(Cursor::encode),
    }))
}

/// A page of the orders of the influencer the query names, the unattributed, or everyone.
async fn owners_page(
    state: &AppState,
    query: &OrdersQuery,
    (from_ms, to_ms): (i64, i64),
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<(Option<InfluencerId>, Page<crate::domain::Order>), ApiError> {
    let (influencer, everyone) = match query.influencer_id.as_deref() {
        None => (None, state.store.influencers().await?),
        Some("unattributed") => (None, Vec::new()),
        Some(raw) => (Some(existing_influencer(state, raw).await?), Vec::new()),
    };
    let owners: Vec<Owner<'_>> = match (&influencer, query.influencer_id.is_some()) {
        (Some(id), _) => vec![Owner::Influencer(id.as_str())],
        (None, true) => vec![Owner::Unattributed],
        (None, false) => everyone
            .iter()
            .map(|i| Owner::Influencer(i.id.as_str()))
            .chain([Owner::Unattributed])
            .collect(),
    };
    let page = state
        .store
        .orders_of(&owners, from_ms, to_ms, cursor, limit, &state.metrics)
        .await?;
    Ok((influencer, page))
}
