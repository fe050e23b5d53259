//! The OpenAPI document of the admin API.

use crate::admin_auth::ROUTES;
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
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "no route the server does not have"
    );
    let mut operation_ids: Vec<&str> = paths
        .values()
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
async fn the_openapi_document_needs_the_admin_token_like_the_rest_of_the_api() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}
