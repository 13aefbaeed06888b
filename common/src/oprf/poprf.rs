//! RFC 9497's protocols for one server, step by step as the RFC writes them: POPRF
//! (mode 0x02: `Blind`, `BlindEvaluate`, `Finalize`, `Evaluate`, with the public
//! input `info`) and the VOPRF (mode 0x01) evaluation and check that each
//! custodian's share answer is (see [`super::threshold`]).
//!
//! The single-server POPRF is the reference the threshold scheme must equal bit for
//! bit, and the path RFC 9497's test vectors check. Secret scalars are zeroized on
//! drop and have no `Debug`.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::dleq::{Proof, Statement, MAX_PROOF_BATCH};
use super::group::{self, dst, length_prefix, Element, Mode};
use super::OprfError;

/// The 64 bytes RFC 9497 `Finalize` returns: SHA-512 over the input, the public input
/// and the unblinded element. Zeroized on drop; no `Debug`: pseudonyms and record keys
/// are derived from it (see [`super::output`]).
pub struct OprfOutput(Zeroizing<[u8; 64]>);

impl OprfOutput {
    /// The output bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

/// A POPRF server key `skS` (one holder: the ceremony's dealer, or a test). Zeroized on
/// drop; no `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ServerSecret(Scalar);

impl ServerSecret {
    /// RFC 9497 `DeriveKeyPair(seed, info)` in POPRF mode.
    pub fn derive(seed: &[u8; 32], key_info: &[u8]) -> Result<ServerSecret, OprfError> {
        derive_key_pair(seed, key_info, Mode::Poprf).map(ServerSecret)
    }

    /// A fresh random key (RFC 9497 `GenerateKeyPair`).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> ServerSecret {
        ServerSecret(group::random_scalar(rng))
    }

    /// The scalar.
    pub(crate) fn scalar(&self) -> &Scalar {
        &self.0
    }

    /// `pkS = skS·G`.
    pub fn public_key(&self) -> Element {
        Element::from_point(RistrettoPoint::mul_base(&self.0))
            .expect("the key is never zero, so its public key is never the identity")
    }

    /// RFC 9497 POPRF `BlindEvaluate` over a batch: every element times `(skS + m)^-1`,
    /// with one proof for the batch.
    pub fn blind_evaluate<R: CryptoRng + ?Sized>(
        &self,
        blinded: &[Element],
        info: &[u8],
        rng: &mut R,
    ) -> Result<(Vec<Element>, Proof), OprfError> {
        self.blind_evaluate_with_nonce(blinded, info, &group::random_scalar(rng))
    }

    /// [`ServerSecret::blind_evaluate`] with the proof nonce given (for the RFC's vectors).
    pub(crate) fn blind_evaluate_with_nonce(
        &self,
        blinded: &[Element],
        info: &[u8],
        nonce: &Scalar,
    ) -> Result<(Vec<Element>, Proof), OprfError> {
        check_batch(blinded.len())?;
        let t = Zeroizing::new(self.0 + tweak(info)?);
        if *t == Scalar::ZERO {
            return Err(OprfError::Inverse);
        }
        let inverse = Zeroizing::new(t.invert());
        let evaluated = multiply_all(&inverse, blinded)?;
        let tweaked_key = Element::from_point(RistrettoPoint::mul_base(&t))
            .expect("t is not zero, so t·G is not the identity");
        let statement = Statement {
            mode: Mode::Poprf,
            key: &tweaked_key,
            c: &evaluated,
            d: blinded,
        };
        let proof = statement.prove(&t, nonce);
        Ok((evaluated, proof))
    }

    /// RFC 9497 POPRF `Evaluate`: the output for an input the server sees in the clear.
    pub fn evaluate(&self, input: &[u8], info: &[u8]) -> Result<OprfOutput, OprfError> {
        let t = Zeroizing::new(self.0 + tweak(info)?);
        if *t == Scalar::ZERO {
            return Err(OprfError::Inverse);
        }
        let element = input_element(input)?;
        let evaluated = element * t.invert();
        Ok(finalize_hash(input, info, &evaluated.compress().to_bytes()))
    }
}

/// RFC 9497 `DeriveKeyPair` for one mode.
pub(crate) fn derive_key_pair(
    seed: &[u8; 32],
    info: &[u8],
    mode: Mode,
) -> Result<Scalar, OprfError> {
    let info_length = framed_length(info.len())?;
    for counter in 0..=255u8 {
        let scalar = group::hash_to_scalar(
            &[seed, &info_length, info, &[counter]],
            dst::DERIVE_KEY_PAIR,
            mode,
        );
        if scalar != Scalar::ZERO {
            return Ok(scalar);
        }
    }
    Err(OprfError::DeriveKeyPair)
}

/// POPRF `m = HashToScalar("Info" || I2OSP(len(info), 2) || info)`, the tweak.
pub(crate) fn tweak(info: &[u8]) -> Result<Scalar, OprfError> {
    let length = framed_length(info.len())?;
    Ok(group::hash_to_scalar(
        &[b"Info", &length, info],
        dst::HASH_TO_SCALAR,
        Mode::Poprf,
    ))
}

/// POPRF `tweakedKey = m·G + pkS`, what a client checks a single server's proof against.
pub fn tweaked_key(public_key: &Element, info: &[u8]) -> Result<Element, OprfError> {
    let point = RistrettoPoint::mul_base(&tweak(info)?) + public_key.point();
    Element::from_point(point).ok_or(OprfError::InvalidInput)
}

/// A blinded batch on the client: the blinds (secret) and the blinded elements (sent).
pub struct Blinded {
    /// One blind per input, zeroized on drop.
    pub(crate) blinds: Zeroizing<Vec<Scalar>>,
    /// What the server is sent.
    pub elements: Vec<Element>,
}

/// RFC 9497 POPRF `Blind` over a batch, with fresh blinds from `rng`.
pub fn blind<R: CryptoRng + ?Sized>(inputs: &[&[u8]], rng: &mut R) -> Result<Blinded, OprfError> {
    check_batch(inputs.len())?;
    let blinds: Zeroizing<Vec<Scalar>> =
        Zeroizing::new(inputs.iter().map(|_| group::random_scalar(rng)).collect());
    blind_with_blinds(inputs, blinds)
}

/// [`blind`] with the blinds given (for the RFC's vectors).
pub(crate) fn blind_with_blinds(
    inputs: &[&[u8]],
    blinds: Zeroizing<Vec<Scalar>>,
) -> Result<Blinded, OprfError> {
    // `(blind/2)·HashToGroup(input)`, encoded as its double in one batch.
    let halves = Zeroizing::new(
        inputs
            .iter()
            .zip(blinds.iter())
            .map(|(input, b)| Ok(input_element(input)? * group::half(b)))
            .collect::<Result<Vec<RistrettoPoint>, OprfError>>()?,
    );
    let elements = Element::doubles_of(&halves).ok_or(OprfError::InvalidInput)?;
    Ok(Blinded { blinds, elements })
}

/// RFC 9497 POPRF `Finalize` over a batch: checks the server's proof against
/// `tweakedKey = m·G + pkS`, then unblinds and hashes each element.
pub fn finalize(
    inputs: &[&[u8]],
    blinded: &Blinded,
    evaluated: &[Element],
    proof: &Proof,
    info: &[u8],
    public_key: &Element,
) -> Result<Vec<OprfOutput>, OprfError> {
    if evaluated.len() != blinded.elements.len() || inputs.len() != blinded.elements.len() {
        return Err(OprfError::Length {
            expected: blinded.elements.len(),
            found: evaluated.len(),
        });
    }
    let key = tweaked_key(public_key, info)?;
    let statement = Statement {
        mode: Mode::Poprf,
        key: &key,
        c: evaluated,
        d: &blinded.elements,
    };
    if !statement.verify(proof) {
        return Err(OprfError::Proof);
    }
    let points: Vec<RistrettoPoint> = evaluated.iter().map(|e| *e.point()).collect();
    unblind_and_hash(inputs, &blinded.blinds, &points, info)
}

/// `Finalize`'s last steps for evaluated points already checked: `N = blind^-1 · Z`,
/// then the hash. The blinds are inverted together (one inversion for the batch).
pub(crate) fn unblind_and_hash(
    inputs: &[&[u8]],
    blinds: &[Scalar],
    evaluated: &[RistrettoPoint],
    info: &[u8],
) -> Result<Vec<OprfOutput>, OprfError> {
    framed_length(info.len())?;
    for input in inputs {
        framed_length(input.len())?;
    }
    if evaluated.len() != inputs.len() || blinds.len() != inputs.len() {
        return Err(OprfError::Length {
            expected: inputs.len(),
            found: evaluated.len(),
        });
    }
    let mut inverses = Zeroizing::new(blinds.to_vec());
    Scalar::batch_invert(&mut inverses);
    // `(blind^-1 / 2)·Z`, encoded as its double in one batch.
    let halves = Zeroizing::new(
        inverses
            .iter()
            .zip(evaluated)
            .map(|(inverse, z)| group::half(inverse) * z)
            .collect::<Vec<RistrettoPoint>>(),
    );
    let unblinded = Zeroizing::new(group::encodings_of_doubles(&halves));
    Ok(inputs
        .iter()
        .zip(unblinded.iter())
        .map(|(input, n)| finalize_hash(input, info, n))
        .collect())
}

/// VOPRF (mode 0x01) `BlindEvaluate` under `k` with the proof nonce given: the
/// evaluated elements `k·B[i]` and the proof against `k·G`.
pub(crate) fn voprf_evaluate(
    k: &Scalar,
    blinded: &[Element],
    nonce: &Scalar,
) -> Result<(Vec<Element>, Proof), OprfError> {
    check_batch(blinded.len())?;
    let key = Element::from_point(RistrettoPoint::mul_base(k)).ok_or(OprfError::Inverse)?;
    let evaluated = multiply_all(k, blinded)?;
    let statement = Statement {
        mode: Mode::Voprf,
        key: &key,
        c: blinded,
        d: &evaluated,
    };
    let proof = statement.prove(k, nonce);
    Ok((evaluated, proof))
}

/// VOPRF (mode 0x01) `VerifyProof(G, key, blinded, evaluated, proof)`.
pub(crate) fn voprf_verify(
    key: &Element,
    blinded: &[Element],
    evaluated: &[Element],
    proof: &Proof,
) -> bool {
    Statement {
        mode: Mode::Voprf,
        key,
        c: blinded,
        d: evaluated,
    }
    .verify(proof)
}

/// The finalize hash: `SHA-512(len ‖ input ‖ len ‖ info ‖ len ‖ element ‖ "Finalize")`.
/// Lengths were checked by the caller (inputs and info below 2^16 bytes).
pub(crate) fn finalize_hash(input: &[u8], info: &[u8], unblinded: &[u8; 32]) -> OprfOutput {
    let mut hash = Sha512::new();
    hash.update(length_prefix(input.len()));
    hash.update(input);
    hash.update(length_prefix(info.len()));
    hash.update(info);
    hash.update(length_prefix(32));
    hash.update(unblinded);
    hash.update(b"Finalize");
    let mut out = Zeroizing::new([0u8; 64]);
    out.copy_from_slice(&hash.finalize());
    OprfOutput(out)
}

/// `HashToGroup(input)` in POPRF mode, refusing inputs the RFC cannot frame.
pub(crate) fn input_element(input: &[u8]) -> Result<RistrettoPoint, OprfError> {
    framed_length(input.len())?;
    group::hash_to_group(input, Mode::Poprf).ok_or(OprfError::InvalidInput)
}

/// `k·E` for every element, refusing an identity result (impossible for `k ≠ 0`).
fn multiply_all(k: &Scalar, elements: &[Element]) -> Result<Vec<Element>, OprfError> {
    let k_half = Zeroizing::new(group::half(k));
    let halves: Vec<RistrettoPoint> = elements.iter().map(|e| *k_half * e.point()).collect();
    Element::doubles_of(&halves).ok_or(OprfError::Inverse)
}

/// `I2OSP(len, 2)`, refusing lengths the RFC cannot frame.
pub(crate) fn framed_length(len: usize) -> Result<[u8; 2], OprfError> {
    u16::try_from(len)
        .map(u16::to_be_bytes)
        .map_err(|_| OprfError::InputTooLong { found: len })
}

/// Refuses a batch no proof can cover.
pub(crate) fn check_batch(len: usize) -> Result<(), OprfError> {
    if len > MAX_PROOF_BATCH {
        return Err(OprfError::BatchTooLarge {
            found: len,
            limit: MAX_PROOF_BATCH,
        });
    }
    Ok(())
}
