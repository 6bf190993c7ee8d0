//! The dashboard on a real HTTP server: messages scanned through /checkv2
//! and /v1/scan show up in its JSON API, filters work, hostile content
//! stays text, and writes need the token, the CSRF token and our Origin.

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Dash, TOKEN, agent, quarantine_one, seed, start};
use serde_json::Value;
use std::sync::{Mutex, OnceLock};

/// Everything logged in this test binary (the audit lines are checked).
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "outwork::dashboard=info",
            ))
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init();
    });
}

fn logged() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

fn body(r: &mut ureq::http::Response<ureq::Body>) -> String {
    r.body_mut().read_to_string().unwrap()
}

fn json(r: &mut ureq::http::Response<ureq::Body>) -> Value {
    let t = body(r);
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
}

fn get(d: &Dash, path: &str) -> Value {
    let mut r = agent().get(d.url(path)).call().unwrap();
    assert_eq!(r.status(), 200, "{path}");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{path}"
    );
    json(&mut r)
}

/// `name=value` of a Set-Cookie header.
fn set_cookie(r: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap_or("").to_string())
}

/// The CSRF cookie the page hands out, and its value.
fn csrf(d: &Dash) -> (String, String) {
    let r = agent().get(d.url("/dashboard/")).call().unwrap();
    let c = set_cookie(&r, "outwork_csrf").expect("csrf cookie");
    let v = c.split_once('=').unwrap().1.to_string();
    (c, v)
}

/// Log in as a browser would; returns the Cookie header for later requests.
fn login(d: &Dash) -> (String, String) {
    let (c, v) = csrf(d);
    let r = agent()
        .post(d.url("/dashboard/api/login"))
        .header("Cookie", &c)
        .header("X-CSRF-Token", &v)
        .header("Origin", &d.origin())
        .header("Content-Type", "application/json")
        .send(format!("{{\"token\": \"{TOKEN}\"}}"))
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = set_cookie(&r, "outwork_session").expect("session cookie");
    // Login hands out the CSRF token bound to the new session.
    let c = set_cookie(&r, "outwork_csrf").expect("session's CSRF cookie");
    let v = c.split_once('=').unwrap().1.to_string();
    let raw = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Strict"),
        "{raw}"
    );
    (format!("{c}; {s}"), v)
}

#[test]
fn scanned_messages_are_listed_filtered_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, _| {});
    seed(&d);

    let all = get(&d, "/dashboard/api/verdicts");
    assert_eq!(all["total"], 4, "{all}");
    let rows = all["verdicts"].as_array().unwrap();
    // Newest first: the last seeded message leads.
    assert_eq!(rows[0]["queue_id"], "QDOUBLE1");
    let typo = rows.iter().find(|r| r["queue_id"] == "QTYPO1").unwrap();
    assert_eq!(typo["source"], "checkv2");
    assert_eq!(typo["mail_from"], "billing@paypa1.example");
    assert_eq!(typo["rcpt_to"][0], "alice@example.org");
    let legit = rows.iter().find(|r| r["queue_id"] == "QLEGIT1").unwrap();
    assert_eq!(legit["source"], "scan");
    assert_eq!(legit["action"], "accept", "{legit}");

    // By action.
    let rejects = get(&d, "/dashboard/api/verdicts?action=accept");
    assert!(
        rejects["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"] == "accept")
    );
    assert!(rejects["total"].as_u64().unwrap() >= 1);
    let typo_action = typo["action"].as_str().unwrap();
    let by_action = get(&d, &format!("/dashboard/api/verdicts?action={typo_action}"));
    assert!(
        by_action["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["queue_id"] == "QTYPO1")
    );
    // By symbol: every row carries it.
    let sym = typo["symbols"][0]["name"].as_str().unwrap().to_string();
    let by_sym = get(&d, &format!("/dashboard/api/verdicts?symbol={sym}"));
    assert!(by_sym["total"].as_u64().unwrap() >= 1);
    for r in by_sym["verdicts"].as_array().unwrap() {
        assert!(
            r["symbols"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["name"] == sym.as_str()),
            "{r}"
        );
    }
    // By sender domain (envelope), and free text over subject/recipients.
    let by_dom = get(&d, "/dashboard/api/verdicts?domain=paypa1.example");
    assert_eq!(by_dom["total"], 1, "{by_dom}");
    assert_eq!(by_dom["verdicts"][0]["queue_id"], "QTYPO1");
    let by_rcpt = get(&d, "/dashboard/api/verdicts?q=BOB@EXAMPLE");
    assert_eq!(by_rcpt["total"], 1);
    assert_eq!(by_rcpt["verdicts"][0]["queue_id"], "QLEGIT1");
    let by_subject = get(&d, "/dashboard/api/verdicts?q=onerror");
    assert_eq!(by_subject["total"], 1);
    let none = get(&d, "/dashboard/api/verdicts?q=no-such-text-anywhere");
    assert_eq!(none["total"], 0);
    let future = get(&d, "/dashboard/api/verdicts?since=4102444800");
    assert_eq!(future["total"], 0);

    // The message view: every symbol with its evidence, URLs, headers.
    let id = typo["id"].as_u64().unwrap();
    let m = get(&d, &format!("/dashboard/api/verdicts/{id}"));
    let syms = m["symbols"].as_array().unwrap();
    assert!(!syms.is_empty());
    assert!(
        syms.iter()
            .any(|s| !s["evidence"].as_array().unwrap().is_empty()),
        "{m}"
    );
    assert!(syms.iter().all(|s| s["description"].is_string()));
    assert!(!m["urls"].as_array().unwrap().is_empty(), "{m}");
    assert!(m["headers"].as_str().unwrap().contains("Subject:"));
    assert_eq!(m["client_ip"], "192.0.2.10");
    let dbl = rows.iter().find(|r| r["queue_id"] == "QDOUBLE1").unwrap();
    let m = get(&d, &format!("/dashboard/api/verdicts/{}", dbl["id"]));
    let att = m["attachments"].as_array().unwrap();
    assert!(
        att.iter().any(|a| a["name"].is_string()),
        "attachment names recorded: {m}"
    );
    if m["action"] == "quarantine" {
        assert!(m["quarantine_id"].is_string(), "{m}");
    }
    let r = agent()
        .get(d.url("/dashboard/api/verdicts/999999"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = agent()
        .get(d.url("/dashboard/api/verdicts/abc"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[test]
fn hostile_content_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, _| {});
    seed(&d);
    let l = get(&d, "/dashboard/api/verdicts?q=evil.example");
    let row = &l["verdicts"][0];
    assert_eq!(row["subject"], "<img src=x onerror=alert(1)>");
    let m = get(&d, &format!("/dashboard/api/verdicts/{}", row["id"]));
    assert_eq!(m["subject"], "<img src=x onerror=alert(1)>");
    assert_eq!(m["from_name"], "<script>alert(2)</script>");
    // No HTML the dashboard serves carries it; the pages are static and
    // render message data with textContent only.
    for p in [
        "/dashboard/",
        "/dashboard/static/app.js",
        "/dashboard/static/style.css",
    ] {
        let mut r = agent().get(d.url(p)).call().unwrap();
        assert_eq!(r.status(), 200);
        let t = body(&mut r);
        assert!(
            !t.contains("onerror=alert") && !t.contains("alert(2)"),
            "{p}"
        );
    }
    let js = body(
        &mut agent()
            .get(d.url("/dashboard/static/app.js"))
            .call()
            .unwrap(),
    );
    assert!(
        !js.contains("innerHTML")
            && !js.contains("insertAdjacentHTML")
            && !js.contains("document.write")
    );
}

#[test]
fn security_headers_on_every_dashboard_response() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, _| {});
    for p in [
        "/dashboard/",
        "/dashboard/static/app.js",
        "/dashboard/api/verdicts",
        "/dashboard/api/status",
        "/dashboard/api/quarantine",
        "/dashboard/no-such-page",
    ] {
        let r = agent().get(d.url(p)).call().unwrap();
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{p}: no CSP"))
            .to_str()
            .unwrap();
        for want in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(want), "{p}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{p}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{p}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{p}");
    }
    // DNS rebinding: another name for our address is refused.
    let r = agent()
        .get(d.url("/dashboard/api/verdicts"))
        .header("Host", "rebind.evil.example")
        .call()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().contains_key("content-security-policy"));
    let r = agent().get(d.url("/dashboard")).call();
    // ureq follows the redirect to the shell.
    assert_eq!(r.unwrap().status(), 200);
}

#[test]
fn writes_need_token_csrf_and_our_origin() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, _| {});
    let id = quarantine_one(&d, "please release me");
    let a = agent();
    let release = format!("/dashboard/api/quarantine/{id}/release");

    // Quarantine reads need a login.
    let r = a.get(d.url("/dashboard/api/quarantine")).call().unwrap();
    assert_eq!(r.status(), 401);

    // Login: the CSRF token and our Origin are checked before the token.
    let (c, v) = csrf(&d);
    let try_login = |cookie: &str, csrf: &str, origin: &str, token: &str| {
        a.post(d.url("/dashboard/api/login"))
            .header("Cookie", cookie)
            .header("X-CSRF-Token", csrf)
            .header("Origin", origin)
            .send(format!("{{\"token\": \"{token}\"}}"))
            .unwrap()
            .status()
    };
    assert_eq!(try_login(&c, "", &d.origin(), TOKEN), 403, "no CSRF header");
    assert_eq!(try_login(&c, "f00d", &d.origin(), TOKEN), 403, "wrong CSRF");
    assert_eq!(
        try_login(&c, &v, "http://evil.example", TOKEN),
        403,
        "foreign Origin"
    );
    assert_eq!(
        try_login(&c, &v, &d.origin(), "wrong-token-0123456789"),
        401
    );

    // Not logged in: release refused even with CSRF and Origin.
    let r = a
        .post(d.url(&release))
        .header("Cookie", &c)
        .header("X-CSRF-Token", &v)
        .header("Origin", &d.origin())
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 401);

    let (cookies, v) = login(&d);
    // Logged in, but without the CSRF header / from a foreign Origin / no Origin.
    for (csrf, origin) in [
        ("", Some(d.origin())),
        (v.as_str(), Some("http://evil.example".to_string())),
        (v.as_str(), None),
    ] {
        let mut req = a.post(d.url(&release)).header("Cookie", &cookies);
        if !csrf.is_empty() {
            req = req.header("X-CSRF-Token", csrf);
        }
        if let Some(o) = &origin {
            req = req.header("Origin", o);
        }
        assert_eq!(
            req.send_empty().unwrap().status(),
            403,
            "{csrf:?} {origin:?}"
        );
    }
    assert_eq!(
        d.quarantine.list().unwrap().len(),
        1,
        "nothing released yet"
    );

    // The listing works once logged in.
    let mut r = a
        .get(d.url("/dashboard/api/quarantine"))
        .header("Cookie", &cookies)
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let l = json(&mut r);
    assert_eq!(l["messages"][0]["id"], id.as_str());
    assert_eq!(l["messages"][0]["subject"], "please release me");

    // Session + CSRF + Origin: released through the release command.
    let mut r = a
        .post(d.url(&release))
        .header("Cookie", &cookies)
        .header("X-CSRF-Token", &v)
        .header("Origin", &d.origin())
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(json(&mut r)["released"], id.as_str());
    assert!(d.quarantine.list().unwrap().is_empty());
    let delivered = std::fs::read_to_string(&d.released).unwrap();
    assert!(delivered.contains("Subject: please release me"));

    // Delete; a bearer token works without the CSRF dance (not ambient).
    let id2 = quarantine_one(&d, "delete me");
    let r = a
        .post(d.url(&format!("/dashboard/api/quarantine/{id2}/delete")))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(d.quarantine.list().unwrap().is_empty());

    // Both actions are audited with who did them and to which message.
    let log = logged();
    let line = |needle: &str, id: &str| {
        log.lines()
            .find(|l| l.contains(needle) && l.contains(id))
            .unwrap_or_else(|| panic!("no {needle:?} line for {id}:\n{log}"))
            .to_string()
    };
    let released = line("quarantined message released", &id);
    assert!(
        released.contains("actor=session ") && released.contains("from 127.0.0.1:"),
        "{released}"
    );
    let deleted = line("quarantined message deleted", &id2);
    assert!(
        deleted.contains("actor=bearer token from 127.0.0.1:"),
        "{deleted}"
    );

    // Scans from the dashboard are writes too.
    let r = a
        .post(d.url("/dashboard/api/url"))
        .header("Cookie", &cookies)
        .header("Origin", &d.origin())
        .send("{\"url\": \"http://paypa1.example/login\"}")
        .unwrap();
    assert_eq!(r.status(), 403);
    let mut r = a
        .post(d.url("/dashboard/api/url"))
        .header("Cookie", &cookies)
        .header("X-CSRF-Token", &v)
        .header("Origin", &d.origin())
        .send("{\"url\": \"http://paypa1.example/login\"}")
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(json(&mut r)["action"].is_string());
    let mut r = a
        .post(d.url("/dashboard/api/scan"))
        .header("Cookie", &cookies)
        .header("X-CSRF-Token", &v)
        .header("Origin", &d.origin())
        .send(&common::sample("phish-typosquat.eml")[..])
        .unwrap();
    assert_eq!(r.status(), 200);
    let j = json(&mut r);
    let vid = j["verdict_id"].as_u64().expect("recorded");
    assert_eq!(
        get(&d, &format!("/dashboard/api/verdicts/{vid}"))["source"],
        "dashboard"
    );

    // Logout ends the session.
    let r = a
        .post(d.url("/dashboard/api/logout"))
        .header("Cookie", &cookies)
        .header("X-CSRF-Token", &v)
        .header("Origin", &d.origin())
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = a
        .get(d.url("/dashboard/api/quarantine"))
        .header("Cookie", &cookies)
        .call()
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn guessing_the_token_is_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, _| {});
    let (c, v) = csrf(&d);
    let a = agent();
    let try_login = |token: &str| {
        a.post(d.url("/dashboard/api/login"))
            .header("Cookie", &c)
            .header("X-CSRF-Token", &v)
            .header("Origin", &d.origin())
            .send(format!("{{\"token\": \"{token}\"}}"))
            .unwrap()
    };
    for i in 0..5 {
        assert_eq!(try_login(&format!("guess-{i}-0123456789")).status(), 401);
    }
    // The window is used up: even the right token waits, with Retry-After.
    let r = try_login(TOKEN);
    assert_eq!(r.status(), 429);
    let wait: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&wait), "{wait}");
}

#[test]
fn without_a_token_writes_are_off() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |h, _| h.admin_token = None);
    let (c, v) = csrf(&d);
    let r = agent()
        .post(d.url("/dashboard/api/login"))
        .header("Cookie", &c)
        .header("X-CSRF-Token", &v)
        .header("Origin", &d.origin())
        .send("{\"token\": \"anything-at-all-0123\"}")
        .unwrap();
    assert_eq!(r.status(), 403);
    // Reads stay open (loopback by default).
    assert_eq!(get(&d, "/dashboard/api/verdicts")["total"], 0);
}

#[test]
fn login_for_reads_closes_the_verdict_list() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, dc| dc.login_for_reads = true);
    let r = agent()
        .get(d.url("/dashboard/api/verdicts"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 401);
    let (cookies, _) = login(&d);
    let r = agent()
        .get(d.url("/dashboard/api/verdicts"))
        .header("Cookie", &cookies)
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn the_log_survives_a_restart_and_retention_prunes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let d = start(dir.path(), |_, _| {});
        seed(&d);
        assert_eq!(get(&d, "/dashboard/api/verdicts")["total"], 4);
    }
    // An old record appended by hand: past the 7-day retention.
    let path = dir.path().join("verdicts.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let mut old = first.clone();
    old["id"] = 1000.into();
    old["time_ms"] = 1_000_000.into();
    old["queue_id"] = "QANCIENT".into();
    std::fs::write(&path, format!("{}\n{text}", old)).unwrap();

    let d = start(dir.path(), |_, _| {});
    let all = get(&d, "/dashboard/api/verdicts");
    assert_eq!(all["total"], 4, "{all}");
    assert!(
        all["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["queue_id"] != "QANCIENT")
    );
    assert!(
        !std::fs::read_to_string(&path).unwrap().contains("QANCIENT"),
        "pruned from the file"
    );
    // New ids continue after the highest seen.
    seed(&d);
    let ids: Vec<u64> = get(&d, "/dashboard/api/verdicts")["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 8);
    assert!(ids[0] > 1000, "{ids:?}");
    // Keep bounds the ring.
    drop(d);
    let d = start(dir.path(), |_, dc| dc.keep = 3);
    assert_eq!(get(&d, "/dashboard/api/verdicts")["total"], 3);
}

#[test]
fn status_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(
        reports.join("eval-1.html"),
        "<!doctype html><title>r</title><p>report</p>",
    )
    .unwrap();
    std::fs::write(reports.join("notes.txt"), "not a report").unwrap();
    common::write_intel(dir.path());
    let d = start(dir.path(), |_, _| {});
    seed(&d);

    let s = get(&d, "/dashboard/api/status");
    let hours = s["verdicts"]["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    let last = &hours[23];
    let n: u64 = ["accept", "tag", "quarantine", "reject", "other"]
        .iter()
        .map(|a| last[a].as_u64().unwrap())
        .sum();
    assert_eq!(n, 4, "this hour's bucket holds the seeded scans: {s}");
    let days = s["verdicts"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 7, "one per retention day");
    assert_eq!(days[6]["accept"], last["accept"]);
    assert_eq!(days[6]["reject"], last["reject"]);
    assert_eq!(s["verdicts"]["latency_ms"]["count"], 4);
    assert!(s["verdicts"]["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    let cfg = s["config_file"].as_str().unwrap();
    assert!(!cfg.contains(TOKEN) && !cfg.contains("hunter2"), "{cfg}");
    assert!(cfg.contains("(redacted)"), "{cfg}");
    assert_eq!(s["http"]["admin_token"], "(set)");
    let src = s["intel"]["store"]["sources"].as_array().unwrap();
    let by = |n: &str| src.iter().find(|x| x["name"] == n).unwrap().clone();
    assert_eq!(by("fresh-feed")["entries"], 2, "{s}");
    assert_eq!(by("fresh-feed")["stale"], false);
    assert_eq!(by("old-feed")["stale"], true);
    assert!(by("old-feed")["age_secs"].as_i64().unwrap() >= 10 * 86_400);

    let l = get(&d, "/dashboard/api/reports");
    let names: Vec<&str> = l["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["eval-1.html"]);
    let mut r = agent()
        .get(d.url("/dashboard/reports/eval-1.html"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    assert!(body(&mut r).contains("report"));
    for bad in ["notes.txt", "..%2Fverdicts.jsonl", ".hidden.html"] {
        let r = agent()
            .get(d.url(&format!("/dashboard/reports/{bad}")))
            .call()
            .unwrap();
        assert!(
            r.status() == 400 || r.status() == 404,
            "{bad}: {}",
            r.status()
        );
    }
}

/// `outwork serve`'s wiring: `[dashboard]` on by default with `[http]`,
/// the verdict log at `path`, and off with `enabled = false`.
#[test]
fn serve_wires_the_dashboard_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for enabled in [true, false] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path().join(format!("v-{enabled}.jsonl"));
        let text = format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\nadmin_token = \"{TOKEN}\"\n\
             [dashboard]\nenabled = {enabled}\npath = \"{}\"\n",
            log.display()
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let opts = outwork_server::RunOptions {
            config_text: text,
            build_scanner: std::sync::Arc::new(|| Ok(common::scanner())),
            intel_path: None,
        };
        let task = rt.spawn(outwork_server::run_until(opts, async {
            let _ = rx.await;
        }));
        let base = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while agent().get(format!("{base}/healthz")).call().is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "server did not come up"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let r = agent()
            .post(format!("{base}/checkv2"))
            .send(&common::sample("phish-typosquat.eml")[..])
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = agent()
            .get(format!("{base}/dashboard/api/verdicts"))
            .call()
            .unwrap();
        if enabled {
            assert_eq!(r.status(), 200);
            assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
        } else {
            assert_eq!(r.status(), 404);
            assert!(!log.exists());
        }
        let _ = tx.send(());
        let r = rt
            .block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(15), task).await
            })
            .expect("stopped")
            .expect("join");
        assert!(r.is_ok(), "{r:?}");
    }
}

/// Quarantine listings decode RFC 2047 subjects and names, as the scanner does.
#[test]
fn quarantine_subjects_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, _| {});
    // "Rechnung für Sie", from "Zoë".
    let id = quarantine_one(&d, "=?UTF-8?B?UmVjaG51bmcgZsO8ciBTaWU=?=");
    let mut r = agent()
        .get(d.url("/dashboard/api/quarantine"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let l = json(&mut r);
    assert_eq!(l["messages"][0]["subject"], "Rechnung für Sie", "{l}");
    let mut r = agent()
        .get(d.url(&format!("/dashboard/api/quarantine/{id}")))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    let m = json(&mut r);
    assert_eq!(m["subject"], "Rechnung für Sie");
    assert!(
        m["headers"].as_str().unwrap().contains("=?UTF-8?B?"),
        "raw headers stay raw"
    );
    assert_eq!(m["envelope"]["rcpt_to"][0], "dave@example.org");
}

/// Without a release command the dashboard can't deliver: it says so
/// (409) and keeps the message; the page is told to disable the button.
#[test]
fn release_without_a_command_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |h, _| h.release_command.clear());
    let id = quarantine_one(&d, "stay here");
    let r = agent()
        .post(d.url(&format!("/dashboard/api/quarantine/{id}/release")))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(d.quarantine.list().unwrap().len(), 1);
    assert_eq!(get(&d, "/dashboard/api/session")["release_command"], false);
}

/// Issue 17 item 6a: a cookie/header pair the client chose itself used to
/// pass the CSRF check (double submit); the token is now the one bound to
/// the session at login. 6e: the shell is `no-store`.
#[test]
fn csrf_token_is_bound_to_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, _| {});
    let id = quarantine_one(&d, "keep me");
    let a = agent();
    let (cookies, v) = login(&d);
    let session = cookies
        .split("; ")
        .find(|c| c.starts_with("outwork_session="))
        .unwrap()
        .to_string();
    let delete = format!("/dashboard/api/quarantine/{id}/delete");
    // An attacker-chosen pair (as a cookie-tossing subdomain could plant).
    let chosen = "ab".repeat(32);
    let r = a
        .post(d.url(&delete))
        .header("Cookie", &format!("{session}; outwork_csrf={chosen}"))
        .header("X-CSRF-Token", &chosen)
        .header("Origin", &d.origin())
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        d.quarantine.list().unwrap().len(),
        1,
        "deleted with a forged pair"
    );
    // The pre-login token no longer works either.
    let (pre, pre_v) = csrf(&d);
    let r = a
        .post(d.url(&delete))
        .header("Cookie", &format!("{pre}; {session}"))
        .header("X-CSRF-Token", &pre_v)
        .header("Origin", &d.origin())
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 403);
    // Reloading the page while logged in hands out the session's token,
    // never cached.
    let r = a
        .get(d.url("/dashboard/"))
        .header("Cookie", &session)
        .call()
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(
        set_cookie(&r, "outwork_csrf").unwrap(),
        format!("outwork_csrf={v}")
    );
    // The session's own token: deleted.
    let r = a
        .post(d.url(&delete))
        .header("Cookie", &cookies)
        .header("X-CSRF-Token", &v)
        .header("Origin", &d.origin())
        .send_empty()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(d.quarantine.list().unwrap().is_empty());
}

/// One request from a chosen loopback source address (Linux routes all of
/// 127/8 to lo): status.
fn status_from(src: &str, d: &Dash, req: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(format!("{src}:0").parse().unwrap()).unwrap();
        let mut s = sock.connect(d.addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut out)).await;
        let out = String::from_utf8_lossy(&out);
        out.get(9..12)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status: {out}"))
    })
}

/// Issue 17 item 6b: wrong bearer tokens were never throttled. They now
/// count against the client's address with wrong logins; another address
/// keeps using the right token.
#[test]
fn wrong_bearer_tokens_are_throttled_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, _| {});
    let admin = |token: &str| {
        format!(
            "GET /admin/quarantine HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
            d.addr
        )
    };
    let dash = |token: &str| {
        format!(
            "GET /dashboard/api/quarantine HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
            d.addr
        )
    };
    for i in 0..3 {
        assert_eq!(
            status_from("127.0.0.3", &d, &admin(&format!("guess-{i}-0123456789"))),
            401
        );
    }
    for i in 3..5 {
        assert_eq!(
            status_from("127.0.0.3", &d, &dash(&format!("guess-{i}-0123456789"))),
            401
        );
    }
    // The guesser's address is locked out, the right token included...
    assert_eq!(status_from("127.0.0.3", &d, &admin(TOKEN)), 429);
    assert_eq!(status_from("127.0.0.3", &d, &dash(TOKEN)), 429);
    // ...and its dashboard logins too (one throttle per address).
    let login = format!(
        "POST /dashboard/api/login HTTP/1.1\r\nHost: {0}\r\nOrigin: http://{0}\r\nCookie: outwork_csrf={1}\r\nX-CSRF-Token: {1}\r\nContent-Length: {2}\r\nConnection: close\r\n\r\n{{\"token\": \"{TOKEN}\"}}",
        d.addr,
        "cd".repeat(32),
        TOKEN.len() + 13,
    );
    assert_eq!(status_from("127.0.0.3", &d, &login), 429);
    // Another address is not affected.
    assert_eq!(status_from("127.0.0.4", &d, &admin(TOKEN)), 200);
    assert_eq!(status_from("127.0.0.4", &d, &dash(TOKEN)), 200);
    assert_eq!(status_from("127.0.0.4", &d, &login), 200);
}

/// The lists say what an admin asks first: which entry point scanned the
/// message (source), each symbol with its score as Rspamd's history shows
/// them (highest first), why a message sits in the quarantine, and a
/// subject written in raw GB2312 read in the charset the message declares.
#[test]
fn lists_carry_source_scores_reasons_and_8bit_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), |_, _| {});
    seed(&d);
    let mut gb = b"From: <sales@vendor.example>\r\nTo: <erin@example.org>\r\nSubject: ".to_vec();
    // "发票已到期" (invoice due) in GB2312, unencoded.
    gb.extend_from_slice(&[0xb7, 0xa2, 0xc6, 0xb1, 0xd2, 0xd1, 0xb5, 0xbd, 0xc6, 0xda]);
    gb.extend_from_slice(
        b" 2024\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=gb2312\r\n\r\nhi\r\n",
    );
    let r = agent()
        .post(d.url("/checkv2"))
        .header("Queue-Id", "QGB1")
        .send(&gb[..])
        .unwrap();
    assert_eq!(r.status(), 200);
    let l = get(&d, "/dashboard/api/verdicts");
    let rows = l["verdicts"].as_array().unwrap();
    let row = |q: &str| rows.iter().find(|r| r["queue_id"] == q).unwrap();
    assert_eq!(row("QGB1")["subject"], "发票已到期 2024", "{l}");
    assert_eq!(row("QTYPO1")["source"], "checkv2");
    assert_eq!(row("QLEGIT1")["source"], "scan");
    let syms = row("QTYPO1")["symbols"].as_array().unwrap();
    assert!(syms.len() >= 2, "{syms:?}");
    let scores: Vec<f64> = syms.iter().map(|s| s["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(syms.iter().all(|s| s["name"].is_string()));

    let raw = common::sample("phish-typosquat.eml");
    let v = common::scanner()
        .scan(&raw, &Default::default(), &Default::default())
        .verdict;
    d.quarantine
        .put(&raw, &v, &outwork_engine::Envelope::default())
        .unwrap();
    let mut r = agent()
        .get(d.url("/dashboard/api/quarantine"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    let q = json(&mut r);
    let m = &q["messages"][0];
    assert!(m["action"].is_string(), "{m}");
    assert_eq!(m["action"], v.action.as_str(), "{m}");
    let qs = m["symbols"].as_array().unwrap();
    assert!(
        qs.len() >= 2 && qs.iter().all(|s| s["score"].is_number()),
        "{m}"
    );
    assert_eq!(qs[0]["name"], "LINK_TEXT_TYPOSQUAT", "highest first: {m}");
}
