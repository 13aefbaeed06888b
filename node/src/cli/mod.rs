//! The `samla-node` command line, in two stages: clap parses the raw flags
//! ([`args`]), then each command's module checks them into a configuration (config
//! read, keys loaded, projects and period resolved) before any work starts, and runs
//! it. Errors are printed once per cause, with their hint, by
//! `samla_cli_common::error`; a broken pipe is not an error. The exit codes are in
//! [`args::EXIT_CODES`].

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use samla_cli_common::error::Hint;
use samla_cli_common::files::FileError;
use samla_node::config::{ConfigError, HubLink, NodeConfig};

mod args;
mod audit;
mod check;
mod daemon;
mod demo;
mod init;
mod key;
mod outbox;
mod preview;
mod send;
mod submit;
mod synth;

use args::{Cli, Command};

/// Runs the command line and turns the outcome into an exit status.
pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => samla_cli_common::error::exit("samla-node", &e, 2),
    }
}

/// Checks the command's arguments, then runs it.
fn run(cli: Cli) -> Result<ExitCode> {
    let reference = cli
        .reference_date
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let config = cli.config.as_path();
    match cli.command {
        Command::Key(command) => key::run(command),
        Command::Synth(args) => synth::Synth::prepare(args)?.run(),
        Command::Check(args) => check::Check::prepare(config, reference, args)?.run(),
        Command::Preview(args) => preview::Preview::prepare(config, reference, args)?.run(),
        Command::Demo(args) => demo::Demo::prepare(reference, args)?.run(),
        Command::Init(args) => init::Init::prepare(args)?.run(),
        Command::Submit(args) => submit::Submit::prepare(config, reference, args)?.run(),
        Command::Send(args) => send::Send::prepare(config, &args)?.run(),
        Command::Run(args) => daemon::run(config, args),
        Command::Outbox => outbox::List::prepare(config, true)?.run(),
        Command::Status => outbox::List::prepare(config, false)?.run(),
        Command::Audit(args) => audit::Audit::prepare(config, args)?.run(),
    }
}

/// Reads the node config; a config that is not there gets a hint where to find one.
fn load_config(path: &Path) -> Result<NodeConfig> {
    NodeConfig::load(path).map_err(|e| {
        let missing = matches!(e, ConfigError::File(FileError::Read { .. }));
        let e = anyhow::Error::new(e);
        if missing {
            e.context(Hint(
                "Give the node config with --config FILE (or SAMLA_NODE_CONFIG); configs/ has examples.",
            ))
        } else {
            e
        }
    })
}

/// The config's `[hub]` section, which every command that talks to the hub needs.
fn hub_link(config: &NodeConfig) -> Result<HubLink> {
    config.hub.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "{} has no [hub] section\n\nRun `samla-node init` to create a config with one, or add it by hand (see configs/).",
            config.path.display()
        )
    })
}
