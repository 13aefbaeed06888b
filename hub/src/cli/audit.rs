//! `samla-hub audit`: the hub's transfer log for a privacy officer. Arguments become
//! an [`Audit`] with its config read, its database opened or its bundles read, before
//! anything is checked or printed. What is printed is in Swedish unless `--lang en`
//! (samla_common::audit::person); the checks are `samla_hub::audit`'s.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_cli_common::args::{PayloadFormatArg, ReportFormatArg, ShowFormatArg};
use samla_cli_common::audit::view::{self, short, LogView};
use samla_cli_common::audit::{read_bundle, report_in};
use samla_common::audit::content::{ContentFile, Include, SubmissionContent};
use samla_common::audit::person::{self, Lang, Party, Standing};
use samla_common::audit::{self, HubBundle, BUNDLE_VERSION};
use samla_common::codes::KommunCode;
use samla_common::translog::{EntryKind, LogEntry};
use samla_common::wire::{Submission, SubmissionId};
use samla_hub::config::HubConfig;
use samla_hub::store::{Store, Trust};

use super::args::{AuditArgs, AuditCommand, Source};

/// A checked `samla-hub audit` command, in the language to print it in.
pub(super) struct Audit {
    lang: Lang,
    work: Work,
}

enum Work {
    /// Verify the hub's own database.
    VerifyStore {
        config: HubConfig,
        store: Store,
    },
    /// Verify an exported bundle.
    VerifyBundle(HubBundle),
    Show {
        view: HubView,
        format: ShowFormatArg,
    },
    Payload {
        id: SubmissionId,
        submission: Box<Submission>,
        format: PayloadFormatArg,
    },
    /// A submission whose stored copy fails its check: not shown.
    PayloadRefused(Box<samla_hub::store::Unverified>),
    Export {
        view: HubView,
        dir: PathBuf,
        include: Include,
        /// What fails the check, named after the export.
        damaged: Vec<audit::Finding>,
    },
    Report {
        config: Box<HubConfig>,
        store: Store,
        view: HubView,
        format: ReportFormatArg,
        out: Option<PathBuf>,
    },
    CrossCheck {
        node: PathBuf,
        hub: PathBuf,
    },
}

/// The hub's log as an officer sees it, with each accepted submission's stored bytes
/// (none when the log comes from a bundle).
struct HubView {
    bundle: HubBundle,
    received: Vec<Received>,
    /// Whether the store was read (not for a bundle).
    stored: bool,
    /// The submissions whose stored copy passes the hub's full check (content
    /// against its id, signature by the kommun's registered key, receipt, log entry).
    verified: HashSet<SubmissionId>,
}

/// One `accepted` entry and what the store holds for it.
struct Received {
    id: SubmissionId,
    kommun: Option<KommunCode>,
    at: i64,
    /// The entry's summary (sequence, period, linkage domain, size).
    summary: String,
    /// The stored signed bytes, if the store has them.
    bytes: Option<Vec<u8>>,
}

impl Received {
    /// The decoded submission, if the stored bytes hash to the id and decode.
    fn submission(&self) -> Option<Submission> {
        let bytes = self.bytes.as_ref()?;
        if SubmissionId::of(bytes) != self.id {
            return None;
        }
        samla_common::codec::decode(bytes).ok()
    }
}

impl HubView {
    fn from_bundle(bundle: HubBundle, store: Option<(&Store, &Trust)>) -> Result<HubView> {
        let verified = match store {
            Some((store, trust)) => store
                .stored_all(trust)?
                .into_iter()
                .filter_map(|checked| checked.ok().map(|v| v.id()))
                .collect(),
            None => HashSet::new(),
        };
        let mut received = Vec::new();
        for text in &bundle.entries {
            let Ok(entry) = LogEntry::from_bytes(text.as_bytes()) else {
                continue;
            };
            let (EntryKind::Accepted, Some(id)) = (entry.kind, entry.submission) else {
                continue;
            };
            let bytes = match store {
                Some((store, _)) => store.signed_bytes(id)?,
                None => None,
            };
            received.push(Received {
                id,
                kommun: entry.kommun,
                at: entry.at,
                summary: entry.summary,
                bytes,
            });
        }
        Ok(HubView {
            bundle,
            received,
            stored: store.is_some(),
            verified,
        })
    }

    fn from_source(source: &Source) -> Result<HubView> {
        match &source.bundle {
            Some(path) => HubView::from_bundle(read_bundle(path, "hub-bundle.json")?, None),
            None => {
                let config = HubConfig::load(&source.config)?;
                let store = super::open_store(&config)?;
                let trust = samla_hub::audit::trust(&config)?;
                HubView::from_bundle(
                    samla_hub::audit::bundle(&config, &store)?,
                    Some((&store, &trust)),
                )
            }
        }
    }
}

impl LogView for HubView {
    const TITLE: (&'static str, &'static str) = ("Mottagna inlämningar", "Submissions received");
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("index", "index"),
        ("tid", "time"),
        ("händelse", "event"),
        ("kommun", "kommun"),
        ("inlämning", "submission"),
        ("sammanfattning", "summary"),
    ];
    const KEYS: &'static [&'static str] = &audit::HUB_HEADER;

    /// One summary line per accepted submission, in log order.
    fn summary_lines(&self, lang: Lang) -> Vec<String> {
        self.received
            .iter()
            .map(|r| {
                let short = short(r.id);
                let checked = !self.stored || self.verified.contains(&r.id);
                match (r.submission().filter(|_| checked), r.kommun) {
                    (Some(s), _) => format!(
                        "{}  [{short}]",
                        person::summary_line(
                            r.at,
                            &s,
                            Party::From(s.statistics.kommun),
                            Standing::Stored,
                            lang
                        )
                    ),
                    (None, kommun) if !self.stored => format!(
                        "{} {} {}: {}  [{short}]",
                        person::local_minute(r.at),
                        lang.pick("mottagen från", "received from"),
                        kommun.map_or("-".to_owned(), person::kommun_name),
                        r.summary
                    ),
                    (None, kommun) => {
                        let from = kommun.map_or("-".to_owned(), person::kommun_name);
                        let why = match (&r.bytes, lang) {
                            (None, Lang::Sv) => "finns inte i lagret",
                            (None, Lang::En) => "not in the store",
                            (Some(_), Lang::Sv) => {
                                "ÄNDRAD i lagret, klarar inte kontrollen av innehåll och signatur"
                            }
                            (Some(_), Lang::En) => {
                                "CHANGED in the store, fails the check of content and signature"
                            }
                        };
                        format!(
                            "{} {} {from}: {why}  [{short}]",
                            person::local_minute(r.at),
                            lang.pick("mottagen från", "received from")
                        )
                    }
                }
            })
            .collect()
    }

    fn entries(&self) -> usize {
        self.bundle.entries.len()
    }

    /// The log's rows: index, local time, kind, kommun, submission, summary.
    fn rows(&self, lang: Lang, full: bool) -> Vec<Vec<String>> {
        self.bundle
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| match LogEntry::from_bytes(e.as_bytes()) {
                Ok(entry) => vec![
                    i.to_string(),
                    person::local_second(entry.at),
                    person::hub_kind(entry.kind.code(), lang),
                    entry.kommun.map_or("-".to_owned(), |k| k.to_string()),
                    entry.submission.map_or("-".to_owned(), |s| {
                        if full {
                            s.to_string()
                        } else {
                            short(s)
                        }
                    }),
                    entry.summary,
                ],
                Err(e) => vec![
                    i.to_string(),
                    String::new(),
                    lang.pick("FELAKTIG", "MALFORMED").to_owned(),
                    String::new(),
                    String::new(),
                    e.to_string(),
                ],
            })
            .collect()
    }
}

impl Audit {
    /// Reads the config and opens the database, or reads the bundles.
    pub(super) fn prepare(args: AuditArgs) -> Result<Audit> {
        let lang = args.lang.into();
        let work = match args.command {
            AuditCommand::Verify {
                source: Source {
                    bundle: Some(path), ..
                },
            } => Work::VerifyBundle(read_bundle(&path, "hub-bundle.json")?),
            AuditCommand::Verify { source } => {
                let config = HubConfig::load(&source.config)?;
                let store = super::open_store(&config)?;
                Work::VerifyStore { config, store }
            }
            AuditCommand::Show { source, format } => Work::Show {
                view: HubView::from_source(&source)?,
                format,
            },
            AuditCommand::Payload { config, id, format } => {
                let config = HubConfig::load(&config.config)?;
                let store = super::open_store(&config)?;
                let trust = samla_hub::audit::trust(&config)?;
                let view = HubView::from_bundle(
                    samla_hub::audit::bundle(&config, &store)?,
                    Some((&store, &trust)),
                )?;
                let ids: Vec<SubmissionId> = view.received.iter().map(|r| r.id).collect();
                let id = person::resolve_prefix(&id, &ids)?;
                let stored = store
                    .stored(id, &trust)?
                    .with_context(|| format!("no submission {id} in the store"))?;
                match stored {
                    Ok(verified) => Work::Payload {
                        id,
                        submission: Box::new(verified.submission().clone()),
                        format,
                    },
                    Err(unverified) => Work::PayloadRefused(unverified),
                }
            }
            AuditCommand::Export {
                config,
                dir,
                with_content,
                with_pseudonyms,
            } => {
                let config = HubConfig::load(&config.config)?;
                let store = super::open_store(&config)?;
                let bundle = samla_hub::audit::bundle(&config, &store)?;
                let trust = samla_hub::audit::trust(&config)?;
                let damaged = samla_hub::audit::submission_findings(&config, &store)?;
                Work::Export {
                    view: HubView::from_bundle(bundle, Some((&store, &trust)))?,
                    dir,
                    include: Include {
                        tables: with_content,
                        pseudonyms: with_pseudonyms,
                    },
                    damaged,
                }
            }
            AuditCommand::Report {
                config,
                format,
                out,
            } => {
                let config = HubConfig::load(&config.config)?;
                let store = super::open_store(&config)?;
                let bundle = samla_hub::audit::bundle(&config, &store)?;
                let trust = samla_hub::audit::trust(&config)?;
                let view = HubView::from_bundle(bundle, Some((&store, &trust)))?;
                Work::Report {
                    config: Box::new(config),
                    store,
                    view,
                    format,
                    out,
                }
            }
            AuditCommand::CrossCheck { node, hub } => Work::CrossCheck { node, hub },
        };
        Ok(Audit { lang, work })
    }

    /// Checks, prints or writes; exits 1 when a check has findings.
    pub(super) fn run(self) -> Result<ExitCode> {
        let lang = self.lang;
        let mut out = std::io::stdout().lock();
        match self.work {
            Work::VerifyStore { config, store } => {
                let outcome = samla_hub::audit::verify_store(&config, &store)?;
                verified(&mut out, outcome, lang)
            }
            Work::VerifyBundle(bundle) => verified(&mut out, audit::verify_hub_log(&bundle), lang),
            Work::Show { view, format } => {
                view::show(&mut out, &view, format, lang)?;
                Ok(ExitCode::SUCCESS)
            }
            Work::Payload {
                id,
                submission,
                format,
            } => {
                view::payload(&mut out, id, &submission, format, lang)?;
                Ok(ExitCode::SUCCESS)
            }
            Work::PayloadRefused(unverified) => {
                let (sv, en) = (
                    "Den lagrade inlämningen visas inte: den är inte vad kommunen skickade. Kör `samla-hub audit verify`.",
                    "The stored submission is not shown: it is not what the kommun sent. Run `samla-hub audit verify`.",
                );
                eprintln!("samla-hub: {unverified}\n\n{}", lang.pick(sv, en));
                Ok(ExitCode::from(1))
            }
            Work::Export {
                view,
                dir,
                include,
                damaged,
            } => {
                let content = ContentFile {
                    version: BUNDLE_VERSION,
                    submissions: view
                        .received
                        .iter()
                        .filter_map(|r| {
                            let bytes = r.bytes.as_ref()?;
                            let decoded = r.submission();
                            Some(SubmissionContent::of(
                                r.id,
                                bytes,
                                decoded.as_ref(),
                                decoded.is_some() && view.verified.contains(&r.id),
                                include,
                            ))
                        })
                        .collect(),
                };
                samla_cli_common::audit::export_with_content(
                    &dir,
                    "hub-bundle.json",
                    &view.bundle,
                    &content,
                    audit::HUB_BUNDLE_README,
                )?;
                let entries = (view.bundle.entries.len(), "poster", "entries");
                let checkpoints = (
                    view.bundle.checkpoints.len(),
                    "kontrollpunkter",
                    "checkpoints",
                );
                view::exported(&mut out, [entries, checkpoints], &dir, lang)?;
                if damaged.is_empty() {
                    return Ok(ExitCode::SUCCESS);
                }
                for finding in &damaged {
                    eprintln!("{}", person::finding_line(finding, lang));
                }
                let (sv, en) = (
                    "Lagret har inlämningar som inte klarar kontrollen; kör `samla-hub audit verify`.",
                    "The store holds submissions that fail their check; run `samla-hub audit verify`.",
                );
                eprintln!("\n{}", lang.pick(sv, en));
                Ok(ExitCode::from(1))
            }
            Work::Report {
                config,
                store,
                view,
                format,
                out: path,
            } => {
                let outcome = samla_hub::audit::verify_store(&config, &store)?;
                let (findings, ok) = match outcome {
                    Ok(s) => (Vec::new(), ok_line(&s, lang)),
                    Err(findings) => (findings, String::new()),
                };
                view::Report {
                    subject: format!("samla-hub, {}", config.log_origin),
                    findings: &findings,
                    ok: &ok,
                    format,
                    path: path.as_deref(),
                }
                .write(&view, lang, &mut out)
            }
            Work::CrossCheck { node, hub } => {
                samla_cli_common::audit::cross_check_in(&node, &hub, &mut out, lang)
            }
        }
    }
}

/// What a clean verification of the hub's log says.
fn ok_line(s: &audit::LogSummary, lang: Lang) -> String {
    let latest = s.latest.as_ref().map_or(
        lang.pick("ingen kontrollpunkt", "no checkpoint").to_owned(),
        |c| match lang {
            Lang::Sv => format!("senaste kontrollpunkt: storlek {}, rot {}", c.size, c.root),
            Lang::En => format!("latest checkpoint: size {}, root {}", c.size, c.root),
        },
    );
    match lang {
        Lang::Sv => format!(
            "ok: {} poster, {} signerade kontrollpunkter stämmer; {latest}",
            s.entries, s.checkpoints
        ),
        Lang::En => format!(
            "ok: {} entries, {} signed checkpoints verify; {latest}",
            s.entries, s.checkpoints
        ),
    }
}

/// What `audit verify` prints for a verification's outcome.
fn verified(
    out: &mut impl Write,
    outcome: Result<audit::LogSummary, Vec<audit::Finding>>,
    lang: Lang,
) -> Result<ExitCode> {
    match outcome {
        Ok(s) => Ok(report_in(out, &[], &ok_line(&s, lang), lang)?),
        Err(findings) => Ok(report_in(out, &findings, "", lang)?),
    }
}
