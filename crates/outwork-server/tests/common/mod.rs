//! A real HTTP server with the dashboard on, for tests/dashboard.rs and
//! tests/dashboard_browser.rs.

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]
// Each test binary uses a different part of this.
#![allow(dead_code)]

use outwork_server::{DashboardConfig, HttpConfig, RspamdQuarantineAction};
use outwork_server::{LogOptions, VerdictLog};
use outwork_server::{QuarantineStore, Services};
use outwork_server::{Reloader, ScannerCell};
pub use outwork_test_support::{Running, repo};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const TOKEN: &str = "dash-token-0123456789";

pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("samples").join(name)).unwrap()
}

pub fn scanner() -> outwork_engine::Scanner {
    outwork_test_support::scanner("[model]\nenabled = false\n")
}

pub struct Dash {
    pub addr: SocketAddr,
    pub quarantine: QuarantineStore,
    pub log: Arc<VerdictLog>,
    /// Where the release command writes a released message.
    pub released: PathBuf,
    run: Running,
}

impl Dash {
    pub fn url(&self, path: &str) -> String {
        self.run.url(path)
    }

    pub fn origin(&self) -> String {
        self.run.url("")
    }
}

/// Start a server whose state (verdict log, quarantine, reports) lives in
/// `dir`, so a second start on the same `dir` is a restart.
pub fn start(dir: &Path, f: impl FnOnce(&mut HttpConfig, &mut DashboardConfig)) -> Dash {
    let released = dir.join("released.eml");
    let mut cfg = HttpConfig {
        listen: "127.0.0.1:0".into(),
        admin_token: Some(TOKEN.into()),
        shutdown_grace_ms: 2_000,
        // Quarantine verdicts from /checkv2 are kept in the store.
        rspamd_quarantine_action: RspamdQuarantineAction::Reject,
        release_command: vec![
            "/bin/sh".into(),
            "-c".into(),
            "cat > \"$0\"".into(),
            released.display().to_string(),
        ],
        ..Default::default()
    };
    let mut dash = DashboardConfig {
        path: Some(dir.join("verdicts.jsonl")),
        reports_dir: Some(dir.join("reports")),
        ..Default::default()
    };
    f(&mut cfg, &mut dash);
    let quarantine = QuarantineStore::open(dir.join("quarantine")).unwrap();
    let log = Arc::new(
        VerdictLog::open(LogOptions {
            keep: dash.keep,
            retention_days: dash.retention_days,
            path: dash.log_path(),
        })
        .unwrap(),
    );
    let config_text = format!(
        "[http]\nadmin_token = \"{TOKEN}\"\n[intel]\nredis = \"redis://user:hunter2@10.0.0.9/0\"\n"
    );
    let svc = Services {
        reloader: Reloader::new(ScannerCell::new(Arc::new(scanner())), None),
        quarantine: Some(quarantine.clone()),
        // A test that wants intel sources on the status page writes one.
        intel_path: Some(dir.join("intel.owi")).filter(|p| p.exists()),
        verdicts: Some(log.clone()),
        dashboard: Some(dash),
        config_text,
    };
    let run = Running::start(cfg, svc, 2).expect("start");
    Dash {
        addr: run.addr(),
        quarantine,
        log,
        released,
        run,
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// A message whose subject and sender are hostile markup.
pub fn hostile_message() -> Vec<u8> {
    b"From: \"<script>alert(2)</script>\" <mallory@evil.example>\r\n\
To: <alice@example.org>\r\n\
Subject: <img src=x onerror=alert(1)>\r\n\
Message-ID: <hostile-1@evil.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><p>Your account is locked.</p>\
<a href=\"http://paypa1-secure.example/login\">https://www.paypal.com/signin</a></body></html>\r\n"
        .to_vec()
}

/// Scan the samples through the real endpoints: the typosquat through
/// /checkv2 with an envelope, the receipt through /v1/scan, the hostile
/// message through /v1/scan, the double extension through /checkv2
/// (quarantined there when its verdict is quarantine).
pub fn seed(d: &Dash) {
    let a = agent();
    let r = a
        .post(d.url("/checkv2"))
        .header("Queue-Id", "QTYPO1")
        .header("From", "billing@paypa1.example")
        .header("Rcpt", "alice@example.org")
        .header("IP", "192.0.2.10")
        .send(&sample("phish-typosquat.eml")[..])
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = a
        .post(d.url("/v1/scan?from=service@paypal.com&rcpt=bob@example.org&queue_id=QLEGIT1"))
        .send(&sample("legit-paypal-receipt.eml")[..])
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = a
        .post(d.url("/v1/scan?from=mallory@evil.example&rcpt=alice@example.org&queue_id=QHOSTILE"))
        .send(&hostile_message()[..])
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = a
        .post(d.url("/checkv2"))
        .header("Queue-Id", "QDOUBLE1")
        .header("From", "hr@payroll-portal.example")
        .header("Rcpt", "carol@example.org")
        .send(&sample("phish-double-extension.eml")[..])
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Quarantine a message through the store (as the milter does), with
/// recipients so it can be released.
pub fn quarantine_one(d: &Dash, subject: &str) -> String {
    let raw = format!(
        "From: <attacker@evil.example>\r\nTo: <dave@example.org>\r\nSubject: {subject}\r\n\r\nclick http://evil.example/x\r\n"
    );
    let v = scanner()
        .scan(raw.as_bytes(), &Default::default(), &Default::default())
        .verdict;
    let env = outwork_engine::Envelope {
        mail_from: Some("attacker@evil.example".into()),
        rcpt_to: vec!["dave@example.org".into()],
        queue_id: Some("QQUAR1".into()),
        ..Default::default()
    };
    d.quarantine.put(raw.as_bytes(), &v, &env).unwrap()
}

/// An intel store in `dir` (picked up by [`start`]) with a fresh source
/// (imported a minute ago) and a stale one (ten days ago), two domains each.
pub fn write_intel(dir: &Path) {
    let mut idx = outwork_intel::Index::default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let feed = outwork_intel::parse_feed(
        b"evil.example\nworse.example\n",
        outwork_intel::Format::DomainList,
    );
    let kind = outwork_intel::Kind::Phishing;
    idx.import("fresh-feed", kind, "domains", &feed, now - 60)
        .unwrap();
    idx.import("old-feed", kind, "domains", &feed, now - 10 * 86_400)
        .unwrap();
    idx.save(&dir.join("intel.owi")).unwrap();
}
