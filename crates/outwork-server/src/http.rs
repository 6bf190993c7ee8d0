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

mod dashboard;
mod legacy;

const LOG: &str = "outwork::http";

/// What the HTTP API serves besides its config.
pub struct Services {
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

/// An HTTP server serving on a runtime of its own, for embedding and
/// tests: dropping it stops accepting, drains in-flight requests (up to
/// 10 s) and shuts the runtime down.
pub struct Running {
    addr: SocketAddr,
    rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
}

impl Running {
    /// Bind `cfg.listen` on a new runtime with `worker_threads` and serve.
    pub fn start(
        cfg: HttpConfig,
        svc: Services,
        worker_threads: usize,
    ) -> Result<Running, ServeError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        let listen = cfg.listen.clone();
        let srv = rt.block_on(HttpServer::bind(cfg, svc))?;
        let addr = srv.local_addr().map_err(|error| ServeError::Bind {
            addr: listen,
            key: "[http] listen",
            error,
        })?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = rt.spawn(srv.run(async {
            let _ = rx.await;
        }));
        Ok(Running {
            addr,
            rt,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Where it listens (the port the OS chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), t).await });
        }
    }
}

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

/// Bind and serve until `shutdown` (for embedding and tests).
pub async fn serve_http_until(
    cfg: HttpConfig,
    svc: Services,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let s = HttpServer::bind(cfg, svc).await?;
    if let Ok(a) = s.local_addr() {
        tracing::info!(target: LOG, "HTTP API listening on {a}");
    }
    s.run(shutdown).await
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

/// 503 with `Retry-After`: the buffered-bytes budget has no room.
fn over_budget(e: Exhausted) -> Response {
    crate::metrics::failure("http", "buffered_budget");
    let mut r = err(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "server busy: bodies in flight hold {} of max_buffered_bytes {}",
            e.used, e.limit
        ),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// Read the whole body within the deadline, the size limit and the
/// buffered-bytes budget. Each chunk is charged to the budget before it
/// is kept (a declared `Content-Length` up front); the returned bytes
/// hold their charge until the last copy is dropped.
async fn read_body(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
    deadline: tokio::time::Instant,
) -> Result<Bytes, Response> {
    use http_body_util::BodyExt;
    let limit = st.cfg.max_body_bytes;
    let too_big = || {
        err(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body over max_body_bytes ({limit})"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|len| len.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut hold = st.buffered.reservation();
    let mut buf = Vec::new();
    if let Some(n) = declared {
        // n <= limit, checked above.
        reserve_charged(&mut buf, n as usize, limit, &mut hold).map_err(over_budget)?;
    }
    let collect = async {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                err(
                    StatusCode::BAD_REQUEST,
                    format!("reading the body: {}", e.into_inner()),
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if buf.len().saturating_add(data.len()) > limit {
                return Err(too_big());
            }
            reserve_charged(&mut buf, data.len(), limit, &mut hold).map_err(over_budget)?;
            buf.extend_from_slice(&data);
        }
        Ok(())
    };
    match tokio::time::timeout_at(deadline, collect).await {
        Ok(Ok(())) => Ok(owned_bytes(buf, hold)),
        Ok(Err(r)) => Err(r),
        Err(_) => Err(err(
            StatusCode::REQUEST_TIMEOUT,
            format!("body not received within {} ms", st.cfg.request_timeout_ms),
        )),
    }
}

/// A finished scan.
struct Scanned {
    verdict: Verdict,
    info: MessageInfo,
    took: Duration,
    scanner: Arc<Scanner>,
    /// For the verdict log, when the caller asked for one.
    record: Option<VerdictRecord>,
}

/// Scan on the blocking pool behind the scan semaphore, within the
/// request's deadline.
async fn scan(
    st: &AppState,
    raw: Bytes,
    env: Envelope,
    deadline: tokio::time::Instant,
    record_as: Option<&'static str>,
) -> Result<Scanned, Response> {
    let record_as = record_as.filter(|_| st.svc.verdicts.is_some());
    let ms = st.cfg.request_timeout_ms;
    let permit = match tokio::time::timeout_at(deadline, st.scans.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => return Err(err(StatusCode::SERVICE_UNAVAILABLE, "shutting down")),
        Err(_) => {
            crate::metrics::failure("http", "busy");
            let mut r = err(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("no scan slot free within {ms} ms"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(r);
        }
    };
    let scanner = st.cell().get();
    let s2 = scanner.clone();
    let inspect_by = crate::inspect_deadline(deadline);
    let h = tokio::task::spawn_blocking(move || {
        let _slot = permit;
        let t = Instant::now();
        let opts = outwork_engine::Options {
            deadline: Some(inspect_by),
            ..Default::default()
        };
        let outwork_engine::Scan { verdict: v, facts } = s2.scan(&raw, &env, &opts);
        let took = t.elapsed();
        let info = MessageInfo::from_facts(&raw, &facts);
        crate::metrics::verdict("http", &v, took);
        let record = record_as.map(|src| {
            VerdictRecord::build(src, &raw, &facts, &env, &v, took.as_secs_f64() * 1000.0)
        });
        (v, info, took, record)
    });
    match tokio::time::timeout_at(deadline, h).await {
        Ok(Ok((verdict, info, took, record))) => Ok(Scanned {
            verdict,
            info,
            took,
            scanner,
            record,
        }),
        Ok(Err(e)) if e.is_panic() => {
            crate::metrics::failure("http", "panic");
            tracing::error!(target: LOG, "scan panicked");
            Err(err(StatusCode::INTERNAL_SERVER_ERROR, "scan failed"))
        }
        Ok(Err(_)) => Err(err(StatusCode::SERVICE_UNAVAILABLE, "scan cancelled")),
        Err(_) => {
            crate::metrics::failure("http", "timeout");
            Err(err(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("scan not finished within {ms} ms"),
            ))
        }
    }
}

fn header_pairs(h: &HeaderMap) -> impl Iterator<Item = (&str, &[u8])> {
    h.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))
}

fn deadline_of(
    req_deadline: Option<axum::Extension<Deadline>>,
    st: &AppState,
) -> tokio::time::Instant {
    req_deadline.map_or_else(
        || tokio::time::Instant::now() + Duration::from_millis(st.cfg.request_timeout_ms),
        |d| d.0.0,
    )
}

/// `POST /checkv2`: Rspamd's scan.
async fn checkv2(
    State(st): St,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let deadline = deadline_of(dl, &st);
    let req = match rspamd::parse_request_headers(header_pairs(&headers)) {
        Ok(r) => r,
        Err(e @ rspamd::HeaderError::Compressed(_)) => {
            return err(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string());
        }
        Err(e) => return err(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let raw = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if raw.is_empty() {
        return err(StatusCode::BAD_REQUEST, "empty message");
    }
    let size = raw.len();
    let keep = raw.clone();
    let mut s = match scan(&st, raw, req.envelope.clone(), deadline, Some("checkv2")).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let v = &s.verdict;
    let qa = st.cfg.rspamd_quarantine_action;
    // The MTA won't deliver it: keep outwork's copy when there is a store.
    let mut quarantine_id = None;
    if v.action == outwork_core::Action::Quarantine
        && matches!(
            qa,
            crate::config::RspamdQuarantineAction::Reject
                | crate::config::RspamdQuarantineAction::Discard
        )
        && let Some(q) = st.svc.quarantine.clone()
    {
        let (vc, env) = (v.clone(), req.envelope.clone());
        match tokio::task::spawn_blocking(move || q.put(&keep, &vc, &env)).await {
            Ok(Ok(id)) => quarantine_id = Some(id),
            Ok(Err(e)) => tracing::error!(target: LOG, "quarantine write failed: {e}"),
            Err(_) => tracing::error!(target: LOG, "quarantine write panicked"),
        }
    }
    if let Some(mut r) = s.record.take() {
        r.quarantine_id = quarantine_id.clone();
        record(&st, r).await;
    }
    let v = &s.verdict;
    let thresholds = &s.scanner.ctx.config.thresholds;
    let reply = rspamd::checkv2_reply(&rspamd::Reply {
        verdict: v,
        thresholds,
        quarantine_action: qa,
        subject_template: &st.cfg.rspamd_subject,
        info: &s.info,
        queue_id: req.envelope.queue_id.as_deref(),
        time_real: s.took.as_secs_f64(),
        quarantine_id: quarantine_id.as_deref(),
    });
    log_verdict(
        "checkv2",
        &req.envelope,
        size,
        v,
        s.took,
        req.log_tag.as_deref(),
    );
    ok_json(reply)
}

/// Add a record to the verdict log (on the blocking pool: the append, and
/// now and then a compaction, touch the disk). Awaited, so a client that
/// got its answer finds its message listed.
async fn record(st: &AppState, r: VerdictRecord) {
    if let Some(log) = st.svc.verdicts.clone() {
        let _ = tokio::task::spawn_blocking(move || log.push(r)).await;
    }
}

fn log_verdict(
    what: &str,
    e: &Envelope,
    size: usize,
    v: &Verdict,
    took: Duration,
    tag: Option<&str>,
) {
    let symbols = v
        .symbols
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(",");
    tracing::info!(
        target: LOG,
        endpoint = what,
        queue_id = e.queue_id.as_deref().or(tag).unwrap_or("-"),
        client = %e.client_ip.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
        from = e.mail_from.as_deref().unwrap_or("-"),
        rcpts = %e.rcpt_to.join(","),
        size,
        action = v.action.as_str(),
        score = v.score,
        symbols = %symbols,
        ms = took.as_millis() as u64,
        "scanned"
    );
}

/// outwork's own verdict JSON (the CLI's `--format json` shape, plus the
/// thresholds and timing).
fn verdict_json(s: &Scanned) -> Value {
    let v = &s.verdict;
    let mut syms: Vec<_> = v.symbols.iter().collect();
    syms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(b.name)));
    let t = &s.scanner.ctx.config.thresholds;
    json!({
        "action": v.action.as_str(),
        "score": v.score,
        "symbols": syms.iter().map(|s| json!({
            "name": s.name,
            "score": s.score,
            "description": outwork_core::symbol::lookup(s.name).map(|d| d.description).unwrap_or(""),
            "evidence": s.evidence,
        })).collect::<Vec<_>>(),
        "authentication_results": v.authentication_results,
        "thresholds": {"tag": t.tag, "quarantine": t.quarantine, "reject": t.reject},
        "urls": s.info.urls,
        "message_id": s.info.message_id,
        "time_ms": s.took.as_secs_f64() * 1000.0,
    })
}

/// `POST /v1/scan`: the body is the raw message; the envelope comes from
/// query parameters (`ip`, `helo`, `from`, `rcpt` (repeatable),
/// `queue_id`) or Rspamd-style headers.
async fn scan_raw(
    State(st): St,
    dl: Option<axum::Extension<Deadline>>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let deadline = deadline_of(dl, &st);
    let mut pairs: Vec<(String, Vec<u8>)> = header_pairs(&headers)
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect();
    for (k, v) in q {
        let name = match k.as_str() {
            "ip" => "IP",
            "helo" => "Helo",
            "from" | "mail_from" => "From",
            "rcpt" | "rcpt_to" => "Rcpt",
            "queue_id" => "Queue-Id",
            other => {
                return err(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter {other:?} (ip, helo, from, rcpt, queue_id)"),
                );
            }
        };
        pairs.push((name.to_string(), v.into_bytes()));
    }
    let req = match rspamd::parse_request_headers(pairs.iter().map(|(n, v)| (n.as_str(), &v[..]))) {
        Ok(r) => r,
        Err(e) => return err(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let raw = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if raw.is_empty() {
        return err(StatusCode::BAD_REQUEST, "empty message");
    }
    let size = raw.len();
    match scan(&st, raw, req.envelope.clone(), deadline, Some("scan")).await {
        Ok(mut s) => {
            log_verdict("scan", &req.envelope, size, &s.verdict, s.took, None);
            if let Some(r) = s.record.take() {
                record(&st, r).await;
            }
            ok_json(verdict_json(&s))
        }
        Err(r) => r,
    }
}

/// `POST /v1/scan/text` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextReq {
    text: String,
    /// Who sent it: an address, a phone number or a display name.
    #[serde(default)]
    sender: Option<String>,
    /// `sms`, `chat`, … (recorded in the synthetic message only).
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    subject: Option<String>,
}

/// One line, no quotes or backslashes, bounded: safe inside a header.
fn header_safe(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '"' || c == '\\' {
                ' '
            } else {
                c
            }
        })
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// A minimal RFC 5322 message carrying `text`, so the same link, intel
/// and sender signals apply as to mail. A sender that is an address is the
/// From address; anything else (a phone number, a name) becomes the
/// display name of an address under `.invalid`.
pub fn synthetic_message(
    text: &str,
    sender: Option<&str>,
    channel: &str,
    subject: Option<&str>,
) -> Vec<u8> {
    let sender = sender.map(|s| header_safe(s, 256)).unwrap_or_default();
    let channel = header_safe(channel, 32)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>();
    let channel = if channel.is_empty() {
        "text".to_string()
    } else {
        channel.to_ascii_lowercase()
    };
    let looks_like_address = {
        let s = sender.trim_matches(['<', '>']);
        s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !s.contains(char::is_whitespace)
        })
    };
    let from = if looks_like_address {
        format!("<{}>", sender.trim_matches(['<', '>']))
    } else if sender.is_empty() {
        format!("<unknown@{channel}.invalid>")
    } else {
        format!("\"{sender}\" <sender@{channel}.invalid>")
    };
    let mut m = String::with_capacity(text.len() + 256);
    m.push_str(&format!("From: {from}\r\n"));
    m.push_str(&format!("To: <recipient@{channel}.invalid>\r\n"));
    if let Some(s) = subject {
        m.push_str(&format!("Subject: {}\r\n", header_safe(s, 998)));
    }
    m.push_str(&format!("X-Outwork-Channel: {channel}\r\n"));
    m.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    for line in text.lines() {
        m.push_str(line);
        m.push_str("\r\n");
    }
    m.into_bytes()
}

/// A one-link HTML message for `/v1/url`: a link (anchor text = the URL
/// itself) is where every link signal looks; plain-text extraction is
/// deliberately stricter (it skips e.g. dotless numeric hosts).
pub fn url_message(url: &str) -> Vec<u8> {
    let esc = url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "From: <unknown@url.invalid>\r\nTo: <recipient@url.invalid>\r\nX-Outwork-Channel: url\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n<html><body><a href=\"{esc}\">{esc}</a></body></html>\r\n"
    )
    .into_bytes()
}

/// `POST /v1/scan/text`: a chat or SMS text and its sender.
async fn scan_text(
    State(st): St,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let deadline = deadline_of(dl, &st);
    let raw = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let t: TextReq = match serde_json::from_slice(&raw) {
        Ok(t) => t,
        Err(e) => {
            return err(
                StatusCode::BAD_REQUEST,
                format!("expected JSON {{\"text\": \"...\", \"sender\": \"...\"}}: {e}"),
            );
        }
    };
    if t.text.trim().is_empty() {
        return err(StatusCode::BAD_REQUEST, "text is empty");
    }
    let msg = synthetic_message(
        &t.text,
        t.sender.as_deref(),
        t.channel.as_deref().unwrap_or("text"),
        t.subject.as_deref(),
    );
    match scan(&st, Bytes::from(msg), Envelope::default(), deadline, None).await {
        Ok(s) => ok_json(verdict_json(&s)),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct UrlQuery {
    u: Option<String>,
}

/// `GET /v1/url?u=URL`: the link signals (a one-link message) and the
/// intel store's hits for the URL itself.
async fn url_check(
    State(st): St,
    dl: Option<axum::Extension<Deadline>>,
    q: Result<Query<UrlQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let deadline = deadline_of(dl, &st);
    let u = match q {
        Ok(Query(UrlQuery { u: Some(u) })) => u.trim().to_string(),
        Ok(_) => return err(StatusCode::BAD_REQUEST, "missing ?u=URL"),
        Err(e) => return err(StatusCode::BAD_REQUEST, e.body_text()),
    };
    check_url(&st, u, deadline).await
}

/// `/v1/url`'s work (the dashboard's URL check too).
async fn check_url(st: &AppState, u: String, deadline: tokio::time::Instant) -> Response {
    if u.is_empty() || u.len() > 8192 || u.contains(char::is_control) {
        return err(
            StatusCode::BAD_REQUEST,
            "u must be one URL (at most 8192 bytes)",
        );
    }
    let msg = url_message(&u);
    let s = match scan(st, Bytes::from(msg), Envelope::default(), deadline, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (hits, intel_error) = match &s.scanner.intel {
        Some(i) => {
            let (i, u2) = (i.clone(), u.clone());
            match tokio::task::spawn_blocking(move || i.lookup_url(&u2)).await {
                Ok(Ok(h)) => (serde_json::to_value(h).unwrap_or(Value::Null), None),
                Ok(Err(e)) => (json!([]), Some(e.to_string())),
                Err(_) => (json!([]), Some("intel lookup failed".to_string())),
            }
        }
        None => (json!([]), s.scanner.intel_error.clone()),
    };
    let mut out = verdict_json(&s);
    if let Value::Object(o) = &mut out {
        o.insert("url".into(), json!(u));
        o.insert(
            "intel".into(),
            json!({"available": s.scanner.intel.is_some(), "hits": hits, "error": intel_error}),
        );
    }
    ok_json(out)
}

// ---- admin ----

/// Constant-time comparison of the presented and configured tokens.
fn token_matches(presented: &[u8], expected: &[u8]) -> bool {
    if presented.len() != expected.len() {
        return false;
    }
    presented
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

fn admin_auth(st: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = st.cfg.token() else {
        return Err(err(
            StatusCode::FORBIDDEN,
            "admin endpoints are disabled: set [http] admin_token",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .map(|t| t.trim_ascii());
    match presented {
        Some(t) if token_matches(t, token.as_bytes()) => Ok(()),
        _ => {
            let mut r = err(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"outwork\""),
            );
            Err(r)
        }
    }
}

async fn admin_reload(State(st): St, headers: HeaderMap) -> Response {
    if let Err(r) = admin_auth(&st, &headers) {
        return r;
    }
    // In its own task: a client that gives up must not cancel the swap.
    let reloader = st.svc.reloader.clone();
    let r = match tokio::spawn(async move { reloader.reload().await }).await {
        Ok(r) => r,
        Err(_) => Err("reload task failed".to_string()),
    };
    match r {
        Ok(()) => ok_json(json!({"reloaded": true})),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({
                "reloaded": false,
                "error": format!("reload failed (still serving the previous config): {e}"),
            })),
        )
            .into_response(),
    }
}

fn store(st: &AppState) -> Result<QuarantineStore, Response> {
    st.svc.quarantine.clone().ok_or_else(|| {
        err(
            StatusCode::NOT_FOUND,
            "no quarantine store (the milter's [milter] quarantine_dir)",
        )
    })
}

fn q_err(e: QuarantineError) -> Response {
    match e {
        QuarantineError::NotFound(_) => err(StatusCode::NOT_FOUND, e.to_string()),
        QuarantineError::BadId(_) => err(StatusCode::BAD_REQUEST, e.to_string()),
        _ => {
            tracing::error!(target: LOG, "quarantine: {e}");
            err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "quarantine store error (see the log)",
            )
        }
    }
}

/// Run a store operation on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, QuarantineError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(q_err),
        Err(_) => Err(err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "quarantine task failed",
        )),
    }
}

async fn admin_list(State(st): St, headers: HeaderMap) -> Response {
    if let Err(r) = admin_auth(&st, &headers) {
        return r;
    }
    let q = match store(&st) {
        Ok(q) => q,
        Err(r) => return r,
    };
    match blocking(move || q.list()).await {
        Ok(l) => ok_json(json!({"count": l.len(), "messages": l})),
        Err(r) => r,
    }
}

fn rfc822(raw: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("message/rfc822"),
        )],
        raw,
    )
        .into_response()
}

async fn admin_get(State(st): St, headers: HeaderMap, UrlPath(id): UrlPath<String>) -> Response {
    if let Err(r) = admin_auth(&st, &headers) {
        return r;
    }
    let q = match store(&st) {
        Ok(q) => q,
        Err(r) => return r,
    };
    match blocking(move || q.get(&id)).await {
        Ok((_, raw)) => rfc822(raw),
        Err(r) => r,
    }
}

async fn admin_delete(State(st): St, headers: HeaderMap, UrlPath(id): UrlPath<String>) -> Response {
    if let Err(r) = admin_auth(&st, &headers) {
        return r;
    }
    let q = match store(&st) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let id2 = id.clone();
    match blocking(move || q.delete(&id2)).await {
        Ok(()) => {
            tracing::info!(target: LOG, id, "quarantined message deleted");
            ok_json(json!({"deleted": id}))
        }
        Err(r) => r,
    }
}

/// An address safe to pass as one argv element after `--` (or as `-f`'s
/// value): no leading `-`, no controls or spaces.
fn argv_address(a: &str) -> Option<&str> {
    (!a.starts_with('-') && !a.chars().any(|c| c.is_control() || c.is_whitespace())).then_some(a)
}

/// `release_command` with `{mail_from}` and `{rcpt_to}` filled in.
pub fn release_argv(
    template: &[String],
    mail_from: &str,
    rcpts: &[String],
) -> Result<Vec<String>, String> {
    let from = argv_address(mail_from).ok_or_else(|| format!("unsafe sender {mail_from:?}"))?;
    let mut out = Vec::new();
    for t in template {
        if t == "{rcpt_to}" {
            for r in rcpts {
                out.push(
                    argv_address(r)
                        .ok_or_else(|| format!("unsafe recipient {r:?}"))?
                        .to_string(),
                );
            }
        } else {
            out.push(t.replace("{mail_from}", if from.is_empty() { "<>" } else { from }));
        }
    }
    if rcpts.is_empty() {
        return Err("no recipients recorded".into());
    }
    Ok(out)
}

async fn admin_release(
    State(st): St,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = admin_auth(&st, &headers) {
        return r;
    }
    let mut rcpts = Vec::new();
    for (k, v) in q {
        match k.as_str() {
            "rcpt" => rcpts.push(v),
            other => {
                return err(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter {other:?} (rcpt)"),
                );
            }
        }
    }
    release(&st, id, rcpts).await
}

/// The To and Cc addresses of a message (suggested recipients when none
/// was recorded; never used on their own: the sender wrote them).
fn header_recipients(raw: &[u8]) -> Vec<String> {
    // The header block only (bounded): no need to parse the body.
    let head = &raw[..raw.len().min(256 * 1024)];
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| head.windows(2).position(|w| w == b"\n\n"))
        .map_or(head.len(), |i| i + 2);
    let facts = outwork_core::facts::parse(&head[..end], &outwork_core::config::Limits::default());
    let mut out: Vec<String> = Vec::new();
    for m in facts.recipients {
        if out.len() < 20 && !m.address.is_empty() && !out.contains(&m.address) {
            out.push(m.address);
        }
    }
    out
}

/// Release a quarantined message (the admin endpoint and the dashboard)
/// to its recorded envelope recipients, or to `rcpts` when given (a
/// message scanned over HTTP without `Rcpt` has none recorded: the admin
/// names them; its To/Cc are only suggested, since the sender wrote them).
async fn release(st: &AppState, id: String, rcpts: Vec<String>) -> Response {
    let q = match store(st) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let (q2, id2) = (q.clone(), id.clone());
    let mut rel = match blocking(move || q2.release(&id2)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !rcpts.is_empty() {
        rel.envelope.rcpt_to = rcpts;
    }
    if st.cfg.release_command.is_empty() {
        // No way to deliver configured: hand the message back; the entry
        // stays until DELETE.
        return rfc822(rel.raw);
    }
    if rel.envelope.rcpt_to.is_empty() {
        let suggested = header_recipients(&rel.raw);
        let mut r = (
            StatusCode::CONFLICT,
            axum::Json(json!({
                "error": format!(
                    "cannot release {id}: no envelope recipient recorded (scanned over HTTP without Rcpt); name them: ?rcpt=ADDRESS (repeatable), or {{\"rcpt\": [...]}} from the dashboard"
                ),
                "header_recipients": suggested,
            })),
        )
            .into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return r;
    }
    let from = rel.envelope.mail_from.clone().unwrap_or_default();
    let argv = match release_argv(&st.cfg.release_command, &from, &rel.envelope.rcpt_to) {
        Ok(a) => a,
        Err(e) => return err(StatusCode::CONFLICT, format!("cannot release {id}: {e}")),
    };
    match run_release(&argv, rel.raw).await {
        Ok(()) => {
            let id2 = id.clone();
            if let Err(r) = blocking(move || q.delete(&id2)).await {
                return r;
            }
            tracing::info!(target: LOG, id, rcpts = %rel.envelope.rcpt_to.join(","), "quarantined message released");
            ok_json(json!({"released": id, "rcpt_to": rel.envelope.rcpt_to}))
        }
        Err(e) => {
            tracing::error!(target: LOG, id, "release failed: {e}");
            err(
                StatusCode::BAD_GATEWAY,
                format!("release command failed: {e}"),
            )
        }
    }
}

/// Pipe the message into the release command (60 s at most).
async fn run_release(argv: &[String], raw: Vec<u8>) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let Some((prog, args)) = argv.split_first() else {
        return Err("empty release_command".into());
    };
    let mut child = tokio::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{prog}: {e}"))?;
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(&raw)
                .await
                .map_err(|e| format!("writing to {prog}: {e}"))?;
            drop(stdin);
        }
        let out = child.wait_with_output().await.map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            let e = String::from_utf8_lossy(&out.stderr);
            Err(format!("{prog} exited with {}: {}", out.status, e.trim()))
        }
    };
    match tokio::time::timeout(Duration::from_secs(60), run).await {
        Ok(r) => r,
        Err(_) => Err(format!("{prog} did not finish within 60 s")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_messages() {
        let m = synthetic_message("hi http://x.example/a", Some("+1 555 0100"), "sms", None);
        let s = String::from_utf8(m).unwrap();
        assert!(
            s.starts_with("From: \"+1 555 0100\" <sender@sms.invalid>\r\n"),
            "{s}"
        );
        assert!(s.ends_with("\r\n\r\nhi http://x.example/a\r\n"));
        let m = synthetic_message("x", Some("a@b.example"), "chat", Some("s\r\nBcc: evil"));
        let s = String::from_utf8(m).unwrap();
        assert!(s.starts_with("From: <a@b.example>\r\n"));
        assert!(s.contains("Subject: s  Bcc: evil\r\n"), "{s}");
        let m = synthetic_message("x", Some("\"evil\"\r\nX: y"), "c\"h", None);
        let s = String::from_utf8(m).unwrap();
        assert!(
            s.starts_with("From: \"evil   X: y\" <sender@ch.invalid>\r\n"),
            "{s}"
        );
    }

    #[test]
    fn release_arguments() {
        let t: Vec<String> = [
            "/usr/sbin/sendmail",
            "-i",
            "-f",
            "{mail_from}",
            "--",
            "{rcpt_to}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = release_argv(&t, "a@b", &["c@d".into(), "e@f".into()]).unwrap();
        assert_eq!(
            a,
            ["/usr/sbin/sendmail", "-i", "-f", "a@b", "--", "c@d", "e@f"]
        );
        let a = release_argv(&t, "", &["c@d".into()]).unwrap();
        assert_eq!(a[3], "<>");
        assert!(release_argv(&t, "-oQ/tmp", &["c@d".into()]).is_err());
        assert!(release_argv(&t, "a@b", &["-X".into()]).is_err());
        assert!(release_argv(&t, "a@b", &[]).is_err());
    }

    #[test]
    fn tokens() {
        assert!(token_matches(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!token_matches(b"0123456789abcdeX", b"0123456789abcdef"));
        assert!(!token_matches(b"0123", b"0123456789abcdef"));
    }
}
