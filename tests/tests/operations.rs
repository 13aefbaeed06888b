//! The node as municipal IT runs it, with a real hub process: a hub that cannot be
//! reached and a wrong server name each say what to check (the latter without
//! retrying), a changed byte in the outbox is found before anything is sent, a node
//! restored from an older database re-signs and delivers each submission once, and
//! the daemon submits only inside a project's lifetime.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use samla_tests::{sql, text, Node, Region};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `(sequence, state, attempts)` of every outbox row.
fn outbox(node: &Node) -> Vec<(i64, String, i64)> {
    let db = node.db();
    let mut s = db
        .prepare("SELECT sequence, state, attempts FROM outbox ORDER BY sequence")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn logged(node: &Node, kind: &str) -> Vec<String> {
    sql::column(
        &node.db(),
        "SELECT detail FROM transfer_log WHERE kind = ?1 ORDER BY entry",
        [kind],
    )
}

fn hub_sequences(region: &Region) -> Vec<i64> {
    sql::column(
        &region.hub_db(),
        "SELECT sequence FROM submissions ORDER BY sequence",
        [],
    )
}

/// Replaces `key = "…"` in the node's config.
fn set(node: &Node, key: &str, value: &str) {
    let path = node.dir.join("samla-node.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let prefix = format!("{key} = \"");
    let start = config.find(&prefix).unwrap() + prefix.len();
    let end = start + config[start..].find('"').unwrap();
    std::fs::write(
        &path,
        format!("{}{value}{}", &config[..start], &config[end..]),
    )
    .unwrap();
}

#[test]
fn an_unreachable_hub_says_where_it_looked_and_what_to_check() {
    let region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    let export = node.export("export.csv", 40, 1);
    let o = node.submit(
        &export,
        "2025",
        &["--give-up-after", "12", "--retry-wait", "400"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = stderr(&o);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let address = region.address.to_string();
    let port = region.address.port();
    assert!(
        out.contains(&format!(
            "sending 1 submission(s) to hub {address} (UDP); an unreachable hub is tried for up to 12 s"
        )),
        "{out}"
    );
    // A line per retry, with the next attempt's local time: a silent address is
    // given up after 10 s, the second attempt at the give-up time.
    let retries: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("next attempt at"))
        .collect();
    assert_eq!(retries.len(), 1, "{err}");
    assert!(
        retries[0].ends_with("no answer within 10 s; attempt 1 failed, next attempt at ")
            || retries[0].contains("no answer within 10 s; attempt 1 failed, next attempt at "),
        "{err}"
    );
    assert!(err.contains("(after 2 attempts)"), "{err}");
    assert!(
        retries[0].contains(&format!("samla-node: hub {address} (UDP): "))
            && retries[0].contains("attempt 1 failed")
            && (retries[0].contains(" +01:00 (in ") || retries[0].contains(" +02:00 (in ")),
        "{err}"
    );
    // What to check: the address, UDP and the firewall, whether the hub runs.
    let hint = format!(
        "Nothing answered at {address} (UDP). Check [hub] address (host:port of the hub), that firewalls on both sides let UDP port {port} through, and that the hub is running (`samla-hub status` at the region)."
    );
    assert!(err.contains(&hint), "{err}");
    assert!(
        err.contains("samla-node: 1 submission(s) wait in the outbox: ")
            && err.contains("`samla-node send` delivers them once the hub can be reached"),
        "{err}"
    );
    // Every failed attempt is counted and logged.
    let rows = outbox(&node);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "pending");
    assert_eq!(rows[0].2 as usize, retries.len() + 1, "{err}");
    assert_eq!(logged(&node, "send failed").len(), retries.len() + 1);
    let listing = String::from_utf8_lossy(&node.run(&["outbox"]).stdout).into_owned();
    assert!(
        listing.contains(&format!("pending       {}", rows[0].2)),
        "{listing}"
    );
}

#[test]
fn a_wrong_server_name_is_named_and_not_retried() {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    region.start_hub();
    set(&node, "server_name", "samla.example.org");
    let export = node.export("export.csv", 40, 1);
    let started = std::time::Instant::now();
    let o = node.run(&["submit", &export, "--period", "2025"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = stderr(&o);
    assert!(
        err.contains("the hub's certificate is not for the configured server name"),
        "{err}"
    );
    assert!(
        err.contains("[hub] server_name is \"samla.example.org\", which is not a name on the hub's certificate")
            && err.contains("This is not retried; `samla-node send` delivers them once it is fixed."),
        "{err}"
    );
    assert!(!err.contains("next attempt"), "not retried: {err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the default give-up time of 300 s was not waited out"
    );
    assert_eq!(outbox(&node)[0].2, 1, "one attempt");
    // Fixed, the same submission goes through.
    set(&node, "server_name", "localhost");
    let o = node.run(&["send"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(region.count("submissions"), 1);
}

#[test]
fn a_changed_byte_in_the_outbox_is_found_and_never_sent() {
    let mut region = Region::new();
    let node = region.add_node("2181", "ca", &[]);
    let export = node.export("export.csv", 40, 2);
    for period in ["2025", "2025-H1"] {
        let o = node.submit(&export, period, &["--give-up-after", "1"]);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    }
    // One byte in the middle of the first submission's signed bytes, as stored.
    node.flip_signed_byte(1, 0x04);
    region.start_hub();
    let o = node.run(&["send"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = stderr(&o);
    assert!(
        err.contains("in the outbox does not match what was signed")
            && err.contains("it is not sent. Run `samla-node audit verify`"),
        "{err}"
    );
    assert_eq!(
        hub_sequences(&region),
        [2],
        "only the unchanged one was sent"
    );
    assert_eq!(logged(&node, "tampered").len(), 1);
    assert!(outbox(&node)
        .iter()
        .any(|(s, state, _)| *s == 1 && state == "pending"));
}

#[test]
fn a_node_restored_from_an_older_database_re_signs_and_delivers_each_submission_once() {
    let mut region = Region::new();
    let node = region.add_node("2182", "ca", &[]);
    region.start_hub();
    let export = node.export("export.csv", 40, 3);
    let submit = |period: &str| node.run(&["submit", &export, "--period", period]);
    let o = submit("2025");
    assert!(o.status.success(), "{}", text(&o));
    let backup = node.dir.join("backup.db");
    node.db()
        .execute("VACUUM INTO ?1", [backup.to_str().unwrap()])
        .unwrap();
    let o = submit("2025-H1");
    assert!(o.status.success(), "{}", text(&o));
    // Restore the older copy.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(node.dir.join(format!("node.db{suffix}")));
    }
    std::fs::copy(&backup, node.dir.join("node.db")).unwrap();

    let o = submit("2025-H2");
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains("as sequence 3 (") && out.contains("the hub's last accepted sequence is 2"),
        "{}",
        text(&o)
    );
    assert_eq!(hub_sequences(&region), [1, 2, 3], "each stored once");
    let rows: Vec<(i64, String)> = outbox(&node)
        .into_iter()
        .map(|(s, st, _)| (s, st))
        .collect();
    assert_eq!(
        rows,
        [
            (1, "acknowledged".to_owned()),
            (2, "refused".to_owned()),
            (3, "acknowledged".to_owned())
        ]
    );
    assert_eq!(logged(&node, "resequenced").len(), 1);
    let o = node.run(&["audit", "--lang", "en", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn the_daemon_submits_only_inside_a_projects_lifetime_and_reads_only_exports() {
    let mut region = Region::new();
    let node = region.add_node("0765", "ca", &[]);
    // A project that ended long before the latest closed quarter.
    let path = node.dir.join("samla-node.toml");
    let config = std::fs::read_to_string(&path).unwrap().replace(
        "linkage_domain = \"gavleborg-ung-2023\"\n",
        "linkage_domain = \"gavleborg-ung-2023\"\nstart = \"2021-01-04\"\nend = \"2023-02-28\"\n",
    );
    std::fs::write(&path, config).unwrap();
    node.enable_daemon();
    let path = node.dir.join("samla-node.toml");
    let config = std::fs::read_to_string(&path).unwrap().replace(
        "periods = [\"year\"]",
        "periods = [\"quarter\", \"lifetime\"]",
    );
    std::fs::write(&path, config).unwrap();
    region.start_hub();
    node.drop_export("fasetten.csv", 60, 4, "2021-01-04..2023-02-28");
    std::fs::write(node.dir.join("inbox/anteckning.pdf"), "not an export").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    let o = node.run(&["run", "--once"]);
    assert!(o.status.success(), "{}", text(&o));
    let log = stderr(&o);
    let stored: Vec<String> = sql::column(&region.hub_db(), "SELECT period FROM submissions", []);
    assert_eq!(stored, ["2021-01-04..2023-02-28"], "{log}");
    assert!(
        log.contains(
            "is outside project UNG's lifetime 2021-01-04..2023-02-28: not submitted for it"
        ),
        "{log}"
    );
    assert!(
        log.contains("period=2021-01-04..2023-02-28 projects=UNG")
            && log.contains("submission queued"),
        "{log}"
    );
    assert!(
        log.contains("file=anteckning.pdf") && log.contains("not an export; left in the inbox"),
        "{log}"
    );
    assert!(node.dir.join("inbox/anteckning.pdf").exists());
    assert!(!log.contains("Some("), "plain values in logs: {log}");
}
