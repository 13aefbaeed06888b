//! What both binaries' `audit` commands share (DESIGN.md §8): reading a bundle (a
//! privacy officer's export of a node's or the hub's transfer log, named as a
//! directory holding `node-bundle.json` or `hub-bundle.json`, or as the JSON file
//! itself), printing findings with their exit status, and the cross-check of a node
//! bundle against a hub bundle; and, in [`view`], what `show`, `payload` and `report`
//! print of either log. The checks themselves are `samla_common::audit`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use samla_common::audit::content::{self, ContentFile, CONTENT_FILE};
use samla_common::audit::html::AuditReport;
use samla_common::audit::person::{finding_line, Lang};
use samla_common::audit::{self, Finding, HubBundle, NodeBundle};

use crate::args::ReportFormatArg;
use serde::de::DeserializeOwned;

use crate::files::{self, read_small, FileError};

pub mod view;

/// The largest bundle read, in bytes.
pub const MAX_BUNDLE_BYTES: u64 = 4 << 30;

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The file could not be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file is not a bundle.
    #[error("{path} is not a samla bundle")]
    NotABundle {
        /// The file.
        path: PathBuf,
        /// What the JSON decoder found.
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a bundle: `path` itself, or the file `name` inside it if it is a directory.
pub fn read_bundle<T: DeserializeOwned>(path: &Path, name: &str) -> Result<T, BundleError> {
    let file = if path.is_dir() {
        path.join(name)
    } else {
        path.to_owned()
    };
    let bytes = read_small(&file, MAX_BUNDLE_BYTES, "bundle")?;
    serde_json::from_slice(&bytes).map_err(|source| BundleError::NotABundle { path: file, source })
}

/// Writes a bundle as `name` (pretty JSON) and its `README.md` into `dir` (created if
/// missing; existing files are never overwritten).
pub fn export(
    dir: &Path,
    name: &str,
    bundle: &impl serde::Serialize,
    readme: &str,
) -> Result<(), FileError> {
    files::create_dir(dir)?;
    let path = dir.join(name);
    let json = serde_json::to_vec_pretty(bundle).map_err(|e| FileError::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    files::write_public(&path, &json)?;
    files::write_public(&dir.join("README.md"), readme.as_bytes())
}

/// Prints the findings, or `ok` if there are none; exit status 1 if there are any.
pub fn report(out: &mut impl Write, findings: &[Finding], ok: &str) -> std::io::Result<ExitCode> {
    let (text, clean) = audit::report(findings, ok);
    write!(out, "{text}")?;
    Ok(exit_status(clean))
}

/// Exit status 0 for a clean check, 1 for one with findings.
fn exit_status(clean: bool) -> ExitCode {
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `audit cross-check NODE HUB` of either binary, in English.
pub fn cross_check(node: &Path, hub: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    cross_check_in(node, hub, out, Lang::En)
}

/// `audit cross-check NODE HUB` of either binary: the two bundles read, held against
/// each other (and their content files, when both directories hold one), and the
/// findings printed in `lang`.
pub fn cross_check_in(
    node_path: &Path,
    hub_path: &Path,
    out: &mut impl Write,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    let node: NodeBundle = read_bundle(node_path, "node-bundle.json")?;
    let hub: HubBundle = read_bundle(hub_path, "hub-bundle.json")?;
    let mut findings = audit::cross_check(&node, &hub);
    let contents = (read_content(node_path)?, read_content(hub_path)?);
    let compared = matches!(contents, (Some(_), Some(_)));
    if let (Some(n), Some(h)) = contents {
        let acknowledged: Vec<_> = node
            .submissions
            .iter()
            .filter(|s| s.receipt.is_some())
            .map(|s| s.id)
            .collect();
        findings.extend(
            content::compare(&n, &h, &acknowledged)
                .into_iter()
                .map(Finding::Content),
        );
    }
    let ok = match (lang, compared) {
        (Lang::Sv, true) => format!("ok: kommun {}s logg och hubbens logg stämmer överens, och innehållet som skickades är det som lagrades", node.kommun),
        (Lang::Sv, false) => format!("ok: kommun {}s logg och hubbens logg stämmer överens", node.kommun),
        (Lang::En, true) => format!("ok: kommun {}'s log and the hub's log agree, and the content sent is the content stored", node.kommun),
        (Lang::En, false) => format!("ok: kommun {}'s log and the hub's log agree", node.kommun),
    };
    Ok(report_in(out, &findings, &ok, lang)?)
}

/// The content file of a bundle directory, if it has one.
fn read_content(bundle: &Path) -> Result<Option<ContentFile>, BundleError> {
    let dir = if bundle.is_dir() {
        bundle.to_owned()
    } else {
        bundle.parent().map(Path::to_owned).unwrap_or_default()
    };
    let path = dir.join(CONTENT_FILE);
    if !path.exists() {
        return Ok(None);
    }
    read_bundle(&path, CONTENT_FILE).map(Some)
}

/// Writes a bundle like [`export`], and its content file beside it.
pub fn export_with_content(
    dir: &Path,
    name: &str,
    bundle: &impl serde::Serialize,
    content: &ContentFile,
    readme: &str,
) -> Result<(), FileError> {
    export(dir, name, bundle, readme)?;
    let path = dir.join(CONTENT_FILE);
    let json = serde_json::to_vec_pretty(content).map_err(|e| FileError::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    files::write_public(&path, &json)
}

/// What `verify` prints, in `lang`: the `ok` line if there are no findings, else one
/// line per finding (`FEL …` / `FAIL …`); and whether it is clean.
pub fn lines_in(findings: &[Finding], ok: &str, lang: Lang) -> (Vec<String>, bool) {
    if findings.is_empty() {
        (vec![ok.to_owned()], true)
    } else {
        (
            findings.iter().map(|f| finding_line(f, lang)).collect(),
            false,
        )
    }
}

/// Prints the findings in `lang`, or `ok` if there are none; exit status 1 if there
/// are any.
pub fn report_in(
    out: &mut impl Write,
    findings: &[Finding],
    ok: &str,
    lang: Lang,
) -> std::io::Result<ExitCode> {
    let (lines, clean) = lines_in(findings, ok, lang);
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(exit_status(clean))
}

/// Writes an audit report as text or HTML to `path` (never overwriting a file), or
/// to `out`.
pub fn write_report(
    report: &AuditReport,
    format: ReportFormatArg,
    path: Option<&Path>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let text = match format {
        ReportFormatArg::Html => report.html(),
        ReportFormatArg::Text => report.text(),
    };
    match path {
        Some(path) => {
            files::write_public(path, text.as_bytes())?;
            let (sv, en) = (
                "skrev granskningsrapporten till",
                "wrote the audit report to",
            );
            writeln!(out, "{} {}", report.lang.pick(sv, en), path.display())?;
        }
        None => write!(out, "{text}")?,
    }
    Ok(())
}
