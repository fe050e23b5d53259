//! Influencer records.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::index_pages::IndexRecords;
use super::{CHANGES_MAX_LEN, Store, StoreError, StoreResult, parsed, required};
use crate::domain::{Commission, Handle, InfluencerId};
use crate::pagination::{Cursor, Page};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfluencerRecord {
    pub id: InfluencerId,
    pub handle: Handle,
    pub name: Option<String>,
    pub platform: Option<String>,
    pub followers: Option<u64>,
    pub commission: Option<Commission>,
    /// Keyed hash of the influencer's own e-mail address (never the address), to flag their
    /// own purchases.
    pub email_hash: Option<String>,
    pub disabled: bool,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveInfluencer {
    Saved,
    HandleTaken,
    NotFound,
    AlreadyExists,
}

impl InfluencerRecord {
    /// Every optional field, with `""` for "not set", so an update also clears fields.
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("name", self.name.clone().unwrap_or_default()),
            ("platform", self.platform.clone().unwrap_or_default()),
            (
                "followers",
                self.followers.map(|f| f.to_string()).unwrap_or_default(),
            ),
            (
                "commission",
                self.commission
                    .map(Commission::to_stored)
                    .unwrap_or_default(),
            ),
            ("email_hash", self.email_hash.clone().unwrap_or_default()),
            ("disabled", if self.disabled { "1" } else { "0" }.to_owned()),
        ]
    }

    fn from_hash(key: &str, id: InfluencerId, map: &HashMap<String, String>) -> StoreResult<Self> {
        let handle = Handle::parse(required(key, map, "handle")?)
            .map_err(|e| StoreError::corrupt(key, e.to_string()))?;
        let commission = map
            .get("commission")
            .map(|c| {
                Commission::from_stored(c).map_err(|e| StoreError::corrupt(key, e.to_string()))
            })
            .transpose()?;
        let followers = map
            .contains_key("followers")
            .then(|| parsed(key, map, "followers"))
            .transpose()?;
        Ok(Self {
            id,
            handle,
            name: map.get("name").cloned(),
            platform: map.get("platform").cloned(),
            followers,
            commission,
            email_hash: map.get("email_hash").cloned(),
            disabled: map.get("disabled").is_some_and(|d| d == "1"),
            created_ms: parsed(key, map, "created_ms")?,
        })
    }
}

impl Store {
    pub async fn create_influencer(
        &self,
        record: &InfluencerRecord,
    ) -> StoreResult<SaveInfluencer> {
        self.save_influencer(record, true).await
    }

    /// Replaces an influencer's fields (its id and creation time stay).
    pub async fn update_influencer(
        &self,
        record: &InfluencerRecord,
    ) -> StoreResult<SaveInfluencer> {
        self.save_influencer(record, false).await
    }

    async fn save_influencer(
        &self,
        record: &InfluencerRecord,
        create: bool,
    ) -> StoreResult<SaveInfluencer> {
        let keys = self.keys();
        let mut invocation = self.scripts.save_influencer.prepare_invoke();
        invocation
            .key(keys.handles())
            .key(keys.influencer(&record.id))
            .key(keys.influencer_index())
            .key(keys.changes())
            .key(keys.changed_influencers())
            .arg(record.id.as_str())
            .arg(record.handle.as_str())
            .arg(record.created_ms)
            .arg(if create { "1" } else { "0" })
            .arg(CHANGES_MAX_LEN);
        for (field, value) in record.fields() {
            invocation.arg(field).arg(value);
        }
        let outcome: i64 = self.write_script(&invocation, &keys.handles()).await?;
        Ok(match outcome {
            1 => SaveInfluencer::Saved,
            0 => SaveInfluencer::HandleTaken,
            -1 => SaveInfluencer::NotFound,
            _ => SaveInfluencer::AlreadyExists,
        })
    }

    pub async fn influencer(&self, id: &InfluencerId) -> StoreResult<Option<InfluencerRecord>> {
        let key = self.keys().influencer(id);
        let map: HashMap<String, String> = self.conn().hgetall(&key).await?;
        if map.is_empty() {
            return Ok(None);
        }
        InfluencerRecord::from_hash(&key, id.clone(), &map).map(Some)
    }

    /// A page of the influencers `keep` passes, oldest first, after `after`: about a page of
    /// reads however many influencers there are (see `index_pages.rs`).
    pub async fn influencers_page(
        &self,
        after: Option<&Cursor>,
        limit: usize,
        keep: impl Fn(&InfluencerRecord) -> bool,
    ) -> StoreResult<Page<InfluencerRecord>> {
        let keys = self.keys();
        let records = IndexRecords {
            key_of: |member: &str| {
                InfluencerId::parse(member).map(|id| {
                    let key = keys.influencer(&id);
                    (id, key)
                })
            },
            parse: |id, key: &str, map: &HashMap<String, String>| {
                InfluencerRecord::from_hash(key, id, map)
            },
        };
        self.index_page(&keys.influencer_index(), &records, after, limit, keep)
            .await
    }

    /// Every influencer, oldest first.
    pub async fn influencers(&self) -> StoreResult<Vec<InfluencerRecord>> {
        let keys = self.keys();
        let hashes = self
            .indexed_hashes(&keys.influencer_index(), |member| {
                InfluencerId::parse(member).map_or_else(String::new, |id| keys.influencer(&id))
            })
            .await?;
        hashes
            .into_iter()
            .filter_map(|(member, key, map)| InfluencerId::parse(&member).map(|id| (id, key, map)))
            .map(|(id, key, map)| InfluencerRecord::from_hash(&key, id, &map))
            .collect()
    }
}
