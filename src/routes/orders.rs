//! `/api/v1/orders`: an influencer's orders with how each was attributed, so a marketer can
//! audit a commission. `influencer_id=unattributed` lists the orders nobody earned, and
//! `review=held` the orders held for review (the review queue), whoever they belong to.

use actix_web::get;
use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::input::{influencer_id, range};
use super::order_view::{OrderView, view};
use crate::domain::InfluencerId;
use crate::error::ApiError;
use crate::pagination::{self, Cursor};
use crate::state::AppState;
use crate::store::Owner;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// An influencer id, or `unattributed`; not with `review`.
    influencer_id: Option<String>,
    /// `held`: the orders held for review, of every influencer.
    review: Option<String>,
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

/// Which orders a list shows.
enum Listing {
    Owner(Option<InfluencerId>),
    Held,
}

fn listing(query: &OrdersQuery) -> Result<Listing, ApiError> {
    match (query.influencer_id.as_deref(), query.review.as_deref()) {
        (None, Some("held")) => Ok(Listing::Held),
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "invalid_query",
            "give either influencer_id or review=held, not both",
        )),
        (None, Some(other)) => Err(ApiError::bad_request(
            "invalid_review",
            format!("review '{other}' is not a queue; the only one is review=held"),
        )),
        (None, None) => Err(ApiError::bad_request(
            "missing_influencer_id",
            "list orders with ?influencer_id=<id>, ?influencer_id=unattributed or ?review=held",
        )),
        (Some("unattributed"), None) => Ok(Listing::Owner(None)),
        (Some(raw), None) => Ok(Listing::Owner(Some(influencer_id(raw)?))),
    }
}

#[utoipa::path(
    operation_id = "orders_list",
    summary = "An influencer's orders, or the orders held for review, and how each was attributed, a page at a time",
    params(OrdersQuery),
    responses((status = 200, body = OrderList))
)]
#[get("/orders")]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<OrdersQuery>,
) -> Result<HttpResponse, ApiError> {
    let listing = listing(&query)?;
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let limit = pagination::limit(query.limit.as_deref())?;
    let cursor = Cursor::from_query(query.cursor.as_deref())?;
    let from_ms = day_start_ms(range.from(), state.time_zone);
    let to_ms = range
        .to()
        .succ_opt()
        .map_or(i64::MAX, |next| day_start_ms(next, state.time_zone) - 1);
    let (influencer, review, page) = match listing {
        Listing::Held => {
            let page = state
                .store
                .held_orders(from_ms, to_ms, cursor.as_ref(), limit, &state.metrics)
                .await?;
            (None, Some("held"), page)
        }
        Listing::Owner(influencer) => {
            let owner = influencer
                .as_ref()
                .map_or(Owner::Unattributed, |id| Owner::Influencer(id.as_str()));
            let page = state
                .store
                .orders_of(
                    owner,
                    from_ms,
                    to_ms,
                    cursor.as_ref(),
                    limit,
                    &state.metrics,
                )
                .await?;
            (influencer, None, page)
        }
    };
    Ok(HttpResponse::Ok().json(OrderList {
        influencer_id: influencer,
        review,
        from: range.from(),
        to: range.to(),
        orders: page.items.iter().filter_map(view).collect(),
        next_cursor: page.next.as_ref().map(Cursor::encode),
    }))
}
