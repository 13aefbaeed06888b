//! Every decoder of untrusted input, fed random bytes: each returns an error or a
//! value, and none panics. (The fuzz targets of a later issue go deeper; these run in
//! every CI build.)

use proptest::prelude::*;
use samla_common::codec;
use samla_common::personnummer::Personnummer;
use samla_common::pseudonym::MasterSecret;
use samla_common::signing::VerifyingKey;
use samla_common::translog::{Checkpoint, LogEntry};
use samla_common::wire::{self, Request, Response, SignedSubmission, Submission};
use time::macros::date;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn wire_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = codec::decode::<Request>(&bytes);
        let _ = codec::decode::<Response>(&bytes);
        let _ = codec::decode::<Submission>(&bytes);
        let _ = codec::decode::<SignedSubmission>(&bytes);
        let _ = codec::decode::<wire::Receipt>(&bytes);
        if bytes.len() >= 4 {
            let _ = wire::frame_length([bytes[0], bytes[1], bytes[2], bytes[3]], wire::DEFAULT_FRAME_LIMIT);
        }
    }

    /// A valid message with bytes changed here and there decodes or fails cleanly.
    #[test]
    fn mutated_messages_never_panic(flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..16)) {
        let mut bytes = codec::encode(&Request::Checkpoint { since: 7 }).unwrap();
        let statistics: samla_common::statistics::Statistics =
            serde_json::from_str(include_str!("../../node/tests/data/statistics.json")).unwrap();
        bytes.extend(codec::encode(&Submission { sequence: 1, created_at: 2, statistics }).unwrap());
        for (at, value) in flips {
            let i = at % bytes.len();
            bytes[i] ^= value;
        }
        let _ = codec::decode::<Request>(&bytes);
        let _ = codec::decode::<Submission>(&bytes[bytes.len().min(8)..]);
    }

    #[test]
    fn log_and_checkpoint_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = LogEntry::from_bytes(&bytes);
        let key: VerifyingKey = "0000000000000000000000000000000000000000000000000000000000000000".parse().unwrap();
        let _ = Checkpoint::open(&bytes, "samla-hub", &key);
        let _ = MasterSecret::from_key_file(&bytes);
    }

    #[test]
    fn text_parsers_never_panic(text in "\\PC{0,40}") {
        let _ = Personnummer::parse(&text, date!(2026 - 11 - 23));
        let _ = text.parse::<samla_common::period::Period>();
        let _ = samla_common::period::parse_date(&text);
        let _ = text.parse::<samla_common::codes::KommunCode>();
        let _ = text.parse::<samla_common::pseudonym::LinkageDomain>();
        let _ = samla_common::codes::Outcome::parse(&text);
        let _ = samla_common::text::shown(&text);
        let _ = serde_json::from_str::<samla_common::audit::HubBundle>(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Audit bundles (JSON a privacy officer is handed) from random bytes, and a real
    /// bundle with bytes changed: parsed and verified without a panic.
    #[test]
    fn audit_bundles_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..1024),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12),
    ) {
        use samla_common::audit::{cross_check, verify_hub_log, verify_node_log, HubBundle, NodeBundle};
        if let Ok(hub) = serde_json::from_slice::<HubBundle>(&bytes) {
            let _ = verify_hub_log(&hub);
        }
        if let Ok(node) = serde_json::from_slice::<NodeBundle>(&bytes) {
            let _ = verify_node_log(&node);
        }
        let mut hub = include_bytes!("data/hub-bundle.json").to_vec();
        let mut node = include_bytes!("data/node-bundle.json").to_vec();
        for (at, value) in flips {
            let i = at % hub.len();
            hub[i] ^= value;
            let j = at % node.len();
            node[j] ^= value;
        }
        let hub = serde_json::from_slice::<HubBundle>(&hub);
        let node = serde_json::from_slice::<NodeBundle>(&node);
        if let (Ok(hub), Ok(node)) = (&hub, &node) {
            let _ = cross_check(node, hub);
        }
    }
}
