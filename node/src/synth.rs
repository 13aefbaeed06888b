//! Synthetic exports for tests, demos and benchmarks.
//!
//! People get valid personnummer (some samordningsnummer), a realistic mix of gender,
//! age (mostly 16–29, or only a project's ages), outcomes and background flags, and
//! sometimes a second participation. Every messy form of DESIGN.md §3 can be switched
//! on, and a share of rows can be made bad in each of the ways a real export goes
//! wrong. The same seed gives the same file. Movers ([`Movers`]) are the same people
//! in the exports of several kommuner, for testing distinct people across kommuner.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use samla_common::codes::{Education, EntryStatus, Flag, Gender, Outcome, ProjectCode};
use samla_common::period::{format_date, Period};
use samla_common::personnummer::luhn_check_digit;
use time::{Date, Duration};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Projects to spread participants over (the first gets most).
    pub projects: Vec<ProjectCode>,
    /// Start dates fall in this period; its last day is the export date.
    pub period: Period,
    /// Distinct people.
    pub participants: usize,
    /// Seed for the random generator.
    pub seed: u64,
    /// The messy forms to use.
    pub style: Style,
    /// Share of rows (0.0–1.0) made bad, in rotating ways.
    pub bad_rows: f64,
}

/// The messy forms of a real export.
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// `;` instead of `,`.
    pub semicolons: bool,
    /// Tab instead of `,`.
    pub tabs: bool,
    /// A UTF-8 byte order mark first.
    pub bom: bool,
    /// Windows-1252 instead of UTF-8.
    pub windows_1252: bool,
    /// 10-digit personnummer with `-` (or `+` at 100 or older).
    pub short_personnummer: bool,
    /// Swedish headers and values.
    pub swedish: bool,
    /// CRLF line endings.
    pub crlf: bool,
    /// Dates as `20240305`.
    pub compact_dates: bool,
    /// Name and address columns, which the node must drop.
    pub extra_columns: bool,
    /// Every field in quotes.
    pub quote_all: bool,
}

/// Who the people are, beyond what every export has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Population {
    /// Their ages on each start date, inclusive, as a project's target group
    /// (`(15, 24)`); `None` for the usual mix, mostly 16–29.
    pub ages: Option<(u8, u8)>,
    /// People who also appear in other kommuner's exports.
    pub movers: Option<Movers>,
}

/// The same people in several kommuner's exports: every export written with the same
/// `Movers`, period and ages holds them (with participations of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Movers {
    /// How many of the export's people they are.
    pub people: usize,
    /// The seed they are drawn from, the same on every side.
    pub seed: u64,
}

/// The kinds of bad row `synth` makes, in the order it rotates through them.
pub const BAD_ROW_KINDS: [&str; 5] = [
    "personnummer check digit wrong",
    "impossible date",
    "end before start",
    "unknown project",
    "unknown outcome",
];

/// Counts of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthReport {
    /// Data rows written.
    pub rows: u64,
    /// Rows made bad on purpose.
    pub bad_rows: u64,
}

/// Writes a synthetic export as CSV (or `.xlsx` if the path ends so).
///
/// CSV is written as it is generated, so a million rows take little memory.
pub fn write_export(path: &Path, options: &SynthOptions) -> std::io::Result<SynthReport> {
    write_export_with(path, options, &Population::default())
}

/// Writes a synthetic export of `population` (see [`write_export`]).
pub fn write_export_with(
    path: &Path,
    options: &SynthOptions,
    population: &Population,
) -> std::io::Result<SynthReport> {
    let is_xlsx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_xlsx {
        let mut rows = Vec::new();
        let report = generate(options, population, |row| {
            rows.push(row);
            Ok(())
        })?;
        write_xlsx(path, options, &rows)?;
        Ok(report)
    } else {
        write_csv(path, options, population)
    }
}

/// One row as text fields, in header order.
struct Row {
    fields: Vec<String>,
}

fn headers(style: &Style) -> Vec<&'static str> {
    let mut h: Vec<&str> = if style.swedish {
        vec![
            "Personnummer",
            "Projekt",
            "Startdatum",
            "Slutdatum",
            "Utfall",
            "Kön",
            "Utrikesfödd",
            "Nyanländ",
            "Funktionsnedsättning",
            "Ofullständig skolgång",
            "Psykisk ohälsa",
            "KAA",
            "Långtidsarbetslös",
            "Status vid inskrivning",
            "Utbildningsnivå",
        ]
    } else {
        vec![
            "personal_id",
            "project",
            "start_date",
            "end_date",
            "outcome",
            "gender",
            "foreign_born",
            "newly_arrived",
            "disability",
            "incomplete_school",
            "mental_health",
            "kaa",
            "long_term_unemployed",
            "status_at_entry",
            "education",
        ]
    };
    if style.extra_columns {
        let extra: [&str; 3] = if style.swedish {
            ["Förnamn", "Efternamn", "Adress"]
        } else {
            ["first_name", "last_name", "address"]
        };
        h.splice(1..1, extra);
    }
    h
}

fn generate(
    options: &SynthOptions,
    population: &Population,
    mut emit: impl FnMut(Row) -> std::io::Result<()>,
) -> std::io::Result<SynthReport> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut movers = population
        .movers
        .map(|m| (m.people, ChaCha8Rng::seed_from_u64(m.seed)));
    let mut report = SynthReport::default();
    let mut bad_kind = 0usize;
    let mut person = Person::default();
    for i in 0..options.participants {
        match (&mut movers, population.ages) {
            (Some((people, mover_rng)), ages) if i < *people => match ages {
                Some(ages) => person.draw_aged(mover_rng, options, ages),
                None => person.draw(mover_rng, options),
            },
            (_, Some(ages)) => person.draw_aged(&mut rng, options, ages),
            (_, None) => person.draw(&mut rng, options),
        }
        let window = population
            .ages
            .and_then(|ages| person.window(options.period, ages));
        let participations = if rng.random_bool(0.05) { 2 } else { 1 };
        for n in 0..participations {
            let participation = Participation::draw(&mut rng, options, n, window);
            let mut fields = render(&mut rng, options, &person, &participation);
            let bad = options.bad_rows > 0.0 && rng.random_bool(options.bad_rows.clamp(0.0, 1.0));
            if bad {
                spoil(&mut fields, bad_kind, &options.style);
                bad_kind = (bad_kind + 1) % BAD_ROW_KINDS.len();
                report.bad_rows += 1;
            }
            report.rows += 1;
            emit(Row { fields })?;
        }
    }
    Ok(report)
}

#[derive(Default)]
struct Person {
    birth: Option<Date>,
    /// 10 digits, YYMMDDNNNC, as ASCII.
    ten: [u8; 10],
    century: u8,
    gender: Option<Gender>,
    flags: Vec<Flag>,
    first_name: &'static str,
    last_name: &'static str,
}

const WOMEN: [&str; 6] = ["Åsa", "Maria", "Sara", "Elin", "Aisha", "Lina"];
const MEN: [&str; 6] = ["Örjan", "Erik", "Ahmed", "Johan", "Mohammed", "Lars"];
const SURNAMES: [&str; 6] = ["Andersson", "Öberg", "Nilsson", "Ali", "Ström", "Åkesson"];

impl Person {
    fn draw(&mut self, rng: &mut ChaCha8Rng, options: &SynthOptions) {
        let reference = options.period.from();
        let age = usual_age(rng);
        let birth = reference - Duration::days(i64::from(age) * 365 + rng.random_range(0..365));
        self.draw_with_birth(rng, birth);
    }

    /// Like [`Person::draw`], but aged `ages` (inclusive) on the period's first day:
    /// the usual mix of ages within them.
    fn draw_aged(&mut self, rng: &mut ChaCha8Rng, options: &SynthOptions, (low, high): (u8, u8)) {
        let (low, high) = (i32::from(low.min(high)), i32::from(low.max(high)));
        let age = (0..50)
            .map(|_| usual_age(rng))
            .find(|a| (low..=high).contains(a))
            .unwrap_or_else(|| rng.random_range(low..=high));
        // Born between the day after the birthday `age + 1` years before the period
        // and the birthday `age` years before it: exactly `age` on its first day.
        let from = options.period.from();
        let latest = years_before(from, age);
        let earliest = years_before(from, age + 1) + Duration::days(1);
        let span = (latest - earliest).whole_days().max(0);
        let birth = earliest + Duration::days(rng.random_range(0..=span));
        self.draw_with_birth(rng, birth);
    }

    /// The days within `period` on which this person is aged `ages` (inclusive).
    fn window(&self, period: Period, (low, high): (u8, u8)) -> Option<(Date, Date)> {
        let birth = self.birth?;
        let (low, high) = (i32::from(low.min(high)), i32::from(low.max(high)));
        let first = years_after(birth, low).max(period.from());
        let last = (years_after(birth, high + 1) - Duration::days(1)).min(period.to());
        (first <= last).then_some((first, last))
    }

    fn draw_with_birth(&mut self, rng: &mut ChaCha8Rng, birth: Date) {
        let gender = match rng.random_range(0..100) {
            0..=44 => Gender::Woman,
            45..=98 => Gender::Man,
            _ => Gender::Other,
        };
        let coordination = rng.random_bool(0.03);
        let day = birth.day() + if coordination { 60 } else { 0 };
        let serial = rng.random_range(1..=99u16) * 10;
        let gender_digit = match gender {
            Gender::Woman => rng.random_range(0..5u16) * 2,
            Gender::Man => rng.random_range(0..5u16) * 2 + 1,
            Gender::Other => rng.random_range(0..10u16),
        };
        let birth_number = (serial + gender_digit).max(1);
        let nine = format!(
            "{:02}{:02}{:02}{:03}",
            birth.year() % 100,
            birth.month() as u8,
            day,
            birth_number % 1000
        );
        self.ten[..9].copy_from_slice(nine.as_bytes());
        self.ten[9] = b'0' + luhn_check_digit(nine.as_bytes());
        self.century = (birth.year() / 100) as u8;
        self.birth = Some(birth);
        self.gender = Some(gender);
        const SHARES: [(Flag, f64); 7] = [
            (Flag::ForeignBorn, 0.30),
            (Flag::NewlyArrived, 0.10),
            (Flag::Disability, 0.15),
            (Flag::IncompleteSchool, 0.35),
            (Flag::MentalHealth, 0.25),
            (Flag::Kaa, 0.20),
            (Flag::LongTermUnemployed, 0.15),
        ];
        self.flags = SHARES
            .iter()
            .filter(|(_, p)| rng.random_bool(*p))
            .map(|(f, _)| *f)
            .collect();
        let names: &[&'static str] = if gender == Gender::Woman {
            &WOMEN
        } else {
            &MEN
        };
        self.first_name = names[rng.random_range(0..names.len())];
        self.last_name = SURNAMES[rng.random_range(0..SURNAMES.len())];
    }

    /// The written personnummer; `separated` says whether a 10-digit form gets its
    /// separator (most do).
    fn written(&self, style: &Style, separated: bool) -> String {
        let ten = std::str::from_utf8(&self.ten).unwrap_or_default();
        if style.short_personnummer {
            let old = self.birth.is_some_and(|b| b.year() <= 1926);
            let separator = if old { '+' } else { '-' };
            if separated {
                format!("{}{separator}{}", &ten[..6], &ten[6..])
            } else {
                ten.to_owned()
            }
        } else {
            format!("{}{ten}", self.century)
        }
    }
}

/// An age from the usual mix: mostly 16–29.
fn usual_age(rng: &mut ChaCha8Rng) -> i32 {
    match rng.random_range(0..100) {
        0..=4 => rng.random_range(15..=17),
        5..=24 => rng.random_range(18..=19),
        25..=69 => rng.random_range(20..=24),
        70..=94 => rng.random_range(25..=29),
        95..=98 => rng.random_range(30..=54),
        _ => rng.random_range(55..=64),
    }
}

/// The same day `years` years later (28 February for 29 February in other years).
fn years_after(date: Date, years: i32) -> Date {
    let year = date.year() + years;
    date.replace_year(year)
        .or_else(|_| Date::from_calendar_date(year, date.month(), 28))
        .unwrap_or(date)
}

/// The same day `years` years earlier.
fn years_before(date: Date, years: i32) -> Date {
    years_after(date, -years)
}

struct Participation {
    project: usize,
    start: Date,
    end: Option<Date>,
    outcome: Option<Outcome>,
    status: Option<EntryStatus>,
    education: Option<Education>,
}

impl Participation {
    /// A participation starting in the period, or in `window` (the days on which the
    /// person has the project's ages) if given.
    fn draw(
        rng: &mut ChaCha8Rng,
        options: &SynthOptions,
        n: usize,
        window: Option<(Date, Date)>,
    ) -> Participation {
        let to = options.period.to();
        let (from, last_start) = window.unwrap_or((options.period.from(), to));
        let span = (last_start - from).whole_days().max(1);
        let project = if options.projects.len() > 1 && (n > 0 || rng.random_bool(0.2)) {
            rng.random_range(0..options.projects.len())
        } else {
            0
        };
        let start = from + Duration::days(rng.random_range(0..span));
        let days = rng.random_range(20..720);
        let end = Some(start + Duration::days(days)).filter(|e| *e <= to);
        let outcome = end.map(|_| match rng.random_range(0..100) {
            0..=19 => Outcome::Work,
            20..=44 => Outcome::Studies,
            45..=64 => Outcome::JobSeeking,
            65..=79 => Outcome::OtherActivity,
            80..=91 => Outcome::Dropout,
            _ => Outcome::Unknown,
        });
        let status = match rng.random_range(0..100) {
            0..=39 => Some(EntryStatus::Unemployed),
            40..=54 => Some(EntryStatus::LongTermUnemployed),
            55..=89 => Some(EntryStatus::Inactive),
            90..=94 => Some(EntryStatus::Employed),
            _ => None,
        };
        let education = match rng.random_range(0..100) {
            0..=54 => Some(Education::Isced0To2),
            55..=89 => Some(Education::Isced3To4),
            90..=94 => Some(Education::Isced5To8),
            _ => None,
        };
        Participation {
            project,
            start,
            end,
            outcome,
            status,
            education,
        }
    }
}

fn swedish_outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Work => "arbete",
        Outcome::Studies => "studier",
        Outcome::JobSeeking => "arbetssökande",
        Outcome::OtherActivity => "annan insats",
        Outcome::Dropout => "avbrott",
        Outcome::Unknown => "okänt",
    }
}

/// Renders one row. The random draws do not depend on the style, so the same seed
/// gives the same people in every messy form.
fn render(
    rng: &mut ChaCha8Rng,
    options: &SynthOptions,
    person: &Person,
    p: &Participation,
) -> Vec<String> {
    let separated = rng.random_bool(0.9);
    let write_gender = rng.random_bool(0.5);
    let street_number: u32 = rng.random_range(1..80);
    let style = &options.style;
    let date = |d: Date| {
        let text = format_date(d);
        if style.compact_dates {
            text.replace('-', "")
        } else {
            text
        }
    };
    let gender = person.gender.unwrap_or(Gender::Man);
    // Most exports leave gender to the personnummer; non-binary must be written.
    let gender_text = if gender == Gender::Other || write_gender {
        if style.swedish {
            match gender {
                Gender::Woman => "kvinna",
                Gender::Man => "man",
                Gender::Other => "annat",
            }
        } else {
            gender.code()
        }
    } else {
        ""
    };
    let mut fields = vec![
        person.written(style, separated),
        options.projects[p.project].to_string(),
        date(p.start),
        p.end.map(date).unwrap_or_default(),
        p.outcome
            .map(|o| {
                if style.swedish {
                    swedish_outcome(o).to_owned()
                } else {
                    o.code().to_owned()
                }
            })
            .unwrap_or_default(),
        gender_text.to_owned(),
    ];
    for flag in Flag::ALL {
        let yes = person.flags.contains(flag);
        let text = match (style.swedish, yes) {
            (true, true) => "ja",
            (true, false) => "nej",
            (false, true) => "yes",
            (false, false) => "no",
        };
        fields.push(text.to_owned());
    }
    let status = p.status.map(|s| match (style.swedish, s) {
        (true, EntryStatus::Unemployed) => "arbetslös".to_owned(),
        (true, EntryStatus::LongTermUnemployed) => "långtidsarbetslös".to_owned(),
        (true, EntryStatus::Inactive) => "inaktiv".to_owned(),
        (true, EntryStatus::Employed) => "anställd".to_owned(),
        (_, s) => s.code().to_owned(),
    });
    fields.push(status.unwrap_or_default());
    let education = p.education.map(|e| match (style.swedish, e) {
        (true, Education::Isced0To2) => "förgymnasial".to_owned(),
        (true, Education::Isced3To4) => "gymnasial".to_owned(),
        (true, Education::Isced5To8) => "eftergymnasial".to_owned(),
        (_, e) => e.code().to_owned(),
    });
    fields.push(education.unwrap_or_default());
    if style.extra_columns {
        let address = format!("Storgatan {street_number}, Gävle");
        fields.splice(
            1..1,
            [
                person.first_name.to_owned(),
                person.last_name.to_owned(),
                address,
            ],
        );
    }
    fields
}

/// Makes a row bad in the given way (an index into [`BAD_ROW_KINDS`]).
fn spoil(fields: &mut [String], kind: usize, style: &Style) {
    let offset = if style.extra_columns { 3 } else { 0 };
    let (start, end, outcome) = (2 + offset, 3 + offset, 4 + offset);
    match kind {
        0 => {
            let pnr = &mut fields[0];
            if let Some(last) = pnr.pop() {
                let digit = last.to_digit(10).unwrap_or(0);
                pnr.push(char::from(b'0' + ((digit + 1) % 10) as u8));
            }
        }
        1 => {
            fields[start] = if style.compact_dates {
                "20240230".into()
            } else {
                "2024-02-30".into()
            }
        }
        2 => {
            fields[end] = if style.compact_dates {
                "20000101".into()
            } else {
                "2000-01-01".into()
            };
            if fields[outcome].is_empty() {
                fields[outcome] = if style.swedish {
                    "arbete".into()
                } else {
                    "work".into()
                };
            }
        }
        3 => fields[1 + offset] = "OKÄNT-PROJEKT".into(),
        _ => {
            fields[outcome] = "pension".into();
            if fields[end].is_empty() {
                fields[end] = fields[start].clone();
            }
        }
    }
}

fn write_csv(
    path: &Path,
    options: &SynthOptions,
    population: &Population,
) -> std::io::Result<SynthReport> {
    let style = &options.style;
    let delimiter = if style.tabs {
        b'\t'
    } else if style.semicolons {
        b';'
    } else {
        b','
    };
    let mut file = BufWriter::new(File::create(path)?);
    if style.bom && !style.windows_1252 {
        file.write_all(b"\xEF\xBB\xBF")?;
    }
    let mut csv = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(if style.crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .quote_style(if style.quote_all {
            csv::QuoteStyle::Always
        } else {
            csv::QuoteStyle::Necessary
        })
        .from_writer(file);
    // Delimiters and quotes are ASCII, so encoding field by field gives a valid file.
    let encode = |field: &str| -> Vec<u8> {
        if style.windows_1252 {
            encoding_rs::WINDOWS_1252.encode(field).0.into_owned()
        } else {
            field.as_bytes().to_vec()
        }
    };
    csv.write_record(headers(style).iter().map(|h| encode(h)))?;
    let report = generate(options, population, |row| {
        csv.write_record(row.fields.iter().map(|f| encode(f)))?;
        Ok(())
    })?;
    csv.flush()?;
    Ok(report)
}

fn write_xlsx(path: &Path, options: &SynthOptions, rows: &[Row]) -> std::io::Result<()> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| std::io::Error::other(e.to_string());
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Deltagare").map_err(fail)?;
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in headers(&options.style).iter().enumerate() {
        sheet.write_string(0, c as u16, *h).map_err(fail)?;
    }
    let offset = if options.style.extra_columns { 3 } else { 0 };
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(std::io::Error::other)?;
        for (c, value) in row.fields.iter().enumerate() {
            let is_date = c == 2 + offset || c == 3 + offset;
            let real_date = samla_common::period::parse_date(value).ok();
            match (is_date, real_date) {
                (true, Some(d)) => {
                    let excel = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day())
                        .map_err(fail)?;
                    sheet
                        .write_datetime_with_format(r, c as u16, &excel, &date_format)
                        .map_err(fail)?;
                }
                _ if !value.is_empty() => {
                    sheet.write_string(r, c as u16, value).map_err(fail)?;
                }
                _ => {}
            }
        }
    }
    workbook.save(path).map_err(fail)
}
