//! Damaged stored state met by the counter-changing scripts: each refuses before its first
//! write, or reads what it needs whole, so no figure is half changed or misread.

use crate::helpers::spawn_app;
use crate::test_redis::TestConnection;

fn script(body: &str) -> redis::Script {
    redis::Script::new(&reftrack::store::checked_source(body))
}

fn apply_order() -> redis::Script {
    script(include_str!("../../src/store/lua/apply_order.lua"))
}

const CONTRIBUTIONS: &str = "t:{o}:contributions";
const COUNTERS: &str = "t:{o}:counters";
const INDEX: &str = "t:{o}:index";

/// Applies revision 4 of order `shop:1`, adding 700 to `r:d:20261127`.
fn apply_revision_four(redis: &mut TestConnection) -> redis::RedisResult<i64> {
    apply_order()
        .key(CONTRIBUTIONS)
        .key(COUNTERS)
        .key(INDEX)
        .arg("shop:1")
        .arg(4)
        .arg(1_764_000_000_000_i64)
        .arg("r:d:20261127")
        .arg(700)
        .invoke(redis)
}

fn set(redis: &mut TestConnection, key: &str, field: &str, value: &str) {
    let _: i64 = redis::cmd("HSET")
        .arg(key)
        .arg(field)
        .arg(value)
        .query(redis)
        .unwrap();
}

fn field(redis: &mut TestConnection, key: &str, field: &str) -> Option<String> {
    redis::cmd("HGET").arg(key).arg(field).query(redis).unwrap()
}

#[tokio::test]
async fn an_order_whose_applied_record_is_damaged_is_refused_before_any_counter_changes() {
    // Arrange: the counter holds 5000 from revision 3, whose record is then damaged
    let app = spawn_app().await;
    let mut redis = app.redis.connection();
    let damaged = [
        "3 r:d:20261127=abc",
        "3 r:d:20261127=50.00",
        "3 r:d:20261127=5000 trailing",
        "3 r:d:20261127=5000  r:m:202611=5000",
        "3x r:d:20261127=5000",
        "r:d:20261127=5000",
    ];
    for record in damaged {
        set(&mut redis, CONTRIBUTIONS, "shop:1", record);
        set(&mut redis, COUNTERS, "r:d:20261127", "5000");

        // Act
        let outcome = apply_revision_four(&mut redis);

        // Assert: refused; the counter and the record as they were, nothing indexed
        assert!(outcome.is_err(), "{record}: {outcome:?}");
        assert_eq!(
            field(&mut redis, COUNTERS, "r:d:20261127").as_deref(),
            Some("5000"),
            "{record}"
        );
        assert_eq!(
            field(&mut redis, CONTRIBUTIONS, "shop:1").as_deref(),
            Some(record)
        );
        let indexed: i64 = redis::cmd("EXISTS").arg(INDEX).query(&mut redis).unwrap();
        assert_eq!(indexed, 0, "{record}");
    }
    // The control: a sound record of revision 3 is replaced, 5000 taken back and 700 added
    set(&mut redis, CONTRIBUTIONS, "shop:1", "3 r:d:20261127=5000");
    assert_eq!(apply_revision_four(&mut redis).unwrap(), 1);
    assert_eq!(
        field(&mut redis, COUNTERS, "r:d:20261127").as_deref(),
        Some("700")
    );
}

#[tokio::test]
async fn an_order_index_holding_another_type_refuses_the_order_before_any_counter_changes() {
    // Arrange
    let app = spawn_app().await;
    let mut redis = app.redis.connection();
    let _: () = redis::cmd("SET")
        .arg(INDEX)
        .arg("not a sorted set")
        .query(&mut redis)
        .unwrap();

    // Act
    let outcome = apply_revision_four(&mut redis);

    // Assert: refused, naming the key; no counter, no contribution
    let message = outcome.unwrap_err().to_string();
    assert!(message.contains(INDEX), "{message}");
    let written: i64 = redis::cmd("EXISTS")
        .arg(COUNTERS)
        .arg(CONTRIBUTIONS)
        .query(&mut redis)
        .unwrap();
    assert_eq!(written, 0);
}

#[tokio::test]
async fn an_owner_with_years_of_click_counters_has_them_all_checked_and_added() {
    // Arrange: 9,000 distinct click fields (about eight years of days), more than one
    // unpack() of Lua can pass to a command
    let app = spawn_app().await;
    let mut redis = app.redis.connection();
    let staged = script(include_str!("../../src/store/lua/apply_staged_clicks.lua"));
    let start = chrono::NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
    let fields: Vec<String> = (0..3_000)
        .flat_map(|d| {
            let day = start + chrono::Days::new(d);
            ["h", "b", "s"].map(|class| format!("{class}:d:{}", day.format("%Y%m%d")))
        })
        .collect();
    let mut call = staged.prepare_invoke();
    call.key("t:{s}:counts")
        .key("t:{s}:migrated")
        .arg("old:counts")
        .arg("ab12");
    for field in &fields {
        call.arg(field).arg(2);
    }

    // Act
    let applied: i64 = call.invoke(&mut redis).unwrap();

    // Assert: every field added
    assert_eq!(applied, 1);
    let stored: i64 = redis::cmd("HLEN")
        .arg("t:{s}:counts")
        .query(&mut redis)
        .unwrap();
    assert_eq!(stored, 9_000);
    for field_name in [&fields[0], &fields[4_500], &fields[8_999]] {
        assert_eq!(
            field(&mut redis, "t:{s}:counts", field_name).as_deref(),
            Some("2")
        );
    }
}

#[tokio::test]
async fn a_catalog_index_holding_another_type_refuses_the_write_before_any_of_it_lands() {
    // Arrange: the index of every link, and alice's coupon set, are strings
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let keys = reftrack::store::Keys::new("rt");
    let alice_id = reftrack::domain::InfluencerId::parse(&alice).unwrap();
    let mut redis = app.redis.connection();
    for key in [keys.links_by_time(), keys.influencer_coupons(&alice_id)] {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg("not an index")
            .query(&mut redis)
            .unwrap();
    }

    // Act
    let link = app
        .post_json(
            "/api/v1/links",
            &serde_json::json!({"influencer_id": alice, "destination": "https://shop.example/p", "code": "spring-sale"}),
        )
        .await;
    let coupon = app
        .post_json(
            &format!("/api/v1/influencers/{alice}/coupons"),
            &serde_json::json!({"code": "SPRING"}),
        )
        .await;

    // Assert: both refused as a server fault; neither the link nor the coupon half written
    assert!(link.status().is_server_error(), "{}", link.status());
    assert!(coupon.status().is_server_error(), "{}", coupon.status());
    let link_code = reftrack::domain::LinkCode::parse("spring-sale").unwrap();
    let written: i64 = redis::cmd("EXISTS")
        .arg(keys.link(&link_code))
        .query(&mut redis)
        .unwrap();
    assert_eq!(written, 0, "no link record without its indexes");
    let owner: Option<String> = redis::cmd("HGET")
        .arg(keys.coupons())
        .arg("spring")
        .query(&mut redis)
        .unwrap();
    assert_eq!(owner, None, "no coupon owner without the influencer's set");
}
