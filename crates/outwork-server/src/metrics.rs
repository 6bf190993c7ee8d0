//! Prometheus metrics (`GET /metrics`), recorded by the milter and the
//! HTTP API alike, through the `metrics` facade and
//! `metrics-exporter-prometheus` (its HTTP listener off: our own server
//! serves the text).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `outwork_messages_total` | counter | `source` (milter, http), `action` |
//! | `outwork_symbol_total` | counter | `symbol` |
//! | `outwork_scan_seconds` | histogram | `source` |
//! | `outwork_scan_failures_total` | counter | `source`, `reason` |
//! | `outwork_http_requests_total` | counter | `route`, `status` |
//! | `outwork_reloads_total` | counter | `result` (ok, error) |
//! | `outwork_scanner_loaded_timestamp_seconds` | gauge | |
//! | `outwork_intel_age_seconds` | gauge | (age of the intel store file; absent without one) |
//! | `outwork_buffered_bytes` | gauge | `source` (milter, http): bytes held by bodies in flight |
//! | `outwork_buffered_bytes_limit` | gauge | `source`: its `max_buffered_bytes` |

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use outwork_core::Verdict;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Seconds buckets for scan latency.
const SCAN_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Install the process-wide recorder (once; later calls are no-ops). If
/// another recorder was installed first, `/metrics` says so instead.
pub(crate) fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let b = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("outwork_scan_seconds".into()), SCAN_BUCKETS)
                .ok()?;
            match b.install_recorder() {
                Ok(h) => {
                    describe();
                    zeros();
                    Some(h)
                }
                Err(e) => {
                    tracing::warn!(target: "outwork::http", "metrics recorder not installed: {e}");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(
        "outwork_messages_total",
        "Messages scanned, by verdict action"
    );
    metrics::describe_counter!("outwork_symbol_total", "Symbols raised, by name");
    metrics::describe_histogram!(
        "outwork_scan_seconds",
        metrics::Unit::Seconds,
        "Time to scan one message (waiting for a slot excluded)"
    );
    metrics::describe_counter!(
        "outwork_scan_failures_total",
        "Messages that got no verdict (timeout, no slot, panic)"
    );
    metrics::describe_counter!(
        "outwork_http_requests_total",
        "HTTP requests, by route and status"
    );
    metrics::describe_counter!(
        "outwork_reloads_total",
        "Scanner reloads (SIGHUP, /admin/reload)"
    );
    metrics::describe_gauge!(
        "outwork_scanner_loaded_timestamp_seconds",
        "Unix time the serving scanner (config and intel) was loaded"
    );
    metrics::describe_gauge!(
        "outwork_buffered_bytes",
        "Bytes held by message bodies being received or scanned"
    );
    metrics::describe_gauge!(
        "outwork_buffered_bytes_limit",
        "max_buffered_bytes: past it bodies are refused (HTTP 503, milter on_error)"
    );
    metrics::describe_gauge!(
        "outwork_intel_age_seconds",
        "Seconds since the intel store file was last written"
    );
}

/// The counters a dashboard or an alert rule watches exist from start-up,
/// at 0: a rate over a missing series is no data, not zero.
fn zeros() {
    for source in ["milter", "http"] {
        for action in ["accept", "tag", "quarantine", "reject"] {
            metrics::counter!("outwork_messages_total", "source" => source, "action" => action)
                .absolute(0);
        }
        for reason in ["busy", "timeout", "panic", "buffered_budget"] {
            metrics::counter!("outwork_scan_failures_total", "source" => source, "reason" => reason)
                .absolute(0);
        }
    }
    for result in ["ok", "error"] {
        metrics::counter!("outwork_reloads_total", "result" => result).absolute(0);
    }
}

/// One verdict.
pub(crate) fn verdict(source: &'static str, v: &Verdict, took: Duration) {
    metrics::counter!("outwork_messages_total", "source" => source, "action" => v.action.as_str())
        .increment(1);
    for s in &v.symbols {
        metrics::counter!("outwork_symbol_total", "symbol" => s.name).increment(1);
    }
    metrics::histogram!("outwork_scan_seconds", "source" => source).record(took.as_secs_f64());
}

/// One message without a verdict.
pub(crate) fn failure(source: &'static str, reason: &'static str) {
    metrics::counter!("outwork_scan_failures_total", "source" => source, "reason" => reason)
        .increment(1);
}

/// Bytes held against a listener's buffered-bytes budget.
pub(crate) fn buffered(source: &'static str, used: u64, limit: u64) {
    metrics::gauge!("outwork_buffered_bytes", "source" => source).set(used as f64);
    metrics::gauge!("outwork_buffered_bytes_limit", "source" => source).set(limit as f64);
}

/// One HTTP request.
pub(crate) fn request(route: String, status: u16) {
    metrics::counter!("outwork_http_requests_total", "route" => route, "status" => status.to_string())
        .increment(1);
}

/// A reload attempt.
pub(crate) fn reload(ok: bool) {
    metrics::counter!("outwork_reloads_total", "result" => if ok { "ok" } else { "error" })
        .increment(1);
    if ok {
        loaded_now();
    }
}

/// The serving scanner was (re)loaded just now.
pub(crate) fn loaded_now() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    metrics::gauge!("outwork_scanner_loaded_timestamp_seconds").set(now.as_secs_f64());
}

/// The Prometheus text, with scrape-time gauges refreshed.
pub(crate) fn render(intel_path: Option<&Path>) -> Option<String> {
    let h = install()?;
    if let Some(p) = intel_path
        && let Ok(m) = std::fs::metadata(p)
        && let Ok(t) = m.modified()
    {
        let age = SystemTime::now()
            .duration_since(t)
            .unwrap_or_default()
            .as_secs_f64();
        metrics::gauge!("outwork_intel_age_seconds").set(age);
    }
    h.run_upkeep();
    Some(h.render())
}
