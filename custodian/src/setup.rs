//! The setup coordinator's side of a linkage domain's setup (docs/custodian.md, "Per
//! domain"): round 1 (`OpenTweak`) and round 2 (`OpenProduct`) with the first t
//! custodians that answer, the record checked against the key set here before it is
//! sent, then `StoreDomain` to every custodian. A custodian that is down when the
//! record is stored gets it by running the same command again later (storing a
//! record twice is allowed; binding its slot to another domain never is).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use samla_cli_common::config::read_config;
use samla_common::oprf::ceremony::{PublicKeySet, SlotNumber};
use samla_common::oprf::domain::{DomainRecord, SetupError};
use samla_common::oprf::messages::{CustodianRefusal, CustodianRequest, CustodianResponse};
use samla_common::oprf::shamir::CustodianIndex;
use samla_common::pseudonym::LinkageDomain;
use serde::Deserialize;

use crate::client::{Client, ClientError};

/// One custodian as a client finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodianAddress {
    /// Its number in the key set.
    pub number: CustodianIndex,
    /// Its UDP address.
    pub address: SocketAddr,
    /// The name its certificate carries.
    pub server_name: String,
}

/// The coordinator's config: its certificate, the key set and the custodians.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// The region CA.
    pub region_ca: PathBuf,
    /// The coordinator's certificate (its fingerprint is in every custodian's config).
    pub certificate: PathBuf,
    /// Its key.
    pub private_key: PathBuf,
    /// The key set.
    pub key_set: PathBuf,
    /// Every custodian.
    pub custodians: Vec<CustodianAddress>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoordinator {
    region_ca: PathBuf,
    certificate: PathBuf,
    private_key: PathBuf,
    key_set: PathBuf,
    #[serde(rename = "custodian")]
    custodians: Vec<RawCustodian>,
}

/// A `[[custodian]]` table, as node and coordinator configs write it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustodian {
    /// Its number in the key set.
    pub number: u8,
    /// Its address.
    pub address: String,
    /// Its certificate's name.
    pub server_name: String,
}

impl RawCustodian {
    /// Checks one entry; the message says what is wrong.
    pub fn check(&self) -> Result<CustodianAddress, String> {
        Ok(CustodianAddress {
            number: CustodianIndex::new(self.number)
                .map_err(|e| format!("[[custodian]] number {}: {e}", self.number))?,
            address: self.address.parse().map_err(|_| {
                format!(
                    "[[custodian]] address: {:?} is not an address like 192.0.2.10:4500",
                    self.address
                )
            })?,
            server_name: self.server_name.clone(),
        })
    }
}

/// Why setting a domain up failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupFailure {
    /// The config.
    #[error("coordinator config {path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Fewer than t custodians answered a round.
    #[error("round {round}: only {answered} of the {needed} custodians needed answered ({})", failures.join("; "))]
    TooFew {
        /// Which round.
        round: u8,
        /// How many answered.
        answered: usize,
        /// How many are needed.
        needed: usize,
        /// What the others said.
        failures: Vec<String>,
    },
    /// The openings do not make a record that verifies.
    #[error("the custodians' openings do not verify against the key set")]
    Record(#[source] SetupError),
}

impl CoordinatorConfig {
    /// Reads a coordinator config; relative paths are relative to it.
    pub fn load(path: &Path) -> Result<CoordinatorConfig, anyhow::Error> {
        let text = read_config(path)?;
        let invalid = |message: String| SetupFailure::Config {
            path: path.to_owned(),
            message,
        };
        let raw: RawCoordinator = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let custodians = raw
            .custodians
            .iter()
            .map(RawCustodian::check)
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        Ok(CoordinatorConfig {
            region_ca: resolve(raw.region_ca),
            certificate: resolve(raw.certificate),
            private_key: resolve(raw.private_key),
            key_set: resolve(raw.key_set),
            custodians,
        })
    }
}

/// What a setup did at each custodian.
#[derive(Debug)]
pub struct SetupOutcome {
    /// The checked record.
    pub record: DomainRecord,
    /// Custodians that stored it.
    pub stored: Vec<CustodianIndex>,
    /// Custodians that did not, and why.
    pub not_stored: Vec<(CustodianIndex, String)>,
}

fn say(result: Result<CustodianResponse, ClientError>) -> Result<CustodianResponse, String> {
    match result {
        Ok(CustodianResponse::Refused(refusal)) => Err(refusal_text(&refusal)),
        Ok(other) => Ok(other),
        Err(e) => Err(samla_cli_common::error::message(&e)),
    }
}

fn refusal_text(refusal: &CustodianRefusal) -> String {
    format!("refused: {refusal}")
}

/// Sets `domain` up on `slot` with the custodians of `custodians`.
pub async fn setup_domain(
    client: &Client,
    public: &PublicKeySet,
    custodians: &[CustodianAddress],
    domain: &LinkageDomain,
    slot: SlotNumber,
) -> Result<SetupOutcome, SetupFailure> {
    let t = usize::from(public.threshold().required());
    let key_id = public.key_id();
    let mut sorted = custodians.to_vec();
    sorted.sort_by_key(|c| c.number);
    // Round 1 with the first t that answer.
    let mut tweaks = Vec::new();
    let mut used = Vec::new();
    let mut failures = Vec::new();
    for c in &sorted {
        if tweaks.len() == t {
            break;
        }
        let request = CustodianRequest::OpenTweak {
            key_id,
            domain: domain.clone(),
            slot,
        };
        match say(client.request(c.address, &c.server_name, &request).await) {
            Ok(CustodianResponse::TweakOpened(opening)) if opening.custodian == c.number => {
                tweaks.push(opening);
                used.push(c.clone());
            }
            Ok(_) => failures.push(format!("custodian {}: an unexpected answer", c.number)),
            Err(why) => failures.push(format!("custodian {}: {why}", c.number)),
        }
    }
    if tweaks.len() < t {
        return Err(SetupFailure::TooFew {
            round: 1,
            answered: tweaks.len(),
            needed: t,
            failures,
        });
    }
    // Round 2 with the same custodians.
    let mut products = Vec::new();
    let mut failures = Vec::new();
    for c in &used {
        let request = CustodianRequest::OpenProduct {
            key_id,
            domain: domain.clone(),
            slot,
            tweaks: tweaks.clone(),
        };
        match say(client.request(c.address, &c.server_name, &request).await) {
            Ok(CustodianResponse::ProductOpened(opening)) if opening.custodian == c.number => {
                products.push(opening)
            }
            Ok(_) => failures.push(format!("custodian {}: an unexpected answer", c.number)),
            Err(why) => failures.push(format!("custodian {}: {why}", c.number)),
        }
    }
    if products.len() < t {
        return Err(SetupFailure::TooFew {
            round: 2,
            answered: products.len(),
            needed: t,
            failures,
        });
    }
    let record = DomainRecord {
        domain: domain.clone(),
        slot,
        tweaks,
        products,
    };
    record.verify(public).map_err(SetupFailure::Record)?;
    store_everywhere(client, &sorted, record).await
}

/// Sends a record to every custodian; says which stored it.
pub async fn store_everywhere(
    client: &Client,
    custodians: &[CustodianAddress],
    record: DomainRecord,
) -> Result<SetupOutcome, SetupFailure> {
    let mut stored = Vec::new();
    let mut not_stored = Vec::new();
    for c in custodians {
        let request = CustodianRequest::StoreDomain(record.clone());
        match say(client.request(c.address, &c.server_name, &request).await) {
            Ok(CustodianResponse::DomainStored) => stored.push(c.number),
            Ok(_) => not_stored.push((c.number, "an unexpected answer".to_owned())),
            Err(why) => not_stored.push((c.number, why)),
        }
    }
    Ok(SetupOutcome {
        record,
        stored,
        not_stored,
    })
}
