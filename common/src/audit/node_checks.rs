//! The node's own proofs (docs/audit.md, "The node's log"): signed heads of its
//! hash-chained log, and the check of a stored submission against its id and the
//! node's signature.
//!
//! The hash chain alone finds an edit, unless the editor recomputes every hash after
//! it. So the node signs the head of its chain with its Ed25519 signing key: a
//! `signed head` entry after every [`HEAD_EVERY`] entries and at the end of every
//! command and daemon round. Its detail is
//! `entries N, head H, key K, signature S`: `N` is the entry number before it, `H` the
//! hex chain hash of entry `N`, `K` the signing key (hex) and `S` (hex) the Ed25519
//! signature, under the context `samla/node-log-head/v1`, of
//! [`head_message`]`(N, H)`. Because every chain hash covers every entry before it,
//! one verifying head signed with the node's key vouches for all of them.
//!
//! Pure: entries and keys come in as arguments; node and hub read them.

use std::fmt;

use crate::codes::KommunCode;
use crate::signing::{Signature, SigningKey, VerifyingKey, SUBMISSION_CONTEXT};
use crate::wire::{SignedSubmission, Submission, SubmissionId};

use super::NodeLogEntry;

/// The kind word of a signed head entry.
pub const HEAD_KIND: &str = "signed head";
/// The kind word of a key change entry (its detail is `signing key HEX`).
pub const KEY_CHANGE_KIND: &str = "key change";
/// The signing context of a node log head.
pub const HEAD_CONTEXT: &str = "samla/node-log-head/v1";
/// The node signs its head at least once per this many entries.
pub const HEAD_EVERY: i64 = 32;

/// The message a signed head signs: `samla node log head v1\nentries N\nhead H\n`.
pub fn head_message(entries: i64, head: &[u8]) -> Vec<u8> {
    format!(
        "samla node log head v1\nentries {entries}\nhead {}\n",
        hex::encode(head)
    )
    .into_bytes()
}

/// The detail of a signed head entry over the first `entries` entries, whose last
/// chain hash is `head`.
pub fn head_detail(entries: i64, head: &[u8], key: &SigningKey) -> String {
    let signature = key.sign(HEAD_CONTEXT, &head_message(entries, head));
    format!(
        "entries {entries}, head {}, key {}, signature {}",
        hex::encode(head),
        key.verifying_key(),
        hex::encode(signature.as_bytes())
    )
}

/// A signed head, parsed from its detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHead {
    /// The entries it covers (1..=entries).
    pub entries: i64,
    /// The chain hash of its last entry.
    pub head: [u8; 32],
    /// The key that signed.
    pub key: VerifyingKey,
    /// The signature.
    pub signature: Signature,
}

impl SignedHead {
    /// Parses a signed head entry's detail; `None` if it is not in the exact form.
    pub fn parse(detail: &str) -> Option<SignedHead> {
        let mut parts = detail.split(", ");
        let mut field = |name: &str| {
            parts
                .next()
                .and_then(|p| p.strip_prefix(name))
                .and_then(|p| p.strip_prefix(' '))
        };
        let entries = field("entries")?.parse().ok()?;
        let head = hex32(field("head")?)?;
        let key = field("key")?.parse().ok()?;
        let signature = field("signature")?;
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(signature, &mut bytes).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(SignedHead {
            entries,
            head,
            key,
            signature: Signature::from_bytes(bytes),
        })
    }

    /// Whether the signature verifies under its key.
    pub fn verifies(&self) -> bool {
        self.key
            .verify(
                HEAD_CONTEXT,
                &head_message(self.entries, &self.head),
                &self.signature,
            )
            .is_ok()
    }
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// What is wrong with a node's own records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeFinding {
    /// A signed head does not verify, or does not sign the log as it is: entries
    /// `from..=to` were changed after they were signed (with their hashes recomputed).
    HeadMismatch {
        /// The signed head entry.
        entry: i64,
        /// The first entry it covers that no earlier head vouches for.
        from: i64,
        /// The last entry it covers.
        to: i64,
        /// Why.
        reason: HeadProblem,
    },
    /// A signed head is signed by a key that is not the one the node logged it
    /// signs with.
    HeadKey {
        /// The signed head entry.
        entry: i64,
        /// The key that signed it.
        key: VerifyingKey,
    },
    /// The last signed head is not signed with the node's current signing key.
    NotCurrentKey {
        /// The signed head entry.
        entry: i64,
    },
    /// Entries from `from` on are covered by no signed head.
    Unsigned {
        /// The first unsigned entry.
        from: i64,
    },
    /// A stored submission does not match its id or the node's signature.
    Content {
        /// The submission (its id as stored).
        submission: SubmissionId,
        /// Why.
        problem: ContentProblem,
    },
}

impl fmt::Display for NodeFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeFinding::HeadMismatch { entry, from, to, reason } => write!(
                f,
                "node log entry {entry} (signed head): {reason}; entries {from}..{to} were changed after they were signed"
            ),
            NodeFinding::HeadKey { entry, key } => write!(
                f,
                "node log entry {entry} (signed head): signed by key {key}, not the signing key the log names before it"
            ),
            NodeFinding::NotCurrentKey { entry } => write!(
                f,
                "node log entry {entry} (signed head): not signed with this node's signing key"
            ),
            NodeFinding::Unsigned { from } => write!(
                f,
                "node log entries from {from} on are covered by no signed head (added after the node last signed its log, or the last signed head was removed)"
            ),
            NodeFinding::Content { submission, problem } => {
                write!(f, "submission {submission} in the outbox: {problem}")
            }
        }
    }
}

/// Why a signed head does not vouch for the entries before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadProblem {
    /// Its detail is not in the signed head form.
    #[error("its detail is not a signed head")]
    NotAHead,
    /// Its signature does not verify.
    #[error("its signature does not verify")]
    Signature,
    /// It signs another chain hash than the log's for the entry before it.
    #[error("the chain hash it signs is not the log's hash of the entry before it")]
    Chain,
}

/// Checks the signed heads of a node's log (whose chain already verified):
/// each signs the chain as it is, with the key the last `key change` before it names;
/// the last is signed with `current` (the node's signing key, when known); and no
/// entry comes after the last.
pub fn verify_heads(log: &[NodeLogEntry], current: Option<&VerifyingKey>) -> Vec<NodeFinding> {
    let mut findings = Vec::new();
    let mut key: Option<VerifyingKey> = None;
    let mut vouched = 0;
    let mut last_head = None;
    for (i, e) in log.iter().enumerate() {
        if e.kind == KEY_CHANGE_KIND {
            key = e
                .detail
                .strip_prefix("signing key ")
                .and_then(|k| k.parse().ok());
            continue;
        }
        if e.kind != HEAD_KIND {
            continue;
        }
        last_head = Some(e);
        let mismatch = |reason| NodeFinding::HeadMismatch {
            entry: e.entry,
            from: vouched + 1,
            to: e.entry - 1,
            reason,
        };
        let Some(head) = SignedHead::parse(&e.detail) else {
            findings.push(mismatch(HeadProblem::NotAHead));
            continue;
        };
        let before = i.checked_sub(1).and_then(|p| log.get(p));
        let chained = before.is_some_and(|b| {
            b.entry == head.entries && hex32(&b.hash).is_some_and(|h| h == head.head)
        }) && head.entries == e.entry - 1;
        if !head.verifies() {
            findings.push(mismatch(HeadProblem::Signature));
        } else if !chained {
            findings.push(mismatch(HeadProblem::Chain));
        } else if key.as_ref() != Some(&head.key) {
            findings.push(NodeFinding::HeadKey {
                entry: e.entry,
                key: head.key,
            });
        } else {
            vouched = e.entry;
        }
    }
    if let (Some(e), Some(current)) = (last_head, current) {
        if SignedHead::parse(&e.detail).is_some_and(|h| &h.key != current) {
            findings.push(NodeFinding::NotCurrentKey { entry: e.entry });
        }
    }
    let covered = last_head.map_or(0, |e| e.entry);
    if let Some(last) = log.last() {
        if last.entry > covered {
            findings.push(NodeFinding::Unsigned { from: covered + 1 });
        }
    }
    findings
}

/// The keys a node's log says it signed with, oldest first.
pub fn logged_keys(log: &[NodeLogEntry]) -> Vec<VerifyingKey> {
    let mut keys = Vec::new();
    for e in log.iter().filter(|e| e.kind == KEY_CHANGE_KIND) {
        if let Some(key) = e
            .detail
            .strip_prefix("signing key ")
            .and_then(|k| k.parse::<VerifyingKey>().ok())
        {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// Why a stored submission does not match what the node signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentProblem {
    /// The stored bytes could not be decoded at all.
    #[error("its stored bytes are not a signed submission")]
    Undecodable,
    /// The signed bytes hash to another id.
    #[error("its signed bytes hash to {computed}, not to its id (BLAKE3)")]
    IdMismatch {
        /// BLAKE3 of the stored bytes.
        computed: SubmissionId,
    },
    /// It is signed by a key this node never signed with.
    #[error("it is signed by key {signer}, which is not one of this node's signing keys")]
    UnknownSigner {
        /// The key that signed.
        signer: VerifyingKey,
    },
    /// The signature does not verify over the bytes.
    #[error("its signature does not verify over its bytes")]
    BadSignature,
    /// The signed bytes are not a submission.
    #[error("its signed bytes are not a submission")]
    NotASubmission,
    /// A value stored beside the bytes differs from the signed one.
    #[error("it is stored with {field} {stored} but signed with {signed}")]
    Column {
        /// Which value.
        field: &'static str,
        /// As stored in the outbox row.
        stored: String,
        /// As signed.
        signed: String,
    },
}

/// What the outbox holds beside a submission's signed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredColumns<'a> {
    /// Its id.
    pub id: SubmissionId,
    /// Its sequence.
    pub sequence: u64,
    /// Its period, as text.
    pub period: &'a str,
    /// Its linkage domain.
    pub linkage_domain: &'a str,
}

/// Checks a stored submission: `BLAKE3(signed bytes) == id`, signed by one of `keys`
/// (the node's signing keys), the signature verifies, the bytes decode, and the
/// kommun, sequence, period and linkage domain stored beside it are the signed ones.
pub fn check_stored(
    stored: &StoredColumns<'_>,
    signed: &SignedSubmission,
    keys: &[VerifyingKey],
    kommun: KommunCode,
) -> Result<Submission, ContentProblem> {
    let computed = signed.id();
    if computed != stored.id {
        return Err(ContentProblem::IdMismatch { computed });
    }
    if !keys.contains(&signed.signer) {
        return Err(ContentProblem::UnknownSigner {
            signer: signed.signer,
        });
    }
    signed
        .signer
        .verify(SUBMISSION_CONTEXT, &signed.bytes, &signed.signature)
        .map_err(|_| ContentProblem::BadSignature)?;
    let submission: Submission =
        crate::codec::decode(&signed.bytes).map_err(|_| ContentProblem::NotASubmission)?;
    let column = |field, stored: String, signed: String| {
        if stored == signed {
            Ok(())
        } else {
            Err(ContentProblem::Column {
                field,
                stored,
                signed,
            })
        }
    };
    let s = &submission.statistics;
    column("kommun", kommun.to_string(), s.kommun.to_string())?;
    column(
        "sequence",
        stored.sequence.to_string(),
        submission.sequence.to_string(),
    )?;
    column("period", stored.period.to_owned(), s.period.to_string())?;
    column(
        "linkage domain",
        stored.linkage_domain.to_owned(),
        s.linkage_domain.to_string(),
    )?;
    Ok(submission)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{node_entry_bytes, node_entry_hash};

    fn key() -> SigningKey {
        let rng = ring::rand::SystemRandom::new();
        SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng).unwrap()).unwrap()
    }

    /// A log of `kinds`, where `"head"` becomes a signed head by `signer`.
    fn log(kinds: &[&str], signer: &SigningKey) -> Vec<NodeLogEntry> {
        let mut out: Vec<NodeLogEntry> = Vec::new();
        let mut previous = [0u8; 32];
        for (i, kind) in kinds.iter().enumerate() {
            let entry = i as i64 + 1;
            let (kind, detail) = match *kind {
                "head" => (HEAD_KIND, head_detail(entry - 1, &previous, signer)),
                "key" => (
                    KEY_CHANGE_KIND,
                    format!("signing key {}", signer.verifying_key()),
                ),
                other => (other, "sequence 1".to_owned()),
            };
            let hash = node_entry_hash(&previous, &node_entry_bytes(entry, 7, kind, None, &detail));
            out.push(NodeLogEntry {
                entry,
                at: 7,
                kind: kind.to_owned(),
                submission: None,
                detail,
                hash: hex::encode(hash),
            });
            previous = hash;
        }
        out
    }

    /// Recomputes every chain hash, as an editor with write access would.
    fn rehash(log: &mut [NodeLogEntry]) {
        let mut previous = [0u8; 32];
        for e in log {
            let hash = node_entry_hash(
                &previous,
                &node_entry_bytes(e.entry, e.at, &e.kind, e.submission, &e.detail),
            );
            e.hash = hex::encode(hash);
            previous = hash;
        }
    }

    #[test]
    fn a_signed_log_verifies_and_an_edit_with_recomputed_hashes_is_named() {
        let k = key();
        let current = k.verifying_key();
        let mut l = log(&["key", "built", "sent", "head", "receipt", "head"], &k);
        assert_eq!(verify_heads(&l, Some(&current)), vec![]);
        l[4].detail = "hub log index 9".to_owned();
        rehash(&mut l);
        let findings = verify_heads(&l, Some(&current));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            matches!(
                findings[0],
                NodeFinding::HeadMismatch {
                    entry: 6,
                    from: 5,
                    to: 5,
                    ..
                }
            ),
            "{findings:?}"
        );
    }

    #[test]
    fn a_head_by_another_key_or_an_unsigned_tail_is_named() {
        let k = key();
        let mut l = log(&["key", "built", "head"], &k);
        let previous: [u8; 32] = hex32(&l[1].hash).unwrap();
        l[2].detail = head_detail(2, &previous, &key());
        rehash(&mut l);
        assert!(
            matches!(
                verify_heads(&l, Some(&k.verifying_key()))[..],
                [
                    NodeFinding::HeadKey { entry: 3, .. },
                    NodeFinding::NotCurrentKey { entry: 3 }
                ]
            ),
            "{:?}",
            verify_heads(&l, Some(&k.verifying_key()))
        );
        let l = log(&["key", "built", "head", "sent"], &k);
        assert_eq!(
            verify_heads(&l, Some(&k.verifying_key())),
            vec![NodeFinding::Unsigned { from: 4 }]
        );
    }

    #[test]
    fn a_head_detail_round_trips() {
        let k = key();
        let detail = head_detail(4, &[9u8; 32], &k);
        let head = SignedHead::parse(&detail).unwrap();
        assert_eq!((head.entries, head.head), (4, [9u8; 32]));
        assert!(head.verifies());
        assert_eq!(SignedHead::parse(&(detail + ", more")), None);
    }
}
