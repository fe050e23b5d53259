use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    reftrack::cli::Cli::parse().run().await
}
