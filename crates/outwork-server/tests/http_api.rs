//! The HTTP API on a free loopback port, exercised with a real HTTP client
//! (ureq) and, for malformed input, raw TCP.

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

use outwork_server::HttpConfig;
use outwork_server::{BuildScanner, Reloader, ScannerCell};
use outwork_server::{QuarantineStore, Services};
use outwork_test_support::{Running, repo};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "test-token-0123456789";

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("samples").join(name)).unwrap()
}

fn scanner() -> outwork_engine::Scanner {
    outwork_test_support::scanner("[model]\nenabled = false\n")
}

struct Server {
    run: Running,
    _dir: tempfile::TempDir,
    quarantine: QuarantineStore,
}

impl Server {
    fn url(&self, path: &str) -> String {
        self.run.url(path)
    }
}

fn start_with(f: impl FnOnce(&mut HttpConfig), build: Option<BuildScanner>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let quarantine = QuarantineStore::open(dir.path().join("q")).unwrap();
    let mut cfg = HttpConfig {
        listen: "127.0.0.1:0".into(),
        admin_token: Some(TOKEN.into()),
        shutdown_grace_ms: 2_000,
        ..Default::default()
    };
    f(&mut cfg);
    let svc = Services {
        reloader: Reloader::new(ScannerCell::new(Arc::new(scanner())), build),
        quarantine: Some(quarantine.clone()),
        intel_path: None,
        verdicts: None,
        dashboard: None,
        config_text: String::new(),
    };
    Server {
        run: Running::start(cfg, svc, 2).expect("start"),
        _dir: dir,
        quarantine,
    }
}

fn start() -> Server {
    start_with(|_| {}, None)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn body(r: &mut ureq::http::Response<ureq::Body>) -> String {
    r.body_mut().read_to_string().unwrap()
}

fn json(r: &mut ureq::http::Response<ureq::Body>) -> Value {
    let t = body(r);
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
}

/// One raw exchange: write `req`, read until the server closes or
/// `wait` passes.
fn raw(addr: SocketAddr, req: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(req).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn checkv2_speaks_rspamd() {
    let srv = start();
    let a = agent();
    let mut r = a
        .post(srv.url("/checkv2"))
        .header("IP", "192.0.2.10")
        .header("Helo", "mail.example.net")
        .header("From", "<service@paypa1.com>")
        .header("Rcpt", "<alice@example.org>")
        .header("Rcpt", "<bob@example.org>")
        .header("Queue-Id", "QID123")
        .header("User-Agent", "rspamc")
        .send(&sample("phish-typosquat.eml")[..])
        .unwrap();
    assert_eq!(r.status(), 200);
    let j = json(&mut r);
    assert_eq!(j["action"], "reject", "{j}");
    assert_eq!(j["is_skipped"], false);
    assert!(j["score"].as_f64().unwrap() >= 15.0, "{j}");
    assert_eq!(j["required_score"], 15.0);
    assert_eq!(j["queue-id"], "QID123");
    let s = &j["symbols"]["LINK_TEXT_TYPOSQUAT"];
    assert_eq!(s["name"], "LINK_TEXT_TYPOSQUAT");
    assert!(s["score"].as_f64().unwrap() > 0.0);
    assert_eq!(s["score"], s["metric_score"]);
    assert!(s["options"][0].as_str().unwrap().contains("paypa1"), "{s}");
    assert!(!s["description"].as_str().unwrap().is_empty());
    assert!(
        j["urls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == "www.paypa1.com"),
        "{j}"
    );
    assert!(j["time_real"].is_number());
    assert!(j["message-id"].is_string(), "{j}");
    let add = &j["milter"]["add_headers"];
    assert_eq!(add["X-Outwork-Action"]["value"], "reject");
    assert_eq!(add["X-Spam"]["value"], "Yes");
    assert_eq!(j["milter"]["remove_headers"]["X-Outwork-Action"], 0);

    let mut r = a
        .post(srv.url("/checkv2"))
        .send(&sample("legit-paypal-receipt.eml")[..])
        .unwrap();
    let j = json(&mut r);
    assert_eq!(j["action"], "no action", "{j}");
    assert!(j["milter"]["add_headers"].get("X-Spam").is_none());

    // quarantine → "add header" by default.
    let mut r = a
        .post(srv.url("/checkv2"))
        .send(&sample("phish-double-extension.eml")[..])
        .unwrap();
    let j = json(&mut r);
    assert_eq!(j["action"], "add header", "{j}");
    assert_eq!(j["outwork"]["action"], "quarantine");
    assert_eq!(
        j["milter"]["add_headers"]["X-Outwork-Action"]["value"],
        "quarantine"
    );

    let mut r = a.get(srv.url("/ping")).call().unwrap();
    assert_eq!(body(&mut r), "pong\r\n");
}

/// Exim's `variant=rspamd` speaks Rspamd's legacy protocol on the same
/// port: the request exactly as Exim's spam.c writes it, the reply checked
/// with the format Exim's sscanf expects.
#[test]
fn legacy_rspamc_protocol_as_exim_sends_it() {
    let srv = start();
    let msg = sample("phish-typosquat.eml");
    let mut req = format!(
        "CHECK RSPAMC/1.3\r\nContent-length: {}\r\nQueue-Id: 1tEXIM-000123-AB\r\nFrom: <service@paypa1.com>\r\nRecipient-Number: 2\r\nRcpt: <alice@example.org>\r\nRcpt: <bob@example.org>\r\nHelo: mx.paypa1.com\r\nIP: 192.0.2.25\r\n\r\n",
        msg.len()
    )
    .into_bytes();
    req.extend_from_slice(&msg);
    let r = raw(srv.run.addr(), &req, Duration::from_secs(30));
    // "RSPAMD/%7s 0 EX_OK\r\nMetric: default; %7s %lf / %lf / %lf\r\n" then "Action: ".
    assert!(
        r.starts_with("RSPAMD/1.3 0 EX_OK\r\nMetric: default; True; 20.00 / 15.00 / 15.00\r\nAction: reject\r\n"),
        "{r}"
    );
    assert!(
        r.contains("\r\nSymbol: LINK_TEXT_TYPOSQUAT(7.00); text shows www.paypal.com"),
        "{r}"
    );
    assert!(r.contains("\r\nQueue-ID: 1tEXIM-000123-AB\r\n"), "{r}");
    let legit = sample("legit-paypal-receipt.eml");
    let mut req = format!(
        "SYMBOLS RSPAMC/1.3\r\nContent-length: {}\r\n\r\n",
        legit.len()
    )
    .into_bytes();
    req.extend_from_slice(&legit);
    let r = raw(srv.run.addr(), &req, Duration::from_secs(30));
    assert!(
        r.starts_with("RSPAMD/1.3 0 EX_OK\r\nMetric: default; False; 0.00 / 15.00 / 15.00\r\nAction: no action\r\n"),
        "{r}"
    );
    // Errors: no EX_OK, so Exim defers.
    let r = raw(
        srv.run.addr(),
        b"CHECK RSPAMC/1.3\r\nIP: bogus\r\nContent-length: 1\r\n\r\nx",
        Duration::from_secs(5),
    );
    assert!(r.starts_with("RSPAMD/1.3 400 "), "{r}");
    let r = raw(
        srv.run.addr(),
        b"CHECK RSPAMC/1.3\r\nContent-length: 99999999999\r\n\r\nx",
        Duration::from_secs(5),
    );
    assert!(r.starts_with("RSPAMD/1.3 413 "), "{r}");
    let r = raw(
        srv.run.addr(),
        b"CHECK RSPAMC/1.3\r\n\r\nx",
        Duration::from_secs(5),
    );
    assert!(r.starts_with("RSPAMD/1.3 411 "), "{r}");
    // HTTP on the same port still works.
    let r = agent().get(srv.url("/ping")).call().unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn checkv2_quarantine_as_reject_keeps_a_copy() {
    let srv = start_with(
        |c| {
            c.rspamd_quarantine_action = outwork_server::RspamdQuarantineAction::Reject;
        },
        None,
    );
    let mut r = agent()
        .post(srv.url("/checkv2"))
        .header("From", "a@example.net")
        .header("Rcpt", "b@example.org")
        .send(&sample("phish-double-extension.eml")[..])
        .unwrap();
    let j = json(&mut r);
    assert_eq!(j["action"], "reject", "{j}");
    let id = j["milter"]["add_headers"]["X-Outwork-Quarantine-Id"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let l = srv.quarantine.list().unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].id, id);
    assert_eq!(l[0].envelope.rcpt_to, vec!["b@example.org".to_string()]);
}

/// `/v1/scan` answers outwork's one verdict shape (`outwork_core::verdict_json`,
/// as the CLI's `--format json`): the same action, score and symbols, in
/// the verdict's order, as scanning the message in-process; descriptions
/// added; no `authentication_results` when outwork verified nothing.
#[test]
fn native_scan_has_the_cli_verdict_shape() {
    let raw = sample("phish-typosquat.eml");
    let v = scanner()
        .scan(
            &raw,
            &outwork_engine::Envelope::default(),
            &outwork_engine::Options::default(),
        )
        .verdict;
    let want = Value::Object(outwork_core::verdict_json(
        &v,
        outwork_core::Detail::Described,
    ));
    assert!(v.symbols.len() >= 2, "{want}");
    let srv = start();
    let mut r = agent().post(srv.url("/v1/scan")).send(&raw[..]).unwrap();
    assert_eq!(r.status(), 200);
    let j = json(&mut r);
    for k in ["action", "score", "symbols"] {
        assert_eq!(j[k], want[k], "{k}: {j}");
    }
    assert!(j.get("authentication_results").is_none(), "{j}");
    let names: Vec<&str> = j["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    let order: Vec<&str> = v.symbols.iter().map(|s| s.name).collect();
    assert_eq!(names, order);
    assert!(
        j["symbols"][0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

#[test]
fn native_scan_text_and_url() {
    let srv = start();
    let a = agent();
    let mut r = a
        .post(srv.url(
            "/v1/scan?ip=192.0.2.1&helo=h.example&from=x%40paypa1.com&rcpt=a%40b.example&rcpt=c%40d.example&queue_id=Q9",
        ))
        .send(&sample("phish-typosquat.eml")[..])
        .unwrap();
    assert_eq!(r.status(), 200);
    let j = json(&mut r);
    assert_eq!(j["action"], "reject", "{j}");
    let syms = j["symbols"].as_array().unwrap();
    assert!(syms.iter().any(|s| s["name"] == "LINK_TEXT_TYPOSQUAT"));
    assert!(syms[0]["evidence"].is_array());
    assert_eq!(j["thresholds"]["reject"], 15.0);

    let r = a.post(srv.url("/v1/scan?bogus=1")).send("x").unwrap();
    assert_eq!(r.status(), 400);
    let r = a.post(srv.url("/v1/scan")).send("").unwrap();
    assert_eq!(r.status(), 400);
    let r = a
        .post(srv.url("/v1/scan?ip=nope"))
        .send("Subject: x\r\n\r\nx")
        .unwrap();
    assert_eq!(r.status(), 400);

    // An SMS with a lookalike link: the same link signals as mail.
    let mut r = a
        .post(srv.url("/v1/scan/text"))
        .header("Content-Type", "application/json")
        .send(
            r#"{"text": "PayPal: your account is locked. Verify now at https://www.paypa1.com/signin or it will be closed", "sender": "+15550100", "channel": "sms"}"#,
        )
        .unwrap();
    assert_eq!(r.status(), 200);
    let j = json(&mut r);
    assert_ne!(j["action"], "accept", "{j}");
    let names = |j: &Value| -> Vec<String> {
        j["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        names(&j).contains(&"LOOKALIKE_BRAND_URL".to_string()),
        "{j}"
    );
    assert_eq!(j["urls"][0], "www.paypa1.com");
    // A chat sender calling itself PayPal: the sender signals apply too.
    let mut r = a
        .post(srv.url("/v1/scan/text"))
        .send(r#"{"text": "Your account needs attention", "sender": "PayPal", "channel": "chat"}"#)
        .unwrap();
    let j = json(&mut r);
    assert!(names(&j).contains(&"FROM_DISPLAY_BRAND".to_string()), "{j}");
    let mut r = a
        .post(srv.url("/v1/scan/text"))
        .send(r#"{"text": "see you at 6 for dinner?", "sender": "+15550100"}"#)
        .unwrap();
    let j = json(&mut r);
    assert_eq!(j["action"], "accept", "{j}");
    for bad in [
        "not json",
        r#"{"sender": "x"}"#,
        r#"{"text": ""}"#,
        r#"{"text": "x", "nope": 1}"#,
    ] {
        let r = a.post(srv.url("/v1/scan/text")).send(bad).unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }

    let mut r = a
        .get(srv.url("/v1/url"))
        .query("u", "http://3232235777/login")
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let j = json(&mut r);
    assert_eq!(j["url"], "http://3232235777/login");
    assert!(
        j["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "URL_IP_OBFUSCATED"),
        "{j}"
    );
    assert_eq!(j["intel"]["available"], false);
    let r = a.get(srv.url("/v1/url")).call().unwrap();
    assert_eq!(r.status(), 400);
    let r = a.get(srv.url("/v1/url?u=")).call().unwrap();
    assert_eq!(r.status(), 400);
}

#[test]
fn url_intel_hits() {
    use outwork_intel::{Index, Kind, Lookup};
    let mut idx = Index::default();
    let parsed = outwork_intel::parse_feed(
        b"http://evil-login.example/paypal/verify\n",
        outwork_intel::Format::UrlList,
    );
    idx.import(
        "testfeed",
        Kind::Phishing,
        "urllist",
        &parsed,
        1_700_000_000,
    )
    .unwrap();
    let mut s = scanner();
    s.intel = Some(Arc::new(idx) as Arc<dyn Lookup>);
    let s = Arc::new(s);
    let build: BuildScanner = {
        let s = s.clone();
        Arc::new(move || {
            let mut n = scanner();
            n.intel = s.intel.clone();
            Ok(n)
        })
    };
    let srv = start_with(|_| {}, Some(build));
    let a = agent();
    // Reload so the serving scanner is the one with intel.
    let r = a
        .post(srv.url("/admin/reload"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut r = a
        .get(srv.url("/v1/url"))
        .query("u", "http://evil-login.example/paypal/verify")
        .call()
        .unwrap();
    let j = json(&mut r);
    assert_eq!(j["intel"]["available"], true, "{j}");
    let hits = j["intel"]["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{j}");
    assert_eq!(hits[0]["source"], "testfeed");
    assert_eq!(hits[0]["kind"], "phishing");
    assert_ne!(j["action"], "accept", "{j}");
}

#[test]
fn health_and_metrics() {
    let srv = start();
    let a = agent();
    let mut r = a.get(srv.url("/healthz")).call().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(json(&mut r)["status"], "ok");
    let r = a
        .post(srv.url("/checkv2"))
        .send(&sample("phish-typosquat.eml")[..])
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut r = a.get(srv.url("/metrics")).call().unwrap();
    assert_eq!(r.status(), 200);
    let t = body(&mut r);
    for want in [
        "outwork_messages_total{source=\"http\",action=\"reject\"}",
        "outwork_symbol_total{symbol=\"LINK_TEXT_TYPOSQUAT\"}",
        "outwork_scan_seconds_bucket{source=\"http\",le=\"",
        "outwork_scan_seconds_count{source=\"http\"}",
        "outwork_http_requests_total{route=\"/checkv2\",status=\"200\"}",
        "outwork_scanner_loaded_timestamp_seconds",
        "outwork_buffered_bytes{source=\"http\"}",
        "outwork_buffered_bytes_limit{source=\"http\"}",
        "# TYPE outwork_scan_seconds histogram",
    ] {
        assert!(t.contains(want), "missing {want} in:\n{t}");
    }
    // Exported at 0 from start-up, so the reject must have counted.
    let rejects: f64 = t
        .lines()
        .find_map(|l| l.strip_prefix("outwork_messages_total{source=\"http\",action=\"reject\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(rejects >= 1.0, "{t}");
    let r = a.get(srv.url("/nope")).call().unwrap();
    assert_eq!(r.status(), 404);
    let r = a.get(srv.url("/checkv2")).call().unwrap();
    assert_eq!(r.status(), 405);
}

#[test]
fn admin_needs_the_token() {
    let build_count = Arc::new(AtomicUsize::new(0));
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let build: BuildScanner = {
        let (n, fail) = (build_count.clone(), fail.clone());
        Arc::new(move || {
            n.fetch_add(1, Ordering::SeqCst);
            if fail.load(Ordering::SeqCst) {
                Err("bad config".into())
            } else {
                Ok(scanner())
            }
        })
    };
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("released.eml");
    let srv = start_with(
        |c| {
            c.release_command = vec![
                "/bin/sh".into(),
                "-c".into(),
                "cat > \"$0\"; shift; echo \"$@\" > \"$0.args\"".into(),
                dest.display().to_string(),
                "x".into(),
                "{mail_from}".into(),
                "{rcpt_to}".into(),
            ];
        },
        Some(build),
    );
    let a = agent();
    let auth = format!("Bearer {TOKEN}");
    for (m, p) in [
        ("POST", "/admin/reload"),
        ("GET", "/admin/quarantine"),
        ("DELETE", "/admin/quarantine/x"),
        ("POST", "/admin/quarantine/x/release"),
    ] {
        let r = match m {
            "POST" => a.post(srv.url(p)).send_empty().unwrap(),
            "DELETE" => a.delete(srv.url(p)).call().unwrap(),
            _ => a.get(srv.url(p)).call().unwrap(),
        };
        assert_eq!(r.status(), 401, "{m} {p}");
        assert!(r.headers().get("www-authenticate").is_some());
        let r = match m {
            "POST" => a
                .post(srv.url(p))
                .header("Authorization", "Bearer wrong-token-0123456789")
                .send_empty()
                .unwrap(),
            "DELETE" => a
                .delete(srv.url(p))
                .header("Authorization", "Bearer x")
                .call()
                .unwrap(),
            _ => a
                .get(srv.url(p))
                .header("Authorization", TOKEN)
                .call()
                .unwrap(),
        };
        assert_eq!(r.status(), 401, "{m} {p} wrong token");
    }

    // Reload: ok, then a failing build keeps the old scanner serving.
    let mut r = a
        .post(srv.url("/admin/reload"))
        .header("Authorization", &auth)
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(json(&mut r)["reloaded"], true);
    assert_eq!(build_count.load(Ordering::SeqCst), 1);
    fail.store(true, Ordering::SeqCst);
    let mut r = a
        .post(srv.url("/admin/reload"))
        .header("Authorization", &auth)
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 500);
    assert!(
        json(&mut r)["error"]
            .as_str()
            .unwrap()
            .contains("bad config")
    );
    let r = a
        .post(srv.url("/checkv2"))
        .send(&sample("phish-typosquat.eml")[..])
        .unwrap();
    assert_eq!(r.status(), 200);

    // Quarantine: list, show, release (through the command), delete.
    let v = scanner()
        .scan(
            &sample("phish-double-extension.eml"),
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    let env = outwork_engine::Envelope {
        mail_from: Some("sender@example.net".into()),
        rcpt_to: vec!["alice@example.org".into(), "bob@example.org".into()],
        ..Default::default()
    };
    let raw = sample("phish-double-extension.eml");
    let id1 = srv.quarantine.put(&raw, &v, &env).unwrap();
    let id2 = srv
        .quarantine
        .put(b"Subject: two\r\n\r\nx\r\n", &v, &env)
        .unwrap();
    let mut r = a
        .get(srv.url("/admin/quarantine"))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let j = json(&mut r);
    assert_eq!(j["count"], 2);
    assert_eq!(j["messages"][0]["id"], id1.as_str());
    let mut r = a
        .get(srv.url(&format!("/admin/quarantine/{id1}")))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(r.headers()["content-type"], "message/rfc822");
    assert_eq!(body(&mut r).as_bytes(), &raw[..]);
    let mut r = a
        .post(srv.url(&format!("/admin/quarantine/{id1}/release")))
        .header("Authorization", &auth)
        .send_empty()
        .unwrap();
    let j = json(&mut r);
    assert_eq!(j["released"], id1.as_str(), "{j}");
    assert_eq!(std::fs::read(&dest).unwrap(), raw);
    let args = std::fs::read_to_string(format!("{}.args", dest.display())).unwrap();
    assert_eq!(
        args.trim(),
        "sender@example.net alice@example.org bob@example.org"
    );
    assert_eq!(srv.quarantine.list().unwrap().len(), 1);
    let r = a
        .delete(srv.url(&format!("/admin/quarantine/{id2}")))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = a
        .delete(srv.url(&format!("/admin/quarantine/{id2}")))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = a
        .post(srv.url("/admin/quarantine/..%2Fetc/release"))
        .header("Authorization", &auth)
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(srv.quarantine.list().unwrap().is_empty());
}

#[test]
fn admin_off_without_a_token() {
    let srv = start_with(|c| c.admin_token = None, None);
    let r = agent()
        .post(srv.url("/admin/reload"))
        .header("Authorization", "Bearer anything-at-all-here")
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = agent().get(srv.url("/admin/quarantine")).call().unwrap();
    assert_eq!(r.status(), 403);
}

#[test]
fn release_without_a_command_hands_the_message_back() {
    let srv = start();
    let v = scanner()
        .scan(
            b"Subject: x\r\n\r\nx\r\n",
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    let env = outwork_engine::Envelope {
        rcpt_to: vec!["a@b.example".into()],
        ..Default::default()
    };
    let id = srv
        .quarantine
        .put(b"Subject: x\r\n\r\nx\r\n", &v, &env)
        .unwrap();
    let mut r = agent()
        .post(srv.url(&format!("/admin/quarantine/{id}/release")))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(body(&mut r), "Subject: x\r\n\r\nx\r\n");
    assert_eq!(srv.quarantine.list().unwrap().len(), 1, "kept until DELETE");
}

#[test]
fn malformed_input_gets_an_error_never_a_crash() {
    let srv = start_with(
        |c| {
            c.max_body_bytes = 64 * 1024;
            c.header_timeout_ms = 500;
            c.request_timeout_ms = 1_000;
        },
        None,
    );
    let w = Duration::from_secs(5);
    // Not HTTP at all.
    let r = raw(srv.run.addr(), b"\x16\x03\x01\x02\x00garbage\r\n\r\n", w);
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 400"), "{r}");
    let r = raw(srv.run.addr(), b"GET / HTTP/9.9\r\n\r\n", w);
    assert!(
        r.is_empty() || r.starts_with("HTTP/1.1 4") || r.starts_with("HTTP/1.1 505"),
        "{r}"
    );
    // A header with bytes HTTP forbids.
    let r = raw(
        srv.run.addr(),
        b"POST /checkv2 HTTP/1.1\r\nHost: x\r\nIP: 1.2.3.4\x01\r\nContent-Length: 1\r\n\r\nx",
        w,
    );
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    // Rspamd headers we can't use.
    let r = raw(srv.run.addr(), b"POST /checkv2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nIP: not-an-ip\r\nContent-Length: 1\r\n\r\nx", w);
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert!(r.contains("not an IP address"), "{r}");
    let r = raw(srv.run.addr(), b"POST /checkv2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCompression: zstd\r\nContent-Length: 1\r\n\r\nx", w);
    assert!(r.starts_with("HTTP/1.1 415"), "{r}");
    // Oversize, announced.
    let r = raw(
        srv.run.addr(),
        b"POST /checkv2 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc",
        w,
    );
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    // Oversize, chunked (no length announced).
    let mut req =
        b"POST /v1/scan HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        req.extend_from_slice(b"1000\r\n");
        req.extend_from_slice(&[b'a'; 0x1000]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = raw(srv.run.addr(), &req, w);
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    // Bad chunked framing.
    let r = raw(
        srv.run.addr(),
        b"POST /v1/scan HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        w,
    );
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 400"), "{r}");
    // Slowloris: headers never finish → the connection is closed.
    let t = Instant::now();
    let r = raw(
        srv.run.addr(),
        b"POST /checkv2 HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n",
        Duration::from_secs(10),
    );
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "slow headers held the connection {:?}",
        t.elapsed()
    );
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 408"), "{r}");
    // Slow body: 408.
    let t = Instant::now();
    let r = raw(
        srv.run.addr(),
        b"POST /checkv2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nFrom: a",
        Duration::from_secs(10),
    );
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // Still serving.
    let r = agent().get(srv.url("/healthz")).call().unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn bounded_scans_still_answer_everyone() {
    let srv = start_with(|c| c.max_scans = 1, None);
    let msg = sample("phish-typosquat.eml");
    let url = srv.url("/checkv2");
    let hs: Vec<_> = (0..6)
        .map(|_| {
            let (url, msg) = (url.clone(), msg.clone());
            std::thread::spawn(move || {
                let mut r = agent().post(&url).send(&msg[..]).unwrap();
                (r.status().as_u16(), json(&mut r)["action"].clone())
            })
        })
        .collect();
    for h in hs {
        let (st, action) = h.join().unwrap();
        assert_eq!(st, 200);
        assert_eq!(action, "reject");
    }
}

/// `run_until`: config text in, SIGHUP reloads, shutdown drains a request
/// that is still sending its body.
#[test]
fn daemon_reloads_and_drains() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let builds = Arc::new(AtomicUsize::new(0));
    let build: BuildScanner = {
        let n = builds.clone();
        Arc::new(move || {
            n.fetch_add(1, Ordering::SeqCst);
            Ok(scanner())
        })
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Our own SIGHUP handler first, so a signal that arrives before the
    // server's is registered can't kill the test process.
    let _hup = rt
        .block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) })
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let opts = outwork_server::RunOptions {
        config_text: format!(
            "[thresholds]\ntag = 5\n[http]\nlisten = \"127.0.0.1:{port}\"\nrequest_timeout_ms = 20000\n[dashboard]\npath = \"\"\n"
        ),
        build_scanner: build,
        intel_path: None,
    };
    let task = rt.spawn(outwork_server::run_until(opts, async {
        let _ = rx.await;
    }));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent()
        .get(format!("http://{addr}/healthz"))
        .call()
        .is_err()
    {
        assert!(Instant::now() < deadline, "server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    let pid = std::process::id().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while builds.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        let _ = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status();
        std::thread::sleep(Duration::from_millis(300));
    }

    // A request in flight: headers and half the body sent.
    let msg = sample("phish-typosquat.eml");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /checkv2 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        msg.len()
    )
    .unwrap();
    s.write_all(&msg[..msg.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let _ = tx.send(());
    std::thread::sleep(Duration::from_millis(300));
    // New connections are refused now...
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
    // ...but the one in flight finishes.
    s.write_all(&msg[msg.len() / 2..]).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"action\":\"reject\""), "{out}");
    let r = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(15), task).await })
        .expect("run_until returned")
        .expect("join");
    assert!(r.is_ok(), "{r:?}");
}

/// Issue 17 item 6c/6d: a DNS-rebinding page (another name for our
/// address in `Host`) used `/v1/scan` and the admin API; a cross-site
/// `text/plain` POST to `/checkv2` (a browser's "simple" request, no
/// preflight) landed a message in the quarantine.
#[test]
fn browsers_from_elsewhere_are_refused() {
    let srv = start_with(
        |c| {
            c.rspamd_quarantine_action = outwork_server::RspamdQuarantineAction::Reject;
            c.allowed_hosts = vec!["outwork.example.org".into()];
        },
        None,
    );
    let msg = sample("phish-double-extension.eml");
    let post = |path: &str, headers: &[(&str, &str)]| {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n",
            msg.len()
        );
        if !headers.iter().any(|(k, _)| *k == "Host") {
            req.push_str(&format!("Host: {}\r\n", srv.run.addr()));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let mut b = format!("{req}\r\n").into_bytes();
        b.extend_from_slice(&msg);
        let out = raw(srv.run.addr(), &b, Duration::from_secs(30));
        out.get(9..12).unwrap_or("").to_string()
    };
    let rebind = [("Host", "rebind.evil.example:11333")];
    assert_eq!(post("/v1/scan", &rebind), "403");
    assert_eq!(post("/v1/scan/text", &rebind), "403");
    let bearer = format!("Bearer {TOKEN}");
    let admin = |host: &str| {
        raw(
            srv.run.addr(),
            format!(
                "GET /admin/quarantine HTTP/1.1\r\nHost: {host}\r\nAuthorization: {bearer}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
            Duration::from_secs(30),
        )
        .get(9..12)
        .unwrap_or("")
        .to_string()
    };
    assert_eq!(admin("rebind.evil.example"), "403");
    assert_eq!(admin("localhost:11333"), "200");
    assert_eq!(admin("outwork.example.org"), "200", "allowed_hosts");
    assert_eq!(admin(&srv.run.addr().to_string()), "200");

    // Cross-site browser POSTs to /checkv2: refused, nothing stored.
    let plain = ("Content-Type", "text/plain");
    for h in [
        vec![plain, ("Origin", "http://evil.example")],
        vec![plain, ("Origin", "null")],
        vec![plain, ("Sec-Fetch-Site", "cross-site")],
        vec![
            plain,
            ("Origin", "http://rebind.evil.example:11333"),
            ("Host", "rebind.evil.example:11333"),
        ],
    ] {
        assert_eq!(post("/checkv2", &h), "403", "{h:?}");
        assert_eq!(post("/v1/scan", &h), "403", "{h:?}");
    }
    assert!(
        srv.quarantine.list().unwrap().is_empty(),
        "a browser quarantined a message"
    );
    // An MTA (no Origin, any Host) is scanned and the copy kept.
    assert_eq!(
        post(
            "/checkv2",
            &[("Rcpt", "b@example.org"), ("Host", "scanner.internal")]
        ),
        "200"
    );
    assert_eq!(srv.quarantine.list().unwrap().len(), 1);
    // The server's own origin (a page it served) passes.
    let own = format!("http://{}", srv.run.addr());
    assert_eq!(
        post(
            "/v1/scan",
            &[("Origin", own.as_str()), ("Sec-Fetch-Site", "same-origin")]
        ),
        "200"
    );
}

/// Issue 17 item 6h: a message quarantined from `/checkv2` without `Rcpt`
/// could not be released. The admin now names the recipients (the To/Cc
/// are suggested, never used on their own: the sender wrote them).
#[test]
fn release_without_recorded_recipients_takes_them_from_the_admin() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("released.eml");
    let srv = start_with(
        |c| {
            c.rspamd_quarantine_action = outwork_server::RspamdQuarantineAction::Reject;
            c.release_command = vec![
                "/bin/sh".into(),
                "-c".into(),
                "cat > \"$0\"; shift; echo \"$@\" > \"$0.args\"".into(),
                dest.display().to_string(),
                "x".into(),
                "{rcpt_to}".into(),
            ];
        },
        None,
    );
    // Quarantined over /checkv2 with no Rcpt header.
    let r = agent()
        .post(srv.url("/checkv2"))
        .send(&sample("phish-double-extension.eml")[..])
        .unwrap();
    assert_eq!(r.status(), 200);
    let l = srv.quarantine.list().unwrap();
    assert_eq!(l.len(), 1);
    assert!(l[0].envelope.rcpt_to.is_empty());
    let id = l[0].id.clone();
    let auth = format!("Bearer {TOKEN}");
    let mut r = agent()
        .post(srv.url(&format!("/admin/quarantine/{id}/release")))
        .header("Authorization", &auth)
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 409);
    let j = json(&mut r);
    assert!(j["error"].as_str().unwrap().contains("?rcpt="), "{j}");
    assert_eq!(j["header_recipients"][0], "lee.park@example.com", "{j}");
    assert_eq!(srv.quarantine.list().unwrap().len(), 1, "kept");
    let r = agent()
        .post(srv.url(&format!(
            "/admin/quarantine/{id}/release?rcpt=alice@example.org&rcpt=bob@example.org"
        )))
        .header("Authorization", &auth)
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    let args = std::fs::read_to_string(out.path().join("released.eml.args")).unwrap();
    assert_eq!(args.trim(), "alice@example.org bob@example.org");
    assert!(srv.quarantine.list().unwrap().is_empty());
}

/// Issue 17 item 7: a sender who writes `Authentication-Results: <our
/// id>; dmarc=pass` got a DMARC pass through `/checkv2` (and `/v1/scan`).
/// A header claiming our own authserv-id arriving with the message is
/// forged (RFC 8601 §5): ignored and reported, on every path.
#[test]
fn forged_authentication_results_are_ignored_on_http_paths() {
    let mut cfg = outwork_core::Config {
        model: outwork_core::ModelConfig {
            enabled: false,
            path: None,
        },
        ..Default::default()
    };
    cfg.auth.authserv_id = "mx.example.org".into();
    cfg.auth.trusted_authserv_ids = vec!["mx.example.org".into(), "edge.example.org".into()];
    let scanner = outwork_engine::Scanner::from_config(outwork_core::Context::new(cfg)).unwrap();
    let cell = ScannerCell::new(Arc::new(scanner));
    let svc = Services {
        reloader: Reloader::new(cell, None),
        ..Services::fixed(Arc::new(outwork_engine::Scanner::offline(Arc::new(
            outwork_core::Context::new(outwork_core::Config {
                model: outwork_core::ModelConfig {
                    enabled: false,
                    path: None,
                },
                ..Default::default()
            }),
        ))))
    };
    let run = Running::start(
        HttpConfig {
            listen: "127.0.0.1:0".into(),
            ..Default::default()
        },
        svc,
        2,
    )
    .unwrap();
    let msg = |id: &str| {
        format!(
            "Received: from mx.example.org by mail.example.org; Mon, 7 Dec 2026 10:00:00 +0000\r\n\
             Authentication-Results: {id}; spf=pass smtp.mailfrom=paypal.com; dkim=pass header.d=paypal.com; dmarc=pass header.from=paypal.com\r\n\
             From: PayPal <service@paypal.com>\r\nTo: <bob@example.org>\r\nSubject: account\r\n\r\nhello\r\n"
        )
    };
    let symbols = |path: &str, body: &str| -> Vec<String> {
        let mut r = agent().post(run.url(path)).send(body).unwrap();
        assert_eq!(r.status(), 200);
        let j = json(&mut r);
        let syms = &j["symbols"];
        match syms {
            Value::Array(a) => a
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect(),
            Value::Object(o) => o.keys().cloned().collect(),
            _ => panic!("{j}"),
        }
    };
    for path in ["/checkv2", "/v1/scan"] {
        let s = symbols(path, &msg("mx.example.org"));
        assert!(
            !s.contains(&"DMARC_PASS".to_string()),
            "{path}: forged pass believed: {s:?}"
        );
        assert!(
            !s.contains(&"AUTH_RESULTS_TRUSTED".to_string()),
            "{path}: {s:?}"
        );
        assert!(
            s.contains(&"AUTH_RESULTS_FORGED".to_string()),
            "{path}: {s:?}"
        );
        // An upstream edge's id (which strips forged copies itself) is believed.
        let s = symbols(path, &msg("edge.example.org"));
        assert!(s.contains(&"DMARC_PASS".to_string()), "{path}: {s:?}");
        assert!(
            !s.contains(&"AUTH_RESULTS_FORGED".to_string()),
            "{path}: {s:?}"
        );
    }
}

/// Issue 17, item 3: 300 idle connections (half silent, half with a
/// request that never finishes its headers) with `max_connections` 50
/// used to keep `/healthz` waiting for `header_timeout_ms`. Now a
/// newcomer closes the connection idle longest.
#[test]
fn idle_connections_do_not_starve_a_real_request() {
    let srv = start_with(|c| c.max_connections = 50, None);
    let addr = srv.run.addr();
    let mut idle = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(addr).unwrap();
        if i % 2 == 1 {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
        }
        idle.push(s);
    }
    let t = Instant::now();
    let r = raw(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(4),
    );
    let took = t.elapsed();
    assert!(r.starts_with("HTTP/1.1 200"), "after {took:?}: {r:?}");
    eprintln!("healthz with 300 idle connections held (max_connections 50): {took:?}");
    drop(idle);
}

/// A TCP connection from another loopback address (Linux routes all of
/// 127/8 to lo): a second client on one machine.
fn tcp_from(src: &str, addr: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(format!("{src}:0").parse().unwrap()).unwrap();
        let s = sock.connect(addr).await.unwrap();
        s.into_std().unwrap()
    })
}

/// Issue 17, item 3: one client can hold at most `max_connections_per_ip`
/// connections; more are closed at once, and others are still served.
#[test]
fn connections_per_client_are_capped() {
    let srv = start_with(
        |c| {
            c.max_connections = 50;
            c.max_connections_per_ip = 5;
        },
        None,
    );
    let addr = srv.run.addr();
    let held: Vec<_> = (0..5).map(|_| tcp_from("127.0.0.2", addr)).collect();
    let mut sixth = tcp_from("127.0.0.2", addr);
    sixth.set_nonblocking(false).unwrap();
    sixth
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut b = [0u8; 16];
    let t = Instant::now();
    let r = sixth.read(&mut b);
    // EOF, or a reset (it was closed with nothing unread): at once.
    assert!(
        matches!(r, Ok(0)) || (r.is_err() && t.elapsed() < Duration::from_secs(2)),
        "the sixth connection was not closed: {r:?} after {:?}",
        t.elapsed()
    );
    let r = raw(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r:?}");
    drop(held);
}

/// Issue 17: slow uploads that withhold their last byte must not hold
/// more than `max_buffered_bytes` together. With room for three 1 MiB
/// bodies, three held uploads fill it: the next upload (declared or
/// chunked) gets 503 with Retry-After at once instead of being buffered
/// (before the budget it waited, buffered, for the request deadline), and
/// once the held ones go away a message is scanned again.
#[test]
fn slow_uploads_cannot_hold_more_than_the_buffered_budget() {
    const MIB: usize = 1024 * 1024;
    let srv = start_with(
        |c| {
            c.max_body_bytes = MIB;
            c.max_buffered_bytes = 3 * MIB as u64;
            c.request_timeout_ms = 20_000;
        },
        None,
    );
    let addr = srv.run.addr();
    // Three uploads declaring 1 MiB, sending most of it, never the rest.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(addr).unwrap();
        let head =
            format!("POST /v1/scan HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {MIB}\r\n\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&vec![b'a'; MIB - 1]).unwrap();
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));

    // A declared body: refused before it is read.
    let t = Instant::now();
    let req = format!(
        "POST /v1/scan HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        64 * 1024
    );
    let mut body = req.into_bytes();
    body.extend(std::iter::repeat_n(b'x', 64 * 1024));
    let r = raw(addr, &body, Duration::from_secs(15));
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    assert!(r.to_ascii_lowercase().contains("retry-after:"), "{r}");
    assert!(r.contains("max_buffered_bytes"), "{r}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // A chunked body (no length up front): refused as it arrives.
    let mut req = b"POST /checkv2 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    req.extend_from_slice(format!("{:x}\r\n", 200 * 1024).as_bytes());
    req.extend(std::iter::repeat_n(b'y', 200 * 1024));
    req.extend_from_slice(b"\r\n");
    let r = raw(addr, &req, Duration::from_secs(15));
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());

    // Rspamd's legacy protocol (Exim) draws on the same budget.
    let mut req = format!("CHECK RSPAMC/1.3\r\nContent-length: {}\r\n\r\n", 64 * 1024).into_bytes();
    req.extend(std::iter::repeat_n(b'z', 64 * 1024));
    let r = raw(addr, &req, Duration::from_secs(15));
    assert!(r.starts_with("RSPAMD/1.3 503"), "{r}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());

    // The holders give up: their bytes are given back and mail flows.
    drop(held);
    let msg = sample("phish-typosquat.eml");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut r = agent().post(srv.url("/v1/scan")).send(&msg[..]).unwrap();
        if r.status().as_u16() == 200 {
            assert_eq!(json(&mut r)["action"], "reject");
            break;
        }
        assert_eq!(r.status().as_u16(), 503);
        assert!(Instant::now() < deadline, "budget never given back");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn buffered_budget_must_hold_one_body() {
    let c = HttpConfig {
        max_body_bytes: 2048,
        max_buffered_bytes: 1024,
        ..Default::default()
    };
    assert!(c.validate().is_err());
    let c = HttpConfig {
        max_body_bytes: 2048,
        ..Default::default()
    };
    assert!(c.buffered_budget() >= 2048);
}
