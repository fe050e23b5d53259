//! Redis outages: a hung Redis never holds up a redirect, clicks answered meanwhile are
//! spooled to disk and counted when Redis is back, also when reftrack restarts in between.

use std::num::NonZero;
use std::time::{Duration, Instant};

use crate::helpers::{BROWSER, TestApp, TestRedis, spawn_app_on, spawn_app_with};

/// A short Redis deadline, so a hung Redis is noticed in a fraction of a second.
async fn app_with_short_redis_deadline() -> TestApp {
    spawn_app_with(|s| s.redis.timeout_ms = NonZero::new(200).unwrap()).await
}

#[tokio::test]
async fn clicks_during_a_redis_outage_are_spooled_and_counted_when_redis_is_back() {
    // Arrange: a cached link
    let app = app_with_short_redis_deadline().await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/p").await;
    app.click(&code, BROWSER).await;
    app.wait_for_clicks(&alice, 1).await;

    // Act: Redis hangs; followers keep clicking
    app.redis.pause();
    let started = Instant::now();
    for _ in 0..50 {
        let response = app.click(&code, BROWSER).await;
        assert_eq!(response.status().as_u16(), 302);
    }
    let answered_in = started.elapsed();
    let spooled = app
        .wait_for_metric("reftrack_click_spool_bytes", |v| v > 0.0)
        .await;
    app.redis.resume();

    // Assert
    assert!(
        answered_in < Duration::from_secs(2),
        "50 redirects took {answered_in:?} with Redis hung"
    );
    assert!(spooled > 0.0);
    let row = app.wait_for_clicks(&alice, 51).await;
    assert_eq!(row["clicks"], 51, "{row}");
    app.wait_for_metric("reftrack_click_spool_bytes", |v| v == 0.0)
        .await;
}

#[tokio::test]
async fn clicks_spooled_before_a_restart_are_counted_by_the_next_process() {
    // Arrange
    let mut app = app_with_short_redis_deadline().await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/p").await;
    app.click(&code, BROWSER).await;
    app.wait_for_clicks(&alice, 1).await;
    app.redis.pause();
    for _ in 0..20 {
        assert_eq!(app.click(&code, BROWSER).await.status().as_u16(), 302);
    }
    app.wait_for_metric("reftrack_click_spool_bytes", |v| v > 0.0)
        .await;

    // Act: reftrack stops while Redis is still away, then starts again once it is back
    app.stop().await;
    app.redis.resume();
    let next = app
        .replica_with(|s| s.redis.timeout_ms = NonZero::new(200).unwrap())
        .await;

    // Assert
    assert_eq!(app.first_row_clicks_at(&next.address, 21).await, 21);
}

#[tokio::test]
async fn a_redis_restart_with_its_append_only_file_loses_nothing() {
    // Arrange
    let mut app = spawn_app_on(TestRedis::start_durable(), |s| {
        s.redis.timeout_ms = NonZero::new(200).unwrap();
    })
    .await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/p").await;
    for _ in 0..10 {
        app.click(&code, BROWSER).await;
    }
    app.wait_for_clicks(&alice, 10).await;

    // Act: Redis restarts; followers keep clicking through it
    app.redis.restart();
    for _ in 0..10 {
        assert_eq!(app.click(&code, BROWSER).await.status().as_u16(), 302);
    }

    // Assert: once reftrack has its Redis connections back (the first command on a broken
    // one fails with a 503; on a cluster there is one per node), the old counts, the new
    // clicks and the catalog are all there
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get_json("/api/v1/reports/influencers").await.0 != 200 {
        assert!(Instant::now() < deadline, "reftrack never reconnected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let row = app.wait_for_clicks(&alice, 20).await;
    assert_eq!(row["clicks"], 20, "{row}");
    let (status, _) = app.get_json(&format!("/api/v1/links/{code}")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn clicks_coming_faster_than_redis_takes_them_spill_to_the_spool_and_none_is_dropped() {
    // Arrange: a small buffer, and a Redis deadline longer than the stall below, so the
    // flusher's writes are slow rather than failed (overload, not an outage)
    let app = spawn_app_with(|s| {
        s.redis.timeout_ms = NonZero::new(10_000).unwrap();
        s.clicks.buffer_capacity = 200;
        s.clicks.max_batch = NonZero::new(10).unwrap();
    })
    .await;
    let alice = app.influencer("alice").await;
    let code = app.link(&alice, "https://shop.example/p").await;
    app.click(&code, BROWSER).await;
    app.wait_for_clicks(&alice, 1).await;

    // Act: Redis stalls while 150 clicks come, more than half the buffer, then answers again
    app.redis.pause();
    for _ in 0..150 {
        let response = app.click(&code, BROWSER).await;
        assert_eq!(response.status().as_u16(), 302);
    }
    app.redis.resume();

    // Assert: the buffer went to the spool, and every click is counted once, none dropped
    let row = app.wait_for_clicks(&alice, 151).await;
    assert_eq!(row["clicks"], 151, "{row}");
    assert!(app.metric("reftrack_clicks_spilled_total").await > 0.0);
    app.wait_for_metric("reftrack_click_spool_bytes", |v| v == 0.0)
        .await;
    assert!(app.metric("reftrack_clicks_dropped_total").await.abs() < f64::EPSILON);
    let settled = app.influencer_row(&alice).await;
    assert_eq!(settled["clicks"], 151, "a replay counted twice: {settled}");
}
