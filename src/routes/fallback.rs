//! JSON answers for what no handler takes: unknown routes (404), the API's paths on the
//! public listener when it has one of its own (404), unsupported methods (405, with `Allow`),
//! and bodies the JSON extractor refuses (query strings: `input::Query`).

use actix_web::error::JsonPayloadError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, Resource, ResponseError, web};

use crate::error::ApiError;

/// Admin request bodies are small; anything larger is a mistake or an attack.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A resource that answers unsupported methods with a JSON 405 and the `Allow` header
/// listing the methods it has.
pub fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        method_not_allowed(&req, allow)
    }))
}

pub async fn no_such_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(
        "no_such_route",
        format!("no API route {} {}", req.method(), req.path()),
    ))
}

/// The paths of `http.api_bind` on `http.bind`: a 404 like any unknown route (the public
/// address has no API), but with a message that tells a misdirected operator or shop where to
/// go instead of leaving them to doubt the path. They must not fall through to the redirect,
/// whose answer is an HTML page about a missing link.
pub fn served_elsewhere(cfg: &mut web::ServiceConfig) {
    for prefix in ["/api", "/webhooks", "/dashboard"] {
        cfg.service(web::scope(prefix).default_service(web::to(api_elsewhere)));
    }
}

async fn api_elsewhere(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(
        "api_elsewhere",
        format!(
            "{} {} is not served on this address: the API, the webhooks and the dashboard \
             have a listener of their own (http.api_bind)",
            req.method(),
            req.path()
        ),
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

pub fn json_error(e: &JsonPayloadError) -> ApiError {
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
            ApiError::bad_request("invalid_json", crate::error::plain_json_message(inner))
        }
        // The body ended early, or did not decode by its `Content-Encoding`: actix's own
        // message prints its internal error values.
        JsonPayloadError::Payload(_) => ApiError::bad_request(
            "invalid_body",
            "the body could not be read: it ended early, or is not what its Content-Encoding \
             says (send plain JSON, or gzip, deflate, br or zstd that decodes)",
        ),
        other => ApiError::bad_request("invalid_body", other.to_string()),
    }
}
