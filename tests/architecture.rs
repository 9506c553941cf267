//! The shape the code promises (docs/architecture.md), checked on the source itself:
//! - the HTTP edge (`src/http/`) takes services and never names a store or the engine
//!   underneath them (`crate::store`, `grid_dispatch::store`, `Dispatcher`);
//! - the domain (`src/domain/`) does no I/O: no tokio, reqwest, redis, axum, hyper, no
//!   `std::fs`/`net`/`io`/`env`/`process`/`thread`, and nothing of the crate outside it;
//! - dependencies point one way, down: the services (`src/services/`, `src/accounts/`) never
//!   name the HTTP edge; the engine (`src/dispatch/`) never names the services or the edge;
//!   the stores (`src/store/`) and the matcher (`src/matcher/`) name nothing that uses them;
//! - filing, the duplicate look-back and offer waves are the reports capability's
//!   (`src/services/reports/`): the engine defines none of them and the timer runner fires
//!   waves through the handler registered for them, never by name.
//! - the capabilities get their store ports when `app.rs` composes them: nothing in the
//!   services, accounts, case file, departments, video, the timer runner or the demo asks the
//!   engine for its ports (`.ports()`).
//!
//! Comments are skipped (module docs may say what they must not depend on); anything else
//! that names a forbidden path counts, whether in a `use`, a path expression or a type.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` (or `dir` itself, a file), recursively, in a stable order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut out = vec![];
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("readable source dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The code of a line, without its `//` comment (a `//` inside a string literal ends the scan
/// early, which can only hide a name, never invent one).
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

/// Whether `code` names `needle` as a path or identifier (not as part of a longer identifier,
/// so `tokio` does not match `tokio_like`, nor `Dispatcher` match `DispatcherView`).
fn names(code: &str, needle: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(needle).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + needle.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// `crate::{a, store}` style groups: the names a `crate::{…}` group brings in at top level.
fn crate_group_names(code: &str) -> Vec<String> {
    let mut out = vec![];
    for (at, _) in code.match_indices("crate::{") {
        let rest = &code[at + "crate::{".len()..];
        let group = rest.split('}').next().unwrap_or("");
        out.extend(group.split(',').map(|n| n.trim().split("::").next().unwrap_or("").trim().to_owned()));
    }
    out
}

/// Every (file:line, forbidden name) under `dir`.
fn offences(dir: &str, forbidden: &[&str], forbidden_crate_modules: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = vec![];
    for file in rust_files(&root.join(dir)) {
        let text = std::fs::read_to_string(&file).expect("readable source file");
        let shown = file.strip_prefix(root).unwrap_or(&file).display().to_string();
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            for needle in forbidden {
                if names(code, needle) {
                    found.push(format!("{shown}:{}: names `{needle}`: {}", n + 1, line.trim()));
                }
            }
            for module in crate_group_names(code) {
                if forbidden_crate_modules.contains(&module.as_str()) {
                    found.push(format!("{shown}:{}: imports `crate::{{{module}}}`: {}", n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn the_http_edge_never_names_a_store_or_the_engine() {
    let found = offences(
        "src/http",
        &["crate::store", "grid_dispatch::store", "super::super::store", "Dispatcher", "crate::dispatch::Dispatcher"],
        &["store"],
    );
    assert!(
        found.is_empty(),
        "handlers take a service (crate::services, crate::accounts) from the app state, never a store or the \
         dispatch engine:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_domain_does_no_io() {
    let io = [
        "tokio",
        "reqwest",
        "redis",
        "axum",
        "hyper",
        "tower",
        "std::fs",
        "std::net",
        "std::io",
        "std::env",
        "std::process",
        "std::thread",
        "crate::store",
        "crate::dispatch",
        "crate::http",
        "crate::services",
        "crate::accounts",
        "crate::app",
        "crate::wechat",
        "crate::sms",
        "crate::push",
        "crate::timers",
        "crate::telemetry",
    ];
    let modules =
        ["store", "dispatch", "http", "services", "accounts", "app", "wechat", "sms", "push", "timers", "telemetry"];
    let found = offences("src/domain", &io, &modules);
    assert!(found.is_empty(), "the domain is pure (no I/O, nothing of the crate outside it):\n{}", found.join("\n"));
}

/// The `crate::…` paths of `modules`, for [`offences`].
fn crate_paths(modules: &[&str]) -> Vec<String> {
    modules.iter().map(|m| format!("crate::{m}")).collect()
}

/// Fails naming every line under `dir` that names one of the crate's `modules`.
fn assert_names_none_of(dir: &str, modules: &[&str], why: &str) {
    let paths = crate_paths(modules);
    let found = offences(dir, &paths.iter().map(String::as_str).collect::<Vec<_>>(), modules);
    assert!(found.is_empty(), "{why}:\n{}", found.join("\n"));
}

#[test]
fn the_services_never_name_the_http_edge() {
    let why = "services answer in their own types; the edge maps them to statuses and wire shapes";
    assert_names_none_of("src/services", &["http"], why);
    assert_names_none_of("src/accounts", &["http"], why);
}

#[test]
fn the_engine_never_names_the_services_or_the_edge() {
    assert_names_none_of(
        "src/dispatch",
        &["services", "accounts", "http", "app"],
        "the services call the engine, never the other way round",
    );
}

#[test]
fn the_stores_and_the_matcher_name_nothing_that_uses_them() {
    let above = ["dispatch", "services", "accounts", "http", "app", "timers", "departments", "casefile", "video"];
    assert_names_none_of("src/store", &above, "a store knows the domain, never the layers that use it");
    let mut above_matcher = above.to_vec();
    above_matcher.extend(["store", "push", "wechat", "sms"]);
    assert_names_none_of("src/matcher", &above_matcher, "ranking is pure over the domain");
}

/// Whether `code` calls `.ports()` on anything but the composed app (`app.ports()`: the demo
/// is started from the running [`App`](grid_dispatch::app::App), which holds the ports it
/// composed). A call whose receiver is on the line before counts.
fn asks_for_ports(code: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(".ports()").any(|(at, _)| {
        let before = &code[..at];
        let receiver = &before[before.trim_end_matches(ident).len()..];
        receiver != "app"
    })
}

#[test]
fn capabilities_get_their_ports_at_composition_not_from_the_engine() {
    let covered =
        ["src/services", "src/accounts", "src/casefile", "src/departments", "src/video", "src/timers", "src/demo.rs"];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = vec![];
    for file in covered.iter().flat_map(|dir| rust_files(&root.join(dir))) {
        let shown = file.strip_prefix(root).unwrap_or(&file).display().to_string();
        let text = std::fs::read_to_string(&file).expect("readable source file");
        for (n, line) in text.lines().enumerate() {
            if asks_for_ports(code_of(line)) {
                found.push(format!("{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a capability keeps the store ports it uses, handed to it by app.rs; the engine does not hand out its \
         ports:\n{}",
        found.join("\n")
    );
}

#[test]
fn filing_the_look_back_and_waves_are_the_reports_capabilitys() {
    let steps = ["fn report", "fn report_as", "fn look_back", "fn first_wave", "fn next_wave", "fn wave_radius_m"];
    let mut found = offences("src/dispatch", &steps, &[]);
    found.extend(offences("src/timers", &["next_wave", "first_wave"], &[]));
    assert!(
        found.is_empty(),
        "the engine keeps the one write path (`Dispatcher::create`, `run`); filing, the look-back and waves are \
         `services::Reports`'s, and the timer runner fires waves through their `TimerHandler`:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The scanner itself: it must catch each shape it claims to, and skip comments.
    assert!(names("use crate::store::StoreError;", "crate::store"));
    assert!(names("state.x: Arc<crate::store::durability::Guard>", "crate::store"));
    assert!(names("let d: Dispatcher = x;", "Dispatcher"));
    assert!(!names("let d: DispatcherView = x;", "Dispatcher"));
    assert!(!names("use crate::storefront;", "crate::store"));
    assert!(names("#[tokio::test]", "tokio"));
    assert!(!names(code_of("//! Nothing here depends on tokio"), "tokio"));
    assert_eq!(crate_group_names("use crate::{auth, store::Store};"), ["auth", "store"]);
    assert!(names("    pub async fn report(", "fn report"));
    assert!(!names("    pub fn report_noted(", "fn report"));
    assert!(asks_for_ports("let p = self.engine.ports().incidents.clone();"));
    assert!(asks_for_ports(".ports()"));
    assert!(!asks_for_ports("let directory = &app.ports().directory;"));
}
