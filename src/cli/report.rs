//! `reftrack report`: the ROI report, best return first, with bot and suspicious clicks
//! beside the human ones.

use serde_json::Value;

use super::client::{ApiClient, CliError, encode};
use super::lookup;
use super::output::{Answer, align_figures, percent, table, text};

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// First day, YYYY-MM-DD (default: 30 days before --to).
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today).
    #[arg(long)]
    to: Option<String>,
    /// Only this campaign's links, orders and costs: its id (cmp_...) or name.
    #[arg(long)]
    campaign: Option<String>,
    /// Report money in this currency (default: the campaign's, else the server's
    /// reports.currency).
    #[arg(long)]
    currency: Option<String>,
    /// Print CSV instead of a table.
    #[arg(long)]
    csv: bool,
}

/// Columns of the report table, from the report's JSON row, right-aligned but the handle.
const COLUMNS: [(&str, &str); 15] = [
    ("influencer", "handle"),
    ("clicks", "clicks"),
    ("bots", "bot_clicks"),
    ("susp.", "suspicious_clicks"),
    ("susp. %", "suspicious_share"),
    ("orders", "orders"),
    ("conv %", "conversion_rate"),
    ("revenue", "revenue"),
    ("refunds", "refunds"),
    ("commission", "commission"),
    ("costs", "costs"),
    ("profit", "profit"),
    ("ROI %", "roi"),
    ("EPC", "epc"),
    ("currency", "currency"),
];

fn cell(row: &Value, field: &str) -> String {
    match field {
        "handle" if row["handle"].is_null() => "(unattributed)".to_owned(),
        "conversion_rate" | "roi" | "suspicious_share" => percent(&row[field]),
        _ => text(&row[field]),
    }
}

fn render(report: &Value) -> String {
    let mut t = table(&COLUMNS.map(|(title, _)| title));
    let rows = report["rows"].as_array().cloned().unwrap_or_default();
    for row in &rows {
        t.add_row(COLUMNS.map(|(_, field)| cell(row, field)));
    }
    let mut totals = report["totals"].clone();
    totals["handle"] = "total".into();
    t.add_row(COLUMNS.map(|(_, field)| cell(&totals, field)));
    align_figures(&mut t, 1);
    let mut out = format!(
        "{} to {} ({}), best return first\n{t}",
        text(&report["from"]),
        text(&report["to"]),
        text(&report["time_zone"])
    );
    for other in report["other_currencies"].as_array().into_iter().flatten() {
        out.push_str(
            &[
                "\nalso ",
                &text(&other["orders"]),
                " orders in ",
                &text(&other["currency"]),
                ": revenue ",
                &text(&other["revenue"]),
                ", commission ",
                &text(&other["commission"]),
                ", costs ",
                &text(&other["costs"]),
                " (not converted)",
            ]
            .concat(),
        );
    }
    out.push_str(
        "\nclicks are human clicks; bots (crawlers, curl, link previews) and suspicious clicks \
         are counted apart",
    );
    out
}

/// The report, as a table, JSON (`json`) or CSV (`--csv`, which prints CSV either way).
pub async fn run(api: &ApiClient, args: ReportArgs, json: bool) -> Result<Answer, CliError> {
    if args.csv && json {
        return Err(CliError::Usage(
            "--csv and --json ask for two formats; choose one".to_owned(),
        ));
    }
    let mut query = vec![("sort", "roi".to_owned())];
    query.extend(args.from.map(|v| ("from", v)));
    query.extend(args.to.map(|v| ("to", v)));
    if let Some(campaign) = args.campaign {
        query.push(("campaign_id", lookup::campaign(api, &campaign).await?));
    }
    query.extend(args.currency.map(|v| ("currency", v)));
    if args.csv {
        query.push(("format", "csv".to_owned()));
    }
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let path = format!("/api/v1/reports/influencers?{}", query.join("&"));
    if args.csv {
        let csv = api.get_text(&path).await?;
        return Ok(Answer::new(Value::Null, csv.trim_end().to_owned()));
    }
    let report = api.get(&path).await?;
    let text = render(&report);
    Ok(Answer::new(report, text))
}
