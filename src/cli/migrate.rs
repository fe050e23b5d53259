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
    // Independent of each other: one failing does not keep the other from running.
    let indexed = index_links(&store).await;
    let migrated = migrate_clicks(&store).await;
    if indexed && migrated {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Adds every link to the index of all links by creation time; whether it finished.
async fn index_links(store: &Store) -> bool {
    match store.index_links_by_time().await {
        Ok(links) => {
            println!("every link indexed by creation time ({links} looked at)");
            true
        }
        Err(e) => {
            eprintln!("error: indexing every link by creation time: {e}");
            false
        }
    }
}

/// Moves the click counters of builds before the count shards; whether it finished.
async fn migrate_clicks(store: &Store) -> bool {
    match store.migrate_pre_shard_clicks(MigrateRun::Again).await {
        Ok(Migration::Finished(moved)) => {
            println!(
                "migrated the click counters of {} links and influencers, {} visitor sketches \
                 ({} year sketches dropped)",
                moved.counters, moved.sketches, moved.year_sketches
            );
            true
        }
        Ok(Migration::Busy) => {
            eprintln!("error: another process is migrating; try again when it is done");
            false
        }
        Ok(Migration::LeaseLost(_)) => {
            eprintln!(
                "error: the migration lost its lease part-way (Redis too slow?); run it again"
            );
            false
        }
        Ok(Migration::AlreadyDone) => true,
        Err(e) => {
            eprintln!("error: {e}");
            false
        }
    }
}
