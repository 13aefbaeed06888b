//! The pseudonym master key file on disk, handled the way a security tool should:
//! created new with mode 0600 and never overwritten, refused if other users can read
//! it, size-capped when read, and never printed.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};
use samla_common::pseudonym::{KeyFileError, MasterSecret, KEY_FILE_MAX_BYTES};
use samla_common::signing::SigningKey;
use zeroize::Zeroizing;

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file exists already.
    #[error("refusing to overwrite existing file {path}\n\nChoose another path, or move the old file away if you really mean to replace it (a new master key changes every pseudonym).")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Group or others have access.
    #[error("key file {path} is accessible by other users (mode {mode:o})\n\nRestrict it to its owner: chmod 600 {path}")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// The permission bits found.
        mode: u32,
    },
    /// The contents are not a key.
    #[error("key file {path}: {source}")]
    Contents {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: KeyFileError,
    },
    /// The signing key file does not hold an Ed25519 key.
    #[error("signing key {path}: {source}")]
    SigningKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
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
    write_private(path, secret.to_key_file().as_bytes())?;
    Ok(secret)
}

/// Writes a new private file with mode 0600; never overwrites.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    write_with_mode(path, contents, 0o600)
}

/// Writes a new file others may read (mode 0644); never overwrites.
pub fn write_new(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    write_with_mode(path, contents, 0o644)
}

fn write_with_mode(path: &Path, contents: &[u8], mode: u32) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::Exists {
                path: path.to_owned(),
            },
            _ => io(e),
        })?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a key file, refusing one that group or others can access.
pub fn load(path: &Path) -> Result<MasterSecret, KeyError> {
    let contents = read_private(path, KEY_FILE_MAX_BYTES)?;
    MasterSecret::from_key_file(&contents).map_err(|source| KeyError::Contents {
        path: path.to_owned(),
        source,
    })
}

/// Reads the node's submission signing key (PKCS#8), refusing one others can access.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let contents = read_private(path, 4096)?;
    SigningKey::from_pkcs8(&contents).map_err(|source| KeyError::SigningKey {
        path: path.to_owned(),
        source,
    })
}

/// Reads a private file of at most `max` bytes, refusing it if group or others have
/// any access.
fn read_private(path: &Path, max: usize) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mode = file.metadata().map_err(io)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    let mut buffer = Zeroizing::new(Vec::new());
    file.take(max as u64 + 1)
        .read_to_end(&mut buffer)
        .map_err(io)?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
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
        assert!(matches!(err, KeyError::Permissions { mode: 0o640, .. }));
        assert!(err.to_string().contains("chmod 600"));
    }
}
