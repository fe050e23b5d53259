//! Influencers' costs, kept with their counters so a report reads sums, not records.

use redis::AsyncCommands;

use super::keys::{Owner, field};
use super::{Store, StoreError, StoreResult};
use crate::domain::{Bucket, Cost, CostId, InfluencerId};

/// The counters a cost adds to: the influencer's costs, and its campaign's costs if any.
fn counter_fields(cost: &Cost) -> Vec<String> {
    let buckets = Bucket::containing(cost.date);
    let mut fields: Vec<String> = buckets
        .iter()
        .map(|bucket| field::costs(cost.currency, *bucket))
        .collect();
    if let Some(campaign) = &cost.campaign_id {
        fields.extend(
            buckets
                .iter()
                .map(|bucket| field::campaign_costs(campaign.as_str(), cost.currency, *bucket)),
        );
    }
    fields
}

impl Store {
    pub async fn add_cost(&self, cost: &Cost) -> StoreResult<bool> {
        let owner = Owner::Influencer(cost.influencer_id.as_str());
        let counts = self.keys().counts(owner);
        let added: i64 = self
            .write_script(
                self.scripts
                    .add_cost
                    .key(self.keys().costs(owner))
                    .key(&counts)
                    .arg(cost.id.as_str())
                    .arg(serde_json::to_string(cost).expect("a cost serialises"))
                    .arg(cost.amount)
                    .arg(counter_fields(cost)),
                &counts,
            )
            .await?;
        Ok(added == 1)
    }

    /// An influencer's costs, by date.
    pub async fn costs_of(&self, id: &InfluencerId) -> StoreResult<Vec<Cost>> {
        let key = self.keys().costs(Owner::Influencer(id.as_str()));
        let stored: Vec<String> = self.conn().hvals(&key).await?;
        let mut costs = stored
            .iter()
            .map(|json| {
                serde_json::from_str(json).map_err(|e| StoreError::corrupt(&key, e.to_string()))
            })
            .collect::<StoreResult<Vec<Cost>>>()?;
        costs.sort_by_key(|c| (c.date, c.created_ms));
        Ok(costs)
    }

    /// Deletes a cost; `false` if the influencer has no such cost.
    pub async fn delete_cost(&self, id: &InfluencerId, cost_id: &CostId) -> StoreResult<bool> {
        let owner = Owner::Influencer(id.as_str());
        let key = self.keys().costs(owner);
        let stored: Option<String> = self.conn().hget(&key, cost_id.as_str()).await?;
        let Some(stored) = stored else {
            return Ok(false);
        };
        let cost: Cost =
            serde_json::from_str(&stored).map_err(|e| StoreError::corrupt(&key, e.to_string()))?;
        let taken_back = cost
            .amount
            .checked_neg()
            .ok_or_else(|| StoreError::corrupt(&key, "a cost amount beyond any counter"))?;
        let deleted: i64 = self
            .write_script(
                self.scripts
                    .delete_cost
                    .key(&key)
                    .key(self.keys().counts(owner))
                    .arg(cost_id.as_str())
                    .arg(&stored)
                    .arg(taken_back)
                    .arg(counter_fields(&cost)),
                &key,
            )
            .await?;
        Ok(deleted == 1)
    }
}
