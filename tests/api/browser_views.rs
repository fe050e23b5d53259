//! What the browser tests of the dashboard's views share: window sizes, waiting for elements
//! and texts that views re-render, the server's state, phone checks and screenshots.

use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::dashboard::Browser;
use crate::helpers::TestApp;

/// The two sizes every view is checked at: a laptop, and a phone (CSS pixels).
pub const DESKTOP: (u32, u32) = (1280, 1000);
pub const PHONE: (u32, u32) = (390, 844);

pub async fn found(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// The current value of the input matched by `css`, once it is there.
pub async fn value_of(client: &Client, css: &str) -> String {
    found(client, css)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{css} has no value"))
}

/// Clicks the element once it is there.
pub async fn click(client: &Client, css: &str) {
    found(client, css).await.click().await.unwrap();
}

/// The element's text now, empty when it is not there: a view re-renders as its data
/// arrives, and an element read as it is replaced is read again by the caller's polling.
pub async fn text_now(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Polls until the element's text contains `needle`; returns the text.
pub async fn text_with(client: &Client, css: &str, needle: &str) -> String {
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
pub async fn until_api(app: &TestApp, path: &str, condition: impl Fn(&Value) -> bool) -> Value {
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
pub async fn resize(client: &Client, app: &TestApp, size: (u32, u32), fragment: &str) {
    client.set_window_size(size.0, size.1).await.unwrap();
    client
        .goto(&app.url(&format!("/dashboard{fragment}")))
        .await
        .unwrap();
    client.refresh().await.unwrap();
}

/// The page's width in CSS pixels and whether it scrolls sideways.
pub async fn sideways(client: &Client) -> (f64, bool) {
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
pub async fn fits_a_phone(client: &Client, table: &str, label: &str) {
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
pub async fn screenshot(client: &Client, name: &str) {
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

pub async fn select(client: &Client, id: &str, value: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

/// The browser session, whether `browser()` answers one or, where chromedriver may be
/// missing, an `Option` of one.
pub fn started(browser: impl Into<Option<Browser>>) -> Option<Browser> {
    browser.into()
}

pub async fn close(browser: Browser) {
    browser.client.clone().close().await.unwrap();
}
