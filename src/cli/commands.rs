//! The admin commands: each builds one API request and prints the answer for people.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use serde_json::{Value, json};

use super::client::{ApiClient, CliError};

#[derive(Debug, clap::Subcommand)]
pub enum InfluencerCommand {
    /// Register an influencer; prints their id.
    Add {
        /// Their handle, e.g. @alice.bakes.
        handle: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        platform: Option<String>,
        #[arg(long)]
        followers: Option<u64>,
        /// Commission as a percent of revenue, e.g. 10 or 12.5.
        #[arg(long, conflicts_with = "flat")]
        percent: Option<String>,
        /// Commission as a flat amount per order, e.g. 5.00.
        #[arg(long)]
        flat: Option<String>,
    },
    /// List influencers.
    List,
}

#[derive(Debug, clap::Subcommand)]
pub enum LinkCommand {
    /// Create a referral link; prints its short URL.
    Create {
        influencer_id: String,
        /// Where followers land (http or https).
        destination: String,
        /// A custom code instead of a generated one.
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        campaign: Option<String>,
    },
    /// List an influencer's links.
    List { influencer_id: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum CouponCommand {
    /// Give a discount code to an influencer (matched case-insensitively).
    Add { influencer_id: String, code: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum OrderCommand {
    /// Move an order to another influencer, or to `unattributed`; its figures move with it.
    Reattribute {
        /// The order's key, as the order list shows it (e.g. shopify:1001).
        order_key: String,
        /// An influencer id, or `unattributed`.
        influencer: String,
        /// Why, kept in the order's history.
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum CostCommand {
    /// Record a cost.
    Add {
        influencer_id: String,
        /// Decimal amount, e.g. 150.00.
        amount: String,
        /// ISO 4217 currency, e.g. USD.
        currency: String,
        /// fee, gifted_product, shipping or other.
        #[arg(long, default_value = "fee")]
        kind: String,
        /// The day it was spent, YYYY-MM-DD (default today, UTC).
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        campaign: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// First day, YYYY-MM-DD (default: 30 days before --to).
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today).
    #[arg(long)]
    to: Option<String>,
    /// Only this campaign's links, orders and costs (a campaign id, cmp_...).
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

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    table
}

fn rows(body: &Value, field: &str) -> Vec<Value> {
    body[field].as_array().cloned().unwrap_or_default()
}

pub async fn influencer(api: &ApiClient, command: InfluencerCommand) -> Result<(), CliError> {
    match command {
        InfluencerCommand::Add {
            handle,
            name,
            platform,
            followers,
            percent,
            flat,
        } => {
            let commission = match (percent, flat) {
                (Some(percent), _) => json!({"percent": percent}),
                (None, Some(flat)) => json!({"flat": flat}),
                (None, None) => Value::Null,
            };
            let mut body = json!({"handle": handle, "name": name, "platform": platform, "followers": followers});
            if !commission.is_null() {
                body["commission"] = commission;
            }
            let created = api.post("/api/v1/influencers", &body).await?;
            println!("{}", text(&created["id"]));
        }
        InfluencerCommand::List => {
            let list = api.get("/api/v1/influencers").await?;
            let mut t = table(&["id", "handle", "name", "commission", "disabled"]);
            for i in rows(&list, "influencers") {
                let commission = match &i["commission"] {
                    Value::Object(c) if c.contains_key("percent") => {
                        format!("{}%", text(&c["percent"]))
                    }
                    Value::Object(c) => format!("{} per order", text(&c["flat"])),
                    _ => "-".to_owned(),
                };
                t.add_row(vec![
                    text(&i["id"]),
                    text(&i["handle"]),
                    text(&i["name"]),
                    commission,
                    text(&i["disabled"]),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(())
}

pub async fn link(api: &ApiClient, command: LinkCommand) -> Result<(), CliError> {
    match command {
        LinkCommand::Create {
            influencer_id,
            destination,
            code,
            campaign,
        } => {
            let mut body = json!({"influencer_id": influencer_id, "destination": destination});
            if let Some(code) = code {
                body["code"] = code.into();
            }
            if let Some(campaign) = campaign {
                body["campaign_id"] = campaign.into();
            }
            let created = api.post("/api/v1/links", &body).await?;
            println!("{}", text(&created["short_url"]));
        }
        LinkCommand::List { influencer_id } => {
            let list = api
                .get(&format!(
                    "/api/v1/links?influencer_id={}",
                    encode(&influencer_id)
                ))
                .await?;
            let mut t = table(&["code", "short_url", "destination", "disabled"]);
            for l in rows(&list, "links") {
                t.add_row(vec![
                    text(&l["code"]),
                    text(&l["short_url"]),
                    text(&l["destination"]),
                    text(&l["disabled"]),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(())
}

pub async fn coupon(api: &ApiClient, command: CouponCommand) -> Result<(), CliError> {
    let CouponCommand::Add {
        influencer_id,
        code,
    } = command;
    let added = api
        .post(
            &format!("/api/v1/influencers/{}/coupons", encode(&influencer_id)),
            &json!({"code": code}),
        )
        .await?;
    println!(
        "{} belongs to {}",
        text(&added["code"]),
        text(&added["influencer_id"])
    );
    Ok(())
}

pub async fn order(api: &ApiClient, command: OrderCommand) -> Result<(), CliError> {
    let OrderCommand::Reattribute {
        order_key,
        influencer,
        note,
    } = command;
    let to = (influencer != "unattributed").then_some(influencer);
    let order = api
        .put(
            &format!("/api/v1/orders/{}/attribution", encode(&order_key)),
            &json!({"influencer_id": to, "note": note}),
        )
        .await?;
    let attribution = &order["attribution"];
    let owner = match &attribution["influencer_id"] {
        Value::Null => "unattributed".to_owned(),
        id => text(id),
    };
    println!(
        "{} now belongs to {owner} (commission {} {})",
        text(&order["order_key"]),
        text(&order["commission"]),
        text(&order["currency"])
    );
    Ok(())
}

pub async fn cost(api: &ApiClient, command: CostCommand) -> Result<(), CliError> {
    let CostCommand::Add {
        influencer_id,
        amount,
        currency,
        kind,
        date,
        note,
        campaign,
    } = command;
    let date = date.unwrap_or_else(|| chrono::Utc::now().date_naive().to_string());
    let mut body = json!({"amount": amount, "currency": currency, "kind": kind, "date": date});
    if let Some(note) = note {
        body["note"] = note.into();
    }
    if let Some(campaign) = campaign {
        body["campaign_id"] = campaign.into();
    }
    let added = api
        .post(
            &format!("/api/v1/influencers/{}/costs", encode(&influencer_id)),
            &body,
        )
        .await?;
    println!(
        "{}: {} {} ({}) on {}",
        text(&added["id"]),
        text(&added["amount"]),
        text(&added["currency"]),
        text(&added["kind"]),
        text(&added["date"])
    );
    Ok(())
}

/// Columns of the report table, from the report's JSON row, right-aligned but the handle.
const REPORT_COLUMNS: [(&str, &str); 13] = [
    ("influencer", "handle"),
    ("clicks", "clicks"),
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

pub async fn report(api: &ApiClient, args: ReportArgs) -> Result<(), CliError> {
    let mut query = vec![("sort", "roi".to_owned())];
    query.extend(args.from.map(|v| ("from", v)));
    query.extend(args.to.map(|v| ("to", v)));
    query.extend(args.campaign.map(|v| ("campaign_id", v)));
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
        print!("{}", api.get_text(&path).await?);
        return Ok(());
    }
    let report = api.get(&path).await?;
    let mut t = table(&REPORT_COLUMNS.map(|(title, _)| title));
    let cell = |row: &Value, field: &str| match field {
        "handle" if row["handle"].is_null() => "(unattributed)".to_owned(),
        "conversion_rate" | "roi" | "suspicious_share" => row[field]
            .as_f64()
            .map_or_else(|| "-".to_owned(), |r| format!("{:.1}", r * 100.0)),
        _ => text(&row[field]),
    };
    for row in rows(&report, "rows") {
        t.add_row(REPORT_COLUMNS.map(|(_, field)| cell(&row, field)));
    }
    let mut totals = report["totals"].clone();
    totals["handle"] = "total".into();
    t.add_row(REPORT_COLUMNS.map(|(_, field)| cell(&totals, field)));
    for column in t.column_iter_mut().skip(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    println!(
        "{} to {} ({}), best return first",
        text(&report["from"]),
        text(&report["to"]),
        text(&report["time_zone"])
    );
    println!("{t}");
    for other in rows(&report, "other_currencies") {
        println!(
            "also {} orders in {}: revenue {}, commission {}, costs {} (not converted)",
            text(&other["orders"]),
            text(&other["currency"]),
            text(&other["revenue"]),
            text(&other["commission"]),
            text(&other["costs"])
        );
    }
    Ok(())
}

/// Percent-encodes a path segment or query value.
fn encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}
