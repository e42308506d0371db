//! The dependency rule of `server/src`, checked on every test run: data flows one way, so no
//! layer names a layer above it.
//!
//! - the composition root (`app.rs`, `cli/`, `lib.rs`, `main.rs`, and `grpc.rs`, which serves the
//!   composed services and the SDK's descriptor set) may use anything;
//! - a service (`services/<name>/`) may use the platform, `api` and itself, never the root and
//!   never another service (`services/mod.rs`, the list, may name them all);
//! - `api/` (the public API's forms of platform things) may use the platform and the SDK;
//! - the platform (everything else) may use neither the services, `api`, the root, nor the
//!   SDK's generated API types (`medley_sdk`): its events and rows are its own.
//!
//! Paths are read from `crate::…` references, `use crate::{…}` groups included.

#![expect(clippy::expect_used, reason = "a test: a missing source tree is a failure")]

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

const ROOT_MODULES: [&str; 2] = ["app", "cli"];

/// Where a file sits.
#[derive(Debug, PartialEq, Eq)]
enum Layer {
    Root,
    List,
    Service(String),
    Api,
    Platform,
}

fn layer_of(path: &str) -> Layer {
    let path = path.trim_start_matches("./");
    if ["app.rs", "lib.rs", "main.rs", "grpc.rs"].contains(&path) || path.starts_with("cli/") {
        return Layer::Root;
    }
    if path.starts_with("api/") {
        return Layer::Api;
    }
    if path == "services/mod.rs" {
        return Layer::List;
    }
    if let Some(rest) = path.strip_prefix("services/") {
        let name = rest.split('/').next().unwrap_or_default().trim_end_matches(".rs");
        return Layer::Service(name.to_owned());
    }
    Layer::Platform
}

/// The first segments (and second, under `services`) of every `crate::` path in `source`.
fn crate_paths(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        collect(rest, &mut found);
    }
    found
}

/// Reads one path (or a `{…}` group of paths) at the start of `text`.
fn collect(text: &str, found: &mut BTreeSet<String>) {
    if let Some(group) = text.strip_prefix('{') {
        for item in top_level_items(group) {
            collect(item.trim(), found);
        }
        return;
    }
    let ident: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if ident.is_empty() {
        return;
    }
    if ident == "services" {
        let after = &text[ident.len()..];
        if let Some(inner) = after.strip_prefix("::") {
            if let Some(group) = inner.strip_prefix('{') {
                for item in top_level_items(group) {
                    let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    found.insert(format!("services::{name}"));
                }
                return;
            }
            let name: String = inner.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            found.insert(format!("services::{name}"));
            return;
        }
    }
    found.insert(ident);
}

/// Splits the inside of a `{…}` group at its top-level commas, up to the closing brace.
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// Whether code (not comments) of `source` names the SDK crate.
fn uses_sdk(source: &str) -> bool {
    source.lines().any(|line| !line.trim_start().starts_with("//") && line.contains("medley_sdk"))
}

/// Every breach of the rule in `files` (paths relative to `src/`).
fn violations(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, source) in files {
        let layer = layer_of(path);
        if layer == Layer::Platform && uses_sdk(source) {
            found.push(format!("{path} ({layer:?}) uses medley_sdk"));
        }
        for used in crate_paths(source) {
            let top = used.split("::").next().unwrap_or_default();
            let service = used.strip_prefix("services::");
            let breach = match &layer {
                Layer::Root | Layer::List => false,
                Layer::Service(own) => {
                    ROOT_MODULES.contains(&top) || service.is_some_and(|name| name != own && !name.is_empty())
                }
                Layer::Api => ROOT_MODULES.contains(&top) || top == "services",
                Layer::Platform => ROOT_MODULES.contains(&top) || top == "services" || top == "api",
            };
            if breach {
                found.push(format!("{path} ({layer:?}) uses crate::{used}"));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path: PathBuf = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(base).expect("under src").to_string_lossy().replace('\\', "/");
            out.push((relative, fs::read_to_string(&path).expect("read file")));
        }
    }
}

#[test]
fn no_layer_uses_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    assert!(files.len() > 50, "found only {} files under {}", files.len(), src.display());
    let found = violations(&files);
    assert!(found.is_empty(), "layering breaches:\n{}", found.join("\n"));
}

#[test]
fn the_check_catches_a_service_importing_the_composition_root() {
    let file = |path: &str, source: &str| (path.to_owned(), source.to_owned());
    let files = [
        file("services/mapping/grpc.rs", "use crate::{\n    app::Settings,\n    error::FieldViolations,\n};"),
        file("services/catalog/service.rs", "fn f() { crate::cli::run(); }"),
        file("services/catalog/store/mod.rs", "use crate::services::mapping::lookup;"),
        file("services/catalog/import.rs", "use crate::services::{catalog::model, admin::AdminError};"),
        file("jobs/queue.rs", "use crate::{db::DbPool, services::admin::AdminError};"),
        file("jobs/convert.rs", "// medley_sdk in a comment is fine\nuse medley_sdk::pb;"),
        file("progress/mod.rs", "use crate::api::jobs::job_to_pb;"),
        // Allowed: the root, the list, a service using itself and the platform.
        file("app.rs", "use crate::{services::{self, ServicesConfig}, cli};"),
        file("services/mod.rs", "use crate::services::admin;"),
        file("services/catalog/grpc.rs", "use crate::{error::ApiError, services::catalog::model, platform::Platform};"),
        file("api/jobs.rs", "use medley_sdk::pb;\nuse crate::jobs::JobRow;"),
    ];
    let found = violations(&files);
    assert_eq!(
        found,
        [
            "services/mapping/grpc.rs (Service(\"mapping\")) uses crate::app",
            "services/catalog/service.rs (Service(\"catalog\")) uses crate::cli",
            "services/catalog/store/mod.rs (Service(\"catalog\")) uses crate::services::mapping",
            "services/catalog/import.rs (Service(\"catalog\")) uses crate::services::admin",
            "jobs/queue.rs (Platform) uses crate::services::admin",
            "jobs/convert.rs (Platform) uses medley_sdk",
            "progress/mod.rs (Platform) uses crate::api",
        ]
    );
}
