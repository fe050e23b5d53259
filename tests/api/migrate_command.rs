//! `reftrack migrate` as an operator runs it after the last old replica stopped: the real
//! binary, pointed at the deployment's Redis by `REFTRACK_REDIS__URL`, moves what builds before
//! the count shards counted into the shards, once however often it runs.

use chrono::Utc;
use serde_json::{Value, json};

use crate::cli_run::{Run, run};
use crate::helpers::{TestApp, spawn_app};
use crate::migrate::{OLD_BOT, OLD_HUMAN, OLD_VISITORS, seed_old_build, wait_for_first_run};

/// Runs `reftrack migrate` with the environment that points reftrack at the app's Redis (one
/// server or the cluster, as the suite runs).
async fn migrate(app: &TestApp) -> Run {
    let env = app.redis.env();
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    run(&app.address, &env, &["migrate"]).await
}

/// What the reports show: the influencer's row and its link's over the last 30 days, and the
/// year's totals (a year is read as its months, so a year field left behind would show).
async fn reported(app: &TestApp, influencer: &str) -> Value {
    let year = Utc::now().date_naive().format("%Y");
    let (_, links) = app
        .get_json(&format!("/api/v1/reports/links?influencer_id={influencer}"))
        .await;
    let (_, this_year) = app
        .get_json(&format!(
            "/api/v1/reports/influencers?from={year}-01-01&to={year}-12-31"
        ))
        .await;
    json!({
        "influencer": app.influencer_row(influencer).await,
        "link": links["rows"][0],
        "year": this_year["totals"],
    })
}

#[tokio::test]
async fn reftrack_migrate_moves_old_counters_into_the_reports_once_and_a_second_run_moves_nothing()
{
    // Arrange: a deployment upgraded from a build before the count shards, its start-up
    // migration done, then an old replica's clicks for the influencer and its link.
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/").await;
    let today = Utc::now().date_naive();
    wait_for_first_run(&app).await;
    seed_old_build(&app, &format!("i:{alice}"), today, OLD_HUMAN);
    seed_old_build(&app, &format!("l:{code}"), today, OLD_HUMAN);
    let before = reported(&app, &alice).await;

    // Act
    let first = migrate(&app).await;
    let after_first = reported(&app, &alice).await;
    let second = migrate(&app).await;
    let after_second = reported(&app, &alice).await;

    // Assert: each owner's counters and its day and month sketches moved, its year sketch
    // dropped; the reports count the old clicks once, and the second run changes nothing.
    assert_eq!(before["influencer"]["clicks"], 0, "{before}");
    assert!(first.success, "{}", first.stderr);
    assert_eq!(
        first.stdout,
        "every link indexed by creation time (1 looked at)\n\
         migrated the click counters of 2 links and influencers, 4 visitor sketches \
         (2 year sketches dropped)\n"
    );
    for figures in ["influencer", "link"] {
        let row = &after_first[figures];
        assert_eq!(row["clicks"], OLD_HUMAN, "{figures}: {row}");
        assert_eq!(row["bot_clicks"], OLD_BOT, "{figures}: {row}");
        assert_eq!(row["unique_clicks"], OLD_VISITORS.len(), "{figures}: {row}");
    }
    assert_eq!(after_first["year"]["clicks"], OLD_HUMAN, "{after_first}");
    assert!(second.success, "{}", second.stderr);
    assert_eq!(
        second.stdout,
        "every link indexed by creation time (1 looked at)\n\
         migrated the click counters of 0 links and influencers, 0 visitor sketches \
         (0 year sketches dropped)\n"
    );
    assert_eq!(after_second, after_first);
}

#[tokio::test]
async fn reftrack_migrate_with_an_empty_redis_url_exits_with_an_error_saying_what_to_set() {
    // Arrange: no Redis of its own to migrate (serve's private one migrates when serve starts).
    let no_server = "http://127.0.0.1:1";

    // Act
    let refused = run(no_server, &[("REFTRACK_REDIS__URL", "")], &["migrate"]).await;

    // Assert
    assert!(!refused.success, "{}", refused.stdout);
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    assert!(
        refused.stderr.starts_with("error: redis.url is empty")
            && refused.stderr.contains("set REFTRACK_REDIS__URL"),
        "{}",
        refused.stderr
    );
}
