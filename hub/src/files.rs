//! The hub's key and certificate files: PEM certificates and TLS private keys, read
//! with a size cap, and the receipt signing key, refused (like every private key the
//! binaries read) when group or others can access it. [`ServeFiles`] reads every file
//! the config names before the hub opens its database, and names a file that cannot
//! be used once, with its config key and the path as resolved. How files are written
//! (0600, never overwritten) and read is `samla_cli_common::files`; this module only
//! adds what the hub reads them as.

use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use samla_cli_common::files::{read_private, read_small, FileError, MAX_KEY_BYTES};
use samla_common::signing::{SigningError, SigningKey};

/// Why a PEM file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// The file could not be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file does not hold what was expected.
    #[error("{path}")]
    Contents {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: samla_common::tls::TlsError,
    },
}

/// Why the receipt key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptKeyError {
    /// The file could not be read, or others can read it.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file holds no Ed25519 key.
    #[error("receipt key {path}")]
    Contents {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: SigningError,
    },
}

/// Reads the hub's receipt signing key (PKCS#8), refusing it if others can access it.
pub fn receipt_key(path: &Path) -> Result<SigningKey, ReceiptKeyError> {
    let document = read_private(path, MAX_KEY_BYTES, "receipt key")?;
    SigningKey::from_pkcs8(&document).map_err(|source| ReceiptKeyError::Contents {
        path: path.to_owned(),
        source,
    })
}

/// Reads every certificate in a PEM file.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    samla_common::tls::certificates_from_pem(&read_small(path, MAX_KEY_BYTES, "certificate")?)
        .map_err(|source| PemError::Contents {
            path: path.to_owned(),
            source,
        })
}

/// What is wrong with a file the hub config names.
#[derive(Debug, thiserror::Error)]
pub enum FileFault {
    /// It could not be read (missing, a directory, no permission).
    #[error("cannot be read")]
    Unreadable(#[source] std::io::Error),
    /// It is a private key that group or others can access.
    #[error("is accessible by other users (mode {mode:o})\n\nRestrict it to its owner: chmod 600 {}", path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// The permission bits found.
        mode: u32,
    },
    /// It is larger than such a file can be.
    #[error("is larger than {limit} bytes, more than it can be")]
    TooLarge {
        /// The most that is read.
        limit: u64,
    },
    /// It does not hold a PEM certificate or key.
    #[error("not usable")]
    Pem(#[source] samla_common::tls::TlsError),
    /// It does not hold an Ed25519 key.
    #[error("not usable")]
    Signing(#[source] SigningError),
}

impl From<FileError> for FileFault {
    fn from(error: FileError) -> FileFault {
        match error {
            FileError::Permissions { path, mode, .. } => FileFault::Permissions { path, mode },
            FileError::TooLarge { limit, .. } => FileFault::TooLarge { limit },
            FileError::Read { source, .. }
            | FileError::CreateDir { source, .. }
            | FileError::Write { source, .. } => FileFault::Unreadable(source),
            other @ (FileError::Exists { .. } | FileError::NotEmpty { .. }) => {
                FileFault::Unreadable(std::io::Error::other(other.to_string()))
            }
        }
    }
}

/// A file the hub config names could not be used: the message names the config, the
/// key and the path as resolved, once; the hint says what the file is and where it
/// comes from.
#[derive(Debug, thiserror::Error)]
#[error("config {}: {key} = {}\n\n{}", config.display(), path.display(), what_it_is(key))]
pub struct ConfigFileError {
    /// The hub config.
    pub config: PathBuf,
    /// The config key naming the file (`region_ca`, `certificate`, `private_key`,
    /// `receipt_key`).
    pub key: &'static str,
    /// The file, as resolved against the config's directory.
    pub path: PathBuf,
    /// What is wrong with it.
    #[source]
    pub fault: FileFault,
}

fn what_it_is(key: &str) -> &'static str {
    match key {
        "region_ca" => "region_ca is the region CA's certificate, ca.crt from `samla-hub ca init` (never ca.key); a relative path is relative to the config's directory.",
        "certificate" | "private_key" => "certificate and private_key are the hub's own certificate and key, hub.crt and hub.key from `samla-hub ca issue-hub`; a relative path is relative to the config's directory.",
        _ => "receipt_key is the hub's receipt signing key, receipt.key from `samla-hub init`; a relative path is relative to the config's directory.",
    }
}

/// The files a hub needs to serve, read and checked before it opens its database.
pub struct ServeFiles {
    /// The region CA's certificates (`region_ca`).
    pub region_ca: Vec<CertificateDer<'static>>,
    /// The hub's certificate chain (`certificate`).
    pub certificate: Vec<CertificateDer<'static>>,
    /// Its private key (`private_key`).
    pub private_key: PrivateKeyDer<'static>,
    /// The receipt signing key (`receipt_key`).
    pub receipt_key: SigningKey,
}

impl ServeFiles {
    /// Reads every file the config names, in the config's order; the first that
    /// cannot be used is named with its key.
    pub fn read(config: &crate::config::HubConfig) -> Result<ServeFiles, ConfigFileError> {
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
        let private_key = read_small(&config.private_key, MAX_KEY_BYTES, "private key")
            .map(zeroize::Zeroizing::new)
            .map_err(FileFault::from)
            .and_then(|bytes| {
                samla_common::tls::private_key_from_pem(&bytes).map_err(FileFault::Pem)
            })
            .map_err(failed("private_key", &config.private_key))?;
        let receipt_key = read_private(&config.receipt_key, MAX_KEY_BYTES, "receipt key")
            .map_err(FileFault::from)
            .and_then(|document| SigningKey::from_pkcs8(&document).map_err(FileFault::Signing))
            .map_err(failed("receipt_key", &config.receipt_key))?;
        Ok(ServeFiles {
            region_ca,
            certificate,
            private_key,
            receipt_key,
        })
    }
}
