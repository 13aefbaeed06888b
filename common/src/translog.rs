//! The hub's transfer log (DESIGN.md §8), without the storage: what a log entry is,
//! how entries become an RFC 6962 Merkle tree, how the tree's head is published as a
//! C2SP `tlog-checkpoint` inside a C2SP `signed-note`, and how inclusion and
//! consistency proofs are checked.
//!
//! The tree and the note format come from `tlog_tiles` and `signed_note` (Cloudflare's
//! ports of Go's `sumdb/tlog` and `sumdb/note`), kept behind this module. Hashes are
//! SHA-256 with RFC 6962's prefixes: leaf `SHA-256(0x00 ‖ entry)`, node
//! `SHA-256(0x01 ‖ left ‖ right)`. Checkpoints are signed with the hub's Ed25519 key
//! (ring), under the key name that is the log's origin.
//!
//! Entries hold digests and summaries: what happened, when, which kommun, which
//! submission (by id) and a one-line summary. Never a pseudonym, never a count.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codes::KommunCode;
use crate::signing::{SigningKey, VerifyingKey};
use crate::wire::SubmissionId;

pub mod batch;

pub use tlog_tiles::tlog::{
    split_stored_hash_index, stored_hash_count, stored_hash_index, stored_hashes, HashReader,
};

/// The first line of every entry.
const ENTRY_MAGIC: &str = "samla transfer v1";
/// The signed-note algorithm byte for Ed25519.
const NOTE_ED25519: u8 = 0x01;
/// The largest entry accepted when reading.
pub const MAX_ENTRY_BYTES: usize = 4096;

/// A node of the tree, or its root: 32 bytes of SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogHash(#[serde(with = "crate::bytes")] pub [u8; 32]);

impl fmt::Display for LogHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for LogHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogHash({self})")
    }
}

impl From<tlog_tiles::tlog::Hash> for LogHash {
    fn from(h: tlog_tiles::tlog::Hash) -> Self {
        LogHash(h.0)
    }
}

impl From<LogHash> for tlog_tiles::tlog::Hash {
    fn from(h: LogHash) -> Self {
        tlog_tiles::tlog::Hash(h.0)
    }
}

/// Why a log entry, checkpoint or proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// An entry is not in the documented format.
    #[error("log entry is malformed: {0}")]
    Entry(String),
    /// A checkpoint note does not parse.
    #[error("checkpoint is malformed")]
    Checkpoint,
    /// The checkpoint is not signed by the expected key.
    #[error("checkpoint signature does not verify against the hub's key")]
    CheckpointSignature,
    /// The checkpoint is for another log.
    #[error("checkpoint is for log {found:?}, expected {expected:?}")]
    Origin {
        /// The origin found.
        found: String,
        /// The origin expected.
        expected: String,
    },
    /// An inclusion proof does not lead to the checkpoint's root.
    #[error("entry {index} is not in the log of size {size}: the inclusion proof fails")]
    Inclusion {
        /// The entry's index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof fails: the log was rewritten.
    #[error("the log of size {new} does not extend the log of size {old}: history was rewritten")]
    Consistency {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// Reading stored hashes failed.
    #[error("log storage: {0}")]
    Storage(String),
}

/// What happened, in one log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A submission was stored.
    Accepted,
    /// A submission was refused.
    Refused,
    /// A node was registered.
    NodeRegistered,
    /// A node's keys changed.
    KeyChanged,
}

impl EntryKind {
    /// The word used in entries.
    pub fn code(self) -> &'static str {
        match self {
            EntryKind::Accepted => "accepted",
            EntryKind::Refused => "refused",
            EntryKind::NodeRegistered => "node_registered",
            EntryKind::KeyChanged => "key_changed",
        }
    }

    fn parse(text: &str) -> Option<EntryKind> {
        [
            EntryKind::Accepted,
            EntryKind::Refused,
            EntryKind::NodeRegistered,
            EntryKind::KeyChanged,
        ]
        .into_iter()
        .find(|k| k.code() == text)
    }
}

/// One entry of the hub's transfer log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// What happened.
    pub kind: EntryKind,
    /// When (Unix seconds).
    pub at: i64,
    /// Which kommun, if known.
    pub kommun: Option<KommunCode>,
    /// Which submission, if one.
    pub submission: Option<SubmissionId>,
    /// One line: sequence, period, size, or the reason for a refusal.
    pub summary: String,
}

impl LogEntry {
    /// The entry's bytes, the leaf of the tree:
    ///
    /// ```text
    /// samla transfer v1
    /// kind accepted
    /// at 1795000000
    /// kommun 2180
    /// submission <64 hex characters, or ->
    /// summary <one line of text>
    /// ```
    ///
    /// Each line ends with `\n`; a missing kommun is `-`; newlines in the summary
    /// become spaces.
    pub fn to_bytes(&self) -> Vec<u8> {
        let kommun = self.kommun.map_or("-".to_owned(), |k| k.to_string());
        let submission = self.submission.map_or("-".to_owned(), |s| s.to_string());
        let summary: String = self
            .summary
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!(
            "{ENTRY_MAGIC}\nkind {}\nat {}\nkommun {kommun}\nsubmission {submission}\nsummary {summary}\n",
            self.kind.code(),
            self.at
        )
        .into_bytes()
    }

    /// Parses what [`LogEntry::to_bytes`] wrote; refuses anything else.
    pub fn from_bytes(bytes: &[u8]) -> Result<LogEntry, LogError> {
        let fail = |m: &str| LogError::Entry(m.to_owned());
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(fail("longer than an entry can be"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| fail("not UTF-8"))?;
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| fail("does not end with a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [magic, kind, at, kommun, submission, summary] = lines[..] else {
            return Err(fail("expected six lines"));
        };
        if magic != ENTRY_MAGIC {
            return Err(fail("first line is not `samla transfer v1`"));
        }
        let field = |line: &'_ str, name: &str| -> Result<String, LogError> {
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| LogError::Entry(format!("expected a `{name}` line")))
        };
        let entry = LogEntry {
            kind: EntryKind::parse(&field(kind, "kind")?).ok_or_else(|| fail("unknown kind"))?,
            at: field(at, "at")?
                .parse()
                .map_err(|_| fail("`at` is not a number"))?,
            kommun: match field(kommun, "kommun")?.as_str() {
                "-" => None,
                k => Some(k.parse().map_err(|_| fail("bad kommun"))?),
            },
            submission: match field(submission, "submission")?.as_str() {
                "-" => None,
                s => Some(s.parse().map_err(|_| fail("bad submission id"))?),
            },
            summary: field(summary, "summary")?,
        };
        if entry.to_bytes() != bytes {
            return Err(fail("not in canonical form"));
        }
        Ok(entry)
    }
}

/// Whether a name can be a log's origin (and so a signed-note key name): not empty,
/// no whitespace, no `+`.
pub fn is_origin_valid(origin: &str) -> bool {
    signed_note::is_key_name_valid(origin)
}

/// The hash of a leaf (an entry's bytes): `SHA-256(0x00 ‖ bytes)`.
pub fn leaf_hash(entry: &[u8]) -> LogHash {
    tlog_tiles::tlog::record_hash(entry).into()
}

/// The root of a tree of `size` entries, from stored hashes.
pub fn tree_root<R: HashReader>(size: u64, store: &R) -> Result<LogHash, LogError> {
    tlog_tiles::tlog::tree_hash(size, store)
        .map(Into::into)
        .map_err(|e| LogError::Storage(e.to_string()))
}

/// The proof that entry `index` is in the tree of `size` entries.
pub fn prove_inclusion<R: HashReader>(
    size: u64,
    index: u64,
    store: &R,
) -> Result<Vec<LogHash>, LogError> {
    tlog_tiles::tlog::prove_record(size, index, store)
        .map(|p| p.into_iter().map(Into::into).collect())
        .map_err(|e| LogError::Storage(e.to_string()))
}

/// The proof that the tree of `old` entries is a prefix of the tree of `new` entries.
pub fn prove_consistency<R: HashReader>(
    new: u64,
    old: u64,
    store: &R,
) -> Result<Vec<LogHash>, LogError> {
    tlog_tiles::tlog::prove_tree(new, old, store)
        .map(|p| p.into_iter().map(Into::into).collect())
        .map_err(|e| LogError::Storage(e.to_string()))
}

/// A tree head: the log's origin, its size and its root hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The log's name, also the signing key's name in the note.
    pub origin: String,
    /// Entries in the tree.
    pub size: u64,
    /// The root hash.
    pub root: LogHash,
}

impl Checkpoint {
    /// The checkpoint's text (the C2SP tlog-checkpoint body).
    pub fn text(&self) -> Result<Vec<u8>, LogError> {
        tlog_tiles::checkpoint::Checkpoint::new(&self.origin, self.size, self.root.into(), "")
            .map(|c| c.to_bytes())
            .map_err(|_| LogError::Checkpoint)
    }

    /// Signs the checkpoint as a C2SP signed note with the hub's key.
    pub fn sign(&self, key: &SigningKey) -> Result<Vec<u8>, LogError> {
        let signer = NoteKey::new(&self.origin, key.verifying_key())?;
        let mut note =
            signed_note::Note::new(&self.text()?, &[]).map_err(|_| LogError::Checkpoint)?;
        let signature = key.sign_raw(note.text());
        let line = signed_note::Signature::new(self.origin.clone(), signer.id, signature.to_vec())
            .map_err(|_| LogError::Checkpoint)?;
        note = signed_note::Note::new(note.text(), &[line]).map_err(|_| LogError::Checkpoint)?;
        Ok(note.to_bytes())
    }

    /// Opens a signed checkpoint note: its signature by `key` under the name `origin`
    /// must verify, and its text must be a checkpoint of that origin.
    pub fn open(note: &[u8], origin: &str, key: &VerifyingKey) -> Result<Checkpoint, LogError> {
        let verifier = NoteKey::new(origin, *key)?;
        let note = signed_note::Note::from_bytes(note).map_err(|_| LogError::Checkpoint)?;
        let list = signed_note::VerifierList::new(vec![Box::new(verifier)]);
        note.verify(&list)
            .map_err(|_| LogError::CheckpointSignature)?;
        let parsed = tlog_tiles::checkpoint::Checkpoint::from_bytes(note.text())
            .map_err(|_| LogError::Checkpoint)?;
        if parsed.origin() != origin {
            return Err(LogError::Origin {
                found: parsed.origin().to_owned(),
                expected: origin.to_owned(),
            });
        }
        Ok(Checkpoint {
            origin: parsed.origin().to_owned(),
            size: parsed.size(),
            root: (*parsed.hash()).into(),
        })
    }

    /// Reads a signed checkpoint note's checkpoint without checking its signature: only
    /// to say what a checkpoint that failed [`Checkpoint::open`] claims.
    pub fn claimed(note: &[u8]) -> Option<Checkpoint> {
        let note = signed_note::Note::from_bytes(note).ok()?;
        let parsed = tlog_tiles::checkpoint::Checkpoint::from_bytes(note.text()).ok()?;
        Some(Checkpoint {
            origin: parsed.origin().to_owned(),
            size: parsed.size(),
            root: (*parsed.hash()).into(),
        })
    }

    /// Checks that `entry` is at `index` in this tree.
    pub fn verify_inclusion(
        &self,
        index: u64,
        entry: &[u8],
        proof: &[LogHash],
    ) -> Result<(), LogError> {
        let proof: Vec<tlog_tiles::tlog::Hash> = proof.iter().map(|h| (*h).into()).collect();
        tlog_tiles::tlog::check_record(
            &proof,
            self.size,
            self.root.into(),
            index,
            leaf_hash(entry).into(),
        )
        .map_err(|_| LogError::Inclusion {
            index,
            size: self.size,
        })
    }

    /// Checks that this tree extends `older` (same origin, `older` a prefix).
    pub fn verify_extends(&self, older: &Checkpoint, proof: &[LogHash]) -> Result<(), LogError> {
        let fail = LogError::Consistency {
            old: older.size,
            new: self.size,
        };
        if older.origin != self.origin || older.size > self.size {
            return Err(fail);
        }
        if older.size == self.size {
            return if older.root == self.root && proof.is_empty() {
                Ok(())
            } else {
                Err(fail)
            };
        }
        if older.size == 0 {
            return Ok(());
        }
        let proof: Vec<tlog_tiles::tlog::Hash> = proof.iter().map(|h| (*h).into()).collect();
        tlog_tiles::tlog::check_tree(
            &proof,
            self.size,
            self.root.into(),
            older.size,
            older.root.into(),
        )
        .map_err(|_| fail)
    }
}

/// The one form of signed checkpoint note that [`Checkpoint::sign`] writes for a log
/// and key, read without verifying the signature (for batch verification,
/// [`batch::BatchKey`]): a note in any other form is opened with [`Checkpoint::open`].
#[derive(Debug, Clone)]
pub struct SignedForm {
    origin: String,
    line: Vec<u8>,
    id: [u8; 4],
}

impl SignedForm {
    /// The form for the log `origin` signed by `key`.
    pub fn new(origin: &str, key: &VerifyingKey) -> Result<SignedForm, LogError> {
        let note_key = NoteKey::new(origin, *key)?;
        let mut line = "\n\u{2014} ".as_bytes().to_vec();
        line.extend_from_slice(origin.as_bytes());
        line.push(b' ');
        Ok(SignedForm {
            origin: origin.to_owned(),
            line,
            id: note_key.id.to_be_bytes(),
        })
    }

    /// The signed text and the Ed25519 signature if `note` is exactly `checkpoint`
    /// (of this form's origin) signed once in this form; `None` otherwise.
    pub fn signature(&self, checkpoint: &Checkpoint, note: &[u8]) -> Option<(Vec<u8>, [u8; 64])> {
        use base64::Engine;
        let text = checkpoint.text().ok()?;
        let rest = note.strip_prefix(text.as_slice())?;
        let encoded = rest
            .strip_prefix(self.line.as_slice())?
            .strip_suffix(b"\n")?;
        let mut decoded = [0u8; 72];
        let length = base64::engine::general_purpose::STANDARD
            .decode_slice(encoded, &mut decoded)
            .ok()?;
        if length != 68 || decoded[..4] != self.id {
            return None;
        }
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&decoded[4..68]);
        Some((text, signature))
    }

    /// The root it claims, the signed text and the Ed25519 signature if `note` is a
    /// checkpoint of this form's origin and of `size` signed once in this form (as
    /// [`SignedForm::signature`] for the checkpoint with that root); `None` otherwise.
    /// The root is read from the note, so the signature can be checked before the
    /// tree it is compared with is rebuilt: the root is only as good as the signature.
    pub fn split(&self, size: u64, note: &[u8]) -> Option<(LogHash, Vec<u8>, [u8; 64])> {
        use base64::Engine;
        let rest = note
            .strip_prefix(self.origin.as_bytes())?
            .strip_prefix(b"\n")?
            .strip_prefix(size.to_string().as_bytes())?
            .strip_prefix(b"\n")?;
        let encoded = rest.get(..44)?;
        let mut root = [0u8; 33];
        let length = base64::engine::general_purpose::STANDARD
            .decode_slice(encoded, &mut root)
            .ok()?;
        if length != 32 {
            return None;
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&root[..32]);
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size,
            root: LogHash(hash),
        };
        let (text, signature) = self.signature(&checkpoint, note)?;
        Some((checkpoint.root, text, signature))
    }
}

/// The hub's key as a signed-note signer and verifier.
struct NoteKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteKey {
    fn new(name: &str, key: VerifyingKey) -> Result<NoteKey, LogError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(LogError::Checkpoint);
        }
        let mut encoded = vec![NOTE_ED25519];
        encoded.extend_from_slice(key.as_bytes());
        Ok(NoteKey {
            name: name.to_owned(),
            id: signed_note::key_id(name, &encoded),
            key,
        })
    }
}

impl signed_note::Verifier for NoteKey {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.key.verify_raw(msg, sig)
    }
}

/// The verifier key line for a log, as C2SP signed-note writes it:
/// `<name>+<key id hex>+<base64(0x01 ‖ public key)>`, for other tools.
pub fn note_verifier_key(origin: &str, key: &VerifyingKey) -> Result<String, LogError> {
    use base64::Engine;
    let note_key = NoteKey::new(origin, *key)?;
    let mut encoded = vec![NOTE_ED25519];
    encoded.extend_from_slice(key.as_bytes());
    Ok(format!(
        "{origin}+{:08x}+{}",
        note_key.id,
        base64::engine::general_purpose::STANDARD.encode(encoded)
    ))
}

/// Hashes kept in memory, for tests and for verifying an exported log.
#[derive(Debug, Default, Clone)]
pub struct MemoryHashes {
    hashes: Vec<tlog_tiles::tlog::Hash>,
    size: u64,
}

impl MemoryHashes {
    /// Appends an entry; returns its index.
    pub fn append(&mut self, entry: &[u8]) -> Result<u64, LogError> {
        let index = self.size;
        let new =
            stored_hashes(index, entry, self).map_err(|e| LogError::Storage(e.to_string()))?;
        self.hashes.extend(new);
        self.size += 1;
        Ok(index)
    }

    /// Entries appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hash at a stored index (the layout of [`stored_hash_index`]: every
    /// leaf and interior hash of the tree, in the order they are appended).
    pub fn stored(&self, index: u64) -> Option<LogHash> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.hashes.get(i))
            .map(|h| LogHash(h.0))
    }

    /// How many hashes are stored ([`stored_hash_count`] of the size).
    pub fn stored_count(&self) -> u64 {
        self.hashes.len() as u64
    }

    /// The current root.
    pub fn root(&self) -> Result<LogHash, LogError> {
        tree_root(self.size, self)
    }
}

impl HashReader for MemoryHashes {
    fn read_hashes(
        &self,
        indexes: &[u64],
    ) -> Result<Vec<tlog_tiles::tlog::Hash>, tlog_tiles::tlog::Error> {
        indexes
            .iter()
            .map(|i| {
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| self.hashes.get(i).copied())
                    .ok_or(tlog_tiles::tlog::Error::IndexesNotInTree)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
