//! Reports over many currencies in one pass, totals of huge or corrupt counters, report
//! slots, and CSV cells made safe for spreadsheets.

use std::num::NonZero;
use std::time::Duration;

use chrono::{Datelike, Utc};
use reftrack::store::{Keys, Owner};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn today() -> String {
    Utc::now().date_naive().to_string()
}

/// An influencer without commission who owns `coupon`; returns their id.
async fn influencer_with_coupon(app: &TestApp, handle: &str, coupon: &str) -> String {
    let id = app.influencer_with(handle, json!(null)).await;
    let added = app
        .post_json(
            &format!("/api/v1/influencers/{id}/coupons"),
            &json!({"code": coupon}),
        )
        .await;
    assert_eq!(added.status().as_u16(), 201);
    id
}

async fn order(app: &TestApp, order_id: &str, amount: &str, currency: &str, coupon: Option<&str>) {
    let mut body = json!({"event": "order.created", "order_id": order_id, "amount": amount,
                          "currency": currency});
    if let Some(coupon) = coupon {
        body["coupon"] = coupon.into();
    }
    assert_eq!(app.generic(&body).await.status().as_u16(), 200);
}

async fn cost(app: &TestApp, id: &str, amount: &str, currency: &str) {
    let body = json!({"amount": amount, "currency": currency, "kind": "fee", "date": today()});
    let response = app
        .post_json(&format!("/api/v1/influencers/{id}/costs"), &body)
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

fn row<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["influencer_id"] == id)
        .unwrap_or_else(|| panic!("no row of {id} in {report}"))
}

#[tokio::test]
async fn a_report_over_many_currencies_shows_each_apart_with_the_same_figures_in_any_currency() {
    // Arrange: two influencers and unattributed orders across five currencies.
    let app = spawn_app().await;
    let alice = influencer_with_coupon(&app, "alice", "ALICE").await;
    let bob = influencer_with_coupon(&app, "bob", "BOB").await;
    order(&app, "A-1", "100.00", "USD", Some("ALICE")).await;
    order(&app, "A-2", "30.00", "EUR", Some("ALICE")).await;
    order(&app, "A-3", "3000", "JPY", Some("ALICE")).await;
    order(&app, "B-1", "20.00", "EUR", Some("BOB")).await;
    order(&app, "B-2", "5.00", "GBP", Some("BOB")).await;
    order(&app, "U-1", "7.00", "CHF", None).await;
    cost(&app, &alice, "10.00", "EUR").await;

    // Act
    let (usd_status, usd) = app.get_json("/api/v1/reports/influencers").await;
    let (eur_status, eur) = app
        .get_json("/api/v1/reports/influencers?currency=EUR")
        .await;

    // Assert
    assert_eq!(usd_status, 200, "{usd}");
    assert_eq!(eur_status, 200, "{eur}");
    assert_eq!(row(&usd, &alice)["revenue"], "100.00");
    assert_eq!(row(&usd, &alice)["orders"], 1);
    assert_eq!(row(&usd, &bob)["revenue"], "0.00");
    assert_eq!(usd["totals"]["revenue"], "100.00");
    let other = |currency: &str, orders: i64, revenue: &str, costs: &str| {
        json!({"currency": currency, "orders": orders, "revenue": revenue, "refunds": "0.00",
               "net_revenue": revenue, "commission": "0.00", "costs": costs})
    };
    let mut jpy = other("JPY", 1, "3000", "0");
    jpy["refunds"] = "0".into();
    jpy["commission"] = "0".into();
    assert_eq!(
        usd["other_currencies"],
        json!([
            other("CHF", 1, "7.00", "0.00"),
            other("EUR", 2, "50.00", "10.00"),
            other("GBP", 1, "5.00", "0.00"),
            jpy
        ])
    );
    assert_eq!(row(&eur, &alice)["revenue"], "30.00");
    assert_eq!(row(&eur, &alice)["costs"], "10.00");
    assert_eq!(row(&eur, &alice)["profit"], "20.00");
    assert_eq!(row(&eur, &bob)["revenue"], "20.00");
    assert_eq!(eur["totals"]["revenue"], "50.00");
    let eur_others: Vec<&str> = eur["other_currencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["currency"].as_str().unwrap())
        .collect();
    assert_eq!(eur_others, ["CHF", "GBP", "JPY", "USD"]);
}

#[tokio::test]
async fn money_counters_are_a_hash_table_from_the_first_order_or_cost_and_older_lists_are_read_too()
{
    // Arrange: Carol's counters were written as a list, as a build before the table field did.
    let app = spawn_app().await;
    let alice = influencer_with_coupon(&app, "alice", "ALICE10").await;
    let bob = influencer_with_coupon(&app, "bob", "BOB10").await;
    let carol = influencer_with_coupon(&app, "carol", "CAROL10").await;
    let keys = Keys::new("rt");
    let counts = |id: &str| keys.counts(Owner::Influencer(id));
    let month = Utc::now().format("m:%Y%m").to_string();
    let _: () = redis::cmd("HSET")
        .arg(counts(&carol))
        .arg(format!("o:USD:{month}"))
        .arg(2)
        .arg(format!("r:USD:{month}"))
        .arg(5000)
        .query(&mut app.redis.connection())
        .unwrap();
    assert_eq!(app.redis.encoding(&counts(&carol)), "listpack");
    let (_, before) = app.get_json("/api/v1/reports/influencers").await;
    assert_eq!(row(&before, &carol)["revenue"], "50.00", "{before}");

    // Act
    order(&app, "tbl-1", "30.00", "USD", Some("ALICE10")).await;
    cost(&app, &bob, "12.50", "USD").await;
    order(&app, "tbl-2", "10.00", "USD", Some("CAROL10")).await;
    let (status, report) = app.get_json("/api/v1/reports/influencers").await;

    // Assert
    assert_eq!(status, 200, "{report}");
    for id in [&alice, &bob, &carol] {
        assert_eq!(app.redis.encoding(&counts(id)), "hashtable", "{id}");
    }
    assert_eq!(row(&report, &alice)["revenue"], "30.00", "{report}");
    assert_eq!(row(&report, &bob)["costs"], "12.50", "{report}");
    assert_eq!(row(&report, &carol)["revenue"], "60.00", "{report}");
    assert_eq!(row(&report, &carol)["orders"], 3, "{report}");
}

#[tokio::test]
async fn huge_counters_add_up_exactly_and_a_corrupt_one_is_skipped_and_counted() {
    // Arrange: counters written straight into Redis, as a hostile or broken writer would.
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    let year = Utc::now().year();
    let keys = Keys::new("rt");
    let mut redis = app.redis.connection();
    for id in [&alice, &bob] {
        let _: () = redis::cmd("HSET")
            .arg(keys.counts(Owner::Influencer(id)))
            .arg(format!("o:USD:m:{year}01"))
            .arg(1)
            .arg(format!("r:USD:m:{year}01"))
            .arg(i64::MAX)
            .arg(format!("o:USD:y:{year}"))
            .arg(1)
            .arg(format!("r:USD:y:{year}"))
            .arg(i64::MAX)
            .query(&mut redis)
            .unwrap();
    }
    let _: () = redis::cmd("HSET")
        .arg(keys.click_counts(Owner::Influencer(&bob)))
        .arg(format!("h:m:{year}01"))
        .arg("lots")
        .query(&mut redis)
        .unwrap();
    // Alice's hash grows past 512 fields, which are read field by field, not whole.
    let mut history = redis::cmd("HSET");
    history.arg(keys.counts(Owner::Influencer(&alice)));
    for day in 0..600 {
        history.arg(format!("h:d:1999{day:04}")).arg(1);
    }
    let _: () = history.query(&mut redis).unwrap();
    let corrupt = r#"reftrack_corrupt_records_total{kind="counter"}"#;
    let before = app.metric(corrupt).await;

    // Act
    let (status, report) = app
        .get_json(&format!(
            "/api/v1/reports/influencers?from={year}-01-01&to={year}-12-31"
        ))
        .await;

    // Assert
    assert_eq!(status, 200, "{report}");
    assert_eq!(row(&report, &alice)["revenue"], "92233720368547758.07");
    assert_eq!(
        row(&report, &bob)["clicks"],
        0,
        "the corrupt counter is skipped"
    );
    assert_eq!(report["totals"]["revenue"], "184467440737095516.14");
    assert_eq!(report["totals"]["profit"], "184467440737095516.14");
    assert_eq!(report["totals"]["aov"], "92233720368547758.07");
    assert!((app.metric(corrupt).await - before - 1.0).abs() < 1e-9);
}

#[tokio::test]
async fn csv_cells_a_spreadsheet_would_evaluate_are_quoted_but_negative_money_stays_a_number() {
    // Arrange
    let app = spawn_app().await;
    let formula = app.influencer_with("-2-3", json!(null)).await;
    cost(&app, &formula, "12.50", "USD").await;

    // Act
    let response = app
        .admin(
            reqwest::Method::GET,
            "/api/v1/reports/influencers?format=csv",
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();

    // Assert
    assert_eq!(status, 200, "{body}");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let record = reader
        .records()
        .map(Result::unwrap)
        .find(|r| r[column("influencer_id")] == formula)
        .expect("a row of the influencer");
    assert_eq!(&record[column("handle")], "'-2-3");
    assert_eq!(&record[column("profit")], "-12.50");
    assert_eq!(&record[column("costs")], "12.50");
}

#[tokio::test]
async fn a_report_that_finds_every_slot_taken_is_answered_busy_with_retry_after() {
    // Arrange: one slot, a short queue, and a Redis that hangs so the first report keeps it.
    let app = spawn_app_with(|s| {
        s.reports.max_concurrent = 1;
        s.reports.queue_wait_ms = 100;
        s.redis.timeout_ms = NonZero::new(3_000).unwrap();
    })
    .await;
    app.influencer("alice").await;
    let busy_before = app.metric("reftrack_reports_busy_total").await;
    app.redis.pause();

    // Act: two reports at once; whichever enters first holds the slot until Redis times out.
    let report = || async {
        let response = app
            .admin(reqwest::Method::GET, "/api/v1/reports/influencers")
            .send()
            .await
            .unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (status, body["error"]["code"].clone(), retry_after)
    };
    let (first, second) = tokio::join!(report(), report());
    app.redis.resume();

    // Assert
    let mut answers = [first, second];
    answers.sort_by_key(|(_, code, _)| code.to_string());
    assert_eq!(answers[0], (503, json!("busy"), Some("1".to_owned())));
    assert_eq!(answers[1].0, 503);
    assert_eq!(answers[1].1, "store_unavailable");
    let busy_after = app.metric("reftrack_reports_busy_total").await;
    assert!(
        (busy_after - busy_before - 1.0).abs() < 1e-9,
        "{busy_after}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = app.get_json("/api/v1/reports/influencers").await;
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slot was never given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_link_report_longer_than_a_chunk_streams_every_link_once_and_gives_its_slot_back() {
    // Arrange: more links than one chunk of the body (500), clicks on the first and the last
    let app = spawn_app_with(|s| s.reports.max_concurrent = 1).await;
    let alice = app.influencer("alice").await;
    let mut codes = Vec::new();
    for chunk in 0..22 {
        let created =
            futures::future::join_all((0..50).map(|_| app.link(&alice, "https://shop.example/")))
                .await;
        assert_eq!(created.len(), 50, "chunk {chunk}");
        codes.extend(created);
    }
    app.click(&codes[0], crate::helpers::BROWSER).await;
    app.click(&codes[codes.len() - 1], crate::helpers::BROWSER)
        .await;
    app.wait_for_clicks(&alice, 2).await;

    // Act
    let (status, report) = app
        .get_json(&format!("/api/v1/reports/links?influencer_id={alice}"))
        .await;

    // Assert
    assert_eq!(status, 200, "{report}");
    let rows = report["rows"].as_array().unwrap();
    let mut listed: Vec<&str> = rows.iter().map(|r| r["code"].as_str().unwrap()).collect();
    listed.sort_unstable();
    listed.dedup();
    assert_eq!(listed.len(), codes.len());
    let clicks: i64 = rows.iter().map(|r| r["clicks"].as_i64().unwrap()).sum();
    assert_eq!(clicks, 2);
    assert_eq!(report["totals"]["clicks"], 2);
    assert_eq!(report["currency"], "USD");
    let (again, _) = app
        .get_json(&format!("/api/v1/reports/links?influencer_id={alice}"))
        .await;
    assert_eq!(again, 200, "the streamed report gave its slot back");
}
