//! HTTP routes.

mod admin;
mod body_deadline;
mod campaigns;
mod costs;
mod coupons;
mod dashboard;
mod fallback;
mod health;
mod home;
mod influencers;
mod input;
mod links;
mod metrics;
mod openapi;
mod order_changes;
mod order_view;
mod orders;
mod output;
mod redirect;
mod report_body;
mod reports;
mod request_span;
mod responses;
mod webhooks;

use actix_web::web;

use crate::state::AppState;

pub use body_deadline::BodyDeadline;

/// Registers every route, `/metrics` too unless `metrics_elsewhere` (`http.metrics_bind`
/// serves it, through [`configure_metrics`]). Referral links are the default service, so the
/// server's own paths win (their names are reserved link codes). Every redirect is matched
/// against the routes here first, so they are static paths or scopes with a static prefix:
/// a pattern with a `{segment}` at this level would run a regex on every redirect. The OpenAPI document comes
/// before the `/api` scope so that it is public: it holds no secret.
pub fn configure(cfg: &mut web::ServiceConfig, metrics_elsewhere: bool) {
    if !metrics_elsewhere {
        configure_metrics(cfg);
    }
    cfg.route("/", web::get().to(home::home))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route(
            "/api/v1/openapi.json",
            web::get().to(|state: web::Data<AppState>| async move {
                openapi::document(&state, admin::documented())
            }),
        )
        .service(admin::scope())
        .service(webhooks::scope())
        .configure(dashboard::configure)
        .default_service(web::to(redirect::follow));
}

/// `/metrics` alone: the routes of `http.metrics_bind`.
pub fn configure_metrics(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics::metrics));
}
