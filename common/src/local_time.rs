//! Swedish local time (Europe/Stockholm) for what people read: CET (+01:00) in winter,
//! CEST (+02:00) from the last Sunday of March to the last Sunday of October, changing
//! at 01:00 UTC as in every EU member state (Directive 2000/84/EC).
//!
//! Pure: the caller reads the clock and passes the instant in. Stored and signed times
//! stay in UTC (Unix seconds); only what is shown is converted.

use time::macros::{offset, time};
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// Standard time in Sweden.
const CET: UtcOffset = offset!(+1);
/// Summer time in Sweden.
const CEST: UtcOffset = offset!(+2);

/// The same instant, in Swedish local time.
pub fn stockholm(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(stockholm_offset(at))
}

/// The UTC offset in Sweden at an instant.
pub fn stockholm_offset(at: OffsetDateTime) -> UtcOffset {
    let utc = at.to_offset(UtcOffset::UTC);
    let change =
        |month| last_sunday(utc.year(), month).map(|d| d.with_time(time!(01:00)).assume_utc());
    match (change(Month::March), change(Month::October)) {
        (Some(start), Some(end)) if utc >= start && utc < end => CEST,
        _ => CET,
    }
}

/// An instant as a person in Sweden reads it: `2026-03-29 14:03:12 +02:00`.
pub fn format_stockholm(at: OffsetDateTime) -> String {
    let local = stockholm(at);
    let offset = local.offset();
    format!(
        "{} {:02}:{:02}:{:02} {}{:02}:{:02}",
        crate::period::format_date(local.date()),
        local.hour(),
        local.minute(),
        local.second(),
        if offset.is_negative() { '-' } else { '+' },
        offset.whole_hours().unsigned_abs(),
        offset.minutes_past_hour().unsigned_abs()
    )
}

/// The last Sunday of a month.
fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    let back = last.weekday().number_days_from_sunday();
    last.checked_sub(time::Duration::days(i64::from(back)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn summer_time_starts_and_ends_at_one_utc_on_the_last_sundays() {
        // 2026: summer time from 29 March to 25 October.
        assert_eq!(stockholm_offset(datetime!(2026-03-29 00:59:59 UTC)), CET);
        assert_eq!(stockholm_offset(datetime!(2026-03-29 01:00:00 UTC)), CEST);
        assert_eq!(stockholm_offset(datetime!(2026-10-25 00:59:59 UTC)), CEST);
        assert_eq!(stockholm_offset(datetime!(2026-10-25 01:00:00 UTC)), CET);
        // 2025: 30 March to 26 October.
        assert_eq!(stockholm_offset(datetime!(2025-03-30 01:00:00 UTC)), CEST);
        assert_eq!(stockholm_offset(datetime!(2025-03-29 12:00:00 UTC)), CET);
        assert_eq!(stockholm_offset(datetime!(2025-10-26 00:30:00 UTC)), CEST);
        assert_eq!(stockholm_offset(datetime!(2025-12-31 23:00:00 UTC)), CET);
    }

    #[test]
    fn local_times_are_shown_with_their_offset() {
        assert_eq!(
            format_stockholm(datetime!(2026-01-15 13:03:12 UTC)),
            "2026-01-15 14:03:12 +01:00"
        );
        assert_eq!(
            format_stockholm(datetime!(2026-07-01 22:30:00 UTC)),
            "2026-07-02 00:30:00 +02:00"
        );
        // The instant is the same whatever offset it comes in.
        assert_eq!(
            format_stockholm(datetime!(2026-07-01 18:30:00 -04:00)),
            "2026-07-02 00:30:00 +02:00"
        );
    }
}
