//! Threshold evaluation and domain setup: the combined output is RFC 9497 POPRF under
//! the dealt key, whichever t custodians set up or answer; wrong answers, wrong
//! openings and reused slots are refused and name the custodian.

use curve25519_dalek::scalar::Scalar;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::{domain, index, people, region, subset};
use crate::codec;
use crate::oprf::ceremony::{self, CeremonyError, CustodianSecret, PublicKeySet, SlotNumber};
use crate::oprf::domain::{public_input, SetupError, SlotLedger};
use crate::oprf::group::{Element, PublicScalar};
use crate::oprf::poprf;
use crate::oprf::shamir::{self, ShamirError, Subset, Threshold};
use crate::oprf::threshold::{
    blind_batch, BlindBatch, DomainShareKey, ShareAnswer, ThresholdError,
};

/// Each share's answer to `batch`, as a member of `chosen`, in order.
fn answers_of<'a>(
    shares: impl IntoIterator<Item = &'a DomainShareKey>,
    chosen: &Subset,
    batch: &BlindBatch,
    rng: &mut ChaCha20Rng,
) -> Vec<ShareAnswer> {
    shares
        .into_iter()
        .map(|s| s.evaluate(chosen, batch.elements(), rng).unwrap())
        .collect()
}

/// The refusal of custodian `n`'s answer.
fn wrong_key(n: u8) -> Option<ThresholdError> {
    Some(ThresholdError::WrongKey {
        custodian: index(n),
    })
}

/// A setup refused for custodian `n`'s wrong opening of `what`.
fn wrong_opening(n: u8, what: &'static str) -> Option<SetupError> {
    Some(SetupError::WrongOpening {
        custodian: index(n),
        what,
    })
}

/// One custodian where the threshold is two.
fn one_of_two() -> ShamirError {
    ShamirError::TooFew {
        found: 1,
        required: 2,
    }
}

/// A bind refused because slot 0 is spent on a-2025.
fn taken_by_a() -> Option<SetupError> {
    Some(SetupError::SlotTaken {
        slot: SlotNumber(0),
        bound: domain("a-2025"),
    })
}

#[test]
fn every_subset_gives_the_single_server_rfc_output() {
    let mut region = region();
    let (_, keys, shares) = region.setup("gavleborg-ung-2023", 0, &[1, 2], &[2, 3]);
    let info = public_input(&domain("gavleborg-ung-2023"));
    let people = people(40);
    let expected: Vec<[u8; 64]> = people
        .iter()
        .map(|p| {
            *region
                .reference
                .evaluate(p.as_bytes(), &info)
                .unwrap()
                .as_bytes()
        })
        .collect();
    for members in [&[1u8, 2][..], &[1, 3], &[2, 3], &[1, 2, 3]] {
        let chosen = subset(&region, members);
        let batch = blind_batch(&people, &mut region.rng).unwrap();
        let answering = members.iter().map(|m| &shares[usize::from(*m) - 1]);
        let answers = answers_of(answering, &chosen, &batch, &mut region.rng);
        let outputs = batch.finish(&keys, &chosen, &answers).unwrap();
        let found: Vec<[u8; 64]> = outputs.iter().map(|o| *o.as_bytes()).collect();
        assert_eq!(found, expected, "subset {members:?}");
    }
}

#[test]
fn the_threshold_output_equals_rfc_finalize_of_a_single_server() {
    let mut region = region();
    let (_, keys, shares) = region.setup("x-2025", 1, &[2, 3], &[1, 3]);
    let info = public_input(&domain("x-2025"));
    let people = people(3);
    let inputs: Vec<&[u8]> = people.iter().map(|p| p.as_bytes().as_slice()).collect();

    let blinded = poprf::blind(&inputs, &mut region.rng).unwrap();
    let (evaluated, proof) = region
        .reference
        .blind_evaluate(&blinded.elements, &info, &mut region.rng)
        .unwrap();
    let public_key = region.public.public_key();
    let single = poprf::finalize(&inputs, &blinded, &evaluated, &proof, &info, public_key).unwrap();

    let chosen = subset(&region, &[1, 3]);
    let batch = blind_batch(&people, &mut region.rng).unwrap();
    let answers = answers_of([&shares[0], &shares[2]], &chosen, &batch, &mut region.rng);
    let combined = batch.finish(&keys, &chosen, &answers).unwrap();
    for (a, b) in single.iter().zip(&combined) {
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert_eq!(a.pseudonym(), b.pseudonym());
    }
    assert_eq!(
        region.public.key_id(),
        crate::oprf::output::custodian_key_id(&region.reference.public_key())
    );
}

#[test]
fn a_wrong_key_answer_is_refused_and_names_the_custodian() {
    let mut region = region();
    let (_, keys, shares) = region.setup("a-2025", 0, &[1, 2], &[1, 2]);
    let (_, _, other_shares) = region.setup("b-2025", 1, &[1, 2], &[1, 2]);
    let people = people(5);
    let chosen = subset(&region, &[1, 2]);

    // Custodian 2 answers with its share of another domain.
    let batch = blind_batch(&people, &mut region.rng).unwrap();
    let answers = answers_of(
        [&shares[0], &other_shares[1]],
        &chosen,
        &batch,
        &mut region.rng,
    );
    assert_eq!(batch.finish(&keys, &chosen, &answers).err(), wrong_key(2));

    // Custodian 1 changes one element after proving.
    let batch = blind_batch(&people, &mut region.rng).unwrap();
    let mut answers = answers_of(&shares[..2], &chosen, &batch, &mut region.rng);
    answers[0].evaluated.swap(1, 3);
    assert_eq!(batch.finish(&keys, &chosen, &answers).err(), wrong_key(1));

    // Custodian 1 answers for another subset (its Lagrange coefficient for {1, 3}).
    let batch = blind_batch(&people, &mut region.rng).unwrap();
    let other = subset(&region, &[1, 3]);
    let mut answers = answers_of([&shares[0]], &other, &batch, &mut region.rng);
    answers.extend(answers_of([&shares[1]], &chosen, &batch, &mut region.rng));
    assert_eq!(batch.finish(&keys, &chosen, &answers).err(), wrong_key(1));

    // An answer short of an element, or answers out of order.
    let batch = blind_batch(&people, &mut region.rng).unwrap();
    let mut answers = answers_of(&shares[..2], &chosen, &batch, &mut region.rng);
    answers.swap(0, 1);
    assert_eq!(
        blind_batch(&people, &mut region.rng)
            .unwrap()
            .finish(&keys, &chosen, &answers)
            .err(),
        Some(ThresholdError::Answers)
    );
    answers.swap(0, 1);
    answers[1].evaluated.pop();
    assert_eq!(
        batch.finish(&keys, &chosen, &answers).err(),
        Some(ThresholdError::Length {
            custodian: index(2),
            expected: 5,
            found: 4
        })
    );
}

#[test]
fn one_custodian_alone_cannot_evaluate() {
    let mut region = region();
    let (_, _, shares) = region.setup("a-2025", 0, &[1, 2], &[1, 2]);
    let threshold = region.public.threshold();
    assert_eq!(
        Subset::new(vec![index(2)], threshold).err(),
        Some(one_of_two())
    );
    // Its share alone is not the domain's key: one share is uniformly random.
    let info = public_input(&domain("a-2025"));
    let person = &people(1)[0];
    let alone = Subset::new(vec![index(2)], Threshold::new(1, 3).unwrap()).unwrap();
    let batch = blind_batch(std::slice::from_ref(person), &mut region.rng).unwrap();
    let answer = shares[1]
        .evaluate(&alone, batch.elements(), &mut region.rng)
        .unwrap();
    assert_ne!(
        answer.evaluated,
        region_evaluation(&region, &batch_elements(&batch), &info)
    );
    assert_eq!(
        shares[1]
            .evaluate(&subset(&region, &[1, 3]), batch.elements(), &mut region.rng)
            .err(),
        Some(ThresholdError::NotInSubset {
            custodian: index(2)
        })
    );
}

fn batch_elements(batch: &crate::oprf::threshold::BlindBatch) -> Vec<Element> {
    batch.elements().to_vec()
}

/// What a single server holding the key answers for these blinded elements.
fn region_evaluation(region: &super::Region, blinded: &[Element], info: &[u8]) -> Vec<Element> {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    region
        .reference
        .blind_evaluate(blinded, info, &mut rng)
        .unwrap()
        .0
}

#[test]
fn a_custodian_absent_from_setup_gets_its_share_from_the_record() {
    let mut region = region();
    let record = region.setup_record("c-2025", 2, &[1, 2]);
    let bytes = codec::encode(&record).unwrap();
    let stored: crate::oprf::domain::DomainRecord = codec::decode(&bytes).unwrap();
    let verified = stored.verify(&region.public).unwrap();
    let third = region.secrets[2].domain_share(&verified).unwrap();
    let second = region.secrets[1].domain_share(&verified).unwrap();
    let attestations = [&region.secrets[1], &region.secrets[2]].map(|s| {
        s.attest(&region.public, &verified, &mut region.rng)
            .unwrap()
    });
    let keys = verified
        .check_attestations(&region.public, &attestations)
        .unwrap();
    let chosen = subset(&region, &[2, 3]);
    let people = people(2);
    let batch = blind_batch(&people, &mut region.rng).unwrap();
    let answers = answers_of([&second, &third], &chosen, &batch, &mut region.rng);
    let outputs = batch.finish(&keys, &chosen, &answers).unwrap();
    let info = public_input(&domain("c-2025"));
    assert_eq!(
        outputs[1].as_bytes(),
        region
            .reference
            .evaluate(people[1].as_bytes(), &info)
            .unwrap()
            .as_bytes()
    );
}

#[test]
fn domains_are_unlinkable_and_blinding_does_not_change_pseudonyms() {
    let mut region = region();
    let (_, keys_a, shares_a) = region.setup("a-2025", 0, &[1, 2], &[1, 2]);
    let (_, keys_b, shares_b) = region.setup("b-2025", 1, &[2, 3], &[1, 3]);
    let people = people(4);
    let chosen = subset(&region, &[1, 2]);
    let mut run = |keys, shares: &[crate::oprf::threshold::DomainShareKey]| {
        let batch = blind_batch(&people, &mut region.rng).unwrap();
        let answers = answers_of(&shares[..2], &chosen, &batch, &mut region.rng);
        batch
            .finish(keys, &chosen, &answers)
            .unwrap()
            .iter()
            .map(|o| o.pseudonym())
            .collect::<Vec<_>>()
    };
    let first = run(&keys_a, &shares_a);
    let again = run(&keys_a, &shares_a);
    let other = run(&keys_b, &shares_b);
    assert_eq!(first, again);
    assert!(first.iter().all(|p| !other.contains(p)));
}

#[test]
fn record_keys_differ_from_pseudonyms_and_between_people() {
    let mut region = region();
    let (_, keys, shares) = region.setup("a-2025", 0, &[1, 2], &[1, 2]);
    let chosen = subset(&region, &[1, 2]);
    let batch = blind_batch(&people(2), &mut region.rng).unwrap();
    let answers = answers_of(&shares[..2], &chosen, &batch, &mut region.rng);
    let outputs = batch.finish(&keys, &chosen, &answers).unwrap();
    assert_ne!(
        outputs[0].record_key_seed().as_bytes(),
        outputs[0].pseudonym().as_bytes()
    );
    assert_ne!(
        outputs[0].record_key_seed().as_bytes(),
        outputs[1].record_key_seed().as_bytes()
    );
}

#[test]
fn wrong_openings_are_named_and_slots_serve_one_domain() {
    let mut region = region();
    let mut record = region.setup_record("a-2025", 0, &[1, 2]);
    let good = record.clone();
    record.tweaks[1].value = PublicScalar(record.tweaks[1].value.0 + Scalar::ONE);
    assert_eq!(
        record.verify(&region.public).err(),
        wrong_opening(2, "tweak")
    );
    let mut record = good.clone();
    record.products[0].value = PublicScalar(record.products[0].value.0 + Scalar::ONE);
    assert_eq!(
        record.verify(&region.public).err(),
        wrong_opening(1, "product")
    );
    // A record claiming another domain for the same openings fails the tweak check.
    let mut record = good.clone();
    record.domain = domain("b-2025");
    assert!(matches!(
        record.verify(&region.public),
        Err(SetupError::WrongOpening { what: "tweak", .. })
    ));
    // A custodian refuses round 2 with a wrong opening from another.
    let bound = region.ledgers[0]
        .bind(SlotNumber(0), &domain("a-2025"), &region.public)
        .unwrap();
    let mut tweaks = good.tweaks.clone();
    tweaks[1].value = PublicScalar(Scalar::ONE);
    assert_eq!(
        region.secrets[0]
            .open_product(&region.public, &bound, &tweaks)
            .err(),
        wrong_opening(2, "tweak")
    );
    assert_eq!(
        region.secrets[0]
            .open_product(&region.public, &bound, &tweaks[..1])
            .err(),
        Some(SetupError::Subset(one_of_two()))
    );
    // The slot is spent on a-2025; a-2025 has its slot.
    let ledger = &mut region.ledgers[0];
    assert_eq!(
        ledger
            .bind(SlotNumber(0), &domain("b-2025"), &region.public)
            .err(),
        taken_by_a()
    );
    assert_eq!(
        ledger
            .bind(SlotNumber(1), &domain("a-2025"), &region.public)
            .err(),
        taken_by_a()
    );
    assert_eq!(
        ledger
            .bind(SlotNumber(9), &domain("c-2025"), &region.public)
            .err(),
        Some(SetupError::NoSlot {
            slot: SlotNumber(9),
            count: 4
        })
    );
    let stored = SlotLedger::from_bindings(ledger.bindings().map(|(s, d)| (*s, d.clone())));
    assert_eq!(&stored, ledger);
}

#[test]
fn attestations_bind_the_domain_keys_to_the_published_key() {
    let mut region = region();
    let record = region.setup_record("a-2025", 0, &[1, 2]);
    let verified = record.verify(&region.public).unwrap();
    let mut attestations: Vec<_> = region.secrets[..2]
        .iter()
        .map(|s| {
            s.attest(&region.public, &verified, &mut region.rng)
                .unwrap()
        })
        .collect();
    assert!(verified
        .check_attestations(&region.public, &attestations)
        .is_ok());
    assert_eq!(
        verified
            .check_attestations(&region.public, &attestations[..1])
            .err(),
        Some(SetupError::Subset(one_of_two()))
    );
    // Custodian 2's attestation presented as custodian 1's.
    let mut swapped = attestations.clone();
    swapped[0].value = swapped[1].value;
    assert_eq!(
        verified.check_attestations(&region.public, &swapped).err(),
        Some(SetupError::WrongAttestation {
            custodian: index(1)
        })
    );
    // Another key's custodians, with valid proofs of their own key shares, do not
    // attest this domain's keys.
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let other = ceremony::run(region.public.threshold(), 1, &mut rng).unwrap();
    let foreign: Vec<_> = other.secrets[..2]
        .iter()
        .map(|s| s.attest(&other.public, &verified, &mut rng).unwrap())
        .collect();
    assert!(verified
        .check_attestations(&other.public, &foreign)
        .is_err());
    attestations[1].domain = domain("b-2025");
    assert!(matches!(
        verified.check_attestations(&region.public, &attestations),
        Err(SetupError::OtherDomain { .. })
    ));
}

#[test]
fn a_tampered_key_set_or_secret_is_refused_where_read() {
    let region = region();
    let bytes = codec::encode(&region.public).unwrap();
    let again: PublicKeySet = codec::decode(&bytes).unwrap();
    assert_eq!(again, region.public);

    let mut parts: ceremony::PublicKeySetParts = region.public.clone().into();
    parts.key_shares.swap(0, 1);
    let tampered = codec::encode(&parts).unwrap();
    assert!(codec::decode::<PublicKeySet>(&tampered).is_err());
    assert!(matches!(
        PublicKeySet::try_from(parts),
        Err(CeremonyError::Inconsistent { .. })
    ));
    let mut parts: ceremony::PublicKeySetParts = region.public.clone().into();
    parts.slots[2].c[2] = parts.slots[2].a[2];
    assert!(matches!(
        PublicKeySet::try_from(parts),
        Err(CeremonyError::Inconsistent { what }) if what == "slot 2 c shares"
    ));

    let stored = region.secrets[1].to_bytes();
    let loaded = CustodianSecret::from_bytes(&stored).unwrap();
    assert_eq!(loaded.check(&region.public), Ok(()));
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let other = ceremony::run(region.public.threshold(), 4, &mut rng).unwrap();
    assert_eq!(
        loaded.check(&other.public),
        Err(CeremonyError::Mismatch {
            custodian: index(2),
            what: "key share"
        })
    );
    assert!(CustodianSecret::from_bytes(&stored[..stored.len() - 1]).is_err());
}

#[test]
fn lagrange_coefficients_recombine_any_subset() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for (t, n) in [(1u8, 1u8), (2, 3), (3, 5), (4, 4)] {
        let threshold = Threshold::new(t, n).unwrap();
        let secret = crate::oprf::group::random_scalar(&mut rng);
        let shares = shamir::deal(&secret, threshold, &mut rng);
        for mask in 1u32..(1 << n) {
            let members: Vec<_> = (1..=n)
                .filter(|i| mask & (1 << (i - 1)) != 0)
                .map(index)
                .collect();
            let values: Vec<Scalar> = members
                .iter()
                .map(|m| shares[usize::from(m.number()) - 1])
                .collect();
            match Subset::new(members.clone(), threshold) {
                Ok(s) => assert_eq!(
                    s.interpolate_at(&values, Scalar::ZERO),
                    secret,
                    "{t} of {n}: {members:?}"
                ),
                Err(e) => assert!(members.len() < usize::from(t), "{e}"),
            }
        }
    }
    assert!(Threshold::new(3, 2).is_err());
    assert!(Threshold::new(0, 2).is_err());
    assert_eq!(
        Subset::new(vec![index(2), index(1)], Threshold::new(2, 3).unwrap()).err(),
        Some(ShamirError::Order)
    );
    assert_eq!(
        Subset::new(vec![index(1), index(4)], Threshold::new(2, 3).unwrap()).err(),
        Some(ShamirError::Unknown {
            found: index(4),
            custodians: 3
        })
    );
}
