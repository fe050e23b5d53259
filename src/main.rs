use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: a click's id is allocated on an HTTP worker and
/// freed on the flusher thread, a pattern glibc's malloc handles slowly (about a tenth of
/// the redirect path's CPU time in profiles).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    reftrack::cli::Cli::parse().run().await
}
