//! `GET /dashboard`: a single page for marketers, its scripts and style compiled into the
//! binary (no CDN, no build step). The page holds no data; it signs in with the admin token
//! and reads everything through the admin API.
//!
//! The script is one ES module per view (`overview.js`, `influencers.js`, `influencer.js`,
//! `campaigns.js`, `orders.js`) over `core.js` (API, period, helpers) and `charts.js`;
//! `app.js` signs in and routes. A new view is a module, a section of `index.html` and a row
//! of [`ASSETS`].

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const PAGE: &str = include_str!("dashboard/index.html");

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/dashboard/`: name, content type, body.
const ASSETS: [(&str, &str, &str); 9] = [
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/app.css"),
    ),
    ("app.js", JS, include_str!("dashboard/app.js")),
    ("core.js", JS, include_str!("dashboard/core.js")),
    ("charts.js", JS, include_str!("dashboard/charts.js")),
    ("overview.js", JS, include_str!("dashboard/overview.js")),
    (
        "influencers.js",
        JS,
        include_str!("dashboard/influencers.js"),
    ),
    ("influencer.js", JS, include_str!("dashboard/influencer.js")),
    ("campaigns.js", JS, include_str!("dashboard/campaigns.js")),
    ("orders.js", JS, include_str!("dashboard/orders.js")),
];

/// Only this origin's script, style and API; no framing. A page that handles the admin token
/// must not run anything injected.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The page and its assets, in a scope: every referral link is matched against the routes
/// before it reaches the default service, and a scope's static prefix is a string compare,
/// where a root route `/dashboard/{asset}` ran a regex on every redirect (~8% of its CPU).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/dashboard")
            .route("", web::get().to(page))
            .route("/{asset}", web::get().to(asset)),
    );
}

fn respond(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn page() -> HttpResponse {
    respond("text/html; charset=utf-8", PAGE)
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(file, _, _)| *file == name.as_str()) {
        Some((_, content_type, body)) => respond(content_type, body),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such dashboard file"),
    }
}
