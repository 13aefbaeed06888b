//! Benchmarks of the custodian scheme, per element and single-threaded: a custodian's
//! share evaluation of a batch with its proof, and the node's blind, check of t = 2
//! answers, combine, unblind and finalize. docs/performance.md turns them into the
//! issue's targets.
//!
//! Run with `cargo bench -p samla-common --bench oprf`.

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use samla_common::oprf::ceremony::{self, SlotNumber};
use samla_common::oprf::domain::{DomainKeys, DomainRecord, SlotLedger};
use samla_common::oprf::shamir::{CustodianIndex, Subset, Threshold};
use samla_common::oprf::threshold::{blind_batch, DomainShareKey, ShareAnswer};
use samla_common::personnummer::{luhn_check_digit, Personnummer};
use time::macros::date;
use time::Duration;

fn main() {
    divan::main();
}

/// Batch sizes: a small batch, a typical one, the largest a request may carry.
const SIZES: [usize; 3] = [64, 1024, 4096];

/// `n` valid 12-digit personnummer.
fn people(n: usize) -> Vec<Personnummer> {
    (0..n)
        .map(|i| {
            let birth = date!(1990 - 01 - 01) + Duration::days((i % 9000) as i64);
            let nine = format!(
                "{:02}{:02}{:02}{:03}",
                birth.year() % 100,
                birth.month() as u8,
                birth.day(),
                i % 999 + 1
            );
            let text = format!(
                "{}{nine}{}",
                birth.year() / 100,
                luhn_check_digit(nine.as_bytes())
            );
            Personnummer::parse(&text, date!(2026 - 01 - 01)).expect("valid")
        })
        .collect()
}

/// A 2-of-3 region with one domain set up by custodians 1 and 2.
struct Region {
    keys: DomainKeys,
    shares: Vec<DomainShareKey>,
    subset: Subset,
}

fn region() -> Region {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let threshold = Threshold::new(2, 3).expect("valid");
    let dealt = ceremony::run(threshold, 1, &mut rng).expect("ceremony");
    let domain = "gavleborg-ung-2023".parse().expect("valid");
    let mut ledger = SlotLedger::default();
    let bound = ledger
        .bind(SlotNumber(0), &domain, &dealt.public)
        .expect("free slot");
    let tweaks: Vec<_> = dealt.secrets[..2]
        .iter()
        .map(|s| s.open_tweak(&bound).expect("open"))
        .collect();
    let products = dealt.secrets[..2]
        .iter()
        .map(|s| {
            s.open_product(&dealt.public, &bound, &tweaks)
                .expect("open")
        })
        .collect();
    let record = DomainRecord {
        domain,
        slot: SlotNumber(0),
        tweaks,
        products,
    };
    let verified = record.verify(&dealt.public).expect("record");
    let attestations: Vec<_> = dealt.secrets[..2]
        .iter()
        .map(|s| {
            s.attest(&dealt.public, &verified, &mut rng)
                .expect("attest")
        })
        .collect();
    let keys = verified
        .check_attestations(&dealt.public, &attestations)
        .expect("attested");
    let shares = dealt
        .secrets
        .iter()
        .map(|s| s.domain_share(&verified).expect("share"))
        .collect();
    let members = [1, 2].map(|n| CustodianIndex::new(n).expect("valid"));
    let subset = Subset::new(members.to_vec(), threshold).expect("subset");
    Region {
        keys,
        shares,
        subset,
    }
}

/// A custodian's answer to one batch: `(λ_i s_i)·B` per element and the batch proof.
#[divan::bench(args = SIZES, sample_count = 10)]
fn custodian_evaluate(bencher: Bencher, size: usize) {
    let region = region();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let batch = blind_batch(&people(size), &mut rng).expect("blind");
    bencher.counter(ItemsCount::new(size)).bench_local(|| {
        region.shares[0]
            .evaluate(&region.subset, black_box(batch.elements()), &mut rng)
            .expect("evaluate")
    });
}

/// The node's blinding of a batch.
#[divan::bench(args = SIZES, sample_count = 10)]
fn node_blind(bencher: Bencher, size: usize) {
    let people = people(size);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    bencher
        .counter(ItemsCount::new(size))
        .bench_local(|| blind_batch(black_box(&people), &mut rng).expect("blind"));
}

/// The node's check of both answers' proofs, the sum, unblinding and `Finalize`, and
/// the pseudonym and record key derivations.
#[divan::bench(args = SIZES, sample_count = 10)]
fn node_check_combine_finalize(bencher: Bencher, size: usize) {
    let region = region();
    let people = people(size);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    bencher
        .counter(ItemsCount::new(size))
        .with_inputs(|| {
            let batch = blind_batch(&people, &mut rng).expect("blind");
            let answers: Vec<ShareAnswer> = region.shares[..2]
                .iter()
                .map(|s| {
                    s.evaluate(&region.subset, batch.elements(), &mut rng)
                        .expect("evaluate")
                })
                .collect();
            (batch, answers)
        })
        .bench_local_values(|(batch, answers)| {
            let outputs = batch
                .finish(&region.keys, &region.subset, &answers)
                .expect("finish");
            outputs
                .iter()
                .map(|o| (o.pseudonym(), *o.record_key_seed().as_bytes()))
                .collect::<Vec<_>>()
        });
}

/// Decoding a request: every blinded element is decompressed and checked, the
/// custodian's share of the per-element cost not in `custodian_evaluate` (a node
/// decoding an answer pays the same per element and custodian).
#[divan::bench(args = SIZES, sample_count = 10)]
fn decode_evaluate_request(bencher: Bencher, size: usize) {
    use samla_common::oprf::messages::{self, CustodianRequest, EvaluateRequest};
    let region = region();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let batch = blind_batch(&people(size), &mut rng).expect("blind");
    let request = CustodianRequest::Evaluate(EvaluateRequest {
        key_id: region.keys.key_id(),
        domain: region.keys.domain().clone(),
        subset: region.subset.members().to_vec(),
        blinded: batch.elements().to_vec(),
    });
    let bytes = messages::encode_request(&request).expect("encode");
    bencher
        .counter(ItemsCount::new(size))
        .bench_local(|| messages::decode_request(black_box(&bytes)).expect("decode"));
}
