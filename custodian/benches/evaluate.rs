//! A custodian's evaluation work per batch, and a node's blinding and combining, on
//! one core: `cargo bench -p samla-custodian --bench evaluate`. A custodian answers
//! batches on every core (one blocking thread each), so its rate on this machine is
//! about the cores times the rate per core printed here. docs/performance.md has
//! the figures and the end-to-end timing over loopback.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark's setup either works or stops"
)]

use divan::Bencher;
use samla_common::codes::KommunCode;
use samla_common::oprf::ceremony::{self, CustodianSecret, SlotNumber};
use samla_common::oprf::domain::DomainRecord;
use samla_common::oprf::messages::{
    CustodianRequest, CustodianResponse, EvaluateRequest, MAX_BATCH,
};
use samla_common::oprf::rate::RateLimit;
use samla_common::oprf::service::{Caller, Custodian};
use samla_common::oprf::shamir::{Subset, Threshold};
use samla_common::oprf::threshold::{blind_batch, ShareAnswer};
use samla_common::personnummer::Personnummer;
use samla_common::pseudonym::LinkageDomain;

fn main() {
    divan::main();
}

struct Setup {
    public: samla_common::oprf::ceremony::PublicKeySet,
    custodians: Vec<Custodian>,
    domain: LinkageDomain,
    key_id: samla_common::oprf::output::CustodianKeyId,
    people: Vec<Personnummer>,
}

fn setup() -> Setup {
    let mut rng = rand::rng();
    let threshold = Threshold::new(2, 3).unwrap();
    let dealt = ceremony::run(threshold, 2, &mut rng).unwrap();
    let limit = RateLimit {
        evaluations: u64::MAX,
        period_seconds: 86_400,
    };
    let mut custodians: Vec<Custodian> = dealt
        .secrets
        .iter()
        .map(|s| {
            let copy = CustodianSecret::from_bytes(&s.to_bytes()).unwrap();
            Custodian::new(dealt.public.clone(), copy, limit).unwrap()
        })
        .collect();
    let domain: LinkageDomain = "bench-ung-2025".parse().unwrap();
    let key_id = dealt.public.key_id();
    let ask = |c: &mut Custodian, request| {
        c.handle(0, Caller::Coordinator, None, request, &mut rand::rng())
            .response
    };
    let mut tweaks = Vec::new();
    for c in custodians[..2].iter_mut() {
        let CustodianResponse::TweakOpened(o) = ask(
            c,
            CustodianRequest::OpenTweak {
                key_id,
                domain: domain.clone(),
                slot: SlotNumber(0),
            },
        ) else {
            panic!("round 1")
        };
        tweaks.push(o);
    }
    let mut products = Vec::new();
    for c in custodians[..2].iter_mut() {
        let CustodianResponse::ProductOpened(o) = ask(
            c,
            CustodianRequest::OpenProduct {
                key_id,
                domain: domain.clone(),
                slot: SlotNumber(0),
                tweaks: tweaks.clone(),
            },
        ) else {
            panic!("round 2")
        };
        products.push(o);
    }
    let record = DomainRecord {
        domain: domain.clone(),
        slot: SlotNumber(0),
        tweaks,
        products,
    };
    for c in custodians.iter_mut() {
        assert_eq!(
            ask(c, CustodianRequest::StoreDomain(record.clone())),
            CustodianResponse::DomainStored
        );
    }
    let reference = time::macros::date!(2026 - 01 - 01);
    let people: Vec<Personnummer> = (0..)
        .filter_map(|i: usize| {
            let base = format!(
                "19{:02}{:02}{:02}{:03}",
                60 + i % 40,
                1 + i % 12,
                1 + i % 28,
                i % 1000
            );
            (0..10)
                .map(|check| format!("{base}{check}"))
                .find_map(|s| Personnummer::parse(&s, reference).ok())
        })
        .take(MAX_BATCH)
        .collect();
    assert_eq!(people.len(), MAX_BATCH);
    Setup {
        public: dealt.public.clone(),
        custodians,
        domain,
        key_id,
        people,
    }
}

/// One custodian's whole work on a full batch: the checks, the rate limit, the
/// evaluation and the batched DLEQ proof (4 096 evaluations).
#[divan::bench(sample_count = 10)]
fn custodian_evaluates_a_batch(bencher: Bencher) {
    let s = setup();
    let batch = blind_batch(&s.people, &mut rand::rng()).unwrap();
    let kommun: KommunCode = "2180".parse().unwrap();
    let request = EvaluateRequest {
        key_id: s.key_id,
        domain: s.domain.clone(),
        subset: Subset::new(
            s.custodians[..2].iter().map(|c| c.custodian()).collect(),
            Threshold::new(2, 3).unwrap(),
        )
        .unwrap()
        .members()
        .to_vec(),
        blinded: batch.elements().to_vec(),
    };
    bencher
        .counter(divan::counter::ItemsCount::new(MAX_BATCH))
        .bench_local(|| {
            let admitted = s.custodians[0]
                .admit(1, kommun, None, request.clone())
                .unwrap();
            s.custodians[0].evaluate(1, admitted, &mut rand::rng())
        });
}

/// A node's blinding of a full batch (4 096 people).
#[divan::bench(sample_count = 10)]
fn node_blinds_a_batch(bencher: Bencher) {
    let s = setup();
    bencher
        .counter(divan::counter::ItemsCount::new(MAX_BATCH))
        .bench_local(|| blind_batch(&s.people, &mut rand::rng()).unwrap());
}

/// A node's checking of two custodians' answers (both proofs), adding and
/// unblinding a full batch (4 096 people); the blinding and the custodians' work
/// are not timed.
#[divan::bench(sample_count = 10)]
fn node_checks_and_combines_a_batch(bencher: Bencher) {
    let mut s = setup();
    let kommun: KommunCode = "2180".parse().unwrap();
    let threshold = Threshold::new(2, 3).unwrap();
    let members: Vec<_> = s.custodians[..2].iter().map(|c| c.custodian()).collect();
    let subset = Subset::new(members.clone(), threshold).unwrap();
    let mut record = None;
    let mut attestations = Vec::new();
    for c in s.custodians[..2].iter_mut() {
        let CustodianResponse::Domain {
            record: r,
            attestation,
        } = c
            .handle(
                0,
                Caller::Node(kommun),
                None,
                CustodianRequest::Domain {
                    key_id: s.key_id,
                    domain: s.domain.clone(),
                },
                &mut rand::rng(),
            )
            .response
        else {
            panic!("domain")
        };
        record = Some(r);
        attestations.push(attestation);
    }
    let keys = record
        .unwrap()
        .verify(&s.public)
        .unwrap()
        .check_attestations(&s.public, &attestations)
        .unwrap();
    bencher
        .counter(divan::counter::ItemsCount::new(MAX_BATCH))
        .with_inputs(|| {
            let batch = blind_batch(&s.people, &mut rand::rng()).unwrap();
            let request = EvaluateRequest {
                key_id: s.key_id,
                domain: s.domain.clone(),
                subset: members.clone(),
                blinded: batch.elements().to_vec(),
            };
            let answers: Vec<ShareAnswer> = s.custodians[..2]
                .iter()
                .map(|c| {
                    let admitted = c.admit(1, kommun, None, request.clone()).unwrap();
                    match c.evaluate(1, admitted, &mut rand::rng()).response {
                        CustodianResponse::Evaluated(a) => a,
                        other => panic!("{other:?}"),
                    }
                })
                .collect();
            (batch, answers)
        })
        .bench_local_values(|(batch, answers)| batch.finish(&keys, &subset, &answers).unwrap());
}
