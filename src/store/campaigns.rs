//! Campaign records, in the catalog.

use redis::AsyncCommands;

use super::{Store, StoreError, StoreResult};
use crate::domain::{Campaign, CampaignId};

impl Store {
    /// Records a new campaign; `false` if its id was taken.
    pub async fn create_campaign(&self, campaign: &Campaign) -> StoreResult<bool> {
        let json = serde_json::to_string(campaign).expect("a campaign serialises");
        let key = self.keys().campaigns();
        let created = self
            .conn()
            .hset_nx(&key, campaign.id.as_str(), json)
            .await?;
        self.replicated(&key).await?;
        Ok(created)
    }

    pub async fn campaign(&self, id: &CampaignId) -> StoreResult<Option<Campaign>> {
        let key = self.keys().campaigns();
        let json: Option<String> = self.conn().hget(&key, id.as_str()).await?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::corrupt(&key, e.to_string())))
            .transpose()
    }

    /// Every campaign, oldest first.
    pub async fn campaigns(&self) -> StoreResult<Vec<Campaign>> {
        let key = self.keys().campaigns();
        let all: Vec<String> = self.conn().hvals(&key).await?;
        let mut campaigns = all
            .iter()
            .map(|j| serde_json::from_str(j).map_err(|e| StoreError::corrupt(&key, e.to_string())))
            .collect::<StoreResult<Vec<Campaign>>>()?;
        campaigns.sort_by_key(|c| c.created_ms);
        Ok(campaigns)
    }
}
