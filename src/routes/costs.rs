//! `/api/v1/influencers/{id}/costs`: fees, gifted products, shipping and other costs, the part
//! of an influencer's price that is not commission.

use super::responses::{Conflict, Unknown};
use actix_web::{HttpResponse, web};
use actix_web::{delete, get, post};
use chrono::Datelike;
use serde::{Deserialize, Serialize};

use super::input::{Json, Query, campaign_of, clipped, influencer_id, text};
use super::output::timestamp;
use crate::domain::{
    CampaignId, Cost, CostId, CostKind, Currency, DateRange, DecimalText, InfluencerId,
};
use crate::error::ApiError;
use crate::pagination::{self, Cursor};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCost {
    amount: DecimalText,
    currency: String,
    kind: CostKind,
    note: Option<String>,
    date: String,
    campaign_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CostView {
    id: String,
    influencer_id: String,
    amount: String,
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
    kind: CostKind,
    note: Option<String>,
    date: String,
    #[schema(value_type = Option<String>)]
    campaign_id: Option<CampaignId>,
    created_at: String,
}

impl From<&Cost> for CostView {
    fn from(c: &Cost) -> Self {
        Self {
            id: c.id.as_str().to_owned(),
            influencer_id: c.influencer_id.to_string(),
            amount: c.currency.format(c.amount),
            currency: c.currency,
            kind: c.kind,
            note: c.note.clone(),
            date: c.date.to_string(),
            campaign_id: c.campaign_id.clone(),
            created_at: timestamp(c.created_ms),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct CostList {
    influencer_id: String,
    costs: Vec<CostView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CostsQuery {
    /// Costs per page: 1 to 1000, 100 by default.
    limit: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first.
    cursor: Option<String>,
}

/// Where a cost sorts: by its day, then by when it was recorded (the id breaks ties).
fn cost_cursor(cost: &Cost) -> Cursor {
    Cursor {
        score: i64::from(cost.date.num_days_from_ce()),
        member: format!("{:020}:{}", cost.created_ms.max(0), cost.id.as_str()),
    }
}

async fn existing(state: &AppState, raw: &str) -> Result<InfluencerId, ApiError> {
    let id = influencer_id(raw)?;
    match state.store.influencer(&id).await? {
        Some(_) => Ok(id),
        None => Err(ApiError::not_found(
            "influencer_not_found",
            format!("no influencer {id}"),
        )),
    }
}

#[utoipa::path(
    operation_id = "costs_add",
    summary = "Record a cost",
    request_body = NewCost,
    params(("id" = String, Path, description = "influencer id")),
    responses((status = 201, body = CostView), Conflict, Unknown)
)]
#[post("/influencers/{id}/costs")]
pub async fn add(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<NewCost>,
) -> Result<HttpResponse, ApiError> {
    let currency = Currency::parse(&body.currency)
        .map_err(|e| ApiError::from(e).in_field("currency", &body.currency))?;
    let amount = currency
        .amount(&body.amount.text())
        .map_err(|e| ApiError::from(e).in_field("amount", &body.amount.text()))?;
    let date = DateRange::parse_day(&body.date)
        .map_err(|e| ApiError::bad_request("invalid_date", format!("'date': {e}")))?;
    let cost = Cost {
        id: CostId::generate(),
        influencer_id: existing(&state, &path).await?,
        amount,
        currency,
        kind: body.kind,
        note: body
            .note
            .as_deref()
            .map(|n| text("note", n, 500))
            .transpose()?,
        date,
        campaign_id: match body.campaign_id.as_deref() {
            Some(raw) => Some(campaign_of(&state, raw).await?.id),
            None => None,
        },
        created_ms: chrono::Utc::now().timestamp_millis(),
    };
    if !state.store.add_cost(&cost).await? {
        return Err(ApiError::conflict(
            "cost_exists",
            "could not record the cost; retry",
        ));
    }
    Ok(HttpResponse::Created().json(CostView::from(&cost)))
}

#[utoipa::path(
    operation_id = "costs_list",
    summary = "List an influencer's costs by date, a page at a time",
    params(("id" = String, Path, description = "influencer id"), CostsQuery),
    responses((status = 200, body = CostList))
)]
#[get("/influencers/{id}/costs")]
pub async fn list(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query<CostsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit.as_deref())?;
    let cursor = Cursor::from_query(query.cursor.as_deref())?;
    let id = existing(&state, &path).await?;
    let page = pagination::page_of(
        state.store.costs_of(&id).await?,
        cost_cursor,
        cursor.as_ref(),
        limit,
    );
    Ok(HttpResponse::Ok().json(CostList {
        influencer_id: id.to_string(),
        costs: page.items.iter().map(CostView::from).collect(),
        next_cursor: page.next.as_ref().map(Cursor::encode),
    }))
}

#[utoipa::path(
    operation_id = "costs_delete",
    summary = "Delete a cost",
    params(("id" = String, Path, description = "influencer id"), ("cost_id" = String, Path, description = "cost id")),
    responses((status = 204, description = "deleted"))
)]
#[delete("/influencers/{id}/costs/{cost_id}")]
pub async fn delete(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_id, raw_cost) = path.into_inner();
    let id = influencer_id(&raw_id)?;
    let cost_id = CostId::parse(&raw_cost).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_cost_id",
            format!(
                "'{}' is not a cost id (cost_ and letters or digits)",
                clipped(&raw_cost)
            ),
        )
    })?;
    if state.store.delete_cost(&id, &cost_id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(
            "cost_not_found",
            format!("influencer {id} has no cost {cost_id}"),
        ))
    }
}
