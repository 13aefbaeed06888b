//! Group commit: the writes the server has queued, stored in one transaction with one
//! disk flush, each with its own outcome. A write that fails is taken out and the
//! others are done again without it, so it touches nothing but itself.

use rusqlite::TransactionBehavior;
use samla_common::codes::KommunCode;
use samla_common::translog::EntryKind;
use samla_common::wire::{Refusal, SignedReceipt, SubmissionId, VerifiedSubmission};

use super::log::{append, check_head, entry};
use super::submissions::accept_in;
use super::{LogSigner, Store, StoreError};

impl Store {
    /// Stores a verified submission, its log entry and its receipt in one
    /// transaction, or returns the receipt given before for the same bytes (marked
    /// as not new). A
    /// sequence number not above the kommun's last accepted one is refused (and the
    /// refusal logged).
    pub fn accept(
        &mut self,
        submission: &VerifiedSubmission,
        received_at: i64,
        log: &LogSigner<'_>,
    ) -> Result<Stored, StoreError> {
        let write = Write::Accept {
            submission,
            received_at,
        };
        match self.write_one(write, log)? {
            Some(stored) => Ok(stored),
            None => Err(nothing_stored()),
        }
    }

    /// Logs a refusal that happened before a submission could be stored.
    pub fn log_refusal(
        &mut self,
        at: i64,
        kommun: Option<KommunCode>,
        id: Option<SubmissionId>,
        refusal: &Refusal,
        log: &LogSigner<'_>,
    ) -> Result<(), StoreError> {
        let write = Write::Refusal {
            at,
            kommun,
            id,
            refusal,
        };
        self.write_one(write, log).map(|_| ())
    }

    /// Does several writes in one transaction: one disk flush for all of them
    /// (group commit). Each write's outcome is its own, in order: a receipt for an
    /// accepted submission, `None` for a logged refusal, or the write's refusal or
    /// failure. If one write fails, the transaction is rolled back and the others
    /// are done again without it, so a failure touches nothing but the write it
    /// belongs to. If the transaction itself cannot begin or commit (the database
    /// locked by another program, a full disk), every write fails with
    /// [`StoreError::Transaction`].
    pub fn write_batch(
        &mut self,
        batch: &[Write<'_>],
        log: &LogSigner<'_>,
    ) -> Vec<Result<Option<Stored>, StoreError>> {
        match self.write_together(batch, log) {
            Ok(outcomes) => outcomes,
            Err(BatchFailure {
                write: Some(failed),
                error,
            }) => {
                let others: Vec<Write<'_>> = batch
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != failed)
                    .map(|(_, w)| *w)
                    .collect();
                let mut outcomes = if others.is_empty() {
                    Vec::new()
                } else {
                    self.write_batch(&others, log)
                };
                outcomes.insert(failed.min(outcomes.len()), Err(error));
                outcomes
            }
            Err(BatchFailure {
                write: None,
                error: StoreError::Damaged(why),
            }) => batch
                .iter()
                .map(|_| Err(StoreError::Damaged(why.clone())))
                .collect(),
            Err(BatchFailure { write: None, error }) => {
                let why = samla_cli_common::error::Chain(&error).to_string();
                batch
                    .iter()
                    .map(|_| Err(StoreError::Transaction(why.clone())))
                    .collect()
            }
        }
    }

    fn write_one(
        &mut self,
        write: Write<'_>,
        log: &LogSigner<'_>,
    ) -> Result<Option<Stored>, StoreError> {
        self.write_batch(&[write], log)
            .pop()
            .unwrap_or_else(|| Err(nothing_stored()))
    }

    /// All of `batch` in one transaction, or none of it and which write failed.
    fn write_together(
        &mut self,
        batch: &[Write<'_>],
        log: &LogSigner<'_>,
    ) -> Result<Vec<Result<Option<Stored>, StoreError>>, BatchFailure> {
        let whole = |error: rusqlite::Error| BatchFailure {
            write: None,
            error: error.into(),
        };
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(whole)?;
        // Nothing is appended to a tree whose stored hashes no longer give the root
        // the hub signed: every new checkpoint and proof would be wrong.
        check_head(&tx, log).map_err(|error| BatchFailure { write: None, error })?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for (i, write) in batch.iter().enumerate() {
            let failed = |error: StoreError| BatchFailure {
                write: Some(i),
                error,
            };
            outcomes.push(match write {
                Write::Accept {
                    submission,
                    received_at,
                } => match accept_in(&tx, submission, *received_at, log) {
                    Ok(stored) => Ok(Some(stored)),
                    Err(StoreError::Refused(refusal)) => Err(StoreError::Refused(refusal)),
                    Err(e) => return Err(failed(e)),
                },
                Write::Refusal {
                    at,
                    kommun,
                    id,
                    refusal,
                } => {
                    let refused = entry(EntryKind::Refused, *at, *kommun, *id, refusal.to_string());
                    append(&tx, &refused, log).map_err(failed)?;
                    Ok(None)
                }
                Write::Repeated {
                    at,
                    kommun,
                    summary,
                } => {
                    let refused = entry(
                        EntryKind::Refused,
                        *at,
                        *kommun,
                        None,
                        (*summary).to_owned(),
                    );
                    append(&tx, &refused, log).map_err(failed)?;
                    Ok(None)
                }
            });
        }
        tx.commit().map_err(whole)?;
        Ok(outcomes)
    }
}

/// A submission the store holds: its receipt, and whether it was stored just now
/// (`false`: the same bytes were stored before and this is their receipt again).
#[derive(Debug, Clone)]
pub struct Stored {
    /// The hub's signed receipt.
    pub receipt: SignedReceipt,
    /// Whether this write stored it.
    pub new: bool,
}

/// One write of a group commit (see [`Store::write_batch`]).
#[derive(Clone, Copy)]
pub enum Write<'a> {
    /// Store a verified submission received at `received_at`, or return the receipt
    /// given before for the same bytes.
    Accept {
        /// The submission.
        submission: &'a VerifiedSubmission,
        /// When the hub received it (Unix seconds).
        received_at: i64,
    },
    /// Log a refusal that happened before a submission could be stored.
    Refusal {
        /// When (Unix seconds).
        at: i64,
        /// The kommun, if known.
        kommun: Option<KommunCode>,
        /// The submission, if known.
        id: Option<SubmissionId>,
        /// Why.
        refusal: &'a Refusal,
    },
    /// Log refusals counted rather than logged one by one (`crate::refusals`): one
    /// `refused` entry with their count.
    Repeated {
        /// When the last of them came (Unix seconds).
        at: i64,
        /// The kommun, if known.
        kommun: Option<KommunCode>,
        /// The entry's summary (what, how many, from when to when).
        summary: &'a str,
    },
}

/// Why a batch's transaction was rolled back: the write that failed, if it was one.
struct BatchFailure {
    write: Option<usize>,
    error: StoreError,
}

fn nothing_stored() -> StoreError {
    StoreError::Refused(Refusal::Unavailable("nothing was stored".to_owned()))
}
