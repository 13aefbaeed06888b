//! The custodian's files, read and checked before it serves: the key set and the key
//! share from the ceremony (the share refused when others can read it, and checked
//! against the key set), the log's signing key, and the TLS files. A file that cannot
//! be used is named once, with its config key, the path as resolved and what the file
//! is. How private files are written and read is `samla_cli_common::files`.

use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use samla_cli_common::files::{read_private, read_small, FileError, MAX_KEY_BYTES};
use samla_common::oprf::ceremony::{CeremonyError, CustodianSecret, PublicKeySet};
use samla_common::signing::{SigningError, SigningKey};

use crate::config::CustodianConfig;

/// The largest key set file read (256 slots of 16 custodians is about 400 KiB).
pub const MAX_KEY_SET_BYTES: u64 = 1 << 20;

/// What is wrong with one file.
#[derive(Debug, thiserror::Error)]
pub enum FileFault {
    /// It could not be read, or is a private file others can read.
    #[error(transparent)]
    File(#[from] FileError),
    /// It is not a PEM certificate or key.
    #[error("not usable")]
    Pem(#[source] samla_common::tls::TlsError),
    /// It is not an Ed25519 key.
    #[error("not usable")]
    Signing(#[source] SigningError),
    /// It is not a key set or share, or the share is not of this key set.
    #[error("not usable")]
    Ceremony(#[source] CeremonyError),
    /// It is not a key set.
    #[error("not a key set written by `samla-custodian ceremony`")]
    KeySet(#[source] samla_common::codec::CodecError),
}

/// A file the config names could not be used.
#[derive(Debug, thiserror::Error)]
#[error("config {}: {key} = {}\n\n{}", config.display(), path.display(), what_it_is(key))]
pub struct ConfigFileError {
    /// The config.
    pub config: PathBuf,
    /// The key naming the file.
    pub key: &'static str,
    /// The file, resolved.
    pub path: PathBuf,
    /// What is wrong.
    #[source]
    pub fault: FileFault,
}

fn what_it_is(key: &str) -> &'static str {
    match key {
        "key_set" => "key_set is the public key set from the key ceremony (keyset.bin, from `samla-custodian ceremony`).",
        "share" => "share is this custodian's key share from the key ceremony (custodian-N.share, handed to this custodian alone); it must match key_set.",
        "region_ca" => "region_ca is the region CA's certificate, ca.crt from `samla-hub ca init`.",
        "certificate" | "private_key" => "certificate and private_key are the custodian's own: the key from `samla-custodian init`, the certificate from `samla-hub ca issue-custodian --csr custodian.csr`.",
        _ => "log_key is the key signing the custodian's log, log.key from `samla-custodian init`.",
    }
}

/// Everything the custodian reads before serving.
pub struct CustodianFiles {
    /// The key set.
    pub key_set: PublicKeySet,
    /// This custodian's share, checked against the key set.
    pub share: CustodianSecret,
    /// The region CA.
    pub region_ca: Vec<CertificateDer<'static>>,
    /// The server certificate chain.
    pub certificate: Vec<CertificateDer<'static>>,
    /// Its key.
    pub private_key: PrivateKeyDer<'static>,
    /// The log's signing key.
    pub log_key: SigningKey,
}

/// Reads a key set file.
pub fn read_key_set(path: &Path) -> Result<PublicKeySet, FileFault> {
    let bytes = read_small(path, MAX_KEY_SET_BYTES, "key set")?;
    samla_common::codec::decode(&bytes).map_err(FileFault::KeySet)
}

/// Reads a share file (refused if others can read it), unchecked.
pub fn read_share(path: &Path) -> Result<CustodianSecret, FileFault> {
    let bytes = read_private(path, MAX_KEY_SET_BYTES, "key share")?;
    CustodianSecret::from_bytes(&bytes).map_err(FileFault::Ceremony)
}

/// Reads the log's signing key.
pub fn read_log_key(path: &Path) -> Result<SigningKey, FileFault> {
    let document = read_private(path, MAX_KEY_BYTES, "log key")?;
    SigningKey::from_pkcs8(&document).map_err(FileFault::Signing)
}

impl CustodianFiles {
    /// Reads every file the config names; the first that cannot be used is named.
    pub fn read(config: &CustodianConfig) -> Result<CustodianFiles, ConfigFileError> {
        let failed = |key: &'static str, path: &Path| {
            let config = config.path.clone();
            let path = path.to_owned();
            move |fault: FileFault| ConfigFileError {
                config,
                key,
                path,
                fault,
            }
        };
        let key_set = read_key_set(&config.key_set).map_err(failed("key_set", &config.key_set))?;
        let share = read_share(&config.share)
            .and_then(|s| {
                s.check(&key_set).map_err(FileFault::Ceremony)?;
                Ok(s)
            })
            .map_err(failed("share", &config.share))?;
        let pem_certificates = |key, path: &Path| {
            read_small(path, MAX_KEY_BYTES, "certificate")
                .map_err(FileFault::from)
                .and_then(|bytes| {
                    samla_common::tls::certificates_from_pem(&bytes).map_err(FileFault::Pem)
                })
                .map_err(failed(key, path))
        };
        let region_ca = pem_certificates("region_ca", &config.region_ca)?;
        let certificate = pem_certificates("certificate", &config.certificate)?;
        let private_key = read_private(&config.private_key, MAX_KEY_BYTES, "private key")
            .map_err(FileFault::from)
            .and_then(|bytes| {
                samla_common::tls::private_key_from_pem(&bytes).map_err(FileFault::Pem)
            })
            .map_err(failed("private_key", &config.private_key))?;
        let log_key = read_log_key(&config.log_key).map_err(failed("log_key", &config.log_key))?;
        Ok(CustodianFiles {
            key_set,
            share,
            region_ca,
            certificate,
            private_key,
            log_key,
        })
    }
}
