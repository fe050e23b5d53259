//! `reftrack serve`: configuration, the private Redis of the default mode, the admin token,
//! then the server until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::embedded_redis::EmbeddedRedis;
use crate::startup::Application;
use crate::{domain, telemetry};

pub async fn serve(config: Option<PathBuf>) -> ExitCode {
    let mut settings = match Settings::load(config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
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
        let token = domain::random_string(&nanoid::alphabet::SAFE, 32);
        // Printed once, to the operator's terminal, never to the logs.
        println!(
            "No admin token configured (REFTRACK_ADMIN__TOKEN); this run's token is:\n\n    {token}\n"
        );
        settings.admin.token = token.into();
    }

    let result = match Application::build(&settings).await {
        Ok(app) => {
            println!(
                "reftrack is serving on http://{} (short links under {})",
                app.address(),
                settings.http.public_base(app.address())
            );
            app.run_until_stopped(shutdown_signal()).await
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

/// Completes on SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
