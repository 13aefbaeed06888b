//! Revocation, signing-key rotation and the hub's limits, against a real hub process
//! (issue "under attack and at national scale").

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::time::Duration;

use samla_common::wire::{Request, Response};
use samla_tests::raw_client::runtime;
use samla_tests::{run, sql, text, Node, RawClient, Region};

/// `submit` with a short give-up, so an unreachable hub ends the command quickly.
fn submit(node: &Node, export: &str) -> std::process::Output {
    node.submit(
        export,
        "2025",
        &["--give-up-after", "2", "--retry-wait", "200"],
    )
}

fn revoke_lines(region: &Region, kommun: &str) -> (String, String) {
    let cert = format!("node-{kommun}/node-{kommun}.crt");
    let o = run("samla-hub", region.root(), &["ca", "revoke-line", &cert]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let mut lines = out.lines().map(str::to_owned);
    (lines.next().unwrap(), lines.next().unwrap())
}

fn refusals(region: &Region) -> Vec<String> {
    sql::column(
        &region.hub_db(),
        "SELECT detail FROM transfer_events WHERE kind = 'refused' ORDER BY log_index",
        [],
    )
}

#[test]
fn a_revoked_certificate_is_refused_at_once_by_fingerprint_or_serial() {
    let mut region = Region::new();
    let gavle = region.add_node("2180", "ca", &[]);
    let sandviken = region.add_node("2181", "ca", &[]);
    let (gavle_sha, _) = revoke_lines(&region, "2180");
    let (_, sandviken_serial) = revoke_lines(&region, "2181");
    assert!(gavle_sha.starts_with("sha256:") && sandviken_serial.starts_with("serial:"));
    region.set_hub_setting("revoked_certificates", &format!("[\"{gavle_sha}\"]"));
    region.start_hub();

    let export = gavle.export("export.csv", 40, 1);
    let o = submit(&gavle, &export);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("revoked"),
        "the node is told why: {}",
        text(&o)
    );
    assert!(
        refusals(&region).iter().any(|r| r.contains("revoked")),
        "{:?}",
        refusals(&region)
    );
    assert_eq!(region.count("submissions"), 0);

    let export = sandviken.export("export.csv", 40, 2);
    let o = submit(&sandviken, &export);
    assert!(
        o.status.success(),
        "other kommuner are served: {}",
        text(&o)
    );

    // Now revoke Sandviken by serial instead, and lift Gävle's revocation.
    region.stop_hub();
    region.set_hub_setting("revoked_certificates", &format!("[\"{sandviken_serial}\"]"));
    region.start_hub();
    let o = gavle.run(&["send", "--give-up-after", "5"]);
    assert!(
        o.status.success(),
        "Gävle's pending submission goes through: {}",
        text(&o)
    );
    let o = submit(&sandviken, &export);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(region.count("submissions"), 2);
}

/// Writes a fresh signing key into `dir` (via `samla-node init`) and returns the
/// path of the key and its public half.
fn new_signing_key(region: &Region, dir: &str) -> (std::path::PathBuf, String) {
    let o = run(
        "samla-node",
        region.root(),
        &[
            "init",
            "--dir",
            dir,
            "--kommun",
            "2180",
            "--project",
            "UNG:gavleborg-ung-2023",
            "--key-file",
            "../master.key",
            "--hub",
            "127.0.0.1:1",
            "--region-ca",
            "../ca/ca.crt",
            "--certificate",
            "x.crt",
            "--private-key",
            "x.key",
            "--receipt-key",
            &region.receipt_key,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let public = out
        .lines()
        .find_map(|l| l.strip_prefix("signing_keys = [\""))
        .unwrap()
        .trim_end_matches("\"]")
        .to_owned();
    (region.root().join(dir).join("node-signing.key"), public)
}

fn register(region: &Region, keys: &str) {
    let config = region.root().join("hub/hub.toml");
    let text_ = std::fs::read_to_string(&config).unwrap();
    let start = text_.find("\nsigning_keys = [").unwrap() + 1;
    let end = start + text_[start..].find('\n').unwrap();
    let edited = format!(
        "{}signing_keys = [{keys}]{}",
        &text_[..start],
        &text_[end..]
    );
    std::fs::write(config, edited).unwrap();
}

#[test]
fn a_rotated_signing_key_is_accepted_through_its_overlap_and_refused_after() {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    let old_key = std::fs::read(node.dir.join("node-signing.key")).unwrap();
    let old_public = {
        let text_ = std::fs::read_to_string(region.root().join("hub/hub.toml")).unwrap();
        let at = text_.find("\nsigning_keys = [\"").unwrap() + 18;
        text_[at..at + 64].to_owned()
    };
    let (new_key_file, new_public) = new_signing_key(&region, "rotation");
    let today = time::OffsetDateTime::now_utc().date();
    let tomorrow = today.next_day().unwrap();
    let yesterday = today.previous_day().unwrap();

    // Overlap: both keys registered, the old one until tomorrow. The node still signs
    // with the old key.
    register(
        &region,
        &format!("{{ key = \"{old_public}\", until = \"{tomorrow}\" }}, \"{new_public}\""),
    );
    region.start_hub();
    let export = node.export("export.csv", 40, 1);
    let o = submit(&node, &export);
    assert!(
        o.status.success(),
        "old key within its overlap: {}",
        text(&o)
    );

    // After the overlap: the old key is refused, with the reason.
    region.stop_hub();
    register(
        &region,
        &format!("{{ key = \"{old_public}\", until = \"{yesterday}\" }}, \"{new_public}\""),
    );
    region.start_hub();
    let o = submit(&node, &export);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("retired"), "{}", text(&o));

    // The node switches to the new key: accepted.
    std::fs::copy(&new_key_file, node.dir.join("node-signing.key")).unwrap();
    let o = submit(&node, &export);
    assert!(o.status.success(), "new key: {}", text(&o));
    assert_ne!(
        old_key,
        std::fs::read(node.dir.join("node-signing.key")).unwrap()
    );
    assert_eq!(region.count("submissions"), 2);
}

#[test]
fn submissions_over_the_per_minute_limit_wait_in_the_outbox() {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    region.set_hub_setting("submissions_per_minute", "2");
    region.start_hub();
    let export = node.export("export.csv", 40, 1);
    for _ in 0..2 {
        let o = submit(&node, &export);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = submit(&node, &export);
    assert_eq!(
        o.status.code(),
        Some(3),
        "the third within a minute waits: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("more than 2 submissions in a minute"),
        "{}",
        text(&o)
    );
    assert_eq!(region.count("submissions"), 2);
}

#[test]
fn connections_streams_and_idle_time_are_limited() {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    for (key, value) in [
        ("connections_per_kommun", "2"),
        ("concurrent_streams", "1"),
        ("idle_timeout_seconds", "1"),
        ("handshake_timeout_seconds", "1"),
    ] {
        region.set_hub_setting(key, value);
    }
    region.start_hub();
    let cert = node.dir.join("node-2180.crt");
    let key = node.dir.join("node-2180.key");
    let rt = runtime();
    rt.block_on(async {
        let identity = Some((cert.as_path(), key.as_path()));
        let a = RawClient::connect(&region, identity).await.unwrap();
        let b = RawClient::connect(&region, identity).await.unwrap();
        // A third connection of the same kommun is closed at once.
        let c = RawClient::connect(&region, identity).await.unwrap();
        let closed = tokio::time::timeout(Duration::from_secs(3), c.connection().closed()).await;
        assert!(
            matches!(&closed, Ok(quinn::ConnectionError::ApplicationClosed(e)) if &e.reason[..] == b"too many connections"),
            "{closed:?}"
        );
        // One stream at a time: a second stream cannot be opened while the first is open.
        let (_send, _recv) = a.connection().open_bi().await.unwrap();
        let second = tokio::time::timeout(Duration::from_millis(500), a.connection().open_bi()).await;
        assert!(second.is_err(), "the second stream had to wait");
        // An idle connection is closed after the idle timeout.
        let idle = tokio::time::timeout(Duration::from_secs(5), b.connection().closed()).await;
        assert!(matches!(idle, Ok(quinn::ConnectionError::TimedOut)), "{idle:?}");
        // The checkpoint request still works on a fresh connection.
        let d = RawClient::connect(&region, identity).await.unwrap();
        let response = d.request(&Request::Checkpoint { since: 0 }).await.unwrap();
        assert!(matches!(response, Response::Checkpoint { .. }), "{response:?}");
    });
    // A handshake that never finishes is dropped after the handshake timeout: a
    // client whose packets after the first are lost.
    rt.block_on(async {
        let proxy = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let proxy_address = proxy.local_addr().unwrap();
        let hub = region.address;
        let forward = tokio::spawn(async move {
            let mut buffer = vec![0u8; 2048];
            let (n, _) = proxy.recv_from(&mut buffer).await.unwrap();
            proxy.send_to(&buffer[..n], hub).await.unwrap();
            // Everything else is dropped.
            loop {
                if proxy.recv_from(&mut buffer).await.is_err() {
                    break;
                }
            }
        });
        let identity = Some((cert.as_path(), key.as_path()));
        let attempt = tokio::time::timeout(
            Duration::from_secs(3),
            RawClient::connect_to(&region, proxy_address, identity),
        )
        .await;
        assert!(
            !matches!(attempt, Ok(Ok(_))),
            "no handshake can finish through the proxy"
        );
        forward.abort();
    });
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        region.hub_log().contains("handshake timed out"),
        "{}",
        region.hub_log()
    );
}

/// The hub's peak resident memory (VmHWM) in bytes.
fn peak_memory(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        * 1024
}

#[test]
fn requests_held_in_memory_are_bounded_over_all_streams() {
    const FRAME: usize = 8 << 20;
    const STREAMS: usize = 16;
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    region.set_hub_setting("max_frame_bytes", &FRAME.to_string());
    region.set_hub_setting("in_flight_megabytes", "8");
    region.start_hub();
    let before = peak_memory(region.hub_pid());
    let cert = node.dir.join("node-2180.crt");
    let key = node.dir.join("node-2180.key");
    let answers = runtime().block_on(async {
        let identity = Some((cert.as_path(), key.as_path()));
        let client = std::sync::Arc::new(RawClient::connect(&region, identity).await.unwrap());
        // Sixteen requests of 8 MiB at once (128 MiB), none of them a valid message.
        let mut frame = u32::try_from(FRAME - 4).unwrap().to_be_bytes().to_vec();
        frame.resize(FRAME, 0xA5);
        let frame = std::sync::Arc::new(frame);
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..STREAMS {
            let (client, frame) = (client.clone(), frame.clone());
            requests.spawn(async move { client.exchange(&frame).await });
        }
        requests.join_all().await
    });
    // Every request was read and answered in turn: none lost, none left hanging.
    assert_eq!(answers.len(), STREAMS);
    for answer in &answers {
        assert!(matches!(answer, Ok(Response::Refused(_))), "{answer:?}");
    }
    // With room for one request at a time the hub never held them all: its peak grew
    // by far less than the 128 MiB sent (one request, plus what the QUIC streams
    // buffer while they wait).
    let growth = peak_memory(region.hub_pid()).saturating_sub(before);
    eprintln!("hub peak memory grew by {} MiB", growth >> 20);
    assert!(
        growth < (STREAMS * FRAME / 2) as u64,
        "the hub's peak memory grew by {} MiB",
        growth >> 20
    );
}

#[test]
fn room_for_requests_smaller_than_the_largest_request_is_refused_at_start() {
    let region = Region::new();
    let config = region.root().join("hub/hub.toml");
    region.set_hub_setting("in_flight_megabytes", "1");
    // The default max_frame_bytes is 64 MiB: such a request could never be read.
    let e = samla_hub::config::HubConfig::load(&config).unwrap_err();
    assert!(
        e.to_string()
            .contains("in_flight_megabytes (1 MiB) is smaller than max_frame_bytes"),
        "{e}"
    );
    region.set_hub_setting("max_frame_bytes", "1048576");
    samla_hub::config::HubConfig::load(&config).unwrap();
}

/// Opens a stream that announces a request of `length` bytes and sends nothing more.
async fn trickle(client: &RawClient, length: u32) -> (quinn::SendStream, quinn::RecvStream) {
    let (mut send, recv) = client.connection().open_bi().await.unwrap();
    send.write_all(&length.to_be_bytes()).await.unwrap();
    (send, recv)
}

#[test]
fn one_kommun_cannot_take_all_the_room_for_requests() {
    let mut region = Region::new();
    let gavle = region.add_node("2180", "ca", &[]);
    let sandviken = region.add_node("2181", "ca", &[]);
    region.set_hub_setting("max_frame_bytes", "1048576");
    region.set_hub_setting("in_flight_megabytes", "4");
    region.start_hub();
    runtime().block_on(async {
        let identity = |node: &Node| {
            (
                node.dir.join(format!("node-{}.crt", node.kommun)),
                node.dir.join(format!("node-{}.key", node.kommun)),
            )
        };
        let (cert, key) = identity(&gavle);
        let a = RawClient::connect(&region, Some((&cert, &key)))
            .await
            .unwrap();
        // Four requests of 1 MiB that never arrive would fill the hub's 4 MiB; one
        // kommun may hold a quarter, so three of them wait for 2180's own share.
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(trickle(&a, 1 << 20).await);
        }
        let (cert, key) = identity(&sandviken);
        let b = RawClient::connect(&region, Some((&cert, &key)))
            .await
            .unwrap();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            b.request(&Request::Checkpoint { since: 0 }),
        )
        .await;
        assert!(
            matches!(answer, Ok(Ok(Response::Checkpoint { .. }))),
            "another kommun is served: {answer:?}"
        );
    });
}

#[test]
fn a_request_that_does_not_arrive_in_time_gives_its_room_back() {
    let mut region = Region::new();
    let gavle = region.add_node("2180", "ca", &[]);
    region.set_hub_setting("max_frame_bytes", "1048576");
    region.set_hub_setting("in_flight_megabytes", "1");
    region.set_hub_setting("request_timeout_seconds", "1");
    region.start_hub();
    let cert = gavle.dir.join("node-2180.crt");
    let key = gavle.dir.join("node-2180.key");
    runtime().block_on(async {
        let client = RawClient::connect(&region, Some((&cert, &key)))
            .await
            .unwrap();
        // This request takes all the room there is, and never arrives.
        let (_send, mut recv) = trickle(&client, 1 << 20).await;
        let mut header = [0u8; 4];
        let read =
            tokio::time::timeout(Duration::from_secs(10), recv.read_exact(&mut header)).await;
        assert!(matches!(read, Ok(Ok(()))), "the hub answers it: {read:?}");
        let mut body = vec![0u8; samla_common::wire::frame_length(header, 1 << 20).unwrap()];
        recv.read_exact(&mut body).await.unwrap();
        let answer: Response = samla_common::codec::decode(&body).unwrap();
        assert!(
            matches!(&answer, Response::Refused(r) if r.is_temporary()
                && r.to_string().contains("did not arrive within 1 s")),
            "{answer:?}"
        );
        // Its room is free again.
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            client.request(&Request::Checkpoint { since: 0 }),
        )
        .await;
        assert!(
            matches!(answer, Ok(Ok(Response::Checkpoint { .. }))),
            "{answer:?}"
        );
    });
    assert!(
        refusals(&region)
            .iter()
            .any(|r| r.contains("did not arrive within 1 s")),
        "{:?}",
        refusals(&region)
    );
}
