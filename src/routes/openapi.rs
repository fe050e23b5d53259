//! `GET /api/v1/openapi.json`: the OpenAPI 3 document of the admin API and of the webhook
//! endpoints. It is public: it describes the routes, never a secret.
//!
//! The admin paths are collected from the endpoint table itself (`admin::documented`), their
//! shared errors added by rule ([`responses::add_by_shape`]); the webhook paths come from the
//! table of formats the webhook handler serves ([`FORMATS`]). So nothing is listed twice.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    Content, ObjectBuilder, OpenApi as Document, PathItem, Required, ResponseBuilder, Server,
};
use utoipa::{Modify, OpenApi};

use super::responses;
use crate::error::ErrorBody;
use crate::orders::platforms::{FORMATS, Format, Scheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "reftrack API",
        description = "The admin API (influencers, links, coupons, costs, campaigns, orders and \
                       ROI reports; every route needs `Authorization: Bearer <admin token>`) and \
                       the webhook endpoints shops post orders to (each verified by its \
                       platform's signature)."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerToken)
)]
struct Base;

/// Declares the `bearer` security scheme the admin operations refer to.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The handler: the document built once, with `servers` set to `server`, the URL the API is
/// reached at.
pub fn document(server: &str, admin: &'static Document) -> HttpResponse {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    let mut document = DOCUMENT.get_or_init(|| build(admin)).clone();
    document.servers = Some(vec![Server::new(server)]);
    match document.to_pretty_json() {
        Ok(json) => HttpResponse::Ok()
            .content_type("application/json")
            .body(json),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document does not serialise");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// The base document with the admin paths and the schemas they refer to, and the webhooks.
fn build(admin: &Document) -> Document {
    let mut document = Base::openapi();
    if let Some(schemas) = admin.components.as_ref().map(|c| c.schemas.clone()) {
        document
            .components
            .get_or_insert_with(Default::default)
            .schemas
            .extend(schemas);
    }
    let mut paths = admin.paths.clone();
    for item in paths.paths.values_mut() {
        responses::add_by_shape(item);
        for operation in responses::operations(item) {
            operation.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
                "bearer",
                Vec::<String>::new(),
            )]);
        }
    }
    for format in &FORMATS {
        paths
            .paths
            .insert(format!("/webhooks{}", format.path), webhook(format));
    }
    document.paths = paths;
    document
}

/// A webhook endpoint: a signed JSON delivery, with the headers its platform sends.
fn webhook(format: &Format) -> PathItem {
    let signature = match format.scheme {
        Scheme::Base64Hmac { header } => (
            header,
            "base64 HMAC-SHA256 of the raw body with the shared secret",
        ),
        Scheme::Timestamped { header } => (
            header,
            "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">`; deliveries outside the \
             tolerance window are refused",
        ),
    };
    let header = |name: &str, required: bool, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(if required {
                Required::True
            } else {
                Required::False
            })
            .description(Some(description))
            .build()
    };
    let mut parameters = vec![header(signature.0, true, signature.1)];
    if let Some(topic) = format.topic_header {
        parameters.push(header(
            topic,
            false,
            "the event; the signed body decides what counts",
        ));
    }
    parameters.extend(format.delivery_headers.iter().map(|name| {
        header(
            name,
            false,
            "the delivery's id, so a retried delivery counts once",
        )
    }));
    let platform = format.platform.label();
    let error = |description: &str| responses::error(description);
    let operation = OperationBuilder::new()
        .operation_id(Some(format!("webhooks_{platform}")))
        .summary(Some(format!("Receive a {platform} order event")))
        .description(Some(format!(
            "Verified with `{}`; each order counts once however often it is delivered.",
            format.secret_setting
        )))
        .parameters(Some(parameters))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", Content::new(Some(ObjectBuilder::new())))
                .required(Some(Required::True))
                .build(),
        ))
        .response(
            "200",
            ResponseBuilder::new().description("stored (or a repeat of a stored delivery)"),
        )
        .response("400", error("the payload is not a valid order event"))
        .response(
            "401",
            error("missing or wrong signature, or outside the time window"),
        )
        .response("408", error("the body arrived too slowly"))
        .response("413", error("the body is too large"))
        .response(
            "503",
            error("the secret is not configured or the store is unavailable"),
        );
    PathItem::new(HttpMethod::Post, operation)
}
