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

/// Registers the routes of `http.bind`, `/metrics` too unless `metrics_elsewhere`
/// (`http.metrics_bind` serves it, through [`configure_metrics`]). Without `api_elsewhere`:
/// every route. With it (`http.api_bind` serves the API, through [`configure_api`]): the
/// redirects, `/` and the health probes, and the API's paths answered 404
/// ([`fallback::served_elsewhere`]).
///
/// Referral links are the default service, so the server's own paths win (their names are
/// reserved link codes). Every redirect is matched against the routes here first, so they are
/// static paths or scopes with a static prefix: a pattern with a `{segment}` at this level
/// would run a regex on every redirect.
pub fn configure(cfg: &mut web::ServiceConfig, metrics_elsewhere: bool, api_elsewhere: bool) {
    if !metrics_elsewhere {
        configure_metrics(cfg);
    }
    configure_health(cfg);
    if api_elsewhere {
        cfg.route("/", web::get().to(home::home_without_dashboard))
            .configure(fallback::served_elsewhere);
    } else {
        cfg.route("/", web::get().to(home::home))
            .configure(|cfg| configure_api_surface(cfg, false));
    }
    cfg.default_service(web::to(redirect::follow));
}

/// The routes of `http.api_bind`: the API, the webhooks, the dashboard with its `/` page, and
/// the health probes (so a probe can tell this listener is up); anything else is a JSON 404.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    configure_health(cfg);
    cfg.route("/", web::get().to(home::dashboard_pointer))
        .configure(|cfg| configure_api_surface(cfg, true))
        .default_service(web::to(fallback::no_such_route));
}

fn configure_health(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz));
}

/// The admin API, its OpenAPI document, the webhooks and the dashboard. The document comes
/// before the `/api` scope so that it is public: it holds no secret. Its server is the public
/// URL, or on a listener of the API's own "/" (relative: wherever the document was read),
/// since `http.api_bind` may be a private address no public URL names.
fn configure_api_surface(cfg: &mut web::ServiceConfig, own_listener: bool) {
    cfg.route(
        "/api/v1/openapi.json",
        web::get().to(move |state: web::Data<AppState>| async move {
            let server = if own_listener {
                "/"
            } else {
                &state.public_base
            };
            openapi::document(server, admin::documented())
        }),
    )
    .service(admin::scope())
    .service(webhooks::scope())
    .configure(dashboard::configure);
}

/// `/metrics` alone: the routes of `http.metrics_bind`.
pub fn configure_metrics(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics::metrics));
}
