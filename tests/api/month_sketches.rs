//! Month sketches merged from day sketches: today's visitors go to the day's sketch alone,
//! reports count them the same before and after a merge, a late click reaches its month at
//! once, and merging is a union (again changes nothing; a bad key is left, the rest merged).

use std::sync::Arc;

use chrono::{Datelike, Days, NaiveDate, Utc};
use reftrack::clicks::sketch_merger::settled_through;
use reftrack::domain::{Bucket, ClickClass, ClickId, IdSpace};
use reftrack::store::{Click, ClickBatch, ClickSums, Keys, Owner, SketchMerge, Store};
use serde_json::Value;

use crate::helpers::{TestApp, TestRedis, spawn_app, spawn_app_on};

/// Human clicks on `code` by `visitors`, on `day`.
fn batch(code: &str, influencer: &str, day: NaiveDate, visitors: &[u64], seq: u64) -> ClickBatch {
    let (code, influencer): (Arc<str>, Arc<str>) = (Arc::from(code), Arc::from(influencer));
    let space = IdSpace::random();
    let mut clicks = ClickSums::default();
    for (n, &visitor) in visitors.iter().enumerate() {
        let click = Click {
            code: &code,
            influencer_id: &influencer,
            at_ms: Utc::now().timestamp_millis(),
            day,
            class: ClickClass::Human,
            visitor,
        };
        clicks.add(&ClickId::new(space, n as u64), &click);
    }
    ClickBatch {
        writer: Arc::from("month-sketch-test"),
        seq,
        clicks,
    }
}

/// The visitors a sketch of the owner holds (PFCOUNT: exact at these sizes).
fn sketch_count(app: &TestApp, owner: Owner<'_>, bucket: Bucket) -> i64 {
    let key = Keys::new("rt").click_uniques(owner, bucket);
    redis::cmd("PFCOUNT")
        .arg(key)
        .query(&mut app.redis.connection())
        .unwrap()
}

/// The influencer's unique clicks over today's calendar month.
async fn month_uniques(app: &TestApp, influencer: &str, today: NaiveDate) -> Value {
    let first = today.with_day(1).unwrap();
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap()
        .pred_opt()
        .unwrap();
    let row = app
        .influencer_row_over(influencer, &format!("?from={first}&to={last}"))
        .await;
    row["unique_clicks"].clone()
}

async fn merged_through(store: &Store) -> NaiveDate {
    store.sketches_merged_through().await.unwrap().unwrap()
}

/// Waits until the app's own merger (which runs at start) has merged every settled day and
/// let go of its lease, so that a test's merge neither races it nor finds it busy; returns
/// the last settled day.
async fn merges_settled(app: &TestApp, store: &Store) -> NaiveDate {
    let settled = settled_through(Utc::now(), chrono_tz::UTC);
    let lease = Keys::new("rt").sketch_merge_lease();
    for _ in 0..400 {
        let leased: bool = redis::cmd("EXISTS")
            .arg(&lease)
            .query(&mut app.redis.connection())
            .unwrap();
        if !leased && merged_through(store).await >= settled {
            return settled;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the app's merger did not merge through {settled} within 10 s");
}

/// An app with an influencer and its link, a store of its own on the app's Redis, once the
/// app's merger has had its first look.
struct Setup {
    app: TestApp,
    influencer: String,
    code: String,
    store: Store,
    /// The last settled day, merged by the app at start.
    settled: NaiveDate,
    today: NaiveDate,
}

impl Setup {
    async fn new(handle: &str) -> Self {
        let app = spawn_app().await;
        let influencer = app.influencer(handle).await;
        let code = app.link(&influencer, "https://shop.example/p").await;
        let store = app.store().await;
        let settled = merges_settled(&app, &store).await;
        Self {
            app,
            influencer,
            code,
            store,
            settled,
            today: Utc::now().date_naive(),
        }
    }

    /// Writes human clicks of `visitors` on `code` on `day` as a flush would today.
    async fn write(&self, code: &str, day: NaiveDate, visitors: &[u64], seq: u64) {
        let clicks = batch(code, &self.influencer, day, visitors, seq);
        self.store
            .write_clicks(&clicks, 30, &[code], self.today)
            .await
            .unwrap();
    }

    fn link(&self) -> Owner<'_> {
        Owner::Link(&self.code)
    }
}

#[tokio::test]
async fn todays_visitors_are_in_the_day_sketch_alone_and_counted_the_same_before_and_after_the_merge()
 {
    // Arrange
    let set = Setup::new("merged").await;
    let (app, store, today) = (&set.app, &set.store, set.today);
    let [today_bucket, month, _] = Bucket::containing(today);

    // Act: five visitors today
    set.write(&set.code, today, &[1, 2, 3, 4, 5], 1).await;

    // Assert: the day's sketch holds them, the month's not yet (the app merged only settled
    // days), and the month's report counts all five
    assert_eq!(sketch_count(app, set.link(), today_bucket), 5);
    assert_eq!(sketch_count(app, set.link(), month), 0);
    assert_eq!(merged_through(store).await, set.settled);
    assert_eq!(month_uniques(app, &set.influencer, today).await, 5);

    // Act: the days are merged (as once settled), then merged again
    let merged = store.merge_day_sketches(today).await.unwrap();
    let again = store.merge_day_sketches(today).await.unwrap();

    // Assert: the days after the settled one merged once (today, and yesterday until the
    // first merge after 01:00); the month's sketch holds the five, the report still counts
    // five
    let after_settled = set.settled.iter_days().skip(1);
    assert_eq!(
        merged,
        SketchMerge::Merged {
            days: after_settled.take_while(|d| *d <= today).collect(),
            refused: 0
        }
    );
    assert_eq!(
        again,
        SketchMerge::Merged {
            days: Vec::new(),
            refused: 0
        }
    );
    assert_eq!(merged_through(store).await, today);
    assert_eq!(sketch_count(app, set.link(), month), 5);
    assert_eq!(month_uniques(app, &set.influencer, today).await, 5);
}

#[tokio::test]
async fn a_visitor_of_an_earlier_day_goes_to_its_month_at_once() {
    // Arrange: a day already merged
    let set = Setup::new("late").await;
    let yesterday = set.today - Days::new(1);
    set.store.merge_day_sketches(yesterday).await.unwrap();
    assert_eq!(merged_through(&set.store).await, yesterday);
    let [day, month, _] = Bucket::containing(yesterday);

    // Act: a batch of yesterday's clicks lands today (replayed from the spool, say)
    set.write(&set.code, yesterday, &[7, 8], 1).await;

    // Assert: both sketches hold them, though no merge runs again
    assert_eq!(sketch_count(&set.app, set.link(), day), 2);
    assert_eq!(sketch_count(&set.app, set.link(), month), 2);
}

#[tokio::test]
async fn a_key_that_holds_no_sketch_is_left_and_every_other_owner_is_merged() {
    // Arrange: two links clicked today; one's day sketch key holds a plain string
    let set = Setup::new("mixed").await;
    let bad = set
        .app
        .link(&set.influencer, "https://shop.example/b")
        .await;
    let [day, month, _] = Bucket::containing(set.today);
    set.write(&set.code, set.today, &[1, 2], 1).await;
    set.write(&bad, set.today, &[1, 2], 2).await;
    let bad_day = Keys::new("rt").click_uniques(Owner::Link(&bad), day);
    let _: () = redis::cmd("SET")
        .arg(&bad_day)
        .arg("not a sketch")
        .query(&mut set.app.redis.connection())
        .unwrap();

    // Act
    let merged = set.store.merge_day_sketches(set.today).await.unwrap();

    // Assert: one pair refused, the other link and the influencer merged, the day recorded
    let SketchMerge::Merged { days, refused } = merged else {
        panic!("not merged: {merged:?}");
    };
    assert_eq!((days.last(), refused), (Some(&set.today), 1));
    assert_eq!(sketch_count(&set.app, set.link(), month), 2);
    assert_eq!(
        sketch_count(&set.app, Owner::Influencer(&set.influencer), month),
        2,
        "the influencer's visitors are the same two people"
    );
}

#[tokio::test]
async fn a_lost_or_unreadable_record_of_merged_days_stops_merges_and_reports_still_count_every_visitor()
 {
    for lost in [true, false] {
        // Arrange: three visitors today, in the day's sketch alone; then the record is
        // deleted, or garbled
        let set = Setup::new("unrecorded").await;
        set.write(&set.code, set.today, &[1, 2, 3], 1).await;
        let record = Keys::new("rt").sketches_merged();
        let mut damage = if lost {
            redis::cmd("DEL")
        } else {
            redis::cmd("SET")
        };
        damage.arg(&record);
        if !lost {
            damage.arg("yesterday");
        }
        let _: () = damage.query(&mut set.app.redis.connection()).unwrap();

        // Act
        let merge = set.store.merge_day_sketches(set.today).await;
        let uniques = month_uniques(&set.app, &set.influencer, set.today).await;

        // Assert: the merge will not guess which days are merged; the report joins every
        // day and counts all three
        if lost {
            assert_eq!(merge.unwrap(), SketchMerge::Unrecorded);
        } else {
            assert!(merge.is_err(), "{merge:?}");
        }
        assert_eq!(uniques, 3, "record lost: {lost}");
    }
}

#[tokio::test]
async fn while_another_process_holds_the_lease_the_lag_gauge_shows_the_settled_days_not_merged() {
    // Arrange: merges recorded five days before the last settled one, and the lease held by
    // another process, before the app starts
    let redis = TestRedis::start();
    let settled = settled_through(Utc::now(), chrono_tz::UTC);
    let keys = Keys::new("rt");
    let mut conn = redis.connection();
    let _: () = redis::cmd("SET")
        .arg(keys.sketches_merged())
        .arg((settled - Days::new(5)).format("%Y-%m-%d").to_string())
        .query(&mut conn)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(keys.sketch_merge_lease())
        .arg("another-process")
        .arg("EX")
        .arg(600)
        .query(&mut conn)
        .unwrap();

    // Act: the app starts, and its merger looks at once
    let app = spawn_app_on(redis, |_| {}).await;

    // Assert: it merged nothing (the lease is another's) and shows five days behind
    let mut lag = 0.0;
    for _ in 0..400 {
        lag = app.metric("reftrack_sketch_merge_lag_seconds").await;
        if lag != 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!((lag - 5.0 * 86_400.0).abs() < f64::EPSILON, "lag {lag}");
    assert_eq!(
        merged_through(&app.store().await).await,
        settled - Days::new(5)
    );
}
