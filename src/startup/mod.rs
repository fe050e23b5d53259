//! Building and running the server. `main` and the tests start it the same way: build an
//! [`Application`] (which may bind port 0), then run it until a shutdown future completes.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::{HttpService, Protocol};
use actix_server::Server;
use actix_service::{IntoServiceFactory as _, ServiceFactoryExt as _, fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::http::StatusCode;
use actix_web::rt::net::TcpStream;
use actix_web::{App, web};
use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clicks::{ClickWriter, FlushTask, Tracker};
use crate::config::Settings;
use crate::domain::{AttributionPolicy, Window};
use crate::head_deadline::HeadDeadline;
use crate::link_cache::LinkCache;
use crate::metrics::Metrics;
use crate::orders::{OrderIntake, TrustRules};
use crate::routes::{self, BodyDeadline};
use crate::state::{AdminToken, AppState, ReportSlots, WebhookSecrets};
use crate::store::{MigrateRun, Migration, RedisTarget, Store};

/// A built server, bound to its port, not yet serving.
pub struct Application {
    address: SocketAddr,
    metrics_address: Option<SocketAddr>,
    server: Server,
    background: Background,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
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
    stop_refresher: watch::Sender<bool>,
    drain_deadline: Duration,
}

impl Application {
    /// Connects to Redis, starts the click flusher and link-cache refresher, and binds the
    /// HTTP listener. `settings.redis.url` and `settings.admin.token` must be set (`serve`
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
        let metrics = Metrics::new();
        let salt = store
            .visitor_salt()
            .await
            .context("reading the visitor salt")?;
        let links = LinkCache::new(store.clone(), metrics.clone());
        let (stop_refresher, refresher_stopped) = watch::channel(false);
        let refresher = links
            .start_refresher(refresher_stopped)
            .await
            .context("reading the link changes stream")?;
        check_writable(&settings.clicks.spool_dir)?;
        // The flusher has connections of its own, so webhooks, the admin API and link lookups
        // never queue behind a backlog of click pipelines on a shared one.
        let flush_store = Store::connect(
            &RedisTarget::of(&settings.redis),
            &settings.redis.key_prefix,
        )
        .await
        .context("connecting the click flusher to Redis")?;
        let (clicks, flush) = ClickWriter::start(flush_store, &settings.clicks, metrics.clone())
            .with_context(|| {
                format!(
                    "opening the click spool in {}",
                    settings.clicks.spool_dir.display()
                )
            })?;

        let (listener, metrics_listener) = bind(settings)?;
        let bound = listener.local_addr()?;
        let metrics_address = metrics_listener
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()?;
        let time_zone = settings.reports.time_zone;
        let orders = order_intake(&store, settings, metrics.clone()).await?;
        let sweep = orders.start_pending_sweep(
            settings.attribution.pending_sweep(),
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
            public_base: settings.http.public_base(bound),
            time_zone,
            report_currency: settings.reports.currency,
            orders,
            webhooks: WebhookSecrets::new(&settings.webhooks),
            reports: ReportSlots::new(
                settings.reports.max_concurrent,
                settings.reports.queue_wait(),
            ),
        });
        let server = serve(settings, listener, bound, metrics_listener, state)?;
        tracing::info!(address = %bound, metrics = ?metrics_address, "listening");
        Ok(Self {
            address: bound,
            metrics_address,
            server,
            background: Background {
                flush,
                refresher,
                sweep,
                stop_refresher,
                drain_deadline: Duration::from_secs(settings.http.shutdown_timeout_secs),
            },
        })
    }

    /// The address the server listens on (with the real port when configured with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` is served when `http.metrics_bind` moves it off [`Self::address`].
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// Serves until `shutdown` completes, then stops taking connections, lets in-flight
    /// requests finish, and writes every buffered click before returning.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let mut server = tokio::spawn(self.server);
        tokio::select! {
            result = &mut server => result?.context("the HTTP server failed")?,
            () = shutdown => {
                tracing::info!("shutting down: finishing in-flight requests");
                handle.stop(true).await;
                server.await?.context("the HTTP server failed while stopping")?;
            }
        }
        self.background.stop().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The public listener, and the metrics listener when `http.metrics_bind` is set.
fn bind(settings: &Settings) -> anyhow::Result<(TcpListener, Option<TcpListener>)> {
    let listener = TcpListener::bind(settings.http.bind)
        .with_context(|| format!("binding http.bind = {}", settings.http.bind))?;
    let metrics_listener = settings
        .http
        .metrics_bind
        .map(|address| {
            TcpListener::bind(address)
                .with_context(|| format!("binding http.metrics_bind = {address}"))
        })
        .transpose()?;
    Ok((listener, metrics_listener))
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

/// Order intake with the attribution policy and trust rules of `settings`.
async fn order_intake(
    store: &Store,
    settings: &Settings,
    metrics: Metrics,
) -> anyhow::Result<OrderIntake> {
    let email_key = store
        .email_key()
        .await
        .context("reading the e-mail hash key")?;
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
        tracing::info!("writing buffered clicks");
        self.flush.drain(self.drain_deadline).await;
    }
}

/// Fails start-up when the click spool directory cannot be written, with the path and the
/// fix: found out now, not during the Redis outage the spool is for.
fn check_writable(dir: &std::path::Path) -> anyhow::Result<()> {
    let probe = dir.join(".reftrack-write-check");
    std::fs::create_dir_all(dir)
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

/// Builds the HTTP server as `actix_web::HttpServer` would, but over sockets whose every
/// request head has a deadline ([`HeadDeadline`]): `HttpServer` times only a connection's
/// first. Slow clients: each head has `http.header_timeout_secs`, each body
/// `http.body_timeout_secs` ([`BodyDeadline`]), and each worker holds at most
/// `http.max_connections_per_worker` connections, so they can never take every file descriptor.
/// `/metrics` has a listener of its own when `metrics` is given (`http.metrics_bind`).
fn serve(
    settings: &Settings,
    listener: TcpListener,
    bound: SocketAddr,
    metrics: Option<TcpListener>,
    state: web::Data<AppState>,
) -> anyhow::Result<Server> {
    let header_timeout = settings.http.header_timeout();
    let body_deadline = BodyDeadline::new(settings.http.body_timeout());
    let mut builder = Server::build()
        .disable_signals()
        .shutdown_timeout(settings.http.shutdown_timeout_secs)
        .max_concurrent_connections(settings.http.max_connections_per_worker);
    if settings.http.workers > 0 {
        builder = builder.workers(settings.http.workers);
    }
    let stopping = builder.graceful_shutdown_signal();
    let metrics_elsewhere = metrics.is_some();
    if let Some(metrics) = metrics {
        let state = state.clone();
        let local = metrics.local_addr()?;
        builder = builder.listen("reftrack-metrics", metrics, move || {
            let app = App::new()
                .app_data(state.clone())
                .configure(routes::configure_metrics)
                .into_factory()
                .map_err(|err| err.error_response());
            HttpService::build()
                .client_request_timeout(header_timeout)
                .local_addr(local)
                .finish(map_config(app, |()| AppConfig::default()))
                .tcp()
        })?;
    }
    let builder = builder.listen("reftrack-http", listener, move || {
        let app = App::new()
            .app_data(state.clone())
            .wrap_fn(move |req, service| body_deadline.apply(req, service))
            .configure(|cfg| routes::configure(cfg, metrics_elsewhere))
            .into_factory()
            .map_err(|err| err.error_response());
        let stopping = stopping.clone();
        let http = HttpService::build()
            // Closes idle kept-alive connections at once on a graceful stop.
            .graceful_shutdown_signal(move || {
                let stopping = stopping.clone();
                async move { stopping.notified().await }
            })
            .client_request_timeout(header_timeout)
            .client_disconnect_timeout(Duration::from_secs(1))
            .local_addr(bound)
            .finish(map_config(app, |()| AppConfig::default()));
        fn_service(move |io: TcpStream| async move {
            let peer = io.peer_addr().ok();
            Ok::<_, DispatchError>((HeadDeadline::new(io, header_timeout), Protocol::Http1, peer))
        })
        .and_then(http)
    })?;
    Ok(builder.run())
}
