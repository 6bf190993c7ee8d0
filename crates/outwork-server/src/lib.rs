//! outwork-server: outwork's network front ends.
//!
//! A milter (the Sendmail 8 / Postfix mail filter protocol, version 6)
//! that scans each message with [`outwork_engine::Scanner`] and applies
//! the verdict (headers, subject tag, quarantine, reject), the durable
//! quarantine store it writes to, and an HTTP API ([`http`]: native JSON,
//! Rspamd-compatible `/checkv2` ([`rspamd`]), Prometheus `/metrics`, admin
//! endpoints). [`run`] starts both on one runtime with reload (SIGHUP,
//! `/admin/reload`) and draining shutdown (SIGTERM, SIGINT): see
//! [`daemon`].
//!
//! Milter layers, outermost first:
//! - [`server`]: tokio listeners (inet and unix), limits, timeouts, the scan
//!   on a bounded pool, logging of what happened to every message.
//! - [`policy`]: verdict → milter modification actions and final reply (pure).
//! - [`session`]: one milter connection's state machine (pure: commands in,
//!   replies or "scan this message" out).
//! - [`codec`]: packets on the wire ↔ commands and replies (pure, fuzzed).
//!
//! The codec is ours rather than a crate: the only Rust milter crates are
//! GPL (indymilter), which our Apache-2.0 OR MIT licence can't ship.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod budget;
pub mod codec;
pub mod config;
pub mod connlimit;
pub mod daemon;
pub mod http;
pub mod metrics;
pub mod policy;
pub mod quarantine;
pub mod reload;
pub mod rspamd;
pub mod server;
pub mod session;
pub mod verdict_log;

pub use config::{ConfigError, HttpConfig, MilterConfig};
pub use daemon::{RunOptions, run, run_until};
pub use http::{HttpServer, Services};
pub use quarantine::QuarantineStore;
pub use reload::{BuildError, BuildScanner, Reloader, ScannerCell};
pub use server::{Milter, ServeError, serve, serve_until};
pub use session::Message;
pub use verdict_log::VerdictLog;

/// When a scan due by `deadline` must stop inspecting attachments: three
/// quarters of the time left, so parsing, signals and the reply still fit
/// and a hostile message gets a verdict (INSPECT_BUDGET), not a timeout
/// that leaves the scan running in its slot.
pub(crate) fn inspect_deadline(deadline: tokio::time::Instant) -> std::time::Instant {
    let now = tokio::time::Instant::now();
    let left = deadline.saturating_duration_since(now);
    std::time::Instant::now() + left.mul_f64(0.75)
}
