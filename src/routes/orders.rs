//! `/api/v1/orders`: an influencer's orders with how each was attributed, so a marketer can
//! audit a commission. `influencer_id=unattributed` lists the orders nobody earned.

use actix_web::get;
use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::input::{campaign_of, influencer_id, range};
use super::output::timestamp;
use crate::domain::{
    AttributedBy, AttributionReason, CampaignId, Commission, CommissionInput, InfluencerId, Order,
    OrderStatus,
};
use crate::error::ApiError;
use crate::pagination::{self, Cursor};
use crate::state::AppState;
use crate::store::Owner;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// Only this influencer's orders (`unattributed`: the orders nobody earned); absent: all.
    influencer_id: Option<String>,
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
struct OrderView {
    order_key: String,
    platform: &'static str,
    order_id: String,
    status: OrderStatus,
    test: bool,
    /// Whether the order is in revenue: placed, not a test, and qualified.
    counted: bool,
    occurred_at: String,
    currency: String,
    revenue: String,
    refunds: String,
    net_revenue: String,
    commission: String,
    attribution: Option<AttributionView>,
    updated_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct AttributionView {
    by: AttributedBy,
    reason: AttributionReason,
    #[schema(value_type = Option<String>)]
    influencer_id: Option<InfluencerId>,
    qualified: bool,
    click_id: Option<String>,
    link_code: Option<String>,
    #[schema(value_type = Option<String>)]
    campaign_id: Option<CampaignId>,
    coupon: Option<String>,
    /// The influencer the other signal pointed at, when click and coupon disagreed.
    #[schema(value_type = Option<String>)]
    overruled: Option<InfluencerId>,
    commission_rule: Option<CommissionInput>,
    /// Commission on the full revenue when the order was attributed, before any refund.
    commission_at_attribution: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct OrderList {
    #[schema(value_type = Option<String>)]
    influencer_id: Option<InfluencerId>,
    from: NaiveDate,
    to: NaiveDate,
    orders: Vec<OrderView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

fn view(order: &Order) -> Option<OrderView> {
    let facts = order.facts.as_ref()?;
    let currency = facts.currency;
    let refunds = order.refunded();
    let figures = order.figures();
    let attribution = order.attribution.clone().map(|a| AttributionView {
        by: a.by,
        reason: a.reason,
        influencer_id: a.influencer_id,
        qualified: a.qualified,
        click_id: a.click_id,
        link_code: a.link_code,
        campaign_id: a.campaign_id,
        coupon: a.coupon,
        overruled: a.overruled,
        commission_rule: a
            .commission_rule
            .as_deref()
            .and_then(|r| Commission::from_stored(r).ok())
            .map(Commission::to_input),
        commission_at_attribution: currency.format(a.commission),
    });
    Some(OrderView {
        order_key: order.key.clone(),
        platform: order.platform.label(),
        order_id: facts.order_id.clone(),
        status: order.status,
        test: facts.test,
        counted: order.counts(),
        occurred_at: timestamp(facts.occurred_ms),
        currency: currency.to_string(),
        revenue: currency.format(facts.revenue),
        refunds: currency.format(refunds),
        net_revenue: currency.format(facts.revenue - refunds),
        commission: currency.format(figures.commission),
        attribution,
        updated_at: timestamp(order.updated_ms),
    })
}

/// Milliseconds of the start of a local day.
fn day_start_ms(day: NaiveDate, tz: Tz) -> i64 {
    tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map_or(i64::MIN, |t| t.timestamp_millis())
}

#[utoipa::path(
    operation_id = "orders_list",
    summary = "Orders and how each was attributed, oldest first, a page at a time: all, one influencer's, or the unattributed",
    params(OrdersQuery),
    responses((status = 200, body = OrderList))
)]
#[get("/orders")]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<OrdersQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, query.from.as_deref(), query.to.as_deref())?;
    let limit = pagination::limit(query.limit.as_deref())?;
    let cursor = Cursor::from_query(query.cursor.as_deref())?;
    let campaign = match query.campaign_id.as_deref() {
        Some(raw) => Some(campaign_of(&state, raw).await?.id),
        None => None,
    };
    let (influencer, everyone) = match query.influencer_id.as_deref() {
        None => (None, state.store.influencers().await?),
        Some("unattributed") => (None, Vec::new()),
        Some(raw) => (Some(influencer_id(raw)?), Vec::new()),
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
    let from_ms = day_start_ms(range.from(), state.time_zone);
    let to_ms = range
        .to()
        .succ_opt()
        .map_or(i64::MAX, |next| day_start_ms(next, state.time_zone) - 1);
    let page = state
        .store
        .orders_of(
            &owners,
            from_ms,
            to_ms,
            cursor.as_ref(),
            limit,
            &state.metrics,
        )
        .await?;
    Ok(HttpResponse::Ok().json(OrderList {
        influencer_id: influencer,
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
