//! Click counters and unique-visitor sketches written by builds before the count shards are
//! moved into the shards at start-up, so an upgrade keeps click history in reports: once,
//! however often the migration runs, and leaving the old hash's order counters alone.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use redis::Commands;
use reftrack::store::{MigrateRun, Migrated, Migration, RedisTarget, Store};
use serde_json::Value;

use crate::helpers::{BROWSER, TestApp, spawn_app, test_settings};

/// `Keys::migrations`.
const MIGRATIONS: &str = "rt:{rt:cat}:migrations";

/// What the old build counted for an owner today.
pub const OLD_HUMAN: i64 = 5;
pub const OLD_BOT: i64 = 2;
pub const OLD_VISITORS: [&str; 3] = ["old-visitor-1", "old-visitor-2", "old-visitor-3"];

/// Writes an owner's clicks as builds from eb2aa72 up to b926925^ did (`Keys::counts` and
/// `Keys::uniques` of src/store/keys.rs there; buckets from `Bucket::containing`): `h:`, `b:`
/// fields of the day, month and year in the owner's own `P:{P:<kind>:<name>}:counts`, beside
/// its order counters, and a sketch per bucket in `P:{P:<kind>:<name>}:uniq:<bucket>`.
pub fn seed_old_build(app: &TestApp, tag: &str, day: NaiveDate, human: i64) {
    let mut redis = app.redis.connection();
    let buckets = [
        format!("d:{}", day.format("%Y%m%d")),
        format!("m:{}", day.format("%Y%m")),
        format!("y:{}", day.format("%Y")),
    ];
    let counts = format!("rt:{{rt:{tag}}}:counts");
    for bucket in &buckets {
        let _: i64 = redis.hincr(&counts, format!("h:{bucket}"), human).unwrap();
        let _: i64 = redis
            .hincr(&counts, format!("b:{bucket}"), OLD_BOT)
            .unwrap();
        let _: i64 = redis
            .pfadd(format!("rt:{{rt:{tag}}}:uniq:{bucket}"), &OLD_VISITORS[..])
            .unwrap();
    }
}

/// An order counter of the old hash, which the migration must leave alone.
fn order_counter(tag: &str, day: NaiveDate) -> (String, String) {
    (
        format!("rt:{{rt:{tag}}}:counts"),
        format!("o:EUR:d:{}", day.format("%Y%m%d")),
    )
}

/// Waits until the migration the app ran at start-up has finished (found nothing). Polled
/// asynchronously: the migration runs on the test's own runtime.
pub async fn wait_for_first_run(app: &TestApp) {
    let mut redis = app.redis.connection();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !redis
        .hexists::<_, _, bool>(MIGRATIONS, "pre_shard_clicks")
        .unwrap()
    {
        assert!(
            Instant::now() < deadline,
            "the start-up migration never finished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn store_of(app: &TestApp) -> Store {
    let settings = test_settings(&app.redis);
    Store::connect(&RedisTarget::of(&settings.redis), "rt")
        .await
        .expect("a store on the test redis")
}

async fn click_from(app: &TestApp, code: &str, ip: &str) {
    let response = app
        .client
        .get(app.url(&format!("/{code}")))
        .header("user-agent", BROWSER)
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
}

/// Waits until the influencer's row shows `clicks` human clicks (10 s at most).
async fn row_with(app: &TestApp, influencer: &str, clicks: i64) -> Value {
    let row = app
        .wait_for_clicks(influencer, u64::try_from(clicks).unwrap())
        .await;
    assert_eq!(row["clicks"], clicks, "{row}");
    row
}

#[tokio::test]
async fn an_upgrade_keeps_old_clicks_and_visitors_in_reports_counted_once_however_often_it_runs() {
    // Arrange: a deployment upgraded from a build before the count shards. The catalog is made
    // through the API, so the first start has already run the migration (finding nothing);
    // that run is forgotten, as a deployment upgraded from the old build never had it.
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/").await;
    let today = Utc::now().date_naive();
    let (alice_tag, link_tag) = (format!("i:{alice}"), format!("l:{code}"));
    let mut redis = app.redis.connection();
    wait_for_first_run(&app).await;
    let _: i64 = redis.del(MIGRATIONS).unwrap();
    seed_old_build(&app, &alice_tag, today, OLD_HUMAN);
    seed_old_build(&app, &link_tag, today, OLD_HUMAN);
    let (orders_key, orders_field) = order_counter(&alice_tag, today);
    let _: i64 = redis.hincr(&orders_key, &orders_field, 3).unwrap();

    // Act: a new replica starts (and migrates); two new visitors click.
    let _upgraded = app.replica().await;
    click_from(&app, &code, "198.51.100.1").await;
    click_from(&app, &code, "198.51.100.2").await;
    let migrated = row_with(&app, &alice, OLD_HUMAN + 2).await;
    // Run again, as `reftrack migrate` does, and start once more: nothing to add.
    let again = store_of(&app)
        .await
        .migrate_pre_shard_clicks(MigrateRun::Again)
        .await
        .unwrap();
    let _restarted = app.replica().await;
    let settled = app.influencer_row(&alice).await;
    let this_year = app
        .get_json(&format!(
            "/api/v1/reports/influencers?from={}-01-01&to={}-12-31",
            today.format("%Y"),
            today.format("%Y")
        ))
        .await
        .1["totals"]
        .clone();

    // Assert
    assert_eq!(migrated["unique_clicks"], 5, "{migrated}");
    assert_eq!(migrated["bot_clicks"], OLD_BOT, "{migrated}");
    assert_eq!(again, Migration::Finished(Migrated::default()));
    assert_eq!(settled["clicks"], OLD_HUMAN + 2, "{settled}");
    assert_eq!(settled["unique_clicks"], 5, "{settled}");
    assert_eq!(this_year["clicks"], OLD_HUMAN + 2, "{this_year}");
    let link_clicks: Vec<String> = app.redis.keys("rt:{rt:cs:*}:clicks:l:*");
    let link_today: i64 = redis
        .hget(&link_clicks[0], format!("h:d:{}", today.format("%Y%m%d")))
        .unwrap();
    assert_eq!(link_today, OLD_HUMAN + 2);
    let orders: i64 = redis.hget(&orders_key, &orders_field).unwrap();
    assert_eq!(orders, 3, "the old hash's order counter is untouched");
    let click_fields: Vec<String> = redis.hkeys(&orders_key).unwrap();
    assert_eq!(click_fields, vec![orders_field], "only click fields left");
    let left: Vec<String> = app.redis.keys("rt:{rt:[il]:*}:uniq:*");
    assert!(left.is_empty(), "old sketches left: {left:?}");
}

#[tokio::test]
async fn clicks_an_old_build_counts_after_the_migration_are_moved_by_the_next_run() {
    // Arrange: migrated once; an old replica still running then counts four more.
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let today = Utc::now().date_naive();
    let tag = format!("i:{alice}");
    let store = store_of(&app).await;
    wait_for_first_run(&app).await;
    seed_old_build(&app, &tag, today, OLD_HUMAN);
    let first = store
        .migrate_pre_shard_clicks(MigrateRun::Again)
        .await
        .unwrap();
    seed_old_build(&app, &tag, today, 4);

    // Act
    let at_start = store
        .migrate_pre_shard_clicks(MigrateRun::Once)
        .await
        .unwrap();
    let second = store
        .migrate_pre_shard_clicks(MigrateRun::Again)
        .await
        .unwrap();
    let row = row_with(&app, &alice, OLD_HUMAN + 4).await;

    // Assert: a start-up after a finished run skips it; the command line's run moves the rest.
    let Migration::Finished(first) = first else {
        panic!("the first run finished: {first:?}")
    };
    assert_eq!(
        (first.counters, first.sketches, first.year_sketches),
        (1, 2, 1)
    );
    assert_eq!(at_start, Migration::AlreadyDone);
    let Migration::Finished(second) = second else {
        panic!("the second run finished: {second:?}")
    };
    assert_eq!(second.counters, 1);
    assert_eq!(row["bot_clicks"], 2 * OLD_BOT, "{row}");
    assert_eq!(row["unique_clicks"], 3, "{row}");
}
