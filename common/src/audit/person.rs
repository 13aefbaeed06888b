//! Audit output for a person (a privacy officer, not a programmer): Swedish by
//! default, English on request; times in Swedish local time with their offset
//! ([`crate::local_time`]); one summary line per submission; a submission's content
//! as readable tables. Both binaries' `audit` commands print through here, so the
//! node's and the hub's words are the same.
//!
//! Pure: what to show comes in as arguments.

use std::fmt::Write as _;

use crate::statistics::Statistics;
use crate::wire::{Submission, SubmissionId};

pub use super::wording::finding_line;

/// The language of audit output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Swedish (the default).
    #[default]
    Sv,
    /// English.
    En,
}

impl Lang {
    /// `sv` or `en` text.
    pub fn pick<'a>(self, sv: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Sv => sv,
            Lang::En => en,
        }
    }
}

/// A Unix time as Swedish local time with its offset, minutes only:
/// `2025-07-01 09:12 +02:00`.
pub fn local_minute(at: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(at) {
        Ok(t) => {
            let full = crate::local_time::format_stockholm(t);
            // `YYYY-MM-DD HH:MM:SS +HH:MM`: drop the seconds.
            match (full.get(..16), full.get(19..)) {
                (Some(minute), Some(offset)) => format!("{minute}{offset}"),
                _ => full,
            }
        }
        Err(_) => at.to_string(),
    }
}

/// A Unix time as Swedish local time with seconds and offset.
pub fn local_second(at: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(at) {
        Ok(t) => crate::local_time::format_stockholm(t),
        Err(_) => at.to_string(),
    }
}

/// A whole number with Swedish (thin space) or English (comma) thousands.
pub fn number(n: u64, lang: Lang) -> String {
    let digits = n.to_string();
    let separator = lang.pick("\u{a0}", ",");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push_str(separator);
        }
        out.push(c);
    }
    out
}

/// A period as people write it: `2025`, `2025-H1`, `2025-Q2`, `2025-07`, or
/// `from..to` when it is none of these.
pub fn period_label(period: &crate::period::Period) -> String {
    let (from, to) = (period.from(), period.to());
    let year = from.year();
    let starts = from.day() == 1;
    let ends_month = to.day() == to.month().length(to.year());
    if year != to.year() || !starts || !ends_month {
        return period.to_string();
    }
    let (a, b) = (u8::from(from.month()), u8::from(to.month()));
    match (a, b) {
        (1, 12) => year.to_string(),
        (1, 6) => format!("{year}-H1"),
        (7, 12) => format!("{year}-H2"),
        (a, b) if b == a + 2 && a % 3 == 1 => format!("{year}-Q{}", a / 3 + 1),
        (a, b) if a == b => format!("{year}-{a:02}"),
        _ => period.to_string(),
    }
}

/// The people a submission counts: distinct pseudonyms over its linkage sets.
pub fn people(statistics: &Statistics) -> usize {
    let mut all: Vec<_> = statistics
        .linkage_sets
        .iter()
        .flat_map(|l| l.pseudonyms.iter())
        .collect();
    all.sort_unstable();
    all.dedup();
    all.len()
}

/// What a summary line says about the hub a submission went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubName {
    /// The name on the hub's certificate (its DNS name), or its address if unknown.
    pub name: String,
    /// The organisation on the certificate (e.g. `Region Kronoberg`), if known.
    pub organisation: Option<String>,
    /// The certificate's SHA-256 fingerprint, hex, if known.
    pub fingerprint: Option<String>,
}

/// Who the summary line says the submission went to or came from.
#[derive(Debug, Clone, Copy)]
pub enum Party<'a> {
    /// The node sent it to this hub.
    SentTo(&'a HubName),
    /// The node built it and has not sent it yet.
    Built,
    /// The hub received it from this kommun.
    From(crate::codes::KommunCode),
}

/// Where a submission stands, for its summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The hub's receipt was verified.
    ReceiptVerified,
    /// Waiting for delivery.
    Pending,
    /// The hub refused it.
    Refused,
    /// Stored at the hub (the hub's view).
    Stored,
    /// It does not match its id or signature.
    Tampered,
    /// The hub's stored bytes do not match its id.
    ChangedInStore,
}

/// A kommun as people name it: `Gävle (2180)`, or `kommun 2180` if its name is not
/// known.
pub fn kommun_name(kommun: crate::codes::KommunCode) -> String {
    match kommun.name() {
        Some(name) => format!("{name} ({kommun})"),
        None => format!("kommun {kommun}"),
    }
}

/// One submission's summary line: `2025-07-01 09:12 +02:00 skickad till Region
/// Kronoberg (samla.regionkronoberg.se, certifikat 3f5a…): 62 personer, 9 tabeller,
/// period 2025-Q2, kvitto verifierat`.
pub fn summary_line(
    at: i64,
    submission: &Submission,
    party: Party<'_>,
    standing: Standing,
    lang: Lang,
) -> String {
    let s = &submission.statistics;
    let mut line = local_minute(at);
    match party {
        Party::From(kommun) => {
            let _ = write!(
                line,
                "{} {}",
                lang.pick(" mottagen från", " received from"),
                kommun_name(kommun)
            );
        }
        Party::SentTo(hub) => {
            line += lang.pick(" skickad till ", " sent to ");
            let fingerprint = hub.fingerprint.as_ref().map(|f| {
                format!(
                    ", {} {}…",
                    lang.pick("certifikat", "certificate"),
                    f.get(..16).unwrap_or(f)
                )
            });
            match &hub.organisation {
                Some(org) => {
                    let _ = write!(
                        line,
                        "{org} ({}{})",
                        hub.name,
                        fingerprint.unwrap_or_default()
                    );
                }
                None => {
                    line += &hub.name;
                    if let Some(f) = fingerprint {
                        let _ = write!(line, " ({})", f.trim_start_matches(", "));
                    }
                }
            }
        }
        Party::Built => line += lang.pick(" byggd", " built"),
    }
    let people = people(s) as u64;
    let tables = s.tables.iter().filter(|t| !t.cells.is_empty()).count() as u64;
    let _ = write!(
        line,
        ": {} {}, {} {}, period {}, ",
        number(people, lang),
        match (people == 1, lang) {
            (true, Lang::Sv) => "person",
            (false, Lang::Sv) => "personer",
            (true, Lang::En) => "person",
            (false, Lang::En) => "people",
        },
        number(tables, lang),
        match (tables == 1, lang) {
            (true, Lang::Sv) => "tabell",
            (false, Lang::Sv) => "tabeller",
            (true, Lang::En) => "table",
            (false, Lang::En) => "tables",
        },
        period_label(&s.period)
    );
    line += match standing {
        Standing::ReceiptVerified => lang.pick("kvitto verifierat", "receipt verified"),
        Standing::Pending => lang.pick("väntar på att skickas", "waiting to be sent"),
        Standing::Refused => lang.pick("avvisad av hubben", "refused by the hub"),
        Standing::Stored => lang.pick("lagrad", "stored"),
        Standing::Tampered => lang.pick(
            "ÄNDRAD efter signering, skickas inte",
            "CHANGED after signing, not sent",
        ),
        Standing::ChangedInStore => lang.pick(
            "ÄNDRAD i lagret, stämmer inte med sitt id",
            "CHANGED in the store, does not match its id",
        ),
    };
    line
}

/// The hub as a node's `sent` entry names it (`… to ADDRESS, hub certificate NAME
/// (ORGANISATION), sha256 FINGERPRINT`), or its address alone for entries from
/// before certificate names were logged.
pub fn hub_from_sent_detail(detail: &str) -> Option<HubName> {
    let (_, after) = detail.split_once(" to ")?;
    let Some((address, certificate)) = after.split_once(", hub certificate ") else {
        return Some(HubName {
            name: after.to_owned(),
            organisation: None,
            fingerprint: None,
        });
    };
    let _ = address;
    let (named, fingerprint) = certificate.rsplit_once(", sha256 ")?;
    let (name, organisation) = match named.split_once(" (") {
        Some((name, org)) => (name, org.strip_suffix(')').map(str::to_owned)),
        None => (named, None),
    };
    Some(HubName {
        name: name.to_owned(),
        organisation,
        fingerprint: Some(fingerprint.to_owned()),
    })
}

/// A node log entry's detail as a person reads it in a table: Unix times after
/// `stored at` in local time, and a signed head shortened to what it vouches for.
/// (The stored detail, which the chain hashes, is shown whole in JSON and CSV.)
pub fn node_detail(kind: &str, detail: &str, lang: Lang) -> String {
    if kind == super::node_checks::HEAD_KIND {
        if let Some(head) = super::node_checks::SignedHead::parse(detail) {
            let key = head.key.to_string();
            return match lang {
                Lang::Sv => format!(
                    "poster 1..{} signerade med nodens nyckel {}…",
                    head.entries,
                    &key[..16]
                ),
                Lang::En => format!(
                    "entries 1..{} signed with the node's key {}…",
                    head.entries,
                    &key[..16]
                ),
            };
        }
    }
    let mut shown = detail.to_owned();
    if let Some((before, after)) = detail.split_once("stored at ") {
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(at) = digits.parse::<i64>() {
            shown = format!(
                "{before}stored at {}{}",
                local_second(at),
                &after[digits.len()..]
            );
        }
    }
    if lang == Lang::Sv {
        // The stored words of the node's own details, in Swedish; anything else (a
        // hub's refusal, an error) is shown as it was logged.
        for (en, sv) in [
            ("signing key ", "signeringsnyckel "),
            ("sequence ", "sekvens "),
            (", linkage domain ", ", länkningsdomän "),
            (" bytes", " byte"),
            (", hub certificate ", ", hubbens certifikat "),
            ("hub log index ", "hubbens loggindex "),
            (", stored at ", ", lagrad "),
            (
                ", consistent with the last one seen",
                ", stämmer med den senast sedda",
            ),
            ("hub log size ", "hubbens logg: storlek "),
        ] {
            shown = shown.replace(en, sv);
        }
        if kind == "sent" {
            shown = shown.replacen(" to ", " till ", 1);
        }
    }
    shown
}

/// A node log entry's kind word, in the reader's language.
pub fn node_kind(kind: &str, lang: Lang) -> String {
    let sv = match kind {
        "built" => "byggd",
        "sent" => "skickad",
        "send failed" => "sändning misslyckades",
        "receipt" => "kvitto",
        "refused" => "avvisad",
        "retries given up" => "försök avbrutna",
        "hub checkpoint" => "hubbens kontrollpunkt",
        "hub history changed" => "hubbens historik ändrad",
        "key change" => "nyckelbyte",
        "tampered" => "ändrad",
        "resequenced" => "omsignerad",
        "signed head" => "signerat loggläge",
        other => other,
    };
    lang.pick(sv, kind).to_owned()
}

/// A hub log entry's kind word, in the reader's language.
pub fn hub_kind(kind: &str, lang: Lang) -> String {
    let sv = match kind {
        "accepted" => "mottagen",
        "refused" => "avvisad",
        "node_registered" => "nod registrerad",
        "key_changed" => "nyckel bytt",
        other => other,
    };
    lang.pick(sv, kind).to_owned()
}

/// A submission's content as readable tables: a heading with its id, kommun,
/// period, linkage domain and people, then each table's cells as aligned columns
/// (dimension values, then the count). Linkage pseudonyms are shown only as counts.
pub fn payload_tables(id: SubmissionId, submission: &Submission, lang: Lang) -> String {
    let s = &submission.statistics;
    let mut out = String::new();
    let _ = writeln!(out, "{} {id}", lang.pick("Inlämning", "Submission"));
    let rows = [
        (lang.pick("kommun", "kommun"), s.kommun.to_string()),
        (
            "period",
            format!("{} ({})", period_label(&s.period), s.period),
        ),
        (
            lang.pick("länkningsdomän", "linkage domain"),
            s.linkage_domain.to_string(),
        ),
        (lang.pick("nyckel-id", "key id"), s.key_id.to_string()),
        (
            lang.pick("sekvensnummer", "sequence"),
            submission.sequence.to_string(),
        ),
        (
            lang.pick("byggd", "built"),
            local_second(submission.created_at),
        ),
        (
            lang.pick("personer", "people"),
            number(people(s) as u64, lang),
        ),
        (
            lang.pick("projekt", "projects"),
            s.projects
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (key, value) in rows {
        let _ = writeln!(
            out,
            "  {key}:{} {value}",
            " ".repeat(width - key.chars().count())
        );
    }
    for table in &s.tables {
        let _ = writeln!(
            out,
            "\n{} {} ({} {})",
            lang.pick("Tabell", "Table"),
            table.name.code(),
            table.cells.len(),
            lang.pick("celler", "cells")
        );
        if table.cells.is_empty() {
            let _ = writeln!(out, "  {}", lang.pick("(inga personer)", "(no people)"));
            continue;
        }
        let mut header: Vec<String> = table
            .name
            .dimensions()
            .iter()
            .map(|d| d.code().to_owned())
            .collect();
        header.push(lang.pick("antal", "count").to_owned());
        let rows: Vec<Vec<String>> = table
            .cells
            .iter()
            .map(|c| {
                let mut row = c.key.clone();
                row.push(number(c.count, lang));
                row
            })
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        for line in super::render(&header, &rows, super::ShowFormat::Table).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        lang.pick(
            "Länkningsmängder (pseudonymer visas inte; `--format json` visar dem):",
            "Linkage sets (pseudonyms not shown; `--format json` shows them):"
        )
    );
    for set in &s.linkage_sets {
        let _ = writeln!(
            out,
            "  {}: {} {}",
            set.project,
            number(set.pseudonyms.len() as u64, lang),
            lang.pick("pseudonymer", "pseudonyms")
        );
    }
    out
}

/// Resolves an id given as a unique prefix (at least 8 hex characters) among
/// `ids`.
pub fn resolve_prefix(prefix: &str, ids: &[SubmissionId]) -> Result<SubmissionId, PrefixError> {
    let prefix = prefix.trim().to_ascii_lowercase();
    if prefix.len() < 8 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PrefixError::TooShort {
            given: prefix.chars().count(),
        });
    }
    let matching: Vec<SubmissionId> = ids
        .iter()
        .filter(|id| id.to_string().starts_with(&prefix))
        .copied()
        .collect();
    match matching[..] {
        [one] => Ok(one),
        [] => Err(PrefixError::NotFound { prefix }),
        _ => Err(PrefixError::Ambiguous {
            prefix,
            matches: matching.len(),
        }),
    }
}

/// Why an id prefix names no single submission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// Fewer than 8 hex characters, or not hex.
    #[error("a submission id is given as at least 8 hex characters (given {given}); `audit show` lists the ids")]
    TooShort {
        /// Characters given.
        given: usize,
    },
    /// No submission has this prefix.
    #[error("no submission id starts with {prefix}; `audit show` lists the ids")]
    NotFound {
        /// The prefix.
        prefix: String,
    },
    /// Several do.
    #[error("{matches} submission ids start with {prefix}; give more characters")]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// How many match.
        matches: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_with_their_offset() {
        // 2025-07-01 07:12 UTC is 09:12 in Swedish summer time.
        assert_eq!(local_minute(1_751_353_920), "2025-07-01 09:12 +02:00");
        assert_eq!(local_minute(1_736_931_600), "2025-01-15 10:00 +01:00");
    }

    #[test]
    fn periods_are_shown_as_people_write_them() {
        for text in [
            "2025", "2025-H1", "2025-H2", "2025-Q2", "2025-Q4", "2025-07",
        ] {
            let period: crate::period::Period = text.parse().unwrap();
            assert_eq!(period_label(&period), text);
        }
        let odd: crate::period::Period = "2023-09-01..2026-08-31".parse().unwrap();
        assert_eq!(period_label(&odd), "2023-09-01..2026-08-31");
    }

    #[test]
    fn the_nodes_details_read_in_swedish_with_local_times() {
        assert_eq!(
            node_detail("receipt", "hub log index 3, stored at 1751353920", Lang::Sv),
            "hubbens loggindex 3, lagrad 2025-07-01 09:12:00 +02:00"
        );
        assert_eq!(
            node_detail(
                "sent",
                "sequence 2 to 10.0.0.1:4433, hub certificate samla.example (Region X), sha256 ab",
                Lang::Sv
            ),
            "sekvens 2 till 10.0.0.1:4433, hubbens certifikat samla.example (Region X), sha256 ab"
        );
        assert_eq!(
            node_detail("receipt", "hub log index 3, stored at 1751353920", Lang::En),
            "hub log index 3, stored at 2025-07-01 09:12:00 +02:00"
        );
    }

    #[test]
    fn numbers_use_the_readers_thousands_separator() {
        assert_eq!(number(1_234_567, Lang::Sv), "1\u{a0}234\u{a0}567");
        assert_eq!(number(1_234_567, Lang::En), "1,234,567");
        assert_eq!(number(62, Lang::Sv), "62");
    }

    #[test]
    fn a_prefix_names_one_submission_or_says_why_not() {
        let a = SubmissionId::of(b"a");
        let b = SubmissionId::of(b"b");
        let ids = [a, b];
        assert_eq!(resolve_prefix(&a.to_string()[..8], &ids), Ok(a));
        assert_eq!(resolve_prefix(&b.to_string(), &ids), Ok(b));
        assert_eq!(
            resolve_prefix(&a.to_string()[..7], &ids),
            Err(PrefixError::TooShort { given: 7 })
        );
        assert!(matches!(
            resolve_prefix("00000000", &ids),
            Err(PrefixError::NotFound { .. })
        ));
        let same = [a, a];
        assert!(matches!(
            resolve_prefix(&a.to_string()[..8], &same),
            Err(PrefixError::Ambiguous { matches: 2, .. })
        ));
    }
}
