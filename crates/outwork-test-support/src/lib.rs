//! What outwork's integration tests share (never shipped: `publish =
//! false`, a dev-dependency only): which real servers this machine has
//! ([`gates`]), free loopback ports, per-process temp dirs and a sandboxed
//! HOME, Redis and clamd servers of the test's own, and an HTTP API
//! server on a runtime of its own ([`Running`]).
//!
//! Test code: a failure to set up is a panic with the reason.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Which real servers (Redis, clamd, nsd, Postfix, Rspamd, a browser) and
/// data (anchors, the dev corpus) the integration tests can use here, and
/// how a test skips, or fails, without them. The file is also `#[path]`-
/// included by the build scripts (`emit`), hence its plain `//` header.
pub mod gates;
mod running;
mod servers;

pub use running::Running;
pub use servers::{Clamd, Redis};

use std::path::{Path, PathBuf};

/// The repository's root (for `samples/`, `rules/`, `tests/`…).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The scanner a config file holding `toml` describes
/// (`Config::from_toml`, then `Scanner::from_config`). With nothing
/// networked in `toml` (clamd, DNS checks, intel, history) it scans offline.
pub fn scanner(toml: &str) -> outwork_engine::Scanner {
    let cfg = outwork_core::Config::from_toml(toml).expect("config");
    outwork_engine::Scanner::from_config(outwork_core::Context::new(cfg)).expect("scanner")
}

/// A loopback port free right now (the OS's choice for port 0).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// An empty directory `outwork-<name>-<pid>` under the system temp dir
/// (emptied if a crashed run left it).
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("outwork-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A throw-away HOME for this test process, so a run of the `outwork`
/// binary never reaches the user's `~/.local/share/outwork`: pass it as
/// `HOME` and its `.local/share` as `XDG_DATA_HOME`.
pub fn sandbox_home() -> &'static Path {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| temp_dir("home"))
}
