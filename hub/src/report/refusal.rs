//! Why a report is refused when stored submissions fail their check, and how each is
//! named, in the report's language (docs/audit.md, "A report never publishes a
//! failing submission").

use super::Lang;
use crate::store::Unverified;

pub(super) fn unverified_message(list: &[Unverified]) -> String {
    refusal(list, Lang::En)
}

/// Why a report is refused, in `lang`: how many stored submissions fail their
/// check, each named (kommun, submission id prefix, log index, what failed), and what
/// to do.
pub fn refusal(list: &[Unverified], lang: Lang) -> String {
    let mut text = match lang {
        Lang::Sv => format!(
            "{} lagrade inlämning(ar) klarar inte kontrollen av signerat innehåll, signatur, kvitto och loggpost; rapporten publicerar inga siffror från dem:",
            list.len()
        ),
        Lang::En => format!(
            "{} stored submission(s) fail the check of their signed bytes, signature, receipt and log entry; the report publishes no figure from them:",
            list.len()
        ),
    };
    for u in list {
        text.push_str(&format!("\n  {}", unverified_line(u, lang)));
    }
    text.push_str(lang.pick(
        "\n\nKör `samla-hub audit verify` för att se vad som är skadat. För att publicera utan dessa kommuner, ange --exclude-unverified (rapporten säger då att de utelämnats).",
        "\n\nRun `samla-hub audit verify` to see what is damaged. To publish without these kommuner, pass --exclude-unverified (the report then says they were left out).",
    ));
    text
}

/// One stored submission that fails its check, in `lang`: in Swedish as `samla-hub
/// audit verify` names it (`post 7: Sandviken (2181), inlämning 3fa2…: …`), in
/// English as [`Unverified`]'s `Display`.
pub fn unverified_line(u: &Unverified, lang: Lang) -> String {
    match lang {
        Lang::En => u.to_string(),
        Lang::Sv => samla_common::audit::wording::finding_sv(
            &samla_common::audit::Finding::StoredSubmission {
                index: u.log_index,
                kommun: u.kommun.clone(),
                submission: u.id.clone(),
                reason: u.damage.clone(),
            },
        ),
    }
}
