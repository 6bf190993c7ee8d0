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

use super::{AppState, Deadline, Peer, St, err, ok_json, read_body, token_matches};
use crate::quarantine::QuarantineStore;
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

const LOG: &str = "outwork::dashboard";

const INDEX_HTML: &str = include_str!("dashboard/index.html");
const APP_JS: &str = include_str!("dashboard/app.js");
const STYLE_CSS: &str = include_str!("dashboard/style.css");

/// Every dashboard response's policy: nothing from elsewhere, no inline
/// script or style.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
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

/// A live session: when it expires, and the CSRF token bound to it.
struct Session {
    expires: Instant,
    csrf: String,
}

/// Dashboard login sessions (in memory: a restart logs everyone out).
#[derive(Default)]
pub(super) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    /// Wrong tokens per client address (dashboard logins and bearer
    /// tokens alike): (window start, count).
    failures: Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
}

impl Sessions {
    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<std::net::IpAddr, (Instant, u32)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seconds until `ip` may try again, when it has used up its window.
    pub(super) fn locked_out(&self, ip: std::net::IpAddr) -> Option<u64> {
        let m = self.failures();
        let (start, n) = m.get(&ip)?;
        let left = LOGIN_WINDOW.checked_sub(start.elapsed())?;
        (*n >= MAX_LOGIN_FAILURES).then(|| left.as_secs().max(1))
    }

    pub(super) fn login_failed(&self, ip: std::net::IpAddr) {
        let now = Instant::now();
        let mut m = self.failures();
        if m.len() >= MAX_THROTTLED {
            m.retain(|_, (start, _)| start.elapsed() < LOGIN_WINDOW);
        }
        if m.len() >= MAX_THROTTLED {
            // Flooded from many addresses: forget the lot rather than grow.
            m.clear();
        }
        let e = m.entry(ip).or_insert((now, 0));
        if e.0.elapsed() >= LOGIN_WINDOW {
            *e = (now, 0);
        }
        e.1 += 1;
    }

    pub(super) fn login_ok(&self, ip: std::net::IpAddr) {
        self.failures().remove(&ip);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session: its id and the CSRF token bound to it.
    fn create(&self, ttl: Duration) -> Option<(String, String)> {
        let id = random_hex(32)?;
        let csrf = random_hex(32)?;
        let now = Instant::now();
        let mut m = self.lock();
        m.retain(|_, s| s.expires > now);
        if m.len() >= MAX_SESSIONS
            && let Some(oldest) = m
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            m.remove(&oldest);
        }
        m.insert(
            id.clone(),
            Session {
                expires: now + ttl,
                csrf: csrf.clone(),
            },
        );
        Some((id, csrf))
    }

    fn valid(&self, id: &str) -> bool {
        self.csrf_of(id).is_some()
    }

    /// The CSRF token of a live session.
    fn csrf_of(&self, id: &str) -> Option<String> {
        self.lock()
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.csrf.clone())
    }

    fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// `n` random bytes as hex, from the kernel.
fn random_hex(n: usize) -> Option<String> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

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

/// Who is acting, for the audit log.
struct Actor(String);

fn peer_of(p: &Option<axum::Extension<Peer>>) -> String {
    p.as_ref()
        .map_or_else(|| "?".to_string(), |axum::Extension(Peer(a))| a.to_string())
}

/// A presented bearer token that matches.
fn bearer_ok(st: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = st.cfg.token() else {
        return false;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|t| token_matches(t.trim_ascii(), token.as_bytes()))
}

/// The session cookie's id when it names a live session.
fn session_of<'a>(st: &AppState, headers: &'a HeaderMap) -> Option<&'a str> {
    cookie(headers, SESSION_COOKIE).filter(|s| s.len() == 64 && st.sessions.valid(s))
}

/// Logged in (session or bearer)?
fn authed(st: &AppState, headers: &HeaderMap) -> bool {
    bearer_ok(st, headers) || session_of(st, headers).is_some()
}

fn no_token_configured() -> Response {
    err(
        StatusCode::FORBIDDEN,
        "dashboard writes are disabled: set [http] admin_token",
    )
}

fn login_required() -> Response {
    err(
        StatusCode::UNAUTHORIZED,
        "log in with the admin token first",
    )
}

/// Reads: open unless `login_for_reads`.
fn read_guard(st: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let need = st.svc.dashboard.as_ref().is_some_and(|d| d.login_for_reads);
    if need && !authed(st, headers) {
        return Err(login_required());
    }
    Ok(())
}

/// Reads of quarantined mail: always logged in.
fn admin_read_guard(st: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    if st.cfg.token().is_none() {
        return Err(no_token_configured());
    }
    if !authed(st, headers) {
        return Err(login_required());
    }
    Ok(())
}

/// Is `Origin` this server (`Host`)? Browsers send `Origin` on every POST.
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    let origin_host = origin.and_then(|o| {
        o.strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
    });
    matches!((host, origin_host), (Some(h), Some(o)) if !h.is_empty() && h.eq_ignore_ascii_case(o))
}

fn wrong_csrf() -> Response {
    err(
        StatusCode::FORBIDDEN,
        "missing or wrong CSRF token (reload the page)",
    )
}

/// Before a session exists (login): `Origin` must be this server, and the
/// CSRF header must echo the CSRF cookie (double submit; what a forged
/// login could do is log the victim in with the admin token it would
/// need to know).
fn csrf_guard(headers: &HeaderMap) -> Result<(), Response> {
    if !same_origin(headers) {
        return Err(err(
            StatusCode::FORBIDDEN,
            "cross-origin request refused (Origin must match Host)",
        ));
    }
    let c = cookie(headers, CSRF_COOKIE).unwrap_or("");
    let h = headers
        .get("x-csrf-token")
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    if c.len() < 32 || !token_matches(h, c.as_bytes()) {
        return Err(wrong_csrf());
    }
    Ok(())
}

/// With a session: `Origin` must be this server, and the CSRF header must
/// carry the token bound to that session at login (a cookie/header pair
/// the client chose itself does not pass).
fn session_csrf_guard(st: &AppState, headers: &HeaderMap, session: &str) -> Result<(), Response> {
    if !same_origin(headers) {
        return Err(err(
            StatusCode::FORBIDDEN,
            "cross-origin request refused (Origin must match Host)",
        ));
    }
    let h = headers
        .get("x-csrf-token")
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    match st.sessions.csrf_of(session) {
        Some(t) if token_matches(h, t.as_bytes()) => Ok(()),
        _ => Err(wrong_csrf()),
    }
}

/// Writes: a bearer token, or a session plus the CSRF and Origin checks.
fn write_guard(
    st: &AppState,
    headers: &HeaderMap,
    peer: &Option<axum::Extension<Peer>>,
) -> Result<Actor, Response> {
    if st.cfg.token().is_none() {
        return Err(no_token_configured());
    }
    let from = peer_of(peer);
    if bearer_ok(st, headers) {
        return Ok(Actor(format!("bearer token from {from}")));
    }
    if !same_origin(headers) {
        return Err(err(
            StatusCode::FORBIDDEN,
            "cross-origin request refused (Origin must match Host)",
        ));
    }
    match session_of(st, headers) {
        Some(s) => {
            session_csrf_guard(st, headers, s)?;
            // The session id is a secret; its first 8 characters name it.
            Ok(Actor(format!("session {} from {from}", &s[..8])))
        }
        None => Err(login_required()),
    }
}

async fn session_info(State(st): St, headers: HeaderMap) -> Response {
    let d = st.svc.dashboard.as_ref();
    ok_json(json!({
        "logged_in": authed(&st, &headers),
        "token_configured": st.cfg.token().is_some(),
        "login_for_reads": d.is_some_and(|d| d.login_for_reads),
        "quarantine": st.svc.quarantine.is_some(),
        "reports": d.is_some_and(|d| d.reports_dir.is_some()),
        "release_command": !st.cfg.release_command.is_empty(),
    }))
}

#[derive(Deserialize)]
struct LoginReq {
    token: String,
}

async fn login(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(token) = st.cfg.token() else {
        return no_token_configured();
    };
    if let Err(r) = csrf_guard(&headers) {
        return r;
    }
    let deadline = super::deadline_of(dl, &st);
    let raw = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(req) = serde_json::from_slice::<LoginReq>(&raw) else {
        return err(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"token\": \"...\"}",
        );
    };
    let from = peer_of(&peer);
    let ip = peer.as_ref().map(|axum::Extension(Peer(a))| a.ip());
    if let Some(ip) = ip
        && let Some(wait) = st.sessions.locked_out(ip)
    {
        tracing::warn!(target: LOG, from, "dashboard login refused: too many wrong tokens");
        return super::locked_out_response(wait);
    }
    if !token_matches(req.token.trim().as_bytes(), token.as_bytes()) {
        tracing::warn!(target: LOG, from, "dashboard login failed: wrong token");
        if let Some(ip) = ip {
            st.sessions.login_failed(ip);
        }
        return err(StatusCode::UNAUTHORIZED, "wrong token");
    }
    if let Some(ip) = ip {
        st.sessions.login_ok(ip);
    }
    let hours = st.svc.dashboard.as_ref().map_or(12, |d| d.session_hours);
    let ttl = Duration::from_secs(hours.saturating_mul(3600));
    let Some((id, csrf)) = st.sessions.create(ttl) else {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a session",
        );
    };
    tracing::info!(target: LOG, actor = %format!("session {} from {from}", &id[..8]), "dashboard login");
    let c = format!(
        "{SESSION_COOKIE}={id}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={}",
        ttl.as_secs()
    );
    let mut r = ok_json(json!({"logged_in": true}));
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    // From now on writes need the token bound to this session.
    set_csrf_cookie(&mut r, &csrf);
    r
}

async fn logout(State(st): St, headers: HeaderMap) -> Response {
    let guard = match session_of(&st, &headers) {
        Some(s) => session_csrf_guard(&st, &headers, s),
        None => csrf_guard(&headers),
    };
    if let Err(r) = guard {
        return r;
    }
    if let Some(s) = cookie(&headers, SESSION_COOKIE) {
        st.sessions.remove(s);
    }
    let mut r = ok_json(json!({"logged_in": false}));
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "outwork_session=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

fn symbol_description(name: &str) -> &'static str {
    outwork_core::symbol::lookup(name).map_or("", |d| d.description)
}

/// The list view's row: no headers or evidence.
fn summary(r: &VerdictRecord) -> Value {
    json!({
        "id": r.id,
        "time_ms": r.time_ms,
        "source": r.source,
        "queue_id": r.queue_id,
        "mail_from": r.mail_from,
        "from": r.from,
        "rcpt_to": r.rcpt_to,
        "subject": r.subject,
        "action": r.action,
        "score": r.score,
        "symbols": scored(&r.symbols),
        "quarantine_id": r.quarantine_id,
    })
}

/// Symbols as Rspamd's history lists them: name and score, highest first.
fn scored(symbols: &[crate::quarantine::StoredSymbol]) -> Vec<Value> {
    let mut v: Vec<&crate::quarantine::StoredSymbol> = symbols.iter().collect();
    v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
    v.iter()
        .map(|s| json!({"name": s.name, "score": s.score}))
        .collect()
}

fn full(r: &VerdictRecord) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        let mut syms = r.symbols.clone();
        syms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
        o.insert(
            "symbols".into(),
            syms.iter()
                .map(|s| {
                    json!({"name": s.name, "score": s.score, "evidence": s.evidence,
                           "description": symbol_description(&s.name)})
                })
                .collect(),
        );
    }
    v
}

fn no_log() -> Response {
    err(StatusCode::NOT_FOUND, "no verdict log")
}

async fn verdicts(
    State(st): St,
    headers: HeaderMap,
    q: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = read_guard(&st, &headers) {
        return r;
    }
    let f = match q {
        Ok(Query(f)) => f,
        Err(e) => return err(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let Some(log) = st.svc.verdicts.clone() else {
        return no_log();
    };
    let (rows, total) = match tokio::task::spawn_blocking(move || log.list(&f)).await {
        Ok(x) => x,
        Err(_) => return err(StatusCode::INTERNAL_SERVER_ERROR, "listing failed"),
    };
    ok_json(json!({
        "total": total,
        "verdicts": rows.iter().map(|r| summary(r)).collect::<Vec<_>>(),
    }))
}

async fn verdict_one(State(st): St, headers: HeaderMap, UrlPath(id): UrlPath<String>) -> Response {
    if let Err(r) = read_guard(&st, &headers) {
        return r;
    }
    let Ok(id) = id.parse::<u64>() else {
        return err(StatusCode::BAD_REQUEST, "bad verdict id");
    };
    let Some(log) = &st.svc.verdicts else {
        return no_log();
    };
    match log.get(id) {
        Some(r) => ok_json(full(&r)),
        None => err(StatusCode::NOT_FOUND, "no such verdict (past retention?)"),
    }
}

// ---- status ----

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

const ACTIONS: [&str; 4] = ["accept", "tag", "quarantine", "reject"];

/// Hourly message counts by action over the last 24 hours, all-time
/// counts, latency percentiles and the most frequent symbols.
fn stats(st: &AppState) -> Value {
    let Some(log) = &st.svc.verdicts else {
        return Value::Null;
    };
    let now = now_secs();
    let start = (now / 3600 + 1) * 3600 - 24 * 3600;
    let mut buckets = vec![[0u64; 5]; 24];
    // Days (UTC) over the retention, at most a month.
    let ndays = st
        .svc
        .dashboard
        .as_ref()
        .map_or(7, |d| d.retention_days)
        .clamp(1, 31);
    let day_start = (now / 86_400 + 1) * 86_400 - ndays * 86_400;
    let mut days = vec![[0u64; 5]; ndays as usize];
    let mut totals: HashMap<String, u64> = HashMap::new();
    let mut symbols: HashMap<String, u64> = HashMap::new();
    let mut lat: Vec<f64> = Vec::new();
    let mut oldest = None;
    log.for_each(|r| {
        oldest.get_or_insert(r.time_ms / 1000);
        *totals.entry(r.action.clone()).or_default() += 1;
        let t = r.time_ms / 1000;
        let a = ACTIONS.iter().position(|a| *a == r.action).unwrap_or(4);
        if t >= day_start
            && let Some(b) = days.get_mut(((t - day_start) / 86_400) as usize)
        {
            b[a] += 1;
        }
        if t >= start {
            if let Some(b) = buckets.get_mut(((t - start) / 3600) as usize) {
                b[a] += 1;
            }
            lat.push(r.took_ms);
            for s in &r.symbols {
                *symbols.entry(s.name.clone()).or_default() += 1;
            }
        }
    });
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| -> Option<f64> {
        if lat.is_empty() {
            return None;
        }
        let i = ((lat.len() - 1) as f64 * p).round() as usize;
        lat.get(i).copied()
    };
    let mut top: Vec<(String, u64)> = symbols.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(15);
    json!({
        "records": log.len(),
        "keep": log.options().keep,
        "retention_days": log.options().retention_days,
        "path": log.options().path,
        "oldest": oldest,
        "hours": (0..24).map(|i| {
            let b = &buckets[i];
            json!({"start": start + i as u64 * 3600, "accept": b[0], "tag": b[1],
                   "quarantine": b[2], "reject": b[3], "other": b[4]})
        }).collect::<Vec<_>>(),
        "days": days.iter().enumerate().map(|(i, b)| {
            json!({"start": day_start + i as u64 * 86_400, "accept": b[0], "tag": b[1],
                   "quarantine": b[2], "reject": b[3], "other": b[4]})
        }).collect::<Vec<_>>(),
        "totals": totals,
        "latency_ms": {"count": lat.len(), "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": lat.last()},
        "top_symbols": top.iter().map(|(n, c)| json!({"name": n, "count": c})).collect::<Vec<_>>(),
    })
}

/// The intel store's sources (the embedded file; read once per change).
fn intel_sources(st: &AppState) -> Value {
    static CACHE: Mutex<Option<(std::path::PathBuf, SystemTime, Value)>> = Mutex::new(None);
    let stale_after = st
        .svc
        .dashboard
        .as_ref()
        .map_or(48, |d| d.stale_feed_hours)
        .saturating_mul(3600);
    let Some(p) = &st.svc.intel_path else {
        return json!({"file": null, "sources": []});
    };
    let Ok(mtime) = std::fs::metadata(p).and_then(|m| m.modified()) else {
        return json!({"file": p, "error": "no intel store file", "sources": []});
    };
    let mut c = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let sources = match &*c {
        Some((cp, ct, v)) if cp == p && *ct == mtime => v.clone(),
        _ => {
            let v = match outwork_intel::store::Index::load(p) {
                Ok(idx) => serde_json::to_value(idx.sources()).unwrap_or(Value::Null),
                Err(e) => return json!({"file": p, "error": e.to_string(), "sources": []}),
            };
            *c = Some((p.clone(), mtime, v.clone()));
            v
        }
    };
    let now = now_secs() as i64;
    let sources: Vec<Value> = sources
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            let age = s["imported_at"].as_i64().map(|t| (now - t).max(0));
            if let Value::Object(o) = &mut s {
                o.insert("age_secs".into(), json!(age));
                o.insert(
                    "stale".into(),
                    json!(age.is_none_or(|a| a as u64 > stale_after)),
                );
            }
            s
        })
        .collect();
    let file_age = SystemTime::now()
        .duration_since(mtime)
        .map_or(0, |d| d.as_secs());
    json!({"file": p, "file_age_secs": file_age, "stale_after_secs": stale_after, "sources": sources})
}

/// Keys whose values are secrets.
fn secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    ["token", "password", "passwd", "secret", "key", "credential"]
        .iter()
        .any(|s| k.contains(s))
}

/// `scheme://user:pass@host` → `scheme://***@host`.
fn redact_userinfo(s: &str) -> String {
    if let Some((scheme, rest)) = s.split_once("://")
        && let Some((_, host)) = rest.split_once('@')
        && !rest.split('@').next().unwrap_or("").contains('/')
    {
        return format!("{scheme}://***@{host}");
    }
    s.to_string()
}

fn redact(v: &mut toml::Value) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                if secret_key(k) && !matches!(v, toml::Value::Table(_)) {
                    *v = toml::Value::String("(redacted)".into());
                } else {
                    redact(v);
                }
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(redact),
        toml::Value::String(s) => *s = redact_userinfo(s),
        _ => {}
    }
}

/// outwork.toml as loaded, secrets replaced.
pub fn redacted_config(text: &str) -> String {
    match toml::from_str::<toml::Table>(text) {
        Ok(t) => {
            let mut v = toml::Value::Table(t);
            redact(&mut v);
            toml::to_string(&v).unwrap_or_default()
        }
        Err(_) => "(config does not parse)".into(),
    }
}

async fn status(State(st): St, headers: HeaderMap) -> Response {
    if let Err(r) = read_guard(&st, &headers) {
        return r;
    }
    let st2 = st.clone();
    let (stats, intel) =
        match tokio::task::spawn_blocking(move || (stats(&st2), intel_sources(&st2))).await {
            Ok(x) => x,
            Err(_) => return err(StatusCode::INTERNAL_SERVER_ERROR, "status failed"),
        };
    let scanner = st.cell().get();
    let c = &st.cfg;
    ok_json(json!({
        "now": now_secs(),
        "verdicts": stats,
        "intel": {
            "available": scanner.intel.is_some(),
            "error": scanner.intel_error,
            "store": intel,
        },
        "thresholds": {
            "tag": scanner.ctx.config.thresholds.tag,
            "quarantine": scanner.ctx.config.thresholds.quarantine,
            "reject": scanner.ctx.config.thresholds.reject,
        },
        "http": {
            "listen": c.listen, "max_connections": c.max_connections,
            "max_scans": c.scan_slots(), "scans_free": st.scans.available_permits(),
            "max_body_bytes": c.max_body_bytes, "request_timeout_ms": c.request_timeout_ms,
            "max_buffered_bytes": st.buffered.limit(), "buffered_bytes": st.buffered.used(),
            "admin_token": if c.token().is_some() { "(set)" } else { "(unset)" },
            "release_command": !c.release_command.is_empty(),
            "rspamd_quarantine_action": c.rspamd_quarantine_action.as_str(),
        },
        "config_file": redacted_config(&st.svc.config_text),
    }))
}

// ---- quarantine ----

fn store(st: &AppState) -> Result<QuarantineStore, Response> {
    super::store(st)
}

/// Subject and From of a message (or its first bytes), decoded as the
/// scanner sees them (RFC 2047 words and all).
fn subject_and_from(raw: &[u8]) -> (Option<String>, Option<String>) {
    let f = outwork_core::facts::parse(raw, &outwork_core::config::Limits::default());
    let from = f.from.map(|m| match m.name {
        Some(n) if !n.is_empty() => format!("{n} <{}>", m.address),
        _ => m.address,
    });
    let subject = outwork_engine::subject_in_declared_charset(raw, &f.subject).unwrap_or(f.subject);
    ((!subject.is_empty()).then_some(subject), from)
}

/// Where a message's header block ends (after its last header line).
fn header_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 2)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 1))
}

async fn quarantine_list(State(st): St, headers: HeaderMap) -> Response {
    if let Err(r) = admin_read_guard(&st, &headers) {
        return r;
    }
    let q = match store(&st) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let list = match super::blocking(move || {
        let entries = q.list()?;
        // Subject and From from each message's header block (its first 64 KiB).
        Ok(entries
            .into_iter()
            .rev()
            .take(1000)
            .map(|e| {
                let head = q.head(&e.id, 65_536).unwrap_or_default();
                // Only the header block: a cut-off body must not be parsed.
                let hb = &head[..header_end(&head).unwrap_or(head.len())];
                let (subject, from) = subject_and_from(hb);
                json!({
                    "id": e.id, "time": e.time, "size": e.size, "action": e.action,
                    "score": e.score,
                    "symbols": scored(&e.symbols),
                    "mail_from": e.envelope.mail_from, "rcpt_to": e.envelope.rcpt_to,
                    "subject": subject, "from": from,
                })
            })
            .collect::<Vec<_>>())
    })
    .await
    {
        Ok(l) => l,
        Err(r) => return r,
    };
    ok_json(json!({"count": list.len(), "messages": list}))
}

async fn quarantine_one(
    State(st): St,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = admin_read_guard(&st, &headers) {
        return r;
    }
    let q = match store(&st) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let id2 = id.clone();
    let (entry, raw) = match super::blocking(move || q.get(&id2)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let end = header_end(&raw).unwrap_or(raw.len());
    let hb = &raw[..end.min(crate::verdict_log::MAX_HEADER_BYTES)];
    let (subject, from) = subject_and_from(&raw[..end]);
    let record = st
        .svc
        .verdicts
        .as_ref()
        .and_then(|l| l.by_quarantine_id(&id))
        .map(|r| r.id);
    let mut syms = entry.symbols.clone();
    syms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
    ok_json(json!({
        "id": entry.id, "time": entry.time, "size": entry.size, "action": entry.action,
        "score": entry.score, "envelope": entry.envelope,
        "symbols": syms.iter().map(|s| json!({"name": s.name, "score": s.score,
            "evidence": s.evidence, "description": symbol_description(&s.name)})).collect::<Vec<_>>(),
        "subject": subject,
        "from": from,
        "headers": String::from_utf8_lossy(hb),
        "verdict_id": record,
    }))
}

/// `POST .../release` body (optional): recipients for a message that has
/// none recorded, or instead of the recorded ones.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReleaseReq {
    #[serde(default)]
    rcpt: Vec<String>,
}

async fn quarantine_release(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    body: Body,
) -> Response {
    let actor = match write_guard(&st, &headers, &peer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let deadline = super::deadline_of(dl, &st);
    let raw = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let req = if raw.iter().all(u8::is_ascii_whitespace) {
        ReleaseReq::default()
    } else {
        match serde_json::from_slice::<ReleaseReq>(&raw) {
            Ok(r) => r,
            Err(_) => {
                return err(
                    StatusCode::BAD_REQUEST,
                    "expected no body or JSON {\"rcpt\": [\"address\", ...]}",
                );
            }
        }
    };
    if st.cfg.release_command.is_empty() {
        return err(
            StatusCode::CONFLICT,
            "no [http] release_command configured: release with `outwork quarantine release`",
        );
    }
    tracing::info!(target: LOG, actor = %actor.0, id, "dashboard: release requested");
    let r = super::release(&st, id.clone(), req.rcpt).await;
    if r.status().is_success() {
        tracing::info!(target: LOG, actor = %actor.0, id, "dashboard: quarantined message released");
    }
    r
}

async fn quarantine_delete(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let actor = match write_guard(&st, &headers, &peer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let q = match store(&st) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let id2 = id.clone();
    match super::blocking(move || q.delete(&id2)).await {
        Ok(()) => {
            tracing::info!(target: LOG, actor = %actor.0, id, "dashboard: quarantined message deleted");
            ok_json(json!({"deleted": id}))
        }
        Err(r) => r,
    }
}

// ---- scan a message or a URL ----

async fn scan_upload(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let actor = match write_guard(&st, &headers, &peer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let deadline = super::deadline_of(dl, &st);
    let raw = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if raw.is_empty() {
        return err(StatusCode::BAD_REQUEST, "empty message");
    }
    let mut s = match super::scan(
        &st,
        raw,
        outwork_engine::Envelope::default(),
        deadline,
        Some("dashboard"),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut id = None;
    if let (Some(r), Some(log)) = (s.record.take(), st.svc.verdicts.clone()) {
        id = tokio::task::spawn_blocking(move || log.push(r)).await.ok();
    }
    tracing::info!(target: LOG, actor = %actor.0, action = s.verdict.action.as_str(), "dashboard: message scanned");
    let mut v = super::verdict_json(&s);
    if let Value::Object(o) = &mut v {
        o.insert("verdict_id".into(), json!(id));
    }
    ok_json(v)
}

#[derive(Deserialize)]
struct UrlReq {
    url: String,
}

async fn scan_url(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = write_guard(&st, &headers, &peer) {
        return r;
    }
    let deadline = super::deadline_of(dl, &st);
    let raw = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(req) = serde_json::from_slice::<UrlReq>(&raw) else {
        return err(StatusCode::BAD_REQUEST, "expected JSON {\"url\": \"...\"}");
    };
    super::check_url(&st, req.url.trim().to_string(), deadline).await
}

// ---- reports ----

/// A report file name: no paths, HTML only.
fn report_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 200
        && !n.starts_with('.')
        && (n.ends_with(".html") || n.ends_with(".htm"))
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

async fn reports(State(st): St, headers: HeaderMap) -> Response {
    if let Err(r) = read_guard(&st, &headers) {
        return r;
    }
    let Some(dir) = st
        .svc
        .dashboard
        .as_ref()
        .and_then(|d| d.reports_dir.clone())
    else {
        return ok_json(json!({"dir": null, "reports": []}));
    };
    let d2 = dir.clone();
    let list = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Value>> {
        let mut out = Vec::new();
        for de in std::fs::read_dir(&d2)? {
            let de = de?;
            let name = de.file_name().to_string_lossy().into_owned();
            let Ok(m) = de.metadata() else { continue };
            if !m.is_file() || !report_name_ok(&name) {
                continue;
            }
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            out.push(json!({"name": name, "size": m.len(), "modified": mtime}));
        }
        out.sort_by(|a, b| b["modified"].as_u64().cmp(&a["modified"].as_u64()));
        out.truncate(200);
        Ok(out)
    })
    .await;
    match list {
        Ok(Ok(l)) => ok_json(json!({"dir": dir, "reports": l})),
        Ok(Err(e)) => ok_json(json!({"dir": dir, "error": e.to_string(), "reports": []})),
        Err(_) => err(StatusCode::INTERNAL_SERVER_ERROR, "listing reports failed"),
    }
}

async fn report_file(
    State(st): St,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
) -> Response {
    if let Err(r) = read_guard(&st, &headers) {
        return r;
    }
    let Some(dir) = st
        .svc
        .dashboard
        .as_ref()
        .and_then(|d| d.reports_dir.clone())
    else {
        return err(StatusCode::NOT_FOUND, "no [dashboard] reports_dir");
    };
    if !report_name_ok(&name) {
        return err(StatusCode::BAD_REQUEST, "bad report name");
    }
    let p = dir.join(&name);
    match tokio::task::spawn_blocking(move || std::fs::read(p)).await {
        Ok(Ok(b)) => (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(REPORT_CSP),
                ),
            ],
            Bytes::from(b),
        )
            .into_response(),
        _ => err(StatusCode::NOT_FOUND, "no such report"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_redacted() {
        let t = "[http]\nadmin_token = \"s3cr3t-0123456789\"\nlisten = \"127.0.0.1:1\"\n\
                 [intel]\nredis = \"redis://u:pw@10.0.0.1/0\"\n";
        let r = redacted_config(t);
        assert!(!r.contains("s3cr3t") && !r.contains("pw@"), "{r}");
        assert!(
            r.contains("127.0.0.1:1") && r.contains("redis://***@10.0.0.1/0"),
            "{r}"
        );
    }

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
    fn cookies_and_report_names() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; outwork_csrf=xyz"),
        );
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
        assert!(report_name_ok("eval-2026.html"));
        assert!(!report_name_ok("../x.html") && !report_name_ok(".x.html"));
        assert!(!report_name_ok("x.js"));
    }
}
