//! The command line against a running server: the real binary, over real HTTP.

use crate::cli_run::{reftrack, reftrack_as, run};
use crate::helpers::{BROWSER, spawn_app};

#[tokio::test]
async fn a_marketer_sets_up_an_influencer_and_reads_the_report_from_the_terminal() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let added = reftrack(
        &app,
        &["influencer", "add", "@alice.bakes", "--percent", "10"],
    )
    .await;
    let id = added.stdout.trim().to_owned();
    let link = reftrack(
        &app,
        &[
            "link",
            "create",
            &id,
            "https://shop.example/p",
            "--code",
            "alice",
        ],
    )
    .await;
    let coupon = reftrack(&app, &["coupon", "add", &id, "ALICE10"]).await;
    let cost = reftrack(
        &app,
        &[
            "cost",
            "add",
            &id,
            "40.00",
            "USD",
            "--kind",
            "gifted_product",
        ],
    )
    .await;
    app.click("alice", BROWSER).await;
    app.wait_for_clicks(&id, 1).await;
    let report = reftrack(&app, &["report"]).await;
    let no_campaign = reftrack(&app, &["report", "--campaign", "cmp_missing"]).await;
    let csv = reftrack(&app, &["report", "--csv"]).await;
    let list = reftrack(&app, &["influencer", "list"]).await;

    // Assert
    assert!(added.success, "{}", added.stderr);
    assert!(id.starts_with("inf_"), "{id}");
    assert_eq!(link.stdout.trim(), format!("{}/alice", app.address));
    assert!(coupon.stdout.contains("alice10"), "{}", coupon.stdout);
    assert!(
        cost.stdout.contains("40.00 USD (gifted_product)"),
        "{}",
        cost.stdout
    );
    let alice_line = report
        .stdout
        .lines()
        .find(|l| l.contains("alice.bakes"))
        .unwrap_or_else(|| panic!("{}", report.stdout));
    for cell in ["40.00", "-40.00", "-100.0"] {
        assert!(alice_line.contains(cell), "{cell} in {alice_line}");
    }
    assert!(
        csv.stdout.starts_with("influencer_id,handle,clicks"),
        "{}",
        csv.stdout
    );
    assert!(
        csv.stdout.contains(&format!("{id},alice.bakes,1,")),
        "{}",
        csv.stdout
    );
    assert!(list.stdout.contains("10%"), "{}", list.stdout);
    assert!(!no_campaign.success);
    assert!(
        no_campaign.stderr.contains("no campaign 'cmp_missing'"),
        "{}",
        no_campaign.stderr
    );
}

#[tokio::test]
async fn the_cli_says_clearly_when_the_token_is_wrong_or_the_server_is_down() {
    // Arrange
    let mut app = spawn_app().await;

    // Act
    let wrong_token = reftrack_as(&app, "not-the-token", &["report"]).await;
    let refused = reftrack(&app, &["cost", "add", "inf_nobody", "5", "USD"]).await;
    app.stop().await;
    let down = reftrack(&app, &["influencer", "list"]).await;
    let with_password = app
        .address
        .replacen("http://", "http://operator:URL-PASSWORD@", 1);
    let down_with_password = run(
        &with_password,
        &[("REFTRACK_TOKEN", "a-token-of-sixteen-chars")],
        &["influencer", "list"],
    )
    .await;

    // Assert
    assert!(!wrong_token.success);
    assert!(
        wrong_token.stderr.contains("refused the admin token"),
        "{}",
        wrong_token.stderr
    );
    assert!(!refused.success);
    assert!(
        refused.stderr.contains("no influencer inf_nobody"),
        "{}",
        refused.stderr
    );
    assert!(!down.success);
    assert!(
        down.stderr.contains("cannot reach reftrack"),
        "{}",
        down.stderr
    );
    assert!(
        down_with_password.stderr.contains("cannot reach reftrack")
            && !down_with_password.stderr.contains("URL-PASSWORD"),
        "{}",
        down_with_password.stderr
    );
}

#[tokio::test]
async fn a_marketer_moves_an_order_to_another_influencer_from_the_terminal() {
    // Arrange
    let app = spawn_app().await;
    let alice = app
        .influencer_with("alice", serde_json::json!({"percent": "10"}))
        .await;
    let order = serde_json::json!({"event": "order.created", "order_id": "K-1",
                                   "amount": "25.00", "currency": "USD"});
    assert_eq!(app.generic(&order).await.status().as_u16(), 200);

    // Act
    let moved = reftrack(
        &app,
        &[
            "order",
            "reattribute",
            "generic:K-1",
            &alice,
            "--note",
            "DM proof",
        ],
    )
    .await;
    let unknown = reftrack(&app, &["order", "reattribute", "generic:K-9", &alice]).await;

    // Assert
    assert!(moved.success, "{}", moved.stderr);
    assert!(moved.stdout.contains(&alice), "{}", moved.stdout);
    assert!(moved.stdout.contains("2.50"), "{}", moved.stdout);
    assert_eq!(app.influencer_row(&alice).await["orders"], 1);
    assert!(!unknown.success);
    assert!(
        unknown.stderr.contains("order_not_found") || unknown.stderr.contains("no order"),
        "{}",
        unknown.stderr
    );
}
