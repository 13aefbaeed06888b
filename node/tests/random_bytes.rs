//! Exports and configs of random bytes: the node reports an error or a count, and never
//! panics or echoes a personnummer.

use proptest::prelude::*;
use samla_node::config::NodeConfig;
use samla_node::ingest::{read_file, IngestSettings};
use time::macros::date;

fn settings() -> IngestSettings {
    IngestSettings {
        progress: false,
        projects: vec!["UNG".parse().expect("valid")],
        columns: Default::default(),
        reference_date: date!(2026 - 11 - 23),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_files_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096), xlsx in any::<bool>()) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join(if xlsx { "x.xlsx" } else { "x.csv" });
        let mut contents = if xlsx { b"PK\x03\x04".to_vec() } else { Vec::new() };
        contents.extend(bytes);
        std::fs::write(&path, contents).expect("written");
        let _ = read_file(&path, &settings(), |_| {});
    }

    /// A valid export with random bytes changed: every row is accepted or rejected,
    /// counted, and no message holds the personnummer.
    #[test]
    fn damaged_exports_are_counted_not_crashed(flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..24)) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("x.csv");
        let mut bytes = b"personal_id;project;start_date;end_date;outcome\n".to_vec();
        for _ in 0..20 {
            bytes.extend_from_slice(b"199807319935;UNG;2024-03-05;2024-09-01;arbete\n");
        }
        let header = 48;
        for (at, value) in flips {
            let i = header + at % (bytes.len() - header);
            bytes[i] ^= value;
        }
        std::fs::write(&path, &bytes).expect("written");
        if let Ok(summary) = read_file(&path, &settings(), |_| {}) {
            prop_assert_eq!(summary.accepted + summary.rejections.len() as u64, summary.rows);
            for r in &summary.rejections {
                prop_assert!(!r.to_string().contains("9807319935"));
            }
        }
    }

    #[test]
    fn random_configs_never_panic(text in "\\PC{0,200}") {
        let _ = NodeConfig::parse(&text, std::path::Path::new("x.toml"));
    }
}
