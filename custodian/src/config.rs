//! `custodian.toml`: where the custodian's files are, whom it serves, and each
//! kommun's rate limit. Paths are relative to the config file. Unknown keys are
//! refused, so a misspelt limit is an error instead of a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use samla_cli_common::config::read_config;
use samla_cli_common::files::FileError;
use samla_common::oprf::rate::{RateLimit, DEFAULT_EVALUATIONS, DEFAULT_PERIOD_SECONDS};
use serde::Deserialize;

/// The default log origin's prefix; `init` appends the custodian's number.
pub const DEFAULT_ORIGIN_PREFIX: &str = "samla.custodian/";

/// Seconds in a day, for `period_days`.
const DAY: u32 = 24 * 3600;

/// A checked custodian config.
#[derive(Debug, Clone)]
pub struct CustodianConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// UDP address to listen on.
    pub listen: SocketAddr,
    /// The SQLite database.
    pub database: PathBuf,
    /// The public key set from the ceremony.
    pub key_set: PathBuf,
    /// This custodian's key share from the ceremony (0600).
    pub share: PathBuf,
    /// The region CA that node and coordinator certificates chain to.
    pub region_ca: PathBuf,
    /// The custodian's server certificate.
    pub certificate: PathBuf,
    /// Its private key (0600).
    pub private_key: PathBuf,
    /// The Ed25519 key signing the log's checkpoints (0600).
    pub log_key: PathBuf,
    /// The log's name, the first line of its checkpoints.
    pub log_origin: String,
    /// SHA-256 fingerprints of the setup coordinators' certificates.
    pub coordinators: Vec<[u8; 32]>,
    /// Evaluations per kommun per period.
    pub rate_limit: RateLimit,
    /// Open connections per kommun.
    pub connections_per_kommun: u32,
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
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
    key_set: PathBuf,
    share: PathBuf,
    region_ca: PathBuf,
    certificate: PathBuf,
    private_key: PathBuf,
    log_key: PathBuf,
    log_origin: String,
    #[serde(default)]
    coordinators: Vec<String>,
    #[serde(default)]
    rate_limit: RawRateLimit,
    connections_per_kommun: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    evaluations: Option<u64>,
    period_days: Option<u32>,
    period_seconds: Option<u32>,
}

impl CustodianConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<CustodianConfig, ConfigError> {
        CustodianConfig::parse(&read_config(path)?, path)
    }

    /// Checks config text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<CustodianConfig, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let listen = raw.listen.parse().map_err(|_| {
            invalid(format!(
                "listen: {:?} is not an address like 0.0.0.0:4500",
                raw.listen
            ))
        })?;
        if !samla_common::translog::is_origin_valid(&raw.log_origin) {
            return Err(invalid(format!(
                "log_origin: {:?} is not a log name (printable ASCII, no spaces)",
                raw.log_origin
            )));
        }
        let coordinators = raw
            .coordinators
            .iter()
            .map(|c| {
                let hex_text = c.strip_prefix("sha256:").unwrap_or(c);
                hex::decode(hex_text)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| {
                        invalid(format!(
                            "coordinators: {c:?} is not a certificate fingerprint (64 hex digits, from `samla-hub ca fingerprint coordinator.crt`)"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let period_seconds = match (raw.rate_limit.period_days, raw.rate_limit.period_seconds) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "[rate_limit]: give period_days or period_seconds, not both".to_owned(),
                ))
            }
            (Some(days), None) => days.checked_mul(DAY).filter(|s| *s > 0).ok_or_else(|| {
                invalid(format!(
                    "[rate_limit] period_days: {days} is not between 1 and 49 710"
                ))
            })?,
            (None, Some(0)) => {
                return Err(invalid(
                    "[rate_limit] period_seconds: must be at least 1".to_owned(),
                ))
            }
            (None, Some(seconds)) => seconds,
            (None, None) => DEFAULT_PERIOD_SECONDS,
        };
        let evaluations = raw.rate_limit.evaluations.unwrap_or(DEFAULT_EVALUATIONS);
        let connections_per_kommun = raw.connections_per_kommun.unwrap_or(4);
        if connections_per_kommun == 0 {
            return Err(invalid(
                "connections_per_kommun: must be at least 1".to_owned(),
            ));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        Ok(CustodianConfig {
            path: path.to_owned(),
            listen,
            database: resolve(raw.database),
            key_set: resolve(raw.key_set),
            share: resolve(raw.share),
            region_ca: resolve(raw.region_ca),
            certificate: resolve(raw.certificate),
            private_key: resolve(raw.private_key),
            log_key: resolve(raw.log_key),
            log_origin: raw.log_origin,
            coordinators,
            rate_limit: RateLimit {
                evaluations,
                period_seconds,
            },
            connections_per_kommun,
        })
    }

    /// The config `init` writes, to edit.
    pub fn template(listen: &str, number: u8) -> String {
        format!(
            "# samla-custodian config. Paths are relative to this file.\n\
             \n\
             # UDP address for QUIC.\n\
             listen = \"{listen}\"\n\
             # SQLite database: the custodian's log, rate windows and domains (created if missing).\n\
             database = \"custodian.db\"\n\
             # From the key ceremony: the public key set, and this custodian's share (0600).\n\
             key_set = \"keyset.bin\"\n\
             share = \"share.key\"\n\
             # The region CA; the custodian's certificate comes from\n\
             # `samla-hub ca issue-custodian --csr custodian.csr`.\n\
             region_ca = \"ca.crt\"\n\
             certificate = \"custodian.crt\"\n\
             private_key = \"custodian.key\"\n\
             # The Ed25519 key signing the log's checkpoints (samla-custodian init).\n\
             log_key = \"log.key\"\n\
             # The log's name, the first line of every checkpoint.\n\
             log_origin = \"{DEFAULT_ORIGIN_PREFIX}{number}\"\n\
             \n\
             # Setup coordinators, by certificate fingerprint (`samla-hub ca fingerprint\n\
             # coordinator.crt`): only they may set linkage domains up.\n\
             coordinators = []\n\
             \n\
             # Open connections per kommun.\n\
             connections_per_kommun = 4\n\
             \n\
             # Evaluations each kommun may ask for per period (a batch is allowed or\n\
             # refused whole). Size it to the kommun's programme, far below the\n\
             # personnummer space.\n\
             [rate_limit]\n\
             evaluations = {DEFAULT_EVALUATIONS}\n\
             period_days = {}\n",
            DEFAULT_PERIOD_SECONDS / DAY
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_with_the_default_limit_and_paths_beside_the_file() {
        let path = Path::new("/etc/samla-custodian/custodian.toml");
        let config = CustodianConfig::parse(&CustodianConfig::template("0.0.0.0:4500", 2), path)
            .expect("template parses");
        assert_eq!(config.rate_limit, RateLimit::default());
        assert_eq!(
            config.share,
            Path::new("/etc/samla-custodian/share.key").to_path_buf()
        );
        assert_eq!(config.log_origin, "samla.custodian/2");
    }

    #[test]
    fn a_bad_limit_or_fingerprint_is_named() {
        let path = Path::new("c.toml");
        let text = CustodianConfig::template("0.0.0.0:4500", 1)
            .replace("period_days = 30", "period_days = 0");
        let e = CustodianConfig::parse(&text, path).unwrap_err().to_string();
        assert!(e.contains("period_days"), "{e}");
        let text = CustodianConfig::template("0.0.0.0:4500", 1)
            .replace("coordinators = []", "coordinators = [\"abc\"]");
        let e = CustodianConfig::parse(&text, path).unwrap_err().to_string();
        assert!(
            e.contains("coordinators") && e.contains("fingerprint"),
            "{e}"
        );
        let text =
            CustodianConfig::template("0.0.0.0:4500", 1).replace("evaluations", "evaluation");
        assert!(CustodianConfig::parse(&text, path).is_err());
    }
}
