//! A flush over many links and influencers: one script per count shard carries all of it,
//! and a batch written again (a retry after a lost reply, a replay from the spool) counts
//! nothing twice.

use std::sync::Arc;

use reftrack::domain::{ClickClass, ClickId, IdSpace};
use reftrack::store::{Click, ClickBatch, ClickSums};
use serde_json::Value;

use crate::helpers::spawn_app;
use crate::test_redis::TestConnection;

const INFLUENCERS: usize = 12;
const LINKS_EACH: usize = 8;

/// Per link: two people (two visitors) and one bot; `extra` more people on the first link.
fn batch(links: &[(Arc<str>, Arc<str>)], seq: u64, extra: u64, space: IdSpace) -> ClickBatch {
    let now = chrono::Utc::now();
    let mut clicks = ClickSums::default();
    let mut n = seq * 10_000;
    let mut add = |code: &Arc<str>, influencer: &Arc<str>, class, visitor| {
        let click = Click {
            code,
            influencer_id: influencer,
            at_ms: now.timestamp_millis(),
            day: now.date_naive(),
            class,
            visitor,
        };
        clicks.add(&ClickId::new(space, n), &click);
        n += 1;
    };
    if extra > 0 {
        for k in 0..extra {
            add(&links[0].0, &links[0].1, ClickClass::Human, 1_000 + k);
        }
    } else {
        for (i, (code, influencer)) in links.iter().enumerate() {
            let visitor = i as u64 * 10;
            add(code, influencer, ClickClass::Human, visitor);
            add(code, influencer, ClickClass::Human, visitor + 1);
            add(code, influencer, ClickClass::Bot, 0);
        }
    }
    ClickBatch {
        writer: Arc::from("another-replica"),
        seq,
        clicks,
    }
}

fn rows(report: &Value) -> &Vec<Value> {
    report["rows"].as_array().unwrap()
}

#[tokio::test]
async fn a_batch_over_many_links_and_influencers_counts_once_however_often_it_is_written() {
    // Arrange: links of many influencers, spread over every count shard
    let app = spawn_app().await;
    let mut links = Vec::new();
    for i in 0..INFLUENCERS {
        let influencer = app.influencer(&format!("creator{i}")).await;
        for _ in 0..LINKS_EACH {
            let code = app.link(&influencer, "https://shop.example/p").await;
            links.push((Arc::from(code.as_str()), Arc::from(influencer.as_str())));
        }
    }
    let store = app.store().await;
    let space = IdSpace::random();
    let first = batch(&links, 1, 0, space);

    // Act: the batch is written, written again (a retried flush), then a later batch
    let today = chrono::Utc::now().date_naive();
    store.write_clicks(&first, 30, &[], today).await.unwrap();
    store.write_clicks(&first, 30, &[], today).await.unwrap();
    store
        .write_clicks(&batch(&links, 2, 3, space), 30, &[], today)
        .await
        .unwrap();
    store.write_clicks(&first, 30, &[], today).await.unwrap();

    // Assert: per influencer and per link, every click once
    let (status, report) = app.get_json("/api/v1/reports/influencers").await;
    assert_eq!(status, 200, "{report}");
    for row in rows(&report)
        .iter()
        .filter(|r| !r["influencer_id"].is_null())
    {
        let owns_first = row["influencer_id"] == *links[0].1;
        let people = 2 * LINKS_EACH as u64 + if owns_first { 3 } else { 0 };
        assert_eq!(row["clicks"], people, "{row}");
        // A sketch's estimate: within one of the distinct visitors at this size.
        let uniques = row["unique_clicks"].as_u64().unwrap();
        assert!(uniques.abs_diff(people) <= 1, "{row}");
        assert_eq!(row["bot_clicks"], LINKS_EACH as u64, "{row}");
    }
    assert_eq!(
        rows(&report).len(),
        INFLUENCERS + 1,
        "one row each and the unattributed"
    );
    let (_, by_link) = app
        .get_json(&format!(
            "/api/v1/reports/links?influencer_id={}",
            links[0].1
        ))
        .await;
    for row in rows(&by_link) {
        let first_link = row["code"] == *links[0].0;
        assert_eq!(row["clicks"], if first_link { 5 } else { 2 }, "{row}");
        assert_eq!(row["bot_clicks"], 1, "{row}");
    }
}

#[tokio::test]
async fn the_counts_script_refuses_a_malformed_batch_before_it_writes_anything() {
    // Arrange: the script as reftrack loads it, and keys of one slot.
    let app = spawn_app().await;
    let mut redis = app.redis.connection();
    let script = redis::Script::new(&reftrack::store::checked_source(include_str!(
        "../../src/store/lua/apply_counts.lua"
    )));
    let (applied, first, second) = ("t:{cs}:applied", "t:{cs}:first", "t:{cs}:second");
    // Each case is a well-formed first group (table flag, field count, field/increment
    // pairs) followed by a malformed second one.
    let first_group = ["0", "1", "h:d:20261127", "2"];
    let malformed: [&[&str]; 14] = [
        // The second owner's count goes down.
        &["1", "1", "h:d:20261127", "-1"],
        // The second owner's count is not a number, or a number HINCRBY would refuse.
        &["1", "1", "h:d:20261127", "two"],
        &["1", "1", "h:d:20261127", "1e3"],
        &["1", "1", "h:d:20261127", " 5"],
        &["1", "1", "h:d:20261127", "+5"],
        &["1", "1", "h:d:20261127", ""],
        &["1", "1", "h:d:20261127", "007"],
        // The second owner's count is over a batch's bound (under 10^9).
        &["1", "1", "h:d:20261127", "1000000000"],
        // The second owner's field is not a click counter of a day or a month.
        &["1", "1", "_table", "1"],
        &["1", "1", "o:d:20261127", "1"],
        // The second owner's group claims more fields than there are.
        &["1", "2", "h:d:20261127", "1"],
        // A third group without a key.
        &["1", "1", "h:d:20261127", "1", "0", "0"],
        // The second owner's table flag is neither 0 nor 1.
        &["2", "1", "h:d:20261127", "1"],
        // The second owner's group ends after its table flag.
        &["1"],
    ];

    for second_group in malformed {
        let groups = [&first_group[..], second_group].concat();

        // Act
        let outcome: redis::RedisResult<i64> = script
            .key(applied)
            .key(first)
            .key(second)
            .arg("writer")
            .arg(1)
            .arg(60)
            .arg(&groups)
            .invoke(&mut redis);

        // Assert: refused, and neither counter nor the batch mark was written.
        assert!(outcome.is_err(), "{groups:?} was applied");
        let written: i64 = redis::cmd("EXISTS")
            .arg(applied)
            .arg(first)
            .arg(second)
            .query(&mut redis)
            .unwrap();
        assert_eq!(written, 0, "{groups:?} wrote before it was refused");
    }
    // The control: the same call well formed is applied, and the second owner (table flag 1)
    // is kept as a hash table.
    let well_formed = [&first_group[..], &["1", "1", "h:d:20261127", "1"]].concat();
    let applied_now: i64 = script
        .key(applied)
        .key(first)
        .key(second)
        .arg("writer")
        .arg(1)
        .arg(60)
        .arg(&well_formed)
        .invoke(&mut redis)
        .unwrap();
    let second_count: i64 = redis::cmd("HGET")
        .arg(second)
        .arg("h:d:20261127")
        .query(&mut redis)
        .unwrap();
    assert_eq!((applied_now, second_count), (1, 1));
    assert_eq!(app.redis.encoding(first), "listpack");
    assert_eq!(app.redis.encoding(second), "hashtable");
}

#[tokio::test]
async fn a_damaged_counter_refuses_its_own_increment_and_every_other_counter_of_the_batch_is_written()
 {
    // Arrange: four owners of one slot; the second's day counter is not a number, the third
    // is not a hash, the fourth's month counter is at the end of Redis' range.
    let app = spawn_app().await;
    let mut redis = app.redis.connection();
    let script = redis::Script::new(&reftrack::store::checked_source(include_str!(
        "../../src/store/lua/apply_counts.lua"
    )));
    let applied = "t:{cs}:applied";
    let owners = ["t:{cs}:a", "t:{cs}:b", "t:{cs}:c", "t:{cs}:d"];
    let _: () = redis::cmd("HSET")
        .arg(owners[1])
        .arg("h:d:20261127")
        .arg("abc")
        .query(&mut redis)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(owners[2])
        .arg("not a hash")
        .query(&mut redis)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(owners[3])
        .arg("h:m:202611")
        .arg(i64::MAX - 1)
        .query(&mut redis)
        .unwrap();
    let group = ["1", "2", "h:d:20261127", "2", "h:m:202611", "2"];
    let invoke = |redis: &mut TestConnection| -> redis::Value {
        let mut call = script.prepare_invoke();
        call.key(applied);
        for owner in owners {
            call.key(owner);
        }
        call.arg("writer").arg(7).arg(60);
        for _ in owners {
            call.arg(&group);
        }
        call.invoke(redis).unwrap()
    };

    // Act: the batch, then the same batch again (a retried flush)
    let first = invoke(&mut redis);
    let again = invoke(&mut redis);

    // Assert: the three refused counters are named; every other counter took its clicks once
    let text = |v: &redis::Value| redis::from_redis_value::<String>(v.clone()).unwrap();
    let redis::Value::Array(refused) = first else {
        panic!("no refused counters named: {first:?}");
    };
    let refused: Vec<String> = refused.iter().map(text).collect();
    assert_eq!(
        refused,
        [
            owners[1],
            "h:d:20261127",
            owners[2],
            "h:d:20261127",
            owners[2],
            "h:m:202611",
            owners[3],
            "h:m:202611"
        ]
    );
    assert_eq!(again, redis::Value::Int(0), "a batch is applied once");
    let counter = |redis: &mut TestConnection, owner: &str, field: &str| -> Option<String> {
        redis::cmd("HGET")
            .arg(owner)
            .arg(field)
            .query(redis)
            .unwrap()
    };
    for (owner, field, expected) in [
        (owners[0], "h:d:20261127", "2"),
        (owners[0], "h:m:202611", "2"),
        (owners[1], "h:d:20261127", "abc"),
        (owners[1], "h:m:202611", "2"),
        (owners[3], "h:d:20261127", "2"),
    ] {
        assert_eq!(
            counter(&mut redis, owner, field).as_deref(),
            Some(expected),
            "{owner} {field}"
        );
    }
    assert_eq!(
        counter(&mut redis, owners[3], "h:m:202611"),
        Some((i64::MAX - 1).to_string())
    );
}

#[tokio::test]
async fn a_flush_names_the_damaged_counters_it_could_not_add_to_and_counts_every_other_owner() {
    // Arrange: one influencer's counter of today is damaged
    let app = spawn_app().await;
    let mut links = Vec::new();
    for i in 0..3 {
        let influencer = app.influencer(&format!("creator{i}")).await;
        let code = app.link(&influencer, "https://shop.example/p").await;
        links.push((Arc::from(code.as_str()), Arc::from(influencer.as_str())));
    }
    let store = app.store().await;
    let today = chrono::Utc::now().date_naive();
    let damaged = reftrack::store::Keys::new("rt")
        .click_counts(reftrack::store::Owner::Influencer(&links[1].1));
    let field = format!("h:d:{}", today.format("%Y%m%d"));
    let mut redis = app.redis.connection();
    let _: () = redis::cmd("HSET")
        .arg(&damaged)
        .arg(&field)
        .arg("1.5")
        .query(&mut redis)
        .unwrap();

    // Act
    let refused = store
        .write_clicks(&batch(&links, 1, 0, IdSpace::random()), 30, &[], today)
        .await
        .unwrap();

    // Assert: the damaged counter is named; every link and the other influencers counted
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!((&refused[0].key, &refused[0].field), (&damaged, &field));
    for (code, influencer) in &links {
        let (_, report) = app
            .get_json(&format!("/api/v1/reports/links?influencer_id={influencer}"))
            .await;
        let row = &rows(&report)[0];
        assert_eq!(
            (&row["code"], &row["clicks"]),
            (&Value::from(&**code), &2.into())
        );
    }
    let (_, report) = app.get_json("/api/v1/reports/influencers").await;
    for row in rows(&report) {
        if row["influencer_id"] != *links[1].1 && !row["influencer_id"].is_null() {
            assert_eq!(row["clicks"], 2, "{row}");
        }
    }
}
