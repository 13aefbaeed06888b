//! The custodian's log entries: one per batch evaluated or refused and per domain
//! setup step, with kommun, count, domain, key id and time, never an input or an
//! output.
//!
//! Entries become leaves of an RFC 6962 tree with the same machinery as the hub's
//! transfer log ([`crate::translog`]: `leaf_hash`, the stored-hash tree, proofs,
//! C2SP checkpoints in signed notes under the custodian's own Ed25519 key and origin),
//! which works on entry bytes and needs nothing new. Only the entry format differs:
//! its first line, `samla custodian v1`, keeps a custodian entry from ever reading as
//! a hub entry or the reverse.

use serde::{Deserialize, Serialize};

use super::output::CustodianKeyId;
use crate::codes::KommunCode;
use crate::pseudonym::LinkageDomain;

/// The first line of every custodian entry.
const ENTRY_MAGIC: &str = "samla custodian v1";
/// The largest entry accepted when reading.
pub const MAX_ENTRY_BYTES: usize = 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustodianEntryKind {
    /// A batch was evaluated.
    Evaluated,
    /// A batch or request was refused (the note says why).
    Refused,
    /// A setup value was opened for a domain (the note says which round and slot).
    SetupOpened,
    /// A domain's setup record was verified and stored.
    DomainStored,
    /// The key set was sent.
    KeySetRead,
    /// A domain's record and this custodian's attestation were sent.
    DomainRead,
}

impl CustodianEntryKind {
    const ALL: [CustodianEntryKind; 6] = [
        CustodianEntryKind::Evaluated,
        CustodianEntryKind::Refused,
        CustodianEntryKind::SetupOpened,
        CustodianEntryKind::DomainStored,
        CustodianEntryKind::KeySetRead,
        CustodianEntryKind::DomainRead,
    ];

    /// The word used in entries.
    pub fn code(self) -> &'static str {
        match self {
            CustodianEntryKind::Evaluated => "evaluated",
            CustodianEntryKind::Refused => "refused",
            CustodianEntryKind::SetupOpened => "setup_opened",
            CustodianEntryKind::DomainStored => "domain_stored",
            CustodianEntryKind::KeySetRead => "key_set_read",
            CustodianEntryKind::DomainRead => "domain_read",
        }
    }
}

/// Why a custodian entry was refused when read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("custodian log entry is malformed: {reason}")]
pub struct CustodianEntryError {
    /// What is wrong.
    pub reason: &'static str,
}

/// One entry of a custodian's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodianLogEntry {
    /// What happened.
    pub kind: CustodianEntryKind,
    /// When (Unix seconds).
    pub at: i64,
    /// Which kommun asked (from its certificate), if a node did.
    pub kommun: Option<KommunCode>,
    /// The key the request was for.
    pub key_id: CustodianKeyId,
    /// The linkage domain, if the request named one.
    pub domain: Option<LinkageDomain>,
    /// Elements in the batch (0 for requests that are not batches).
    pub count: u64,
    /// A short code: the refusal (`rate_limited`, …) or the setup step, or empty.
    pub note: String,
}

impl CustodianLogEntry {
    /// The entry's bytes, the leaf of the tree:
    ///
    /// ```text
    /// samla custodian v1
    /// kind evaluated
    /// at 1795000000
    /// kommun 2180
    /// key 0123456789abcdef
    /// domain gavleborg-ung-2023
    /// count 4096
    /// note -
    /// ```
    ///
    /// Each line ends with `\n`; a missing kommun, domain or note is `-`; characters
    /// of the note other than `a-z`, `0-9`, `_`, `-`, `.`, space become `_`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let dash = |s: Option<String>| s.unwrap_or_else(|| "-".to_owned());
        let note: String = self
            .note
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || matches!(c, '_' | '-' | '.' | ' ')
                {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let note = if note.trim().is_empty() {
            "-".to_owned()
        } else {
            note
        };
        format!(
            "{ENTRY_MAGIC}\nkind {}\nat {}\nkommun {}\nkey {}\ndomain {}\ncount {}\nnote {note}\n",
            self.kind.code(),
            self.at,
            dash(self.kommun.map(|k| k.to_string())),
            self.key_id,
            dash(self.domain.as_ref().map(|d| d.to_string())),
            self.count,
        )
        .into_bytes()
    }

    /// Parses what [`CustodianLogEntry::to_bytes`] wrote; refuses anything else.
    pub fn from_bytes(bytes: &[u8]) -> Result<CustodianLogEntry, CustodianEntryError> {
        let fail = |reason| CustodianEntryError { reason };
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(fail("longer than an entry can be"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| fail("not UTF-8"))?;
        let body = text
            .strip_suffix('\n')
            .ok_or(fail("does not end with a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [magic, kind, at, kommun, key, domain, count, note] = lines[..] else {
            return Err(fail("expected eight lines"));
        };
        if magic != ENTRY_MAGIC {
            return Err(fail("first line is not `samla custodian v1`"));
        }
        let value = |line: &str, name: &str| -> Option<String> {
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_owned)
        };
        let optional = |text: String| (text != "-").then_some(text);
        let kind = value(kind, "kind").ok_or(fail("expected a `kind` line"))?;
        let key = value(key, "key").ok_or(fail("expected a `key` line"))?;
        let key_bytes: [u8; 8] = hex::decode(&key)
            .ok()
            .filter(|_| key.bytes().all(|b| !b.is_ascii_uppercase()))
            .and_then(|b| b.try_into().ok())
            .ok_or(fail("bad key id"))?;
        let entry = CustodianLogEntry {
            kind: CustodianEntryKind::ALL
                .into_iter()
                .find(|k| k.code() == kind)
                .ok_or(fail("unknown kind"))?,
            at: value(at, "at")
                .and_then(|t| t.parse().ok())
                .ok_or(fail("`at` is not a number"))?,
            kommun: match optional(value(kommun, "kommun").ok_or(fail("expected a `kommun` line"))?)
            {
                None => None,
                Some(k) => Some(k.parse().map_err(|_| fail("bad kommun"))?),
            },
            key_id: CustodianKeyId::from_raw(key_bytes),
            domain: match optional(value(domain, "domain").ok_or(fail("expected a `domain` line"))?)
            {
                None => None,
                Some(d) => Some(d.parse().map_err(|_| fail("bad domain"))?),
            },
            count: value(count, "count")
                .and_then(|c| c.parse().ok())
                .ok_or(fail("`count` is not a number"))?,
            note: optional(value(note, "note").ok_or(fail("expected a `note` line"))?)
                .unwrap_or_default(),
        };
        if entry.to_bytes() != bytes {
            return Err(fail("not in canonical form"));
        }
        Ok(entry)
    }
}
