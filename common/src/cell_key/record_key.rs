//! Record keys: the uniform number in `[0, 1)` each participation adds to the key of
//! every cell it is counted in (docs/formats.md, "Record keys and cell keys", has the
//! exact derivation and a test vector).
//!
//! A node derives them from the region's master secret and the personnummer's normal
//! form with a context of their own, never from the pseudonym: the hub holds the
//! pseudonyms, so a key it could compute from one would tell it which pseudonym sits in
//! a one-person cell. The derivation goes through a per-person [`PersonSecret`] so that
//! custodian mode (DESIGN.md §4a, issue #17), where nodes hold no master secret, can
//! supply that secret from its own source (an OPRF output the hub never sees) and keep
//! everything after it.
//!
//! The linkage domain, the kommun and the project all enter the key, so the same person
//! has unrelated record keys in two domains, two kommuner or two projects: the hub
//! cannot match one-person cells across them by their keys. Nothing needs them to
//! match: every cell belongs to one kommun and one project, and a regional cell's key
//! is the sum of its kommuner's keys whatever those are.
//!
//! People the hub knows only by pseudonym (distinct counts and overlaps, which it
//! computes itself from the linkage sets) get a public key from the pseudonym,
//! [`RecordKey::of_pseudonym`]: the hub could compute it anyway, so it learns nothing.

use std::fmt;

use zeroize::Zeroizing;

use crate::codes::{KommunCode, ProjectCode};
use crate::personnummer::Personnummer;
use crate::pseudonym::{LinkageDomain, MasterSecret, Pseudonym};

/// Context of the per-domain key record keys are derived under.
const RECORD_KEY_DOMAIN_CONTEXT: &str = "samla 2026-11 record-key domain key v1";

/// Context of the public key of a pseudonym.
const PSEUDONYM_KEY_CONTEXT: &str = "samla 2026-11 pseudonym cell key v1";

/// A participation's record key `x / 2⁶⁴`, held as the integer `x`, so that sums mod 1
/// are exact wrapping additions that any implementation reproduces.
///
/// `Debug` is redacted: a one-person cell's key is its person's record key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordKey(u64);

impl RecordKey {
    /// Wraps `x`, the key `x / 2⁶⁴`.
    pub fn from_bits(bits: u64) -> RecordKey {
        RecordKey(bits)
    }

    /// `x`, for the key `x / 2⁶⁴`.
    pub fn bits(self) -> u64 {
        self.0
    }

    /// The key of 32 derived bytes: their first 8 bytes read little-endian.
    fn from_derived(bytes: &[u8; 32]) -> RecordKey {
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes[..8]);
        RecordKey(u64::from_le_bytes(first))
    }

    /// The public key of a person the hub knows only by pseudonym, for distinct counts
    /// and overlaps: the first 8 bytes, little-endian, of
    /// `BLAKE3.derive_key("samla 2026-11 pseudonym cell key v1", pseudonym)`.
    pub fn of_pseudonym(pseudonym: &Pseudonym) -> RecordKey {
        PseudonymKeyer::new().key(pseudonym)
    }
}

/// [`RecordKey::of_pseudonym`] for many pseudonyms: the context is hashed once (a
/// prepared derive-key hasher, cloned per pseudonym, computes the same as
/// `derive_key`).
pub(crate) struct PseudonymKeyer(blake3::Hasher);

impl PseudonymKeyer {
    pub(crate) fn new() -> PseudonymKeyer {
        PseudonymKeyer(blake3::Hasher::new_derive_key(PSEUDONYM_KEY_CONTEXT))
    }

    pub(crate) fn key(&self, pseudonym: &Pseudonym) -> RecordKey {
        let mut hasher = self.0.clone();
        hasher.update(pseudonym.as_bytes());
        RecordKey::from_derived(hasher.finalize().as_bytes())
    }
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordKey(<redacted>)")
    }
}

/// Derives record keys in one linkage domain from the region's master secret (shared-key
/// mode). Zeroized on drop; no `Debug`.
pub struct RecordKeyer(Zeroizing<[u8; 32]>);

impl RecordKeyer {
    /// The keyer for `domain`: `Kr = BLAKE3.derive_key("samla 2026-11 record-key domain
    /// key v1", master ‖ utf8(domain))`.
    pub fn new(master: &MasterSecret, domain: &LinkageDomain) -> RecordKeyer {
        let master = master_bytes(master);
        let mut material = Zeroizing::new(Vec::with_capacity(32 + domain.as_str().len()));
        material.extend_from_slice(master.as_ref());
        material.extend_from_slice(domain.as_str().as_bytes());
        RecordKeyer(Zeroizing::new(blake3::derive_key(
            RECORD_KEY_DOMAIN_CONTEXT,
            &material,
        )))
    }

    /// The person's secret: `BLAKE3.keyed_hash(Kr, ascii(normal form))`.
    pub fn person_secret(&self, person: &Personnummer) -> PersonSecret {
        PersonSecret(Zeroizing::new(
            *blake3::keyed_hash(&self.0, person.as_bytes()).as_bytes(),
        ))
    }

    /// The record key of `person`'s participation in `project` in `kommun`.
    pub fn record_key(
        &self,
        person: &Personnummer,
        kommun: KommunCode,
        project: &ProjectCode,
    ) -> RecordKey {
        self.person_secret(person).record_key(kommun, project)
    }

    /// `Kr`, for conformance tests only.
    pub fn danger_as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The 32 secret bytes all of one person's record keys in a domain are derived from.
/// Zeroized on drop; no `Debug`.
pub struct PersonSecret(Zeroizing<[u8; 32]>);

impl PersonSecret {
    /// Wraps 32 secret bytes from another source: in custodian mode, the unblinded
    /// output of an evaluation the hub never sees (never the pseudonym, and never a
    /// value the hub can compute from one).
    pub fn from_bytes(bytes: [u8; 32]) -> PersonSecret {
        PersonSecret(Zeroizing::new(bytes))
    }

    /// The record key of this person's participation in `project` in `kommun`: the first
    /// 8 bytes, little-endian, of `BLAKE3.keyed_hash(secret, ascii(kommun) ‖
    /// utf8(project))`. The kommun code is always 4 characters, so the input is
    /// unambiguous.
    pub fn record_key(&self, kommun: KommunCode, project: &ProjectCode) -> RecordKey {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        hasher.update(kommun.as_str().as_bytes());
        hasher.update(project.as_str().as_bytes());
        RecordKey::from_derived(hasher.finalize().as_bytes())
    }

    /// The secret bytes, for conformance tests only.
    pub fn danger_as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The master's 32 bytes. [`MasterSecret`] gives its bytes out only as key-file text,
/// so nothing outside its module reaches them by accident; decode that text here.
fn master_bytes(master: &MasterSecret) -> Zeroizing<[u8; 32]> {
    let text = master.to_key_file();
    let mut bytes = Zeroizing::new([0u8; 32]);
    // `to_key_file` always writes exactly 64 lowercase hex characters and a newline, so
    // the slice exists and decodes; a silent fallback key would be far worse than this.
    hex::decode_to_slice(&text.as_bytes()[..64], bytes.as_mut())
        .expect("MasterSecret::to_key_file writes 64 lowercase hex characters");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// DESIGN.md §4's master: bytes 0x00..0x1f.
    fn test_master() -> MasterSecret {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        MasterSecret::from_bytes(bytes)
    }

    fn person(pnr: &str) -> Personnummer {
        Personnummer::parse(pnr, date!(2026 - 11 - 23)).unwrap()
    }

    /// The test vector of docs/formats.md, "Record keys and cell keys"; also checked by
    /// `scripts/record-key.py`, an independent implementation.
    #[test]
    fn the_documented_test_vector() {
        let keyer = RecordKeyer::new(&test_master(), &"gavleborg-ung-2023".parse().unwrap());
        assert_eq!(
            hex::encode(keyer.danger_as_bytes()),
            "6004c91e005d8cfb9e4feff94a2be8e634b000d74dbf9af260e1e8558c6f6e90"
        );
        let (kommun, project) = ("2180".parse().unwrap(), "UNG".parse().unwrap());
        for (pnr, secret, key) in [
            (
                "200503129884",
                "9c3894db5fa3b9acc7030669abb3c8046a097f283a2ed0213eb125c05b762bd5",
                18150354068922749397,
            ),
            (
                "199807319935",
                "abdc40c463cbca0018f2692bc4d12674e0d4b10d7bef81474e5b89dec7c34365",
                14350478514356563408,
            ),
            (
                "200701659955",
                "d883539c209a1ea1ddf74185e7d221601aec975da3ffdfabe9be93ee3a86f17b",
                4263292733280566543,
            ),
        ] {
            let person = person(pnr);
            assert_eq!(
                hex::encode(keyer.person_secret(&person).danger_as_bytes()),
                secret,
                "{pnr}"
            );
            assert_eq!(
                keyer.record_key(&person, kommun, &project).bits(),
                key,
                "{pnr}"
            );
        }
        let pseudonym: Pseudonym =
            "cfe33f57fca1a428855e3e6f8e64b3a0558763f4919dca66b2dfa25ab2d5b219"
                .parse()
                .unwrap();
        assert_eq!(
            RecordKey::of_pseudonym(&pseudonym).bits(),
            6862668042644092482
        );
    }

    #[test]
    fn domain_kommun_and_project_each_change_the_key() {
        let master = test_master();
        let keyer = RecordKeyer::new(&master, &"gavleborg-ung-2023".parse().unwrap());
        let other_domain = RecordKeyer::new(&master, &"gavleborg-ung-2026".parse().unwrap());
        let who = person("199807319935");
        let (gavle, sandviken) = ("2180".parse().unwrap(), "2181".parse().unwrap());
        let (ung, omstart) = ("UNG".parse().unwrap(), "OMSTART".parse().unwrap());
        let base = keyer.record_key(&who, gavle, &ung);
        assert_eq!(base, keyer.record_key(&who, gavle, &ung), "deterministic");
        assert_ne!(base, other_domain.record_key(&who, gavle, &ung));
        assert_ne!(base, keyer.record_key(&who, sandviken, &ung));
        assert_ne!(base, keyer.record_key(&who, gavle, &omstart));
        assert_ne!(base, keyer.record_key(&person("200503129884"), gavle, &ung));
    }

    /// The record key is not the pseudonym's public key, nor any slice of the
    /// pseudonym: the hub, which holds pseudonyms, cannot compute it.
    #[test]
    fn a_record_key_is_not_computable_from_the_pseudonym() {
        let master = test_master();
        let domain: LinkageDomain = "gavleborg-ung-2023".parse().unwrap();
        let keyer = RecordKeyer::new(&master, &domain);
        let who = person("199807319935");
        let pseudonym = master.domain_key(&domain).pseudonym(&who);
        let key = keyer.record_key(&who, "2180".parse().unwrap(), &"UNG".parse().unwrap());
        assert_ne!(key, RecordKey::of_pseudonym(&pseudonym));
        for window in pseudonym.as_bytes().windows(8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(window);
            assert_ne!(key.bits(), u64::from_le_bytes(bytes));
            assert_ne!(key.bits(), u64::from_be_bytes(bytes));
        }
    }

    #[test]
    fn keys_do_not_debug_print() {
        assert_eq!(
            format!("{:?}", RecordKey::from_bits(42)),
            "RecordKey(<redacted>)"
        );
    }
}
