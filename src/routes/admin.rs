//! The `/api` scope: bearer-token authentication and the one table of admin endpoints.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{Error, Scope, web};
use tracing_actix_web::TracingLogger;

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::App;
use utoipa::openapi::OpenApi;
use utoipa_actix_web::AppExt as _;
use utoipa_actix_web::service_config::ServiceConfig;

use super::fallback::{JSON_LIMIT, json_error, no_such_route, resource};
use super::request_span::{RequestSpan, with_request_id};
use super::{
    campaigns, costs, coupons, influencers, links, order_changes, orders, reports, responses,
};
use crate::error::ApiError;
use crate::metrics::{ApiMethod, StatusClass};
use crate::state::AppState;

/// Every admin endpoint, each registered once, with its method and path from its handler's
/// attribute. The OpenAPI document ([`documented`]) is collected from this list, and so are
/// the `Allow` headers of the JSON 405s, so the three cannot drift apart.
fn endpoints(cfg: &mut ServiceConfig<'_>) {
    cfg.service(influencers::list)
        .service(influencers::create)
        .service(influencers::get)
        .service(influencers::update)
        .service(influencers::disable)
        .service(coupons::list)
        .service(coupons::add)
        .service(coupons::remove)
        .service(costs::list)
        .service(costs::add)
        .service(costs::delete)
        .service(orders::list)
        .service(order_changes::reattribute)
        .service(order_changes::review)
        .service(campaigns::list)
        .service(campaigns::create)
        .service(campaigns::get)
        .service(links::list)
        .service(links::create)
        .service(links::get)
        .service(links::update)
        .service(links::disable)
        .service(reports::influencers)
        .service(reports::daily)
        .service(reports::links);
}

/// The documented admin API (its paths under `/api/v1`, and the schemas of their bodies and
/// answers), collected once from [`endpoints`].
pub fn documented() -> &'static OpenApi {
    static DOCUMENT: OnceLock<OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, document) = App::new()
            .into_utoipa_app()
            .service(utoipa_actix_web::scope(V1).configure(endpoints))
            .split_for_parts();
        document
    })
}

const V1: &str = "/api/v1";

/// `/v1`: the endpoints, then one resource per path that answers the methods it lacks with a
/// JSON 405 naming those it has (actix tries a path's resources in order, so these come last).
fn v1() -> utoipa_actix_web::scope::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse,
        Error = Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope("/v1")
        .configure(endpoints)
        .map(|scope| {
            allow_table().iter().fold(scope, |scope, (path, allow)| {
                scope.service(resource(path, allow))
            })
        })
}

/// Each documented path (relative to `/v1`) with the methods it answers, as `Allow` lists them.
fn allow_table() -> &'static [(String, String)] {
    static TABLE: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        documented()
            .paths
            .paths
            .iter()
            .filter_map(|(path, item)| {
                let relative = path.strip_prefix(V1)?;
                Some((relative.to_owned(), responses::allowed_methods(item)))
            })
            .collect()
    })
}

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
        .wrap(from_fn(time_request))
        // Answers carry figures, orders and buyers' flags: no browser or proxy keeps them.
        .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
        .app_data(
            web::JsonConfig::default()
                .limit(JSON_LIMIT)
                .error_handler(|e, _| json_error(&e).into()),
        )
        .service(v1().default_service(web::to(no_such_route)))
        .default_service(web::to(no_such_route))
}

/// Times every `/api` request, refused ones too, into `reftrack_api_request_duration_seconds`.
async fn time_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let route = documented_route(&req);
    let method = ApiMethod::of(req.method());
    let outcome = next.call(req).await;
    if let Some(state) = state {
        let status = match &outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        state.metrics.api_request(
            route,
            method,
            StatusClass::of(status),
            started.elapsed().as_secs_f64(),
        );
    }
    outcome
}

/// The documented path a request matched (`/api/v1/links/{code}`), or `"unmatched"`: a
/// metric label from the endpoint table's fixed set, whatever path was sent.
fn documented_route(req: &ServiceRequest) -> &'static str {
    req.match_pattern()
        .and_then(|pattern| {
            documented()
                .paths
                .paths
                .get_key_value(&pattern)
                .map(|(path, _)| path.as_str())
        })
        .unwrap_or("unmatched")
}

/// What a bearer token lets its holder do.
enum Access {
    Everything,
    /// A report token: `GET` on `/api/v1/reports/...` only.
    Reports,
}

/// The credentials of an `Authorization: Bearer <token>` header; the scheme's name is
/// case-insensitive (RFC 9110), so `bearer` and `BEARER` are the same scheme.
fn bearer_credentials(header: &str) -> Option<&str> {
    let (scheme, credentials) = header.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
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
            .and_then(bearer_credentials)?;
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

#[cfg(test)]
mod tests {
    use super::{bearer_credentials, documented};

    #[test]
    fn the_bearer_scheme_is_read_whatever_its_case() {
        for header in ["Bearer abc", "bearer abc", "BEARER  abc ", " Bearer abc"] {
            assert_eq!(bearer_credentials(header), Some("abc"), "{header:?}");
        }
        for header in ["Basic abc", "Bearerabc", "Bearer", "abc"] {
            assert_eq!(bearer_credentials(header), None, "{header:?}");
        }
    }

    /// `documented_route` finds a request's route by the pattern actix matched; a path with a
    /// regex segment (`{code:[a-z]+}`) might be spelled otherwise in the OpenAPI document, and
    /// its requests would then all be timed as "unmatched".
    #[test]
    fn every_documented_path_is_spelled_as_actix_matches_it() {
        let paths: Vec<&String> = documented().paths.paths.keys().collect();
        assert!(
            paths.len() > 10,
            "the endpoint table is documented: {paths:?}"
        );
        for path in paths {
            assert!(path.starts_with("/api/v1/"), "{path}");
            assert!(!path.contains(':') && !path.ends_with('/'), "{path}");
        }
    }
}
