use reqwest::Method;

use crate::helpers::{TOKEN, spawn_app};

/// Every admin route, with a method it answers.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/influencers"),
    ("POST", "/api/v1/influencers"),
    ("GET", "/api/v1/influencers/inf_x"),
    ("PATCH", "/api/v1/influencers/inf_x"),
    ("DELETE", "/api/v1/influencers/inf_x"),
    ("GET", "/api/v1/links?influencer_id=inf_x"),
    ("POST", "/api/v1/links"),
    ("GET", "/api/v1/links/somecode"),
    ("PATCH", "/api/v1/links/somecode"),
    ("DELETE", "/api/v1/links/somecode"),
    ("GET", "/api/v1/reports/influencers"),
    ("GET", "/api/v1/reports/links?influencer_id=inf_x"),
    ("GET", "/api/v1/no-such-route"),
];

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

    for (method, path) in ROUTES {
        for credential in &credentials {
            let mut request = app.client.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(path),
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

    for (method, path) in ROUTES {
        let response = app
            .admin(Method::from_bytes(method.as_bytes()).unwrap(), path)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_ne!(response.status().as_u16(), 401, "{method} {path}");
        assert!(response.status().is_success() || response.status().is_client_error());
    }
}
