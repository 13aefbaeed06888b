//! The closed vocabularies of the record model (DESIGN.md §3) and their spellings.
//!
//! Each vocabulary is an enum with a stable code (used in submissions, tables and
//! reports) and the spellings that exports may use, Swedish and English, matched
//! case-insensitively after trimming. Also the two identifiers every submission
//! carries: [`KommunCode`] and [`ProjectCode`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::text::shown;

/// Defines a vocabulary: variants, their codes, accepted spellings, and `ALL`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant, )+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The stable code used in submissions and tables.
            pub fn code(self) -> &'static str {
                match self { $( $name::$variant => $code, )+ }
            }

            /// Position in [`Self::ALL`], for dense table indexing.
            pub fn index(self) -> usize {
                self as usize
            }

            /// Parses a code or any accepted spelling, case-insensitively.
            pub fn parse(text: &str) -> Option<$name> {
                let text = crate::text::trim(text);
                $(
                    if text.eq_ignore_ascii_case($code) $(|| eq_ignore_case(text, $alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// The accepted spellings, for error messages.
            pub fn spellings() -> String {
                [$( concat!($code $(, ", ", $alias)*) ),+].join("; ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

/// Case-insensitive comparison that also folds Swedish letters (å, ä, ö).
fn eq_ignore_case(text: &str, spelling: &str) -> bool {
    if text.is_ascii() {
        return text.eq_ignore_ascii_case(spelling);
    }
    text.chars()
        .flat_map(char::to_lowercase)
        .eq(spelling.chars().flat_map(char::to_lowercase))
}

vocabulary! {
    /// Gender as ESF+ reports it.
    Gender {
        /// Woman (`K`, kvinna).
        Woman = "K" | "kvinna" | "woman" | "female" | "f",
        /// Man (`M`, man).
        Man = "M" | "man" | "male",
        /// Non-binary or other (`X`, annat).
        Other = "X" | "annat" | "non-binary" | "nonbinary" | "other",
    }
}

vocabulary! {
    /// Age on the start date, in bands that nest into the ESF+ and youth ranges.
    AgeBand {
        /// 17 or younger.
        UpTo17 = "-17",
        /// 18 or 19.
        From18To19 = "18-19",
        /// 20 to 24.
        From20To24 = "20-24",
        /// 25 to 29.
        From25To29 = "25-29",
        /// 30 to 54.
        From30To54 = "30-54",
        /// 55 or older.
        From55 = "55-",
    }
}

impl AgeBand {
    /// The band an age in whole years falls in.
    pub fn of_age(age: u32) -> AgeBand {
        match age {
            0..=17 => AgeBand::UpTo17,
            18..=19 => AgeBand::From18To19,
            20..=24 => AgeBand::From20To24,
            25..=29 => AgeBand::From25To29,
            30..=54 => AgeBand::From30To54,
            _ => AgeBand::From55,
        }
    }
}

vocabulary! {
    /// What a participant went on to when their participation ended.
    Outcome {
        /// Work, including self-employment.
        Work = "work" | "arbete" | "anställning" | "egen företagare",
        /// Studies.
        Studies = "studies" | "studier" | "studerar" | "utbildning",
        /// Job seeking.
        JobSeeking = "job_seeking" | "arbetssökande" | "job seeking",
        /// Another activity closer to the labour market (internship, rehabilitation, …).
        OtherActivity = "other_activity" | "annan insats" | "other activity",
        /// Dropped out.
        Dropout = "dropout" | "avbrott",
        /// Not known.
        Unknown = "unknown" | "okänt" | "okand" | "okänd",
    }
}

vocabulary! {
    /// Background flags, each true or false per participant.
    Flag {
        /// Born abroad.
        ForeignBorn = "foreign_born" | "utrikesfödd",
        /// Newly arrived.
        NewlyArrived = "newly_arrived" | "nyanländ",
        /// Has a disability.
        Disability = "disability" | "funktionsnedsättning",
        /// Incomplete schooling.
        IncompleteSchool = "incomplete_school" | "ofullständig skolgång",
        /// Mental ill-health.
        MentalHealth = "mental_health" | "psykisk ohälsa",
        /// In the kommun's activity responsibility (kommunala aktivitetsansvaret).
        Kaa = "kaa",
        /// Long-term unemployed.
        LongTermUnemployed = "long_term_unemployed" | "långtidsarbetslös",
    }
}

vocabulary! {
    /// ESF+ labour-market status at entry. `unknown` stands for an empty field.
    EntryStatus {
        /// Unemployed.
        Unemployed = "unemployed" | "arbetslös",
        /// Long-term unemployed.
        LongTermUnemployed = "long_term_unemployed" | "långtidsarbetslös",
        /// Inactive (neither working nor seeking work).
        Inactive = "inactive" | "inaktiv",
        /// Employed.
        Employed = "employed" | "anställd",
        /// Not stated in the export.
        Unknown = "unknown" | "okänt",
    }
}

vocabulary! {
    /// ESF+ education level at entry (ISCED). `unknown` stands for an empty field.
    Education {
        /// ISCED 0–2: primary or lower secondary.
        Isced0To2 = "isced_0_2" | "förgymnasial",
        /// ISCED 3–4: upper secondary.
        Isced3To4 = "isced_3_4" | "gymnasial",
        /// ISCED 5–8: tertiary.
        Isced5To8 = "isced_5_8" | "eftergymnasial",
        /// Not stated in the export.
        Unknown = "unknown" | "okänt",
    }
}

vocabulary! {
    /// Length of a participation, in whole calendar months from start to end.
    DurationBand {
        /// Less than 3 months.
        Under3 = "0-3",
        /// 3 to less than 6 months.
        From3To6 = "3-6",
        /// 6 to less than 12 months.
        From6To12 = "6-12",
        /// 12 to less than 24 months.
        From12To24 = "12-24",
        /// 24 months or more.
        From24 = "24-",
    }
}

impl DurationBand {
    /// The band a duration in whole months falls in.
    pub fn of_months(months: u32) -> DurationBand {
        match months {
            0..=2 => DurationBand::Under3,
            3..=5 => DurationBand::From3To6,
            6..=11 => DurationBand::From6To12,
            12..=23 => DurationBand::From12To24,
            _ => DurationBand::From24,
        }
    }
}

/// Parses a yes/no cell: `ja`/`nej`, `yes`/`no`, `1`/`0`, `true`/`false`, `x`/empty.
pub fn parse_flag_value(text: &str) -> Option<bool> {
    let text = crate::text::trim(text);
    const YES: [&str; 6] = ["ja", "yes", "1", "true", "x", "j"];
    const NO: [&str; 6] = ["", "nej", "no", "0", "false", "n"];
    if YES.iter().any(|y| text.eq_ignore_ascii_case(y)) {
        Some(true)
    } else if NO.iter().any(|n| text.eq_ignore_ascii_case(n)) {
        Some(false)
    } else {
        None
    }
}

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// A kommun code is not four ASCII digits.
    #[error("kommun code {found:?} is not four digits (SCB code, e.g. 2180 for Gävle)")]
    Kommun {
        /// The text given.
        found: String,
    },
    /// A project code is empty, too long, or has characters outside `A-Z a-z 0-9 _ -`.
    #[error("project code {found:?} must be 1 to 32 characters of A-Z, a-z, 0-9, `_` or `-`")]
    Project {
        /// The text given.
        found: String,
    },
}

/// A kommun's four-digit SCB code, e.g. `2180` (Gävle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KommunCode([u8; 4]);

/// Names of the kommuner of the seed regions (DESIGN.md §1), by SCB code. Reports
/// show other kommuner by code.
const KOMMUN_NAMES: &[(&str, &str)] = &[
    ("0760", "Uppvidinge"),
    ("0761", "Lessebo"),
    ("0763", "Tingsryd"),
    ("0764", "Alvesta"),
    ("0765", "Älmhult"),
    ("0767", "Markaryd"),
    ("0780", "Växjö"),
    ("0781", "Ljungby"),
    ("2101", "Ockelbo"),
    ("2104", "Hofors"),
    ("2121", "Ovanåker"),
    ("2132", "Nordanstig"),
    ("2161", "Ljusdal"),
    ("2180", "Gävle"),
    ("2181", "Sandviken"),
    ("2182", "Söderhamn"),
    ("2183", "Bollnäs"),
    ("2184", "Hudiksvall"),
    ("2303", "Ragunda"),
    ("2305", "Bräcke"),
    ("2309", "Krokom"),
    ("2313", "Strömsund"),
    ("2321", "Åre"),
    ("2326", "Berg"),
    ("2361", "Härjedalen"),
    ("2380", "Östersund"),
];

impl KommunCode {
    /// The kommun's name, for the kommuner of the seed regions.
    pub fn name(&self) -> Option<&'static str> {
        KOMMUN_NAMES
            .binary_search_by_key(&self.as_str(), |(code, _)| code)
            .ok()
            .map(|i| KOMMUN_NAMES[i].1)
    }

    /// The name if known, else the code.
    pub fn label(&self) -> String {
        self.name()
            .map_or_else(|| self.as_str().to_owned(), str::to_owned)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Four ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or("0000")
    }
}

impl FromStr for KommunCode {
    type Err = CodeError;
    fn from_str(text: &str) -> Result<Self, CodeError> {
        let bytes = text.as_bytes();
        match <[u8; 4]>::try_from(bytes) {
            Ok(code) if code.iter().all(u8::is_ascii_digit) => Ok(KommunCode(code)),
            _ => Err(CodeError::Kommun { found: shown(text) }),
        }
    }
}

impl TryFrom<String> for KommunCode {
    type Error = CodeError;
    fn try_from(text: String) -> Result<Self, CodeError> {
        text.parse()
    }
}

impl From<KommunCode> for String {
    fn from(code: KommunCode) -> String {
        code.as_str().to_owned()
    }
}

impl fmt::Display for KommunCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A project's code as the region defines it in the configs, e.g. `UNG`.
///
/// Shared, so that every record can name its project without an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectCode(Arc<str>);

impl ProjectCode {
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProjectCode {
    type Err = CodeError;
    fn from_str(text: &str) -> Result<Self, CodeError> {
        let ok = (1..=32).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(ProjectCode(Arc::from(text)))
        } else {
            Err(CodeError::Project { found: shown(text) })
        }
    }
}

impl TryFrom<String> for ProjectCode {
    type Error = CodeError;
    fn try_from(text: String) -> Result<Self, CodeError> {
        text.parse()
    }
}

impl From<ProjectCode> for String {
    fn from(code: ProjectCode) -> String {
        code.0.as_ref().to_owned()
    }
}

impl fmt::Display for ProjectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_and_english_spellings_parse() {
        assert_eq!(Outcome::parse("Arbetssökande"), Some(Outcome::JobSeeking));
        assert_eq!(
            Outcome::parse(" ANNAN INSATS "),
            Some(Outcome::OtherActivity)
        );
        assert_eq!(Outcome::parse("OKÄNT"), Some(Outcome::Unknown));
        assert_eq!(Outcome::parse("work"), Some(Outcome::Work));
        assert_eq!(Outcome::parse("pension"), None);
        assert_eq!(Gender::parse("kvinna"), Some(Gender::Woman));
        assert_eq!(Gender::parse("x"), Some(Gender::Other));
        assert_eq!(Flag::parse("Utrikesfödd"), Some(Flag::ForeignBorn));
        assert_eq!(
            EntryStatus::parse("långtidsarbetslös"),
            Some(EntryStatus::LongTermUnemployed)
        );
        assert_eq!(
            Education::parse("Eftergymnasial"),
            Some(Education::Isced5To8)
        );
        assert_eq!(parse_flag_value("X"), Some(true));
        assert_eq!(parse_flag_value(""), Some(false));
        assert_eq!(parse_flag_value("kanske"), None);
    }

    #[test]
    fn bands_have_the_documented_edges() {
        assert_eq!(AgeBand::of_age(17), AgeBand::UpTo17);
        assert_eq!(AgeBand::of_age(18), AgeBand::From18To19);
        assert_eq!(AgeBand::of_age(29), AgeBand::From25To29);
        assert_eq!(AgeBand::of_age(55), AgeBand::From55);
        assert_eq!(DurationBand::of_months(2), DurationBand::Under3);
        assert_eq!(DurationBand::of_months(3), DurationBand::From3To6);
        assert_eq!(DurationBand::of_months(24), DurationBand::From24);
    }

    #[test]
    fn identifiers_are_checked() {
        assert!("2180".parse::<KommunCode>().is_ok());
        assert!("218".parse::<KommunCode>().is_err());
        assert!("21a0".parse::<KommunCode>().is_err());
        assert!("UNG-2023".parse::<ProjectCode>().is_ok());
        assert!("UNG 2023".parse::<ProjectCode>().is_err());
        assert!("".parse::<ProjectCode>().is_err());
    }
}
