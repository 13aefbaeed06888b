//! A region's custodians through their messages and the service: setup by a
//! coordinator, attestations, evaluation, the rate limit, refusals by role, the batch
//! bound, and the log entries in an RFC 6962 tree with a signed checkpoint.

use super::{domain, index, people, region, Region};
use crate::codes::KommunCode;
use crate::oprf::ceremony::SlotNumber;
use crate::oprf::log::{CustodianEntryKind, CustodianLogEntry};
use crate::oprf::messages::{
    self, CustodianRefusal, CustodianRequest, CustodianResponse, EvaluateRequest, MAX_BATCH,
};
use crate::oprf::rate::{RateLimit, RateWindow};
use crate::oprf::service::{Caller, Custodian, Handled, Persist};
use crate::oprf::shamir::Subset;
use crate::oprf::threshold::blind_batch;
use crate::signing::SigningKey;
use crate::translog::{Checkpoint, MemoryHashes};

const NOW: i64 = 1_795_000_000;

fn kommun() -> KommunCode {
    "2180".parse().unwrap()
}

fn custodians(region: &Region, limit: RateLimit) -> Vec<Custodian> {
    region
        .secrets
        .iter()
        .map(|s| {
            let copy = crate::oprf::ceremony::CustodianSecret::from_bytes(&s.to_bytes()).unwrap();
            Custodian::new(region.public.clone(), copy, limit).unwrap()
        })
        .collect()
}

/// Sends a request through its encoding and decodes the answer, as the wire would.
fn ask(
    custodian: &mut Custodian,
    caller: Caller,
    stored: Option<RateWindow>,
    request: &CustodianRequest,
    region: &mut Region,
) -> (CustodianResponse, Handled) {
    let decoded = messages::decode_request(&messages::encode_request(request).unwrap()).unwrap();
    let handled = custodian.handle(NOW, caller, stored, decoded, &mut region.rng);
    let bytes = messages::encode_response(&handled.response).unwrap();
    (messages::decode_response(&bytes).unwrap(), handled)
}

/// Sets `name` up with custodians 1 and 2 and stores it at all three.
fn coordinate_setup(region: &mut Region, custodians: &mut [Custodian], name: &str) {
    let key_id = region.public.key_id();
    let mut tweaks = Vec::new();
    for c in custodians[..2].iter_mut() {
        let request = CustodianRequest::OpenTweak {
            key_id,
            domain: domain(name),
            slot: SlotNumber(0),
        };
        let (response, handled) = ask(c, Caller::Coordinator, None, &request, region);
        assert_eq!(
            handled.persist,
            vec![Persist::SlotBinding {
                slot: SlotNumber(0),
                domain: domain(name)
            }]
        );
        let CustodianResponse::TweakOpened(opening) = response else {
            panic!("round 1 refused: {response:?}");
        };
        tweaks.push(opening);
    }
    let mut products = Vec::new();
    for c in custodians[..2].iter_mut() {
        let request = CustodianRequest::OpenProduct {
            key_id,
            domain: domain(name),
            slot: SlotNumber(0),
            tweaks: tweaks.clone(),
        };
        let (response, handled) = ask(c, Caller::Coordinator, None, &request, region);
        assert!(handled.persist.is_empty(), "the slot was bound in round 1");
        let CustodianResponse::ProductOpened(opening) = response else {
            panic!("round 2 refused: {response:?}");
        };
        products.push(opening);
    }
    let record = crate::oprf::domain::DomainRecord {
        domain: domain(name),
        slot: SlotNumber(0),
        tweaks,
        products,
    };
    for (n, c) in custodians.iter_mut().enumerate() {
        let request = CustodianRequest::StoreDomain(record.clone());
        let (response, handled) = ask(c, Caller::Coordinator, None, &request, region);
        assert_eq!(
            response,
            CustodianResponse::DomainStored,
            "custodian {}",
            n + 1
        );
        // The third custodian was not in the setup: storing binds its slot too.
        assert_eq!(handled.persist.len(), if n == 2 { 2 } else { 1 });
    }
}

#[test]
fn a_region_sets_up_attests_and_evaluates_through_messages() {
    let mut region = region();
    let mut custodians = custodians(&region, RateLimit::default());
    coordinate_setup(&mut region, &mut custodians, "gavleborg-ung-2023");

    // The node reads the record and two attestations, and checks them.
    let key_id = region.public.key_id();
    let ask_domain = CustodianRequest::Domain {
        key_id,
        domain: domain("gavleborg-ung-2023"),
    };
    let mut record = None;
    let mut attestations = Vec::new();
    for c in custodians[1..].iter_mut() {
        let (response, _) = ask(c, Caller::Node(kommun()), None, &ask_domain, &mut region);
        let CustodianResponse::Domain {
            record: r,
            attestation,
        } = response
        else {
            panic!("domain refused: {response:?}");
        };
        record = Some(r);
        attestations.push(attestation);
    }
    let verified = record.unwrap().verify(&region.public).unwrap();
    let keys = verified
        .check_attestations(&region.public, &attestations)
        .unwrap();

    // It evaluates a batch with custodians 2 and 3.
    let people = people(10);
    let batch = blind_batch(&people, &mut region.rng).unwrap();
    let request = CustodianRequest::Evaluate(EvaluateRequest {
        key_id,
        domain: domain("gavleborg-ung-2023"),
        subset: vec![index(2), index(3)],
        blinded: batch.elements().to_vec(),
    });
    let mut answers = Vec::new();
    for c in custodians[1..].iter_mut() {
        let (response, handled) = ask(c, Caller::Node(kommun()), None, &request, &mut region);
        assert_eq!(handled.log.kind, CustodianEntryKind::Evaluated);
        assert_eq!(handled.log.count, 10);
        assert_eq!(handled.log.kommun, Some(kommun()));
        assert!(matches!(
            handled.persist[..],
            [Persist::RateWindow {
                window: RateWindow { used: 10, .. },
                ..
            }]
        ));
        let CustodianResponse::Evaluated(answer) = response else {
            panic!("evaluation refused: {response:?}");
        };
        answers.push(answer);
    }
    let chosen = Subset::new(vec![index(2), index(3)], region.public.threshold()).unwrap();
    let outputs = batch.finish(&keys, &chosen, &answers).unwrap();
    let info = crate::oprf::domain::public_input(&domain("gavleborg-ung-2023"));
    for (person, output) in people.iter().zip(&outputs) {
        let expected = region.reference.evaluate(person.as_bytes(), &info).unwrap();
        assert_eq!(output.as_bytes(), expected.as_bytes());
    }
}

#[test]
fn a_kommun_over_its_limit_is_refused_and_the_refusal_is_logged() {
    let mut region = region();
    let limit = RateLimit {
        evaluations: 12,
        period_seconds: 86_400,
    };
    let mut custodians = custodians(&region, limit);
    coordinate_setup(&mut region, &mut custodians, "a-2025");
    let batch = blind_batch(&people(8), &mut region.rng).unwrap();
    let request = CustodianRequest::Evaluate(EvaluateRequest {
        key_id: region.public.key_id(),
        domain: domain("a-2025"),
        subset: vec![index(1), index(2)],
        blinded: batch.elements().to_vec(),
    });
    let (_, first) = ask(
        &mut custodians[0],
        Caller::Node(kommun()),
        None,
        &request,
        &mut region,
    );
    let [Persist::RateWindow { window, .. }] = first.persist[..] else {
        panic!("the first batch is counted");
    };
    let (response, second) = ask(
        &mut custodians[0],
        Caller::Node(kommun()),
        Some(window),
        &request,
        &mut region,
    );
    assert!(matches!(
        response,
        CustodianResponse::Refused(CustodianRefusal::RateLimited {
            used: 8,
            limit: 12,
            requested: 8,
            ..
        })
    ));
    assert!(second.persist.is_empty(), "a refused batch changes nothing");
    assert_eq!(second.log.kind, CustodianEntryKind::Refused);
    assert_eq!(second.log.note, "rate_limited");
    assert_eq!(second.log.count, 8);
    assert_eq!(second.log.kommun, Some(kommun()));
}

#[test]
fn roles_keys_domains_and_subsets_are_checked_before_evaluating() {
    let mut region = region();
    let mut custodians = custodians(&region, RateLimit::default());
    let key_id = region.public.key_id();
    let open = CustodianRequest::OpenTweak {
        key_id,
        domain: domain("a-2025"),
        slot: SlotNumber(0),
    };
    let (response, handled) = ask(
        &mut custodians[0],
        Caller::Node(kommun()),
        None,
        &open,
        &mut region,
    );
    assert!(matches!(
        response,
        CustodianResponse::Refused(CustodianRefusal::NotAllowed { .. })
    ));
    assert!(handled.persist.is_empty(), "a refused node binds no slot");

    let batch = blind_batch(&people(2), &mut region.rng).unwrap();
    let evaluate = |domain_name: &str, subset: Vec<u8>| {
        CustodianRequest::Evaluate(EvaluateRequest {
            key_id,
            domain: domain(domain_name),
            subset: subset.into_iter().map(index).collect(),
            blinded: batch.elements().to_vec(),
        })
    };
    let (response, _) = ask(
        &mut custodians[0],
        Caller::Node(kommun()),
        None,
        &evaluate("a-2025", vec![1, 2]),
        &mut region,
    );
    assert!(matches!(
        response,
        CustodianResponse::Refused(CustodianRefusal::UnknownDomain { .. })
    ));
    coordinate_setup(&mut region, &mut custodians, "a-2025");
    let (response, _) = ask(
        &mut custodians[0],
        Caller::Node(kommun()),
        None,
        &evaluate("a-2025", vec![2, 3]),
        &mut region,
    );
    assert!(matches!(
        response,
        CustodianResponse::Refused(CustodianRefusal::Subset { .. })
    ));
    let (response, _) = ask(
        &mut custodians[0],
        Caller::Node(kommun()),
        None,
        &evaluate("a-2025", vec![1]),
        &mut region,
    );
    assert!(matches!(
        response,
        CustodianResponse::Refused(CustodianRefusal::Subset { .. })
    ));
    let other = other_key_id(&region);
    let request = CustodianRequest::Domain {
        key_id: other,
        domain: domain("a-2025"),
    };
    let (response, _) = ask(
        &mut custodians[0],
        Caller::Node(kommun()),
        None,
        &request,
        &mut region,
    );
    assert_eq!(
        response,
        CustodianResponse::Refused(CustodianRefusal::UnknownKey { key_id: other })
    );
    // The coordinator cannot spend the domain's slot on another domain.
    let reuse = CustodianRequest::OpenTweak {
        key_id,
        domain: domain("b-2025"),
        slot: SlotNumber(0),
    };
    let (response, _) = ask(
        &mut custodians[0],
        Caller::Coordinator,
        None,
        &reuse,
        &mut region,
    );
    assert!(matches!(
        response,
        CustodianResponse::Refused(CustodianRefusal::Setup { .. })
    ));
}

/// Another key's id.
fn other_key_id(region: &Region) -> crate::oprf::output::CustodianKeyId {
    let other = crate::oprf::poprf::ServerSecret::derive(&[9; 32], b"other").unwrap();
    let id = crate::oprf::output::custodian_key_id(&other.public_key());
    assert_ne!(id, region.public.key_id());
    id
}

#[test]
fn a_batch_over_the_limit_is_refused_from_its_announced_length() {
    let region = region();
    let element = region.public.public_key().to_owned();
    let request = |n: usize| {
        CustodianRequest::Evaluate(EvaluateRequest {
            key_id: region.public.key_id(),
            domain: domain("a-2025"),
            subset: vec![index(1), index(2)],
            blinded: vec![element; n],
        })
    };
    let full = messages::encode_request(&request(MAX_BATCH)).unwrap();
    assert!(full.len() < messages::FRAME_LIMIT as usize);
    assert!(messages::decode_request(&full).is_ok());
    let over = messages::encode_request(&request(MAX_BATCH + 1)).unwrap();
    assert!(messages::decode_request(&over).is_err());

    // A batch announcing 2^60 elements in a few bytes is refused, not allocated.
    let small = messages::encode_request(&request(1)).unwrap();
    let announced_at = small.len() - 34; // an element is its length (32) and 32 bytes
    assert_eq!(
        small[announced_at], 1,
        "the element count precedes the element"
    );
    let mut forged = small[..announced_at].to_vec();
    forged.push(253); // bincode varint: a u64 follows
    forged.extend_from_slice(&(1u64 << 60).to_le_bytes());
    forged.extend_from_slice(&small[announced_at + 1..]);
    let error = messages::decode_request(&forged).unwrap_err();
    assert!(chain(&error).contains("at most 4096 elements"), "{error:?}");
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[test]
fn custodian_log_entries_round_trip_and_go_into_a_signed_tree() {
    let region = region();
    let entry = CustodianLogEntry {
        kind: CustodianEntryKind::Evaluated,
        at: NOW,
        kommun: Some(kommun()),
        key_id: region.public.key_id(),
        domain: Some(domain("gavleborg-ung-2023")),
        count: 4096,
        note: String::new(),
    };
    let bytes = entry.to_bytes();
    let text = std::str::from_utf8(&bytes).unwrap();
    assert_eq!(
        text,
        format!(
            "samla custodian v1\nkind evaluated\nat {NOW}\nkommun 2180\nkey {}\ndomain gavleborg-ung-2023\ncount 4096\nnote -\n",
            region.public.key_id()
        )
    );
    assert_eq!(CustodianLogEntry::from_bytes(&bytes).unwrap(), entry);
    let refused = CustodianLogEntry {
        kind: CustodianEntryKind::Refused,
        kommun: None,
        domain: None,
        note: "rate_limited".to_owned(),
        ..entry.clone()
    };
    assert_eq!(
        CustodianLogEntry::from_bytes(&refused.to_bytes()).unwrap(),
        refused
    );
    assert!(
        CustodianLogEntry::from_bytes(text.replace("count 4096", "count 04096").as_bytes())
            .is_err()
    );
    assert!(CustodianLogEntry::from_bytes(
        text.replace("samla custodian v1", "samla transfer v1")
            .as_bytes()
    )
    .is_err());
    let hub_entry = crate::translog::LogEntry {
        kind: crate::translog::EntryKind::Accepted,
        at: NOW,
        kommun: Some(kommun()),
        submission: None,
        summary: "x".to_owned(),
    };
    assert!(CustodianLogEntry::from_bytes(&hub_entry.to_bytes()).is_err());
    assert!(crate::translog::LogEntry::from_bytes(&bytes).is_err());

    let mut tree = MemoryHashes::default();
    tree.append(&refused.to_bytes()).unwrap();
    let index = tree.append(&bytes).unwrap();
    let rng = ring::rand::SystemRandom::new();
    let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng).unwrap()).unwrap();
    let origin = "custodian-1.example.se/samla-custodian";
    let checkpoint = Checkpoint {
        origin: origin.to_owned(),
        size: tree.size(),
        root: tree.root().unwrap(),
    };
    let note = checkpoint.sign(&key).unwrap();
    let opened = Checkpoint::open(&note, origin, &key.verifying_key()).unwrap();
    let proof = crate::translog::prove_inclusion(tree.size(), index, &tree).unwrap();
    assert_eq!(opened.verify_inclusion(index, &bytes, &proof), Ok(()));
    assert!(opened
        .verify_inclusion(index, &refused.to_bytes(), &proof)
        .is_err());
}

#[test]
fn the_largest_key_set_fits_one_frame() {
    use crate::oprf::ceremony::{self, MAX_SLOTS};
    use crate::oprf::shamir::{Threshold, MAX_CUSTODIANS};
    use rand_chacha::rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
    let threshold = Threshold::new(2, MAX_CUSTODIANS).unwrap();
    let dealt = ceremony::run(threshold, MAX_SLOTS as u16, &mut rng).unwrap();
    let response = CustodianResponse::KeySet(dealt.public.clone());
    let bytes = messages::encode_response(&response).unwrap();
    assert!(
        bytes.len() < messages::FRAME_LIMIT as usize,
        "{} bytes",
        bytes.len()
    );
    assert_eq!(messages::decode_response(&bytes).unwrap(), response);
    let mut public = dealt.public;
    let (more, _) = ceremony::deal_slots(threshold, 1, &mut rng).unwrap();
    assert!(
        public.add_slots(more).is_err(),
        "no key set holds more than MAX_SLOTS"
    );
}
