//! `samla-hub audit verify` on the hub's own database: the transfer log and the
//! store held against each other, both ways (docs/audit.md, "What the hub checks").
//!
//! 1. Every stored checkpoint verifies with the hub's key and is of the size it is
//!    stored under (named by that size): the signatures verified in batches, and any
//!    checkpoint the batch does not accept opened and verified alone.
//! 2. The entries, in log index order, are canonical, their query columns agree
//!    with their bytes, and the RFC 6962 tree rebuilt from them has the root of every
//!    signed checkpoint (the first entry that breaks it is named by log index).
//! 3. Every hash of the stored tree (leaves and interior nodes, the hashes proofs are
//!    made from) equals the one rebuilt from the entries.
//! 4. Every stored submission passes every check of `store::verified` (content
//!    against its id, signature against the registered key, receipt, log entry);
//!    every `accepted` entry has its stored submission and every stored submission
//!    its `accepted` entry.
//! 5. The derived tables (`cells`, `linkage_sets`) hold exactly what the verified
//!    signed bytes hold, and nothing for submissions that are not stored.

use samla_common::audit::{CheckpointProblem, EntryProblem, Finding, LogSummary};
use samla_common::translog::{
    self, batch, Checkpoint, LogEntry, LogHash, MemoryHashes, SignedForm,
};

use crate::store::{
    CellRow, Extent, LinkageRow, Store, StoreError, Trust, Unverified, VerifiedStored,
};

/// At most this many tree hashes are named one by one.
const NAMED_HASHES: usize = 10;

/// Runs every check on the log as it is now ([`Store::extent`]); the summary if
/// nothing is found.
pub fn verify(
    store: &Store,
    trust: &Trust,
) -> Result<Result<LogSummary, Vec<Finding>>, StoreError> {
    verify_within(store, trust, &store.extent()?)
}

/// Runs every check on the log up to `extent`.
fn verify_within(
    store: &Store,
    trust: &Trust,
    extent: &Extent,
) -> Result<Result<LogSummary, Vec<Finding>>, StoreError> {
    let mut findings = Vec::new();
    let mut later = Vec::new();
    let reader = store.reader()?;
    // The signatures on one track (every core), everything else on this one.
    let (checked, opened) = std::thread::scope(|scope| {
        let signed = scope.spawn(move || signed_checkpoints(&reader, trust, extent));
        let checked = (|| {
            let tree = entries(store, extent, &mut findings)?;
            let roots = every_root(&tree);
            stored_tree(store, extent, &tree, &mut later)?;
            let verified = submissions(store, trust, &mut later)?;
            derived(store, &verified, &mut later)?;
            Ok::<_, StoreError>((tree.size(), roots))
        })();
        let opened = signed
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (checked, opened)
    });
    let (entries, roots) = checked?;
    let heads = checkpoints(opened?, &roots, &mut findings);
    held_against(&heads, entries, &mut findings);
    findings.append(&mut later);
    if findings.is_empty() {
        Ok(Ok(LogSummary {
            entries,
            checkpoints: heads.len(),
            latest: heads.last().map(|(size, root, _)| Checkpoint {
                origin: trust.origin.clone(),
                size: *size,
                root: *root,
            }),
        }))
    } else {
        Ok(Err(findings))
    }
}

/// Stored checkpoints are read and checked this many at a time (memory stays bounded
/// whatever the log's length), split between the cores: each core verifies its part's
/// signatures as one batch, while the next rows are read.
const CHECKPOINT_BATCH: usize = 16_384;

/// A stored checkpoint opened: its size, and the root it is signed for, or what is
/// wrong with it.
type Opened = (u64, Result<LogHash, CheckpointProblem>);

/// Step 1, on its own connection (`reader`) and every core, beside the tree being
/// rebuilt: every stored checkpoint's signature. A checkpoint exactly in the form the
/// hub signs ([`SignedForm::split`]: its root is read from it) has its signature
/// verified in a batch ([`batch::BatchKey`], coefficients from a seed drawn here);
/// any other checkpoint, and every one whose signature the batch does not accept, is
/// opened and verified alone, to say what is wrong with it. The rows of the next
/// batch are read while the cores verify the last.
fn signed_checkpoints(
    reader: &Store,
    trust: &Trust,
    extent: &Extent,
) -> Result<Vec<Opened>, StoreError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let form = SignedForm::new(&trust.origin, &trust.hub_key).ok();
    let batch_key = batch::BatchKey::new(&trust.hub_key).ok();
    let random = ring::rand::SystemRandom::new();
    let open = |stored: u64, note: &[u8]| -> Result<LogHash, CheckpointProblem> {
        match Checkpoint::open(note, &trust.origin, &trust.hub_key) {
            Ok(head) if head.size == stored => Ok(head.root),
            Ok(head) => Err(CheckpointProblem::WrongSize {
                stored,
                found: head.size,
            }),
            Err(e) => Err(CheckpointProblem::Open(e)),
        }
    };
    let check = |part: Vec<(u64, Vec<u8>)>, seed: Option<[u8; 32]>| -> Vec<Opened> {
        let mut opened = Vec::with_capacity(part.len());
        let mut signed = Vec::with_capacity(part.len());
        let mut at = Vec::with_capacity(part.len());
        for (position, (stored, note)) in part.iter().enumerate() {
            let split = match (&form, &batch_key, seed) {
                (Some(form), Some(_), Some(_)) => form.split(*stored, note),
                _ => None,
            };
            match split {
                Some((root, text, signature)) => {
                    signed.push((text, signature));
                    at.push(position);
                    opened.push((*stored, Ok(root)));
                }
                None => opened.push((*stored, open(*stored, note))),
            }
        }
        let refused = match (&batch_key, seed) {
            (Some(key), Some(seed)) => key.verify(&signed, &seed).err().unwrap_or_default(),
            _ => Vec::new(),
        };
        for i in refused {
            let position = at[i];
            opened[position].1 = open(part[position].0, &part[position].1);
        }
        opened
    };
    let seed = || {
        let mut seed = [0u8; 32];
        ring::rand::SecureRandom::fill(&random, &mut seed)
            .ok()
            .map(|()| seed)
    };
    std::thread::scope(|scope| {
        let mut opened = Vec::new();
        let mut verifying: Vec<std::thread::ScopedJoinHandle<Vec<Opened>>> = Vec::new();
        let mut rows: Vec<(u64, Vec<u8>)> = Vec::with_capacity(CHECKPOINT_BATCH);
        let mut hand_over = |rows: &mut Vec<(u64, Vec<u8>)>, opened: &mut Vec<Opened>| {
            for worker in verifying.drain(..) {
                opened.extend(
                    worker
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
            }
            let chunk = rows.len().div_ceil(threads).max(1);
            let mut rest = std::mem::take(rows);
            while !rest.is_empty() {
                let tail = rest.split_off(chunk.min(rest.len()));
                let part = std::mem::replace(&mut rest, tail);
                let seed = seed();
                verifying.push(scope.spawn(move || check(part, seed)));
            }
            rows.reserve(CHECKPOINT_BATCH);
        };
        reader.each_checkpoint(extent, |size, note| {
            rows.push((u64::try_from(size).unwrap_or(0), note.to_vec()));
            if rows.len() == CHECKPOINT_BATCH {
                hand_over(&mut rows, &mut opened);
            }
        })?;
        hand_over(&mut rows, &mut opened);
        hand_over(&mut Vec::new(), &mut opened);
        Ok(opened)
    })
}

/// Step 1, continued, once the tree is rebuilt: the checkpoints that verify, as
/// (size, root, whether the rebuilt tree has that root: `roots` from [`every_root`])
/// by size; the others named by their size.
fn checkpoints(
    opened: Vec<Opened>,
    roots: &[LogHash],
    findings: &mut Vec<Finding>,
) -> Vec<(u64, LogHash, bool)> {
    let mut heads = Vec::with_capacity(opened.len());
    for (size, head) in opened {
        match head {
            Ok(root) => {
                let rebuilt = usize::try_from(size).ok().and_then(|at| roots.get(at));
                heads.push((size, root, rebuilt == Some(&root)));
            }
            Err(reason) => findings.push(Finding::CheckpointAtSize { size, reason }),
        }
    }
    heads.sort_by_key(|(size, _, _)| *size);
    heads
}

/// The rebuilt tree's root of every size from 0 to the whole tree, by size (32 bytes
/// an entry, beside the tree's own 64).
fn every_root(tree: &MemoryHashes) -> Vec<LogHash> {
    (0..=tree.size())
        .map_while(|size| root_of(tree, size))
        .collect()
}

/// The root of the first `size` entries of `tree` (RFC 6962): its perfect subtrees,
/// left to right, read from the stored hashes and folded from the right. No
/// allocation, at most one hash per set bit of `size`.
fn root_of(tree: &MemoryHashes, size: u64) -> Option<LogHash> {
    if size == 0 {
        return Some(LogHash(tlog_tiles::tlog::EMPTY_HASH.0));
    }
    let mut parts = [tlog_tiles::tlog::Hash([0; 32]); 64];
    let mut count = 0;
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            let at = tlog_tiles::tlog::stored_hash_index(level, start >> level);
            parts[count] = tree.stored(at)?.into();
            count += 1;
            start += width;
        }
    }
    let mut root = parts[count - 1];
    for part in parts[..count - 1].iter().rev() {
        root = tlog_tiles::tlog::node_hash(*part, root);
    }
    Some(root.into())
}

/// Step 2: the entries canonical, their columns agreeing, and the tree rebuilt from
/// them (the root of every size is read from it by [`root_of`]).
fn entries(
    store: &Store,
    extent: &Extent,
    findings: &mut Vec<Finding>,
) -> Result<MemoryHashes, StoreError> {
    let mut tree = MemoryHashes::default();
    let mut broken = false;
    store.each_event(extent, |row| {
        if broken {
            return;
        }
        let index = tree.size();
        if u64::try_from(row.index).ok() != Some(index) {
            findings.push(Finding::MalformedEntry {
                index,
                reason: EntryProblem::OutOfOrder { found: row.index },
            });
            broken = true;
            return;
        }
        match LogEntry::from_bytes(&row.entry) {
            Ok(entry) => {
                let column = if entry.kind.code() != row.kind {
                    Some("kind")
                } else if entry.at != row.at {
                    Some("at")
                } else if entry.kommun.map(|k| k.to_string()) != row.kommun {
                    Some("kommun")
                } else if entry.submission.map(|s| s.as_bytes().to_vec()) != row.submission {
                    Some("submission_id")
                } else if entry.summary != row.detail {
                    Some("detail")
                } else {
                    None
                };
                if let Some(column) = column {
                    findings.push(Finding::EntryColumn { index, column });
                }
            }
            Err(e) => findings.push(Finding::MalformedEntry {
                index,
                reason: EntryProblem::Format(e.to_string()),
            }),
        }
        if tree.append(&row.entry).is_err() {
            broken = true;
        }
    })?;
    Ok(tree)
}

/// Step 2, continued: the rebuilt roots against every signed checkpoint (`matches`
/// of each (size, root, matches) from [`checkpoints`]); the first that differs names
/// the entry at fault (the first after the last checkpoint that still matched), and
/// a cut or unsigned log is named.
fn held_against(heads: &[(u64, LogHash, bool)], entries: u64, findings: &mut Vec<Finding>) {
    let mut last_good = 0;
    for (size, _, matches) in heads {
        if *size == 0 || *size > entries {
            continue;
        }
        if *matches {
            last_good = *size;
        } else {
            findings.push(Finding::EntryAtFault {
                index: last_good,
                checkpoint_size: *size,
                last_good,
            });
            break;
        }
    }
    match heads.last().map(|(size, _, _)| *size) {
        Some(size) if size > entries => findings.push(Finding::Truncated {
            checkpoint_size: size,
            entries,
        }),
        Some(size) if size < entries => findings.push(Finding::Unsigned { from: size }),
        None if entries > 0 => findings.push(Finding::Unsigned { from: 0 }),
        _ => {}
    }
}

/// Step 3: every stored hash against the rebuilt tree.
fn stored_tree(
    store: &Store,
    extent: &Extent,
    tree: &MemoryHashes,
    findings: &mut Vec<Finding>,
) -> Result<(), StoreError> {
    let mut named = 0;
    let mut count = 0u64;
    let mut holes = false;
    store.each_stored_hash(extent, |index, hash| {
        let Ok(index) = u64::try_from(index) else {
            holes = true;
            return;
        };
        if index != count {
            holes = true;
        }
        count += 1;
        if tree.stored(index).is_some_and(|h| h.0.as_slice() == hash) {
            return;
        }
        if named < NAMED_HASHES && index < tree.stored_count() {
            named += 1;
            let (level, n) = translog::split_stored_hash_index(index);
            let width = 1u64 << level;
            findings.push(Finding::StoredHash {
                level,
                first: n * width,
                last: (n + 1) * width - 1,
            });
        }
    })?;
    if holes || count != tree.stored_count() {
        findings.push(Finding::StoredHashCount {
            found: count,
            expected: tree.stored_count(),
        });
    }
    Ok(())
}

/// Step 4: every stored submission checked, and the log and the store held against
/// each other.
fn submissions(
    store: &Store,
    trust: &Trust,
    findings: &mut Vec<Finding>,
) -> Result<Vec<VerifiedStored>, StoreError> {
    let mut verified = Vec::new();
    let mut failed: Vec<Unverified> = store.unmatched(None)?;
    for checked in store.stored_all(trust)? {
        match checked {
            Ok(v) => verified.push(v),
            Err(u) => failed.push(*u),
        }
    }
    failed.sort_by(|a, b| (a.log_index, &a.id).cmp(&(b.log_index, &b.id)));
    failed.dedup_by(|a, b| a.id == b.id && a.log_index == b.log_index);
    findings.extend(failed.into_iter().map(|u| Finding::StoredSubmission {
        index: u.log_index,
        reason: u.damage,
        kommun: u.kommun,
        submission: u.id,
    }));
    Ok(verified)
}

/// Step 4 alone (for `audit export`).
pub fn submission_findings(store: &Store, trust: &Trust) -> Result<Vec<Finding>, StoreError> {
    let mut findings = Vec::new();
    submissions(store, trust, &mut findings)?;
    Ok(findings)
}

/// Step 5: the derived tables against the verified signed bytes.
fn derived(
    store: &Store,
    verified: &[VerifiedStored],
    findings: &mut Vec<Finding>,
) -> Result<(), StoreError> {
    let mut cells = store.cell_rows()?;
    let mut sets = store.linkage_rows()?;
    for v in verified {
        let key = v.id().as_bytes().to_vec();
        let statistics = &v.submission().statistics;
        let mut expected: Vec<CellRow> = statistics
            .tables
            .iter()
            .flat_map(|t| {
                t.cells.iter().map(|c| {
                    (
                        t.name.code().to_owned(),
                        c.key.first().cloned().unwrap_or_default(),
                        c.key.get(1).cloned().unwrap_or_default(),
                        c.key.get(2).cloned(),
                        i64::try_from(c.count).unwrap_or(i64::MAX),
                    )
                })
            })
            .collect();
        let mut found = cells.remove(&key).unwrap_or_default();
        expected.sort();
        found.sort();
        if expected != found {
            findings.push(derived_finding("cells", v));
        }
        let mut expected: Vec<LinkageRow> = statistics
            .linkage_sets
            .iter()
            .map(|l| {
                let mut blob = Vec::with_capacity(l.pseudonyms.len() * 32);
                for p in &l.pseudonyms {
                    blob.extend_from_slice(p.as_bytes());
                }
                (
                    l.project.as_str().to_owned(),
                    l.pseudonyms.len() as i64,
                    blob,
                )
            })
            .collect();
        let mut found = sets.remove(&key).unwrap_or_default();
        expected.sort();
        found.sort();
        if expected != found {
            findings.push(derived_finding("linkage_sets", v));
        }
    }
    // Rows left belong to no verified submission: a failed one (already named) or
    // none at all.
    for (table, left) in [
        ("cells", cells.into_keys().collect::<Vec<_>>()),
        ("linkage_sets", sets.into_keys().collect()),
    ] {
        for id in left {
            if store_holds(store, &id)? {
                continue;
            }
            findings.push(Finding::DerivedTable {
                table,
                kommun: "-".to_owned(),
                submission: hex::encode(id),
            });
        }
    }
    Ok(())
}

fn derived_finding(table: &'static str, v: &VerifiedStored) -> Finding {
    Finding::DerivedTable {
        table,
        kommun: v.kommun().to_string(),
        submission: v.id().to_string(),
    }
}

/// Whether a submission row exists under this id (a failed one is named already).
fn store_holds(store: &Store, id: &[u8]) -> Result<bool, StoreError> {
    store.has_row(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The root read from the stored hashes is the tree's own root at every size
    /// (the sizes around powers of two included), and none past the end.
    #[test]
    fn root_of_every_size_is_the_trees_root() {
        let mut tree = MemoryHashes::default();
        let mut roots = vec![translog::tree_root(0, &tree).ok()];
        for i in 0..300u32 {
            tree.append(&i.to_le_bytes()).ok();
            roots.push(tree.root().ok());
        }
        for (size, root) in roots.iter().enumerate() {
            assert_eq!(root_of(&tree, size as u64), *root, "size {size}");
        }
        assert_eq!(root_of(&tree, 512), None);
    }

    /// What is read is the log as it was when the verification began: entries, their
    /// hashes and checkpoints appended after [`Store::extent`] (as a running hub
    /// appends them) are not read, so they neither count nor make a false finding.
    #[test]
    fn the_log_is_verified_as_it_was_when_the_verification_began() {
        use samla_common::signing::SigningKey;
        use samla_common::translog::EntryKind;
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_pkcs8(
            &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap(),
        )
        .unwrap();
        let log = crate::store::LogSigner {
            key: &key,
            origin: "samla-hub.test",
        };
        let entry = |i: i64| LogEntry {
            kind: EntryKind::Refused,
            at: 1_800_000_000 + i,
            kommun: Some("2180".parse().unwrap()),
            submission: None,
            summary: format!("refusal {i}"),
        };
        let mut store = Store::open(&dir.path().join("hub.db")).unwrap();
        let trust = Trust {
            hub_key: key.verifying_key(),
            origin: "samla-hub.test".to_owned(),
            registered: Default::default(),
        };
        assert_eq!(verify(&store, &trust).unwrap().unwrap().entries, 0);
        store
            .append_entries(&(0..7).map(entry).collect::<Vec<_>>(), &log)
            .unwrap();
        let then = store.extent().unwrap();
        assert_eq!(then.entries, Some(6));
        assert_eq!(then.checkpoints, Some(7));
        store
            .append_entries(&(7..20).map(entry).collect::<Vec<_>>(), &log)
            .unwrap();
        let summary = verify_within(&store, &trust, &then).unwrap().unwrap();
        assert_eq!((summary.entries, summary.checkpoints), (7, 7));
        assert_eq!(summary.latest.unwrap().size, 7);
        let summary = verify(&store, &trust).unwrap().unwrap();
        assert_eq!((summary.entries, summary.checkpoints), (20, 20));
    }
}
