//! Why a [`Finding`](super::Finding) was made, as types rather than English text: a
//! malformed entry, a stored checkpoint that does not hold, a fork's other view, and
//! what is wrong with a stored submission at the hub. Each has its English wording
//! (`Display`, what `--lang en` prints and what the hub's errors say) and its Swedish
//! wording in [`super::wording`], so a Swedish audit line holds no English.

use std::fmt;

use crate::codec::CodecError;
use crate::receipt::ReceiptError;
use crate::translog::LogError;

/// Why a log entry is not in its canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryProblem {
    /// It does not parse in the documented format (the parser's words, in English:
    /// a technical detail the Swedish wording leaves out).
    Format(String),
    /// It could not be added to the tree.
    Tree,
    /// The next stored entry has another log index than the one expected.
    OutOfOrder {
        /// The log index it is stored under.
        found: i64,
    },
}

impl fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryProblem::Format(why) => f.write_str(why),
            EntryProblem::Tree => f.write_str("could not be added to the tree"),
            EntryProblem::OutOfOrder { found } => {
                write!(f, "the next stored entry has log index {found}")
            }
        }
    }
}

/// Why the checkpoint stored for a tree size does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointProblem {
    /// It verifies but is of another size than the one it is stored for.
    WrongSize {
        /// The size it is stored for.
        stored: u64,
        /// The size it signs.
        found: u64,
    },
    /// It does not open (parse, signature, origin).
    Open(LogError),
}

impl fmt::Display for CheckpointProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointProblem::WrongSize { stored, found } => {
                write!(f, "it is stored for size {stored} but is of size {found}")
            }
            CheckpointProblem::Open(e) => fmt::Display::fmt(e, f),
        }
    }
}

/// Where the other view of a forked log came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForkSource {
    /// Another checkpoint of the same size in the same bundle.
    Bundle {
        /// Its position in the bundle.
        position: usize,
    },
    /// A checkpoint the node was given (stored, or in a receipt).
    GivenToNode,
}

impl fmt::Display for ForkSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForkSource::Bundle { position } => write!(
                f,
                "another checkpoint of the same size in the bundle (position {position})"
            ),
            ForkSource::GivenToNode => f.write_str("a checkpoint this node was given"),
        }
    }
}

/// What is wrong with a submission stored at the hub (`hub/src/store/verified.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// The signed bytes do not hash to the id.
    Content,
    /// The signed bytes are not a submission.
    Malformed(CodecError),
    /// A column of the row disagrees with the signed bytes.
    Row {
        /// The column.
        column: &'static str,
    },
    /// The node's signature does not verify over the signed bytes.
    Signature,
    /// The signer is not a key the hub config registers for the kommun on the day
    /// the submission was received.
    Signer,
    /// The stored receipt does not verify or does not match the row.
    Receipt(ReceiptDamage),
    /// The transfer log has no entry at the row's log index, or another entry than
    /// the receipt's.
    LogEntry,
    /// The log records the acceptance but the store holds no such submission.
    Missing,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::Content => f.write_str(
                "its stored signed bytes do not hash to its id (changed after it was stored)",
            ),
            Damage::Malformed(why) => {
                write!(f, "its stored signed bytes are not a submission ({why})")
            }
            Damage::Row { column } => write!(
                f,
                "the stored `{column}` column disagrees with the signed bytes"
            ),
            Damage::Signature => {
                f.write_str("the node's signature does not verify over the stored bytes")
            }
            Damage::Signer => f.write_str(
                "it is signed with a key the hub config does not register for the kommun on the day it was received",
            ),
            Damage::Receipt(why) => write!(f, "its stored receipt fails: {why}"),
            Damage::LogEntry => f.write_str(
                "the transfer log does not hold its receipt's entry at its log index",
            ),
            Damage::Missing => f.write_str(
                "the transfer log records it as accepted but the store holds no such submission",
            ),
        }
    }
}

/// Why a stored submission's receipt fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptDamage {
    /// The stored receipt signature does not decode.
    Signature(CodecError),
    /// The receipt does not verify.
    Verify(ReceiptError),
    /// It names another sequence than the signed submission.
    Sequence,
    /// It names another log index than the row.
    LogIndex,
    /// It names another time than the row.
    Time,
}

impl fmt::Display for ReceiptDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceiptDamage::Signature(e) => fmt::Display::fmt(e, f),
            ReceiptDamage::Verify(e) => fmt::Display::fmt(e, f),
            ReceiptDamage::Sequence => f.write_str("it names another sequence"),
            ReceiptDamage::LogIndex => f.write_str("it names another log index than the row"),
            ReceiptDamage::Time => f.write_str("it names another time than the row"),
        }
    }
}
