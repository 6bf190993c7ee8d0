//! The dashboard in a real browser: this test starts the server, seeds it
//! with real scans and a quarantined message, then runs
//! tests/browser/dashboard.mjs (playwright-core driving Debian's headless
//! chromium), which browses, filters, opens a message, logs in, releases
//! the message and saves screenshots under target/dashboard-screenshots/.
//!
//! Needs `node`, `chromium` and `npm install --no-save playwright-core` in
//! tests/browser; skips with a note when they are missing, unless
//! OUTWORK_REQUIRE_BROWSER=1 (CI) makes that a failure.

mod common;

use common::{TOKEN, quarantine_one, repo, seed, start};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// What is missing to run the browser test, if anything.
fn missing() -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node {
        return Some("node not found".into());
    }
    if chromium().is_none() {
        return Some("chromium not found (apt-get install chromium)".into());
    }
    let pw = repo().join("tests/browser/node_modules/playwright-core");
    if !pw.is_dir() {
        return Some(format!(
            "{} missing (cd tests/browser && npm install --no-save playwright-core)",
            pw.display()
        ));
    }
    None
}

#[test]
fn dashboard_in_a_real_browser() {
    if let Some(m) = missing() {
        assert!(
            std::env::var("OUTWORK_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "OUTWORK_REQUIRE_BROWSER=1 but {m}"
        );
        eprintln!("SKIPPED: {m} (OUTWORK_REQUIRE_BROWSER=1 makes this an error)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(
        reports.join("redteam-2026-11-27.html"),
        "<!doctype html><title>red team</title><p>report</p>",
    )
    .unwrap();
    common::write_intel(dir.path());
    let d = start(dir.path(), |_, _| {});
    seed(&d);
    let subject = "Browser test: release me";
    let id = quarantine_one(&d, subject);

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let shots = target.join("dashboard-screenshots");
    let mut child = Command::new("node")
        .arg(repo().join("tests/browser/dashboard.mjs"))
        .current_dir(repo().join("tests/browser"))
        .env("DASH_URL", d.url("/dashboard/"))
        .env("DASH_TOKEN", TOKEN)
        .env("RELEASE_SUBJECT", subject)
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", chromium().unwrap_or_default())
        .spawn()
        .expect("node");
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser test did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "tests/browser/dashboard.mjs failed: {status}"
    );
    // What the browser did reached the server.
    assert!(
        d.quarantine.list().unwrap().iter().all(|e| e.id != id),
        "released from the browser"
    );
    let delivered = std::fs::read_to_string(&d.released).unwrap();
    assert!(delivered.contains(subject));
    for name in [
        "verdicts",
        "message",
        "status",
        "quarantine",
        "scan",
        "reports",
    ] {
        let p = shots.join(format!("{name}.png"));
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "{} missing or empty", p.display());
    }
}
