//! What privacy officers check: the exported logs of the hub and of a node, their
//! verification, and the cross-check between them (DESIGN.md §8).
//!
//! A [`HubBundle`] holds the hub's whole transfer log (entries in their exact text
//! form), every checkpoint the hub signed (one per entry), and the hub's public key.
//! [`verify_hub_log`] rebuilds the RFC 6962 tree from the entries and checks it
//! against every checkpoint, so a changed, removed, reordered or forged entry, a cut
//! log or a replaced signature is reported with the entry or checkpoint at fault.
//! A [`NodeBundle`] holds a node's hash-chained log, its outbox with the hub's
//! receipts, and the checkpoints it saw; [`cross_check`] holds the two against each
//! other. Bundles are JSON so anyone can write a verifier (docs/audit.md).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::codes::KommunCode;
use crate::signing::VerifyingKey;
use crate::translog::{Checkpoint, EntryKind, LogEntry, MemoryHashes};
use crate::wire::{SignedReceipt, SubmissionId};

mod finding;
pub use finding::Finding;
mod reason;
pub use reason::{CheckpointProblem, Damage, EntryProblem, ForkSource, ReceiptDamage};

pub mod content;
pub mod html;
pub mod node_checks;
pub mod person;
pub mod wording;

/// The bundle format version.
pub const BUNDLE_VERSION: u32 = 1;

/// The hub's transfer log, exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubBundle {
    /// Always [`BUNDLE_VERSION`].
    pub version: u32,
    /// The log's origin (first line of its checkpoints).
    pub origin: String,
    /// The hub's Ed25519 public key (receipts and checkpoints).
    pub hub_key: VerifyingKey,
    /// The same key as a C2SP signed-note verifier key line.
    pub note_verifier_key: String,
    /// The entries in order; entry `i` is at log index `i`.
    pub entries: Vec<String>,
    /// Signed checkpoints (C2SP signed notes), by tree size.
    pub checkpoints: Vec<String>,
}

/// One entry of a node's hash-chained log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLogEntry {
    /// Its number, from 1.
    pub entry: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// What happened.
    pub kind: String,
    /// The submission it is about, if any.
    pub submission: Option<SubmissionId>,
    /// Details, never personal data.
    pub detail: String,
    /// `BLAKE3(previous hash ‖ entry bytes)`, hex.
    pub hash: String,
}

/// One submission in a node's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSubmission {
    /// Its id (BLAKE3 of the signed bytes).
    pub id: SubmissionId,
    /// Its sequence number.
    pub sequence: u64,
    /// `pending`, `acknowledged` or `refused`.
    pub state: String,
    /// The hub's signed receipt, once acknowledged.
    pub receipt: Option<SignedReceipt>,
}

/// A node's logs, exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeBundle {
    /// Always [`BUNDLE_VERSION`].
    pub version: u32,
    /// The node's kommun.
    pub kommun: KommunCode,
    /// The hub's log origin the node expects.
    pub origin: String,
    /// The hub's public key the node trusts.
    pub hub_key: VerifyingKey,
    /// The node's transfer log.
    pub log: Vec<NodeLogEntry>,
    /// Every submission the node built.
    pub submissions: Vec<NodeSubmission>,
    /// The hub checkpoints the node saw and checked, oldest first.
    pub checkpoints: Vec<String>,
    /// The node's signing key when the bundle was made (its log heads are signed
    /// with it); absent in bundles from before signed heads.
    #[serde(default)]
    pub node_key: Option<VerifyingKey>,
}

/// What a clean verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSummary {
    /// Entries in the log.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// The latest checkpoint, if any.
    pub latest: Option<Checkpoint>,
}

/// Verifies a hub log: every entry canonical, every checkpoint signed, and the tree
/// rebuilt from the entries matching every checkpoint.
pub fn verify_hub_log(bundle: &HubBundle) -> Result<LogSummary, Vec<Finding>> {
    verify_signed_log(
        &bundle.origin,
        &bundle.hub_key,
        &bundle.entries,
        &bundle.checkpoints,
        |entry| {
            LogEntry::from_bytes(entry)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
}

/// Verifies any RFC 6962 log of samla's (the hub's transfer log, a key custodian's
/// log): every entry canonical as `parse` judges it, every checkpoint signed by `key`
/// under `origin`, and the tree rebuilt from the entries matching every checkpoint.
pub fn verify_signed_log(
    origin: &str,
    key: &VerifyingKey,
    entries: &[String],
    checkpoints: &[String],
    parse: impl Fn(&[u8]) -> Result<(), String>,
) -> Result<LogSummary, Vec<Finding>> {
    let mut findings = Vec::new();
    let mut heads: BTreeMap<u64, Checkpoint> = BTreeMap::new();
    for (position, note) in checkpoints.iter().enumerate() {
        match Checkpoint::open(note.as_bytes(), origin, key) {
            Ok(head) => {
                if let Some(other) = heads.get(&head.size) {
                    if other.root != head.root {
                        findings.push(Finding::Fork {
                            size: head.size,
                            source: ForkSource::Bundle { position },
                        });
                    }
                }
                heads.insert(head.size, head);
            }
            Err(reason) => findings.push(Finding::BadCheckpoint { position, reason }),
        }
    }
    let mut tree = MemoryHashes::default();
    let mut last_good = 0;
    let mut fault_reported = false;
    for (index, entry) in entries.iter().enumerate() {
        let index = index as u64;
        if let Err(reason) = parse(entry.as_bytes()) {
            findings.push(Finding::MalformedEntry {
                index,
                reason: EntryProblem::Format(reason),
            });
        }
        if tree.append(entry.as_bytes()).is_err() {
            findings.push(Finding::MalformedEntry {
                index,
                reason: EntryProblem::Tree,
            });
            break;
        }
        if let Some(head) = heads.get(&(index + 1)) {
            match tree.root() {
                Ok(root) if root == head.root => last_good = head.size,
                _ if !fault_reported => {
                    findings.push(Finding::EntryAtFault {
                        index: last_good,
                        checkpoint_size: head.size,
                        last_good,
                    });
                    fault_reported = true;
                }
                _ => {}
            }
        }
    }
    let entries = entries.len() as u64;
    if let Some((&size, _)) = heads.iter().next_back() {
        if size > entries {
            findings.push(Finding::Truncated {
                checkpoint_size: size,
                entries,
            });
        } else if size < entries {
            findings.push(Finding::Unsigned { from: size });
        }
    } else if entries > 0 {
        findings.push(Finding::Unsigned { from: 0 });
    }
    if findings.is_empty() {
        Ok(LogSummary {
            entries,
            checkpoints: heads.len(),
            latest: heads.into_values().next_back(),
        })
    } else {
        Err(findings)
    }
}

/// Verifies a node's log: the hash chain, and every receipt it holds.
pub fn verify_node_log(bundle: &NodeBundle) -> Result<u64, Vec<Finding>> {
    let mut findings = Vec::new();
    let mut previous = [0u8; 32];
    for (i, e) in bundle.log.iter().enumerate() {
        let hash = node_entry_hash(
            &previous,
            &node_entry_bytes(e.entry, e.at, &e.kind, e.submission, &e.detail),
        );
        if e.entry != i as i64 + 1 || hex::encode(hash) != e.hash {
            findings.push(Finding::NodeChain { entry: e.entry });
            break;
        }
        previous = hash;
    }
    if findings.is_empty() {
        findings.extend(
            node_checks::verify_heads(&bundle.log, bundle.node_key.as_ref())
                .into_iter()
                .map(Finding::Node),
        );
    }
    let logged = |id: SubmissionId, kind: &str| {
        bundle
            .log
            .iter()
            .any(|e| e.submission == Some(id) && e.kind == kind)
    };
    for s in &bundle.submissions {
        if !logged(s.id, "built") {
            findings.push(Finding::NodeLogMissing {
                submission: s.id,
                kind: "built",
            });
        }
        if s.receipt.is_some() && !logged(s.id, "receipt") {
            findings.push(Finding::NodeLogMissing {
                submission: s.id,
                kind: "receipt",
            });
        }
        if let Some(receipt) = &s.receipt {
            if let Err(e) = receipt.verify(&bundle.hub_key, &bundle.origin, s.id, bundle.kommun) {
                findings.push(Finding::BadReceipt {
                    submission: s.id,
                    reason: e,
                });
            }
        }
    }
    if findings.is_empty() {
        Ok(bundle.log.len() as u64)
    } else {
        Err(findings)
    }
}

/// The bytes of a node log entry as hashed in its chain:
/// `entry N\nat T\nkind K\nsubmission ID-or--\ndetail D\n` (control characters in the
/// detail become spaces).
pub fn node_entry_bytes(
    number: i64,
    at: i64,
    kind: &str,
    id: Option<SubmissionId>,
    detail: &str,
) -> Vec<u8> {
    let id = id.map_or("-".to_owned(), |i| i.to_string());
    let detail: String = detail
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("entry {number}\nat {at}\nkind {kind}\nsubmission {id}\ndetail {detail}\n").into_bytes()
}

/// A node log entry's hash: `BLAKE3(previous hash ‖ entry bytes)`; the first entry's
/// previous hash is 32 zero bytes.
pub fn node_entry_hash(previous: &[u8], bytes: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(previous);
    hasher.update(bytes);
    *hasher.finalize().as_bytes()
}

/// Holds a node's bundle against the hub's: both verify on their own; every
/// submission the node holds a receipt for is in the hub's log at the receipt's index
/// with the same digest; every hub entry for this kommun names a submission the node
/// sent; and every checkpoint the node saw agrees with the hub's log (no fork).
pub fn cross_check(node: &NodeBundle, hub: &HubBundle) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Err(f) = verify_node_log(node) {
        findings.extend(f);
    }
    if let Err(f) = verify_hub_log(hub) {
        findings.extend(f);
    }
    let entries: Vec<Option<LogEntry>> = hub
        .entries
        .iter()
        .map(|e| LogEntry::from_bytes(e.as_bytes()).ok())
        .collect();
    let sent: BTreeSet<SubmissionId> = node.submissions.iter().map(|s| s.id).collect();
    for s in &node.submissions {
        let Some(receipt) = &s.receipt else { continue };
        let Ok(verified) = receipt.verify(&node.hub_key, &node.origin, s.id, node.kommun) else {
            continue;
        };
        let index = verified.receipt().log_index;
        let logged = usize::try_from(index)
            .ok()
            .and_then(|i| entries.get(i))
            .and_then(Option::as_ref);
        let matches = logged.is_some_and(|e| {
            e.kind == EntryKind::Accepted
                && e.submission == Some(s.id)
                && e.kommun == Some(node.kommun)
        }) && usize::try_from(index)
            .ok()
            .and_then(|i| hub.entries.get(i))
            .is_some_and(|e| e.as_bytes() == verified.receipt().entry.as_slice());
        if !matches {
            findings.push(Finding::MissingAtHub {
                submission: s.id,
                index,
            });
        }
    }
    for (index, entry) in entries.iter().enumerate() {
        let Some(entry) = entry else { continue };
        let transfer = matches!(entry.kind, EntryKind::Accepted | EntryKind::Refused);
        if !transfer || entry.kommun != Some(node.kommun) {
            continue;
        }
        if !entry.submission.is_some_and(|id| sent.contains(&id)) {
            findings.push(Finding::UnknownAtHub {
                index: index as u64,
                submission: entry.submission,
            });
        }
    }
    // Every checkpoint the node saw must match the tree of the hub's entries.
    let mut tree = MemoryHashes::default();
    let mut roots = Vec::with_capacity(hub.entries.len() + 1);
    roots.push(tree.root().ok());
    for entry in &hub.entries {
        if tree.append(entry.as_bytes()).is_err() {
            break;
        }
        roots.push(tree.root().ok());
    }
    let from_receipts: Vec<String> = node
        .submissions
        .iter()
        .filter_map(|s| s.receipt.as_ref())
        .filter_map(|r| crate::codec::decode::<crate::wire::Receipt>(&r.bytes).ok())
        .map(|r| String::from_utf8_lossy(&r.checkpoint).into_owned())
        .collect();
    let seen = node.checkpoints.iter().chain(&from_receipts);
    for note in seen {
        let Ok(head) = Checkpoint::open(note.as_bytes(), &node.origin, &node.hub_key) else {
            continue;
        };
        let ours = usize::try_from(head.size)
            .ok()
            .and_then(|i| roots.get(i))
            .copied()
            .flatten();
        if ours != Some(head.root) {
            findings.push(Finding::Fork {
                size: head.size,
                source: ForkSource::GivenToNode,
            });
        }
    }
    findings.sort_by_key(|f| f.to_string());
    findings.dedup();
    findings
}

/// The README written into a hub bundle, for the privacy officer who receives it.
pub const HUB_BUNDLE_README: &str = "\
# samla hub transfer log bundle

`hub-bundle.json` is the hub's whole transfer log: every submission it accepted or
refused, in order, with every checkpoint it signed. It holds no personal data: entries
name kommuner and submissions by id, never a person, a pseudonym or a count.

To check it: `samla-hub audit verify --bundle DIR` or `samla-node audit verify
--hub-bundle DIR`. To check it against a kommun's own log: `samla-node audit
cross-check NODE-BUNDLE DIR`. Or write your own verifier (docs/audit.md in the samla sources):

1. `hub_key` is the hub's Ed25519 public key (hex); `note_verifier_key` is the same
   key as a C2SP signed-note verifier key.
2. Each string in `checkpoints` is a C2SP signed note whose text is a C2SP
   tlog-checkpoint: origin, tree size, base64 root hash. Verify each signature.
3. Each string in `entries` is one log entry (six lines, see docs/audit.md). Build the
   RFC 6962 Merkle tree over the entries' bytes (leaf = SHA-256(0x00 || entry), node =
   SHA-256(0x01 || left || right)); after entry i the root must equal the root of the
   checkpoint of size i+1.
";

/// The README written into a node bundle.
pub const NODE_BUNDLE_README: &str = "\
# samla node transfer log bundle

`node-bundle.json` is one kommun node's own record of what it sent to the region's
hub: its hash-chained transfer log, every submission it built (by id, never its
content) with the hub's signed receipt, and every hub checkpoint it saw.

To check it: `samla-node audit verify --bundle DIR`. To check it against the hub's log:
`samla-node audit cross-check DIR HUB-BUNDLE` (or the same with samla-hub).

The chain: entry n's `hash` is BLAKE3(hash of entry n-1 || bytes), with 32 zero bytes
before entry 1, and bytes `entry N\\nat T\\nkind K\\nsubmission ID-or--\\ndetail D\\n`.
A `signed head` entry (detail `entries N, head H, key K, signature S`) is the node's
Ed25519 signature by K of \"samla/node-log-head/v1\" || 0x00 || BLAKE3(\"samla node log
head v1\\nentries N\\nhead H\\n\"): it vouches for entries 1..N. `node_key` is the
node's signing key; compare it with the hub's registration of the kommun.

`content.json` has, per submission, the BLAKE3 digest of its stored signed bytes
(equal to its id unless they were changed) and a summary; with `--with-content` also
its tables. Cross-check compares it with the hub's `content.json`.
";

/// How `audit show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowFormat {
    /// Aligned columns.
    Table,
    /// An array of objects.
    Json,
    /// Comma-separated values with a header.
    Csv,
}

/// Renders rows under a header in the chosen format.
pub fn render(header: &[&str], rows: &[Vec<String>], format: ShowFormat) -> String {
    match format {
        ShowFormat::Json => {
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|row| {
                    header
                        .iter()
                        .zip(row)
                        .map(|(h, v)| ((*h).to_owned(), serde_json::Value::String(v.clone())))
                        .collect()
                })
                .collect();
            serde_json::to_string_pretty(&objects).unwrap_or_default() + "\n"
        }
        ShowFormat::Csv => {
            let quote = |v: &str| {
                if v.contains([',', '"', '\n']) {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.to_owned()
                }
            };
            let mut out = header.join(",") + "\n";
            for row in rows {
                out += &row.iter().map(|v| quote(v)).collect::<Vec<_>>().join(",");
                out += "\n";
            }
            out
        }
        ShowFormat::Table => {
            let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
            for row in rows {
                for (w, v) in widths.iter_mut().zip(row) {
                    *w = (*w).max(v.chars().count());
                }
            }
            let line = |cells: Vec<&str>| {
                let mut l = String::new();
                for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                    if i > 0 {
                        l.push_str("  ");
                    }
                    l.push_str(c);
                    l.push_str(&" ".repeat(w.saturating_sub(c.chars().count())));
                }
                l.trim_end().to_owned() + "\n"
            };
            let mut out = line(header.to_vec());
            for row in rows {
                out += &line(row.iter().map(String::as_str).collect());
            }
            out
        }
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(at: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(at) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => at.to_string(),
    }
}

/// The rows `audit show` prints for hub log entries.
pub fn hub_rows(entries: &[String]) -> Vec<Vec<String>> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| match LogEntry::from_bytes(e.as_bytes()) {
            Ok(entry) => vec![
                i.to_string(),
                format_time(entry.at),
                entry.kind.code().to_owned(),
                entry.kommun.map_or("-".to_owned(), |k| k.to_string()),
                entry.submission.map_or("-".to_owned(), |s| s.to_string()),
                entry.summary,
            ],
            Err(e) => vec![
                i.to_string(),
                String::new(),
                "MALFORMED".to_owned(),
                String::new(),
                String::new(),
                e.to_string(),
            ],
        })
        .collect()
}

/// The header of [`hub_rows`].
pub const HUB_HEADER: [&str; 6] = ["index", "time", "kind", "kommun", "submission", "summary"];

/// The rows `audit show` prints for a node's log.
pub fn node_rows(bundle: &NodeBundle) -> Vec<Vec<String>> {
    bundle
        .log
        .iter()
        .map(|e| {
            vec![
                e.entry.to_string(),
                format_time(e.at),
                e.kind.clone(),
                e.submission.map_or("-".to_owned(), |s| s.to_string()),
                e.detail.clone(),
                e.hash.clone(),
            ]
        })
        .collect()
}

/// The header of [`node_rows`].
pub const NODE_HEADER: [&str; 6] = ["entry", "time", "kind", "submission", "detail", "hash"];

/// What `verify` and `cross-check` print: the `ok` line if there are no findings,
/// else one `FAIL` line per finding; and whether it is clean.
pub fn report(findings: &[Finding], ok: &str) -> (String, bool) {
    if findings.is_empty() {
        (format!("{ok}\n"), true)
    } else {
        (
            findings.iter().map(|f| format!("FAIL {f}\n")).collect(),
            false,
        )
    }
}
