//! The built app, read at start (served by [`super::app_files`]): hashed assets cached forever, the HTML entries (`checkout.html` for
//! `/checkout/*`, `portal-home.html` for a portal session's home and `portal.html` for every other
//! page address, or their `-stripe` twins in Stripe mode) never cached, precompressed
//! `.br`/`.gz` files when the build wrote them, and a CSP that admits exactly the inline scripts
//! the entries carry, by hash. A checkout that can be paid gets its frame and order summary in the
//! first HTML, rendered from the same views the app mounts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The HTML entries the build writes into `dist/`, one per bundle, without `.html`.
pub const ENTRY_NAMES: [&str; 6] =
    ["checkout", "checkout-stripe", "portal", "portal-stripe", "portal-home", "portal-home-stripe"];

/// The built app, read once at start.
#[derive(Debug, Default)]
pub struct Site {
    pub(super) dist: Option<PathBuf>,
    pub(super) entries: Option<Entries>,
    inline_script_hashes: Vec<String>,
}

/// The HTML entries, one per bundle.
#[derive(Debug)]
pub(super) struct Entries {
    pub(super) checkout: String,
    /// Stripe mode's checkout (Stripe.js's card Element in place of our card fields).
    pub(super) checkout_stripe: String,
    pub(super) portal: String,
    /// Stripe mode's portal (Stripe's Element for a new card, Stripe.js for 3-D Secure).
    pub(super) portal_stripe: String,
    /// The portal home alone, for `/portal/{session}`: every portal visit starts there, and it
    /// prefetches the portal's bundle for the pages after it.
    pub(super) portal_home: String,
    pub(super) portal_home_stripe: String,
}

impl Entries {
    /// The portal's entry for a page: the home's own for the home page.
    pub(super) fn portal(&self, stripe_mode: bool, home: bool) -> &str {
        match (stripe_mode, home) {
            (false, false) => &self.portal,
            (true, false) => &self.portal_stripe,
            (false, true) => &self.portal_home,
            (true, true) => &self.portal_home_stripe,
        }
    }
}

impl Site {
    pub fn load(dist: Option<&Path>) -> Result<Site, String> {
        let Some(dist) = dist else {
            return Ok(Site::default());
        };
        let read = |name: &str| {
            let path = dist.join(name);
            std::fs::read_to_string(&path).map_err(|e| {
                format!("can't read {}: {e}; build the app first (cargo xtask serve does)", path.display())
            })
        };
        let entries = Entries {
            checkout: read("checkout.html")?,
            checkout_stripe: read("checkout-stripe.html")?,
            portal: read("portal.html")?,
            portal_stripe: read("portal-stripe.html")?,
            portal_home: read("portal-home.html")?,
            portal_home_stripe: read("portal-home-stripe.html")?,
        };
        let all = [
            &entries.checkout,
            &entries.checkout_stripe,
            &entries.portal,
            &entries.portal_stripe,
            &entries.portal_home,
            &entries.portal_home_stripe,
        ];
        let mut inline_script_hashes: Vec<String> =
            all.iter().flat_map(|html| inline_scripts(html)).map(sha256_source).collect();
        inline_script_hashes.sort();
        inline_script_hashes.dedup();
        Ok(Site { dist: Some(dist.to_path_buf()), entries: Some(entries), inline_script_hashes })
    }

    /// `'wasm-unsafe-eval'` for the wasm module, hashes for trunk's inline loaders and the
    /// prefetch scripts of every entry; in Stripe mode, Stripe.js's origin for its script and
    /// frames and the API's for its requests (`stripe` = (js origin, api origin)); nothing else.
    pub fn content_security_policy(&self, stripe: Option<(String, String)>) -> String {
        let hashes: String = self.inline_script_hashes.iter().map(|h| format!(" {h}")).collect();
        let (script, frame, connect) = match &stripe {
            Some((js, api)) => (format!(" {js}"), format!("frame-src {js}; "), format!(" {api}")),
            None => (String::new(), String::new(), String::new()),
        };
        format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}{script}; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'{connect}; {frame}font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        )
    }
}

/// The HTML with its static shell replaced by `body` and its title by `title` (both already
/// HTML-escaped); unchanged if the shell is not where the build puts it.
pub(super) fn with_first_paint(html: &str, title: &str, body: &str) -> String {
    let shell = html.find("<div id=shell>").or_else(|| html.find("<div id=\"shell\">"));
    let (Some(start), Some(end)) = (shell, html.rfind("</body>")) else {
        return html.to_string();
    };
    if end < start {
        return html.to_string();
    }
    let head = html[..start].replacen("<title>Kiro</title>", &format!("<title>{title}</title>"), 1);
    format!("{head}<div id=\"shell\">{body}</div>{}", &html[end..])
}

/// The HTML in language `lang` (`<html lang>`) with the page's catalog (`json`, already safe inside
/// a script element) at the end of its head, where the app reads it.
pub(super) fn with_catalog(html: &str, lang: &str, json: &str) -> String {
    let lang_attribute = format!("<html lang=\"{lang}\">");
    let html = match ["<html lang=en>", "<html lang=\"en\">"].into_iter().find(|tag| html.contains(tag)) {
        Some(tag) => html.replacen(tag, &lang_attribute, 1),
        None => html.to_string(),
    };
    let script = format!("<script type=\"application/json\" id=\"{}\">{json}</script>", i18n::PAGE_ELEMENT_ID);
    // Minified HTML may leave out `</head>`: then before the body (or the shell).
    match ["</head>", "<body", "<div id=shell>", "<div id=\"shell\">"].into_iter().find_map(|mark| html.find(mark)) {
        Some(at) => format!("{}{script}{}", &html[..at], &html[at..]),
        None => format!("{script}{html}"),
    }
}

/// The bodies of `<script>` elements without `src`.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after_open = &rest[open..];
        let Some(tag_end) = after_open.find('>') else {
            break;
        };
        let tag = &after_open[..tag_end];
        let body_start = &after_open[tag_end + 1..];
        let Some(close) = body_start.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            found.push(&body_start[..close]);
        }
        rest = &body_start[close..];
    }
    found
}

fn sha256_source(source: &str) -> String {
    format!("'sha256-{}'", STANDARD.encode(Sha256::digest(source.as_bytes())))
}

/// `name-0123456789abcdef.ext` or `name-0123456789abcdef_bg.wasm`: trunk's content hashes.
pub fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    // trunk writes a u64 in hex: up to 16 digits, fewer when it starts with zeros.
    stem.rsplit_once('-').is_some_and(|(_, hash)| hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_trunk_hashes() {
        assert!(is_hashed_asset("/kiro-checkout-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed_asset("/kiro-checkout-1a2b3c4d5e6f7a8b.js"));
        assert!(is_hashed_asset("/main-1a2b3c4d5e6f7a8b.css"));
        // A hash that starts with a zero is written without it.
        assert!(is_hashed_asset("/checkout-8736a73fde43d5b.js"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/checkout/cs_abc"));
        assert!(!is_hashed_asset("/favicon.svg"));
    }

    #[test]
    fn puts_the_language_and_the_catalog_in_the_head() {
        let minified =
            "<!doctype html><html lang=en><title>Kiro</title></head><body><div id=shell></div></body></html>";
        assert_eq!(
            with_catalog(minified, "de", "{}"),
            "<!doctype html><html lang=\"de\"><title>Kiro</title><script type=\"application/json\" id=\"kiro-i18n\">{}</script></head><body><div id=shell></div></body></html>"
        );
        let no_head = "<html lang=\"en\"><title>Kiro</title><body><div id=shell></div></body></html>";
        assert!(with_catalog(no_head, "ja", "{}").starts_with("<html lang=\"ja\"><title>Kiro</title><script"));
    }

    #[test]
    fn puts_the_first_paint_in_the_shell() {
        let html = "<html><head><title>Kiro</title></head><body><div id=shell><p>Loading</p></div></body></html>";
        assert_eq!(
            with_first_paint(html, "Pay &lt;now&gt;", "<main>summary</main>"),
            "<html><head><title>Pay &lt;now&gt;</title></head><body><div id=\"shell\"><main>summary</main></div></body></html>"
        );
        let unbuilt = "<html><body><p>no shell</p></body></html>";
        assert_eq!(with_first_paint(unbuilt, "t", "b"), unbuilt);
    }

    #[test]
    fn hashes_only_inline_scripts() {
        let html = r#"<head><script type="module" src="/a.js"></script><script type="module">init()</script></head>"#;
        assert_eq!(inline_scripts(html), vec!["init()"]);
        let site = Site { dist: None, entries: None, inline_script_hashes: vec![sha256_source("init()")] };
        let csp = site.content_security_policy(None);
        assert!(csp.contains("'wasm-unsafe-eval'"));
        assert!(csp.contains("'sha256-"));
        assert!(!csp.contains("'unsafe-eval'"));
        assert!(!csp.contains("'unsafe-inline'"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
