//! `samla-hub serve`: the hub itself. The config is read and the hub opened (receipt
//! key loaded, database opened, registrations logged) before the runtime starts.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Result;
use samla_hub::config::HubConfig;
use samla_hub::server::Hub;

use super::args::ServeArgs;

/// An opened hub, ready to listen.
pub(super) struct Serve {
    hub: Hub,
    listen: Option<SocketAddr>,
}

impl Serve {
    /// Reads the config and opens the hub: keys and database.
    pub(super) fn prepare(args: ServeArgs) -> Result<Serve> {
        let config = HubConfig::load(&args.config.config)?;
        Ok(Serve {
            hub: Hub::open(config)?,
            listen: args.listen,
        })
    }

    /// Listens until SIGTERM or SIGINT, then drains and stops.
    pub(super) fn run(self) -> Result<ExitCode> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let running = self.hub.bind(self.listen)?;
            let address = running.local_addr()?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "samla-hub listening on {address}")?;
            out.flush()?;
            drop(out);
            running
                .serve(async {
                    samla_cli_common::signal::shutdown_signal().await;
                    tracing::info!("stop signal received");
                })
                .await;
            anyhow::Ok(())
        })?;
        Ok(ExitCode::SUCCESS)
    }
}
