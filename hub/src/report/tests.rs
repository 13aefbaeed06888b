//! Reports in memory (no store): every format names the pseudonym scheme, and a
//! report over kommuner of different schemes says why it gives no distinct people.

use samla_common::codes::KommunCode;
use samla_common::disclosure::DisclosureRule;
use samla_common::oprf::output::PseudonymScheme;
use samla_common::pseudonym::MasterSecret;
use samla_common::report::{
    esf_indicators, monthly_series, outcomes_by_flag, regional_report, RegionalInput, Scope,
};
use samla_common::statistics::{Statistics, TableName};

use super::{render, Format, Lang, Report, SubmissionMatrix};
use crate::config::ProjectDefinition;

const SHARED: &str = "blake3-shared-key-v1";
const CUSTODIAN: &str = "poprf-ristretto255-sha512-v1";

/// Gävle and Sandviken's 2025 reports in UNG, 40 people each (20 in both), the
/// kommuner in `custodian` under the custodians' key and the rest under the shared key.
fn report(custodian: &[&str], lang: Lang) -> Report {
    let kommuner: Vec<KommunCode> = ["2180", "2181"].map(|k| k.parse().unwrap()).to_vec();
    let custodian_key = MasterSecret::from_bytes([9; 32]).key_id();
    let stats: Vec<Statistics> = kommuner
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mut s = samla_tests::statistics::kommun_statistics(*k, i, 40);
            if custodian.contains(&k.as_str()) {
                s.pseudonym_scheme = PseudonymScheme::Custodian;
                s.key_id = custodian_key;
            }
            s
        })
        .collect();
    let project = ProjectDefinition {
        code: "UNG".parse().unwrap(),
        name: "Unga till arbete".to_owned(),
        lifetime: "2025".parse().unwrap(),
        kommuner: kommuner.clone(),
        linkage_domain: "national".parse().unwrap(),
        targets: Default::default(),
        target_groups: Vec::new(),
    };
    let refs: Vec<&Statistics> = stats.iter().collect();
    let regional = regional_report(
        RegionalInput {
            project: &project.code,
            period: project.lifetime,
            expected: &kommuner,
            submissions: &refs,
        },
        DisclosureRule::default(),
        &samla_cli_common::Threads::available(),
    )
    .unwrap();
    let figures = regional.get();
    Report {
        esf: esf_indicators(figures),
        outcomes: outcomes_by_flag(figures),
        monthly: monthly_series(figures),
        shown: figures.kommuner.clone(),
        regional: regional.clone(),
        lifetime: true,
        progress: Vec::new(),
        scope: Scope::Lifetime,
        enrolment: Vec::new(),
        matrix: SubmissionMatrix {
            periods: Vec::new(),
            rows: Vec::new(),
        },
        schemes: super::scheme::groups(&stats),
        generated_at: "2026-12-02 19:00".to_owned(),
        created: "20261202 19:00".to_owned(),
        lang,
        excluded: Vec::new(),
        project,
    }
}

fn every_format(report: &Report) -> Vec<(Format, String)> {
    [
        Format::Table,
        Format::Csv,
        Format::Json,
        Format::Html,
        Format::Px,
    ]
    .into_iter()
    .map(|f| (f, render(report, f, TableName::Participants).unwrap()))
    .collect()
}

#[test]
fn every_format_names_the_scheme_in_the_reports_language() {
    let cases = [
        (
            &["2180", "2181"][..],
            Lang::Sv,
            CUSTODIAN,
            SHARED,
            "nyckelförvaltare",
        ),
        (
            &["2180", "2181"][..],
            Lang::En,
            CUSTODIAN,
            SHARED,
            "key custodians",
        ),
        (&[][..], Lang::Sv, SHARED, CUSTODIAN, "delad nyckel"),
        (&[][..], Lang::En, SHARED, CUSTODIAN, "shared key"),
    ];
    for (custodian, lang, named, other, words) in cases {
        let report = report(custodian, lang);
        assert!(report.linkage_split().is_none());
        for (format, text) in every_format(&report) {
            assert!(text.contains(named), "{format:?} {lang:?}: {text}");
            assert!(text.contains(words), "{format:?} {lang:?}: {text}");
            assert!(!text.contains(other), "{format:?} {lang:?}: {text}");
        }
    }
}

#[test]
fn one_scheme_links_and_the_report_gives_distinct_people() {
    let report = report(&["2180", "2181"], Lang::Sv);
    let linkage = report.figures().linkage.as_ref().unwrap();
    // 40 + 40 different people, linked across the two kommuner.
    assert_eq!(linkage.distinct_people.count, Some(80));
    let text = render(&report, Format::Table, TableName::Participants).unwrap();
    assert!(!text.contains("redovisas inte"), "{text}");
}

#[test]
fn kommuner_of_different_schemes_are_not_linked_and_every_format_says_why() {
    for lang in [Lang::Sv, Lang::En] {
        let report = report(&["2181"], lang);
        assert!(report.figures().linkage.is_err(), "never merged");
        assert_eq!(report.schemes.len(), 2);
        assert_eq!(report.schemes[0].scheme, PseudonymScheme::SharedKey);
        assert_eq!(report.schemes[0].kommuner[0].as_str(), "2180");
        assert_eq!(report.schemes[1].scheme, PseudonymScheme::Custodian);
        assert_eq!(report.schemes[1].kommuner[0].as_str(), "2181");
        let why = report.linkage_split().unwrap();
        let note = report.scheme_note().unwrap();
        assert!(note.contains(SHARED) && note.contains(CUSTODIAN), "{note}");
        // The tables stand: the region's participants are the two kommuner's sum.
        let participants = report.figures().table(TableName::Participants).unwrap();
        assert_eq!(participants.count(&["total", "total", "total"]), Some(80));
        for (format, text) in every_format(&report) {
            assert!(
                text.contains(SHARED) && text.contains(CUSTODIAN),
                "{format:?}"
            );
            if format != Format::Px {
                // PX holds one table; the others carry the distinct-people section.
                let shown = match format {
                    Format::Html => super::html::escape(why),
                    _ => why.to_owned(),
                };
                assert!(text.contains(&shown), "{format:?} {lang:?}: {text}");
            }
        }
        let json: serde_json::Value =
            serde_json::from_str(&render(&report, Format::Json, TableName::Participants).unwrap())
                .unwrap();
        assert_eq!(json["distinct"]["reason"], "pseudonym_schemes_differ");
        assert_eq!(json["pseudonym_schemes"][1]["scheme"], CUSTODIAN);
        assert_eq!(json["pseudonym_schemes"][1]["kommuner"][0], "2181");
    }
}
