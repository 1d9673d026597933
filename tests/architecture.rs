//! The layering, checked on the source text: the import graph of `src/` (every `use crate::…`,
//! `use super::…` and inline `crate::…` path, test modules left out) has no circle, and only
//! the cli layer knows clap, the process environment and exit codes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `src/load/run.rs` → `["load", "run"]`; `src/check/mod.rs` → `["check"]`; `src/lib.rs` → `[]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without its `#[cfg(test)]` modules and comments.
fn code_of(text: &str) -> String {
    let cut = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..cut]
        .lines()
        .map(|l| match l.trim_start().starts_with("//") {
            true => "",
            false => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let renamed = regex::Regex::new(r"\s+as\s+[A-Za-z0-9_]+").unwrap();
    let tree: String = renamed
        .replace_all(tree, "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if !tree
        .chars()
        .all(|c| c.is_alphanumeric() || "_:{},*()".contains(c))
    {
        return Vec::new(); // not a use tree (the word "use " in a string)
    }
    let (Some(open), Some(close)) = (tree.find('{'), tree.rfind('}')) else {
        return vec![tree];
    };
    if close < open {
        return Vec::new();
    }
    let prefix = &tree[..open];
    let inner = &tree[open + 1..close];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .collect()
}

/// Every module path (`["load", "run", "LoadError"]`) the file names, absolute from the crate.
fn paths_named(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut trees: Vec<String> = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        rest = &rest[i + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(end) = rest.find(';') {
            trees.extend(expand(&rest[..end]));
            rest = &rest[end..];
        }
    }
    // `mod child;` makes the child part of this module: an edge to it.
    let declared =
        regex::Regex::new(r"(?m)^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_0-9]+)\s*;").unwrap();
    trees.extend(
        declared
            .captures_iter(code)
            .map(|c| format!("self::{}", &c[1])),
    );
    let inline = regex::Regex::new(r"\b(crate|super)(::[A-Za-z_][A-Za-z0-9_]*)+").unwrap();
    trees.extend(inline.find_iter(code).map(|m| m.as_str().to_owned()));
    let parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
    let this: Vec<String> = module.to_vec();
    trees
        .into_iter()
        .filter_map(|t| {
            let segs: Vec<String> = t
                .trim_start_matches("pub(crate)")
                .split("::")
                .map(ToOwned::to_owned)
                .collect();
            match segs.first().map(String::as_str) {
                Some("crate") => Some(segs[1..].to_vec()),
                Some("super") => {
                    // In `a/b.rs` (module a::b) and in `a/b/mod.rs` alike, `super` is `a`.
                    Some(
                        parent
                            .iter()
                            .cloned()
                            .chain(segs[1..].iter().cloned())
                            .collect(),
                    )
                }
                Some("self") => Some(
                    this.iter()
                        .cloned()
                        .chain(segs[1..].iter().cloned())
                        .collect(),
                ),
                _ => None,
            }
        })
        .collect()
}

/// The file that defines the longest prefix of `path` that is a module.
fn resolve(path: &[String], modules: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    (1..=path.len())
        .rev()
        .find_map(|n| modules.get(&path[..n].to_vec()).cloned())
}

fn graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.retain(|f| !f.ends_with("main.rs"));
    let modules: BTreeMap<Vec<String>, PathBuf> =
        files.iter().map(|f| (module_of(f), f.clone())).collect();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let module = module_of(file);
        let targets = edges.entry(file.clone()).or_default();
        for path in paths_named(&module, &code_of(&text)) {
            if let Some(target) = resolve(&path, &modules) {
                if target != *file && !target.ends_with("lib.rs") {
                    targets.insert(target);
                }
            }
        }
    }
    edges
}

/// Strongly connected components with more than one file (Tarjan).
fn circles(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        next: usize,
        found: Vec<Vec<PathBuf>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a PathBuf) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.found
}

/// The top-level module a file belongs to (`src/load/run.rs` → `load`, `src/stop.rs` → `stop`).
fn top_module(file: &Path) -> String {
    module_of(file).first().cloned().unwrap_or_default()
}

fn shown(found: &[Vec<PathBuf>]) -> Vec<Vec<String>> {
    found
        .iter()
        .map(|c| {
            c.iter()
                .map(|f| f.strip_prefix(src()).unwrap().display().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_import_graph_has_no_circle() {
    let edges = graph();
    assert!(edges.len() > 50, "{} files", edges.len());
    let load_run = src().join("load/run.rs");
    assert!(
        edges[&load_run].contains(&src().join("load/threshold.rs")),
        "the parser sees imports: {:?}",
        edges[&load_run]
    );
    // Between modules: no circle at all, re-exports of `mod.rs` files followed.
    let across: Vec<Vec<PathBuf>> = circles(&edges)
        .into_iter()
        .filter(|c| {
            c.iter()
                .map(|f| top_module(f))
                .collect::<BTreeSet<_>>()
                .len()
                > 1
        })
        .collect();
    assert!(
        across.is_empty(),
        "import circles across modules: {:?}",
        shown(&across)
    );
    // Inside a module: no circle between its files (a `mod.rs` declares and re-exports its
    // children, so it is left out).
    let leaves: BTreeMap<PathBuf, BTreeSet<PathBuf>> = edges
        .iter()
        .filter(|(f, _)| !f.ends_with("mod.rs"))
        .map(|(f, to)| {
            let to = to
                .iter()
                .filter(|t| !t.ends_with("mod.rs"))
                .cloned()
                .collect();
            (f.clone(), to)
        })
        .collect();
    let within = circles(&leaves);
    assert!(
        within.is_empty(),
        "import circles between files: {:?}",
        shown(&within)
    );
}

#[test]
fn the_circle_finder_finds_circles() {
    let p = |s: &str| PathBuf::from(s);
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    edges.entry(p("a")).or_default().insert(p("b"));
    edges.entry(p("b")).or_default().insert(p("c"));
    edges.entry(p("c")).or_default().insert(p("a"));
    edges.entry(p("d")).or_default().insert(p("a"));
    let found = circles(&edges);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
    assert_eq!(
        expand("crate::a::{b, c::{d, e as f}}"),
        ["crate::a::b", "crate::a::c::d", "crate::a::c::e"]
    );
}

#[test]
fn only_the_cli_layer_knows_the_command_line() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let rel = file.strip_prefix(src()).unwrap().display().to_string();
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        if !rel.starts_with("cli/") {
            for needle in ["clap::", "use clap", "std::env::var", "env::args"] {
                assert!(!code.contains(needle), "{rel} uses `{needle}`");
            }
        }
        if rel != "main.rs" {
            assert!(!code.contains("process::exit"), "{rel} calls process::exit");
        }
    }
}
