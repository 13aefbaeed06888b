//! Headers are never silently wrong: each misnamed header of a real export is flagged
//! with its fix and makes `check` exit 1; missing required columns are named at once
//! with the header row; a sheet's title rows are skipped and the header row named;
//! text dates and date-time cells with a midnight time are dates.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::path::Path;

use samla_common::record::ParticipantRecord;
use samla_node::ingest::{read_file, Field, IngestError, IngestSettings};
use time::macros::date;

mod support;

use support::{node, stderr, stdout};

const CONFIG: &str = "kommun = \"0765\"\nkey_file = \"master.key\"\n[[project]]\ncode = \"UNG\"\nlinkage_domain = \"kronoberg\"\n";

/// A node directory with a Swedish export whose header `from` is renamed `to`.
fn export_with(dir: &Path, from: &str, to: &str) {
    let o = node(dir, &["key", "generate", "--out", "master.key"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(dir.join("samla-node.toml"), CONFIG).unwrap();
    let o = node(
        dir,
        &[
            "synth",
            "--out",
            "export.csv",
            "--period",
            "2022",
            "--participants",
            "80",
            "--swedish",
            "--semicolons",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.join("export.csv")).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let renamed: Vec<&str> = header
        .split(';')
        .map(|h| if h == from { to } else { h })
        .collect();
    assert!(renamed.contains(&to), "{header}");
    std::fs::write(
        dir.join("export.csv"),
        format!("{}\n{rows}", renamed.join(";")),
    )
    .unwrap();
}

#[test]
fn each_misnamed_optional_header_is_flagged_with_its_fix_and_check_exits_1() {
    let cases = [
        (
            "Utbildningsnivå",
            "Utbildning",
            15,
            "Utbildningsnivå",
            "education",
        ),
        ("Kön", "Kon", 6, "Kön", "gender"),
        ("Utfall", "Resultat", 5, "Utfall", "outcome"),
    ];
    for (from, to, column, standard, field) in cases {
        let dir = tempfile::tempdir().unwrap();
        export_with(dir.path(), from, to);
        let o = node(dir.path(), &["check", "export.csv"]);
        assert_eq!(o.status.code(), Some(1), "{to}: {}", stdout(&o));
        let warning = format!(
            "  varning: kolumn {column} `{to}` liknar `{standard}` ({field}): byt namn eller lägg till under [columns]: \"{to}\" = \"{field}\" (eller \"ignore\" om den är något annat)\n"
        );
        assert!(stdout(&o).contains(&warning), "{to}: {}", stdout(&o));
        assert!(
            stdout(&o).contains(&format!(
                "optional fields with no column (empty in every row): {field}"
            )),
            "{}",
            stdout(&o)
        );
        // `preview` says the same and exits 1 too.
        let o = node(dir.path(), &["preview", "export.csv", "--period", "2022"]);
        assert_eq!(o.status.code(), Some(1), "{to}: {}", stderr(&o));
        assert!(stderr(&o).contains(&warning), "{}", stderr(&o));

        // The fix the warning gives makes the file clean.
        let config = format!("{CONFIG}[columns]\n\"{to}\" = \"{field}\"\n");
        std::fs::write(dir.path().join("samla-node.toml"), &config).unwrap();
        let o = node(dir.path(), &["check", "export.csv"]);
        assert_eq!(o.status.code(), Some(0), "{to}: {}", stdout(&o));
        assert!(!stdout(&o).contains("varning"), "{}", stdout(&o));
        // So does saying the column is something else.
        let config = format!("{CONFIG}[columns]\n\"{to}\" = \"ignore\"\n");
        std::fs::write(dir.path().join("samla-node.toml"), &config).unwrap();
        let o = node(dir.path(), &["check", "export.csv"]);
        assert!(!stdout(&o).contains("varning"), "{}", stdout(&o));
        assert!(
            stdout(&o).contains(&format!("columns dropped (not fields, never read): {to}")),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn a_misnamed_personnummer_column_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    export_with(dir.path(), "Personnummer", "Personnr");
    let o = node(dir.path(), &["check", "export.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("samla-node: export.csv: no column for personal_id in the header on line 1 (Personnr, Projekt, Startdatum,"),
        "{err}"
    );
    assert!(
        err.contains("kolumn 1 `Personnr` liknar `Personnummer` (personal_id): byt namn eller lägg till under [columns]: \"Personnr\" = \"personal_id\""),
        "{err}"
    );
    assert!(
        err.contains("Accepted headers: personal_id or Personnummer."),
        "{err}"
    );
}

fn settings(projects: &[&str]) -> IngestSettings {
    IngestSettings {
        progress: false,
        projects: projects.iter().map(|p| p.parse().unwrap()).collect(),
        columns: Default::default(),
        reference_date: date!(2026 - 11 - 23),
    }
}

#[test]
fn every_missing_required_column_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.csv");
    std::fs::write(
        &path,
        "Namn;Pnr;Start;Slutdatum\nÅsa;200503129884;2024-03-05;\n",
    )
    .unwrap();
    let err = read_file(&path, &settings(&["UNG", "OMSTART"]), |_| {}).unwrap_err();
    let IngestError::MissingColumns(missing) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        missing.fields,
        [Field::Personnummer, Field::Project, Field::StartDate]
    );
    let fields: Vec<Field> = missing.resembling.iter().map(|w| w.field).collect();
    assert_eq!(fields, [Field::Personnummer, Field::StartDate]);
    let text = err.to_string();
    assert!(
        text.contains("no column for personal_id, project, start_date in the header on line 1 (Namn, Pnr, Start, Slutdatum)"),
        "{text}"
    );
    assert!(
        text.contains("Accepted headers: personal_id or Personnummer; project or Projekt; start_date or Startdatum."),
        "{text}"
    );
}

/// Writes a sheet with `titles` title rows above the header and these data rows.
fn sheet(path: &Path, titles: &[&str], header: &[&str], rows: &[&[&str]]) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let mut r = 0u32;
    for title in titles {
        if !title.is_empty() {
            sheet.write_string(r, 0, *title).unwrap();
        }
        r += 1;
    }
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(r, c as u16, *h).unwrap();
    }
    for row in rows {
        r += 1;
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r, c as u16, *v).unwrap();
        }
    }
    workbook.save(path).unwrap();
}

#[test]
fn a_sheet_with_title_rows_is_read_from_its_header_row_which_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deltagare.xlsx");
    let header = ["Personnummer", "Startdatum", "Slutdatum", "Utfall"];
    sheet(
        &path,
        &["Deltagarlista UNG, Älmhults kommun", "", "Uttag 2025-06-30"],
        &header,
        &[
            &["200503129884", "2024-03-05", "", ""],
            &[
                "199807319935",
                "2022-08-06 00:00:00",
                "2023-01-31",
                "arbete",
            ],
            &["200701659955", "2022-08-06 13:45:00", "", ""],
        ],
    );
    let summary = read_file(&path, &settings(&["UNG"]), |_| {}).unwrap();
    assert_eq!(summary.header_at, "row 4");
    assert_eq!(summary.title_rows, 2, "the empty row is not counted");
    assert_eq!((summary.rows, summary.accepted), (3, 2));
    // A text date with a midnight time is a date; another time is refused, readably.
    assert_eq!(
        summary.rejections[0].to_string(),
        "line 7, column 2 (Startdatum): start_date: \"2022-08-06 13:45:00\" has a time of day: write the date alone, 2022-08-06"
    );
    let mut out = Vec::new();
    samla_node::output::write_file_summary(&mut out, &summary).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("  header on row 4 (2 title row(s) above it skipped)\n"),
        "{out}"
    );

    // Without its start date column the sheet is refused, naming the header row.
    let path = dir.path().join("utan-start.xlsx");
    sheet(
        &path,
        &["Deltagarlista"],
        &["Personnummer", "Inskriven", "Kommentar"],
        &[&["200503129884", "2024-03-05", "x"]],
    );
    let err = read_file(&path, &settings(&["UNG"]), |_| {}).unwrap_err();
    assert!(
        err.to_string().contains(
            "no column for start_date in the header on row 2 (Personnummer, Inskriven, Kommentar)"
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("kolumn 2 `Inskriven` liknar `Startdatum` (start_date)"),
        "{err}"
    );
}

#[test]
fn date_time_cells_at_midnight_are_dates_and_other_times_are_refused() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("datumtid.xlsx");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let with_time = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    for (c, h) in ["Personnummer", "Startdatum", "Slutdatum", "Utfall"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let at = |y, m, d, hour, minute| {
        ExcelDateTime::from_ymd(y, m, d)
            .unwrap()
            .and_hms(hour, minute, 0)
            .unwrap()
    };
    // A date-time cell at midnight, and a text date with a midnight time.
    sheet.write_string(1, 0, "199807319935").unwrap();
    sheet
        .write_datetime_with_format(1, 1, at(2022, 8, 6, 0, 0), &with_time)
        .unwrap();
    sheet.write_string(1, 2, "2023-01-31 00:00:00").unwrap();
    sheet.write_string(1, 3, "arbete").unwrap();
    // A date-time cell with a time of day.
    sheet.write_string(2, 0, "200503129884").unwrap();
    sheet
        .write_datetime_with_format(2, 1, at(2022, 8, 6, 13, 45), &with_time)
        .unwrap();
    workbook.save(&path).unwrap();

    let mut accepted = Vec::new();
    let summary = read_file(&path, &settings(&["UNG"]), |r: ParticipantRecord| {
        accepted.push((r.start, r.end));
    })
    .unwrap();
    assert_eq!((summary.rows, summary.accepted), (2, 1));
    assert_eq!(
        accepted,
        [(date!(2022 - 08 - 06), Some(date!(2023 - 01 - 31)))]
    );
    assert_eq!(
        summary.rejections[0].to_string(),
        "line 3, column 2 (Startdatum): start_date: \"2022-08-06 13:45:00\" has a time of day: write the date alone, 2022-08-06"
    );
}

/// Every form of a personnummer as it may be written.
fn forms(long: &str) -> [String; 4] {
    [
        long.to_owned(),
        long[2..].to_owned(),
        format!("{}-{}", &long[..8], &long[8..]),
        format!("{}-{}", &long[2..8], &long[8..]),
    ]
}

#[test]
fn a_personnummer_used_as_a_column_header_is_withheld_in_every_message() {
    // One header is a personnummer: a dropped column, a column mapped to a field whose
    // values are refused, and a column where a required one should be.
    for (from, to, mapped) in [
        ("Psykisk ohälsa", "19980731-9935", None),
        ("Startdatum", "199807319935", Some("start_date")),
        ("Startdatum", "9807319935", None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        export_with(dir.path(), from, to);
        if let Some(field) = mapped {
            let config = format!("{CONFIG}[columns]\n\"{to}\" = \"{field}\"\n");
            std::fs::write(dir.path().join("samla-node.toml"), config).unwrap();
            // A refused value in that column names its column.
            let text = std::fs::read_to_string(dir.path().join("export.csv")).unwrap();
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let header: Vec<&str> = lines[0].split(';').collect();
            let at = header.iter().position(|h| *h == to).unwrap();
            let mut row: Vec<String> = lines[1].split(';').map(str::to_owned).collect();
            row[at] = "not a date".to_owned();
            lines[1] = row.join(";");
            std::fs::write(dir.path().join("export.csv"), lines.join("\n") + "\n").unwrap();
        }
        let runs = [
            node(dir.path(), &["check", "export.csv"]),
            node(dir.path(), &["preview", "export.csv", "--period", "2022"]),
        ];
        for o in &runs {
            let all = stdout(o) + &stderr(o);
            assert!(
                all.contains("digits, not shown"),
                "{to}: the header is named as withheld: {all}"
            );
            for form in forms("199807319935") {
                assert!(!all.contains(&form), "{to}: {form} in\n{all}");
            }
        }
    }
}
