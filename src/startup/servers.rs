//! The HTTP servers and their listeners: the public server on `http.bind` (with `/metrics` on
//! a listener of its own when `http.metrics_bind` is set), and with `http.api_bind` the API's
//! server, whose worker threads serve nothing else, so an admin call or a webhook never waits
//! behind the redirect connections a public worker's loop goes round.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::{HttpService, Protocol};
use actix_server::{Server, ServerBuilder, ServerHandle};
use actix_service::{IntoServiceFactory as _, ServiceFactoryExt as _, fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use actix_web::{App, web};
use anyhow::Context;
use futures_util::future::{Either, join, join_all, select};

use crate::config::Settings;
use crate::cpu_priority;
use crate::head_deadline::HeadDeadline;
use crate::routes::{self, BodyDeadline};
use crate::state::AppState;

/// The bound sockets, before any server serves them.
#[derive(Debug)]
pub(super) struct Listeners {
    public: TcpListener,
    metrics: Option<TcpListener>,
    api: Option<TcpListener>,
}

/// Where each listener is bound (the real ports when configured with port 0).
#[derive(Debug, Clone, Copy)]
pub(super) struct Addresses {
    pub public: SocketAddr,
    pub metrics: Option<SocketAddr>,
    pub api: Option<SocketAddr>,
}

impl Listeners {
    /// Binds `http.bind`, and `http.metrics_bind` and `http.api_bind` when they are set.
    pub(super) fn bind(settings: &Settings) -> anyhow::Result<Self> {
        let public = TcpListener::bind(settings.http.bind)
            .with_context(|| format!("binding http.bind = {}", settings.http.bind))?;
        let optional = |key: &str, address: Option<SocketAddr>| {
            address
                .map(|address| {
                    TcpListener::bind(address).with_context(|| format!("binding {key} = {address}"))
                })
                .transpose()
        };
        Ok(Self {
            public,
            metrics: optional("http.metrics_bind", settings.http.metrics_bind)?,
            api: optional("http.api_bind", settings.http.api_bind)?,
        })
    }

    pub(super) fn addresses(&self) -> io::Result<Addresses> {
        Ok(Addresses {
            public: self.public.local_addr()?,
            metrics: self
                .metrics
                .as_ref()
                .map(TcpListener::local_addr)
                .transpose()?,
            api: self.api.as_ref().map(TcpListener::local_addr).transpose()?,
        })
    }
}

/// The built servers, not yet serving.
pub(super) struct Servers {
    public: Server,
    /// `http.api_bind`'s.
    api: Option<Server>,
}

impl Servers {
    /// Builds the servers over `listeners`. Workers: `http.workers` for the public server,
    /// `http.api_workers` for the API's. Each worker holds at most
    /// `http.max_connections_per_worker` connections, so slow clients can never take every
    /// file descriptor.
    pub(super) fn build(
        settings: &Settings,
        listeners: Listeners,
        state: &web::Data<AppState>,
    ) -> anyhow::Result<Self> {
        let metrics_elsewhere = listeners.metrics.is_some();
        let api_elsewhere = listeners.api.is_some();
        let public_nice = bulk_nice(settings, api_elsewhere);
        let mut public = builder(settings);
        if settings.http.workers > 0 {
            public = public.workers(settings.http.workers);
        }
        if let Some(metrics) = listeners.metrics {
            public = listen_metrics(public, metrics, settings, state)?;
        }
        let public = listen(
            public,
            "reftrack-http",
            listeners.public,
            settings,
            state,
            public_nice,
            move |cfg| routes::configure(cfg, metrics_elsewhere, api_elsewhere),
        )?
        .run();
        let api = listeners
            .api
            .map(|listener| {
                listen(
                    builder(settings).workers(settings.http.api_workers),
                    "reftrack-api",
                    listener,
                    settings,
                    state,
                    0,
                    routes::configure_api,
                )
                .map(ServerBuilder::run)
            })
            .transpose()?;
        Ok(Self { public, api })
    }

    /// Serves until `shutdown` completes, then stops every server at once: each lets its
    /// in-flight requests finish, within one `http.shutdown_timeout_secs` for all.
    pub(super) async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handles: Vec<ServerHandle> = std::iter::once(&self.public)
            .chain(&self.api)
            .map(Server::handle)
            .collect();
        let mut serving = tokio::spawn(self.serve());
        tokio::select! {
            result = &mut serving => result?.context("the HTTP server failed")?,
            () = shutdown => {
                tracing::info!("shutting down: finishing in-flight requests");
                join_all(handles.iter().map(|handle| handle.stop(true))).await;
                serving.await?.context("the HTTP server failed while stopping")?;
            }
        }
        Ok(())
    }

    /// Completes when every server has stopped. A server stops only when told to or when it
    /// fails; one that ends first stops the other, so a failure of either ends the process
    /// instead of leaving half of the routes unserved. The stop is awaited together with the
    /// server it stops: a server handles its commands only while its future is polled.
    async fn serve(self) -> io::Result<()> {
        let Some(api) = self.api else {
            return self.public.await;
        };
        let (Either::Left((first, other)) | Either::Right((first, other))) =
            select(self.public, api).await;
        let ((), second) = join(other.handle().stop(true), other).await;
        first.and(second)
    }
}

/// How many nice steps below the main thread the redirect workers and the click flusher run:
/// `http.redirect_nice` when the API has a listener of its own, else none (the public workers
/// then serve the API too). See [`crate::cpu_priority`].
pub(super) fn bulk_nice(settings: &Settings, api_elsewhere: bool) -> u8 {
    if api_elsewhere {
        // Validated to 0..=19; the lowest priority for anything larger all the same.
        u8::try_from(settings.http.redirect_nice).unwrap_or(u8::MAX)
    } else {
        0
    }
}

/// A server without signal handling (`Application` is stopped by the future it is given).
fn builder(settings: &Settings) -> ServerBuilder {
    Server::build()
        .disable_signals()
        .shutdown_timeout(settings.http.shutdown_timeout_secs)
        .max_concurrent_connections(settings.http.max_connections_per_worker)
}

/// Adds a listener serving `routes` as `actix_web::HttpServer` would, but over sockets whose
/// every request head has a deadline ([`HeadDeadline`]): `HttpServer` times only a
/// connection's first. Each head has `http.header_timeout_secs`, each body
/// `http.body_timeout_secs` ([`BodyDeadline`]); kept-alive idle connections close at once on a
/// graceful stop. Each worker thread runs `nice` steps below the main thread: the factory is
/// called on the worker's own thread when it starts.
fn listen(
    builder: ServerBuilder,
    name: &str,
    listener: TcpListener,
    settings: &Settings,
    state: &web::Data<AppState>,
    nice: u8,
    routes: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
) -> io::Result<ServerBuilder> {
    let header_timeout = settings.http.header_timeout();
    let body_deadline = BodyDeadline::new(settings.http.body_timeout());
    let stopping = builder.graceful_shutdown_signal();
    let bound = listener.local_addr()?;
    let state = state.clone();
    builder.listen(name, listener, move || {
        if let Err(e) = cpu_priority::set_this_thread_below_main(nice) {
            tracing::warn!(error = %e, nice, "cannot set an HTTP worker's CPU priority");
        }
        let app = App::new()
            .app_data(state.clone())
            .wrap_fn(move |req, service| body_deadline.apply(req, service))
            .configure(routes.clone())
            .into_factory()
            .map_err(|err| err.error_response());
        let stopping = stopping.clone();
        let http = HttpService::build()
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
    })
}

/// `/metrics` alone, on `http.metrics_bind`.
fn listen_metrics(
    builder: ServerBuilder,
    listener: TcpListener,
    settings: &Settings,
    state: &web::Data<AppState>,
) -> io::Result<ServerBuilder> {
    let header_timeout = settings.http.header_timeout();
    let local = listener.local_addr()?;
    let state = state.clone();
    builder.listen("reftrack-metrics", listener, move || {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_workers_yield_to_the_api_only_when_it_has_a_listener_of_its_own() {
        let mut settings = Settings::load_from(None, []).expect("the defaults");
        settings.http.redirect_nice = 6;

        assert_eq!(bulk_nice(&settings, true), 6);
        assert_eq!(
            bulk_nice(&settings, false),
            0,
            "on one listener the workers serve the API too"
        );
    }
}
