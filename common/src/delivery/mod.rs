//! Delivering a node's outbox to the hub, as a state machine without IO.
//!
//! The node's driver (`node/src/client.rs`) owns the sockets, the database and the
//! clock; this machine owns every decision. Events go in through `handle_*(now, …)`,
//! work comes out of [`Delivery::poll_action`], and [`Delivery::poll_timeout`] says
//! when to poll again if nothing happens. One connection at a time:
//!
//! 1. connect; ask for the hub's latest checkpoint and a consistency proof from the
//!    last one this node saw, and check it (a hub whose log does not extend what the
//!    node saw has rewritten its history: that ends everything);
//! 2. send each queued submission, verify its receipt, and have the driver record it
//!    (only a [`VerifiedReceipt`] can be recorded);
//! 3. check the checkpoint again, then close.
//!
//! Failures are either *temporary* (no answer, connection lost, hub busy or rate
//! limited: retried with one capped backoff) or *permanent* (wrong certificate name,
//! unknown CA, revoked or refused certificate, a refused submission: stopped at once,
//! with the cause for the person who must fix it). A submission refused as a replay
//! (the node's database was restored from an older copy) is re-signed with a sequence
//! after the hub's last accepted one, once. Every queued submission is checked against
//! its id and signature before it is sent; one that does not match is reported and
//! never sent.
//!
//! Time is a [`std::time::Instant`] given by the caller, as in quinn-proto; tests use
//! a fake clock.

mod failure;

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

pub use failure::{close_code, Failure, HistoryRewritten, Outcome, Stage, Stop, Tampering};

use crate::codes::KommunCode;
use crate::retry::Backoff;
use crate::signing::{VerifyingKey, SUBMISSION_CONTEXT};
use crate::translog::{Checkpoint, LogError};
use crate::wire::{Refusal, Response, SignedSubmission, Submission, SubmissionId, VerifiedReceipt};

/// An attempt is never cut shorter than this by the give-up time, so that even
/// `--give-up-after 0` tries once.
const SHORTEST_ATTEMPT: Duration = Duration::from_secs(1);

/// What a delivery needs to know.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// This node's kommun: receipts and submissions must be for it.
    pub kommun: KommunCode,
    /// The hub's key for receipts and checkpoints.
    pub receipt_key: VerifyingKey,
    /// The name of the hub's log.
    pub log_origin: String,
    /// The waits between attempts after temporary failures.
    pub backoff: Backoff,
    /// How long a connection attempt may take.
    pub connect_timeout: Duration,
    /// How long the hub may take to answer a request.
    pub request_timeout: Duration,
    /// When delivery ends.
    pub mode: Mode,
}

/// When a delivery ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Deliver what is queued and finish (`samla-node send`): give up when the next
    /// attempt would start more than `give_up_after` after the start, and stop at the
    /// first permanent failure.
    Drain {
        /// How long to keep trying an unreachable hub.
        give_up_after: Duration,
    },
    /// Keep going (`samla-node run`): submissions are queued as they are built; after a
    /// permanent failure, wait `pause_after_permanent` before trying again, so that a
    /// fix at the hub is picked up without a restart.
    Daemon {
        /// The wait after a permanent failure.
        pause_after_permanent: Duration,
    },
}

/// A submission from the outbox, as stored: its id and sequence beside the signed
/// bytes. The machine checks that they agree before it sends anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The id stored beside the bytes.
    pub id: SubmissionId,
    /// The sequence stored beside the bytes.
    pub sequence: u64,
    /// The signed submission.
    pub signed: SignedSubmission,
}

/// Work for the driver. Each must be done before the next is polled.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a connection to the hub; then call `handle_connected` or `handle_failure`.
    Connect,
    /// Ask for the hub's latest checkpoint with a consistency proof from `since`; then
    /// call `handle_response` or `handle_failure`.
    RequestCheckpoint {
        /// The size of the last checkpoint this node saw (0 for none).
        since: u64,
    },
    /// Log the submission as sent and send it; then call `handle_response` or
    /// `handle_failure`.
    Submit(Outgoing),
    /// Close the connection, if one is open, and drop any request in flight.
    Close,
    /// Record this checkpoint as the latest seen (it extends the one before).
    RecordCheckpoint {
        /// Its tree size.
        size: u64,
        /// The signed note.
        note: Vec<u8>,
    },
    /// Record that the hub's history was rewritten. Nothing more is sent.
    RecordHistoryChanged(HistoryRewritten),
    /// Record the receipt: the submission is acknowledged.
    RecordReceipt(VerifiedReceipt),
    /// Record the hub's final refusal of a submission.
    RecordRefusal {
        /// The submission.
        id: SubmissionId,
        /// The hub's reason.
        refusal: Refusal,
    },
    /// Count a failed attempt for each of these submissions (every one waiting).
    RecordFailure {
        /// The submissions that were not delivered.
        ids: Vec<SubmissionId>,
        /// What went wrong.
        failure: Failure,
    },
    /// This stored submission does not match its id or signature: log it. It is never
    /// sent.
    RecordTampered {
        /// Its stored id.
        id: SubmissionId,
        /// What does not match.
        problem: Tampering,
    },
    /// Re-sign this submission with the next sequence after `after` (and after every
    /// sequence the outbox holds), keep the old one as refused, and log it; then call
    /// `handle_resequenced` with the new one.
    Resequence {
        /// The submission the hub refused as a replay.
        id: SubmissionId,
        /// The last sequence the hub accepted from this kommun.
        after: u64,
    },
    /// A temporary failure: the next attempt starts at `at`.
    Retrying {
        /// What went wrong.
        failure: Failure,
        /// Failed attempts since the hub last answered.
        attempt: u32,
        /// When the next attempt starts.
        at: Instant,
    },
    /// A permanent failure in daemon mode: nothing is tried before `until`.
    Suspended {
        /// Why.
        stop: Stop,
        /// When it tries again.
        until: Instant,
    },
    /// The run is over (always so after a rewritten history; in drain mode also when
    /// delivered, given up or stopped).
    Finished(Outcome),
}

/// Where the machine stands.
#[derive(Debug)]
enum State {
    /// Nothing queued (daemon mode), or not started.
    Idle,
    /// Waiting for the next attempt.
    Waiting { until: Instant },
    /// A connection attempt is under way.
    Connecting { deadline: Instant, started: Instant },
    /// A checkpoint request is in flight.
    Syncing { deadline: Instant },
    /// A submission is in flight.
    Sending { item: Outgoing, deadline: Instant },
    /// The driver is re-signing a submission the hub refused as a replay.
    Resequencing { old: SubmissionId },
    /// Paused after a permanent failure (daemon mode).
    Suspended { until: Instant },
    /// Done; nothing more happens.
    Finished,
}

/// The delivery state machine. See the module documentation.
#[derive(Debug)]
pub struct Delivery {
    config: DeliveryConfig,
    started: Instant,
    state: State,
    /// Checked submissions waiting to be sent, in sequence order.
    queue: VecDeque<Outgoing>,
    /// Every id this machine has seen: queued, in flight, done, tampered or replaced.
    seen: BTreeSet<SubmissionId>,
    /// Ids made by re-signing after a replay; a second replay of one stops delivery.
    resequenced: BTreeSet<SubmissionId>,
    /// The last checkpoint seen: size and signed note.
    checkpoint: Option<(u64, Vec<u8>)>,
    /// Whether a submission went out since the last checkpoint check.
    sent_since_sync: bool,
    /// Temporary failures in a row (for the backoff).
    failures: u32,
    /// Failed attempts since the hub last answered (temporary or not).
    attempts: u32,
    actions: VecDeque<Action>,
}

impl Delivery {
    /// A machine that starts at `now`; `checkpoint` is the last hub checkpoint the node
    /// recorded (size and signed note), if any.
    pub fn new(
        now: Instant,
        config: DeliveryConfig,
        checkpoint: Option<(u64, Vec<u8>)>,
    ) -> Delivery {
        Delivery {
            config,
            started: now,
            state: State::Idle,
            queue: VecDeque::new(),
            seen: BTreeSet::new(),
            resequenced: BTreeSet::new(),
            checkpoint,
            sent_since_sync: false,
            failures: 0,
            attempts: 0,
            actions: VecDeque::new(),
        }
    }

    /// Submissions to deliver, as read from the outbox (ones seen before are
    /// ignored). Each is checked against its id and signature; one that does not
    /// match is reported with [`Action::RecordTampered`] and never sent.
    pub fn handle_queued(&mut self, now: Instant, items: Vec<Outgoing>) {
        if matches!(self.state, State::Finished) {
            return;
        }
        for item in items {
            if !self.seen.insert(item.id) {
                continue;
            }
            match check(&item, self.config.kommun) {
                Ok(()) => self.queue.push_back(item),
                Err(problem) => self.actions.push_back(Action::RecordTampered {
                    id: item.id,
                    problem,
                }),
            }
        }
        if matches!(self.state, State::Idle) && !self.queue.is_empty() {
            self.state = State::Waiting { until: now };
        }
    }

    /// The connection asked for by [`Action::Connect`] is open.
    pub fn handle_connected(&mut self, now: Instant) {
        if matches!(self.state, State::Connecting { .. }) {
            self.sync(now);
        }
    }

    /// The hub answered the request in flight.
    pub fn handle_response(&mut self, now: Instant, response: Response) {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Syncing { .. } => self.synced(now, response),
            State::Sending { item, .. } => self.answered(now, item, response),
            other => self.state = other,
        }
    }

    /// Connecting, or the request in flight, failed.
    pub fn handle_failure(&mut self, now: Instant, failure: Failure) {
        if matches!(
            self.state,
            State::Connecting { .. } | State::Syncing { .. } | State::Sending { .. }
        ) {
            self.fail(now, failure);
        }
    }

    /// The driver re-signed the submission of [`Action::Resequence`] as `new`.
    pub fn handle_resequenced(&mut self, now: Instant, old: SubmissionId, new: Outgoing) {
        if !matches!(self.state, State::Resequencing { old: o } if o == old) {
            return;
        }
        self.seen.insert(new.id);
        match check(&new, self.config.kommun) {
            Ok(()) => {
                self.resequenced.insert(new.id);
                self.queue.push_front(new);
            }
            Err(problem) => self.actions.push_back(Action::RecordTampered {
                id: new.id,
                problem,
            }),
        }
        self.next(now);
    }

    /// The next piece of work, if there is one now.
    #[must_use]
    pub fn poll_action(&mut self, now: Instant) -> Option<Action> {
        if let Some(action) = self.actions.pop_front() {
            return Some(action);
        }
        match self.state {
            State::Idle => {
                if matches!(self.config.mode, Mode::Drain { .. }) {
                    self.finish(Outcome::Delivered);
                }
            }
            State::Waiting { until } if now >= until => {
                self.state = State::Connecting {
                    deadline: self.connect_deadline(now),
                    started: now,
                };
                return Some(Action::Connect);
            }
            State::Connecting { deadline, started } if now >= deadline => {
                let waited = deadline.saturating_duration_since(started);
                self.fail(
                    now,
                    Failure::TimedOut {
                        stage: Stage::Connect,
                        waited,
                    },
                );
            }
            State::Syncing { deadline } | State::Sending { deadline, .. } if now >= deadline => {
                let waited = self.config.request_timeout;
                self.fail(
                    now,
                    Failure::TimedOut {
                        stage: Stage::Request,
                        waited,
                    },
                );
            }
            State::Suspended { until } if now >= until => {
                self.progressed();
                self.state = if self.queue.is_empty() {
                    State::Idle
                } else {
                    State::Waiting { until: now }
                };
                return self.poll_action(now);
            }
            _ => {}
        }
        self.actions.pop_front()
    }

    /// When to call [`Delivery::poll_action`] again if nothing else happens first:
    /// the end of a wait, or the deadline of the attempt or request under way. Call
    /// `poll_action` until it returns `None` before waiting for this.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Waiting { until } | State::Suspended { until } => Some(*until),
            State::Connecting { deadline, .. }
            | State::Syncing { deadline }
            | State::Sending { deadline, .. } => Some(*deadline),
            State::Idle | State::Resequencing { .. } | State::Finished => None,
        }
    }

    /// Whether the machine is done for good.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished) && self.actions.is_empty()
    }

    /// The deadline of a connection attempt started at `now`.
    fn connect_deadline(&self, now: Instant) -> Instant {
        let deadline = now + self.config.connect_timeout;
        match self.config.mode {
            Mode::Drain { give_up_after } => {
                deadline.min((self.started + give_up_after).max(now + SHORTEST_ATTEMPT))
            }
            Mode::Daemon { .. } => deadline,
        }
    }

    /// Asks for the hub's checkpoint.
    fn sync(&mut self, now: Instant) {
        let since = self.checkpoint.as_ref().map_or(0, |(size, _)| *size);
        self.actions.push_back(Action::RequestCheckpoint { since });
        self.state = State::Syncing {
            deadline: now + self.config.request_timeout,
        };
    }

    /// Checks the answer to a checkpoint request, then goes on.
    fn synced(&mut self, now: Instant, response: Response) {
        let (note, consistency) = match response {
            Response::Checkpoint { note, consistency } => (note, consistency),
            Response::Refused(refusal) if refusal.is_temporary() => {
                return self.fail(now, Failure::Refused(refusal));
            }
            Response::Refused(refusal) => {
                return self.stop(now, Stop::Refused { id: None, refusal })
            }
            Response::Receipt(_) => {
                let detail = "a receipt where a checkpoint was asked for".to_owned();
                return self.fail(now, Failure::BadAnswer { detail });
            }
        };
        let (key, origin) = (&self.config.receipt_key, self.config.log_origin.as_str());
        let head = match Checkpoint::open(&note, origin, key) {
            Ok(head) => head,
            Err(source) => {
                // A hub this node has already checked checkpoints of, now signing
                // with another key: its history can no longer be checked, which is
                // what a rewritten history is (docs/audit.md). Before any checkpoint
                // was seen, a wrong key is a configuration to fix.
                let seen = self
                    .checkpoint
                    .as_ref()
                    .and_then(|(_, old)| Checkpoint::open(old, origin, key).ok());
                if let (Some(old), LogError::CheckpointSignature) = (seen, &source) {
                    let new = Checkpoint::claimed(&note).unwrap_or_else(|| old.clone());
                    return self.rewritten(HistoryRewritten { old, new, source });
                }
                return self.stop(
                    now,
                    Stop::BadCheckpoint {
                        stored: false,
                        source,
                    },
                );
            }
        };
        let since = match &self.checkpoint {
            None => None,
            Some((size, old_note)) => {
                let old = match Checkpoint::open(old_note, origin, key) {
                    Ok(old) => old,
                    Err(source) => {
                        return self.stop(
                            now,
                            Stop::BadCheckpoint {
                                stored: true,
                                source,
                            },
                        )
                    }
                };
                if let Err(source) = head.verify_extends(&old, &consistency) {
                    return self.rewritten(HistoryRewritten {
                        old,
                        new: head,
                        source,
                    });
                }
                Some(*size)
            }
        };
        if since.is_none_or(|since| head.size > since) {
            self.actions.push_back(Action::RecordCheckpoint {
                size: head.size,
                note: note.clone(),
            });
            self.checkpoint = Some((head.size, note));
        }
        self.progressed();
        self.sent_since_sync = false;
        self.next(now);
    }

    /// The hub's history changed: logged, the connection closed, nothing more sent.
    fn rewritten(&mut self, rewritten: HistoryRewritten) {
        self.actions
            .push_back(Action::RecordHistoryChanged(rewritten.clone()));
        self.actions.push_back(Action::Close);
        self.queue.clear();
        self.finish(Outcome::HistoryChanged(rewritten));
    }

    /// Handles the answer to a submission, then goes on.
    fn answered(&mut self, now: Instant, item: Outgoing, response: Response) {
        match response {
            Response::Receipt(signed) => {
                let (key, origin) = (&self.config.receipt_key, self.config.log_origin.as_str());
                match signed.verify(key, origin, item.id, self.config.kommun) {
                    Ok(verified) => {
                        self.actions.push_back(Action::RecordReceipt(verified));
                        self.progressed();
                        self.next(now);
                    }
                    Err(source) => {
                        let id = item.id;
                        self.queue.push_front(item);
                        self.stop(now, Stop::BadReceipt { id, source });
                    }
                }
            }
            Response::Refused(refusal) if refusal.is_temporary() => {
                self.queue.push_front(item);
                self.fail(now, Failure::Refused(refusal));
            }
            Response::Refused(Refusal::Replay { last, .. })
                if !self.resequenced.contains(&item.id) =>
            {
                self.actions.push_back(Action::Resequence {
                    id: item.id,
                    after: last,
                });
                self.state = State::Resequencing { old: item.id };
            }
            Response::Refused(refusal) => {
                let id = item.id;
                self.actions.push_back(Action::RecordRefusal {
                    id,
                    refusal: refusal.clone(),
                });
                self.stop(
                    now,
                    Stop::Refused {
                        id: Some(id),
                        refusal,
                    },
                );
            }
            Response::Checkpoint { .. } => {
                self.queue.push_front(item);
                let detail = "a checkpoint where a receipt was expected".to_owned();
                self.fail(now, Failure::BadAnswer { detail });
            }
        }
    }

    /// On an open connection: the next submission, else a last checkpoint check,
    /// else close.
    fn next(&mut self, now: Instant) {
        if let Some(item) = self.queue.pop_front() {
            self.actions.push_back(Action::Submit(item.clone()));
            self.sent_since_sync = true;
            self.state = State::Sending {
                item,
                deadline: now + self.config.request_timeout,
            };
        } else if self.sent_since_sync {
            self.sync(now);
        } else {
            self.actions.push_back(Action::Close);
            self.progressed();
            match self.config.mode {
                Mode::Drain { .. } => self.finish(Outcome::Delivered),
                Mode::Daemon { .. } => self.state = State::Idle,
            }
        }
    }

    /// A failed attempt: counted for every waiting submission, then retried after
    /// the backoff (temporary) or stopped (permanent).
    fn fail(&mut self, now: Instant, failure: Failure) {
        if let State::Sending { item, .. } = std::mem::replace(&mut self.state, State::Idle) {
            self.queue.push_front(item);
        }
        self.attempts += 1;
        let ids = self.queue.iter().map(|i| i.id).collect();
        self.actions.push_back(Action::RecordFailure {
            ids,
            failure: failure.clone(),
        });
        self.actions.push_back(Action::Close);
        if !failure.is_temporary() {
            return self.stop(now, Stop::Transport(failure));
        }
        self.failures = self.failures.saturating_add(1);
        let at = now + self.config.backoff.delay(self.failures);
        match self.config.mode {
            Mode::Drain { give_up_after } if at > self.started + give_up_after => {
                let attempts = self.attempts;
                self.finish(Outcome::GaveUp { failure, attempts });
            }
            _ => {
                let attempt = self.attempts;
                self.actions.push_back(Action::Retrying {
                    failure,
                    attempt,
                    at,
                });
                self.state = State::Waiting { until: at };
            }
        }
    }

    /// A permanent failure: finish (drain mode) or pause (daemon mode).
    fn stop(&mut self, now: Instant, stop: Stop) {
        if let State::Sending { item, .. } = std::mem::replace(&mut self.state, State::Idle) {
            self.queue.push_front(item);
        }
        if !self.actions.iter().any(|a| matches!(a, Action::Close)) {
            self.actions.push_back(Action::Close);
        }
        match self.config.mode {
            Mode::Drain { .. } => self.finish(Outcome::Stopped(stop)),
            Mode::Daemon {
                pause_after_permanent,
            } => {
                let until = now + pause_after_permanent;
                self.actions.push_back(Action::Suspended { stop, until });
                self.state = State::Suspended { until };
            }
        }
    }

    /// The hub answered: the backoff and the count of failed attempts start over.
    fn progressed(&mut self) {
        self.failures = 0;
        self.attempts = 0;
    }

    fn finish(&mut self, outcome: Outcome) {
        self.actions.push_back(Action::Finished(outcome));
        self.state = State::Finished;
    }
}

/// Checks a stored submission: its bytes hash to its id, its signature holds, and
/// the bytes are a submission of this kommun with the stored sequence.
fn check(item: &Outgoing, kommun: KommunCode) -> Result<(), Tampering> {
    let computed = item.signed.id();
    if computed != item.id {
        return Err(Tampering::IdMismatch { computed });
    }
    let signed = &item.signed;
    signed
        .signer
        .verify(SUBMISSION_CONTEXT, &signed.bytes, &signed.signature)
        .map_err(|_| Tampering::BadSignature)?;
    let submission: Submission =
        crate::codec::decode(&signed.bytes).map_err(Tampering::Undecodable)?;
    if submission.sequence != item.sequence {
        return Err(Tampering::SequenceMismatch {
            stored: item.sequence,
            signed: submission.sequence,
        });
    }
    if submission.statistics.kommun != kommun {
        return Err(Tampering::WrongKommun {
            found: submission.statistics.kommun.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
