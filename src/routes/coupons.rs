//! `/api/v1/influencers/{id}/coupons`: the discount codes that attribute orders to an
//! influencer. A code belongs to one influencer and matches case-insensitively.

use super::responses::Conflict;
use actix_web::{HttpResponse, web};
use actix_web::{delete, get, post};
use serde::{Deserialize, Serialize};

use super::input::{Json, Query, influencer_id};
use crate::domain::{CouponCode, InfluencerId};
use crate::error::ApiError;
use crate::pagination::{self, Cursor};
use crate::state::AppState;
use crate::store::AddCoupon;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCoupon {
    code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CouponView<'a> {
    code: &'a str,
    influencer_id: &'a str,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CouponList {
    influencer_id: String,
    coupons: Vec<String>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CouponsQuery {
    /// Codes per page: 1 to 1000, 100 by default.
    limit: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first.
    cursor: Option<String>,
}

fn code(raw: &str) -> Result<CouponCode, ApiError> {
    CouponCode::parse(raw).map_err(|e| ApiError::from(e).in_field("code", raw))
}

fn no_influencer(id: &InfluencerId) -> ApiError {
    ApiError::not_found("influencer_not_found", format!("no influencer {id}"))
}

#[utoipa::path(
    operation_id = "coupons_add",
    summary = "Give an influencer a coupon code",
    request_body = NewCoupon,
    params(("id" = String, Path, description = "influencer id")),
    responses((status = 201, body = CouponView), (status = 200, description = "already theirs", body = CouponView), Conflict)
)]
#[post("/influencers/{id}/coupons")]
pub async fn add(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<NewCoupon>,
) -> Result<HttpResponse, ApiError> {
    let id = influencer_id(&path)?;
    let code = code(&body.code)?;
    let view = CouponView {
        code: code.as_str(),
        influencer_id: id.as_str(),
    };
    match state.store.add_coupon(&id, &code).await? {
        AddCoupon::Added => Ok(HttpResponse::Created().json(view)),
        AddCoupon::AlreadyTheirs => Ok(HttpResponse::Ok().json(view)),
        AddCoupon::NoSuchInfluencer => Err(no_influencer(&id)),
        AddCoupon::InfluencerDisabled => Err(ApiError::conflict(
            "influencer_disabled",
            format!("influencer {id} is disabled; enable them to give them a coupon"),
        )),
        AddCoupon::TakenBy(owner) => Err(ApiError::conflict(
            "coupon_taken",
            format!("the coupon '{code}' belongs to influencer {owner}"),
        )),
    }
}

#[utoipa::path(
    operation_id = "coupons_list",
    summary = "List an influencer's coupon codes, alphabetically, a page at a time",
    params(("id" = String, Path, description = "influencer id"), CouponsQuery),
    responses((status = 200, body = CouponList))
)]
#[get("/influencers/{id}/coupons")]
pub async fn list(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query<CouponsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit.as_deref())?;
    let cursor = Cursor::from_query(query.cursor.as_deref())?;
    let id = influencer_id(&path)?;
    if state.store.influencer(&id).await?.is_none() {
        return Err(no_influencer(&id));
    }
    let page = pagination::page_of(
        state.store.coupons_of(&id).await?,
        |code| Cursor {
            score: 0,
            member: code.clone(),
        },
        cursor.as_ref(),
        limit,
    );
    Ok(HttpResponse::Ok().json(CouponList {
        influencer_id: id.to_string(),
        coupons: page.items,
        next_cursor: page.next.as_ref().map(Cursor::encode),
    }))
}

#[utoipa::path(
    operation_id = "coupons_remove",
    summary = "Take a coupon code from an influencer",
    params(("id" = String, Path, description = "influencer id"), ("code" = String, Path, description = "coupon code")),
    responses((status = 204, description = "removed"))
)]
#[delete("/influencers/{id}/coupons/{code}")]
pub async fn remove(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_id, raw_code) = path.into_inner();
    let id = influencer_id(&raw_id)?;
    let code =
        CouponCode::named(&raw_code).map_err(|e| ApiError::from(e).in_field("code", &raw_code))?;
    if state.store.remove_coupon(&id, &code).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(
            "coupon_not_found",
            format!("influencer {id} has no coupon '{code}'"),
        ))
    }
}
