//! `samla-node run`: the node as a daemon that municipal IT starts and leaves.
//!
//! It watches an inbox directory for new exports and/or reads one export file on a
//! schedule. Each new export (known by the BLAKE3 hash of its bytes) is read, turned
//! into one submission per period and linkage domain, and queued in the outbox in the
//! same transaction that records the export; only then is the file moved to
//! `processed`. A file that cannot be used goes to `rejected` with a report beside
//! it. The outbox is drained with backoff. So after a crash at any point an export is
//! either fully queued and known (and just moved on restart) or not queued at all
//! (and read again), and a queued submission is sent until a verified receipt comes
//! back: nothing is lost and nothing is submitted twice (the hub answers a resent
//! submission with the receipt it already gave).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use samla_common::codes::ProjectCode;
use samla_common::period::{period_in_name, Period};
use samla_common::retry::Backoff;
use samla_common::signing::SigningKey;
use samla_common::text::shown;
use samla_common::wire::{SignedSubmission, Submission};

use crate::client::{self, ClientError, Event};
use crate::config::{DaemonConfig, HubLink, NodeConfig, PeriodChoice};
use crate::outbox::{Outbox, OutboxError, PendingBuild, Source};
use crate::{keyfile, pipeline};

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The node database failed.
    #[error("node database: {0}")]
    Outbox(#[from] OutboxError),
    /// The hub's log history changed, or another error that needs a person.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A key could not be read.
    #[error(transparent)]
    Key(#[from] keyfile::KeyError),
}

/// What became of one export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Queued as this many submissions.
    Queued(usize),
    /// Seen before (the same bytes); nothing new was queued.
    Known,
    /// Not usable; moved to `rejected` with a report.
    Rejected(String),
    /// Still being written, or could not be read now; tried again later.
    Later,
}

/// The daemon's state: config, keys and the outbox.
pub struct Daemon {
    config: NodeConfig,
    daemon: DaemonConfig,
    link: HubLink,
    signing: SigningKey,
    outbox: Outbox,
    next_export_read: Instant,
    next_delivery: Instant,
    delivery_failures: u32,
}

impl Daemon {
    /// Opens the outbox and loads the signing key.
    pub fn new(
        config: NodeConfig,
        daemon: DaemonConfig,
        link: HubLink,
    ) -> Result<Daemon, DaemonError> {
        let signing = keyfile::load_signing_key(&link.signing_key)?;
        let mut outbox = Outbox::open(&config.database)?;
        outbox.record_signing_key(&signing.verifying_key(), now())?;
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
            link,
            signing,
            outbox,
            next_export_read: Instant::now(),
            next_delivery: Instant::now(),
            delivery_failures: 0,
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
        tracing::info!(
            kommun = %self.config.kommun,
            inbox = ?self.daemon.inbox.as_ref().map(|p| p.display().to_string()),
            export = ?self.daemon.export.as_ref().map(|p| p.display().to_string()),
            "samla-node daemon started"
        );
        loop {
            self.round();
            if !self.outbox.pending()?.is_empty() && Instant::now() >= self.next_delivery {
                tokio::select! {
                    delivered = self.deliver() => delivered?,
                    () = &mut shutdown => break,
                }
            }
            if once {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(self.daemon.poll) => {}
                () = &mut shutdown => break,
            }
        }
        let pending = self.outbox.pending()?.len();
        tracing::info!(
            pending,
            "samla-node daemon stopped; pending submissions stay in the outbox"
        );
        Ok(())
    }

    /// One pass over the inbox and, when due, the scheduled export.
    pub fn round(&mut self) {
        if let Some(inbox) = self.daemon.inbox.clone() {
            for file in inbox_files(&inbox) {
                self.handle(&file, true);
            }
        }
        if let Some(export) = self.daemon.export.clone() {
            if Instant::now() >= self.next_export_read && export.exists() {
                self.handle(&export, false);
                self.next_export_read = Instant::now() + self.daemon.every;
            }
        }
    }

    fn handle(&mut self, file: &Path, in_inbox: bool) {
        let name = log_name(file);
        match self.process(file, in_inbox) {
            Ok(Outcome::Queued(n)) => {
                tracing::info!(file = %name, submissions = n, "export read and queued");
                self.next_delivery = Instant::now();
            }
            Ok(Outcome::Known) => tracing::debug!(file = %name, "export seen before"),
            Ok(Outcome::Rejected(reason)) => {
                tracing::warn!(file = %name, %reason, "export not used; see the rejected directory")
            }
            Ok(Outcome::Later) => {}
            Err(e) => {
                tracing::error!(file = %name, error = %e, "export could not be processed; trying again later")
            }
        }
    }

    /// Reads one export and queues its submissions (see the module doc for the
    /// order of steps). Inbox files are moved once done with.
    pub fn process(&mut self, file: &Path, in_inbox: bool) -> Result<Outcome, DaemonError> {
        if in_inbox && !settled(file, self.daemon.settle) {
            return Ok(Outcome::Later);
        }
        let Ok(bytes) = std::fs::read(file) else {
            return Ok(Outcome::Later);
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
            return Ok(Outcome::Known);
        }
        let today = time::OffsetDateTime::now_utc().date();
        let mut statistics = Vec::new();
        for (projects, period) in self.periods(&source.name, today) {
            let master = keyfile::load(&self.config.key_file)?;
            let built = match pipeline::build(
                &self.config,
                &master,
                &[file.to_owned()],
                period,
                &projects,
                today,
            ) {
                Ok(built) => built,
                Err(e) => return self.reject(file, in_inbox, &source, &e.to_string(), None),
            };
            if built.rejected() > 0 && !self.daemon.accept_rejects {
                let reason = format!(
                    "{} row(s) rejected; fix them and drop the file again, or set accept_rejects",
                    built.rejected()
                );
                return self.reject(file, in_inbox, &source, &reason, Some(&built.files));
            }
            statistics.extend(built.statistics);
        }
        let created_at = now();
        let signing = &self.signing;
        let builds: Vec<PendingBuild<'_>> = statistics
            .into_iter()
            .map(|s| PendingBuild {
                period: s.period.to_string(),
                linkage_domain: s.linkage_domain.to_string(),
                build: Box::new(move |sequence| {
                    SignedSubmission::sign(
                        &Submission {
                            sequence,
                            created_at,
                            statistics: s,
                        },
                        signing,
                    )
                }),
            })
            .collect();
        let ids = self.outbox.enqueue_export(created_at, &source, builds)?;
        if in_inbox {
            move_into(file, &self.daemon.processed);
        }
        Ok(Outcome::Queued(ids.len()))
    }

    /// The projects and periods an export is submitted for: the period its name
    /// gives, else the config's choices.
    fn periods(&self, name: &str, today: time::Date) -> Vec<(Vec<ProjectCode>, Period)> {
        if let Some(period) = period_in_name(name, today.year()) {
            return vec![(Vec::new(), period)];
        }
        let mut out = Vec::new();
        for choice in &self.daemon.periods {
            match choice {
                PeriodChoice::Closed(kind) => out.push((Vec::new(), kind.latest_closed(today))),
                PeriodChoice::Lifetime => out.extend(
                    self.config
                        .projects
                        .iter()
                        .filter_map(|p| Some((vec![p.code.clone()], p.lifetime?))),
                ),
            }
        }
        out
    }

    fn reject(
        &mut self,
        file: &Path,
        in_inbox: bool,
        source: &Source,
        reason: &str,
        files: Option<&[crate::ingest::FileSummary]>,
    ) -> Result<Outcome, DaemonError> {
        let report = self
            .daemon
            .rejected
            .join(format!("{}.rejects.csv", source.name));
        let written = match files {
            Some(files) => pipeline::write_reject_report(&report, files),
            None => std::fs::write(
                self.daemon
                    .rejected
                    .join(format!("{}.error.txt", source.name)),
                format!("{reason}\n"),
            ),
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not write the reject report");
        }
        self.outbox.record_unusable_export(now(), source, reason)?;
        if in_inbox {
            move_into(file, &self.daemon.rejected);
        }
        Ok(Outcome::Rejected(reason.to_owned()))
    }

    /// One delivery run of at most a minute; after a failed run the next waits
    /// longer (up to ten minutes), so a hub that is down is not hammered.
    async fn deliver(&mut self) -> Result<(), DaemonError> {
        let backoff = Backoff {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        };
        let delivered = client::deliver(
            &mut self.outbox,
            &self.link,
            self.config.kommun,
            backoff,
            Duration::from_secs(60),
            |event| match event {
                Event::Acknowledged(r) => tracing::info!(
                    submission = %r.submission_id,
                    sequence = r.sequence,
                    log_index = r.log_index,
                    "acknowledged; receipt verified"
                ),
                Event::Refused(id, refusal) => {
                    tracing::warn!(submission = %id, reason = %refusal, "the hub refused a submission")
                }
                Event::Retrying(error, wait) => {
                    tracing::info!(%error, wait_s = wait.as_secs_f64(), "hub not reached; retrying")
                }
            },
        )
        .await?;
        if delivered.pending > 0 {
            self.delivery_failures += 1;
            let wait = Backoff {
                base: Duration::from_secs(10),
                cap: Duration::from_secs(600),
            }
            .delay(self.delivery_failures);
            tracing::warn!(
                pending = delivered.pending,
                error = %delivered.last_error.unwrap_or_default(),
                next_try_s = wait.as_secs(),
                "submissions wait in the outbox"
            );
            self.next_delivery = Instant::now() + wait;
        } else {
            self.delivery_failures = 0;
        }
        Ok(())
    }
}

/// The inbox's regular files, by name; names starting with `.` or ending in `.tmp`
/// or `.part` are files still being copied in and are left alone.
fn inbox_files(inbox: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(inbox) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            let name = file_name(p);
            !name.starts_with('.') && !name.ends_with(".tmp") && !name.ends_with(".part")
        })
        .collect();
    files.sort();
    files
}

/// Whether a file has not changed for `settle`.
fn settled(file: &Path, settle: Duration) -> bool {
    std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age >= settle)
}

/// Moves a file into a directory, adding `.1`, `.2`, … if the name is taken.
fn move_into(file: &Path, dir: &Path) {
    let name = file_name(file);
    let mut target = dir.join(&name);
    let mut n = 0;
    while target.exists() {
        n += 1;
        target = dir.join(format!("{name}.{n}"));
    }
    if let Err(e) = std::fs::rename(file, &target) {
        tracing::error!(file = %log_name(file), error = %e, "could not move the export; it will be seen again and recognised");
    }
}

/// A file's name.
fn file_name(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A file's name for logs: a name with ten digits or more is withheld (a file named
/// after a personnummer must not put it in a log).
fn log_name(file: &Path) -> String {
    shown(&file_name(file))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
