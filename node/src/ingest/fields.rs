//! Columns to fields, and a row's fields to a [`ParticipantRecord`].

use std::path::Path;

use samla_common::codes::{
    parse_flag_value, Education, EntryStatus, Flag, Gender, Outcome, ProjectCode,
};
use samla_common::period::{parse_date, DateError};
use samla_common::personnummer::{Personnummer, PersonnummerError};
use samla_common::record::{FlagSet, ParticipantRecord, RecordError, RecordFields};
use samla_common::text::shown;

use super::headers::{resembles, Column, Field, HeaderWarning};
use super::rows::RowView;
use super::{IngestError, IngestSettings};

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
    /// Unread headers that look like a field.
    warnings: Vec<HeaderWarning>,
    /// Optional fields with no column.
    absent: Vec<Field>,
    /// The project of a file without a project column (a single-project config).
    default_project: Option<ProjectCode>,
    projects: Vec<ProjectCode>,
    known_projects: String,
    reference: time::Date,
}

/// A rejected row: the column at fault, if one is, and why.
pub(super) type Refusal = (Option<usize>, RowError);

impl RecordReader {
    /// Maps a file's headers (found at `header_at`) to fields. Every required field
    /// without a column is named at once, with the headers that look like one.
    pub(super) fn new(
        path: &Path,
        headers: &[String],
        header_at: String,
        settings: &IngestSettings,
    ) -> Result<RecordReader, IngestError> {
        let mut by_field: Vec<(Field, usize)> = Vec::new();
        let mut unmapped: Vec<usize> = Vec::new();
        for (i, header) in headers.iter().enumerate() {
            let key = header.trim().to_lowercase();
            let field = match settings.columns.get(&key) {
                Some(Column::Field(field)) => *field,
                Some(Column::Ignore) => continue,
                None => match Field::from_header(&key) {
                    Some(field) => field,
                    None => {
                        unmapped.push(i);
                        continue;
                    }
                },
            };
            if let Some((_, first)) = by_field.iter().find(|(f, _)| *f == field) {
                return Err(IngestError::DuplicateColumn {
                    path: path.to_owned(),
                    field,
                    first: format!("{} ({:?})", first + 1, shown(&headers[*first])),
                    second: format!("{} ({:?})", i + 1, shown(header)),
                });
            }
            by_field.push((field, i));
        }
        let find = |field: Field| by_field.iter().find(|(f, _)| *f == field).map(|(_, i)| *i);
        // Unread headers that look like a field no column holds: the closest one per
        // field is taken for it.
        let mut warnings: Vec<(HeaderWarning, usize)> = Vec::new();
        for &i in &unmapped {
            let Some((field, distance)) = resembles(&headers[i]) else {
                continue;
            };
            if find(field).is_some() {
                continue;
            }
            match warnings.iter_mut().find(|(w, _)| w.field == field) {
                Some(slot) if slot.1 <= distance => {}
                Some(slot) => *slot = (warning(i, &headers[i], field), distance),
                None => warnings.push((warning(i, &headers[i], field), distance)),
            }
        }
        let warnings: Vec<HeaderWarning> = warnings.into_iter().map(|(w, _)| w).collect();
        let single_project = match settings.projects.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        };
        let mut required = vec![Field::Personnummer, Field::StartDate];
        if single_project.is_none() {
            required.insert(1, Field::Project);
        }
        let missing: Vec<Field> = required
            .into_iter()
            .filter(|f| find(*f).is_none())
            .collect();
        let (Some(personnummer), Some(start), true) = (
            find(Field::Personnummer),
            find(Field::StartDate),
            missing.is_empty(),
        ) else {
            return Err(IngestError::missing_columns(
                path, header_at, headers, missing, &warnings,
            ));
        };
        let layout = Layout {
            personnummer,
            project: find(Field::Project),
            start,
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
        let absent = Field::all()
            .filter(|f| !matches!(f, Field::Personnummer | Field::Project | Field::StartDate))
            .filter(|f| find(*f).is_none())
            .collect();
        let mut wanted = vec![false; headers.len()];
        for (_, i) in &by_field {
            wanted[*i] = true;
        }
        Ok(RecordReader {
            layout,
            wanted,
            warnings,
            absent,
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

    /// Headers that are not read but look like a field no column holds.
    pub(super) fn header_warnings(&self) -> &[HeaderWarning] {
        &self.warnings
    }

    /// Optional fields that no column holds.
    pub(super) fn absent_fields(&self) -> &[Field] {
        &self.absent
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
                    shown(h)
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

fn warning(column: usize, header: &str, field: Field) -> HeaderWarning {
    HeaderWarning {
        column: column + 1,
        header: header.trim().to_owned(),
        field,
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
