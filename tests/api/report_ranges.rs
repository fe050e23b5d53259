//! A report over any range reads about one counter bucket per month (month buckets, less the
//! days a range leaves out), and its figures are still exactly those of its days: counters as
//! their sum, unique visitors as the union of the days' sketches.

use chrono::{Datelike, Days, Months, NaiveDate, Utc};
use reftrack::store::keys::field;
use reftrack::store::{Keys, Owner};

use crate::helpers::{TestApp, spawn_app};

/// What the test wrote on one day.
#[derive(Debug, Clone, Copy)]
struct Day {
    date: NaiveDate,
    human: i64,
    bot: i64,
    suspicious: i64,
    revenue: i64,
}

fn day_figures(i: i64, date: NaiveDate) -> Day {
    Day {
        date,
        human: i % 7 + 1,
        bot: i % 3,
        suspicious: i % 2,
        revenue: 1000 + i,
    }
}

fn month_of(date: NaiveDate) -> String {
    format!("m:{}", date.format("%Y%m"))
}

fn day_of(date: NaiveDate) -> String {
    format!("d:{}", date.format("%Y%m%d"))
}

/// How Redis keeps an owner's money counters: as a hash table (what the writers make of it),
/// or as one list (a hash written before they did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    AsList,
    AsTable,
}

/// Fills counters of `influencer` on every day from the first of the month three months ago
/// to the end of this month (days to come too: an order or cost can be dated ahead), in day,
/// month and (money only) year buckets as the writers keep them, and clicks and unique visitors on the days
/// until today (a click counts when it is answered), each day's visitors overlapping the
/// next's.
fn fill(app: &TestApp, influencer: &str, today: NaiveDate, kept: Kept) -> Vec<Day> {
    let keys = Keys::new("rt");
    let owner = Owner::Influencer(influencer);
    let counts = keys.counts(owner);
    let clicks = keys.click_counts(owner);
    if kept == Kept::AsTable {
        let _: () = redis::cmd("HSET")
            .arg(&counts)
            .arg(field::TABLE)
            .arg(field::TABLE_NOTE)
            .query(&mut app.redis.connection())
            .unwrap();
    }
    let first = today.with_day(1).unwrap() - Months::new(3);
    let last = (today.with_day(1).unwrap() + Months::new(1))
        .pred_opt()
        .unwrap();
    let mut redis = app.redis.connection();
    let mut days = Vec::new();
    for (i, date) in first.iter_days().take_while(|d| *d <= last).enumerate() {
        let i = i64::try_from(i).unwrap();
        let mut day = day_figures(i, date);
        if date > today {
            (day.human, day.bot, day.suspicious) = (0, 0, 0);
        }
        // One command at a time: the cluster's test connection does not pipeline.
        let mut commands = Vec::new();
        for bucket in [day_of(date), month_of(date)] {
            for (key, field, n) in [
                (&clicks, format!("h:{bucket}"), day.human),
                (&clicks, format!("b:{bucket}"), day.bot),
                (&clicks, format!("s:{bucket}"), day.suspicious),
                (&counts, format!("o:USD:{bucket}"), 1),
                (&counts, format!("r:USD:{bucket}"), day.revenue),
            ] {
                let mut add = redis::cmd("HINCRBY");
                add.arg(key).arg(field).arg(n);
                commands.push(add);
            }
            if date <= today {
                let visitors: Vec<String> = (i * 3..i * 3 + 5).map(|v| format!("v{v}")).collect();
                let key = uniques_key(&clicks, &bucket);
                let mut add = redis::cmd("PFADD");
                add.arg(key).arg(visitors);
                commands.push(add);
            }
        }
        // Money is kept per year too (clicks are not).
        let year = format!("y:{}", date.year());
        for (field, n) in [
            (format!("o:USD:{year}"), 1),
            (format!("r:USD:{year}"), day.revenue),
        ] {
            let mut add = redis::cmd("HINCRBY");
            add.arg(&counts).arg(field).arg(n);
            commands.push(add);
        }
        for command in commands {
            let _: redis::Value = command.query(&mut redis).unwrap();
        }
        days.push(day);
    }
    let expected = match kept {
        Kept::AsList => "listpack",
        Kept::AsTable => "hashtable",
    };
    assert_eq!(app.redis.encoding(&counts), expected);
    days
}

/// Unique visitors of the days from `from` to `to` as Redis counts their union.
fn uniques(app: &TestApp, influencer: &str, from: NaiveDate, to: NaiveDate) -> i64 {
    let clicks = Keys::new("rt").click_counts(Owner::Influencer(influencer));
    let mut count = redis::cmd("PFCOUNT");
    for date in from.iter_days().take_while(|d| *d <= to) {
        count.arg(uniques_key(&clicks, &day_of(date)));
    }
    count.query(&mut app.redis.connection()).unwrap()
}

/// The unique-visitor sketch of a bucket, beside the owner's click counters in its count
/// shard (`Keys::click_uniques`).
fn uniques_key(click_counts: &str, bucket: &str) -> String {
    format!(
        "{}:{bucket}",
        click_counts.replacen(":clicks:", ":uniq:", 1)
    )
}

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

#[tokio::test]
async fn calendar_and_rolling_reports_equal_the_sum_of_their_days_across_month_boundaries() {
    for kept in [Kept::AsTable, Kept::AsList] {
        reports_equal_the_sum_of_their_days(kept).await;
    }
}

async fn reports_equal_the_sum_of_their_days(kept: Kept) {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let today = Utc::now().date_naive();
    let days = fill(&app, &alice, today, kept);
    let month_start = today.with_day(1).unwrap();
    let last_month = (
        month_start - Months::new(1),
        month_start.pred_opt().unwrap(),
    );
    // The default range (the last 30 days), a calendar month, ranges cutting months in the
    // past, a long one, one running past today, one day, and most of a year.
    let ranges = [
        (today - Days::new(29), today),
        last_month,
        (today - Days::new(75), today - Days::new(40)),
        (days[3].date, today),
        (today - Days::new(10), days.last().unwrap().date),
        (today - Days::new(1), today - Days::new(1)),
        // Most of this year: money reads its year bucket less what is left out.
        (
            NaiveDate::from_ymd_opt(today.year(), 1, 2).unwrap(),
            days.last().unwrap().date,
        ),
    ];

    for (i, (from, to)) in ranges.into_iter().enumerate() {
        // Act
        let query = if i == 0 {
            String::new()
        } else {
            format!("?from={from}&to={to}")
        };
        let row = app.influencer_row_over(&alice, &query).await;
        let (status, daily) = app
            .get_json(&format!(
                "/api/v1/reports/influencers/{alice}/daily?from={from}&to={to}"
            ))
            .await;
        assert_eq!(status, 200, "{daily}");

        // Assert
        let inside: Vec<&Day> = days
            .iter()
            .filter(|d| (from..=to).contains(&d.date))
            .collect();
        let sum = |f: fn(&Day) -> i64| inside.iter().map(|d| f(d)).sum::<i64>();
        let what = format!("{kept:?}, {from}..{to}: {row}");
        assert_eq!(row["clicks"], sum(|d| d.human), "{what}");
        assert_eq!(row["bot_clicks"], sum(|d| d.bot), "{what}");
        assert_eq!(row["suspicious_clicks"], sum(|d| d.suspicious), "{what}");
        assert_eq!(row["orders"], inside.len(), "{what}");
        assert_eq!(row["revenue"], money(sum(|d| d.revenue)), "{what}");
        let expected_uniques = uniques(&app, &alice, from, to.min(today));
        assert!(expected_uniques > 0);
        assert_eq!(row["unique_clicks"], expected_uniques, "{what}");
        let daily_clicks: i64 = daily["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["clicks"].as_i64().unwrap())
            .sum();
        assert_eq!(daily_clicks, sum(|d| d.human), "{what}");
        assert_eq!(daily["totals"]["unique_clicks"], expected_uniques, "{what}");
        assert_eq!(daily["totals"]["revenue"], row["revenue"], "{what}");
    }
}

/// Writes `fields` (field, increment) to `key` and adds `visitors` to the sketches of
/// `buckets`, one command at a time (the cluster's test connection does not pipeline).
fn write(app: &TestApp, clicks: &str, fields: &[(String, i64)], sketches: &[(String, &[&str])]) {
    let mut redis = app.redis.connection();
    for (field, n) in fields {
        let _: i64 = redis::cmd("HINCRBY")
            .arg(clicks)
            .arg(field)
            .arg(n)
            .query(&mut redis)
            .unwrap();
    }
    for (bucket, visitors) in sketches {
        let _: i64 = redis::cmd("PFADD")
            .arg(uniques_key(clicks, bucket))
            .arg(*visitors)
            .query(&mut redis)
            .unwrap();
    }
}

#[tokio::test]
async fn unique_visitors_are_counted_only_in_buckets_that_had_human_clicks() {
    // Arrange: a sketch takes only human clicks' visitors, so a report names the sketches of
    // the buckets with human clicks. Stray sketches beside no human clicks (which no flush
    // writes) show which ones it named.
    let app = spawn_app().await;
    let (alice, bob) = (app.influencer("alice").await, app.influencer("bob").await);
    let keys = Keys::new("rt");
    let today = Utc::now().date_naive();
    let (quiet, busy) = (today - Days::new(5), today - Days::new(3));
    let alices = keys.click_counts(Owner::Influencer(&alice));
    write(
        &app,
        &alices,
        &[
            (format!("h:{}", day_of(busy)), 2),
            (format!("h:{}", month_of(busy)), 2),
            (format!("b:{}", day_of(quiet)), 1),
            (format!("b:{}", month_of(quiet)), 1),
        ],
        &[
            (day_of(busy), &["v1", "v2"]),
            (month_of(busy), &["v1", "v2"]),
            (day_of(quiet), &["v3"]),
        ],
    );
    let bobs = keys.click_counts(Owner::Influencer(&bob));
    write(&app, &bobs, &[], &[(day_of(busy), &["v4"])]);

    // Act: days from the quiet one to the busy one, so each is its own bucket.
    let query = format!("?from={quiet}&to={busy}");
    let (alices_row, bobs_row) = (
        app.influencer_row_over(&alice, &query).await,
        app.influencer_row_over(&bob, &query).await,
    );

    // Assert
    assert_eq!(alices_row["clicks"], 2, "{alices_row}");
    assert_eq!(alices_row["bot_clicks"], 1, "{alices_row}");
    assert_eq!(alices_row["unique_clicks"], 2, "{alices_row}");
    assert_eq!(bobs_row["clicks"], 0, "{bobs_row}");
    assert_eq!(bobs_row["unique_clicks"], 0, "{bobs_row}");
}
