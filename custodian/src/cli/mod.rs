//! The `samla-custodian` command line, in two stages like the node's and the hub's:
//! clap parses the raw flags ([`args`]), then each command's `prepare` checks them
//! into a configuration (config read, files read and checked, database opened)
//! before its `run` does any work. Errors are printed once per cause, with their
//! hint, by `samla_cli_common::error`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

mod args;
mod audit;
mod ceremony;
mod init;
mod serve;
mod setup;
mod status;

use args::{Cli, Command};

/// Runs the command line and turns the outcome into an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    samla_cli_common::logging::init_logging(cli.log_json, "info");
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => samla_cli_common::error::exit("samla-custodian", &e, 2),
    }
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Init(args) => init::Init::prepare(args)?.run(),
        Command::Ceremony(args) => ceremony::CeremonyJob::prepare(args)?.run(),
        Command::SetupDomain(args) => setup::Setup::prepare(args)?.run(),
        Command::Serve(args) => serve::Serve::prepare(args)?.run(),
        Command::Status(args) => status::Status::prepare(args)?.run(),
        Command::Audit(command) => audit::Audit::prepare(command)?.run(),
    }
}

/// A multi-threaded runtime for the commands that talk QUIC.
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
