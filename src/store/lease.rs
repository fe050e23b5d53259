//! Leases in Redis: one process at a time runs a long job (the migration of old click
//! counters, the merge of day sketches), renewing its lease as it goes; a process that stops
//! renewing loses it when it expires, and another may take over.

use std::time::Duration;

use super::{Store, StoreResult};

/// A lease this process took: the key and the token that proves it holds it.
pub(super) struct Lease {
    key: String,
    token: String,
    ttl: Duration,
}

impl Store {
    /// Takes the lease at `key` for `ttl`, unless another process holds it (`None`).
    pub(super) async fn take_lease(
        &self,
        key: String,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>> {
        let token = format!("{:032x}", rand::random::<u128>());
        let set: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().to_string())
            .query_async(&mut self.conn())
            .await?;
        Ok(set.map(|_| Lease { key, token, ttl }))
    }

    /// Renews the lease for its time again; `false` when it was lost (it expired, and another
    /// process may hold it now).
    pub(super) async fn renew_lease(&self, lease: &Lease) -> StoreResult<bool> {
        Ok(self.lease_step(lease, "renew").await? == 1)
    }

    /// Gives the lease up, if this process still holds it.
    pub(super) async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        self.lease_step(lease, "release").await.map(|_| ())
    }

    async fn lease_step(&self, lease: &Lease, step: &str) -> StoreResult<i64> {
        let mut invocation = self.scripts.lease.key(&lease.key);
        invocation
            .arg(&lease.token)
            .arg(lease.ttl.as_millis().to_string())
            .arg(step);
        self.write_script(&invocation, &lease.key).await
    }
}
