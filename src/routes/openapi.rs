//! `GET /api/v1/openapi.json`: the admin API's OpenAPI 3 document, generated from the
//! handlers' annotations and the request and response types themselves, so it cannot drift.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{campaigns, costs, coupons, influencers, links, order_changes, orders, reports};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "reftrack admin API",
        description = "Influencers, links, coupons, costs, campaigns, orders and ROI reports. \
                       Every route needs `Authorization: Bearer <admin token>`."
    ),
    paths(
        influencers::create,
        influencers::list,
        influencers::get,
        influencers::update,
        influencers::disable,
        links::create,
        links::list,
        links::get,
        links::update,
        links::disable,
        coupons::add,
        coupons::list,
        coupons::remove,
        costs::add,
        costs::list,
        costs::delete,
        campaigns::create,
        campaigns::list,
        campaigns::get,
        orders::list,
        order_changes::reattribute,
        order_changes::review,
        reports::influencers,
        reports::daily,
        reports::links,
    ),
    modifiers(&BearerToken)
)]
struct AdminApi;

/// Declares the `bearer` security scheme the paths refer to.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Built once: the document only changes with the binary.
pub async fn document() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let json = DOCUMENT.get_or_init(|| {
        AdminApi::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json.clone())
}
