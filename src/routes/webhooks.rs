//! `/webhooks/*`: order deliveries from shops. Each is verified over its raw body, read by
//! its platform's parser, then stored exactly once (see the `orders` module).
//!
//! Answers: 200 once stored (or recognised as a retry, or ignored as a topic reftrack does not
//! act on, so the shop stops retrying); 401 for a missing or forged signature; 400 for a body
//! that cannot be read; 413 beyond 1 MiB; 503 when it could not be stored, so the shop retries.
//! Never a 2xx for a delivery that was not stored.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse, Scope};
use chrono::Utc;
use futures_util::StreamExt;
use serde_json::json;
use tracing_actix_web::TracingLogger;

use super::fallback::{no_such_route, resource};
use super::request_span::{RequestSpan, with_request_id};
use crate::domain::Platform;
use crate::error::ApiError;
use crate::metrics::WebhookOutcome;
use crate::orders::platforms::FORMATS;
use crate::orders::{
    Envelope, Format, IngestError, Ingested, Parsed, PayloadError, PayloadErrorKind, Scheme,
    SignatureError, WebhookSecret,
};
use crate::state::AppState;

/// Largest body accepted. Real order payloads are a few KiB; Shopify's largest are well
/// under this.
const BODY_LIMIT: usize = 1024 * 1024;

/// Longest delivery id header accepted.
const MAX_DELIVERY_ID: usize = 256;

pub fn scope() -> Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    FORMATS
        .iter()
        .fold(web::scope("/webhooks"), |scope, format| {
            scope.service(resource(format.path, "POST").route(web::post().to(
                move |state: web::Data<AppState>, req: HttpRequest, payload: web::Payload| {
                    receive(format, state, req, payload)
                },
            )))
        })
        .default_service(web::to(no_such_route))
        .wrap(from_fn(with_request_id))
        .wrap(TracingLogger::<RequestSpan>::new())
}

/// Why a delivery was not stored.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("set {0} to accept these webhooks")]
    NotConfigured(&'static str),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Malformed(#[from] PayloadError),
    #[error("request bodies are limited to {BODY_LIMIT} bytes")]
    TooLarge,
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl Refusal {
    fn outcome(&self) -> WebhookOutcome {
        match self {
            Self::Signature(_) => WebhookOutcome::InvalidSignature,
            Self::Malformed(e) => match e.kind {
                PayloadErrorKind::Malformed => WebhookOutcome::Malformed,
                PayloadErrorKind::TopicMismatch => WebhookOutcome::TopicMismatch,
            },
            Self::TooLarge => WebhookOutcome::Malformed,
            Self::Ingest(IngestError::CurrencyMismatch { .. }) => WebhookOutcome::CurrencyMismatch,
            Self::NotConfigured(_) | Self::Ingest(_) => WebhookOutcome::Unavailable,
        }
    }

    fn into_api_error(self) -> ApiError {
        let message = self.to_string();
        match self {
            Self::NotConfigured(_) => ApiError::client(
                StatusCode::SERVICE_UNAVAILABLE,
                "webhook_not_configured",
                message,
            ),
            Self::Signature(_) => {
                ApiError::client(StatusCode::UNAUTHORIZED, "invalid_signature", message)
            }
            Self::Malformed(e) => ApiError::bad_request(
                match e.kind {
                    PayloadErrorKind::Malformed => "malformed_payload",
                    PayloadErrorKind::TopicMismatch => "topic_mismatch",
                },
                message,
            ),
            Self::TooLarge => {
                ApiError::client(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
            }
            Self::Ingest(IngestError::Store(e)) => ApiError::Store(e),
            Self::Ingest(IngestError::CurrencyMismatch { .. }) => {
                ApiError::bad_request("currency_mismatch", message)
            }
            Self::Ingest(IngestError::Contended) => {
                ApiError::client(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
            }
            Self::Ingest(IngestError::Interrupted) => {
                ApiError::client(StatusCode::SERVICE_UNAVAILABLE, "interrupted", message)
            }
        }
    }
}

type Received = Result<WebhookOutcome, Refusal>;

/// Every format's deliveries: verified over the raw body by the format's scheme, read by its
/// parser, then stored exactly once.
async fn receive(
    format: &'static Format,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let started = Instant::now();
    let received = async {
        let secret = configured(state.webhooks.of(format.platform), format.secret_setting)?;
        let body = read_body(payload).await?;
        match format.scheme {
            Scheme::Base64Hmac { header: name } => {
                let signature = header(&req, name)?;
                // WooCommerce checks a new webhook with an unsigned ping and refuses to save the
                // webhook unless it gets a 200. It carries nothing, so answering it stores
                // nothing.
                if signature.is_none() && format.unsigned_ping.is_some_and(|ping| ping(&body)) {
                    return Ok(WebhookOutcome::Ping);
                }
                secret.verify_base64(&body, signature)?;
            }
            Scheme::Timestamped { header: name } => secret.verify_timestamped(
                &body,
                header(&req, name)?,
                Utc::now().timestamp(),
                state.webhooks.tolerance_secs,
            )?,
        }
        let topic = match format.topic_header {
            Some(name) => required(&req, &[name])?,
            None => "",
        };
        let delivery_id = match format.delivery_headers {
            [] => "",
            names => required(&req, names)?,
        };
        let envelope = Envelope {
            topic,
            delivery_id,
            received_ms: Utc::now().timestamp_millis(),
        };
        store(&state, (format.parse)(&envelope, &body)?).await
    }
    .await;
    respond(&state, format.platform, started, received)
}

fn configured<'a>(
    secret: Option<&'a WebhookSecret>,
    variable: &'static str,
) -> Result<&'a WebhookSecret, Refusal> {
    secret.ok_or(Refusal::NotConfigured(variable))
}

/// A header the delivery is read by (signature, topic, delivery id). Sent twice it is
/// refused: a proxy's added line and a client's own would disagree on which one counts, as
/// they do for `X-Forwarded-For`.
fn header<'a>(req: &'a HttpRequest, name: &str) -> Result<Option<&'a str>, Refusal> {
    let mut values = req.headers().get_all(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(PayloadError::new(format!("the {name} header appears more than once")).into());
    }
    Ok(first.and_then(|v| v.to_str().ok()))
}

/// The first of `names` present, as a delivery's topic or id.
fn required<'a>(req: &'a HttpRequest, names: &[&str]) -> Result<&'a str, Refusal> {
    let mut found = None;
    for name in names {
        if let Some(value) = header(req, name)? {
            found = Some(value);
            break;
        }
    }
    let value = found
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| PayloadError::new(format!("the {} header is missing", names[0])))?;
    if value.len() > MAX_DELIVERY_ID {
        return Err(PayloadError::new(format!("the {} header is too long", names[0])).into());
    }
    Ok(value)
}

/// Reads the raw body, refusing more than [`BODY_LIMIT`] without reading it all.
async fn read_body(mut payload: web::Payload) -> Result<Bytes, Refusal> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| PayloadError::new(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(Refusal::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

async fn store(state: &AppState, parsed: Parsed) -> Received {
    match parsed {
        Parsed::Ignored => Ok(WebhookOutcome::Ignored),
        Parsed::Order(delivery) => Ok(match state.orders.ingest_on_runtime(delivery).await? {
            Ingested::Applied => WebhookOutcome::Applied,
            Ingested::Duplicate => WebhookOutcome::Duplicate,
        }),
    }
}

fn respond(
    state: &AppState,
    platform: Platform,
    started: Instant,
    received: Received,
) -> HttpResponse {
    let outcome = match &received {
        Ok(outcome) => *outcome,
        Err(refusal) => refusal.outcome(),
    };
    state
        .metrics
        .webhook(platform, outcome, started.elapsed().as_secs_f64());
    match received {
        Ok(outcome) => HttpResponse::Ok().json(json!({ "status": status(outcome) })),
        Err(refusal) => {
            if let Refusal::Signature(e) = &refusal {
                tracing::warn!(platform = platform.label(), error = %e, "webhook refused");
            }
            actix_web::ResponseError::error_response(&refusal.into_api_error())
        }
    }
}

fn status(outcome: WebhookOutcome) -> &'static str {
    match outcome {
        WebhookOutcome::Applied => "stored",
        WebhookOutcome::Duplicate => "duplicate",
        WebhookOutcome::Ping => "ping",
        _ => "ignored",
    }
}
