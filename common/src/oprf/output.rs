//! What a POPRF output becomes: the 32-byte pseudonym the hub links on, the record
//! key seed of the cell key method, the name of the scheme and the key id that say
//! which key made them.
//!
//! Both values are BLAKE3 key derivations of the 64-byte `Finalize` output, each with
//! its own context, so knowing one (the hub holds every pseudonym) says nothing of the
//! other. The key id is derived from the custodians' combined public key `pk`; with
//! the scheme it tells linkage sets that may be merged (same scheme, same key id)
//! from those that never may.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::group::Element;
use super::poprf::OprfOutput;
use crate::pseudonym::{KeyId, Pseudonym};

/// Context of the pseudonym derivation.
const PSEUDONYM_CONTEXT: &str = "samla 2026-12 custodian pseudonym v1";
/// Context of the record key seed derivation.
const RECORD_KEY_CONTEXT: &str = "samla 2026-12 custodian record key v1";
/// Context of the key id derivation.
const KEY_ID_CONTEXT: &str = "samla 2026-12 custodian key id v1";

/// How the pseudonyms of a submission were made. Encoded (statistics schema v3's
/// `pseudonym_scheme`, docs/formats.md) as its [`PseudonymScheme::code`], a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PseudonymScheme {
    /// DESIGN.md §4: BLAKE3 keyed hash under a domain key from the region's shared
    /// master secret. Code `blake3-shared-key-v1`.
    SharedKey,
    /// DESIGN.md §4a: RFC 9497 POPRF ristretto255-SHA512 under a key held t-of-n by
    /// custodians, the output derived as [`OprfOutput::pseudonym`]. Code
    /// `poprf-ristretto255-sha512-v1`.
    Custodian,
}

impl PseudonymScheme {
    /// Every scheme, shared key first.
    pub const ALL: &'static [PseudonymScheme] =
        &[PseudonymScheme::SharedKey, PseudonymScheme::Custodian];

    /// The scheme's code, as submissions, logs and reports name it.
    pub fn code(self) -> &'static str {
        match self {
            PseudonymScheme::SharedKey => "blake3-shared-key-v1",
            PseudonymScheme::Custodian => "poprf-ristretto255-sha512-v1",
        }
    }
}

/// A scheme code this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pseudonym scheme {0:?} is not known (this build knows blake3-shared-key-v1 and poprf-ristretto255-sha512-v1)")]
pub struct UnknownScheme(String);

impl std::str::FromStr for PseudonymScheme {
    type Err = UnknownScheme;

    fn from_str(text: &str) -> Result<PseudonymScheme, UnknownScheme> {
        PseudonymScheme::ALL
            .iter()
            .copied()
            .find(|s| s.code() == text)
            .ok_or_else(|| UnknownScheme(text.chars().take(64).collect()))
    }
}

impl Serialize for PseudonymScheme {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for PseudonymScheme {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for PseudonymScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The key id of a custodian key: the first 8 bytes of
/// `BLAKE3.derive_key("samla 2026-12 custodian key id v1", pk)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustodianKeyId(#[serde(with = "crate::bytes")] [u8; 8]);

impl CustodianKeyId {
    /// Wraps 8 bytes read back from a log entry or a stored record.
    pub(crate) fn from_raw(bytes: [u8; 8]) -> CustodianKeyId {
        CustodianKeyId(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// The same 8 bytes as the [`KeyId`] a submission carries.
    pub fn key_id(&self) -> KeyId {
        hex::encode(self.0)
            .parse()
            .expect("16 lowercase hex characters always parse as a key id")
    }
}

impl fmt::Display for CustodianKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CustodianKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustodianKeyId({self})")
    }
}

/// The key id of the custodian key whose public key is `pk`.
pub fn custodian_key_id(public_key: &Element) -> CustodianKeyId {
    let derived = blake3::derive_key(KEY_ID_CONTEXT, &public_key.to_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&derived[..8]);
    CustodianKeyId(id)
}

/// The 32 bytes a record key of the cell key method is made from. Zeroized on drop;
/// no `Debug`. Never sent: the hub must not be able to tell whose key is in a cell.
pub struct RecordKeySeed(Zeroizing<[u8; 32]>);

impl RecordKeySeed {
    /// The bytes, for the cell key derivation.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl OprfOutput {
    /// The pseudonym: `BLAKE3.derive_key("samla 2026-12 custodian pseudonym v1", output)`.
    pub fn pseudonym(&self) -> Pseudonym {
        Pseudonym::from_bytes(blake3::derive_key(PSEUDONYM_CONTEXT, self.as_bytes()))
    }

    /// The record key seed:
    /// `BLAKE3.derive_key("samla 2026-12 custodian record key v1", output)`.
    pub fn record_key_seed(&self) -> RecordKeySeed {
        RecordKeySeed(Zeroizing::new(blake3::derive_key(
            RECORD_KEY_CONTEXT,
            self.as_bytes(),
        )))
    }
}
