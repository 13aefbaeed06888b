//! The test harness: a fake hub that keeps a real Merkle log and signs real receipts
//! and checkpoints, a scripted network (answers, failures, silence), a fake clock
//! and a fake outbox, driven together as in quinn-proto's test `Pair`.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::super::*;
use crate::pseudonym::MasterSecret;
use crate::signing::SigningKey;
use crate::statistics::Aggregator;
use crate::translog::{self, EntryKind, LogEntry, MemoryHashes};
use crate::wire::{Receipt, Request, SignedReceipt};

pub(super) const ORIGIN: &str = "samla-test-hub";

pub(super) fn key() -> SigningKey {
    let rng = ring::rand::SystemRandom::new();
    SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng).unwrap()).unwrap()
}

pub(super) fn kommun() -> KommunCode {
    "2180".parse().unwrap()
}

/// The fake clock's origin; every later time is this plus a duration.
#[expect(
    clippy::disallowed_methods,
    reason = "the fake clock needs one real instant to count from"
)]
pub(super) fn origin() -> Instant {
    Instant::now()
}

/// A hub as the node sees it: a real transfer log, real receipts and checkpoints.
pub(super) struct FakeHub {
    pub(super) key: SigningKey,
    pub(super) registered: Vec<VerifyingKey>,
    pub(super) entries: Vec<Vec<u8>>,
    pub(super) log: MemoryHashes,
    pub(super) last_sequence: u64,
    pub(super) stored: BTreeMap<SubmissionId, SignedReceipt>,
}

impl FakeHub {
    pub(super) fn new(node: &SigningKey) -> FakeHub {
        let mut hub = FakeHub {
            key: key(),
            registered: vec![node.verifying_key()],
            entries: Vec::new(),
            log: MemoryHashes::default(),
            last_sequence: 0,
            stored: BTreeMap::new(),
        };
        hub.append(EntryKind::NodeRegistered, None, "node registered");
        hub
    }

    pub(super) fn append(
        &mut self,
        kind: EntryKind,
        id: Option<SubmissionId>,
        summary: &str,
    ) -> (u64, Vec<u8>) {
        let entry = LogEntry {
            kind,
            at: 1_800_000_000,
            kommun: Some(kommun()),
            submission: id,
            summary: summary.to_owned(),
        }
        .to_bytes();
        let index = self.log.append(&entry).unwrap();
        self.entries.push(entry.clone());
        (index, entry)
    }

    pub(super) fn head(&self) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.to_owned(),
            size: self.log.size(),
            root: self.log.root().unwrap(),
        }
    }

    pub(super) fn answer(&mut self, request: &Request) -> Response {
        match request {
            Request::Checkpoint { since } => {
                let size = self.log.size();
                let consistency = if *since == 0 || *since >= size {
                    Vec::new()
                } else {
                    translog::prove_consistency(size, *since, &self.log).unwrap()
                };
                Response::Checkpoint {
                    note: self.head().sign(&self.key).unwrap(),
                    consistency,
                }
            }
            Request::Submit(signed) => {
                if let Some(receipt) = self.stored.get(&signed.id()) {
                    return Response::Receipt(receipt.clone());
                }
                let verified = match signed.clone().verify(kommun(), &self.registered) {
                    Ok(v) => v,
                    Err(refusal) => return Response::Refused(refusal),
                };
                let sequence = verified.submission().sequence;
                if sequence <= self.last_sequence {
                    return Response::Refused(Refusal::Replay {
                        found: sequence,
                        last: self.last_sequence,
                    });
                }
                self.last_sequence = sequence;
                let id = verified.id();
                let (index, entry) = self.append(EntryKind::Accepted, Some(id), "accepted");
                let size = self.log.size();
                let receipt = Receipt {
                    submission_id: id,
                    kommun: kommun(),
                    sequence,
                    received_at: 1_800_000_000,
                    log_index: index,
                    entry,
                    checkpoint: self.head().sign(&self.key).unwrap(),
                    inclusion: translog::prove_inclusion(size, index, &self.log).unwrap(),
                };
                let signed = SignedReceipt::sign(&receipt, &self.key).unwrap();
                self.stored.insert(id, signed.clone());
                Response::Receipt(signed)
            }
        }
    }

    /// The operator rewrites the first entry and rebuilds a consistent tree.
    pub(super) fn rewrite_history(&mut self) {
        let mut first = LogEntry::from_bytes(&self.entries[0]).unwrap();
        first.summary.push_str(" (rewritten)");
        self.entries[0] = first.to_bytes();
        self.log = MemoryHashes::default();
        for e in &self.entries {
            self.log.append(e).unwrap();
        }
    }
}

/// What the network does with the next connection attempt or request.
#[derive(Debug, Clone)]
pub(super) enum Net {
    /// Works (a request is answered by the hub).
    Up,
    /// Fails at once with this.
    Fail(Failure),
    /// Nothing ever comes back.
    Silent,
    /// The hub handles the request, but the answer is lost (nothing comes back).
    AnswerLost,
    /// This answer instead of the hub's.
    Answer(Box<Response>),
}

/// A submission as the fake outbox keeps it.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) item: Outgoing,
    pub(super) state: &'static str,
    pub(super) attempts: u32,
}

/// The machine, the hub, the network script, a fake clock and a fake outbox.
pub(super) struct Pair {
    pub(super) machine: Delivery,
    pub(super) hub: FakeHub,
    pub(super) node: SigningKey,
    pub(super) now: Instant,
    pub(super) start: Instant,
    pub(super) connects: VecDeque<Net>,
    pub(super) requests: VecDeque<Net>,
    pub(super) outbox: BTreeMap<SubmissionId, Row>,
    pub(super) checkpoints: Vec<u64>,
    /// Every action, with the time it was polled (after the start).
    pub(super) log: Vec<(Duration, Action)>,
    /// Rewrite the hub's history after this many answered submissions.
    pub(super) rewrite_after: Option<usize>,
    pub(super) answered: usize,
}

pub(super) fn config(mode: Mode, hub: &FakeHub) -> DeliveryConfig {
    DeliveryConfig {
        kommun: kommun(),
        receipt_key: hub.key.verifying_key(),
        log_origin: ORIGIN.to_owned(),
        backoff: Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
        },
        connect_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(300),
        mode,
    }
}

pub(super) const DRAIN: Mode = Mode::Drain {
    give_up_after: Duration::from_secs(60),
};
pub(super) const PATIENT: Mode = Mode::Drain {
    give_up_after: Duration::from_secs(1000),
};
pub(super) const DAEMON: Mode = Mode::Daemon {
    pause_after_permanent: Duration::from_secs(3600),
};

impl Pair {
    pub(super) fn new(mode: Mode) -> Pair {
        let node = key();
        let hub = FakeHub::new(&node);
        Pair::with(mode, node, hub, None)
    }

    pub(super) fn with(
        mode: Mode,
        node: SigningKey,
        hub: FakeHub,
        checkpoint: Option<(u64, Vec<u8>)>,
    ) -> Pair {
        let start = origin();
        Pair {
            machine: Delivery::new(start, config(mode, &hub), checkpoint),
            hub,
            node,
            now: start,
            start,
            connects: VecDeque::new(),
            requests: VecDeque::new(),
            outbox: BTreeMap::new(),
            checkpoints: Vec::new(),
            log: Vec::new(),
            rewrite_after: None,
            answered: 0,
        }
    }

    /// A signed submission for `sequence`, stored in the fake outbox.
    pub(super) fn build(&mut self, sequence: u64) -> Outgoing {
        self.build_with(sequence, 0)
    }

    /// The same, with content that differs by `salt` (its creation time).
    pub(super) fn build_with(&mut self, sequence: u64, salt: i64) -> Outgoing {
        let master = MasterSecret::from_bytes([7; 32]);
        let statistics = Aggregator::new(
            kommun(),
            "2025".parse().unwrap(),
            "d".parse().unwrap(),
            master.key_id(),
            vec!["UNG".parse().unwrap()],
        )
        .finish();
        let created_at = 1_800_000_000 + sequence as i64 + salt;
        let submission = Submission {
            sequence,
            created_at,
            statistics,
        };
        let signed = SignedSubmission::sign(&submission, &self.node).unwrap();
        let item = Outgoing {
            id: signed.id(),
            sequence,
            signed,
        };
        self.outbox.insert(
            item.id,
            Row {
                item: item.clone(),
                state: "pending",
                attempts: 0,
            },
        );
        item
    }

    pub(super) fn queue(&mut self, items: Vec<Outgoing>) {
        self.machine.handle_queued(self.now, items);
    }

    pub(super) fn elapsed(&self) -> Duration {
        self.now.duration_since(self.start)
    }

    pub(super) fn next_net(queue: &mut VecDeque<Net>) -> Net {
        queue.pop_front().unwrap_or(Net::Up)
    }

    /// Performs one action as a driver would.
    pub(super) fn perform(&mut self, action: Action) {
        match action {
            Action::Connect => match Pair::next_net(&mut self.connects) {
                Net::Up => self.machine.handle_connected(self.now),
                Net::Fail(f) => self.machine.handle_failure(self.now, f),
                Net::Silent | Net::AnswerLost => {}
                Net::Answer(_) => panic!("no answer to a connect"),
            },
            Action::RequestCheckpoint { since } => self.request(Request::Checkpoint { since }),
            Action::Submit(item) => {
                assert_eq!(
                    self.outbox[&item.id].state, "pending",
                    "only pending submissions are sent"
                );
                self.request(Request::Submit(item.signed));
                self.answered += 1;
                if self.rewrite_after == Some(self.answered) {
                    self.hub.rewrite_history();
                }
            }
            Action::RecordCheckpoint { size, .. } => self.checkpoints.push(size),
            Action::RecordReceipt(v) => self.row(v.receipt().submission_id).state = "acknowledged",
            Action::RecordRefusal { id, .. } => self.row(id).state = "refused",
            Action::RecordFailure { ids, .. } => {
                ids.iter().for_each(|id| self.row(*id).attempts += 1)
            }
            Action::Resequence { id, after } => {
                let old = self.row(id).item.clone();
                self.row(id).state = "refused";
                let highest = self
                    .outbox
                    .values()
                    .map(|r| r.item.sequence)
                    .max()
                    .unwrap_or(0);
                let mut submission: Submission = crate::codec::decode(&old.signed.bytes).unwrap();
                submission.sequence = after.max(highest) + 1;
                let signed = SignedSubmission::sign(&submission, &self.node).unwrap();
                let new = Outgoing {
                    id: signed.id(),
                    sequence: submission.sequence,
                    signed,
                };
                self.outbox.insert(
                    new.id,
                    Row {
                        item: new.clone(),
                        state: "pending",
                        attempts: 0,
                    },
                );
                self.machine.handle_resequenced(self.now, id, new);
            }
            Action::Close
            | Action::RecordHistoryChanged(_)
            | Action::RecordTampered { .. }
            | Action::Retrying { .. }
            | Action::Suspended { .. }
            | Action::Finished(_) => {}
        }
    }

    pub(super) fn row(&mut self, id: SubmissionId) -> &mut Row {
        self.outbox.get_mut(&id).unwrap()
    }

    pub(super) fn request(&mut self, request: Request) {
        match Pair::next_net(&mut self.requests) {
            Net::Up => {
                let response = self.hub.answer(&request);
                self.now += Duration::from_millis(20);
                self.machine.handle_response(self.now, response);
            }
            Net::Fail(f) => self.machine.handle_failure(self.now, f),
            Net::Silent => {}
            Net::AnswerLost => {
                let _ = self.hub.answer(&request);
            }
            Net::Answer(response) => self.machine.handle_response(self.now, *response),
        }
    }

    /// Drives the machine until it finishes, advancing the clock to each timeout;
    /// returns the outcome. Panics if it goes idle first or takes more than `limit`.
    pub(super) fn run(&mut self) -> Outcome {
        self.run_until(|_| false).expect("the machine finished")
    }

    /// Drives until an action matches `stop` (returns `None`) or the machine finishes.
    pub(super) fn run_until(&mut self, stop: impl Fn(&Action) -> bool) -> Option<Outcome> {
        for _ in 0..10_000 {
            while let Some(action) = self.machine.poll_action(self.now) {
                self.log.push((self.elapsed(), action.clone()));
                if let Action::Finished(outcome) = &action {
                    return Some(outcome.clone());
                }
                let matched = stop(&action);
                self.perform(action);
                if matched {
                    return None;
                }
            }
            let next = self
                .machine
                .poll_timeout()
                .expect("the machine went idle before finishing");
            self.now = self.now.max(next);
        }
        panic!("the machine did not finish");
    }

    pub(super) fn count(&self, what: impl Fn(&Action) -> bool) -> usize {
        self.log.iter().filter(|(_, a)| what(a)).count()
    }

    pub(super) fn retries(&self) -> Vec<(Duration, u32)> {
        self.log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Retrying { attempt, at, .. } => {
                    Some((at.duration_since(self.start), *attempt))
                }
                _ => None,
            })
            .collect()
    }

    pub(super) fn states(&self) -> Vec<(u64, &'static str)> {
        let mut s: Vec<_> = self
            .outbox
            .values()
            .map(|r| (r.item.sequence, r.state))
            .collect();
        s.sort();
        s
    }
}
