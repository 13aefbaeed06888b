//! Column headers: which field a header names, and which headers only look like one.
//!
//! A header names a field when it is, case-insensitively after trimming, the field's
//! English or Swedish header (DESIGN.md §3) or a header the node config maps under
//! `[columns]`. A header that is not mapped but resembles a field that no column holds
//! (the same letters up to case, diacritics and spacing, a short edit distance, the
//! start of the header, or a known synonym such as `Utbildning`, `Kon`, `Resultat`,
//! `Personnr`) gets a [`HeaderWarning`] with the fix, so a renamed column is never
//! silently dropped. The same likeness finds the header row below title rows in a
//! spreadsheet.

use std::fmt;

use samla_common::codes::Flag;
use samla_common::text::shown;

/// A field of the record model that a column can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    /// The personnummer or samordningsnummer.
    Personnummer,
    /// The project code.
    Project,
    /// The start date.
    StartDate,
    /// The end date.
    EndDate,
    /// The outcome.
    Outcome,
    /// The gender.
    Gender,
    /// One background flag.
    Flag(Flag),
    /// ESF+ status at entry.
    StatusAtEntry,
    /// ESF+ education level.
    Education,
}

/// What the node config says a header is (`[columns]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// This field.
    Field(Field),
    /// Not a field: dropped without a warning, even if it looks like one.
    Ignore,
}

/// The word that maps a header to [`Column::Ignore`].
pub const IGNORE: &str = "ignore";

/// Every field with its English header and its Swedish header as written.
const HEADERS: &[(Field, &str, &str)] = &[
    (Field::Personnummer, "personal_id", "Personnummer"),
    (Field::Project, "project", "Projekt"),
    (Field::StartDate, "start_date", "Startdatum"),
    (Field::EndDate, "end_date", "Slutdatum"),
    (Field::Outcome, "outcome", "Utfall"),
    (Field::Gender, "gender", "Kön"),
    (
        Field::Flag(Flag::ForeignBorn),
        "foreign_born",
        "Utrikesfödd",
    ),
    (Field::Flag(Flag::NewlyArrived), "newly_arrived", "Nyanländ"),
    (
        Field::Flag(Flag::Disability),
        "disability",
        "Funktionsnedsättning",
    ),
    (
        Field::Flag(Flag::IncompleteSchool),
        "incomplete_school",
        "Ofullständig skolgång",
    ),
    (
        Field::Flag(Flag::MentalHealth),
        "mental_health",
        "Psykisk ohälsa",
    ),
    (Field::Flag(Flag::Kaa), "kaa", "KAA"),
    (
        Field::Flag(Flag::LongTermUnemployed),
        "long_term_unemployed",
        "Långtidsarbetslös",
    ),
    (
        Field::StatusAtEntry,
        "status_at_entry",
        "Status vid inskrivning",
    ),
    (Field::Education, "education", "Utbildningsnivå"),
];

/// Other names exports use for a field, normalised (see [`normalise`]).
const SYNONYMS: &[(&str, Field)] = &[
    ("personnr", Field::Personnummer),
    ("persnr", Field::Personnummer),
    ("pnr", Field::Personnummer),
    ("personid", Field::Personnummer),
    ("samordningsnummer", Field::Personnummer),
    ("personnummersamordningsnummer", Field::Personnummer),
    ("projektkod", Field::Project),
    ("projectcode", Field::Project),
    ("start", Field::StartDate),
    ("startdag", Field::StartDate),
    ("inskriven", Field::StartDate),
    ("inskrivning", Field::StartDate),
    ("inskrivningsdatum", Field::StartDate),
    ("slut", Field::EndDate),
    ("slutdag", Field::EndDate),
    ("utskriven", Field::EndDate),
    ("utskrivning", Field::EndDate),
    ("utskrivningsdatum", Field::EndDate),
    ("avslutad", Field::EndDate),
    ("avslutsdatum", Field::EndDate),
    ("resultat", Field::Outcome),
    ("result", Field::Outcome),
    ("avslutsorsak", Field::Outcome),
    ("orsak", Field::Outcome),
    ("statusvidavslut", Field::Outcome),
    ("sex", Field::Gender),
    ("juridisktkon", Field::Gender),
    ("konstillhorighet", Field::Gender),
    ("foddutomlands", Field::Flag(Flag::ForeignBorn)),
    ("utlandsfodd", Field::Flag(Flag::ForeignBorn)),
    ("nyanlanda", Field::Flag(Flag::NewlyArrived)),
    ("funktionshinder", Field::Flag(Flag::Disability)),
    ("funktionsvariation", Field::Flag(Flag::Disability)),
    ("ofullstandigabetyg", Field::Flag(Flag::IncompleteSchool)),
    ("kommunalaaktivitetsansvaret", Field::Flag(Flag::Kaa)),
    ("aktivitetsansvar", Field::Flag(Flag::Kaa)),
    (
        "langtidsarbetsloshet",
        Field::Flag(Flag::LongTermUnemployed),
    ),
    ("statusvidstart", Field::StatusAtEntry),
    ("inskrivningsstatus", Field::StatusAtEntry),
    ("arbetsmarknadsstatus", Field::StatusAtEntry),
    ("utbildning", Field::Education),
    ("isced", Field::Education),
    ("educationlevel", Field::Education),
    ("hogstautbildning", Field::Education),
];

impl Field {
    /// Parses a field name as used in the node config's `[columns]`: the English
    /// header (or `personnummer`).
    pub fn parse(name: &str) -> Option<Field> {
        let name = name.trim();
        HEADERS
            .iter()
            .find(|(_, en, _)| en.eq_ignore_ascii_case(name))
            .map(|(f, _, _)| *f)
            .or_else(|| {
                name.eq_ignore_ascii_case("personnummer")
                    .then_some(Field::Personnummer)
            })
    }

    /// The field names accepted in `[columns]`.
    pub fn names() -> String {
        HEADERS
            .iter()
            .map(|(_, en, _)| *en)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every field, in header order.
    pub fn all() -> impl Iterator<Item = Field> {
        HEADERS.iter().map(|(f, _, _)| *f)
    }

    /// The field a standard header (English or Swedish) names.
    pub(super) fn from_header(header: &str) -> Option<Field> {
        let header = header.trim().to_lowercase();
        HEADERS
            .iter()
            .find(|(_, en, sv)| header == *en || header == sv.to_lowercase())
            .map(|(f, _, _)| *f)
    }

    /// The field's Swedish header, as written.
    pub fn swedish(self) -> &'static str {
        HEADERS
            .iter()
            .find(|(f, _, _)| *f == self)
            .map_or("?", |(_, _, sv)| *sv)
    }

    /// Both headers, for messages: `start_date or Startdatum`.
    pub(super) fn headers(self) -> String {
        format!("{self} or {}", self.swedish())
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = HEADERS
            .iter()
            .find(|(field, _, _)| field == self)
            .map_or("?", |(_, en, _)| *en);
        f.write_str(name)
    }
}

impl Column {
    /// Parses a `[columns]` value: a field name, or `ignore`.
    pub fn parse(name: &str) -> Option<Column> {
        if name.trim().eq_ignore_ascii_case(IGNORE) {
            return Some(Column::Ignore);
        }
        Field::parse(name).map(Column::Field)
    }
}

/// A header that is not read but looks like a field no column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderWarning {
    /// The column number, from 1.
    pub column: usize,
    /// The header, as written.
    pub header: String,
    /// The field it looks like.
    pub field: Field,
}

impl HeaderWarning {
    /// The warning in English.
    pub fn in_english(&self) -> String {
        format!(
            "column {} `{}` looks like `{}` ({}): rename it, or add under [columns]: {} = \"{}\" (or \"{IGNORE}\" if it is something else)",
            self.column,
            self.header,
            self.field.swedish(),
            self.field,
            toml_key(&self.header),
            self.field
        )
    }
}

/// The warning in Swedish.
impl fmt::Display for HeaderWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kolumn {} `{}` liknar `{}` ({}): byt namn eller lägg till under [columns]: {} = \"{}\" (eller \"{IGNORE}\" om den är något annat)",
            self.column,
            self.header,
            self.field.swedish(),
            self.field,
            toml_key(&self.header),
            self.field
        )
    }
}

/// A header as a quoted TOML key.
fn toml_key(header: &str) -> String {
    let escaped: String = header
        .chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

/// Lowercase ASCII letters and digits only: diacritics folded (å, ä → a, ö → o, é →
/// e, ü → u), spaces, `_`, `-`, `.` and the like dropped.
pub(super) fn normalise(header: &str) -> String {
    header
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'å' | 'ä' | 'á' | 'à' | 'â' => Some('a'),
            'ö' | 'ø' | 'ó' | 'ò' | 'ô' => Some('o'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'ü' | 'ú' => Some('u'),
            _ => None,
        })
        .collect()
}

/// The field a header looks like, if any, and how far it is from it (0 for the same
/// letters or a known synonym). Headers that are a field's own are not asked about.
pub(super) fn resembles(header: &str) -> Option<(Field, usize)> {
    if shown(header) != header {
        return None;
    }
    let n = normalise(header);
    if n.len() < 3 {
        return None;
    }
    if let Some((_, field)) = SYNONYMS.iter().find(|(s, _)| *s == n) {
        return Some((*field, 0));
    }
    let mut best: Option<(Field, usize)> = None;
    for (field, en, sv) in HEADERS {
        for name in [normalise(en), normalise(sv)] {
            let Some(distance) = likeness(&n, &name) else {
                continue;
            };
            if best.is_none_or(|(_, d)| distance < d) {
                best = Some((*field, distance));
            }
        }
    }
    best
}

/// How far `header` is from `name` (both normalised), if close enough to be taken
/// for it: the same letters, an edit distance of 1 (2 for names of nine letters or
/// more), or the first two thirds or more of the name.
fn likeness(header: &str, name: &str) -> Option<usize> {
    if header == name {
        return Some(0);
    }
    if header.len() >= 6 && name.starts_with(header) && header.len() * 3 >= name.len() * 2 {
        return Some(1);
    }
    if header.len() < 4 {
        return None;
    }
    let allowed = if name.len() >= 9 { 2 } else { 1 };
    let distance = edit_distance(header, name, allowed)?;
    Some(distance)
}

/// The Levenshtein distance between two ASCII strings, if at most `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous.last().copied().filter(|d| *d <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misnamed_headers_are_taken_for_their_field() {
        let cases = [
            ("Utbildning", Field::Education),
            ("Kon", Field::Gender),
            ("KÖN", Field::Gender),
            ("Resultat", Field::Outcome),
            ("Personnr", Field::Personnummer),
            ("Start datum", Field::StartDate),
            ("start-date", Field::StartDate),
            ("Startdatun", Field::StartDate),
            ("Slutdatum ", Field::EndDate),
            ("Utrikes född", Field::Flag(Flag::ForeignBorn)),
            ("Funktionsnedsattning", Field::Flag(Flag::Disability)),
            ("Status vid inskrivn.", Field::StatusAtEntry),
            ("Ofullständig skolgang", Field::Flag(Flag::IncompleteSchool)),
        ];
        for (header, field) in cases {
            assert_eq!(resembles(header).map(|(f, _)| f), Some(field), "{header}");
        }
    }

    #[test]
    fn other_columns_are_not_taken_for_fields() {
        for header in [
            "Förnamn",
            "Efternamn",
            "Adress",
            "first_name",
            "last_name",
            "address",
            "Kommentar",
            "Handläggare",
            "Telefon",
            "Status",
            "Id",
            "Ort",
            "E-post",
            "Startdatum planerad",
            "19980731-9935",
        ] {
            assert_eq!(resembles(header), None, "{header}");
        }
    }

    #[test]
    fn the_fix_is_given_in_swedish_and_english() {
        let w = HeaderWarning {
            column: 4,
            header: "Utbildning".to_owned(),
            field: Field::Education,
        };
        assert_eq!(
            w.to_string(),
            "kolumn 4 `Utbildning` liknar `Utbildningsnivå` (education): byt namn eller lägg till under [columns]: \"Utbildning\" = \"education\" (eller \"ignore\" om den är något annat)"
        );
        assert_eq!(
            w.in_english(),
            "column 4 `Utbildning` looks like `Utbildningsnivå` (education): rename it, or add under [columns]: \"Utbildning\" = \"education\" (or \"ignore\" if it is something else)"
        );
        let quoted = HeaderWarning {
            column: 1,
            header: "Kön \"M/K\"".to_owned(),
            field: Field::Gender,
        };
        assert!(quoted
            .to_string()
            .contains("\"Kön \\\"M/K\\\"\" = \"gender\""));
    }

    #[test]
    fn edit_distances_are_bounded() {
        assert_eq!(edit_distance("startdatun", "startdatum", 2), Some(1));
        assert_eq!(edit_distance("kitten", "sitting", 3), Some(3));
        assert_eq!(edit_distance("kitten", "sitting", 2), None);
        assert_eq!(edit_distance("abc", "abcdef", 2), None);
    }
}
