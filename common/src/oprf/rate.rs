//! The custodian's rate limit: at most a configured number of evaluations per kommun
//! per period, as a pure decision (the stored window and the request in, the decision
//! and the new window out), so the custodian stores the window and this module
//! decides.
//!
//! Periods are fixed windows of `period_seconds` counted from the Unix epoch, so an
//! auditor can recompute every window's total from the custodian's log. A batch is
//! allowed whole or refused whole: nothing is half evaluated. A limit bounds how many
//! personnummer a kommun (or whoever holds its certificate) can test per period;
//! docs/custodian.md says what that bounds and what it does not.

use serde::{Deserialize, Serialize};

/// Evaluations per kommun per period, by default.
pub const DEFAULT_EVALUATIONS: u64 = 50_000;
/// The default period: 30 days.
pub const DEFAULT_PERIOD_SECONDS: u32 = 30 * 24 * 3600;

/// A limit: `evaluations` per `period_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// The most evaluations in one period.
    pub evaluations: u64,
    /// The period's length in seconds (at least 1).
    pub period_seconds: u32,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            evaluations: DEFAULT_EVALUATIONS,
            period_seconds: DEFAULT_PERIOD_SECONDS,
        }
    }
}

/// One kommun's use in the current window, as the custodian stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    /// The window's start (Unix seconds, a multiple of the period).
    pub start: i64,
    /// Evaluations allowed in it so far.
    pub used: u64,
}

/// What the limit says about a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum RateDecision {
    /// Evaluate; store `window` (it counts this batch) before answering.
    Allowed {
        /// The window with this batch counted.
        window: RateWindow,
        /// Evaluations left in the window after this batch.
        remaining: u64,
    },
    /// Refuse the whole batch; nothing changes.
    Refused {
        /// Evaluations already used in the window.
        used: u64,
        /// The limit.
        limit: u64,
        /// When the next window starts (Unix seconds).
        resets_at: i64,
    },
}

impl RateLimit {
    /// Decides on a batch of `requested` evaluations at `now`, given the kommun's
    /// stored window (`None` if it never evaluated).
    pub fn decide(&self, stored: Option<RateWindow>, now: i64, requested: u64) -> RateDecision {
        let period = i64::from(self.period_seconds.max(1));
        let start = now - now.rem_euclid(period);
        let used = match stored {
            Some(w) if w.start == start => w.used,
            _ => 0,
        };
        match used.checked_add(requested) {
            Some(total) if total <= self.evaluations => RateDecision::Allowed {
                window: RateWindow { start, used: total },
                remaining: self.evaluations - total,
            },
            _ => RateDecision::Refused {
                used,
                limit: self.evaluations,
                resets_at: start.saturating_add(period),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u32 = 24 * 3600;

    #[test]
    fn batches_are_counted_until_the_limit_then_refused_whole() {
        let limit = RateLimit {
            evaluations: 100,
            period_seconds: DAY,
        };
        let now = 1_795_000_000;
        let RateDecision::Allowed { window, remaining } = limit.decide(None, now, 60) else {
            panic!("the first batch is allowed");
        };
        assert_eq!((window.used, remaining), (60, 40));
        assert_eq!(window.start % i64::from(DAY), 0);
        let RateDecision::Allowed { window, remaining } = limit.decide(Some(window), now + 5, 40)
        else {
            panic!("exactly the limit is allowed");
        };
        assert_eq!((window.used, remaining), (100, 0));
        assert_eq!(
            limit.decide(Some(window), now + 6, 1),
            RateDecision::Refused {
                used: 100,
                limit: 100,
                resets_at: window.start + i64::from(DAY)
            }
        );
        // The next window starts from zero.
        let next = window.start + i64::from(DAY);
        assert_eq!(
            limit.decide(Some(window), next, 100),
            RateDecision::Allowed {
                window: RateWindow {
                    start: next,
                    used: 100
                },
                remaining: 0
            }
        );
    }

    #[test]
    fn a_batch_over_the_limit_alone_is_refused_and_counts_cannot_overflow() {
        let limit = RateLimit {
            evaluations: 10,
            period_seconds: DAY,
        };
        assert!(matches!(
            limit.decide(None, 0, 11),
            RateDecision::Refused { used: 0, .. }
        ));
        let full = RateWindow {
            start: 0,
            used: u64::MAX,
        };
        assert!(matches!(
            limit.decide(Some(full), 1, u64::MAX),
            RateDecision::Refused { .. }
        ));
        // Times before the epoch fall in their own windows too.
        assert!(matches!(
            limit.decide(None, -1, 1),
            RateDecision::Allowed {
                window: RateWindow {
                    start: -86_400,
                    used: 1
                },
                ..
            }
        ));
    }
}
