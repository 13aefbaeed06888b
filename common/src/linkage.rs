//! Distinct people across kommuner and projects, from linkage sets (DESIGN.md §5, §9).
//!
//! Each kommun's submission carries, per project, the sorted pseudonyms of the people
//! active in the period. Pseudonyms link only when they were made under the same
//! pseudonym scheme (shared key or custodians, DESIGN.md §4a) with the same key (same
//! key id) in the same linkage domain; other sets are never merged, and asking to is an
//! error the caller must show. Counts here are exact;
//! they go through disclosure control before anyone sees them.

use std::collections::BTreeMap;

use crate::codes::{KommunCode, ProjectCode};
use crate::oprf::output::PseudonymScheme;
use crate::pseudonym::{KeyId, LinkageDomain, Pseudonym};
use crate::statistics::Statistics;

/// One kommun's linkage set for one project.
#[derive(Debug, Clone, Copy)]
pub struct KommunSet<'a> {
    /// The kommun.
    pub kommun: KommunCode,
    /// The project.
    pub project: &'a ProjectCode,
    /// The scheme the pseudonyms were made under.
    pub scheme: PseudonymScheme,
    /// The key the pseudonyms were made with.
    pub key_id: KeyId,
    /// The domain they were made in.
    pub domain: &'a LinkageDomain,
    /// Sorted, distinct pseudonyms.
    pub pseudonyms: &'a [Pseudonym],
}

/// Why sets could not be linked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkageError {
    /// The sets were made under different pseudonym schemes.
    #[error("linkage sets were made under different pseudonym schemes ({first} and {second}); they are never linked")]
    SchemeMismatch {
        /// One scheme.
        first: PseudonymScheme,
        /// Another.
        second: PseudonymScheme,
    },
    /// The sets were made under different master keys.
    #[error("linkage sets were made under different keys ({first} and {second}); they cannot be linked. Count them apart, or have every kommun resubmit under one key")]
    KeyMismatch {
        /// One key id.
        first: KeyId,
        /// Another.
        second: KeyId,
    },
    /// The sets were made in different linkage domains.
    #[error("linkage sets of domains {first} and {second} cannot be linked")]
    DomainMismatch {
        /// One domain.
        first: String,
        /// Another.
        second: String,
    },
}

/// Distinct people across sets, and who appears in more than one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Distinct {
    /// People in any set.
    pub people: u64,
    /// People in two or more of the sets' kommuner.
    pub in_several_kommuner: u64,
    /// Per pair of kommuner (first < second), people in both.
    pub kommun_overlaps: BTreeMap<(KommunCode, KommunCode), u64>,
    /// Per pair of projects (first < second), people in both.
    pub project_overlaps: BTreeMap<(ProjectCode, ProjectCode), u64>,
}

/// What decides whether two linkage sets may be merged: the scheme, the key id and the
/// linkage domain their pseudonyms were made under.
pub type Linkable<'a> = (PseudonymScheme, KeyId, &'a LinkageDomain);

/// A submission's [`Linkable`].
pub fn linkable(statistics: &Statistics) -> Linkable<'_> {
    (
        statistics.pseudonym_scheme,
        statistics.key_id,
        &statistics.linkage_domain,
    )
}

/// Checks that linkage sets were all made under one scheme, with one key and in one
/// domain: the only sets whose pseudonyms may be compared.
pub fn same_key_and_domain<'a>(
    mut sets: impl Iterator<Item = Linkable<'a>>,
) -> Result<(), LinkageError> {
    let Some((scheme, key, domain)) = sets.next() else {
        return Ok(());
    };
    for (other_scheme, other_key, other_domain) in sets {
        if other_scheme != scheme {
            return Err(LinkageError::SchemeMismatch {
                first: scheme,
                second: other_scheme,
            });
        }
        if other_key != key {
            return Err(LinkageError::KeyMismatch {
                first: key,
                second: other_key,
            });
        }
        if other_domain != domain {
            return Err(LinkageError::DomainMismatch {
                first: domain.to_string(),
                second: other_domain.to_string(),
            });
        }
    }
    Ok(())
}

/// Links sets of one scheme, key and domain: distinct people, people in several
/// kommuner, and overlaps between kommuner and between projects.
pub fn link(sets: &[KommunSet<'_>]) -> Result<Distinct, LinkageError> {
    same_key_and_domain(sets.iter().map(|s| (s.scheme, s.key_id, s.domain)))?;
    // Every (pseudonym, set) pair, sorted by pseudonym: one pass groups each person.
    let mut all: Vec<(&Pseudonym, usize)> = sets
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.pseudonyms.iter().map(move |p| (p, i)))
        .collect();
    all.sort_unstable();
    let mut out = Distinct::default();
    for person in all.chunk_by(|a, b| a.0 == b.0) {
        out.people += 1;
        let mut kommuner: Vec<KommunCode> = person.iter().map(|(_, i)| sets[*i].kommun).collect();
        kommuner.sort_unstable();
        kommuner.dedup();
        if kommuner.len() > 1 {
            out.in_several_kommuner += 1;
        }
        for (i, a) in kommuner.iter().enumerate() {
            for b in &kommuner[i + 1..] {
                *out.kommun_overlaps.entry((*a, *b)).or_default() += 1;
            }
        }
        let mut projects: Vec<&ProjectCode> =
            person.iter().map(|(_, i)| sets[*i].project).collect();
        projects.sort_unstable();
        projects.dedup();
        for (i, a) in projects.iter().enumerate() {
            for b in &projects[i + 1..] {
                *out.project_overlaps
                    .entry(((*a).clone(), (*b).clone()))
                    .or_default() += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Pseudonym {
        Pseudonym::from_bytes([n; 32])
    }

    #[test]
    fn one_person_in_two_kommuner_and_two_projects_counts_once() {
        let (ung, omstart): (ProjectCode, ProjectCode) =
            ("UNG".parse().unwrap(), "OMSTART".parse().unwrap());
        let domain: LinkageDomain = "d".parse().unwrap();
        let key = crate::pseudonym::MasterSecret::from_bytes([1; 32]).key_id();
        let (gavle, sandviken): (KommunCode, KommunCode) =
            ("2180".parse().unwrap(), "2181".parse().unwrap());
        let a = [p(1), p(2), p(3)];
        let b = [p(3), p(4)];
        let c = [p(2)];
        let set = |kommun, project, pseudonyms| KommunSet {
            kommun,
            project,
            scheme: PseudonymScheme::SharedKey,
            key_id: key,
            domain: &domain,
            pseudonyms,
        };
        let d = link(&[
            set(gavle, &ung, &a[..]),
            set(sandviken, &ung, &b[..]),
            set(gavle, &omstart, &c[..]),
        ])
        .unwrap();
        assert_eq!(d.people, 4, "1, 2, 3, 4");
        assert_eq!(d.in_several_kommuner, 1, "person 3");
        assert_eq!(d.kommun_overlaps, BTreeMap::from([((gavle, sandviken), 1)]));
        assert_eq!(
            d.project_overlaps,
            BTreeMap::from([((omstart.clone(), ung.clone()), 1)]),
            "person 2"
        );
    }

    #[test]
    fn sets_under_different_keys_are_never_merged() {
        let ung: ProjectCode = "UNG".parse().unwrap();
        let domain: LinkageDomain = "d".parse().unwrap();
        let one = crate::pseudonym::MasterSecret::from_bytes([1; 32]).key_id();
        let two = crate::pseudonym::MasterSecret::from_bytes([2; 32]).key_id();
        let pseudonyms = [p(1)];
        let set = |key_id| KommunSet {
            kommun: "2180".parse().unwrap(),
            project: &ung,
            scheme: PseudonymScheme::SharedKey,
            key_id,
            domain: &domain,
            pseudonyms: &pseudonyms[..],
        };
        assert_eq!(
            link(&[set(one), set(two)]),
            Err(LinkageError::KeyMismatch {
                first: one,
                second: two
            })
        );
        assert_eq!(link(&[set(one), set(one)]).unwrap().people, 1);
    }

    #[test]
    fn sets_of_different_schemes_are_never_merged_even_under_one_key_id() {
        let ung: ProjectCode = "UNG".parse().unwrap();
        let domain: LinkageDomain = "d".parse().unwrap();
        let key = crate::pseudonym::MasterSecret::from_bytes([1; 32]).key_id();
        let pseudonyms = [p(1)];
        let set = |scheme| KommunSet {
            kommun: "2180".parse().unwrap(),
            project: &ung,
            scheme,
            key_id: key,
            domain: &domain,
            pseudonyms: &pseudonyms[..],
        };
        let (shared, custodian) = (PseudonymScheme::SharedKey, PseudonymScheme::Custodian);
        assert_eq!(
            link(&[set(shared), set(custodian)]),
            Err(LinkageError::SchemeMismatch {
                first: shared,
                second: custodian
            })
        );
        assert_eq!(link(&[set(custodian), set(custodian)]).unwrap().people, 1);
    }
}
