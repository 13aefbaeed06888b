//! The daemon's inbox directory: which files are exports, when a file is settled,
//! and moving files on once they are done with.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use samla_common::text::shown;

/// The extensions of the exports the daemon reads: delimited text and the
/// spreadsheets ingest reads. Anything else in the inbox is left alone.
pub const EXPORT_EXTENSIONS: [&str; 7] = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "ods"];

/// The inbox's files, by name: exports to read, and other files that are not
/// exports. Names starting with `.` or ending in `.tmp` or `.part` are files still
/// being copied in and are not listed at all.
pub fn files(inbox: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(inbox) else {
        return (Vec::new(), Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            let name = file_name(p);
            !name.starts_with('.') && !name.ends_with(".tmp") && !name.ends_with(".part")
        })
        .collect();
    files.sort();
    files.into_iter().partition(|p| is_export(p))
}

/// Whether a file's extension is one of [`EXPORT_EXTENSIONS`].
pub fn is_export(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXPORT_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Whether a file has not changed for `settle`.
pub fn settled(file: &Path, settle: Duration) -> bool {
    std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age >= settle)
}

/// Moves a file into a directory, adding `.1`, `.2`, … if the name is taken.
pub fn move_into(file: &Path, dir: &Path) {
    let name = file_name(file);
    let mut target = dir.join(&name);
    let mut n = 0;
    while target.exists() {
        n += 1;
        target = dir.join(format!("{name}.{n}"));
    }
    if let Err(e) = std::fs::rename(file, &target) {
        tracing::error!(file = %log_name(file), error = %e, "could not move the export; it will be seen again and recognised");
    }
}

/// A file's name.
pub fn file_name(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A file's name for logs: a name with ten digits or more is withheld (a file named
/// after a personnummer must not put it in a log).
pub fn log_name(file: &Path) -> String {
    shown(&file_name(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exports_are_read_and_files_being_copied_are_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.csv",
            "a.XLSX",
            "c.tsv",
            "d.txt",
            "e.ods",
            "anteckning.pdf",
            "notes",
            "f.csv.part",
            ".g.csv",
            "h.tmp",
        ] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let (exports, others) = files(dir.path());
        let names = |v: &[PathBuf]| v.iter().map(|p| file_name(p)).collect::<Vec<_>>();
        assert_eq!(
            names(&exports),
            ["a.XLSX", "b.csv", "c.tsv", "d.txt", "e.ods"]
        );
        assert_eq!(names(&others), ["anteckning.pdf", "notes"]);
    }
}
