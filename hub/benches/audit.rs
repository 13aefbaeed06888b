//! `samla-hub audit verify` of a 1 000 000-entry transfer log with every check on:
//! every signed checkpoint (one per entry) with its signature verified, the
//! tree rebuilt from the entries and its root compared with every checkpoint, every
//! stored tree hash (leaves and interior nodes) compared with the rebuilt one, and
//! the log and the store held against each other. The entries are refusals (no
//! stored submission to check), as a hub that has refused a flood would hold; the
//! submissions' own checks are the report benchmark's.
//!
//! Run with `cargo bench -p samla-hub --bench audit` (builds the log in a temporary
//! directory first; that takes a few minutes).

#![expect(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use samla_common::signing::SigningKey;
use samla_common::translog::{EntryKind, LogEntry};
use samla_common::wire::SubmissionId;
use samla_hub::store::{LogSigner, Store, Trust};

const ENTRIES: u64 = 1_000_000;
const BATCH: u64 = 10_000;

fn main() {
    // The log is built before divan samples, so that no sample of
    // `verify_1_000_000_entries` includes building it (when that bench is run: no
    // filter, or a filter it matches).
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if filters.is_empty()
        || filters
            .iter()
            .any(|f| "verify_1_000_000_entries".contains(f.as_str()))
    {
        LazyLock::force(&FIXTURE);
    }
    divan::main();
}

fn entry(i: u64) -> LogEntry {
    LogEntry {
        kind: EntryKind::Refused,
        at: 1_800_000_000 + i as i64,
        kommun: Some("2180".parse().unwrap()),
        submission: Some(SubmissionId::of(&i.to_le_bytes())),
        summary: "the signature does not match the submission (changed after signing?)".to_owned(),
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    trust: Trust,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_pkcs8(
        &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap(),
    )
    .unwrap();
    let origin = "samla-hub.bench";
    let log = LogSigner { key: &key, origin };
    let mut store = Store::open(&dir.path().join("hub.db")).unwrap();
    let mut next = 0;
    while next < ENTRIES {
        let end = (next + BATCH).min(ENTRIES);
        let batch: Vec<LogEntry> = (next..end).map(entry).collect();
        store.append_entries(&batch, &log).unwrap();
        next = end;
    }
    let trust = Trust {
        hub_key: key.verifying_key(),
        origin: origin.to_owned(),
        registered: BTreeMap::new(),
    };
    Fixture { dir, trust }
});

/// The whole `audit verify` of the store, on a freshly opened database.
#[divan::bench(sample_count = 3)]
fn verify_1_000_000_entries() {
    let fixture = &*FIXTURE;
    let store = Store::open(&fixture.dir.path().join("hub.db")).unwrap();
    // As `samla-hub audit verify --config` does.
    let summary = samla_hub::audit::verify_with(&store, &fixture.trust)
        .unwrap()
        .unwrap();
    assert_eq!(summary.entries, ENTRIES);
    assert_eq!(summary.checkpoints as u64, ENTRIES);
}

/// One part of it: opening (parsing and verifying the signature of) 10 000 signed
/// checkpoints.
#[divan::bench(sample_count = 3)]
fn open_10_000_checkpoints(bencher: divan::Bencher) {
    use samla_common::translog::{Checkpoint, LogHash};
    let key = SigningKey::from_pkcs8(
        &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap(),
    )
    .unwrap();
    let notes: Vec<Vec<u8>> = (0..10_000u64)
        .map(|size| {
            Checkpoint {
                origin: "samla-hub.bench".to_owned(),
                size,
                root: LogHash([size as u8; 32]),
            }
            .sign(&key)
            .unwrap()
        })
        .collect();
    let public = key.verifying_key();
    bencher.bench(|| {
        for note in &notes {
            Checkpoint::open(note, "samla-hub.bench", &public).unwrap();
        }
    });
}

/// The same part as `open_10_000_checkpoints` as the verification does it: each
/// checkpoint read in the hub's signed form and the 10 000 signatures verified as one
/// batch (on one core).
#[divan::bench(sample_count = 3)]
fn batch_verify_10_000_checkpoints(bencher: divan::Bencher) {
    use samla_common::translog::batch::BatchKey;
    use samla_common::translog::{Checkpoint, LogHash, SignedForm};
    let key = SigningKey::from_pkcs8(
        &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap(),
    )
    .unwrap();
    let heads: Vec<Checkpoint> = (0..10_000u64)
        .map(|size| Checkpoint {
            origin: "samla-hub.bench".to_owned(),
            size,
            root: LogHash([size as u8; 32]),
        })
        .collect();
    let notes: Vec<Vec<u8>> = heads.iter().map(|h| h.sign(&key).unwrap()).collect();
    let form = SignedForm::new("samla-hub.bench", &key.verifying_key()).unwrap();
    let batch = BatchKey::new(&key.verifying_key()).unwrap();
    bencher.bench(|| {
        let items: Vec<(Vec<u8>, [u8; 64])> = heads
            .iter()
            .zip(&notes)
            .map(|(head, note)| form.signature(head, note).unwrap())
            .collect();
        batch.verify(&items, &[1; 32]).unwrap();
    });
}

/// Another part: rebuilding the tree of 1 000 000 entries with its root after
/// every entry.
#[divan::bench(sample_count = 3)]
fn rebuild_tree_1_000_000(bencher: divan::Bencher) {
    let entries: Vec<Vec<u8>> = (0..ENTRIES).map(|i| entry(i).to_bytes()).collect();
    bencher.bench(|| {
        let mut tree = samla_common::translog::MemoryHashes::default();
        for e in &entries {
            tree.append(e).unwrap();
            divan::black_box(tree.root().unwrap());
        }
    });
}

/// Signing 10 000 checkpoints as the hub does (a C2SP note each): what checking a
/// stored checkpoint by re-signing it costs.
#[divan::bench(sample_count = 3)]
fn sign_10_000_checkpoints(bencher: divan::Bencher) {
    use samla_common::translog::{Checkpoint, LogHash};
    let key = SigningKey::from_pkcs8(
        &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap(),
    )
    .unwrap();
    bencher.bench(|| {
        for size in 0..10_000u64 {
            let head = Checkpoint {
                origin: "samla-hub.bench".to_owned(),
                size,
                root: LogHash([size as u8; 32]),
            };
            divan::black_box(head.sign(&key).unwrap());
        }
    });
}

/// The Ed25519 signatures alone of 10 000 checkpoint texts.
#[divan::bench(sample_count = 3)]
fn sign_raw_10_000_texts(bencher: divan::Bencher) {
    let key = SigningKey::from_pkcs8(
        &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap(),
    )
    .unwrap();
    let text = b"samla-hub.bench\n123456\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".to_vec();
    bencher.bench(|| {
        for _ in 0..10_000u64 {
            divan::black_box(key.sign_raw(&text));
        }
    });
}
