//! The layering ARCHITECTURE.md promises, checked on the source text, so a
//! change that breaks it fails `cargo test` instead of waiting for a
//! reviewer: `matching` and `rules` pure (no store, no SQL), SQL only in
//! `store`, clap only in `cli`, wasmtime only in `runtime`, `apply` not
//! built on `sync`, and no cycle between the crate's top-level modules.
//!
//! Comments are left out before looking (a comment may name anything);
//! string literals are not, so a check can only err on the strict side.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `host/src`.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir` (a file or a folder), sorted, except this
/// one (it names everything it looks for).
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = all_rust_files(dir);
    files.retain(|f| f.as_path() != src().join("invariants.rs"));
    files
}

fn all_rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return out;
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(all_rust_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    out
}

/// The code of a file without its `//` comments (doc comments included).
/// A `//` inside a string literal ("https://…") cuts the line short there,
/// which only hides the rest of that line.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines of the files under `dir` that contain any of `needles`, as
/// "path:line: text".
fn mentions(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for file in rust_files(dir) {
        for (n, line) in code(&file).lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle)) {
                let shown = file.strip_prefix(src()).unwrap_or(&file).display().to_string();
                hits.push(format!("{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    hits
}

/// The top-level module a file under `host/src` belongs to (`sync` for
/// `sync/stream.rs`, `model` for `model.rs`).
fn top_module(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap_or(file);
    let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().to_string()).unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a piece of code names through `crate::`: paths
/// (`crate::store::Tx`) and groups (`crate::{model, store::Tx}`).
fn named_modules(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect() };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: the first word of each item at
            // brace depth zero.
            let mut depth = 0usize;
            let mut item_start = true;
            let mut skip = 0;
            for (j, c) in group.char_indices() {
                if j < skip {
                    continue;
                }
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && depth == 0 && !c.is_whitespace() => {
                        let name = ident(&group[j..]);
                        skip = j + name.len().max(1);
                        out.insert(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

/// Top-level module → the other top-level modules its code names.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src()) {
        let module = top_module(&file);
        if module == "lib" || module == "main" {
            continue;
        }
        let named = named_modules(&code(&file));
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(named.into_iter().filter(|m| *m != module));
    }
    graph
}

/// A cycle of the graph, as "a → b → a", if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<String> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle.join(" → "));
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

fn assert_none(what: &str, hits: Vec<String>) {
    assert!(hits.is_empty(), "{what}:\n{}", hits.join("\n"));
}

#[test]
fn matching_and_rules_do_not_reach_the_store() {
    let needles = ["crate::store", "store::", "rusqlite", "Tx<", "Store"];
    for module in ["matching", "rules"] {
        assert_none(
            &format!("`{module}` is pure: plain values in, decisions out (callers load rows through `store`)"),
            mentions(&src().join(module), &needles),
        );
    }
}

#[test]
fn sql_lives_only_in_store() {
    let hits: Vec<String> =
        mentions(&src(), &["rusqlite"]).into_iter().filter(|hit| !hit.starts_with("store/")).collect();
    assert_none("only `store` knows SQL (rusqlite)", hits);
}

#[test]
fn clap_lives_only_in_cli_and_wasmtime_only_in_runtime() {
    let clap: Vec<String> = mentions(&src(), &["clap::", "use clap"])
        .into_iter()
        .filter(|hit| !hit.starts_with("cli/") && !hit.starts_with("main.rs"))
        .collect();
    assert_none("only `cli` knows clap", clap);
    let wasmtime: Vec<String> = mentions(&src(), &["wasmtime::", "use wasmtime", "wasmtime_wasi"])
        .into_iter()
        .filter(|hit| !hit.starts_with("runtime/"))
        .collect();
    assert_none("only `runtime` knows wasmtime", wasmtime);
}

#[test]
fn apply_is_not_built_on_sync() {
    // sync calls apply after a run; apply (also run alone by `ferry apply`)
    // must not need sync back.
    assert_none("`apply` must not use `crate::sync`", mentions(&src().join("apply"), &["crate::sync"]));
}

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = module_graph();
    assert!(graph.contains_key("sync") && graph["sync"].contains("apply"), "the graph is read: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "modules depend on each other in a cycle: {cycle}\nmove the shared piece down into the lower module \
             (see ARCHITECTURE.md, Invariants)"
        );
    }
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The readers themselves, on text with known answers, so a check that
    // silently reads nothing cannot pass.
    let named = named_modules("use crate::{model::{A, B}, store};\nlet x = crate::sync::run();");
    assert_eq!(named, ["model", "store", "sync"].into_iter().map(String::from).collect());
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(find_cycle(&graph).as_deref(), Some("a → b → c → a"));
    graph.insert("c".to_string(), BTreeSet::new());
    assert_eq!(find_cycle(&graph), None);
    assert!(!mentions(&src().join("store"), &["rusqlite"]).is_empty(), "the store's own SQL is seen");
}
