//! The hub's side of auditing: its transfer log as a bundle a privacy officer can take
//! away, and the checks `samla-hub audit` runs on it.

use std::path::Path;

use samla_common::audit::{self, Finding, HubBundle, LogSummary};
use samla_common::signing::SigningKey;
use samla_common::translog;

use crate::config::HubConfig;
use crate::files;
use crate::store::{Store, StoreError};

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key file.
    #[error(transparent)]
    File(#[from] files::FileError),
    /// The receipt key.
    #[error("receipt key: {0}")]
    Key(#[from] samla_common::signing::SigningError),
    /// The log.
    #[error(transparent)]
    Log(#[from] translog::LogError),
}

/// The hub's log as a bundle, from its database.
pub fn bundle(config: &HubConfig, store: &Store) -> Result<HubBundle, AuditError> {
    let document = zeroize::Zeroizing::new(files::read_small(&config.receipt_key)?);
    let key = SigningKey::from_pkcs8(&document)?.verifying_key();
    Ok(HubBundle {
        version: audit::BUNDLE_VERSION,
        origin: config.log_origin.clone(),
        hub_key: key,
        note_verifier_key: translog::note_verifier_key(&config.log_origin, &key)?,
        entries: store.entries()?,
        checkpoints: store.checkpoints()?,
    })
}

/// Verifies the hub's own database: the bundle it would export, and that the tree
/// hashes it makes proofs from give the root it last signed.
pub fn verify_store(
    config: &HubConfig,
    store: &Store,
) -> Result<Result<LogSummary, Vec<Finding>>, AuditError> {
    let bundle = bundle(config, store)?;
    let mut outcome = audit::verify_hub_log(&bundle);
    let (size, root) = store.stored_root()?;
    if let Ok(summary) = &outcome {
        if let Some(latest) = &summary.latest {
            if latest.size == size && latest.root != root {
                outcome = Err(vec![Finding::StoredTree { size }]);
            }
        }
    }
    Ok(outcome)
}

/// Writes a bundle and its README into `dir` (created; existing files are not
/// overwritten).
pub fn export(bundle: &HubBundle, dir: &Path) -> Result<(), files::FileError> {
    std::fs::create_dir_all(dir).map_err(|source| files::FileError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let json = serde_json::to_vec_pretty(bundle).map_err(|e| files::FileError::Contents {
        path: dir.to_owned(),
        message: e.to_string(),
    })?;
    files::write_new(&dir.join("hub-bundle.json"), &json, false)?;
    files::write_new(
        &dir.join("README.md"),
        audit::HUB_BUNDLE_README.as_bytes(),
        false,
    )
}
