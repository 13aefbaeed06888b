//! The audit report a privacy officer archives (`audit report`): what was checked
//! and what it found, one summary line per submission, and the whole transfer log,
//! as one self-contained HTML page (inline CSS, no scripts, no external resources)
//! or as plain text. Both binaries build an [`AuditReport`] and render it here.
//!
//! Pure: the report's content and the time it was made come in as arguments.

use std::fmt::Write as _;

use super::person::{local_second, Lang};

/// What an audit report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The language it is written in.
    pub lang: Lang,
    /// Whose log: `samla-node, kommun 2180` or `samla-hub, samla.regiongavleborg.se`.
    pub subject: String,
    /// When the report was made (Unix seconds).
    pub made_at: i64,
    /// Whether every check passed.
    pub clean: bool,
    /// What the verification says: the ok line, or one line per finding.
    pub verification: Vec<String>,
    /// One summary line per submission.
    pub submissions: Vec<String>,
    /// The log's column names.
    pub header: Vec<String>,
    /// The log's entries.
    pub rows: Vec<Vec<String>>,
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,'Segoe UI',Arial,sans-serif;margin:2em;color:#1b1b1b;max-width:80em}\
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\
.meta{color:#555}.verdict{padding:.8em 1em;border-radius:4px;font-weight:600;margin:1em 0}\
.ok{background:#e6f4ea;border:1px solid #2e7d32;color:#1b5e20}.fail{background:#fdecea;border:1px solid #c62828;color:#8e0000}\
ul{padding-left:1.2em}li{margin:.25em 0}table{border-collapse:collapse;font-size:.85em;width:100%}\
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}td:nth-child(-n+4){white-space:nowrap}th{background:#f2f2f2}\
tr:nth-child(even) td{background:#fafafa}code,.id{font-family:ui-monospace,Consolas,monospace;font-size:.95em}\
footer{margin-top:2em;color:#555;font-size:.85em}";

impl AuditReport {
    /// The report as one self-contained HTML page.
    pub fn html(&self) -> String {
        let l = self.lang;
        let mut out = String::new();
        let title = format!(
            "{} – {}",
            l.pick(
                "Granskningsrapport för överföringsloggen",
                "Transfer log audit report"
            ),
            self.subject
        );
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            l.pick("sv", "en"),
            escape(&title)
        );
        let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
        let _ = writeln!(
            out,
            "<p class=\"meta\">{} {}</p>",
            l.pick("Skapad", "Made"),
            escape(&local_second(self.made_at))
        );
        let (class, verdict) = if self.clean {
            (
                "ok",
                l.pick(
                    "Kontrollen gick igenom: loggen och det lagrade innehållet är oförändrade.",
                    "The check passed: the log and the stored content are unchanged.",
                ),
            )
        } else {
            (
                "fail",
                l.pick(
                    "Kontrollen hittade fel: se nedan vad som inte stämmer.",
                    "The check found problems: see below what does not hold.",
                ),
            )
        };
        let _ = writeln!(
            out,
            "<div class=\"verdict {class}\">{}</div>",
            escape(verdict)
        );
        let _ = writeln!(out, "<h2>{}</h2>\n<ul>", l.pick("Kontroll", "Verification"));
        for line in &self.verification {
            let _ = writeln!(out, "<li>{}</li>", escape(line));
        }
        let _ = writeln!(out, "</ul>");
        let _ = writeln!(
            out,
            "<h2>{} ({})</h2>\n<ul>",
            l.pick("Inlämningar", "Submissions"),
            self.submissions.len()
        );
        if self.submissions.is_empty() {
            let _ = writeln!(
                out,
                "<li>{}</li>",
                l.pick("Inga inlämningar.", "No submissions.")
            );
        }
        for line in &self.submissions {
            let _ = writeln!(out, "<li>{}</li>", escape(line));
        }
        let _ = writeln!(out, "</ul>");
        let _ = writeln!(
            out,
            "<h2>{} ({} {})</h2>\n<table>\n<thead><tr>",
            l.pick("Överföringsloggen", "The transfer log"),
            self.rows.len(),
            l.pick("poster", "entries")
        );
        for h in &self.header {
            let _ = write!(out, "<th>{}</th>", escape(h));
        }
        let _ = writeln!(out, "</tr></thead>\n<tbody>");
        for row in &self.rows {
            out.push_str("<tr>");
            for cell in row {
                let _ = write!(out, "<td>{}</td>", escape(cell));
            }
            out.push_str("</tr>\n");
        }
        let _ = writeln!(out, "</tbody>\n</table>");
        let _ = writeln!(
            out,
            "<footer>{}</footer>\n</body>\n</html>",
            escape(l.pick(
                "Loggen innehåller inga personnummer och inga pseudonymer. Tider i svensk tid (Europe/Stockholm). Formaten beskrivs i docs/audit.md.",
                "The log holds no personnummer and no pseudonym. Times in Swedish local time (Europe/Stockholm). The formats are described in docs/audit.md.",
            ))
        );
        out
    }

    /// The report as plain text.
    pub fn text(&self) -> String {
        let l = self.lang;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} – {}",
            l.pick(
                "Granskningsrapport för överföringsloggen",
                "Transfer log audit report"
            ),
            self.subject
        );
        let _ = writeln!(
            out,
            "{} {}\n",
            l.pick("Skapad", "Made"),
            local_second(self.made_at)
        );
        for line in &self.verification {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "\n{}:", l.pick("Inlämningar", "Submissions"));
        for line in &self.submissions {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out);
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        out += &super::render(&header, &self.rows, super::ShowFormat::Table);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_escapes_what_it_shows() {
        let report = AuditReport {
            lang: Lang::Sv,
            subject: "samla-node, kommun 2180".to_owned(),
            made_at: 1_751_353_920,
            clean: false,
            verification: vec!["FAIL <script>".to_owned()],
            submissions: vec![],
            header: vec!["nr".to_owned()],
            rows: vec![vec!["1 & 2".to_owned()]],
        };
        let page = report.html();
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script"));
        assert!(page.contains("1 &amp; 2"));
        assert!(page.contains("2025-07-01 09:12:00 +02:00"));
        for external in ["http://", "https://", "src=", "<link", "@import", "url("] {
            assert!(!page.contains(external), "{external}");
        }
    }
}
