//! What an influencer costs besides commission: fees, gifted products, shipping, other.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ids::{InfluencerId, prefixed_id};
use super::money::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CostKind {
    Fee,
    /// Products sent to the influencer, at what they cost the brand.
    GiftedProduct,
    Shipping,
    Other,
}

prefixed_id!(
    /// A cost's id: `cost_` and twelve letters or digits.
    CostId,
    "cost_",
    "a cost id"
);

/// One cost, in minor units of its currency, on a calendar day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    pub id: CostId,
    pub influencer_id: InfluencerId,
    pub amount: i64,
    pub currency: Currency,
    pub kind: CostKind,
    pub note: Option<String>,
    pub date: NaiveDate,
    pub campaign_id: Option<super::campaign::CampaignId>,
    pub created_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_cost_ids_parse_back_and_foreign_ones_do_not() {
        let id = CostId::generate();
        assert_eq!(CostId::parse(id.as_str()), Some(id));
        assert_eq!(CostId::parse("inf_abc"), None);
        assert_eq!(CostId::parse("cost_a:b"), None);
    }
}
