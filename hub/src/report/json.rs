//! The JSON form: every figure by code, with the rule, the targets as the project
//! defines them, the ESF+ common indicators and cumulative enrolment.

use samla_common::disclosure::PublishedCell;
use samla_common::report::{Scope, TargetProgress};
use samla_common::statistics::TableName;

use super::Report;

/// A published figure as JSON: the count, or `null` and `"suppressed": true`. Which
/// kind of suppression hid it is not said: "primary" would tell that the count is
/// below k, which is more than `..` says.
#[derive(serde::Serialize)]
struct JsonCount<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    count: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    suppressed: bool,
}

impl<'a> JsonCount<'a> {
    fn cell(cell: &'a PublishedCell) -> JsonCount<'a> {
        JsonCount {
            key: Some(&cell.key),
            label: None,
            count: cell.count,
            suppressed: cell.count.is_none(),
        }
    }

    fn count(count: &'a samla_common::disclosure::PublishedCount) -> JsonCount<'a> {
        JsonCount {
            key: None,
            label: Some(&count.label),
            count: count.count,
            suppressed: count.count.is_none(),
        }
    }
}

fn counts(list: &[samla_common::disclosure::PublishedCount]) -> Vec<JsonCount<'_>> {
    list.iter().map(JsonCount::count).collect()
}

#[derive(serde::Serialize)]
struct JsonTable<'a> {
    name: TableName,
    dimensions: &'a [samla_common::statistics::Dimension],
    cells: Vec<JsonCount<'a>>,
}

/// The JSON form: every figure by code, with the rule.
pub(super) fn render(report: &Report) -> Result<String, serde_json::Error> {
    let figures = report.figures();
    let shown: std::collections::HashSet<String> = report.row_units().into_iter().collect();
    let tables: Vec<JsonTable<'_>> = figures
        .tables
        .iter()
        .map(|t| JsonTable {
            name: t.name,
            dimensions: &t.dimensions,
            cells: t
                .cells
                .iter()
                .filter(|c| c.key.first().is_some_and(|k| shown.contains(k)))
                .map(JsonCount::cell)
                .collect(),
        })
        .collect();
    let progress: Vec<serde_json::Value> = report.progress.iter().map(target).collect();
    let distinct = match &figures.linkage {
        Ok(l) => serde_json::json!({
            "distinct_people": JsonCount::count(&l.distinct_people),
            "in_several_kommuner": JsonCount::count(&l.in_several_kommuner),
            "per_kommun": counts(&l.per_kommun),
            "kommun_overlaps": counts(&l.kommun_overlaps),
            "project_overlaps": counts(&l.project_overlaps),
        }),
        Err(problem) => serde_json::json!({ "not_counted": problem }),
    };
    let distinct = match report.linkage_split() {
        Some(why) => {
            serde_json::json!({ "not_counted": why, "reason": "pseudonym_schemes_differ" })
        }
        None => distinct,
    };
    let head = serde_json::json!({
        "project": {
            "code": report.project.code,
            "name": report.project.name,
            "lifetime": report.project.lifetime,
            "kommuner": report.project.kommuner,
            "linkage_domain": report.project.linkage_domain.as_str(),
        },
        "period": figures.period,
        "period_label": report.lang.period(&figures.period, report.lifetime),
        "lifetime": report.lifetime,
        "empty": figures.kommuner.is_empty(),
        "notice": report.empty_notice(),
        "generated_at": report.generated_at,
        "pseudonym_schemes": report.schemes.iter().map(|g| serde_json::json!({
            "scheme": g.scheme.code(),
            "name": super::scheme::scheme_name(report.lang, g.scheme),
            "key_id": g.key_id,
            "kommuner": g.kommuner,
        })).collect::<Vec<_>>(),
        "pseudonym_note": report.scheme_note(),
        "disclosure_control": match &figures.cell_key {
            None => serde_json::json!({ "method": "suppression", "k": figures.rule.k, "rule": figures.rule_text }),
            Some(m) => serde_json::json!({
                "method": "cell-key",
                "max_noise": m.params.max_noise,
                "variance": m.params.variance,
                "js": m.params.js,
                "ptable_fingerprint": m.fingerprint,
                "parts_need_not_sum_to_totals": true,
                "shares_from_published_counts": true,
                "rule": figures.rule_text,
            }),
        },
        "unverified_excluded": report.excluded.iter().map(|u| serde_json::json!({
            "kommun": u.kommun,
            "submission": u.id,
            "log_index": u.log_index,
            "why": u.damage.to_string(),
        })).collect::<Vec<_>>(),
        "note": report.excluded_note(),
        "kommuner_submitted": figures.kommuner,
        "kommuner_missing": figures.missing,
        "kommuner_shown": report.shown,
        "targets": progress,
        "targets_scope": scope(report.scope),
        "cumulative_enrolment": report.enrolment.iter().map(|p| serde_json::json!({
            "month": p.month,
            "up_to": p.up_to.to_string(),
            "count": p.count,
            "participants_target": report.project.targets.participants,
        })).collect::<Vec<_>>(),
        "esf_indicators": report.esf,
        "distinct": distinct,
        "outcomes_by_background": report.outcomes,
        "target_groups": report.project.target_groups.iter().map(|f| f.code()).collect::<Vec<_>>(),
        "monthly_active": report.monthly.iter().map(|(m, n)| serde_json::json!({"month": m, "count": n})).collect::<Vec<_>>(),
        "submissions": report.matrix,
    });
    // The tables are by far the largest part: serialised straight from the report.
    #[derive(serde::Serialize)]
    struct Whole<'a> {
        #[serde(flatten)]
        head: serde_json::Value,
        tables: Vec<JsonTable<'a>>,
    }
    serde_json::to_string_pretty(&Whole { head, tables })
}

fn scope(scope: Scope) -> serde_json::Value {
    match scope {
        Scope::Lifetime => serde_json::json!({ "kind": "lifetime" }),
        Scope::Cumulative(to) => {
            serde_json::json!({ "kind": "cumulative", "up_to": to.to_string() })
        }
        Scope::PeriodOnly => serde_json::json!({ "kind": "period" }),
    }
}

/// One target: what is measured, the part and whole, the figure, the target, and an
/// interval where the figure is suppressed.
fn target(p: &TargetProgress) -> serde_json::Value {
    let mut value = serde_json::json!({
        "measure": p.measure,
        "part": p.part,
        "whole": p.whole,
        "of": p.of,
        "basis": p.basis,
        "figure": p.figure,
        "target": p.target,
        "of_target": p.of_target(),
        "gap": p.gap(),
        "scope": scope(p.scope),
    });
    if let (Some((low, high)), Some(object)) = (p.interval, value.as_object_mut()) {
        object.insert("interval".to_owned(), serde_json::json!([low, high]));
    }
    value
}
