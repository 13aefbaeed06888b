//! Words and labels of reports, in Swedish (the default) and English.

use samla_common::codes::{AgeBand, Education, EntryStatus, Flag, Gender, Outcome};
use samla_common::disclosure::SUPPRESSED;
use samla_common::disclosure::TOTAL;
use samla_common::report::Measure;
use samla_common::statistics::{Dimension, TableName, ALL_LEAVERS};

/// The language of a report's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    /// Svenska.
    #[default]
    Sv,
    /// English.
    En,
}

impl Lang {
    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    /// Picks the Swedish or English text.
    pub fn pick<'a>(self, sv: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Sv => sv,
            Lang::En => en,
        }
    }

    /// The title of a table.
    pub fn table(self, name: TableName) -> &'static str {
        use TableName as T;
        match (name, self) {
            (T::Participants, Lang::Sv) => "Deltagare efter kön och ålder",
            (T::Participants, Lang::En) => "Participants by gender and age",
            (T::Entrants, Lang::Sv) => "Nya deltagare efter kön och ålder",
            (T::Entrants, Lang::En) => "Entrants by gender and age",
            (T::Leavers, Lang::Sv) => "Avslutade efter kön och utfall",
            (T::Leavers, Lang::En) => "Leavers by gender and outcome",
            (T::Background, Lang::Sv) => "Deltagare efter kön och bakgrund",
            (T::Background, Lang::En) => "Participants by gender and background",
            (T::OutcomeByBackground, Lang::Sv) => "Avslutade efter bakgrund och utfall",
            (T::OutcomeByBackground, Lang::En) => "Leavers by background and outcome",
            (T::EntryStatus, Lang::Sv) => "Nya deltagare efter kön och status vid start",
            (T::EntryStatus, Lang::En) => "Entrants by gender and status at entry",
            (T::EntryEducation, Lang::Sv) => "Nya deltagare efter kön och utbildning",
            (T::EntryEducation, Lang::En) => "Entrants by gender and education",
            (T::Duration, Lang::Sv) => "Avslutade efter utfall och tid i projektet",
            (T::Duration, Lang::En) => "Leavers by outcome and months in the project",
            (T::MonthlyActive, Lang::Sv) => "Aktiva deltagare per månad",
            (T::MonthlyActive, Lang::En) => "Active participants per month",
        }
    }

    /// The name of a dimension.
    pub fn dimension(self, dimension: Dimension) -> &'static str {
        use Dimension as D;
        match dimension {
            D::Project => self.pick("projekt", "project"),
            D::Gender => self.pick("kön", "gender"),
            D::AgeBand => self.pick("ålder", "age"),
            D::Outcome => self.pick("utfall", "outcome"),
            D::Flag | D::FlagOrAll => self.pick("bakgrund", "background"),
            D::StatusAtEntry => self.pick("status vid start", "status at entry"),
            D::Education => self.pick("utbildning", "education"),
            D::Duration => self.pick("tid i projektet (månader)", "time in the project (months)"),
            D::Month => self.pick("månad", "month"),
            D::Kommun => "kommun",
        }
    }

    /// The label of one value of a dimension (codes it does not know stay as they are).
    pub fn value(self, dimension: Dimension, code: &str) -> String {
        if code == TOTAL {
            return self.pick("Totalt", "Total").to_owned();
        }
        let known = match dimension {
            Dimension::Gender => Gender::parse(code).map(|g| self.gender(g)),
            Dimension::Outcome => Outcome::parse(code).map(|o| self.outcome(o)),
            Dimension::Flag | Dimension::FlagOrAll if code == ALL_LEAVERS => {
                Some(self.pick("Alla", "All"))
            }
            Dimension::Flag | Dimension::FlagOrAll => Flag::parse(code).map(|f| self.flag(f)),
            Dimension::StatusAtEntry => EntryStatus::parse(code).map(|s| self.status(s)),
            Dimension::Education => Education::parse(code).map(|e| self.education(e)),
            Dimension::AgeBand => AgeBand::parse(code).map(|a| self.age(a)),
            Dimension::Duration => {
                let range = code.replace('-', "–");
                return format!("{range} {}", self.pick("mån", "months"));
            }
            Dimension::Kommun => code
                .parse::<samla_common::codes::KommunCode>()
                .ok()
                .and_then(|k| k.name()),
            _ => None,
        };
        known.map_or_else(|| code.to_owned(), str::to_owned)
    }

    fn gender(self, g: Gender) -> &'static str {
        match g {
            Gender::Woman => self.pick("Kvinnor", "Women"),
            Gender::Man => self.pick("Män", "Men"),
            Gender::Other => self.pick("Annat", "Other"),
        }
    }

    fn outcome(self, o: Outcome) -> &'static str {
        match o {
            Outcome::Work => self.pick("Arbete", "Work"),
            Outcome::Studies => self.pick("Studier", "Studies"),
            Outcome::JobSeeking => self.pick("Arbetssökande", "Job seeking"),
            Outcome::OtherActivity => self.pick("Annan insats", "Other activity"),
            Outcome::Dropout => self.pick("Avbrott", "Dropped out"),
            Outcome::Unknown => self.pick("Okänt", "Unknown"),
        }
    }

    fn flag(self, f: Flag) -> &'static str {
        match f {
            Flag::ForeignBorn => self.pick("Utrikes född", "Foreign-born"),
            Flag::NewlyArrived => self.pick("Nyanländ", "Newly arrived"),
            Flag::Disability => self.pick("Funktionsnedsättning", "Disability"),
            Flag::IncompleteSchool => self.pick("Ofullständig skolgång", "Incomplete schooling"),
            Flag::MentalHealth => self.pick("Psykisk ohälsa", "Mental ill-health"),
            Flag::Kaa => self.pick("Aktivitetsansvaret (KAA)", "Activity responsibility (KAA)"),
            Flag::LongTermUnemployed => self.pick("Långtidsarbetslös", "Long-term unemployed"),
        }
    }

    fn status(self, s: EntryStatus) -> &'static str {
        match s {
            EntryStatus::Unemployed => self.pick("Arbetslös", "Unemployed"),
            EntryStatus::LongTermUnemployed => {
                self.pick("Långtidsarbetslös", "Long-term unemployed")
            }
            EntryStatus::Inactive => self.pick("Inaktiv", "Inactive"),
            EntryStatus::Employed => self.pick("Anställd", "Employed"),
            EntryStatus::Unknown => self.pick("Okänt", "Unknown"),
        }
    }

    fn education(self, e: Education) -> &'static str {
        match e {
            Education::Isced0To2 => self.pick("Förgymnasial", "Primary or lower secondary"),
            Education::Isced3To4 => self.pick("Gymnasial", "Upper secondary"),
            Education::Isced5To8 => self.pick("Eftergymnasial", "Tertiary"),
            Education::Unknown => self.pick("Okänt", "Unknown"),
        }
    }

    fn age(self, a: AgeBand) -> &'static str {
        match a {
            AgeBand::UpTo17 => self.pick("–17 år", "up to 17"),
            AgeBand::From18To19 => self.pick("18–19 år", "18–19"),
            AgeBand::From20To24 => self.pick("20–24 år", "20–24"),
            AgeBand::From25To29 => self.pick("25–29 år", "25–29"),
            AgeBand::From30To54 => self.pick("30–54 år", "30–54"),
            AgeBand::From55 => self.pick("55– år", "55 and over"),
        }
    }

    /// The name of a target's measure.
    pub fn measure(self, m: Measure) -> &'static str {
        match m {
            Measure::Participants => self.pick(
                "Deltagare (unika personer)",
                "Participants (distinct people)",
            ),
            Measure::ShareWomen => self.pick("Andel kvinnor", "Share of women"),
            Measure::ShareWorkOrStudies => self.pick(
                "Andel till arbete eller studier",
                "Share to work or studies",
            ),
            Measure::ShareIntoActivity => self.pick(
                "Andel till arbete, studier eller annan insats",
                "Share into work, studies or other activity",
            ),
        }
    }

    /// The region, where a figure is the region's own (distinct people, targets).
    pub fn region(self) -> &'static str {
        self.pick("Regionen", "Region")
    }

    /// The region's row in per-kommun tables: the sum of the kommuner's cells.
    pub fn region_sum(self) -> &'static str {
        self.pick("Regionen, summa över kommuner", "Region, sum over kommuner")
    }
}

impl Lang {
    /// A share as a percentage with one decimal, as the language writes it:
    /// `39,5 %` in Swedish, `39.5 %` in English.
    pub fn percent(self, share: f64) -> String {
        self.decimal(&samla_common::report::percent(share))
    }

    /// An interval of shares: `55,0–57,1 %`.
    pub fn percent_interval(self, (low, high): (f64, f64)) -> String {
        self.decimal(&format!("{:.1}–{:.1} %", low * 100.0, high * 100.0))
    }

    /// A number written with a decimal point, in the language's convention.
    pub fn decimal(self, text: &str) -> String {
        match self {
            Lang::Sv => text.replace('.', ","),
            Lang::En => text.to_owned(),
        }
    }

    /// A period as people name it: "Hela projekttiden (2023-09-01–2026-08-31)" for
    /// the lifetime, a year as `2025`, otherwise `2025-01-01–2025-06-30`.
    pub fn period(self, period: &samla_common::period::Period, lifetime: bool) -> String {
        let range = format!("{}–{}", period.from(), period.to());
        if lifetime {
            return format!(
                "{} ({range})",
                self.pick("Hela projekttiden", "The whole project")
            );
        }
        let (from, to) = (period.from(), period.to());
        if from.year() == to.year()
            && (from.month(), from.day()) == (time::Month::January, 1)
            && (to.month(), to.day()) == (time::Month::December, 31)
        {
            return from.year().to_string();
        }
        range
    }

    /// What the targets are measured over.
    pub fn scope(self, scope: samla_common::report::Scope) -> String {
        use samla_common::report::Scope;
        match scope {
            Scope::Lifetime => self.pick("Hela projekttiden", "The whole project").to_owned(),
            Scope::Cumulative(to) => format!(
                "{} {to}",
                self.pick(
                    "Från projektets start till och med",
                    "From the project's start up to and including"
                )
            ),
            Scope::PeriodOnly => self
                .pick(
                    "Endast perioden: inga inlämningar från projektets start finns, så målen jämförs inte",
                    "The period only: no submissions from the project's start exist, so the targets are not compared",
                )
                .to_owned(),
        }
    }
}

/// What protected the figures, in words, for the head of every output: the cell key
/// method when the report used it, else the suppression rule.
pub fn method_text(lang: Lang, figures: &samla_common::report::RegionalReport) -> String {
    let Some(method) = &figures.cell_key else {
        return rule_text(lang, figures.rule.k);
    };
    let p = method.params;
    let variance = match lang {
        Lang::Sv => p.variance.to_string().replace('.', ","),
        Lang::En => p.variance.to_string(),
    };
    let js = match (lang, p.js) {
        (Lang::Sv, 0) => String::new(),
        (Lang::Sv, 1) => " Inget publicerat antal är 1.".to_owned(),
        (Lang::Sv, js) => format!(" Inget publicerat antal ligger mellan 1 och {js}."),
        (Lang::En, 0) => String::new(),
        (Lang::En, 1) => " No published count is 1.".to_owned(),
        (Lang::En, js) => format!(" No published count is between 1 and {js}."),
    };
    match lang {
        Lang::Sv => format!(
            "Röjandekontroll: cellnyckelmetoden (SCB:s metod). Varje cell och summa publiceras, \
             förskjuten med högst {d} (varians {variance}); nollor förblir noll.{js} Samma \
             personer ger samma värde i varje utdata. Delar behöver inte summera till \
             totaler; andelar och mål räknas från de publicerade antalen. Varje punkt i \
             inskrivna över tid är en egen cell, så serien behöver inte öka från månad till \
             månad. Ingen cell undertrycks. Störningstabell {fp}.",
            d = p.max_noise,
            fp = &method.fingerprint[..16]
        ),
        Lang::En => format!(
            "Disclosure control: the cell key method (SCB's method). Every cell and total is \
             published, moved by at most {d} (variance {variance}); zeros stay zero.{js} The \
             same people give the same value in every output. Parts need not add up to \
             totals; shares and targets are computed from the published counts. Each point \
             of cumulative enrolment is a cell of its own, so the series need not rise from \
             month to month. No cell is suppressed. Perturbation table {fp}.",
            d = p.max_noise,
            fp = &method.fingerprint[..16]
        ),
    }
}

/// What the disclosure rule did, in words, for the head of every output.
pub fn rule_text(lang: Lang, k: u64) -> String {
    match lang {
        Lang::Sv => format!(
            "Röjandekontroll: celler med 1 till {} personer undertrycks (primärt, k = {k}); \
             fler celler undertrycks så att ingen undertryckt cell kan räknas fram ur \
             publicerade celler och summor (sekundärt, exakt gausseliminering). Unika \
             personer och överlapp följer samma regel. `..` = undertryckt.",
            k.saturating_sub(1)
        ),
        Lang::En => format!(
            "Disclosure control: cells with 1 to {} people are suppressed (primary, k = {k}); \
             further cells are suppressed so that no suppressed cell can be derived from the \
             published cells and totals (secondary, exact Gaussian elimination). Distinct \
             people and overlaps follow the same rule. `..` = suppressed.",
            k.saturating_sub(1)
        ),
    }
}

/// A count as printed: the number, or `..` when suppressed.
pub fn count(count: Option<u64>) -> String {
    count.map_or_else(|| SUPPRESSED.to_owned(), |n| n.to_string())
}
