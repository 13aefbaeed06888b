//! `samla-node outbox` and `samla-node status`: the submissions in the node database,
//! waiting or all of them.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_node::outbox::{Outbox, State};

/// A checked listing: the node database, opened.
pub(super) struct List {
    outbox: Outbox,
    pending_only: bool,
}

impl List {
    /// Reads the config and opens the node database.
    pub(super) fn prepare(config: &Path, pending_only: bool) -> Result<List> {
        let config = super::load_config(config)?;
        let outbox = Outbox::open(&config.database)
            .with_context(|| format!("opening {}", config.database.display()))?;
        Ok(List {
            outbox,
            pending_only,
        })
    }

    /// Prints the submissions, newest first.
    pub(super) fn run(self) -> Result<ExitCode> {
        let entries: Vec<_> = self
            .outbox
            .entries()?
            .into_iter()
            .filter(|e| !self.pending_only || e.state == State::Pending)
            .collect();
        let mut out = std::io::stdout().lock();
        if entries.is_empty() {
            writeln!(
                out,
                "{}",
                if self.pending_only {
                    "the outbox is empty"
                } else {
                    "no submissions yet"
                }
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        writeln!(
            out,
            "sequence  state         attempts  hub log  period                  submission id"
        )?;
        for e in entries {
            let log = e.log_index.map_or("-".to_owned(), |i| i.to_string());
            writeln!(
                out,
                "{:<9} {:<13} {:<9} {:<8} {:<23} {}",
                e.sequence,
                e.state.to_string(),
                e.attempts,
                log,
                e.period,
                e.id
            )?;
            if let Some(error) = e.last_error.filter(|_| e.state != State::Acknowledged) {
                writeln!(out, "          last error: {error}")?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
