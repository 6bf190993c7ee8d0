//! The milter listener: tokio tasks around the pure [`Session`].
//!
//! - Listens on every `listen` address (inet and unix sockets).
//! - At most `max_connections` connections, `max_connections_per_ip` from
//!   one client ([`crate::connlimit`]: when full, a new connection closes
//!   the oldest one that has not negotiated, so idle sockets can't starve
//!   the MTA), and at most `max_scans` scans at once (on tokio's blocking
//!   pool: scanning is CPU-bound); a message waits for a slot within its
//!   deadline.
//! - Per connection: `negotiate_timeout_ms` to send SMFIC_OPTNEG, then an
//!   idle timeout between commands, a write timeout,
//!   packets bounded by `max_packet_bytes`, messages by
//!   `max_message_bytes`.
//! - A malformed packet gets a tempfail reply and the connection closes;
//!   a scan that fails, panics or misses its deadline gets the `on_error`
//!   policy. Every message's fate is logged (target `outwork::milter`).

use crate::budget::ByteBudget;
use crate::codec::{Command, Reply, split_frame};
use crate::config::{ConfigError, ListenAddr, MilterConfig};
use crate::connlimit::{self, ConnLimits};
use crate::policy::{self, Decision};
use crate::quarantine::{QuarantineError, QuarantineStore};
use crate::reload::ScannerCell;
use crate::session::{Message, Session, Step};
use crate::verdict_log::{VerdictLog, VerdictRecord};
use outwork_core::{Action, Verdict};
use outwork_engine::Scanner;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;

const LOG: &str = "outwork::milter";

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A bad config.
    #[error("invalid [milter] config: {0}")]
    Config(#[from] ConfigError),
    /// Said once (the I/O error is part of the message, not a second
    /// link in the chain), with the config key that sets the address.
    #[error("can't listen on {addr}: {error}; {}", bind_hint(key, addr, error))]
    Bind {
        /// The address.
        addr: String,
        /// `[http] listen` or `[milter] listen`.
        key: &'static str,
        /// The error.
        error: std::io::Error,
    },
    /// The quarantine directory could not be opened.
    #[error("quarantine: {0}")]
    Quarantine(#[from] QuarantineError),
    /// The tokio runtime could not start.
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
    /// The scanner could not be built.
    #[error("loading the scanner: {0}")]
    Scanner(crate::reload::BuildError),
    /// The verdict log could not be opened.
    #[error("dashboard verdict log: {0}")]
    VerdictLog(std::io::Error),
}

/// What to do about a listener that would not bind.
fn bind_hint(key: &str, addr: &str, e: &std::io::Error) -> String {
    let mut h = format!("set {key} in outwork.toml to another address");
    if e.kind() == std::io::ErrorKind::AddrInUse {
        h = format!("another process has it; {h}");
        // The HTTP default is Rspamd's normal worker port, where rspamc
        // and MTAs' Rspamd clients look: beside Rspamd it is taken.
        if addr.ends_with(":11333") {
            h.push_str(
                " (11333 is Rspamd's default too: beside a running Rspamd, use e.g. 127.0.0.1:11335)",
            );
        }
    }
    h
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

struct Shared {
    cfg: MilterConfig,
    scanner: Arc<ScannerCell>,
    store: QuarantineStore,
    scans: Arc<Semaphore>,
    conns: Arc<ConnLimits>,
    /// Bytes held by messages being received or scanned
    /// (`max_buffered_bytes`).
    buffered: ByteBudget,
    /// The dashboard's verdict log, once `outwork serve` sets it.
    verdicts: std::sync::OnceLock<Arc<VerdictLog>>,
}

/// A bound (not yet running) milter.
pub struct Milter {
    listeners: Vec<Listener>,
    shared: Arc<Shared>,
}

impl Milter {
    /// Check the config, open the quarantine and bind every address.
    pub async fn bind(cfg: MilterConfig, scanner: Arc<Scanner>) -> Result<Milter, ServeError> {
        Milter::bind_cell(cfg, ScannerCell::new(scanner)).await
    }

    /// [`Milter::bind`] with a swappable scanner (reloads take effect for
    /// the next message).
    pub async fn bind_cell(
        cfg: MilterConfig,
        scanner: Arc<ScannerCell>,
    ) -> Result<Milter, ServeError> {
        cfg.validate()?;
        let store = QuarantineStore::open(&cfg.quarantine_dir)?;
        let mut listeners = Vec::new();
        for l in &cfg.listen {
            let bind_err = |error| ServeError::Bind {
                addr: l.clone(),
                key: "[milter] listen",
                error,
            };
            match ListenAddr::parse(l)? {
                ListenAddr::Inet(a) => listeners.push(Listener::Tcp(
                    TcpListener::bind(&a).await.map_err(bind_err)?,
                )),
                ListenAddr::Unix(p) => {
                    remove_stale_socket(&p).map_err(bind_err)?;
                    let u = UnixListener::bind(&p).map_err(bind_err)?;
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(cfg.unix_mode))
                        .map_err(bind_err)?;
                    listeners.push(Listener::Unix(u, p));
                }
            }
        }
        let shared = Arc::new(Shared {
            scans: Arc::new(Semaphore::new(cfg.scan_slots())),
            conns: ConnLimits::new(
                connlimit::Listener::Milter,
                cfg.max_connections,
                cfg.max_connections_per_ip,
            ),
            buffered: ByteBudget::named(cfg.buffered_budget(), "milter"),
            cfg,
            scanner,
            store,
            verdicts: std::sync::OnceLock::new(),
        });
        Ok(Milter { listeners, shared })
    }

    /// Record every scanned message in `log` (for the dashboard). Only the
    /// first call counts.
    pub fn record_verdicts(&self, log: Arc<VerdictLog>) {
        let _ = self.shared.verdicts.set(log);
    }

    /// The bound addresses in Postfix notation (`inet:127.0.0.1:40123`,
    /// `unix:/path`): with port 0 in the config, the port the OS chose.
    pub fn local_addrs(&self) -> Vec<String> {
        self.listeners
            .iter()
            .map(|l| match l {
                Listener::Tcp(t) => match t.local_addr() {
                    Ok(a) => format!("inet:{a}"),
                    Err(_) => "inet:?".into(),
                },
                Listener::Unix(_, p) => format!("unix:{}", p.display()),
            })
            .collect()
    }

    /// Serve until `shutdown` completes; then stop accepting and give open
    /// connections `shutdown_grace_ms` to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let (tx, rx) = watch::channel(false);
        let mut accept = JoinSet::new();
        let mut unix_paths = Vec::new();
        for l in self.listeners {
            if let Listener::Unix(_, p) = &l {
                unix_paths.push(p.clone());
            }
            accept.spawn(accept_loop(l, self.shared.clone(), rx.clone()));
        }
        shutdown.await;
        tracing::info!(target: LOG, "shutting down: no new connections");
        let _ = tx.send(true);
        while accept.join_next().await.is_some() {}
        let sh = &self.shared;
        let all = u32::try_from(sh.cfg.max_connections).unwrap_or(u32::MAX);
        let grace = Duration::from_millis(sh.cfg.shutdown_grace_ms);
        if timeout(grace, sh.conns.slots().acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(target: LOG,
                "connections still open after {} ms; closing them (the MTA applies milter_default_action)",
                sh.cfg.shutdown_grace_ms);
        }
        for p in unix_paths {
            let _ = std::fs::remove_file(p);
        }
        Ok(())
    }
}

/// A unix socket left by a previous run is removed; one that answers
/// belongs to a running instance and is an error.
fn remove_stale_socket(p: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(p).is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another process is listening on this socket",
                ));
            }
            std::fs::remove_file(p)
        }
        _ => Ok(()),
    }
}

async fn accept_loop(l: Listener, sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            r = accept(&l) => r,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((conn, peer, ip)) => {
                // Over its client's limit: closed at once (dropped).
                let Some(admitted) = sh.conns.admit(ip) else {
                    continue;
                };
                // Backpressure: a slot (perhaps an idle connection's)
                // before the next accept.
                let slot = tokio::select! {
                    s = admitted.slot() => s,
                    _ = stop.changed() => return,
                };
                let Some(slot) = slot else { return };
                let sh = sh.clone();
                tokio::spawn(async move {
                    let serve = async {
                        match conn {
                            Conn::Tcp(s) => {
                                let _ = s.set_nodelay(true);
                                handle_conn(s, &peer, &sh, &slot).await
                            }
                            Conn::Unix(s) => handle_conn(s, &peer, &sh, &slot).await,
                        }
                    };
                    tokio::select! {
                        _ = serve => {}
                        _ = slot.evicted() => {
                            tracing::debug!(target: LOG, peer, "not negotiated; closed to make room");
                        }
                    }
                });
            }
            Err(e) => {
                // EMFILE and friends: don't spin.
                tracing::warn!(target: LOG, "accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

enum Conn {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

/// A connection, its peer for logs, and its IP (`None`: a unix socket).
async fn accept(l: &Listener) -> std::io::Result<(Conn, String, Option<std::net::IpAddr>)> {
    match l {
        Listener::Tcp(t) => {
            let (s, a) = t.accept().await?;
            Ok((Conn::Tcp(s), a.to_string(), Some(a.ip())))
        }
        Listener::Unix(u, p) => {
            let (s, _) = u.accept().await?;
            Ok((Conn::Unix(s), format!("unix:{}", p.display()), None))
        }
    }
}

/// After each read on a TCP milter connection, ACK at once. The MTA
/// sends packets that get no reply (macros before each command) followed
/// by the next one; with Nagle on its side and delayed ACKs on ours, each
/// such pair stalls ~40 ms. Measured with Postfix over loopback TCP:
/// under 90 msg/s without this (docs/BENCHMARKS.md). Linux only; a
/// no-op elsewhere and on unix sockets.
trait QuickAck {
    fn quickack(&self) {}
}

impl QuickAck for tokio::net::TcpStream {
    #[cfg(target_os = "linux")]
    fn quickack(&self) {
        let _ = socket2::SockRef::from(self).set_tcp_quickack(true);
    }
}

impl QuickAck for tokio::net::UnixStream {}

/// One MTA connection: read packets, drive the session, write replies.
/// Until it has negotiated, the connection has `negotiate_timeout_ms` in
/// all and may be closed to make room (`slot` is idle); after, it is busy
/// and each read may take `idle_timeout_ms`.
async fn handle_conn<S>(mut s: S, peer: &str, sh: &Shared, slot: &connlimit::Conn)
where
    S: AsyncRead + AsyncWrite + Unpin + QuickAck,
{
    let cfg = &sh.cfg;
    let idle = Duration::from_millis(cfg.idle_timeout_ms);
    let negotiate_by =
        tokio::time::Instant::now() + Duration::from_millis(cfg.negotiate_timeout_ms);
    let mut negotiated = false;
    let wt = Duration::from_millis(cfg.write_timeout_ms);
    let mut session = Session::with_budget(cfg.max_message_bytes, sh.buffered.clone());
    // `buf` holds at most one packet (bounded by split_frame's limit) plus
    // one read.
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut rd = vec![0u8; 16 * 1024];
    tracing::debug!(target: LOG, peer, "connection");
    loop {
        let step = match split_frame(&buf, cfg.max_packet_bytes) {
            Ok(Some((frame, used))) => {
                let c = Command::decode(frame);
                buf.drain(..used);
                match c {
                    Ok(c) => session.handle(c),
                    Err(e) => Step::Error(e.to_string()),
                }
            }
            Ok(None) => {
                let by = if negotiated {
                    tokio::time::Instant::now() + idle
                } else {
                    negotiate_by
                };
                match tokio::time::timeout_at(by, s.read(&mut rd)).await {
                    Ok(Ok(n)) if n > 0 => {
                        s.quickack();
                        buf.extend_from_slice(&rd[..n]);
                    }
                    Ok(Ok(_)) => {
                        if !buf.is_empty() {
                            tracing::warn!(target: LOG, peer, "connection closed mid-packet");
                        }
                        break;
                    }
                    Ok(Err(e)) => {
                        tracing::info!(target: LOG, peer, "read: {e}");
                        break;
                    }
                    Err(_) if !negotiated => {
                        tracing::info!(target: LOG, peer,
                            "no option negotiation within {} ms: closing", cfg.negotiate_timeout_ms);
                        break;
                    }
                    Err(_) => {
                        tracing::info!(target: LOG, peer, "idle for {} ms: closing", cfg.idle_timeout_ms);
                        break;
                    }
                }
                continue;
            }
            Err(e) => Step::Error(e.to_string()),
        };
        let (replies, close) = match step {
            Step::Reply(r) => {
                if let [
                    Reply::OptNeg {
                        version,
                        actions,
                        protocol,
                    },
                ] = r[..]
                {
                    tracing::debug!(target: LOG, peer, version, actions = format_args!("{actions:#x}"),
                        protocol = format_args!("{protocol:#x}"), "negotiated");
                    if !negotiated {
                        negotiated = true;
                        slot.busy();
                    }
                }
                (r, false)
            }
            Step::Scan(m) => (decide(sh, *m).await.replies, false),
            Step::Close => break,
            Step::Error(e) => {
                tracing::warn!(target: LOG, peer, "milter protocol error: {e}; replying tempfail and closing");
                (vec![Reply::Tempfail], true)
            }
        };
        if !replies.is_empty() {
            let mut out = Vec::new();
            for r in &replies {
                r.encode(&mut out);
            }
            match timeout(wt, s.write_all(&out)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::info!(target: LOG, peer, "write: {e}");
                    break;
                }
                Err(_) => {
                    tracing::info!(target: LOG, peer, "write timed out");
                    break;
                }
            }
        }
        if close {
            break;
        }
    }
    let _ = s.shutdown().await;
    tracing::debug!(target: LOG, peer, "closed");
}

/// Scan one finished message and decide; logs the outcome.
async fn decide(sh: &Shared, mut m: Message) -> Decision {
    // When outwork writes its own Authentication-Results, any that arrive
    // with its authserv-id are forged: mark them for deletion.
    {
        let scanner = sh.scanner.get();
        let auth = &scanner.ctx.config.auth;
        if auth.verify {
            let id = auth.authserv_id.to_ascii_lowercase();
            m.forged_auth_results = m
                .auth_results
                .iter()
                .filter(|(_, a)| *a == id)
                .map(|(i, _)| *i)
                .collect();
        }
    }
    let cfg = &sh.cfg;
    let started = Instant::now();
    let mut verdict: Option<Verdict> = None;
    let d = if m.oversize {
        let d = policy::on_oversize(cfg, &m);
        if matches!(d.outcome, policy::Outcome::DeliveredUnscanned { .. }) {
            metrics::counter!("outwork_symbol_total", "symbol" => policy::UNSCANNED_SIZE)
                .increment(1);
        }
        d
    } else if m.over_budget {
        crate::metrics::failure("milter", "buffered_budget");
        let reason = format!(
            "max_buffered_bytes ({}) in use by other messages",
            sh.buffered.limit()
        );
        policy::on_failure(cfg, &m, &reason)
    } else {
        match scan(sh, &m).await {
            Ok((v, rec)) => {
                let stored = if v.action == Action::Quarantine {
                    Some(store(sh, &m, &v).await)
                } else {
                    None
                };
                if let (Some(mut r), Some(log)) = (rec, sh.verdicts.get().cloned()) {
                    r.quarantine_id = stored.as_ref().and_then(|s| s.as_ref().ok()).cloned();
                    let _ = tokio::task::spawn_blocking(move || log.push(r)).await;
                }
                let d = policy::on_verdict(cfg, &m, &v, stored.as_ref());
                verdict = Some(v);
                d
            }
            Err(reason) => policy::on_failure(cfg, &m, &reason),
        }
    };
    let e = &m.envelope;
    let symbols = match &verdict {
        Some(v) => v
            .symbols
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(","),
        None if m.oversize => policy::UNSCANNED_SIZE.to_string(),
        None => String::new(),
    };
    tracing::info!(
        target: LOG,
        queue_id = e.queue_id.as_deref().unwrap_or("-"),
        client = %e.client_ip.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
        from = e.mail_from.as_deref().unwrap_or("-"),
        rcpts = %e.rcpt_to.join(","),
        size = m.size,
        action = verdict.as_ref().map_or("-", |v| v.action.as_str()),
        score = verdict.as_ref().map_or(f64::NAN, |v| v.score),
        symbols = %symbols,
        ms = started.elapsed().as_millis() as u64,
        "message {}", d.outcome
    );
    d
}

/// Run the scan on the blocking pool within the message's deadline. The
/// slot is held by the scan itself, so a scan that overruns still counts
/// against `max_scans` until it really ends.
async fn scan(sh: &Shared, m: &Message) -> Result<(Verdict, Option<VerdictRecord>), String> {
    let ms = sh.cfg.scan_timeout_ms;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    let permit = match tokio::time::timeout_at(deadline, sh.scans.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => return Err("scanner shut down".into()),
        Err(_) => {
            crate::metrics::failure("milter", "busy");
            return Err(format!("no scan slot free within {ms} ms"));
        }
    };
    // Deadline already gone (e.g. scan_timeout_ms = 0): don't start a scan
    // that a fast machine might finish before the timeout is first polled.
    if tokio::time::Instant::now() >= deadline {
        crate::metrics::failure("milter", "timeout");
        return Err(format!("scan over its {ms} ms deadline"));
    }
    let scanner = sh.scanner.get();
    let raw = m.raw.clone();
    // Counted against the budget until the scan really ends.
    let hold = m.hold.clone();
    let env = m.envelope.clone();
    let record = sh.verdicts.get().is_some();
    let inspect_by = crate::inspect_deadline(deadline);
    let h = tokio::task::spawn_blocking(move || {
        let _slot = permit;
        let _hold = hold;
        let t = Instant::now();
        let opts = outwork_engine::Options {
            deadline: Some(inspect_by),
            ..Default::default()
        };
        let outwork_engine::Scan { verdict: v, facts } = scanner.scan(&raw, &env, &opts);
        let took = t.elapsed();
        crate::metrics::verdict("milter", &v, took);
        let rec = record.then(|| {
            VerdictRecord::build(
                "milter",
                &raw,
                &facts,
                &env,
                &v,
                took.as_secs_f64() * 1000.0,
            )
        });
        (v, rec)
    });
    match tokio::time::timeout_at(deadline, h).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.is_panic() => {
            crate::metrics::failure("milter", "panic");
            Err("scan panicked".into())
        }
        Ok(Err(_)) => Err("scan cancelled".into()),
        Err(_) => {
            crate::metrics::failure("milter", "timeout");
            Err(format!("scan over its {ms} ms deadline"))
        }
    }
}

/// Write the message to the quarantine (fsync'd) on the blocking pool.
async fn store(sh: &Shared, m: &Message, v: &Verdict) -> Result<String, String> {
    let q = sh.store.clone();
    let raw = m.raw.clone();
    let env = m.envelope.clone();
    let v = v.clone();
    let h = tokio::task::spawn_blocking(move || q.put(&raw, &v, &env));
    match timeout(Duration::from_millis(sh.cfg.scan_timeout_ms.max(5_000)), h).await {
        Ok(Ok(Ok(id))) => Ok(id),
        Ok(Ok(Err(e))) => {
            tracing::error!(target: LOG, "quarantine write failed: {e}");
            Err(e.to_string())
        }
        Ok(Err(_)) => Err("quarantine write panicked".into()),
        Err(_) => Err("quarantine write timed out".into()),
    }
}

/// Bind and serve until `shutdown` completes (for embedding and tests;
/// call inside a multi-thread tokio runtime).
pub async fn serve_until(
    cfg: MilterConfig,
    scanner: Arc<Scanner>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let m = Milter::bind(cfg, scanner).await?;
    for a in m.local_addrs() {
        tracing::info!(target: LOG, "milter listening on {a}");
    }
    m.run(shutdown).await
}

/// `outwork serve`: build a multi-thread runtime, serve until SIGINT or
/// SIGTERM. Blocks.
pub fn serve(cfg: MilterConfig, scanner: Arc<Scanner>) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("outwork-milter")
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(serve_until(cfg, scanner, shutdown_signal()))
}

pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_names_the_key_and_rspamds_default() {
        let in_use = || std::io::Error::from(std::io::ErrorKind::AddrInUse);
        let e = ServeError::Bind {
            addr: "127.0.0.1:11333".into(),
            key: "[http] listen",
            error: in_use(),
        }
        .to_string();
        assert!(e.starts_with("can't listen on 127.0.0.1:11333: "), "{e}");
        assert!(e.contains("set [http] listen in outwork.toml"), "{e}");
        assert!(e.contains("Rspamd's default"), "{e}");
        // Not Rspamd's port, or not "in use": no word about Rspamd.
        let h = bind_hint("[milter] listen", "inet:127.0.0.1:11339", &in_use());
        assert!(
            h.contains("[milter] listen") && !h.contains("Rspamd"),
            "{h}"
        );
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let h = bind_hint("[http] listen", "0.0.0.0:80", &denied);
        assert!(!h.contains("another process"), "{h}");
        // The I/O error is in the message, not a second link to print.
        let e = ServeError::Bind {
            addr: "x".into(),
            key: "[http] listen",
            error: in_use(),
        };
        assert!(std::error::Error::source(&e).is_none());
    }
}
