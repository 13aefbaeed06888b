//! `samla-custodian serve`: reads and checks every file and the stored state, binds,
//! and serves until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Result;
use samla_custodian::config::CustodianConfig;

use super::args::ServeArgs;

/// A checked `serve`.
pub(super) struct Serve {
    config: CustodianConfig,
    listen: Option<SocketAddr>,
}

impl Serve {
    pub(super) fn prepare(args: ServeArgs) -> Result<Serve> {
        Ok(Serve {
            config: CustodianConfig::load(&args.config.config)?,
            listen: args.listen,
        })
    }

    pub(super) fn run(self) -> Result<ExitCode> {
        let runtime = super::runtime()?;
        runtime.block_on(async move {
            let running = samla_custodian::server::open(self.config, self.listen)?;
            running
                .serve(samla_cli_common::signal::shutdown_signal())
                .await;
            Ok(ExitCode::SUCCESS)
        })
    }
}
