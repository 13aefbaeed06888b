//! Keyed pseudonyms for participants (DESIGN.md §4), exact so another implementation
//! can check them.
//!
//! A region's kommuner share one [`MasterSecret`]; each programme period has a
//! [`LinkageDomain`], whose [`DomainKey`] turns a personnummer's normal form into a
//! [`Pseudonym`]. The hub never holds the master secret. Because the personnummer space
//! is small, whoever holds the master can reverse every pseudonym: key custody *is* the
//! security of this scheme (see docs/threat-model.md).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::personnummer::Personnummer;

/// Context string for the key id derivation.
const KEY_ID_CONTEXT: &str = "samla 2026-11 key id v1";
/// Context string for the linkage-domain key derivation.
const DOMAIN_KEY_CONTEXT: &str = "samla 2026-11 linkage-domain key v1";
/// The largest key file accepted: 64 hex characters plus a line ending.
pub const KEY_FILE_MAX_BYTES: usize = 66;

/// The region's 32-byte pseudonymisation master secret.
///
/// Zeroized on drop; no `Debug`, `Display` or `Serialize`, so it cannot end up in a
/// log line by accident.
pub struct MasterSecret(Zeroizing<[u8; 32]>);

/// Why a key file's contents were refused. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The file is larger than a key file can be.
    #[error(
        "key file is {found} bytes; a key file holds 64 hex characters and an optional newline"
    )]
    TooLarge {
        /// The size found.
        found: usize,
    },
    /// The contents are not exactly 64 lowercase hex characters.
    #[error("key file must hold exactly 64 lowercase hex characters and an optional newline")]
    Format,
}

impl MasterSecret {
    /// Wraps 32 bytes of key material (from a random source or a key file).
    pub fn from_bytes(bytes: [u8; 32]) -> MasterSecret {
        MasterSecret(Zeroizing::new(bytes))
    }

    /// Parses a key file's contents: 64 lowercase hex characters and an optional newline.
    pub fn from_key_file(contents: &[u8]) -> Result<MasterSecret, KeyFileError> {
        if contents.len() > KEY_FILE_MAX_BYTES {
            return Err(KeyFileError::TooLarge {
                found: contents.len(),
            });
        }
        let hex_part = contents
            .strip_suffix(b"\r\n")
            .or_else(|| contents.strip_suffix(b"\n"))
            .unwrap_or(contents);
        let lowercase_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        if hex_part.len() != 64 || !hex_part.iter().all(lowercase_hex) {
            return Err(KeyFileError::Format);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_part, bytes.as_mut()).map_err(|_| KeyFileError::Format)?;
        Ok(MasterSecret(bytes))
    }

    /// The key file contents for this secret: 64 lowercase hex characters and a newline.
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(hex::encode(self.0.as_ref()));
        text.push('\n');
        text
    }

    /// The key id that names this secret in submissions and logs.
    pub fn key_id(&self) -> KeyId {
        let derived = Zeroizing::new(blake3::derive_key(KEY_ID_CONTEXT, self.0.as_ref()));
        let mut id = [0u8; 8];
        id.copy_from_slice(&derived[..8]);
        KeyId(id)
    }

    /// The key for one linkage domain.
    pub fn domain_key(&self, domain: &LinkageDomain) -> DomainKey {
        let mut material = Zeroizing::new(Vec::with_capacity(32 + domain.0.len()));
        material.extend_from_slice(self.0.as_ref());
        material.extend_from_slice(domain.0.as_bytes());
        DomainKey(Zeroizing::new(blake3::derive_key(
            DOMAIN_KEY_CONTEXT,
            &material,
        )))
    }
}

/// The first 8 bytes of a key derivation from the master: names the key, reveals nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(#[serde(with = "crate::bytes")] [u8; 8]);

impl KeyId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why a hex identifier (key id or pseudonym) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} lowercase hex characters")]
pub struct HexIdError {
    /// The number of hex characters expected.
    pub expected: usize,
}

fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], HexIdError> {
    let err = HexIdError { expected: 2 * N };
    if text.len() != 2 * N || text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(err);
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|_| err)?;
    Ok(out)
}

impl FromStr for KeyId {
    type Err = HexIdError;
    fn from_str(text: &str) -> Result<Self, HexIdError> {
        parse_hex(text).map(KeyId)
    }
}

/// A linkage domain: the region's name for one programme period, e.g.
/// `gavleborg-ung-2023`. Pseudonyms link only within one domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LinkageDomain(String);

/// Why a linkage domain name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("linkage domain {found:?} must be 1 to 64 characters of a-z, 0-9, `-`, `_` or `.`")]
pub struct LinkageDomainError {
    /// The text given.
    pub found: String,
}

impl LinkageDomain {
    /// The domain name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LinkageDomain {
    type Err = LinkageDomainError;
    fn from_str(text: &str) -> Result<Self, LinkageDomainError> {
        let allowed =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.');
        if (1..=64).contains(&text.len()) && text.bytes().all(allowed) {
            Ok(LinkageDomain(text.to_owned()))
        } else {
            Err(LinkageDomainError {
                found: crate::text::shown(text),
            })
        }
    }
}

impl TryFrom<String> for LinkageDomain {
    type Error = LinkageDomainError;
    fn try_from(text: String) -> Result<Self, LinkageDomainError> {
        text.parse()
    }
}

impl From<LinkageDomain> for String {
    fn from(domain: LinkageDomain) -> String {
        domain.0
    }
}

impl fmt::Display for LinkageDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key for one linkage domain, derived from the master. Zeroized on drop.
pub struct DomainKey(Zeroizing<[u8; 32]>);

impl DomainKey {
    /// The pseudonym of one person in this domain.
    pub fn pseudonym(&self, person: &Personnummer) -> Pseudonym {
        Pseudonym(*blake3::keyed_hash(&self.0, person.as_bytes()).as_bytes())
    }

    /// The key bytes, for conformance tests only.
    pub fn danger_as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A participant's pseudonym: `BLAKE3.keyed_hash(Kd, normal form)`, 32 bytes.
///
/// `Debug` is redacted so pseudonyms do not reach log lines; [`Pseudonym::to_hex`] is
/// for the places that show a submission on purpose.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pseudonym(#[serde(with = "crate::bytes")] [u8; 32]);

impl Pseudonym {
    /// Wraps 32 bytes received from elsewhere (a decoded submission).
    pub fn from_bytes(bytes: [u8; 32]) -> Pseudonym {
        Pseudonym(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, for outputs that show a submission on purpose.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonym(<redacted>)")
    }
}

impl FromStr for Pseudonym {
    type Err = HexIdError;
    fn from_str(text: &str) -> Result<Self, HexIdError> {
        parse_hex(text).map(Pseudonym)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn test_master() -> MasterSecret {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        MasterSecret::from_bytes(bytes)
    }

    /// The test vector of DESIGN.md §4.
    #[test]
    fn design_test_vector() {
        let master = test_master();
        assert_eq!(master.key_id().to_string(), "5a8bc40d6f1aa5af");
        let domain: LinkageDomain = "gavleborg-ung-2023".parse().unwrap();
        let kd = master.domain_key(&domain);
        assert_eq!(
            hex::encode(kd.danger_as_bytes()),
            "b46d6f7c32040f890e3e3b9706befac593e18ac7c2e4a20934a7c28b7c5c1240"
        );
        let reference = date!(2026 - 11 - 23);
        for (pnr, expected) in [
            (
                "200503129884",
                "cfe33f57fca1a428855e3e6f8e64b3a0558763f4919dca66b2dfa25ab2d5b219",
            ),
            (
                "199807319935",
                "1aee5739c9023ee463bb5917008ff77812be5d24f8996cd6c8693f24f16ea6a9",
            ),
            (
                "200701659955",
                "b6c3b6ac220b62cd80b673d832af6a6ad67bff7ccaa0cf1e2c45444d1b3b165b",
            ),
        ] {
            let person = Personnummer::parse(pnr, reference).unwrap();
            assert_eq!(kd.pseudonym(&person).to_hex(), expected, "{pnr}");
        }
    }

    #[test]
    fn key_file_round_trip_and_refusals() {
        let master = test_master();
        let text = master.to_key_file();
        let again = MasterSecret::from_key_file(text.as_bytes()).unwrap();
        assert_eq!(again.key_id(), master.key_id());
        assert!(MasterSecret::from_key_file(text.trim_end().as_bytes()).is_ok());
        let upper = text.to_uppercase();
        assert_eq!(
            MasterSecret::from_key_file(upper.as_bytes()).err(),
            Some(KeyFileError::Format)
        );
        assert_eq!(
            MasterSecret::from_key_file(&[b'a'; 63]).err(),
            Some(KeyFileError::Format)
        );
        assert_eq!(
            MasterSecret::from_key_file(&[b'a'; 100]).err(),
            Some(KeyFileError::TooLarge { found: 100 })
        );
    }

    #[test]
    fn pseudonyms_do_not_debug_print() {
        let master = test_master();
        let kd = master.domain_key(&"d".parse().unwrap());
        let p = kd.pseudonym(&Personnummer::parse("199807319935", date!(2026 - 01 - 01)).unwrap());
        assert_eq!(format!("{p:?}"), "Pseudonym(<redacted>)");
    }
}
