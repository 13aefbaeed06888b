//! Which pseudonym scheme made a report's pseudonyms (DESIGN.md §4, §4a), and what
//! every format says about it: the scheme (shared key or key custodians) with its
//! key id, per group of kommuner whose submissions agree on both. Linkage sets of
//! different groups are never merged (`samla_common::linkage`), so when a report has
//! more than one group its distinct people, overlaps and cumulative enrolment are not
//! given, and [`Report::linkage_split`] says why in the report's language.

use samla_common::codes::KommunCode;
use samla_common::oprf::output::PseudonymScheme;
use samla_common::pseudonym::KeyId;
use samla_common::statistics::Statistics;

use super::{Lang, Report};

/// Kommuner whose submissions name one scheme and one key id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemeGroup {
    /// The scheme (serialised as its code, e.g. `poprf-ristretto255-sha512-v1`).
    pub scheme: PseudonymScheme,
    /// The key id: the shared master key's, or the custodians' key set's.
    pub key_id: KeyId,
    /// The kommuner, in code order.
    pub kommuner: Vec<KommunCode>,
}

/// The scheme groups of a report's submissions, ordered by scheme and key id.
pub fn groups(submissions: &[Statistics]) -> Vec<SchemeGroup> {
    let mut by: std::collections::BTreeMap<(PseudonymScheme, KeyId), Vec<KommunCode>> =
        std::collections::BTreeMap::new();
    for s in submissions {
        by.entry((s.pseudonym_scheme, s.key_id))
            .or_default()
            .push(s.kommun);
    }
    by.into_iter()
        .map(|((scheme, key_id), mut kommuner)| {
            kommuner.sort_unstable();
            kommuner.dedup();
            SchemeGroup {
                scheme,
                key_id,
                kommuner,
            }
        })
        .collect()
}

/// The scheme in words, in `lang`.
pub fn scheme_name(lang: Lang, scheme: PseudonymScheme) -> &'static str {
    match (lang, scheme) {
        (Lang::Sv, PseudonymScheme::SharedKey) => "delad nyckel (regionens gemensamma huvudnyckel)",
        (Lang::En, PseudonymScheme::SharedKey) => "shared key (the region's common master key)",
        (Lang::Sv, PseudonymScheme::Custodian) => {
            "nyckelförvaltare (t av n förvaltare, RFC 9497 POPRF)"
        }
        (Lang::En, PseudonymScheme::Custodian) => {
            "key custodians (t of n custodians, RFC 9497 POPRF)"
        }
    }
}

impl SchemeGroup {
    /// `name (code, key id …)`, in `lang`.
    pub fn describe(&self, lang: Lang) -> String {
        format!(
            "{} ({}, {} {})",
            scheme_name(lang, self.scheme),
            self.scheme.code(),
            lang.pick("nyckel-id", "key id"),
            self.key_id
        )
    }
}

impl Report {
    /// The line every format gives on how the pseudonyms were made: the scheme and key
    /// id, or with several, each group and its kommuner. `None` when nobody submitted.
    pub fn scheme_note(&self) -> Option<String> {
        let lang = self.lang;
        let label = lang.pick("Pseudonymer", "Pseudonyms");
        match self.schemes.as_slice() {
            [] => None,
            [one] => Some(format!("{label}: {}.", one.describe(lang))),
            several => {
                let parts: Vec<String> = several
                    .iter()
                    .map(|g| {
                        let kommuner: Vec<String> = g
                            .kommuner
                            .iter()
                            .map(|k| format!("{} ({k})", k.label()))
                            .collect();
                        format!("{}: {}", g.describe(lang), kommuner.join(", "))
                    })
                    .collect();
                Some(format!(
                    "{label}: {}: {}.",
                    lang.pick(
                        "kommunerna har olika metoder eller nycklar",
                        "the kommuner use different schemes or keys"
                    ),
                    parts.join("; ")
                ))
            }
        }
    }

    /// Why distinct people, overlaps and cumulative enrolment are not given, when the
    /// submissions' pseudonyms were made under more than one scheme or key.
    pub fn linkage_split(&self) -> Option<&'static str> {
        (self.schemes.len() > 1).then(|| {
            self.lang.pick(
                "Unika personer, överlapp mellan kommuner och projekt och inskrivna över tid \
                 redovisas inte: kommunernas pseudonymer är gjorda med olika metoder eller \
                 nycklar, och sådana kopplingsmängder slås aldrig ihop, eftersom samma person \
                 har olika pseudonymer i dem. Tabellerna är summor av kommunernas egna \
                 uppgifter och gäller.",
                "Distinct people, overlaps between kommuner and projects and cumulative \
                 enrolment are not given: the kommuner's pseudonyms were made under \
                 different schemes or keys, and such linkage sets are never merged, since \
                 one person has different pseudonyms in them. The tables are sums of the \
                 kommuner's own figures and stand.",
            )
        })
    }
}
