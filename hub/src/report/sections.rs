//! The report's sections as rows of text, shared by the terminal, HTML and CSV forms
//! so each number has one wording: targets, cumulative enrolment, the ESF+ common
//! indicators, the target groups, and the note on why distinct people, table sums and
//! entrants differ.

use samla_common::disclosure::SUPPRESSED;
use samla_common::disclosure::TOTAL;
use samla_common::report::{Basis, Measure, Of, TargetProgress};
use samla_common::statistics::{Dimension, TableName, ALL_LEAVERS};

use super::labels::{count, Lang};
use super::Report;

/// A target's figure as printed: `39,5 % (150 av 380)`, an interval where the part
/// is suppressed, or `..`.
pub(super) fn figure(lang: Lang, p: &TargetProgress) -> String {
    let is_count = p.measure == Measure::Participants;
    match (p.figure, p.part, p.whole, p.interval) {
        (Some(f), _, _, _) if is_count => format!("{f:.0}"),
        (Some(f), Some(part), Some(whole), _) => format!(
            "{} ({part} {} {whole})",
            lang.percent(f),
            lang.pick("av", "of")
        ),
        (Some(f), _, _, _) => lang.percent(f),
        (None, _, _, Some(interval)) => lang.percent_interval(interval),
        _ => SUPPRESSED.to_owned(),
    }
}

/// What a target's whole is, in words.
pub(super) fn whole_label(lang: Lang, p: &TargetProgress) -> &'static str {
    match (p.measure, p.of, p.basis) {
        (Measure::Participants, _, _) => lang.pick("unika personer", "distinct people"),
        (_, Of::Leavers, _) => lang.pick(
            "av avslutade (summa över kommuner)",
            "of leavers (sum over kommuner)",
        ),
        (_, Of::Participants, Basis::DistinctPeople) => lang.pick(
            "av deltagarna (unika personer)",
            "of participants (distinct people)",
        ),
        (_, Of::Participants, Basis::SumOverKommuner) => lang.pick(
            "av deltagarna (summa över kommuner)",
            "of participants (sum over kommuner)",
        ),
    }
}

/// The targets: measure, figure, what it is of, target, share of target, gap.
pub(super) fn targets(report: &Report) -> Vec<Vec<String>> {
    let lang = report.lang;
    let mut rows = vec![vec![
        lang.pick("Mått", "Measure").to_owned(),
        lang.pick("Utfall", "Figure").to_owned(),
        lang.pick("Räknat som", "Counted as").to_owned(),
        lang.pick("Mål", "Target").to_owned(),
        lang.pick("Av målet", "Of target").to_owned(),
        lang.pick("Skillnad", "Gap").to_owned(),
    ]];
    for p in &report.progress {
        let is_count = p.measure == Measure::Participants;
        let value = |v: f64| {
            if is_count {
                format!("{v:.0}")
            } else {
                lang.percent(v)
            }
        };
        let gap = p.gap().map_or_else(
            || "–".to_owned(),
            |g| {
                if is_count {
                    format!("{g:+.0}")
                } else {
                    lang.decimal(&format!(
                        "{:+.1} {}",
                        g * 100.0,
                        lang.pick("procentenheter", "points")
                    ))
                }
            },
        );
        // Where the figure is an interval, so are its share of the target and gap.
        let (of_target, gap) = match (p.interval, p.target) {
            (Some((low, high)), Some(t)) if p.figure.is_none() && t > 0.0 && p.comparable() => (
                lang.percent_interval((low / t, high / t)),
                lang.decimal(&format!(
                    "{:+.1}–{:+.1} {}",
                    (low - t) * 100.0,
                    (high - t) * 100.0,
                    lang.pick("procentenheter", "points")
                )),
            ),
            _ => (
                p.of_target()
                    .map_or_else(|| "–".to_owned(), |s| lang.percent(s)),
                gap,
            ),
        };
        rows.push(vec![
            lang.measure(p.measure).to_owned(),
            figure(lang, p),
            whole_label(lang, p).to_owned(),
            p.target.map_or_else(|| "–".to_owned(), value),
            of_target,
            gap,
        ]);
    }
    rows
}

/// One line saying what time the targets cover, and how intervals are found.
pub(super) fn targets_note(report: &Report) -> String {
    let lang = report.lang;
    let mut note = format!(
        "{}: {}.",
        lang.pick("Målen mäts över", "Targets are measured over"),
        lang.scope(report.scope)
    );
    for p in report.progress.iter().filter(|p| p.scope != report.scope) {
        note.push_str(&format!(
            " {}: {}.",
            lang.measure(p.measure),
            lang.scope(p.scope).to_lowercase()
        ));
    }
    if report.progress.iter().any(|p| p.interval.is_some()) {
        note.push(' ');
        note.push_str(lang.pick(
            "Ett intervall (t.ex. 55,0–57,1 %) står där en siffra är undertryckt: de gränser som redan följer av de publicerade cellerna (linjärprogrammering), så det röjer inget nytt.",
            "An interval (e.g. 55.0–57.1 %) stands where a figure is suppressed: the bounds the published cells already imply (linear programming), so it discloses nothing new.",
        ));
    }
    note
}

/// Cumulative enrolment as rows: month, distinct people started, share of target.
pub(super) fn enrolment_rows(report: &Report) -> Vec<Vec<String>> {
    let lang = report.lang;
    let target = report.project.targets.participants;
    let mut rows = vec![vec![
        lang.pick("Månad", "Month").to_owned(),
        lang.pick("Har börjat (unika personer)", "Started (distinct people)")
            .to_owned(),
        lang.pick("Av målet", "Of target").to_owned(),
    ]];
    for p in &report.enrolment {
        rows.push(vec![
            p.month.clone(),
            count(p.count),
            match (p.count, target) {
                (Some(n), Some(t)) if t > 0 => lang.percent(n as f64 / t as f64),
                _ => "–".to_owned(),
            },
        ]);
    }
    rows
}

/// The ESF+ common indicators: label, code, value.
pub(super) fn esf_rows(report: &Report) -> Vec<Vec<String>> {
    let lang = report.lang;
    let mut rows = vec![vec![
        lang.pick("Indikator", "Indicator").to_owned(),
        lang.pick("Kod", "Code").to_owned(),
        lang.pick("Antal", "Count").to_owned(),
    ]];
    for (code, value) in report.esf.rows() {
        rows.push(vec![
            esf_label(lang, code).to_owned(),
            code.to_owned(),
            count(value),
        ]);
    }
    rows
}

/// The label of an ESF+ indicator.
pub(super) fn esf_label(lang: Lang, code: &str) -> &'static str {
    match code {
        "participants.total" => lang.pick(
            "Deltagare (nya under perioden)",
            "Participants (entrants of the period)",
        ),
        "participants.women" => lang.pick("  kvinnor", "  women"),
        "participants.men" => lang.pick("  män", "  men"),
        "participants.non_binary" => lang.pick("  icke-binära (X)", "  non-binary (X)"),
        "below_18" => lang.pick("Under 18 år", "Below 18 years of age"),
        "age_18_29" => lang.pick("18–29 år", "18 to 29 years of age"),
        "age_55_plus" => lang.pick("55 år och äldre", "55 years of age and above"),
        "unemployed_incl_long_term" => lang.pick(
            "Arbetslösa, inkl. långtidsarbetslösa",
            "Unemployed, including long-term unemployed",
        ),
        "long_term_unemployed" => lang.pick("Långtidsarbetslösa", "Long-term unemployed"),
        "inactive" => lang.pick("Inaktiva", "Inactive"),
        "employed" => lang.pick(
            "Anställda, inkl. egenföretagare",
            "Employed, including self-employed",
        ),
        "isced_0_2" => lang.pick(
            "Förgymnasial utbildning (ISCED 0–2)",
            "Lower secondary or less (ISCED 0–2)",
        ),
        "isced_3_4" => lang.pick(
            "Gymnasial utbildning (ISCED 3–4)",
            "Upper secondary or post-secondary (ISCED 3–4)",
        ),
        "isced_5_8" => lang.pick(
            "Eftergymnasial utbildning (ISCED 5–8)",
            "Tertiary (ISCED 5–8)",
        ),
        "disabilities" => lang.pick(
            "Med funktionsnedsättning (aktiva deltagare)",
            "With disabilities (active participants)",
        ),
        "foreign_background" => lang.pick(
            "Utländsk bakgrund: utrikes födda (aktiva deltagare)",
            "Foreign background: born abroad (active participants)",
        ),
        "upon_leaving.job_searching" => {
            lang.pick("Vid avslut: arbetssökande", "Upon leaving: job searching")
        }
        "upon_leaving.in_education_or_training" => lang.pick(
            "Vid avslut: i utbildning",
            "Upon leaving: in education or training",
        ),
        "upon_leaving.in_employment" => {
            lang.pick("Vid avslut: i arbete", "Upon leaving: in employment")
        }
        _ => "",
    }
}

/// The note on why the counts of people differ, with this report's numbers.
pub(super) fn counts_note(report: &Report) -> String {
    let lang = report.lang;
    let figures = report.figures();
    let distinct = figures
        .linkage
        .as_ref()
        .ok()
        .and_then(|l| l.distinct_people.count);
    let sum = figures
        .table(TableName::Participants)
        .and_then(|t| t.count(&[TOTAL, TOTAL, TOTAL]));
    let entrants = figures
        .table(TableName::Entrants)
        .and_then(|t| t.count(&[TOTAL, TOTAL, TOTAL]));
    let cell_key = figures.cell_key.is_some();
    let parts = match (lang, cell_key) {
        (Lang::Sv, false) => "undertryckta celler (`..`) gör att delar inte alltid summerar till totalen.",
        (Lang::Sv, true) => "med cellnyckelmetoden är varje cell och summa störd för sig, så delar behöver inte summera till totalen.",
        (Lang::En, false) => "suppressed cells (`..`) mean parts do not always add up to the total.",
        (Lang::En, true) => "under the cell key method every cell and total is perturbed on its own, so parts need not add up to the total.",
    };
    match lang {
        Lang::Sv => format!(
            "Deltagare betyder unika personer: {} i regionen. Tabellernas regionrad är \
             summan över kommuner ({}), där en person i två kommuner räknas i båda. Nya \
             deltagare ({}) är de som började under perioden; deltagare är alla som var \
             aktiva, också de som började tidigare. Tabeller efter status och utbildning \
             vid start räknar nya deltagare; {parts}",
            count(distinct),
            count(sum),
            count(entrants)
        ),
        Lang::En => format!(
            "Participants means distinct people: {} in the region. The tables' region row \
             is the sum over kommuner ({}), where a person in two kommuner counts in both. \
             Entrants ({}) started in the period; participants are everyone active, also \
             those who started earlier. Tables by status and education at entry count \
             entrants; {parts}",
            count(distinct),
            count(sum),
            count(entrants)
        ),
    }
}

/// The project's target groups beside all participants: participants with the flag,
/// leavers, and the share to work or studies and into any activity.
pub(super) fn target_group_rows(report: &Report) -> Vec<Vec<String>> {
    let lang = report.lang;
    let figures = report.figures();
    let background = figures.table(TableName::Background);
    let outcomes = figures.table(TableName::OutcomeByBackground);
    let mut rows = vec![vec![
        lang.pick("Grupp", "Group").to_owned(),
        lang.pick(
            "Deltagare (summa över kommuner)",
            "Participants (sum over kommuner)",
        )
        .to_owned(),
        lang.pick("Avslutade", "Leavers").to_owned(),
        lang.pick("Till arbete eller studier", "To work or studies")
            .to_owned(),
        lang.pick(
            "Till arbete, studier eller annan insats",
            "Into work, studies or other activity",
        )
        .to_owned(),
    ]];
    let groups =
        std::iter::once(ALL_LEAVERS).chain(report.project.target_groups.iter().map(|f| f.code()));
    for group in groups {
        let participants = if group == ALL_LEAVERS {
            figures
                .table(TableName::Participants)
                .and_then(|t| t.count(&[TOTAL, TOTAL, TOTAL]))
        } else {
            background.and_then(|t| t.count(&[TOTAL, TOTAL, group]))
        };
        let leavers = outcomes.and_then(|t| t.count(&[TOTAL, group, TOTAL]));
        let share = |codes: &[&str]| -> String {
            let part: Option<u64> =
                outcomes.and_then(|t| codes.iter().map(|o| t.count(&[TOTAL, group, o])).sum());
            match (part, leavers) {
                (Some(p), Some(l)) if l > 0 => {
                    format!("{} ({p})", lang.percent(p as f64 / l as f64))
                }
                (Some(_), Some(_)) => "–".to_owned(),
                _ => SUPPRESSED.to_owned(),
            }
        };
        rows.push(vec![
            lang.value(Dimension::FlagOrAll, group),
            count(participants),
            count(leavers),
            share(&["work", "studies"]),
            share(&["work", "studies", "other_activity"]),
        ]);
    }
    rows
}

/// The share of women against its target, for the target-group section.
pub(super) fn women_line(report: &Report) -> Option<String> {
    let lang = report.lang;
    let p = report
        .progress
        .iter()
        .find(|p| p.measure == Measure::ShareWomen)?;
    let target = report.project.targets.share_women?;
    Some(format!(
        "{}: {} ({} {})",
        lang.pick("Andel kvinnor", "Share of women"),
        figure(lang, p),
        lang.pick("mål minst", "target at least"),
        lang.percent(target.share)
    ))
}
