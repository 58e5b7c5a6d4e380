//! The shape of the daemon's source, checked: its top-level modules import only
//! downward (docs/architecture.md, "Layers"), no source file is over 600 lines and no
//! function over 80. It reads `src/` as text and with `syn`; nothing of the daemon is
//! linked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of `src/`, lowest first: a module may import modules of lower layers only.
/// docs/architecture.md draws the same table.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &["locale", "logging", "metrics"],
    &["config", "store"],
    &["backend", "screens"],
    &["assets", "devices", "outbox", "staff"],
    &["checkout"],
    &["returns"],
    &["reports"],
    &["ecr", "zvt"],
    &["daemon"],
    &["discovery", "doctor", "demo", "scenarios", "fuzz_targets"],
    // The link to the chain's MQTT broker: publishes the running daemon's facts, runs doctor.
    &["fleet"],
    // The command line's subcommands (the binary's own modules, beside main.rs).
    &["cli"],
];

/// Largest source file, in lines. Generated data tables are not code.
const MAX_FILE_LINES: usize = 600;
/// Largest function, in lines (signature to closing brace).
const MAX_FN_LINES: usize = 80;
/// Files that are data, not code: tables generated from CLDR.
const DATA_FILES: &[&str] = &["src/locale/cldr_data.rs"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// Every top-level module named after `crate::` in `source`, with `crate::{a, b::c}`
/// groups. Read from Rust's own tokens (proc-macro2), so comments, strings and raw
/// strings are never taken for paths.
fn crate_imports(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    if let Ok(tokens) = source.parse::<proc_macro2::TokenStream>() {
        collect_crate_paths(tokens, &mut found);
    }
    found
}

fn collect_crate_paths(tokens: proc_macro2::TokenStream, found: &mut BTreeSet<String>) {
    use proc_macro2::{Delimiter, TokenTree};
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) => collect_crate_paths(group.stream(), found),
            TokenTree::Ident(ident) if ident == "crate" => {
                let colons = matches!((tokens.get(i + 1), tokens.get(i + 2)),
                    (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':');
                match tokens.get(i + 3) {
                    Some(TokenTree::Ident(module)) if colons => {
                        found.insert(module.to_string());
                    }
                    Some(TokenTree::Group(group)) if colons && group.delimiter() == Delimiter::Brace => {
                        // The first name of each item of the group.
                        let mut item_start = true;
                        for t in group.stream() {
                            match t {
                                TokenTree::Ident(name) if item_start => {
                                    found.insert(name.to_string());
                                    item_start = false;
                                }
                                TokenTree::Punct(p) if p.as_char() == ',' => item_start = true,
                                _ => item_start = false,
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

#[test]
fn modules_import_only_lower_layers() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut unknown = BTreeSet::new();
    let mut upward: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        let Some(own) = layer_of(&module) else {
            unknown.insert(module);
            continue;
        };
        let source = std::fs::read_to_string(file).unwrap_or_default();
        for used in crate_imports(&source) {
            if used == module {
                continue;
            }
            match layer_of(&used) {
                Some(layer) if layer < own => {}
                _ => {
                    let rel = file.strip_prefix(root()).unwrap_or(file).display().to_string();
                    upward.entry(rel).or_default().insert(used);
                }
            }
        }
    }
    assert!(unknown.is_empty(), "modules of src/ missing from LAYERS (tests/architecture.rs): {unknown:?}");
    let report: Vec<String> = upward.iter().map(|(file, used)| format!("{file} imports {used:?}")).collect();
    assert!(
        report.is_empty(),
        "imports that go up or sideways (a module may import only lower layers; see docs/architecture.md):\n{}",
        report.join("\n")
    );
}

#[test]
fn the_import_scanner_sees_groups_and_skips_prose() {
    let source = "use crate::{a::X, b, c::{d, e}};\n// crate::prose\n/// crate::doc\nfn f() { let s = \"crate::text\"; let r = r#\"\"crate::raw\"\"#; let q = '\"'; crate::f::g(); }";
    let found: Vec<String> = crate_imports(source).into_iter().collect();
    assert_eq!(found, ["a", "b", "c", "f"]);
}

fn span_lines(span: proc_macro2::Span) -> usize {
    span.end().line.saturating_sub(span.start().line) + 1
}

/// Functions over the limit in one file: (name, first line, length).
struct LongFunctions(Vec<(String, usize, usize)>);

impl<'ast> syn::visit::Visit<'ast> for LongFunctions {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let lines = span_lines(syn::spanned::Spanned::span(f));
        if lines > MAX_FN_LINES {
            self.0.push((f.sig.ident.to_string(), f.sig.ident.span().start().line, lines));
        }
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let lines = span_lines(syn::spanned::Spanned::span(f));
        if lines > MAX_FN_LINES {
            self.0.push((f.sig.ident.to_string(), f.sig.ident.span().start().line, lines));
        }
        syn::visit::visit_impl_item_fn(self, f);
    }
}

#[test]
fn no_file_over_600_lines_and_no_function_over_80() {
    let mut files = Vec::new();
    for dir in [
        "src",
        "acquirer-api/src",
        "ecr-api/src",
        "drivers/src",
        "simulator/src",
        "zvt/src",
        "zvt-register/src",
        "firmware-config",
    ] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut problems = Vec::new();
    let mut over = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(root()).unwrap_or(file).display().to_string();
        let source = std::fs::read_to_string(file).unwrap_or_default();
        let lines = source.lines().count();
        if lines > MAX_FILE_LINES && !DATA_FILES.contains(&rel.as_str()) {
            over.push((rel.clone(), format!("{rel}: {lines} lines (most {MAX_FILE_LINES})")));
        }
        match syn::parse_file(&source) {
            Ok(parsed) => {
                let mut long = LongFunctions(Vec::new());
                syn::visit::Visit::visit_file(&mut long, &parsed);
                for (name, line, length) in long.0 {
                    let why = format!("{rel}:{line}: fn {name} is {length} lines (most {MAX_FN_LINES})");
                    over.push((format!("{rel}: fn {name}"), why));
                }
            }
            Err(e) => problems.push(format!("{rel}: does not parse: {e}")),
        }
    }
    problems.extend(over.into_iter().map(|(_, why)| why));
    assert!(problems.is_empty(), "split these up:\n{}", problems.join("\n"));
}
