use reqwest::Method;

use crate::helpers::{TOKEN, spawn_app};

/// Every admin route: method and path template. The OpenAPI test checks the document lists
/// each one.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/influencers"),
    ("POST", "/api/v1/influencers"),
    ("GET", "/api/v1/influencers/{id}"),
    ("PATCH", "/api/v1/influencers/{id}"),
    ("DELETE", "/api/v1/influencers/{id}"),
    ("GET", "/api/v1/influencers/{id}/coupons"),
    ("POST", "/api/v1/influencers/{id}/coupons"),
    ("DELETE", "/api/v1/influencers/{id}/coupons/{code}"),
    ("GET", "/api/v1/influencers/{id}/costs"),
    ("POST", "/api/v1/influencers/{id}/costs"),
    ("DELETE", "/api/v1/influencers/{id}/costs/{cost_id}"),
    ("GET", "/api/v1/links"),
    ("POST", "/api/v1/links"),
    ("GET", "/api/v1/links/{code}"),
    ("PATCH", "/api/v1/links/{code}"),
    ("DELETE", "/api/v1/links/{code}"),
    ("GET", "/api/v1/campaigns"),
    ("POST", "/api/v1/campaigns"),
    ("GET", "/api/v1/campaigns/{id}"),
    ("GET", "/api/v1/orders"),
    ("PUT", "/api/v1/orders/{order_key}/attribution"),
    ("POST", "/api/v1/orders/{order_key}/review"),
    ("GET", "/api/v1/reports/influencers"),
    ("GET", "/api/v1/reports/influencers/{id}/daily"),
    ("GET", "/api/v1/reports/links"),
];

/// A request path for a route template, with sample values in its parameters.
pub fn concrete(template: &str) -> String {
    template
        .replace("{id}", "inf_x")
        .replace("{code}", "somecode")
        .replace("{cost_id}", "cost_x")
        .replace("{order_key}", "shopify%3A1001")
}

/// The routes as requests, plus one that does not exist (auth comes first there too).
fn requests() -> Vec<(&'static str, String)> {
    ROUTES
        .iter()
        .map(|(method, template)| (*method, concrete(template)))
        .chain([("GET", "/api/v1/no-such-route".to_owned())])
        .collect()
}

#[tokio::test]
async fn every_admin_route_refuses_requests_without_the_right_token() {
    let app = spawn_app().await;
    let wrong = format!("{TOKEN}x");
    let credentials: [Option<String>; 4] = [
        None,
        Some(format!("Bearer {wrong}")),
        Some(format!("Basic {TOKEN}")),
        Some("Bearer ".to_owned()),
    ];

    for (method, path) in requests() {
        for credential in &credentials {
            let mut request = app.client.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&path),
            );
            if let Some(value) = credential {
                request = request.header("authorization", value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status().as_u16(),
                401,
                "{method} {path} with {credential:?}"
            );
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
}

#[tokio::test]
async fn the_right_token_is_let_through_on_every_admin_route() {
    let app = spawn_app().await;

    for (method, path) in requests() {
        let response = app
            .admin(Method::from_bytes(method.as_bytes()).unwrap(), &path)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_ne!(response.status().as_u16(), 401, "{method} {path}");
        assert!(response.status().is_success() || response.status().is_client_error());
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "{method} {path}: no browser or proxy keeps an answer"
        );
    }
    // Each request is timed under its own documented route: a route whose pattern actix
    // spells otherwise than the document (a regex segment) would be timed as "unmatched".
    let metrics = app.metrics_text().await;
    for (method, template) in ROUTES {
        let series = format!("method=\"{method}\",route=\"{template}\"");
        assert!(
            metrics.contains(&series),
            "{method} {template} is not timed as {series}"
        );
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_accepted_in_any_case() {
    let app = spawn_app().await;

    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = app
            .client
            .get(app.api_url("/api/v1/influencers"))
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn a_report_token_reads_reports_and_nothing_else() {
    // Arrange
    let report_token = "report-only-token-0123456789";
    let app = crate::helpers::spawn_app_with(|s| {
        s.admin.report_tokens = vec![report_token.into()];
    })
    .await;
    let get = |path: &str| {
        app.client
            .get(app.url(path))
            .bearer_auth(report_token)
            .send()
    };

    // Act
    let report = get("/api/v1/reports/influencers").await.unwrap();
    let influencers = get("/api/v1/influencers").await.unwrap();
    let create = app
        .client
        .post(app.url("/api/v1/influencers"))
        .bearer_auth(report_token)
        .json(&serde_json::json!({"handle": "mallory"}))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(report.status().as_u16(), 200);
    assert_eq!(influencers.status().as_u16(), 403);
    assert_eq!(create.status().as_u16(), 403);
    let body: serde_json::Value = create.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    let (_, list) = app.get_json("/api/v1/influencers").await;
    assert_eq!(
        list["influencers"],
        serde_json::json!([]),
        "nothing was created"
    );
}
