//! Every replica's link cache stays right however much changes: an influencer's edit reloads
//! only that influencer's links, a burst of link creations larger than one page of the
//! changes stream reaches every replica, and a replica whose unread changes were trimmed
//! reloads the links of the influencers changed since. A rush of first clicks on a new link
//! loads it once.

use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::json;

use crate::helpers::{BROWSER, TestApp, spawn_app};

/// The documented delay (`link_cache::REFRESH_INTERVAL`, 0.5 s) plus room for a loaded machine.
const CHANGE_REACHES_EVERY_REPLICA_WITHIN: Duration = Duration::from_secs(5);

const LOADS: &str = "reftrack_link_cache_loads_total";

async fn status_at(app: &TestApp, base: &str, code: &str) -> u16 {
    app.click_via(base, code, BROWSER).await.status().as_u16()
}

/// Waits until every code answers `status` through the server at `base`.
async fn wait_for_status(app: &TestApp, base: &str, codes: &[String], status: u16) {
    let start = Instant::now();
    for code in codes {
        while status_at(app, base, code).await != status {
            assert!(
                start.elapsed() < CHANGE_REACHES_EVERY_REPLICA_WITHIN,
                "{base}/{code} does not answer {status}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Clicks `codes` through `base` until a whole pass reads nothing from Redis: every one is
/// cached, and no change seen meanwhile left one to reload.
async fn settle(app: &TestApp, base: &str, codes: &[String]) {
    let start = Instant::now();
    loop {
        let loads = app.metric_at(base, LOADS).await;
        for code in codes {
            status_at(app, base, code).await;
        }
        if (app.metric_at(base, LOADS).await - loads).abs() < 1e-9 {
            return;
        }
        assert!(
            start.elapsed() < CHANGE_REACHES_EVERY_REPLICA_WITHIN,
            "{base} keeps reloading links nobody changes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the replica at `base` has read the changes stream up to now: a code it
/// cached as unknown, created now, redirects there.
async fn caught_up(app: &TestApp, base: &str, influencer: &str, probe: &str) {
    assert_eq!(status_at(app, base, probe).await, 404);
    link_with_code(app, influencer, probe).await;
    wait_for_status(app, base, &[probe.to_owned()], 302).await;
}

async fn link_with_code(app: &TestApp, influencer: &str, code: &str) {
    let response = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": influencer, "destination": "https://shop.example/", "code": code}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201, "creating {code}");
}

#[tokio::test]
async fn hundreds_of_first_clicks_on_a_new_link_load_it_once_and_all_redirect_and_count() {
    // Arrange: a link no click has brought into the cache, and the replica caught up with
    // the changes stream (the influencer's and the link's creation), so that no change read
    // during the rush marks the entry stale.
    let app = spawn_app().await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;
    let prober = app.influencer("bob").await;
    caught_up(&app, &app.address, &prober, "probe").await;
    let n = 500;
    let loads_before = app.metric(LOADS).await;

    // Act
    let responses = join_all((0..n).map(|_| app.click(&code, BROWSER))).await;
    let loads = app.metric(LOADS).await - loads_before;
    let row = app.wait_for_clicks(&influencer, n).await;

    // Assert
    let not_redirected: Vec<u16> = responses
        .iter()
        .map(|r| r.status().as_u16())
        .filter(|s| *s != 302)
        .collect();
    assert!(not_redirected.is_empty(), "answered {not_redirected:?}");
    assert_eq!(row["clicks"], n);
    // One load for the rush (two if a change still landed after the first load and marked
    // the entry stale). Without the single-flight load, every click that arrives before the
    // first load lands loads it. On a loaded machine the influencer's and the link's creation
    // were once read in separate polls during the rush: three loads.
    assert!((1.0..=2.0).contains(&loads), "{loads} loads for {n} clicks");
}

#[tokio::test]
async fn editing_an_influencer_reloads_only_its_links_in_every_replica() {
    // Arrange: both replicas have three links of each of two influencers cached
    let app = spawn_app().await;
    let replica = app.replica().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    let mut alices = Vec::new();
    let mut bobs = Vec::new();
    for _ in 0..3 {
        alices.push(app.link(&alice, "https://shop.example/a").await);
        bobs.push(app.link(&bob, "https://shop.example/b").await);
    }
    let servers = [app.address.clone(), replica.address.clone()];
    caught_up(&app, &replica.address, &bob, "probe").await;
    for base in &servers {
        settle(&app, base, &alices).await;
        settle(&app, base, &bobs).await;
    }

    // Act: alice is disabled through the first replica
    let response = app
        .patch_json(
            &format!("/api/v1/influencers/{alice}"),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);

    // Assert: her links stop redirecting everywhere; bob's answer from the cache, unread
    for base in &servers {
        wait_for_status(&app, base, &alices, 404).await;
        let loads = app.metric_at(base, LOADS).await;
        for code in &bobs {
            assert_eq!(status_at(&app, base, code).await, 302);
        }
        assert!(
            (app.metric_at(base, LOADS).await - loads).abs() < 1e-9,
            "{base} reloaded links of an influencer nobody edited"
        );
    }
}

#[tokio::test]
async fn a_burst_of_link_creations_larger_than_a_page_of_changes_reaches_every_replica() {
    // Arrange: the replica has cached a sample of the burst's codes as unknown
    let app = spawn_app().await;
    let replica = app.replica().await;
    let alice = app.influencer("alice").await;
    let codes: Vec<String> = (0..1500).map(|i| format!("burst{i:04}")).collect();
    let sample: Vec<String> = codes
        .iter()
        .step_by(100)
        .chain(codes.last())
        .cloned()
        .collect();
    for code in &sample {
        assert_eq!(status_at(&app, &replica.address, code).await, 404);
    }

    // Act: more creations than one page of the changes stream (1,000), sent at once
    for chunk in codes.chunks(50) {
        futures::future::join_all(chunk.iter().map(|code| link_with_code(&app, &alice, code)))
            .await;
    }

    // Assert
    wait_for_status(&app, &replica.address, &sample, 302).await;
}

#[tokio::test]
async fn a_replica_whose_unread_changes_were_trimmed_reloads_the_influencers_changed_since() {
    // Arrange: the replica has alice's and bob's links cached
    let app = spawn_app().await;
    let replica = app.replica().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    let alices = vec![app.link(&alice, "https://shop.example/a").await];
    let bobs = vec![app.link(&bob, "https://shop.example/b").await];
    wait_for_status(&app, &replica.address, &alices, 302).await;
    wait_for_status(&app, &replica.address, &bobs, 302).await;
    caught_up(&app, &replica.address, &bob, "probe").await;
    let fresh = "afterthetrim".to_owned();
    assert_eq!(status_at(&app, &replica.address, &fresh).await, 404);

    // Act: alice is disabled, and the stream loses that entry before (most likely) the
    // replica reads it; a later change lands after the trim
    let response = app
        .patch_json(
            &format!("/api/v1/influencers/{alice}"),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let mut redis = app.redis.connection();
    let _: i64 = redis::cmd("XTRIM")
        .arg(reftrack::store::Keys::new("rt").changes())
        .arg("MAXLEN")
        .arg(0)
        .query(&mut redis)
        .unwrap();
    link_with_code(&app, &bob, &fresh).await;

    // Assert: alice's link is reloaded and refused, the new code is found, bob's link answers
    wait_for_status(&app, &replica.address, &alices, 404).await;
    wait_for_status(&app, &replica.address, &[fresh], 302).await;
    assert_eq!(status_at(&app, &replica.address, &bobs[0]).await, 302);
}
