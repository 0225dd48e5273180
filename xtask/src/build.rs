//! Writes the trunk entries from their template, builds the six bundles with trunk (release,
//! offline), minifies their JS glue, puts them all in `dist/` and precompresses it for the server.

use crate::bootstrap::{path_with_tools, tools_dir};
use crate::entries::{self, ENTRIES};
use crate::{run, step};
use base64::Engine;
use sha2::{Digest, Sha384};
use std::io::Write;
use std::path::Path;
use std::process::Command;

pub fn app() -> Result<(), String> {
    step("Writing the trunk entries from xtask/entry.html");
    entries::write_all(Path::new("."))?;
    let dist = Path::new("dist");
    if dist.exists() {
        std::fs::remove_dir_all(dist).map_err(|e| format!("can't clear dist/: {e}"))?;
    }
    std::fs::create_dir_all(dist).map_err(|e| e.to_string())?;
    for entry in &ENTRIES {
        let (source, served) = (entry.source, entry.served);
        step(&format!("Building {served} (trunk build --release --offline {source})"));
        let staged = Path::new("target/trunk").join(served.trim_end_matches(".html"));
        // Named as served, so no bundle's HTML lands on another's (trunk's default is index.html).
        run(Command::new("trunk")
            .args(["build", source, "--release", "--offline", "--html-output", served, "--dist"])
            .arg(&staged)
            .env("PATH", path_with_tools()))?;
        minify_glue(&staged.join(served))?;
        copy_into(&staged, dist)?;
    }
    for entry in &ENTRIES {
        if let Some(other) = entry.prefetches {
            prefetch_bundle(&dist.join(entry.served), &dist.join(other))?;
        }
    }
    compress(dist)
}

/// Writes the server API's OpenAPI document, as the code generates it, to docs/openapi.json (a
/// test fails when the two differ).
pub fn openapi() -> Result<(), String> {
    step("Writing docs/openapi.json (checkout-server --print-openapi)");
    let out = Command::new("cargo")
        .args(["run", "--quiet", "-p", "checkout-server", "--", "--print-openapi"])
        .output()
        .map_err(|e| format!("can't run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("checkout-server --print-openapi failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    std::fs::write("docs/openapi.json", &out.stdout).map_err(|e| format!("docs/openapi.json: {e}"))
}

/// Lists in the page at `html_path` (in an inert `<template id=prefetch-next>`) prefetches of the JS
/// glue and wasm that the page at `other_path` loads. The app adds them once its page is ready (see
/// `browser::prefetch_next_pages`), so they don't share the network with its own bundle, and the
/// next page (the portal's, after its home) starts from the cache.
fn prefetch_bundle(html_path: &Path, other_path: &Path) -> Result<(), String> {
    let html = std::fs::read_to_string(html_path).map_err(|e| format!("{}: {e}", html_path.display()))?;
    let other = std::fs::read_to_string(other_path).map_err(|e| format!("{}: {e}", other_path.display()))?;
    let mut files: Vec<&str> = other
        .split(['\'', '"', ' ', '=', '>'])
        .filter(|part| part.starts_with('/') && (part.ends_with(".js") || part.ends_with("_bg.wasm")))
        .collect();
    files.sort_unstable();
    files.dedup();
    if files.len() != 2 {
        return Err(format!("{}: expected one JS glue and one wasm, found {files:?}", other_path.display()));
    }
    // `crossorigin` as the glue's `import` and `fetch` ask, so the prefetched copy is the one used.
    let links: String = files.iter().map(|file| format!("<link rel=prefetch href={file} crossorigin>")).collect();
    let links = format!("<template id=prefetch-next>{links}</template>");
    let at = ["</head>", "<body", "<div id=shell>", "<div id=\"shell\">"]
        .into_iter()
        .find_map(|mark| html.find(mark))
        .ok_or_else(|| format!("{}: no end of head", html_path.display()))?;
    std::fs::write(html_path, format!("{}{links}{}", &html[..at], &html[at..])).map_err(|e| e.to_string())?;
    println!("    {} prefetches {}", html_path.display(), files.join(" and "));
    Ok(())
}

/// Minifies wasm-bindgen's JS glue with esbuild (trunk's minifier breaks it) and writes the new
/// digest into the HTML's `integrity` attribute, which trunk computed for the unminified file.
fn minify_glue(html_path: &Path) -> Result<(), String> {
    let staged = html_path.parent().unwrap_or(Path::new("."));
    let mut html = std::fs::read_to_string(html_path).map_err(|e| e.to_string())?;
    let glue = std::fs::read_dir(staged)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "js"))
        .ok_or_else(|| format!("no JS glue in {}", staged.display()))?;
    let before = std::fs::read(&glue).map_err(|e| e.to_string())?;
    run(Command::new(tools_dir().join("node_modules/.bin/esbuild"))
        .arg(&glue)
        .args(["--minify", "--format=esm", "--log-level=warning", "--allow-overwrite"])
        .arg(format!("--outfile={}", glue.display())))?;
    let after = std::fs::read(&glue).map_err(|e| e.to_string())?;
    let (old, new) = (sri(&before), sri(&after));
    if !html.contains(&old) {
        return Err(format!("{}: no integrity attribute for {}", html_path.display(), glue.display()));
    }
    html = html.replace(&old, &new);
    std::fs::write(html_path, html).map_err(|e| e.to_string())?;
    println!("    minified {} ({} -> {} bytes)", glue.display(), before.len(), after.len());
    Ok(())
}

/// A subresource-integrity value as trunk writes it.
fn sri(data: &[u8]) -> String {
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(Sha384::digest(data)))
}

fn copy_into(from: &Path, to: &Path) -> Result<(), String> {
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())?.flatten() {
        let path = entry.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Writes `.br` (quality 11) and `.gz` (level 9) beside each text and wasm file, so the server can
/// send the smallest encoding the browser accepts without compressing on every request.
fn compress(dist: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(dist).map_err(|e| format!("can't read {}: {e}", dist.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if !matches!(ext, "wasm" | "js" | "css" | "html" | "svg") {
            continue;
        }
        let data = std::fs::read(&path).map_err(|e| e.to_string())?;
        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
        brotli::BrotliCompress(&mut data.as_slice(), &mut br, &params).map_err(|e| e.to_string())?;
        std::fs::write(path.with_extension(format!("{ext}.br")), br).map_err(|e| e.to_string())?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data).map_err(|e| e.to_string())?;
        std::fs::write(path.with_extension(format!("{ext}.gz")), gz.finish().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    println!("    precompressed dist/ (brotli 11, gzip 9)");
    Ok(())
}
