//! What a bundle says about the content of each submission (`content.json` beside
//! `node-bundle.json` or `hub-bundle.json`), so a privacy officer can compare what a
//! kommun sent with what the region stored without a shell on either machine.
//!
//! Per submission: the digest of the stored signed bytes, recomputed when the bundle
//! was made (BLAKE3, which must equal the id), whether the bytes matched their id and
//! signature then, and a summary (kommun, period, linkage domain, sequence, people,
//! tables). With `--with-content` also the aggregate tables; with
//! `--with-pseudonyms` also the linkage sets, which hold pseudonyms and are left out
//! otherwise. [`compare`] holds two such files against each other.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::statistics::{LinkageSet, Table};
use crate::wire::{Submission, SubmissionId};

/// The file name of a bundle's content file.
pub const CONTENT_FILE: &str = "content.json";

/// A bundle's content file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentFile {
    /// Always [`super::BUNDLE_VERSION`].
    pub version: u32,
    /// One record per stored submission.
    pub submissions: Vec<SubmissionContent>,
}

/// What a bundle says about one stored submission's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionContent {
    /// The id it is stored under.
    pub id: SubmissionId,
    /// BLAKE3 of the stored signed bytes, hex, recomputed when the bundle was made.
    pub digest: String,
    /// Whether the stored bytes matched the id and the signer's signature then.
    pub verified: bool,
    /// The signed summary, when the bytes decode.
    pub summary: Option<ContentSummary>,
    /// The aggregate tables (with `--with-content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<Vec<Table>>,
    /// The linkage sets, pseudonyms included (with `--with-pseudonyms` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkage_sets: Option<Vec<LinkageSet>>,
}

/// A submission's signed summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentSummary {
    /// Its kommun.
    pub kommun: String,
    /// Its period.
    pub period: String,
    /// Its linkage domain.
    pub linkage_domain: String,
    /// Its sequence.
    pub sequence: u64,
    /// When the node built it (Unix seconds).
    pub created_at: i64,
    /// Distinct people over its linkage sets.
    pub people: u64,
    /// Tables with at least one cell.
    pub tables: u64,
}

/// How much of the content a bundle carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Include {
    /// The aggregate tables.
    pub tables: bool,
    /// The linkage sets (pseudonyms).
    pub pseudonyms: bool,
}

impl SubmissionContent {
    /// The record of a stored submission: `id` as stored, `bytes` the stored signed
    /// bytes, `decoded` the submission if they decode, and `verified` whether they
    /// matched the id and signature.
    pub fn of(
        id: SubmissionId,
        bytes: &[u8],
        decoded: Option<&Submission>,
        verified: bool,
        include: Include,
    ) -> SubmissionContent {
        SubmissionContent {
            id,
            digest: hex::encode(blake3::hash(bytes).as_bytes()),
            verified,
            summary: decoded.map(|s| ContentSummary {
                kommun: s.statistics.kommun.to_string(),
                period: s.statistics.period.to_string(),
                linkage_domain: s.statistics.linkage_domain.to_string(),
                sequence: s.sequence,
                created_at: s.created_at,
                people: super::person::people(&s.statistics) as u64,
                tables: s
                    .statistics
                    .tables
                    .iter()
                    .filter(|t| !t.cells.is_empty())
                    .count() as u64,
            }),
            tables: decoded
                .filter(|_| include.tables)
                .map(|s| s.statistics.tables.clone()),
            linkage_sets: decoded
                .filter(|_| include.pseudonyms)
                .map(|s| s.statistics.linkage_sets.clone()),
        }
    }
}

/// Where what a node sent and what the hub stored differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentFinding {
    /// A side's stored bytes do not hash to the id, or did not verify.
    Unverified {
        /// The submission.
        submission: SubmissionId,
        /// `node` or `hub`.
        side: &'static str,
    },
    /// The two sides hold different bytes under one id.
    Differs {
        /// The submission.
        submission: SubmissionId,
        /// What differs: `digest`, `summary` or `tables`.
        what: &'static str,
    },
    /// The node holds a receipt for a submission the hub's content file lacks.
    MissingAtHub {
        /// The submission.
        submission: SubmissionId,
    },
}

impl fmt::Display for ContentFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentFinding::Unverified { submission, side } => write!(
                f,
                "submission {submission}: the {side}'s stored bytes do not match its id and signature"
            ),
            ContentFinding::Differs { submission, what } => write!(
                f,
                "submission {submission}: the node and the hub hold different content ({what} differs)"
            ),
            ContentFinding::MissingAtHub { submission } => write!(
                f,
                "submission {submission}: acknowledged by the hub but not in its content file (its stored submission is missing)"
            ),
        }
    }
}

/// Compares a node's content file with the hub's: every submission the node lists as
/// `acknowledged` (by id in `acknowledged`) must be at the hub with the same digest
/// (which equals the id), both verified, the same summary, and the same tables when
/// both carry them.
pub fn compare(
    node: &ContentFile,
    hub: &ContentFile,
    acknowledged: &[SubmissionId],
) -> Vec<ContentFinding> {
    let at_hub: BTreeMap<SubmissionId, &SubmissionContent> =
        hub.submissions.iter().map(|s| (s.id, s)).collect();
    let mut findings = Vec::new();
    for n in &node.submissions {
        let id_hex = n.id.to_string();
        if !n.verified || n.digest != id_hex {
            findings.push(ContentFinding::Unverified {
                submission: n.id,
                side: "node",
            });
        }
        let Some(h) = at_hub.get(&n.id) else {
            if acknowledged.contains(&n.id) {
                findings.push(ContentFinding::MissingAtHub { submission: n.id });
            }
            continue;
        };
        if !h.verified || h.digest != id_hex {
            findings.push(ContentFinding::Unverified {
                submission: n.id,
                side: "hub",
            });
        }
        let differs = |what| ContentFinding::Differs {
            submission: n.id,
            what,
        };
        if n.digest != h.digest {
            findings.push(differs("digest"));
        } else if n.summary != h.summary {
            findings.push(differs("summary"));
        } else if let (Some(a), Some(b)) = (&n.tables, &h.tables) {
            if a != b {
                findings.push(differs("tables"));
            }
        }
    }
    findings
}
