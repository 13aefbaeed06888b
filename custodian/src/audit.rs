//! The custodian's log for a privacy officer: a bundle (JSON, like the hub's) of every
//! entry, every signed checkpoint and the custodian's public log key, and its
//! verification with the hub's own checks (`samla_common::audit::verify_signed_log`):
//! each entry canonical, each checkpoint signed, the RFC 6962 tree rebuilt from the
//! entries matching every checkpoint. Entries name kommun, count, domain and time,
//! never an input or an output.

use std::path::Path;

use samla_cli_common::files::FileError;
use samla_common::audit::{self, Finding, LogSummary};
use samla_common::oprf::log::CustodianLogEntry;
use samla_common::signing::VerifyingKey;
use samla_common::translog;
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// The bundle file's name.
pub const BUNDLE_FILE: &str = "custodian-bundle.json";

/// A custodian's log, exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodianBundle {
    /// Always `samla_common::audit::BUNDLE_VERSION`.
    pub version: u32,
    /// The log's origin.
    pub origin: String,
    /// The custodian's number in the key set.
    pub custodian: u8,
    /// The key id of the key it holds a share of (hex).
    pub key_id: String,
    /// The custodian's Ed25519 log key.
    pub custodian_key: VerifyingKey,
    /// The same key as a C2SP signed-note verifier key line.
    pub note_verifier_key: String,
    /// The entries in order.
    pub entries: Vec<String>,
    /// Signed checkpoints, by tree size.
    pub checkpoints: Vec<String>,
}

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The log.
    #[error(transparent)]
    Log(#[from] translog::LogError),
}

/// The bundle of a custodian's database.
pub fn bundle(
    store: &Store,
    origin: &str,
    custodian: u8,
    key_id: String,
    key: VerifyingKey,
) -> Result<CustodianBundle, AuditError> {
    Ok(CustodianBundle {
        version: audit::BUNDLE_VERSION,
        origin: origin.to_owned(),
        custodian,
        key_id,
        note_verifier_key: translog::note_verifier_key(origin, &key)?,
        custodian_key: key,
        entries: store.entries()?,
        checkpoints: store.checkpoints()?,
    })
}

/// Verifies a bundle.
pub fn verify(bundle: &CustodianBundle) -> Result<LogSummary, Vec<Finding>> {
    audit::verify_signed_log(
        &bundle.origin,
        &bundle.custodian_key,
        &bundle.entries,
        &bundle.checkpoints,
        |entry| {
            CustodianLogEntry::from_bytes(entry)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
}

/// Verifies the custodian's own database: its bundle, and that the stored tree
/// hashes (which proofs are made from) give the root last signed.
pub fn verify_store(
    store: &Store,
    bundle: &CustodianBundle,
) -> Result<Result<LogSummary, Vec<Finding>>, AuditError> {
    let mut outcome = verify(bundle);
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

/// The README written beside a bundle.
pub const README: &str = "# A samla key custodian's log

`custodian-bundle.json` is one key custodian's whole log: one entry per request it
answered or refused (batches evaluated, refusals such as `rate_limited`, domain setup
steps, key set and domain reads), each with kommun, key id, linkage domain, count and
time, never a personnummer, a blinded element or an answer.

- `entries` are the log's leaves in order, in the text form docs/custodian.md gives
  (first line `samla custodian v1`).
- `checkpoints` are C2SP signed notes of the RFC 6962 tree after every entry, signed
  by `custodian_key` under `origin` (`note_verifier_key` is the same key as a signed
  note verifier key line).

`samla-custodian audit verify --bundle DIR` rebuilds the tree from the entries and
checks every checkpoint; any RFC 6962 implementation can do the same. Cross-check the
`evaluated` entries of a kommun against that kommun's node log (`custodian batch`
lines): each batch the node sent appears in t custodians' logs with the same count.
";

/// Writes a bundle and its README into `dir`.
pub fn export(bundle: &CustodianBundle, dir: &Path) -> Result<(), FileError> {
    samla_cli_common::audit::export(dir, BUNDLE_FILE, bundle, README)
}
