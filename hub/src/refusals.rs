//! Bounded refusal logging: every refusal is still logged, but a flood from one
//! certificate (hundreds of garbage streams) does not add hundreds of signed log
//! entries. Per kommun and kind of refusal, the first refusal of a window is logged
//! as it is; the ones after it in the same window are counted and logged as one
//! entry with the count when the window closes (or the hub stops).
//!
//! A state machine without IO or clock (the server feeds it the time): events in
//! through [`RefusalLog::handle`], entries out through [`RefusalLog::poll`] and
//! [`RefusalLog::drain`].

use std::collections::HashMap;

use samla_common::codes::KommunCode;
use samla_common::wire::Refusal;

/// How long one window is, in seconds.
pub const WINDOW_SECONDS: i64 = 60;

/// Refusals of one kommun and kind counted in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated {
    /// The kommun (none: the certificate named none).
    pub kommun: Option<KommunCode>,
    /// The kind of refusal ([`Refusal::kind`]).
    pub kind: &'static str,
    /// How many came after the one logged as it was.
    pub count: u64,
    /// The first of them (Unix seconds).
    pub first: i64,
    /// The last of them.
    pub last: i64,
}

impl Repeated {
    /// The entry's summary line: what, how many, from when to when.
    pub fn summary(&self) -> String {
        format!(
            "{} more refusals of kind {} in {} s after the one logged before (first at {}, last at {}); counted, not logged one by one",
            self.count, self.kind, WINDOW_SECONDS, self.first, self.last
        )
    }
}

#[derive(Debug)]
struct Window {
    started: i64,
    first: i64,
    last: i64,
    count: u64,
}

/// The windows open per kommun and kind.
#[derive(Debug, Default)]
pub struct RefusalLog {
    windows: HashMap<(Option<KommunCode>, &'static str), Window>,
}

impl RefusalLog {
    /// A refusal at `now`: whether it is to be logged as it is (the first of its
    /// window; `false`: it was counted), and the count of its kommun and kind's
    /// previous window if that closed with refusals not yet logged.
    #[must_use]
    pub fn handle(
        &mut self,
        now: i64,
        kommun: Option<KommunCode>,
        refusal: &Refusal,
    ) -> (bool, Option<Repeated>) {
        let key = (kommun, refusal.kind());
        if let Some(w) = self.windows.get_mut(&key) {
            if now - w.started < WINDOW_SECONDS {
                if w.count == 0 {
                    w.first = now;
                }
                w.count += 1;
                w.last = now;
                return (false, None);
            }
        }
        let closed = self.windows.insert(
            key,
            Window {
                started: now,
                first: now,
                last: now,
                count: 0,
            },
        );
        (true, closed.and_then(|w| repeated(key, &w)))
    }

    /// The counts of every window that has closed by `now`, to log; closed windows
    /// are forgotten.
    #[must_use]
    pub fn poll(&mut self, now: i64) -> Vec<Repeated> {
        let closed: Vec<_> = self
            .windows
            .iter()
            .filter(|(_, w)| now - w.started >= WINDOW_SECONDS)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::new();
        for key in closed {
            if let Some(w) = self.windows.remove(&key) {
                out.extend(repeated(key, &w));
            }
        }
        out.sort_by_key(|r| r.first);
        out
    }

    /// Every count still open (the hub is stopping).
    #[must_use]
    pub fn drain(&mut self) -> Vec<Repeated> {
        let mut out: Vec<Repeated> = self
            .windows
            .drain()
            .filter_map(|(key, w)| repeated(key, &w))
            .collect();
        out.sort_by_key(|r| r.first);
        out
    }
}

fn repeated(key: (Option<KommunCode>, &'static str), w: &Window) -> Option<Repeated> {
    (w.count > 0).then_some(Repeated {
        kommun: key.0,
        kind: key.1,
        count: w.count,
        first: w.first,
        last: w.last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed() -> Refusal {
        Refusal::Malformed("x".to_owned())
    }

    #[test]
    fn a_flood_is_one_entry_and_one_count_per_window() {
        let mut log = RefusalLog::default();
        let kommun = Some("2180".parse().unwrap());
        assert_eq!(log.handle(100, kommun, &malformed()), (true, None));
        for t in 101..400 {
            assert_eq!(
                log.handle(100 + (t - 100) / 10, kommun, &malformed()),
                (false, None)
            );
        }
        // Another kind and another kommun have their own windows.
        assert!(log.handle(110, kommun, &Refusal::BadSignature).0);
        assert!(
            log.handle(110, Some("2181".parse().unwrap()), &malformed())
                .0
        );
        assert_eq!(log.poll(150), []);
        let closed = log.poll(160);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].count, 299);
        assert_eq!((closed[0].first, closed[0].last), (100, 129));
        // The next refusal opens a new window and is logged as it is.
        assert_eq!(log.handle(161, kommun, &malformed()), (true, None));
        assert_eq!(log.drain(), []);
    }

    #[test]
    fn counts_left_when_a_window_closes_come_with_the_next_refusal() {
        let mut log = RefusalLog::default();
        assert_eq!(log.handle(0, None, &malformed()), (true, None));
        assert_eq!(log.handle(1, None, &malformed()), (false, None));
        // Past the window without a poll: logged as it is, with the count.
        let (logged, closed) = log.handle(70, None, &malformed());
        assert!(logged);
        assert_eq!(closed.map(|r| (r.count, r.first, r.last)), Some((1, 1, 1)));
        assert_eq!(log.handle(71, None, &malformed()), (false, None));
        assert_eq!(log.drain().len(), 1);
    }
}
