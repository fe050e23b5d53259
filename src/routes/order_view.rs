//! How an order is shown: its amounts, how it was attributed, its flags and review, and the
//! history of changes. Shared by the order list and the order changes.

use serde::Serialize;

use super::output::timestamp;
use crate::domain::{
    Actor, AttributedBy, AttributionReason, CampaignId, Change, ChangeKind, Commission,
    CommissionInput, Flag, InfluencerId, Order, OrderStatus, Review,
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderView {
    /// The order's key (`platform:id`); in a path, percent-encode it (`:` as `%3A`).
    order_key: String,
    platform: &'static str,
    order_id: String,
    status: OrderStatus,
    test: bool,
    /// Whether the order is in revenue: placed, not a test, qualified, not pending, not held.
    counted: bool,
    occurred_at: String,
    currency: String,
    revenue: String,
    refunds: String,
    net_revenue: String,
    commission: String,
    attribution: Option<AttributionView>,
    /// Every change of the attribution after it was first decided, oldest first.
    history: Vec<ChangeView>,
    updated_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct AttributionView {
    by: AttributedBy,
    reason: AttributionReason,
    #[schema(value_type = Option<String>)]
    influencer_id: Option<InfluencerId>,
    qualified: bool,
    click_id: Option<String>,
    link_code: Option<String>,
    #[schema(value_type = Option<String>)]
    campaign_id: Option<CampaignId>,
    coupon: Option<String>,
    /// The influencer the other signal pointed at, when click and coupon disagreed.
    #[schema(value_type = Option<String>)]
    overruled: Option<InfluencerId>,
    commission_rule: Option<CommissionInput>,
    /// Commission on the full revenue when the order was attributed, before any refund.
    commission_at_attribution: String,
    /// Why the order is suspect; empty when clean.
    flags: Vec<Flag>,
    /// `held` keeps it out of its influencer's figures until a marketer decides.
    review: Option<Review>,
    /// For a pending order: when the wait for its click ends.
    pending_until: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ChangeView {
    at: String,
    kind: ChangeKind,
    /// `admin`, or the rule that made the change.
    who: Actor,
    /// The influencer before (`null`: unattributed).
    #[schema(value_type = Option<String>)]
    from: Option<InfluencerId>,
    #[schema(value_type = Option<String>)]
    to: Option<InfluencerId>,
    note: Option<String>,
}

impl From<&Change> for ChangeView {
    fn from(c: &Change) -> Self {
        Self {
            at: timestamp(c.at_ms),
            kind: c.kind,
            who: c.who,
            from: c.from.clone(),
            to: c.to.clone(),
            note: c.note.clone(),
        }
    }
}

/// The order as shown, or `None` for a record with no amounts yet (only refunds arrived).
pub fn view(order: &Order) -> Option<OrderView> {
    let facts = order.facts.as_ref()?;
    let currency = facts.currency;
    let refunds = order.refunded();
    let figures = order.figures();
    let attribution = order.attribution.clone().map(|a| AttributionView {
        by: a.by,
        reason: a.reason,
        influencer_id: a.influencer_id,
        qualified: a.qualified,
        click_id: a.click_id,
        link_code: a.link_code,
        campaign_id: a.campaign_id,
        coupon: a.coupon,
        overruled: a.overruled,
        commission_rule: a
            .commission_rule
            .as_deref()
            .and_then(|r| Commission::from_stored(r).ok())
            .map(Commission::to_input),
        commission_at_attribution: currency.format(a.commission),
        flags: a.flags,
        review: a.review,
        pending_until: a.pending_until_ms.map(timestamp),
    });
    Some(OrderView {
        order_key: order.key.clone(),
        platform: order.platform.label(),
        order_id: facts.order_id.clone(),
        status: order.status,
        test: facts.test,
        counted: order.counts(),
        occurred_at: timestamp(facts.occurred_ms),
        currency: currency.to_string(),
        revenue: currency.format(facts.revenue),
        refunds: currency.format(refunds),
        net_revenue: currency.format(facts.revenue - refunds),
        commission: currency.format(figures.commission),
        attribution,
        history: order.history.iter().map(ChangeView::from).collect(),
        updated_at: timestamp(order.updated_ms),
    })
}
