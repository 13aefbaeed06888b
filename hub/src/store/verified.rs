//! Stored submissions read back with every byte checked (DESIGN.md §10): the only way
//! the hub's reports and audit tools get a stored submission is as a
//! [`VerifiedStored`], and only [`Store::stored_in`] and [`Store::stored`] make one.
//!
//! A row of `submissions` is verified when its signed bytes hash to its id
//! (`BLAKE3(signed_bytes) == id`), decode as a submission whose kommun, sequence,
//! period and linkage domain are the row's; the node's Ed25519 signature over them
//! verifies with the stored signer, and that signer is a key the hub config registers
//! for the kommun on the day the hub received it; the stored receipt is signed by the
//! hub's key, names this submission, kommun, sequence, time and log index, and its
//! entry is in its signed checkpoint's tree; and the transfer log holds exactly that
//! entry at that index. Anything else is an [`Unverified`] naming the kommun, the
//! submission and what failed. The derived tables (`cells`, `linkage_sets`) are not
//! read here: reports decode the tables from the verified signed bytes, and
//! `audit verify` checks the derived tables against them (`hub/src/audit/store.rs`).

use std::collections::BTreeMap;
use std::fmt;

use rusqlite::{params, Connection, OptionalExtension, Row};
use samla_common::codes::KommunCode;
use samla_common::period::Period;
use samla_common::pseudonym::LinkageDomain;
use samla_common::signing::{VerifyingKey, SUBMISSION_CONTEXT};
use samla_common::wire::{SignedReceipt, Submission, SubmissionId};

use super::{Store, StoreError};
use crate::config::RegisteredKey;

/// What stored submissions are checked against: the hub's receipt key and log name,
/// and the signing keys the hub config registers per kommun.
#[derive(Debug, Clone)]
pub struct Trust {
    /// The hub's Ed25519 public key (receipts and checkpoints).
    pub hub_key: VerifyingKey,
    /// The transfer log's origin.
    pub origin: String,
    /// The signing keys registered per kommun (hub config `[[node]]`).
    pub registered: BTreeMap<KommunCode, Vec<RegisteredKey>>,
}

impl Trust {
    /// The trust of a hub config, with the hub's public key.
    pub fn of(config: &crate::config::HubConfig, hub_key: VerifyingKey) -> Trust {
        Trust {
            hub_key,
            origin: config.log_origin.clone(),
            registered: config
                .nodes
                .iter()
                .map(|(kommun, node)| (*kommun, node.signing_keys.clone()))
                .collect(),
        }
    }

    /// Whether `key` was registered for `kommun` on the day of `at` (Unix seconds).
    fn registered_at(&self, kommun: KommunCode, key: &VerifyingKey, at: i64) -> bool {
        let day = time::OffsetDateTime::from_unix_timestamp(at).map(|t| t.date());
        let Ok(day) = day else { return false };
        self.registered
            .get(&kommun)
            .is_some_and(|keys| keys.iter().any(|k| k.key == *key && k.accepted_on(day)))
    }
}

/// A stored submission whose bytes, signature, receipt and log entry were checked;
/// only the store's checking readers make one.
#[derive(Debug, Clone)]
pub struct VerifiedStored {
    id: SubmissionId,
    submission: Submission,
    received_at: i64,
    log_index: u64,
    size: usize,
}

impl VerifiedStored {
    /// Its id: BLAKE3 of its signed bytes.
    pub fn id(&self) -> SubmissionId {
        self.id
    }

    /// The submission, decoded from the checked signed bytes.
    pub fn submission(&self) -> &Submission {
        &self.submission
    }

    /// The kommun that signed it.
    pub fn kommun(&self) -> KommunCode {
        self.submission.statistics.kommun
    }

    /// When the hub received it (Unix seconds), as its signed receipt says.
    pub fn received_at(&self) -> i64 {
        self.received_at
    }

    /// Its entry's index in the transfer log.
    pub fn log_index(&self) -> u64 {
        self.log_index
    }

    /// The size of its signed bytes.
    pub fn size(&self) -> usize {
        self.size
    }
}

/// A stored submission that failed a check: what the row claims, and what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    /// The id the row is stored under (hex; the raw column if it is not 32 bytes).
    pub id: String,
    /// The kommun the row names.
    pub kommun: String,
    /// The period the row names.
    pub period: String,
    /// The linkage domain the row names.
    pub linkage_domain: String,
    /// The log index the row names.
    pub log_index: Option<u64>,
    /// What failed.
    pub damage: Damage,
}

impl Unverified {
    /// The id's first 16 hex characters, for messages.
    pub fn id_prefix(&self) -> &str {
        self.id.get(..16).unwrap_or(&self.id)
    }
}

/// What is wrong with a stored submission (typed in `samla_common`, so audit output
/// words it in Swedish and English).
pub use samla_common::audit::{Damage, ReceiptDamage};

impl fmt::Display for Unverified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kommun {} submission {}", self.kommun, self.id_prefix())?;
        if let Some(index) = self.log_index {
            write!(f, " (log index {index})")?;
        }
        write!(f, ": {}", self.damage)
    }
}

/// A stored submission, checked.
pub type Checked = Result<VerifiedStored, Box<Unverified>>;

const COLUMNS: &str =
    "SELECT s.id, s.kommun, s.sequence, s.received_at, s.period, s.linkage_domain,
        s.signer, s.signature, s.signed_bytes, s.receipt, s.receipt_signature, s.log_index, t.entry
     FROM submissions s LEFT JOIN transfer_events t ON t.log_index = s.log_index";

impl Store {
    /// Every stored submission in a linkage domain, each checked; by kommun, then
    /// sequence. A row is selected by what its columns claim, so a row whose
    /// columns were changed is either checked (and fails) or not selected:
    /// [`Store::unmatched`] finds those from the log's side.
    pub fn stored_in(
        &self,
        domain: &LinkageDomain,
        trust: &Trust,
    ) -> Result<Vec<Checked>, StoreError> {
        let mut statement = self.db.prepare(&format!(
            "{COLUMNS} WHERE s.linkage_domain = ?1 ORDER BY s.kommun, s.sequence"
        ))?;
        let rows = statement.query_map(params![domain.as_str()], read_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(check(row?, trust));
        }
        Ok(out)
    }

    /// Every stored submission, each checked, in log order.
    pub fn stored_all(&self, trust: &Trust) -> Result<Vec<Checked>, StoreError> {
        let mut statement = self
            .db
            .prepare(&format!("{COLUMNS} ORDER BY s.log_index"))?;
        let rows = statement.query_map([], read_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(check(row?, trust));
        }
        Ok(out)
    }

    /// One stored submission, checked; `None` if no row has the id.
    pub fn stored(&self, id: SubmissionId, trust: &Trust) -> Result<Option<Checked>, StoreError> {
        Ok(stored_in_tx(&self.db, id, trust)?)
    }

    /// The log and the submission rows held against each other, without decoding
    /// or verifying signatures (so a report can afford it over the whole store):
    /// every `accepted` entry must have a row with its id at its index, whose
    /// kommun, sequence, period and linkage domain columns are the ones the entry
    /// names; and every row must have an `accepted` entry. Only failures that name
    /// (on either side) `filter`'s period and linkage domain are returned, or every
    /// one if `filter` is `None`.
    pub fn unmatched(
        &self,
        filter: Option<(&Period, &LinkageDomain)>,
    ) -> Result<Vec<Unverified>, StoreError> {
        let mut statement = self.db.prepare(
            "SELECT t.log_index, t.entry, s.id, s.kommun, s.sequence, s.period, s.linkage_domain
               FROM transfer_events t LEFT JOIN submissions s ON s.log_index = t.log_index
              WHERE t.kind = 'accepted' OR s.id IS NOT NULL
             UNION ALL
             SELECT s.log_index, NULL, s.id, s.kommun, s.sequence, s.period, s.linkage_domain
               FROM submissions s
              WHERE NOT EXISTS (SELECT 1 FROM transfer_events t WHERE t.log_index = s.log_index)",
        )?;
        let rows = statement.query_map([], |r| {
            Ok(Pair {
                index: r.get(0)?,
                entry: r.get(1)?,
                id: r.get(2)?,
                kommun: r.get(3)?,
                sequence: r.get(4)?,
                period: r.get(5)?,
                domain: r.get(6)?,
            })
        })?;
        let wanted = filter.map(|(p, d)| (p.to_string(), d.as_str().to_owned()));
        let mut out = Vec::new();
        for row in rows {
            let pair = row?;
            let Some(failure) = pair.failure() else {
                continue;
            };
            let names = |period: &str, domain: &str| {
                wanted
                    .as_ref()
                    .is_none_or(|(p, d)| p == period && d == domain)
            };
            if names(&failure.period, &failure.linkage_domain)
                || names(
                    pair.period.as_deref().unwrap_or_default(),
                    pair.domain.as_deref().unwrap_or_default(),
                )
            {
                out.push(failure);
            }
        }
        Ok(out)
    }
}

/// An `accepted` entry and the submission row at its index, either possibly absent.
struct Pair {
    index: i64,
    entry: Option<Vec<u8>>,
    id: Option<Vec<u8>>,
    kommun: Option<String>,
    sequence: Option<i64>,
    period: Option<String>,
    domain: Option<String>,
}

impl Pair {
    /// What is wrong between the entry and the row, as the entry names it (or the
    /// row, if there is no entry); `None` if they agree.
    fn failure(&self) -> Option<Unverified> {
        let entry = self
            .entry
            .as_deref()
            .and_then(|b| samla_common::translog::LogEntry::from_bytes(b).ok());
        let row_id = self.id.as_deref().map(hex::encode);
        let Some(entry) = entry.filter(|e| e.kind == samla_common::translog::EntryKind::Accepted)
        else {
            // A row without an `accepted` entry at its index.
            return Some(Unverified {
                id: row_id.unwrap_or_default(),
                kommun: self.kommun.clone().unwrap_or_default(),
                period: self.period.clone().unwrap_or_default(),
                linkage_domain: self.domain.clone().unwrap_or_default(),
                log_index: u64::try_from(self.index).ok(),
                damage: Damage::LogEntry,
            });
        };
        let summary = AcceptedSummary::parse(&entry.summary);
        let named = Unverified {
            id: entry.submission.map_or("-".to_owned(), |s| s.to_string()),
            kommun: entry.kommun.map_or("-".to_owned(), |k| k.to_string()),
            period: summary.period.clone().unwrap_or_default(),
            linkage_domain: summary.domain.clone().unwrap_or_default(),
            log_index: u64::try_from(self.index).ok(),
            damage: Damage::Missing,
        };
        let Some(row_id) = row_id else {
            return Some(named);
        };
        let column = if Some(row_id.as_str()) != entry.submission.map(|s| s.to_string()).as_deref()
        {
            Some("id")
        } else if self.kommun.as_deref() != entry.kommun.as_ref().map(|k| k.as_str()) {
            Some("kommun")
        } else if self.sequence.map(|s| s.to_string()) != summary.sequence {
            Some("sequence")
        } else if self.period != summary.period {
            Some("period")
        } else if self.domain != summary.domain {
            Some("linkage_domain")
        } else {
            None
        };
        column.map(|column| Unverified {
            damage: Damage::Row { column },
            ..named
        })
    }
}

/// One submission by id inside a transaction (the resend path), checked.
pub(super) fn stored_in_tx(
    db: &Connection,
    id: SubmissionId,
    trust: &Trust,
) -> Result<Option<Checked>, rusqlite::Error> {
    let row = db
        .prepare_cached(&format!("{COLUMNS} WHERE s.id = ?1"))?
        .query_row([id.as_bytes().as_slice()], read_row)
        .optional()?;
    Ok(row.map(|row| check(row, trust)))
}

/// What an `accepted` entry's summary names: `sequence N, period P, linkage domain
/// D, B bytes` (see `samla_common::receipt::accepted_entry`).
struct AcceptedSummary {
    sequence: Option<String>,
    period: Option<String>,
    domain: Option<String>,
}

impl AcceptedSummary {
    fn parse(summary: &str) -> AcceptedSummary {
        let field = |name: &str| {
            summary
                .split(", ")
                .find_map(|part| part.strip_prefix(name))
                .map(str::to_owned)
        };
        AcceptedSummary {
            sequence: field("sequence "),
            period: field("period "),
            domain: field("linkage domain "),
        }
    }
}

/// A `submissions` row and its log entry, as stored.
struct StoredRow {
    id: Vec<u8>,
    kommun: String,
    sequence: i64,
    received_at: i64,
    period: String,
    linkage_domain: String,
    signer: Vec<u8>,
    signature: Vec<u8>,
    signed_bytes: Vec<u8>,
    receipt: Vec<u8>,
    receipt_signature: Vec<u8>,
    log_index: i64,
    entry: Option<Vec<u8>>,
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<StoredRow> {
    Ok(StoredRow {
        id: r.get(0)?,
        kommun: r.get(1)?,
        sequence: r.get(2)?,
        received_at: r.get(3)?,
        period: r.get(4)?,
        linkage_domain: r.get(5)?,
        signer: r.get(6)?,
        signature: r.get(7)?,
        signed_bytes: r.get(8)?,
        receipt: r.get(9)?,
        receipt_signature: r.get(10)?,
        log_index: r.get(11)?,
        entry: r.get(12)?,
    })
}

/// Every check of the module's contract, in order; the first that fails is named.
fn check(row: StoredRow, trust: &Trust) -> Checked {
    let id = <[u8; 32]>::try_from(row.id.as_slice()).map(SubmissionId::from_bytes);
    let unverified = |damage: Damage| {
        Box::new(Unverified {
            id: match &id {
                Ok(id) => id.to_string(),
                Err(_) => hex::encode(&row.id),
            },
            kommun: row.kommun.clone(),
            period: row.period.clone(),
            linkage_domain: row.linkage_domain.clone(),
            log_index: u64::try_from(row.log_index).ok(),
            damage,
        })
    };
    let Ok(id) = id else {
        return Err(unverified(Damage::Row { column: "id" }));
    };
    if SubmissionId::of(&row.signed_bytes) != id {
        return Err(unverified(Damage::Content));
    }
    let submission: Submission = match samla_common::codec::decode(&row.signed_bytes) {
        Ok(s) => s,
        Err(e) => return Err(unverified(Damage::Malformed(e))),
    };
    let s = &submission.statistics;
    let column = if s.kommun.as_str() != row.kommun {
        Some("kommun")
    } else if i64::try_from(submission.sequence).ok() != Some(row.sequence) {
        Some("sequence")
    } else if s.period.to_string() != row.period {
        Some("period")
    } else if s.linkage_domain.as_str() != row.linkage_domain {
        Some("linkage_domain")
    } else {
        None
    };
    if let Some(column) = column {
        return Err(unverified(Damage::Row { column }));
    }
    let signer: Option<VerifyingKey> = hex::encode(&row.signer).parse().ok();
    let signature = samla_common::codec::decode(&row.signature).ok();
    let (Some(signer), Some(signature)) = (signer, signature) else {
        return Err(unverified(Damage::Signature));
    };
    if signer
        .verify(SUBMISSION_CONTEXT, &row.signed_bytes, &signature)
        .is_err()
    {
        return Err(unverified(Damage::Signature));
    }
    let receipt_signature = match samla_common::codec::decode(&row.receipt_signature) {
        Ok(s) => s,
        Err(e) => return Err(unverified(Damage::Receipt(ReceiptDamage::Signature(e)))),
    };
    let signed_receipt = SignedReceipt {
        bytes: row.receipt.clone(),
        signature: receipt_signature,
    };
    let receipt = match signed_receipt.verify(&trust.hub_key, &trust.origin, id, s.kommun) {
        Ok(r) => r,
        Err(e) => return Err(unverified(Damage::Receipt(ReceiptDamage::Verify(e)))),
    };
    let r = receipt.receipt();
    let mismatch = if r.sequence != submission.sequence {
        Some(ReceiptDamage::Sequence)
    } else if i64::try_from(r.log_index).ok() != Some(row.log_index) {
        Some(ReceiptDamage::LogIndex)
    } else if r.received_at != row.received_at {
        Some(ReceiptDamage::Time)
    } else {
        None
    };
    if let Some(why) = mismatch {
        return Err(unverified(Damage::Receipt(why)));
    }
    if !trust.registered_at(s.kommun, &signer, r.received_at) {
        return Err(unverified(Damage::Signer));
    }
    if row.entry.as_deref() != Some(r.entry.as_slice()) {
        return Err(unverified(Damage::LogEntry));
    }
    Ok(VerifiedStored {
        id,
        received_at: r.received_at,
        log_index: r.log_index,
        size: row.signed_bytes.len(),
        submission,
    })
}
