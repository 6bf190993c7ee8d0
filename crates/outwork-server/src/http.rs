//! The HTTP API: axum on hyper (HTTP/1.1), our own accept loop for limits.
//!
//! | route | what |
//! |---|---|
//! | `POST /checkv2` | Rspamd-compatible scan ([`crate::rspamd`]) |
//! | `GET /ping` | `pong` (as Rspamd) |
//! | `POST /v1/scan` | raw message → outwork's verdict JSON |
//! | `POST /v1/scan/text` | `{"text", "sender"}` (SMS, chat) → verdict JSON |
//! | `GET /v1/url?u=URL` | one URL: link signals and intel hits |
//! | `GET /healthz` | liveness |
//! | `GET /metrics` | Prometheus text ([`crate::metrics`]) |
//! | `POST /admin/reload` | rebuild the scanner (config, intel) |
//! | `GET /admin/quarantine` | quarantined messages |
//! | `GET /admin/quarantine/{id}` | one, as `message/rfc822` |
//! | `POST /admin/quarantine/{id}/release` | re-inject (`release_command`) or hand it back |
//! | `DELETE /admin/quarantine/{id}` | drop it |
//! | `GET /dashboard/…` | the web dashboard and its JSON API ([`dashboard`]) |
//! | `CHECK RSPAMC/1.3` (not HTTP) | Rspamd's legacy protocol, as Exim's `variant=rspamd` sends it ([`legacy`]) |
//!
//! Limits: at most `max_connections` connections, `max_connections_per_ip`
//! from one client (when full, a new connection closes the one idle
//! longest, [`crate::connlimit`]; with none idle, it waits in the
//! backlog), `max_scans` scans at once (others wait for a slot within the
//! request's deadline, then get 503), bodies up to `max_body_bytes` (413),
//! all bodies being received or scanned together within
//! `max_buffered_bytes` (503 with `Retry-After` before buffering more),
//! request headers within `header_timeout_ms` (else the connection is
//! closed), the whole request within `request_timeout_ms` (408 while the
//! body is still arriving, 503 once scanning). Malformed HTTP gets hyper's
//! 400; bad JSON or headers our 400. Admin endpoints need
//! `Authorization: Bearer <admin_token>` and are off (403) without one.

// Handlers return early with a ready `Response`: the natural error type
// here, and never on a hot path that its size would matter for.
#![allow(clippy::result_large_err)]

use crate::budget::{ByteBudget, Exhausted, owned_bytes, reserve_charged};
use crate::config::{DashboardConfig, HttpConfig};
use crate::quarantine::{QuarantineError, QuarantineStore};
use crate::reload::{Reloader, ScannerCell};
use crate::rspamd::{self, MessageInfo};
use crate::server::ServeError;
use crate::verdict_log::{VerdictLog, VerdictRecord};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use outwork_core::Verdict;
use outwork_engine::{Envelope, Scanner};
use serde::Deserialize;
use serde_json::{Value, json};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

mod admin;
mod dashboard;
mod legacy;
mod scanning;

pub use admin::{ReleaseError, release_argv};
use admin::{
    admin_delete, admin_get, admin_list, admin_release, admin_reload, blocking, delete_quarantined,
    get_quarantined, release, store, token_matches,
};
use scanning::{
    check_url, checkv2, deadline_of, log_verdict, read_body, record, scan, scan_raw, scan_text,
    url_check, verdict_json,
};
pub use scanning::{synthetic_message, url_message};

const LOG: &str = "outwork::http";

/// What the HTTP API serves besides its config.
pub struct Services {
    /// The scanner and how to rebuild it.
    pub reloader: Arc<Reloader>,
    /// The milter's quarantine, for the admin endpoints (`None`: they
    /// answer 404).
    pub quarantine: Option<QuarantineStore>,
    /// The intel store file, for `outwork_intel_age_seconds`.
    pub intel_path: Option<PathBuf>,
    /// Where `/checkv2` and `/v1/scan` record their verdicts (`None`: not
    /// recorded).
    pub verdicts: Option<Arc<VerdictLog>>,
    /// The dashboard (`None`: `/dashboard/` answers 404).
    pub dashboard: Option<DashboardConfig>,
    /// outwork.toml as loaded, for the dashboard's status page (secrets
    /// redacted there).
    pub config_text: String,
}

impl Services {
    /// A fixed scanner, no reload, no quarantine (tests, embedding).
    pub fn fixed(scanner: Arc<Scanner>) -> Services {
        Services {
            reloader: Reloader::new(ScannerCell::new(scanner), None),
            quarantine: None,
            intel_path: None,
            verdicts: None,
            dashboard: None,
            config_text: String::new(),
        }
    }
}

struct AppState {
    cfg: HttpConfig,
    svc: Services,
    scans: Arc<Semaphore>,
    /// Bytes held by bodies being received or scanned
    /// (`max_buffered_bytes`).
    buffered: ByteBudget,
    sessions: dashboard::Sessions,
}

impl AppState {
    fn cell(&self) -> &ScannerCell {
        self.svc.reloader.cell()
    }
}

type St = State<Arc<AppState>>;

/// A bound (not yet running) HTTP server.
pub struct HttpServer {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl HttpServer {
    /// Check the config and bind.
    pub async fn bind(cfg: HttpConfig, svc: Services) -> Result<HttpServer, ServeError> {
        cfg.validate()?;
        crate::metrics::install();
        crate::metrics::loaded_now();
        let listener = TcpListener::bind(&cfg.listen)
            .await
            .map_err(|error| ServeError::Bind {
                addr: cfg.listen.clone(),
                key: "[http] listen",
                error,
            })?;
        let state = Arc::new(AppState {
            sessions: dashboard::Sessions::default(),
            scans: Arc::new(Semaphore::new(cfg.scan_slots())),
            buffered: ByteBudget::named(cfg.buffered_budget(), "http"),
            cfg,
            svc,
        });
        Ok(HttpServer { listener, state })
    }

    /// The bound address (with port 0 in the config, the port the OS chose).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `shutdown` completes; then stop accepting, let in-flight
    /// requests finish (up to `shutdown_grace_ms`) and close keep-alive
    /// connections.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        use hyper_util::rt::{TokioIo, TokioTimer};
        use hyper_util::server::graceful::GracefulShutdown;
        use hyper_util::service::TowerToHyperService;

        let cfg = &self.state.cfg;
        let state = self.state.clone();
        let app = router(self.state.clone());
        let conns = crate::connlimit::ConnLimits::new(
            crate::connlimit::Listener::Http,
            cfg.max_connections,
            cfg.max_connections_per_ip,
        );
        let graceful = GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(Duration::from_millis(cfg.header_timeout_ms))
            .max_buf_size(64 * 1024)
            .keep_alive(true);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                r = self.listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(target: LOG, "accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            // Over its client's limit: closed at once (dropped).
            let Some(admitted) = conns.admit(Some(peer.ip())) else {
                continue;
            };
            // Backpressure: a slot (perhaps an idle connection's) before
            // the next accept.
            let slot = tokio::select! {
                s = admitted.slot() => s,
                _ = &mut shutdown => break,
            };
            let Some(slot) = slot else { break };
            let slot = Arc::new(slot);
            let _ = stream.set_nodelay(true);
            let tower = TowerToHyperService::new(app.clone());
            // The peer, for the dashboard's audit log lines; the slot is
            // busy while a request is in flight (not closable to make room).
            let busy = slot.clone();
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                req.extensions_mut().insert(Peer(peer));
                let work = BusyWhile::new(busy.clone());
                let call = hyper::service::Service::call(&tower, req);
                async move {
                    let r = call.await;
                    drop(work);
                    r
                }
            });
            let http = http.clone();
            let watcher = graceful.watcher();
            let state = state.clone();
            let sniff_wait = Duration::from_millis(cfg.header_timeout_ms);
            tokio::spawn(async move {
                let serve = async {
                    let mut stream = stream;
                    // The first line tells HTTP from Rspamd's legacy protocol.
                    let Some((pre, is_legacy)) = legacy::sniff(&mut stream, sniff_wait).await
                    else {
                        return;
                    };
                    let io = legacy::Rewind::new(pre, stream);
                    if is_legacy {
                        // One request, then close: busy throughout.
                        slot.busy();
                        legacy::serve(io, &state, &peer.to_string()).await;
                        return;
                    }
                    let conn = http.serve_connection(TokioIo::new(io), svc);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(target: LOG, %peer, "connection: {e}");
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    _ = slot.evicted() => {
                        tracing::debug!(target: LOG, %peer, "idle; closed to make room");
                    }
                }
            });
        }
        drop(self.listener);
        tracing::info!(target: LOG, "shutting down: no new connections, draining requests");
        let grace = Duration::from_millis(cfg.shutdown_grace_ms);
        let all = u32::try_from(cfg.max_connections).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(grace, async {
            // HTTP connections finish their request and close; legacy
            // ones (and any still being sniffed) hold their slot until done.
            graceful.shutdown().await;
            let _ = conns.slots().acquire_many(all).await;
        })
        .await;
        if drained.is_err() {
            tracing::warn!(target: LOG, "requests still running after {} ms; closing", cfg.shutdown_grace_ms);
        }
        Ok(())
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/checkv2", post(checkv2))
        .route("/ping", get(ping))
        .route("/v1/scan", post(scan_raw))
        .route("/v1/scan/text", post(scan_text))
        .route("/v1/url", get(url_check))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/admin/reload", post(admin_reload))
        .route("/admin/quarantine", get(admin_list))
        .route(
            "/admin/quarantine/{id}",
            get(admin_get).delete(admin_delete),
        )
        .route("/admin/quarantine/{id}/release", post(admin_release))
        .merge(dashboard::routes(&state))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), api_guard))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            deadline_and_count,
        ))
        .with_state(state)
}

/// Marks a connection busy while it lives (one request in flight), idle
/// again after.
struct BusyWhile(Arc<crate::connlimit::Conn>);

impl BusyWhile {
    fn new(c: Arc<crate::connlimit::Conn>) -> BusyWhile {
        c.busy();
        BusyWhile(c)
    }
}

impl Drop for BusyWhile {
    fn drop(&mut self) {
        self.0.idle();
    }
}

/// The client's address, set per connection.
#[derive(Clone, Copy)]
struct Peer(SocketAddr);

/// The request's deadline, set when it arrived.
#[derive(Clone, Copy)]
struct Deadline(tokio::time::Instant);

/// Every request: a deadline (408 if the handler is still reading or
/// working past it plus a second), counted by route and status.
async fn deadline_and_count(State(st): St, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let ms = st.cfg.request_timeout_ms;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    req.extensions_mut().insert(Deadline(deadline));
    let resp = match tokio::time::timeout_at(deadline + Duration::from_secs(1), next.run(req)).await
    {
        Ok(r) => r,
        Err(_) => err(
            StatusCode::REQUEST_TIMEOUT,
            format!("request not finished within {ms} ms"),
        ),
    };
    crate::metrics::request(route, resp.status().as_u16());
    resp
}

/// Before any handler: DNS rebinding, browser-borne requests and bearer
/// token guessing.
///
/// - `/v1/*` and `/admin/*` answer only to a `Host` that is an IP
///   address, `localhost` or in `allowed_hosts` (`[http]` or
///   `[dashboard]`): a page on a name that resolves to us gets 403.
/// - `/checkv2`, `/v1/*` and `/admin/*` refuse what a browser sends from
///   another site: `Sec-Fetch-Site` other than `same-origin`/`none`, or an
///   `Origin` that is not this server under an allowed name. MTAs and
///   scripts send neither (a cross-site `text/plain` POST to `/checkv2`
///   would otherwise be scanned, and with `rspamd_quarantine_action =
///   "reject"` stored in the quarantine).
/// - A bearer token presented to `/admin/*` or `/dashboard/*` is checked
///   here: wrong ones count against the client's address like wrong
///   dashboard logins (five a minute, then 429 until the minute is over,
///   the right token included); other addresses are not affected.
async fn api_guard(State(st): St, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let admin = path.starts_with("/admin/");
    let api = admin || path.starts_with("/v1/");
    let rspamd = path == "/checkv2";
    let dash = path == "/dashboard" || path.starts_with("/dashboard/");
    let h = req.headers();
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let allowed: Vec<String> = st
        .cfg
        .allowed_hosts
        .iter()
        .chain(st.svc.dashboard.iter().flat_map(|d| d.allowed_hosts.iter()))
        .cloned()
        .collect();
    if api && !dashboard::host_allowed(host, &allowed) {
        return err(
            StatusCode::FORBIDDEN,
            "this host name is not one the API answers to (see [http] allowed_hosts)",
        );
    }
    if api || rspamd {
        let site = h
            .get("sec-fetch-site")
            .map(|v| v.as_bytes().to_ascii_lowercase());
        let cross_site = site.is_some_and(|s| s != b"same-origin" && s != b"none");
        let foreign_origin = h.contains_key(header::ORIGIN)
            && !(dashboard::same_origin(h) && dashboard::host_allowed(host, &allowed));
        if cross_site || foreign_origin {
            return err(
                StatusCode::FORBIDDEN,
                "cross-site browser request refused (Origin / Sec-Fetch-Site)",
            );
        }
    }
    if (admin || dash)
        && let Some(token) = st.cfg.token()
        && let Some(presented) = h
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    {
        let peer = req.extensions().get::<Peer>().map(|p| p.0);
        if let Some(ip) = peer.map(|p| p.ip())
            && let Some(wait) = st.sessions.locked_out(ip)
        {
            tracing::warn!(target: LOG, peer = %peer.map_or_else(|| "unknown".to_string(), |p| p.to_string()), path, "bearer token refused: too many wrong tokens from this address");
            return locked_out_response(wait);
        }
        if token_matches(presented.trim_ascii(), token.as_bytes()) {
            if let Some(p) = peer {
                st.sessions.login_ok(p.ip());
            }
        } else {
            tracing::warn!(target: LOG, peer = %peer.map_or_else(|| "unknown".to_string(), |p| p.to_string()), path, "wrong bearer token");
            if let Some(p) = peer {
                st.sessions.login_failed(p.ip());
            }
            let mut r = err(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"outwork\""),
            );
            return r;
        }
    }
    next.run(req).await
}

/// An error reply: `{"error": "..."}` (Rspamd's shape too).
/// 429 with Retry-After for a client locked out after wrong tokens (bearer
/// and dashboard login share the count).
fn locked_out_response(wait: u64) -> Response {
    let mut r = err(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many wrong tokens from this address; try again in {wait} s"),
    );
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn err(status: StatusCode, msg: impl Into<String>) -> Response {
    let msg = msg.into();
    let mut r = (status, axum::Json(rspamd::error_reply(&msg))).into_response();
    if status == StatusCode::REQUEST_TIMEOUT {
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

fn ok_json(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

async fn not_found() -> Response {
    err(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn ping() -> &'static str {
    "pong\r\n"
}

async fn healthz(State(st): St) -> Response {
    let s = st.cell().get();
    ok_json(json!({
        "status": "ok",
        "intel": s.intel.is_some(),
        "intel_error": s.intel_error,
        "scans_free": st.scans.available_permits(),
    }))
}

async fn metrics_text(State(st): St) -> Response {
    match crate::metrics::render(st.svc.intel_path.as_deref()) {
        Some(t) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            t,
        )
            .into_response(),
        None => err(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed",
        ),
    }
}
