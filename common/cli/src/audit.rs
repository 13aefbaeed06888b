//! What both binaries' `audit` commands share (DESIGN.md §8): reading a bundle (a
//! privacy officer's export of a node's or the hub's transfer log, named as a
//! directory holding `node-bundle.json` or `hub-bundle.json`, or as the JSON file
//! itself), printing findings with their exit status, and the cross-check of a node
//! bundle against a hub bundle. The checks themselves are `samla_common::audit`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use samla_common::audit::{self, Finding, HubBundle, NodeBundle};
use serde::de::DeserializeOwned;

use crate::files::{self, read_small, FileError};

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

/// Writes a bundle as `name` (pretty JSON) and its `README.md` into `dir` (created if
/// missing; existing files are never overwritten).
pub fn export(
    dir: &Path,
    name: &str,
    bundle: &impl serde::Serialize,
    readme: &str,
) -> Result<(), FileError> {
    files::create_dir(dir)?;
    let path = dir.join(name);
    let json = serde_json::to_vec_pretty(bundle).map_err(|e| FileError::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    files::write_public(&path, &json)?;
    files::write_public(&dir.join("README.md"), readme.as_bytes())
}

/// Prints the findings, or `ok` if there are none; exit status 1 if there are any.
pub fn report(out: &mut impl Write, findings: &[Finding], ok: &str) -> std::io::Result<ExitCode> {
    let (text, clean) = audit::report(findings, ok);
    write!(out, "{text}")?;
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `audit cross-check NODE HUB` of either binary: the two bundles read, held against
/// each other, and the findings printed.
pub fn cross_check(node: &Path, hub: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let node: NodeBundle = read_bundle(node, "node-bundle.json")?;
    let hub: HubBundle = read_bundle(hub, "hub-bundle.json")?;
    let findings = audit::cross_check(&node, &hub);
    let ok = format!("ok: kommun {}'s log and the hub's log agree", node.kommun);
    Ok(report(out, &findings, &ok)?)
}
