//! The list of every link pages through an index of all links by creation time, which link
//! creation writes and a start-up migration fills in for links created before it.

use std::time::{Duration, Instant};

use redis::Commands;

use crate::helpers::{TestApp, spawn_app};
use crate::lists::{in_time_order, pages, sorted};
use crate::migrate::store_of;

/// `Keys::migrations` and `Keys::links_by_time`.
const MIGRATIONS: &str = "rt:{rt:cat}:migrations";
const LINKS_BY_TIME: &str = "rt:{rt:cat}:links";

/// Two influencers with `each` links each, created through the API; their codes, sorted.
async fn links_of_two(app: &TestApp, each: usize) -> Vec<String> {
    let mut codes = Vec::new();
    for handle in ["alice", "bob"] {
        let influencer = app.influencer(handle).await;
        let destinations: Vec<String> = (0..each)
            .map(|n| format!("https://shop.example/{handle}/{n}"))
            .collect();
        let created =
            futures::future::join_all(destinations.iter().map(|to| app.link(&influencer, to)))
                .await;
        codes.extend(created);
    }
    codes.sort();
    codes
}

/// Waits until the start-up run of the `links_by_time` migration has finished.
async fn wait_for_index(app: &TestApp) {
    let mut redis = app.redis.connection();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !redis
        .hexists::<_, _, bool>(MIGRATIONS, "links_by_time")
        .unwrap()
    {
        assert!(Instant::now() < deadline, "the index was never made whole");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Link hashes read for the first page of every link at `limit`, and that page's size.
async fn first_page_reads(app: &TestApp, limit: usize) -> (u64, usize) {
    let before = app.redis.command_calls("HGETALL");
    let (status, body) = app.get_json(&format!("/api/v1/links?limit={limit}")).await;
    assert_eq!(status, 200, "{body}");
    let read = app.redis.command_calls("HGETALL") - before;
    (read, body["links"].as_array().unwrap().len())
}

#[tokio::test]
async fn a_page_of_every_link_reads_about_a_page_however_many_links_there_are() {
    // Arrange: 60 links of two influencers.
    let app = spawn_app().await;
    wait_for_index(&app).await;
    let codes = links_of_two(&app, 30).await;

    // Act
    let (read, listed) = first_page_reads(&app, 5).await;
    let (all, _) = pages(&app, "/api/v1/links", "links", 25).await;

    // Assert: five links from six link reads, not 60; paging on lists each once, in time order.
    assert_eq!(listed, 5);
    assert_eq!(read, 6, "link hashes read for a page of 5");
    assert_eq!(sorted(&all, "code"), codes);
    assert!(in_time_order(&all));
}

#[tokio::test]
async fn links_an_older_build_created_are_listed_before_and_after_the_migration_indexes_them() {
    // Arrange: links as an older build left them, with no index of all links and no record
    // of the migration.
    let app = spawn_app().await;
    wait_for_index(&app).await;
    let codes = links_of_two(&app, 15).await;
    let mut redis = app.redis.connection();
    let _: () = redis.del(LINKS_BY_TIME).unwrap();
    let _: () = redis.hdel(MIGRATIONS, "links_by_time").unwrap();
    let store = store_of(&app).await;

    // Act: list them; run the migration as a start does; list them again.
    let (before, _) = pages(&app, "/api/v1/links", "links", 10).await;
    let (read_before, _) = first_page_reads(&app, 5).await;
    let looked_at = store.index_links_by_time().await.unwrap();
    let (after, _) = pages(&app, "/api/v1/links", "links", 10).await;
    let (read_after, _) = first_page_reads(&app, 5).await;

    // Assert: every link listed once in time order both ways; read whole before, a page after.
    for listed in [&before, &after] {
        assert_eq!(sorted(listed, "code"), codes);
        assert!(in_time_order(listed));
    }
    assert_eq!(looked_at, 30);
    assert_eq!(read_before, 30, "before the index, every link is read");
    assert_eq!(read_after, 6, "with the index, a page and one more");
}

#[tokio::test]
async fn a_link_an_older_replica_creates_after_the_index_is_whole_is_listed_after_the_next_start() {
    // Arrange: the index whole, then a link created as an older replica does, into its
    // influencer's index alone (it is not in the index of all links).
    let app = spawn_app().await;
    wait_for_index(&app).await;
    let codes = links_of_two(&app, 3).await;
    let mut redis = app.redis.connection();
    let _: () = redis.zrem(LINKS_BY_TIME, &codes[0]).unwrap();
    let (missing, _) = pages(&app, "/api/v1/links", "links", 10).await;

    // Act: a newer replica starts (every start indexes every link).
    let _replica = app.replica().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis
        .zscore::<_, _, Option<f64>>(LINKS_BY_TIME, &codes[0])
        .unwrap()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the start never indexed the link"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (listed, _) = pages(&app, "/api/v1/links", "links", 10).await;

    // Assert
    assert_eq!(
        missing.len(),
        5,
        "the older replica's link is missing from the index"
    );
    assert_eq!(sorted(&listed, "code"), codes);
}
