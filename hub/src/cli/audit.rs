//! `samla-hub audit`: the hub's transfer log for a privacy officer. Arguments become
//! an [`Audit`] with its config read, its database opened or its bundles read, before
//! anything is checked or printed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_cli_common::args::ShowFormatArg;
use samla_cli_common::audit::{read_bundle, report};
use samla_common::audit::{self, HubBundle};
use samla_common::wire::SubmissionId;
use samla_hub::config::HubConfig;
use samla_hub::store::Store;

use super::args::{AuditCommand, Source};

/// A checked `samla-hub audit` command.
pub(super) enum Audit {
    /// Verify the hub's own database.
    VerifyStore {
        config: HubConfig,
        store: Store,
    },
    /// Verify an exported bundle.
    VerifyBundle(HubBundle),
    Show {
        bundle: HubBundle,
        format: ShowFormatArg,
    },
    Payload {
        config: HubConfig,
        store: Store,
        id: SubmissionId,
    },
    Export {
        config: HubConfig,
        store: Store,
        dir: PathBuf,
    },
    CrossCheck {
        node: PathBuf,
        hub: PathBuf,
    },
}

impl Audit {
    /// Reads the config and opens the database, or reads the bundles.
    pub(super) fn prepare(command: AuditCommand) -> Result<Audit> {
        Ok(match command {
            AuditCommand::Verify {
                source: Source {
                    bundle: Some(path), ..
                },
            } => Audit::VerifyBundle(read_bundle(&path, "hub-bundle.json")?),
            AuditCommand::Verify { source } => {
                let config = HubConfig::load(&source.config)?;
                let store = super::open_store(&config)?;
                Audit::VerifyStore { config, store }
            }
            AuditCommand::Show { source, format } => Audit::Show {
                bundle: hub_bundle(&source)?,
                format,
            },
            AuditCommand::Payload { config, id } => {
                let config = HubConfig::load(&config.config)?;
                let store = super::open_store(&config)?;
                Audit::Payload { config, store, id }
            }
            AuditCommand::Export { config, dir } => {
                let config = HubConfig::load(&config.config)?;
                let store = super::open_store(&config)?;
                Audit::Export { config, store, dir }
            }
            AuditCommand::CrossCheck { node, hub } => Audit::CrossCheck { node, hub },
        })
    }

    /// Checks, prints or writes; exits 1 when a check has findings.
    pub(super) fn run(self) -> Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        match self {
            Audit::VerifyStore { config, store } => {
                let outcome = samla_hub::audit::verify_store(&config, &store)?;
                verified(&mut out, outcome)
            }
            Audit::VerifyBundle(bundle) => verified(&mut out, audit::verify_hub_log(&bundle)),
            Audit::Show { bundle, format } => {
                let rows = audit::hub_rows(&bundle.entries);
                write!(
                    out,
                    "{}",
                    audit::render(&audit::HUB_HEADER, &rows, format.into())
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Audit::Payload { config, store, id } => {
                let trust = samla_hub::audit::trust(&config)?;
                let stored = store
                    .stored(id, &trust)?
                    .with_context(|| format!("no submission {id} in the store"))?;
                match stored {
                    Ok(verified) => {
                        let submission = verified.submission();
                        writeln!(out, "{}", serde_json::to_string_pretty(submission)?)?;
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(unverified) => {
                        eprintln!("samla-hub: {unverified}\n\nThe stored submission is not shown: it is not what the kommun sent. Run `samla-hub audit verify`.");
                        Ok(ExitCode::from(1))
                    }
                }
            }
            Audit::Export { config, store, dir } => {
                let bundle = samla_hub::audit::bundle(&config, &store)?;
                samla_hub::audit::export(&bundle, &dir)?;
                writeln!(
                    out,
                    "wrote {} entries and {} checkpoints to {}",
                    bundle.entries.len(),
                    bundle.checkpoints.len(),
                    dir.display()
                )?;
                let damaged = samla_hub::audit::submission_findings(&config, &store)?;
                for finding in &damaged {
                    eprintln!("FAIL {finding}");
                }
                if damaged.is_empty() {
                    Ok(ExitCode::SUCCESS)
                } else {
                    eprintln!("\nThe store holds submissions that fail their check; run `samla-hub audit verify`.");
                    Ok(ExitCode::from(1))
                }
            }
            Audit::CrossCheck { node, hub } => {
                samla_cli_common::audit::cross_check(&node, &hub, &mut out)
            }
        }
    }
}

/// The log to show: an exported bundle, or the hub's database as one.
fn hub_bundle(source: &Source) -> Result<HubBundle> {
    match &source.bundle {
        Some(path) => Ok(read_bundle(path, "hub-bundle.json")?),
        None => {
            let config = HubConfig::load(&source.config)?;
            let store = super::open_store(&config)?;
            Ok(samla_hub::audit::bundle(&config, &store)?)
        }
    }
}

/// What `audit verify` prints for a verification's outcome.
fn verified(
    out: &mut impl Write,
    outcome: Result<audit::LogSummary, Vec<audit::Finding>>,
) -> Result<ExitCode> {
    match outcome {
        Ok(s) => {
            let latest = s.latest.map_or("no checkpoint".to_owned(), |c| {
                format!("latest checkpoint: size {}, root {}", c.size, c.root)
            });
            let ok = format!(
                "ok: {} entries, {} signed checkpoints verify; {latest}",
                s.entries, s.checkpoints
            );
            Ok(report(out, &[], &ok)?)
        }
        Err(findings) => Ok(report(out, &findings, "")?),
    }
}
