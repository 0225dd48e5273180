//! The server's side: every language's catalog, its formats made from CLDR by ICU4X, plural
//! categories, the JSON a page carries, and the catalogs' consistency check.

use crate::{Area, Catalog, CheckoutText, CommonText, Formats, I18n, Locale, PortalText};
use icu_calendar::{Date, Gregorian};
use icu_collator::Collator;
use icu_datetime::{FixedCalendarDateTimeFormatter, fieldsets};
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_experimental::dimension::currency::formatter::CurrencyFormatter;
use icu_experimental::displaynames::multi::RegionDisplayNames;
use icu_locale::preferences::extensions::unicode::keywords::currency;
use icu_plurals::{PluralCategory, PluralRuleType, PluralRules};
use std::sync::OnceLock;

/// `locale`'s catalog, every area filled (English where a text is missing); made once.
pub fn catalog(locale: Locale) -> &'static I18n {
    static CATALOGS: OnceLock<Vec<I18n>> = OnceLock::new();
    let all = CATALOGS.get_or_init(|| Locale::ALL.into_iter().map(|l| I18n::new(build(l))).collect());
    &all[locale_index(locale)]
}

fn locale_index(locale: Locale) -> usize {
    Locale::ALL.iter().position(|l| *l == locale).unwrap_or(0)
}

/// The JSON a page of `area` in `locale` carries ([`Catalog::page_json`]); made once.
pub fn page_json(locale: Locale, area: Area) -> &'static str {
    static PAGES: OnceLock<Vec<[String; 3]>> = OnceLock::new();
    let all = PAGES.get_or_init(|| {
        Locale::ALL
            .into_iter()
            .map(|l| [Area::Common, Area::Checkout, Area::Portal].map(|a| catalog(l).page_json(a)))
            .collect()
    });
    let area_index = match area {
        Area::Common => 0,
        Area::Checkout => 1,
        Area::Portal => 2,
    };
    &all[locale_index(locale)][area_index]
}

impl Catalog {
    /// The JSON for a page of `area` (HTML-safe inside `<script type="application/json">`): the
    /// locale, its formats, the language menu, and, unless English, the texts of `common` and
    /// `area`.
    pub fn page_json(&self, area: Area) -> String {
        let mut page = Catalog { common: Vec::new(), checkout: Vec::new(), portal: Vec::new(), ..self.clone() };
        if area == Area::Common {
            page.regions = Vec::new();
        }
        if self.locale != Locale::En {
            page.common = self.common.clone();
            match area {
                Area::Checkout => page.checkout = self.checkout.clone(),
                Area::Portal => page.portal = self.portal.clone(),
                Area::Common => {}
            }
        }
        let json = serde_json::to_string(&page).unwrap_or_default();
        json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
    }
}

fn build(locale: Locale) -> Catalog {
    let languages = Locale::ALL
        .into_iter()
        .filter(|l| *l != Locale::Pseudo || locale == Locale::Pseudo)
        .map(|l| (l.tag().to_string(), own_name(l)))
        .collect();
    Catalog {
        locale,
        version: crate::CATALOG_VERSION,
        formats: formats(locale),
        languages,
        regions: if locale == Locale::En { Vec::new() } else { regions(locale) },
        common: texts(locale, crate::COMMON_SOURCES, CommonText::KEYS.len()),
        checkout: texts(locale, crate::CHECKOUT_SOURCES, CheckoutText::KEYS.len()),
        portal: texts(locale, crate::PORTAL_SOURCES, PortalText::KEYS.len()),
    }
}

type Sources = &'static [(&'static str, &'static [Option<&'static str>])];

fn texts_of(sources: Sources, tag: &str) -> &'static [Option<&'static str>] {
    sources.iter().find(|(t, _)| *t == tag).map(|(_, texts)| *texts).unwrap_or(&[])
}

/// An area's texts in `locale`, English where one is missing.
fn texts(locale: Locale, sources: Sources, len: usize) -> Vec<String> {
    let (own, english) = (texts_of(sources, locale.plural_tag()), texts_of(sources, "en"));
    (0..len)
        .map(|i| {
            let text = own.get(i).copied().flatten().or(english.get(i).copied().flatten()).unwrap_or_default();
            if locale == Locale::Pseudo { crate::pseudo::pseudo(text) } else { text.to_string() }
        })
        .collect()
}

/// The card form's countries in `locale`: CLDR's names, sorted by its collation.
fn regions(locale: Locale) -> Vec<(String, String)> {
    let loc = icu_locale(locale);
    let names = RegionDisplayNames::try_new((&loc).into(), Default::default()).ok();
    let mut regions: Vec<(String, String)> = billing::countries::COUNTRIES
        .iter()
        .map(|(code, english)| {
            let region = code.parse::<icu_locale::subtags::Region>().ok();
            let name = match (locale, &names, region) {
                (Locale::Pseudo, _, _) => crate::pseudo::pseudo(english),
                (_, Some(names), Some(region)) => names.of(region).unwrap_or(english).to_string(),
                _ => english.to_string(),
            };
            (code.to_string(), name)
        })
        .collect();
    if let Ok(collator) = Collator::try_new((&loc).into(), Default::default()) {
        regions.sort_by(|a, b| collator.compare(&a.1, &b.1));
    }
    regions
}

/// A language's name in itself (its catalog's `language_name`), the menu's entry.
fn own_name(locale: Locale) -> String {
    let own = texts_of(crate::COMMON_SOURCES, locale.plural_tag());
    let name = own.get(CommonText::LanguageName as usize).copied().flatten().unwrap_or(locale.tag());
    if locale == Locale::Pseudo { crate::pseudo::pseudo(name) } else { name.to_string() }
}

fn icu_locale(locale: Locale) -> icu_locale::Locale {
    locale.plural_tag().parse().unwrap_or(icu_locale::Locale::UNKNOWN)
}

/// The locale's templates, made by formatting probe values with ICU4X and putting placeholders
/// where the probes' digits are.
fn formats(locale: Locale) -> Formats {
    let loc = icu_locale(locale);
    let fallback = Formats::default();
    let Ok(money) = CurrencyFormatter::try_new_symbol((&loc).into(), currency!("USD"), Default::default()) else {
        return fallback;
    };
    let format_money = |value: &str| value.parse::<Decimal>().map(|d| money.format_fixed_decimal(&d).to_string());
    let (Ok(positive), Ok(negative)) = (format_money("1234567.89"), format_money("-1234567.89")) else {
        return fallback;
    };
    let (group, decimal) = separators(&positive).unwrap_or((fallback.group.clone(), fallback.decimal.clone()));
    let decimals = DecimalFormatter::try_new((&loc).into(), Default::default()).ok();
    let thousand = decimals.as_ref().map(|f| f.format(&Decimal::from(1000)).to_string()).unwrap_or_default();
    Formats {
        money: [number_template(&positive), number_template(&negative)],
        min_grouping: if thousand.chars().all(|c| c.is_ascii_digit()) { 2 } else { 1 },
        group,
        decimal,
        long_date: month_templates(&loc, DateKind::Long).unwrap_or(fallback.long_date),
        short_date: month_templates(&loc, DateKind::Short).unwrap_or(fallback.short_date),
        month_year: month_templates(&loc, DateKind::MonthYear).unwrap_or(fallback.month_year),
    }
}

/// The group and decimal separators of `1,234,567.89` as the locale writes it.
fn separators(formatted: &str) -> Option<(String, String)> {
    let start = formatted.find('1')?;
    let after_one = &formatted[start + 1..];
    let group = &after_one[..after_one.find('2')?];
    let end = formatted.rfind("89")?;
    let before_89 = &formatted[..end];
    let decimal = &before_89[before_89.rfind('7')? + 1..];
    Some((group.to_string(), decimal.to_string()))
}

/// `-1.234.567,89 $` -> `-{n} $`: the span from the first to the last digit becomes `{n}`.
fn number_template(formatted: &str) -> String {
    let first = formatted.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
    let last = formatted.rfind(|c: char| c.is_ascii_digit()).map_or(formatted.len(), |i| i + 1);
    format!("{}{{n}}{}", &formatted[..first], &formatted[last..])
}

/// A formatter for one kind of date.
type DateFormat = Box<dyn Fn(&Date<Gregorian>) -> String>;

enum DateKind {
    Long,
    Short,
    MonthYear,
}

/// One template per month: a probe date (the 23rd, 2045) formatted, its year and day replaced.
fn month_templates(loc: &icu_locale::Locale, kind: DateKind) -> Option<Vec<String>> {
    let prefs = loc.into();
    let format: DateFormat = match kind {
        DateKind::Long => {
            let f = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(prefs, fieldsets::YMD::long()).ok()?;
            Box::new(move |d| f.format(d).to_string())
        }
        DateKind::Short => {
            let f = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(prefs, fieldsets::MD::medium()).ok()?;
            Box::new(move |d| f.format(d).to_string())
        }
        DateKind::MonthYear => {
            let f = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(prefs, fieldsets::YM::long()).ok()?;
            Box::new(move |d| f.format(d).to_string())
        }
    };
    (1..=12)
        .map(|month| {
            let date = Date::try_new_gregorian(2045, month, 23).ok()?;
            Some(format(&date).replace("2045", "{y}").replace("23", "{d}"))
        })
        .collect()
}

/// CLDR's plural category of `n` in `locale` (cardinal, or ordinal), as `Intl.PluralRules` names it.
pub(crate) fn plural_category(locale: Locale, n: u64, ordinal: bool) -> &'static str {
    let kind = if ordinal { PluralRuleType::Ordinal } else { PluralRuleType::Cardinal };
    let Ok(rules) = PluralRules::try_new((&icu_locale(locale)).into(), kind.into()) else {
        return "other";
    };
    category_name(rules.category_for(n))
}

fn category_name(category: PluralCategory) -> &'static str {
    match category {
        PluralCategory::Zero => "zero",
        PluralCategory::One => "one",
        PluralCategory::Two => "two",
        PluralCategory::Few => "few",
        PluralCategory::Many => "many",
        PluralCategory::Other => "other",
    }
}

/// What is wrong with the catalogs, one line a problem: a key a language lacks or has that English
/// does not, a text whose placeholders differ from English's, a plural text without a variant its
/// language's rules need (or with one they never pick).
pub fn check_catalogs() -> Vec<String> {
    let mut problems = Vec::new();
    let areas: [(&str, &[&str], Sources); 3] = [
        ("common", CommonText::KEYS, crate::COMMON_SOURCES),
        ("checkout", CheckoutText::KEYS, crate::CHECKOUT_SOURCES),
        ("portal", PortalText::KEYS, crate::PORTAL_SOURCES),
    ];
    for (area, keys, sources) in areas {
        let english = texts_of(sources, "en");
        for locale in Locale::ALL.into_iter().filter(|l| *l != Locale::Pseudo) {
            let own = texts_of(sources, locale.tag());
            for (i, key) in keys.iter().enumerate() {
                let where_ = format!("{}/{area}.txt: {key}", locale.tag());
                match (own.get(i).copied().flatten(), english.get(i).copied().flatten()) {
                    (None, _) => problems.push(format!("{where_}: missing")),
                    (Some(text), Some(en)) => check_text(locale, &where_, text, en, &mut problems),
                    (Some(_), None) => {}
                }
            }
        }
    }
    problems
}

fn check_text(locale: Locale, where_: &str, text: &str, english: &str, problems: &mut Vec<String>) {
    let mut ours = placeholders(text);
    let mut theirs = placeholders(english);
    ours.dedup();
    theirs.dedup();
    if ours != theirs {
        problems.push(format!("{where_}: placeholders {ours:?}, English has {theirs:?}"));
    }
    let Some(variants) = text.strip_prefix('\u{1e}') else {
        if english.starts_with('\u{1e}') {
            problems.push(format!("{where_}: English has plural variants, this text has none"));
        }
        return;
    };
    let named: Vec<&str> = variants.split('\u{1e}').map(|v| v.split('\u{1f}').next().unwrap_or_default()).collect();
    let ordinal = english.contains("{n}");
    let kind = if ordinal { PluralRuleType::Ordinal } else { PluralRuleType::Cardinal };
    let Ok(rules) = PluralRules::try_new((&icu_locale(locale)).into(), kind.into()) else {
        return;
    };
    let needed: Vec<&str> = rules.categories().map(category_name).collect();
    for category in &needed {
        if !named.contains(category) {
            problems.push(format!("{where_}: no `{category}` variant"));
        }
    }
    for category in &named {
        if !needed.contains(category) {
            problems.push(format!("{where_}: `{category}` is never chosen in this language"));
        }
    }
}

/// The placeholder names of a text (every variant's), sorted.
fn placeholders(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name.to_string()))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn amounts_and_dates_follow_cldr() {
        let cases: [(Locale, &str, &str, &str); 8] = [
            (Locale::En, "$20.00", "January 1, 2027", "1,000"),
            (Locale::De, "20,00\u{a0}$", "1. Januar 2027", "1.000"),
            (Locale::Fr, "20,00\u{a0}$US", "1 janvier 2027", "1\u{202f}000"),
            (Locale::Es, "20,00\u{a0}US$", "1 de enero de 2027", "1000"),
            (Locale::PtBr, "US$\u{a0}20,00", "1 de janeiro de 2027", "1.000"),
            (Locale::Ja, "$20.00", "2027年1月1日", "1,000"),
            (Locale::ZhCn, "US$20.00", "2027年1月1日", "1,000"),
            (Locale::Ko, "US$20.00", "2027년 1월 1일", "1,000"),
        ];
        for (locale, amount, date, thousand) in cases {
            let c = catalog(locale);
            assert_eq!(c.money(2000), amount, "{locale:?}");
            assert_eq!(c.long_date(datetime!(2027-01-01 00:00 UTC)), date, "{locale:?}");
            assert_eq!(c.number(1000), thousand, "{locale:?}");
        }
        assert_eq!(catalog(Locale::De).money(-123_456_789), "-1.234.567,89\u{a0}$");
        assert_eq!(catalog(Locale::Es).number(10_000), "10.000");
        assert_eq!(catalog(Locale::De).short_date(datetime!(2026-11-16 00:00 UTC)), "16. Nov.");
        assert_eq!(catalog(Locale::Ja).month_year(datetime!(2026-11-16 00:00 UTC)), "2026年11月");
        assert_eq!(catalog(Locale::Pseudo).money(2000), "$20.00");
        let german = &catalog(Locale::De).regions;
        assert!(german.contains(&("US".into(), "Vereinigte Staaten".into())), "{german:?}");
        let japanese = &catalog(Locale::Ja).regions;
        assert!(japanese.contains(&("DE".into(), "ドイツ".into())), "{japanese:?}");
        assert!(catalog(Locale::En).regions.is_empty());
    }

    #[test]
    fn the_templates_agree_with_icu4x_on_every_day() {
        // The templates replace the probe's day; a locale that writes some day differently
        // (an ordinal "1er") would show here.
        for locale in Locale::ALL {
            let loc = icu_locale(locale);
            let g =
                FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new((&loc).into(), fieldsets::YMD::long()).unwrap();
            for day in [1u8, 2, 3, 11, 21, 22, 31] {
                let date = Date::try_new_gregorian(2026, 12, day).unwrap();
                let at =
                    time::Date::from_calendar_date(2026, time::Month::December, day).unwrap().midnight().assume_utc();
                assert_eq!(catalog(locale).long_date(at), g.format(&date).to_string(), "{locale:?} {day}");
            }
        }
    }

    /// Issue 37: Korean particles follow the product's name, whatever the operator calls it.
    #[test]
    fn korean_particles_follow_the_name_before_them() {
        let korean = catalog(Locale::Ko);
        let hint = |product: &str| korean.f(crate::CheckoutText::SuccessHint, &[("product", product), ("day", "1일")]);
        assert!(hint("Kiro").contains("Kiro가 열립니다"), "{}", hint("Kiro"));
        assert!(hint("Slack").contains("Slack이 열립니다"), "{}", hint("Slack"));
        let back = |product: &str| korean.f(crate::CommonText::ReturnLink, &[("product", product)]);
        assert_eq!(back("Kiro"), "Kiro로 돌아가기");
        assert_eq!(back("Zoom"), "Zoom으로 돌아가기");
        assert_eq!(back("Excel"), "Excel로 돌아가기");
    }

    #[test]
    fn plural_categories_are_cldrs() {
        assert_eq!(plural_category(Locale::En, 1, false), "one");
        assert_eq!(plural_category(Locale::En, 2, true), "two");
        assert_eq!(plural_category(Locale::Fr, 0, false), "one");
        assert_eq!(plural_category(Locale::Ja, 1, false), "other");
        assert_eq!(plural_category(Locale::Es, 1_000_000, false), "many");
    }

    #[test]
    fn every_catalog_has_every_key_with_englishs_placeholders() {
        let problems = check_catalogs();
        assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    }

    /// Every `.rs` file's text under `dir`.
    fn sources(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }

    #[test]
    fn every_key_is_used() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut code = String::new();
        for dir in ["src", "crates/views/src", "crates/i18n/src", "crates/server/src"] {
            sources(&root.join(dir), &mut code);
        }
        let areas: [(&str, &[&str]); 3] =
            [("CommonText", CommonText::KEYS), ("CheckoutText", CheckoutText::KEYS), ("PortalText", PortalText::KEYS)];
        let unused: Vec<String> = areas
            .iter()
            .flat_map(|(name, keys)| keys.iter().map(move |key| (name, key)))
            .filter(|(_, key)| {
                let variant: String = key.split('_').map(|p| p[..1].to_uppercase() + &p[1..]).collect();
                // `CommonText::Loading`, or through an alias (`T::Loading`): the variant's path
                // ends there (not `T::LoadingInvoices`).
                let path = format!("::{variant}");
                !code.match_indices(&path).any(|(at, _)| {
                    !code[at + path.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            })
            .map(|(name, key)| format!("{name}: {key}"))
            .collect();
        assert!(unused.is_empty(), "keys no code uses:\n{}", unused.join("\n"));
    }

    #[test]
    fn a_page_carries_only_its_areas_and_no_html() {
        let de = catalog(Locale::De).page_json(Area::Checkout);
        assert!(!de.contains('<') && de.contains("\"checkout\"") && !de.contains("\"portal\""), "{de}");
        let en = catalog(Locale::En).page_json(Area::Checkout);
        assert!(!en.contains("\"common\"") && !en.contains("\"checkout\""), "{en}");
        // The app reads what the server writes, texts and all.
        use billing::json::FromJson;
        for (locale, area) in [(Locale::De, Area::Checkout), (Locale::Ja, Area::Portal), (Locale::En, Area::Checkout)] {
            let back = Catalog::from_json_text(&catalog(locale).page_json(area)).unwrap();
            let serde: Catalog = serde_json::from_str(&catalog(locale).page_json(area)).unwrap();
            assert_eq!(
                (back.locale, back.version, &back.formats),
                (locale, crate::CATALOG_VERSION, &catalog(locale).formats)
            );
            assert_eq!((&back.languages, &back.regions), (&serde.languages, &serde.regions));
            assert_eq!((&back.common, &back.checkout, &back.portal), (&serde.common, &serde.checkout, &serde.portal));
        }
    }
}
