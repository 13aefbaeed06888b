//! Per-domain setup: the custodians come to hold shares `s_i` of
//! `s_d = (sk + m_d)^-1` for a linkage domain `d`, without anyone learning `sk` or
//! `s_d`, and everyone can check the result.
//!
//! POPRF evaluates `(sk + m_d)^-1 · B`, which is not linear in `sk`, so shares of `sk`
//! cannot be combined into it; shares of `s_d` can (`Σ λ_i s_i·B = s_d·B`). Setup
//! spends one slot of the ceremony, a triple `(a, b, c = a·b)` shared t-of-n, in two
//! rounds with any t custodians (Beaver's multiplication, then Bar-Ilan–Beaver's
//! inversion):
//!
//! 1. each custodian opens `e_i = sk_i + m_d − b_i`; they interpolate to
//!    `e = sk + m_d − b`, uniform because `b` is;
//! 2. given the opened `e_i`, each custodian opens `u_i = c_i + e·a_i`, a share of
//!    `a·(sk + m_d)`; they interpolate to `u`, uniform because `a` is;
//! 3. every custodian's share is `s_i = u^-1·a_i`, and its public share key is
//!    `S_i = u^-1·(a_i·G)`, from the ceremony's commitment: even custodians absent from
//!    the setup get theirs from the public [`DomainRecord`].
//!
//! Every opened value is checked against the ceremony's commitments
//! (`e_i·G = pk_i + m_d·G − b_i·G`, `u_i·G = c_i·G + e·a_i·G`), so a custodian that
//! opens a wrong value is named, not just detected. Finally each custodian attests
//! `T_i = sk_i·S_d` with a DLEQ proof against `pk_i`, and the node accepts the domain's
//! keys only if `Σ λ_i T_i + m_d·S_d = G`, i.e. `S_d = (sk + m_d)^-1·G` under the
//! published key: that check binds the domain's keys to the key id, whatever the
//! dealer or the custodians did. A slot serves exactly one domain ([`SlotLedger`]):
//! spending it twice would reveal `sk`.

use std::collections::BTreeMap;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::ceremony::{position, CustodianSecret, PublicKeySet, SlotNumber};
use super::dleq::{Proof, Statement};
use super::group::{self, Element, Mode, PublicScalar};
use super::output::CustodianKeyId;
use super::poprf;
use super::shamir::{CustodianIndex, ShamirError, Subset, Threshold};
use crate::pseudonym::LinkageDomain;

/// The prefix of the POPRF public input; the domain's name follows it.
const PUBLIC_INPUT_PREFIX: &[u8] = b"samla linkage domain v1 ";

/// The POPRF public input (`info`) of a linkage domain:
/// `"samla linkage domain v1 " ‖ utf8(domain)`.
pub fn public_input(domain: &LinkageDomain) -> Vec<u8> {
    let mut info = PUBLIC_INPUT_PREFIX.to_vec();
    info.extend_from_slice(domain.as_str().as_bytes());
    info
}

/// Why a domain setup step or check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The slot is already spent on another domain.
    #[error("slot {} is spent on domain {bound}", slot.0)]
    SlotTaken {
        /// The slot.
        slot: SlotNumber,
        /// The domain it serves.
        bound: LinkageDomain,
    },
    /// The key set has no such slot.
    #[error("slot {} is not in the key set (it has {count}); deal more slots", slot.0)]
    NoSlot {
        /// The slot asked for.
        slot: SlotNumber,
        /// Slots in the key set.
        count: usize,
    },
    /// A custodian opened a value that does not match the ceremony's commitments.
    #[error("custodian {custodian} opened a wrong {what} value")]
    WrongOpening {
        /// Who.
        custodian: CustodianIndex,
        /// Which round: `tweak` or `product`.
        what: &'static str,
    },
    /// A custodian's attestation of the domain key does not verify.
    #[error("custodian {custodian}'s attestation of the domain key does not verify")]
    WrongAttestation {
        /// Who.
        custodian: CustodianIndex,
    },
    /// The attestations do not show the domain key is `(sk + m_d)^-1·G`.
    #[error("the domain's keys are not made from the published key")]
    NotFromKey,
    /// The custodians answering are not a usable subset.
    #[error("the custodians answering")]
    Subset(#[source] ShamirError),
    /// `u` is zero (probability 2^-252): the slot is spent; set up with another.
    #[error("slot {} gave a degenerate value; set the domain up with another slot", slot.0)]
    Degenerate {
        /// The slot.
        slot: SlotNumber,
    },
    /// The record or attestation is for another domain.
    #[error("the record is for domain {found}, not {expected}")]
    OtherDomain {
        /// The domain found.
        found: LinkageDomain,
        /// The domain expected.
        expected: LinkageDomain,
    },
    /// The public input is longer than RFC 9497 can frame.
    #[error("the domain's public input")]
    Input(#[source] super::OprfError),
}

/// Which slot serves which domain, at one custodian. The custodian persists every new
/// binding ([`SlotBound::is_new`]) before it answers: a slot opened for two domains
/// reveals `sk` to whoever sees both setups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotLedger {
    bindings: BTreeMap<SlotNumber, LinkageDomain>,
}

/// Proof that a slot is bound to a domain in a [`SlotLedger`]; only
/// [`SlotLedger::bind`] makes one, and the setup steps require it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotBound {
    slot: SlotNumber,
    domain: LinkageDomain,
    tweak: Scalar,
    new: bool,
}

impl SlotBound {
    /// Whether this binding is new: persist it before answering.
    pub fn is_new(&self) -> bool {
        self.new
    }

    /// The slot.
    pub fn slot(&self) -> SlotNumber {
        self.slot
    }

    /// The domain.
    pub fn domain(&self) -> &LinkageDomain {
        &self.domain
    }
}

impl SlotLedger {
    /// A ledger from stored bindings.
    pub fn from_bindings(
        bindings: impl IntoIterator<Item = (SlotNumber, LinkageDomain)>,
    ) -> SlotLedger {
        SlotLedger {
            bindings: bindings.into_iter().collect(),
        }
    }

    /// Binds `slot` to `domain`, or confirms it is already; refuses a slot spent on
    /// another domain, a domain already served by another slot, or a slot the key set
    /// does not have.
    pub fn bind(
        &mut self,
        slot: SlotNumber,
        domain: &LinkageDomain,
        public: &PublicKeySet,
    ) -> Result<SlotBound, SetupError> {
        if public.slot(slot).is_none() {
            return Err(SetupError::NoSlot {
                slot,
                count: public.slot_count(),
            });
        }
        if let Some(bound) = self.bindings.get(&slot) {
            if bound != domain {
                return Err(SetupError::SlotTaken {
                    slot,
                    bound: bound.clone(),
                });
            }
        }
        if let Some((other, _)) = self
            .bindings
            .iter()
            .find(|(s, d)| *d == domain && **s != slot)
        {
            return Err(SetupError::SlotTaken {
                slot: *other,
                bound: domain.clone(),
            });
        }
        let new = self.bindings.insert(slot, domain.clone()).is_none();
        Ok(SlotBound {
            slot,
            domain: domain.clone(),
            tweak: domain_tweak(domain)?,
            new,
        })
    }

    /// Every binding, for storage.
    pub fn bindings(&self) -> impl Iterator<Item = (&SlotNumber, &LinkageDomain)> {
        self.bindings.iter()
    }
}

/// `m_d`, the POPRF tweak of a domain.
fn domain_tweak(domain: &LinkageDomain) -> Result<Scalar, SetupError> {
    poprf::tweak(&public_input(domain)).map_err(SetupError::Input)
}

/// Round 1's opened value from one custodian: `e_i = sk_i + m_d − b_i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TweakOpening {
    /// Who opened it.
    pub custodian: CustodianIndex,
    /// `e_i`.
    pub value: PublicScalar,
}

/// Round 2's opened value from one custodian: `u_i = c_i + e·a_i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOpening {
    /// Who opened it.
    pub custodian: CustodianIndex,
    /// `u_i`.
    pub value: PublicScalar,
}

impl CustodianSecret {
    /// Round 1: opens `e_i` for the bound slot.
    pub fn open_tweak(&self, bound: &SlotBound) -> Result<TweakOpening, SetupError> {
        let shares = self.slot_shares(bound.slot)?;
        Ok(TweakOpening {
            custodian: self.custodian,
            value: PublicScalar(self.key_share + bound.tweak - shares.b),
        })
    }

    /// Round 2: checks round 1's openings (from at least t custodians) against the
    /// commitments and opens `u_i = c_i + e·a_i`. Since checked openings determine `e`,
    /// no two answers for one slot can differ (two would reveal `a_i`).
    pub fn open_product(
        &self,
        public: &PublicKeySet,
        bound: &SlotBound,
        tweaks: &[TweakOpening],
    ) -> Result<ProductOpening, SetupError> {
        let e = check_tweaks(public, bound.slot, &bound.tweak, tweaks)?;
        let shares = self.slot_shares(bound.slot)?;
        Ok(ProductOpening {
            custodian: self.custodian,
            value: PublicScalar(shares.c + e * shares.a),
        })
    }

    /// Attests the domain key: `T_i = sk_i·S_d` with a DLEQ proof against `pk_i`.
    pub fn attest<R: CryptoRng + ?Sized>(
        &self,
        public: &PublicKeySet,
        domain: &VerifiedDomain,
        rng: &mut R,
    ) -> Result<DomainAttestation, SetupError> {
        let key = public
            .key_share(self.custodian)
            .ok_or(SetupError::NotFromKey)?;
        let value = Element::from_point(self.key_share * domain.domain_key.point())
            .ok_or(SetupError::NotFromKey)?;
        let statement = Statement {
            mode: Mode::Voprf,
            key,
            c: std::slice::from_ref(&domain.domain_key),
            d: std::slice::from_ref(&value),
        };
        let proof = statement.prove(&self.key_share, &group::random_scalar(rng));
        Ok(DomainAttestation {
            custodian: self.custodian,
            domain: domain.domain.clone(),
            value,
            proof,
        })
    }

    fn slot_shares(&self, slot: SlotNumber) -> Result<&super::ceremony::SlotShares, SetupError> {
        self.slots
            .get(usize::from(slot.0))
            .ok_or(SetupError::NoSlot {
                slot,
                count: self.slots.len(),
            })
    }
}

/// The subset of custodians that opened `openings`, in order.
fn openers(
    custodians: impl Iterator<Item = CustodianIndex>,
    threshold: Threshold,
) -> Result<Subset, SetupError> {
    Subset::new(custodians.collect(), threshold).map_err(SetupError::Subset)
}

/// Checks round 1's openings against `pk_i + m·G − b_i·G` and returns `e`.
fn check_tweaks(
    public: &PublicKeySet,
    slot: SlotNumber,
    tweak: &Scalar,
    tweaks: &[TweakOpening],
) -> Result<Scalar, SetupError> {
    let subset = openers(tweaks.iter().map(|t| t.custodian), public.threshold())?;
    let commitments = public.slot(slot).ok_or(SetupError::NoSlot {
        slot,
        count: public.slot_count(),
    })?;
    let m_g = RistrettoPoint::mul_base(tweak);
    for opening in tweaks {
        let i = opening.custodian;
        let wrong = SetupError::WrongOpening {
            custodian: i,
            what: "tweak",
        };
        let pk_i = public.key_share(i).ok_or(wrong.clone())?;
        let b_i = commitments.b.get(position(i)).ok_or(wrong.clone())?;
        if RistrettoPoint::mul_base(&opening.value.0) != pk_i.point() + m_g - b_i.point() {
            return Err(wrong);
        }
    }
    let values: Vec<Scalar> = tweaks.iter().map(|t| t.value.0).collect();
    Ok(subset.interpolate_at(&values, Scalar::ZERO))
}

/// The public record of a domain's setup: both rounds' openings. Stored by every
/// custodian and node; [`DomainRecord::verify`] rechecks it against the key set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRecord {
    /// The domain.
    pub domain: LinkageDomain,
    /// The slot spent.
    pub slot: SlotNumber,
    /// Round 1, from at least t custodians, in custodian order.
    #[serde(deserialize_with = "super::messages::bounded_custodians")]
    pub tweaks: Vec<TweakOpening>,
    /// Round 2, from at least t custodians, in custodian order.
    #[serde(deserialize_with = "super::messages::bounded_custodians")]
    pub products: Vec<ProductOpening>,
}

/// A domain's public keys after its record was checked: only [`DomainRecord::verify`]
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDomain {
    pub(crate) domain: LinkageDomain,
    pub(crate) key_id: CustodianKeyId,
    pub(crate) threshold: Threshold,
    pub(crate) info: Vec<u8>,
    pub(crate) tweak: Scalar,
    pub(crate) slot: SlotNumber,
    pub(crate) u_inverse: Scalar,
    /// `S_i`, custodian `i` at position `i − 1`.
    pub(crate) share_keys: Vec<Element>,
    /// `S_d = (sk + m_d)^-1·G`.
    pub(crate) domain_key: Element,
}

impl DomainRecord {
    /// Checks every opening against the key set and computes the domain's keys.
    pub fn verify(&self, public: &PublicKeySet) -> Result<VerifiedDomain, SetupError> {
        let tweak = domain_tweak(&self.domain)?;
        let e = check_tweaks(public, self.slot, &tweak, &self.tweaks)?;
        let commitments = public.slot(self.slot).ok_or(SetupError::NoSlot {
            slot: self.slot,
            count: public.slot_count(),
        })?;
        let subset = openers(
            self.products.iter().map(|p| p.custodian),
            public.threshold(),
        )?;
        for opening in &self.products {
            let i = opening.custodian;
            let wrong = SetupError::WrongOpening {
                custodian: i,
                what: "product",
            };
            let a_i = commitments.a.get(position(i)).ok_or(wrong.clone())?;
            let c_i = commitments.c.get(position(i)).ok_or(wrong.clone())?;
            if RistrettoPoint::mul_base(&opening.value.0) != c_i.point() + e * a_i.point() {
                return Err(wrong);
            }
        }
        let values: Vec<Scalar> = self.products.iter().map(|p| p.value.0).collect();
        let u = subset.interpolate_at(&values, Scalar::ZERO);
        if u == Scalar::ZERO {
            return Err(SetupError::Degenerate { slot: self.slot });
        }
        let u_inverse = u.invert();
        let degenerate = SetupError::Degenerate { slot: self.slot };
        let share_keys = commitments
            .a
            .iter()
            .map(|a_i| Element::from_point(u_inverse * a_i.point()).ok_or(degenerate.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let all = Subset::new(public.threshold().all().collect(), public.threshold())
            .map_err(SetupError::Subset)?;
        let points: Vec<RistrettoPoint> = share_keys.iter().map(|s| *s.point()).collect();
        let domain_key = Element::from_point(all.interpolate_points_at(&points, Scalar::ZERO))
            .ok_or(degenerate)?;
        Ok(VerifiedDomain {
            domain: self.domain.clone(),
            key_id: public.key_id(),
            threshold: public.threshold(),
            info: public_input(&self.domain),
            tweak,
            slot: self.slot,
            u_inverse,
            share_keys,
            domain_key,
        })
    }
}

impl VerifiedDomain {
    /// The domain.
    pub fn domain(&self) -> &LinkageDomain {
        &self.domain
    }

    /// The slot it spent.
    pub fn slot(&self) -> SlotNumber {
        self.slot
    }

    /// `S_d = (sk + m_d)^-1·G`, the domain's combined key.
    pub fn domain_key(&self) -> &Element {
        &self.domain_key
    }

    /// Checks at least t custodians' attestations: each DLEQ proof against `pk_i`, and
    /// `Σ λ_i T_i + m_d·S_d = G`. The node evaluates only with keys that passed.
    pub fn check_attestations(
        &self,
        public: &PublicKeySet,
        attestations: &[DomainAttestation],
    ) -> Result<DomainKeys, SetupError> {
        let subset = openers(attestations.iter().map(|a| a.custodian), public.threshold())?;
        for attestation in attestations {
            let i = attestation.custodian;
            if attestation.domain != self.domain {
                return Err(SetupError::OtherDomain {
                    found: attestation.domain.clone(),
                    expected: self.domain.clone(),
                });
            }
            let key = public
                .key_share(i)
                .ok_or(SetupError::WrongAttestation { custodian: i })?;
            let statement = Statement {
                mode: Mode::Voprf,
                key,
                c: std::slice::from_ref(&self.domain_key),
                d: std::slice::from_ref(&attestation.value),
            };
            if !statement.verify(&attestation.proof) {
                return Err(SetupError::WrongAttestation { custodian: i });
            }
        }
        let points: Vec<RistrettoPoint> = attestations.iter().map(|a| *a.value.point()).collect();
        let sum = subset.interpolate_points_at(&points, Scalar::ZERO)
            + self.tweak * self.domain_key.point();
        if sum != RistrettoPoint::mul_base(&Scalar::ONE) {
            return Err(SetupError::NotFromKey);
        }
        Ok(DomainKeys(self.clone()))
    }
}

/// A custodian's attestation that the domain key is made from its key share:
/// `T_i = sk_i·S_d` with a DLEQ proof over `(G, pk_i, S_d, T_i)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainAttestation {
    /// Who attests.
    pub custodian: CustodianIndex,
    /// The domain.
    pub domain: LinkageDomain,
    /// `T_i`.
    pub value: Element,
    /// The DLEQ proof.
    pub proof: Proof,
}

/// A domain's keys after the node checked the record and t attestations: what the
/// node checks every custodian's answer against. Only
/// [`VerifiedDomain::check_attestations`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainKeys(pub(crate) VerifiedDomain);

impl DomainKeys {
    /// The domain.
    pub fn domain(&self) -> &LinkageDomain {
        &self.0.domain
    }

    /// The key id the pseudonyms of this domain are made under.
    pub fn key_id(&self) -> CustodianKeyId {
        self.0.key_id
    }

    /// t of n.
    pub fn threshold(&self) -> Threshold {
        self.0.threshold
    }

    /// `S_i` of custodian `i`.
    pub(crate) fn share_key(&self, i: CustodianIndex) -> Option<&Element> {
        self.0.share_keys.get(position(i))
    }
}
