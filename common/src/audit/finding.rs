//! [`Finding`]: what a verification or cross-check of the audit logs found wrong, each
//! naming the entry, checkpoint or submission at fault, and its English wording (the
//! Swedish is in [`super::wording`]).

use std::fmt;

use super::reason::{CheckpointProblem, Damage, EntryProblem, ForkSource};
use super::{content, node_checks};
use crate::receipt::ReceiptError;
use crate::translog::LogError;
use crate::wire::SubmissionId;

/// Something wrong, found by a verification or cross-check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A log entry is not in its canonical form.
    MalformedEntry {
        /// Its index.
        index: u64,
        /// Why.
        reason: EntryProblem,
    },
    /// A checkpoint's signature does not verify, or it does not parse.
    BadCheckpoint {
        /// Its position in the bundle.
        position: usize,
        /// Why.
        reason: LogError,
    },
    /// The entries do not hash to a signed checkpoint: the entry named (or one
    /// before it, back to the last checkpoint that matched) was changed, removed,
    /// reordered or inserted.
    EntryAtFault {
        /// The first entry that no longer matches what was signed.
        index: u64,
        /// The checkpoint size where the mismatch shows.
        checkpoint_size: u64,
        /// The last checkpoint size that still matched (0 if none).
        last_good: u64,
    },
    /// A checkpoint covers more entries than the log holds.
    Truncated {
        /// The checkpoint's size.
        checkpoint_size: u64,
        /// Entries present.
        entries: u64,
    },
    /// Entries after the last signed checkpoint: never signed.
    Unsigned {
        /// The first unsigned entry.
        from: u64,
    },
    /// Two checkpoints of the same log disagree: the log forked.
    Fork {
        /// The size at which the two views part.
        size: u64,
        /// Where the other view came from.
        source: ForkSource,
    },
    /// The hub's stored tree hashes (what its proofs are made from) give another root
    /// than the checkpoint it signed for that size.
    StoredTree {
        /// The tree size.
        size: u64,
    },
    /// A node log entry breaks the hash chain.
    NodeChain {
        /// The entry.
        entry: i64,
    },
    /// The node's outbox holds a submission its log does not record (the log was cut
    /// or entries removed).
    NodeLogMissing {
        /// The submission.
        submission: SubmissionId,
        /// The event the log lacks.
        kind: &'static str,
    },
    /// A receipt the node holds does not verify.
    BadReceipt {
        /// The submission.
        submission: SubmissionId,
        /// Why.
        reason: ReceiptError,
    },
    /// A submission the node holds a receipt for is missing from the hub's log, or
    /// logged with another digest.
    MissingAtHub {
        /// The submission.
        submission: SubmissionId,
        /// The log index its receipt names.
        index: u64,
    },
    /// The hub's log holds an entry for this kommun that the node did not send.
    UnknownAtHub {
        /// The entry's index.
        index: u64,
        /// The submission it names, if any.
        submission: Option<SubmissionId>,
    },
    /// A hash of the hub's stored tree (leaf or interior) is not the one rebuilt
    /// from the entries: proofs made from it would be wrong.
    StoredHash {
        /// Its level in the tree (0: a leaf).
        level: u8,
        /// The first entry (log index) under it.
        first: u64,
        /// The last entry under it.
        last: u64,
    },
    /// The hub's stored tree holds another number of hashes than its entries make.
    StoredHashCount {
        /// Hashes stored.
        found: u64,
        /// Hashes the entries make.
        expected: u64,
    },
    /// The checkpoint the hub stores for a tree size does not verify, or is not of
    /// that size.
    CheckpointAtSize {
        /// The tree size it is stored for.
        size: u64,
        /// Why.
        reason: CheckpointProblem,
    },
    /// A column the hub keeps beside an entry (for queries) disagrees with the
    /// entry's bytes.
    EntryColumn {
        /// The entry's log index.
        index: u64,
        /// The column.
        column: &'static str,
    },
    /// A stored submission fails its check (content against its id, signature,
    /// receipt, log entry), or the log and the store disagree about it.
    StoredSubmission {
        /// The log index of its entry, if known.
        index: Option<u64>,
        /// The kommun named.
        kommun: String,
        /// The submission id named (hex).
        submission: String,
        /// What failed.
        reason: Damage,
    },
    /// A derived table row (`cells`, `linkage_sets`) disagrees with the signed bytes
    /// of its submission, or belongs to no stored submission.
    DerivedTable {
        /// The table.
        table: &'static str,
        /// The kommun, if the submission is known.
        kommun: String,
        /// The submission id named (hex).
        submission: String,
    },
    /// The node's signed heads or stored submissions do not hold.
    Node(node_checks::NodeFinding),
    /// What the node sent and what the hub stored differ (bundle content files).
    Content(content::ContentFinding),
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::MalformedEntry { index, reason } => write!(f, "entry {index}: malformed ({reason})"),
            Finding::BadCheckpoint { position, reason } => write!(f, "checkpoint {position}: {reason}"),
            Finding::EntryAtFault {
                index,
                checkpoint_size,
                last_good,
            } => write!(
                f,
                "entry {index}: the entries no longer hash to the checkpoint of size {checkpoint_size} \
                 (last matching checkpoint: size {last_good}); an entry was changed, removed, reordered or inserted"
            ),
            Finding::Truncated { checkpoint_size, entries } => write!(
                f,
                "log truncated: a checkpoint covers {checkpoint_size} entries but the log holds {entries}"
            ),
            Finding::Unsigned { from } => write!(f, "entries from {from} on are covered by no signed checkpoint"),
            Finding::Fork { size, source } => write!(f, "the hub's log forked: at size {size} it differs from {source}"),
            Finding::StoredTree { size } => write!(
                f,
                "the hub's stored tree hashes give another root than its signed checkpoint of size {size}"
            ),
            Finding::NodeChain { entry } => write!(
                f,
                "node log entry {entry}: its hash does not follow from the entries before it (changed, removed or reordered)"
            ),
            Finding::NodeLogMissing { submission, kind } => write!(
                f,
                "submission {submission}: the node's log has no `{kind}` entry for it (entries were removed or the log was cut)"
            ),
            Finding::BadReceipt { submission, reason } => write!(f, "receipt for {submission}: {reason}"),
            Finding::MissingAtHub { submission, index } => write!(
                f,
                "submission {submission}: the hub's log has no entry for it at index {index} (its receipt names that index)"
            ),
            Finding::UnknownAtHub { index, submission } => match submission {
                Some(id) => write!(f, "hub entry {index}: names submission {id}, which this node never sent"),
                None => write!(f, "hub entry {index}: logs a transfer for this kommun that this node never sent"),
            },
            Finding::StoredHash { level, first, last } => write!(
                f,
                "the hub's stored tree hash at level {level} over entries {first}..={last} is not the hash of those entries (proofs for them would fail)"
            ),
            Finding::StoredHashCount { found, expected } => write!(
                f,
                "the hub's stored tree holds {found} hashes; its entries make {expected}"
            ),
            Finding::CheckpointAtSize { size, reason } => write!(f, "checkpoint of size {size}: {reason}"),
            Finding::EntryColumn { index, column } => write!(
                f,
                "entry {index}: the stored `{column}` column disagrees with the entry"
            ),
            Finding::StoredSubmission { index, kommun, submission, reason } => {
                let prefix = submission.get(..16).unwrap_or(submission);
                match index {
                    Some(index) => write!(f, "entry {index}: kommun {kommun} submission {prefix}: {reason}"),
                    None => write!(f, "kommun {kommun} submission {prefix}: {reason}"),
                }
            }
            Finding::DerivedTable { table, kommun, submission } => {
                let prefix = submission.get(..16).unwrap_or(submission);
                write!(
                    f,
                    "table `{table}`: its rows for kommun {kommun} submission {prefix} are not the ones its signed bytes hold"
                )
            }
            Finding::Node(finding) => finding.fmt(f),
            Finding::Content(finding) => finding.fmt(f),
        }
    }
}
