//! Ingest of every export form of DESIGN.md §3, and of every kind of bad row and bad
//! file, with the exact errors, lines and counts.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use samla_common::pseudonym::MasterSecret;
use samla_node::config::NodeConfig;
use samla_node::ingest::{read_file, Field, IngestError, IngestSettings, RowError, SourceFormat};
use samla_node::pipeline;
use samla_node::synth::{write_export, Style, SynthOptions};
use time::macros::date;

const REFERENCE: time::Date = date!(2026 - 11 - 23);

fn settings() -> IngestSettings {
    IngestSettings {
        progress: false,
        projects: vec!["UNG".parse().unwrap(), "OMSTART".parse().unwrap()],
        columns: Default::default(),
        reference_date: REFERENCE,
    }
}

fn config(dir: &Path) -> NodeConfig {
    let text = "kommun = \"2180\"\nkey_file = \"k\"\n\
        [[project]]\ncode = \"UNG\"\nlinkage_domain = \"gavleborg-ung-2023\"\n\
        [[project]]\ncode = \"OMSTART\"\nlinkage_domain = \"gavleborg-ung-2023\"\n";
    NodeConfig::parse(text, &dir.join("node.toml")).unwrap()
}

fn synth(dir: &Path, name: &str, style: Style, seed: u64, bad_rows: f64) -> (PathBuf, u64) {
    let path = dir.join(name);
    let options = SynthOptions {
        projects: vec!["UNG".parse().unwrap(), "OMSTART".parse().unwrap()],
        period: "2024-01-01..2025-12-31".parse().unwrap(),
        participants: 150,
        seed,
        style,
        bad_rows,
    };
    let report = write_export(&path, &options).unwrap();
    (path, report.rows)
}

/// Every messy form reads completely, is recognised for what it is, and gives exactly
/// the same submission as the plain form of the same people.
#[test]
fn every_messy_form_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let master =
        samla_node::pseudonyms::Pseudonymiser::SharedKey(MasterSecret::from_bytes([3; 32]));
    let build = |path: &Path| {
        pipeline::build(
            &config,
            &master,
            &[path.to_owned()],
            "2025".parse().unwrap(),
            &[],
            REFERENCE,
        )
        .unwrap()
        .statistics
    };
    let (plain, rows) = synth(dir.path(), "plain.csv", Style::default(), 42, 0.0);
    let expected = build(&plain);
    assert!(expected[0].linkage_sets[0].pseudonyms.len() > 50);
    let styles: Vec<(&str, Style)> = vec![
        (
            "semicolons.csv",
            Style {
                semicolons: true,
                ..Style::default()
            },
        ),
        (
            "tabs.csv",
            Style {
                tabs: true,
                ..Style::default()
            },
        ),
        (
            "bom.csv",
            Style {
                bom: true,
                ..Style::default()
            },
        ),
        (
            "cp1252.csv",
            Style {
                windows_1252: true,
                swedish: true,
                extra_columns: true,
                ..Style::default()
            },
        ),
        (
            "short.csv",
            Style {
                short_personnummer: true,
                ..Style::default()
            },
        ),
        (
            "swedish.csv",
            Style {
                swedish: true,
                ..Style::default()
            },
        ),
        (
            "crlf.csv",
            Style {
                crlf: true,
                ..Style::default()
            },
        ),
        (
            "compact.csv",
            Style {
                compact_dates: true,
                ..Style::default()
            },
        ),
        (
            "extra.csv",
            Style {
                extra_columns: true,
                ..Style::default()
            },
        ),
        (
            "quoted.csv",
            Style {
                quote_all: true,
                extra_columns: true,
                ..Style::default()
            },
        ),
        (
            "bom-swedish.csv",
            Style {
                bom: true,
                swedish: true,
                semicolons: true,
                crlf: true,
                ..Style::default()
            },
        ),
        (
            "everything.csv",
            Style {
                semicolons: true,
                windows_1252: true,
                short_personnummer: true,
                swedish: true,
                crlf: true,
                compact_dates: true,
                extra_columns: true,
                quote_all: true,
                ..Style::default()
            },
        ),
        (
            "sheet.xlsx",
            Style {
                swedish: true,
                extra_columns: true,
                short_personnummer: true,
                ..Style::default()
            },
        ),
    ];
    for (name, style) in styles {
        let (path, written) = synth(dir.path(), name, style.clone(), 42, 0.0);
        assert_eq!(written, rows, "{name}: same people");
        let summary = read_file(&path, &settings(), |_| {}).unwrap();
        assert_eq!(
            (summary.rows, summary.accepted),
            (rows, rows),
            "{name}: {:?}",
            summary.rejections.first()
        );
        match &summary.format {
            SourceFormat::Csv {
                delimiter,
                bom,
                windows_1252,
            } => {
                let want = if style.tabs {
                    b'\t'
                } else if style.semicolons {
                    b';'
                } else {
                    b','
                };
                assert_eq!(*delimiter, want, "{name} delimiter");
                assert_eq!(*bom, style.bom, "{name} bom");
                assert_eq!(*windows_1252, style.windows_1252, "{name} encoding");
            }
            SourceFormat::Spreadsheet { sheet } => assert_eq!(sheet, "Deltagare"),
        }
        let dropped: Vec<&str> = summary.dropped_columns.iter().map(String::as_str).collect();
        let want: &[&str] = match (style.extra_columns, style.swedish) {
            (false, _) => &[],
            (true, true) => &["Förnamn", "Efternamn", "Adress"],
            (true, false) => &["first_name", "last_name", "address"],
        };
        assert_eq!(dropped, want, "{name}: dropped columns named");
        assert_eq!(
            build(&path),
            expected,
            "{name}: same submission as the plain form"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Every personnummer `synth` makes is valid, whatever the seed and form.
    #[test]
    fn every_synthetic_personnummer_is_valid(seed in any::<u64>(), short in any::<bool>(), swedish in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let style = Style { short_personnummer: short, swedish, ..Style::default() };
        let (path, rows) = synth(dir.path(), "p.csv", style, seed, 0.0);
        let summary = read_file(&path, &settings(), |_| {}).unwrap();
        prop_assert_eq!(summary.accepted, rows);
        prop_assert!(summary.rejections.is_empty());
    }
}

/// `synth --bad-rows` makes each kind of bad row, and each is caught and counted.
#[test]
fn synthetic_bad_rows_are_all_caught() {
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions {
        projects: vec!["UNG".parse().unwrap()],
        period: "2024".parse().unwrap(),
        participants: 400,
        seed: 9,
        style: Style {
            swedish: true,
            semicolons: true,
            ..Style::default()
        },
        bad_rows: 0.1,
    };
    let path = dir.path().join("bad.csv");
    let report = write_export(&path, &options).unwrap();
    let summary = read_file(&path, &settings(), |_| {}).unwrap();
    assert_eq!(summary.rows, report.rows);
    assert_eq!(summary.rejections.len() as u64, report.bad_rows);
    assert_eq!(summary.accepted + report.bad_rows, report.rows);
    let kinds: Vec<&str> = summary
        .rejections_by_kind()
        .iter()
        .map(|(k, _)| *k)
        .collect();
    for kind in samla_node::synth::BAD_ROW_KINDS {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// One file with every kind of bad row: exact lines, columns, reasons and counts.
#[test]
fn each_kind_of_bad_row_is_reported_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let long_line = format!("199807319935;UNG;2024-03-05;;;;{}\n", "x".repeat(1 << 20));
    let text = [
        "personal_id;project;start_date;end_date;outcome;gender;Förnamn\n",
        "199807319935;UNG;2024-03-05;;;;Erik\n", // 2 ok
        "199807319936;UNG;2024-03-05;;;;Erik\n", // 3 check digit
        "200503129884;UNG;2024-02-30;;;;Åsa\n",  // 4 impossible date
        "200503129884;UNG;2024-03-05;2024-03-01;work;;Åsa\n", // 5 end before start
        "200503129884;NOPE;2024-03-05;;;;Åsa\n", // 6 unknown project
        "200503129884;ung;2024-03-05;2024-04-01;pension;;Åsa\n", // 7 unknown outcome
        "\"200701659955\";\"UNG\";\"20240305\";\"\";\"\";\"X\";\"Berg; Anna\"\n", // 8 ok
        long_line.as_str(),                      // 9 too long
        "199807319935;UNG;2024-03-05;;\n",       // 10 too few fields
        ";UNG;2024-03-05;;;;Erik\n",             // 11 missing personnummer
        "198001011234;UNG;1980-01-01-x;;;;Erik\n", // 12 check digit (first fault)
        "200503129884;UNG;2024-03-05;2024-05-01;;;Åsa\n", // 13 ended without outcome
        "200503129884;UNG;2024-03-05;;arbete;;Åsa\n", // 14 outcome without end
        "200503129884;UNG;2024-03-05;;;okänd;Åsa\n", // 15 unknown gender
        "200503129884;UNG;05/03/2024;;;;Åsa\n",  // 16 malformed date
        "200503129884;UNG;2024-03-05;;;kvinna;Åsa\n", // 17 ok
    ]
    .concat();
    let path = write(dir.path(), "bad.csv", text.as_bytes());
    let mut accepted = 0;
    let summary = read_file(&path, &settings(), |_| accepted += 1).unwrap();
    assert_eq!(summary.rows, 16);
    assert_eq!(summary.accepted, 3);
    assert_eq!(accepted, 3);
    let got: Vec<String> = summary.rejections.iter().map(ToString::to_string).collect();
    let want = [
        "line 3, column 1 (personal_id): personnummer check digit is wrong (Luhn check failed)",
        "line 4, column 3 (start_date): start_date: \"2024-02-30\" is not a day in the calendar",
        "line 5, column 4 (end_date): end date is before start date",
        "line 6, column 2 (project): project \"NOPE\" is not in the node config (known: UNG, OMSTART)",
        "line 7, column 5 (outcome): outcome \"pension\" is not understood (accepted: work, arbete, anställning, egen företagare; studies, studier, studerar, utbildning; job_seeking, arbetssökande, job seeking; other_activity, annan insats, other activity; dropout, avbrott; unknown, okänt, okand, okänd)",
        "line 9: row is 1048601 bytes, more than the limit of 65536; the file may be damaged or a quote left open",
        "line 10: row has 5 fields but the header has 7; check for a stray delimiter or a missing quote",
        "line 11, column 1 (personal_id): personal_id is empty but required",
        "line 12, column 1 (personal_id): personnummer check digit is wrong (Luhn check failed)",
        "line 13, column 5 (outcome): end date given but no outcome: write the outcome, or okänt/unknown if it is not known",
        "line 14, column 5 (outcome): outcome given but no end date: an outcome belongs to an ended participation",
        "line 15, column 6 (gender): gender \"okänd\" is not understood (accepted: K, kvinna, woman, female, f; M, man, male; X, annat, non-binary, nonbinary, other)",
        "line 16, column 3 (start_date): start_date: \"05/03/2024\" is not a date: write 2024-03-05 or 20240305",
    ];
    assert_eq!(got, want);
    let kinds = summary.rejections_by_kind();
    assert!(kinds.contains(&("personnummer check digit wrong", 2)));
    assert_eq!(summary.dropped_columns, ["Förnamn"]);
    // No message holds a personnummer in any form.
    for line in &got {
        for pnr in [
            "199807319936",
            "9807319936",
            "198001011234",
            "8001011234",
            "200503129884",
            "0503129884",
        ] {
            assert!(!line.contains(pnr), "{line}");
        }
    }
}

#[test]
fn a_personnummer_in_the_wrong_column_is_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "swap.csv",
        b"personal_id,project,start_date\n2024-03-05,UNG,19980731-9935\n",
    );
    let summary = read_file(&path, &settings(), |_| {}).unwrap();
    let text = summary.rejections[0].to_string();
    assert!(
        !text.contains("9807319935") && !text.contains("980731"),
        "{text}"
    );
}

#[test]
fn files_that_cannot_be_used_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.csv", b"");
    assert!(matches!(
        read_file(&empty, &settings(), |_| {}),
        Err(IngestError::Empty { .. })
    ));
    let bom_only = write(dir.path(), "bom.csv", b"\xEF\xBB\xBF\r\n");
    assert!(matches!(
        read_file(&bom_only, &settings(), |_| {}),
        Err(IngestError::Empty { .. })
    ));
    let header = write(
        dir.path(),
        "header.csv",
        "Personnummer;Projekt;Startdatum\r\n".as_bytes(),
    );
    assert!(matches!(
        read_file(&header, &settings(), |_| {}),
        Err(IngestError::NoDataRows { .. })
    ));
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let binary = write(dir.path(), "garbage.csv", &garbage);
    assert!(matches!(
        read_file(&binary, &settings(), |_| {}),
        Err(IngestError::Binary { .. })
    ));
    let missing = write(
        dir.path(),
        "missing.csv",
        b"personal_id,project,end_date\n199807319935,UNG,\n",
    );
    let err = read_file(&missing, &settings(), |_| {}).unwrap_err();
    let IngestError::MissingColumns(missing_columns) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(missing_columns.fields, [Field::StartDate]);
    assert_eq!(
        err.to_string(),
        format!(
            "{}: no column for start_date in the header on line 1 (personal_id, project, end_date)\n\n\
             Accepted headers: start_date or Startdatum. Rename the column(s), or map their headers in the node config under [columns].",
            missing.display()
        )
    );
    let twice = write(
        dir.path(),
        "twice.csv",
        b"personal_id,Personnummer,project,start_date\n",
    );
    assert!(matches!(
        read_file(&twice, &settings(), |_| {}),
        Err(IngestError::DuplicateColumn {
            field: Field::Personnummer,
            ..
        })
    ));
    let fake_xlsx = write(dir.path(), "fake.xlsx", b"PK\x03\x04 not really a zip");
    assert!(matches!(
        read_file(&fake_xlsx, &settings(), |_| {}),
        Err(IngestError::Spreadsheet { .. })
    ));
}

#[test]
fn header_mapping_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let text = "kommun = \"2181\"\nkey_file = \"k\"\n[[project]]\ncode = \"UNG\"\nlinkage_domain = \"d\"\n\
        [columns]\n\"Pnr\" = \"personal_id\"\n\"Inskriven\" = \"start_date\"\n\"Utskriven\" = \"end_date\"\n";
    let config = NodeConfig::parse(text, &dir.path().join("n.toml")).unwrap();
    let settings = pipeline::ingest_settings(&config, &config.project_codes(), REFERENCE);
    // No project column: a single-project config supplies it.
    let path = write(
        dir.path(),
        "mapped.csv",
        "PNR;INSKRIVEN;Utskriven;Utfall\n980731-9935;2024-01-10;2024-06-30;Studier\n".as_bytes(),
    );
    let mut records = Vec::new();
    let summary = read_file(&path, &settings, |r| records.push(r)).unwrap();
    assert_eq!(summary.accepted, 1, "{:?}", summary.rejections);
    assert_eq!(records[0].project.as_str(), "UNG");
    assert_eq!(
        records[0].outcome,
        Some(samla_common::codes::Outcome::Studies)
    );
    assert_eq!(records[0].personnummer.as_str(), "199807319935");
}

#[test]
fn spreadsheet_rows_are_numbered_as_in_the_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions {
        projects: vec!["UNG".parse().unwrap()],
        period: "2024".parse().unwrap(),
        participants: 60,
        seed: 5,
        style: Style::default(),
        bad_rows: 0.2,
    };
    let xlsx = dir.path().join("bad.xlsx");
    let csv = dir.path().join("bad.csv");
    write_export(&xlsx, &options).unwrap();
    write_export(&csv, &options).unwrap();
    let a = read_file(&xlsx, &settings(), |_| {}).unwrap();
    let b = read_file(&csv, &settings(), |_| {}).unwrap();
    assert!(!a.rejections.is_empty());
    let lines = |s: &samla_node::ingest::FileSummary| {
        s.rejections
            .iter()
            .map(|r| (r.line, r.error.kind()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        lines(&a),
        lines(&b),
        "same rows rejected at the same row numbers"
    );
}

#[test]
fn an_open_quote_is_reported_and_the_rows_before_it_kept() {
    // A row with an open quote swallows what follows into one field; the rows before
    // it still count and the damage is reported, not hidden.
    let dir = tempfile::tempdir().unwrap();
    let text = "personal_id,project,start_date\n199807319935,UNG,2024-03-05\n\"200503129884,UNG,2024-03-05\n199807319935,UNG,2024-03-05\n";
    let path = write(dir.path(), "quote.csv", text.as_bytes());
    let summary = read_file(&path, &settings(), |_| {}).unwrap();
    assert_eq!(summary.accepted, 1);
    assert_eq!(summary.rows, 2);
    assert!(matches!(
        summary.rejections[0].error,
        RowError::FieldCount {
            found: 1,
            expected: 3
        }
    ));
}

/// Many batches on several threads give exactly what one thread gives: the same
/// counts, the same rejections in file order, the same submission.
#[test]
fn several_reading_threads_agree_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions {
        projects: vec!["UNG".parse().unwrap(), "OMSTART".parse().unwrap()],
        period: "2024-01-01..2025-12-31".parse().unwrap(),
        participants: 6000,
        seed: 11,
        style: Style {
            windows_1252: true,
            swedish: true,
            extra_columns: true,
            ..Style::default()
        },
        bad_rows: 0.03,
    };
    let path = dir.path().join("many.csv");
    write_export(&path, &options).unwrap();
    let one = read_file(&path, &settings(), |_| {}).unwrap();
    let mut sinks: Vec<fn(samla_common::record::ParticipantRecord)> = vec![|_| {}; 3];
    let three = samla_node::ingest::read_file_parallel(&path, &settings(), &mut sinks).unwrap();
    assert!(one.rows > 6000 && one.rejections.len() > 100);
    assert_eq!((three.rows, three.accepted), (one.rows, one.accepted));
    assert_eq!(three.rejections, one.rejections);
    assert_eq!(three.format, one.format);
    assert!(matches!(
        three.format,
        SourceFormat::Csv {
            windows_1252: true,
            ..
        }
    ));
}
