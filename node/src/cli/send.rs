//! `samla-node send`: deliver what waits in the outbox, retrying an unreachable hub
//! with capped backoff; `submit` delivers the same way.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use samla_common::codes::KommunCode;
use samla_common::retry::Backoff;
use samla_node::client::{self, Event};
use samla_node::config::{HubLink, NodeConfig};
use samla_node::keyfile;
use samla_node::outbox::Outbox;

use super::args::SendArgs;

/// A checked delivery: the node database, the hub, and how long to keep trying.
pub(super) struct Send {
    database: PathBuf,
    kommun: KommunCode,
    link: HubLink,
    backoff: Backoff,
    give_up_after: Duration,
}

impl Send {
    /// Reads the config; it must have a `[hub]` section.
    pub(super) fn prepare(config: &Path, args: &SendArgs) -> Result<Send> {
        let config = super::load_config(config)?;
        let link = super::hub_link(&config)?;
        Ok(Send::new(&config, link, args))
    }

    /// The delivery `args` ask for, to the hub of `link`.
    pub(super) fn new(config: &NodeConfig, link: HubLink, args: &SendArgs) -> Send {
        Send {
            database: config.database.clone(),
            kommun: config.kommun,
            link,
            backoff: Backoff {
                base: Duration::from_millis(args.retry_wait),
                cap: Duration::from_secs(args.max_retry_wait),
            },
            give_up_after: Duration::from_secs(args.give_up_after),
        }
    }

    /// Opens the node database, naming it in the error, with the node's signing key
    /// logged (a `key change` when it is new) and set to sign the log's heads.
    pub(super) fn open_outbox(&self) -> Result<Outbox> {
        let mut outbox = Outbox::open(&self.database)
            .with_context(|| format!("opening {}", self.database.display()))?;
        let key = keyfile::load_signing_key(&self.link.signing_key)?;
        outbox.record_signing_key(&key.verifying_key(), now())?;
        outbox.sign_heads_with(key);
        Ok(outbox)
    }

    /// Delivers the outbox.
    pub(super) fn run(self) -> Result<ExitCode> {
        let mut outbox = self.open_outbox()?;
        self.deliver(&mut outbox)
    }

    /// Sends every pending submission, with a progress bar when a person is watching;
    /// exits 3 when some still wait, 4 when the hub refused one, 2 when a stored
    /// submission does not match what was signed, 5 when the hub's log was rewritten.
    pub(super) fn deliver(&self, outbox: &mut Outbox) -> Result<ExitCode> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let pending = outbox.pending()?.len() as u64;
        let bar =
            (pending > 1 && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
                indicatif::ProgressBar::new(pending)
                    .with_style(
                        indicatif::ProgressStyle::with_template("sending [{bar:30}] {pos}/{len}")
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                            .progress_chars("=> "),
                    )
                    .with_finish(indicatif::ProgressFinish::AndClear)
            });
        // A line that cannot be written (a closed pipe) is dropped: delivery goes on.
        let say = |line: String, error: bool| match &bar {
            Some(bar) => bar.println(line),
            None if error => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            None => {
                let _ = writeln!(std::io::stdout(), "{line}");
            }
        };
        let delivered = runtime.block_on(client::deliver(
            outbox,
            &self.link,
            self.kommun,
            self.backoff,
            self.give_up_after,
            |event| {
                if let (Some(bar), Event::Acknowledged(_)) = (&bar, &event) {
                    bar.inc(1);
                }
                say(event.to_string(), event.is_problem())
            },
        ));
        outbox.seal(now())?;
        let report = match delivered {
            Err(e @ client::ClientError::HistoryChanged(_)) => {
                samla_cli_common::error::warn("samla-node", &e);
                return Ok(ExitCode::from(5));
            }
            other => other?,
        };
        if let Some(message) = report.message() {
            writeln!(std::io::stderr(), "samla-node: {message}")?;
        }
        Ok(ExitCode::from(report.exit_code()))
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
