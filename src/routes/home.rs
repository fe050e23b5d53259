//! `GET /`: a small page that points marketers to the dashboard, or a redirect to the
//! configured `http.home_url` (the brand's site). With `http.api_bind`, the public listener's
//! page names no dashboard (a link to it there would be a dead one), and the API listener's
//! is always the page: who opens that address is a marketer, not a follower for the brand.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The page around `$text`, one paragraph.
macro_rules! page {
    ($text:literal) => {
        concat!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>reftrack</title>",
            "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:20vh auto;padding:0 1rem;color:#333}</style>",
            "</head><body><h1>reftrack</h1><p>This server runs referral links.",
            $text,
            "</p></body></html>\n"
        )
    };
}

const PAGE: &str = page!(
    " Marketers: open the <a href=\"/dashboard\">dashboard</a> and sign in with the admin token."
);

const PAGE_WITHOUT_DASHBOARD: &str = page!("");

/// No script and no outside resources: the page only links to the dashboard.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

pub async fn home(state: web::Data<AppState>) -> HttpResponse {
    answer(&state, PAGE)
}

/// `/` of `http.bind` when the dashboard is served on `http.api_bind`.
pub async fn home_without_dashboard(state: web::Data<AppState>) -> HttpResponse {
    answer(&state, PAGE_WITHOUT_DASHBOARD)
}

/// `/` of `http.api_bind`.
pub async fn dashboard_pointer() -> HttpResponse {
    page(PAGE)
}

fn answer(state: &AppState, body: &'static str) -> HttpResponse {
    if let Some(url) = &state.home_url
        && let Ok(location) = HeaderValue::from_str(url)
    {
        return HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .finish();
    }
    page(body)
}

fn page(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}
