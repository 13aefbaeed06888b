//! The `samla-hub` command line, in two stages: clap parses the raw flags
//! ([`args`]), then each command's module checks them into a configuration (config
//! read, keys loaded, database opened, files read) before any work starts, and runs
//! it. Errors are printed once per cause, with their hint, by
//! `samla_cli_common::error`; a broken pipe is not an error.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use samla_hub::config::HubConfig;
use samla_hub::store::Store;

mod args;
mod audit;
mod ca;
#[cfg(feature = "demo")]
mod demo;
mod init;
pub mod report;
mod serve;
mod status;

use args::{Cli, Command};

/// Runs the command line and turns the outcome into an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own account of what happens; the server's lines would bury it.
    #[cfg(feature = "demo")]
    let default_level = if matches!(cli.command, Command::Demo(_)) {
        "warn"
    } else {
        "info"
    };
    #[cfg(not(feature = "demo"))]
    let default_level = "info";
    samla_cli_common::logging::init_logging(cli.log_json, default_level);
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => samla_cli_common::error::exit("samla-hub", &e, 2),
    }
}

/// Checks the command's arguments, then runs it.
fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Ca(command) => ca::CaJob::prepare(command, time::OffsetDateTime::now_utc())?.run(),
        Command::Init(args) => init::Init::prepare(args).run(),
        Command::Audit(args) => audit::Audit::prepare(args)?.run(),
        Command::Report(args) => {
            report::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::Demo::prepare(args)?.run(),
        Command::Status(args) => status::Status::prepare(args)?.run(),
        Command::Serve(args) => serve::Serve::prepare(args)?.run(),
    }
}

/// Opens the hub's database, naming it in the error.
fn open_store(config: &HubConfig) -> Result<Store> {
    Store::open(&config.database).with_context(|| format!("opening {}", config.database.display()))
}
