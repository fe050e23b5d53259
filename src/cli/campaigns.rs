//! `reftrack campaign`: create, list, show and compare campaigns.

use serde_json::{Value, json};

use super::client::{ApiClient, CliError, encode};
use super::lookup;
use super::output::{Answer, align_figures, list_table, percent, table, text};

#[derive(Debug, clap::Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign; prints its id.
    Create {
        /// Its name, e.g. "Spring sale".
        name: String,
        /// The currency its report is in (ISO 4217, e.g. USD).
        currency: String,
        /// Days after a click that an order still counts for the link (default: the
        /// server's clicks.attribution_window_days).
        #[arg(long)]
        window_days: Option<u32>,
        /// A domain its links may point to (repeat for several; none: any).
        #[arg(long = "allow-domain")]
        allowed_domains: Vec<String>,
    },
    /// List campaigns.
    List,
    /// Show one campaign and its figures.
    Show {
        /// The campaign's id (cmp_...) or name.
        campaign: String,
        #[command(flatten)]
        period: Period,
    },
    /// Compare campaigns' figures side by side.
    Compare {
        /// Two or more campaigns: ids (cmp_...) or names.
        #[arg(required = true, num_args = 2..)]
        campaigns: Vec<String>,
        #[command(flatten)]
        period: Period,
    },
}

/// The days a campaign's figures cover.
#[derive(Debug, clap::Args)]
pub struct Period {
    /// First day, YYYY-MM-DD (default: 30 days before --to).
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today).
    #[arg(long)]
    to: Option<String>,
}

const COLUMNS: [(&str, &str); 5] = [
    ("id", "id"),
    ("name", "name"),
    ("currency", "currency"),
    ("window days", "attribution_window_days"),
    ("created", "created_at"),
];

/// Figures compared, as (title, field of the report's totals).
const FIGURES: [(&str, &str); 11] = [
    ("clicks", "clicks"),
    ("bots", "bot_clicks"),
    ("suspicious", "suspicious_clicks"),
    ("orders", "orders"),
    ("revenue", "net_revenue"),
    ("commission", "commission"),
    ("costs", "costs"),
    ("profit", "profit"),
    ("ROI %", "roi"),
    ("EPC", "epc"),
    ("currency", "currency"),
];

/// A campaign's record and its report's totals over the period.
async fn figures(api: &ApiClient, raw: &str, period: &Period) -> Result<Value, CliError> {
    let id = lookup::campaign(api, raw).await?;
    let campaign = api
        .get(&format!("/api/v1/campaigns/{}", encode(&id)))
        .await?;
    let mut query = vec![format!("campaign_id={}", encode(&id))];
    for (key, value) in [("from", &period.from), ("to", &period.to)] {
        if let Some(value) = value {
            query.push(format!("{key}={}", encode(value)));
        }
    }
    let query = query.join("&");
    let report = api
        .get(&format!("/api/v1/reports/influencers?{query}"))
        .await?;
    Ok(
        json!({"campaign": campaign, "from": report["from"], "to": report["to"],
              "totals": report["totals"]}),
    )
}

fn comparison(rows: &[Value]) -> String {
    let mut header = vec!["campaign"];
    header.extend(FIGURES.map(|(title, _)| title));
    let mut t = table(&header);
    for row in rows {
        let totals = &row["totals"];
        let mut cells = vec![text(&row["campaign"]["name"])];
        cells.extend(FIGURES.map(|(_, field)| match field {
            "roi" => percent(&totals[field]),
            _ => text(&totals[field]),
        }));
        t.add_row(cells);
    }
    align_figures(&mut t, 1);
    let period = rows
        .first()
        .map(|r| format!("{} to {}\n", text(&r["from"]), text(&r["to"])))
        .unwrap_or_default();
    format!("{period}{t}")
}

pub async fn run(api: &ApiClient, command: CampaignCommand) -> Result<Answer, CliError> {
    match command {
        CampaignCommand::Create {
            name,
            currency,
            window_days,
            allowed_domains,
        } => {
            let mut body = json!({"name": name, "currency": currency,
                                  "allowed_domains": allowed_domains});
            if let Some(days) = window_days {
                body["attribution_window_days"] = days.into();
            }
            let created = api.post("/api/v1/campaigns", &body).await?;
            let id = text(&created["id"]);
            Ok(Answer::new(created, id))
        }
        CampaignCommand::List => {
            let all = api.all("/api/v1/campaigns", "campaigns").await?;
            let text = list_table(&all, &COLUMNS);
            Ok(Answer::new(json!({"campaigns": all}), text))
        }
        CampaignCommand::Show { campaign, period } => {
            let shown = figures(api, &campaign, &period).await?;
            let text = format!(
                "{}\n{}",
                list_table(std::slice::from_ref(&shown["campaign"]), &COLUMNS),
                comparison(std::slice::from_ref(&shown))
            );
            Ok(Answer::new(shown, text))
        }
        CampaignCommand::Compare { campaigns, period } => {
            let mut rows = Vec::with_capacity(campaigns.len());
            for campaign in &campaigns {
                rows.push(figures(api, campaign, &period).await?);
            }
            let text = comparison(&rows);
            Ok(Answer::new(json!({"campaigns": rows}), text))
        }
    }
}
