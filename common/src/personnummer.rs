//! Swedish personal identity numbers: personnummer and samordningsnummer (DESIGN.md §3).
//!
//! [`Personnummer::parse`] accepts the 10- and 12-digit written forms, with an optional
//! `-` or `+` separator, and yields one normal form of 12 ASCII digits `YYYYMMDDNNNC`.
//! A 10-digit form gets its century from a reference date that the caller passes in
//! (this module never reads the clock). The value never appears in `Debug` output or in
//! an error message: errors say what is wrong, not what was written.

use std::fmt;

use time::{Date, Month};

use crate::codes::Gender;

/// A valid personnummer or samordningsnummer in normal form `YYYYMMDDNNNC`.
///
/// `Debug` prints a redacted placeholder, and there is deliberately no `Display`:
/// use [`Personnummer::as_str`] where the digits are needed (pseudonymisation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Personnummer {
    digits: [u8; 12],
    birth_date: Date,
}

/// Why a written personnummer was refused. No variant carries the input itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonnummerError {
    /// The text is empty.
    #[error("personnummer is empty")]
    Empty,
    /// The text is not one of the accepted written forms.
    #[error(
        "personnummer has the wrong form ({found}): expected 10 or 12 digits, \
         optionally with `-` or `+` before the last four"
    )]
    Format {
        /// What was wrong with the form, without the digits themselves.
        found: &'static str,
    },
    /// The Luhn check digit does not match the other nine digits.
    #[error("personnummer check digit is wrong (Luhn check failed)")]
    CheckDigit,
    /// The birth date part is not a date (also after subtracting 60 from the day
    /// of a samordningsnummer).
    #[error("personnummer holds no valid birth date")]
    BirthDate,
    /// The birth number (digits 7–9 of the 10-digit form) is `000`, which is never issued.
    #[error("personnummer has birth number 000, which is never issued")]
    BirthNumber,
}

impl Personnummer {
    /// Parses a written personnummer or samordningsnummer.
    ///
    /// `reference` is the date used to choose the century of a 10-digit form: the birth
    /// date is the latest one not after `reference`, or, with the `+` separator, the
    /// latest one at least 100 years before it.
    pub fn parse(input: &str, reference: Date) -> Result<Self, PersonnummerError> {
        let text = crate::text::trim(input).as_bytes();
        if text.is_empty() {
            return Err(PersonnummerError::Empty);
        }
        let written = WrittenForm::split(text)?;
        let ten = written.ten_digits();
        if luhn_check_digit(&ten[..9]) != ten[9] - b'0' {
            return Err(PersonnummerError::CheckDigit);
        }
        if &ten[6..9] == b"000" {
            return Err(PersonnummerError::BirthNumber);
        }
        let (year, month, day) = written.birth_date(reference)?;
        let mut digits = [0u8; 12];
        let year_digits = u16::try_from(year).map_err(|_| PersonnummerError::BirthDate)?;
        if year_digits > 9999 {
            return Err(PersonnummerError::BirthDate);
        }
        for (i, place) in [1000, 100, 10, 1].into_iter().enumerate() {
            digits[i] = b'0' + (year_digits / place % 10) as u8;
        }
        digits[4..].copy_from_slice(&ten[2..]);
        let birth_date = calendar_date(year, month, day).ok_or(PersonnummerError::BirthDate)?;
        Ok(Personnummer { digits, birth_date })
    }

    /// The normal form, 12 ASCII digits `YYYYMMDDNNNC` (the day of a samordningsnummer
    /// keeps its +60).
    pub fn as_str(&self) -> &str {
        // The digits are ASCII by construction, so this never fails.
        std::str::from_utf8(&self.digits).unwrap_or("")
    }

    /// The normal form as bytes.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.digits
    }

    /// The birth date (for a samordningsnummer: with 60 taken off the day).
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// Whether this is a samordningsnummer (coordination number: day + 60).
    pub fn is_coordination_number(&self) -> bool {
        self.digits[6] >= b'6'
    }

    /// The legal gender the number encodes: odd birth-number digit is a man.
    pub fn gender(&self) -> Gender {
        if (self.digits[10] - b'0') % 2 == 1 {
            Gender::Man
        } else {
            Gender::Woman
        }
    }

    /// Age in whole years on `date` (0 if `date` is before the birth date).
    pub fn age_on(&self, date: Date) -> u32 {
        age_between(self.birth_date, date)
    }
}

impl fmt::Debug for Personnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Personnummer(<redacted>)")
    }
}

/// Whole years from `birth` to `date`, 0 if `date` comes first.
pub fn age_between(birth: Date, date: Date) -> u32 {
    let mut years = date.year() - birth.year();
    if (date.month() as u8, date.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// The Luhn check digit over the given ASCII digits (weights 2, 1, 2, … from the left).
pub fn luhn_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d - b'0') * if i % 2 == 0 { 2 } else { 1 };
            v / 10 + v % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// One of the accepted written forms, split into its parts.
struct WrittenForm<'a> {
    /// `Some(century digits)` for a 12-digit form.
    century: Option<&'a [u8]>,
    /// The 10 digits `YYMMDDNNNC`.
    ten: [u8; 10],
    /// Whether the separator was `+` (aged 100 or more).
    plus: bool,
}

impl<'a> WrittenForm<'a> {
    fn split(text: &'a [u8]) -> Result<Self, PersonnummerError> {
        let (date_part, separator, tail) = match text.len() {
            10 | 12 => (&text[..text.len() - 4], None, &text[text.len() - 4..]),
            11 | 13 => {
                let at = text.len() - 5;
                (&text[..at], Some(text[at]), &text[at + 1..])
            }
            _ => {
                return Err(PersonnummerError::Format {
                    found: "wrong number of characters",
                })
            }
        };
        if let Some(sep) = separator {
            if sep != b'-' && sep != b'+' {
                return Err(PersonnummerError::Format {
                    found: "separator is not `-` or `+`",
                });
            }
        }
        if !date_part.iter().chain(tail).all(u8::is_ascii_digit) {
            return Err(PersonnummerError::Format {
                found: "a character that is not a digit",
            });
        }
        let (century, short_date) = if date_part.len() == 8 {
            (Some(&date_part[..2]), &date_part[2..])
        } else {
            (None, date_part)
        };
        let mut ten = [0u8; 10];
        ten[..6].copy_from_slice(short_date);
        ten[6..].copy_from_slice(tail);
        Ok(WrittenForm {
            century,
            ten,
            plus: separator == Some(b'+'),
        })
    }

    fn ten_digits(&self) -> [u8; 10] {
        self.ten
    }

    /// Year, month and (real, not +60) day of birth.
    fn birth_date(&self, reference: Date) -> Result<(i32, u8, u8), PersonnummerError> {
        let two = |i: usize| i32::from(self.ten[i] - b'0') * 10 + i32::from(self.ten[i + 1] - b'0');
        let yy = two(0);
        let month = u8::try_from(two(2)).map_err(|_| PersonnummerError::BirthDate)?;
        let mut day = u8::try_from(two(4)).map_err(|_| PersonnummerError::BirthDate)?;
        if day > 60 {
            day -= 60;
        }
        let year = match self.century {
            Some(c) => (i32::from(c[0] - b'0') * 10 + i32::from(c[1] - b'0')) * 100 + yy,
            None => {
                let (latest_year, latest_md) = if self.plus {
                    (
                        reference.year() - 100,
                        (reference.month() as u8, reference.day()),
                    )
                } else {
                    (reference.year(), (reference.month() as u8, reference.day()))
                };
                let mut year = latest_year - (latest_year - yy).rem_euclid(100);
                if year == latest_year && (month, day) > latest_md {
                    year -= 100;
                }
                year
            }
        };
        calendar_date(year, month, day).ok_or(PersonnummerError::BirthDate)?;
        Ok((year, month, day))
    }
}

fn calendar_date(year: i32, month: u8, day: u8) -> Option<Date> {
    let month = Month::try_from(month).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const REF: Date = date!(2026 - 11 - 23);

    #[test]
    fn ten_and_twelve_digit_forms_agree() {
        let a = Personnummer::parse("199807319935", REF).unwrap();
        for form in [
            "9807319935",
            "980731-9935",
            "19980731-9935",
            " 980731-9935 ",
        ] {
            assert_eq!(Personnummer::parse(form, REF).unwrap(), a, "{form}");
        }
        assert_eq!(a.as_str(), "199807319935");
        assert_eq!(a.gender(), Gender::Man);
        assert_eq!(a.age_on(date!(2026 - 07 - 30)), 27);
        assert_eq!(a.age_on(date!(2026 - 07 - 31)), 28);
    }

    #[test]
    fn plus_separator_means_a_hundred_or_more() {
        let p = Personnummer::parse("090527+1474", REF).unwrap();
        assert_eq!(p.as_str(), "190905271474");
        let q = Personnummer::parse("0905271474", REF).unwrap();
        assert_eq!(q.as_str(), "200905271474");
    }

    #[test]
    fn century_never_puts_birth_after_reference() {
        // 2026-12-24 would be in the future on 2026-11-23, so it is 1926.
        let digits = format!("261224{}", "001");
        let check = luhn_check_digit(digits.as_bytes());
        let p = Personnummer::parse(&format!("{digits}{check}"), REF).unwrap();
        assert_eq!(&p.as_str()[..4], "1926");
    }

    #[test]
    fn coordination_number_keeps_its_day() {
        let p = Personnummer::parse("200701659955", REF).unwrap();
        assert!(p.is_coordination_number());
        assert_eq!(p.as_str(), "200701659955");
        assert_eq!(p.birth_date(), date!(2007 - 01 - 05));
    }

    #[test]
    fn refusals_name_the_reason_not_the_number() {
        assert_eq!(
            Personnummer::parse("199807319936", REF),
            Err(PersonnummerError::CheckDigit)
        );
        assert_eq!(
            Personnummer::parse("19090527 1474", REF),
            Err(PersonnummerError::Format {
                found: "separator is not `-` or `+`"
            })
        );
        assert_eq!(Personnummer::parse("", REF), Err(PersonnummerError::Empty));
        assert_eq!(
            Personnummer::parse("201509160006", REF),
            Err(PersonnummerError::BirthNumber)
        );
        let msg = Personnummer::parse("199807319936", REF)
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("9807319936"));
        assert_eq!(
            format!("{:?}", Personnummer::parse("199807319935", REF).unwrap()),
            "Personnummer(<redacted>)"
        );
    }
}
