//! `reftrack serve`: configuration, the private Redis of the default mode, the admin token,
//! then the server until SIGTERM or SIGINT.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use secrecy::ExposeSecret;

use super::token_file::{self, MIN_TOKEN_LEN};
use crate::config::Settings;
use crate::embedded_redis::EmbeddedRedis;
use crate::startup::Application;
use crate::telemetry;

/// Runs the server. `token` is `--token`: it overrides `admin.token` from the configuration.
pub async fn serve(config: Option<PathBuf>, token: Option<String>) -> ExitCode {
    let mut settings = match Settings::load(config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(token) = token {
        if token.trim().len() < MIN_TOKEN_LEN {
            eprintln!(
                "error: --token: a token of {} characters was given; the admin token must be at \
                 least {MIN_TOKEN_LEN} characters",
                token.trim().len()
            );
            return ExitCode::from(2);
        }
        settings.admin.token = token.trim().to_owned().into();
    }
    telemetry::init(&settings.log);

    let embedded = if settings.redis.url.expose_secret().is_empty() {
        match EmbeddedRedis::start(&settings.redis.data_dir).await {
            Ok(redis) => {
                tracing::info!(data_dir = %settings.redis.data_dir.display(), "started a private redis-server");
                settings.redis.url = redis.url().into();
                Some(redis)
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    if settings.admin.token.expose_secret().is_empty() {
        match token_file::kept_or_generated(&settings.redis.data_dir) {
            Ok(kept) => {
                let how = if kept.generated {
                    "generated one and kept it in"
                } else {
                    "using the one kept in"
                };
                // Printed to an operator's terminal only: where the output is not a terminal
                // (systemd, docker, a pipe), it is kept in a log, which is no place for a
                // secret; the file says it instead.
                if std::io::stdout().is_terminal() {
                    println!(
                        "No admin token configured (REFTRACK_ADMIN__TOKEN); {how} {} (reused on \
                         every start). The admin token is:\n\n    {}\n",
                        kept.path.display(),
                        kept.token
                    );
                } else {
                    println!(
                        "No admin token configured (REFTRACK_ADMIN__TOKEN); {how} {} (reused on \
                         every start). Read it from that file: it is printed only to a terminal, \
                         never where output may be logged.",
                        kept.path.display()
                    );
                }
                settings.admin.token = kept.token.into();
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }

    let result = match Application::build(&settings).await {
        Ok(app) => {
            let shutdown = shutdown_signal();
            println!(
                "reftrack is serving on http://{} (short links under {})",
                app.address(),
                settings.http.public_base(app.address())
            );
            if let Some(api) = app.api_address() {
                println!("the API, the webhooks and the dashboard are on http://{api}");
            }
            app.run_until_stopped(shutdown).await
        }
        Err(e) => Err(e),
    };
    if let Some(redis) = embedded {
        redis.stop().await;
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM (what orchestrators send) or SIGINT (Ctrl-C). The handlers are
/// installed here, before the server says it is serving, so a signal sent right after that
/// line stops it gracefully instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    let mut interrupt = Box::pin(tokio::signal::ctrl_c());
    // Polled once now, so the SIGINT handler is installed before serving too.
    let _ = futures_util::FutureExt::now_or_never(&mut interrupt);
    async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
    }
}
