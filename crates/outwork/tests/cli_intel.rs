//! The intel workflow from the CLI: import → url check → scan → stats →
//! remove, feed updates, `intel init`, the Redis store, and `serve`
//! keeping the last good store when a reload finds it corrupt.

mod common;

use common::{Serve, bin, blocklist_store, http, run, text};
use outwork_test_support::{Redis, gates, repo, temp_dir};

use std::process::Command;

#[test]
fn intel_import_check_scan_stats_remove() {
    let d = temp_dir("intel");
    let store = d.join("intel.owi");
    let feed = d.join("openphish.txt");
    std::fs::write(
        &feed,
        "http://www.paypa1.com/\nhttps://login.evil.example/verify/\nnot a url at all ::\n",
    )
    .expect("write");
    // One line in three is junk: the format is still detected (the README's
    // first example), the line reported, as with `--format urls`.
    let o = run(bin()
        .args(["intel", "import", "--source", "openphish", "--intel"])
        .arg(&store)
        .arg(&feed));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("imported 2 entries") && text(&o.stdout).contains("(urls)"),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stderr).contains(":3: malformed"),
        "malformed line reported with its number: {}",
        text(&o.stderr)
    );
    // Two junk lines in four stay ambiguous: the user says the format.
    let mixed = d.join("mixed.txt");
    std::fs::write(
        &mixed,
        "http://a.example/x
note one
note two
http://b.example/y
",
    )
    .expect("write");
    let o = run(bin()
        .args(["intel", "import", "--source", "openphish", "--intel"])
        .arg(d.join("other.owi"))
        .arg(&mixed));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--format"), "{}", text(&o.stderr));
    let o = run(bin()
        .args([
            "intel",
            "import",
            "--format",
            "urls",
            "--source",
            "openphish",
            "--kind",
            "phishing",
            "--intel",
        ])
        .arg(&store)
        .arg(&feed));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("imported 2 entries"),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stderr).contains(":3: malformed"),
        "malformed line reported with its number: {}",
        text(&o.stderr)
    );

    let o = run(bin().args(["url", "check", "--intel"]).arg(&store).args([
        "https://login.evil.example/verify/step2?x=1",
        "https://example.org/",
    ]));
    assert_eq!(o.status.code(), Some(1), "a listed URL → 1");
    let out = text(&o.stdout);
    assert!(
        out.contains("LISTED")
            && out.contains("openphish")
            && out.contains("login.evil.example/verify/"),
        "{out}"
    );
    assert!(out.contains("https://example.org/: not listed"));
    let o = run(bin()
        .args(["url", "check", "-f", "jsonl", "--intel"])
        .arg(&store)
        .arg("https://example.org/"));
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).expect("json");
    assert_eq!(v["listed"], false);

    // The bundled typosquat sample links to www.paypa1.com.
    let o = run(bin()
        .args(["scan", "-q", "-f", "json", "--intel"])
        .arg(&store)
        .arg(repo().join("samples/phish-typosquat.eml")));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let sym = v["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .find(|s| s["name"] == "URL_BLOCKLISTED")
        .expect("URL_BLOCKLISTED fired");
    assert!(
        sym["evidence"][0]
            .as_str()
            .unwrap_or("")
            .contains("listed by openphish"),
        "{sym}"
    );

    // An allow-list wins, and says so.
    let cfg = d.join("allow.toml");
    std::fs::write(&cfg, "[allow]\ndomains = [\"paypa1.com\"]\n").expect("write");
    let o = run(bin()
        .args(["scan", "-q", "-f", "json", "--intel"])
        .arg(&store)
        .arg("--config")
        .arg(&cfg)
        .arg(repo().join("samples/phish-typosquat.eml")));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let names: Vec<&str> = v["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"INTEL_ALLOWLISTED") && !names.contains(&"URL_BLOCKLISTED"),
        "{names:?}"
    );

    // A clean hosts file is detected by itself.
    let hosts = d.join("hosts.txt");
    std::fs::write(
        &hosts,
        "# urlhaus\n0.0.0.0 malware-drop.example\n0.0.0.0 c2.bad.example\n",
    )
    .expect("write");
    let o = run(bin()
        .args([
            "intel", "import", "--source", "urlhaus", "--kind", "malware", "--intel",
        ])
        .arg(&store)
        .arg(&hosts));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("(hosts)"), "{}", text(&o.stdout));

    let o = run(bin().args(["intel", "stats", "--intel"]).arg(&store));
    assert!(
        text(&o.stdout).contains("openphish") && text(&o.stdout).contains("2 entries"),
        "{}",
        text(&o.stdout)
    );

    // A corrupt store is refused; the scan goes on and says so.
    let good = std::fs::read(&store).expect("read");
    let bad = d.join("bad.owi");
    std::fs::write(&bad, &good[..good.len() - 3]).expect("write");
    let o = run(bin()
        .args(["scan", "-q", "-f", "json", "--intel"])
        .arg(&bad)
        .arg(repo().join("samples/legit-paypal-receipt.eml")));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        v["symbols"]
            .as_array()
            .expect("symbols")
            .iter()
            .any(|s| s["name"] == "INTEL_UNAVAILABLE"),
        "{v}"
    );
    assert!(text(&o.stderr).contains("corrupt"));

    let o = run(bin()
        .args(["intel", "remove", "--source", "openphish", "--intel"])
        .arg(&store));
    assert_eq!(o.status.code(), Some(0));
    let o = run(bin()
        .args(["url", "check", "--intel"])
        .arg(&store)
        .arg("http://www.paypa1.com/"));
    assert_eq!(o.status.code(), Some(0), "removed source no longer matches");
    let o = run(bin()
        .args(["intel", "remove", "--source", "openphish", "--intel"])
        .arg(&store));
    assert_eq!(
        o.status.code(),
        Some(2),
        "removing an unknown source is an error"
    );
}

/// Serve one fixed body over HTTP/1.1 on loopback for `n` requests.
fn serve(body: &'static str, n: usize) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for s in l.incoming().take(n) {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/feed.txt")
}

#[test]
fn intel_update_fetches_configured_feeds() {
    let d = temp_dir("update");
    let store = d.join("intel.owi");
    let url = serve(
        "http://updated-feed.example/login/\nhttp://second.example/x\n",
        1,
    );
    let cfg = d.join("outwork.toml");
    std::fs::write(&cfg, format!("[intel]\npath = {:?}\nretries = 1\n[[intel.feeds]]\nname = \"local\"\nurl = \"{url}\"\nformat = \"urls\"\n", store.display().to_string())).expect("write");
    let o = run(bin().args(["intel", "update", "--config"]).arg(&cfg));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("updated: 2 entries"),
        "{}",
        text(&o.stdout)
    );
    let o = run(bin()
        .args(["url", "check", "--config"])
        .arg(&cfg)
        .arg("http://updated-feed.example/login/x"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    // The server is gone now: the feed fails, the previous data stays.
    let o = run(bin().args(["intel", "update", "--config"]).arg(&cfg));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("FAILED, previous data kept"),
        "{}",
        text(&o.stdout)
    );
    let o = run(bin()
        .args(["url", "check", "--config"])
        .arg(&cfg)
        .arg("http://updated-feed.example/login/x"));
    assert_eq!(o.status.code(), Some(1));
}

/// Whether redis-server is here (outwork_test_support::gates).
fn have_redis() -> bool {
    gates::check(&gates::REDIS)
}

#[test]
#[cfg_attr(
    outwork_no_redis,
    ignore = "needs redis-server (OUTWORK_REQUIRE_REDIS=1 makes this a failure)"
)]
fn redis_store_end_to_end_and_outage() {
    if !have_redis() {
        return;
    }
    let d = temp_dir("redis");
    let mut redis = Redis::start("cli");
    let url = redis.url();
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!("[intel]\nredis = \"{url}\"\nredis_timeout_ms = 300\n"),
    )
    .expect("write");
    let feed = d.join("feed.txt");
    std::fs::write(&feed, "http://www.paypa1.com/\n").expect("write");
    let o = run(bin()
        .args([
            "intel", "import", "--format", "urls", "--source", "shared", "--config",
        ])
        .arg(&cfg)
        .arg(&feed));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(bin()
        .args(["url", "check", "--config"])
        .arg(&cfg)
        .arg("http://www.paypa1.com/x"));
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let sample = repo().join("samples/phish-typosquat.eml");
    let o = run(bin()
        .args(["scan", "-q", "-f", "json", "--config"])
        .arg(&cfg)
        .arg(&sample));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        v["symbols"]
            .as_array()
            .expect("symbols")
            .iter()
            .any(|s| s["name"] == "URL_BLOCKLISTED"),
        "{v}"
    );

    // Redis goes away: the scan still finishes, promptly, and says why.
    redis.kill();
    let start = std::time::Instant::now();
    let o = run(bin()
        .args(["scan", "-q", "-f", "json", "--config"])
        .arg(&cfg)
        .arg(&sample));
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "bounded by the deadline"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let names: Vec<&str> = v["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"INTEL_UNAVAILABLE") && !names.contains(&"URL_BLOCKLISTED"),
        "{names:?}"
    );
    assert_ne!(
        v["action"], "accept",
        "offline signals still flag the typosquat"
    );
}

/// Issue 17 item 4: a store overwritten with a truncated file must not
/// replace the good index on reload (it used to answer `reloaded: true`
/// and listed URLs went from quarantine to accept); at start-up a corrupt
/// store is served like a missing one, loudly, with INTEL_UNAVAILABLE.
#[test]
fn serve_keeps_the_last_good_intel_store_when_reload_finds_it_corrupt() {
    let d = temp_dir("reload-intel");
    let store = blocklist_store(&d);
    let good = std::fs::read(&store).expect("store");
    let config = d.join("outwork.toml");
    std::fs::write(
        &config,
        "[http]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"reload-token-0123456789\"\n[dashboard]\nenabled = false\n",
    )
    .expect("config");
    let msg = b"From: <a@sender.example>\r\nTo: <b@example.org>\r\nSubject: verify\r\n\r\nhttps://login.evil.example/verify/now\r\n";
    let auth = [("Authorization", "Bearer reload-token-0123456789")];

    let srv = Serve::start(&config, &store, d.join("serve1.log"));
    assert!(srv.symbols(msg).contains(&"URL_BLOCKLISTED".to_string()));
    // Truncated in place (not renamed over): the good index must stay.
    std::fs::write(&store, &good[..good.len() / 2]).expect("truncate");
    let (st, body) = http(&srv.addr, "POST", "/admin/reload", &auth, b"");
    assert_eq!(st, 500, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["reloaded"], false, "{body}");
    assert!(
        v["error"].as_str().unwrap_or("").contains("corrupt"),
        "{body}"
    );
    let syms = srv.symbols(msg);
    assert!(syms.contains(&"URL_BLOCKLISTED".to_string()), "{syms:?}");
    assert!(!syms.contains(&"INTEL_UNAVAILABLE".to_string()), "{syms:?}");
    // SIGHUP: the same.
    let pid = srv.child.id().to_string();
    let _ = Command::new("kill").args(["-HUP", &pid]).status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while srv.log().matches("reload failed").count() < 2 {
        assert!(std::time::Instant::now() < deadline, "{}", srv.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(srv.symbols(msg).contains(&"URL_BLOCKLISTED".to_string()));
    let (_, metrics) = http(&srv.addr, "GET", "/metrics", &[], b"");
    assert!(
        metrics.contains("outwork_reloads_total{result=\"error\"} 2"),
        "{metrics}"
    );
    drop(srv);

    // Start-up with the corrupt store: served without blocklists, said
    // loudly, and every verdict carries INTEL_UNAVAILABLE.
    let srv = Serve::start(&config, &store, d.join("serve2.log"));
    let syms = srv.symbols(msg);
    assert!(syms.contains(&"INTEL_UNAVAILABLE".to_string()), "{syms:?}");
    assert!(srv.log().contains("WITHOUT blocklists"), "{}", srv.log());
    let (_, h) = http(&srv.addr, "GET", "/healthz", &[], b"");
    assert!(
        h.contains("\"intel\":false") && h.contains("corrupt"),
        "{h}"
    );
    // Nothing good to keep: a reload of the fixed file is taken.
    std::fs::write(&store, &good).expect("fix");
    let (st, body) = http(&srv.addr, "POST", "/admin/reload", &auth, b"");
    assert_eq!(st, 200, "{body}");
    assert!(srv.symbols(msg).contains(&"URL_BLOCKLISTED".to_string()));
}

#[test]
fn intel_init_creates_an_empty_store_and_keeps_an_existing_one() {
    let d = temp_dir("intel-init");
    let store = d.join("state/intel.owi");
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!("[intel]\npath = {:?}\n", store.display().to_string()),
    )
    .unwrap();
    // A configured store that doesn't exist is an error for a scan...
    let legit = repo().join("samples/legit-paypal-receipt.eml");
    let o = run(bin().args(["scan", "-q", "--config"]).arg(&cfg).arg(&legit));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    // ... until `intel init` creates it empty.
    let o = run(bin().args(["intel", "init", "--config"]).arg(&cfg));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("created an empty store"));
    let o = run(bin().args(["scan", "-q", "--config"]).arg(&cfg).arg(&legit));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // An existing store is left as it is.
    let feed = d.join("feed.txt");
    std::fs::write(&feed, "http://phish.example.test/login\n").unwrap();
    let o = run(bin()
        .args([
            "intel", "import", "--format", "urls", "--source", "t", "--config",
        ])
        .arg(&cfg)
        .arg(&feed));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let before = std::fs::read(&store).unwrap();
    let o = run(bin().args(["intel", "init", "--config"]).arg(&cfg));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("exists (1 entries)"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(std::fs::read(&store).unwrap(), before);
    // A corrupt one is refused, not replaced.
    std::fs::write(&store, b"not a store").unwrap();
    let o = run(bin().args(["intel", "init", "--config"]).arg(&cfg));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&store).unwrap(), b"not a store");
    let _ = std::fs::remove_dir_all(&d);
}
