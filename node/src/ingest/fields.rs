//! Columns to fields, and a row's fields to a [`ParticipantRecord`].

use std::fmt;
use std::path::Path;

use samla_common::codes::{
    parse_flag_value, Education, EntryStatus, Flag, Gender, Outcome, ProjectCode,
};
use samla_common::period::{parse_date, DateError};
use samla_common::personnummer::{Personnummer, PersonnummerError};
use samla_common::record::{FlagSet, ParticipantRecord, RecordError, RecordFields};
use samla_common::text::shown;

use super::rows::RowView;
use super::{IngestError, IngestSettings};

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

/// Every field with its English and Swedish header.
const HEADERS: &[(Field, &str, &str)] = &[
    (Field::Personnummer, "personal_id", "personnummer"),
    (Field::Project, "project", "projekt"),
    (Field::StartDate, "start_date", "startdatum"),
    (Field::EndDate, "end_date", "slutdatum"),
    (Field::Outcome, "outcome", "utfall"),
    (Field::Gender, "gender", "kön"),
    (
        Field::Flag(Flag::ForeignBorn),
        "foreign_born",
        "utrikesfödd",
    ),
    (Field::Flag(Flag::NewlyArrived), "newly_arrived", "nyanländ"),
    (
        Field::Flag(Flag::Disability),
        "disability",
        "funktionsnedsättning",
    ),
    (
        Field::Flag(Flag::IncompleteSchool),
        "incomplete_school",
        "ofullständig skolgång",
    ),
    (
        Field::Flag(Flag::MentalHealth),
        "mental_health",
        "psykisk ohälsa",
    ),
    (Field::Flag(Flag::Kaa), "kaa", "kaa"),
    (
        Field::Flag(Flag::LongTermUnemployed),
        "long_term_unemployed",
        "långtidsarbetslös",
    ),
    (
        Field::StatusAtEntry,
        "status_at_entry",
        "status vid inskrivning",
    ),
    (Field::Education, "education", "utbildningsnivå"),
];

impl Field {
    /// Parses a field name as used in the node config's `[columns]`: the English header.
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

    /// The field a standard header (English or Swedish) names.
    fn from_header(header: &str) -> Option<Field> {
        let header = header.trim().to_lowercase();
        HEADERS
            .iter()
            .find(|(_, en, sv)| header == *en || header == *sv)
            .map(|(f, _, _)| *f)
    }

    fn headers(self) -> String {
        HEADERS
            .iter()
            .filter(|(f, _, _)| *f == self)
            .map(|(_, en, sv)| format!("{en}, {sv}"))
            .collect()
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

/// Why a row was rejected. Values are shown only through [`shown`], which withholds
/// anything that could be a personnummer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowError {
    /// The row has more or fewer fields than the header.
    #[error("row has {found} fields but the header has {expected}; check for a stray delimiter or a missing quote")]
    FieldCount {
        /// Fields in the row.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// The row is longer than any real row.
    #[error("row is {bytes} bytes, more than the limit of {limit}; the file may be damaged or a quote left open")]
    TooLong {
        /// The row's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A required value is empty.
    #[error("{field} is empty but required")]
    Missing {
        /// The field.
        field: Field,
    },
    /// The personnummer is not valid.
    #[error("{0}")]
    Personnummer(PersonnummerError),
    /// A date is not valid.
    #[error("{field}: {error}")]
    Date {
        /// The field.
        field: Field,
        /// What is wrong.
        error: DateError,
    },
    /// The project is not one of the config's.
    #[error("project {found:?} is not in the node config (known: {known})")]
    UnknownProject {
        /// The value, as shown.
        found: String,
        /// The configured codes.
        known: String,
    },
    /// A value is not in the field's vocabulary.
    #[error("{field} {found:?} is not understood (accepted: {accepted})")]
    Vocabulary {
        /// The field.
        field: Field,
        /// The value, as shown.
        found: String,
        /// The accepted spellings.
        accepted: String,
    },
    /// The fields do not fit together.
    #[error("{0}")]
    Record(RecordError),
    /// A field could not be read as text.
    #[error("field could not be read: {0}")]
    Unreadable(String),
}

impl RowError {
    /// A short name for the kind of problem, for counting in summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            RowError::FieldCount { .. } => "wrong number of fields",
            RowError::TooLong { .. } => "row too long",
            RowError::Missing {
                field: Field::Personnummer,
            } => "personnummer missing",
            RowError::Missing {
                field: Field::StartDate,
            } => "start date missing",
            RowError::Missing {
                field: Field::Project,
            } => "project missing",
            RowError::Missing { .. } => "required value missing",
            RowError::Personnummer(PersonnummerError::CheckDigit) => {
                "personnummer check digit wrong"
            }
            RowError::Personnummer(PersonnummerError::BirthDate) => {
                "personnummer birth date impossible"
            }
            RowError::Personnummer(_) => "personnummer malformed",
            RowError::Date {
                error: DateError::NoSuchDay { .. },
                ..
            } => "impossible date",
            RowError::Date { .. } => "date malformed",
            RowError::UnknownProject { .. } => "unknown project",
            RowError::Vocabulary {
                field: Field::Outcome,
                ..
            } => "unknown outcome",
            RowError::Vocabulary {
                field: Field::Gender,
                ..
            } => "unknown gender",
            RowError::Vocabulary {
                field: Field::Flag(_),
                ..
            } => "flag not yes/no",
            RowError::Vocabulary { .. } => "unknown code",
            RowError::Record(RecordError::EndBeforeStart) => "end before start",
            RowError::Record(RecordError::EndWithoutOutcome) => "ended without outcome",
            RowError::Record(RecordError::OutcomeWithoutEnd) => "outcome without end date",
            RowError::Unreadable(_) => "unreadable field",
        }
    }
}

/// Where each field's column is.
#[derive(Debug, Default)]
struct Layout {
    personnummer: usize,
    project: Option<usize>,
    start: usize,
    end: Option<usize>,
    outcome: Option<usize>,
    gender: Option<usize>,
    flags: Vec<(Flag, usize)>,
    status_at_entry: Option<usize>,
    education: Option<usize>,
}

/// Turns rows of one file into records.
pub(super) struct RecordReader {
    layout: Layout,
    /// Which columns are read at all.
    wanted: Vec<bool>,
    /// The project of a file without a project column (a single-project config).
    default_project: Option<ProjectCode>,
    projects: Vec<ProjectCode>,
    known_projects: String,
    reference: time::Date,
}

/// A rejected row: the column at fault, if one is, and why.
pub(super) type Refusal = (Option<usize>, RowError);

impl RecordReader {
    pub(super) fn new(
        path: &Path,
        headers: &[String],
        settings: &IngestSettings,
    ) -> Result<RecordReader, IngestError> {
        let mut by_field: Vec<(Field, usize)> = Vec::new();
        for (i, header) in headers.iter().enumerate() {
            let key = header.trim().to_lowercase();
            let Some(field) = settings
                .columns
                .get(&key)
                .copied()
                .or_else(|| Field::from_header(&key))
            else {
                continue;
            };
            if let Some((_, first)) = by_field.iter().find(|(f, _)| *f == field) {
                return Err(IngestError::DuplicateColumn {
                    path: path.to_owned(),
                    field,
                    first: format!("{} ({:?})", first + 1, headers[*first]),
                    second: format!("{} ({:?})", i + 1, header),
                });
            }
            by_field.push((field, i));
        }
        let find = |field: Field| by_field.iter().find(|(f, _)| *f == field).map(|(_, i)| *i);
        let require = |field: Field| {
            find(field).ok_or_else(|| IngestError::MissingColumn {
                path: path.to_owned(),
                field,
                accepted: field.headers(),
            })
        };
        let single_project = match settings.projects.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        };
        let layout = Layout {
            personnummer: require(Field::Personnummer)?,
            project: match (find(Field::Project), &single_project) {
                (None, None) => Some(require(Field::Project)?),
                (column, _) => column,
            },
            start: require(Field::StartDate)?,
            end: find(Field::EndDate),
            outcome: find(Field::Outcome),
            gender: find(Field::Gender),
            flags: by_field
                .iter()
                .filter_map(|(f, i)| match f {
                    Field::Flag(flag) => Some((*flag, *i)),
                    _ => None,
                })
                .collect(),
            status_at_entry: find(Field::StatusAtEntry),
            education: find(Field::Education),
        };
        let mut wanted = vec![false; headers.len()];
        for (_, i) in &by_field {
            wanted[*i] = true;
        }
        Ok(RecordReader {
            layout,
            wanted,
            default_project: single_project,
            projects: settings.projects.clone(),
            known_projects: settings
                .projects
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            reference: settings.reference_date,
        })
    }

    /// The headers of the columns that are not read.
    pub(super) fn dropped_columns(&self, headers: &[String]) -> Vec<String> {
        headers
            .iter()
            .zip(&self.wanted)
            .filter(|(_, w)| !**w)
            .map(|(h, _)| {
                if h.trim().is_empty() {
                    "(no header)".to_owned()
                } else {
                    h.clone()
                }
            })
            .collect()
    }

    /// Builds a record from a row's fields (unread columns are empty strings).
    pub(super) fn record(&self, row: &RowView<'_>) -> Result<ParticipantRecord, Refusal> {
        let l = &self.layout;
        let text = |i: usize| row.text(i);
        let required = |i: usize, field: Field| {
            let value = text(i);
            if value.is_empty() {
                Err((Some(i), RowError::Missing { field }))
            } else {
                Ok(value)
            }
        };
        let personnummer = Personnummer::parse(
            &required(l.personnummer, Field::Personnummer)?,
            self.reference,
        )
        .map_err(|e| (Some(l.personnummer), RowError::Personnummer(e)))?;
        let project = match l.project {
            Some(i) => self
                .project(&required(i, Field::Project)?)
                .map_err(|e| (Some(i), e))?,
            None => self.default_project.clone().ok_or((
                None,
                RowError::Missing {
                    field: Field::Project,
                },
            ))?,
        };
        let date = |i: usize, field: Field| {
            parse_date(&text(i)).map_err(|error| (Some(i), RowError::Date { field, error }))
        };
        let start = date(
            required(l.start, Field::StartDate).map(|_| l.start)?,
            Field::StartDate,
        )?;
        let optional = |column: Option<usize>| column.filter(|i| !text(*i).is_empty());
        let end = optional(l.end)
            .map(|i| date(i, Field::EndDate))
            .transpose()?;
        let outcome = optional(l.outcome)
            .map(|i| {
                vocabulary(&text(i), Field::Outcome, Outcome::parse, Outcome::spellings)
                    .map_err(|e| (Some(i), e))
            })
            .transpose()?;
        let gender = optional(l.gender)
            .map(|i| {
                vocabulary(&text(i), Field::Gender, Gender::parse, Gender::spellings)
                    .map_err(|e| (Some(i), e))
            })
            .transpose()?;
        let mut flags = FlagSet::default();
        for &(flag, i) in &l.flags {
            match parse_flag_value(&text(i)) {
                Some(true) => flags.insert(flag),
                Some(false) => {}
                None => {
                    return Err((
                        Some(i),
                        RowError::Vocabulary {
                            field: Field::Flag(flag),
                            found: shown(&text(i)),
                            accepted: "ja/nej, yes/no, 1/0, true/false, x/empty".to_owned(),
                        },
                    ))
                }
            }
        }
        let status_at_entry = optional(l.status_at_entry)
            .map(|i| {
                vocabulary(
                    &text(i),
                    Field::StatusAtEntry,
                    EntryStatus::parse,
                    EntryStatus::spellings,
                )
                .map_err(|e| (Some(i), e))
            })
            .transpose()?;
        let education = optional(l.education)
            .map(|i| {
                vocabulary(
                    &text(i),
                    Field::Education,
                    Education::parse,
                    Education::spellings,
                )
                .map_err(|e| (Some(i), e))
            })
            .transpose()?;
        let fault_column = match l.end {
            Some(i) => Some(i),
            None => l.outcome,
        };
        ParticipantRecord::new(RecordFields {
            personnummer,
            project,
            start,
            end,
            outcome,
            gender,
            flags,
            status_at_entry,
            education,
        })
        .map_err(|e| {
            let column = match e {
                RecordError::OutcomeWithoutEnd | RecordError::EndWithoutOutcome => {
                    l.outcome.or(fault_column)
                }
                RecordError::EndBeforeStart => fault_column,
            };
            (column, RowError::Record(e))
        })
    }

    fn project(&self, value: &str) -> Result<ProjectCode, RowError> {
        self.projects
            .iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(value))
            .cloned()
            .ok_or_else(|| RowError::UnknownProject {
                found: shown(value),
                known: self.known_projects.clone(),
            })
    }
}

fn vocabulary<T>(
    value: &str,
    field: Field,
    parse: fn(&str) -> Option<T>,
    accepted: fn() -> String,
) -> Result<T, RowError> {
    parse(value).ok_or_else(|| RowError::Vocabulary {
        field,
        found: shown(value),
        accepted: accepted(),
    })
}
