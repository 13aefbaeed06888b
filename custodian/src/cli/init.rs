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
use samla_common::signing::SigningKey;
use samla_custodian::config::CustodianConfig;

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
        files::create_dir(&self.dir)?;
        let log_document = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new())?;
        let log_key = SigningKey::from_pkcs8(&log_document)?;
        let tls_key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(vec![self.name.clone()])?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("samla-custodian {} {}", self.number, self.name),
        );
        let csr = params.serialize_request(&tls_key)?;
        let config = self.dir.join("custodian.toml");
        files::write_private(&self.dir.join("log.key"), &log_document)?;
        files::write_private(
            &self.dir.join("custodian.key"),
            tls_key.serialize_pem().as_bytes(),
        )?;
        files::write_public(&self.dir.join("custodian.csr"), csr.pem()?.as_bytes())?;
        files::write_public(
            &config,
            CustodianConfig::template(&self.listen.to_string(), self.number.number()).as_bytes(),
        )?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "wrote {} (edit it), log.key, custodian.key and custodian.csr in {}",
            config.display(),
            self.dir.display()
        )?;
        writeln!(out, "log key (for auditors): {}", log_key.verifying_key())?;
        writeln!(out, "Next:")?;
        writeln!(
            out,
            "  1. the region CA signs the request: samla-hub ca issue-custodian --ca-dir CA --csr {} --name {} --out-dir {}",
            self.dir.join("custodian.csr").display(),
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
