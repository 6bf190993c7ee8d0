//! outwork-server: outwork's network front ends.
//!
//! A milter (the Sendmail 8 / Postfix mail filter protocol, version 6)
//! that scans each message with [`outwork_engine::Scanner`] and applies
//! the verdict (headers, subject tag, quarantine, reject), the durable
//! quarantine store it writes to, and an HTTP API ([`HttpServer`]: native
//! JSON, Rspamd-compatible `/checkv2`, Prometheus `/metrics`, admin
//! endpoints, the dashboard). [`run`] starts both on one runtime with
//! reload (SIGHUP, `/admin/reload`) and draining shutdown (SIGTERM,
//! SIGINT).
//!
//! The modules are private; the re-exports below are the API. Milter
//! layers, outermost first:
//! - `server`: tokio listeners (inet and unix), limits, timeouts, the scan
//!   on a bounded pool, logging of what happened to every message.
//! - `policy`: verdict → milter modification actions and final reply (pure).
//! - `session`: one milter connection's state machine (pure: commands in,
//!   replies or "scan this message" out).
//! - `codec`: packets on the wire ↔ commands and replies (pure, fuzzed).
//!
//! The codec is ours rather than a crate: the only Rust milter crates are
//! GPL (indymilter), which our Apache-2.0 OR MIT licence can't ship.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![warn(unnameable_types)]

mod budget;
mod codec;
mod config;
mod connlimit;
mod daemon;
mod http;
mod metrics;
mod policy;
mod quarantine;
mod reload;
mod rspamd;
mod server;
mod session;
mod verdict_log;

pub use budget::{ByteBudget, Exhausted, Reservation};
pub use config::{
    ConfigError, DashboardConfig, FailPolicy, HttpConfig, ListenAddr, MilterConfig, OversizePolicy,
    QuarantineMode, RspamdQuarantineAction, SmtpReplyError, check as check_config,
    exposure_warnings,
};
pub use daemon::{RunOptions, run, run_until, servers};
pub use http::{HttpServer, ReleaseError, Services};
pub use quarantine::{
    QuarantineEntry, QuarantineError, QuarantineStore, Released, StoredEnvelope, StoredSymbol,
};
pub use reload::{BuildError, BuildScanner, ReloadError, Reloader, ScannerCell};
pub use server::{Milter, ServeError, serve, serve_until};
pub use session::Message;
pub use verdict_log::{AttachmentInfo, Filter, LogOptions, VerdictLog, VerdictRecord};

/// The pure protocol layers, for the fuzz targets: milter packets, the
/// milter session and its policy, the Rspamd request and reply, and the
/// messages the HTTP API builds. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::codec::{CodecError, Command, Family, Frame, Reply, split_frame};
    pub use crate::http::{release_argv, synthetic_message, url_message};
    pub use crate::policy::{Decision, Outcome, on_failure, on_oversize, on_verdict};
    /// Rspamd's `/checkv2` and legacy protocol.
    pub mod rspamd {
        pub use crate::rspamd::{
            HeaderError, LegacyHead, LegacyHeadError, MAX_RCPTS, MessageInfo, Reply, RspamdRequest,
            checkv2_reply, header_value, is_legacy_request_line, legacy_error, legacy_reply,
            parse_legacy_head, parse_request_headers,
        };
    }
    pub use crate::session::{Session, Step};
}

/// When a scan due by `deadline` must stop inspecting attachments: three
/// quarters of the time left, so parsing, signals and the reply still fit
/// and a hostile message gets a verdict (INSPECT_BUDGET), not a timeout
/// that leaves the scan running in its slot.
pub(crate) fn inspect_deadline(deadline: tokio::time::Instant) -> std::time::Instant {
    let now = tokio::time::Instant::now();
    let left = deadline.saturating_duration_since(now);
    std::time::Instant::now() + left.mul_f64(0.75)
}
