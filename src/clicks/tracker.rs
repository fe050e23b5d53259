//! What a redirect does with its click, in one place: classify the visitor, find the
//! follower's address, hash the visitor, judge the click against the fraud rules, count it,
//! and hand it to the writer. The redirect handler only looks the link up, tracks, and answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use ipnet::IpNet;

use super::client_addr::client_addr;
use super::{ClickWriter, FraudGuard, Recorded, Verdict, VisitorHasher, classify_user_agent};
use crate::config::Settings;
use crate::domain::{ClickClass, ClickId};
use crate::metrics::Metrics;
use crate::store::Click;

/// Everything click tracking needs, owned here rather than spread over the app's state.
#[derive(Debug)]
pub struct Tracker {
    writer: ClickWriter,
    visitors: VisitorHasher,
    fraud: FraudGuard,
    trusted_proxies: Vec<IpNet>,
    /// In durable mode, how long a redirect waits for its click's commit.
    durable: Option<Duration>,
    time_zone: Tz,
    metrics: Metrics,
}

/// What a redirect knows about who followed the link.
#[derive(Debug, Clone, Copy)]
pub struct Follower<'a, F> {
    pub peer: Option<SocketAddr>,
    pub user_agent: &'a str,
    /// The `X-Forwarded-For` header lines, read only when the peer is a trusted proxy.
    pub forwarded_for: F,
}

impl Tracker {
    /// A tracker over `writer`, hashing visitors with `salt` (shared by every replica, so one
    /// follower is one visitor whichever replica answers), with the fraud rules, trusted
    /// proxies and durable mode of `settings`.
    pub fn new(
        writer: ClickWriter,
        salt: &str,
        settings: &Settings,
        time_zone: Tz,
        metrics: Metrics,
    ) -> Self {
        super::classify::prepare();
        Self {
            writer,
            visitors: VisitorHasher::new(salt),
            fraud: FraudGuard::new(&settings.fraud, &settings.http.trusted_proxies),
            trusted_proxies: settings.http.trusted_proxies.clone(),
            durable: settings
                .clicks
                .durable_redirects
                .then(|| settings.clicks.durable_timeout()),
            time_zone,
            metrics,
        }
    }

    /// Counts and records one click on the link `code` of `influencer_id`, and gives its id.
    /// In durable mode it returns once the click is in Redis, or after the durable timeout
    /// (counted), so a follower never waits longer than that.
    pub async fn track<'h, F, L>(
        &self,
        code: &Arc<str>,
        influencer_id: &Arc<str>,
        follower: Follower<'_, F>,
    ) -> ClickId
    where
        F: FnOnce() -> L,
        L: IntoIterator<Item = &'h [u8]>,
        L::IntoIter: DoubleEndedIterator,
    {
        let now = Utc::now();
        let now_ms = now.timestamp_millis();
        let mut class = classify_user_agent(follower.user_agent);
        let (addr, visitor) = match class {
            ClickClass::Human | ClickClass::Suspicious => {
                let addr =
                    client_addr(follower.peer, &self.trusted_proxies, follower.forwarded_for);
                (addr, self.visitors.hash(addr, follower.user_agent))
            }
            ClickClass::Bot => (None, 0),
        };
        if class == ClickClass::Human
            && self.fraud.judge(code.as_ref(), visitor, addr, now_ms) != Verdict::Fresh
        {
            class = ClickClass::Suspicious;
        }
        match class {
            ClickClass::Human => self.metrics.human_clicks.inc(),
            ClickClass::Bot => self.metrics.bot_clicks.inc(),
            ClickClass::Suspicious => self.metrics.suspicious_clicks.inc(),
        }
        let click = Click {
            code,
            influencer_id,
            at_ms: now_ms,
            day: now.with_timezone(&self.time_zone).date_naive(),
            class,
            visitor,
        };
        let (click_id, recorded) = self.writer.record(&click, self.durable.is_some());
        if let (Recorded::Committing(committed), Some(timeout)) = (recorded, self.durable)
            && tokio::time::timeout(timeout, committed).await.is_err()
        {
            self.metrics.durable_commit_timeouts.inc();
        }
        click_id
    }
}
