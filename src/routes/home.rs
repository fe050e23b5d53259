//! `GET /`: a small page that points marketers to the dashboard, or a redirect to the
//! configured `http.home_url` (the brand's site).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use crate::state::AppState;

const PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>reftrack</title>\
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:20vh auto;padding:0 1rem;color:#333}</style>\
</head><body><h1>reftrack</h1><p>This server runs referral links. Marketers: open the \
<a href=\"/dashboard\">dashboard</a> and sign in with the admin token.</p></body></html>\n";

/// No script and no outside resources: the page only links to the dashboard.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

pub async fn home(state: web::Data<AppState>) -> HttpResponse {
    if let Some(url) = &state.home_url
        && let Ok(location) = HeaderValue::from_str(url)
    {
        return HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .finish();
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(PAGE)
}
