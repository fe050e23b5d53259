//! Liveness and readiness probes.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::metrics::RedisOperation;
use crate::state::AppState;

/// The process is up and serving HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Redis answers; a load balancer should send traffic here.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(e) => {
            state.metrics.redis_error(RedisOperation::Readiness);
            tracing::warn!(error = %e, "readiness check: Redis is unreachable");
            HttpResponse::ServiceUnavailable().json(json!({
                "error": {"code": "redis_unavailable", "message": "Redis is unreachable"}
            }))
        }
    }
}
