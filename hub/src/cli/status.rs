//! `samla-hub status`: is the hub on this machine running and ready, and what does
//! its store hold.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use samla_hub::config::HubConfig;
use samla_hub::status;

use super::args::ConfigArg;

/// A checked `samla-hub status`: the config, read.
pub(super) struct Status {
    config: HubConfig,
}

impl Status {
    /// Reads the config.
    pub(super) fn prepare(args: ConfigArg) -> Result<Status> {
        Ok(Status {
            config: HubConfig::load(&args.config)?,
        })
    }

    /// Prints the status file's account and the store's size; exits 0 when ready.
    pub(super) fn run(self) -> Result<ExitCode> {
        let config = self.config;
        let path = status::path_for(&config.database);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut out = std::io::stdout().lock();
        let ready = match status::read(&path) {
            Ok(s) => {
                let ready = status::is_ready(&s, now);
                writeln!(
                    out,
                    "hub: {} (state {:?}, pid {}, listening on {}, heartbeat {} s ago)",
                    if ready { "ready" } else { "NOT READY" },
                    s.state,
                    s.pid,
                    s.listen,
                    now - s.heartbeat_at
                )?;
                writeln!(
                    out,
                    "since start: {} stored, {} refused, {} in flight",
                    s.accepted, s.refused, s.in_flight
                )?;
                ready
            }
            Err(_) => {
                writeln!(
                    out,
                    "hub: NOT RUNNING (no status file at {})",
                    path.display()
                )?;
                false
            }
        };
        if config.database.exists() {
            let store = super::open_store(&config)?;
            let (size, _) = store.stored_root()?;
            writeln!(
                out,
                "store {}: transfer log of {size} entries; {} projects configured, {} nodes registered",
                config.database.display(),
                config.projects.len(),
                config.nodes.len()
            )?;
        }
        Ok(if ready {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}
