//! Configuration and what ships with it: `config check` (unknown keys,
//! exposed listeners, every problem at once, agreeing with scan about YARA
//! and the model), the packaged config and the docs' snippets, man pages
//! and completions.

mod common;

use common::{bin, run, text};
use outwork_test_support::{repo, temp_dir};

use std::process::Command;

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
