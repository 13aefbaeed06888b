//! The pseudonym master key file on disk, handled the way a security tool should:
//! created new with mode 0600 and never overwritten, refused if other users can read
//! it, size-capped when read, and never printed.

use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};
use samla_cli_common::files::{self, FileError};
use samla_common::pseudonym::{KeyFileError, MasterSecret, KEY_FILE_MAX_BYTES};
use samla_common::signing::SigningKey;

/// The largest signing key file read, in bytes.
const SIGNING_KEY_MAX_BYTES: u64 = 4096;

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The master key file exists already.
    #[error("refusing to overwrite existing file {path}\n\nChoose another path, or move the old file away if you really mean to replace it (a new master key changes every pseudonym).")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be read or written, or others can read it.
    #[error(transparent)]
    File(#[from] FileError),
    /// The contents are not a key.
    #[error("key file {path}")]
    Contents {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: KeyFileError,
    },
    /// The signing key file does not hold an Ed25519 key.
    #[error("signing key {path}")]
    SigningKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: samla_common::signing::SigningError,
    },
    /// The system random source failed.
    #[error("the system random number generator failed")]
    Random,
}

/// Creates a new key file with a fresh random master secret; returns the secret.
pub fn generate(path: &Path) -> Result<MasterSecret, KeyError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| KeyError::Random)?;
    let secret = MasterSecret::from_bytes(bytes);
    bytes.fill(0);
    files::write_private(path, secret.to_key_file().as_bytes()).map_err(|e| match e {
        FileError::Exists { path } => KeyError::Exists { path },
        other => KeyError::File(other),
    })?;
    Ok(secret)
}

/// Reads a key file, refusing one that group or others can access.
pub fn load(path: &Path) -> Result<MasterSecret, KeyError> {
    let contents = files::read_private(path, KEY_FILE_MAX_BYTES as u64, "key file")?;
    MasterSecret::from_key_file(&contents).map_err(|source| KeyError::Contents {
        path: path.to_owned(),
        source,
    })
}

/// Reads the node's submission signing key (PKCS#8), refusing one others can access.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let contents = files::read_private(path, SIGNING_KEY_MAX_BYTES, "signing key")?;
    SigningKey::from_pkcs8(&contents).map_err(|source| KeyError::SigningKey {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn generate_then_load_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let made = generate(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load(&path).unwrap().key_id(), made.key_id());
        assert!(matches!(generate(&path), Err(KeyError::Exists { .. })));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = load(&path).err().unwrap();
        assert!(matches!(
            err,
            KeyError::File(FileError::Permissions { mode: 0o640, .. })
        ));
        assert!(err.to_string().contains("chmod 600"));
    }
}
