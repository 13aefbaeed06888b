//! Threshold evaluation: what a custodian answers with its domain share, and how a
//! node turns t answers into RFC 9497 POPRF outputs.
//!
//! Custodian `i` of a subset `Q` holds `s_i`, a share of `s_d = (sk + m_d)^-1`. For a
//! batch of blinded elements `B_j` it answers `Z_ij = (λ_i s_i)·B_j` with one RFC 9497
//! VOPRF (mode 0x01) proof under the key `λ_i s_i`: the custodian applies its own
//! Lagrange coefficient for `Q` (it computes `λ_i` from `Q` itself), so the node only
//! adds. The node checks each answer's proof against `λ_i·S_i`, from the domain's
//! checked share keys, and refuses any answer that fails: a wrong-key answer never
//! reaches an output. Then `Σ_i Z_ij = s_d·B_j = (sk + m_d)^-1·B_j`, exactly the
//! single-server POPRF evaluation, and the node unblinds and finalizes as RFC 9497
//! POPRF `Finalize` does.
//!
//! Batches are independent: a caller with several cores blinds, sends and finishes
//! several batches at once (every function takes `&self` keys and owns its batch).

use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::ceremony::{position, CustodianSecret};
use super::dleq::Proof;
use super::domain::{DomainKeys, VerifiedDomain};
use super::group::{self, Element};
use super::output::CustodianKeyId;
use super::poprf::{self, OprfOutput};
use super::shamir::{CustodianIndex, Subset};
use super::OprfError;
use crate::personnummer::Personnummer;
use crate::pseudonym::LinkageDomain;

/// Why a threshold evaluation failed. Never carries an input, an output or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    /// A custodian's answer does not verify against its published share key.
    #[error("custodian {custodian}'s answer was not made with its published key; it is refused")]
    WrongKey {
        /// Who answered.
        custodian: CustodianIndex,
    },
    /// A custodian answered a different number of elements than were sent.
    #[error("custodian {custodian} answered {found} elements for {expected} sent")]
    Length {
        /// Who answered.
        custodian: CustodianIndex,
        /// Elements sent.
        expected: usize,
        /// Elements answered.
        found: usize,
    },
    /// The answers are not exactly one from each member of the subset, in order.
    #[error("the answers are not one from each custodian of the chosen subset")]
    Answers,
    /// The custodian is not in the subset it was asked to answer for.
    #[error("custodian {custodian} is not in the subset it was asked to answer for")]
    NotInSubset {
        /// The custodian.
        custodian: CustodianIndex,
    },
    /// The custodian's secret does not give its published share key for the domain.
    #[error("custodian {custodian}'s secret does not match the domain's share key")]
    ShareMismatch {
        /// The custodian.
        custodian: CustodianIndex,
    },
    /// An RFC 9497 step failed.
    #[error("evaluating the batch")]
    Oprf(#[from] OprfError),
}

/// A custodian's share `s_i` of one domain's `(sk + m_d)^-1`. Zeroized on drop; no
/// `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DomainShareKey {
    #[zeroize(skip)]
    custodian: CustodianIndex,
    #[zeroize(skip)]
    domain: LinkageDomain,
    #[zeroize(skip)]
    key_id: CustodianKeyId,
    share: Scalar,
}

impl CustodianSecret {
    /// The custodian's share of a set-up domain, `s_i = u^-1·a_i`, checked against the
    /// domain's public share key `S_i`.
    pub fn domain_share(&self, domain: &VerifiedDomain) -> Result<DomainShareKey, ThresholdError> {
        let mismatch = ThresholdError::ShareMismatch {
            custodian: self.custodian,
        };
        let slot = self
            .slots
            .get(usize::from(domain.slot.0))
            .ok_or(mismatch.clone())?;
        let share = domain.u_inverse * slot.a;
        let public = domain
            .share_keys
            .get(position(self.custodian))
            .ok_or(mismatch.clone())?;
        if RistrettoPoint::mul_base(&share) != *public.point() {
            return Err(mismatch);
        }
        Ok(DomainShareKey {
            custodian: self.custodian,
            domain: domain.domain.clone(),
            key_id: domain.key_id,
            share,
        })
    }
}

/// One custodian's answer to a batch: `(λ_i s_i)·B_j` for every element, and one
/// VOPRF proof for the batch under the key `λ_i s_i`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareAnswer {
    /// Who answered.
    pub custodian: CustodianIndex,
    /// One element per element sent, in order.
    #[serde(deserialize_with = "super::messages::bounded_elements")]
    pub evaluated: Vec<Element>,
    /// The batch's proof.
    pub proof: Proof,
}

impl DomainShareKey {
    /// Which custodian holds it.
    pub fn custodian(&self) -> CustodianIndex {
        self.custodian
    }

    /// The domain.
    pub fn domain(&self) -> &LinkageDomain {
        &self.domain
    }

    /// The key id of the key it is a share of.
    pub fn key_id(&self) -> CustodianKeyId {
        self.key_id
    }

    /// Evaluates a batch for the subset `subset` (which must include this custodian).
    pub fn evaluate<R: CryptoRng + ?Sized>(
        &self,
        subset: &Subset,
        blinded: &[Element],
        rng: &mut R,
    ) -> Result<ShareAnswer, ThresholdError> {
        self.evaluate_with_nonce(subset, blinded, &group::random_scalar(rng))
    }

    fn evaluate_with_nonce(
        &self,
        subset: &Subset,
        blinded: &[Element],
        nonce: &Scalar,
    ) -> Result<ShareAnswer, ThresholdError> {
        let lambda = subset
            .lagrange(self.custodian)
            .ok_or(ThresholdError::NotInSubset {
                custodian: self.custodian,
            })?;
        let key = Zeroizing::new(lambda * self.share);
        let (evaluated, proof) = poprf::voprf_evaluate(&key, blinded, nonce)?;
        Ok(ShareAnswer {
            custodian: self.custodian,
            evaluated,
            proof,
        })
    }
}

/// A node's blinded batch: the inputs and blinds it keeps, the elements it sends.
/// Zeroized on drop; no `Debug`.
///
/// The blinding is additive (`B_j = HashToGroup(x_j) + r_j·G`), not RFC 9497's
/// multiplicative `Blind`: every answer's proof is checked before anything is
/// unblinded, so the node knows the key `K_Q = Σ λ_i·S_i` the answers were made with,
/// and `K_Q·B_j − r_j·K_Q = K_Q·HashToGroup(x_j)` is exactly the RFC's unblinded
/// element. `r_j·G` is uniform, so `B_j` hides `x_j` as fully as `r_j·HashToGroup(x_j)`
/// does, and both `r_j·G` and `r_j·K_Q` are fixed-base multiplications (precomputed
/// tables), about a quarter of the cost of the RFC's two variable-base ones. The
/// output is RFC 9497 POPRF `Finalize`'s, bit for bit (tests/threshold.rs).
pub struct BlindBatch {
    inputs: Zeroizing<Vec<[u8; 12]>>,
    blinds: Zeroizing<Vec<Scalar>>,
    elements: Vec<Element>,
}

/// Blinds a batch of people (their normal forms) for evaluation, with fresh blinds.
pub fn blind_batch<R: CryptoRng + ?Sized>(
    people: &[Personnummer],
    rng: &mut R,
) -> Result<BlindBatch, ThresholdError> {
    poprf::check_batch(people.len())?;
    let inputs: Zeroizing<Vec<[u8; 12]>> =
        Zeroizing::new(people.iter().map(|p| *p.as_bytes()).collect());
    let blinds: Zeroizing<Vec<Scalar>> =
        Zeroizing::new(people.iter().map(|_| group::random_scalar(rng)).collect());
    let elements = inputs
        .iter()
        .zip(blinds.iter())
        .map(|(input, r)| {
            let point = poprf::input_element(input)? + RistrettoPoint::mul_base(r);
            Element::from_point(point).ok_or(OprfError::InvalidInput)
        })
        .collect::<Result<Vec<_>, OprfError>>()?;
    Ok(BlindBatch {
        inputs,
        blinds,
        elements,
    })
}

impl BlindBatch {
    /// The blinded elements to send to every custodian of the subset.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// How many people the batch holds.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Checks one answer from each member of `subset` (in member order) against the
    /// domain's share keys, adds them, unblinds and finalizes: one RFC 9497 POPRF
    /// output per person, in batch order. Any answer that fails its proof fails the
    /// batch and names the custodian; ask another subset.
    pub fn finish(
        self,
        keys: &DomainKeys,
        subset: &Subset,
        answers: &[ShareAnswer],
    ) -> Result<Vec<OprfOutput>, ThresholdError> {
        let members = subset.members();
        if answers.len() != members.len()
            || answers.iter().zip(members).any(|(a, m)| a.custodian != *m)
        {
            return Err(ThresholdError::Answers);
        }
        // `K_Q`: the sum of the keys the proofs are checked against.
        let mut subset_key = RistrettoPoint::identity();
        for answer in answers {
            subset_key += check_answer(keys, subset, &self.elements, answer)?;
        }
        let table = RistrettoBasepointTable::create(&subset_key);
        for input in self.inputs.iter() {
            poprf::framed_length(input.len())?;
        }
        poprf::framed_length(keys.0.info.len())?;
        Ok(self
            .inputs
            .iter()
            .zip(self.blinds.iter())
            .enumerate()
            .map(|(j, (input, r))| {
                let sum: RistrettoPoint = answers.iter().map(|a| a.evaluated[j].point()).sum();
                let unblinded = Zeroizing::new(sum - r * &table);
                poprf::finalize_hash(input, &keys.0.info, &unblinded.compress().to_bytes())
            })
            .collect())
    }
}

/// Checks one custodian's answer: its length, and its proof against `λ_i·S_i`.
/// Returns the key `λ_i·S_i` the answer was checked against.
pub fn check_answer(
    keys: &DomainKeys,
    subset: &Subset,
    blinded: &[Element],
    answer: &ShareAnswer,
) -> Result<RistrettoPoint, ThresholdError> {
    let custodian = answer.custodian;
    if answer.evaluated.len() != blinded.len() {
        return Err(ThresholdError::Length {
            custodian,
            expected: blinded.len(),
            found: answer.evaluated.len(),
        });
    }
    let wrong = ThresholdError::WrongKey { custodian };
    let lambda = subset
        .lagrange(custodian)
        .ok_or(ThresholdError::NotInSubset { custodian })?;
    let share_key = keys.share_key(custodian).ok_or(wrong.clone())?;
    let key = Element::from_point(lambda * share_key.point()).ok_or(wrong.clone())?;
    if poprf::voprf_verify(&key, blinded, &answer.evaluated, &answer.proof) {
        Ok(*key.point())
    } else {
        Err(wrong)
    }
}
