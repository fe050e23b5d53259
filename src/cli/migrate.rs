//! `reftrack migrate`: moves the click counters of builds before the count shards into them
//! (see `store/migrate.rs`), for clicks an old replica counted after the start-up migration.
//! Talks to Redis itself, as `serve` does, since the server may be busy or not running.

use std::path::Path;
use std::process::ExitCode;

use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::store::{MigrateRun, Migration, RedisTarget, Store};

pub async fn migrate(config: Option<&Path>) -> ExitCode {
    let settings = match Settings::load(config) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if settings.redis.url.expose_secret().is_empty() {
        eprintln!(
            "error: redis.url is empty: the private Redis of `serve` is migrated when `serve` \
             starts; set REFTRACK_REDIS__URL (or the config file) to migrate a Redis of your own"
        );
        return ExitCode::from(2);
    }
    let outcome = match Store::connect(
        &RedisTarget::of(&settings.redis),
        &settings.redis.key_prefix,
    )
    .await
    {
        Ok(store) => store.migrate_pre_shard_clicks(MigrateRun::Again).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(Migration::Finished(moved)) => {
            println!(
                "migrated the click counters of {} links and influencers, {} visitor sketches \
                 ({} year sketches dropped)",
                moved.counters, moved.sketches, moved.year_sketches
            );
            ExitCode::SUCCESS
        }
        Ok(Migration::Busy) => {
            eprintln!("error: another process is migrating; try again when it is done");
            ExitCode::FAILURE
        }
        Ok(Migration::LeaseLost(_)) => {
            eprintln!(
                "error: the migration lost its lease part-way (Redis too slow?); run it again"
            );
            ExitCode::FAILURE
        }
        Ok(Migration::AlreadyDone) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
