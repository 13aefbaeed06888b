//! The words of an audit finding for a person: `FEL …` in Swedish (the default),
//! `FAIL …` in English (`--lang en`, the findings' `Display`). Kept apart from
//! [`super::person`] so every finding kind, and every typed reason inside one, has
//! its Swedish text in one place: the matches are exhaustive, so a finding added
//! later does not compile until it has a Swedish text, and no English reaches a
//! Swedish line. A Swedish line names what the English names: the entry by log index,
//! the checkpoint by tree size, the kommun and the submission (id prefix).
//!
//! Technical details that only the English carries (a parser's or decoder's words)
//! are left out of the Swedish line; `--lang en` shows them.

use super::content::ContentFinding as C;
use super::node_checks::{ContentProblem as P, HeadProblem, NodeFinding as N};
use super::person::{kommun_name, node_kind, Lang};
use super::reason::{CheckpointProblem, Damage, EntryProblem, ForkSource, ReceiptDamage};
use super::Finding as F;
use crate::receipt::ReceiptError;
use crate::translog::LogError;

/// A finding as a person reads it: `FEL …` in Swedish, `FAIL …` in English.
pub fn finding_line(finding: &F, lang: Lang) -> String {
    match lang {
        Lang::En => format!("FAIL {finding}"),
        Lang::Sv => format!("FEL {}", finding_sv(finding)),
    }
}

/// A finding in Swedish.
pub fn finding_sv(finding: &F) -> String {
    match finding {
        F::MalformedEntry { index, reason } => {
            format!("post {index}: felaktig form ({})", entry_problem_sv(reason))
        }
        F::BadCheckpoint { position, reason } => {
            format!("kontrollpunkt {position} i paketet: {}", log_error_sv(reason))
        }
        F::EntryAtFault {
            index,
            checkpoint_size,
            last_good,
        } => format!(
            "post {index}: posterna ger inte längre den signerade kontrollpunkten för storlek {checkpoint_size} (senaste som stämmer: storlek {last_good}); en post har ändrats, tagits bort, flyttats eller lagts till"
        ),
        F::Truncated {
            checkpoint_size,
            entries,
        } => format!(
            "loggen är avkortad: en kontrollpunkt omfattar {checkpoint_size} poster men loggen har {entries}"
        ),
        F::Unsigned { from } => {
            format!("posterna från {from} och framåt omfattas inte av någon signerad kontrollpunkt")
        }
        F::Fork { size, source } => format!(
            "hubbens logg har förgrenats: vid storlek {size} skiljer den sig från {}",
            fork_source_sv(source)
        ),
        F::StoredTree { size } => format!(
            "hubbens lagrade trädhashar ger en annan rot än dess signerade kontrollpunkt för storlek {size}"
        ),
        F::NodeChain { entry } => format!(
            "nodens loggpost {entry}: dess hash följer inte av posterna före den (ändrad, borttagen eller flyttad)"
        ),
        F::NodeLogMissing { submission, kind } => format!(
            "inlämning {submission}: nodens logg saknar en post ”{}” för den (poster har tagits bort eller loggen avkortats)",
            node_kind(kind, Lang::Sv)
        ),
        F::BadReceipt { submission, reason } => {
            format!("kvittot för {submission}: {}", receipt_error_sv(reason))
        }
        F::MissingAtHub { submission, index } => format!(
            "inlämning {submission}: hubbens logg har ingen post för den på index {index} (som kvittot anger)"
        ),
        F::UnknownAtHub { index, submission } => match submission {
            Some(id) => {
                format!("hubbens post {index}: anger inlämning {id}, som noden aldrig skickat")
            }
            None => format!(
                "hubbens post {index}: en överföring för kommunen som noden aldrig skickat"
            ),
        },
        F::StoredHash { level, first, last } => format!(
            "hubbens lagrade trädhash på nivå {level} över posterna {first}..={last} är inte hashen av de posterna (bevis för dem skulle inte hålla)"
        ),
        F::StoredHashCount { found, expected } => format!(
            "hubbens lagrade träd har {found} hashar men dess poster ger {expected}"
        ),
        F::CheckpointAtSize { size, reason } => format!(
            "kontrollpunkten för storlek {size}: {}",
            checkpoint_problem_sv(reason)
        ),
        F::EntryColumn { index, column } => format!(
            "post {index}: den lagrade kolumnen {} stämmer inte med posten",
            column_sv(column)
        ),
        F::StoredSubmission {
            index,
            kommun,
            submission,
            reason,
        } => {
            let prefix = submission.get(..16).unwrap_or(submission);
            let named = format!("{}, inlämning {prefix}", kommun_sv(kommun));
            match index {
                Some(index) => format!("post {index}: {named}: {}", damage_sv(reason)),
                None => format!("{named}: {}", damage_sv(reason)),
            }
        }
        F::DerivedTable {
            table,
            kommun,
            submission,
        } => {
            let prefix = submission.get(..16).unwrap_or(submission);
            format!(
                "tabellen {}: dess rader för {}, inlämning {prefix}, är inte de som inlämningens signerade byte innehåller",
                table_sv(table),
                kommun_sv(kommun)
            )
        }
        F::Node(N::HeadMismatch {
            entry,
            from,
            to,
            reason,
        }) => format!(
            "nodens loggpost {entry} (signerat loggläge): {}; posterna {from}..{to} har ändrats efter att de signerades",
            head_problem_sv(*reason)
        ),
        F::Node(N::HeadKey { entry, key }) => format!(
            "nodens loggpost {entry} (signerat loggläge): signerad med nyckel {key}, inte den nyckel loggen anger"
        ),
        F::Node(N::NotCurrentKey { entry }) => format!(
            "nodens loggpost {entry} (signerat loggläge): inte signerad med nodens signeringsnyckel"
        ),
        F::Node(N::Unsigned { from }) => format!(
            "nodens loggposter från {from} och framåt omfattas inte av något signerat loggläge (tillagda efter nodens senaste signering, eller så har det senaste signerade loggläget tagits bort)"
        ),
        F::Node(N::Content {
            submission,
            problem,
        }) => format!(
            "inlämning {submission} i utkorgen: {}",
            problem_sv(problem)
        ),
        F::Content(C::Unverified { submission, side }) => format!(
            "inlämning {submission}: {} lagrade innehåll stämmer inte med sitt id och sin signatur",
            if *side == "hub" { "hubbens" } else { "nodens" }
        ),
        F::Content(C::Differs { submission, what }) => format!(
            "inlämning {submission}: noden och hubben har olika innehåll ({} skiljer sig)",
            match *what {
                "digest" => "kontrollsumman",
                "summary" => "sammanfattningen",
                "tables" => "tabellerna",
                other => other,
            }
        ),
        F::Content(C::MissingAtHub { submission }) => format!(
            "inlämning {submission}: kvitterad av hubben men saknas i hubbens innehållsfil (den lagrade inlämningen saknas)"
        ),
    }
}

/// A kommun named in a finding (its code as stored, `-` if unknown), as people name
/// it: `Sandviken (2181)`.
fn kommun_sv(kommun: &str) -> String {
    match kommun.parse::<crate::codes::KommunCode>() {
        Ok(code) => kommun_name(code),
        Err(_) if kommun == "-" || kommun.is_empty() => "okänd kommun".to_owned(),
        Err(_) => format!("kommun {kommun}"),
    }
}

/// A stored column by its name and what it holds: ``kolumnen `sequence`
/// (sekvensnumret)``.
fn column_sv(column: &str) -> String {
    let what = match column {
        "id" | "submission_id" => Some("inlämningens id"),
        "kommun" => Some("kommunen"),
        "sequence" => Some("sekvensnumret"),
        "period" => Some("perioden"),
        "linkage_domain" => Some("länkningsdomänen"),
        "kind" => Some("händelsen"),
        "at" => Some("tiden"),
        "detail" => Some("detaljerna"),
        _ => None,
    };
    match what {
        Some(what) => format!("`{column}` ({what})"),
        None => format!("`{column}`"),
    }
}

/// A derived table by its name and what it holds.
fn table_sv(table: &str) -> String {
    match table {
        "cells" => "`cells` (tabellernas celler)".to_owned(),
        "linkage_sets" => "`linkage_sets` (länkningsmängderna)".to_owned(),
        other => format!("`{other}`"),
    }
}

fn entry_problem_sv(problem: &EntryProblem) -> String {
    match problem {
        EntryProblem::Format(_) => "den följer inte det dokumenterade formatet".to_owned(),
        EntryProblem::Tree => "den gick inte att lägga till i trädet".to_owned(),
        EntryProblem::OutOfOrder { found } => {
            format!("nästa lagrade post har loggindex {found}")
        }
    }
}

fn fork_source_sv(source: &ForkSource) -> String {
    match source {
        ForkSource::Bundle { position } => {
            format!("en annan kontrollpunkt av samma storlek i paketet (position {position})")
        }
        ForkSource::GivenToNode => "en kontrollpunkt som noden har fått".to_owned(),
    }
}

fn checkpoint_problem_sv(problem: &CheckpointProblem) -> String {
    match problem {
        CheckpointProblem::WrongSize { stored, found } => {
            format!("den är lagrad för storlek {stored} men gäller storlek {found}")
        }
        CheckpointProblem::Open(e) => log_error_sv(e),
    }
}

/// Why a log entry, checkpoint or proof was refused, in Swedish.
fn log_error_sv(error: &LogError) -> String {
    match error {
        LogError::Entry(_) => "loggposten följer inte det dokumenterade formatet".to_owned(),
        LogError::Checkpoint => "kontrollpunkten går inte att läsa (felaktig form)".to_owned(),
        LogError::CheckpointSignature => {
            "kontrollpunktens signatur stämmer inte med hubbens nyckel".to_owned()
        }
        LogError::Origin { found, expected } => {
            format!("kontrollpunkten gäller loggen {found:?}, inte {expected:?}")
        }
        LogError::Inclusion { index, size } => format!(
            "post {index} finns inte i loggen av storlek {size}: inklusionsbeviset håller inte"
        ),
        LogError::Consistency { old, new } => format!(
            "loggen av storlek {new} bygger inte vidare på loggen av storlek {old}: historiken har skrivits om"
        ),
        LogError::Storage(_) => "loggens lagrade hashar gick inte att läsa".to_owned(),
    }
}

/// Why a receipt was not accepted, in Swedish.
fn receipt_error_sv(error: &ReceiptError) -> String {
    match error {
        ReceiptError::BadSignature => {
            "kvittot är inte signerat med hubbens kvittonyckel".to_owned()
        }
        ReceiptError::Malformed(_) => "kvittot går inte att läsa (felaktig form)".to_owned(),
        ReceiptError::Mismatch => "kvittot gäller en annan inlämning eller kommun".to_owned(),
        ReceiptError::Log(e) => format!("kvittots loggbevis håller inte ({})", log_error_sv(e)),
    }
}

/// What is wrong with a submission stored at the hub, in Swedish.
fn damage_sv(damage: &Damage) -> String {
    match damage {
        Damage::Content => "de lagrade signerade byten stämmer inte med inlämningens id (de har ändrats efter att den lagrades)".to_owned(),
        Damage::Malformed(_) => "de lagrade signerade byten går inte att läsa som en inlämning".to_owned(),
        Damage::Row { column } => format!(
            "den lagrade kolumnen {} stämmer inte med de signerade byten",
            column_sv(column)
        ),
        Damage::Signature => "nodens signatur stämmer inte med de lagrade byten".to_owned(),
        Damage::Signer => "den är signerad med en nyckel som hubbens konfiguration inte registrerar för kommunen den dag den togs emot".to_owned(),
        Damage::Receipt(why) => format!("dess lagrade kvitto håller inte: {}", receipt_damage_sv(why)),
        Damage::LogEntry => "överföringsloggen har inte kvittots post på dess loggindex".to_owned(),
        Damage::Missing => "överföringsloggen anger den som mottagen, men lagret har ingen sådan inlämning".to_owned(),
    }
}

fn receipt_damage_sv(damage: &ReceiptDamage) -> String {
    match damage {
        ReceiptDamage::Signature(_) => "kvittots signatur går inte att läsa".to_owned(),
        ReceiptDamage::Verify(e) => receipt_error_sv(e),
        ReceiptDamage::Sequence => "det anger ett annat sekvensnummer".to_owned(),
        ReceiptDamage::LogIndex => "det anger ett annat loggindex än raden".to_owned(),
        ReceiptDamage::Time => "det anger en annan tid än raden".to_owned(),
    }
}

fn head_problem_sv(problem: HeadProblem) -> &'static str {
    match problem {
        HeadProblem::NotAHead => "dess detaljer är inget signerat loggläge",
        HeadProblem::Signature => "dess signatur stämmer inte",
        HeadProblem::Chain => "kedjehashen den signerar är inte loggens hash för posten före den",
    }
}

/// Why a stored submission does not match what the node signed, in Swedish.
fn problem_sv(problem: &P) -> String {
    match problem {
        P::Undecodable => "de lagrade byten går inte att läsa som en signerad inlämning".to_owned(),
        P::IdMismatch { computed } => {
            format!("de signerade byten ger BLAKE3 {computed}, inte inlämningens id")
        }
        P::UnknownSigner { signer } => format!(
            "den är signerad med nyckel {signer}, som inte är någon av nodens signeringsnycklar"
        ),
        P::BadSignature => "signaturen stämmer inte med byten".to_owned(),
        P::NotASubmission => "de signerade byten är ingen inlämning".to_owned(),
        P::Column {
            field,
            stored,
            signed,
        } => {
            let what = match *field {
                "kommun" => "kommunen",
                "sequence" => "sekvensnumret",
                "period" => "perioden",
                "linkage domain" => "länkningsdomänen",
                other => other,
            };
            format!("den är lagrad med {what} {stored} men signerad med {signed}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::CodecError;
    use crate::signing::SigningKey;
    use crate::wire::SubmissionId;

    /// English words that must not reach a Swedish line.
    const ENGLISH: [&str; 20] = [
        " the ",
        " not ",
        " does ",
        " its ",
        " it ",
        " is ",
        " are ",
        " was ",
        " has ",
        " of ",
        " and ",
        " to ",
        " for ",
        " by ",
        " with ",
        " names ",
        " another ",
        " entry ",
        " submission ",
        " hub ",
    ];

    /// One finding of every kind, and of every reason inside one, each with the
    /// numbers and names its line must carry.
    fn every_finding() -> Vec<(F, Vec<String>)> {
        let id = SubmissionId::of(b"a submission");
        let hex = id.to_string();
        let prefix = hex[..16].to_owned();
        let rng = ring::rand::SystemRandom::new();
        let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng).unwrap())
            .unwrap()
            .verifying_key();
        let codec = || CodecError::Decode("unexpected end".to_owned());
        let log_errors = || {
            vec![
                LogError::Entry("expected a `kind` line".to_owned()),
                LogError::Checkpoint,
                LogError::CheckpointSignature,
                LogError::Origin {
                    found: "other.example".to_owned(),
                    expected: "samla.example".to_owned(),
                },
                LogError::Inclusion {
                    index: 41,
                    size: 57,
                },
                LogError::Consistency { old: 31, new: 57 },
                LogError::Storage("disk".to_owned()),
            ]
        };
        let receipt_errors = || {
            let mut all = vec![
                ReceiptError::BadSignature,
                ReceiptError::Malformed("trailing bytes".to_owned()),
                ReceiptError::Mismatch,
            ];
            all.extend(log_errors().into_iter().map(ReceiptError::Log));
            all
        };
        let n = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut all = Vec::new();
        for reason in [
            EntryProblem::Format("expected a `kind` line".to_owned()),
            EntryProblem::Tree,
            EntryProblem::OutOfOrder { found: 43 },
        ] {
            all.push((F::MalformedEntry { index: 41, reason }, n(&["post 41"])));
        }
        for reason in log_errors() {
            all.push((
                F::BadCheckpoint {
                    position: 5,
                    reason,
                },
                n(&["kontrollpunkt 5"]),
            ));
        }
        all.push((
            F::EntryAtFault {
                index: 41,
                checkpoint_size: 57,
                last_good: 31,
            },
            n(&["post 41", "storlek 57", "storlek 31"]),
        ));
        all.push((
            F::Truncated {
                checkpoint_size: 57,
                entries: 41,
            },
            n(&["57", "41"]),
        ));
        all.push((F::Unsigned { from: 41 }, n(&["från 41"])));
        for source in [ForkSource::Bundle { position: 5 }, ForkSource::GivenToNode] {
            all.push((F::Fork { size: 57, source }, n(&["storlek 57"])));
        }
        all.push((F::StoredTree { size: 57 }, n(&["storlek 57"])));
        all.push((F::NodeChain { entry: 41 }, n(&["loggpost 41"])));
        for kind in ["built", "receipt"] {
            all.push((
                F::NodeLogMissing {
                    submission: id,
                    kind,
                },
                vec![hex.clone()],
            ));
        }
        for reason in receipt_errors() {
            all.push((
                F::BadReceipt {
                    submission: id,
                    reason,
                },
                vec![format!("kvittot för {hex}")],
            ));
        }
        all.push((
            F::MissingAtHub {
                submission: id,
                index: 41,
            },
            vec![hex.clone(), "index 41".to_owned()],
        ));
        for submission in [Some(id), None] {
            all.push((
                F::UnknownAtHub {
                    index: 41,
                    submission,
                },
                n(&["post 41"]),
            ));
        }
        all.push((
            F::StoredHash {
                level: 2,
                first: 40,
                last: 43,
            },
            n(&["nivå 2", "40..=43"]),
        ));
        all.push((
            F::StoredHashCount {
                found: 57,
                expected: 58,
            },
            n(&["57", "58"]),
        ));
        for reason in [CheckpointProblem::WrongSize {
            stored: 57,
            found: 58,
        }]
        .into_iter()
        .chain(log_errors().into_iter().map(CheckpointProblem::Open))
        {
            all.push((F::CheckpointAtSize { size: 57, reason }, n(&["storlek 57"])));
        }
        for column in ["kind", "at", "kommun", "submission_id", "detail"] {
            all.push((
                F::EntryColumn { index: 41, column },
                n(&["post 41", column]),
            ));
        }
        let mut damages = vec![
            Damage::Content,
            Damage::Malformed(codec()),
            Damage::Signature,
            Damage::Signer,
            Damage::LogEntry,
            Damage::Missing,
        ];
        for column in ["id", "kommun", "sequence", "period", "linkage_domain"] {
            damages.push(Damage::Row { column });
        }
        for why in [
            ReceiptDamage::Signature(codec()),
            ReceiptDamage::Sequence,
            ReceiptDamage::LogIndex,
            ReceiptDamage::Time,
        ]
        .into_iter()
        .chain(receipt_errors().into_iter().map(ReceiptDamage::Verify))
        {
            damages.push(Damage::Receipt(why));
        }
        for reason in damages {
            for index in [Some(41), None] {
                let mut named = vec!["Sandviken (2181)".to_owned(), prefix.clone()];
                if index.is_some() {
                    named.push("post 41".to_owned());
                }
                all.push((
                    F::StoredSubmission {
                        index,
                        kommun: "2181".to_owned(),
                        submission: hex.clone(),
                        reason: reason.clone(),
                    },
                    named,
                ));
            }
        }
        for (table, kommun, named) in [
            ("cells", "2181", "Sandviken (2181)"),
            ("linkage_sets", "-", "okänd kommun"),
        ] {
            all.push((
                F::DerivedTable {
                    table,
                    kommun: kommun.to_owned(),
                    submission: hex.clone(),
                },
                vec![named.to_owned(), prefix.clone(), table.to_owned()],
            ));
        }
        for reason in [
            HeadProblem::NotAHead,
            HeadProblem::Signature,
            HeadProblem::Chain,
        ] {
            all.push((
                F::Node(N::HeadMismatch {
                    entry: 41,
                    from: 31,
                    to: 40,
                    reason,
                }),
                n(&["loggpost 41", "31..40"]),
            ));
        }
        all.push((
            F::Node(N::HeadKey { entry: 41, key }),
            vec!["loggpost 41".to_owned(), key.to_string()],
        ));
        all.push((F::Node(N::NotCurrentKey { entry: 41 }), n(&["loggpost 41"])));
        all.push((F::Node(N::Unsigned { from: 41 }), n(&["från 41"])));
        let mut problems = vec![
            P::Undecodable,
            P::IdMismatch {
                computed: SubmissionId::of(b"other"),
            },
            P::UnknownSigner { signer: key },
            P::BadSignature,
            P::NotASubmission,
        ];
        for field in ["kommun", "sequence", "period", "linkage domain"] {
            problems.push(P::Column {
                field,
                stored: "3".to_owned(),
                signed: "4".to_owned(),
            });
        }
        for problem in problems {
            all.push((
                F::Node(N::Content {
                    submission: id,
                    problem,
                }),
                vec![hex.clone()],
            ));
        }
        for side in ["node", "hub"] {
            all.push((
                F::Content(C::Unverified {
                    submission: id,
                    side,
                }),
                vec![hex.clone()],
            ));
        }
        for what in ["digest", "summary", "tables"] {
            all.push((
                F::Content(C::Differs {
                    submission: id,
                    what,
                }),
                vec![hex.clone()],
            ));
        }
        all.push((F::Content(C::MissingAtHub { submission: id }), vec![hex]));
        all
    }

    #[test]
    fn every_finding_reads_in_swedish_and_names_what_it_is_about() {
        let all = every_finding();
        for (finding, named) in &all {
            let sv = finding_line(finding, Lang::Sv);
            let en = finding_line(finding, Lang::En);
            assert!(sv.starts_with("FEL "), "{sv}");
            assert!(en.starts_with("FAIL "), "{en}");
            assert_ne!(sv["FEL ".len()..], en["FAIL ".len()..], "{sv}");
            for piece in named {
                assert!(sv.contains(piece.as_str()), "{piece:?} missing from {sv}");
            }
            let padded = format!(" {sv} ");
            for word in ENGLISH {
                assert!(!padded.contains(word), "English {word:?} in {sv}");
            }
        }
        // Each typed reason has its own Swedish words: no two of the lines are alike
        // unless their English lines are too.
        for (i, (a, _)) in all.iter().enumerate() {
            for (b, _) in &all[i + 1..] {
                if finding_sv(a) == finding_sv(b) {
                    assert_eq!(a.to_string(), b.to_string(), "{}", finding_sv(a));
                }
            }
        }
    }

    #[test]
    fn the_english_of_a_stored_submission_is_as_the_hub_words_it() {
        let finding = F::StoredSubmission {
            index: Some(4),
            kommun: "2181".to_owned(),
            submission: "3f1c0a9e5b7d2c4400".to_owned(),
            reason: Damage::Receipt(ReceiptDamage::LogIndex),
        };
        assert_eq!(
            finding_line(&finding, Lang::En),
            "FAIL entry 4: kommun 2181 submission 3f1c0a9e5b7d2c44: its stored receipt fails: it names another log index than the row"
        );
        assert_eq!(
            finding_line(&finding, Lang::Sv),
            "FEL post 4: Sandviken (2181), inlämning 3f1c0a9e5b7d2c44: dess lagrade kvitto håller inte: det anger ett annat loggindex än raden"
        );
    }
}
