//! Turns the catalogs (`locales/{tag}/{area}.txt` and `{area}-*.txt`) into Rust: one enum of keys per area (from the
//! English file, in its order), each key's English text (compiled into the app: English readers
//! download no catalog), and, for the server, every language's texts (`None` where a key is
//! missing: the catalog test names it, the page shows English meanwhile).
//!
//! A file's lines: `key = text`, `# comment`, blank. Plural texts: `key[one] = …`,
//! `key[other] = …` (CLDR's categories). `{name}` is a placeholder.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const AREAS: [(&str, &str); 3] = [("common", "CommonText"), ("checkout", "CheckoutText"), ("portal", "PortalText")];

/// A catalog file: keys in file order, each with its text (plural variants encoded, see `encode`).
type Entries = Vec<(String, String)>;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    println!("cargo::rerun-if-changed=locales");
    let mut tags: Vec<String> = std::fs::read_dir(&root)
        .expect("locales/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    tags.sort();
    let mut out = String::new();
    // FNV-1a of every key in order: a page's texts are found by position, so a page built from
    // other catalogs than the server's must not use them.
    let mut version: u32 = 0x811c_9dc5;
    for (area, enum_name) in AREAS {
        let english = read_area(&root.join("en"), area);
        for byte in english.iter().flat_map(|(key, _)| key.bytes().chain([b'\n'])) {
            version = (version ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
        write_enum(&mut out, area, enum_name, &english);
        out.push_str("#[cfg(not(target_arch = \"wasm32\"))]\n");
        let _ = writeln!(out, "pub(crate) const {}_SOURCES: &[(&str, &[Option<&str>])] = &[", area.to_uppercase());
        for tag in &tags {
            let texts: BTreeMap<String, String> = read_area(&root.join(tag), area).into_iter().collect();
            let _ = write!(out, "    ({tag:?}, &[");
            for (key, _) in &english {
                match texts.get(key) {
                    Some(text) => {
                        let _ = write!(out, "Some({text:?}), ");
                    }
                    None => out.push_str("None, "),
                }
            }
            out.push_str("]),\n");
        }
        out.push_str("];\n");
    }
    let _ = writeln!(out, "/// Which keys, in which order, the catalogs have (a hash of the English keys).");
    let _ = writeln!(out, "pub const CATALOG_VERSION: u32 = {version};");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("texts.rs");
    std::fs::write(dest, out).expect("write texts.rs");
}

fn write_enum(out: &mut String, area: &str, enum_name: &str, english: &Entries) {
    let _ = writeln!(out, "/// The `{area}` catalog's keys (`locales/en/{area}.txt`).");
    out.push_str("#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n#[allow(clippy::enum_variant_names)]\n");
    let _ = writeln!(out, "pub enum {enum_name} {{");
    for (key, _) in english {
        let _ = writeln!(out, "    {},", camel(key));
    }
    out.push_str("}\n");
    let _ = writeln!(out, "impl crate::Key for {enum_name} {{");
    let _ = writeln!(out, "    const AREA: crate::Area = crate::Area::{};", camel(area));
    out.push_str("    fn index(self) -> usize { self as usize }\n");
    out.push_str("    fn english(self) -> &'static str {\n        match self {\n");
    for (key, text) in english {
        let _ = writeln!(out, "            Self::{} => {text:?},", camel(key));
    }
    out.push_str("        }\n    }\n}\n");
    out.push_str("#[cfg(not(target_arch = \"wasm32\"))]\n");
    let _ = writeln!(out, "impl {enum_name} {{");
    let _ = write!(out, "    /// Every key's name, in the enum's order.\n    pub const KEYS: &[&str] = &[");
    for (key, _) in english {
        let _ = write!(out, "{key:?}, ");
    }
    out.push_str("];\n}\n");
}

/// `checkout_heading` -> `CheckoutHeading`.
fn camel(key: &str) -> String {
    key.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// An area's entries in one language: `{area}.txt`, then `{area}-*.txt` by name (so each part of
/// the app can keep its own file).
fn read_area(folder: &Path, area: &str) -> Entries {
    let mut files: Vec<_> =
        std::fs::read_dir(folder).map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name == format!("{area}.txt") || (name.starts_with(&format!("{area}-")) && name.ends_with(".txt"))
    });
    files.sort();
    files.iter().flat_map(|p| read(p)).collect()
}

/// The entries of one file, plural variants of a key joined into one text.
fn read(path: &Path) -> Entries {
    let source = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut entries: Entries = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, text)) = line.split_once(" = ") else {
            panic!("{}:{}: expected `key = text`", path.display(), number + 1);
        };
        let (key, text) = (key.trim(), unescape(text.trim()));
        match key.split_once('[') {
            Some((base, category)) => {
                let category = category.trim_end_matches(']');
                let variant = format!("{category}\u{1f}{text}");
                match entries.iter_mut().find(|(k, _)| k == base) {
                    Some((_, joined)) => {
                        joined.push('\u{1e}');
                        joined.push_str(&variant);
                    }
                    None => entries.push((base.to_string(), format!("\u{1e}{variant}"))),
                }
            }
            None => {
                assert!(!entries.iter().any(|(k, _)| k == key), "{}: `{key}` twice", path.display());
                entries.push((key.to_string(), text));
            }
        }
    }
    entries
}

/// `\n` in a file is a line break in the text.
fn unescape(text: &str) -> String {
    text.replace("\\n", "\n")
}
