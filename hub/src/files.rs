//! The hub's key and certificate files: PEM certificates and TLS private keys, read
//! with a size cap, and the receipt signing key, refused (like every private key the
//! binaries read) when group or others can access it. How files are written (0600,
//! never overwritten) and read is `samla_cli_common::files`; this module only adds
//! what the hub reads them as.

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

/// Reads a PEM private key.
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    let bytes = zeroize::Zeroizing::new(read_small(path, MAX_KEY_BYTES, "private key")?);
    samla_common::tls::private_key_from_pem(&bytes).map_err(|source| PemError::Contents {
        path: path.to_owned(),
        source,
    })
}
