//! Stateless replicas over one Redis (a cluster when the suite runs with
//! `REFTRACK_TEST_REDIS=cluster`): clicks through several replicas add up exactly, a link
//! changed through one replica reaches the others, and a cluster master that dies under load
//! loses no click.

use std::num::NonZero;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::json;

use crate::helpers::{BROWSER, TestRedis, spawn_app, spawn_app_on, spawn_app_with};

/// The documented delay (`link_cache::REFRESH_INTERVAL`, 0.5 s) plus room for a loaded machine.
const CHANGE_REACHES_EVERY_REPLICA_WITHIN: Duration = Duration::from_secs(2);

#[tokio::test]
async fn clicks_through_two_replicas_are_all_counted_exactly() {
    // Arrange
    let app = spawn_app().await;
    let replica = app.replica().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act: 300 followers at once, every other one balanced to the second replica
    let responses = join_all((0..300).map(|i| {
        let base = if i % 2 == 0 {
            app.address.as_str()
        } else {
            replica.address.as_str()
        };
        app.click_via(base, &code, BROWSER)
    }))
    .await;

    // Assert
    assert!(responses.iter().all(|r| r.status().as_u16() == 302));
    let row = app.wait_for_clicks(&influencer, 300).await;
    assert_eq!(row["clicks"], 300, "{row}");
}

#[tokio::test]
async fn a_link_changed_through_one_replica_redirects_to_the_new_destination_through_the_other() {
    // Arrange: the second replica has the link cached
    let app = spawn_app().await;
    let replica = app.replica().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/old").await;
    let location_at_replica = || async {
        let response = app.click_via(&replica.address, &code, BROWSER).await;
        response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
    };
    assert!(
        location_at_replica()
            .await
            .unwrap()
            .starts_with("https://shop.example/old?")
    );

    // Act
    let changed = Instant::now();
    let response = app
        .change_destination(&code, "https://shop.example/new")
        .await;
    assert_eq!(response.status().as_u16(), 200);
    while !location_at_replica()
        .await
        .is_some_and(|l| l.starts_with("https://shop.example/new?"))
    {
        assert!(
            changed.elapsed() < CHANGE_REACHES_EVERY_REPLICA_WITHIN,
            "the other replica still redirects to the old destination"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let response = app.delete(&format!("/api/v1/links/{code}")).await;
    assert_eq!(response.status().as_u16(), 200);
    let disabled = Instant::now();
    while location_at_replica().await.is_some() {
        assert!(
            disabled.elapsed() < CHANGE_REACHES_EVERY_REPLICA_WITHIN,
            "the other replica still redirects a disabled link"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn with_wait_replicas_a_write_no_replica_holds_is_not_acknowledged() {
    // Arrange: a write must reach one replica, and this Redis has none
    let app = spawn_app_with(|s| {
        s.redis.wait_replicas = 1;
        s.redis.timeout_ms = NonZero::new(200).unwrap();
    })
    .await;
    let order =
        json!({"event": "order.created", "order_id": "A-1", "amount": "10.00", "currency": "USD"});

    // Act
    let delivery = app.generic(&order).await;

    // Assert: the shop is told to retry, and the influencer the marketer adds is refused too
    assert_eq!(delivery.status().as_u16(), 503);
    let response = app
        .post_json("/api/v1/influencers", &json!({"handle": "alice"}))
        .await;
    assert_eq!(response.status().as_u16(), 503);
}

#[tokio::test]
async fn with_wait_replicas_and_no_replica_a_link_not_yet_cached_still_redirects() {
    // Arrange: a link made through a replica that waits for no Redis replica, and another
    // replica that waits for one, on a Redis that has none
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/p").await;
    let strict = app
        .replica_with(|s| {
            s.redis.wait_replicas = 1;
            s.redis.timeout_ms = NonZero::new(200).unwrap();
        })
        .await;

    // Act: the strict replica's first click on the link loads it (and registers its number)
    let response = app.click_via(&strict.address, &code, BROWSER).await;

    // Assert: the follower is redirected, whatever the replication of writes
    assert_eq!(response.status().as_u16(), 302);
}

#[tokio::test]
async fn a_cluster_master_killed_under_load_loses_no_click() {
    // Arrange: three masters with two replicas each, and a write counts once a replica holds
    // it; after a failover the promoted replica still has a replica of its own
    let mut app = spawn_app_on(TestRedis::start_cluster_with_replicas(2), |s| {
        s.redis.wait_replicas = 1;
        s.redis.timeout_ms = NonZero::new(3000).unwrap();
    })
    .await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let followers: Vec<_> = (0..8)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url(&format!("/{code}")));
            let (stop, answered, failed) = (stop.clone(), answered.clone(), failed.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let response = client.get(&url).header("user-agent", BROWSER).send().await;
                    let counter = match response {
                        Ok(r) if r.status().as_u16() == 302 => &answered,
                        _ => &failed,
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Act: the master holding the influencer's counters dies; followers keep clicking
    // through the failover and a while after it
    // (its writes fail or wait in the client's retries until a replica takes over)
    let counters = reftrack::store::Keys::new("rt")
        .click_counts(reftrack::store::Owner::Influencer(&influencer));
    let killed = app.redis.kill_master_of(&counters);
    let killed_at = answered.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    while app
        .redis
        .master_of(&counters)
        .is_none_or(|port| killed.ends_with(&format!(":{port}")))
    {
        assert!(Instant::now() < deadline, "no replica took over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let written_after_failover = app
        .metric(r#"reftrack_click_flushes_total{result="ok"}"#)
        .await;
    while app
        .metric(r#"reftrack_click_flushes_total{result="ok"}"#)
        .await
        <= written_after_failover
        || app.metric("reftrack_click_spool_bytes").await > 0.0
    {
        assert!(Instant::now() < deadline, "clicks were never written again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    join_all(followers).await;
    app.stop().await;

    // Assert: every follower was redirected, also while the master was down, and every
    // answered click is counted on the promoted replica
    let answered = answered.load(Ordering::SeqCst);
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    assert!(answered > killed_at, "no click was answered after the kill");
    let counted: u64 = redis::cmd("HGET")
        .arg(&counters)
        .arg(chrono::Utc::now().format("h:d:%Y%m%d").to_string())
        .query(&mut app.redis.connection())
        .unwrap();
    assert_eq!(counted, answered);
}
