//! `/api/v1/links`: issue referral links, list an influencer's, change a destination, disable.

use super::responses::{Conflict, Unknown};
use actix_web::{HttpResponse, web};
use actix_web::{delete, get, patch, post};
use serde::{Deserialize, Serialize};

use super::input::{Json, Query, campaign_of, existing_influencer, flag, influencer_id, not_null};
use super::output::timestamp;
use crate::domain::{Campaign, CampaignId, Destination, LinkCode};
use crate::error::ApiError;
use crate::pagination::{self, Cursor};
use crate::state::AppState;
use crate::store::{Change, CreateLink, LinkRecord};

/// Attempts at a fresh generated code before giving up; with 62^8 codes a second attempt is
/// already rare.
const GENERATE_ATTEMPTS: usize = 5;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    influencer_id: String,
    destination: String,
    campaign_id: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkPatch {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    destination: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    disabled: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinksQuery {
    /// Only this influencer's links.
    influencer_id: Option<String>,
    /// Only this campaign's links.
    campaign_id: Option<String>,
    /// `true`: only disabled links; `false`: only live ones.
    disabled: Option<String>,
    /// Links per page: 1 to 1000, 100 by default.
    limit: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first.
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LinkView {
    code: String,
    short_url: String,
    destination: String,
    influencer_id: String,
    #[schema(value_type = Option<String>)]
    campaign_id: Option<CampaignId>,
    disabled: bool,
    created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LinkList {
    links: Vec<LinkView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

impl LinkView {
    fn new(state: &AppState, r: &LinkRecord) -> Self {
        Self {
            code: r.code.to_string(),
            short_url: format!("{}/{}", state.public_base, r.code),
            destination: r.destination.to_string(),
            influencer_id: r.influencer_id.to_string(),
            campaign_id: r.campaign_id.clone(),
            disabled: r.disabled,
            created_at: timestamp(r.created_ms),
        }
    }
}

/// Whether `url` is under `base`, where short links are (`https://brand.com/go` holds
/// `https://brand.com/go/abc`, not `https://brand.com/products/x`).
fn under_short_links(url: &str, base: &str) -> bool {
    let (Ok(url), Ok(base)) = (url::Url::parse(url), url::Url::parse(base)) else {
        return false;
    };
    let prefix = base.path().trim_end_matches('/');
    url.origin() == base.origin()
        && url
            .path()
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A destination, which may not be one of this server's own short links: a follower would
/// be sent round from link to link (and each visit counted as a suspicious click).
fn destination(state: &AppState, raw: &str) -> Result<Destination, ApiError> {
    let parsed =
        Destination::parse(raw).map_err(|e| ApiError::from(e).in_field("destination", raw))?;
    if under_short_links(parsed.as_str(), &state.public_base) {
        return Err(ApiError::bad_request(
            "invalid_destination",
            format!(
                "'destination': {} is on this server's own short-link address ({}); a link \
                 there would redirect in a loop",
                parsed.as_str(),
                state.public_base
            ),
        ));
    }
    Ok(parsed)
}

/// A campaign's links only go where the campaign allows.
fn allowed(campaign: &Campaign, destination: &Destination) -> Result<(), ApiError> {
    Ok(campaign.allows(destination)?)
}

fn code(raw: &str) -> Result<LinkCode, ApiError> {
    LinkCode::parse(raw).map_err(|e| ApiError::from(e).in_field("code", raw))
}

async fn existing(state: &AppState, raw_code: &str) -> Result<LinkRecord, ApiError> {
    let code = code(raw_code)?;
    state
        .store
        .link(&code)
        .await?
        .ok_or_else(|| ApiError::not_found("link_not_found", format!("no link '{code}'")))
}

#[utoipa::path(
    operation_id = "links_create",
    summary = "Issue a referral link",
    request_body = NewLink,
    responses((status = 201, body = LinkView), Conflict, Unknown)
)]
#[post("/links")]
pub async fn create(
    state: web::Data<AppState>,
    body: Json<NewLink>,
) -> Result<HttpResponse, ApiError> {
    let custom = body.code.as_deref().map(code).transpose()?;
    let destination = destination(&state, &body.destination)?;
    let campaign = match body.campaign_id.as_deref() {
        Some(raw) => Some(campaign_of(&state, raw).await?),
        None => None,
    };
    if let Some(campaign) = &campaign {
        allowed(campaign, &destination)?;
    }
    let mut record = LinkRecord {
        code: custom.clone().unwrap_or_else(LinkCode::generate),
        influencer_id: influencer_id(&body.influencer_id)?,
        destination,
        campaign_id: campaign.map(|c| c.id),
        disabled: false,
        created_ms: chrono::Utc::now().timestamp_millis(),
    };
    for _ in 0..GENERATE_ATTEMPTS {
        match state.store.create_link(&record).await? {
            CreateLink::Created => {
                state.links.apply(&Change::Link(record.code.clone()));
                return Ok(HttpResponse::Created().json(LinkView::new(&state, &record)));
            }
            CreateLink::CodeTaken if custom.is_none() => record.code = LinkCode::generate(),
            CreateLink::CodeTaken => {
                return Err(ApiError::conflict(
                    "code_taken",
                    format!("the code '{}' is already in use", record.code),
                ));
            }
            CreateLink::NoSuchInfluencer => {
                return Err(ApiError::unprocessable(
                    "unknown_influencer",
                    format!("no influencer {}", record.influencer_id),
                ));
            }
            CreateLink::InfluencerDisabled => {
                return Err(ApiError::conflict(
                    "influencer_disabled",
                    format!("influencer {} is disabled", record.influencer_id),
                ));
            }
        }
    }
    Err(ApiError::conflict(
        "code_taken",
        "no free code was found; retry",
    ))
}

#[utoipa::path(
    operation_id = "links_list",
    summary = "List links, oldest first, a page at a time: all, or one influencer's or campaign's",
    params(LinksQuery),
    responses((status = 200, body = LinkList))
)]
#[get("/links")]
pub async fn list(
    state: web::Data<AppState>,
    query: Query<LinksQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit.as_deref())?;
    let cursor = Cursor::from_query(query.cursor.as_deref())?;
    let disabled = flag("disabled", query.disabled.as_deref())?;
    let influencer = match query.influencer_id.as_deref() {
        Some(raw) => Some(existing_influencer(&state, raw).await?),
        None => None,
    };
    let campaign = match query.campaign_id.as_deref() {
        Some(raw) => Some(campaign_of(&state, raw).await?.id),
        None => None,
    };
    let keep = |l: &LinkRecord| {
        campaign
            .as_ref()
            .is_none_or(|c| l.campaign_id.as_ref() == Some(c))
            && disabled.is_none_or(|d| l.disabled == d)
    };
    let page = match (&influencer, &campaign) {
        (Some(id), _) => {
            state
                .store
                .links_page_of(id, cursor.as_ref(), limit, keep)
                .await?
        }
        (None, Some(campaign)) => {
            state
                .store
                .campaign_links_page(campaign, cursor.as_ref(), limit, keep)
                .await?
        }
        (None, None) => {
            state
                .store
                .all_links_page(cursor.as_ref(), limit, keep)
                .await?
        }
    };
    Ok(HttpResponse::Ok().json(LinkList {
        links: page
            .items
            .iter()
            .map(|l| LinkView::new(&state, l))
            .collect(),
        next_cursor: page.next.as_ref().map(Cursor::encode),
    }))
}

#[utoipa::path(
    operation_id = "links_get",
    summary = "Get a link",
    params(("code" = String, Path, description = "link code")),
    responses((status = 200, body = LinkView))
)]
#[get("/links/{code}")]
pub async fn get(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = existing(&state, &code).await?;
    Ok(HttpResponse::Ok().json(LinkView::new(&state, &record)))
}

#[utoipa::path(
    operation_id = "links_update",
    summary = "Change a link's destination or disable it",
    request_body = LinkPatch,
    params(("code" = String, Path, description = "link code")),
    responses((status = 200, body = LinkView), Unknown)
)]
#[patch("/links/{code}")]
pub async fn update(
    state: web::Data<AppState>,
    code: web::Path<String>,
    patch: Json<LinkPatch>,
) -> Result<HttpResponse, ApiError> {
    let new_destination = patch
        .destination
        .as_deref()
        .map(|raw| destination(&state, raw))
        .transpose()?;
    if let Some(new_destination) = &new_destination {
        let link = existing(&state, &code).await?;
        if let Some(id) = &link.campaign_id {
            allowed(&campaign_of(&state, id.as_str()).await?, new_destination)?;
        }
    }
    change(&state, &code, new_destination.as_ref(), patch.disabled).await
}

/// Disables a link: it answers 404 from now on; its clicks stay in reports.
#[utoipa::path(
    operation_id = "links_disable",
    summary = "Disable a link",
    params(("code" = String, Path, description = "link code")),
    responses((status = 200, body = LinkView))
)]
#[delete("/links/{code}")]
pub async fn disable(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change(&state, &code, None, Some(true)).await
}

async fn change(
    state: &AppState,
    raw_code: &str,
    destination: Option<&Destination>,
    disabled: Option<bool>,
) -> Result<HttpResponse, ApiError> {
    let code = code(raw_code)?;
    if !state
        .store
        .update_link(&code, destination, disabled)
        .await?
    {
        return Err(ApiError::not_found(
            "link_not_found",
            format!("no link '{code}'"),
        ));
    }
    state.links.apply(&Change::Link(code.clone()));
    let record = existing(state, code.as_str()).await?;
    Ok(HttpResponse::Ok().json(LinkView::new(state, &record)))
}

#[cfg(test)]
mod tests {
    use super::under_short_links;

    #[test]
    fn only_urls_under_the_short_link_base_are_its_own_links() {
        for (url, base, loops) in [
            ("http://127.0.0.1:8080/abc", "http://127.0.0.1:8080", true),
            (
                "https://go.example.com/abc?x=1",
                "https://go.example.com/",
                true,
            ),
            ("https://brand.com/go/abc", "https://brand.com/go", true),
            (
                "https://brand.com/products/x",
                "https://brand.com/go",
                false,
            ),
            ("https://brand.com/gone", "https://brand.com/go", false),
            ("https://go.example.com/abc", "http://go.example.com", false),
            ("https://shop.example/p", "https://go.example.com", false),
        ] {
            assert_eq!(under_short_links(url, base), loops, "{url} under {base}");
        }
    }
}
