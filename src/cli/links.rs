//! `reftrack link`: create, list, show, edit and disable referral links.

use serde_json::{Value, json};

use super::client::{ApiClient, CliError, encode};
use super::lookup;
use super::output::{Answer, list_table, text};

#[derive(Debug, clap::Subcommand)]
pub enum LinkCommand {
    /// Create a referral link; prints its short URL.
    Create {
        /// The influencer's id (inf_...) or handle (@alice.bakes).
        influencer: String,
        /// Where followers land (http or https).
        destination: String,
        /// A custom code instead of a generated one.
        #[arg(long)]
        code: Option<String>,
        /// The campaign the link belongs to: its id (cmp_...) or name.
        #[arg(long)]
        campaign: Option<String>,
    },
    /// List links: all, or one influencer's or campaign's.
    List {
        /// Only this influencer's links: id (inf_...) or handle (@alice.bakes).
        #[arg(long)]
        influencer: Option<String>,
        /// Only this campaign's links: id (cmp_...) or name.
        #[arg(long)]
        campaign: Option<String>,
        /// Only disabled links.
        #[arg(long, conflicts_with = "live")]
        disabled: bool,
        /// Only links that redirect.
        #[arg(long)]
        live: bool,
    },
    /// Show one link.
    Show {
        /// The link's code (the part after the slash of its short URL).
        code: String,
    },
    /// Change a link's destination, or enable a disabled link again.
    Edit {
        /// The link's code (the part after the slash of its short URL).
        code: String,
        /// The new destination (http or https); the campaign's allowed domains apply.
        #[arg(long, required_unless_present = "enable")]
        destination: Option<String>,
        /// Make a disabled link redirect again.
        #[arg(long)]
        enable: bool,
    },
    /// Disable a link: it answers 404 from now on; its clicks stay in reports.
    Disable {
        /// The link's code (the part after the slash of its short URL).
        code: String,
    },
}

const COLUMNS: [(&str, &str); 6] = [
    ("code", "code"),
    ("short_url", "short_url"),
    ("destination", "destination"),
    ("influencer", "influencer_id"),
    ("campaign", "campaign_id"),
    ("disabled", "disabled"),
];

fn one(link: Value) -> Answer {
    let text = list_table(std::slice::from_ref(&link), &COLUMNS);
    Answer::new(link, text)
}

pub async fn run(api: &ApiClient, command: LinkCommand) -> Result<Answer, CliError> {
    match command {
        LinkCommand::Create {
            influencer,
            destination,
            code,
            campaign,
        } => {
            let id = lookup::influencer(api, &influencer).await?;
            let mut body = json!({"influencer_id": id, "destination": destination});
            if let Some(code) = code {
                body["code"] = code.into();
            }
            if let Some(campaign) = campaign {
                body["campaign_id"] = lookup::campaign(api, &campaign).await?.into();
            }
            let created = api.post("/api/v1/links", &body).await?;
            let short_url = text(&created["short_url"]);
            Ok(Answer::new(created, short_url))
        }
        LinkCommand::List {
            influencer,
            campaign,
            disabled,
            live,
        } => {
            let mut query = Vec::new();
            if let Some(influencer) = influencer {
                let id = lookup::influencer(api, &influencer).await?;
                query.push(format!("influencer_id={}", encode(&id)));
            }
            if let Some(campaign) = campaign {
                let id = lookup::campaign(api, &campaign).await?;
                query.push(format!("campaign_id={}", encode(&id)));
            }
            if disabled || live {
                query.push(format!("disabled={disabled}"));
            }
            let path = format!("/api/v1/links?{}", query.join("&"));
            let all = api.all(&path, "links").await?;
            let text = list_table(&all, &COLUMNS);
            Ok(Answer::new(json!({"links": all}), text))
        }
        LinkCommand::Show { code } => Ok(one(api
            .get(&format!("/api/v1/links/{}", encode(&code)))
            .await?)),
        LinkCommand::Edit {
            code,
            destination,
            enable,
        } => {
            let mut body = json!({});
            if let Some(destination) = destination {
                body["destination"] = destination.into();
            }
            if enable {
                body["disabled"] = false.into();
            }
            Ok(one(api
                .patch(&format!("/api/v1/links/{}", encode(&code)), &body)
                .await?))
        }
        LinkCommand::Disable { code } => Ok(one(api
            .delete(&format!("/api/v1/links/{}", encode(&code)))
            .await?)),
    }
}
