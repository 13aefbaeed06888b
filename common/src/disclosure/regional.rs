//! Disclosure control of a project's regional figures: per-kommun and regional tables,
//! distinct people and overlaps, all in joint problems.
//!
//! Each table becomes a grid whose first dimension is the kommun (additive: its total
//! is the region), so the linked groups of [`super::solve_schema`] apply unchanged.
//! The linkage sets become "atoms": groups of people with the same set of kommuner in
//! the project and the same set of other projects. Every distinct count is a sum of
//! atoms, and each kommun's count is linked to its participants total, so an attacker
//! who combines the tables with the distinct counts and overlaps faces one system of
//! equations, which the solver protects as a whole.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    published_sum, published_table, solve_schema, Disclosed, DisclosureError, DisclosureRule,
    Parallel, PublishedCount, PublishedTable, Sums,
};
use crate::cell_key::{CellKey, RecordKey};
use crate::codes::{KommunCode, ProjectCode};
use crate::linkage::LinkageError;
use crate::period::Period;
use crate::pseudonym::Pseudonym;
use crate::statistics::{Dimension, Grid, Statistics, TableName};

/// A project's figures for one period, as they may be published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionalReport {
    /// The project.
    pub project: ProjectCode,
    /// The period.
    pub period: Period,
    /// The rule applied.
    pub rule: DisclosureRule,
    /// What the rule means, in words.
    pub rule_text: String,
    /// The kommuner whose submissions are counted, in table order.
    pub kommuner: Vec<KommunCode>,
    /// The project's kommuner with no submission for the period.
    pub missing: Vec<KommunCode>,
    /// Every table of the schema: the first dimension is the kommun, with `total`
    /// for the region; the project dimension is gone.
    pub tables: Vec<PublishedTable>,
    /// Distinct people and overlaps, or why they could not be counted.
    pub linkage: Result<PublishedLinkage, String>,
    /// Set when the figures were protected by the cell key method instead of
    /// suppression (`super::cell_key`): nothing is suppressed, every cell and total is
    /// perturbed, and parts need not add up to totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_key: Option<super::cell_key::CellKeyMethodInfo>,
}

impl RegionalReport {
    /// One of the report's tables.
    pub fn table(&self, name: TableName) -> Option<&PublishedTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// Distinct people and overlaps after disclosure control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedLinkage {
    /// Distinct people in the project across all the kommuner.
    pub distinct_people: PublishedCount,
    /// People counted in more than one kommun.
    pub in_several_kommuner: PublishedCount,
    /// Distinct people per kommun (label: the kommun code).
    pub per_kommun: Vec<PublishedCount>,
    /// People in both of two kommuner (label: `AAAA+BBBB`); pairs not listed share
    /// nobody.
    pub kommun_overlaps: Vec<PublishedCount>,
    /// People also in another project of the linkage domain (label: its code);
    /// projects not listed share nobody.
    pub project_overlaps: Vec<PublishedCount>,
}

/// What a regional report is built from.
#[derive(Debug, Clone, Copy)]
pub struct RegionalInput<'a> {
    /// The project.
    pub project: &'a ProjectCode,
    /// The period every submission covers.
    pub period: Period,
    /// The kommuner taking part in the project.
    pub expected: &'a [KommunCode],
    /// At most one submission per kommun, each for `period` and covering `project`.
    pub submissions: &'a [&'a Statistics],
}

/// Why a regional report could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionalError {
    /// Disclosure control failed.
    #[error(transparent)]
    Disclosure(#[from] DisclosureError),
    /// A submission is for another period or does not cover the project.
    #[error(
        "the submission of kommun {kommun} does not cover project {project} in period {period}"
    )]
    WrongSubmission {
        /// The kommun.
        kommun: KommunCode,
        /// The project asked for.
        project: ProjectCode,
        /// The period asked for.
        period: Period,
    },
    /// Two submissions of one kommun were given.
    #[error("two submissions of kommun {0} were given; pass only the latest")]
    TwoSubmissions(KommunCode),
}

/// Builds a project's regional report under disclosure control.
pub fn regional_report(
    input: RegionalInput<'_>,
    rule: DisclosureRule,
    parallel: &dyn Parallel,
) -> Result<Disclosed<RegionalReport>, RegionalError> {
    let mut submissions = input.submissions.to_vec();
    submissions.sort_by_key(|s| s.kommun);
    let mut columns = Vec::with_capacity(submissions.len());
    for pair in submissions.windows(2) {
        if pair[0].kommun == pair[1].kommun {
            return Err(RegionalError::TwoSubmissions(pair[0].kommun));
        }
    }
    for s in &submissions {
        match s.projects.iter().position(|p| p == input.project) {
            Some(p) if s.period == input.period => columns.push(p),
            _ => {
                return Err(RegionalError::WrongSubmission {
                    kommun: s.kommun,
                    project: input.project.clone(),
                    period: input.period,
                })
            }
        }
    }
    let kommuner: Vec<KommunCode> = submissions.iter().map(|s| s.kommun).collect();
    let mut grids = Vec::new();
    for name in TableName::ALL {
        grids.push((*name, regional_grid(*name, &submissions, &columns)?));
    }
    let linkage = atoms(input.project, &submissions);
    let sums = linkage.as_ref().ok().map(|a| {
        (
            a.sums(kommuner.len()),
            (0..kommuner.len()).map(|k| 2 + k).collect(),
        )
    });
    let solved = solve_schema(grids, kommuner.len(), sums, rule, parallel)?;
    let kommun_codes: Vec<String> = kommuner.iter().map(|k| k.as_str().to_owned()).collect();
    let domains = |d: Dimension| match d {
        Dimension::Kommun => kommun_codes.clone(),
        other => other.values(std::slice::from_ref(input.project), &input.period),
    };
    let mut tables: Vec<PublishedTable> = solved
        .tables
        .into_iter()
        .map(|(name, cells)| {
            let mut dimensions = name.dimensions().to_vec();
            dimensions[0] = Dimension::Kommun;
            published_table(name, dimensions, &domains, cells)
        })
        .collect();
    tables.sort_by_key(|t| t.name);
    let linkage = match linkage {
        Ok(atoms) => Ok(atoms.published(&kommuner, solved.sums)),
        Err(e) => Err(e.to_string()),
    };
    Ok(Disclosed(RegionalReport {
        project: input.project.clone(),
        period: input.period,
        rule,
        rule_text: rule.describe(),
        missing: crate::report::missing(input.expected, &kommuner),
        kommuner,
        tables,
        linkage,
        cell_key: None,
    }))
}

/// One table of the project with the kommun as first dimension.
pub(super) fn regional_grid(
    name: TableName,
    submissions: &[&Statistics],
    columns: &[usize],
) -> Result<Grid, DisclosureError> {
    let mut out: Option<Grid> = None;
    for (s, project) in submissions.iter().zip(columns) {
        let grid = s.grid(name)?;
        let inner: usize = grid.sizes[1..].iter().product();
        let slice = &grid.counts[project * inner..(project + 1) * inner];
        let out = out.get_or_insert_with(|| {
            let mut sizes = grid.sizes.clone();
            sizes[0] = 0;
            Grid {
                sizes,
                counts: Vec::with_capacity(inner * submissions.len()),
            }
        });
        if out.sizes[1..] != grid.sizes[1..] {
            return Err(DisclosureError::Schema(
                crate::statistics::SchemaError::Cell {
                    table: name.code(),
                    position: 0,
                    problem: "submissions of different shapes".to_owned(),
                },
            ));
        }
        out.sizes[0] += 1;
        out.counts.extend_from_slice(slice);
    }
    Ok(out.unwrap_or_else(|| {
        let mut sizes = vec![0];
        sizes.extend(name.dimensions()[1..].iter().map(|_| 1));
        Grid::zeros(sizes)
    }))
}

/// People grouped by the kommuner they are in (in the project) and the other
/// projects they are in: per group its size and the sum of its pseudonyms' public
/// cell keys (for the cell key method, `super::cell_key`).
pub(super) struct Atoms {
    groups: BTreeMap<Signature, (u64, CellKey)>,
}

/// The kommuner (indices) a person is in, in the project, and their other projects.
type Signature = (Vec<u32>, Vec<ProjectCode>);

impl Atoms {
    /// The published sums, in this order: distinct people, people in several
    /// kommuner, each kommun's people, each overlapping pair of kommuner, each
    /// overlapping project.
    pub(super) fn sums(&self, kommuner: usize) -> Sums {
        let atoms: Vec<u64> = self.groups.values().map(|g| g.0).collect();
        let keys: Vec<&Signature> = self.groups.keys().collect();
        let select = |f: &dyn Fn(&Signature) -> bool| -> Vec<usize> {
            (0..keys.len()).filter(|i| f(keys[*i])).collect()
        };
        let mut sums = vec![select(&|_| true), select(&|(k, _)| k.len() > 1)];
        for k in 0..kommuner as u32 {
            sums.push(select(&|(ks, _)| ks.contains(&k)));
        }
        for (a, b) in self.kommun_pairs() {
            sums.push(select(&|(ks, _)| ks.contains(&a) && ks.contains(&b)));
        }
        for q in self.other_projects() {
            sums.push(select(&|(_, qs)| qs.contains(&q)));
        }
        Sums {
            atoms,
            sums,
            preferred: vec![0],
        }
    }

    fn kommun_pairs(&self) -> Vec<(u32, u32)> {
        let mut pairs: Vec<(u32, u32)> = self
            .groups
            .keys()
            .flat_map(|(ks, _)| {
                ks.iter()
                    .enumerate()
                    .flat_map(|(i, a)| ks[i + 1..].iter().map(|b| (*a, *b)))
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }

    fn other_projects(&self) -> Vec<ProjectCode> {
        let mut projects: Vec<ProjectCode> =
            self.groups.keys().flat_map(|(_, qs)| qs.clone()).collect();
        projects.sort();
        projects.dedup();
        projects
    }

    /// Each atom's key, in the order of [`Sums::atoms`].
    pub(super) fn keys(&self) -> Vec<CellKey> {
        self.groups.values().map(|g| g.1).collect()
    }

    /// The solved sums, labelled, in the order of [`Atoms::sums`].
    pub(super) fn published(
        &self,
        kommuner: &[KommunCode],
        solved: Vec<super::SolvedCell>,
    ) -> PublishedLinkage {
        let mut labels = vec![
            "distinct_people".to_owned(),
            "in_several_kommuner".to_owned(),
        ];
        labels.extend(kommuner.iter().map(|k| k.as_str().to_owned()));
        let pairs = self.kommun_pairs();
        labels.extend(
            pairs
                .iter()
                .map(|(a, b)| format!("{}+{}", kommuner[*a as usize], kommuner[*b as usize])),
        );
        labels.extend(self.other_projects().iter().map(|q| q.as_str().to_owned()));
        let mut counts: Vec<PublishedCount> = labels
            .into_iter()
            .zip(solved)
            .map(|(label, cell)| published_sum(label, cell))
            .collect();
        let project_overlaps =
            counts.split_off((2 + kommuner.len() + pairs.len()).min(counts.len()));
        let kommun_overlaps = counts.split_off((2 + kommuner.len()).min(counts.len()));
        let per_kommun = counts.split_off(2.min(counts.len()));
        let mut head = counts.into_iter();
        let absent = |label: &str| PublishedCount {
            label: label.to_owned(),
            count: Some(0),
            suppressed: None,
        };
        PublishedLinkage {
            distinct_people: head.next().unwrap_or_else(|| absent("distinct_people")),
            in_several_kommuner: head.next().unwrap_or_else(|| absent("in_several_kommuner")),
            per_kommun,
            kommun_overlaps,
            project_overlaps,
        }
    }
}

/// Groups the people of `project` by their kommuner and other projects, refusing to
/// link sets made under different keys or domains.
pub(super) fn atoms(
    project: &ProjectCode,
    submissions: &[&Statistics],
) -> Result<Atoms, LinkageError> {
    crate::linkage::same_key_and_domain(submissions.iter().copied().map(crate::linkage::linkable))?;
    // (pseudonym, kommun index or u32::MAX, project): one sort groups each person.
    let mut all: Vec<(&Pseudonym, u32, &ProjectCode)> = Vec::new();
    for (k, s) in submissions.iter().enumerate() {
        for set in &s.linkage_sets {
            let kommun = if &set.project == project {
                k as u32
            } else {
                u32::MAX
            };
            all.extend(set.pseudonyms.iter().map(|p| (p, kommun, &set.project)));
        }
    }
    all.sort_unstable();
    let mut groups: BTreeMap<Signature, (u64, CellKey)> = BTreeMap::new();
    for person in all.chunk_by(|a, b| a.0 == b.0) {
        let mut kommuner: Vec<u32> = person
            .iter()
            .filter(|(_, k, _)| *k != u32::MAX)
            .map(|(_, k, _)| *k)
            .collect();
        if kommuner.is_empty() {
            continue;
        }
        kommuner.dedup();
        let mut others: Vec<ProjectCode> = person
            .iter()
            .filter(|(_, _, q)| *q != project)
            .map(|(_, _, q)| (*q).clone())
            .collect();
        others.sort();
        others.dedup();
        let group = groups.entry((kommuner, others)).or_default();
        group.0 += 1;
        group.1 = group.1.with(RecordKey::of_pseudonym(person[0].0));
    }
    Ok(Atoms { groups })
}

#[cfg(test)]
mod tests;
