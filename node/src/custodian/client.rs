//! [`CustodianClient`]: pseudonyms for one linkage domain from t custodians.
//!
//! Per call: connect to every custodian at once (those that answer in time are
//! reachable), fetch the domain's setup record and t attestations and check them
//! (`DomainRecord::verify`, `check_attestations`: the keys every answer is then
//! checked against), then split the distinct people into batches of at most
//! `messages::MAX_BATCH`. Batches are blinded and finished on blocking threads (every
//! core) and each is sent to the t custodians of a subset at once, several batches in
//! flight. A custodian whose answer fails its proof, refuses or drops out is left out
//! and the batch asked of another subset; with fewer than t left, the call fails as
//! temporary ([`CustodianError::is_temporary`]) and nothing is built.
//!
//! The runtime is the client's own, on its own thread, so a synchronous pipeline can
//! call it from anywhere.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use samla_common::cell_key::PersonSecret;
use samla_common::codes::KommunCode;
use samla_common::oprf::ceremony::PublicKeySet;
use samla_common::oprf::domain::DomainKeys;
use samla_common::oprf::messages::{
    self, CustodianRefusal, CustodianRequest, CustodianResponse, EvaluateRequest, FRAME_LIMIT,
    MAX_BATCH,
};
use samla_common::oprf::shamir::{CustodianIndex, Subset};
use samla_common::oprf::threshold::{blind_batch, ShareAnswer, ThresholdError};
use samla_common::personnummer::Personnummer;
use samla_common::pseudonym::{KeyId, LinkageDomain, Pseudonym};
use samla_common::wire;

use super::config::CustodianMode;

/// How long connecting to one custodian may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Batches in flight at once.
const IN_FLIGHT: usize = 4;

/// Why pseudonyms could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CustodianError {
    /// The key set file.
    #[error("custodian key set {path}: {reason}")]
    KeySet {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// TLS setup.
    #[error(transparent)]
    Tls(#[from] samla_common::tls::TlsError),
    /// The node's own certificate files or socket.
    #[error("{0}")]
    Setup(String),
    /// Fewer than t custodians could be used.
    #[error("only {usable} of the {needed} key custodians needed could be used ({})\n\nNothing was built; the export is tried again later.", failures.join("; "))]
    Unavailable {
        /// Custodians usable.
        usable: usize,
        /// t.
        needed: usize,
        /// What the others said.
        failures: Vec<String>,
    },
    /// A custodian refused because this kommun's limit is used up.
    #[error("custodian {custodian} refused: {refusal}\n\nNothing was built; the export is tried again when the period resets, or ask the custodians to raise the limit.")]
    RateLimited {
        /// Which.
        custodian: u8,
        /// Its refusal.
        refusal: CustodianRefusal,
    },
}

impl CustodianError {
    /// Whether waiting and trying again can help (custodians down, busy, rate
    /// limited until the period resets); a bad key set cannot.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            CustodianError::Unavailable { .. } | CustodianError::RateLimited { .. }
        )
    }
}

/// One batch the custodians evaluated, for the node log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLogged {
    /// The domain.
    pub domain: LinkageDomain,
    /// People in the batch.
    pub count: usize,
    /// The custodians that answered (their numbers and server names).
    pub custodians: Vec<String>,
    /// When (Unix seconds).
    pub at: i64,
}

/// Pseudonyms of one domain, in the order the people were given.
pub struct Pseudonymised {
    /// One per person.
    pub pseudonyms: Vec<Pseudonym>,
    /// One per person, in the same order: the secret their record keys of the cell key
    /// method come from (`OprfOutput::record_key_seed`, never sent, never a function of
    /// the pseudonym).
    pub secrets: Vec<PersonSecret>,
    /// Each batch evaluated.
    pub batches: Vec<BatchLogged>,
}

/// One batch's pseudonyms and record-key secrets, in the order of its people, and its
/// log line.
type BatchMade = (Vec<(Pseudonym, PersonSecret)>, BatchLogged);

struct Server {
    number: CustodianIndex,
    address: String,
    server_name: String,
}

/// A client of the region's custodians.
pub struct CustodianClient {
    public: PublicKeySet,
    servers: Vec<Server>,
    tls: quinn::ClientConfig,
}

impl std::fmt::Debug for CustodianClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CustodianClient(key {})", self.public.key_id())
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl CustodianClient {
    /// Reads the key set (checking the configured key id and t against it) and builds
    /// the TLS configuration from the node's certificate.
    pub fn open(
        mode: &CustodianMode,
        region_ca: &[CertificateDer<'static>],
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<CustodianClient, CustodianError> {
        let bad = |reason: String| CustodianError::KeySet {
            path: mode.key_set.clone(),
            reason,
        };
        let bytes = samla_cli_common::files::read_small(&mode.key_set, 1 << 20, "key set")
            .map_err(|e| bad(samla_cli_common::error::message(&e)))?;
        let public: PublicKeySet = samla_common::codec::decode(&bytes).map_err(|e| {
            bad(format!(
                "not a key set from `samla-custodian ceremony` ({e})"
            ))
        })?;
        if public.key_id().to_string() != mode.key_id {
            return Err(bad(format!(
                "holds key {}, but the config's custodian.key_id is {}",
                public.key_id(),
                mode.key_id
            )));
        }
        if public.threshold().required() != mode.threshold {
            return Err(bad(format!(
                "needs {} custodians, but the config's custodian.threshold is {}",
                public.threshold().required(),
                mode.threshold
            )));
        }
        let servers = mode
            .servers
            .iter()
            .map(|s| {
                let number = CustodianIndex::new(s.number)
                    .ok()
                    .filter(|n| public.key_share(*n).is_some())
                    .ok_or_else(|| {
                        bad(format!(
                            "has no custodian {} (custodian.server.number)",
                            s.number
                        ))
                    })?;
                Ok(Server {
                    number,
                    address: s.address.clone(),
                    server_name: s.server_name.clone(),
                })
            })
            .collect::<Result<Vec<_>, CustodianError>>()?;
        let tls = samla_common::tls::client_config_for(messages::ALPN, region_ca, chain, key)?;
        Ok(CustodianClient {
            public,
            servers,
            tls,
        })
    }

    /// The key id submissions made from these pseudonyms carry.
    pub fn key_id(&self) -> KeyId {
        self.public.key_id().key_id()
    }

    /// Pseudonyms of `people` in `domain`, in order (for the kommun whose certificate
    /// the node shows; the custodians take the kommun from it).
    pub fn pseudonymise(
        &self,
        _kommun: KommunCode,
        domain: &LinkageDomain,
        people: &[Personnummer],
    ) -> Result<Pseudonymised, CustodianError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| CustodianError::Setup(format!("starting a runtime: {e}")))?;
                    runtime.block_on(self.run(domain, people))
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(CustodianError::Setup(
                        "the custodian client's thread failed".to_owned(),
                    ))
                })
        })
    }

    async fn run(
        &self,
        domain: &LinkageDomain,
        people: &[Personnummer],
    ) -> Result<Pseudonymised, CustodianError> {
        let mut endpoint = quinn::Endpoint::client(SocketAddr::from(([0, 0, 0, 0], 0)))
            .map_err(|e| CustodianError::Setup(format!("opening a UDP socket: {e}")))?;
        endpoint.set_default_client_config(self.tls.clone());
        let needed = usize::from(self.public.threshold().required());
        let mut failures = Vec::new();
        // Connect to every custodian at once.
        let mut connecting = tokio::task::JoinSet::new();
        for (position, s) in self.servers.iter().enumerate() {
            let endpoint = endpoint.clone();
            let (address, name) = (s.address.clone(), s.server_name.clone());
            connecting.spawn(async move { (position, connect(&endpoint, &address, &name).await) });
        }
        let mut connections: BTreeMap<CustodianIndex, quinn::Connection> = BTreeMap::new();
        while let Some(joined) = connecting.join_next().await {
            let Ok((position, result)) = joined else {
                continue;
            };
            let s = &self.servers[position];
            match result {
                Ok(conn) => {
                    connections.insert(s.number, conn);
                }
                Err(why) => failures.push(format!("custodian {} ({}): {why}", s.number, s.address)),
            }
        }
        // The domain's keys, from t attestations.
        let mut record = None;
        let mut attestations = Vec::new();
        let mut usable: Vec<CustodianIndex> = Vec::new();
        for (number, conn) in &connections {
            let request = CustodianRequest::Domain {
                key_id: self.public.key_id(),
                domain: domain.clone(),
            };
            match ask(conn, &request).await {
                Ok(CustodianResponse::Domain {
                    record: r,
                    attestation,
                }) if attestation.custodian == *number => {
                    if attestations.len() < needed {
                        attestations.push(attestation);
                        record.get_or_insert(r);
                    }
                    usable.push(*number);
                }
                Ok(CustodianResponse::Refused(refusal)) => {
                    failures.push(format!("custodian {number}: {refusal}"))
                }
                Ok(_) => failures.push(format!("custodian {number}: an unexpected answer")),
                Err(why) => failures.push(format!("custodian {number}: {why}")),
            }
        }
        let unavailable = |usable: usize, failures: Vec<String>| CustodianError::Unavailable {
            usable,
            needed,
            failures,
        };
        let (Some(record), true) = (record, attestations.len() >= needed) else {
            return Err(unavailable(usable.len(), failures));
        };
        let keys = record
            .verify(&self.public)
            .and_then(|v| v.check_attestations(&self.public, &attestations))
            .map_err(|e| {
                unavailable(
                    0,
                    vec![format!(
                        "the domain's setup record or attestations do not verify: {}",
                        samla_cli_common::error::message(&e)
                    )],
                )
            })?;
        let keys = Arc::new(keys);
        let connections = Arc::new(connections);
        let usable = Arc::new(tokio::sync::Mutex::new(usable));
        let names: BTreeMap<CustodianIndex, String> = self
            .servers
            .iter()
            .map(|s| (s.number, format!("{} {}", s.number, s.server_name)))
            .collect();
        let names = Arc::new(names);
        // Batches, several in flight.
        let chunks: Vec<Vec<Personnummer>> = people
            .chunks(MAX_BATCH)
            .map(<[Personnummer]>::to_vec)
            .collect();
        let mut results: Vec<Option<BatchMade>> = (0..chunks.len()).map(|_| None).collect();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let mut batches = tokio::task::JoinSet::new();
        for (n, chunk) in chunks.into_iter().enumerate() {
            let permit = Arc::clone(&semaphore)
                .acquire_owned()
                .await
                .map_err(|_| CustodianError::Setup("batch limiter closed".to_owned()))?;
            let (keys, connections, usable, names, domain) = (
                Arc::clone(&keys),
                Arc::clone(&connections),
                Arc::clone(&usable),
                Arc::clone(&names),
                domain.clone(),
            );
            let public_key = self.public.key_id();
            let threshold = self.public.threshold();
            batches.spawn(async move {
                let out = batch(
                    chunk,
                    &keys,
                    &connections,
                    &usable,
                    &names,
                    &domain,
                    public_key,
                    threshold,
                )
                .await;
                drop(permit);
                (n, out)
            });
        }
        let mut first_error = None;
        while let Some(joined) = batches.join_next().await {
            match joined {
                Ok((n, Ok(done))) => results[n] = Some(done),
                Ok((_, Err(e))) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error
                        .get_or_insert(CustodianError::Setup("a batch task failed".to_owned()));
                }
            }
        }
        for conn in connections.values() {
            conn.close(quinn::VarInt::from_u32(0), b"done");
        }
        endpoint.wait_idle().await;
        if let Some(e) = first_error {
            return Err(e);
        }
        let mut pseudonyms = Vec::with_capacity(people.len());
        let mut secrets = Vec::with_capacity(people.len());
        let mut logged = Vec::new();
        for r in results.into_iter().flatten() {
            for (pseudonym, secret) in r.0 {
                pseudonyms.push(pseudonym);
                secrets.push(secret);
            }
            logged.push(r.1);
        }
        if pseudonyms.len() != people.len() {
            return Err(CustodianError::Setup("a batch went missing".to_owned()));
        }
        Ok(Pseudonymised {
            pseudonyms,
            secrets,
            batches: logged,
        })
    }
}

/// One batch: blind, ask t usable custodians at once, check and combine; on a bad
/// answer leave that custodian out and ask another subset.
#[allow(clippy::too_many_arguments)]
async fn batch(
    people: Vec<Personnummer>,
    keys: &Arc<DomainKeys>,
    connections: &BTreeMap<CustodianIndex, quinn::Connection>,
    usable: &tokio::sync::Mutex<Vec<CustodianIndex>>,
    names: &BTreeMap<CustodianIndex, String>,
    domain: &LinkageDomain,
    key_id: samla_common::oprf::output::CustodianKeyId,
    threshold: samla_common::oprf::shamir::Threshold,
) -> Result<BatchMade, CustodianError> {
    let needed = usize::from(threshold.required());
    let mut failures = Vec::new();
    loop {
        let members: Vec<CustodianIndex> =
            usable.lock().await.iter().take(needed).copied().collect();
        if members.len() < needed {
            return Err(CustodianError::Unavailable {
                usable: members.len(),
                needed,
                failures,
            });
        }
        let subset = Subset::new(members.clone(), threshold)
            .map_err(|e| CustodianError::Setup(e.to_string()))?;
        let to_blind = people.clone();
        let blinded = tokio::task::spawn_blocking(move || blind_batch(&to_blind, &mut rand::rng()))
            .await
            .map_err(|_| CustodianError::Setup("blinding failed".to_owned()))?
            .map_err(|e| CustodianError::Setup(e.to_string()))?;
        let request = CustodianRequest::Evaluate(EvaluateRequest {
            key_id,
            domain: domain.clone(),
            subset: members.clone(),
            blinded: blinded.elements().to_vec(),
        });
        let mut asks = tokio::task::JoinSet::new();
        for (position, m) in members.iter().enumerate() {
            let Some(conn) = connections.get(m).cloned() else {
                continue;
            };
            let request = request.clone();
            asks.spawn(async move { (position, ask(&conn, &request).await) });
        }
        let mut answers: Vec<Option<ShareAnswer>> = members.iter().map(|_| None).collect();
        let mut dropped = Vec::new();
        while let Some(joined) = asks.join_next().await {
            let Ok((position, result)) = joined else {
                continue;
            };
            let m = members[position];
            match result {
                Ok(CustodianResponse::Evaluated(answer)) => answers[position] = Some(answer),
                Ok(CustodianResponse::Refused(refusal @ CustodianRefusal::RateLimited { .. })) => {
                    return Err(CustodianError::RateLimited {
                        custodian: m.number(),
                        refusal,
                    })
                }
                Ok(CustodianResponse::Refused(refusal)) => {
                    failures.push(format!("custodian {m}: {refusal}"));
                    dropped.push(m);
                }
                Ok(_) => {
                    failures.push(format!("custodian {m}: an unexpected answer"));
                    dropped.push(m);
                }
                Err(why) => {
                    failures.push(format!("custodian {m}: {why}"));
                    dropped.push(m);
                }
            }
        }
        if dropped.is_empty() {
            let answers: Vec<ShareAnswer> = answers.into_iter().flatten().collect();
            let keys = Arc::clone(keys);
            let check_subset = subset.clone();
            let finished =
                tokio::task::spawn_blocking(move || blinded.finish(&keys, &check_subset, &answers))
                    .await
                    .map_err(|_| CustodianError::Setup("combining failed".to_owned()))?;
            match finished {
                Ok(outputs) => {
                    let pseudonyms = outputs
                        .iter()
                        .map(|o| {
                            let seed = o.record_key_seed();
                            (o.pseudonym(), PersonSecret::from_bytes(*seed.as_bytes()))
                        })
                        .collect();
                    let logged = BatchLogged {
                        domain: domain.clone(),
                        count: people.len(),
                        custodians: members
                            .iter()
                            .map(|m| names.get(m).cloned().unwrap_or_else(|| m.to_string()))
                            .collect(),
                        at: now(),
                    };
                    return Ok((pseudonyms, logged));
                }
                Err(e) => {
                    // A wrong-key answer names its custodian: leave it out.
                    let named = match &e {
                        ThresholdError::WrongKey { custodian }
                        | ThresholdError::Length { custodian, .. }
                        | ThresholdError::NotInSubset { custodian } => Some(*custodian),
                        _ => None,
                    };
                    tracing::warn!(error = %e, "a custodian's answer was refused");
                    failures.push(e.to_string());
                    match named {
                        Some(m) => dropped.push(m),
                        None => dropped.extend(members.iter().copied()),
                    }
                }
            }
        }
        usable.lock().await.retain(|m| !dropped.contains(m));
    }
}

async fn connect(
    endpoint: &quinn::Endpoint,
    address: &str,
    server_name: &str,
) -> Result<quinn::Connection, String> {
    let resolved = tokio::net::lookup_host(address)
        .await
        .map_err(|e| format!("cannot resolve {address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address} resolves to no address"))?;
    let connecting = endpoint
        .connect(resolved, server_name)
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
    }
}

/// One request on its own stream; the answer's length checked before it is read.
async fn ask(
    conn: &quinn::Connection,
    request: &CustodianRequest,
) -> Result<CustodianResponse, String> {
    let exchange = async {
        let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
        let frame = wire::encode_frame(request).map_err(|e| e.to_string())?;
        send.write_all(&frame).await.map_err(|e| e.to_string())?;
        let _ = send.finish();
        let mut header = [0u8; 4];
        recv.read_exact(&mut header)
            .await
            .map_err(|e| e.to_string())?;
        let length = wire::frame_length(header, FRAME_LIMIT).map_err(|e| e.to_string())?;
        let mut body = vec![0u8; length];
        recv.read_exact(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        messages::decode_response(&body).map_err(|e| e.to_string())
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))?
}
