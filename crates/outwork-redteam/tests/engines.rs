//! The engines against real servers: outwork's own `/checkv2` (always),
//! and a real Rspamd and SpamAssassin spamd from `../shared/anchors` when
//! `OUTWORK_ANCHORS=1` (CI starts them with `anchors/setup.sh`).

use outwork_test_support::{Running, gates, repo};

use outwork_redteam::{CheckV2, Engine, InProcess, Spamd};
use outwork_server::HttpConfig;
use outwork_server::Services;
use std::sync::Arc;
use std::time::Duration;

fn scanner() -> Arc<outwork_engine::Scanner> {
    Arc::new(outwork_test_support::scanner(""))
}

fn start(scanner: Arc<outwork_engine::Scanner>) -> Running {
    let cfg = HttpConfig {
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    };
    Running::start(cfg, Services::fixed(scanner), 2).expect("start")
}

#[test]
fn outwork_over_checkv2_agrees_with_outwork_in_process() {
    let sc = scanner();
    let srv = start(sc.clone());
    let local = InProcess {
        name: "outwork".into(),
        scanner: sc,
    };
    let http = CheckV2::new(
        "outwork-http",
        &format!("http://{}", srv.addr()),
        Duration::from_secs(10),
    );
    for (f, flagged) in [
        ("samples/phish-typosquat.eml", true),
        ("samples/phish-double-extension.eml", true),
        ("samples/legit-paypal-receipt.eml", false),
    ] {
        let raw = std::fs::read(repo().join(f)).unwrap();
        let a = local.scan(&raw).unwrap();
        let b = http.scan(&raw).unwrap();
        assert_eq!(a.flagged, flagged, "{f}: {a:?}");
        assert_eq!(b.flagged, flagged, "{f} over /checkv2: {b:?}");
        assert_eq!(a.score, b.score, "{f}");
        let mut sa = a.symbols.clone();
        sa.sort();
        assert_eq!(sa, b.symbols, "{f}");
        // Rspamd's words for outwork's actions.
        assert!(
            ["no action", "add header", "rewrite subject", "reject"].contains(&b.action.as_str()),
            "{}",
            b.action
        );
    }
}

fn anchors() -> bool {
    gates::check(&gates::ANCHORS)
}

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

fn gtube() -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\nMessage-ID: <gtube@example.org>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\nThis is the GTUBE, the\r\n\tGeneric\r\n\tTest for\r\n\tUnsolicited\r\n\tBulk\r\n\tEmail\r\n\r\n{GTUBE}\r\n"
    )
    .into_bytes()
}

#[test]
#[cfg_attr(
    outwork_no_anchors,
    ignore = "needs a real Rspamd and spamd (../shared/anchors/setup.sh; OUTWORK_ANCHORS=1 runs it)"
)]
fn real_rspamd_over_checkv2() {
    if !anchors() {
        return;
    }
    let e = CheckV2::new("rspamd", "http://127.0.0.1:11333", Duration::from_secs(30));
    let v = e.scan(&gtube()).expect("rspamd answers");
    assert!(v.flagged, "{v:?}");
    assert_eq!(v.action, "reject", "{v:?}");
    assert!(v.symbols.iter().any(|s| s == "GTUBE"), "{v:?}");
    let ham = std::fs::read(repo().join("samples/legit-paypal-receipt.eml")).unwrap();
    let v = e.scan(&ham).expect("rspamd answers");
    assert!(!v.action.is_empty());
}

#[test]
#[cfg_attr(
    outwork_no_anchors,
    ignore = "needs a real Rspamd and spamd (../shared/anchors/setup.sh; OUTWORK_ANCHORS=1 runs it)"
)]
fn real_spamd() {
    if !anchors() {
        return;
    }
    let e = Spamd::new("spamassassin", "127.0.0.1:783", Duration::from_secs(60));
    let v = e.scan(&gtube()).expect("spamd answers");
    assert!(v.flagged, "{v:?}");
    assert!(v.score >= 100.0, "{v:?}");
    assert!(v.symbols.iter().any(|s| s == "GTUBE"), "{v:?}");
    let ham = std::fs::read(repo().join("samples/legit-paypal-receipt.eml")).unwrap();
    let v = e.scan(&ham).expect("spamd answers");
    assert!(!v.flagged, "{v:?}");
}
