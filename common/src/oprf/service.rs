//! A custodian's request handling without the IO: the request and the stored state in,
//! the response, the log entry and what to store out. The `samla-custodian` binary
//! keeps the state (SQLite), the clock, the QUIC server and the log's tree; every rule
//! lives here.
//!
//! The binary's order for each request is: [`Custodian::handle`] (or, to evaluate on
//! several threads, [`Custodian::admit`] under a per-kommun lock and then
//! [`Custodian::evaluate`] outside it), then store [`Handled::persist`] and append
//! [`Handled::log`] in one transaction, then send [`Handled::response`]. Nothing is
//! answered that is not stored and logged first: a rate window counts a batch before
//! its answer leaves, and a slot is bound before its opening does.

use std::collections::BTreeMap;

use rand_core::CryptoRng;

use super::ceremony::{CeremonyError, CustodianSecret, PublicKeySet, SlotNumber};
use super::domain::{DomainRecord, SetupError, SlotBound, SlotLedger};
use super::log::{CustodianEntryKind, CustodianLogEntry};
use super::messages::{CustodianRefusal, CustodianRequest, CustodianResponse, EvaluateRequest};
use super::output::CustodianKeyId;
use super::rate::{RateDecision, RateLimit, RateWindow};
use super::shamir::Subset;
use super::threshold::{DomainShareKey, ThresholdError};
use crate::codes::KommunCode;
use crate::pseudonym::LinkageDomain;

/// Who is asking, from its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A kommun's node: may evaluate and read keys and domains.
    Node(KommunCode),
    /// The region's setup coordinator: may also set domains up.
    Coordinator,
}

/// What to store before answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persist {
    /// The kommun's rate window, with this batch counted.
    RateWindow {
        /// The kommun.
        kommun: KommunCode,
        /// Its window.
        window: RateWindow,
    },
    /// A slot newly bound to a domain.
    SlotBinding {
        /// The slot.
        slot: SlotNumber,
        /// The domain.
        domain: LinkageDomain,
    },
    /// A domain's checked setup record.
    Domain(DomainRecord),
}

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Handled {
    /// What to answer, after storing and logging.
    pub response: CustodianResponse,
    /// The log entry.
    pub log: CustodianLogEntry,
    /// What to store first, in order.
    pub persist: Vec<Persist>,
}

/// Why a custodian could not start or restore its state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The secret does not match the key set.
    #[error("loading the custodian's key share")]
    Key(#[from] CeremonyError),
    /// A stored domain record does not verify.
    #[error("restoring a stored domain")]
    Domain(#[from] SetupError),
    /// A stored domain record does not give this custodian's share.
    #[error("restoring a stored domain's share")]
    Share(#[from] ThresholdError),
}

/// A batch that passed the rate limit and every check, holding the request itself so
/// that exactly the batch counted is the batch evaluated; only [`Custodian::admit`]
/// makes one, and [`Custodian::evaluate`] requires it.
#[derive(Debug)]
#[must_use]
pub struct Admitted {
    kommun: KommunCode,
    subset: Subset,
    window: RateWindow,
    request: EvaluateRequest,
}

impl Admitted {
    /// The kommun's rate window with this batch counted: a binary that evaluates
    /// several batches of one kommun at once holds this as the kommun's window for
    /// the next admission, before this batch's answer is stored.
    pub fn window(&self) -> RateWindow {
        self.window
    }

    /// Elements in the batch.
    pub fn count(&self) -> usize {
        self.request.blinded.len()
    }
}

/// One custodian: its key share, the domains set up, its slot ledger and its limit.
pub struct Custodian {
    public: PublicKeySet,
    secret: CustodianSecret,
    domains: BTreeMap<LinkageDomain, (DomainRecord, DomainShareKey)>,
    ledger: SlotLedger,
    limit: RateLimit,
}

impl Custodian {
    /// A custodian from its checked secret, with no domains yet.
    pub fn new(
        public: PublicKeySet,
        secret: CustodianSecret,
        limit: RateLimit,
    ) -> Result<Custodian, ServiceError> {
        secret.check(&public)?;
        Ok(Custodian {
            public,
            secret,
            domains: BTreeMap::new(),
            ledger: SlotLedger::default(),
            limit,
        })
    }

    /// Restores stored state: the slot bindings and every stored domain record (each
    /// checked again, as every stored byte is where it is read).
    pub fn restore(
        &mut self,
        bindings: impl IntoIterator<Item = (SlotNumber, LinkageDomain)>,
        records: impl IntoIterator<Item = DomainRecord>,
    ) -> Result<(), ServiceError> {
        self.ledger = SlotLedger::from_bindings(bindings);
        for record in records {
            self.add_domain(record)?;
        }
        Ok(())
    }

    /// Which custodian of the key set this is.
    pub fn custodian(&self) -> super::shamir::CustodianIndex {
        self.secret.custodian()
    }

    /// The linkage domains set up here.
    pub fn domains(&self) -> impl Iterator<Item = &LinkageDomain> {
        self.domains.keys()
    }

    /// The key id of the key this custodian holds a share of.
    pub fn key_id(&self) -> CustodianKeyId {
        self.public.key_id()
    }

    fn add_domain(&mut self, record: DomainRecord) -> Result<(), ServiceError> {
        let verified = record.verify(&self.public)?;
        let share = self.secret.domain_share(&verified)?;
        self.domains.insert(record.domain.clone(), (record, share));
        Ok(())
    }

    fn entry(
        &self,
        now: i64,
        kind: CustodianEntryKind,
        kommun: Option<KommunCode>,
        domain: Option<&LinkageDomain>,
        count: usize,
        note: &str,
    ) -> CustodianLogEntry {
        CustodianLogEntry {
            kind,
            at: now,
            kommun,
            key_id: self.key_id(),
            domain: domain.cloned(),
            count: u64::try_from(count).unwrap_or(u64::MAX),
            note: note.to_owned(),
        }
    }

    fn refuse(
        &self,
        now: i64,
        kommun: Option<KommunCode>,
        domain: Option<&LinkageDomain>,
        count: usize,
        refusal: CustodianRefusal,
    ) -> Handled {
        let note = match &refusal {
            CustodianRefusal::RateLimited { .. } => "rate_limited",
            CustodianRefusal::UnknownKey { .. } => "unknown_key",
            CustodianRefusal::UnknownDomain { .. } => "unknown_domain",
            CustodianRefusal::Subset { .. } => "bad_subset",
            CustodianRefusal::EmptyBatch => "empty_batch",
            CustodianRefusal::Setup { .. } => "setup_refused",
            CustodianRefusal::NotAllowed { .. } => "not_allowed",
            CustodianRefusal::Busy => "busy",
        };
        Handled {
            response: CustodianResponse::Refused(refusal),
            log: self.entry(
                now,
                CustodianEntryKind::Refused,
                kommun,
                domain,
                count,
                note,
            ),
            persist: Vec::new(),
        }
    }

    /// Checks a batch and decides on it under the rate limit, given the kommun's
    /// stored window. Run it under a lock on that window; a refusal is complete (log
    /// it and answer), an admission is evaluated by [`Custodian::evaluate`].
    pub fn admit(
        &self,
        now: i64,
        kommun: KommunCode,
        stored: Option<RateWindow>,
        request: EvaluateRequest,
    ) -> Result<Admitted, Box<Handled>> {
        let count = request.blinded.len();
        let domain = Some(&request.domain);
        let refuse = |refusal| Box::new(self.refuse(now, Some(kommun), domain, count, refusal));
        if request.key_id != self.key_id() {
            return Err(refuse(CustodianRefusal::UnknownKey {
                key_id: request.key_id,
            }));
        }
        if !self.domains.contains_key(&request.domain) {
            return Err(refuse(CustodianRefusal::UnknownDomain {
                domain: request.domain.clone(),
            }));
        }
        let subset = match Subset::new(request.subset.clone(), self.public.threshold()) {
            Ok(s) if s.contains(self.secret.custodian()) => s,
            Ok(_) => {
                return Err(refuse(CustodianRefusal::Subset {
                    reason: format!("custodian {} is not in it", self.secret.custodian()),
                }))
            }
            Err(e) => {
                return Err(refuse(CustodianRefusal::Subset {
                    reason: e.to_string(),
                }))
            }
        };
        if count == 0 {
            return Err(refuse(CustodianRefusal::EmptyBatch));
        }
        match self
            .limit
            .decide(stored, now, u64::try_from(count).unwrap_or(u64::MAX))
        {
            RateDecision::Allowed { window, .. } => Ok(Admitted {
                kommun,
                subset,
                window,
                request,
            }),
            RateDecision::Refused {
                used,
                limit,
                resets_at,
            } => Err(refuse(CustodianRefusal::RateLimited {
                used,
                limit,
                requested: u64::try_from(count).unwrap_or(u64::MAX),
                resets_at,
            })),
        }
    }

    /// Evaluates an admitted batch: the answer, its log entry and the rate window to
    /// store. Takes `&self`, so batches can be evaluated on several threads at once.
    pub fn evaluate<R: CryptoRng + ?Sized>(
        &self,
        now: i64,
        admitted: Admitted,
        rng: &mut R,
    ) -> Handled {
        let request = &admitted.request;
        let kommun = Some(admitted.kommun);
        let count = request.blinded.len();
        let Some((_, share)) = self.domains.get(&request.domain) else {
            let refusal = CustodianRefusal::UnknownDomain {
                domain: request.domain.clone(),
            };
            return self.refuse(now, kommun, Some(&request.domain), count, refusal);
        };
        match share.evaluate(&admitted.subset, &request.blinded, rng) {
            Ok(answer) => Handled {
                response: CustodianResponse::Evaluated(answer),
                log: self.entry(
                    now,
                    CustodianEntryKind::Evaluated,
                    kommun,
                    Some(&request.domain),
                    count,
                    "",
                ),
                persist: vec![Persist::RateWindow {
                    kommun: admitted.kommun,
                    window: admitted.window,
                }],
            },
            Err(e) => {
                let refusal = CustodianRefusal::Subset {
                    reason: e.to_string(),
                };
                self.refuse(now, kommun, Some(&request.domain), count, refusal)
            }
        }
    }

    /// Handles one request. `stored` is the caller's rate window (used only to
    /// evaluate). The state changes a setup step makes are already applied here and
    /// listed in [`Handled::persist`] for the binary to store.
    pub fn handle<R: CryptoRng + ?Sized>(
        &mut self,
        now: i64,
        caller: Caller,
        stored: Option<RateWindow>,
        request: CustodianRequest,
        rng: &mut R,
    ) -> Handled {
        let kommun = match caller {
            Caller::Node(k) => Some(k),
            Caller::Coordinator => None,
        };
        match request {
            CustodianRequest::KeySet => Handled {
                response: CustodianResponse::KeySet(self.public.clone()),
                log: self.entry(now, CustodianEntryKind::KeySetRead, kommun, None, 0, ""),
                persist: Vec::new(),
            },
            CustodianRequest::Domain { key_id, domain } => {
                self.attest_domain(now, kommun, key_id, domain, rng)
            }
            CustodianRequest::Evaluate(request) => {
                let Caller::Node(kommun) = caller else {
                    let refusal = CustodianRefusal::NotAllowed {
                        what: "evaluating (only a kommun's node evaluates)".to_owned(),
                    };
                    let count = request.blinded.len();
                    return self.refuse(now, None, Some(&request.domain), count, refusal);
                };
                match self.admit(now, kommun, stored, request) {
                    Ok(admitted) => self.evaluate(now, admitted, rng),
                    Err(refused) => *refused,
                }
            }
            CustodianRequest::OpenTweak {
                key_id,
                domain,
                slot,
            } => {
                if let Some(refused) = self.setup_allowed(now, caller, key_id, &domain) {
                    return refused;
                }
                let opened = self
                    .ledger
                    .bind(slot, &domain, &self.public)
                    .and_then(|bound| Ok((self.secret.open_tweak(&bound)?, bound)));
                match opened {
                    Ok((opening, bound)) => {
                        self.opened(now, CustodianResponse::TweakOpened(opening), bound, "tweak")
                    }
                    Err(e) => self.setup_refused(now, &domain, &e),
                }
            }
            CustodianRequest::OpenProduct {
                key_id,
                domain,
                slot,
                tweaks,
            } => {
                if let Some(refused) = self.setup_allowed(now, caller, key_id, &domain) {
                    return refused;
                }
                let opened = self
                    .ledger
                    .bind(slot, &domain, &self.public)
                    .and_then(|bound| {
                        let opening = self.secret.open_product(&self.public, &bound, &tweaks)?;
                        Ok((opening, bound))
                    });
                match opened {
                    Ok((opening, bound)) => self.opened(
                        now,
                        CustodianResponse::ProductOpened(opening),
                        bound,
                        "product",
                    ),
                    Err(e) => self.setup_refused(now, &domain, &e),
                }
            }
            CustodianRequest::StoreDomain(record) => {
                let domain = record.domain.clone();
                let key_id = self.key_id();
                if let Some(refused) = self.setup_allowed(now, caller, key_id, &domain) {
                    return refused;
                }
                self.store_domain(now, record)
            }
        }
    }

    /// Checks a record, binds its slot, and keeps its share: verified before anything
    /// changes, so a bad record spends no slot.
    fn store_domain(&mut self, now: i64, record: DomainRecord) -> Handled {
        let domain = record.domain.clone();
        let share = match record
            .verify(&self.public)
            .map_err(ServiceError::from)
            .and_then(|v| Ok(self.secret.domain_share(&v)?))
        {
            Ok(share) => share,
            Err(e) => return self.setup_refused(now, &domain, &e),
        };
        let bound = match self.ledger.bind(record.slot, &domain, &self.public) {
            Ok(bound) => bound,
            Err(e) => return self.setup_refused(now, &domain, &e),
        };
        let note = format!("slot {}", record.slot.0);
        let mut persist = Vec::new();
        if bound.is_new() {
            persist.push(Persist::SlotBinding {
                slot: record.slot,
                domain: domain.clone(),
            });
        }
        persist.push(Persist::Domain(record.clone()));
        self.domains.insert(domain.clone(), (record, share));
        Handled {
            response: CustodianResponse::DomainStored,
            log: self.entry(
                now,
                CustodianEntryKind::DomainStored,
                None,
                Some(&domain),
                0,
                &note,
            ),
            persist,
        }
    }

    /// A domain's record and this custodian's attestation of its keys.
    fn attest_domain<R: CryptoRng + ?Sized>(
        &self,
        now: i64,
        kommun: Option<KommunCode>,
        key_id: CustodianKeyId,
        domain: LinkageDomain,
        rng: &mut R,
    ) -> Handled {
        if key_id != self.key_id() {
            let refusal = CustodianRefusal::UnknownKey { key_id };
            return self.refuse(now, kommun, Some(&domain), 0, refusal);
        }
        let Some((record, _)) = self.domains.get(&domain) else {
            let refusal = CustodianRefusal::UnknownDomain {
                domain: domain.clone(),
            };
            return self.refuse(now, kommun, Some(&domain), 0, refusal);
        };
        let attested = record
            .verify(&self.public)
            .and_then(|v| self.secret.attest(&self.public, &v, rng));
        match attested {
            Ok(attestation) => Handled {
                response: CustodianResponse::Domain {
                    record: record.clone(),
                    attestation,
                },
                log: self.entry(
                    now,
                    CustodianEntryKind::DomainRead,
                    kommun,
                    Some(&domain),
                    0,
                    "",
                ),
                persist: Vec::new(),
            },
            Err(e) => self.setup_refused(now, &domain, &e),
        }
    }

    /// A refusal unless the coordinator asks about this custodian's key.
    fn setup_allowed(
        &self,
        now: i64,
        caller: Caller,
        key_id: CustodianKeyId,
        domain: &LinkageDomain,
    ) -> Option<Handled> {
        let kommun = match caller {
            Caller::Node(k) => Some(k),
            Caller::Coordinator => None,
        };
        if caller != Caller::Coordinator {
            let refusal = CustodianRefusal::NotAllowed {
                what: "setting domains up (only the setup coordinator does)".to_owned(),
            };
            return Some(self.refuse(now, kommun, Some(domain), 0, refusal));
        }
        if key_id != self.key_id() {
            let refusal = CustodianRefusal::UnknownKey { key_id };
            return Some(self.refuse(now, kommun, Some(domain), 0, refusal));
        }
        None
    }

    fn opened(
        &self,
        now: i64,
        response: CustodianResponse,
        bound: SlotBound,
        round: &str,
    ) -> Handled {
        let note = format!("{round} slot {}", bound.slot().0);
        let log = self.entry(
            now,
            CustodianEntryKind::SetupOpened,
            None,
            Some(bound.domain()),
            0,
            &note,
        );
        let persist = if bound.is_new() {
            vec![Persist::SlotBinding {
                slot: bound.slot(),
                domain: bound.domain().clone(),
            }]
        } else {
            Vec::new()
        };
        Handled {
            response,
            log,
            persist,
        }
    }

    fn setup_refused(
        &self,
        now: i64,
        domain: &LinkageDomain,
        error: &dyn std::error::Error,
    ) -> Handled {
        let refusal = CustodianRefusal::Setup {
            reason: chain(error),
        };
        self.refuse(now, None, Some(domain), 0, refusal)
    }
}

/// An error and its sources, joined by ": ".
fn chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        parts.push(e.to_string());
        source = e.source();
    }
    parts.join(": ")
}
