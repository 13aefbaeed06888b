//! The ESF+ common indicators (Regulation (EU) 2021/1057, Annex I) from a project's
//! published regional tables: participants at entry by gender, age and labour-market
//! status and education, the target-group flags, and results upon leaving. Each
//! indicator is the regional sum of the schema cells docs/reports.md names, or `None`
//! when one of them is suppressed (the indicator could otherwise reveal it).

use serde::Serialize;

use crate::codes::{AgeBand, Education, EntryStatus, Flag, Gender, Outcome};
use crate::disclosure::regional::RegionalReport;
use crate::disclosure::TOTAL;
use crate::statistics::TableName;

/// Participants at entry by gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EsfParticipants {
    /// Everyone who started.
    pub total: Option<u64>,
    /// Women.
    pub women: Option<u64>,
    /// Men.
    pub men: Option<u64>,
    /// Non-binary (gender `X`).
    pub non_binary: Option<u64>,
}

/// Immediate results upon leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EsfUponLeaving {
    /// Job searching (outcome `job_seeking`).
    pub job_searching: Option<u64>,
    /// In education or training (outcome `studies`).
    pub in_education_or_training: Option<u64>,
    /// In employment, self-employment included (outcome `work`).
    pub in_employment: Option<u64>,
}

/// The common output and immediate result indicators the schema can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EsfIndicators {
    /// Participants (entrants of the period) by gender.
    pub participants: EsfParticipants,
    /// Below 18 years of age at entry.
    pub below_18: Option<u64>,
    /// 18 to 29 at entry.
    pub age_18_29: Option<u64>,
    /// 55 and over at entry.
    pub age_55_plus: Option<u64>,
    /// Unemployed at entry, long-term unemployed included.
    pub unemployed_incl_long_term: Option<u64>,
    /// Long-term unemployed at entry.
    pub long_term_unemployed: Option<u64>,
    /// Inactive at entry.
    pub inactive: Option<u64>,
    /// Employed at entry, self-employed included.
    pub employed: Option<u64>,
    /// Lower secondary education or less (ISCED 0–2).
    pub isced_0_2: Option<u64>,
    /// Upper secondary or post-secondary non-tertiary (ISCED 3–4).
    pub isced_3_4: Option<u64>,
    /// Tertiary (ISCED 5–8).
    pub isced_5_8: Option<u64>,
    /// Participants with disabilities (active participants with the flag).
    pub disabilities: Option<u64>,
    /// Participants with a foreign background (active participants born abroad).
    pub foreign_background: Option<u64>,
    /// Results upon leaving (leavers of the period).
    pub upon_leaving: EsfUponLeaving,
}

/// The indicators of a published regional report.
pub fn esf_indicators(report: &RegionalReport) -> EsfIndicators {
    let sum = |table: TableName, keys: &[[&str; 3]]| -> Option<u64> {
        let t = report.table(table)?;
        keys.iter().map(|k| t.count(k)).sum()
    };
    let entrants = |g: &str, a: &[AgeBand]| -> Option<u64> {
        if a.is_empty() {
            return sum(TableName::Entrants, &[[TOTAL, g, TOTAL]]);
        }
        let keys: Vec<[&str; 3]> = a.iter().map(|a| [TOTAL, g, a.code()]).collect();
        sum(TableName::Entrants, &keys)
    };
    let status = |s: &[EntryStatus]| {
        let keys: Vec<[&str; 3]> = s.iter().map(|s| [TOTAL, TOTAL, s.code()]).collect();
        sum(TableName::EntryStatus, &keys)
    };
    let education = |e: Education| sum(TableName::EntryEducation, &[[TOTAL, TOTAL, e.code()]]);
    let flag = |f: Flag| sum(TableName::Background, &[[TOTAL, TOTAL, f.code()]]);
    let leaving = |o: Outcome| sum(TableName::Leavers, &[[TOTAL, TOTAL, o.code()]]);
    EsfIndicators {
        participants: EsfParticipants {
            total: entrants(TOTAL, &[]),
            women: entrants(Gender::Woman.code(), &[]),
            men: entrants(Gender::Man.code(), &[]),
            non_binary: entrants(Gender::Other.code(), &[]),
        },
        below_18: entrants(TOTAL, &[AgeBand::UpTo17]),
        age_18_29: entrants(
            TOTAL,
            &[
                AgeBand::From18To19,
                AgeBand::From20To24,
                AgeBand::From25To29,
            ],
        ),
        age_55_plus: entrants(TOTAL, &[AgeBand::From55]),
        unemployed_incl_long_term: status(&[
            EntryStatus::Unemployed,
            EntryStatus::LongTermUnemployed,
        ]),
        long_term_unemployed: status(&[EntryStatus::LongTermUnemployed]),
        inactive: status(&[EntryStatus::Inactive]),
        employed: status(&[EntryStatus::Employed]),
        isced_0_2: education(Education::Isced0To2),
        isced_3_4: education(Education::Isced3To4),
        isced_5_8: education(Education::Isced5To8),
        disabilities: flag(Flag::Disability),
        foreign_background: flag(Flag::ForeignBorn),
        upon_leaving: EsfUponLeaving {
            job_searching: leaving(Outcome::JobSeeking),
            in_education_or_training: leaving(Outcome::Studies),
            in_employment: leaving(Outcome::Work),
        },
    }
}

impl EsfIndicators {
    /// Every indicator as (code, value), in the regulation's order; codes are the
    /// JSON names, nested ones as `participants.women`.
    pub fn rows(&self) -> Vec<(&'static str, Option<u64>)> {
        let p = &self.participants;
        let l = &self.upon_leaving;
        vec![
            ("participants.total", p.total),
            ("participants.women", p.women),
            ("participants.men", p.men),
            ("participants.non_binary", p.non_binary),
            ("below_18", self.below_18),
            ("age_18_29", self.age_18_29),
            ("age_55_plus", self.age_55_plus),
            ("unemployed_incl_long_term", self.unemployed_incl_long_term),
            ("long_term_unemployed", self.long_term_unemployed),
            ("inactive", self.inactive),
            ("employed", self.employed),
            ("isced_0_2", self.isced_0_2),
            ("isced_3_4", self.isced_3_4),
            ("isced_5_8", self.isced_5_8),
            ("disabilities", self.disabilities),
            ("foreign_background", self.foreign_background),
            ("upon_leaving.job_searching", l.job_searching),
            (
                "upon_leaving.in_education_or_training",
                l.in_education_or_training,
            ),
            ("upon_leaving.in_employment", l.in_employment),
        ]
    }
}
