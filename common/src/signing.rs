//! Ed25519 keys for signing submissions (nodes) and receipts (hub), with ring.
//!
//! Every signature covers a domain-separated message: a context string, a NUL, and the
//! BLAKE3 hash of the signed bytes, so a signature made for one purpose can never be
//! replayed as another.

use std::fmt;

use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};

/// Context of a node's signature over a submission.
pub const SUBMISSION_CONTEXT: &str = "samla/submission/v1";
/// Context of the hub's signature over a receipt.
pub const RECEIPT_CONTEXT: &str = "samla/receipt/v1";

/// An Ed25519 private key (PKCS#8 inside). No `Debug`, no `Serialize`.
pub struct SigningKey(Ed25519KeyPair);

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VerifyingKey(#[serde(with = "crate::bytes")] [u8; 32]);

/// An Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Signature(#[serde(with = "crate::bytes")] [u8; 64]);

/// Why a key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The private key bytes are not an Ed25519 PKCS#8 document.
    #[error("not an Ed25519 private key (PKCS#8)")]
    PrivateKey,
    /// A public key is not 64 lowercase hex characters.
    #[error("an Ed25519 public key is 64 lowercase hex characters")]
    PublicKey,
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

/// The message actually signed: `context ‖ 0x00 ‖ BLAKE3(bytes)`.
fn message(context: &str, bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(context.len() + 33);
    m.extend_from_slice(context.as_bytes());
    m.push(0);
    m.extend_from_slice(blake3::hash(bytes).as_bytes());
    m
}

impl SigningKey {
    /// Makes a new PKCS#8 document from the given random source; store it with 0600.
    pub fn generate_pkcs8(
        random: &dyn ring::rand::SecureRandom,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, SigningError> {
        let document =
            Ed25519KeyPair::generate_pkcs8(random).map_err(|_| SigningError::PrivateKey)?;
        Ok(zeroize::Zeroizing::new(document.as_ref().to_vec()))
    }

    /// Reads a PKCS#8 document.
    pub fn from_pkcs8(document: &[u8]) -> Result<SigningKey, SigningError> {
        Ed25519KeyPair::from_pkcs8(document)
            .map(SigningKey)
            .map_err(|_| SigningError::PrivateKey)
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.0.public_key().as_ref());
        VerifyingKey(bytes)
    }

    /// Signs a message as it is, without a context: only for formats that define
    /// their own (a C2SP signed note signs its text).
    pub fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.0.sign(message).as_ref());
        out
    }

    /// Signs `bytes` under a context.
    pub fn sign(&self, context: &str, bytes: &[u8]) -> Signature {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.0.sign(&message(context, bytes)).as_ref());
        Signature(out)
    }
}

impl VerifyingKey {
    /// Checks a signature over `bytes` under a context.
    pub fn verify(
        &self,
        context: &str,
        bytes: &[u8],
        signature: &Signature,
    ) -> Result<(), SigningError> {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(&message(context, bytes), &signature.0)
            .map_err(|_| SigningError::BadSignature)
    }

    /// Checks a signature over a message as it is (see [`SigningKey::sign_raw`]).
    pub fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }

    /// The raw key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::str::FromStr for VerifyingKey {
    type Err = SigningError;
    fn from_str(text: &str) -> Result<Self, SigningError> {
        let text = text.trim();
        let mut bytes = [0u8; 32];
        if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(SigningError::PublicKey);
        }
        hex::decode_to_slice(text, &mut bytes).map_err(|_| SigningError::PublicKey)?;
        Ok(VerifyingKey(bytes))
    }
}

impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({self})")
    }
}

impl Signature {
    /// A signature from its 64 raw bytes.
    pub fn from_bytes(bytes: [u8; 64]) -> Signature {
        Signature(bytes)
    }

    /// The raw signature.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_context_and_bytes() {
        let rng = ring::rand::SystemRandom::new();
        let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng).unwrap()).unwrap();
        let public = key.verifying_key();
        let sig = key.sign(SUBMISSION_CONTEXT, b"tables");
        assert_eq!(public.verify(SUBMISSION_CONTEXT, b"tables", &sig), Ok(()));
        assert_eq!(
            public.verify(RECEIPT_CONTEXT, b"tables", &sig),
            Err(SigningError::BadSignature)
        );
        assert_eq!(
            public.verify(SUBMISSION_CONTEXT, b"tablez", &sig),
            Err(SigningError::BadSignature)
        );
        assert_eq!(public.to_string().parse::<VerifyingKey>(), Ok(public));
    }
}
