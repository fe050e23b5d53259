//! The overview's "Download CSV" in a real headless browser: the file the user gets is the
//! CSV report of the period and filters on screen, byte for byte, and its figures are the
//! JSON report's.
//!
//! Ignored by a plain `cargo test` like the other browser tests; run it with
//! `cargo test --test api dashboard_download -- --include-ignored`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser_views::{click, close, started, text_with, value_of};
use crate::dashboard::{browser_downloading_to, known_figures, sign_in};
use crate::helpers::{TOKEN, TestApp, spawn_app};

/// The one finished file in `folder`: chromium writes a download to a hidden
/// `.org.chromium.Chromium.*` file or to `*.crdownload` first, and renames it when done.
async fn downloaded(folder: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let finished: Vec<PathBuf> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                let hidden = path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with('.'));
                !hidden && path.extension().is_none_or(|e| e != "crdownload")
            })
            .collect();
        if let [file] = finished.as_slice() {
            return file.clone();
        }
        assert!(
            finished.len() <= 1 && Instant::now() < deadline,
            "no single download in {}: {finished:?}",
            folder.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The body of an admin `GET` as text, after checking it answered 200.
async fn get_text(app: &TestApp, path: &str) -> String {
    let response = app
        .admin(reqwest::Method::GET, path)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.text().await.unwrap()
}

/// The JSON report's row of `influencer_id` (an empty id: the unattributed row).
fn json_row<'a>(report: &'a Value, influencer_id: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["influencer_id"].as_str().unwrap_or_default() == influencer_id)
        .unwrap_or_else(|| panic!("no row of '{influencer_id}' in {report}"))
}

/// A JSON figure as the CSV writes it: text as is, null as an empty cell.
fn as_cell(figure: &Value) -> String {
    match figure {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
#[ignore = "drives chromium through chromedriver; run with cargo test -- --include-ignored (CI does)"]
async fn the_csv_download_is_the_report_on_screen_with_the_json_reports_figures() {
    let folder = tempfile::tempdir().unwrap();
    let Some(browser) = started(browser_downloading_to(folder.path()).await) else {
        return;
    };
    let client = &browser.client;
    // Arrange
    let app = spawn_app().await;
    let (alice, bea, _) = known_figures(&app).await;
    sign_in(client, &app, TOKEN).await;
    text_with(client, "#cards [data-figure='profit']", "47.00").await;
    let from = value_of(client, "#from").await;
    let to = value_of(client, "#to").await;

    // Act
    click(client, "#csv").await;
    let file = downloaded(folder.path()).await;

    // Assert: the bytes are the CSV report of the period on screen, sorted as on screen
    let bytes = std::fs::read_to_string(&file).unwrap();
    let query = format!("from={from}&to={to}&sort=roi&order=desc");
    let csv = get_text(
        &app,
        &format!("/api/v1/reports/influencers?{query}&format=csv"),
    )
    .await;
    assert_eq!(bytes, csv, "{}", file.display());
    assert_eq!(
        file.file_name().unwrap().to_string_lossy(),
        format!("reftrack-influencers-{from}-{to}.csv"),
        "the server's name, with the period"
    );
    // ... and its figures are the JSON report's, row by row
    let (status, report) = app
        .get_json(&format!("/api/v1/reports/influencers?{query}"))
        .await;
    assert_eq!(status, 200);
    let mut lines = csv::Reader::from_reader(bytes.as_bytes());
    let header: Vec<String> = lines.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[..2], ["influencer_id", "handle"]);
    let mut ids = Vec::new();
    for record in lines.records() {
        let record = record.unwrap();
        let row = json_row(&report, &record[0]);
        for (column, cell) in header.iter().zip(record.iter()).skip(2) {
            assert_eq!(cell, as_cell(&row[column]), "{column} of '{}'", &record[0]);
        }
        ids.push(record[0].to_owned());
    }
    assert_eq!(
        ids.len(),
        report["rows"].as_array().unwrap().len(),
        "{bytes}"
    );
    assert!(ids.contains(&alice) && ids.contains(&bea), "{bytes}");
    assert!(bytes.contains(",80.00,"), "alice's revenue: {bytes}");
    close(browser).await;
}
