//! `samla-node audit`: the node's own log and outbox for a privacy officer, and the
//! cross-check against the hub's. Arguments become an [`Audit`] with the node
//! database or the bundles read before anything is checked or printed. What is
//! printed is in Swedish unless `--lang en` (samla_common::audit::person).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_cli_common::args::{PayloadFormatArg, ReportFormatArg, ShowFormatArg};
use samla_cli_common::audit::view::{self, short, LogView};
use samla_cli_common::audit::{read_bundle, report_in};
use samla_common::audit::content::{ContentFile, Include, SubmissionContent};
use samla_common::audit::node_checks::{
    self, check_stored, ContentProblem, NodeFinding, StoredColumns,
};
use samla_common::audit::person::{self, Lang, Party, Standing};
use samla_common::audit::{self, Finding, HubBundle, NodeBundle, BUNDLE_VERSION};
use samla_common::wire::{SignedSubmission, Submission, SubmissionId};
use samla_node::config::NodeConfig;
use samla_node::keyfile;
use samla_node::outbox::{Entry, Outbox, State};

use super::args::{AuditArgs, AuditCommand};

/// A checked `samla-node audit` command, in the language to print it in.
pub(super) struct Audit {
    lang: Lang,
    work: Work,
}

enum Work {
    /// The node's log, and the findings of its outbox's content checks (none for a
    /// bundle, which holds no signed bytes).
    VerifyNode(NodeBundle, Vec<Finding>),
    VerifyHub(HubBundle),
    Show(Box<NodeView>, ShowFormatArg),
    Payload(SubmissionId, Submission, PayloadFormatArg),
    Export {
        view: Box<NodeView>,
        dir: PathBuf,
        include: Include,
    },
    Report {
        view: Box<NodeView>,
        format: ReportFormatArg,
        out: Option<PathBuf>,
    },
    CrossCheck {
        node: PathBuf,
        hub: PathBuf,
    },
}

/// The node's database as an officer sees it: the log as a bundle, every stored
/// submission with what its check found.
struct NodeView {
    bundle: NodeBundle,
    stored: Vec<StoredSubmission>,
}

/// One outbox row, checked.
struct StoredSubmission {
    entry: Entry,
    bytes: Vec<u8>,
    /// The decoded submission, if it matched its id and the node's signature.
    checked: Result<Submission, ContentProblem>,
}

impl NodeView {
    fn load(config: &NodeConfig) -> Result<NodeView> {
        let bundle = bundle(config)?;
        let keys = node_checks::logged_keys(&bundle.log);
        let mut stored = Vec::new();
        for (entry, bytes) in open(config)?.all_as_stored()? {
            let checked = samla_common::codec::decode::<SignedSubmission>(&bytes)
                .map_err(|_| ContentProblem::Undecodable)
                .and_then(|signed| {
                    let columns = StoredColumns {
                        id: entry.id,
                        sequence: entry.sequence,
                        period: &entry.period,
                        linkage_domain: &entry.linkage_domain,
                    };
                    check_stored(&columns, &signed, &keys, bundle.kommun)
                });
            stored.push(StoredSubmission {
                entry,
                bytes,
                checked,
            });
        }
        Ok(NodeView { bundle, stored })
    }

    /// Every stored submission that does not match what the node signed.
    fn content_findings(&self) -> Vec<Finding> {
        self.stored
            .iter()
            .filter_map(|s| s.checked.as_ref().err().map(|p| (s.entry.id, p)))
            .map(|(submission, problem)| {
                Finding::Node(NodeFinding::Content {
                    submission,
                    problem: problem.clone(),
                })
            })
            .collect()
    }

    /// Every finding of `audit verify`.
    fn findings(&self) -> Vec<Finding> {
        let mut findings = audit::verify_node_log(&self.bundle)
            .err()
            .unwrap_or_default();
        findings.extend(self.content_findings());
        findings
    }
}

impl LogView for NodeView {
    const TITLE: (&'static str, &'static str) = ("Inlämningar", "Submissions");
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("nr", "entry"),
        ("tid", "time"),
        ("händelse", "event"),
        ("inlämning", "submission"),
        ("detaljer", "detail"),
    ];
    const KEYS: &'static [&'static str] = &audit::NODE_HEADER;

    /// One summary line per submission, oldest first.
    fn summary_lines(&self, lang: Lang) -> Vec<String> {
        let b = &self.bundle;
        self.stored
            .iter()
            .map(|s| {
                let id = s.entry.id;
                let sent = b
                    .log
                    .iter()
                    .rev()
                    .find(|e| e.kind == "sent" && e.submission == Some(id));
                let hub = sent.and_then(|e| person::hub_from_sent_detail(&e.detail));
                let at = sent.map_or(s.entry.created_at, |e| e.at);
                let receipt_ok = b
                    .submissions
                    .iter()
                    .find(|n| n.id == id)
                    .and_then(|n| n.receipt.as_ref())
                    .is_some_and(|r| r.verify(&b.hub_key, &b.origin, id, b.kommun).is_ok());
                match &s.checked {
                    Ok(submission) => {
                        let standing = match s.entry.state {
                            State::Acknowledged if receipt_ok => Standing::ReceiptVerified,
                            State::Acknowledged => Standing::Tampered,
                            State::Pending => Standing::Pending,
                            State::Refused => Standing::Refused,
                        };
                        let party = hub.as_ref().map_or(Party::Built, Party::SentTo);
                        format!(
                            "{}  [{}]",
                            person::summary_line(at, submission, party, standing, lang),
                            short(id)
                        )
                    }
                    Err(problem) => format!(
                        "{} {}: {problem}  [{}]",
                        person::local_minute(at),
                        lang.pick(
                            "ÄNDRAD inlämning, skickas inte",
                            "CHANGED submission, not sent"
                        ),
                        short(id)
                    ),
                }
            })
            .collect()
    }

    fn entries(&self) -> usize {
        self.bundle.log.len()
    }

    /// The log's rows for a person: entry, local time, kind, submission, detail (and
    /// the entry's hash in full).
    fn rows(&self, lang: Lang, full: bool) -> Vec<Vec<String>> {
        self.bundle
            .log
            .iter()
            .map(|e| {
                let id = e.submission.map_or("-".to_owned(), |s| {
                    if full {
                        s.to_string()
                    } else {
                        short(s)
                    }
                });
                let detail = if full {
                    e.detail.clone()
                } else {
                    person::node_detail(&e.kind, &e.detail, lang)
                };
                let mut row = vec![
                    e.entry.to_string(),
                    person::local_second(e.at),
                    person::node_kind(&e.kind, lang),
                    id,
                    detail,
                ];
                if full {
                    row.push(e.hash.clone());
                }
                row
            })
            .collect()
    }
}

impl Audit {
    /// Reads the node database (through the config) or the bundles named.
    pub(super) fn prepare(config: &Path, args: AuditArgs) -> Result<Audit> {
        let lang = args.lang.into();
        let view = || -> Result<Box<NodeView>> {
            Ok(Box::new(NodeView::load(&super::load_config(config)?)?))
        };
        let work = match args.command {
            AuditCommand::Verify {
                bundle: None,
                hub_bundle: Some(path),
            } => Work::VerifyHub(read_bundle(&path, "hub-bundle.json")?),
            AuditCommand::Verify {
                bundle: Some(path), ..
            } => Work::VerifyNode(read_bundle(&path, "node-bundle.json")?, Vec::new()),
            AuditCommand::Verify { .. } => {
                let view = view()?;
                let content = view.content_findings();
                Work::VerifyNode(view.bundle, content)
            }
            AuditCommand::Show { format } => Work::Show(view()?, format),
            AuditCommand::Payload { id, format } => {
                let outbox = open(&super::load_config(config)?)?;
                let ids: Vec<SubmissionId> = outbox.entries()?.iter().map(|e| e.id).collect();
                let id = person::resolve_prefix(&id, &ids)?;
                let signed = outbox
                    .signed(id)?
                    .with_context(|| format!("no submission {id} in the outbox"))?;
                if signed.id() != id {
                    anyhow::bail!(
                        "submission {id} in the outbox: its signed bytes hash to {}, not to its id; run samla-node audit verify",
                        signed.id()
                    );
                }
                let submission: Submission = samla_common::codec::decode(&signed.bytes)
                    .with_context(|| format!("submission {id} in the outbox"))?;
                Work::Payload(id, submission, format)
            }
            AuditCommand::Export {
                dir,
                with_content,
                with_pseudonyms,
            } => Work::Export {
                view: view()?,
                dir,
                include: Include {
                    tables: with_content,
                    pseudonyms: with_pseudonyms,
                },
            },
            AuditCommand::Report { format, out } => Work::Report {
                view: view()?,
                format,
                out,
            },
            AuditCommand::CrossCheck { node, hub } => Work::CrossCheck { node, hub },
        };
        Ok(Audit { lang, work })
    }

    /// Checks, prints or writes; exits 1 when a check has findings.
    pub(super) fn run(self) -> Result<ExitCode> {
        let lang = self.lang;
        let mut out = std::io::stdout().lock();
        match self.work {
            Work::VerifyHub(hub) => match audit::verify_hub_log(&hub) {
                Ok(s) => {
                    let ok = format!(
                        "{}: {} {}, {} {}",
                        lang.pick("ok", "ok"),
                        s.entries,
                        lang.pick("poster i hubbens logg", "hub log entries"),
                        s.checkpoints,
                        lang.pick(
                            "signerade kontrollpunkter stämmer",
                            "signed checkpoints verify"
                        )
                    );
                    Ok(report_in(&mut out, &[], &ok, lang)?)
                }
                Err(findings) => Ok(report_in(&mut out, &findings, "", lang)?),
            },
            Work::VerifyNode(node, content) => {
                let mut findings = audit::verify_node_log(&node).err().unwrap_or_default();
                findings.extend(content);
                let ok = ok_line(&node, lang);
                Ok(report_in(&mut out, &findings, &ok, lang)?)
            }
            Work::Show(view, format) => {
                view::show(&mut out, view.as_ref(), format, lang)?;
                Ok(ExitCode::SUCCESS)
            }
            Work::Payload(id, submission, format) => {
                view::payload(&mut out, id, &submission, format, lang)?;
                Ok(ExitCode::SUCCESS)
            }
            Work::Export { view, dir, include } => {
                let content = ContentFile {
                    version: BUNDLE_VERSION,
                    submissions: view
                        .stored
                        .iter()
                        .map(|s| {
                            SubmissionContent::of(
                                s.entry.id,
                                signed_bytes(&s.bytes).as_deref().unwrap_or(&s.bytes),
                                s.checked.as_ref().ok(),
                                s.checked.is_ok(),
                                include,
                            )
                        })
                        .collect(),
                };
                samla_cli_common::audit::export_with_content(
                    &dir,
                    "node-bundle.json",
                    &view.bundle,
                    &content,
                    audit::NODE_BUNDLE_README,
                )?;
                let entries = (view.bundle.log.len(), "loggposter", "log entries");
                let submissions = (view.bundle.submissions.len(), "inlämningar", "submissions");
                view::exported(&mut out, [entries, submissions], &dir, lang)?;
                Ok(ExitCode::SUCCESS)
            }
            Work::Report {
                view,
                format,
                out: path,
            } => {
                let findings = view.findings();
                let ok = ok_line(&view.bundle, lang);
                view::Report {
                    subject: format!("samla-node, {}", person::kommun_name(view.bundle.kommun)),
                    findings: &findings,
                    ok: &ok,
                    format,
                    path: path.as_deref(),
                }
                .write(view.as_ref(), lang, &mut out)
            }
            Work::CrossCheck { node, hub } => {
                samla_cli_common::audit::cross_check_in(&node, &hub, &mut out, lang)
            }
        }
    }
}

/// The signed bytes inside a stored outbox value (which also holds the signer and
/// signature), if it decodes: their BLAKE3 is the submission id.
fn signed_bytes(stored: &[u8]) -> Option<Vec<u8>> {
    samla_common::codec::decode::<SignedSubmission>(stored)
        .ok()
        .map(|s| s.bytes)
}

/// What a clean `audit verify` of a node log says.
fn ok_line(node: &NodeBundle, lang: Lang) -> String {
    let receipts = node
        .submissions
        .iter()
        .filter(|s| s.receipt.is_some())
        .count();
    let heads = node
        .log
        .iter()
        .filter(|e| e.kind == node_checks::HEAD_KIND)
        .count();
    match lang {
        Lang::Sv => format!(
            "ok: {} loggposter hänger ihop, {heads} {} stämmer; {} inlämningar stämmer med sina id och nodens signatur; {receipts} kvitton stämmer",
            node.log.len(),
            if heads == 1 { "signerat loggläge" } else { "signerade logglägen" },
            node.submissions.len()
        ),
        Lang::En => format!(
            "ok: {} log entries chain, {heads} signed heads verify; {} submissions match their ids and the node's signature; {receipts} receipts verify",
            node.log.len(),
            node.submissions.len()
        ),
    }
}

fn open(config: &NodeConfig) -> Result<Outbox> {
    Outbox::open(&config.database).with_context(|| format!("opening {}", config.database.display()))
}

/// The node's log as a bundle, with the node's signing key when its key file can be
/// read (the last signed head must be signed with it).
fn bundle(config: &NodeConfig) -> Result<NodeBundle> {
    let hub = config
        .hub
        .as_ref()
        .with_context(|| format!("{} has no [hub] section", config.path.display()))?;
    let node_key = keyfile::load_signing_key(&hub.signing_key)
        .ok()
        .map(|k| k.verifying_key());
    Ok(open(config)?.bundle(config.kommun, hub, node_key)?)
}
