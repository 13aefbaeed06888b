//! The hub's store on its own: verified submissions per second through
//! `Store::write_batch` (submission, cells, linkage set, log entry, tree hashes and
//! receipt for each, one signed checkpoint and one durable transaction per batch), for several
//! batch sizes. This is the part of the hub that runs one batch at a time, so it
//! bounds what the server can accept.
//!
//! Run with `cargo bench -p samla-tests --bench store`.

#![expect(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use std::time::Instant;

use samla_common::codes::KommunCode;
use samla_common::signing::SigningKey;
use samla_common::wire::{SignedSubmission, Submission, VerifiedSubmission};
use samla_hub::store::{LogSigner, Store, Write};

const KOMMUNER: usize = 290;
const SUBMISSIONS: usize = 2_000;

fn main() {
    let key = || {
        SigningKey::from_pkcs8(
            &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap(),
        )
        .unwrap()
    };
    let hub_key = key();
    let log = LogSigner {
        key: &hub_key,
        origin: "samla-store-bench",
    };
    let node_key = key();
    let kommuner: Vec<(KommunCode, _)> = (0..KOMMUNER)
        .map(|i| {
            let kommun: KommunCode = format!("{:04}", 1000 + i).parse().unwrap();
            (kommun, samla_tests::kommun_statistics(kommun, i, 30))
        })
        .collect();
    let verified: Vec<VerifiedSubmission> = (0..SUBMISSIONS)
        .map(|n| {
            let (kommun, statistics) = &kommuner[n % KOMMUNER];
            let submission = Submission {
                sequence: (n / KOMMUNER + 1) as u64,
                created_at: 1,
                statistics: statistics.clone(),
            };
            SignedSubmission::sign(&submission, &node_key)
                .unwrap()
                .verify(*kommun, &[node_key.verifying_key()])
                .unwrap()
        })
        .collect();
    let cells: usize = kommuner[0].1.tables.iter().map(|t| t.cells.len()).sum();
    println!(
        "{SUBMISSIONS} submissions from {KOMMUNER} kommuner, {cells} cells and 30 pseudonyms each"
    );

    for batch in [1, 4, 16, 64] {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("hub.db")).unwrap();
        let t = Instant::now();
        for chunk in verified.chunks(batch) {
            let writes: Vec<Write<'_>> = chunk
                .iter()
                .map(|submission| Write::Accept {
                    submission,
                    received_at: 1_800_000_000,
                })
                .collect();
            for outcome in store.write_batch(&writes, &log) {
                outcome.unwrap().unwrap();
            }
        }
        let elapsed = t.elapsed();
        let stored: i64 = rusqlite::Connection::open(dir.path().join("hub.db"))
            .unwrap()
            .query_row("SELECT COUNT(*) FROM submissions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored as usize, SUBMISSIONS, "every submission stored");
        println!(
            "batch {batch:>2}: {:>6.0} submissions/s ({:.3} ms per submission)",
            SUBMISSIONS as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e3 / SUBMISSIONS as f64
        );
    }
}
