//! The command line's every noun against a running server: campaigns, links, coupons, costs,
//! orders, influencers; handles and campaign names where ids go; `--json` on each; where the
//! token comes from; completions; and what a wrong `--url` says.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli_run::{reftrack, run};
use crate::helpers::{BROWSER, TOKEN, TestApp, spawn_app};

#[tokio::test]
async fn campaigns_are_created_listed_shown_and_compared_by_name_with_json_on_each() {
    // Arrange
    let app = spawn_app().await;
    reftrack(&app, &["influencer", "add", "@alice", "--percent", "10"]).await;

    // Act
    let spring = reftrack(
        &app,
        &[
            "campaign",
            "create",
            "Spring",
            "USD",
            "--allow-domain",
            "shop.example",
        ],
    )
    .await;
    let autumn = reftrack(&app, &["--json", "campaign", "create", "Autumn", "USD"]).await;
    let link = reftrack(
        &app,
        &[
            "link",
            "create",
            "@alice",
            "https://shop.example/s",
            "--campaign",
            "spring",
            "--code",
            "alice-spring",
        ],
    )
    .await;
    let outside = reftrack(
        &app,
        &[
            "link",
            "create",
            "@alice",
            "https://elsewhere.example/",
            "--campaign",
            "Spring",
        ],
    )
    .await;
    app.click("alice-spring", BROWSER).await;
    let list = reftrack(&app, &["campaign", "list"]).await;
    let list_json = reftrack(&app, &["campaign", "list", "--json"]).await;
    let show = reftrack(&app, &["campaign", "show", "Spring"]).await;
    let compare = reftrack(&app, &["--json", "campaign", "compare", "Spring", "Autumn"]).await;
    let compare_text = reftrack(&app, &["campaign", "compare", "Spring", "Autumn"]).await;
    let unknown = reftrack(&app, &["campaign", "show", "Winter"]).await;

    // Assert
    let spring_id = spring.stdout.trim();
    assert!(
        spring_id.starts_with("cmp_"),
        "{}{}",
        spring.stdout,
        spring.stderr
    );
    assert_eq!(autumn.json()["name"], "Autumn");
    assert!(link.success, "{}", link.stderr);
    assert!(!outside.success);
    assert!(
        outside.stderr.contains("elsewhere.example"),
        "{}",
        outside.stderr
    );
    assert!(
        list.stdout.contains("Spring") && list.stdout.contains("Autumn"),
        "{}",
        list.stdout
    );
    assert_eq!(list_json.json()["campaigns"].as_array().unwrap().len(), 2);
    assert!(
        show.stdout.contains(spring_id) && show.stdout.contains("bots"),
        "{}",
        show.stdout
    );
    let compared = compare.json();
    assert_eq!(compared["campaigns"][0]["campaign"]["id"], spring_id);
    assert_eq!(compared["campaigns"][1]["campaign"]["name"], "Autumn");
    assert!(compared["campaigns"][0]["totals"]["clicks"].is_number());
    assert!(compare_text.stdout.contains("Spring") && compare_text.stdout.contains("Autumn"));
    assert!(!unknown.success);
    assert!(
        unknown.stderr.contains("no campaign named 'Winter'"),
        "{}",
        unknown.stderr
    );
}

/// An influencer `@bea.bakes` with links `bea1` and `bea2`; returns her id.
async fn bea(app: &TestApp) -> String {
    let id = reftrack(app, &["influencer", "add", "@bea.bakes"])
        .await
        .stdout
        .trim()
        .to_owned();
    let by_handle = reftrack(
        app,
        &[
            "link",
            "create",
            "@Bea.Bakes",
            "https://shop.example/1",
            "--code",
            "bea1",
        ],
    )
    .await;
    assert!(by_handle.success, "{}", by_handle.stderr);
    let by_id = reftrack(
        app,
        &[
            "link",
            "create",
            &id,
            "https://shop.example/2",
            "--code",
            "bea2",
        ],
    )
    .await;
    assert!(by_id.success, "{}", by_id.stderr);
    id
}

#[tokio::test]
async fn links_are_listed_edited_disabled_and_enabled_by_handle() {
    // Arrange
    let app = spawn_app().await;
    bea(&app).await;

    // Act
    let listed = reftrack(&app, &["link", "list", "--influencer", "@bea.bakes"]).await;
    let edited = reftrack(
        &app,
        &[
            "--json",
            "link",
            "edit",
            "bea1",
            "--destination",
            "https://shop.example/new",
        ],
    )
    .await;
    let disabled = reftrack(&app, &["link", "disable", "bea2", "--json"]).await;
    let live = reftrack(&app, &["--json", "link", "list", "--live"]).await;
    let shown = reftrack(&app, &["link", "show", "bea2"]).await;
    let enabled = reftrack(&app, &["--json", "link", "edit", "bea2", "--enable"]).await;
    let nothing = reftrack(&app, &["link", "edit", "bea2"]).await;

    // Assert
    assert!(
        listed.stdout.contains("bea1") && listed.stdout.contains("bea2"),
        "{}",
        listed.stdout
    );
    assert_eq!(edited.json()["destination"], "https://shop.example/new");
    assert_eq!(disabled.json()["disabled"], true);
    let live = live.json();
    let live_codes: Vec<&str> = live["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap())
        .collect();
    assert_eq!(live_codes, ["bea1"]);
    assert!(shown.stdout.contains("true"), "{}", shown.stdout);
    assert_eq!(enabled.json()["disabled"], false);
    assert!(!nothing.success);
    assert!(
        nothing.stderr.contains("--destination"),
        "{}",
        nothing.stderr
    );
}

#[tokio::test]
async fn coupons_and_costs_are_listed_and_removed_by_handle() {
    // Arrange
    let app = spawn_app().await;
    let id = bea(&app).await;

    // Act: coupons
    let added = reftrack(&app, &["coupon", "add", "@bea.bakes", "BEA10"]).await;
    let coupons = reftrack(&app, &["--json", "coupon", "list", "@bea.bakes"]).await;
    let removed = reftrack(&app, &["coupon", "remove", "bea.bakes", "bea10"]).await;
    let after_removal = reftrack(&app, &["coupon", "list", &id]).await;
    let remove_again = reftrack(&app, &["coupon", "remove", "@bea.bakes", "BEA10"]).await;
    // costs
    let cost = reftrack(
        &app,
        &[
            "--json",
            "cost",
            "add",
            "@bea.bakes",
            "25.00",
            "USD",
            "--kind",
            "shipping",
            "--date",
            "2026-03-01",
            "--note",
            "box",
        ],
    )
    .await;
    let costs = reftrack(&app, &["cost", "list", "@bea.bakes"]).await;
    let cost_id = cost.json()["id"].as_str().unwrap().to_owned();
    let deleted = reftrack(&app, &["cost", "delete", "@bea.bakes", &cost_id]).await;
    let costs_after = reftrack(&app, &["--json", "cost", "list", "@bea.bakes"]).await;
    let nobody = reftrack(&app, &["cost", "list", "@nobody"]).await;

    // Assert
    assert!(
        added.stdout.contains("bea10"),
        "{}{}",
        added.stdout,
        added.stderr
    );
    assert_eq!(coupons.json()["coupons"], serde_json::json!(["bea10"]));
    assert!(removed.success, "{}", removed.stderr);
    assert_eq!(after_removal.stdout.trim(), "(none)");
    assert!(!remove_again.success);
    assert!(
        remove_again.stderr.contains("has no coupon 'bea10'"),
        "{}",
        remove_again.stderr
    );
    for cell in ["25.00", "shipping", "box", "2026-03-01"] {
        assert!(costs.stdout.contains(cell), "{cell}: {}", costs.stdout);
    }
    assert!(deleted.stdout.contains(&cost_id), "{}", deleted.stdout);
    assert_eq!(costs_after.json()["costs"], serde_json::json!([]));
    assert!(!nobody.success);
    assert!(
        nobody
            .stderr
            .contains("no influencer with the handle @nobody"),
        "{}",
        nobody.stderr
    );
}

#[tokio::test]
async fn orders_influencers_and_the_report_show_attribution_and_bot_clicks() {
    // Arrange: a browser click, a curl click (a bot), and an order by coupon
    let app = spawn_app().await;
    let id = reftrack(&app, &["influencer", "add", "@cara", "--percent", "10"])
        .await
        .stdout
        .trim()
        .to_owned();
    reftrack(
        &app,
        &[
            "link",
            "create",
            "@cara",
            "https://shop.example/",
            "--code",
            "cara",
        ],
    )
    .await;
    reftrack(&app, &["coupon", "add", "@cara", "CARA5"]).await;
    app.click("cara", BROWSER).await;
    app.click("cara", "curl/8.5.0").await;
    app.wait_for_clicks(&id, 1).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.influencer_row(&id).await["bot_clicks"] != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the bot click was never counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let order = serde_json::json!({"event": "order.created", "order_id": "C-1", "amount": "50.00",
                                   "currency": "USD", "coupon": "cara5"});
    assert_eq!(app.generic(&order).await.status().as_u16(), 200);

    // Act
    let orders = reftrack(&app, &["order", "list"]).await;
    let orders_json = reftrack(&app, &["--json", "order", "list", "--influencer", "@cara"]).await;
    let unattributed = reftrack(
        &app,
        &["--json", "order", "list", "--influencer", "unattributed"],
    )
    .await;
    let report = reftrack(&app, &["report"]).await;
    let report_json = reftrack(&app, &["report", "--json"]).await;
    let both = reftrack(&app, &["report", "--json", "--csv"]).await;
    let shown = reftrack(&app, &["--json", "influencer", "show", "@cara"]).await;
    let disabled = reftrack(&app, &["influencer", "disable", "@cara"]).await;
    let active = reftrack(&app, &["--json", "influencer", "list", "--active"]).await;

    // Assert
    assert!(
        orders.stdout.contains("generic:C-1") && orders.stdout.contains("coupon"),
        "{}",
        orders.stdout
    );
    assert_eq!(
        orders_json.json()["orders"][0]["attribution"]["coupon"],
        "cara5"
    );
    assert_eq!(unattributed.json()["orders"], serde_json::json!([]));
    let header = report
        .stdout
        .lines()
        .find(|l| l.contains("influencer"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        header.contains("bots") && header.contains("susp."),
        "{}",
        report.stdout
    );
    assert!(
        report.stdout.contains("bots (crawlers, curl"),
        "{}",
        report.stdout
    );
    let row = &report_json.json()["rows"][0];
    assert_eq!(row["clicks"], 1);
    assert_eq!(row["bot_clicks"], 1, "{row}");
    assert!(!both.success);
    assert!(both.stderr.contains("choose one"), "{}", both.stderr);
    assert_eq!(shown.json()["id"], id.as_str());
    assert!(
        disabled.stdout.contains("disabled @cara"),
        "{}",
        disabled.stdout
    );
    assert_eq!(active.json()["influencers"], serde_json::json!([]));
}

#[tokio::test]
async fn the_cli_finds_the_token_in_reftrack_admin_token_or_the_data_directory() {
    // Arrange
    let app = spawn_app().await;
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("admin_token"), format!("{TOKEN}\n")).unwrap();
    let data_dir = data.path().to_str().unwrap();

    // Act
    let server_variable = run(
        &app.address,
        &[("REFTRACK_ADMIN__TOKEN", TOKEN)],
        &["influencer", "list"],
    )
    .await;
    let token_file = run(
        &app.address,
        &[("REFTRACK_REDIS__DATA_DIR", data_dir)],
        &["influencer", "list"],
    )
    .await;
    let flag = run(
        &app.address,
        &[],
        &["influencer", "list", "--data-dir", data_dir],
    )
    .await;
    let none = run(&app.address, &[], &["influencer", "list"]).await;

    // Assert
    assert!(server_variable.success, "{}", server_variable.stderr);
    assert!(token_file.success, "{}", token_file.stderr);
    assert!(flag.success, "{}", flag.stderr);
    assert!(!none.success);
    assert!(
        none.stderr.contains("REFTRACK_ADMIN__TOKEN"),
        "{}",
        none.stderr
    );
}

#[tokio::test]
async fn a_url_that_is_not_reftrack_is_named_in_a_clear_message() {
    // Arrange: a web server that answers 404 with a page, as a wrong --url would
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0_u8; 4096];
            let _ = socket.read(&mut request).await;
            let page = "<html>Not Found</html>";
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });

    // Act
    let wrong = run(
        &address,
        &[("REFTRACK_TOKEN", TOKEN)],
        &["influencer", "list"],
    )
    .await;

    // Assert
    assert!(!wrong.success);
    assert!(wrong.stderr.contains(&address), "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("answered 404") && wrong.stderr.contains("--url"),
        "{}",
        wrong.stderr
    );
}

#[tokio::test]
async fn bash_completions_cover_the_commands() {
    // Act
    let script = run("http://127.0.0.1:1", &[], &["completions", "bash"]).await;

    // Assert
    assert!(script.success, "{}", script.stderr);
    for word in ["_reftrack", "complete", "campaign", "coupon", "--json"] {
        assert!(script.stdout.contains(word), "{word}");
    }
}

/// The nouns every shell's completions must offer.
const NOUNS: [&str; 7] = [
    "influencer",
    "link",
    "coupon",
    "cost",
    "campaign",
    "order",
    "report",
];

/// `reftrack completions <shell>`, checked to have run and to name every noun.
async fn completions(shell: &str) -> String {
    let script = run("http://127.0.0.1:1", &[], &["completions", shell]).await;
    assert!(script.success, "{}", script.stderr);
    assert!(!script.stdout.trim().is_empty(), "{shell}: no script");
    for noun in NOUNS {
        assert!(script.stdout.contains(noun), "{shell}: {noun} missing");
    }
    script.stdout
}

/// Whether `shell` parses `script` without running it (`check` is its no-execute flag), or
/// `None` where the shell is not installed. CI installs zsh and fish and sets
/// REFTRACK_REQUIRE_SHELLS=1, so the check cannot be skipped there.
fn parses(shell: &str, check: &str, script: &str) -> Option<Result<(), String>> {
    let installed = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {shell}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        assert!(
            std::env::var_os("REFTRACK_REQUIRE_SHELLS").is_none(),
            "{shell} is required (REFTRACK_REQUIRE_SHELLS) but not installed"
        );
        eprintln!("{shell} is not installed: its completions were checked for content only");
        return None;
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), script).unwrap();
    let output = std::process::Command::new(shell)
        .arg(check)
        .arg(file.path())
        .output()
        .unwrap();
    Some(if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    })
}

/// The zsh script names every noun and, where zsh is installed, `zsh -n` parses it. Where zsh
/// is missing only the content is checked, and the test says so on its standard error (in CI,
/// which installs zsh and sets REFTRACK_REQUIRE_SHELLS, a missing zsh fails it).
#[tokio::test]
async fn zsh_completions_name_every_command_and_parse() {
    // Act
    let script = completions("zsh").await;

    // Assert
    assert!(script.starts_with("#compdef reftrack"), "{script}");
    assert!(script.contains("'--json["), "{script}");
    if let Some(parsed) = parses("zsh", "-n", &script) {
        parsed.unwrap_or_else(|e| panic!("zsh -n: {e}"));
    }
}

/// The fish script names every noun and, where fish is installed, `fish --no-execute` parses
/// it. Where fish is missing only the content is checked, and the test says so on its
/// standard error (in CI, which installs fish and sets REFTRACK_REQUIRE_SHELLS, a missing fish
/// fails it).
#[tokio::test]
async fn fish_completions_name_every_command_and_parse() {
    // Act
    let script = completions("fish").await;

    // Assert
    assert!(script.contains("complete -c reftrack"), "{script}");
    assert!(script.contains("-l json"), "{script}");
    for noun in NOUNS {
        assert!(
            script.contains(&format!("-a \"{noun}\"")),
            "{noun}: {script}"
        );
    }
    if let Some(parsed) = parses("fish", "--no-execute", &script) {
        parsed.unwrap_or_else(|e| panic!("fish --no-execute: {e}"));
    }
}

/// A reader that stops early (`reftrack completions zsh | head`) closes the pipe: the command
/// ends without a panic.
#[tokio::test]
async fn completions_into_a_closed_pipe_end_without_a_panic() {
    // Arrange
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_reftrack"))
        .args(["completions", "zsh"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // Act: the reader goes away before the script is written
    drop(child.stdout.take());
    let output = child.wait_with_output().await.unwrap();

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn serve_refuses_the_admin_commands_data_dir_flag_instead_of_ignoring_it() {
    // Act
    let refused = run(
        "http://127.0.0.1:1",
        &[],
        &["serve", "--data-dir", "/tmp/x"],
    )
    .await;

    // Assert
    assert!(!refused.success);
    assert!(
        refused.stderr.contains("REFTRACK_REDIS__DATA_DIR"),
        "{}",
        refused.stderr
    );
}
