//! The OpenAPI document of the admin API.

use crate::admin_auth::{ROUTES, concrete};
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_openapi_document_lists_every_admin_route_with_its_method() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let (status, document) = app.get_json("/api/v1/openapi.json").await;

    // Assert
    assert_eq!(status, 200);
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        document["openapi"]
    );
    let paths = document["paths"].as_object().unwrap();
    for (method, template) in ROUTES {
        let operation = &paths
            .get(*template)
            .unwrap_or_else(|| panic!("{template} is not in the document"))[method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template} is not in the document"
        );
        assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]));
        assert!(
            operation["responses"]["401"].is_object(),
            "{method} {template}"
        );
    }
    let documented: usize = paths
        .iter()
        .filter(|(path, _)| path.starts_with("/api/"))
        .map(|(_, item)| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "no route the server does not have"
    );
    let mut operation_ids: Vec<&str> = paths
        .iter()
        .filter(|(path, _)| path.starts_with("/api/"))
        .map(|(_, item)| item)
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|operation| operation["operationId"].as_str().unwrap())
        .collect();
    operation_ids.sort_unstable();
    operation_ids.dedup();
    assert_eq!(
        operation_ids.len(),
        ROUTES.len(),
        "operation ids are unique"
    );
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn the_openapi_document_is_public_and_names_this_server() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
    let document: serde_json::Value = response.json().await.unwrap();
    assert_eq!(document["servers"][0]["url"], app.address.as_str());
    assert!(
        !document.to_string().contains(crate::helpers::TOKEN),
        "the admin token is not in the document"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_each_webhook_with_its_signature_header() {
    let app = spawn_app().await;

    let (_, document) = app.get_json("/api/v1/openapi.json").await;

    for (path, signature) in [
        ("/webhooks/shopify", "x-shopify-hmac-sha256"),
        ("/webhooks/woocommerce", "x-wc-webhook-signature"),
        ("/webhooks/stripe", "stripe-signature"),
        ("/webhooks/orders", "x-reftrack-signature"),
    ] {
        let operation = &document["paths"][path]["post"];
        assert!(operation.is_object(), "{path} is not documented");
        let headers: Vec<&str> = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(headers.contains(&signature), "{path}: {headers:?}");
        assert!(operation["responses"]["401"].is_object(), "{path}");
        assert!(operation.get("security").is_none(), "{path} needs no token");
    }
}

#[tokio::test]
async fn every_documented_path_answers_other_methods_with_405_and_the_documented_allow() {
    let app = spawn_app().await;
    let (_, document) = app.get_json("/api/v1/openapi.json").await;
    let paths = document["paths"].as_object().unwrap();

    for (template, item) in paths.iter().filter(|(p, _)| p.starts_with("/api/")) {
        let mut documented: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        documented.sort();
        let unused = ["PUT", "PATCH", "POST", "DELETE"]
            .into_iter()
            .find(|m| !documented.iter().any(|d| d == m))
            .expect("a method the path does not answer");

        let response = app
            .admin(
                reqwest::Method::from_bytes(unused.as_bytes()).unwrap(),
                &concrete(template),
            )
            .send()
            .await
            .unwrap();

        assert_eq!(response.status().as_u16(), 405, "{unused} {template}");
        let mut allowed: Vec<String> = response.headers()["allow"]
            .to_str()
            .unwrap()
            .split(", ")
            .map(str::to_owned)
            .collect();
        allowed.sort();
        assert_eq!(allowed, documented, "{template}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
}

/// Every `$ref` in `value` and below.
fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner.as_str()) {
                    ("$ref", Some(target)) => out.push(target),
                    _ => refs(inner, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_schema_the_openapi_document_refers_to_is_defined_in_it() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let (_, document) = app.get_json("/api/v1/openapi.json").await;

    // Assert: each reference names a schema of components.schemas
    let mut found = Vec::new();
    refs(&document, &mut found);
    assert!(found.len() > 20, "{} references", found.len());
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target} is not a schema reference"));
        assert!(schemas.contains_key(name), "{target} is not defined");
    }
    // A field that may be left out of a change but not cleared is not documented as nullable.
    for (schema, field) in [
        ("LinkPatch", "destination"),
        ("LinkPatch", "disabled"),
        ("InfluencerPatch", "handle"),
    ] {
        let property = &schemas[schema]["properties"][field];
        assert!(property["type"].is_string(), "{schema}.{field}: {property}");
    }
}
