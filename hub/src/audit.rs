//! The hub's side of auditing: its transfer log as a bundle a privacy officer can take
//! away, and the checks `samla-hub audit` runs on it.

use std::path::Path;

use samla_common::audit::{self, Finding, HubBundle, LogSummary};
use samla_common::translog;

use samla_cli_common::files::FileError;

use crate::config::HubConfig;
use crate::files::{receipt_key, ReceiptKeyError};
use crate::store::{Store, StoreError};

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The receipt key.
    #[error(transparent)]
    Key(#[from] ReceiptKeyError),
    /// The log.
    #[error(transparent)]
    Log(#[from] translog::LogError),
}

/// The hub's log as a bundle, from its database.
pub fn bundle(config: &HubConfig, store: &Store) -> Result<HubBundle, AuditError> {
    let key = receipt_key(&config.receipt_key)?.verifying_key();
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
pub fn export(bundle: &HubBundle, dir: &Path) -> Result<(), FileError> {
    samla_cli_common::audit::export(dir, "hub-bundle.json", bundle, audit::HUB_BUNDLE_README)
}
