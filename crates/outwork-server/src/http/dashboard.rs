//! The web dashboard under `/dashboard/`: a static shell (HTML, CSS, JS
//! embedded with `include_str!`) and a JSON API it renders with
//! `textContent` only.
//!
//! | route | what | needs |
//! |---|---|---|
//! | `GET /dashboard/` | the page shell (sets the CSRF cookie) | |
//! | `GET /dashboard/static/{app.js,style.css}` | assets | |
//! | `GET /dashboard/api/session` | logged in? token configured? | |
//! | `POST /dashboard/api/login` `{token}` | session cookie | CSRF |
//! | `POST /dashboard/api/logout` | | CSRF |
//! | `GET /dashboard/api/verdicts` | filtered list | (session with `login_for_reads`) |
//! | `GET /dashboard/api/verdicts/{id}` | one record | (idem) |
//! | `GET /dashboard/api/status` | charts data, latency, intel, config | (idem) |
//! | `GET /dashboard/api/quarantine[/{id}]` | quarantined messages | session |
//! | `POST /dashboard/api/quarantine/{id}/{release,delete}` | | session + CSRF |
//! | `POST /dashboard/api/scan` (raw message), `/api/url` `{url}` | a verdict | session + CSRF |
//! | `GET /dashboard/api/reports`, `/dashboard/reports/{name}` | HTML reports | (idem reads) |
//!
//! Writes: an HttpOnly SameSite=Strict session cookie (set by pasting the
//! admin token) or `Authorization: Bearer`; with the cookie also the CSRF
//! token bound to that session at login (sent as the `outwork_csrf`
//! cookie, echoed by the page in `X-CSRF-Token`, compared in constant
//! time with the session's own) and an `Origin` matching `Host`. The
//! login itself (no session yet) is a double submit of the pre-login
//! `outwork_csrf` cookie. Wrong tokens (logins and bearer tokens) are
//! throttled per client address. Every response carries a strict CSP,
//! `nosniff` and `no-referrer`; the shell `no-store`.

use super::{
    AppState, Deadline, Peer, St, blocking, check_url, deadline_of, delete_quarantined, err,
    get_quarantined, locked_out_response, ok_json, read_body, release, scan, store, token_matches,
    verdict_json,
};
use crate::verdict_log::{Filter, VerdictRecord};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod auth;
mod quarantine_page;
mod report_page;
mod scan_page;
mod status_page;
mod verdict_page;

pub(super) use auth::{Sessions, same_origin};
use auth::{
    admin_read_guard, login, logout, random_hex, read_guard, session_info, session_of, write_guard,
};
use quarantine_page::{quarantine_delete, quarantine_list, quarantine_one, quarantine_release};
use report_page::{report_file, reports};
use scan_page::{scan_upload, scan_url};
use status_page::status;
use verdict_page::{described, scored, verdict_one, verdicts};

const LOG: &str = "outwork::dashboard";

const INDEX_HTML: &str = include_str!("dashboard/index.html");
const APP_JS: &str = include_str!("dashboard/app.js");
const STYLE_CSS: &str = include_str!("dashboard/style.css");

/// Every dashboard response's policy: nothing from elsewhere, no inline
/// script or style.
pub(super) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
/// Reports are served as files: no script at all, their inline styles only,
/// sandboxed (an origin of their own).
const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'none'; base-uri 'none'; sandbox";

const SESSION_COOKIE: &str = "outwork_session";
const CSRF_COOKIE: &str = "outwork_csrf";
/// Sessions held at once; the oldest goes first.
const MAX_SESSIONS: usize = 256;

/// Wrong tokens a client address may send per window before logins from
/// it are refused until the window ends (guessing the token stays slow).
const MAX_LOGIN_FAILURES: u32 = 5;
const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Client addresses remembered for the login throttle.
const MAX_THROTTLED: usize = 4096;

pub(super) fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    if state.svc.dashboard.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/dashboard", get(redirect_to_slash))
        .route("/dashboard/", get(index))
        .route("/dashboard/static/app.js", get(app_js))
        .route("/dashboard/static/style.css", get(style_css))
        .route("/dashboard/api/session", get(session_info))
        .route("/dashboard/api/login", post(login))
        .route("/dashboard/api/logout", post(logout))
        .route("/dashboard/api/verdicts", get(verdicts))
        .route("/dashboard/api/verdicts/{id}", get(verdict_one))
        .route("/dashboard/api/status", get(status))
        .route("/dashboard/api/quarantine", get(quarantine_list))
        .route("/dashboard/api/quarantine/{id}", get(quarantine_one))
        .route(
            "/dashboard/api/quarantine/{id}/release",
            post(quarantine_release),
        )
        .route(
            "/dashboard/api/quarantine/{id}/delete",
            post(quarantine_delete),
        )
        .route("/dashboard/api/scan", post(scan_upload))
        .route("/dashboard/api/url", post(scan_url))
        .route("/dashboard/api/reports", get(reports))
        .route("/dashboard/reports/{name}", get(report_file))
        .route(
            "/dashboard/{*rest}",
            get(dash_not_found).post(dash_not_found),
        )
        .layer(middleware::from_fn_with_state(state.clone(), host_guard))
        .layer(middleware::map_response(security_headers))
}

/// The name part of a `Host` header (no port, no IPv6 brackets).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Is this `Host` one the dashboard answers to? IP addresses and
/// `localhost` always; other names only when listed.
pub(super) fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = host_name(host.trim()).trim_end_matches('.');
    name.parse::<std::net::IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// DNS rebinding: a page on a name that resolves to our address would be
/// same-origin with the dashboard in the victim's browser and could read
/// it. Such a request carries that name in `Host`: refuse it.
async fn host_guard(
    State(st): St,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let allowed = st
        .svc
        .dashboard
        .as_ref()
        .map_or(&[][..], |d| &d.allowed_hosts[..]);
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host, allowed) {
        return err(
            StatusCode::FORBIDDEN,
            "this host name is not one the dashboard answers to (see [dashboard] allowed_hosts)",
        );
    }
    next.run(req).await
}

/// The headers every dashboard response carries (a report keeps its own,
/// stricter CSP).
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

async fn dash_not_found() -> Response {
    err(StatusCode::NOT_FOUND, "no such dashboard page")
}

async fn redirect_to_slash() -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, HeaderValue::from_static("/dashboard/"))],
    )
        .into_response()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn asset(body: &'static str, ctype: &'static str, cache: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ctype)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// `Set-Cookie` for the CSRF token (not HttpOnly: the page's script
/// echoes it in `X-CSRF-Token`).
fn set_csrf_cookie(r: &mut Response, token: &str) {
    let c = format!("{CSRF_COOKIE}={token}; Path=/dashboard; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The shell (never cached: it carries the CSRF cookie). Logged in: the
/// session's own CSRF token; otherwise a login token when the browser has
/// none.
async fn index(State(st): St, headers: HeaderMap) -> Response {
    let mut r = asset(INDEX_HTML, "text/html; charset=utf-8", "no-store");
    if let Some(t) = session_of(&st, &headers).and_then(|s| st.sessions.csrf_of(s)) {
        set_csrf_cookie(&mut r, &t);
        return r;
    }
    let has = cookie(&headers, CSRF_COOKIE).is_some_and(|c| c.len() == 64);
    if !has && let Some(t) = random_hex(32) {
        set_csrf_cookie(&mut r, &t);
    }
    r
}

async fn app_js() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8", "no-cache")
}

async fn style_css() -> Response {
    asset(STYLE_CSS, "text/css; charset=utf-8", "no-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let none: &[String] = &[];
        assert!(host_allowed("127.0.0.1:11333", none));
        assert!(host_allowed("[::1]:8080", none));
        assert!(host_allowed("localhost", none));
        assert!(host_allowed("LOCALHOST.:1", none));
        assert!(!host_allowed("evil.example:11333", none));
        assert!(!host_allowed("", none));
        let list = ["mail.example.org".to_string()];
        assert!(host_allowed("Mail.Example.org", &list));
        assert!(!host_allowed("example.org", &list));
    }

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; outwork_csrf=xyz"),
        );
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
