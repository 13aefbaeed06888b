//! Private files on disk: created new with mode 0600, never overwritten, and PEM
//! certificates and keys read back with size caps.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The largest key or certificate file read, in bytes.
const MAX_PEM_BYTES: u64 = 1 << 20;

/// Why a file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file exists already.
    #[error("refusing to overwrite existing file {path}\n\nMove it away first if you mean to replace it.")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file does not hold what was expected.
    #[error("{path}: {message}")]
    Contents {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Writes a new file; `private` files get mode 0600, others 0644.
pub fn write_new(path: &Path, contents: &[u8], private: bool) -> Result<(), FileError> {
    let io = |source| FileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => FileError::Exists {
                path: path.to_owned(),
            },
            _ => io(e),
        })?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a whole small file (keys, certificates), refusing anything over 1 MiB.
pub fn read_small(path: &Path) -> Result<Vec<u8>, FileError> {
    let io = |source| FileError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(FileError::Contents {
            path: path.to_owned(),
            message: "larger than a key or certificate file can be".to_owned(),
        });
    }
    Ok(bytes)
}

/// Reads every certificate in a PEM file.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, FileError> {
    samla_common::tls::certificates_from_pem(&read_small(path)?).map_err(|e| FileError::Contents {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Reads a PEM private key.
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, FileError> {
    let bytes = zeroize::Zeroizing::new(read_small(path)?);
    samla_common::tls::private_key_from_pem(&bytes).map_err(|e| FileError::Contents {
        path: path.to_owned(),
        message: e.to_string(),
    })
}
