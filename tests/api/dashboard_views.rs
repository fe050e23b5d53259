//! Each view of the dashboard workspace in a real headless browser, at a desktop size and a
//! phone size: the overview (cards against the previous period, presets, the ranking, sorting
//! from the keyboard), one influencer (links, coupons, costs, orders, chart), campaigns
//! (create, view, compare) and orders in every currency.
//!
//! With REFTRACK_SCREENSHOTS=1 each view's screenshots are written to deploy/screenshots/.

use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::dashboard::{Browser, browser, fill, known_figures, sign_in};
use crate::helpers::{TOKEN, TestApp, spawn_app};

/// The two sizes every view is checked at: a laptop, and a phone (CSS pixels).
const DESKTOP: (u32, u32) = (1280, 1000);
const PHONE: (u32, u32) = (390, 844);

async fn found(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// Clicks the element once it is there.
async fn click(client: &Client, css: &str) {
    found(client, css).await.click().await.unwrap();
}

/// The element's text now, empty when it is not there: a view re-renders as its data
/// arrives, and an element read as it is replaced is read again by the caller's polling.
async fn text_now(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Polls until the element's text contains `needle`; returns the text.
async fn text_with(client: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = text_now(client, css).await;
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never showed {needle:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until `condition` holds on the server's answer to `path`.
async fn until_api(app: &TestApp, path: &str, condition: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = app.get_json(path).await;
        if status == 200 && condition(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never matched: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Resizes the window and reloads the page at `fragment` (the token stays in the tab).
async fn resize(client: &Client, app: &TestApp, size: (u32, u32), fragment: &str) {
    client.set_window_size(size.0, size.1).await.unwrap();
    client
        .goto(&app.url(&format!("/dashboard{fragment}")))
        .await
        .unwrap();
    client.refresh().await.unwrap();
}

/// The page's width in CSS pixels and whether it scrolls sideways.
async fn sideways(client: &Client) -> (f64, bool) {
    let answer = client
        .execute(
            "return [window.innerWidth, document.documentElement.scrollWidth > window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    (answer[0].as_f64().unwrap(), answer[1].as_bool().unwrap())
}

/// On a phone: the page does not scroll sideways, and the cell labelled `label` in the first
/// row of `table` is shown within the screen.
async fn fits_a_phone(client: &Client, table: &str, label: &str) {
    let (width, scrolls) = sideways(client).await;
    assert!(width < 700.0, "the phone size took effect: {width}");
    assert!(!scrolls, "no sideways scroll at {width}px");
    let cell = found(
        client,
        &format!("{table} tbody tr td[data-label='{label}']"),
    )
    .await;
    assert!(cell.is_displayed().await.unwrap(), "{label} is shown");
    let (x, _, w, _) = cell.rectangle().await.unwrap();
    assert!(
        x >= 0.0 && x + w <= width + 1.0,
        "{label} is on screen: {x}+{w} of {width}"
    );
}

/// Saves the whole page (the window made as tall as the page, then put back).
async fn screenshot(client: &Client, name: &str) {
    if std::env::var_os("REFTRACK_SCREENSHOTS").is_none() {
        return;
    }
    let (_, _, width, height) = client.get_window_rect().await.unwrap();
    let page = client
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(height);
    let pixels = |n: u64| u32::try_from(n.clamp(300, 4000)).unwrap();
    client
        .set_window_size(pixels(width), pixels(page + 140))
        .await
        .unwrap();
    let path = format!(
        "{}/deploy/screenshots/{name}.png",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::write(path, client.screenshot().await.unwrap()).unwrap();
    client
        .set_window_size(pixels(width), pixels(height))
        .await
        .unwrap();
}

async fn select(client: &Client, id: &str, value: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

async fn close(browser: Browser) {
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn the_overview_shows_cards_against_the_previous_period_a_ranking_and_sorts_by_keyboard() {
    let Some(browser) = browser().await else {
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
    let from = found(client, "#from")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let to = found(client, "#to")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
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
async fn the_influencer_view_edits_links_coupons_and_costs_and_shows_orders_and_chart() {
    let Some(browser) = browser().await else {
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
    close(browser).await;
}

#[tokio::test]
async fn campaigns_are_created_viewed_and_compared_in_the_browser() {
    let Some(browser) = browser().await else {
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
async fn orders_in_other_currencies_are_listed_and_shown_apart_in_the_overview() {
    let Some(browser) = browser().await else {
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
