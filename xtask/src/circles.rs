//! `cargo xtask test`'s check that no files of one crate import each other in a circle.
//!
//! A file imports another when its code names it through a `crate::` or `super::` path (in a
//! `use` or inline, brace groups expanded): `crate::store::attempts::claim_attempt` names
//! `store/attempts.rs`, `crate::store::Conn` names `store/mod.rs` (the deepest module file the
//! path reaches). Comments and test modules (`#[cfg(test)] mod ...`, to the end of the file) are
//! left out; so are binaries under `src/bin/`, which are crates of their own. A circle is a set of
//! files each reachable from every other (a strongly connected component of two files or more).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates checked: each one's `src` folder.
const CRATES: &[&str] = &[
    "src",
    "crates/billing/src",
    "crates/views/src",
    "crates/i18n/src",
    "crates/server/src",
    "crates/headless/src",
    "xtask/src",
];

/// Checks every crate; an error lists each circle and the arrows that close it.
pub fn check(root: &Path) -> Result<(), String> {
    let mut found = Vec::new();
    for krate in CRATES {
        let src = root.join(krate);
        if !src.is_dir() {
            continue;
        }
        let graph = imports(&src)?;
        for circle in circles(&graph) {
            let arrows: Vec<String> = circle
                .iter()
                .flat_map(|from| {
                    graph[from].iter().filter(|to| circle.contains(*to)).map(move |to| format!("{from} -> {to}"))
                })
                .collect();
            found.push(format!("{krate}: {}", arrows.join(", ")));
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!("files import each other in a circle (see docs/developing.md):\n  {}", found.join("\n  ")))
    }
}

/// Each file of the crate in `src` (by its module path, `store::attempts`; the root is `crate`)
/// and the files it imports.
fn imports(src: &Path) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let files = rust_files(src)?;
    let modules: BTreeMap<String, PathBuf> = files.iter().map(|f| (module_of(src, f), f.clone())).collect();
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut targets = BTreeSet::new();
        for path in paths(&without_tests(&without_comments(&text))) {
            if let Some(target) = resolve(module, &path, &modules)
                && &target != module
            {
                targets.insert(target);
            }
        }
        graph.insert(module.clone(), targets);
    }
    Ok(graph)
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "bin") {
            found.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    Ok(found)
}

/// `store/attempts.rs` is `store::attempts`, `store/mod.rs` is `store`, `lib.rs` is `crate`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    if parts.is_empty() { "crate".into() } else { parts.join("::") }
}

fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.find('\n').map_or("", |end| &after[end..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
        } else {
            let next = rest.chars().next().unwrap_or(' ');
            out.push(next);
            rest = &rest[next.len_utf8()..];
        }
    }
    out
}

/// The file up to its test module, by the convention `#[cfg(test)]` then `mod`.
fn without_tests(text: &str) -> String {
    let mut search = 0;
    while let Some(at) = text[search..].find("#[cfg(test)]").map(|i| i + search) {
        let after = text[at + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod ") || after.starts_with("pub mod ") {
            return text[..at].to_string();
        }
        search = at + 1;
    }
    text.to_string()
}

/// Every `crate::` and `super::` path in `text`, brace groups expanded: each as its segments
/// (`["super", "super", "store", "Conn"]`).
fn paths(text: &str) -> Vec<Vec<String>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        let head = ["crate::", "super::"].into_iter().find(|head| bytes[i..].starts_with(head.as_bytes()));
        match head {
            Some(_) if starts_word => {
                let (end, mut expanded) = path_at(text, i, Vec::new());
                found.append(&mut expanded);
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    found
}

/// The path starting at `at` (after the segments `prefix`): where it ends, and what it expands to.
fn path_at(text: &str, mut at: usize, mut prefix: Vec<String>) -> (usize, Vec<Vec<String>>) {
    let bytes = text.as_bytes();
    loop {
        let start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        if at > start {
            prefix.push(text[start..at].to_string());
        }
        if bytes[at..].starts_with(b"::{") {
            return group_at(text, at + 3, prefix);
        }
        if bytes[at..].starts_with(b"::") && at > start {
            at += 2;
            continue;
        }
        return (at, vec![prefix]);
    }
}

/// A brace group's items after `prefix`, up to its closing brace.
fn group_at(text: &str, mut at: usize, prefix: Vec<String>) -> (usize, Vec<Vec<String>>) {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    while at < bytes.len() {
        match bytes[at] {
            b'}' => return (at + 1, found),
            b',' | b' ' | b'\n' | b'\r' | b'\t' => at += 1,
            _ => {
                let (end, mut items) = path_at(text, at, prefix.clone());
                found.append(&mut items);
                // `self`, `as name`, `*`: nothing more to expand; skip to the next item.
                at = end.max(at + 1);
                while at < bytes.len() && !matches!(bytes[at], b',' | b'}') {
                    at += 1;
                }
            }
        }
    }
    (at, found)
}

/// The deepest module file `path` (written in `module`) reaches.
fn resolve(module: &str, path: &[String], modules: &BTreeMap<String, PathBuf>) -> Option<String> {
    let mut current: Vec<&str> = if module == "crate" { Vec::new() } else { module.split("::").collect() };
    let mut segments = path.iter().map(String::as_str).peekable();
    match segments.peek() {
        Some(&"crate") => {
            current.clear();
            segments.next();
        }
        Some(&"super") => {
            while segments.peek() == Some(&"super") {
                current.pop()?;
                segments.next();
            }
        }
        _ => return None,
    }
    for segment in segments {
        let mut deeper = current.clone();
        deeper.push(segment);
        if modules.contains_key(&deeper.join("::")) {
            current = deeper;
        } else {
            break;
        }
    }
    Some(if current.is_empty() { "crate".into() } else { current.join("::") })
}

/// The strongly connected components of two modules or more (Tarjan's algorithm).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, node: &'a str) {
        let n = w.index.len();
        w.index.insert(node, n);
        w.low.insert(node, n);
        w.stack.push(node);
        w.on_stack.insert(node);
        for next in w.graph.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !w.graph.contains_key(next) {
                continue;
            }
            if !w.index.contains_key(next) {
                visit(w, next);
                let low = w.low[node].min(w.low[next]);
                w.low.insert(node, low);
            } else if w.on_stack.contains(next) {
                let low = w.low[node].min(w.index[next]);
                w.low.insert(node, low);
            }
        }
        if w.low[node] == w.index[node] {
            let mut component = BTreeSet::new();
            while let Some(top) = w.stack.pop() {
                w.on_stack.remove(top);
                component.insert(top.to_string());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                w.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            visit(&mut walk, node);
        }
    }
    walk.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph.entry(from.to_string()).or_default().insert(to.to_string());
            graph.entry(to.to_string()).or_default();
        }
        graph
    }

    #[test]
    fn finds_a_loop_and_nothing_in_a_line() {
        let found = circles(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]));
        assert_eq!(found, vec![["a", "b", "c"].iter().map(|s| s.to_string()).collect::<BTreeSet<_>>()]);
        assert!(circles(&graph(&[("a", "b"), ("b", "c")])).is_empty());
    }

    #[test]
    fn reads_paths_in_uses_groups_and_code_not_comments() {
        let text = "use crate::{config, store::{self, Conn}};\n// crate::jobs\nlet x = super::super::ids::new_id();";
        let found = paths(&without_comments(text));
        let want: Vec<Vec<&str>> = vec![
            vec!["crate", "config"],
            vec!["crate", "store", "self"],
            vec!["crate", "store", "Conn"],
            vec!["super", "super", "ids", "new_id"],
        ];
        assert_eq!(found, want.iter().map(|p| p.iter().map(|s| s.to_string()).collect::<Vec<_>>()).collect::<Vec<_>>());
    }

    #[test]
    fn resolves_to_the_deepest_module_file() {
        let modules: BTreeMap<String, PathBuf> =
            ["crate", "store", "store::attempts", "ids"].iter().map(|m| (m.to_string(), PathBuf::new())).collect();
        let path = |p: &str| p.split("::").map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            resolve("ids", &path("crate::store::attempts::claim"), &modules).as_deref(),
            Some("store::attempts")
        );
        assert_eq!(resolve("store::attempts", &path("super::Conn"), &modules).as_deref(), Some("store"));
        assert_eq!(resolve("store", &path("super::ids::new_id"), &modules).as_deref(), Some("ids"));
        assert!(without_tests("fn a() {}\n#[cfg(test)]\nmod tests { use super::*; }").ends_with("fn a() {}\n"));
    }
}
