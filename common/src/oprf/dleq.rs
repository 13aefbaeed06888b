//! RFC 9497 §2.2's batched discrete-log-equality proof: `GenerateProof` and
//! `VerifyProof` with `ComputeCompositesFast` and `ComputeComposites`, exactly as the
//! RFC writes them, for one mode's context string.
//!
//! A proof shows that one scalar `k` links `B = k·A` and every `D[i] = k·C[i]`, without
//! revealing `k`. Proof verification is where a custodian's answer is held to its
//! published key: it costs two multi-scalar multiplications over the batch, so a whole
//! batch is checked for about the price of two single multiplications per element.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use super::group::{self, dst, length_prefix, Element, Mode};

/// The most elements one proof can cover: the composite index is `I2OSP(i, 2)`.
pub const MAX_PROOF_BATCH: usize = 1 << 16;

/// A DLEQ proof `(c, s)`: 64 bytes, `SerializeScalar(c) || SerializeScalar(s)`.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProofBytes", into = "ProofBytes")]
pub struct Proof {
    c: Scalar,
    s: Scalar,
}

impl Proof {
    /// The RFC encoding.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.c.to_bytes());
        out[32..].copy_from_slice(&self.s.to_bytes());
        out
    }

    /// Parses the RFC encoding; `None` unless both halves are canonical scalars.
    pub fn from_bytes(bytes: [u8; 64]) -> Option<Proof> {
        let mut c = [0u8; 32];
        let mut s = [0u8; 32];
        c.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        Some(Proof {
            c: group::scalar_from_bytes(c)?,
            s: group::scalar_from_bytes(s)?,
        })
    }
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proof({})", hex::encode(self.to_bytes()))
    }
}

/// The wire form of a proof.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
struct ProofBytes(#[serde(with = "crate::bytes")] [u8; 64]);

/// Why 64 bytes are not a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("64 bytes that are not a proof (two canonical scalars)")]
pub struct ProofEncodingError;

impl TryFrom<ProofBytes> for Proof {
    type Error = ProofEncodingError;
    fn try_from(bytes: ProofBytes) -> Result<Proof, ProofEncodingError> {
        Proof::from_bytes(bytes.0).ok_or(ProofEncodingError)
    }
}

impl From<Proof> for ProofBytes {
    fn from(proof: Proof) -> ProofBytes {
        ProofBytes(proof.to_bytes())
    }
}

/// The statement a proof is about: `B = k·G` and `D[i] = k·C[i]` for every `i`.
/// `A` is always the generator in RFC 9497.
pub(crate) struct Statement<'a> {
    /// The mode whose context string separates the hashes.
    pub mode: Mode,
    /// `B`, the public key of the statement.
    pub key: &'a Element,
    /// `C`.
    pub c: &'a [Element],
    /// `D`, as long as `C`.
    pub d: &'a [Element],
}

impl Statement<'_> {
    /// RFC 9497 `GenerateProof(k, A, B, C, D)` with the proof nonce `r` given.
    ///
    /// The caller ensures `c` and `d` have the same length, at most
    /// [`MAX_PROOF_BATCH`]. `k` and `r` are secret; every other value is public.
    pub(crate) fn prove(&self, k: &Scalar, r: &Scalar) -> Proof {
        let weights = self.weights();
        let m =
            RistrettoPoint::vartime_multiscalar_mul(&weights, self.c.iter().map(Element::point));
        let z = k * m;
        let t2 = RistrettoPoint::mul_base(r);
        let t3 = r * m;
        let c = self.challenge(&m, &z, &t2, &t3);
        Proof { c, s: r - c * k }
    }

    /// RFC 9497 `VerifyProof(A, B, C, D, proof)`. `false` also for mismatched lengths.
    pub(crate) fn verify(&self, proof: &Proof) -> bool {
        if self.c.len() != self.d.len() || self.c.len() > MAX_PROOF_BATCH {
            return false;
        }
        let weights = self.weights();
        let m =
            RistrettoPoint::vartime_multiscalar_mul(&weights, self.c.iter().map(Element::point));
        let z =
            RistrettoPoint::vartime_multiscalar_mul(&weights, self.d.iter().map(Element::point));
        let t2 = RistrettoPoint::vartime_double_scalar_mul_basepoint(
            &proof.c,
            self.key.point(),
            &proof.s,
        );
        let t3 = RistrettoPoint::vartime_multiscalar_mul([proof.s, proof.c], [m, z]);
        self.challenge(&m, &z, &t2, &t3) == proof.c
    }

    /// The composite weights `d_i` of `ComputeComposites`.
    fn weights(&self) -> Vec<Scalar> {
        let context = self.mode.context();
        let mut seed_hash = Sha512::new();
        seed_hash.update(length_prefix(32));
        seed_hash.update(self.key.as_bytes());
        seed_hash.update(length_prefix(dst::SEED.len() + context.len()));
        seed_hash.update(dst::SEED);
        seed_hash.update(context);
        let seed = seed_hash.finalize();
        let seed_prefix = length_prefix(seed.len());
        let element_prefix = length_prefix(32);
        self.c
            .iter()
            .zip(self.d)
            .enumerate()
            .map(|(i, (ci, di))| {
                let index = u16::try_from(i)
                    .expect("batches are at most MAX_PROOF_BATCH elements")
                    .to_be_bytes();
                group::hash_to_scalar(
                    &[
                        &seed_prefix,
                        &seed,
                        &index,
                        &element_prefix,
                        ci.as_bytes(),
                        &element_prefix,
                        di.as_bytes(),
                        b"Composite",
                    ],
                    dst::HASH_TO_SCALAR,
                    self.mode,
                )
            })
            .collect()
    }

    /// The challenge `c` over `B, M, Z, t2, t3`.
    fn challenge(
        &self,
        m: &RistrettoPoint,
        z: &RistrettoPoint,
        t2: &RistrettoPoint,
        t3: &RistrettoPoint,
    ) -> Scalar {
        let prefix = length_prefix(32);
        let [a0, a1, a2, a3] = [m, z, t2, t3].map(|p| p.compress().to_bytes());
        group::hash_to_scalar(
            &[
                &prefix,
                self.key.as_bytes(),
                &prefix,
                &a0,
                &prefix,
                &a1,
                &prefix,
                &a2,
                &prefix,
                &a3,
                b"Challenge",
            ],
            dst::HASH_TO_SCALAR,
            self.mode,
        )
    }
}
