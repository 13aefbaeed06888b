//! `samla-node run`: the daemon.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use samla_node::client::ClientError;
use samla_node::daemon::{Daemon, DaemonError};

use super::load_config;

/// The arguments of `samla-node run`.
#[derive(Args)]
pub(super) struct RunArgs {
    /// Log as JSON lines (for a log collector) instead of readable text.
    #[arg(long)]
    log_json: bool,
    /// Do one round (read the inbox and scheduled export, try to deliver) and exit.
    #[arg(long)]
    once: bool,
}

pub(super) fn run(config_path: &Path, args: RunArgs) -> Result<ExitCode> {
    init_logging(args.log_json);
    let config = load_config(config_path)?;
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
        match daemon.run(shutdown_signal(), args.once).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(DaemonError::Client(e @ ClientError::HistoryChanged(_))) => {
                tracing::error!(error = %e, "stopping: the hub's transfer log was rewritten; nothing more is sent until a person has looked");
                Ok(ExitCode::from(5))
            }
            Err(e) => Err(e.into()),
        }
    })
}

/// Completes on SIGTERM (systemd stop) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("stop signal received; finishing the current step");
}

/// Logs to standard error: readable text, or JSON lines; level from `SAMLA_LOG`.
fn init_logging(json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SAMLA_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}
