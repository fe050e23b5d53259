//! The index of orders waiting for their click, the key of the e-mail hashes, and the
//! click-less coupon orders the coupon_spike flag counts.

use redis::AsyncCommands;

use super::{Store, StoreResult};
use crate::domain::{InfluencerId, OrderKey};

/// Click-less coupon orders kept per influencer: 29 days, the spike rule's 28 and today.
const COUPON_ORDERS_KEPT_MS: i64 = 29 * 86_400_000;

/// Most click-less coupon orders read for one spike check.
const MAX_COUPON_ORDERS_READ: isize = 100_000;

impl Store {
    /// Lists `key` among the pending orders, to be looked at from `next_ms` on; an order
    /// already listed keeps its place.
    pub async fn add_pending(&self, key: &OrderKey, next_ms: i64) -> StoreResult<()> {
        let _: i64 = redis::cmd("ZADD")
            .arg(self.keys().pending_orders())
            .arg("NX")
            .arg(next_ms)
            .arg(key.as_str())
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Looks at a listed pending order again from `next_ms` on (an order no longer listed
    /// stays out).
    pub async fn reschedule_pending(&self, key: &OrderKey, next_ms: i64) -> StoreResult<()> {
        let _: i64 = redis::cmd("ZADD")
            .arg(self.keys().pending_orders())
            .arg("XX")
            .arg(next_ms)
            .arg(key.as_str())
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    pub async fn remove_pending(&self, key: &OrderKey) -> StoreResult<()> {
        let _: i64 = self
            .conn()
            .zrem(self.keys().pending_orders(), key.as_str())
            .await?;
        Ok(())
    }

    /// Up to `limit` pending orders due by `now_ms`, and how many are listed in all.
    pub async fn due_pending(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<(Vec<OrderKey>, u64)> {
        let index = self.keys().pending_orders();
        let (due, listed): (Vec<String>, u64) = redis::pipe()
            .cmd("ZRANGE")
            .arg(&index)
            .arg("-inf")
            .arg(now_ms)
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .zcard(&index)
            .query_async(&mut self.conn())
            .await?;
        Ok((
            due.iter().map(|k| OrderKey::from_stored(k)).collect(),
            listed,
        ))
    }

    /// The secret key of e-mail hashes, made by the first replica that asks.
    pub async fn email_key(&self) -> StoreResult<String> {
        let key = self.keys().email_key();
        let mut conn = self.conn();
        let fresh = crate::domain::random_string(&nanoid::alphabet::SAFE, 32);
        let _: bool = conn.set_nx(&key, &fresh).await?;
        Ok(conn.get(&key).await?)
    }

    /// Records a click-less coupon order of `influencer` (once per order, however often it is
    /// recorded) and forgets those older than the spike rule reads.
    pub async fn note_coupon_order(
        &self,
        influencer: &InfluencerId,
        coupon: &str,
        order: &OrderKey,
        at_ms: i64,
    ) -> StoreResult<()> {
        let key = self.keys().coupon_orders(influencer);
        let now = chrono::Utc::now().timestamp_millis();
        let _: () = redis::pipe()
            .atomic()
            .zadd(&key, format!("{coupon} {}", order.as_str()), at_ms)
            .ignore()
            .zrembyscore(&key, "-inf", now.saturating_sub(COUPON_ORDERS_KEPT_MS))
            .ignore()
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// `influencer`'s click-less coupon orders placed from `since_ms` on: the coupon and the
    /// order time of each.
    pub async fn coupon_orders_since(
        &self,
        influencer: &InfluencerId,
        since_ms: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        let entries: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(self.keys().coupon_orders(influencer))
            .arg(since_ms)
            .arg("+inf")
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(MAX_COUPON_ORDERS_READ)
            .arg("WITHSCORES")
            .query_async(&mut self.conn())
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|(member, score)| {
                let (coupon, _) = member.split_once(' ')?;
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "scores are whole milliseconds"
                )]
                Some((coupon.to_owned(), score as i64))
            })
            .collect())
    }
}
