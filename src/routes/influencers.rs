//! `/api/v1/influencers`: create, list, get, update and disable influencers.

use super::responses::Conflict;
use actix_web::{HttpResponse, web};
use actix_web::{delete, get, patch, post};
use serde::{Deserialize, Serialize};

use super::input::{Json, Query, flag, influencer_id, not_null, nullable, text};
use super::output::timestamp;
use crate::domain::{Commission, CommissionInput, Handle, InfluencerId, code_point, hidden_char};
use crate::error::ApiError;
use crate::pagination::{self, Cursor};
use crate::state::AppState;
use crate::store::{Change, InfluencerRecord, SaveInfluencer};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInfluencer {
    handle: String,
    name: Option<String>,
    platform: Option<String>,
    /// 0 to 10,000,000,000. Read as any JSON number, so one out of range or not whole is
    /// refused with the range rather than a type's bounds.
    #[schema(value_type = Option<u64>, maximum = 10_000_000_000_u64)]
    followers: Option<serde_json::Number>,
    commission: Option<CommissionInput>,
    /// The influencer's own e-mail address, to flag orders they place through their own
    /// link or code (`self_referral`). Only a keyed hash of it is stored; it is never shown.
    email: Option<String>,
}

/// Fields to change; `null` clears an optional field.
#[allow(
    clippy::option_option,
    reason = "absent, null and a value mean three different things"
)]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfluencerPatch {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    handle: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    platform: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u64>, maximum = 10_000_000_000_u64)]
    followers: Option<Option<serde_json::Number>>,
    #[serde(default, deserialize_with = "nullable")]
    commission: Option<Option<CommissionInput>>,
    #[serde(default, deserialize_with = "nullable")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    disabled: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InfluencerView {
    id: String,
    handle: String,
    name: Option<String>,
    platform: Option<String>,
    followers: Option<u64>,
    commission: Option<CommissionInput>,
    /// Whether an e-mail address is set (only its hash is kept).
    has_email: bool,
    disabled: bool,
    created_at: String,
}

impl From<&InfluencerRecord> for InfluencerView {
    fn from(r: &InfluencerRecord) -> Self {
        Self {
            id: r.id.to_string(),
            handle: r.handle.to_string(),
            name: r.name.clone(),
            platform: r.platform.clone(),
            followers: r.followers,
            commission: r.commission.map(Commission::to_input),
            has_email: r.email_hash.is_some(),
            disabled: r.disabled,
            created_at: timestamp(r.created_ms),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct InfluencerList {
    influencers: Vec<InfluencerView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InfluencersQuery {
    /// `true`: only disabled influencers; `false`: only active ones.
    disabled: Option<String>,
    /// Influencers per page: 1 to 1000, 100 by default.
    limit: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first.
    cursor: Option<String>,
}

fn handle(raw: &str) -> Result<Handle, ApiError> {
    Handle::parse(raw).map_err(|e| ApiError::from(e).in_field("handle", raw))
}

/// Most followers an account can plausibly have; a larger number is a mistake.
const MAX_FOLLOWERS: u64 = 10_000_000_000;

fn followers(count: &serde_json::Number) -> Result<u64, ApiError> {
    count
        .as_u64()
        .filter(|n| *n <= MAX_FOLLOWERS)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_field",
                format!(
                    "'followers' must be a whole number from 0 to {MAX_FOLLOWERS}, not {count}"
                ),
            )
        })
}

/// The keyed hash of an influencer's e-mail address, checked for a plausible shape.
fn email_hash(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let email = raw.trim();
    if email.is_empty()
        || email.len() > 254
        || !email.contains('@')
        || email.chars().any(char::is_whitespace)
    {
        return Err(ApiError::bad_request(
            "invalid_field",
            "'email' must be an e-mail address (name@domain), at most 254 characters",
        ));
    }
    if let Some(c) = hidden_char(email, false) {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!(
                "'email' must not contain {}, a character no one can see",
                code_point(c)
            ),
        ));
    }
    Ok(state.orders.trust().email_hash(email))
}

fn commission(input: &CommissionInput) -> Result<Commission, ApiError> {
    Commission::try_from(input).map_err(|e| ApiError::from(e).in_field("commission", ""))
}

fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    value.map(|v| text(field, v, max)).transpose()
}

async fn existing(state: &AppState, raw_id: &str) -> Result<InfluencerRecord, ApiError> {
    let id = influencer_id(raw_id)?;
    state
        .store
        .influencer(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("influencer_not_found", format!("no influencer {id}")))
}

fn handle_taken(handle: &Handle) -> ApiError {
    ApiError::conflict(
        "handle_taken",
        format!("the handle '{handle}' is already registered"),
    )
}

#[utoipa::path(
    operation_id = "influencers_create",
    summary = "Register an influencer",
    request_body = NewInfluencer,
    responses((status = 201, body = InfluencerView), Conflict)
)]
#[post("/influencers")]
pub async fn create(
    state: web::Data<AppState>,
    body: Json<NewInfluencer>,
) -> Result<HttpResponse, ApiError> {
    let record = InfluencerRecord {
        id: InfluencerId::generate(),
        handle: handle(&body.handle)?,
        name: optional_text("name", body.name.as_deref(), 200)?,
        platform: optional_text("platform", body.platform.as_deref(), 50)?,
        followers: body.followers.as_ref().map(followers).transpose()?,
        commission: body.commission.as_ref().map(commission).transpose()?,
        email_hash: body
            .email
            .as_deref()
            .map(|e| email_hash(&state, e))
            .transpose()?,
        disabled: false,
        created_ms: chrono::Utc::now().timestamp_millis(),
    };
    match state.store.create_influencer(&record).await? {
        SaveInfluencer::Saved => Ok(HttpResponse::Created().json(InfluencerView::from(&record))),
        SaveInfluencer::HandleTaken => Err(handle_taken(&record.handle)),
        outcome => Err(ApiError::conflict(
            "influencer_exists",
            format!("could not create the influencer ({outcome:?}); retry"),
        )),
    }
}

#[utoipa::path(
    operation_id = "influencers_list",
    summary = "List influencers, oldest first, a page at a time",
    params(InfluencersQuery),
    responses((status = 200, body = InfluencerList))
)]
#[get("/influencers")]
pub async fn list(
    state: web::Data<AppState>,
    query: Query<InfluencersQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit.as_deref())?;
    let cursor = Cursor::from_query(query.cursor.as_deref())?;
    let disabled = flag("disabled", query.disabled.as_deref())?;
    let page = state
        .store
        .influencers_page(cursor.as_ref(), limit, |i| {
            disabled.is_none_or(|d| i.disabled == d)
        })
        .await?;
    Ok(HttpResponse::Ok().json(InfluencerList {
        influencers: page.items.iter().map(InfluencerView::from).collect(),
        next_cursor: page.next.as_ref().map(Cursor::encode),
    }))
}

#[utoipa::path(
    operation_id = "influencers_get",
    summary = "Get an influencer",
    params(("id" = String, Path, description = "influencer id")),
    responses((status = 200, body = InfluencerView))
)]
#[get("/influencers/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = existing(&state, &id).await?;
    Ok(HttpResponse::Ok().json(InfluencerView::from(&record)))
}

#[utoipa::path(
    operation_id = "influencers_update",
    summary = "Change an influencer",
    request_body = InfluencerPatch,
    params(("id" = String, Path, description = "influencer id")),
    responses((status = 200, body = InfluencerView), Conflict)
)]
#[patch("/influencers/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    patch: Json<InfluencerPatch>,
) -> Result<HttpResponse, ApiError> {
    let mut record = existing(&state, &id).await?;
    let patch = patch.into_inner();
    if let Some(h) = &patch.handle {
        record.handle = handle(h)?;
    }
    if let Some(name) = patch.name {
        record.name = optional_text("name", name.as_deref(), 200)?;
    }
    if let Some(platform) = patch.platform {
        record.platform = optional_text("platform", platform.as_deref(), 50)?;
    }
    if let Some(count) = &patch.followers {
        record.followers = count.as_ref().map(followers).transpose()?;
    }
    if let Some(c) = patch.commission {
        record.commission = c.as_ref().map(commission).transpose()?;
    }
    if let Some(email) = patch.email {
        record.email_hash = email
            .as_deref()
            .map(|e| email_hash(&state, e))
            .transpose()?;
    }
    if let Some(disabled) = patch.disabled {
        record.disabled = disabled;
    }
    save(&state, &record).await
}

/// Disables an influencer: their links stop redirecting; their history stays in reports.
#[utoipa::path(
    operation_id = "influencers_disable",
    summary = "Disable an influencer",
    params(("id" = String, Path, description = "influencer id")),
    responses((status = 200, body = InfluencerView))
)]
#[delete("/influencers/{id}")]
pub async fn disable(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut record = existing(&state, &id).await?;
    record.disabled = true;
    save(&state, &record).await
}

async fn save(state: &AppState, record: &InfluencerRecord) -> Result<HttpResponse, ApiError> {
    match state.store.update_influencer(record).await? {
        SaveInfluencer::Saved => {
            state.links.apply(&Change::Influencer(record.id.clone()));
            Ok(HttpResponse::Ok().json(InfluencerView::from(record)))
        }
        SaveInfluencer::HandleTaken => Err(handle_taken(&record.handle)),
        _ => Err(ApiError::not_found(
            "influencer_not_found",
            format!("no influencer {}", record.id),
        )),
    }
}
