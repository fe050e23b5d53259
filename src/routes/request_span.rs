//! A span and a request id for every request to `/api` and `/webhooks` (not the redirect path,
//! where a follower's request must cost nothing it does not need).
//!
//! `tracing-actix-web` opens the span and mints the id; [`with_request_id`] returns the id in
//! an `X-Request-Id` header and makes it the request's [`crate::telemetry::REQUEST_ID`], so an
//! error body carries the same id as the log lines of the request that failed. The span
//! records the method, the route pattern (never the query or a client address) and the status.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::telemetry::REQUEST_ID;

/// The span of one API or webhook request.
#[derive(Debug)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = request.match_pattern().as_deref().unwrap_or("unmatched"),
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
        if status.is_server_error() {
            span.in_scope(|| tracing::warn!(status = status.as_u16(), "request failed"));
        }
    }
}

/// Runs the request with its id as [`REQUEST_ID`] and answers it in `X-Request-Id`.
pub async fn with_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default();
    let header = HeaderValue::from_str(&id).ok();
    let mut response = REQUEST_ID.scope(id, next.call(req)).await?;
    if let Some(value) = header {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}
