//! The dashboard in a real browser: this test starts the server, seeds it
//! with real scans and a quarantined message, then runs
//! tests/browser/dashboard.mjs (playwright-core driving Debian's headless
//! chromium), which browses, filters, opens a message, logs in, releases
//! the message and saves screenshots under target/dashboard-screenshots/.
//!
//! Needs `node`, `chromium` and `npm install --no-save playwright-core` in
//! tests/browser; skips with a note when they are missing, unless
//! OUTWORK_REQUIRE_BROWSER=1 (CI) makes that a failure.

use outwork_test_support::gates;

mod common;

use common::{TOKEN, quarantine_one, repo, seed, start};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
#[cfg_attr(
    outwork_no_browser,
    ignore = "needs node, chromium and playwright-core (OUTWORK_REQUIRE_BROWSER=1 makes this a failure)"
)]
fn dashboard_in_a_real_browser() {
    if !gates::check(&gates::BROWSER) {
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
    // A long subject on a flagged message: the list must still fit 1400 px.
    let long = String::from_utf8(common::sample("phish-typosquat.eml"))
        .unwrap()
        .replace(
            "Subject: Your account has been limited",
            "Subject: Your account has been limited until you confirm every one of the details we hold, the billing address, the card and the security questions, within 24 hours",
        );
    let r = common::agent()
        .post(d.url("/checkv2"))
        .header("Queue-Id", "QLONG1")
        .send(long.as_bytes())
        .unwrap();
    assert_eq!(r.status(), 200);
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
        .env("CHROMIUM", gates::chromium().unwrap_or_default())
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
