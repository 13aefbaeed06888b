//! `samla-hub status` for an operator or a monitoring check: ready while the hub
//! runs, and not ready within a second of the hub dying (killed, so it wrote no
//! final status), without waiting for its heartbeat to go stale.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use samla_tests::{run, text, Region};

#[test]
fn status_says_not_ready_within_a_second_of_the_hub_dying() {
    let mut region = Region::new();
    region.start_hub();
    let status = |region: &Region| {
        run(
            "samla-hub",
            region.root(),
            &["status", "--config", "hub/hub.toml"],
        )
    };
    let o = status(&region);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("hub: ready"), "{}", text(&o));

    // Killed, and not yet reaped by its parent (a zombie), as a supervisor that
    // has not noticed would leave it.
    let mut child = region.hub.take().unwrap();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    std::thread::sleep(Duration::from_millis(100));
    let o = status(&region);
    assert!(killed.elapsed() < Duration::from_secs(1));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("hub: NOT READY"), "{}", text(&o));
    child.wait().unwrap();
    let o = status(&region);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}
