//! The node's configuration file (TOML): which kommun this is, its projects, where the
//! pseudonym key is, and how to read the kommun's exports.
//!
//! Raw TOML is parsed into [`NodeConfig`], which holds only checked values: a config
//! that loads is a config the pipeline can run with. See `configs/` for commented
//! examples.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use samla_cli_common::config::read_config;
use samla_cli_common::files::FileError;
use samla_common::codes::{KommunCode, ProjectCode};
use samla_common::disclosure::{DisclosureRule, DEFAULT_K};
use samla_common::period::{parse_date, Period, PeriodKind};
use samla_common::pseudonym::LinkageDomain;
use serde::Deserialize;

use crate::ingest::{Column, Field};

/// A checked node configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The file it was read from (relative paths in it are relative to its directory).
    pub path: PathBuf,
    /// This node's kommun.
    pub kommun: KommunCode,
    /// Where pseudonyms come from: the shared master key file, or the custodians.
    pub pseudonyms: PseudonymMode,
    /// The projects this kommun takes part in.
    pub projects: Vec<ProjectConfig>,
    /// Extra header names mapped to fields or ignored (lowercased header → column).
    pub columns: BTreeMap<String, Column>,
    /// The disclosure rule for `preview` under suppression.
    pub disclosure: DisclosureRule,
    /// The perturbation table when `[disclosure] method = "cell-key"`: `preview` then
    /// applies the cell key method, as the hub's reports do with the same settings.
    pub cell_key: Option<samla_common::cell_key::Ptable>,
    /// The node's own SQLite database: outbox and transfer log.
    pub database: PathBuf,
    /// How to reach the hub, if configured (`samla-node init` writes it).
    pub hub: Option<HubLink>,
    /// What `samla-node run` does, if configured.
    pub daemon: Option<DaemonConfig>,
}

/// Where a node's pseudonyms come from (DESIGN.md §4, §4a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PseudonymMode {
    /// Shared-key mode: `key_file`, the region's master secret.
    SharedKey {
        /// The master key file.
        key_file: PathBuf,
    },
    /// Custodian mode: the `[custodian]` section; the node holds no key.
    Custodian(crate::custodian::CustodianMode),
}

/// The `[daemon]` section: what `samla-node run` watches and submits.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// A directory watched for new exports (each file is submitted once, then moved).
    pub inbox: Option<PathBuf>,
    /// Where submitted exports are moved.
    pub processed: PathBuf,
    /// Where exports that could not be used are moved, with a report beside each.
    pub rejected: PathBuf,
    /// A file the case system rewrites, read on a schedule (submitted when it changed).
    pub export: Option<PathBuf>,
    /// How often `export` is read.
    pub every: std::time::Duration,
    /// Which closed periods an export is submitted for, when its name names none.
    pub periods: Vec<PeriodChoice>,
    /// How often the inbox is looked at.
    pub poll: std::time::Duration,
    /// How long a file must stay unchanged before it is read (so that a file still
    /// being written is not).
    pub settle: std::time::Duration,
    /// Submit files with rejected rows, leaving those rows out (default: move them to
    /// `rejected` instead).
    pub accept_rejects: bool,
}

/// A period a daemon submits each export for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodChoice {
    /// The latest closed period of this kind.
    Closed(PeriodKind),
    /// Each project's whole lifetime, to date.
    Lifetime,
}

/// Everything the node needs to send submissions to the hub.
#[derive(Debug, Clone)]
pub struct HubLink {
    /// `host:port` of the hub.
    pub address: String,
    /// The name on the hub's certificate.
    pub server_name: String,
    /// The region CA certificate.
    pub region_ca: PathBuf,
    /// This node's client certificate (from the region CA).
    pub certificate: PathBuf,
    /// Its private key.
    pub private_key: PathBuf,
    /// This node's Ed25519 key for signing submissions (PKCS#8).
    pub signing_key: PathBuf,
    /// The hub's public key for checking receipts and checkpoints.
    pub receipt_key: samla_common::signing::VerifyingKey,
    /// The name of the hub's transfer log (the first line of its checkpoints).
    pub log_origin: String,
}

/// One project as the node knows it.
#[derive(Debug, Clone)]
pub struct ProjectConfig {
    /// The region's code for the project.
    pub code: ProjectCode,
    /// The linkage domain its pseudonyms are made in.
    pub linkage_domain: LinkageDomain,
    /// The project's lifetime, for `--period lifetime`.
    pub lifetime: Option<Period>,
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read, or is larger than a config can be.
    #[error(transparent)]
    File(#[from] FileError),
    /// The TOML is malformed or has unknown keys.
    #[error("config {path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is not valid.
    #[error("config {path}: {key}: {message}")]
    Value {
        /// The file.
        path: PathBuf,
        /// Which key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    kommun: String,
    key_file: Option<PathBuf>,
    custodian: Option<crate::custodian::config::RawCustodianMode>,
    #[serde(default, rename = "project")]
    projects: Vec<RawProject>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    disclosure: RawDisclosure,
    database: Option<PathBuf>,
    hub: Option<RawHub>,
    daemon: Option<RawDaemon>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    inbox: Option<PathBuf>,
    processed: Option<PathBuf>,
    rejected: Option<PathBuf>,
    export: Option<PathBuf>,
    every_minutes: Option<u64>,
    periods: Option<Vec<String>>,
    poll_seconds: Option<u64>,
    settle_seconds: Option<u64>,
    #[serde(default)]
    accept_rejects: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHub {
    address: String,
    server_name: String,
    region_ca: PathBuf,
    certificate: PathBuf,
    private_key: PathBuf,
    signing_key: PathBuf,
    receipt_key: String,
    log_origin: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    code: String,
    linkage_domain: String,
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(Default)]
struct RawDisclosure {
    k: Option<u64>,
    method: Option<String>,
    max_noise: Option<u32>,
    variance: Option<f64>,
    js: Option<u32>,
}

impl NodeConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        NodeConfig::parse(&read_config(path)?, path)
    }

    /// Checks config text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<NodeConfig, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Toml {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let value_err = |key: &str, message: String| ConfigError::Value {
            path: path.to_owned(),
            key: key.to_owned(),
            message,
        };
        let kommun = raw
            .kommun
            .parse()
            .map_err(|e: samla_common::codes::CodeError| value_err("kommun", e.to_string()))?;
        if raw.projects.is_empty() {
            return Err(value_err(
                "project",
                "no [[project]] sections: add one per project this kommun reports".to_owned(),
            ));
        }
        let mut projects: Vec<ProjectConfig> = Vec::new();
        for (i, p) in raw.projects.iter().enumerate() {
            let key = format!("project[{i}]");
            let code: ProjectCode = p
                .code
                .parse()
                .map_err(|e: samla_common::codes::CodeError| value_err(&key, e.to_string()))?;
            if projects
                .iter()
                .any(|q| q.code.as_str().eq_ignore_ascii_case(code.as_str()))
            {
                return Err(value_err(&key, format!("project {code} is listed twice")));
            }
            let linkage_domain = p.linkage_domain.parse().map_err(
                |e: samla_common::pseudonym::LinkageDomainError| value_err(&key, e.to_string()),
            )?;
            let date = |d: &Option<String>| -> Result<Option<time::Date>, ConfigError> {
                d.as_deref()
                    .map(parse_date)
                    .transpose()
                    .map_err(|e| value_err(&key, e.to_string()))
            };
            let lifetime = match (date(&p.start)?, date(&p.end)?) {
                (Some(from), Some(to)) => Some(
                    Period::new(from, to)
                        .ok_or_else(|| value_err(&key, "end is before start".to_owned()))?,
                ),
                (None, None) => None,
                _ => {
                    return Err(value_err(
                        &key,
                        "give both start and end, or neither".to_owned(),
                    ))
                }
            };
            projects.push(ProjectConfig {
                code,
                linkage_domain,
                lifetime,
            });
        }
        let mut columns = BTreeMap::new();
        for (header, field) in &raw.columns {
            let field = Column::parse(field).ok_or_else(|| {
                value_err(
                    &format!("columns.{header:?}"),
                    format!(
                        "{field:?} is not a field; fields are: {}, or \"{}\" for a column that is none",
                        Field::names(),
                        crate::ingest::headers::IGNORE
                    ),
                )
            })?;
            columns.insert(header.trim().to_lowercase(), field);
        }
        if raw.disclosure.k == Some(0) {
            return Err(value_err("disclosure.k", "must be at least 1".to_owned()));
        }
        let d = &raw.disclosure;
        let cell_key = samla_common::disclosure::cell_key::DisclosureSettings {
            method: d.method.as_deref(),
            k: d.k,
            max_noise: d.max_noise,
            variance: d.variance,
            js: d.js,
        }
        .cell_key()
        .map_err(|e| value_err(e.key, e.message))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let hub = raw
            .hub
            .map(|h| -> Result<HubLink, ConfigError> {
                Ok(HubLink {
                    receipt_key: h.receipt_key.parse().map_err(
                        |e: samla_common::signing::SigningError| {
                            value_err("hub.receipt_key", e.to_string())
                        },
                    )?,
                    log_origin: match h.log_origin {
                        Some(origin) if samla_common::translog::is_origin_valid(&origin) => origin,
                        Some(origin) => {
                            return Err(value_err(
                                "hub.log_origin",
                                format!("{origin:?}: no spaces or `+`, not empty"),
                            ))
                        }
                        None => "samla-hub".to_owned(),
                    },
                    address: h.address,
                    server_name: h.server_name,
                    region_ca: base.join(h.region_ca),
                    certificate: base.join(h.certificate),
                    private_key: base.join(h.private_key),
                    signing_key: base.join(h.signing_key),
                })
            })
            .transpose()?;
        let daemon = raw
            .daemon
            .map(|d| daemon_config(d, base, &value_err))
            .transpose()?;
        let pseudonyms = match (raw.key_file, raw.custodian) {
            (Some(key_file), None) => PseudonymMode::SharedKey {
                key_file: base.join(key_file),
            },
            (None, Some(custodian)) => {
                if hub.is_none() {
                    return Err(value_err(
                        "custodian",
                        "custodian mode needs the [hub] section: the node shows the custodians its certificate (certificate, private_key, region_ca)".to_owned(),
                    ));
                }
                PseudonymMode::Custodian(
                    custodian
                        .check(base)
                        .map_err(|(key, message)| value_err(&key, message))?,
                )
            }
            (Some(_), Some(_)) => {
                return Err(value_err(
                    "key_file",
                    "give key_file (shared-key mode) or a [custodian] section (custodian mode), not both".to_owned(),
                ))
            }
            (None, None) => {
                return Err(value_err(
                    "key_file",
                    "missing: give key_file (the region's master key, from `samla-node key generate`) or a [custodian] section".to_owned(),
                ))
            }
        };
        Ok(NodeConfig {
            pseudonyms,
            daemon,
            database: base.join(raw.database.unwrap_or_else(|| PathBuf::from("node.db"))),
            hub,
            path: path.to_owned(),
            kommun,
            projects,
            columns,
            disclosure: DisclosureRule {
                k: raw.disclosure.k.unwrap_or(DEFAULT_K),
            },
            cell_key,
        })
    }

    /// The project codes, in config order.
    pub fn project_codes(&self) -> Vec<ProjectCode> {
        self.projects.iter().map(|p| p.code.clone()).collect()
    }

    /// Resolves a `--period` argument: a period, or `lifetime` for a project's lifetime.
    pub fn period(&self, text: &str, project: Option<&ProjectConfig>) -> Result<Period, String> {
        if text.trim().eq_ignore_ascii_case("lifetime") {
            let project = project.ok_or_else(|| {
                format!(
                    "`lifetime` is one project's, and {} has {}: add --project CODE",
                    self.path.display(),
                    self.projects
                        .iter()
                        .map(|p| p.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            return project.lifetime.ok_or_else(|| {
                format!(
                    "project {} has no start and end in {}: add start = \"YYYY-MM-DD\" and end = \"YYYY-MM-DD\" to its [[project]] section",
                    project.code,
                    self.path.display()
                )
            });
        }
        text.parse()
            .map_err(|e: samla_common::period::PeriodError| e.to_string())
    }
}

fn daemon_config(
    raw: RawDaemon,
    base: &Path,
    value_err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<DaemonConfig, ConfigError> {
    use std::time::Duration;
    if raw.inbox.is_none() && raw.export.is_none() {
        return Err(value_err(
            "daemon",
            "give an inbox directory to watch, an export file to read on a schedule, or both"
                .to_owned(),
        ));
    }
    let inbox = raw.inbox.map(|p| base.join(p));
    let beside = |name: &str| {
        inbox
            .as_ref()
            .map_or_else(|| base.join(name), |i| i.join(name))
    };
    let periods = raw
        .periods
        .unwrap_or_else(|| vec!["quarter".to_owned()])
        .iter()
        .map(|p| match p.trim().to_ascii_lowercase().as_str() {
            "month" => Ok(PeriodChoice::Closed(PeriodKind::Month)),
            "quarter" => Ok(PeriodChoice::Closed(PeriodKind::Quarter)),
            "half" => Ok(PeriodChoice::Closed(PeriodKind::Half)),
            "year" => Ok(PeriodChoice::Closed(PeriodKind::Year)),
            "lifetime" => Ok(PeriodChoice::Lifetime),
            other => Err(value_err(
                "daemon.periods",
                format!("{other:?} is not a period; use month, quarter, half, year or lifetime"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let seconds = |key: &str, v: Option<u64>, default: u64| -> Result<Duration, ConfigError> {
        match v.unwrap_or(default) {
            0 => Err(value_err(key, "must be at least 1".to_owned())),
            n => Ok(Duration::from_secs(n)),
        }
    };
    Ok(DaemonConfig {
        processed: raw
            .processed
            .map_or_else(|| beside("processed"), |p| base.join(p)),
        rejected: raw
            .rejected
            .map_or_else(|| beside("rejected"), |p| base.join(p)),
        export: raw.export.map(|p| base.join(p)),
        every: seconds("daemon.every_minutes", raw.every_minutes, 1440)? * 60,
        periods,
        poll: seconds("daemon.poll_seconds", raw.poll_seconds, 10)?,
        settle: seconds("daemon.settle_seconds", raw.settle_seconds, 5)?,
        accept_rejects: raw.accept_rejects,
        inbox,
    })
}
