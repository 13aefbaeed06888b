//! Personnummer and pseudonyms against the shared conformance list and as properties.

use proptest::prelude::*;
use samla_common::codes::Gender;
use samla_common::personnummer::{luhn_check_digit, Personnummer, PersonnummerError};
use samla_common::pseudonym::MasterSecret;
use serde::Deserialize;
use time::macros::date;
use time::Date;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
struct Entry {
    long_format: String,
    short_format: String,
    separated_format: String,
    separated_long: String,
    valid: bool,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "isMale")]
    is_male: bool,
    #[serde(rename = "isFemale")]
    is_female: bool,
}

fn meta_list() -> Vec<Entry> {
    let text = include_str!("data/personnummer-meta-list.json");
    serde_json::from_str(text).expect("the list is valid JSON")
}

/// Every entry of the list is judged as it says, in every written form. The list's
/// separated forms (`+` from age 100) hold for any reference date from late 2021
/// on, so one recent date serves for all forms.
#[test]
fn conformance_list_is_judged_as_it_says() {
    let entries = meta_list();
    assert!(entries.len() >= 14);
    let today = date!(2026 - 11 - 23);
    for e in &entries {
        let forms = [
            (&e.long_format, today),
            (&e.separated_long, today),
            (&e.short_format, today),
            (&e.separated_format, today),
        ];
        for (form, reference) in forms {
            let parsed = Personnummer::parse(form, reference);
            assert_eq!(
                parsed.is_ok(),
                e.valid,
                "{form} should be valid={}",
                e.valid
            );
            if let Ok(p) = parsed {
                assert_eq!(p.is_coordination_number(), e.kind == "con", "{form} type");
                assert_eq!(p.gender() == Gender::Man, e.is_male, "{form} gender");
                assert_eq!(p.gender() == Gender::Woman, e.is_female, "{form} gender");
            }
        }
        if e.valid {
            // The 12-digit forms and the separated 10-digit form name the same person.
            let long = Personnummer::parse(&e.long_format, today).unwrap();
            assert_eq!(long.as_str(), e.long_format);
            assert_eq!(Personnummer::parse(&e.separated_long, today).unwrap(), long);
            assert_eq!(
                Personnummer::parse(&e.separated_format, today).unwrap(),
                long
            );
        }
    }
}

/// A valid personnummer (12 digits) born on `birth`, with birth number `n` (1..=999).
fn make(birth: Date, n: u16, coordination: bool) -> String {
    let day = birth.day() + if coordination { 60 } else { 0 };
    let nine = format!(
        "{:02}{:02}{:02}{:03}",
        birth.year() % 100,
        birth.month() as u8,
        day,
        n
    );
    let check = luhn_check_digit(nine.as_bytes());
    format!("{}{nine}{check}", birth.year() / 100)
}

fn birth_dates() -> impl Strategy<Value = Date> {
    // 1900-03-01 .. 2026-11-23 as Julian days.
    (2_415_080i32..=2_461_368).prop_map(|jd| Date::from_julian_day(jd).expect("in the calendar"))
}

proptest! {
    /// Changing any one digit of the 10-digit Luhn form is caught by the check digit.
    #[test]
    fn any_single_digit_change_is_caught(
        birth in birth_dates(),
        n in 1u16..=999,
        coordination in any::<bool>(),
        position in 2usize..12,
        delta in 1u8..=9,
    ) {
        let reference = date!(2026 - 11 - 23);
        let good = make(birth, n, coordination);
        prop_assert!(Personnummer::parse(&good, reference).is_ok());
        let mut bytes = good.into_bytes();
        bytes[position] = b'0' + (bytes[position] - b'0' + delta) % 10;
        let bad = String::from_utf8(bytes).unwrap();
        prop_assert_eq!(Personnummer::parse(&bad, reference), Err(PersonnummerError::CheckDigit));
    }

    /// The 10- and 12-digit forms of one person give one normal form and one pseudonym.
    #[test]
    fn ten_and_twelve_digit_forms_give_one_pseudonym(
        birth in birth_dates(),
        n in 1u16..=999,
        coordination in any::<bool>(),
        key in any::<[u8; 32]>(),
    ) {
        let reference = date!(2026 - 11 - 23);
        let long = make(birth, n, coordination);
        let age = samla_common::personnummer::age_between(birth, reference);
        let separator = if age >= 100 { '+' } else { '-' };
        let short = format!("{}{separator}{}", &long[2..8], &long[8..]);
        let a = Personnummer::parse(&long, reference).unwrap();
        let b = Personnummer::parse(&short, reference).unwrap();
        prop_assert_eq!(a, b);
        prop_assert_eq!(a.birth_date(), birth);
        let master = MasterSecret::from_bytes(key);
        let domain = master.domain_key(&"gavleborg-ung-2023".parse().unwrap());
        prop_assert_eq!(domain.pseudonym(&a), domain.pseudonym(&b));
    }
}
