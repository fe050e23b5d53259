//! Bodies, query strings and settings that do not fit are refused in words that name the
//! field or parameter, what was given and what is allowed, never a Rust type or serde's jargon.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// The error message of a refused body, after checking it is a 400 without Rust names.
async fn refused(response: reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    for internal in [
        "variant constructor",
        "untagged enum",
        "DecimalText",
        "CostKind",
        "struct ",
        "u64",
        "i64",
    ] {
        assert!(!message.contains(internal), "{internal} in: {message}");
    }
    message
}

#[tokio::test]
async fn a_cost_of_an_unknown_kind_names_the_field_the_value_and_the_kinds_allowed() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;

    // Act
    let response = app
        .post_json(
            &format!("/api/v1/influencers/{influencer}/costs"),
            &json!({"amount": "40.00", "currency": "USD", "kind": "ads", "date": "2026-11-01"}),
        )
        .await;

    // Assert
    let message = refused(response).await;
    for said in [
        "'kind'",
        "ads",
        "fee",
        "gifted_product",
        "shipping",
        "other",
    ] {
        assert!(message.contains(said), "{said} missing in: {message}");
    }
}

#[tokio::test]
async fn a_wrongly_typed_field_is_named_with_what_was_expected() {
    // Arrange
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;

    // Act
    let float = app
        .post_json(
            &format!("/api/v1/influencers/{influencer}/costs"),
            &json!({"amount": 40.5, "currency": "USD", "kind": "fee", "date": "2026-11-01"}),
        )
        .await;
    let followers = app
        .post_json(
            "/api/v1/influencers",
            &json!({"handle": "bob", "followers": "many"}),
        )
        .await;
    let commission = app
        .post_json(
            "/api/v1/influencers",
            &json!({"handle": "carol", "commission": {"percent": "10", "flat": "5"}}),
        )
        .await;

    // Assert
    let float = refused(float).await;
    assert!(float.contains("'amount'"), "{float}");
    assert!(float.contains("\"40.5\""), "{float}");
    let followers = refused(followers).await;
    assert!(followers.contains("'followers'"), "{followers}");
    assert!(followers.contains("many"), "{followers}");
    let commission = refused(commission).await;
    assert!(commission.contains("commission"), "{commission}");
}

#[tokio::test]
async fn an_unknown_field_is_named_with_the_fields_allowed() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .post_json(
            "/api/v1/influencers",
            &json!({"handle": "bob", "fllowers": 5}),
        )
        .await;

    // Assert
    let message = refused(response).await;
    assert!(message.contains("fllowers"), "{message}");
    assert!(message.contains("followers"), "{message}");
}

/// The message of a query string refused with 400 and `code`, after checking it names each of
/// `said` and no Rust type or serde word.
async fn query_refused(app: &TestApp, path: &str, code: &str, said: &[&str]) -> String {
    let (status, body) = app.get_json(path).await;
    assert_eq!(status, 400, "{path}: {body}");
    assert_eq!(body["error"]["code"], code, "{path}: {body}");
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    for word in said {
        assert!(
            message.contains(word),
            "{path}: {word} missing in: {message}"
        );
    }
    for rust in [
        "u32",
        "u64",
        "usize",
        "enum",
        "variant",
        "untagged",
        "invalid type",
        "struct",
        "String",
    ] {
        assert!(!message.contains(rust), "{path}: {rust} in: {message}");
    }
    message
}

#[tokio::test]
async fn a_limit_that_is_not_a_number_names_limit_the_value_and_the_range() {
    let app = spawn_app().await;

    for path in [
        "/api/v1/influencers?limit=ten",
        "/api/v1/orders?limit=-1",
        "/api/v1/campaigns?limit=",
    ] {
        let given = path.split("limit=").nth(1).unwrap();
        let quoted = format!("'{given}'");
        query_refused(
            &app,
            path,
            "invalid_limit",
            &["limit", &quoted, "1 to 1000"],
        )
        .await;
    }
}

#[tokio::test]
async fn a_limit_out_of_range_names_limit_the_value_and_the_range() {
    let app = spawn_app().await;

    for (path, given) in [
        ("/api/v1/links?limit=5000", "'5000'"),
        ("/api/v1/influencers?limit=0", "'0'"),
    ] {
        query_refused(&app, path, "invalid_limit", &["limit", given, "1 to 1000"]).await;
    }
}

#[tokio::test]
async fn an_unknown_value_of_a_choice_names_the_parameter_the_value_and_the_choices() {
    let app = spawn_app().await;

    for (path, code, said) in [
        (
            "/api/v1/reports/influencers?sort=clikcs",
            "invalid_sort",
            &["sort", "'clikcs'", "roi", "handle"][..],
        ),
        (
            "/api/v1/reports/influencers?order=down",
            "invalid_order",
            &["order", "'down'", "asc", "desc"],
        ),
        (
            "/api/v1/reports/influencers?format=xml",
            "invalid_format",
            &["format", "'xml'", "json", "csv"],
        ),
        (
            "/api/v1/orders?review=hold",
            "invalid_review",
            &["review", "'hold'", "held"],
        ),
        (
            "/api/v1/links?disabled=maybe",
            "invalid_query",
            &["disabled", "'maybe'", "true", "false"],
        ),
        (
            "/api/v1/reports/links?influencer_id=x&currency=EURO",
            "invalid_currency",
            &["currency", "'EURO'", "ISO 4217"],
        ),
    ] {
        query_refused(&app, path, code, said).await;
    }
}

#[tokio::test]
async fn a_bad_date_names_from_or_to_the_value_and_the_form() {
    let app = spawn_app().await;

    for (path, said) in [
        (
            "/api/v1/reports/influencers?from=2026-02-30",
            &["'from'", "'2026-02-30'", "YYYY-MM-DD"][..],
        ),
        (
            "/api/v1/orders?to=yesterday",
            &["'to'", "'yesterday'", "YYYY-MM-DD"],
        ),
        (
            "/api/v1/reports/influencers?from=2026-03-01&to=2026-02-01",
            &["'from'", "2026-03-01", "'to'", "2026-02-01"],
        ),
        (
            "/api/v1/reports/influencers?from=2000-01-01&to=2026-01-01",
            &["2000-01-01", "2026-01-01", "at most 3660 days"],
        ),
    ] {
        query_refused(&app, path, "invalid_range", said).await;
    }
}

#[tokio::test]
async fn a_cursor_the_server_did_not_write_names_cursor_and_the_value() {
    let app = spawn_app().await;

    for path in [
        "/api/v1/links?cursor=bogus",
        "/api/v1/orders?cursor=djE6MTo",
    ] {
        let given = format!("'{}'", path.split("cursor=").nth(1).unwrap());
        query_refused(
            &app,
            path,
            "invalid_cursor",
            &["cursor", &given, "next_cursor"],
        )
        .await;
    }
}

/// Unknown parameters are refused, as unknown fields of a body are: a misspelt filter that
/// was ignored would answer every row as if it had applied.
#[tokio::test]
async fn an_unknown_or_repeated_parameter_is_named_with_the_parameters_allowed() {
    let app = spawn_app().await;

    query_refused(
        &app,
        "/api/v1/reports/influencers?grop=weekk",
        "invalid_query",
        &[
            "unknown parameter",
            "grop",
            "'weekk'",
            "from",
            "sort",
            "format",
        ],
    )
    .await;
    // The daily report takes no sort: the influencers report's parameters are not all its own.
    query_refused(
        &app,
        "/api/v1/reports/influencers/inf_x/daily?sort=roi",
        "invalid_query",
        &["unknown parameter", "sort", "from", "currency"],
    )
    .await;
    query_refused(
        &app,
        "/api/v1/orders?limit=5&limit=6",
        "invalid_query",
        &["repeated parameter", "limit"],
    )
    .await;
}

#[tokio::test]
async fn characters_no_one_can_see_are_refused_in_codes_names_notes_and_addresses() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let cases = [
        (
            format!("/api/v1/influencers/{alice}/coupons"),
            json!({"code": "\u{feff}SUMMER20"}),
            "U+FEFF",
        ),
        (
            format!("/api/v1/influencers/{alice}/coupons"),
            json!({"code": "\u{200b}"}),
            "U+200B",
        ),
        (
            "/api/v1/influencers".to_owned(),
            json!({"handle": "bob", "name": "Bob\u{202e}"}),
            "U+202E",
        ),
        (
            "/api/v1/influencers".to_owned(),
            json!({"handle": "carol", "email": "carol@example.com\u{202e}"}),
            "U+202E",
        ),
        (
            "/api/v1/influencers".to_owned(),
            json!({"handle": "dave", "platform": "insta\u{2028}gram"}),
            "U+2028",
        ),
        (
            format!("/api/v1/influencers/{alice}/costs"),
            json!({"amount": "5.00", "currency": "USD", "kind": "fee", "date": "2026-11-01", "note": "x\u{2066}y"}),
            "U+2066",
        ),
    ];

    for (path, body, hidden) in cases {
        // Act
        let message = refused(app.post_json(&path, &body).await).await;

        // Assert
        assert!(message.contains(hidden), "{body}: {message}");
    }
    let (_, coupons) = app
        .get_json(&format!("/api/v1/influencers/{alice}/coupons"))
        .await;
    assert_eq!(coupons["coupons"], json!([]), "nothing stored");
    let named = app
        .post_json(
            "/api/v1/influencers",
            &json!({"handle": "maryam", "name": "مریم‌جان 🎉"}),
        )
        .await;
    assert_eq!(named.status().as_u16(), 201, "a joiner in a name passes");
}

#[tokio::test]
async fn a_cost_date_must_be_yyyy_mm_dd_in_the_years_reftrack_counts() {
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    for date in [
        "0026-11-01",
        "+10000-01-01",
        "-0001-01-01",
        "2026-1-1",
        " 2026-02-03",
    ] {
        let message = refused(
            app.post_json(
                &format!("/api/v1/influencers/{alice}/costs"),
                &json!({"amount": "5.00", "currency": "USD", "kind": "fee", "date": date}),
            )
            .await,
        )
        .await;
        assert!(
            message.starts_with("'date': ") && message.contains(date),
            "{date}: {message}"
        );
    }
    let (_, costs) = app
        .get_json(&format!("/api/v1/influencers/{alice}/costs"))
        .await;
    assert_eq!(costs["costs"], json!([]), "nothing stored");
}

#[tokio::test]
async fn bodies_of_the_wrong_shape_are_refused_in_plain_words() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/p").await;

    // Act and assert: a list for an object, an object for a string, null where a value
    // cannot be cleared, a number past its range
    let list = refused(
        app.post_json(
            &format!("/api/v1/influencers/{alice}/costs"),
            &json!(["7.00", "USD", "fee", null, "2026-11-01", null]),
        )
        .await,
    )
    .await;
    assert!(list.contains("must be a JSON object"), "{list}");
    let object = refused(
        app.post_json("/api/v1/influencers", &json!({"handle": {}}))
            .await,
    )
    .await;
    assert!(
        object.contains("'handle'") && object.contains("got an object") && !object.contains("map"),
        "{object}"
    );
    for (path, body, field) in [
        (
            format!("/api/v1/influencers/{alice}"),
            json!({"handle": null}),
            "'handle'",
        ),
        (
            format!("/api/v1/influencers/{alice}"),
            json!({"disabled": null}),
            "'disabled'",
        ),
        (
            format!("/api/v1/links/{code}"),
            json!({"destination": null}),
            "'destination'",
        ),
    ] {
        let message = refused(app.patch_json(&path, &body).await).await;
        assert!(
            message.contains(field) && message.contains("null is not allowed"),
            "{body}: {message}"
        );
    }
    let window = refused(
        app.post_json(
            "/api/v1/campaigns",
            &json!({"name": "Spring", "currency": "USD", "attribution_window_days": 4_294_967_296_u64}),
        )
        .await,
    )
    .await;
    assert!(
        window.contains("must be 1 to 30, not 4294967296"),
        "{window}"
    );
}

#[tokio::test]
async fn a_body_that_does_not_decode_by_its_content_encoding_is_refused_in_plain_words() {
    let app = spawn_app().await;

    let response = app
        .admin(reqwest::Method::POST, "/api/v1/influencers")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body("{\"handle\": \"bob\"}")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("Content-Encoding"), "{message}");
    assert!(
        !message.contains("Custom") && !message.contains("kind:"),
        "{message}"
    );
}

#[tokio::test]
async fn a_filter_naming_an_influencer_that_does_not_exist_is_refused_not_answered_empty() {
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;

    for path in [
        "/api/v1/orders?influencer_id=inf_nope0000000",
        "/api/v1/links?influencer_id=inf_nope0000000",
        "/api/v1/reports/links?influencer_id=inf_nope0000000",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (422, &json!("unknown_influencer")),
            "{path}: {body}"
        );
    }
    let (status, _) = app
        .get_json(&format!("/api/v1/links?influencer_id={alice}"))
        .await;
    assert_eq!(status, 200, "an influencer with no links yet lists none");
}

#[tokio::test]
async fn malformed_ids_in_a_path_are_refused_alike_and_quoted_short() {
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let long = "x".repeat(20_000);

    for (method, path, code) in [
        (
            reqwest::Method::GET,
            format!("/api/v1/campaigns/{long}"),
            "invalid_campaign_id",
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/influencers/{alice}/costs/{long}"),
            "invalid_cost_id",
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/influencers/{long}"),
            "invalid_influencer_id",
        ),
    ] {
        let response = app.admin(method, &path).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!(code)),
            "{body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.len() < 200, "{code}: {} characters", message.len());
    }
}

#[tokio::test]
async fn money_and_commission_errors_name_the_field_and_the_value() {
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let costs = format!("/api/v1/influencers/{alice}/costs");
    let cost = |amount: &str, currency: &str| json!({"amount": amount, "currency": currency, "kind": "fee", "date": "2026-11-01"});

    let cases = [
        (
            costs.clone(),
            cost("0.001", "USD"),
            &["'amount'", "0.001", "USD"][..],
        ),
        (
            costs.clone(),
            cost("1.5", "JPY"),
            &["'amount'", "1.5", "JPY"][..],
        ),
        (
            costs.clone(),
            cost("5.00", "XAU"),
            &["'currency'", "XAU", "ISO 4217"][..],
        ),
        (
            "/api/v1/influencers".to_owned(),
            json!({"handle": "bob", "commission": {"percent": "1e3"}}),
            &["'commission'", "1e3"][..],
        ),
        (
            "/api/v1/influencers".to_owned(),
            json!({"handle": "bob", "commission": {"percent": "0.001"}}),
            &["'commission'", "0.001", "two decimal places"][..],
        ),
        (
            "/api/v1/influencers".to_owned(),
            json!({"handle": "bob", "commission": {"percent": "250"}}),
            &["'commission'", "250", "between 0 and 100"][..],
        ),
        (
            "/api/v1/influencers".to_owned(),
            json!({"handle": "b o b"}),
            &["'handle'", "b o b"][..],
        ),
    ];
    for (path, body, said) in cases {
        let message = refused(app.post_json(&path, &body).await).await;
        for words in said {
            assert!(message.contains(words), "{body}: {words} not in {message}");
        }
    }
}
