//! `/api/v1/campaigns`: create, list and get campaigns. Links, costs and (through their links)
//! orders may belong to one; its `allowed_domains` restrict its links' destinations.

use super::responses::Conflict;
use actix_web::{HttpResponse, web};
use actix_web::{get, post};
use serde::{Deserialize, Serialize};

use super::input::{Json, Query, clipped, text};
use super::output::timestamp;
use crate::domain::{Campaign, CampaignId, Currency};
use crate::error::ApiError;
use crate::pagination::{self, Cursor};
use crate::state::AppState;

/// Most domains one campaign may list.
const MAX_DOMAINS: usize = 100;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    name: String,
    currency: String,
    /// 1 to `clicks.attribution_window_days`. Read as any whole number, so one out of range
    /// is refused with the range rather than a type's bounds.
    #[schema(value_type = Option<u32>, minimum = 1)]
    attribution_window_days: Option<i64>,
    #[serde(default)]
    allowed_domains: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CampaignView<'a> {
    #[schema(value_type = String)]
    id: &'a CampaignId,
    name: &'a str,
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
    attribution_window_days: Option<u32>,
    #[schema(value_type = Vec<String>)]
    allowed_domains: &'a [String],
    created_at: String,
}

impl<'a> From<&'a Campaign> for CampaignView<'a> {
    fn from(c: &'a Campaign) -> Self {
        Self {
            id: &c.id,
            name: &c.name,
            currency: c.currency,
            attribution_window_days: c.attribution_window_days,
            allowed_domains: &c.allowed_domains,
            created_at: timestamp(c.created_ms),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct CampaignList<'a> {
    campaigns: Vec<CampaignView<'a>>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CampaignsQuery {
    /// Campaigns per page: 1 to 1000, 100 by default.
    limit: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first.
    cursor: Option<String>,
}

#[utoipa::path(
    operation_id = "campaigns_create",
    summary = "Create a campaign",
    request_body = NewCampaign,
    responses((status = 201, body = CampaignView), Conflict)
)]
#[post("/campaigns")]
pub async fn create(
    state: web::Data<AppState>,
    body: Json<NewCampaign>,
) -> Result<HttpResponse, ApiError> {
    let currency = Currency::parse(&body.currency)
        .map_err(|e| ApiError::from(e).in_field("currency", &body.currency))?;
    // Click records are kept for the server's window, so a campaign cannot look further back.
    let longest = state.orders.policy().window.days();
    let window = body
        .attribution_window_days
        .map(|d| {
            u32::try_from(d)
                .ok()
                .filter(|_| (1..=longest).contains(&d))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_field",
                        format!(
                            "'attribution_window_days' must be 1 to {longest}, not {d}: clicks \
                             are kept for clicks.attribution_window_days ({longest}), so a \
                             campaign's window cannot be longer"
                        ),
                    )
                })
        })
        .transpose()?;
    if body.allowed_domains.len() > MAX_DOMAINS {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("at most {MAX_DOMAINS} allowed_domains"),
        ));
    }
    let mut allowed_domains = body
        .allowed_domains
        .iter()
        .map(|d| Campaign::parse_domain(d))
        .collect::<Result<Vec<_>, _>>()?;
    allowed_domains.sort();
    allowed_domains.dedup();
    let campaign = Campaign {
        id: CampaignId::generate(),
        name: text("name", &body.name, 200)?,
        currency,
        attribution_window_days: window,
        allowed_domains,
        created_ms: chrono::Utc::now().timestamp_millis(),
    };
    if !state.store.create_campaign(&campaign).await? {
        return Err(ApiError::conflict(
            "campaign_exists",
            "could not create the campaign; retry",
        ));
    }
    Ok(HttpResponse::Created().json(CampaignView::from(&campaign)))
}

#[utoipa::path(
    operation_id = "campaigns_list",
    summary = "List campaigns, oldest first, a page at a time",
    params(CampaignsQuery),
    responses((status = 200, body = CampaignList))
)]
#[get("/campaigns")]
pub async fn list(
    state: web::Data<AppState>,
    query: Query<CampaignsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit.as_deref())?;
    let cursor = Cursor::from_query(query.cursor.as_deref())?;
    let page = pagination::page_of(
        state.store.campaigns().await?,
        |c| Cursor {
            score: c.created_ms,
            member: c.id.as_str().to_owned(),
        },
        cursor.as_ref(),
        limit,
    );
    Ok(HttpResponse::Ok().json(CampaignList {
        campaigns: page.items.iter().map(CampaignView::from).collect(),
        next_cursor: page.next.as_ref().map(Cursor::encode),
    }))
}

#[utoipa::path(
    operation_id = "campaigns_get",
    summary = "Get a campaign",
    params(("id" = String, Path, description = "campaign id")),
    responses((status = 200, body = CampaignView))
)]
#[get("/campaigns/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = CampaignId::parse(&path).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_campaign_id",
            format!(
                "'{}' is not a campaign id (cmp_ and letters or digits)",
                clipped(&path)
            ),
        )
    })?;
    let campaign =
        state.store.campaign(&id).await?.ok_or_else(|| {
            ApiError::not_found("campaign_not_found", format!("no campaign '{id}'"))
        })?;
    Ok(HttpResponse::Ok().json(CampaignView::from(&campaign)))
}
