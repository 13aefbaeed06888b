//! Reporting periods and dates (DESIGN.md §3, §5).
//!
//! A [`Period`] is an inclusive date range `from..=to`, written `2025`, `2025-H1`,
//! `2025-Q3`, `2025-07` or `2025-03-01..2025-08-31`. A project's whole lifetime is a
//! period too; resolving the word `lifetime` is up to the caller, who knows the project.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::text::shown;

/// An inclusive range of dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    from: Date,
    to: Date,
}

/// Why a period or date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Not one of the accepted forms.
    #[error(
        "period {found:?} is not understood: use 2025, 2025-H1, 2025-Q3, 2025-07 \
         or 2025-03-01..2025-08-31"
    )]
    Format {
        /// The text given.
        found: String,
    },
    /// The range ends before it starts.
    #[error("period {found:?} ends before it starts")]
    Reversed {
        /// The text given.
        found: String,
    },
}

/// Why a date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not `YYYY-MM-DD` or `YYYYMMDD`.
    #[error("{found:?} is not a date: write 2024-03-05 or 20240305")]
    Format {
        /// The text given.
        found: String,
    },
    /// Well formed, but no such day exists.
    #[error("{found:?} is not a day in the calendar")]
    NoSuchDay {
        /// The text given.
        found: String,
    },
    /// A date with a time of day other than midnight (a spreadsheet's date-time).
    #[error("{found:?} has a time of day: write the date alone, {date}")]
    TimeOfDay {
        /// The text given (a date and a time cannot be a personnummer, so it is shown).
        found: String,
        /// The date part.
        date: String,
    },
}

/// Parses `YYYY-MM-DD` or `YYYYMMDD`, also followed by a midnight time
/// (`2022-08-06 00:00:00`, `2022-08-06T00:00`, as spreadsheets write dates as text).
pub fn parse_date(text: &str) -> Result<Date, DateError> {
    let text = crate::text::trim(text);
    if let Some((date, time)) = split_time(text) {
        let parsed = parse_date(date)?;
        return if time.bytes().all(|b| matches!(b, b'0' | b':' | b'.')) {
            Ok(parsed)
        } else {
            Err(DateError::TimeOfDay {
                found: text.chars().take(40).collect(),
                date: format_date(parsed),
            })
        };
    }
    let b = text.as_bytes();
    let digits: [&[u8]; 3] = match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => [&b[..4], &b[5..7], &b[8..]],
        8 => [&b[..4], &b[4..6], &b[6..]],
        _ => return Err(DateError::Format { found: shown(text) }),
    };
    if !digits.iter().all(|d| d.iter().all(u8::is_ascii_digit)) {
        return Err(DateError::Format { found: shown(text) });
    }
    let number = |d: &[u8]| d.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
    let (year, month, day) = (number(digits[0]), number(digits[1]), number(digits[2]));
    let no_such_day = || DateError::NoSuchDay { found: shown(text) };
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(no_such_day)?;
    let (year, day) = (
        i32::try_from(year).map_err(|_| no_such_day())?,
        u8::try_from(day).map_err(|_| no_such_day())?,
    );
    Date::from_calendar_date(year, month, day).map_err(|_| no_such_day())
}

/// A date and a time of day (`HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff`) separated by a
/// space or `T`, as two parts; `None` for anything else.
fn split_time(text: &str) -> Option<(&str, &str)> {
    let at = text.find([' ', 'T'])?;
    let (date, time) = (&text[..at], &text[at + 1..]);
    let b = time.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let clock = b.len() >= 5 && digits(0..2) && b[2] == b':' && digits(3..5);
    let seconds = match b.len() {
        5 => true,
        8 => b[5] == b':' && digits(6..8),
        n if n > 9 => b[5] == b':' && digits(6..8) && b[8] == b'.' && digits(9..n),
        _ => false,
    };
    (clock && seconds && matches!(date.len(), 8 | 10)).then_some((date, time))
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month() as u8,
        date.day()
    )
}

/// A calendar month, as used by the `monthly_active` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    /// The year.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u8,
}

impl YearMonth {
    /// The month a date falls in.
    pub fn of(date: Date) -> YearMonth {
        YearMonth {
            year: date.year(),
            month: date.month() as u8,
        }
    }

    /// Months since year 0, for arithmetic.
    fn ordinal(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    fn from_ordinal(n: i64) -> YearMonth {
        YearMonth {
            year: i32::try_from(n.div_euclid(12)).unwrap_or(i32::MAX),
            month: u8::try_from(n.rem_euclid(12) + 1).unwrap_or(1),
        }
    }

    /// The code used in tables, `YYYY-MM`.
    pub fn code(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Whole calendar months from `start` to `end` (0 if `end` is within a month of `start`).
pub fn whole_months_between(start: Date, end: Date) -> u32 {
    let months = YearMonth::of(end).ordinal()
        - YearMonth::of(start).ordinal()
        - i64::from(end.day() < start.day());
    u32::try_from(months).unwrap_or(0)
}

impl Period {
    /// A period from two dates; `None` if `to` is before `from`.
    pub fn new(from: Date, to: Date) -> Option<Period> {
        (from <= to).then_some(Period { from, to })
    }

    /// The first day.
    pub fn from(&self) -> Date {
        self.from
    }

    /// The last day.
    pub fn to(&self) -> Date {
        self.to
    }

    /// Whether a participation from `start` to `end` (open if `None`) overlaps the period.
    pub fn is_active(&self, start: Date, end: Option<Date>) -> bool {
        start <= self.to && end.is_none_or(|end| end >= self.from)
    }

    /// Whether a date falls in the period.
    pub fn contains(&self, date: Date) -> bool {
        self.from <= date && date <= self.to
    }

    /// The calendar months the period touches, in order.
    pub fn months(&self) -> Vec<YearMonth> {
        let (first, last) = (
            YearMonth::of(self.from).ordinal(),
            YearMonth::of(self.to).ordinal(),
        );
        (first..=last).map(YearMonth::from_ordinal).collect()
    }

    /// The months of the period in which a participation from `start` to `end` is active.
    pub fn active_months(&self, start: Date, end: Option<Date>) -> std::ops::RangeInclusive<usize> {
        let base = YearMonth::of(self.from).ordinal();
        let first = YearMonth::of(start.max(self.from)).ordinal() - base;
        let last_date = end.map_or(self.to, |e| e.min(self.to));
        let last = YearMonth::of(last_date).ordinal() - base;
        let first = usize::try_from(first).unwrap_or(0);
        match usize::try_from(last) {
            Ok(last) if last >= first => first..=last,
            #[expect(
                clippy::reversed_empty_ranges,
                reason = "an empty range says: no months"
            )]
            _ => 1..=0,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", format_date(self.from), format_date(self.to))
    }
}

impl FromStr for Period {
    type Err = PeriodError;
    fn from_str(text: &str) -> Result<Period, PeriodError> {
        let text = crate::text::trim(text);
        let format_err = || PeriodError::Format { found: shown(text) };
        if let Some((a, b)) = text.split_once("..") {
            let from = parse_date(a).map_err(|_| format_err())?;
            let to = parse_date(b.trim_start_matches('=')).map_err(|_| format_err())?;
            return Period::new(from, to).ok_or(PeriodError::Reversed { found: shown(text) });
        }
        let (year_text, part) = text.split_once('-').unwrap_or((text, ""));
        if year_text.len() != 4 || !year_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_err());
        }
        let year: i32 = year_text.parse().map_err(|_| format_err())?;
        let (first_month, months) = match part.to_ascii_uppercase().as_str() {
            "" => (1, 12),
            "H1" => (1, 6),
            "H2" => (7, 6),
            "Q1" => (1, 3),
            "Q2" => (4, 3),
            "Q3" => (7, 3),
            "Q4" => (10, 3),
            m if m.len() == 2 => match m.parse::<u8>() {
                Ok(month @ 1..=12) => (month, 1),
                _ => return Err(format_err()),
            },
            _ => return Err(format_err()),
        };
        let month = |m: u8| Month::try_from(m).map_err(|_| format_err());
        let from =
            Date::from_calendar_date(year, month(first_month)?, 1).map_err(|_| format_err())?;
        let last_month = month(first_month + months - 1)?;
        let to = Date::from_calendar_date(year, last_month, last_month.length(year))
            .map_err(|_| format_err())?;
        Ok(Period { from, to })
    }
}

/// The kinds of calendar period a node submits on its own (DESIGN.md §5 shorthands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// A calendar month (`2025-07`).
    Month,
    /// A quarter (`2025-Q3`).
    Quarter,
    /// A half year (`2025-H1`).
    Half,
    /// A calendar year (`2025`).
    Year,
}

impl PeriodKind {
    /// The period of this kind that contains `date`.
    pub fn containing(self, date: Date) -> Period {
        let (year, month) = (date.year(), date.month() as u8);
        let text = match self {
            PeriodKind::Month => format!("{year:04}-{month:02}"),
            PeriodKind::Quarter => format!("{year:04}-Q{}", (month - 1) / 3 + 1),
            PeriodKind::Half => format!("{year:04}-H{}", (month - 1) / 6 + 1),
            PeriodKind::Year => format!("{year:04}"),
        };
        // Every text above is a valid shorthand; the fallback is unreachable.
        text.parse().unwrap_or(Period {
            from: date,
            to: date,
        })
    }

    /// The latest period of this kind that ended before `today`: a closed period,
    /// whose figures will not change.
    pub fn latest_closed(self, today: Date) -> Period {
        let current = self.containing(today);
        match current.from.previous_day() {
            Some(day) => self.containing(day),
            None => current,
        }
    }
}

/// A period named in a file name, such as `ung-2180-2025-Q3.csv` or `2025-07.xlsx`:
/// a shorthand with a part (`2025-Q3`, `2025-H1`, `2025-07`) wins; otherwise the last
/// bare year. Years after `latest_year` are not years (kommun codes such as `2080`
/// look like one).
pub fn period_in_name(name: &str, latest_year: i32) -> Option<Period> {
    let parts: Vec<&str> = name.split(['_', ' ', '.', '-']).collect();
    let mut bare = None;
    for (i, part) in parts.iter().enumerate() {
        let year_like = part.len() == 4
            && part.bytes().all(|b| b.is_ascii_digit())
            && part
                .parse::<i32>()
                .is_ok_and(|y| (2000..=latest_year).contains(&y));
        if !year_like {
            continue;
        }
        if let Some(next) = parts.get(i + 1) {
            if let Ok(period) = format!("{part}-{next}").parse() {
                return Some(period);
            }
        }
        bare = part.parse().ok().or(bare);
    }
    bare
}

impl TryFrom<String> for Period {
    type Error = PeriodError;
    fn try_from(text: String) -> Result<Period, PeriodError> {
        text.parse()
    }
}

impl From<Period> for String {
    fn from(period: Period) -> String {
        period.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_with_a_midnight_time_are_dates_and_other_times_are_shown() {
        use super::{parse_date, DateError};
        use time::macros::date;
        for text in [
            "2022-08-06 00:00:00",
            "2022-08-06T00:00",
            "20220806 00:00:00.000",
            " 2022-08-06 00:00 ",
        ] {
            assert_eq!(parse_date(text), Ok(date!(2022 - 08 - 06)), "{text}");
        }
        let error = parse_date("2022-08-06 13:45:00").unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"2022-08-06 13:45:00\" has a time of day: write the date alone, 2022-08-06"
        );
        assert!(matches!(
            parse_date("2022-02-30 00:00:00"),
            Err(DateError::NoSuchDay { .. })
        ));
        // Anything else that is not a date is still withheld when it could be a
        // personnummer.
        let error = parse_date("19980731-9935").unwrap_err();
        assert!(!error.to_string().contains("9935"), "{error}");
        assert!(parse_date("2022-08-06 0:00").is_err());
    }

    #[test]
    fn closed_periods_and_periods_in_file_names() {
        use super::{period_in_name, PeriodKind};
        let today = time::macros::date!(2026 - 11 - 23);
        let closed = |k: PeriodKind| k.latest_closed(today).to_string();
        assert_eq!(closed(PeriodKind::Month), "2026-10-01..2026-10-31");
        assert_eq!(closed(PeriodKind::Quarter), "2026-07-01..2026-09-30");
        assert_eq!(closed(PeriodKind::Half), "2026-01-01..2026-06-30");
        assert_eq!(closed(PeriodKind::Year), "2025-01-01..2025-12-31");
        let jan = time::macros::date!(2026 - 01 - 01);
        assert_eq!(
            PeriodKind::Quarter.latest_closed(jan).to_string(),
            "2025-10-01..2025-12-31"
        );
        let named = |n: &str| period_in_name(n, 2026).map(|p| p.to_string());
        assert_eq!(
            named("ung-2180-2025-Q3.csv").as_deref(),
            Some("2025-07-01..2025-09-30")
        );
        assert_eq!(
            named("2021-2025-Q3.csv").as_deref(),
            Some("2025-07-01..2025-09-30"),
            "Vansbro's code is not a year"
        );
        assert_eq!(
            named("2080_export_2025.xlsx").as_deref(),
            Some("2025-01-01..2025-12-31")
        );
        assert_eq!(
            named("export 2025-07.csv").as_deref(),
            Some("2025-07-01..2025-07-31")
        );
        assert_eq!(named("export.csv"), None);
    }

    use super::*;
    use time::macros::date;

    #[test]
    fn shorthands() {
        let p = |s: &str| s.parse::<Period>().unwrap().to_string();
        assert_eq!(p("2025"), "2025-01-01..2025-12-31");
        assert_eq!(p("2025-H1"), "2025-01-01..2025-06-30");
        assert_eq!(p("2025-q3"), "2025-07-01..2025-09-30");
        assert_eq!(p("2024-02"), "2024-02-01..2024-02-29");
        assert_eq!(p("2023-09-01..2026-08-31"), "2023-09-01..2026-08-31");
        assert!("2025-13".parse::<Period>().is_err());
        assert!("2025-Q5".parse::<Period>().is_err());
        assert!(matches!(
            "2025-02-01..2025-01-01".parse::<Period>(),
            Err(PeriodError::Reversed { .. })
        ));
    }

    #[test]
    fn dates_in_both_forms() {
        assert_eq!(parse_date("2024-03-05").unwrap(), date!(2024 - 03 - 05));
        assert_eq!(parse_date("20240305").unwrap(), date!(2024 - 03 - 05));
        assert!(matches!(
            parse_date("2024-02-30"),
            Err(DateError::NoSuchDay { .. })
        ));
        assert!(matches!(
            parse_date("5/3/2024"),
            Err(DateError::Format { .. })
        ));
    }

    #[test]
    fn months_and_activity() {
        let period: Period = "2025-H1".parse().unwrap();
        assert_eq!(period.months().len(), 6);
        assert!(period.is_active(date!(2024 - 01 - 01), None));
        assert!(!period.is_active(date!(2024 - 01 - 01), Some(date!(2024 - 12 - 31))));
        assert_eq!(
            period.active_months(date!(2025 - 02 - 10), Some(date!(2025 - 04 - 01))),
            1..=3
        );
        assert_eq!(period.active_months(date!(2024 - 02 - 10), None), 0..=5);
        assert_eq!(
            whole_months_between(date!(2025 - 01 - 31), date!(2025 - 04 - 30)),
            2
        );
        assert_eq!(
            whole_months_between(date!(2025 - 01 - 15), date!(2025 - 04 - 15)),
            3
        );
    }
}
