//! Audit bundles read from disk (DESIGN.md §8): a privacy officer's export of a node's
//! or the hub's transfer log, named as a directory (holding `node-bundle.json` or
//! `hub-bundle.json`) or as the JSON file itself.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::files::{read_small, FileError};

/// The largest bundle read, in bytes.
pub const MAX_BUNDLE_BYTES: u64 = 4 << 30;

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The file could not be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file is not a bundle.
    #[error("{path} is not a samla bundle")]
    NotABundle {
        /// The file.
        path: PathBuf,
        /// What the JSON decoder found.
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a bundle: `path` itself, or the file `name` inside it if it is a directory.
pub fn read_bundle<T: DeserializeOwned>(path: &Path, name: &str) -> Result<T, BundleError> {
    let file = if path.is_dir() {
        path.join(name)
    } else {
        path.to_owned()
    };
    let bytes = read_small(&file, MAX_BUNDLE_BYTES, "bundle")?;
    serde_json::from_slice(&bytes).map_err(|source| BundleError::NotABundle { path: file, source })
}
