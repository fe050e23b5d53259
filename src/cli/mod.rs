//! The `reftrack` command line: `serve` runs the server; the other commands talk to a running
//! server over the admin API.
//!
//! # Layout
//!
//! - `serve`: the server's start-up (configuration, the private Redis, the admin token).
//! - `client`: the admin API client the other commands share, with the errors people see.
//! - `commands`: influencers, links, coupons, costs, order corrections and the ROI report.

mod client;
mod commands;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use client::{ApiClient, CliError};
pub use commands::{
    CostCommand, CouponCommand, InfluencerCommand, LinkCommand, OrderCommand, ReportArgs,
};

#[derive(Debug, Parser)]
#[command(
    name = "reftrack",
    version,
    about = "Affiliate tracking server: referral links, clicks, orders and ROI"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// A TOML file overriding config/default.toml (environment variables override both).
        #[arg(long, env = "REFTRACK_CONFIG_FILE")]
        config: Option<PathBuf>,
    },
    #[command(flatten)]
    Admin(AdminCommand),
}

/// Commands that talk to a running server over the admin API.
#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Add or list influencers.
    #[command(subcommand)]
    Influencer(InfluencerCommand),
    /// Create or list referral links.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Give an influencer a discount code.
    #[command(subcommand)]
    Coupon(CouponCommand),
    /// Record what an influencer cost (fees, gifted products, shipping).
    #[command(subcommand)]
    Cost(CostCommand),
    /// Correct an order's attribution.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Print the ROI report, best return first.
    Report(ReportArgs),
}

/// Where the server is and how to sign in: for every command but `serve`.
#[derive(Debug, clap::Args)]
pub struct Connection {
    /// The server's base URL.
    #[arg(
        long,
        env = "REFTRACK_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// The admin token (the one `serve` printed, or REFTRACK_ADMIN__TOKEN).
    #[arg(long, env = "REFTRACK_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
}

impl Cli {
    pub async fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Serve { config } => return serve::serve(config).await,
            Command::Admin(command) => admin(command, &self.connection).await,
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Runs an admin command against the server.
async fn admin(command: AdminCommand, connection: &Connection) -> Result<(), CliError> {
    let api = ApiClient::new(&connection.url, connection.token.as_deref())?;
    match command {
        AdminCommand::Influencer(command) => commands::influencer(&api, command).await,
        AdminCommand::Link(command) => commands::link(&api, command).await,
        AdminCommand::Coupon(command) => commands::coupon(&api, command).await,
        AdminCommand::Cost(command) => commands::cost(&api, command).await,
        AdminCommand::Order(command) => commands::order(&api, command).await,
        AdminCommand::Report(args) => commands::report(&api, args).await,
    }
}
