//! Reading a report written with `--format json`: a table by its name, and a cell's
//! count by its key.

use serde_json::Value;

/// The table `name` of a JSON report.
pub fn table<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("the report has no table {name}"))
}

/// The cells of the table `name` of a JSON report.
pub fn cells<'a>(report: &'a Value, name: &str) -> &'a Vec<Value> {
    table(report, name)["cells"].as_array().unwrap()
}

/// The count of the cell with `key` in the table `name` (null if suppressed).
pub fn count<'a>(report: &'a Value, name: &str, key: &[&str]) -> &'a Value {
    let key = serde_json::json!(key);
    &cells(report, name)
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("table {name} has no cell {key}"))["count"]
}
