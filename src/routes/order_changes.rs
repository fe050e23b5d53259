//! `/api/v1/orders/{order_key}/attribution` and `/review`: a marketer moves an order to
//! another influencer (or to unattributed), or decides on an order held for review. Both
//! answer with the order and its history. `order_key` is the key the order list shows
//! (`shopify:1001`), percent-encoded in the path (`shopify%3A1001`; a literal `:` works too).

use actix_web::{HttpResponse, post, put, web};
use serde::Deserialize;

use super::input::{Json, clipped, influencer_id, nullable, text};
use super::order_view::{OrderView, view};
use super::responses::Conflict;
use crate::domain::{Decision, MAX_NOTE_CHARS, Order, OrderKey, ReviewError};
use crate::error::ApiError;
use crate::orders::{ChangeError, IngestError};
use crate::state::AppState;

/// Longest order key accepted (a platform, `test:` and a shop's id of up to 128 characters).
const MAX_KEY_LEN: usize = 160;

#[allow(
    clippy::option_option,
    reason = "absent (refused), null (unattributed) and an id mean three different things"
)]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributionChange {
    /// The influencer to credit; `null` moves the order to unattributed. Required: a body
    /// without it would otherwise read as `null` and take the order from its influencer.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, required = true)]
    influencer_id: Option<Option<String>>,
    /// Why (kept in the order's history), up to 500 characters.
    note: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    /// `approve` counts the order for its influencer; `deny` moves it to unattributed.
    decision: Decision,
    note: Option<String>,
}

fn order_key(raw: &str) -> Result<OrderKey, ApiError> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_KEY_LEN
        && raw.contains(':')
        && !raw.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(OrderKey::from_stored(raw))
    } else {
        Err(ApiError::bad_request(
            "invalid_order_key",
            format!(
                "'{}' is not an order key; use the order_key the order list shows \
                 (platform:id, e.g. shopify%3A1001)",
                clipped(raw)
            ),
        ))
    }
}

fn note(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    raw.map(|n| text("note", n, MAX_NOTE_CHARS)).transpose()
}

fn answer(key: &OrderKey, order: &Order) -> Result<HttpResponse, ApiError> {
    let shown: OrderView = view(order).ok_or_else(|| not_placed(key))?;
    Ok(HttpResponse::Ok().json(shown))
}

fn not_placed(key: &OrderKey) -> ApiError {
    ApiError::conflict(
        "order_not_placed",
        format!(
            "order {} has no amounts yet (only a refund or cancellation arrived); it can be changed once placed",
            key.as_str()
        ),
    )
}

fn refused(key: &OrderKey, e: ChangeError) -> ApiError {
    match e {
        ChangeError::NotFound => {
            ApiError::not_found("order_not_found", format!("no order {}", key.as_str()))
        }
        ChangeError::NotPlaced | ChangeError::Review(ReviewError::NotAttributed) => not_placed(key),
        ChangeError::UnknownInfluencer => ApiError::unprocessable(
            "unknown_influencer",
            "influencer_id names no influencer; give an existing id or null for unattributed",
        ),
        ChangeError::Review(ReviewError::NotHeld) => ApiError::conflict(
            "not_held",
            format!("order {} is not held for review", key.as_str()),
        ),
        ChangeError::Ingest(IngestError::Store(e)) => e.into(),
        ChangeError::Ingest(e) => ApiError::client(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            e.to_string(),
        ),
    }
}

#[utoipa::path(
    operation_id = "orders_reattribute",
    summary = "Move an order to another influencer or to unattributed; figures move once",
    params(("order_key" = String, Path, description = "the order's key as the order list shows it (platform:id), percent-encoded")),
    request_body = AttributionChange,
    responses((status = 200, body = OrderView), Conflict)
)]
#[put("/orders/{order_key}/attribution")]
pub async fn reattribute(
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<AttributionChange>,
) -> Result<HttpResponse, ApiError> {
    let key = order_key(&key)?;
    let to = body
        .influencer_id
        .as_ref()
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_json",
                "'influencer_id' is required: an influencer id, or null to move the order to \
                 unattributed",
            )
        })?
        .as_deref()
        .map(influencer_id)
        .transpose()?;
    let note = note(body.note.as_deref())?;
    let order = state
        .orders
        .reattribute(&key, to, note)
        .await
        .map_err(|e| refused(&key, e))?;
    answer(&key, &order)
}

#[utoipa::path(
    operation_id = "orders_review",
    summary = "Approve or deny an order held for review",
    params(("order_key" = String, Path, description = "the order's key as the order list shows it (platform:id), percent-encoded")),
    request_body = ReviewDecision,
    responses((status = 200, body = OrderView), Conflict)
)]
#[post("/orders/{order_key}/review")]
pub async fn review(
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<ReviewDecision>,
) -> Result<HttpResponse, ApiError> {
    let key = order_key(&key)?;
    let note = note(body.note.as_deref())?;
    let order = state
        .orders
        .review(&key, body.decision, note)
        .await
        .map_err(|e| refused(&key, e))?;
    answer(&key, &order)
}
