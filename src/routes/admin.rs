//! The `/api` scope: bearer-token authentication and the route table.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{Error, Scope, web};
use tracing_actix_web::TracingLogger;

use super::fallback::{JSON_LIMIT, json_error, no_such_route, query_error, resource};
use super::request_span::{RequestSpan, with_request_id};
use super::{
    campaigns, costs, coupons, influencers, links, openapi, order_changes, orders, reports,
};
use crate::error::ApiError;
use crate::state::AppState;

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
                .service(
                    resource("/orders/{order_key}/attribution", "PUT")
                        .route(web::put().to(order_changes::reattribute)),
                )
                .service(
                    resource("/orders/{order_key}/review", "POST")
                        .route(web::post().to(order_changes::review)),
                )
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
