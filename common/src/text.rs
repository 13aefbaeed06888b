//! Text values read from exports: trimming them, and showing them in messages.
//!
//! Errors name what was found so the user can fix it, but a personnummer must never
//! reach a message, a log line or a reject report, even one typed into the wrong
//! column. [`shown`] withholds any value with ten or more digits and caps the length.

/// The longest value echoed in a message, in characters.
const MAX_SHOWN_CHARS: usize = 40;

/// The value as a message may show it: withheld if it could be an identity number,
/// shortened if long.
pub fn shown(value: &str) -> String {
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    if digits >= 10 {
        return format!("(a value with {digits} digits, not shown)");
    }
    let mut out: String = value.chars().take(MAX_SHOWN_CHARS).collect();
    if value.chars().count() > MAX_SHOWN_CHARS {
        out.push('…');
    }
    out
}

/// Trims whitespace from both ends: ASCII fast, Unicode (e.g. a no-break space from a
/// spreadsheet) when an end is not ASCII.
pub fn trim(value: &str) -> &str {
    let t = value.trim_ascii();
    let non_ascii_end = |b: Option<&u8>| b.is_some_and(|b| !b.is_ascii());
    if non_ascii_end(t.as_bytes().first()) || non_ascii_end(t.as_bytes().last()) {
        t.trim()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::{shown, trim};

    #[test]
    fn trims_ascii_and_unicode_space() {
        assert_eq!(trim("  ja\t"), "ja");
        assert_eq!(trim("\u{a0}ja\u{a0}"), "ja");
        assert_eq!(trim("åsa "), "åsa");
    }

    #[test]
    fn identity_numbers_are_withheld() {
        assert_eq!(shown("2024-02-30"), "2024-02-30");
        assert_eq!(
            shown("19980731-9935"),
            "(a value with 12 digits, not shown)"
        );
        assert_eq!(shown("980731-9935"), "(a value with 10 digits, not shown)");
        assert_eq!(shown(&"x".repeat(50)).chars().count(), 41);
    }
}
