//! The six trunk entries, one bundle each, written from one template (`xtask/entry.html`) so
//! their shared `<head>` and shell are changed in one place. They stay committed at the top level
//! so `trunk serve` works without xtask; `cargo xtask build` writes them before trunk runs, and a
//! test fails when a committed entry differs from the template.

use std::path::Path;

const TEMPLATE: &str = include_str!("../entry.html");

/// One trunk entry: the file trunk reads and the HTML the server serves from `dist/`.
pub struct Entry {
    /// The entry at the top level; `index.html` is trunk's default (see Trunk.toml).
    pub source: &'static str,
    /// The built HTML's name in `dist/`, which the server, the bench and the tests read.
    pub served: &'static str,
    /// The binary in `src/bin/`.
    bin: &'static str,
    /// The session's path and API prefix: `checkout` or `portal`.
    area: &'static str,
    /// Built with feature `stripe`: Stripe.js's card Element and 3-D Secure.
    stripe: bool,
    /// What the entry is, said in its first comment.
    about: &'static str,
    /// Another entry (as served) whose bundle this one's page prefetches: the portal home's, the
    /// portal's, which every page after the home needs.
    pub prefetches: Option<&'static str>,
}

pub const ENTRIES: [Entry; 6] = [
    Entry {
        source: "checkout.html",
        served: "checkout.html",
        bin: "checkout",
        area: "checkout",
        stripe: false,
        about: "The checkout's entry: the server serves it for /checkout/*.",
        prefetches: None,
    },
    Entry {
        source: "checkout-stripe.html",
        served: "checkout-stripe.html",
        bin: "checkout",
        area: "checkout",
        stripe: true,
        about: "Stripe mode's checkout: the server serves it instead of checkout.html under --processor stripe.",
        prefetches: None,
    },
    Entry {
        source: "index.html",
        served: "portal.html",
        bin: "portal",
        area: "portal",
        stripe: false,
        about: "The portal (trunk's default entry), built as portal.html: served for every page but /checkout/* and a portal's home.",
        prefetches: None,
    },
    Entry {
        source: "portal-stripe.html",
        served: "portal-stripe.html",
        bin: "portal",
        area: "portal",
        stripe: true,
        about: "Stripe mode's portal: the server serves it instead of portal.html under --processor stripe.",
        prefetches: None,
    },
    Entry {
        source: "portal-home.html",
        served: "portal-home.html",
        bin: "portal_home",
        area: "portal",
        stripe: false,
        about: "The portal home alone: the server serves it for /portal/{session}, where every portal visit starts.",
        prefetches: Some("portal.html"),
    },
    Entry {
        source: "portal-home-stripe.html",
        served: "portal-home-stripe.html",
        bin: "portal_home",
        area: "portal",
        stripe: true,
        about: "Stripe mode's portal home: the server serves it instead of portal-home.html under --processor stripe.",
        prefetches: Some("portal-stripe.html"),
    },
];

impl Entry {
    /// The entry's HTML: the template with this entry's binary, features and session address.
    pub fn render(&self) -> String {
        // The session id's address: the checkout has one page, the portal pages below its id.
        let session_path = match self.area {
            "checkout" => r"/^\/checkout\/([A-Za-z0-9_-]+)\/?$/",
            _ => r"/^\/portal\/([A-Za-z0-9_-]+)(\/.*)?$/",
        };
        TEMPLATE
            .replace("{{about}}", self.about)
            .replace("{{bin}}", self.bin)
            .replace("{{area}}", self.area)
            .replace("{{features}}", if self.stripe { r#" data-cargo-features="stripe""# } else { "" })
            .replace("{{session_path}}", session_path)
            .replace(
                "{{area_css}}",
                match self.area {
                    "portal" => "\n    <link data-trunk rel=\"css\" href=\"style/portal.css\" />",
                    _ => "",
                },
            )
    }
}

/// Writes each entry whose file differs from the template's (an unchanged file is left alone, so
/// a running `trunk serve` does not rebuild for nothing).
pub fn write_all(root: &Path) -> Result<(), String> {
    for entry in &ENTRIES {
        let path = root.join(entry.source);
        let html = entry.render();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(html.as_str()) {
            std::fs::write(&path, html).map_err(|e| format!("can't write {}: {e}", path.display()))?;
            println!("    wrote {} from xtask/entry.html", entry.source);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace")
    }

    #[test]
    fn committed_entries_are_the_template_rendered() {
        for entry in &ENTRIES {
            let path = workspace_root().join(entry.source);
            let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                committed == entry.render(),
                "{} differs from xtask/entry.html: change the template, then run `cargo xtask build`",
                entry.source
            );
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        for entry in &ENTRIES {
            assert!(!entry.render().contains("{{"), "{} keeps a placeholder", entry.source);
        }
    }

    #[test]
    fn entries_differ_only_in_their_bundle() {
        let html = |source: &str| ENTRIES.iter().find(|e| e.source == source).unwrap().render();
        assert!(html("index.html").contains(r#"data-bin="portal" data-wasm-opt"#));
        assert!(html("portal-stripe.html").contains(r#"data-bin="portal" data-cargo-features="stripe""#));
        assert!(html("checkout.html").contains(r#"var url = "/api/checkout/" + m[1];"#));
        assert!(html("checkout-stripe.html").contains(r#"data-bin="checkout" data-cargo-features="stripe""#));
        assert!(html("portal-home.html").contains(r#"data-bin="portal_home" data-wasm-opt"#));
        assert!(html("portal-home-stripe.html").contains(r#"var url = "/api/portal/" + m[1];"#));
    }
}
