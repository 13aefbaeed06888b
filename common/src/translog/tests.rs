//! The transfer log against the reference values of RFC 6962 (the test leaves of the
//! certificate-transparency reference implementation, roots computed independently),
//! and its proofs and checkpoints under tampering.

use super::*;

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn log_of(entries: &[Vec<u8>]) -> MemoryHashes {
    let mut log = MemoryHashes::default();
    for e in entries {
        log.append(e).unwrap();
    }
    log
}

fn entries(n: usize, fork_at: Option<usize>) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let tag = if Some(i) == fork_at {
                "forged"
            } else {
                "entry"
            };
            format!("{tag} {i}").into_bytes()
        })
        .collect()
}

fn checkpoint(log: &MemoryHashes) -> Checkpoint {
    Checkpoint {
        origin: "samla-hub.test".to_owned(),
        size: log.size(),
        root: log.root().unwrap(),
    }
}

#[test]
fn roots_match_rfc_6962_reference_values() {
    let mut log = MemoryHashes::default();
    assert_eq!(
        log.root().unwrap().to_string(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for (leaf, root) in LEAVES.iter().zip(ROOTS) {
        log.append(&hex::decode(leaf).unwrap()).unwrap();
        assert_eq!(log.root().unwrap().to_string(), root);
    }
}

#[test]
fn inclusion_proofs_hold_and_tampering_fails() {
    for size in 1..=20usize {
        let all = entries(size, None);
        let log = log_of(&all);
        let head = checkpoint(&log);
        for (index, entry) in all.iter().enumerate() {
            let proof = prove_inclusion(size as u64, index as u64, &log).unwrap();
            head.verify_inclusion(index as u64, entry, &proof).unwrap();
            assert!(head
                .verify_inclusion(index as u64, b"changed", &proof)
                .is_err());
            if size > 1 {
                let other = (index + 1) % size;
                assert!(
                    head.verify_inclusion(other as u64, entry, &proof).is_err(),
                    "moved entry"
                );
            }
            if let Some(first) = proof.first() {
                let mut bad = proof.clone();
                bad[0] = LogHash([first.0[0] ^ 1; 32]);
                assert!(head.verify_inclusion(index as u64, entry, &bad).is_err());
                assert!(
                    head.verify_inclusion(index as u64, entry, &proof[1..])
                        .is_err(),
                    "truncated proof"
                );
            }
        }
    }
}

#[test]
fn consistency_proofs_hold_and_a_fork_is_caught() {
    for new in 1..=16usize {
        let log = log_of(&entries(new, None));
        let head = checkpoint(&log);
        for old in 0..=new {
            let earlier = checkpoint(&log_of(&entries(old, None)));
            let proof = if old == 0 || old == new {
                vec![]
            } else {
                prove_consistency(new as u64, old as u64, &log).unwrap()
            };
            head.verify_extends(&earlier, &proof).unwrap();
            // A log that rewrote entry `fork` before `old` shares no history with it.
            for fork in 0..old {
                let forked = log_of(&entries(new, Some(fork)));
                let forked_head = checkpoint(&forked);
                let forked_proof = if old == new {
                    vec![]
                } else {
                    prove_consistency(new as u64, old as u64, &forked).unwrap()
                };
                assert_eq!(
                    forked_head.verify_extends(&earlier, &forked_proof),
                    Err(LogError::Consistency {
                        old: old as u64,
                        new: new as u64
                    }),
                    "fork at {fork}, sizes {old}..{new}"
                );
            }
        }
    }
    let small = checkpoint(&log_of(&entries(3, None)));
    let big = checkpoint(&log_of(&entries(5, None)));
    assert!(
        small.verify_extends(&big, &[]).is_err(),
        "a log never shrinks"
    );
}

#[test]
fn checkpoints_are_signed_notes_other_tools_can_verify() {
    let rng = ring::rand::SystemRandom::new();
    let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng).unwrap()).unwrap();
    let log = log_of(&entries(7, None));
    let head = checkpoint(&log);
    let note = head.sign(&key).unwrap();
    let text = String::from_utf8(note.clone()).unwrap();
    assert!(text.starts_with("samla-hub.test\n7\n"), "{text}");
    assert!(text.contains("\n\n— samla-hub.test "), "{text}");
    assert_eq!(
        Checkpoint::open(&note, "samla-hub.test", &key.verifying_key()).unwrap(),
        head
    );

    // The signed-note reference verifier, from the key line we publish, agrees.
    let vkey = note_verifier_key("samla-hub.test", &key.verifying_key()).unwrap();
    let standard = signed_note::StandardVerifier::new(&vkey).unwrap();
    let parsed = signed_note::Note::from_bytes(&note).unwrap();
    parsed
        .verify(&signed_note::VerifierList::new(vec![Box::new(standard)]))
        .unwrap();

    let other = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng).unwrap()).unwrap();
    assert_eq!(
        Checkpoint::open(&note, "samla-hub.test", &other.verifying_key()),
        Err(LogError::CheckpointSignature)
    );
    let changed = text.replacen("\n7\n", "\n8\n", 1);
    assert_eq!(
        Checkpoint::open(changed.as_bytes(), "samla-hub.test", &key.verifying_key()),
        Err(LogError::CheckpointSignature)
    );
    assert!(Checkpoint::open(&note, "other.log", &key.verifying_key()).is_err());
}

#[test]
fn entries_round_trip_and_only_the_canonical_form_parses() {
    let entry = LogEntry {
        kind: EntryKind::Accepted,
        at: 1_795_000_000,
        kommun: Some("2180".parse().unwrap()),
        submission: Some(SubmissionId::of(b"x")),
        summary: "sequence 3, period 2025-01-01..2025-12-31\nand more".to_owned(),
    };
    let bytes = entry.to_bytes();
    let parsed = LogEntry::from_bytes(&bytes).unwrap();
    assert_eq!(
        parsed.summary,
        "sequence 3, period 2025-01-01..2025-12-31 and more"
    );
    assert_eq!(parsed.to_bytes(), bytes);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        LogEntry::from_bytes(text.replace("kind accepted", "kind  accepted").as_bytes()).is_err()
    );
    assert!(LogEntry::from_bytes(text.trim_end().as_bytes()).is_err());
    assert!(LogEntry::from_bytes(b"samla transfer v1\n").is_err());
}
