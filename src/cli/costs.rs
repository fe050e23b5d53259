//! `reftrack cost`: what an influencer cost besides commission (fees, gifted products,
//! shipping).

use serde_json::{Value, json};

use super::client::{ApiClient, CliError, encode};
use super::lookup;
use super::output::{Answer, align_figures, table, text};

#[derive(Debug, clap::Subcommand)]
pub enum CostCommand {
    /// Record a cost.
    Add {
        /// The influencer's id (inf_...) or handle (@alice.bakes).
        influencer: String,
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
        /// A note for people, e.g. the invoice number.
        #[arg(long)]
        note: Option<String>,
        /// The campaign the cost belongs to: its id (cmp_...) or name.
        #[arg(long)]
        campaign: Option<String>,
    },
    /// List an influencer's costs, by date.
    List {
        /// The influencer's id (inf_...) or handle (@alice.bakes).
        influencer: String,
    },
    /// Delete a cost recorded by mistake.
    Delete {
        /// The influencer's id (inf_...) or handle (@alice.bakes).
        influencer: String,
        /// The cost's id (cost_..., see `reftrack cost list`).
        cost_id: String,
    },
}

fn listing(costs: &[Value]) -> String {
    if costs.is_empty() {
        return "(none)".to_owned();
    }
    let mut t = table(&[
        "id", "date", "kind", "campaign", "note", "amount", "currency",
    ]);
    for c in costs {
        t.add_row(
            [
                "id",
                "date",
                "kind",
                "campaign_id",
                "note",
                "amount",
                "currency",
            ]
            .map(|f| text(&c[f])),
        );
    }
    align_figures(&mut t, 5);
    t.to_string()
}

pub async fn run(api: &ApiClient, command: CostCommand) -> Result<Answer, CliError> {
    match command {
        CostCommand::Add {
            influencer,
            amount,
            currency,
            kind,
            date,
            note,
            campaign,
        } => {
            let date = date.unwrap_or_else(|| chrono::Utc::now().date_naive().to_string());
            let mut body =
                json!({"amount": amount, "currency": currency, "kind": kind, "date": date});
            if let Some(note) = note {
                body["note"] = note.into();
            }
            if let Some(campaign) = campaign {
                body["campaign_id"] = lookup::campaign(api, &campaign).await?.into();
            }
            let path = lookup::influencer_path(api, &influencer, "/costs").await?;
            let added = api.post(&path, &body).await?;
            let text = format!(
                "{}: {} {} ({}) on {}",
                text(&added["id"]),
                text(&added["amount"]),
                text(&added["currency"]),
                text(&added["kind"]),
                text(&added["date"])
            );
            Ok(Answer::new(added, text))
        }
        CostCommand::List { influencer } => {
            let path = lookup::influencer_path(api, &influencer, "/costs").await?;
            let costs = api.all(&path, "costs").await?;
            let text = listing(&costs);
            Ok(Answer::new(json!({"costs": costs}), text))
        }
        CostCommand::Delete {
            influencer,
            cost_id,
        } => {
            let path = lookup::influencer_path(api, &influencer, "/costs/").await?;
            api.delete(&format!("{path}{}", encode(&cost_id))).await?;
            Ok(Answer::new(
                json!({"deleted": cost_id}),
                format!("deleted {cost_id}"),
            ))
        }
    }
}
