//! Transfer log benchmark: appends per second to the hub's SQLite log (each append
//! adds the entry, the tree's new hashes and a signed checkpoint), and the size and
//! cost of inclusion and consistency proofs at 1 000 000 entries.
//!
//! Run with `cargo bench -p samla-hub --bench log` (builds a 1 000 000-entry log in a
//! temporary directory; takes a few minutes).

#![expect(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use std::time::Instant;

use samla_common::signing::SigningKey;
use samla_common::translog::{Checkpoint, EntryKind, LogEntry};
use samla_common::wire::SubmissionId;
use samla_hub::store::{LogSigner, Store};

const ENTRIES: u64 = 1_000_000;
const BATCH: u64 = 10_000;
const SINGLE: u64 = 200;

fn entry(i: u64) -> LogEntry {
    LogEntry {
        kind: EntryKind::Accepted,
        at: 1_800_000_000 + i as i64,
        kommun: Some("2180".parse().unwrap()),
        submission: Some(SubmissionId::of(&i.to_le_bytes())),
        summary: format!("sequence {i}, period 2025-01-01..2025-12-31, linkage domain gavleborg-ung-2023, 41230 bytes"),
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("hub.db")).unwrap();
    let key = SigningKey::from_pkcs8(
        &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap(),
    )
    .unwrap();
    let log = LogSigner {
        key: &key,
        origin: "samla-hub.bench",
    };

    // One entry per transaction, as the server appends (durable: synchronous = FULL).
    let t = Instant::now();
    for i in 0..SINGLE {
        store.append_entries(&[entry(i)], &log).unwrap();
    }
    let single = t.elapsed();
    println!(
        "append, one transaction each (as the server does): {:.0} entries/s ({SINGLE} entries, {:?})",
        SINGLE as f64 / single.as_secs_f64(),
        single
    );

    // The rest in batches, to reach a million entries.
    let t = Instant::now();
    let mut next = SINGLE;
    while next < ENTRIES {
        let end = (next + BATCH).min(ENTRIES);
        let batch: Vec<LogEntry> = (next..end).map(entry).collect();
        store.append_entries(&batch, &log).unwrap();
        next = end;
    }
    let batched = t.elapsed();
    println!(
        "append, {BATCH} per transaction: {:.0} entries/s ({} entries, {:?})",
        (ENTRIES - SINGLE) as f64 / batched.as_secs_f64(),
        ENTRIES - SINGLE,
        batched
    );

    let (size, root) = store.stored_root().unwrap();
    assert_eq!(size, ENTRIES);
    let head = Checkpoint {
        origin: log.origin.to_owned(),
        size,
        root,
    };
    let note = head.sign(&key).unwrap();
    println!("signed checkpoint at {size} entries: {} bytes", note.len());

    let t = Instant::now();
    let index = ENTRIES / 3;
    let inclusion = store.inclusion_proof(size, index).unwrap();
    let took = t.elapsed();
    head.verify_inclusion(index, &entry(index).to_bytes(), &inclusion)
        .unwrap();
    println!(
        "inclusion proof at {size} entries: {} hashes, {} bytes, made in {took:?}",
        inclusion.len(),
        inclusion.len() * 32
    );

    let old = ENTRIES - 12_345;
    let t = Instant::now();
    let consistency = store.consistency_proof(size, old).unwrap();
    let took = t.elapsed();
    println!(
        "consistency proof {old} -> {size} entries: {} hashes, {} bytes, made in {took:?}",
        consistency.len(),
        consistency.len() * 32
    );
    let db_size = std::fs::metadata(dir.path().join("hub.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "database with {size} entries: {:.0} MB",
        db_size as f64 / 1e6
    );
}
