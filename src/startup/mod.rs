//! Building and running the server. `main` and the tests start it the same way: build an
//! [`Application`] (which may bind port 0), then run it until a shutdown future completes.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web;
use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clicks::{ClickWriter, FlushTask, Tracker, sketch_merger};
use crate::config::Settings;
use crate::domain::{AttributionPolicy, Window};
use crate::link_cache::LinkCache;
use crate::metrics::Metrics;
use crate::orders::{OrderIntake, TrustRules};
use crate::state::{AdminToken, AppState, ReportSlots, WebhookSecrets};
use crate::store::{MigrateRun, Migration, RedisTarget, Store};

mod servers;

use servers::{Addresses, Listeners, Servers, bulk_nice};

/// A built server, bound to its port, not yet serving.
pub struct Application {
    addresses: Addresses,
    servers: Servers,
    background: Background,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addresses", &self.addresses)
            .finish_non_exhaustive()
    }
}

/// Tasks that outlive requests and must finish after the last one.
#[derive(Debug)]
struct Background {
    flush: FlushTask,
    refresher: JoinHandle<()>,
    /// The sweep of pending orders; stops with the refresher.
    sweep: JoinHandle<()>,
    /// The merge of settled days' sketches into their months'; stops with the refresher.
    sketch_merger: JoinHandle<()>,
    stop_refresher: watch::Sender<bool>,
    drain_deadline: Duration,
}

impl Application {
    /// Connects to Redis, starts the click flusher and link-cache refresher, and binds the
    /// HTTP listeners. `settings.redis.url` and `settings.admin.token` must be set (`serve`
    /// fills them in when the configuration leaves them empty).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        if settings.redis.url.expose_secret().is_empty()
            || settings.admin.token.expose_secret().is_empty()
        {
            bail!("the Redis URL and the admin token must be set before building the application");
        }
        let store = Store::connect(
            &RedisTarget::of(&settings.redis),
            &settings.redis.key_prefix,
        )
        .await
        .context("connecting to Redis")?;
        store.ping().await.context("Redis does not answer PING")?;
        tokio::spawn(migrate_pre_shard_clicks(store.clone()));
        tokio::spawn(index_links_by_time(store.clone()));
        let metrics = Metrics::new();
        let salt = store
            .visitor_salt()
            .await
            .context("reading the visitor salt")?;
        let links = LinkCache::new(
            store.clone(),
            metrics.clone(),
            tokio::runtime::Handle::current(),
        );
        let (stop_refresher, refresher_stopped) = watch::channel(false);
        let refresher = links
            .start_refresher(refresher_stopped)
            .await
            .context("reading the link changes stream")?;
        check_writable(&settings.clicks.spool_dir)?;
        // Before the first flush writes a visitor to a day sketch alone (see
        // `store/month_sketches.rs`).
        let today = chrono::Utc::now()
            .with_timezone(&settings.reports.time_zone)
            .date_naive();
        store
            .seed_sketches_merged(today - chrono::Days::new(2))
            .await
            .context("recording where the merges of day sketches start")?;
        let (clicks, flush) = start_click_writer(settings, &metrics).await?;

        let listeners = Listeners::bind(settings)?;
        let addresses = listeners.addresses()?;
        let time_zone = settings.reports.time_zone;
        let orders = order_intake(&store, settings, metrics.clone()).await?;
        let sweep = orders.start_pending_sweep(
            settings.attribution.pending_sweep(),
            stop_refresher.subscribe(),
        );
        let sketch_merger = sketch_merger::start(
            store.clone(),
            time_zone,
            metrics.clone(),
            stop_refresher.subscribe(),
        );
        let state = web::Data::new(AppState {
            store,
            links,
            tracker: Tracker::new(clicks, &salt, settings, time_zone, metrics.clone()),
            metrics,
            redirect_status: StatusCode::from_u16(settings.http.redirect_status.code())?,
            forward_query: settings.http.forward_query,
            home_url: Some(settings.http.home_url.clone()).filter(|url| !url.is_empty()),
            admin_token: AdminToken::new(settings.admin.token.expose_secret()),
            report_tokens: settings
                .admin
                .report_tokens
                .iter()
                .map(|t| AdminToken::new(t.expose_secret()))
                .collect(),
            public_base: settings.http.public_base(addresses.public),
            time_zone,
            report_currency: settings.reports.currency,
            orders,
            webhooks: WebhookSecrets::new(&settings.webhooks),
            reports: ReportSlots::new(
                settings.reports.max_concurrent,
                settings.reports.queue_wait(),
            ),
        });
        let servers = Servers::build(settings, listeners, &state)?;
        tracing::info!(
            address = %addresses.public,
            metrics = ?addresses.metrics,
            api = ?addresses.api,
            "listening"
        );
        Ok(Self {
            addresses,
            servers,
            background: Background {
                flush,
                refresher,
                sweep,
                sketch_merger,
                stop_refresher,
                drain_deadline: Duration::from_secs(settings.http.shutdown_timeout_secs),
            },
        })
    }

    /// The address the server listens on (with the real port when configured with port 0).
    pub fn address(&self) -> SocketAddr {
        self.addresses.public
    }

    /// Where `/metrics` is served when `http.metrics_bind` moves it off [`Self::address`].
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.addresses.metrics
    }

    /// Where the API, the webhooks and the dashboard are served when `http.api_bind` moves
    /// them off [`Self::address`].
    pub fn api_address(&self) -> Option<SocketAddr> {
        self.addresses.api
    }

    /// Serves until `shutdown` completes (or a server fails), then stops taking connections,
    /// lets in-flight requests finish, and writes every buffered click before returning.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        // Buffered clicks are written even when a server failed, before its error is told.
        let served = self.servers.run_until(shutdown).await;
        self.background.stop().await;
        tracing::info!("stopped");
        served
    }
}

/// Starts the click writer. Its flusher has connections of its own, driven on its own
/// thread, so webhooks, the admin API and link lookups never queue behind a backlog of click
/// pipelines.
async fn start_click_writer(
    settings: &Settings,
    metrics: &Metrics,
) -> anyhow::Result<(ClickWriter, FlushTask)> {
    let redis = settings.redis.clone();
    let connect = async move { Store::connect(&RedisTarget::of(&redis), &redis.key_prefix).await };
    let nice = bulk_nice(settings, settings.http.api_bind.is_some());
    if nice > 0 && cfg!(target_os = "linux") {
        tracing::info!(
            nice,
            "the redirect workers and the click flusher run below the API's CPU priority"
        );
    }
    ClickWriter::start(
        connect,
        &settings.clicks,
        settings.reports.time_zone,
        metrics.clone(),
        nice,
    )
    .await
    .with_context(|| {
        format!(
            "starting the click writer (spool in {})",
            settings.clicks.spool_dir.display()
        )
    })
}

/// Moves the click counters of builds before the count shards into them, in the background
/// (a large keyspace takes a while; reports show the old clicks once it is done). Runs once
/// per deployment: the replica that takes the lease does it, the others skip.
async fn migrate_pre_shard_clicks(store: Store) {
    match store.migrate_pre_shard_clicks(MigrateRun::Once).await {
        Ok(Migration::Finished(moved)) => tracing::info!(
            counters = moved.counters,
            sketches = moved.sketches,
            year_sketches_dropped = moved.year_sketches,
            "migrated click counters of builds before the count shards"
        ),
        Ok(Migration::LeaseLost(moved)) => tracing::warn!(
            counters = moved.counters,
            sketches = moved.sketches,
            "the click counter migration lost its lease part-way; the next start resumes it"
        ),
        Ok(Migration::AlreadyDone | Migration::Busy) => {}
        Err(e) => tracing::error!(
            error = %e,
            "migrating click counters of builds before the count shards failed; \
             the next start (or `reftrack migrate`) resumes it"
        ),
    }
}

/// Adds every link to the index of all links, in the background (until one run has finished,
/// the list of all links reads them all). At every start, not once: links an older replica
/// created during a rolling upgrade are added when the newer ones start, and adding a link
/// twice changes nothing. A start over 1,000,000 links costs Redis a few seconds of reads and
/// writes, a thousand links a round trip.
async fn index_links_by_time(store: Store) {
    match store.index_links_by_time().await {
        Ok(links) => tracing::info!(links, "indexed every link by creation time"),
        Err(e) => tracing::error!(
            error = %e,
            "indexing every link by creation time failed; the list of all links reads them all \
             until the next start (or `reftrack migrate`) finishes it"
        ),
    }
}

/// Order intake with the attribution policy and trust rules of `settings`.
async fn order_intake(
    store: &Store,
    settings: &Settings,
    metrics: Metrics,
) -> anyhow::Result<OrderIntake> {
    let configured = settings.attribution.email_key.expose_secret();
    let email_key = if configured.is_empty() {
        store
            .email_key()
            .await
            .context("reading the e-mail hash key")?
    } else {
        configured.to_owned()
    };
    Ok(OrderIntake::new(
        store.clone(),
        AttributionPolicy {
            window: Window::from_days(
                settings.clicks.attribution_window_days,
                settings.attribution.clock_skew_secs,
            ),
            priority: settings.attribution.priority,
        },
        TrustRules::new(&settings.attribution, &email_key),
        settings.reports.time_zone,
        metrics,
        tokio::runtime::Handle::current(),
    ))
}

impl Background {
    async fn stop(self) {
        let _ = self.stop_refresher.send(true);
        let _ = self.refresher.await;
        let _ = self.sweep.await;
        // Cut short rather than awaited: catching up can take minutes, and a merge cut off
        // part-way is merged again by the next run (a union), its day not yet recorded.
        self.sketch_merger.abort();
        tracing::info!("writing buffered clicks");
        self.flush.drain(self.drain_deadline).await;
    }
}

/// Fails start-up when the click spool directory cannot be written, with the path and the
/// fix: found out now, not during the Redis outage the spool is for.
fn check_writable(dir: &std::path::Path) -> anyhow::Result<()> {
    let probe = dir.join(".reftrack-write-check");
    crate::private_files::create_dir(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            anyhow::anyhow!(
                "the click spool directory {} is not writable by this process: {e}\n  Fix: make \
                 it writable by the user reftrack runs as (chown), or set clicks.spool_dir \
                 (REFTRACK_CLICKS__SPOOL_DIR) to a directory that is; in Docker, mount the \
                 volume the image creates for it (see deploy/README.md)",
                dir.display()
            )
        })
}
