//! The store's single writer. One thread owns the hub's database and does every write
//! the server asks for. Each time it finishes a transaction it takes everything that
//! queued up meanwhile as the next one (group commit): one disk flush and one signed
//! checkpoint for the lot, so a busy hub writes in larger batches rather than waiting
//! on the disk once per submission. Requests wait for their own outcome without
//! holding a thread.

use std::sync::mpsc;
use std::thread::JoinHandle;

use samla_common::codes::KommunCode;
use samla_common::signing::SigningKey;
use samla_common::translog::LogHash;
use samla_common::wire::{Refusal, SubmissionId, VerifiedSubmission};
use tokio::sync::oneshot;

use crate::refusals::Repeated;
use crate::store::{LogSigner, Store, StoreError, Stored, Write};

/// The most writes in one transaction.
const MAX_BATCH: usize = 256;

/// A signed checkpoint (note text) and a consistency proof to it.
pub type CheckpointReply = (Vec<u8>, Vec<LogHash>);

/// What the writer is asked to do.
enum Job {
    Accept {
        submission: VerifiedSubmission,
        received_at: i64,
        reply: oneshot::Sender<Result<Stored, StoreError>>,
    },
    Refusal {
        at: i64,
        kommun: Option<KommunCode>,
        id: Option<SubmissionId>,
        refusal: Refusal,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Repeated {
        at: i64,
        kommun: Option<KommunCode>,
        summary: String,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Checkpoint {
        since: u64,
        reply: oneshot::Sender<Result<CheckpointReply, StoreError>>,
    },
}

/// The handle to the writer thread. Dropping it lets the thread finish the jobs it
/// was given and waits for it.
pub struct StoreWriter {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl StoreWriter {
    /// Starts the writer thread, which owns `store` and signs with `key` as the log
    /// named `origin`.
    pub fn start(store: Store, key: SigningKey, origin: String) -> std::io::Result<StoreWriter> {
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("samla-store".to_owned())
            .spawn(move || {
                run(
                    store,
                    &LogSigner {
                        key: &key,
                        origin: &origin,
                    },
                    &queue,
                )
            })?;
        Ok(StoreWriter {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Stores a verified submission; its receipt (and whether it is new), or why not.
    pub async fn accept(
        &self,
        submission: VerifiedSubmission,
        received_at: i64,
    ) -> Result<Stored, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.send(Job::Accept {
            submission,
            received_at,
            reply,
        })?;
        outcome.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// Logs a refusal.
    pub async fn log_refusal(
        &self,
        at: i64,
        kommun: Option<KommunCode>,
        id: Option<SubmissionId>,
        refusal: Refusal,
    ) -> Result<(), StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.send(Job::Refusal {
            at,
            kommun,
            id,
            refusal,
            reply,
        })?;
        outcome.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// Logs refusals that were counted rather than logged one by one, as one entry.
    pub async fn log_repeated(&self, repeated: &Repeated) -> Result<(), StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.send(Job::Repeated {
            at: repeated.last,
            kommun: repeated.kommun,
            summary: repeated.summary(),
            reply,
        })?;
        outcome.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// The latest checkpoint, signed, and a consistency proof from `since` entries.
    pub async fn checkpoint(&self, since: u64) -> Result<CheckpointReply, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.send(Job::Checkpoint { since, reply })?;
        outcome.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .ok_or_else(writer_gone)?
            .send(job)
            .map_err(|_| writer_gone())
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the store writer stopped with a panic");
            }
        }
    }
}

fn writer_gone() -> StoreError {
    StoreError::Refused(Refusal::Unavailable(
        "the store writer has stopped".to_owned(),
    ))
}

/// Takes jobs until every handle is gone: whatever has queued up, as one batch.
fn run(mut store: Store, log: &LogSigner<'_>, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        write(&mut store, log, batch);
    }
}

/// Does a batch's writes in one transaction, answers each, then answers the
/// checkpoint requests (which so see every write before them).
fn write(store: &mut Store, log: &LogSigner<'_>, batch: Vec<Job>) {
    let writes: Vec<Write<'_>> = batch
        .iter()
        .filter_map(|job| match job {
            Job::Accept {
                submission,
                received_at,
                ..
            } => Some(Write::Accept {
                submission,
                received_at: *received_at,
            }),
            Job::Refusal {
                at,
                kommun,
                id,
                refusal,
                ..
            } => Some(Write::Refusal {
                at: *at,
                kommun: *kommun,
                id: *id,
                refusal,
            }),
            Job::Repeated {
                at,
                kommun,
                summary,
                ..
            } => Some(Write::Repeated {
                at: *at,
                kommun: *kommun,
                summary,
            }),
            Job::Checkpoint { .. } => None,
        })
        .collect();
    let mut outcomes = if writes.is_empty() {
        Vec::new()
    } else {
        tracing::debug!(writes = writes.len(), "group commit");
        store.write_batch(&writes, log)
    }
    .into_iter();
    drop(writes);
    let mut next = || outcomes.next().unwrap_or_else(|| Err(writer_gone()));
    let mut checkpoints = Vec::new();
    for job in batch {
        // A requester that gave up (its stream closed) no longer listens: nothing
        // to do for it, its write stands.
        match job {
            Job::Accept { reply, .. } => {
                let outcome = next().and_then(|r| r.ok_or_else(writer_gone));
                let _ = reply.send(outcome);
            }
            Job::Refusal { reply, .. } | Job::Repeated { reply, .. } => {
                let _ = reply.send(next().map(|_| ()));
            }
            Job::Checkpoint { since, reply } => checkpoints.push((since, reply)),
        }
    }
    for (since, reply) in checkpoints {
        let _ = reply.send(store.checkpoint(since, log));
    }
}
