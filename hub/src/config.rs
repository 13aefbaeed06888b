//! The hub's configuration file (TOML): where it listens, its certificates and keys,
//! its database, and the nodes it accepts. Raw TOML becomes a checked [`HubConfig`];
//! relative paths are relative to the config file's directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use samla_cli_common::config::read_config;
use samla_cli_common::files::FileError;
use samla_common::codes::{KommunCode, ProjectCode};
use samla_common::disclosure::{DisclosureRule, DEFAULT_K};
use samla_common::period::{parse_date, Period};
use samla_common::pseudonym::LinkageDomain;
use samla_common::signing::VerifyingKey;
use samla_common::tls::PinnedCertificate;
use samla_common::wire::DEFAULT_FRAME_LIMIT;
use serde::Deserialize;

/// The transfer log's name when the config gives none.
pub const DEFAULT_LOG_ORIGIN: &str = "samla-hub";

/// One mebibyte.
const MIB: u64 = 1 << 20;

/// A checked hub configuration.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// UDP address to listen on.
    pub listen: SocketAddr,
    /// The SQLite database.
    pub database: PathBuf,
    /// The region CA certificate(s) that node certificates must chain to.
    pub region_ca: PathBuf,
    /// The hub's server certificate chain.
    pub certificate: PathBuf,
    /// Its private key.
    pub private_key: PathBuf,
    /// The hub's Ed25519 key for signing receipts (PKCS#8).
    pub receipt_key: PathBuf,
    /// The largest frame accepted.
    pub max_frame_bytes: u32,
    /// The transfer log's name: the first line of its checkpoints.
    pub log_origin: String,
    /// The disclosure rule every report applies under suppression.
    pub disclosure: DisclosureRule,
    /// The perturbation table when `[disclosure] method = "cell-key"`: every report
    /// then applies the cell key method instead of suppression.
    pub cell_key: Option<samla_common::cell_key::Ptable>,
    /// Registered nodes by kommun.
    pub nodes: BTreeMap<KommunCode, NodeEntry>,
    /// Revoked client certificates.
    pub revoked: Revoked,
    /// Limits per kommun and connection.
    pub limits: Limits,
    /// The region's projects, for reports.
    pub projects: Vec<ProjectDefinition>,
}

/// A project the region reports on.
#[derive(Debug, Clone)]
pub struct ProjectDefinition {
    /// The code nodes use.
    pub code: ProjectCode,
    /// Its name in reports.
    pub name: String,
    /// Its lifetime.
    pub lifetime: Period,
    /// The kommuner taking part.
    pub kommuner: Vec<KommunCode>,
    /// The linkage domain its pseudonyms are made in.
    pub linkage_domain: LinkageDomain,
    /// What the project aims for.
    pub targets: Targets,
    /// The background groups the project is for, shown side by side in reports.
    pub target_groups: Vec<samla_common::codes::Flag>,
}

pub use samla_common::report::{ShareTarget, Targets};

/// A node's signing key and, while it is being replaced, the last day it is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredKey {
    /// The key.
    pub key: VerifyingKey,
    /// The last day (UTC) a submission signed with it is accepted; `None`: no end.
    pub until: Option<time::Date>,
}

impl RegisteredKey {
    /// Whether the key is accepted on `day`.
    pub fn accepted_on(&self, day: time::Date) -> bool {
        self.until.is_none_or(|until| day <= until)
    }
}

/// Client certificates the hub refuses although they chain to the region CA (or are
/// pinned): by SHA-256 fingerprint or by serial number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revoked {
    /// SHA-256 of revoked certificates' DER.
    pub fingerprints: Vec<[u8; 32]>,
    /// Serial numbers of revoked certificates (big-endian bytes, leading zeros
    /// stripped).
    pub serials: Vec<Vec<u8>>,
}

impl Revoked {
    /// Whether a certificate is revoked.
    pub fn contains(&self, certificate: &rustls::pki_types::CertificateDer<'_>) -> bool {
        let fingerprint = samla_common::tls::fingerprint(certificate);
        let serial = samla_common::tls::serial(certificate).map(|s| strip_zeros(&s).to_vec());
        self.fingerprints.contains(&fingerprint)
            || serial.is_some_and(|s| self.serials.contains(&s))
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Limits that keep one node (or someone with a stolen certificate) from wearing the
/// hub down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections per kommun; more are closed at once.
    pub connections_per_kommun: u32,
    /// Concurrent streams (requests) per connection.
    pub concurrent_streams: u32,
    /// A connection idle this long is closed.
    pub idle_timeout: std::time::Duration,
    /// A handshake that takes longer is dropped.
    pub handshake_timeout: std::time::Duration,
    /// A request whose bytes have not all arrived this long after its header is
    /// dropped (answered as temporarily unavailable), and its room given back.
    pub request_timeout: std::time::Duration,
    /// Submissions per kommun in any minute; more are refused as temporary.
    pub submissions_per_minute: u32,
    /// Request bytes held in memory at once, over all connections together; one
    /// kommun may hold a quarter of it (or one largest request, if that is more). A
    /// request that does not fit waits (its sender sees a slower hub, not an error).
    pub in_flight_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections_per_kommun: 4,
            concurrent_streams: 16,
            idle_timeout: std::time::Duration::from_secs(30),
            handshake_timeout: std::time::Duration::from_secs(10),
            request_timeout: std::time::Duration::from_secs(120),
            submissions_per_minute: 600,
            in_flight_bytes: 512 * MIB,
        }
    }
}

/// What the hub knows about one kommun's node.
#[derive(Debug, Clone, Default)]
pub struct NodeEntry {
    /// Keys the node may sign submissions with.
    pub signing_keys: Vec<RegisteredKey>,
    /// A certificate from another PKI, pinned by SHA-256, that stands for this kommun.
    pub pinned_certificate: Option<[u8; 32]>,
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read, or is larger than a config can be.
    #[error(transparent)]
    File(#[from] FileError),
    /// Malformed TOML, unknown keys or bad values.
    #[error("config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: String,
    database: PathBuf,
    region_ca: PathBuf,
    certificate: PathBuf,
    private_key: PathBuf,
    receipt_key: PathBuf,
    max_frame_bytes: Option<u32>,
    log_origin: Option<String>,
    #[serde(default)]
    disclosure: RawDisclosure,
    #[serde(default)]
    revoked_certificates: Vec<String>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default, rename = "node")]
    nodes: Vec<RawNode>,
    #[serde(default, rename = "project")]
    projects: Vec<RawProject>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawKey {
    Plain(String),
    Dated { key: String, until: String },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    connections_per_kommun: Option<u32>,
    concurrent_streams: Option<u32>,
    idle_timeout_seconds: Option<u64>,
    handshake_timeout_seconds: Option<u64>,
    request_timeout_seconds: Option<u64>,
    submissions_per_minute: Option<u32>,
    in_flight_megabytes: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDisclosure {
    k: Option<u64>,
    method: Option<String>,
    max_noise: Option<u32>,
    variance: Option<f64>,
    js: Option<u32>,
}

impl RawDisclosure {
    /// The perturbation table if the method is the cell key method.
    fn cell_key(&self) -> Result<Option<samla_common::cell_key::Ptable>, String> {
        samla_common::disclosure::cell_key::DisclosureSettings {
            method: self.method.as_deref(),
            k: self.k,
            max_noise: self.max_noise,
            variance: self.variance,
            js: self.js,
        }
        .cell_key()
        .map_err(|e| e.to_string())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    code: String,
    name: String,
    start: String,
    end: String,
    kommuner: Vec<String>,
    linkage_domain: String,
    #[serde(default)]
    targets: RawTargets,
    #[serde(default)]
    target_groups: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    participants: Option<u64>,
    share_women: Option<RawShare>,
    share_work_or_studies: Option<RawShare>,
    share_into_activity: Option<RawShare>,
}

/// A share target: `0.5` (of participants) or `{ share = 0.5, of = "leavers" }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawShare {
    Plain(f64),
    Of { share: f64, of: Option<String> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    kommun: String,
    #[serde(default)]
    signing_keys: Vec<RawKey>,
    certificate_sha256: Option<String>,
}

impl HubConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigError> {
        HubConfig::parse(&read_config(path)?, path)
    }

    /// Checks config text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<HubConfig, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let listen = raw.listen.parse().map_err(|_| {
            invalid(format!(
                "listen: {:?} is not an address like 0.0.0.0:4433",
                raw.listen
            ))
        })?;
        let mut nodes: BTreeMap<KommunCode, NodeEntry> = BTreeMap::new();
        for (i, node) in raw.nodes.iter().enumerate() {
            let kommun: KommunCode = node
                .kommun
                .parse()
                .map_err(|e| invalid(format!("node[{i}]: {e}")))?;
            if nodes.contains_key(&kommun) {
                return Err(invalid(format!(
                    "node[{i}]: kommun {kommun} is listed twice"
                )));
            }
            let signing_keys =
                node.signing_keys
                    .iter()
                    .map(|k| {
                        let (key, until) = match k {
                            RawKey::Plain(key) => (key, None),
                            RawKey::Dated { key, until } => (key, Some(until)),
                        };
                        Ok(RegisteredKey {
                            key: key
                                .parse::<VerifyingKey>()
                                .map_err(|e| invalid(format!("node[{i}] signing_keys: {e}")))?,
                            until: until.map(|d| parse_date(d)).transpose().map_err(|e| {
                                invalid(format!("node[{i}] signing_keys until: {e}"))
                            })?,
                        })
                    })
                    .collect::<Result<Vec<_>, ConfigError>>()?;
            let pinned_certificate = node
                .certificate_sha256
                .as_deref()
                .map(|hex_text| {
                    let mut out = [0u8; 32];
                    let clean: String = hex_text
                        .chars()
                        .filter(|c| *c != ':')
                        .collect::<String>()
                        .to_lowercase();
                    hex::decode_to_slice(&clean, &mut out)
                        .map(|_| out)
                        .map_err(|_| {
                            invalid(format!(
                                "node[{i}] certificate_sha256: expected 64 hex characters"
                            ))
                        })
                })
                .transpose()?;
            nodes.insert(
                kommun,
                NodeEntry {
                    signing_keys,
                    pinned_certificate,
                },
            );
        }
        let mut projects: Vec<ProjectDefinition> = Vec::new();
        for (i, p) in raw.projects.iter().enumerate() {
            let at = |e: &dyn std::fmt::Display| invalid(format!("project[{i}]: {e}"));
            let code: ProjectCode = p.code.parse().map_err(|e| at(&e))?;
            if projects.iter().any(|q| q.code == code) {
                return Err(at(&format!("project {code} is listed twice")));
            }
            let date = |d: &str| parse_date(d).map_err(|e| at(&e));
            let lifetime = Period::new(date(&p.start)?, date(&p.end)?)
                .ok_or_else(|| at(&"end is before start"))?;
            let kommuner = p
                .kommuner
                .iter()
                .map(|k| k.parse::<KommunCode>().map_err(|e| at(&e)))
                .collect::<Result<Vec<_>, _>>()?;
            if kommuner.is_empty() {
                return Err(at(&"kommuner is empty"));
            }
            let share = |name: &str, v: &Option<RawShare>| {
                let target = match v {
                    None => return Ok(None),
                    Some(RawShare::Plain(share)) => ShareTarget::of_participants(*share),
                    Some(RawShare::Of { share, of }) => ShareTarget {
                        share: *share,
                        of: match of.as_deref() {
                            None | Some("participants") => samla_common::report::Of::Participants,
                            Some("leavers") => samla_common::report::Of::Leavers,
                            Some(other) => {
                                return Err(at(&format!(
                                    "targets.{name}: of = {other:?}; a share is of \"participants\" (the default) or \"leavers\""
                                )))
                            }
                        },
                    },
                };
                if (0.0..=1.0).contains(&target.share) {
                    Ok(Some(target))
                } else {
                    Err(at(&format!(
                        "targets.{name} must be a share from 0 to 1, e.g. 0.6 \
                         or {{ share = 0.6, of = \"leavers\" }}"
                    )))
                }
            };
            let t = &p.targets;
            let target_groups = p
                .target_groups
                .iter()
                .map(|g| {
                    samla_common::codes::Flag::parse(g).ok_or_else(|| {
                        let known: Vec<&str> = samla_common::codes::Flag::ALL
                            .iter()
                            .map(|f| f.code())
                            .collect();
                        at(&format!(
                            "target_groups: {g:?} is not a background flag; the flags are {}",
                            known.join(", ")
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            projects.push(ProjectDefinition {
                target_groups,
                name: p.name.clone(),
                lifetime,
                kommuner,
                linkage_domain: p.linkage_domain.parse().map_err(|e| at(&e))?,
                targets: Targets {
                    participants: t.participants,
                    share_women: share("share_women", &t.share_women)?,
                    share_work_or_studies: share(
                        "share_work_or_studies",
                        &t.share_work_or_studies,
                    )?,
                    share_into_activity: share("share_into_activity", &t.share_into_activity)?,
                },
                code,
            });
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let revoked = revoked(&raw.revoked_certificates).map_err(invalid)?;
        let l = &raw.limits;
        let defaults = Limits::default();
        let positive = |name: &str, v: Option<u64>, default: u64| match v {
            Some(0) => Err(invalid(format!("[limits] {name} must be at least 1"))),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        let limits = Limits {
            connections_per_kommun: positive(
                "connections_per_kommun",
                l.connections_per_kommun.map(u64::from),
                u64::from(defaults.connections_per_kommun),
            )? as u32,
            concurrent_streams: positive(
                "concurrent_streams",
                l.concurrent_streams.map(u64::from),
                u64::from(defaults.concurrent_streams),
            )? as u32,
            idle_timeout: std::time::Duration::from_secs(positive(
                "idle_timeout_seconds",
                l.idle_timeout_seconds,
                defaults.idle_timeout.as_secs(),
            )?),
            handshake_timeout: std::time::Duration::from_secs(positive(
                "handshake_timeout_seconds",
                l.handshake_timeout_seconds,
                defaults.handshake_timeout.as_secs(),
            )?),
            request_timeout: std::time::Duration::from_secs(positive(
                "request_timeout_seconds",
                l.request_timeout_seconds,
                defaults.request_timeout.as_secs(),
            )?),
            submissions_per_minute: positive(
                "submissions_per_minute",
                l.submissions_per_minute.map(u64::from),
                u64::from(defaults.submissions_per_minute),
            )? as u32,
            in_flight_bytes: positive(
                "in_flight_megabytes",
                l.in_flight_megabytes,
                defaults.in_flight_bytes / MIB,
            )?
            .saturating_mul(MIB),
        };
        let max_frame_bytes = raw.max_frame_bytes.unwrap_or(DEFAULT_FRAME_LIMIT);
        if u64::from(max_frame_bytes) > limits.in_flight_bytes {
            return Err(invalid(format!(
                "[limits] in_flight_megabytes ({} MiB) is smaller than max_frame_bytes \
                 ({max_frame_bytes} bytes): the largest request allowed could never be read. \
                 Raise in_flight_megabytes or lower max_frame_bytes.",
                limits.in_flight_bytes / MIB
            )));
        }
        Ok(HubConfig {
            revoked,
            limits,
            projects,
            path: path.to_owned(),
            listen,
            database: base.join(raw.database),
            region_ca: base.join(raw.region_ca),
            certificate: base.join(raw.certificate),
            private_key: base.join(raw.private_key),
            receipt_key: base.join(raw.receipt_key),
            max_frame_bytes,
            cell_key: raw.disclosure.cell_key().map_err(invalid)?,
            disclosure: match raw.disclosure.k {
                None => DisclosureRule::default(),
                Some(0) => return Err(invalid("[disclosure] k must be at least 1".to_owned())),
                Some(k) => DisclosureRule { k },
            },
            log_origin: match raw.log_origin {
                Some(origin) if samla_common::translog::is_origin_valid(&origin) => origin,
                Some(origin) => {
                    return Err(invalid(format!(
                        "log_origin {origin:?}: no spaces or `+`, not empty"
                    )))
                }
                None => DEFAULT_LOG_ORIGIN.to_owned(),
            },
            nodes,
        })
    }

    /// The pinned certificates, for the TLS verifier.
    pub fn pinned(&self) -> Vec<PinnedCertificate> {
        self.nodes
            .iter()
            .filter_map(|(kommun, n)| {
                n.pinned_certificate.map(|sha256| PinnedCertificate {
                    sha256,
                    kommun: *kommun,
                })
            })
            .collect()
    }

    /// The config text `samla-hub init` writes.
    pub fn template(listen: &str) -> String {
        format!(
            "# samla-hub config. Paths are relative to this file.\n\
             \n\
             # UDP address for QUIC.\n\
             listen = \"{listen}\"\n\
             # SQLite database of received submissions (created if missing).\n\
             database = \"hub.db\"\n\
             # The region CA that issues node certificates (samla-hub ca init).\n\
             region_ca = \"ca.crt\"\n\
             # The hub's certificate and key (samla-hub ca issue-hub).\n\
             certificate = \"hub.crt\"\n\
             private_key = \"hub.key\"\n\
             # The hub's Ed25519 key for signing receipts (samla-hub init).\n\
             receipt_key = \"receipt.key\"\n\
             # Largest message accepted, in bytes (64 MiB holds about 1.9 million pseudonyms).\n\
             max_frame_bytes = {DEFAULT_FRAME_LIMIT}\n\
             # The transfer log's name, the first line of every checkpoint. Nodes\n\
             # give the same name as log_origin in their [hub] section.\n\
             log_origin = \"{DEFAULT_LOG_ORIGIN}\"\n\
             \n\
             # Client certificates refused although they chain to the region CA: lines\n\
             # from `samla-hub ca revoke-line FILE`. Restart the hub after editing.\n\
             revoked_certificates = []\n\
             \n\
             # Reports suppress counts of 1 to k-1 people, and whatever would reveal them.\n\
             [disclosure]\n\
             k = {DEFAULT_K}\n\
             \n\
             # Limits per kommun and connection (these are the defaults).\n\
             [limits]\n\
             connections_per_kommun = 4\n\
             concurrent_streams = 16\n\
             idle_timeout_seconds = 30\n\
             handshake_timeout_seconds = 10\n\
             # A request's bytes must all arrive within this many seconds of its start.\n\
             request_timeout_seconds = 120\n\
             submissions_per_minute = 600\n\
             # Request bytes held in memory at once, all connections together (MiB);\n\
             # one kommun may hold a quarter. A request that does not fit waits.\n\
             in_flight_megabytes = 512\n\
             \n\
             # One [[node]] per kommun, with the signing key its `samla-node init` printed:\n\
             # [[node]]\n\
             # kommun = \"2180\"\n\
             # signing_keys = [\"<64 hex characters>\"]\n\
             # While a node changes keys, list both; the old one with its last day:\n\
             # signing_keys = [{{ key = \"<old>\", until = \"2026-12-31\" }}, \"<new>\"]\n\
             # A node with a certificate from another PKI (e.g. SITHS) is pinned instead:\n\
             # certificate_sha256 = \"<64 hex characters>\"\n\
             \n\
             # One [[project]] per project the region reports on (see configs/ for a full example):\n\
             # [[project]]\n\
             # code = \"UNG\"\n\
             # name = \"UNG – Ung Nu Gävleborg\"\n\
             # start = \"2023-09-01\"\n\
             # end = \"2026-08-31\"\n\
             # linkage_domain = \"gavleborg-ung-2023\"\n\
             # kommuner = [\"2180\", \"2181\"]\n\
             # [project.targets]   # each optional; shares are 0 to 1 of the participants\n\
             # participants = 300    # distinct people over the lifetime\n\
             # share_women = 0.4\n\
             # share_work_or_studies = 0.35\n\
             # share_into_activity = {{ share = 0.5, of = \"leavers\" }}   # a share of leavers instead\n"
        )
    }
}

/// Parses `revoked_certificates`: `sha256:HEX` or 64 hex characters (a fingerprint,
/// colons allowed), or `serial:HEX`.
fn revoked(entries: &[String]) -> Result<Revoked, String> {
    let mut out = Revoked::default();
    for entry in entries {
        let (kind, hex_text) = match entry.split_once(':') {
            Some((kind @ ("serial" | "sha256"), rest)) => (kind, rest),
            _ => ("sha256", entry.as_str()),
        };
        let hex_text: String = hex_text.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(hex_text.to_lowercase()).map_err(|_| {
            format!("revoked_certificates: {entry:?} is not `sha256:HEX` or `serial:HEX`")
        })?;
        match kind {
            "serial" => out.serials.push(strip_zeros(&bytes).to_vec()),
            _ => out.fingerprints.push(bytes.try_into().map_err(|_| {
                format!(
                    "revoked_certificates: {entry:?}: a SHA-256 fingerprint has 64 hex characters"
                )
            })?),
        }
    }
    Ok(out)
}
