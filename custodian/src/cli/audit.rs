//! `samla-custodian audit`: the custodian's log for a privacy officer.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use samla_cli_common::args::ShowFormatArg;
use samla_cli_common::audit::{read_bundle, report};
use samla_common::audit::{self, Finding, LogSummary};
use samla_common::oprf::log::CustodianLogEntry;
use samla_custodian::audit::{bundle, export, verify, verify_store, CustodianBundle, BUNDLE_FILE};
use samla_custodian::config::CustodianConfig;
use samla_custodian::files::{read_key_set, read_log_key};
use samla_custodian::store::Store;

use super::args::{AuditCommand, Source};

/// A checked `audit` command.
pub(super) enum Audit {
    VerifyStore {
        store: Store,
        bundle: CustodianBundle,
    },
    VerifyBundle(CustodianBundle),
    Show {
        bundle: CustodianBundle,
        format: ShowFormatArg,
    },
    Export {
        bundle: CustodianBundle,
        dir: PathBuf,
    },
}

/// The custodian's database and its bundle.
fn own(config: &std::path::Path) -> Result<(Store, CustodianBundle)> {
    let config = CustodianConfig::load(config)?;
    let store = Store::open(&config.database)?;
    let key = read_log_key(&config.log_key)?.verifying_key();
    let (number, key_id) = match read_key_set(&config.key_set) {
        Ok(public) => (
            samla_custodian::files::read_share(&config.share)
                .map(|s| s.custodian().number())
                .unwrap_or(0),
            public.key_id().to_string(),
        ),
        Err(_) => (0, String::new()),
    };
    let b = bundle(&store, &config.log_origin, number, key_id, key)?;
    Ok((store, b))
}

fn source_bundle(source: &Source) -> Result<CustodianBundle> {
    match &source.bundle {
        Some(path) => Ok(read_bundle(path, BUNDLE_FILE)?),
        None => Ok(own(&source.config.config)?.1),
    }
}

impl Audit {
    pub(super) fn prepare(command: AuditCommand) -> Result<Audit> {
        Ok(match command {
            AuditCommand::Verify { source } => match &source.bundle {
                Some(path) => Audit::VerifyBundle(read_bundle(path, BUNDLE_FILE)?),
                None => {
                    let (store, bundle) = own(&source.config.config)?;
                    Audit::VerifyStore { store, bundle }
                }
            },
            AuditCommand::Show { source, format } => Audit::Show {
                bundle: source_bundle(&source)?,
                format,
            },
            AuditCommand::Export { config, dir } => Audit::Export {
                bundle: own(&config.config)?.1,
                dir,
            },
        })
    }

    pub(super) fn run(self) -> Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        match self {
            Audit::VerifyStore { store, bundle } => {
                verified(&mut out, verify_store(&store, &bundle)?)
            }
            Audit::VerifyBundle(bundle) => verified(&mut out, verify(&bundle)),
            Audit::Show { bundle, format } => {
                let rows = rows(&bundle.entries);
                write!(out, "{}", audit::render(&HEADER, &rows, format.into()))?;
                Ok(ExitCode::SUCCESS)
            }
            Audit::Export { bundle, dir } => {
                export(&bundle, &dir)?;
                writeln!(
                    out,
                    "wrote {} entries and {} checkpoints to {}",
                    bundle.entries.len(),
                    bundle.checkpoints.len(),
                    dir.display()
                )?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

const HEADER: [&str; 8] = [
    "index", "time", "kind", "kommun", "key", "domain", "count", "note",
];

fn rows(entries: &[String]) -> Vec<Vec<String>> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| match CustodianLogEntry::from_bytes(e.as_bytes()) {
            Ok(entry) => vec![
                i.to_string(),
                time::OffsetDateTime::from_unix_timestamp(entry.at)
                    .map(samla_common::local_time::format_stockholm)
                    .unwrap_or_else(|_| entry.at.to_string()),
                entry.kind.code().to_owned(),
                entry.kommun.map(|k| k.to_string()).unwrap_or_default(),
                entry.key_id.to_string(),
                entry.domain.map(|d| d.to_string()).unwrap_or_default(),
                entry.count.to_string(),
                entry.note,
            ],
            Err(err) => vec![
                i.to_string(),
                String::new(),
                "malformed".to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                err.to_string(),
            ],
        })
        .collect()
}

fn verified(out: &mut impl Write, outcome: Result<LogSummary, Vec<Finding>>) -> Result<ExitCode> {
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
