//! Batch verification of many Ed25519 signatures by one key (RFC 8032), for checking
//! every signed checkpoint of a log at once (`samla-hub audit verify`).
//!
//! All signatures are by one public key `A`. With `k_i = SHA-512(R_i ‖ A ‖ M_i) mod ℓ`
//! and coefficients `z_i` of 128 bits, the batch holds if
//!
//! ```text
//! [8]( Σ z_i·R_i + [Σ z_i·k_i]·A − [Σ z_i·S_i]·B ) = identity
//! ```
//!
//! one multiscalar multiplication over the `R_i` and two fixed terms, instead of one
//! verification per signature. The coefficients come from BLAKE3 keyed with a seed
//! the caller draws at random (this module takes no randomness of its own), over every
//! item of the batch, so whoever wrote the signatures cannot choose them.
//!
//! The check is cofactored (the `[8]`): it accepts a signature whose `R` differs from
//! the one `S·B − k·A` gives by a point of small order, which ring's cofactorless
//! verification refuses. Making such a signature takes the private key of `A` (the
//! point must still satisfy the equation for `k` computed over the altered `R`), so a
//! holder of the key is the only one who can; `R` of small order itself and `R` not
//! canonically encoded are not batched, and `A` must have no small-order component.
//! Everything this module does not batch, and every item of a batch that fails, is
//! verified alone with ring, so which signatures are refused is ring's verdict.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

use crate::signing::VerifyingKey;

/// Why a key cannot be used for batch verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The public key is not a point, or not one of the prime-order subgroup.
    #[error("the public key is not a point of the prime-order subgroup")]
    Key,
}

/// A public key ready for batch verification.
#[derive(Clone)]
pub struct BatchKey {
    key: VerifyingKey,
    point: EdwardsPoint,
}

impl std::fmt::Debug for BatchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchKey").field("key", &self.key).finish()
    }
}

/// One signature checked before batching: its `R` point, `S` and `k`.
struct Prepared {
    index: usize,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

impl BatchKey {
    /// The key, if it is a canonically encoded point with no small-order component.
    pub fn new(key: &VerifyingKey) -> Result<BatchKey, BatchError> {
        let point = decode_point(key.as_bytes()).ok_or(BatchError::Key)?;
        if point.is_small_order() || !point.is_torsion_free() {
            return Err(BatchError::Key);
        }
        Ok(BatchKey { key: *key, point })
    }

    /// Verifies every `(message, signature)` by this key. `Ok` if all verify; else the
    /// indexes (in `items`, ascending) of those that ring's verification refuses —
    /// `Ok` also when the batch fails but ring accepts each one.
    pub fn verify<M: AsRef<[u8]>>(
        &self,
        items: &[(M, [u8; 64])],
        seed: &[u8; 32],
    ) -> Result<(), Vec<usize>> {
        let mut alone = Vec::new();
        let mut prepared = Vec::with_capacity(items.len());
        let mut transcript = blake3::Hasher::new_keyed(seed);
        transcript.update(b"samla ed25519 batch v1");
        transcript.update(self.key.as_bytes());
        for (index, (message, signature)) in items.iter().enumerate() {
            match self.prepare(index, message.as_ref(), signature) {
                Some(p) => {
                    transcript.update(&(index as u64).to_le_bytes());
                    transcript.update(signature);
                    transcript.update(p.k.as_bytes());
                    prepared.push(p);
                }
                None => alone.push(index),
            }
        }
        if !prepared.is_empty() && !self.batch_holds(&prepared, transcript) {
            alone.extend(prepared.iter().map(|p| p.index));
            alone.sort_unstable();
        }
        let refused: Vec<usize> = alone
            .into_iter()
            .filter(|&i| {
                let (message, signature) = &items[i];
                !self.key.verify_raw(message.as_ref(), signature)
            })
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(refused)
        }
    }

    /// `R`, `S` and `k` of one signature, or `None` if it is not batched: `S` not
    /// below ℓ, `R` not a canonically encoded point, or `R` of small order.
    fn prepare(&self, index: usize, message: &[u8], signature: &[u8; 64]) -> Option<Prepared> {
        let (r_bytes, s_bytes) = signature.split_at(32);
        let s_bytes: [u8; 32] = s_bytes.try_into().ok()?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
        let r = decode_point(r_bytes.try_into().ok()?)?;
        if r.is_small_order() {
            return None;
        }
        let digest = Sha512::new()
            .chain_update(r_bytes)
            .chain_update(self.key.as_bytes())
            .chain_update(message)
            .finalize();
        let mut wide = [0u8; 64];
        wide.copy_from_slice(&digest);
        let k = Scalar::from_bytes_mod_order_wide(&wide);
        Some(Prepared { index, r, s, k })
    }

    /// The batch equation over `prepared`, with coefficients read from `transcript`.
    fn batch_holds(&self, prepared: &[Prepared], transcript: blake3::Hasher) -> bool {
        let mut coefficients = transcript.finalize_xof();
        let mut scalars = Vec::with_capacity(prepared.len() + 2);
        let mut sum_s = Scalar::ZERO;
        let mut sum_k = Scalar::ZERO;
        for p in prepared {
            let mut z = [0u8; 32];
            coefficients.fill(&mut z[..16]);
            let z = Scalar::from_bytes_mod_order(z);
            sum_s += z * p.s;
            sum_k += z * p.k;
            scalars.push(z);
        }
        scalars.push(sum_k);
        scalars.push(-sum_s);
        let points = prepared
            .iter()
            .map(|p| p.r)
            .chain([self.point, ED25519_BASEPOINT_POINT]);
        EdwardsPoint::vartime_multiscalar_mul(scalars, points)
            .mul_by_cofactor()
            .is_identity()
    }
}

/// A point from its encoding, if the encoding is canonical: `y` below 2²⁵⁵ − 19
/// (decompression alone would reduce it) and a point on the curve. (The one other
/// non-canonical form, `x = 0` with the sign bit set, is of a point of small order.)
fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    let mut y = *bytes;
    y[31] &= 0x7f;
    let at_least_p = y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed;
    if at_least_p {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

#[cfg(test)]
mod tests;
