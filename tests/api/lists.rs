//! The admin API's lists: every one pages by `limit` and `cursor`, giving each item once;
//! links and orders list everyone's without an influencer, with filters.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Every page of `path` at `limit`: the items of `field` in the order listed, and the number
/// of pages.
pub async fn pages(app: &TestApp, path: &str, field: &str, limit: usize) -> (Vec<Value>, usize) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 1..=20 {
        let after = cursor
            .as_ref()
            .map_or_else(String::new, |c| format!("&cursor={c}"));
        let (status, body) = app
            .get_json(&format!("{path}{separator}limit={limit}{after}"))
            .await;
        assert_eq!(status, 200, "{path}: {body}");
        let listed = body[field].as_array().unwrap();
        assert!(listed.len() <= limit, "{body}");
        items.extend(listed.iter().cloned());
        match &body["next_cursor"] {
            Value::Null => return (items, page),
            Value::String(next) => cursor = Some(next.clone()),
            other => panic!("next_cursor is {other}"),
        }
    }
    panic!("{path}: pages never end");
}

/// The items' `field`, sorted: items created in one millisecond list in id order, not
/// creation order, so a test compares sets and checks the order apart (`in_time_order`).
pub fn sorted(items: &[Value], field: &str) -> Vec<String> {
    let mut out = strings(items, field);
    out.sort();
    out
}

/// Whether the items are listed by `created_at`, oldest first.
pub fn in_time_order(items: &[Value]) -> bool {
    let times = strings(items, "created_at");
    times.windows(2).all(|w| w[0] <= w[1])
}

fn strings(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| match field {
            "" => i.as_str().unwrap().to_owned(),
            _ => i[field].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// A generic-webhook order of `amount` USD with `coupon`, `seconds` seconds after a fixed
/// hour ago (so the orders' times are known and distinct).
async fn order(app: &TestApp, id: &str, coupon: Option<&str>, seconds: i64) {
    let at = chrono::Utc::now() - chrono::Duration::hours(1) + chrono::Duration::seconds(seconds);
    let mut body = json!({"event": "order.created", "order_id": id, "amount": "10.00",
                          "currency": "USD",
                          "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)});
    if let Some(coupon) = coupon {
        body["coupon"] = coupon.into();
    }
    assert_eq!(app.generic(&body).await.status().as_u16(), 200);
}

#[tokio::test]
async fn influencers_campaigns_coupons_and_costs_page_by_cursor_giving_each_once_in_order() {
    // Arrange
    let app = spawn_app().await;
    let mut handles = Vec::new();
    for i in 0..5 {
        handles.push(format!("page{i}"));
        app.influencer(&format!("page{i}")).await;
    }
    let first = app.influencer("owner").await;
    for i in 0..3 {
        app.campaign(&json!({"name": format!("C{i}"), "currency": "USD"}))
            .await;
    }
    for code in ["zed", "alpha", "mid"] {
        let added = app
            .post_json(
                &format!("/api/v1/influencers/{first}/coupons"),
                &json!({"code": code}),
            )
            .await;
        assert_eq!(added.status().as_u16(), 201);
    }
    for day in ["2026-03-03", "2026-03-01", "2026-03-02"] {
        let cost = json!({"amount": "1.00", "currency": "USD", "kind": "fee", "date": day});
        let added = app
            .post_json(&format!("/api/v1/influencers/{first}/costs"), &cost)
            .await;
        assert_eq!(added.status().as_u16(), 201);
    }

    // Act
    let (influencers, influencer_pages) =
        pages(&app, "/api/v1/influencers", "influencers", 2).await;
    let (campaigns, campaign_pages) = pages(&app, "/api/v1/campaigns", "campaigns", 2).await;
    let coupons_path = format!("/api/v1/influencers/{first}/coupons");
    let (coupons, coupon_pages) = pages(&app, &coupons_path, "coupons", 1).await;
    let costs_path = format!("/api/v1/influencers/{first}/costs");
    let (costs, cost_pages) = pages(&app, &costs_path, "costs", 2).await;

    // Assert
    handles.push("owner".to_owned());
    handles.sort();
    assert_eq!(sorted(&influencers, "handle"), handles);
    assert!(in_time_order(&influencers));
    assert_eq!(influencer_pages, 3);
    assert_eq!(sorted(&campaigns, "name"), ["C0", "C1", "C2"]);
    assert!(in_time_order(&campaigns));
    assert_eq!(campaign_pages, 2);
    assert_eq!(strings(&coupons, ""), ["alpha", "mid", "zed"]);
    assert_eq!(coupon_pages, 3);
    assert_eq!(
        strings(&costs, "date"),
        ["2026-03-01", "2026-03-02", "2026-03-03"]
    );
    assert_eq!(cost_pages, 2);
}

#[tokio::test]
async fn links_list_everyones_without_an_influencer_filtered_by_campaign_and_state() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    let spring = app
        .campaign(&json!({"name": "Spring", "currency": "USD"}))
        .await;
    let a1 = app.link(&alice, "https://shop.example/a1").await;
    let in_spring = app
        .post_json(
            "/api/v1/links",
            &json!({"influencer_id": bob, "destination": "https://shop.example/b", "campaign_id": spring}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let b2 = app.link(&bob, "https://shop.example/b2").await;
    assert_eq!(
        app.delete(&format!("/api/v1/links/{b2}")).await.status(),
        200
    );

    // Act
    let (everyone, everyone_pages) = pages(&app, "/api/v1/links", "links", 2).await;
    let (campaign, _) = pages(
        &app,
        &format!("/api/v1/links?campaign_id={spring}"),
        "links",
        10,
    )
    .await;
    let (disabled, _) = pages(&app, "/api/v1/links?disabled=true", "links", 10).await;
    let (live, _) = pages(&app, "/api/v1/links?disabled=false", "links", 10).await;
    let bad_flag = app.get_json("/api/v1/links?disabled=maybe").await;
    let bad_campaign = app.get_json("/api/v1/links?campaign_id=cmp_nothing").await;

    // Assert
    let mut all_codes = vec![a1.clone(), in_spring.clone(), b2.clone()];
    all_codes.sort();
    assert_eq!(sorted(&everyone, "code"), all_codes);
    assert!(in_time_order(&everyone));
    assert_eq!(everyone_pages, 2);
    assert_eq!(strings(&campaign, "code"), [in_spring.as_str()]);
    assert_eq!(strings(&disabled, "code"), [b2.as_str()]);
    let mut live_codes = vec![a1.clone(), in_spring.clone()];
    live_codes.sort();
    assert_eq!(sorted(&live, "code"), live_codes);
    assert_eq!(bad_flag.0, 400);
    let message = bad_flag.1["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("'disabled'") && message.contains("maybe"),
        "{message}"
    );
    assert_eq!(bad_campaign.0, 422, "{}", bad_campaign.1);
}

#[tokio::test]
async fn orders_list_everyones_without_an_influencer_in_time_order_across_pages() {
    // Arrange: alice's coupon orders, bob's, and an unattributed one, interleaved in time
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let bob = app.influencer("bob").await;
    for (owner, code) in [(&alice, "ALICE"), (&bob, "BOB")] {
        app.post_json(
            &format!("/api/v1/influencers/{owner}/coupons"),
            &json!({"code": code}),
        )
        .await;
    }
    order(&app, "O-1", Some("ALICE"), 1).await;
    order(&app, "O-2", Some("BOB"), 2).await;
    order(&app, "O-3", None, 3).await;
    order(&app, "O-4", Some("ALICE"), 4).await;
    order(&app, "O-5", Some("BOB"), 5).await;

    // Act
    let (everyone, everyone_pages) = pages(&app, "/api/v1/orders", "orders", 2).await;
    let (bobs, _) = pages(
        &app,
        &format!("/api/v1/orders?influencer_id={bob}"),
        "orders",
        10,
    )
    .await;

    // Assert
    assert_eq!(
        strings(&everyone, "order_id"),
        ["O-1", "O-2", "O-3", "O-4", "O-5"]
    );
    assert_eq!(everyone_pages, 3);
    assert_eq!(everyone[1]["attribution"]["influencer_id"], bob.as_str());
    assert_eq!(everyone[2]["attribution"]["influencer_id"], Value::Null);
    assert_eq!(strings(&bobs, "order_id"), ["O-2", "O-5"]);
}

#[tokio::test]
async fn a_page_of_an_influencers_links_reads_about_a_page_however_many_links_it_has() {
    // Arrange: 150 links, a third of them disabled.
    let app = spawn_app().await;
    let alice = app.influencer("alice").await;
    let mut codes = Vec::new();
    let destinations: Vec<String> = (0..150)
        .map(|n| format!("https://shop.example/p{n}"))
        .collect();
    for chunk in destinations.chunks(50) {
        let created = futures::future::join_all(chunk.iter().map(|to| app.link(&alice, to))).await;
        codes.extend(created);
    }
    for code in codes.iter().step_by(3) {
        let response = app
            .patch_json(&format!("/api/v1/links/{code}"), &json!({"disabled": true}))
            .await;
        assert_eq!(response.status().as_u16(), 200);
    }
    let path = format!("/api/v1/links?influencer_id={alice}&limit=5");

    // Act: the first page, then the first page of the enabled ones.
    let before = app.redis.command_calls("HGETALL");
    let (status, first) = app.get_json(&path).await;
    let read_first = app.redis.command_calls("HGETALL") - before;
    let (_, enabled) = app.get_json(&format!("{path}&disabled=false")).await;
    let read_enabled = app.redis.command_calls("HGETALL") - before - read_first;

    // Assert: five links and a cursor, from six link reads (the page and one to tell that more
    // follow) and the influencer's record (the filter's influencer must exist), not 150; the
    // filtered page also reads the disabled ones it passes over, in reads that double (6, 12,
    // 24...), still far from 150.
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["links"].as_array().unwrap().len(), 5, "{first}");
    assert!(first["next_cursor"].is_string(), "{first}");
    assert_eq!(read_first, 7, "hashes read for a page of 5");
    let listed = enabled["links"].as_array().unwrap();
    assert_eq!(listed.len(), 5, "{enabled}");
    assert!(listed.iter().all(|l| l["disabled"] == false), "{enabled}");
    assert!(
        (6..=50).contains(&read_enabled),
        "link hashes read for a filtered page of 5: {read_enabled}"
    );
    // And paging on lists every link once, in time order.
    let (all, _) = pages(
        &app,
        &format!("/api/v1/links?influencer_id={alice}"),
        "links",
        40,
    )
    .await;
    assert_eq!(sorted(&all, "code"), {
        let mut c = codes.clone();
        c.sort();
        c
    });
    assert!(in_time_order(&all));
}

#[tokio::test]
async fn every_list_answers_an_empty_page_when_there_is_nothing_yet() {
    // Arrange
    let app = spawn_app().await;

    // Act and Assert
    for (path, field) in [
        ("/api/v1/influencers", "influencers"),
        ("/api/v1/links", "links"),
        ("/api/v1/campaigns", "campaigns"),
        ("/api/v1/orders", "orders"),
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body[field], json!([]), "{path}");
        assert_eq!(body["next_cursor"], Value::Null, "{path}");
    }
}
