//! The RFC 9497 ciphersuite ristretto255-SHA512: group elements and scalars as they
//! cross the wire, the context strings of each mode, and the RFC's `HashToGroup`,
//! `HashToScalar` and `RandomScalar`.
//!
//! The group arithmetic is curve25519-dalek's; `expand_message_xmd` (RFC 9380) is
//! RustCrypto's `elliptic-curve`; nothing here does arithmetic of its own. An
//! [`Element`] is never the identity and always carries its canonical 32-byte
//! encoding, so transcripts (which hash the encodings) never recompress a point.

use std::fmt;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use elliptic_curve::hash2curve::{ExpandMsg, ExpandMsgXmd, Expander};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::Sha512;

/// The ciphersuite identifier of RFC 9497 §4.1.
pub const SUITE_ID: &str = "ristretto255-SHA512";

/// The RFC 9497 protocol modes this crate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Mode 0x01: verifiable OPRF; the per-custodian share answers use it.
    Voprf,
    /// Mode 0x02: partially-oblivious PRF with a public input; the pseudonyms use it.
    Poprf,
}

impl Mode {
    /// `contextString = "OPRFV1-" || I2OSP(mode, 1) || "-" || identifier`.
    pub(crate) fn context(self) -> &'static [u8] {
        match self {
            Mode::Voprf => b"OPRFV1-\x01-ristretto255-SHA512",
            Mode::Poprf => b"OPRFV1-\x02-ristretto255-SHA512",
        }
    }
}

/// The DST prefixes RFC 9497 puts before the context string.
pub(crate) mod dst {
    /// `HashToGroup`.
    pub const HASH_TO_GROUP: &[u8] = b"HashToGroup-";
    /// `HashToScalar` (the default DST).
    pub const HASH_TO_SCALAR: &[u8] = b"HashToScalar-";
    /// `DeriveKeyPair`.
    pub const DERIVE_KEY_PAIR: &[u8] = b"DeriveKeyPair";
    /// The composite seed of the DLEQ proof.
    pub const SEED: &[u8] = b"Seed-";
}

/// `expand_message_xmd(SHA-512)` to 64 bytes, for both hash-to-group and hash-to-scalar.
fn expand_64(message: &[&[u8]], dst_prefix: &[u8], mode: Mode) -> [u8; 64] {
    let dsts: [&[u8]; 2] = [dst_prefix, mode.context()];
    let mut uniform = [0u8; 64];
    // expand_message_xmd fails only for an empty DST, a DST over 255 bytes (then it is
    // hashed, not refused) or an output over 255 * 64 bytes; ours is 64 bytes with a
    // fixed DST of about 40 bytes.
    ExpandMsgXmd::<Sha512>::expand_message(message, &dsts, 64)
        .expect("a 64-byte expansion with a fixed, non-empty DST always succeeds")
        .fill_bytes(&mut uniform);
    uniform
}

/// RFC 9497 `HashToGroup`: RFC 9380's `hash_to_ristretto255` with the mode's DST.
/// `None` for the identity (RFC 9497 raises `InvalidInputError`; no input is known to
/// hash to it).
pub(crate) fn hash_to_group(input: &[u8], mode: Mode) -> Option<RistrettoPoint> {
    let uniform = expand_64(&[input], dst::HASH_TO_GROUP, mode);
    let point = RistrettoPoint::from_uniform_bytes(&uniform);
    (point != RistrettoPoint::identity()).then_some(point)
}

/// RFC 9497 `HashToScalar` over the concatenation of `parts`, with DST
/// `dst_prefix || contextString`.
pub(crate) fn hash_to_scalar(parts: &[&[u8]], dst_prefix: &[u8], mode: Mode) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&expand_64(parts, dst_prefix, mode))
}

/// RFC 9497 `RandomScalar`: 64 uniform bytes reduced modulo the group order (a bias
/// below 2^-250), never zero.
pub(crate) fn random_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    loop {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        let scalar = Scalar::from_bytes_mod_order_wide(&wide);
        if scalar != Scalar::ZERO {
            return scalar;
        }
    }
}

/// `k/2`, the scalar whose multiples [`Element::doubles_of`] turns into multiples of
/// `k` (zeroized by the caller when `k` is secret).
pub(crate) fn half(k: &Scalar) -> Scalar {
    static ONE_HALF: std::sync::LazyLock<Scalar> =
        std::sync::LazyLock::new(|| Scalar::from(2u8).invert());
    k * *ONE_HALF
}

/// The encodings of `2·H_i` for many halves at once (one field inversion for the
/// batch), for values only hashed, such as `Finalize`'s unblinded elements.
pub(crate) fn encodings_of_doubles(halves: &[RistrettoPoint]) -> Vec<[u8; 32]> {
    RistrettoPoint::double_and_compress_batch(halves)
        .into_iter()
        .map(|c| c.to_bytes())
        .collect()
}

/// `I2OSP(len(bytes), 2) || bytes`, the RFC's length-prefixed framing. Every framed
/// value here is a fixed-size encoding or a bounded input, far below 2^16 bytes.
pub(crate) fn length_prefix(len: usize) -> [u8; 2] {
    u16::try_from(len)
        .expect("framed values are encodings or bounded inputs below 2^16 bytes")
        .to_be_bytes()
}

/// A ristretto255 group element other than the identity, with its canonical encoding.
///
/// Decoding refuses non-canonical encodings and the identity (RFC 9497
/// `DeserializeElement`), so a value of this type is always a valid protocol element.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ElementBytes", into = "ElementBytes")]
pub struct Element {
    point: RistrettoPoint,
    bytes: [u8; 32],
}

/// Why 32 bytes are not a group element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ElementError {
    /// Not the canonical encoding of a ristretto255 point.
    #[error("32 bytes that are not a ristretto255 element")]
    Encoding,
    /// The identity element, which the protocol never sends.
    #[error("the identity element, which no answer may hold")]
    Identity,
}

impl Element {
    /// Wraps a computed point; `None` for the identity.
    pub(crate) fn from_point(point: RistrettoPoint) -> Option<Element> {
        (point != RistrettoPoint::identity()).then(|| Element {
            point,
            bytes: point.compress().to_bytes(),
        })
    }

    /// The elements `2·H_i` of many halves `H_i` at once, with their encodings from
    /// one field inversion for the whole batch (curve25519-dalek's
    /// `double_and_compress_batch`), instead of an inverse square root each. A caller
    /// wanting `k·P_i` passes `(k/2)·P_i` (see [`half`]). `None` if any is the
    /// identity.
    pub(crate) fn doubles_of(halves: &[RistrettoPoint]) -> Option<Vec<Element>> {
        let encodings = RistrettoPoint::double_and_compress_batch(halves);
        halves
            .iter()
            .zip(encodings)
            .map(|(h, encoding)| {
                (encoding != CompressedRistretto::identity()).then(|| Element {
                    point: h + h,
                    bytes: encoding.to_bytes(),
                })
            })
            .collect()
    }

    /// Parses a canonical encoding (RFC 9497 `DeserializeElement`).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Element, ElementError> {
        let point = CompressedRistretto(bytes)
            .decompress()
            .ok_or(ElementError::Encoding)?;
        if point == RistrettoPoint::identity() {
            return Err(ElementError::Identity);
        }
        Ok(Element { point, bytes })
    }

    /// The canonical encoding (RFC 9497 `SerializeElement`).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The encoding, borrowed, for transcripts.
    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The point.
    pub(crate) fn point(&self) -> &RistrettoPoint {
        &self.point
    }
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({})", hex::encode(self.bytes))
    }
}

/// The wire form of an [`Element`]: 32 bytes, hex in human-readable formats.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
struct ElementBytes(#[serde(with = "crate::bytes")] [u8; 32]);

impl TryFrom<ElementBytes> for Element {
    type Error = ElementError;
    fn try_from(bytes: ElementBytes) -> Result<Element, ElementError> {
        Element::from_bytes(bytes.0)
    }
}

impl From<Element> for ElementBytes {
    fn from(element: Element) -> ElementBytes {
        ElementBytes(element.bytes)
    }
}

/// Parses a canonical scalar encoding (RFC 9497 `DeserializeScalar`: 32 bytes,
/// little-endian, below the group order).
pub(crate) fn scalar_from_bytes(bytes: [u8; 32]) -> Option<Scalar> {
    Scalar::from_canonical_bytes(bytes).into()
}

/// A public scalar on the wire (a proof half, a Lagrange coefficient, an opened
/// value of the domain setup): 32 canonical bytes.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScalarBytes", into = "ScalarBytes")]
pub struct PublicScalar(pub(crate) Scalar);

impl PublicScalar {
    /// The canonical encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses a canonical encoding; `None` if it is not below the group order.
    pub fn from_bytes(bytes: [u8; 32]) -> Option<PublicScalar> {
        scalar_from_bytes(bytes).map(PublicScalar)
    }
}

impl fmt::Debug for PublicScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicScalar({})", hex::encode(self.0.to_bytes()))
    }
}

/// The wire form of a scalar.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
struct ScalarBytes(#[serde(with = "crate::bytes")] [u8; 32]);

/// Why 32 bytes are not a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("32 bytes that are not a canonical ristretto255 scalar")]
pub struct ScalarError;

impl TryFrom<ScalarBytes> for PublicScalar {
    type Error = ScalarError;
    fn try_from(bytes: ScalarBytes) -> Result<PublicScalar, ScalarError> {
        PublicScalar::from_bytes(bytes.0).ok_or(ScalarError)
    }
}

impl From<PublicScalar> for ScalarBytes {
    fn from(scalar: PublicScalar) -> ScalarBytes {
        ScalarBytes(scalar.0.to_bytes())
    }
}
