//! `GET /{code}`: the referral redirect, the hot path.
//!
//! The link comes from the in-process cache and the click goes to the in-memory click buffer,
//! so a redirect does no I/O of its own (unless the link is not cached yet, or in durable
//! mode, where it waits for the group commit of its click).

use std::time::Instant;

use crate::clicks::Follower;
use crate::domain::LinkCode;
use crate::link_cache::{ActiveLink, Lookup};
use crate::metrics::RedirectOutcome;
use crate::state::AppState;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};

/// Built once: naming the header by a string would parse (and allocate) it per request.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

const NOT_FOUND_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Link not found</title>\
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:20vh auto;padding:0 1rem;color:#333}</style>\
</head><body><h1>This link does not exist</h1><p>It may have expired or been mistyped. \
Check the link you were given.</p></body></html>\n";

const UNAVAILABLE_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Try again</title>\
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:20vh auto;padding:0 1rem;color:#333}</style>\
</head><body><h1>Please try again</h1><p>This link could not be opened just now. \
Reload the page in a moment.</p></body></html>\n";

/// Answers every request no other route took. A link code is the whole path after its
/// slash, so this needs no pattern: matching `/{code}` in the router would cost a regular
/// expression run per click.
pub async fn follow(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let started = Instant::now();
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, HeaderValue::from_static("GET, HEAD")))
            .finish();
    }
    let code = req
        .path()
        .strip_prefix('/')
        .and_then(|c| LinkCode::parse(c).ok());
    let lookup = match &code {
        Some(code) => state.links.lookup(code).await,
        None => Lookup::Inactive,
    };
    let (response, outcome) = match lookup {
        Lookup::Active(link) => (
            redirect(&req, &state, &link).await,
            RedirectOutcome::Redirected,
        ),
        Lookup::Inactive => (
            page(StatusCode::NOT_FOUND, NOT_FOUND_PAGE),
            RedirectOutcome::NotFound,
        ),
        Lookup::Unavailable => (
            page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_PAGE),
            RedirectOutcome::Unavailable,
        ),
    };
    state.metrics.redirect(outcome);
    state
        .metrics
        .redirect_duration
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn redirect(req: &HttpRequest, state: &AppState, link: &ActiveLink) -> HttpResponse {
    let forwarded = if state.forward_query {
        req.query_string()
    } else {
        ""
    };
    // HEAD is what link checkers and some preview fetchers send: answer it, count nothing.
    if req.method() == Method::HEAD {
        return location(state, link.destination.location(forwarded, None));
    }
    let follower = Follower {
        peer: req.peer_addr(),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        forwarded_for: || {
            req.headers()
                .get_all(&X_FORWARDED_FOR)
                .map(HeaderValue::as_bytes)
        },
    };
    let click_id = state
        .tracker
        .track(&link.code, &link.influencer_id, follower)
        .await;
    location(
        state,
        link.destination
            .location(forwarded, Some(click_id.as_str())),
    )
}

fn location(state: &AppState, target: String) -> HttpResponse {
    match HeaderValue::from_maybe_shared(Bytes::from(target)) {
        Ok(value) => HttpResponse::build(state.redirect_status)
            .insert_header((header::LOCATION, value))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .finish(),
        // Destinations are validated when stored; this only guards against a corrupt record.
        Err(_) => page(StatusCode::NOT_FOUND, NOT_FOUND_PAGE),
    }
}

fn page(status: StatusCode, body: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .content_type("text/html; charset=utf-8")
        .body(body)
}
