//! `samla-node run`: the daemon. The config must have `[daemon]` and `[hub]`
//! sections; the daemon itself (inbox, schedule, delivery) is `samla_node::daemon`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_node::client::ClientError;
use samla_node::daemon::{Daemon, DaemonError};

use super::args::RunArgs;

/// Runs the daemon until SIGTERM or SIGINT (or one round with `--once`); exits 5 if
/// the hub's transfer log was rewritten.
pub(super) fn run(config_path: &Path, args: RunArgs) -> Result<ExitCode> {
    samla_cli_common::logging::init_logging(args.log_json, "info");
    let config = super::load_config(config_path)?;
    let daemon = config.daemon.clone().with_context(|| {
        format!(
            "{} has no [daemon] section: add one with an inbox directory (see configs/ and docs/operations.md)",
            config.path.display()
        )
    })?;
    let link = config.hub.clone().with_context(|| {
        format!(
            "{} has no [hub] section: `samla-node init` writes one",
            config.path.display()
        )
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut daemon = Daemon::new(config, daemon, link)?;
        let stop = async {
            samla_cli_common::signal::shutdown_signal().await;
            tracing::info!("stop signal received; finishing the current step");
        };
        match daemon.run(stop, args.once).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(DaemonError::Client(e @ ClientError::HistoryChanged(_))) => {
                tracing::error!(error = %samla_cli_common::error::Chain(&e), "stopping: the hub's transfer log was rewritten; nothing more is sent until a person has looked");
                Ok(ExitCode::from(5))
            }
            Err(e) => Err(e.into()),
        }
    })
}
