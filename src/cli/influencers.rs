//! `reftrack influencer`: add, list, show and disable influencers.

use serde_json::{Value, json};

use super::client::{ApiClient, CliError};
use super::lookup;
use super::output::{Answer, table, text};

#[derive(Debug, clap::Subcommand)]
pub enum InfluencerCommand {
    /// Register an influencer; prints their id.
    Add {
        /// Their handle, e.g. @alice.bakes.
        handle: String,
        /// Their display name.
        #[arg(long)]
        name: Option<String>,
        /// Where they publish, e.g. instagram or youtube.
        #[arg(long)]
        platform: Option<String>,
        /// How many followers they have.
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
    List {
        /// Only disabled influencers.
        #[arg(long, conflicts_with = "active")]
        disabled: bool,
        /// Only active influencers.
        #[arg(long)]
        active: bool,
    },
    /// Show one influencer.
    Show {
        /// The influencer's id (inf_...) or handle (@alice.bakes).
        influencer: String,
    },
    /// Disable an influencer: their links stop redirecting; their history stays in reports.
    Disable {
        /// The influencer's id (inf_...) or handle (@alice.bakes).
        influencer: String,
    },
}

fn commission(i: &Value) -> String {
    match &i["commission"] {
        Value::Object(c) if c.contains_key("percent") => format!("{}%", text(&c["percent"])),
        Value::Object(c) => format!("{} per order", text(&c["flat"])),
        _ => "-".to_owned(),
    }
}

fn listing(items: &[Value]) -> String {
    if items.is_empty() {
        return "(none)".to_owned();
    }
    let mut t = table(&["id", "handle", "name", "commission", "disabled"]);
    for i in items {
        t.add_row(vec![
            text(&i["id"]),
            text(&i["handle"]),
            text(&i["name"]),
            commission(i),
            text(&i["disabled"]),
        ]);
    }
    t.to_string()
}

pub async fn run(api: &ApiClient, command: InfluencerCommand) -> Result<Answer, CliError> {
    match command {
        InfluencerCommand::Add {
            handle,
            name,
            platform,
            followers,
            percent,
            flat,
        } => {
            let mut body = json!({"handle": handle, "name": name, "platform": platform, "followers": followers});
            match (percent, flat) {
                (Some(percent), _) => body["commission"] = json!({"percent": percent}),
                (None, Some(flat)) => body["commission"] = json!({"flat": flat}),
                (None, None) => {}
            }
            let created = api.post("/api/v1/influencers", &body).await?;
            let id = text(&created["id"]);
            Ok(Answer::new(created, id))
        }
        InfluencerCommand::List { disabled, active } => {
            let filter = match (disabled, active) {
                (true, _) => "?disabled=true",
                (_, true) => "?disabled=false",
                _ => "",
            };
            let all = api
                .all(&format!("/api/v1/influencers{filter}"), "influencers")
                .await?;
            let text = listing(&all);
            Ok(Answer::new(json!({"influencers": all}), text))
        }
        InfluencerCommand::Show { influencer } => {
            let shown = api
                .get(&lookup::influencer_path(api, &influencer, "").await?)
                .await?;
            let text = listing(std::slice::from_ref(&shown));
            Ok(Answer::new(shown, text))
        }
        InfluencerCommand::Disable { influencer } => {
            let path = lookup::influencer_path(api, &influencer, "").await?;
            let disabled = api.delete(&path).await?;
            let text = format!(
                "disabled @{} ({}): their links no longer redirect",
                text(&disabled["handle"]),
                text(&disabled["id"])
            );
            Ok(Answer::new(disabled, text))
        }
    }
}
