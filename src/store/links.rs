//! Referral link records.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::index_pages::IndexRecords;
use super::{CHANGES_MAX_LEN, Store, StoreError, StoreResult, parsed, required};
use crate::domain::{CampaignId, Destination, InfluencerId, LinkCode};
use crate::pagination::{Cursor, Page};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    pub code: LinkCode,
    pub influencer_id: InfluencerId,
    pub destination: Destination,
    pub campaign_id: Option<CampaignId>,
    pub disabled: bool,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateLink {
    Created,
    CodeTaken,
    NoSuchInfluencer,
    InfluencerDisabled,
}

impl LinkRecord {
    fn from_hash(key: &str, code: LinkCode, map: &HashMap<String, String>) -> StoreResult<Self> {
        let influencer_id = InfluencerId::parse(required(key, map, "influencer_id")?)
            .ok_or_else(|| StoreError::corrupt(key, "bad influencer_id"))?;
        Ok(Self {
            code,
            influencer_id,
            destination: Destination::from_stored(required(key, map, "destination")?.to_owned()),
            campaign_id: map
                .get("campaign_id")
                .map(|c| {
                    CampaignId::parse(c)
                        .ok_or_else(|| StoreError::corrupt(key, "campaign_id is not a campaign id"))
                })
                .transpose()?,
            disabled: map.get("disabled").is_some_and(|d| d == "1"),
            created_ms: parsed(key, map, "created_ms")?,
        })
    }
}

impl Store {
    pub async fn create_link(&self, link: &LinkRecord) -> StoreResult<CreateLink> {
        let keys = self.keys();
        let mut invocation = self.scripts.create_link.prepare_invoke();
        invocation
            .key(keys.link(&link.code))
            .key(keys.influencer(&link.influencer_id))
            .key(keys.influencer_links(&link.influencer_id))
            .key(keys.changes())
            .key(keys.changed_influencers())
            .key(keys.links_by_time())
            .arg(link.code.as_str())
            .arg(link.created_ms)
            .arg(CHANGES_MAX_LEN)
            .arg("influencer_id")
            .arg(link.influencer_id.as_str())
            .arg("destination")
            .arg(link.destination.as_str())
            .arg("disabled")
            .arg(if link.disabled { "1" } else { "0" });
        if let Some(campaign) = &link.campaign_id {
            invocation.arg("campaign_id").arg(campaign.as_str());
            invocation.key(keys.campaign_links(campaign));
        }
        let outcome: i64 = self.write_script(&invocation, &keys.changes()).await?;
        Ok(match outcome {
            1 => CreateLink::Created,
            0 => CreateLink::CodeTaken,
            -1 => CreateLink::NoSuchInfluencer,
            _ => CreateLink::InfluencerDisabled,
        })
    }

    pub async fn link(&self, code: &LinkCode) -> StoreResult<Option<LinkRecord>> {
        let key = self.keys().link(code);
        let map: HashMap<String, String> = self.conn().hgetall(&key).await?;
        if map.is_empty() {
            return Ok(None);
        }
        LinkRecord::from_hash(&key, code.clone(), &map).map(Some)
    }

    /// Maps the number click records give the link `code` back to it (see
    /// [`super::click_records::link_number`]). The link cache does this when it loads an active
    /// link, before any click on it is answered, so a record names a registered link. It waits
    /// for no replica: a redirect must not fail because writes cannot be replicated just now.
    pub async fn register_link_number(&self, code: &LinkCode) -> StoreResult<()> {
        let key = self.keys().link_numbers();
        let number = super::click_records::link_number(code.as_str());
        let _: i64 = self.conn().hset(&key, number, code.as_str()).await?;
        Ok(())
    }

    /// The codes of an influencer's links, oldest first: its index a thousand at a time, so a report
    /// can then read the links a chunk at a time with [`Store::links_by_code`].
    pub async fn link_codes_of(&self, influencer: &InfluencerId) -> StoreResult<Vec<LinkCode>> {
        let members = self
            .index_members(&self.keys().influencer_links(influencer))
            .await?;
        Ok(members
            .iter()
            .filter_map(|m| LinkCode::parse(m).ok())
            .collect())
    }

    /// The links of `codes`, in their order, in one round trip; codes of no link are skipped.
    pub async fn links_by_code(&self, codes: &[LinkCode]) -> StoreResult<Vec<LinkRecord>> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = codes.iter().map(|c| self.keys().link(c)).collect();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.hgetall(key);
        }
        let maps: Vec<HashMap<String, String>> = pipe.query_async(&mut self.conn()).await?;
        codes
            .iter()
            .zip(&keys)
            .zip(&maps)
            .filter(|(_, map)| !map.is_empty())
            .map(|((code, key), map)| LinkRecord::from_hash(key, code.clone(), map))
            .collect()
    }

    /// A page of an influencer's links that `keep` passes, oldest first, after `after`: about
    /// a page of reads however many links it has (see `index_pages.rs`).
    pub async fn links_page_of(
        &self,
        influencer: &InfluencerId,
        after: Option<&Cursor>,
        limit: usize,
        keep: impl Fn(&LinkRecord) -> bool,
    ) -> StoreResult<Page<LinkRecord>> {
        let index = self.keys().influencer_links(influencer);
        self.links_page_in(&index, after, limit, keep).await
    }

    /// A page of every link that `keep` passes, oldest first, after `after`: from the index of
    /// every link once it is whole, else (before its migration has run) from every link read
    /// whole, as before the index (see `links_index.rs`).
    pub async fn all_links_page(
        &self,
        after: Option<&Cursor>,
        limit: usize,
        keep: impl Fn(&LinkRecord) -> bool,
    ) -> StoreResult<Page<LinkRecord>> {
        if self.links_by_time_ready().await? {
            let index = self.keys().links_by_time();
            return self.links_page_in(&index, after, limit, keep).await;
        }
        let mut links = self.links().await?;
        links.retain(keep);
        Ok(crate::pagination::page_of(
            links,
            |l| Cursor {
                score: l.created_ms,
                member: l.code.to_string(),
            },
            after,
            limit,
        ))
    }

    /// The same for a campaign's links.
    pub async fn campaign_links_page(
        &self,
        campaign: &CampaignId,
        after: Option<&Cursor>,
        limit: usize,
        keep: impl Fn(&LinkRecord) -> bool,
    ) -> StoreResult<Page<LinkRecord>> {
        let index = self.keys().campaign_links(campaign);
        self.links_page_in(&index, after, limit, keep).await
    }

    async fn links_page_in(
        &self,
        index: &str,
        after: Option<&Cursor>,
        limit: usize,
        keep: impl Fn(&LinkRecord) -> bool,
    ) -> StoreResult<Page<LinkRecord>> {
        let keys = self.keys();
        let records = IndexRecords {
            key_of: |member: &str| {
                LinkCode::parse(member).ok().map(|code| {
                    let key = keys.link(&code);
                    (code, key)
                })
            },
            parse: |code, key: &str, map: &HashMap<String, String>| {
                LinkRecord::from_hash(key, code, map)
            },
        };
        self.index_page(index, &records, after, limit, keep).await
    }

    /// A campaign's links, oldest first.
    pub async fn campaign_links(&self, campaign: &CampaignId) -> StoreResult<Vec<LinkRecord>> {
        self.links_in(&self.keys().campaign_links(campaign)).await
    }

    /// Every influencer's links: the influencer index a thousand at a time, then two pipelines
    /// (the catalog is one slot), in no particular order.
    pub async fn links(&self) -> StoreResult<Vec<LinkRecord>> {
        let keys = self.keys();
        let mut conn = self.conn();
        let influencers: Vec<InfluencerId> = self
            .index_members(&keys.influencer_index())
            .await?
            .iter()
            .filter_map(|id| InfluencerId::parse(id))
            .collect();
        // An empty pipeline answers nothing a list can be read from.
        if influencers.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &influencers {
            pipe.zrange(keys.influencer_links(id), 0, -1);
        }
        let indexes: Vec<Vec<String>> = pipe.query_async(&mut conn).await?;
        let codes: Vec<LinkCode> = indexes
            .iter()
            .flatten()
            .filter_map(|code| LinkCode::parse(code).ok())
            .collect();
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for code in &codes {
            pipe.hgetall(keys.link(code));
        }
        let maps: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await?;
        codes
            .into_iter()
            .zip(maps)
            .filter(|(_, map)| !map.is_empty())
            .map(|(code, map)| LinkRecord::from_hash(&keys.link(&code), code, &map))
            .collect()
    }

    /// The links listed in an index of link codes.
    async fn links_in(&self, index: &str) -> StoreResult<Vec<LinkRecord>> {
        let keys = self.keys();
        let hashes = self
            .indexed_hashes(index, |member| {
                LinkCode::parse(member).map_or_else(|_| String::new(), |code| keys.link(&code))
            })
            .await?;
        hashes
            .into_iter()
            .filter_map(|(member, key, map)| {
                LinkCode::parse(&member).ok().map(|code| (code, key, map))
            })
            .map(|(code, key, map)| LinkRecord::from_hash(&key, code, &map))
            .collect()
    }

    /// Changes a link's destination and/or disabled flag; `false` when there is no such link.
    pub async fn update_link(
        &self,
        code: &LinkCode,
        destination: Option<&Destination>,
        disabled: Option<bool>,
    ) -> StoreResult<bool> {
        let keys = self.keys();
        let mut invocation = self.scripts.update_link.prepare_invoke();
        invocation
            .key(keys.link(code))
            .key(keys.changes())
            .key(keys.changed_influencers())
            .arg(code.as_str())
            .arg(CHANGES_MAX_LEN);
        if let Some(destination) = destination {
            invocation.arg("destination").arg(destination.as_str());
        }
        if let Some(disabled) = disabled {
            invocation
                .arg("disabled")
                .arg(if disabled { "1" } else { "0" });
        }
        let updated: i64 = self.write_script(&invocation, &keys.changes()).await?;
        Ok(updated == 1)
    }
}
