//! `reftrack order list`: orders and how each was attributed; `reftrack order reattribute`:
//! a correction.

use serde_json::{Value, json};

use super::client::{ApiClient, CliError, encode};
use super::lookup;
use super::output::{Answer, align_figures, table, text};

#[derive(Debug, clap::Subcommand)]
pub enum OrderCommand {
    /// List orders, oldest first, with how each was attributed.
    List {
        /// Only this influencer's orders: id (inf_...), handle (@alice.bakes), or
        /// "unattributed" for the orders nobody earned.
        #[arg(long)]
        influencer: Option<String>,
        /// Only orders that came through this campaign's links: id (cmp_...) or name.
        #[arg(long)]
        campaign: Option<String>,
        /// First day, YYYY-MM-DD (default: 30 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today).
        #[arg(long)]
        to: Option<String>,
    },
    /// Move an order to another influencer, or to "unattributed"; its figures move with it.
    Reattribute {
        /// The order's key, as the order list shows it (e.g. shopify:1001).
        order_key: String,
        /// Id (inf_...), handle (@alice.bakes), or "unattributed".
        influencer: String,
        /// Why, kept in the order's history.
        #[arg(long)]
        note: Option<String>,
    },
}

/// How an order was attributed, in a few words: by click or coupon, to whom, and why not
/// when it was not.
fn attributed(order: &Value) -> String {
    let a = &order["attribution"];
    if a.is_null() {
        return "-".to_owned();
    }
    let via = match (a["link_code"].as_str(), a["coupon"].as_str()) {
        (Some(link), _) => format!(" via /{link}"),
        (None, Some(coupon)) => format!(" via coupon {coupon}"),
        _ => String::new(),
    };
    format!("{} ({}){via}", text(&a["by"]), text(&a["reason"]))
}

fn listing(orders: &[Value]) -> String {
    if orders.is_empty() {
        return "(none)".to_owned();
    }
    let mut t = table(&[
        "time",
        "order",
        "status",
        "influencer",
        "attributed",
        "net revenue",
        "commission",
        "currency",
    ]);
    for o in orders {
        t.add_row(vec![
            text(&o["occurred_at"]),
            text(&o["order_key"]),
            text(&o["status"]),
            text(&o["attribution"]["influencer_id"]),
            attributed(o),
            text(&o["net_revenue"]),
            text(&o["commission"]),
            text(&o["currency"]),
        ]);
    }
    align_figures(&mut t, 5);
    t.to_string()
}

pub async fn run(api: &ApiClient, command: OrderCommand) -> Result<Answer, CliError> {
    match command {
        OrderCommand::List {
            influencer,
            campaign,
            from,
            to,
        } => list(api, influencer, campaign, from, to).await,
        OrderCommand::Reattribute {
            order_key,
            influencer,
            note,
        } => reattribute(api, &order_key, &influencer, note).await,
    }
}

async fn reattribute(
    api: &ApiClient,
    order_key: &str,
    influencer: &str,
    note: Option<String>,
) -> Result<Answer, CliError> {
    let to = match influencer {
        "unattributed" => None,
        raw => Some(lookup::influencer(api, raw).await?),
    };
    let order = api
        .put(
            &format!("/api/v1/orders/{}/attribution", encode(order_key)),
            &json!({"influencer_id": to, "note": note}),
        )
        .await?;
    let owner = match &order["attribution"]["influencer_id"] {
        Value::Null => "unattributed".to_owned(),
        id => text(id),
    };
    let text = format!(
        "{} now belongs to {owner} (commission {} {})",
        text(&order["order_key"]),
        text(&order["commission"]),
        text(&order["currency"])
    );
    Ok(Answer::new(order, text))
}

async fn list(
    api: &ApiClient,
    influencer: Option<String>,
    campaign: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Answer, CliError> {
    let mut query = Vec::new();
    match influencer.as_deref() {
        Some("unattributed") => query.push("influencer_id=unattributed".to_owned()),
        Some(raw) => {
            let id = lookup::influencer(api, raw).await?;
            query.push(format!("influencer_id={}", encode(&id)));
        }
        None => {}
    }
    if let Some(campaign) = campaign {
        let id = lookup::campaign(api, &campaign).await?;
        query.push(format!("campaign_id={}", encode(&id)));
    }
    for (key, value) in [("from", from), ("to", to)] {
        if let Some(value) = value {
            query.push(format!("{key}={}", encode(&value)));
        }
    }
    let orders = api
        .all(&format!("/api/v1/orders?{}", query.join("&")), "orders")
        .await?;
    let text = listing(&orders);
    Ok(Answer::new(json!({"orders": orders}), text))
}
