//! The `reftrack` command line: `serve` runs the server; the other commands talk to a running
//! server over the admin API.
//!
//! # Layout
//!
//! - `serve`: the server's start-up (configuration, the private Redis, the admin token).
//! - `migrate`: moves click counters of builds before the count shards, straight in Redis.
//! - `connection`: where the server is and which admin token to send.
//! - `token_file`: the generated admin token kept in the data directory.
//! - `client`: the admin API client the other commands share, with the errors people see.
//! - `lookup`: handles and campaign names accepted wherever an id is.
//! - `output`: `--json` or text for people (tables).
//! - one file per noun: `influencers`, `links`, `coupons`, `costs`, `campaigns`, `orders`,
//!   `report`.

mod campaigns;
mod client;
mod connection;
mod costs;
mod coupons;
mod influencers;
mod links;
mod lookup;
mod migrate;
mod orders;
mod output;
mod report;
mod serve;
mod token_file;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub use campaigns::CampaignCommand;
use client::{ApiClient, CliError};
pub use connection::Connection;
pub use costs::CostCommand;
pub use coupons::CouponCommand;
pub use influencers::InfluencerCommand;
pub use links::LinkCommand;
pub use orders::OrderCommand;
use output::Answer;
pub use report::ReportArgs;
pub use token_file::{read_token, token_file};

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
    /// Print the server's answer as JSON instead of a table (every command but serve, migrate and
    /// completions).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// A TOML file overriding config/default.toml (environment variables override both).
        #[arg(long, env = "REFTRACK_CONFIG_FILE")]
        config: Option<PathBuf>,
    },
    /// Move click counters left by builds before the count shards into them (serve does this
    /// once at start; run it after the last old replica stopped, to move what it counted since).
    Migrate {
        /// A TOML file overriding config/default.toml (environment variables override both).
        #[arg(long, env = "REFTRACK_CONFIG_FILE")]
        config: Option<PathBuf>,
    },
    /// Print a shell completion script, e.g. `reftrack completions bash > /etc/bash_completion.d/reftrack`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    #[command(flatten)]
    Admin(AdminCommand),
}

/// Commands that talk to a running server over the admin API.
#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Add, list, show or disable influencers.
    #[command(subcommand)]
    Influencer(InfluencerCommand),
    /// Create, list, show, edit or disable referral links.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Give, list or remove an influencer's discount codes.
    #[command(subcommand)]
    Coupon(CouponCommand),
    /// Record, list or delete what an influencer cost (fees, gifted products, shipping).
    #[command(subcommand)]
    Cost(CostCommand),
    /// Create, list, show or compare campaigns.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// List orders and how each was attributed.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Print the ROI report, best return first.
    Report(ReportArgs),
}

impl Cli {
    pub async fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Serve { .. } if self.connection.data_dir.is_some() => {
                eprintln!(
                    "error: --data-dir tells the admin commands where the token file is; \
                     `serve` keeps its data in redis.data_dir (set REFTRACK_REDIS__DATA_DIR \
                     or the config file)"
                );
                return ExitCode::from(2);
            }
            Command::Serve { config } => {
                // REFTRACK_TOKEN is the admin commands' token (possibly a report token): the
                // server takes only a `--token` written on its own command line.
                let given = std::env::args_os()
                    .any(|a| a == "--token" || a.to_string_lossy().starts_with("--token="));
                if !given && std::env::var_os("REFTRACK_TOKEN").is_some_and(|t| !t.is_empty()) {
                    eprintln!(
                        "note: REFTRACK_TOKEN is the admin commands' token; serve ignores it \
                         (the server's is REFTRACK_ADMIN__TOKEN, or --token)"
                    );
                }
                let token = self.connection.token.filter(|_| given);
                return serve::serve(config, token).await;
            }
            Command::Migrate { config } => return migrate::migrate(config.as_deref()).await,
            Command::Completions { shell } => {
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "reftrack", &mut script);
                return print(&script);
            }
            Command::Admin(command) => admin(command, &self.connection, self.json).await,
        };
        match result {
            Ok(answer) => print(format!("{}\n", answer.render(self.json)).as_bytes()),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Runs an admin command against the server.
async fn admin(
    command: AdminCommand,
    connection: &Connection,
    json: bool,
) -> Result<Answer, CliError> {
    let api = ApiClient::new(&connection.url, connection.token().as_deref())?;
    match command {
        AdminCommand::Influencer(command) => influencers::run(&api, command).await,
        AdminCommand::Link(command) => links::run(&api, command).await,
        AdminCommand::Coupon(command) => coupons::run(&api, command).await,
        AdminCommand::Cost(command) => costs::run(&api, command).await,
        AdminCommand::Campaign(command) => campaigns::run(&api, command).await,
        AdminCommand::Order(command) => orders::run(&api, command).await,
        AdminCommand::Report(args) => report::run(&api, args, json).await,
    }
}

/// Writes a command's output. A reader that stops early (`reftrack report | head`) closes the
/// pipe: that is a success, not the panic `println!` makes of it.
fn print(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every argument of every command, with the command's path.
    fn arguments(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for arg in command.get_arguments() {
            out.push((path.to_owned(), arg.clone()));
        }
        for sub in command.get_subcommands() {
            arguments(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_command_and_argument_explains_itself_in_help() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        let mut all = Vec::new();
        arguments(&cli, "reftrack", &mut all);
        for (path, arg) in all {
            if matches!(arg.get_id().as_str(), "help" | "version") {
                continue;
            }
            assert!(
                arg.get_help().is_some(),
                "{path} {} has no help text",
                arg.get_id()
            );
        }
        for sub in cli.get_subcommands() {
            assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
            for verb in sub.get_subcommands() {
                assert!(
                    verb.get_about().is_some(),
                    "{} {} has no help",
                    sub.get_name(),
                    verb.get_name()
                );
            }
        }
    }
}
