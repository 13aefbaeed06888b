//! The delivery state machine driven against the hub, the outbox and the clock.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use samla_common::audit::node_checks::{check_stored, StoredColumns};
use samla_common::codes::KommunCode;
use samla_common::delivery::{
    Action, Delivery, DeliveryConfig, Failure, Mode, Outcome, Outgoing, Stop, Tampering,
};
use samla_common::retry::Backoff;
use samla_common::signing::SigningKey;
use samla_common::wire::{Request, SignedSubmission, SubmissionId};

use super::connection::{client_config, HubClient};
use super::messages::{hint, stop_hint, Event};
use samla_cli_common::error::Chain;

use super::{ClientError, IDLE_TIMEOUT, REQUEST_TIMEOUT};
use crate::config::HubLink;
use crate::keyfile;
use crate::node_log::LogKind;
use crate::outbox::Outbox;

/// Counts of what a driver did.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Submissions acknowledged.
    pub acknowledged: usize,
    /// Submissions refused for good, as `id: reason`.
    pub refused: Vec<String>,
    /// Stored submissions that do not match what was signed.
    pub tampered: Vec<SubmissionId>,
}

/// Runs the delivery machine against the hub, the outbox and the clock.
pub struct Driver {
    link: HubLink,
    kommun: KommunCode,
    machine: Delivery,
    tls: quinn::ClientConfig,
    connection: Option<HubClient>,
    signing: Option<SigningKey>,
    /// Undecodable outbox rows already reported.
    reported: BTreeSet<SubmissionId>,
    /// The last failure, with its hint.
    last_failure: Option<(Failure, String)>,
    tally: Tally,
}

impl Driver {
    /// A driver for `link`; the TLS files are read now, so a missing one is named at
    /// once. `mode` says when delivery ends.
    pub fn new(
        link: &HubLink,
        kommun: KommunCode,
        backoff: Backoff,
        mode: Mode,
        outbox: &Outbox,
    ) -> Result<Driver, ClientError> {
        let config = DeliveryConfig {
            kommun,
            receipt_key: link.receipt_key,
            log_origin: link.log_origin.clone(),
            backoff,
            connect_timeout: IDLE_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            mode,
        };
        Ok(Driver {
            kommun,
            tls: client_config(link)?,
            link: link.clone(),
            machine: Delivery::new(Instant::now(), config, outbox.last_checkpoint()?),
            connection: None,
            signing: None,
            reported: BTreeSet::new(),
            last_failure: None,
            tally: Tally::default(),
        })
    }

    /// Hands every pending submission of the outbox to the machine (ones it has seen
    /// are ignored); a row whose bytes cannot even be decoded is reported here.
    /// Returns how many are pending.
    pub fn queue(
        &mut self,
        outbox: &mut Outbox,
        on: &mut impl FnMut(Event<'_>),
    ) -> Result<usize, ClientError> {
        let rows = outbox.pending_as_stored()?;
        let pending = rows.len();
        let keys = outbox.signing_keys()?;
        let mut items = Vec::new();
        for row in rows {
            let entry = row.entry;
            match row.signed {
                Ok(signed) => {
                    let columns = StoredColumns {
                        id: entry.id,
                        sequence: entry.sequence,
                        period: &entry.period,
                        linkage_domain: &entry.linkage_domain,
                    };
                    match check_stored(&columns, &signed, &keys, self.kommun) {
                        Ok(_) => items.push(Outgoing {
                            id: entry.id,
                            sequence: entry.sequence,
                            signed,
                        }),
                        Err(problem) if self.reported.insert(entry.id) => {
                            self.tampered(outbox, entry.id, &Tampering::Stored(problem), on)?;
                        }
                        Err(_) => {}
                    }
                }
                Err(e) if self.reported.insert(entry.id) => {
                    self.tampered(outbox, entry.id, &Tampering::Undecodable(e), on)?;
                }
                Err(_) => {}
            }
        }
        self.machine.handle_queued(Instant::now(), items);
        Ok(pending)
    }

    /// When the machine next has work, if it waits for anything.
    pub fn next_wake(&self) -> Option<Instant> {
        self.machine.poll_timeout()
    }

    /// What the driver did so far.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Does the machine's work until it has none for now (it waits, or is idle), or
    /// it finishes (then the outcome).
    pub async fn drive(
        &mut self,
        outbox: &mut Outbox,
        on: &mut impl FnMut(Event<'_>),
    ) -> Result<Option<Outcome>, ClientError> {
        while let Some(action) = self.machine.poll_action(Instant::now()) {
            if let Some(outcome) = self.perform(action, outbox, on).await? {
                return Ok(Some(outcome));
            }
        }
        Ok(None)
    }

    async fn perform(
        &mut self,
        action: Action,
        outbox: &mut Outbox,
        on: &mut impl FnMut(Event<'_>),
    ) -> Result<Option<Outcome>, ClientError> {
        let now = wall_clock();
        match action {
            Action::Connect => {
                let attempt = HubClient::open(&self.link, self.tls.clone());
                match self.until_deadline(attempt).await {
                    Some(Ok(client)) => {
                        self.connection = Some(client);
                        self.machine.handle_connected(Instant::now());
                    }
                    Some(Err(failure)) => self.machine.handle_failure(Instant::now(), failure),
                    None => {}
                }
            }
            Action::RequestCheckpoint { since } => {
                self.request(Request::Checkpoint { since }).await
            }
            Action::Submit(item) => {
                let peer = self
                    .connection
                    .as_ref()
                    .and_then(HubClient::peer_description)
                    .map_or(String::new(), |p| format!(", {p}"));
                let detail = format!("sequence {} to {}{peer}", item.sequence, self.link.address);
                outbox.record(LogKind::Sent, Some(item.id), &detail, now)?;
                self.request(Request::Submit(item.signed)).await;
            }
            Action::Close => {
                if let Some(client) = self.connection.take() {
                    client.close().await;
                }
            }
            Action::RecordCheckpoint { size, note } => {
                outbox.record_checkpoint(size, &note, now)?
            }
            Action::RecordHistoryChanged(rewritten) => {
                outbox.record_history_changed(&Chain(&rewritten).to_string(), now)?
            }
            Action::RecordReceipt(verified) => {
                outbox.record_receipt(&verified, now)?;
                self.tally.acknowledged += 1;
                on(Event::Acknowledged(verified.receipt()));
            }
            Action::RecordRefusal { id, refusal } => {
                outbox.record_refusal(id, &refusal, now)?;
                self.tally.refused.push(format!("{id}: {refusal}"));
                on(Event::Refused(id, &refusal));
            }
            Action::RecordFailure { ids, failure } => {
                let message = format!("hub {} (UDP): {}", self.link.address, Chain(&failure));
                outbox.record_attempt_failed(&ids, now, &message)?;
                self.last_failure = Some((failure.clone(), hint(&failure, &self.link)));
            }
            Action::RecordTampered { id, problem } => self.tampered(outbox, id, &problem, on)?,
            Action::Resequence { id, after } => {
                if self.signing.is_none() {
                    self.signing = Some(keyfile::load_signing_key(&self.link.signing_key)?);
                }
                let Some(key) = &self.signing else {
                    return Ok(None);
                };
                let new = outbox.resequence(id, after, now, |s| SignedSubmission::sign(s, key))?;
                on(Event::Resequenced {
                    old: id,
                    new: &new.entry,
                    after,
                });
                let outgoing = Outgoing {
                    id: new.entry.id,
                    sequence: new.entry.sequence,
                    signed: new.signed,
                };
                self.machine
                    .handle_resequenced(Instant::now(), id, outgoing);
            }
            Action::Retrying {
                failure,
                attempt,
                at,
            } => {
                let wait = at.saturating_duration_since(Instant::now());
                on(Event::Retrying {
                    address: &self.link.address,
                    failure: &failure,
                    attempt,
                    wait,
                    at: local_time_in(wait),
                    hint: (attempt == 1).then(|| hint(&failure, &self.link)),
                });
            }
            Action::Suspended { stop, until } => {
                let wait = until.saturating_duration_since(Instant::now());
                on(Event::Suspended {
                    hint: stop_hint(&stop, &self.link),
                    stop: &stop,
                    until: local_time_in(wait),
                });
            }
            Action::Finished(outcome) => return Ok(Some(outcome)),
        }
        Ok(None)
    }

    /// Sends a request on the open connection and hands the machine its answer.
    async fn request(&mut self, request: Request) {
        let Some(client) = &self.connection else {
            let lost = Failure::Lost {
                detail: "no connection".to_owned(),
            };
            return self.machine.handle_failure(Instant::now(), lost);
        };
        let deadline = self.machine.poll_timeout();
        let answer = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.into(), client.exchange(&request))
                .await
                .ok(),
            None => Some(client.exchange(&request).await),
        };
        match answer {
            Some(Ok(response)) => self.machine.handle_response(Instant::now(), response),
            Some(Err(failure)) => self.machine.handle_failure(Instant::now(), failure),
            None => {}
        }
    }

    /// Runs `work` until the machine's deadline; `None` if the deadline came first (the
    /// machine then times it out itself).
    async fn until_deadline<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        match self.machine.poll_timeout() {
            Some(deadline) => tokio::time::timeout_at(deadline.into(), work).await.ok(),
            None => Some(work.await),
        }
    }

    fn tampered(
        &mut self,
        outbox: &mut Outbox,
        id: SubmissionId,
        problem: &Tampering,
        on: &mut impl FnMut(Event<'_>),
    ) -> Result<(), ClientError> {
        let detail = format!("{}; not sent", Chain(problem));
        outbox.record(LogKind::Tampered, Some(id), &detail, wall_clock())?;
        self.tally.tampered.push(id);
        on(Event::Tampered { id, problem });
        Ok(())
    }
}

/// What one delivery run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Submissions acknowledged by a verified receipt.
    pub acknowledged: usize,
    /// Submissions the hub refused for good.
    pub refused: Vec<String>,
    /// Submissions still pending when the run ended.
    pub pending: usize,
    /// Stored submissions that do not match what was signed (never sent).
    pub tampered: Vec<SubmissionId>,
    /// Why the run ended with submissions waiting, one line.
    pub last_error: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// Whether the run stopped at a failure that needs a person (not retried).
    pub permanent: bool,
}

impl Report {
    /// The exit status of `samla-node send`: 4 a refusal, 2 a changed outbox, 3
    /// submissions wait, 0 all delivered.
    pub fn exit_code(&self) -> u8 {
        if !self.refused.is_empty() {
            4
        } else if !self.tampered.is_empty() {
            2
        } else if self.pending > 0 {
            3
        } else {
            0
        }
    }

    /// The message for a person when something is left to do: what, a blank line,
    /// and the hint.
    pub fn message(&self) -> Option<String> {
        if self.pending == self.tampered.len() {
            return None;
        }
        let why = self.last_error.as_deref().unwrap_or("not delivered");
        let mut text = format!(
            "{} submission(s) wait in the outbox: {why}",
            self.pending - self.tampered.len().min(self.pending)
        );
        if let Some(hint) = &self.hint {
            text.push_str("\n\n");
            text.push_str(hint);
        }
        text.push_str(if self.permanent {
            "\nThis is not retried; `samla-node send` delivers them once it is fixed."
        } else {
            "\n`samla-node send` delivers them once the hub can be reached."
        });
        Some(text)
    }
}

/// Sends every pending submission, retrying with `backoff` until `give_up_after` has
/// passed, and stopping at once on a permanent failure. Nothing leaves the outbox
/// without a verified receipt or a final refusal.
pub async fn deliver(
    outbox: &mut Outbox,
    link: &HubLink,
    kommun: KommunCode,
    backoff: Backoff,
    give_up_after: Duration,
    mut progress: impl FnMut(Event<'_>),
) -> Result<Report, ClientError> {
    let mut driver = Driver::new(link, kommun, backoff, Mode::Drain { give_up_after }, outbox)?;
    let pending = driver.queue(outbox, &mut progress)?;
    if pending > driver.tally.tampered.len() {
        progress(Event::Sending {
            submissions: pending,
            address: &link.address,
            give_up_after,
        });
    }
    let outcome = loop {
        if let Some(outcome) = driver.drive(outbox, &mut progress).await? {
            break outcome;
        }
        match driver.next_wake() {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => break Outcome::Delivered,
        }
    };
    let address = &link.address;
    let (last_error, hint) = match &outcome {
        Outcome::Delivered => (None, None),
        Outcome::HistoryChanged(rewritten) => {
            return Err(ClientError::HistoryChanged(Box::new(rewritten.clone())))
        }
        Outcome::GaveUp { failure, attempts } => {
            let plural = if *attempts == 1 { "" } else { "s" };
            let error = format!(
                "hub {address} (UDP): {} (after {attempts} attempt{plural})",
                Chain(failure)
            );
            let now = wall_clock();
            for item in outbox.pending()? {
                let detail = format!(
                    "after {attempts} failed attempts in this run: {error}; stays in the outbox"
                );
                outbox.record(LogKind::RetriesGivenUp, Some(item.entry.id), &detail, now)?;
            }
            (
                Some(error),
                driver.last_failure.as_ref().map(|(_, h)| h.clone()),
            )
        }
        Outcome::Stopped(stop) => {
            let error = match stop {
                Stop::Transport(_) => format!("hub {address} (UDP): {}", Chain(stop)),
                _ => Chain(stop).to_string(),
            };
            (Some(error), Some(stop_hint(stop, link)))
        }
    };
    let tally = driver.tally;
    Ok(Report {
        acknowledged: tally.acknowledged,
        refused: tally.refused,
        pending: outbox.pending()?.len(),
        tampered: tally.tampered,
        permanent: matches!(outcome, Outcome::Stopped(_)),
        last_error,
        hint,
    })
}

/// Now, in Unix seconds, for the records.
fn wall_clock() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Swedish local time `wait` from now.
fn local_time_in(wait: Duration) -> String {
    let at = time::OffsetDateTime::now_utc() + wait;
    samla_common::local_time::format_stockholm(at)
}
