//! `samla-node audit`: the node's own log for a privacy officer, and the cross-check
//! against the hub's. Arguments become an [`Audit`] with the node database read or
//! the bundles read before anything is checked or printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_cli_common::args::ShowFormatArg;
use samla_cli_common::audit::{read_bundle, report};
use samla_common::audit::{self, HubBundle, NodeBundle};
use samla_common::wire::{SignedSubmission, Submission, SubmissionId};
use samla_node::config::NodeConfig;
use samla_node::outbox::Outbox;

use super::args::AuditCommand;

/// A checked `samla-node audit` command.
pub(super) enum Audit {
    VerifyNode(NodeBundle),
    VerifyHub(HubBundle),
    Show {
        bundle: NodeBundle,
        format: ShowFormatArg,
    },
    Payload(SubmissionId, SignedSubmission),
    Export {
        bundle: NodeBundle,
        dir: PathBuf,
    },
    CrossCheck {
        node: PathBuf,
        hub: PathBuf,
    },
}

impl Audit {
    /// Reads the node database (through the config) or the bundles named.
    pub(super) fn prepare(config: &Path, command: AuditCommand) -> Result<Audit> {
        let node_log = || -> Result<NodeBundle> { bundle(&super::load_config(config)?) };
        Ok(match command {
            AuditCommand::Verify {
                bundle: None,
                hub_bundle: Some(path),
            } => Audit::VerifyHub(read_bundle(&path, "hub-bundle.json")?),
            AuditCommand::Verify { bundle, .. } => Audit::VerifyNode(match bundle {
                Some(path) => read_bundle(&path, "node-bundle.json")?,
                None => node_log()?,
            }),
            AuditCommand::Show { format } => Audit::Show {
                bundle: node_log()?,
                format,
            },
            AuditCommand::Payload { id } => {
                let outbox = open(&super::load_config(config)?)?;
                let signed = outbox
                    .signed(id)?
                    .with_context(|| format!("no submission {id} in the outbox"))?;
                Audit::Payload(id, signed)
            }
            AuditCommand::Export { dir } => Audit::Export {
                bundle: node_log()?,
                dir,
            },
            AuditCommand::CrossCheck { node, hub } => Audit::CrossCheck { node, hub },
        })
    }

    /// Checks, prints or writes; exits 1 when a check has findings.
    pub(super) fn run(self) -> Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        match self {
            Audit::VerifyHub(hub) => match audit::verify_hub_log(&hub) {
                Ok(s) => {
                    let ok = format!(
                        "ok: {} hub log entries, {} signed checkpoints verify",
                        s.entries, s.checkpoints
                    );
                    Ok(report(&mut out, &[], &ok)?)
                }
                Err(findings) => Ok(report(&mut out, &findings, "")?),
            },
            Audit::VerifyNode(node) => match audit::verify_node_log(&node) {
                Ok(n) => {
                    let receipts = node
                        .submissions
                        .iter()
                        .filter(|s| s.receipt.is_some())
                        .count();
                    let ok = format!("ok: {n} log entries chain; {receipts} receipts verify");
                    Ok(report(&mut out, &[], &ok)?)
                }
                Err(findings) => Ok(report(&mut out, &findings, "")?),
            },
            Audit::Show { bundle, format } => {
                let rows = audit::node_rows(&bundle);
                write!(
                    out,
                    "{}",
                    audit::render(&audit::NODE_HEADER, &rows, format.into())
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Audit::Payload(id, signed) => {
                let submission: Submission = samla_common::codec::decode(&signed.bytes)
                    .with_context(|| format!("submission {id} in the outbox"))?;
                writeln!(out, "{}", serde_json::to_string_pretty(&submission)?)?;
                Ok(ExitCode::SUCCESS)
            }
            Audit::Export { bundle, dir } => {
                samla_cli_common::audit::export(
                    &dir,
                    "node-bundle.json",
                    &bundle,
                    audit::NODE_BUNDLE_README,
                )?;
                writeln!(
                    out,
                    "wrote {} log entries and {} submissions to {}",
                    bundle.log.len(),
                    bundle.submissions.len(),
                    dir.display()
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Audit::CrossCheck { node, hub } => {
                samla_cli_common::audit::cross_check(&node, &hub, &mut out)
            }
        }
    }
}

fn open(config: &NodeConfig) -> Result<Outbox> {
    Outbox::open(&config.database).with_context(|| format!("opening {}", config.database.display()))
}

/// The node's log as a bundle.
fn bundle(config: &NodeConfig) -> Result<NodeBundle> {
    let hub = config
        .hub
        .as_ref()
        .with_context(|| format!("{} has no [hub] section", config.path.display()))?;
    Ok(open(config)?.bundle(config.kommun, hub)?)
}
