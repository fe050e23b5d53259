//! Coupon codes: each belongs to one influencer.

use redis::AsyncCommands;

use super::{Store, StoreResult};
use crate::domain::{CouponCode, InfluencerId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddCoupon {
    Added,
    AlreadyTheirs,
    NoSuchInfluencer,
    InfluencerDisabled,
    /// Another influencer holds the code.
    TakenBy(String),
}

impl Store {
    pub async fn add_coupon(&self, id: &InfluencerId, code: &CouponCode) -> StoreResult<AddCoupon> {
        let keys = self.keys();
        let outcome: redis::Value = self
            .write_script(
                self.scripts
                    .add_coupon
                    .key(keys.coupons())
                    .key(keys.influencer(id))
                    .key(keys.influencer_coupons(id))
                    .arg(code.as_str())
                    .arg(id.as_str()),
                &keys.coupons(),
            )
            .await?;
        Ok(match outcome {
            redis::Value::Int(1) => AddCoupon::Added,
            redis::Value::Int(0) => AddCoupon::AlreadyTheirs,
            redis::Value::Int(-2) => AddCoupon::InfluencerDisabled,
            redis::Value::Int(_) => AddCoupon::NoSuchInfluencer,
            other => AddCoupon::TakenBy(redis::from_redis_value(other)?),
        })
    }

    /// Returns whether the code was the influencer's.
    pub async fn remove_coupon(&self, id: &InfluencerId, code: &CouponCode) -> StoreResult<bool> {
        let keys = self.keys();
        let removed: i64 = self
            .write_script(
                self.scripts
                    .remove_coupon
                    .key(keys.coupons())
                    .key(keys.influencer_coupons(id))
                    .arg(code.as_str())
                    .arg(id.as_str()),
                &keys.coupons(),
            )
            .await?;
        Ok(removed == 1)
    }

    pub async fn coupons_of(&self, id: &InfluencerId) -> StoreResult<Vec<String>> {
        let mut codes: Vec<String> = self
            .conn()
            .smembers(self.keys().influencer_coupons(id))
            .await?;
        codes.sort();
        Ok(codes)
    }

    /// The influencer a coupon code belongs to.
    pub async fn coupon_owner(&self, code: &CouponCode) -> StoreResult<Option<InfluencerId>> {
        let owner: Option<String> = self
            .conn()
            .hget(self.keys().coupons(), code.as_str())
            .await?;
        Ok(owner.as_deref().and_then(InfluencerId::parse))
    }
}
