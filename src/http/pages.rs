//! The pages people use, served from assets embedded in the binary (`web/`): the command-center
//! screen `/`, the admin console `/admin` (and its printable posters `/admin/posters`), the
//! mediator's phone page `/m`, the resident's form `/r/{scene}` and tracking page
//! `/t/{tracking_token}`, a party's copy `/p/{party_token}`, the video room `/v/{invitation}`, and their scripts, styles and vendored libraries under `/assets/`.
//!
//! Pages are plain HTML + JS with no build step; they talk only to the public API. They are not
//! in the OpenAPI document (merged as a plain router). Nothing here may load a third-party origin:
//! every page carries a CSP limited to this server, so they work on an offline intranet.

use super::state::AppState;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;
use std::borrow::Cow;
use std::fmt::Write as _;

/// `web/`: in debug builds read from disk at run time, in release builds compiled in.
#[derive(Embed)]
#[folder = "web/"]
struct Assets;

/// Only this server: scripts, styles, images, sockets and event streams. Leaflet positions its
/// layers through the CSSOM (allowed); inline `<script>`/`style=` markup is not.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Page routes (not part of the OpenAPI document).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(command_center_page))
        .route("/m", get(mediator_page))
        .route("/d", get(department_page))
        .route("/m/case/{id}", get(casefile_page))
        .route("/admin", get(admin_page))
        .route("/admin/posters", get(posters_page))
        .route("/r/{scene}", get(report_page))
        .route("/t/{tracking_token}", get(tracking_page))
        .route("/p/{party_token}", get(party_page))
        .route("/v", get(video_page))
        .route("/v/{invitation}", get(video_page))
        .route("/assets/{*path}", get(asset))
}

async fn command_center_page(State(state): State<AppState>) -> Response {
    page(&state, "command.html", &[])
}

/// The admin console (its map takes the district's base map too).
async fn admin_page(State(state): State<AppState>) -> Response {
    page(&state, "admin.html", &[])
}

/// Printable QR posters of the scenes named in `?ids=`.
async fn posters_page(State(state): State<AppState>) -> Response {
    page(&state, "poster.html", &[])
}

/// A called-in department's page (issue #21).
async fn department_page(State(state): State<AppState>) -> Response {
    page(&state, "dept.html", &[])
}

async fn mediator_page(State(state): State<AppState>) -> Response {
    page(&state, "mediator.html", &[])
}

/// The case file of a held incident, on the mediator's phone (the id is read by the script).
async fn casefile_page(State(state): State<AppState>) -> Response {
    page(&state, "casefile.html", &[])
}

/// Largest district outline embedded in the report form (bytes of GeoJSON); a bigger one is
/// left out (the form's map then shows only its grid, or the district's tiles).
const MAX_OUTLINE_BYTES: usize = 256 * 1024;

/// The report form, with the scene's name filled in when the scene is known (an unknown scene
/// still gets the form, which says so: the resident can share the device's location, drag a
/// pin on a map that starts at the district's centre, or type the address instead).
async fn report_page(State(state): State<AppState>, Path(scene): Path<String>) -> Response {
    let found = match crate::domain::ids::SceneId::parse(&scene) {
        Ok(id) => state.scenes.get(&id).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "scene lookup for the report form failed");
            None
        }),
        Err(_) => None,
    };
    let (name, lat, lng) =
        found.map_or_else(Default::default, |s| (s.name, s.location.lat().to_string(), s.location.lng().to_string()));
    let home = &state.settings.resident;
    let (home_lat, home_lng) = (home.home_lat.to_string(), home.home_lng.to_string());
    let areas = state.areas.map();
    let outline = areas
        .all()
        .into_iter()
        .find(|a| a.level == crate::domain::area::AreaLevel::District)
        .map(|a| a.geometry.to_string())
        .filter(|g| g.len() <= MAX_OUTLINE_BYTES)
        .unwrap_or_default();
    let vars = [
        ("{{scene_name}}", name.as_str()),
        ("{{scene_lat}}", &lat),
        ("{{scene_lng}}", &lng),
        ("{{home_lat}}", &home_lat),
        ("{{home_lng}}", &home_lng),
        ("{{outline}}", &outline),
    ];
    page(&state, "report.html", &vars)
}

async fn tracking_page(State(state): State<AppState>) -> Response {
    page(&state, "track.html", &[])
}

/// A party's own copy of the agreement and the case's dates (the token is read by the script).
async fn party_page(State(state): State<AppState>) -> Response {
    page(&state, "party.html", &[])
}

/// The video room (issue #22): `/v/{invitation}` for the invited, `/v#seat=…` for staff.
async fn video_page(State(state): State<AppState>) -> Response {
    let phone = state.video.fallback_phone().to_owned();
    page(&state, "video.html", &[("{{video_phone}}", &phone)])
}

/// `scheme://host[:port]` of a tile URL template (or `'self'` for a path on this server).
fn tile_origin(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or_default();
            // A placeholder in the first label (`t{s}.tiles.example`): every subdomain.
            let host = match host.split_once('.') {
                Some((first, parent)) if first.contains('{') => format!("*.{parent}"),
                _ => host.to_owned(),
            };
            format!("{scheme}://{host}")
        }
        None => "'self'".to_owned(),
    }
}

/// The `<head>` addition and CSP of every page: the base map (`[map]`), if one is configured, as
/// a `<meta name="gd-map">` that `web/js/basemap.js` reads, and its tile servers' origins in
/// the page's `img-src`. Without one: nothing, and nothing from outside is allowed.
fn map_extras(state: &AppState) -> (String, Cow<'static, str>) {
    let Some(base) = state.settings.map.base_map() else {
        return (String::new(), Cow::Borrowed(CSP));
    };
    let datum = match base.datum {
        crate::domain::location::CoordSystem::Wgs84 => "wgs84",
        crate::domain::location::CoordSystem::Gcj02 => "gcj02",
    };
    let meta = format!(
        "<meta name=\"gd-map\" data-tiles=\"{}\" data-labels=\"{}\" data-datum=\"{datum}\" data-subdomains=\"{}\" data-max-zoom=\"{}\" data-attribution=\"{}\">",
        escape_html(base.layers.first().map_or("", String::as_str)),
        escape_html(base.layers.get(1).map_or("", String::as_str)),
        escape_html(&base.subdomains),
        base.max_zoom,
        escape_html(&base.attribution)
    );
    let mut origins: Vec<String> = base.layers.iter().map(|l| tile_origin(l)).collect();
    origins.dedup();
    let csp = CSP.replace("img-src 'self'", &format!("img-src 'self' {}", origins.join(" ")));
    (meta, Cow::Owned(csp))
}

/// A page with the base map's meta and CSP, `vars` substituted.
fn page(state: &AppState, name: &str, vars: &[(&str, &str)]) -> Response {
    let (head, csp) = map_extras(state);
    page_with(name, vars, &head, &csp)
}

/// An HTML page: `{{asset:path}}` and `{{module:path}}` become content-versioned asset URLs, then `vars` are
/// substituted (HTML-escaped) and `head` is added before `</head>`. Pages are never cached and
/// never leak their URL (tracking tokens and scene ids are in it) through `Referer`.
fn page_with(name: &str, vars: &[(&str, &str)], head: &str, csp: &str) -> Response {
    let Some(file) = Assets::get(&format!("pages/{name}")) else {
        return (StatusCode::NOT_FOUND, "page missing").into_response();
    };
    let mut html = versioned(&String::from_utf8_lossy(&file.data));
    for (key, value) in vars {
        html = html.replace(key, &escape_html(value));
    }
    if !head.is_empty() {
        html = html.replacen("</head>", &format!("{head}\n</head>"), 1);
    }
    let mut response = html.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(csp).unwrap_or(HeaderValue::from_static(CSP)));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Replace every `{{asset:path}}` with `/assets/path?v=<the file's hash>` and every
/// `{{module:js/…}}` with `/assets/v/<the scripts' hash>/js/…`, so browsers may cache assets for
/// long and still pick up a new build at once.
///
/// Scripts are native ES modules that import each other by relative path (`./map.js`). A
/// `?v=` on the entry would not reach its imports, so modules carry one version in the path
/// instead, the hash of every file under `js/`: an import resolves under the same prefix, and a
/// page always gets one consistent set of modules (no rewriting of import specifiers, no
/// bundler, no inline import map that the CSP would have to allow).
fn versioned(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        match inner.split_once(':') {
            Some(("asset", path)) => {
                let _ = write!(out, "/assets/{path}?v={}", version_of(path).unwrap_or_default());
            }
            Some(("module", path)) => {
                let _ = write!(out, "/assets/v/{}/{path}", scripts_version());
            }
            // Page variables (`{{scene_name}}`) are substituted after this.
            _ => {
                let _ = write!(out, "{{{{{inner}}}}}");
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn version_of(path: &str) -> Option<String> {
    Assets::get(path).map(|f| hex_prefix(&f.metadata.sha256_hash()))
}

/// The folder whose files are ES modules, versioned together.
const SCRIPTS: &str = "js/";

/// One version for every module: the hash of the paths and contents of all files under `js/`.
fn scripts_version() -> String {
    use sha2::{Digest, Sha256};
    let mut paths: Vec<_> = Assets::iter().filter(|p| p.starts_with(SCRIPTS)).collect();
    paths.sort();
    let mut all = Sha256::new();
    for path in paths {
        if let Some(file) = Assets::get(&path) {
            all.update(path.as_bytes());
            all.update(file.metadata.sha256_hash());
        }
    }
    hex_prefix(&all.finalize())
}

fn hex_prefix(hash: &[u8]) -> String {
    hash.iter().take(6).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn escape_html(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A static asset with an ETag. Requests carrying the current version (`?v=` of the file, or
/// `/assets/v/<scripts' hash>/js/…` for modules) are immutable for a year; anything else must
/// revalidate (cheap: 304 on a matching `If-None-Match`). A module asked for under another
/// version (a page of an older or newer build) gets this build's file, not cached for long.
async fn asset(Path(path): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let (path, scripts_current) = match path.strip_prefix("v/").and_then(|p| p.split_once('/')) {
        Some((version, rest)) if rest.starts_with(SCRIPTS) => (rest, version == scripts_version()),
        Some(_) => return super::error::ApiError::not_found().into_response(),
        None => (path.as_str(), false),
    };
    // Pages go through their routes (headers, substitutions), never as raw files; notes for
    // maintainers (`*.md`) are not served.
    let servable = !path.starts_with("pages/") && !path.ends_with(".md");
    let Some(file) = Assets::get(path).filter(|_| servable) else {
        return super::error::ApiError::not_found().into_response();
    };
    let hash = hex_prefix(&file.metadata.sha256_hash());
    let etag = format!("\"{hash}\"");
    let current = scripts_current || query.as_deref().is_some_and(|q| q.split('&').any(|kv| kv == format!("v={hash}")));
    let cache = if current { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = file.data.into_owned().into_response();
        let mime = file.metadata.mimetype();
        let mime = if mime.starts_with("text/") || mime.ends_with("javascript") {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_owned()
        };
        if let Ok(v) = HeaderValue::from_str(&mime) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn tile_origins_cover_subdomain_placeholders() {
        assert_eq!(super::tile_origin("https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}"), "https://*.tianditu.gov.cn");
        assert_eq!(super::tile_origin("http://10.1.2.3:8080/tiles/{z}/{x}/{y}.png"), "http://10.1.2.3:8080");
        assert_eq!(super::tile_origin("/tiles/{z}/{x}/{y}.png"), "'self'");
    }

    use super::*;

    #[test]
    fn asset_placeholders_become_versioned_urls_and_values_are_escaped() {
        let html = versioned("<link href=\"{{asset:css/base.css}}\">{{scene_name}}{{asset:nope.js}}");
        assert!(html.starts_with("<link href=\"/assets/css/base.css?v="), "{html}");
        assert!(html.ends_with("\">{{scene_name}}/assets/nope.js?v="), "{html}");
        let html = versioned("<script type=\"module\" src=\"{{module:js/command/main.js}}\"></script>");
        let want =
            format!("<script type=\"module\" src=\"/assets/v/{}/js/command/main.js\"></script>", scripts_version());
        assert_eq!(html, want);
        assert_eq!(escape_html("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
        assert_eq!(escape_html("幸福小区3号楼"), "幸福小区3号楼");
    }
}
