//! `samla-custodian init`: this custodian's TLS key and certificate request (the key
//! never leaves the directory; the region CA signs the request with `samla-hub ca
//! issue-custodian`), the Ed25519 key signing its log, and a config to edit.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use samla_cli_common::files;
use samla_common::oprf::shamir::CustodianIndex;

use super::args::InitArgs;

/// A checked `init`.
pub(super) struct Init {
    dir: PathBuf,
    number: CustodianIndex,
    name: String,
    listen: SocketAddr,
}

impl Init {
    pub(super) fn prepare(args: InitArgs) -> Result<Init> {
        let number = CustodianIndex::new(args.number)
            .with_context(|| format!("--number {}", args.number))?;
        if args.name.is_empty() {
            bail!("--name: give the host name or IP address nodes reach this custodian by");
        }
        for file in [
            "custodian.toml",
            "custodian.key",
            "log.key",
            "custodian.csr",
        ] {
            let path = args.dir.join(file);
            if path.exists() {
                bail!(files::FileError::Exists { path });
            }
        }
        Ok(Init {
            dir: args.dir,
            number,
            name: args.name,
            listen: args.listen,
        })
    }

    pub(super) fn run(self) -> Result<ExitCode> {
        let written = samla_custodian::init::write(
            &self.dir,
            self.number.number(),
            &self.name,
            &self.listen.to_string(),
        )?;
        let config = written.config;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "wrote {} (edit it), log.key, custodian.key and custodian.csr in {}",
            config.display(),
            self.dir.display()
        )?;
        writeln!(out, "log key (for auditors): {}", written.log_key)?;
        writeln!(out, "Next:")?;
        writeln!(
            out,
            "  1. the region CA signs the request: samla-hub ca issue-custodian --ca-dir CA --csr {} --name {} --out-dir {}",
            written.request.display(),
            self.name,
            self.dir.display()
        )?;
        writeln!(
            out,
            "  2. put ca.crt, the ceremony's keyset.bin and custodian-{}.share (as share.key, 0600) in {}",
            self.number,
            self.dir.display()
        )?;
        writeln!(
            out,
            "  3. samla-custodian serve --config {}",
            config.display()
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
