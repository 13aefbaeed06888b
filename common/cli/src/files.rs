//! Files the binaries write and read, handled the way rage handles key files: a new
//! file is created with `create_new` (never overwriting) and mode 0600 when private;
//! a private file that group or others can access is refused when read; every read is
//! capped before it is allocated.
//!
//! Each error names the file, and what it is (`key file`, `receipt key`, `config`,
//! `bundle`), so a binary prints it as it is.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The largest key or certificate file read, in bytes.
pub const MAX_KEY_BYTES: u64 = 1 << 20;

/// Why a file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file exists already.
    #[error(
        "refusing to overwrite existing file {path}\n\nMove it away first if you mean to replace it."
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Reading failed.
    #[error("reading {what} {path}")]
    Read {
        /// What the file is, for the message (`config`, `key file`, …).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A directory that should be new or empty holds files.
    #[error("{path} is not empty\n\nGive an empty or new directory with --dir.")]
    NotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// A directory could not be created.
    #[error("creating directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing failed.
    #[error("writing {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A private file that group or others can access.
    #[error(
        "{what} {path} is accessible by other users (mode {mode:o})\n\nRestrict it to its owner: chmod 600 {path}"
    )]
    Permissions {
        /// What the file is.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The permission bits found.
        mode: u32,
    },
    /// Larger than such a file can be.
    #[error("{what} {path} is larger than {limit} bytes, more than a {what} can be")]
    TooLarge {
        /// What the file is.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The most that is read.
        limit: u64,
    },
}

/// Creates a directory and its parents, if missing.
pub fn create_dir(path: &Path) -> Result<(), FileError> {
    std::fs::create_dir_all(path).map_err(|source| FileError::CreateDir {
        path: path.to_owned(),
        source,
    })
}

/// Checks that a directory is new (not there yet) or empty, so that nothing in it is
/// overwritten or mixed up with what a command writes.
pub fn require_new_or_empty_dir(path: &Path) -> Result<(), FileError> {
    if !path.exists() {
        return Ok(());
    }
    let mut entries =
        std::fs::read_dir(path).map_err(|source| read_error(path, "directory", source))?;
    match entries.next() {
        None => Ok(()),
        Some(_) => Err(FileError::NotEmpty {
            path: path.to_owned(),
        }),
    }
}

/// Writes a new private file (mode 0600); never overwrites.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    write_new(path, contents, 0o600)
}

/// Writes a new file others may read (mode 0644); never overwrites.
pub fn write_public(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    write_new(path, contents, 0o644)
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), FileError> {
    let failed = |source| FileError::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => FileError::Exists {
                path: path.to_owned(),
            },
            _ => failed(e),
        })?;
    file.write_all(contents).map_err(failed)?;
    file.sync_all().map_err(failed)
}

/// Reads a private file of at most `limit` bytes into memory that is zeroed when
/// dropped, refusing it if group or others have any access.
pub fn read_private(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, FileError> {
    let file = open(path, what)?;
    let mode = file
        .metadata()
        .map_err(|source| read_error(path, what, source))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(FileError::Permissions {
            what,
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    let mut buffer = Zeroizing::new(Vec::new());
    read_capped(file, path, limit, what, &mut buffer)?;
    Ok(buffer)
}

/// Reads a whole file of at most `limit` bytes.
pub fn read_small(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, FileError> {
    let mut buffer = Vec::new();
    read_capped(open(path, what)?, path, limit, what, &mut buffer)?;
    Ok(buffer)
}

fn open(path: &Path, what: &'static str) -> Result<std::fs::File, FileError> {
    std::fs::File::open(path).map_err(|source| read_error(path, what, source))
}

fn read_error(path: &Path, what: &'static str, source: std::io::Error) -> FileError {
    FileError::Read {
        what,
        path: path.to_owned(),
        source,
    }
}

fn read_capped(
    file: std::fs::File,
    path: &Path,
    limit: u64,
    what: &'static str,
    buffer: &mut Vec<u8>,
) -> Result<(), FileError> {
    file.take(limit.saturating_add(1))
        .read_to_end(buffer)
        .map_err(|source| read_error(path, what, source))?;
    if buffer.len() as u64 > limit {
        return Err(FileError::TooLarge {
            what,
            path: path.to_owned(),
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_0600_never_overwritten_and_refused_when_exposed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_private(&path, b"abc").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert!(matches!(
            write_private(&path, b"other"),
            Err(FileError::Exists { .. })
        ));
        assert_eq!(&*read_private(&path, 3, "key file").unwrap(), b"abc");
        assert!(matches!(
            read_private(&path, 2, "key file"),
            Err(FileError::TooLarge { limit: 2, .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_private(&path, 3, "key file").unwrap_err();
        assert!(matches!(err, FileError::Permissions { mode: 0o640, .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "key file {p} is accessible by other users (mode 640)\n\nRestrict it to its owner: chmod 600 {p}",
                p = path.display()
            )
        );
        assert_eq!(read_small(&path, 3, "file").unwrap(), b"abc");

        let public = dir.path().join("public");
        write_public(&public, b"x").unwrap();
        assert_eq!(mode(&public), 0o644);
    }

    #[test]
    fn a_directory_for_new_files_must_be_new_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        assert!(require_new_or_empty_dir(&new).is_ok());
        create_dir(&new).unwrap();
        assert!(require_new_or_empty_dir(&new).is_ok());
        write_public(&new.join("f"), b"").unwrap();
        assert!(matches!(
            require_new_or_empty_dir(&new),
            Err(FileError::NotEmpty { .. })
        ));
    }

    #[test]
    fn a_missing_file_names_itself_once() {
        let err = read_small(Path::new("no/such/file"), 10, "config").unwrap_err();
        assert_eq!(err.to_string(), "reading config no/such/file");
        assert!(std::error::Error::source(&err).is_some());
    }
}
