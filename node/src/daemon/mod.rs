//! `samla-node run`: the node as a daemon that municipal IT starts and leaves.
//!
//! It watches an inbox directory for new exports ([`inbox`]) and/or reads one export
//! file on a schedule. Each new export (known by the BLAKE3 hash of its bytes) is
//! read, turned into one submission per period (inside each project's lifetime, see
//! [`periods`]) and linkage domain, and queued in the outbox in the same transaction
//! that records the export; only then is the file moved to `processed`. A file that
//! cannot be used (unreadable, rows rejected, a header that looks misnamed) goes to
//! `rejected` with a report beside it. The outbox is delivered by one long-lived
//! [`Driver`] of the delivery state machine, with one backoff; the daemon only
//! shuttles: it queues what it built and sleeps until the driver or the inbox has
//! work. So after a crash at any point an export is either fully queued and known
//! (and just moved on restart) or not queued at all (and read again), and a queued
//! submission is sent until a verified receipt comes back: nothing is lost and
//! nothing is submitted twice (the hub answers a resent submission with the receipt
//! it already gave).

pub mod inbox;
pub mod periods;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use samla_common::delivery::{Mode, Outcome};
use samla_common::retry::Backoff;
use samla_common::signing::SigningKey;

use samla_cli_common::error::Chain;

use crate::client::{ClientError, Driver, Event};
use crate::config::{DaemonConfig, HubLink, NodeConfig};
use crate::ingest::FileSummary;
use crate::node_log::LogKind;
use crate::outbox::{Outbox, OutboxError, PendingBuild, Source};
use crate::pipeline::BuildError;
use crate::pseudonyms::Pseudonymiser;
use crate::{keyfile, pipeline};
use inbox::{file_name, log_name, move_into, settled};

/// The daemon's waits between delivery attempts while the hub cannot be reached.
const BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    cap: Duration::from_secs(600),
};

/// How long the daemon waits after a permanent failure (a refused certificate or
/// submission) before it tries again, so that a fix at the hub is picked up without
/// a restart.
const PAUSE_AFTER_PERMANENT: Duration = Duration::from_secs(3600);

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The node database failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The hub's log history changed, or another error that needs a person.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A key could not be read.
    #[error(transparent)]
    Key(#[from] keyfile::KeyError),
    /// The pseudonym key, or the custodians' key set.
    #[error(transparent)]
    Pseudonymiser(#[from] crate::pseudonyms::PseudonymiserError),
}

/// What became of one export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    /// Queued as this many submissions.
    Queued(usize),
    /// Seen before (the same bytes); nothing new was queued.
    Known,
    /// Not usable; moved to `rejected` with a report.
    Rejected(String),
    /// Still being written, or could not be read now; tried again later.
    Later,
}

/// The daemon's state: config, keys, the outbox and the delivery driver.
pub struct Daemon {
    config: NodeConfig,
    daemon: DaemonConfig,
    signing: SigningKey,
    outbox: Outbox,
    driver: Driver,
    next_export_read: Instant,
    /// Inbox files that are not exports, already reported.
    skipped: BTreeSet<String>,
}

impl Daemon {
    /// Opens the outbox, loads the signing key and reads the TLS files.
    pub fn new(
        config: NodeConfig,
        daemon: DaemonConfig,
        link: HubLink,
    ) -> Result<Daemon, DaemonError> {
        let signing = keyfile::load_signing_key(&link.signing_key)?;
        let mut outbox = Outbox::open(&config.database)?;
        outbox.record_signing_key(&signing.verifying_key(), now())?;
        outbox.sign_heads_with(keyfile::load_signing_key(&link.signing_key)?);
        let mode = Mode::Daemon {
            pause_after_permanent: PAUSE_AFTER_PERMANENT,
        };
        let driver = Driver::new(&link, config.kommun, BACKOFF, mode, &outbox)?;
        for dir in [&daemon.processed, &daemon.rejected]
            .into_iter()
            .chain(daemon.inbox.as_ref())
        {
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not create directory");
            }
        }
        Ok(Daemon {
            config,
            daemon,
            signing,
            outbox,
            driver,
            next_export_read: Instant::now(),
            skipped: BTreeSet::new(),
        })
    }

    /// Runs until `shutdown` completes: reads the inbox every poll interval, the
    /// scheduled export when due, and delivers whatever waits in the outbox. With
    /// `once`, does one round (and one delivery attempt) and returns.
    pub async fn run(
        &mut self,
        shutdown: impl std::future::Future<Output = ()>,
        once: bool,
    ) -> Result<(), DaemonError> {
        tokio::pin!(shutdown);
        let shown = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or_else(|| "none".to_owned(), |p| p.display().to_string())
        };
        tracing::info!(
            kommun = %self.config.kommun,
            inbox = %shown(&self.daemon.inbox),
            export = %shown(&self.daemon.export),
            "samla-node daemon started"
        );
        let mut log = log_event;
        let mut first = true;
        loop {
            // The outbox is read again only when this round queued something new.
            if self.round() || first {
                self.driver.queue(&mut self.outbox, &mut log)?;
                first = false;
            }
            let outcome = tokio::select! {
                outcome = self.driver.drive(&mut self.outbox, &mut log) => outcome?,
                () = &mut shutdown => break,
            };
            self.outbox.seal(now())?;
            if let Some(Outcome::HistoryChanged(rewritten)) = outcome {
                return Err(ClientError::HistoryChanged(Box::new(rewritten)).into());
            }
            if once {
                break;
            }
            let poll = tokio::time::Instant::now() + self.daemon.poll;
            let wake = self
                .driver
                .next_wake()
                .map_or(poll, |at| poll.min(at.into()));
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = &mut shutdown => break,
            }
        }
        self.outbox.seal(now())?;
        let pending = self.outbox.pending()?.len();
        tracing::info!(
            pending,
            "samla-node daemon stopped; pending submissions stay in the outbox"
        );
        Ok(())
    }

    /// One pass over the inbox and, when due, the scheduled export. Returns whether
    /// any submission was queued.
    pub fn round(&mut self) -> bool {
        let mut queued = false;
        if let Some(dir) = self.daemon.inbox.clone() {
            let (exports, others) = inbox::files(&dir);
            for file in others {
                if self.skipped.insert(file_name(&file)) {
                    let reads = inbox::EXPORT_EXTENSIONS.map(|e| format!(".{e}"));
                    tracing::info!(
                        file = %log_name(&file),
                        reads = %reads.join(" "),
                        "not an export; left in the inbox"
                    );
                }
            }
            for file in exports {
                queued |= self.handle(&file, true);
            }
        }
        if let Some(export) = self.daemon.export.clone() {
            if Instant::now() >= self.next_export_read && export.exists() {
                queued |= self.handle(&export, false);
                self.next_export_read = Instant::now() + self.daemon.every;
            }
        }
        queued
    }

    /// Processes one file and logs what became of it; returns whether it queued
    /// anything.
    fn handle(&mut self, file: &Path, in_inbox: bool) -> bool {
        let name = log_name(file);
        let outcome = self.process(file, in_inbox);
        match &outcome {
            Ok(Export::Queued(n)) => {
                tracing::info!(file = %name, submissions = n, "export read and queued")
            }
            Ok(Export::Known) => tracing::debug!(file = %name, "export seen before"),
            Ok(Export::Rejected(reason)) => {
                tracing::warn!(file = %name, %reason, "export not used; see the rejected directory")
            }
            Ok(Export::Later) => {}
            Err(e) => {
                tracing::error!(file = %name, error = %Chain(e), "export could not be processed; trying again later")
            }
        }
        matches!(outcome, Ok(Export::Queued(n)) if n > 0)
    }

    /// Reads one export and queues its submissions (see the module doc for the
    /// order of steps). Inbox files are moved once done with.
    pub fn process(&mut self, file: &Path, in_inbox: bool) -> Result<Export, DaemonError> {
        if in_inbox && !settled(file, self.daemon.settle) {
            return Ok(Export::Later);
        }
        let Ok(bytes) = std::fs::read(file) else {
            return Ok(Export::Later);
        };
        let source = Source {
            hash: blake3::hash(&bytes).to_hex().to_string(),
            name: file_name(file),
        };
        drop(bytes);
        if let Some(outcome) = self.outbox.export_outcome(&source.hash)? {
            if in_inbox {
                let to = if outcome.starts_with("not used") {
                    &self.daemon.rejected
                } else {
                    &self.daemon.processed
                };
                move_into(file, to);
            }
            return Ok(Export::Known);
        }
        let today = time::OffsetDateTime::now_utc().date();
        let plan = periods::plan(
            &source.name,
            today,
            &self.daemon.periods,
            &self.config.projects,
        );
        let name = log_name(file);
        for skipped in &plan.skipped {
            tracing::info!(file = %name, "{skipped}");
        }
        let mut statistics = Vec::new();
        for (period, projects) in &plan.submit {
            let pseudonymiser = Pseudonymiser::load(&self.config)?;
            let files = [file.to_owned()];
            let built = match pipeline::build(
                &self.config,
                &pseudonymiser,
                &files,
                *period,
                projects,
                today,
            ) {
                Ok(built) => built,
                Err(BuildError::Custodians(e)) if e.is_temporary() => {
                    // Nothing is built without pseudonyms: the export waits where it
                    // is and is read again at the next poll.
                    tracing::warn!(file = %name, error = %Chain(&e), "the key custodians could not make the pseudonyms; the export waits");
                    self.outbox.record(
                        LogKind::CustodianUnavailable,
                        None,
                        &format!("export {}: {}", source.name, custodian_reason(&e)),
                        now(),
                    )?;
                    return Ok(Export::Later);
                }
                Err(e) => {
                    return self.reject(file, in_inbox, &source, &Chain(&e).to_string(), None)
                }
            };
            drop(pseudonymiser);
            self.outbox
                .record_custodian_batches(&built.custodian_batches)?;
            let (rows, headers) = (built.rejected(), built.header_warnings());
            if (rows > 0 || headers > 0) && !self.daemon.accept_rejects {
                let what = match (rows, headers) {
                    (rows, 0) => format!("{rows} row(s) rejected"),
                    (0, headers) => format!("{headers} column header(s) look misnamed"),
                    (rows, headers) => format!(
                        "{rows} row(s) rejected and {headers} column header(s) look misnamed"
                    ),
                };
                let reason =
                    format!("{what}; fix the file and drop it again, or set accept_rejects");
                return self.reject(file, in_inbox, &source, &reason, Some(&built.files));
            }
            statistics.extend(built.statistics);
        }
        let created_at = now();
        let signing = &self.signing;
        let queued: Vec<(String, String)> = statistics
            .iter()
            .map(|s| {
                let projects: Vec<&str> = s.projects.iter().map(|p| p.as_str()).collect();
                (s.period.to_string(), projects.join(", "))
            })
            .collect();
        let builds: Vec<PendingBuild<'_>> = statistics
            .into_iter()
            .map(|s| PendingBuild::signed(s, signing, created_at))
            .collect();
        let ids = self.outbox.enqueue_export(created_at, &source, builds)?;
        for (id, (period, projects)) in ids.iter().zip(&queued) {
            tracing::info!(file = %name, %period, %projects, submission = %id, "submission queued");
        }
        if in_inbox {
            move_into(file, &self.daemon.processed);
        }
        Ok(Export::Queued(ids.len()))
    }

    /// Records an export as not usable, writes why beside it in `rejected` (the
    /// rejected rows as CSV, file errors and misnamed headers as text) and moves it
    /// there.
    fn reject(
        &mut self,
        file: &Path,
        in_inbox: bool,
        source: &Source,
        reason: &str,
        files: Option<&[FileSummary]>,
    ) -> Result<Export, DaemonError> {
        let rejected = &self.daemon.rejected;
        let rows = files.is_some_and(|f| f.iter().any(|s| !s.rejections.is_empty()));
        let warnings: Vec<String> = files
            .into_iter()
            .flatten()
            .flat_map(|s| s.header_warnings.iter().map(ToString::to_string))
            .collect();
        let mut written = Ok(());
        if let (true, Some(files)) = (rows, files) {
            let report = rejected.join(format!("{}.rejects.csv", source.name));
            written = pipeline::write_reject_report(&report, files);
        }
        if !rows || !warnings.is_empty() {
            let mut text = format!("{reason}\n");
            for warning in &warnings {
                text.push_str(warning);
                text.push('\n');
            }
            let error_file = rejected.join(format!("{}.error.txt", source.name));
            written = written.and(std::fs::write(error_file, text));
        }
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not write the reject report");
        }
        self.outbox.record_unusable_export(now(), source, reason)?;
        if in_inbox {
            move_into(file, &self.daemon.rejected);
        }
        Ok(Export::Rejected(reason.to_owned()))
    }
}

/// Logs what the delivery driver reports, with plain values.
fn log_event(event: Event<'_>) {
    match event {
        Event::Sending { .. } => {}
        Event::Acknowledged(r) => tracing::info!(
            submission = %r.submission_id,
            sequence = r.sequence,
            log_index = r.log_index,
            "acknowledged; receipt verified"
        ),
        Event::Refused(id, refusal) => {
            tracing::warn!(submission = %id, reason = %refusal, "the hub refused a submission")
        }
        Event::Retrying {
            address,
            failure,
            attempt,
            wait,
            at,
            hint,
        } => tracing::warn!(
            hub = %address,
            error = %Chain(failure),
            attempt,
            next_attempt = %at,
            wait_s = %format!("{:.1}", wait.as_secs_f64()),
            hint = %hint.unwrap_or_default(),
            "hub not reached; retrying"
        ),
        Event::Tampered { id, problem } => tracing::error!(
            submission = %id,
            problem = %Chain(problem),
            "a submission in the outbox does not match what was signed; it is not sent (run `samla-node audit verify`)"
        ),
        Event::Resequenced { old, new, after } => tracing::warn!(
            old = %old,
            new = %new.id,
            sequence = new.sequence,
            hub_last = after,
            "re-signed a submission the hub refused as a replay (the node database is older than the hub's record)"
        ),
        Event::Suspended { stop, hint, until } => tracing::error!(
            error = %Chain(stop),
            %hint,
            retry_at = %until,
            "delivery stopped; restart the daemon once it is fixed"
        ),
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Why the custodians could not help, short, for the node log.
fn custodian_reason(error: &crate::custodian::CustodianError) -> String {
    match error {
        crate::custodian::CustodianError::Unavailable { usable, needed, .. } => {
            format!("{usable} of {needed} custodians usable")
        }
        crate::custodian::CustodianError::RateLimited { custodian, .. } => {
            format!("custodian {custodian} refused: rate limit")
        }
        other => other.to_string(),
    }
}
