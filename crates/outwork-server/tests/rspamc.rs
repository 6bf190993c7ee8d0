//! The real `rspamc` (Debian's rspamd package) against outwork's
//! `/checkv2`: its output must show outwork's action, score and symbols.
//!
//! Skipped (with a message) when rspamc is not installed, unless
//! `OUTWORK_REQUIRE_RSPAMC=1` (CI sets it and installs rspamd).

use outwork_test_support::{Running, gates, repo};

use outwork_server::HttpConfig;
use outwork_server::Services;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn rspamc() -> Option<PathBuf> {
    if !gates::check(&gates::RSPAMC) {
        return None;
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("rspamc"))
            .find(|f| f.is_file())
    })
}

fn start() -> Running {
    let scanner = Arc::new(outwork_test_support::scanner("[model]\nenabled = false\n"));
    let cfg = HttpConfig {
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    };
    Running::start(cfg, Services::fixed(scanner), 2).expect("start")
}

fn run(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .output()
        .expect("running rspamc");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("$ rspamc {}\n{text}", args.join(" "));
    assert!(out.status.success(), "rspamc failed: {text}");
    text
}

#[test]
#[cfg_attr(
    outwork_no_rspamc,
    ignore = "needs rspamc (OUTWORK_REQUIRE_RSPAMC=1 makes this a failure)"
)]
fn rspamc_shows_outwork_verdicts() {
    let Some(bin) = rspamc() else { return };
    let srv = start();
    let host = srv.addr().to_string();
    let phish = repo().join("samples/phish-typosquat.eml");
    let phish = phish.to_str().unwrap();
    let legit = repo().join("samples/legit-paypal-receipt.eml");
    let legit = legit.to_str().unwrap();

    // `symbols` (also rspamc's default command), with envelope options.
    let out = run(
        &bin,
        &[
            "-h",
            &host,
            "-i",
            "192.0.2.25",
            "-F",
            "service@paypa1.com",
            "-r",
            "alice@example.org",
            "--helo",
            "mx.paypa1.com",
            "--header",
            "Queue-Id=QTEST1",
            "symbols",
            phish,
        ],
    );
    assert!(out.contains("Action: reject"), "{out}");
    assert!(out.contains("Spam: true"), "{out}");
    assert!(out.contains("Score: 20.00 / 15.00"), "{out}");
    assert!(
        out.contains("Symbol: LINK_TEXT_TYPOSQUAT (7.00)[text shows www.paypal.com"),
        "{out}"
    );
    assert!(out.contains("Symbol: FROM_DISPLAY_BRAND"), "{out}");
    assert!(out.contains("Queue-ID: QTEST1"), "{out}");
    assert!(
        out.contains("Urls: [") && out.contains("www.paypa1.com"),
        "{out}"
    );

    let out = run(&bin, &["-h", &host, legit]);
    assert!(out.contains("Action: no action"), "{out}");
    assert!(out.contains("Spam: false"), "{out}");
    assert!(out.contains("Score: 0.00 / 15.00"), "{out}");

    // --json: rspamc re-emits our reply.
    let out = run(&bin, &["-h", &host, "--json", "symbols", phish]);
    let start = out.find('{').expect("JSON in output");
    let end = out.rfind('}').expect("JSON in output");
    let j: serde_json::Value =
        serde_json::from_str(&out[start..=end]).expect("rspamc --json output");
    assert_eq!(j["action"], "reject");
    assert_eq!(j["score"], 20.0);
    assert!(j["symbols"]["LINK_TEXT_TYPOSQUAT"].is_object(), "{j}");
    assert_eq!(
        j["milter"]["add_headers"]["X-Outwork-Action"]["value"],
        "reject"
    );
}
