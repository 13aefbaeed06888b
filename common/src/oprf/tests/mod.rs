//! Tests of the custodian scheme: the RFC path against RFC 9497's vectors ([`rfc`]),
//! threshold evaluation and domain setup against the single-server reference
//! ([`threshold`]), and the messages, rate limit and log ([`protocol`]). The fixture
//! here is a region of three custodians, two needed, dealt from a known key so the
//! combined result can be compared with a single server holding that key.

mod protocol;
mod rfc;
mod rfc9497_vectors;
mod threshold;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use time::macros::date;
use time::Duration;

use crate::oprf::ceremony::{self, CustodianSecret, PublicKeySet, SlotNumber};
use crate::oprf::domain::{DomainKeys, DomainRecord, SlotLedger, VerifiedDomain};
use crate::oprf::poprf::ServerSecret;
use crate::oprf::shamir::{CustodianIndex, Subset, Threshold};
use crate::oprf::threshold::DomainShareKey;
use crate::personnummer::{luhn_check_digit, Personnummer};
use crate::pseudonym::LinkageDomain;

/// Three custodians, two needed, dealt from a known key.
pub(super) struct Region {
    pub public: PublicKeySet,
    pub secrets: Vec<CustodianSecret>,
    pub ledgers: Vec<SlotLedger>,
    pub reference: ServerSecret,
    pub rng: ChaCha20Rng,
}

pub(super) fn region() -> Region {
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let reference = ServerSecret::derive(&[0x17; 32], b"samla test key").unwrap();
    let threshold = Threshold::new(2, 3).unwrap();
    let dealt = ceremony::run_with_key(&reference, threshold, 4, &mut rng).unwrap();
    Region {
        public: dealt.public,
        secrets: dealt.secrets,
        ledgers: vec![SlotLedger::default(); 3],
        reference,
        rng,
    }
}

pub(super) fn index(n: u8) -> CustodianIndex {
    CustodianIndex::new(n).unwrap()
}

pub(super) fn subset(region: &Region, members: &[u8]) -> Subset {
    Subset::new(
        members.iter().map(|m| index(*m)).collect(),
        region.public.threshold(),
    )
    .unwrap()
}

pub(super) fn domain(name: &str) -> LinkageDomain {
    name.parse().unwrap()
}

impl Region {
    /// Both rounds of the domain setup with the custodians `members`, as a coordinator
    /// would run them; returns the public record.
    pub fn setup_record(&mut self, name: &str, slot: u16, members: &[u8]) -> DomainRecord {
        let d = domain(name);
        let slot = SlotNumber(slot);
        let mut tweaks = Vec::new();
        for m in members {
            let at = usize::from(*m) - 1;
            let bound = self.ledgers[at].bind(slot, &d, &self.public).unwrap();
            tweaks.push(self.secrets[at].open_tweak(&bound).unwrap());
        }
        let mut products = Vec::new();
        for m in members {
            let at = usize::from(*m) - 1;
            let bound = self.ledgers[at].bind(slot, &d, &self.public).unwrap();
            assert!(!bound.is_new(), "the first round bound the slot");
            products.push(
                self.secrets[at]
                    .open_product(&self.public, &bound, &tweaks)
                    .unwrap(),
            );
        }
        DomainRecord {
            domain: d,
            slot,
            tweaks,
            products,
        }
    }

    /// A set-up domain, its keys as a node checks them (attested by `attesters`) and
    /// every custodian's share.
    pub fn setup(
        &mut self,
        name: &str,
        slot: u16,
        members: &[u8],
        attesters: &[u8],
    ) -> (VerifiedDomain, DomainKeys, Vec<DomainShareKey>) {
        let record = self.setup_record(name, slot, members);
        let verified = record.verify(&self.public).unwrap();
        let attestations: Vec<_> = attesters
            .iter()
            .map(|a| {
                self.secrets[usize::from(*a) - 1]
                    .attest(&self.public, &verified, &mut self.rng)
                    .unwrap()
            })
            .collect();
        let keys = verified
            .check_attestations(&self.public, &attestations)
            .unwrap();
        let shares = self
            .secrets
            .iter()
            .map(|s| s.domain_share(&verified).unwrap())
            .collect();
        (verified, keys, shares)
    }
}

/// `n` distinct valid personnummer.
pub(super) fn people(n: usize) -> Vec<Personnummer> {
    (0..n)
        .map(|i| {
            let birth = date!(1995 - 01 - 01) + Duration::days((i % 3000) as i64);
            let nine = format!(
                "{:02}{:02}{:02}{:03}",
                birth.year() % 100,
                birth.month() as u8,
                birth.day(),
                i / 3000 + 1
            );
            let text = format!(
                "{}{nine}{}",
                birth.year() / 100,
                luhn_check_digit(nine.as_bytes())
            );
            Personnummer::parse(&text, date!(2026 - 01 - 01)).unwrap()
        })
        .collect()
}
