// Shared by the ingest targets: writes the bytes to a file and reads it as an export.

use std::io::Write;

pub fn read_export(data: &[u8], extension: &str) {
    let dir = std::env::temp_dir().join(format!("samla-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("export.{extension}"));
    let Ok(mut file) = std::fs::File::create(&path) else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    drop(file);
    let settings = samla_node::ingest::IngestSettings {
        projects: vec!["UNG".parse().expect("a project code")],
        columns: Default::default(),
        reference_date: samla_common::period::parse_date("2026-01-01").expect("a date"),
        progress: false,
    };
    let _ = samla_node::pipeline::check(&[path], &settings);
}
