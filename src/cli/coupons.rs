//! `reftrack coupon`: the discount codes that attribute orders to an influencer.

use serde_json::json;

use super::client::{ApiClient, CliError, encode};
use super::lookup;
use super::output::{Answer, text};

#[derive(Debug, clap::Subcommand)]
pub enum CouponCommand {
    /// Give a discount code to an influencer (matched case-insensitively).
    Add {
        /// The influencer's id (inf_...) or handle (@alice.bakes).
        influencer: String,
        /// The discount code as the shop knows it, e.g. ALICE10.
        code: String,
    },
    /// List an influencer's discount codes.
    List {
        /// The influencer's id (inf_...) or handle (@alice.bakes).
        influencer: String,
    },
    /// Take a discount code from an influencer: orders using it are no longer theirs.
    Remove {
        /// The influencer's id (inf_...) or handle (@alice.bakes).
        influencer: String,
        /// The discount code, in any case.
        code: String,
    },
}

pub async fn run(api: &ApiClient, command: CouponCommand) -> Result<Answer, CliError> {
    match command {
        CouponCommand::Add { influencer, code } => {
            let path = lookup::influencer_path(api, &influencer, "/coupons").await?;
            let added = api.post(&path, &json!({"code": code})).await?;
            let text = format!(
                "{} belongs to {}",
                text(&added["code"]),
                text(&added["influencer_id"])
            );
            Ok(Answer::new(added, text))
        }
        CouponCommand::List { influencer } => {
            let path = lookup::influencer_path(api, &influencer, "/coupons").await?;
            let codes = api.all(&path, "coupons").await?;
            let text = if codes.is_empty() {
                "(none)".to_owned()
            } else {
                codes.iter().map(text).collect::<Vec<_>>().join("\n")
            };
            Ok(Answer::new(json!({"coupons": codes}), text))
        }
        CouponCommand::Remove { influencer, code } => {
            let id = lookup::influencer(api, &influencer).await?;
            let path = format!(
                "/api/v1/influencers/{}/coupons/{}",
                encode(&id),
                encode(&code)
            );
            api.delete(&path).await?;
            let text = format!("removed {code} from {id}");
            Ok(Answer::new(
                json!({"removed": code, "influencer_id": id}),
                text,
            ))
        }
    }
}
