//! Each view of the dashboard workspace in a real headless browser, at a desktop size and a
//! phone size: the overview (cards against the previous period, presets, the ranking, sorting
//! from the keyboard), one influencer (links, coupons, costs, orders, chart), campaigns
//! (create, view, compare) and orders in every currency.
//!
//! Like the other browser tests they are ignored by a plain `cargo test`; run them with
//! `cargo test --test api dashboard_views -- --include-ignored`. With REFTRACK_SCREENSHOTS=1
//! each view's screenshots are written to deploy/screenshots/.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::browser_views::{
    DESKTOP, PHONE, click, close, fits_a_phone, found, resize, screenshot, select, started,
    text_now, text_with, until_api, value_of,
};
use crate::dashboard::{browser, fill, known_figures, sign_in};
use crate::helpers::{TOKEN, spawn_app};

#[tokio::test]
#[ignore = "drives chromium through chromedriver; run with cargo test -- --include-ignored (CI does)"]
async fn the_overview_shows_cards_against_the_previous_period_a_ranking_and_sorts_by_keyboard() {
    let Some(browser) = started(browser().await) else {
        return;
    };
    let client = &browser.client;
    // Arrange
    let app = spawn_app().await;
    let (alice, bea, _) = known_figures(&app).await;
    client.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();

    // Act
    sign_in(client, &app, TOKEN).await;

    // Assert: the cards (profit 72.00 - 25.00, spend 8.00 + 25.00), nothing the period before
    let profit = text_with(client, "#cards [data-figure='profit']", "47.00").await;
    assert!(profit.contains("USD"), "{profit}");
    text_with(client, "#cards [data-figure='total_cost']", "33.00").await;
    let bots = text_with(client, "#cards [data-figure='bot_clicks']", "Bot clicks").await;
    assert!(bots.contains("Bot clicks"), "{bots}");
    // The ranking: alice's profit, then bea's loss
    found(
        client,
        &format!("#compare-chart rect[data-influencer='{alice}'].pos"),
    )
    .await;
    found(
        client,
        &format!("#compare-chart rect[data-influencer='{bea}'].neg"),
    )
    .await;
    // The table has bot and suspicious columns
    let head = text_with(client, "#report thead", "Bots").await;
    assert!(
        head.contains("Bots") && head.contains("Suspicious"),
        "{head}"
    );
    screenshot(client, "overview-desktop").await;

    // Act: sort by profit from the keyboard (Enter on the header's button)
    let sort = found(client, "#report button.sort[data-key='profit']").await;
    sort.send_keys("\u{E007}").await.unwrap();

    // Assert
    found(
        client,
        "#report th[aria-sort='descending'] button.sort[data-key='profit']",
    )
    .await;
    let focused = client
        .execute("return document.activeElement.dataset.key;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "profit", "focus stays on the sort button");

    // Act: the "last 7 days" preset
    select(client, "preset", "7").await;

    // Assert: the period is seven days ending today
    let from = value_of(client, "#from").await;
    let to = value_of(client, "#to").await;
    let days = chrono::NaiveDate::parse_from_str(&to, "%Y-%m-%d").unwrap()
        - chrono::NaiveDate::parse_from_str(&from, "%Y-%m-%d").unwrap();
    assert_eq!(days.num_days(), 6, "{from} to {to}");

    // Act: a phone
    resize(client, &app, PHONE, "#overview").await;

    // Assert: filters folded, rows as cards with their money visible
    text_with(client, "#cards [data-figure='profit']", "47.00").await;
    let open = found(client, "#filters").await.attr("open").await.unwrap();
    assert!(open.is_none(), "the filters are folded on a phone");
    fits_a_phone(client, "#report", "Profit").await;
    fits_a_phone(client, "#report", "Net revenue").await;
    screenshot(client, "overview-phone").await;
    close(browser).await;
}

#[tokio::test]
#[ignore = "drives chromium through chromedriver; run with cargo test -- --include-ignored (CI does)"]
async fn the_influencer_view_edits_links_coupons_and_costs_and_shows_orders_and_chart() {
    let Some(browser) = started(browser().await) else {
        return;
    };
    let client = &browser.client;
    // Arrange
    let app = spawn_app().await;
    let (alice, _, _) = known_figures(&app).await;
    let (_, links) = app
        .get_json(&format!("/api/v1/links?influencer_id={alice}"))
        .await;
    let code = links["links"][0]["code"].as_str().unwrap().to_owned();
    client.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    sign_in(client, &app, TOKEN).await;

    // Act: open alice from the overview
    click(client, &format!("tr[data-influencer='{alice}'] a")).await;

    // Assert: her figures, chart, link and order with its attribution
    text_with(client, "#detail-title", "@alice").await;
    text_with(client, "#detail-cards [data-figure='profit']", "72.00").await;
    found(client, "#chart rect").await;
    let link_row = text_with(client, &format!("tr[data-code='{code}']"), "Spring").await;
    assert!(link_row.contains("live"), "{link_row}");
    let order = text_with(client, "#detail-orders tbody", "W-1").await;
    assert!(order.contains(&format!("click on /{code}")), "{order}");
    assert!(order.contains("80.00") && order.contains("USD"), "{order}");
    screenshot(client, "influencer-desktop").await;

    // Act: change the link's destination
    click(
        client,
        &format!("tr[data-code='{code}'] button[aria-label^='Change destination']"),
    )
    .await;
    let input = found(
        client,
        &format!("tr[data-code='{code}'] .inline-edit input"),
    )
    .await;
    input.clear().await.unwrap();
    input.send_keys("https://shop.example/new").await.unwrap();
    click(
        client,
        &format!("tr[data-code='{code}'] .inline-edit button[type='submit']"),
    )
    .await;
    // a coupon, then a cost
    fill(client, "coupon-code", "ALICE10").await;
    click(client, "#detail-new-coupon button").await;
    found(client, "#detail-coupons li[data-coupon='alice10']").await;
    select(client, "cost-kind", "shipping").await;
    fill(client, "cost-amount", "12.50").await;
    fill(client, "cost-currency", "usd").await;
    fill(client, "cost-note", "parcel").await;
    click(client, "#detail-new-cost button").await;

    // Assert
    until_api(&app, &format!("/api/v1/links/{code}"), |l| {
        l["destination"] == "https://shop.example/new"
    })
    .await;
    let costs_path = format!("/api/v1/influencers/{alice}/costs");
    let costs = until_api(&app, &costs_path, |c| {
        c["costs"].as_array().unwrap().len() == 1
    })
    .await;
    assert_eq!(costs["costs"][0]["amount"], "12.50");
    assert_eq!(costs["costs"][0]["kind"], "shipping");
    assert_eq!(costs["costs"][0]["note"], "parcel");
    text_with(client, "#detail-cards [data-figure='profit']", "59.50").await;

    // Act: on a phone, remove the coupon, delete the cost, disable the link
    resize(client, &app, PHONE, &format!("#influencer/{alice}")).await;
    text_with(client, "#detail-title", "@alice").await;
    fits_a_phone(client, "#detail-orders", "Net revenue").await;
    fits_a_phone(client, "#detail-costs", "Amount").await;
    screenshot(client, "influencer-phone").await;
    click(client, "#detail-coupons li[data-coupon='alice10'] button").await;
    click(client, "#detail-costs tbody tr[data-cost] button").await;
    click(
        client,
        &format!("tr[data-code='{code}'] button[aria-label^='Disable']"),
    )
    .await;

    // Assert
    let coupons_path = format!("/api/v1/influencers/{alice}/coupons");
    until_api(&app, &coupons_path, |c| c["coupons"] == json!([])).await;
    until_api(&app, &costs_path, |c| c["costs"] == json!([])).await;
    until_api(&app, &format!("/api/v1/links/{code}"), |l| {
        l["disabled"] == true
    })
    .await;
    text_with(client, &format!("tr[data-code='{code}']"), "disabled").await;

    // Act: disable alice (a second press confirms)
    click(client, "#detail-disable").await;
    text_with(client, "#detail-disable", "Confirm").await;
    click(client, "#detail-disable").await;

    // Assert
    until_api(&app, &format!("/api/v1/influencers/{alice}"), |i| {
        i["disabled"] == true
    })
    .await;
    text_with(client, "#detail-summary", "disabled").await;
    close(browser).await;
}

#[tokio::test]
#[ignore = "drives chromium through chromedriver; run with cargo test -- --include-ignored (CI does)"]
async fn campaigns_are_created_viewed_and_compared_in_the_browser() {
    let Some(browser) = started(browser().await) else {
        return;
    };
    let client = &browser.client;
    // Arrange: Spring (alice's 80.00 order) from the known figures
    let app = spawn_app().await;
    let (_, _, spring) = known_figures(&app).await;
    client.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    sign_in(client, &app, TOKEN).await;
    click(client, "#nav a[data-view='campaigns']").await;

    // Act: create Autumn
    fill(client, "campaign-name", "Autumn").await;
    fill(client, "campaign-currency", "usd").await;
    fill(client, "campaign-domains", "shop.example").await;
    click(client, "#new-campaign button").await;
    let list = text_with(client, "#campaign-list tbody", "Autumn").await;
    assert!(list.contains("shop.example"), "{list}");
    let (_, campaigns) = app.get_json("/api/v1/campaigns").await;
    let autumn = campaigns["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Autumn")
        .expect("Autumn was created")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act: view Spring
    click(client, &format!("tr[data-campaign='{spring}'] button")).await;

    // Assert: its figures, its influencer and its link
    let detail = text_with(client, "#campaign-detail", "Spring").await;
    assert!(detail.contains("@alice"), "{detail}");
    text_with(
        client,
        "#campaign-detail [data-figure='net_revenue']",
        "80.00",
    )
    .await;

    // Act: compare the two
    click(
        client,
        &format!("tr[data-campaign='{spring}'] input.compare"),
    )
    .await;
    click(
        client,
        &format!("tr[data-campaign='{autumn}'] input.compare"),
    )
    .await;
    click(client, "#compare-campaigns").await;

    // Assert
    let spring_row = text_with(
        client,
        &format!("#campaign-compare tr[data-campaign='{spring}']"),
        "80.00",
    )
    .await;
    assert!(spring_row.contains("Spring"), "{spring_row}");
    text_with(
        client,
        &format!("#campaign-compare tr[data-campaign='{autumn}']"),
        "Autumn",
    )
    .await;
    screenshot(client, "campaigns-desktop").await;

    // Act: a phone
    resize(client, &app, PHONE, "#campaigns").await;
    text_with(client, "#campaign-list tbody", "Autumn").await;

    // Assert
    fits_a_phone(client, "#campaign-list", "Allowed domains").await;
    screenshot(client, "campaigns-phone").await;
    close(browser).await;
}

#[tokio::test]
#[ignore = "drives chromium through chromedriver; run with cargo test -- --include-ignored (CI does)"]
async fn orders_in_other_currencies_are_listed_and_shown_apart_in_the_overview() {
    let Some(browser) = started(browser().await) else {
        return;
    };
    let client = &browser.client;
    // Arrange: a USD order by coupon and a EUR order nobody earned
    let app = spawn_app().await;
    let dan = app.influencer("dan").await;
    app.post_json(
        &format!("/api/v1/influencers/{dan}/coupons"),
        &json!({"code": "DAN"}),
    )
    .await;
    for (id, amount, currency, coupon) in [
        ("U-1", "30.00", "USD", Some("dan")),
        ("E-1", "45.00", "EUR", None),
    ] {
        let mut order = json!({"event": "order.created", "order_id": id, "amount": amount, "currency": currency});
        if let Some(coupon) = coupon {
            order["coupon"] = coupon.into();
        }
        assert_eq!(app.generic(&order).await.status().as_u16(), 200);
    }
    client.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    sign_in(client, &app, TOKEN).await;

    // Assert: the overview names the EUR orders apart
    let others = text_with(client, "#other-currencies", "EUR").await;
    assert!(
        others.contains("45.00") && others.contains("not converted"),
        "{others}"
    );

    // Act: the orders view
    click(client, "#nav a[data-view='orders']").await;

    // Assert: both orders, each in its currency, with how it was attributed
    let usd = text_with(client, "#orders tr[data-order='generic:U-1']", "USD").await;
    assert!(usd.contains("@dan") && usd.contains("coupon dan"), "{usd}");
    let eur = text_with(client, "#orders tr[data-order='generic:E-1']", "EUR").await;
    assert!(eur.contains("45.00"), "{eur}");
    screenshot(client, "orders-desktop").await;

    // Act: only dan's, then a phone
    select(client, "orders-influencer", &dan).await;
    click(client, "#orders-filter button").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while text_now(client, "#orders tbody").await.contains("E-1") {
        assert!(Instant::now() < deadline, "the filter never applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    resize(client, &app, PHONE, "#orders").await;

    // Assert
    text_with(client, "#orders tbody", "E-1").await;
    fits_a_phone(client, "#orders", "Currency").await;
    screenshot(client, "orders-phone").await;
    close(browser).await;
}

#[tokio::test]
async fn every_module_the_page_imports_is_served_under_the_pages_policy() {
    // Arrange
    let app = spawn_app().await;
    let get = |path: String| {
        let client = app.client.clone();
        let url = app.url(&path);
        async move { client.get(url).send().await.unwrap() }
    };
    // The modules app.js imports, and theirs in turn.
    let mut modules = vec!["app.js".to_owned()];
    let mut read = 0;
    while read < modules.len() {
        let path = format!("/dashboard/{}", modules[read]);
        let source = get(path).await.text().await.unwrap();
        for import in source
            .lines()
            .filter_map(|l| l.split("from \"./").nth(1))
            .filter_map(|rest| rest.split('"').next())
        {
            if !modules.iter().any(|m| m == import) {
                modules.push(import.to_owned());
            }
        }
        read += 1;
    }
    modules.push("app.css".to_owned());

    // Act and Assert
    assert!(modules.len() >= 8, "{modules:?}");
    for module in &modules {
        let response = get(format!("/dashboard/{module}")).await;
        assert_eq!(response.status().as_u16(), 200, "{module}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self'"), "{module}: {csp}");
        let kind = response.headers()["content-type"].to_str().unwrap();
        let wanted = if module == "app.css" {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(kind.starts_with(wanted), "{module}: {kind}");
    }
    let missing = get("/dashboard/nothing.js".to_owned()).await;
    assert_eq!(missing.status().as_u16(), 404);
}
