//! A flood of garbage streams from one valid certificate: every refusal is still
//! accounted for in the hub's log, but as a bounded number of entries (the first one
//! of its kommun and kind, then one entry with the count), and the refusals count
//! against the kommun's limit, so its next submission is rate limited.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use samla_common::wire::{Refusal, Response};
use samla_tests::{run, text, RawClient, Region};

const FLOOD: usize = 300;

/// The hub's log entries' kinds and summaries, in order.
fn entries(region: &Region) -> Vec<(String, String)> {
    let db = region.hub_db();
    let mut s = db
        .prepare("SELECT kind, detail FROM transfer_events ORDER BY log_index")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_flood_of_garbage_streams_adds_a_bounded_number_of_log_entries() {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    region.set_hub_setting("submissions_per_minute", "100");
    region.start_hub();
    let before = entries(&region).len();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let cert = node.dir.join("node-2180.crt");
        let key = node.dir.join("node-2180.key");
        let client = RawClient::connect(&region, Some((&cert, &key)))
            .await
            .unwrap();
        // A frame of 16 bytes that are not a request.
        let mut garbage = 16u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(&[0xff; 16]);
        for i in 0..FLOOD {
            let response = client.exchange(&garbage).await.unwrap();
            assert!(
                matches!(response, Response::Refused(Refusal::Malformed(_))),
                "stream {i}: {response:?}"
            );
        }
        client.close().await;
    });
    let during = entries(&region);
    assert_eq!(
        during.len() - before,
        1,
        "only the first refusal of the window is logged at once: {:?}",
        &during[before..]
    );

    // The refusals counted against the kommun's limit of 100 a minute: its next
    // real submission is refused as temporary, and stays in its outbox.
    let export = node.export("export.csv", 30, 1);
    let o = node.submit(&export, "2025", &["--give-up-after", "1"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("more than 100 submissions in a minute"),
        "{}",
        text(&o)
    );

    // A clean stop logs what was counted: one entry with the count.
    let mut child = region.hub.take().unwrap();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    child.wait().unwrap();
    let after = entries(&region);
    let added = &after[before..];
    assert!(added.len() <= 4, "bounded: {added:?}");
    let counted: Vec<&(String, String)> = added
        .iter()
        .filter(|(kind, detail)| kind == "refused" && detail.contains("more refusals of kind"))
        .collect();
    assert!(
        counted
            .iter()
            .any(|(_, d)| d.starts_with(&format!("{} more refusals of kind malformed", FLOOD - 1))),
        "{added:?}"
    );
    let o = run(
        "samla-hub",
        region.root(),
        &[
            "audit",
            "verify",
            "--config",
            "hub/hub.toml",
            "--lang",
            "en",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
}
