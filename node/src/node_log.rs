//! The node's transfer log (DESIGN.md §8): an append-only, hash-chained record of
//! every event of its submissions (built, sent, receipt, refusal, key change, …), and
//! the hub checkpoints the node has seen. It lives in the node database beside the
//! outbox ([`crate::outbox`]) and is written in the same transactions as the outbox
//! changes it records. Entries name submissions by id and never hold a personnummer
//! or a pseudonym.
//!
//! Each entry's hash is `BLAKE3(previous hash ‖ entry bytes)` (the first entry's
//! previous hash is 32 zero bytes), with the entry bytes as
//! `samla_common::audit::node_entry_bytes` writes them, so a changed, removed or
//! reordered entry breaks every hash after it. The hub checkpoints kept here let the
//! node tell when the hub's own log has been rewritten.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use samla_cli_common::database::texts;
use samla_common::audit::node_checks::{self, SignedHead, HEAD_EVERY};
use samla_common::audit::{
    node_entry_bytes as chain_bytes, node_entry_hash as chain_hash, NodeBundle, NodeLogEntry,
    NodeSubmission, BUNDLE_VERSION,
};
use samla_common::codes::KommunCode;
use samla_common::signing::SigningKey;
use samla_common::signing::VerifyingKey;
use samla_common::wire::SubmissionId;

use crate::config::HubLink;
use crate::outbox::{Outbox, OutboxError};

/// What an entry of the node's log records. Its [`code`](LogKind::code) is the word
/// stored, hashed into the chain and shown to a privacy officer, so a code never
/// changes once written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// A submission was built, signed and queued.
    Built,
    /// A submission was sent to the hub.
    Sent,
    /// Sending failed; the submission stays in the outbox.
    SendFailed,
    /// The hub's receipt was verified and recorded.
    Receipt,
    /// The hub refused the submission for good.
    Refused,
    /// The node gave up retrying for now; the submission stays in the outbox.
    RetriesGivenUp,
    /// A hub checkpoint was verified to extend the last one seen.
    HubCheckpoint,
    /// The hub's log does not extend what this node saw.
    HubHistoryChanged,
    /// The node signs with a new key.
    KeyChange,
    /// A stored submission does not match what was signed; it is not sent.
    Tampered,
    /// A submission the hub refused as a replay (the node database was restored from
    /// an older copy) was re-signed with a new sequence.
    Resequenced,
    /// The node signed the head of its log with its signing key.
    SignedHead,
    /// Custodian mode: a batch of people was evaluated by t custodians (the detail
    /// names the domain, the count and the custodians, never a person).
    CustodianBatch,
    /// Custodian mode: the custodians could not make the pseudonyms (down, busy or
    /// over this kommun's limit); nothing was built, the export waits.
    CustodianUnavailable,
}

impl LogKind {
    /// Every kind.
    pub const ALL: [LogKind; 14] = [
        LogKind::Built,
        LogKind::Sent,
        LogKind::SendFailed,
        LogKind::Receipt,
        LogKind::Refused,
        LogKind::RetriesGivenUp,
        LogKind::HubCheckpoint,
        LogKind::HubHistoryChanged,
        LogKind::KeyChange,
        LogKind::Tampered,
        LogKind::Resequenced,
        LogKind::SignedHead,
        LogKind::CustodianBatch,
        LogKind::CustodianUnavailable,
    ];

    /// The word stored for this kind.
    pub fn code(self) -> &'static str {
        match self {
            LogKind::Built => "built",
            LogKind::Sent => "sent",
            LogKind::SendFailed => "send failed",
            LogKind::Receipt => "receipt",
            LogKind::Refused => "refused",
            LogKind::RetriesGivenUp => "retries given up",
            LogKind::HubCheckpoint => "hub checkpoint",
            LogKind::HubHistoryChanged => "hub history changed",
            LogKind::KeyChange => "key change",
            LogKind::Tampered => "tampered",
            LogKind::Resequenced => "resequenced",
            LogKind::SignedHead => node_checks::HEAD_KIND,
            LogKind::CustodianBatch => "custodian batch",
            LogKind::CustodianUnavailable => "custodian unavailable",
        }
    }
}

impl std::fmt::Display for LogKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Where the node's transfer log chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// An entry's hash does not follow from the one before.
    #[error("transfer log entry {entry}: its hash does not follow from the entries before it (changed, removed or reordered)")]
    Broken {
        /// The first entry at fault.
        entry: i64,
    },
    /// The log could not be read.
    #[error("transfer log could not be read: {0}")]
    Read(String),
}

/// Appends an entry to the log inside `tx`, chained to the last one.
pub(crate) fn append(
    tx: &rusqlite::Transaction<'_>,
    at: i64,
    kind: LogKind,
    id: Option<SubmissionId>,
    detail: &str,
) -> Result<(), OutboxError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT entry, hash FROM transfer_log ORDER BY entry DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (number, previous) = match last {
        Some((n, hash)) => (n + 1, hash),
        None => (1, vec![0u8; 32]),
    };
    let bytes = chain_bytes(number, at, kind.code(), id, detail);
    let hash = chain_hash(&previous, &bytes);
    tx.execute(
        "INSERT INTO transfer_log (entry, at, kind, submission_id, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![number, at, kind.code(), id.map(|i| i.as_bytes().to_vec()), detail, hash.to_vec()],
    )?;
    Ok(())
}

/// Appends a signed head inside `tx` when [`HEAD_EVERY`] entries came after the
/// last one and a key is set.
pub(crate) fn head_if_due(
    tx: &rusqlite::Transaction<'_>,
    signer: Option<&SigningKey>,
    now: i64,
) -> Result<(), OutboxError> {
    if let Some(key) = signer {
        append_head(tx, key, now, HEAD_EVERY)?;
    }
    Ok(())
}

/// Appends a `signed head` entry over the log as it is, inside `tx`, if at least
/// `due` entries came after the last signed head. It signs only a log that still
/// follows from its last signed head (that head's signature verifies over the stored
/// hash it names, and every entry after it chains): a log changed while the node was
/// stopped is left unsigned, for `audit verify` to name, not vouched for.
fn append_head(
    tx: &rusqlite::Transaction<'_>,
    key: &SigningKey,
    now: i64,
    due: i64,
) -> Result<bool, OutboxError> {
    let last_head: Option<(i64, String)> = tx
        .query_row(
            "SELECT entry, detail FROM transfer_log WHERE kind = ?1 ORDER BY entry DESC LIMIT 1",
            [node_checks::HEAD_KIND],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let from = last_head.as_ref().map_or(0, |(entry, _)| *entry);
    let mut statement = tx.prepare(
        "SELECT entry, at, kind, submission_id, detail, hash FROM transfer_log WHERE entry >= ?1 ORDER BY entry",
    )?;
    let rows = statement.query_map([(from - 1).max(0)], stored_row)?;
    let mut previous: Option<Vec<u8>> = (from == 0).then(|| vec![0u8; 32]);
    let mut last = (0, Vec::new());
    for row in rows {
        let (number, at, kind, id, detail, hash) = row?;
        if let Some(head) = last_head.as_ref().filter(|(e, _)| *e == number) {
            let vouched = SignedHead::parse(&head.1).is_some_and(|h| {
                h.verifies() && h.entries == number - 1 && Some(h.head.to_vec()) == previous
            });
            if !vouched {
                tracing::error!(
                    entry = number,
                    "the node's transfer log does not match its last signed head; it is not signed again (run samla-node audit verify)"
                );
                return Ok(false);
            }
        }
        if let Some(p) = &previous {
            let id = id.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
            let bytes = chain_bytes(number, at, &kind, id.map(SubmissionId::from_bytes), &detail);
            if chain_hash(p, &bytes).as_slice() != hash.as_slice() {
                tracing::error!(
                    entry = number,
                    "the node's transfer log chain is broken; it is not signed (run samla-node audit verify)"
                );
                return Ok(false);
            }
        }
        previous = Some(hash.clone());
        last = (number, hash);
    }
    let (number, hash) = last;
    if number == 0 || number - from < due {
        return Ok(false);
    }
    let detail = node_checks::head_detail(number, &hash, key);
    append(tx, now, LogKind::SignedHead, None, &detail)?;
    Ok(true)
}

/// The columns of a log entry, as stored.
const ENTRY_COLUMNS: &str =
    "SELECT entry, at, kind, submission_id, detail, hash FROM transfer_log ORDER BY entry";

impl Outbox {
    /// Makes a change to the node database and logs it, in one transaction: both or
    /// neither.
    pub(crate) fn change_logged(
        &mut self,
        now: i64,
        (kind, id, detail): (LogKind, Option<SubmissionId>, &str),
        change: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), OutboxError>,
    ) -> Result<(), OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        change(&tx)?;
        append(&tx, now, kind, id, detail)?;
        head_if_due(&tx, self.signer.as_ref(), now)?;
        tx.commit()?;
        Ok(())
    }

    /// Signs the log's head with `key` from now on: after every
    /// [`HEAD_EVERY`] entries, and whenever [`Outbox::seal`] is called.
    pub fn sign_heads_with(&mut self, key: SigningKey) {
        self.signer = Some(key);
    }

    /// Signs the head of the log (a `signed head` entry) unless the last entry
    /// already is one or no key was given. Called at the end of every command and
    /// daemon round. Returns whether it signed.
    pub fn seal(&mut self, now: i64) -> Result<bool, OutboxError> {
        let Some(key) = self.signer.as_ref() else {
            return Ok(false);
        };
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let signed = append_head(&tx, key, now, 1)?;
        tx.commit()?;
        Ok(signed)
    }

    /// Adds an event to the transfer log in its own transaction.
    pub fn record(
        &mut self,
        kind: LogKind,
        id: Option<SubmissionId>,
        detail: &str,
        now: i64,
    ) -> Result<(), OutboxError> {
        self.change_logged(now, (kind, id, detail), |_| Ok(()))
    }

    /// Logs each custodian batch of a build as a `custodian batch` event (domain,
    /// count, the custodians that answered), at the time it was evaluated.
    pub fn record_custodian_batches(
        &mut self,
        batches: &[crate::custodian::BatchLogged],
    ) -> Result<(), OutboxError> {
        for batch in batches {
            let detail = format!(
                "domain {}, {} people, custodians {}",
                batch.domain,
                batch.count,
                batch.custodians.join(", ")
            );
            self.record(LogKind::CustodianBatch, None, &detail, batch.at)?;
        }
        Ok(())
    }

    /// Logs a `key change` when the node signs with a key other than the one it last
    /// logged (and on first use). Returns whether it logged.
    pub fn record_signing_key(
        &mut self,
        key: &VerifyingKey,
        now: i64,
    ) -> Result<bool, OutboxError> {
        let detail = format!("signing key {key}");
        let last: Option<String> = self
            .db
            .query_row(
                "SELECT detail FROM transfer_log WHERE kind = ?1 ORDER BY entry DESC LIMIT 1",
                [LogKind::KeyChange.code()],
                |r| r.get(0),
            )
            .optional()?;
        if last.as_deref() == Some(detail.as_str()) {
            return Ok(false);
        }
        self.record(LogKind::KeyChange, None, &detail, now)?;
        Ok(true)
    }

    /// The keys the log says this node signed with (its `key change` entries),
    /// oldest first: a stored submission signed by any other key was not made here.
    pub fn signing_keys(&self) -> Result<Vec<VerifyingKey>, OutboxError> {
        let mut statement = self
            .db
            .prepare("SELECT detail FROM transfer_log WHERE kind = ?1 ORDER BY entry")?;
        let details = statement
            .query_map([LogKind::KeyChange.code()], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut keys: Vec<VerifyingKey> = Vec::new();
        for key in details
            .iter()
            .filter_map(|d| d.strip_prefix("signing key "))
            .filter_map(|k| k.parse().ok())
        {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// Checks the whole transfer log chain; returns the number of entries. Each entry
    /// is hashed from its stored text, so a changed word is found like a changed byte.
    pub fn verify_chain(&self) -> Result<u64, ChainError> {
        let read = |e: rusqlite::Error| ChainError::Read(e.to_string());
        let mut statement = self.db.prepare(ENTRY_COLUMNS).map_err(read)?;
        let rows = statement.query_map([], stored_row).map_err(read)?;
        let mut previous = vec![0u8; 32];
        let mut expected = 1;
        for row in rows {
            let (number, at, kind, id, detail, hash) = row.map_err(read)?;
            let id = match id {
                Some(bytes) => Some(SubmissionId::from_bytes(
                    <[u8; 32]>::try_from(bytes.as_slice())
                        .map_err(|_| ChainError::Broken { entry: number })?,
                )),
                None => None,
            };
            let bytes = chain_bytes(number, at, &kind, id, &detail);
            if number != expected || chain_hash(&previous, &bytes).as_slice() != hash.as_slice() {
                return Err(ChainError::Broken { entry: number });
            }
            previous = hash;
            expected += 1;
        }
        Ok(u64::try_from(expected - 1).unwrap_or(0))
    }

    /// The last hub checkpoint this node has seen (signed note), with its size.
    pub fn last_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, OutboxError> {
        Ok(self
            .db
            .query_row(
                "SELECT size, note FROM hub_checkpoints ORDER BY rowid DESC LIMIT 1",
                [],
                |r| Ok((u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), r.get(1)?)),
            )
            .optional()?)
    }

    /// Records a checkpoint that was verified to extend the last one.
    pub fn record_checkpoint(
        &mut self,
        size: u64,
        note: &[u8],
        now: i64,
    ) -> Result<(), OutboxError> {
        let detail = format!("hub log size {size}, consistent with the last one seen");
        self.change_logged(now, (LogKind::HubCheckpoint, None, &detail), |tx| {
            tx.execute(
                "INSERT INTO hub_checkpoints (size, note, seen_at) VALUES (?1, ?2, ?3)",
                params![i64::try_from(size).unwrap_or(i64::MAX), note, now],
            )?;
            Ok(())
        })
    }

    /// Records, loudly, that the hub's log does not extend what this node saw.
    pub fn record_history_changed(&mut self, detail: &str, now: i64) -> Result<(), OutboxError> {
        self.record(LogKind::HubHistoryChanged, None, detail, now)
    }

    /// The node's transfer log, submissions and hub checkpoints as an audit bundle;
    /// `node_key` is the node's signing key (its log heads are checked against it).
    pub fn bundle(
        &self,
        kommun: KommunCode,
        hub: &HubLink,
        node_key: Option<VerifyingKey>,
    ) -> Result<NodeBundle, OutboxError> {
        Ok(NodeBundle {
            version: BUNDLE_VERSION,
            kommun,
            origin: hub.log_origin.clone(),
            hub_key: hub.receipt_key,
            log: self.log_entries()?,
            submissions: self.submissions()?,
            checkpoints: self.checkpoint_notes()?,
            node_key,
        })
    }

    /// The transfer log, for export.
    pub fn log_entries(&self) -> Result<Vec<NodeLogEntry>, OutboxError> {
        let mut statement = self.db.prepare(ENTRY_COLUMNS)?;
        let rows = statement.query_map([], |r| {
            let id: Option<Vec<u8>> = r.get(3)?;
            Ok(NodeLogEntry {
                entry: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                submission: id
                    .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                    .map(SubmissionId::from_bytes),
                detail: r.get(4)?,
                hash: hex::encode(r.get::<_, Vec<u8>>(5)?),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every submission with its receipt, oldest first, for export.
    pub fn submissions(&self) -> Result<Vec<NodeSubmission>, OutboxError> {
        let mut out = Vec::new();
        for e in self.entries()?.into_iter().rev() {
            out.push(NodeSubmission {
                id: e.id,
                sequence: e.sequence,
                state: e.state.to_string(),
                receipt: self.receipt(e.id)?,
            });
        }
        Ok(out)
    }

    /// The hub checkpoints seen, oldest first, as note text.
    pub fn checkpoint_notes(&self) -> Result<Vec<String>, OutboxError> {
        texts(&self.db, "SELECT note FROM hub_checkpoints ORDER BY rowid").map_err(OutboxError::Sql)
    }
}

/// One stored log row: entry, time, kind, submission id, detail, hash.
type StoredRow = (i64, i64, String, Option<Vec<u8>>, String, Vec<u8>);

/// Reads a row selected as entry, at, kind, submission_id, detail, hash.
fn stored_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_code() {
        let mut codes: Vec<&str> = LogKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), LogKind::ALL.len());
    }
}
