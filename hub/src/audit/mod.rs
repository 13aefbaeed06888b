//! The hub's side of auditing: its transfer log as a bundle a privacy officer can take
//! away, and the checks `samla-hub audit` runs on it.

use std::path::Path;

use samla_common::audit::{self, Finding, HubBundle, LogSummary};

use samla_common::translog;

use samla_cli_common::files::FileError;

use crate::config::HubConfig;
use crate::files::{receipt_key, ReceiptKeyError};
use crate::store::{Store, StoreError, Trust};

mod store;

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

/// What the hub's stored submissions are checked against: its own receipt key, its
/// log's name, and the signing keys its config registers.
pub fn trust(config: &HubConfig) -> Result<Trust, ReceiptKeyError> {
    Ok(Trust::of(
        config,
        receipt_key(&config.receipt_key)?.verifying_key(),
    ))
}

/// Verifies the hub's own database, the log and the store against each other
/// (every check of `audit::store`).
pub fn verify_store(
    config: &HubConfig,
    store: &Store,
) -> Result<Result<LogSummary, Vec<Finding>>, AuditError> {
    Ok(store::verify(store, &trust(config)?)?)
}

/// [`verify_store`] with the trust given (for tools and benchmarks).
pub fn verify_with(
    store: &Store,
    trust: &Trust,
) -> Result<Result<LogSummary, Vec<Finding>>, StoreError> {
    store::verify(store, trust)
}

/// The stored submissions that fail their check, or that the log and the store
/// disagree about (what `audit export` warns of: the bundle it writes holds the log,
/// which stays verifiable, but the store behind it is damaged).
pub fn submission_findings(config: &HubConfig, store: &Store) -> Result<Vec<Finding>, AuditError> {
    Ok(store::submission_findings(store, &trust(config)?)?)
}

/// Writes a bundle and its README into `dir` (created; existing files are not
/// overwritten).
pub fn export(bundle: &HubBundle, dir: &Path) -> Result<(), FileError> {
    samla_cli_common::audit::export(dir, "hub-bundle.json", bundle, audit::HUB_BUNDLE_README)
}
