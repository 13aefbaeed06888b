//! `samla-node audit`: the node's own log for a privacy officer, and the cross-check
//! against the hub's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use samla_cli_common::bundle::read_bundle;
use samla_cli_common::files;
use samla_common::audit::{self, HubBundle, NodeBundle, ShowFormat};
use samla_node::config::NodeConfig;
use samla_node::outbox::Outbox;

use super::load_config;

#[derive(Subcommand)]
pub(super) enum AuditCommand {
    /// Check the node's log: the hash chain, and every receipt it holds.
    #[command(
        after_help = "Examples:\n  samla-node audit verify\n  samla-node audit verify --bundle /media/usb/node-bundle\n  samla-node audit verify --hub-bundle /media/usb/hub-bundle\n\nExit status: 0 the log verifies, 1 findings (each names the entry at fault), 2 could not run."
    )]
    Verify {
        /// An exported node bundle instead of this node's database.
        #[arg(long, conflicts_with = "hub_bundle")]
        bundle: Option<PathBuf>,
        /// Verify a hub bundle instead.
        #[arg(long)]
        hub_bundle: Option<PathBuf>,
    },
    /// List the node's transfer log (no personal data).
    #[command(after_help = "Example:\n  samla-node audit show --format csv")]
    Show {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormatArg::Table)]
        format: ShowFormatArg,
    },
    /// Print exactly what one submission contained, decoded: its tables and the
    /// pseudonyms of its linkage sets.
    #[command(after_help = "Example:\n  samla-node audit payload 3f5a…e1 > submission.json")]
    Payload {
        /// The submission id (64 hex characters), as `samla-node status` lists it.
        id: String,
    },
    /// Write a self-contained bundle of the node's log for a privacy officer.
    #[command(after_help = "Example:\n  samla-node audit export /media/usb/node-bundle")]
    Export {
        /// Directory to write node-bundle.json and README.md into.
        dir: PathBuf,
    },
    /// Check a node bundle against a hub bundle: every submission this node holds a
    /// receipt for is in the hub's log with the same digest, and the hub's log holds
    /// nothing for this kommun that the node did not send.
    #[command(
        after_help = "Example:\n  samla-node audit cross-check node-bundle hub-bundle\n\nExit status: 0 they agree, 1 findings, 2 could not run."
    )]
    CrossCheck(CrossCheckArgs),
}

#[derive(Args)]
pub(super) struct CrossCheckArgs {
    /// The node's bundle (directory or node-bundle.json).
    node: PathBuf,
    /// The hub's bundle (directory or hub-bundle.json).
    hub: PathBuf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(super) enum ShowFormatArg {
    Table,
    Json,
    Csv,
}

impl From<ShowFormatArg> for ShowFormat {
    fn from(f: ShowFormatArg) -> Self {
        match f {
            ShowFormatArg::Table => ShowFormat::Table,
            ShowFormatArg::Json => ShowFormat::Json,
            ShowFormatArg::Csv => ShowFormat::Csv,
        }
    }
}

fn report(findings: &[samla_common::audit::Finding], ok: &str) -> ExitCode {
    let (text, clean) = samla_common::audit::report(findings, ok);
    print!("{text}");
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
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

pub(super) fn run(config_path: &Path, command: AuditCommand) -> Result<ExitCode> {
    match command {
        AuditCommand::Verify {
            bundle: None,
            hub_bundle: Some(path),
        } => {
            let hub: HubBundle = read_bundle(&path, "hub-bundle.json")?;
            Ok(match audit::verify_hub_log(&hub) {
                Ok(s) => report(
                    &[],
                    &format!(
                        "ok: {} hub log entries, {} signed checkpoints verify",
                        s.entries, s.checkpoints
                    ),
                ),
                Err(findings) => report(&findings, ""),
            })
        }
        AuditCommand::Verify { bundle, .. } => {
            let node = match bundle {
                Some(path) => read_bundle(&path, "node-bundle.json")?,
                None => self::bundle(&load_config(config_path)?)?,
            };
            Ok(match audit::verify_node_log(&node) {
                Ok(n) => report(
                    &[],
                    &format!(
                        "ok: {n} log entries chain; {} receipts verify",
                        node.submissions
                            .iter()
                            .filter(|s| s.receipt.is_some())
                            .count()
                    ),
                ),
                Err(findings) => report(&findings, ""),
            })
        }
        AuditCommand::Show { format } => {
            let node = bundle(&load_config(config_path)?)?;
            print!(
                "{}",
                audit::render(&audit::NODE_HEADER, &audit::node_rows(&node), format.into())
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Payload { id } => {
            let id: samla_common::wire::SubmissionId = id.parse().context("the submission id")?;
            let outbox = open(&load_config(config_path)?)?;
            let signed = outbox
                .signed(id)?
                .with_context(|| format!("no submission {id} in the outbox"))?;
            let submission: samla_common::wire::Submission =
                samla_common::codec::decode(&signed.bytes)?;
            println!("{}", serde_json::to_string_pretty(&submission)?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { dir } => {
            let node = bundle(&load_config(config_path)?)?;
            files::create_dir(&dir)?;
            let json = serde_json::to_vec_pretty(&node)?;
            files::write_public(&dir.join("node-bundle.json"), &json)?;
            files::write_public(&dir.join("README.md"), audit::NODE_BUNDLE_README.as_bytes())?;
            println!(
                "wrote {} log entries and {} submissions to {}",
                node.log.len(),
                node.submissions.len(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::CrossCheck(args) => {
            let node: NodeBundle = read_bundle(&args.node, "node-bundle.json")?;
            let hub: HubBundle = read_bundle(&args.hub, "hub-bundle.json")?;
            let findings = audit::cross_check(&node, &hub);
            Ok(report(
                &findings,
                &format!("ok: kommun {}'s log and the hub's log agree", node.kommun),
            ))
        }
    }
}
