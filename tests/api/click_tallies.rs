//! Click counts summed in memory between writes (`clicks.count_interval_ms`): the records
//! land at once, the counts when due, and nothing summed is lost on a stop or an outage.

use std::num::NonZero;
use std::time::Duration;

use crate::helpers::{BROWSER, TestApp, spawn_app_with};

/// An app whose counts would wait a minute to be written.
async fn app_holding_counts() -> TestApp {
    spawn_app_with(|s| {
        s.clicks.count_interval_ms = NonZero::new(60_000).unwrap();
        s.redis.timeout_ms = NonZero::new(200).unwrap();
    })
    .await
}

/// An app holding the counts of `n` clicks on a new link, the link's influencer and code.
async fn holding_clicks(n: usize) -> (TestApp, String, String) {
    let app = app_holding_counts().await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/p").await;
    click_times(&app, &code, n).await;
    #[allow(clippy::cast_precision_loss)]
    let held = n as f64;
    app.wait_for_metric("reftrack_click_tallies_held", is(held))
        .await;
    (app, alice, code)
}

/// A metric's value is the whole number `n` (metrics are read back as floats).
fn is(n: f64) -> impl Fn(f64) -> bool {
    move |v| (v - n).abs() < 0.5
}

/// Loads `code` into the link cache with a HEAD request, which counts no click.
async fn look_up(app: &TestApp, code: &str) {
    let response = app.client.head(app.url(&format!("/{code}"))).send().await;
    assert_eq!(response.expect("HEAD sent").status().as_u16(), 302);
}

/// Clicks `code` `n` times as a person would, each answered with a redirect.
async fn click_times(app: &TestApp, code: &str, n: usize) {
    for _ in 0..n {
        assert_eq!(app.click(code, BROWSER).await.status().as_u16(), 302);
    }
}

#[tokio::test]
async fn counts_held_in_memory_wait_for_their_interval_while_the_records_land_at_once() {
    // Arrange and act: three clicks, their records written and their counts held.
    let (app, alice, _) = holding_clicks(3).await;

    // Assert: the records are written (nothing is left buffered, within seconds: the last
    // click may have come in while the flusher wrote the first ones) and the counts are not
    // yet, a minute being their interval.
    app.wait_for_metric("reftrack_click_buffer_depth", is(0.0))
        .await;
    assert_eq!(app.influencer_row(&alice).await["clicks"], 0);
}

#[tokio::test]
async fn counts_are_written_at_their_interval_even_when_flushes_are_further_apart() {
    // Arrange: a flush a minute, counts due every half second.
    let app = spawn_app_with(|s| {
        s.clicks.flush_interval_ms = NonZero::new(60_000).unwrap();
        s.clicks.count_interval_ms = NonZero::new(500).unwrap();
    })
    .await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/p").await;

    // Act
    click_times(&app, &code, 2).await;

    // Assert: counted within seconds (the helper's deadline), not after the minute's flush.
    let row = app.wait_for_clicks(&alice, 2).await;
    assert_eq!(row["clicks"], 2, "{row}");
}

#[tokio::test]
async fn counts_held_in_memory_are_written_when_the_server_stops() {
    // Arrange
    let (mut app, _, _) = holding_clicks(4).await;

    // Act: a graceful stop, then another process reads the figures.
    app.stop().await;
    let next = app.replica().await;

    // Assert
    assert_eq!(app.first_row_clicks_at(&next.address, 4).await, 4);
}

#[tokio::test]
async fn counts_held_in_memory_go_to_the_spool_with_the_next_batch_when_redis_is_away() {
    // Arrange: three clicks' counts held, then Redis goes away.
    let (app, _, code) = holding_clicks(3).await;
    app.redis.pause();

    // Act: one more click, whose batch cannot be written.
    click_times(&app, &code, 1).await;
    app.wait_for_metric("reftrack_click_spool_bytes", |v| v > 0.0)
        .await;
    // With Redis away, nothing held can have been written: a count of 0 means on disk.
    app.wait_for_metric("reftrack_click_tallies_held", is(0.0))
        .await;
    app.redis.resume();

    // Assert: the spool replay counts all four, long before the minute held counts wait.
    assert_eq!(app.first_row_clicks_at(&app.address, 4).await, 4);
}

#[tokio::test]
async fn counts_that_come_while_a_count_write_hangs_are_counted_when_that_write_lands_late() {
    // Arrange: counts written at every flush, a short Redis deadline, a cached link
    let app = spawn_app_with(|s| {
        s.clicks.count_interval_ms = NonZero::new(1).unwrap();
        s.redis.timeout_ms = NonZero::new(200).unwrap();
    })
    .await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/p").await;
    click_times(&app, &code, 1).await;
    app.wait_for_clicks(&alice, 1).await;

    // Act: Redis hangs, so a count write times out, yet it is in Redis's socket and lands when
    // Redis wakes (as after a lost reply); followers keep clicking while it hangs
    app.redis.pause();
    for _ in 0..30 {
        click_times(&app, &code, 1).await;
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    app.wait_for_metric("reftrack_click_spool_bytes", |v| v > 0.0)
        .await;
    app.redis.resume();

    // Assert: the spooled write is skipped where it had landed, and nothing that came after it
    // is skipped with it
    let row = app.wait_for_clicks(&alice, 31).await;
    assert_eq!(row["clicks"], 31, "{row}");
    app.wait_for_metric("reftrack_click_spool_bytes", |v| v == 0.0)
        .await;
}

/// Links clicked once each in the thin-spread test: more than one count write's part
/// (`clicks/flusher.rs` `MAX_TALLIED_LINKS`, 1,000), so a write every interval would cost
/// Redis per link.
const THIN_LINKS: usize = 1_100;

#[tokio::test]
async fn counts_of_clicks_spread_thin_over_many_links_wait_for_the_longer_interval_then_land() {
    // Arrange: counts due every 30 s while cheap, every 45 s at most while spread thin; 1,100
    // links, created in parallel and loaded into the link cache (a HEAD counts nothing), so
    // the clicks below need no Redis round trip; 30 s because they must all come within the
    // count interval, and took 11 s on a slow machine running eight cluster tests at once;
    // and one click whose write starts the interval.
    let app = spawn_app_with(|s| {
        s.clicks.count_interval_ms = NonZero::new(30_000).unwrap();
        s.clicks.max_count_interval_ms = NonZero::new(45_000).unwrap();
    })
    .await;
    let alice = app.influencer("alice").await;
    let mut codes = Vec::with_capacity(THIN_LINKS + 1);
    let destinations: Vec<String> = (0..=THIN_LINKS)
        .map(|n| format!("https://shop.example/p{n}"))
        .collect();
    for chunk in destinations.chunks(50) {
        let created = futures::future::join_all(chunk.iter().map(|to| app.link(&alice, to))).await;
        codes.extend(created);
    }
    for chunk in codes.chunks(50) {
        futures::future::join_all(chunk.iter().map(|code| look_up(&app, code))).await;
    }
    click_times(&app, &codes[0], 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let mut first = app.influencer_row(&alice).await;
    while first["clicks"] != 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        first = app.influencer_row(&alice).await;
    }
    assert_eq!(
        first["clicks"], 1,
        "the first click's count was written within its interval: {first}"
    );
    let interval_started = tokio::time::Instant::now();

    // Act: one click on each of 1,100 other links, well within the count interval.
    for chunk in codes[1..].chunks(50) {
        futures::future::join_all(chunk.iter().map(|code| click_times(&app, code, 1))).await;
    }
    assert!(
        interval_started.elapsed() < Duration::from_secs(28),
        "clicking took {:?}; the test needs it done within the 30 s interval",
        interval_started.elapsed()
    );

    // Assert: past the count interval the counts are still held (one click a link is thin),
    #[allow(clippy::cast_precision_loss)]
    let held = THIN_LINKS as f64;
    tokio::time::sleep_until(interval_started + Duration::from_secs(31)).await;
    let now_held = app.metric("reftrack_click_tallies_held").await;
    assert!(
        is(held)(now_held),
        "{now_held} held past the count interval"
    );
    assert_eq!(app.influencer_row(&alice).await["clicks"], 1);
    // and the longer interval writes every one of them.
    tokio::time::sleep_until(interval_started + Duration::from_secs(44)).await;
    let row = app.wait_for_clicks(&alice, 1 + THIN_LINKS as u64).await;
    assert_eq!(row["clicks"], 1 + THIN_LINKS as u64, "{row}");
}
