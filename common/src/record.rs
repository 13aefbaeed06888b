//! A participant record as the node reads it from an export (DESIGN.md §3).
//!
//! [`ParticipantRecord::new`] is the only way to build one, and it enforces the rules
//! between fields: the end is not before the start, and an outcome is given exactly
//! when the participation has ended. Names, addresses and any other column never get
//! this far.

use time::Date;

use crate::codes::{Education, EntryStatus, Flag, Gender, Outcome, ProjectCode};
use crate::personnummer::Personnummer;

/// A set of background flags, one bit per [`Flag`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FlagSet(u8);

impl FlagSet {
    /// Sets one flag.
    pub fn insert(&mut self, flag: Flag) {
        self.0 |= 1 << flag.index();
    }

    /// Whether a flag is set.
    pub fn contains(self, flag: Flag) -> bool {
        self.0 & (1 << flag.index()) != 0
    }

    /// The flags that are set, in code order.
    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL.iter().copied().filter(move |f| self.contains(*f))
    }
}

/// Why the fields of a record do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The end date is before the start date.
    #[error("end date is before start date")]
    EndBeforeStart,
    /// An outcome was given for a participation that has no end date.
    #[error("outcome given but no end date: an outcome belongs to an ended participation")]
    OutcomeWithoutEnd,
    /// An end date was given without an outcome.
    #[error(
        "end date given but no outcome: write the outcome, or okänt/unknown if it is not known"
    )]
    EndWithoutOutcome,
}

/// One participation of one person in one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRecord {
    /// The person.
    pub personnummer: Personnummer,
    /// The project.
    pub project: ProjectCode,
    /// First day of participation.
    pub start: Date,
    /// Last day, if ended.
    pub end: Option<Date>,
    /// What the person went on to, if ended.
    pub outcome: Option<Outcome>,
    /// Gender: from the export, or else from the personnummer.
    pub gender: Gender,
    /// Background flags.
    pub flags: FlagSet,
    /// ESF+ status at entry.
    pub status_at_entry: EntryStatus,
    /// ESF+ education level at entry.
    pub education: Education,
}

/// The fields of a record before their rules are checked.
#[derive(Debug, Clone)]
pub struct RecordFields {
    /// The person.
    pub personnummer: Personnummer,
    /// The project.
    pub project: ProjectCode,
    /// First day of participation.
    pub start: Date,
    /// Last day, if ended.
    pub end: Option<Date>,
    /// What the person went on to, if ended.
    pub outcome: Option<Outcome>,
    /// Gender from the export, if given.
    pub gender: Option<Gender>,
    /// Background flags.
    pub flags: FlagSet,
    /// ESF+ status at entry, if given.
    pub status_at_entry: Option<EntryStatus>,
    /// ESF+ education level at entry, if given.
    pub education: Option<Education>,
}

impl ParticipantRecord {
    /// Checks the rules between fields and fills in defaults.
    pub fn new(fields: RecordFields) -> Result<ParticipantRecord, RecordError> {
        match (fields.end, fields.outcome) {
            (Some(end), _) if end < fields.start => return Err(RecordError::EndBeforeStart),
            (Some(_), None) => return Err(RecordError::EndWithoutOutcome),
            (None, Some(_)) => return Err(RecordError::OutcomeWithoutEnd),
            _ => {}
        }
        Ok(ParticipantRecord {
            gender: fields
                .gender
                .unwrap_or_else(|| fields.personnummer.gender()),
            personnummer: fields.personnummer,
            project: fields.project,
            start: fields.start,
            end: fields.end,
            outcome: fields.outcome,
            flags: fields.flags,
            status_at_entry: fields.status_at_entry.unwrap_or(EntryStatus::Unknown),
            education: fields.education.unwrap_or(Education::Unknown),
        })
    }

    /// Age in whole years on the start date.
    pub fn age_at_start(&self) -> u32 {
        self.personnummer.age_on(self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn fields() -> RecordFields {
        RecordFields {
            personnummer: Personnummer::parse("200503129884", date!(2026 - 01 - 01)).unwrap(),
            project: "UNG".parse().unwrap(),
            start: date!(2024 - 03 - 05),
            end: None,
            outcome: None,
            gender: None,
            flags: FlagSet::default(),
            status_at_entry: None,
            education: None,
        }
    }

    #[test]
    fn defaults_and_rules() {
        let record = ParticipantRecord::new(fields()).unwrap();
        assert_eq!(record.gender, Gender::Woman);
        assert_eq!(record.age_at_start(), 18);
        assert_eq!(record.status_at_entry, EntryStatus::Unknown);
        let mut f = fields();
        f.end = Some(date!(2024 - 03 - 04));
        f.outcome = Some(Outcome::Work);
        assert_eq!(ParticipantRecord::new(f), Err(RecordError::EndBeforeStart));
        let mut f = fields();
        f.end = Some(date!(2024 - 04 - 04));
        assert_eq!(
            ParticipantRecord::new(f),
            Err(RecordError::EndWithoutOutcome)
        );
        let mut f = fields();
        f.outcome = Some(Outcome::Work);
        assert_eq!(
            ParticipantRecord::new(f),
            Err(RecordError::OutcomeWithoutEnd)
        );
    }
}
