//! Which languages the pages speak, their tags, and choosing one from a browser's
//! `Accept-Language`.

use serde::{Deserialize, Serialize};

/// A language the pages are written in. `Pseudo` (`en-XA`) is English made longer and accented
/// for tests: every text that escaped the catalog shows as plain English beside it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Locale {
    #[default]
    En,
    De,
    Fr,
    Es,
    PtBr,
    Ja,
    ZhCn,
    Ko,
    Pseudo,
}

impl Locale {
    /// Every locale, the menu's order (the pseudo-locale last: it is offered only where chosen).
    pub const ALL: [Locale; 9] = [
        Locale::En,
        Locale::De,
        Locale::Fr,
        Locale::Es,
        Locale::PtBr,
        Locale::Ja,
        Locale::ZhCn,
        Locale::Ko,
        Locale::Pseudo,
    ];

    /// The BCP 47 tag: the catalog folder's name, `<html lang>`, the API's `locale`.
    pub const fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::Es => "es",
            Locale::PtBr => "pt-BR",
            Locale::Ja => "ja",
            Locale::ZhCn => "zh-CN",
            Locale::Ko => "ko",
            Locale::Pseudo => "en-XA",
        }
    }

    /// The tag whose CLDR rules (plurals, formats) apply: the pseudo-locale's are English's.
    pub const fn plural_tag(self) -> &'static str {
        match self {
            Locale::Pseudo => "en",
            other => other.tag(),
        }
    }

    /// A locale by its tag, case-insensitively; also `pt` (Brazilian Portuguese), `zh` and
    /// `zh-Hans` (Simplified Chinese), as Stripe names them.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let tag = tag.trim();
        let found = Locale::ALL.into_iter().find(|l| l.tag().eq_ignore_ascii_case(tag));
        found.or_else(|| match tag.to_ascii_lowercase().as_str() {
            "pt" => Some(Locale::PtBr),
            "zh" | "zh-hans" | "zh-hans-cn" => Some(Locale::ZhCn),
            _ => None,
        })
    }

    /// The locale for one language range of `Accept-Language` (`de-AT` is German), if ours.
    /// Traditional Chinese is not Simplified: `zh-TW`, `zh-HK`, `zh-Hant` find nothing.
    fn for_range(range: &str) -> Option<Locale> {
        let range = range.trim().to_ascii_lowercase();
        let mut parts = range.split(['-', '_']);
        let language = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        match language {
            "en" => Some(Locale::En),
            "de" => Some(Locale::De),
            "fr" => Some(Locale::Fr),
            "es" => Some(Locale::Es),
            "pt" => Some(Locale::PtBr),
            "ja" => Some(Locale::Ja),
            "ko" => Some(Locale::Ko),
            "zh" if !rest.iter().any(|p| matches!(*p, "tw" | "hk" | "mo" | "hant")) => Some(Locale::ZhCn),
            _ => None,
        }
    }

    /// The first of the browser's languages (by `q`, then order) that is ours; English when none.
    pub fn negotiate(accept_language: &str) -> Locale {
        let mut ranges: Vec<(u16, usize, &str)> = accept_language
            .split(',')
            .enumerate()
            .filter_map(|(position, item)| {
                let mut parts = item.split(';');
                let range = parts.next()?.trim();
                let q = parts.filter_map(|p| p.trim().strip_prefix("q=")).next().map_or(Some(1000), |q| {
                    q.trim().parse::<f32>().ok().map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                })?;
                (q > 0 && !range.is_empty()).then_some((q, position, range))
            })
            .collect();
        ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranges.into_iter().find_map(|(_, _, range)| Locale::for_range(range)).unwrap_or_default()
    }
}

impl From<Locale> for &'static str {
    fn from(locale: Locale) -> &'static str {
        locale.tag()
    }
}

impl TryFrom<String> for Locale {
    type Error = String;

    fn try_from(tag: String) -> Result<Locale, String> {
        Locale::from_tag(&tag).ok_or_else(|| format!("unknown locale `{tag}`"))
    }
}

impl billing::json::FromJson for Locale {
    fn from_json(value: &billing::json::Json) -> Result<Self, billing::json::JsonError> {
        Locale::from_tag(value.as_str()?).ok_or_else(|| billing::json::JsonError("expected a locale".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::Locale;

    #[test]
    fn negotiates_the_first_language_that_is_ours() {
        assert_eq!(Locale::negotiate("de-DE,de;q=0.9,en;q=0.8"), Locale::De);
        assert_eq!(Locale::negotiate("nl-NL,nl;q=0.9,fr;q=0.5,en;q=0.4"), Locale::Fr);
        assert_eq!(Locale::negotiate("en;q=0.5, ja"), Locale::Ja);
        assert_eq!(Locale::negotiate("pt-PT"), Locale::PtBr);
        assert_eq!(Locale::negotiate("zh-TW,zh;q=0.9"), Locale::ZhCn);
        assert_eq!(Locale::negotiate("zh-Hant-TW"), Locale::En);
        assert_eq!(Locale::negotiate("ko-KR;q=0, es;q=0.1"), Locale::Es);
        for nothing in ["", "*", "nl", "xx;q=abc", ";;;", "de;q=0"] {
            assert_eq!(Locale::negotiate(nothing), Locale::En, "{nothing}");
        }
    }

    #[test]
    fn reads_tags_and_aliases() {
        for locale in Locale::ALL {
            assert_eq!(Locale::from_tag(locale.tag()), Some(locale));
        }
        assert_eq!(Locale::from_tag("PT-br"), Some(Locale::PtBr));
        assert_eq!(Locale::from_tag("zh"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_tag("auto"), None);
        assert_eq!(Locale::from_tag("de-DE"), None);
    }
}
