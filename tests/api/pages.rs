//! The pages' scripts are native ES modules, loaded from this server only, and cache-safe: a
//! page names its entry module under the version of all scripts, every import resolves under
//! that same version and is cached for long, and a stale version is never cached.

use crate::helpers::{Backend, TestApp, spawn_app};
use reqwest::{StatusCode, Url};
use std::collections::BTreeSet;

/// Fetch `url`: its status, `Cache-Control`, `Content-Type` and body.
async fn fetch(app: &TestApp, url: &Url) -> (StatusCode, String, String, String) {
    let resp = app.http().get(url.clone()).send().await.expect("request sent");
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (cache, mime) = (header("cache-control"), header("content-type"));
    (resp.status(), cache, mime, resp.text().await.expect("body"))
}

/// Relative specifiers of a module's static imports (`import … from './x.js'`, `import './x.js'`).
fn relative_imports(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| l.starts_with("import "))
        .filter_map(|l| l.split(['\'', '"']).nth(1))
        .filter(|spec| spec.starts_with("./") || spec.starts_with("../"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_loads_its_scripts_as_modules_under_one_cached_version() {
    let app = spawn_app(Backend::Memory).await;
    let base = Url::parse(&app.base).expect("base URL");
    let mut versions = BTreeSet::new();
    let mut modules = BTreeSet::new();
    for page in ["/", "/m", "/r/no-such-scene", "/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/v/AAAA"] {
        let resp = app.http().get(base.join(page).expect("page URL")).send().await.expect("page");
        let csp = resp.headers()["content-security-policy"].to_str().expect("CSP").to_owned();
        assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe"), "{page}: {csp}");
        let html = resp.text().await.expect("page body");
        let tags: Vec<&str> = html.split("<script").skip(1).map(|t| &t[..t.find('>').unwrap_or(t.len())]).collect();
        assert!(tags.iter().all(|t| t.contains(" src=")), "{page}: no inline script: {tags:?}");
        let entries: Vec<&str> = tags
            .iter()
            .filter(|t| t.contains("type=\"module\""))
            .filter_map(|t| t.split("src=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(entries.len(), 1, "{page}: one entry module: {tags:?}");
        let version = entries[0].strip_prefix("/assets/v/").and_then(|p| p.split('/').next()).expect("versioned path");
        versions.insert(version.to_owned());
        modules.insert(entries[0].to_owned());
    }
    assert_eq!(versions.len(), 1, "every page names the same version of the scripts: {versions:?}");
    let version = versions.first().expect("a version").clone();

    // Every module reachable from an entry loads under that version, cached for long.
    let mut todo: Vec<Url> = modules.iter().map(|m| base.join(m).expect("module URL")).collect();
    let mut seen = BTreeSet::new();
    while let Some(url) = todo.pop() {
        if !seen.insert(url.path().to_owned()) {
            continue;
        }
        let (status, cache, mime, source) = fetch(&app, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(mime.contains("javascript"), "{url}: {mime}");
        assert!(cache.contains("immutable"), "{url}: {cache}");
        assert!(url.path().starts_with(&format!("/assets/v/{version}/js/")), "{url}");
        todo.extend(relative_imports(&source).iter().map(|spec| url.join(spec).expect("import URL")));
    }
    assert!(seen.len() >= 10, "the command center is split into modules: {seen:?}");
    assert!(seen.iter().any(|p| p.ends_with("/js/common.js")), "{seen:?}");

    // A page of another build gets this build's file, revalidated rather than kept.
    let stale = base.join("/assets/v/000000000000/js/common.js").expect("URL");
    let (status, cache, _, _) = fetch(&app, &stale).await;
    assert_eq!((status, cache.as_str()), (StatusCode::OK, "no-cache"));
    // Only scripts live under a version path; pages never go out as raw files.
    for path in [format!("/assets/v/{version}/pages/command.html"), format!("/assets/v/{version}/css/base.css")] {
        let (status, ..) = fetch(&app, &base.join(&path).expect("URL")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
