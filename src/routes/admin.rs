//! The `/api` scope: bearer-token authentication, JSON error shapes for extractor failures,
//! and helpers shared by the admin handlers.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{Error, HttpRequest, HttpResponse, Resource, ResponseError, Scope, web};
use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Deserializer};
use tracing_actix_web::TracingLogger;

use super::request_span::{RequestSpan, with_request_id};
use super::{campaigns, costs, coupons, influencers, links, openapi, orders, reports};
use crate::error::ApiError;
use crate::state::AppState;

/// Admin request bodies are small; anything larger is a mistake or an attack.
const JSON_LIMIT: usize = 64 * 1024;

pub fn scope() -> Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    web::scope("/api")
        .wrap(from_fn(require_admin_token))
        .wrap(from_fn(with_request_id))
        .wrap(TracingLogger::<RequestSpan>::new())
        .app_data(
            web::JsonConfig::default()
                .limit(JSON_LIMIT)
                .error_handler(|e, _| json_error(&e).into()),
        )
        .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(&e).into()))
        .service(
            web::scope("/v1")
                .service(
                    resource("/influencers", "GET, POST")
                        .route(web::get().to(influencers::list))
                        .route(web::post().to(influencers::create)),
                )
                .service(
                    resource("/influencers/{id}", "GET, PATCH, DELETE")
                        .route(web::get().to(influencers::get))
                        .route(web::patch().to(influencers::update))
                        .route(web::delete().to(influencers::disable)),
                )
                .service(
                    resource("/influencers/{id}/coupons", "GET, POST")
                        .route(web::get().to(coupons::list))
                        .route(web::post().to(coupons::add)),
                )
                .service(
                    resource("/influencers/{id}/coupons/{code}", "DELETE")
                        .route(web::delete().to(coupons::remove)),
                )
                .service(
                    resource("/influencers/{id}/costs", "GET, POST")
                        .route(web::get().to(costs::list))
                        .route(web::post().to(costs::add)),
                )
                .service(
                    resource("/influencers/{id}/costs/{cost_id}", "DELETE")
                        .route(web::delete().to(costs::delete)),
                )
                .service(resource("/orders", "GET").route(web::get().to(orders::list)))
                .service(resource("/openapi.json", "GET").route(web::get().to(openapi::document)))
                .service(
                    resource("/campaigns", "GET, POST")
                        .route(web::get().to(campaigns::list))
                        .route(web::post().to(campaigns::create)),
                )
                .service(resource("/campaigns/{id}", "GET").route(web::get().to(campaigns::get)))
                .service(
                    resource("/links", "GET, POST")
                        .route(web::get().to(links::list))
                        .route(web::post().to(links::create)),
                )
                .service(
                    resource("/links/{code}", "GET, PATCH, DELETE")
                        .route(web::get().to(links::get))
                        .route(web::patch().to(links::update))
                        .route(web::delete().to(links::disable)),
                )
                .service(
                    resource("/reports/influencers", "GET")
                        .route(web::get().to(reports::influencers)),
                )
                .service(
                    resource("/reports/influencers/{id}/daily", "GET")
                        .route(web::get().to(reports::daily)),
                )
                .service(resource("/reports/links", "GET").route(web::get().to(reports::links)))
                .default_service(web::to(no_such_route)),
        )
        .default_service(web::to(no_such_route))
}

/// A resource that answers unsupported methods with a JSON 405 and the `Allow` header
/// listing the methods it has.
pub(super) fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        method_not_allowed(&req, allow)
    }))
}

/// What a bearer token lets its holder do.
enum Access {
    Everything,
    /// A report token: `GET` on `/api/v1/reports/...` only.
    Reports,
}

async fn require_admin_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let access = req.app_data::<web::Data<AppState>>().and_then(|state| {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))?
            .trim();
        if state.admin_token.matches(token) {
            Some(Access::Everything)
        } else if state.report_tokens.iter().any(|t| t.matches(token)) {
            Some(Access::Reports)
        } else {
            None
        }
    });
    match access {
        None => Err(ApiError::unauthorized().into()),
        Some(Access::Reports)
            if req.method() != actix_web::http::Method::GET
                || !req.path().starts_with("/api/v1/reports/") =>
        {
            Err(ApiError::client(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this token may only read reports (GET /api/v1/reports/...)",
            )
            .into())
        }
        Some(_) => next.call(req).await,
    }
}

pub(super) async fn no_such_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(
        "no_such_route",
        format!("no API route {} {}", req.method(), req.path()),
    ))
}

fn method_not_allowed(req: &HttpRequest, allow: &'static str) -> HttpResponse {
    let mut response = ApiError::client(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not supported on {}; use {allow}",
            req.method(),
            req.path()
        ),
    )
    .error_response();
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

fn json_error(e: &JsonPayloadError) -> ApiError {
    match e {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::client(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request bodies are limited to {JSON_LIMIT} bytes"),
            )
        }
        JsonPayloadError::ContentType => ApiError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON with 'Content-Type: application/json'",
        ),
        JsonPayloadError::Deserialize(inner) => {
            ApiError::bad_request("invalid_json", inner.to_string())
        }
        other => ApiError::bad_request("invalid_body", other.to_string()),
    }
}

fn query_error(e: &QueryPayloadError) -> ApiError {
    ApiError::bad_request("invalid_query", e.to_string())
}

/// Accepts `null` as "clear this field", telling it apart from an absent field.
#[allow(
    clippy::option_option,
    reason = "absent, null and a value mean three different things"
)]
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Checks free text from a marketer: trimmed, non-empty, at most `max` characters, and no
/// control characters (which would corrupt CSV exports and terminal tables).
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("'{field}' must have 1 to {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("'{field}' must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A stored creation time as RFC 3339.
pub fn timestamp(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
