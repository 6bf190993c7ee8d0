//! `outwork serve`: the milter and the HTTP API on one runtime, sharing
//! one scanner, with reload and draining shutdown.
//!
//! - What runs: the milter when outwork.toml has a `[milter]` table, the
//!   HTTP API when it has an `[http]` table; with neither, both, on their
//!   loopback defaults.
//! - SIGHUP (and `POST /admin/reload`): build a new scanner (config file,
//!   intel store, rules) and swap it in; connections stay open, messages
//!   being scanned finish on the old one. A failed build logs an error and
//!   keeps the old scanner. Listen addresses and limits (`[milter]`,
//!   `[http]`) are read at start only: changing them needs a restart.
//! - SIGTERM / SIGINT: stop accepting, let in-flight messages and requests
//!   finish (each server's `shutdown_grace_ms`), save the history, exit.

use crate::config::{ConfigError, DashboardConfig, HttpConfig, MilterConfig, has_table};
use crate::http::{HttpServer, Services};
use crate::quarantine::QuarantineStore;
use crate::reload::{BuildScanner, Reloader, ScannerCell};
use crate::server::{Milter, ServeError};
use crate::verdict_log::{LogOptions, VerdictLog};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

const LOG: &str = "outwork::serve";

/// What `outwork serve` hands over.
pub struct RunOptions {
    /// The text of outwork.toml (its `[milter]` and `[http]` tables).
    pub config_text: String,
    /// Builds the scanner: at start, then on every reload.
    pub build_scanner: BuildScanner,
    /// The embedded intel store's file, if any (for the intel age metric).
    pub intel_path: Option<PathBuf>,
}

/// Which servers a config asks for.
pub fn servers(
    config_text: &str,
) -> Result<(Option<MilterConfig>, Option<HttpConfig>), ConfigError> {
    let milter = has_table(config_text, "milter")?;
    let http = HttpConfig::from_outwork_toml(config_text)?;
    match (milter, http) {
        (false, None) => Ok((
            Some(MilterConfig::from_outwork_toml(config_text)?),
            Some(HttpConfig::default()),
        )),
        (m, h) => Ok((
            if m {
                Some(MilterConfig::from_outwork_toml(config_text)?)
            } else {
                None
            },
            h,
        )),
    }
}

/// Build a multi-thread runtime and serve until SIGTERM or SIGINT. Blocks.
pub fn run(opts: RunOptions) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("outwork-serve")
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(run_until(opts, crate::server::shutdown_signal()))
}

/// Serve until `shutdown` completes (SIGHUP reloads meanwhile). Call
/// inside a multi-thread tokio runtime.
pub async fn run_until(
    opts: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let (milter_cfg, http_cfg) = servers(&opts.config_text)?;
    let dash_cfg = DashboardConfig::from_outwork_toml(&opts.config_text)?;
    // The dashboard lives on the HTTP listener: no [http], no dashboard.
    let dashboard = (http_cfg.is_some() && dash_cfg.enabled).then_some(dash_cfg);
    let verdicts = match &dashboard {
        Some(d) => {
            let lo = LogOptions {
                keep: d.keep,
                retention_days: d.retention_days,
                path: d.log_path(),
            };
            let keep = lo.keep;
            let opened = tokio::task::spawn_blocking(move || VerdictLog::open(lo))
                .await
                .map_err(|_| ServeError::VerdictLog(std::io::Error::other("opening panicked")))?;
            let log = match opened {
                Ok(l) => l,
                // A path the operator chose must work; the default one (the
                // data dir) may not exist for a service user: don't refuse
                // to serve mail over the dashboard's history.
                Err(e) if d.path.is_none() => {
                    tracing::warn!(target: LOG, "verdict log: {e}; keeping verdicts in memory only (set [dashboard] path)");
                    VerdictLog::in_memory(keep)
                }
                Err(e) => return Err(ServeError::VerdictLog(e)),
            };
            let path = d
                .log_path()
                .map_or_else(|| "memory only".to_string(), |p| p.display().to_string());
            tracing::info!(target: LOG, records = log.len(), path = %path, "verdict log loaded");
            Some(Arc::new(log))
        }
        None => None,
    };
    let build = opts.build_scanner.clone();
    let scanner = match tokio::task::spawn_blocking(move || build()).await {
        Ok(Ok(s)) => Arc::new(s),
        Ok(Err(e)) => return Err(ServeError::Scanner(e)),
        Err(_) => return Err(ServeError::Scanner("building the scanner panicked".into())),
    };
    if let Some(e) = &scanner.intel_error {
        // Served like a missing store, but said loudly: every verdict
        // carries INTEL_UNAVAILABLE until the file is fixed and reloaded.
        tracing::error!(target: LOG, "intel store unreadable, scanning WITHOUT blocklists (INTEL_UNAVAILABLE) until it is fixed and reloaded: {e}");
    }
    let cell = ScannerCell::new(scanner);
    let reloader = Reloader::new(cell.clone(), Some(opts.build_scanner.clone()));

    // Bind everything before serving anything: a bad address fails fast.
    let quarantine = match &milter_cfg {
        Some(m) => Some(QuarantineStore::open(&m.quarantine_dir)?),
        None => None,
    };
    let milter = match milter_cfg {
        Some(m) => Some(Milter::bind_cell(m, cell.clone()).await?),
        None => None,
    };
    if let (Some(m), Some(v)) = (&milter, &verdicts) {
        m.record_verdicts(v.clone());
    }
    let dashboard_on = dashboard.is_some();
    let http = match http_cfg {
        Some(h) => Some(
            HttpServer::bind(
                h,
                Services {
                    reloader: reloader.clone(),
                    quarantine,
                    intel_path: opts.intel_path.clone(),
                    verdicts: verdicts.clone(),
                    dashboard,
                    config_text: opts.config_text.clone(),
                },
            )
            .await?,
        ),
        None => None,
    };
    if let Some(m) = &milter {
        for a in m.local_addrs() {
            tracing::info!(target: LOG, "milter listening on {a}");
        }
    }
    if let Some(h) = &http
        && let Ok(a) = h.local_addr()
    {
        tracing::info!(target: LOG, "HTTP API listening on http://{a}");
        if dashboard_on {
            tracing::info!(target: LOG, "dashboard at http://{a}/dashboard/");
        }
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                break;
            }
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(m) = milter {
        tasks.spawn(m.run(stopped(stop_rx.clone())));
    }
    if let Some(h) = http {
        tasks.spawn(h.run(stopped(stop_rx.clone())));
    }
    // The SIGHUP handler is in place before READY=1: `systemctl reload`
    // right after start must reload, not kill (SIGHUP's default).
    let hup = tokio::spawn(reload_on_sighup(reloader.clone(), hangup_signal()));
    // Everything is bound: under systemd (Type=notify) the unit is now
    // started, so an MTA ordered after it finds the milter listening.
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("serving"),
    ]);
    let pruner = verdicts.map(|v| tokio::spawn(prune_hourly(v)));

    let mut result = Ok(());
    tokio::pin!(shutdown);
    tokio::select! {
        _ = &mut shutdown => {}
        // A server that ends on its own (an error) stops everything.
        Some(r) = tasks.join_next() => {
            if let Ok(Err(e)) = r {
                tracing::error!(target: LOG, "server stopped: {e}");
                result = Err(e);
            }
        }
    }
    tracing::info!(target: LOG, "shutting down: draining in-flight messages");
    notify(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("draining in-flight messages"),
    ]);
    let _ = stop_tx.send(true);
    hup.abort();
    if let Some(p) = pruner {
        p.abort();
    }
    while let Some(r) = tasks.join_next().await {
        if let Ok(Err(e)) = r
            && result.is_ok()
        {
            result = Err(e);
        }
    }
    let s = cell.get();
    match tokio::task::spawn_blocking(move || s.save_history()).await {
        Ok(Err(e)) => tracing::warn!(target: LOG, "saving history: {e}"),
        Err(_) => tracing::warn!(target: LOG, "saving history panicked"),
        Ok(Ok(())) => {}
    }
    tracing::info!(target: LOG, "stopped");
    result
}

/// Retention between restarts: drop verdicts past `retention_days`.
async fn prune_hourly(log: Arc<VerdictLog>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let l = log.clone();
        match tokio::task::spawn_blocking(move || l.prune()).await {
            Ok(Ok(n)) if n > 0 => {
                tracing::info!(target: LOG, "verdict log: {n} records past retention dropped")
            }
            Ok(Err(e)) => tracing::warn!(target: LOG, "verdict log prune: {e}"),
            _ => {}
        }
    }
}

/// SIGHUP, registered now (not when a task first runs).
fn hangup_signal() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(target: LOG, "no SIGHUP handler ({e}): reload with POST /admin/reload");
            None
        }
    }
}

async fn reload_on_sighup(reloader: Arc<Reloader>, hup: Option<tokio::signal::unix::Signal>) {
    let Some(mut hup) = hup else {
        return;
    };
    while hup.recv().await.is_some() {
        tracing::info!(target: LOG, "SIGHUP: reloading");
        let mut reloading = vec![sd_notify::NotifyState::Reloading];
        if let Ok(t) = sd_notify::NotifyState::monotonic_usec_now() {
            reloading.push(t);
        }
        notify(&reloading);
        let status = match reloader.reload().await {
            Ok(()) => "serving".to_string(),
            Err(e) => format!("serving; last reload failed: {e}"),
        };
        notify(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(&status),
        ]);
    }
}

/// Tell the service manager (systemd's `NOTIFY_SOCKET`; nothing without
/// one) how the service is doing.
fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!(target: LOG, "sd_notify: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_servers() {
        let (m, h) = servers("").unwrap();
        assert!(m.is_some() && h.is_some());
        let (m, h) = servers("[http]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        assert!(m.is_none());
        assert_eq!(h.unwrap().listen, "127.0.0.1:1");
        let (m, h) = servers("[milter]\n").unwrap();
        assert!(m.is_some() && h.is_none());
        assert!(servers("[http]\nbogus = 1\n").is_err());
    }
}
