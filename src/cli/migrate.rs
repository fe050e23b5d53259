//! `reftrack migrate`: adds every link to the index of all links by creation time (see
//! `store/links_index.rs`), and moves the click counters of builds before the count shards into
//! them (see `store/migrate.rs`), for what an old replica wrote after the start-up migrations.
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
    let store = match Store::connect(
        &RedisTarget::of(&settings.redis),
        &settings.redis.key_prefix,
    )
    .await
    {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match store.index_links_by_time(MigrateRun::Again).await {
        Ok(links) => println!(
            "every link indexed by creation time ({} looked at)",
            links.unwrap_or_default()
        ),
        Err(e) => {
            eprintln!("error: indexing every link by creation time: {e}");
            return ExitCode::FAILURE;
        }
    }
    match store.migrate_pre_shard_clicks(MigrateRun::Again).await {
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
