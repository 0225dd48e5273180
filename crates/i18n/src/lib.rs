//! The pages' words and formats in the user's language.
//!
//! Texts live in catalogs (`locales/{tag}/{area}.txt`), one per area so each bundle carries only
//! its own: `common` (frame, errors, what both pages show), `checkout`, `portal`. English is
//! compiled in; the server renders every language and puts the page's catalog, in its language,
//! into the first HTML ([`Catalog::page_json`]), where the app reads it ([`Catalog::from_page`]).
//! Amounts, numbers and dates follow CLDR (ICU4X on the server, turned into small templates the
//! app applies the same way), plural categories CLDR's rules (ICU4X on the server, the browser's
//! `Intl.PluralRules` in the app).

mod format;
mod locale;
#[cfg(not(target_arch = "wasm32"))]
mod native;
mod particles;
#[cfg(not(target_arch = "wasm32"))]
pub mod pseudo;

pub use format::Formats;
pub use locale::Locale;
#[cfg(not(target_arch = "wasm32"))]
pub use native::{catalog, check_catalogs, page_json};

#[cfg(target_arch = "wasm32")]
use billing::json::FromJson;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/texts.rs"));

/// A catalog file's area: which bundle needs its texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Common,
    Checkout,
    Portal,
}

/// A key of one area's catalog (generated from the English file).
pub trait Key: Copy {
    const AREA: Area;
    fn index(self) -> usize;
    fn english(self) -> &'static str;
}

/// One language's texts and formats, as a page uses them. Texts an area's list lacks (English,
/// or an area this page does not need) come from the English compiled in.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Catalog {
    pub locale: Locale,
    /// The keys' [`CATALOG_VERSION`] when the server made it: the app uses the texts only if it
    /// has the same keys in the same order.
    #[serde(default)]
    pub version: u32,
    pub formats: Formats,
    /// Every language the menu offers: `(tag, its name in itself)`.
    pub languages: Vec<(String, String)>,
    /// The card form's countries `(code, name)` in this language, in its alphabetical order
    /// (CLDR's names and collation); empty in English, whose list the app has built in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    common: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    checkout: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    portal: Vec<String>,
}

/// The catalog the views read from context.
pub type I18n = Arc<Catalog>;

/// A placeholder's name and its value.
pub type Arg<'a> = (&'a str, &'a str);

impl Catalog {
    /// The text of `key`, placeholders as written.
    pub fn raw<K: Key>(&self, key: K) -> &str {
        let list = match K::AREA {
            Area::Common => &self.common,
            Area::Checkout => &self.checkout,
            Area::Portal => &self.portal,
        };
        list.get(key.index()).map(String::as_str).unwrap_or_else(|| key.english())
    }

    /// The text of `key` (a key without placeholders).
    pub fn t<K: Key>(&self, key: K) -> String {
        self.raw(key).to_string()
    }

    /// The text of `key` with its placeholders filled.
    pub fn f<K: Key>(&self, key: K, args: &[Arg]) -> String {
        fill(self.raw(key), args)
    }

    /// The plural text of `key` for `count` (its category by CLDR's cardinal rules), `{count}`
    /// being the number formatted for the locale.
    pub fn plural<K: Key>(&self, key: K, count: u64, args: &[Arg]) -> String {
        let number = self.number(count);
        let mut all = vec![("count", number.as_str())];
        all.extend_from_slice(args);
        fill(variant(self.raw(key), &self.plural_category(count, false)), &all)
    }

    /// The ordinal text of `key` for `n` ("1st", "1.", "1er"): `{n}` is the number.
    pub fn ordinal<K: Key>(&self, key: K, n: u64) -> String {
        let number = n.to_string();
        fill(variant(self.raw(key), &self.plural_category(n, true)), &[("n", &number)])
    }

    /// `$20.00`, `20,00 $`, `US$ 20,00`: an amount in US cents.
    pub fn money(&self, cents: i64) -> String {
        self.formats.money(cents)
    }

    /// `1,000`, `1.000`, `1 000`.
    pub fn number(&self, n: u64) -> String {
        self.formats.number(n)
    }

    /// The locale's decimal separator (`.`, `,`).
    pub fn decimal_separator(&self) -> &str {
        &self.formats.decimal
    }

    /// `812.45`, `1.812,45`: credits, given in hundredths, always with two places.
    pub fn credits(&self, hundredths: i64) -> String {
        self.formats.credits(hundredths)
    }

    /// `January 23, 2027`, `23. Januar 2027`, `2027年1月23日` (UTC).
    pub fn long_date(&self, at: time::OffsetDateTime) -> String {
        self.formats.long_date(at)
    }

    /// `Jan 23`, `23. Jan.` (UTC).
    pub fn short_date(&self, at: time::OffsetDateTime) -> String {
        self.formats.short_date(at)
    }

    /// `January 2027`, `Januar 2027` (UTC).
    pub fn month_year(&self, at: time::OffsetDateTime) -> String {
        self.formats.month_year(at)
    }

    /// The catalog the server put into the page, or English when it holds none.
    #[cfg(target_arch = "wasm32")]
    pub fn from_page() -> Catalog {
        let text = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(PAGE_ELEMENT_ID))
            .and_then(|e| e.text_content());
        let mut catalog = text.and_then(|t| Catalog::from_json_text(&t).ok()).unwrap_or_default();
        if catalog.version != CATALOG_VERSION {
            // Another build's keys: its texts would land on the wrong keys. English instead.
            catalog.common.clear();
            catalog.checkout.clear();
            catalog.portal.clear();
        }
        catalog
    }

    /// Off the browser there is no page: English. (The app's crate is also built natively, for
    /// its browser tests, which link it.)
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_page() -> Catalog {
        Catalog::default()
    }

    #[cfg(target_arch = "wasm32")]
    fn plural_category(&self, n: u64, ordinal: bool) -> String {
        use wasm_bindgen::JsValue;
        let options = js_sys::Object::new();
        if ordinal {
            let _ = js_sys::Reflect::set(&options, &"type".into(), &"ordinal".into());
        }
        let tags = js_sys::Array::of1(&JsValue::from_str(self.locale.plural_tag()));
        js_sys::Intl::PluralRules::new(&tags, &options).select(n as f64).into()
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn plural_category(&self, n: u64, ordinal: bool) -> String {
        native::plural_category(self.locale, n, ordinal).to_string()
    }
}

// How the app reads the page's catalog (the server writes it with serde).
billing::from_json_struct!(Catalog { locale, formats, languages; default version, regions, common, checkout, portal });

/// The id of the `<script type="application/json">` that carries a page's catalog.
pub const PAGE_ELEMENT_ID: &str = "kiro-i18n";

/// The variant of a plural text for `category` (`other` when it has none); a plain text as it is.
fn variant<'a>(text: &'a str, category: &str) -> &'a str {
    let Some(variants) = text.strip_prefix('\u{1e}') else {
        return text;
    };
    let mut other = "";
    for entry in variants.split('\u{1e}') {
        let (name, text) = entry.split_once('\u{1f}').unwrap_or(("other", entry));
        if name == category {
            return text;
        }
        if name == "other" {
            other = text;
        }
    }
    other
}

/// `{name}` replaced by its value, and a Korean particle pair after it by the form the value takes
/// (see `particles`); unknown placeholders stay as written.
fn fill(text: &str, args: &[Arg]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| Some((args.iter().find(|(n, _)| *n == &after[..close])?, close))) {
            Some(((_, value), close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
                if let Some((particle, after_it)) = particles::after(value, rest) {
                    out.push_str(particle);
                    rest = after_it;
                }
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders_and_keeps_unknown_ones() {
        assert_eq!(fill("Subscribe to {plan}", &[("plan", "Kiro Pro")]), "Subscribe to Kiro Pro");
        assert_eq!(fill("{a}{b} {c}", &[("a", "1"), ("b", "2")]), "12 {c}");
        assert_eq!(fill("{ {plan} }", &[("plan", "x")]), "{ x }");
    }

    #[test]
    fn picks_a_plural_variant_or_other() {
        let text = "\u{1e}one\u{1f}{count} credit\u{1e}other\u{1f}{count} credits";
        assert_eq!(variant(text, "one"), "{count} credit");
        assert_eq!(variant(text, "few"), "{count} credits");
        assert_eq!(variant("plain", "one"), "plain");
    }
}
