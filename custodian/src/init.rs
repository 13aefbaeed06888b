//! What `samla-custodian init` writes in a custodian's directory: its TLS key and a
//! certificate request for the region CA (the key never leaves the directory), the
//! Ed25519 key signing its log, and a config to edit. `samla-hub demo --custodians`
//! writes its custodians' directories with the same function.

use std::path::{Path, PathBuf};

use samla_cli_common::files::{self, FileError};
use samla_common::signing::{SigningError, SigningKey, VerifyingKey};

use crate::config::CustodianConfig;

/// Why a custodian's directory could not be written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A file could not be written (or already exists).
    #[error(transparent)]
    File(#[from] FileError),
    /// The log key could not be made.
    #[error("making the log key")]
    LogKey(#[from] SigningError),
    /// The TLS key or the certificate request could not be made.
    #[error("making the TLS key and certificate request")]
    Request(#[from] rcgen::Error),
}

/// What was written.
#[derive(Debug)]
pub struct Written {
    /// The config (`custodian.toml`).
    pub config: PathBuf,
    /// The request for the region CA (`custodian.csr`).
    pub request: PathBuf,
    /// The public key of the log key, for auditors.
    pub log_key: VerifyingKey,
}

/// Writes `log.key`, `custodian.key` (both 0600), `custodian.csr` (for host `name`)
/// and `custodian.toml` (listening on `listen`, custodian `number`) in `dir`, which
/// is created if needed; no existing file is overwritten.
pub fn write(dir: &Path, number: u8, name: &str, listen: &str) -> Result<Written, InitError> {
    files::create_dir(dir)?;
    let log_document = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new())?;
    let log_key = SigningKey::from_pkcs8(&log_document)?.verifying_key();
    let tls_key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()])?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("samla-custodian {number} {name}"),
    );
    let csr = params.serialize_request(&tls_key)?;
    let config = dir.join("custodian.toml");
    let request = dir.join("custodian.csr");
    files::write_private(&dir.join("log.key"), &log_document)?;
    files::write_private(
        &dir.join("custodian.key"),
        tls_key.serialize_pem().as_bytes(),
    )?;
    files::write_public(&request, csr.pem()?.as_bytes())?;
    files::write_public(
        &config,
        CustodianConfig::template(listen, number).as_bytes(),
    )?;
    Ok(Written {
        config,
        request,
        log_key,
    })
}
