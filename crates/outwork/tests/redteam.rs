//! `outwork eval`, `outwork redteam` and `outwork assess` as a security team
//! drives them, on a small labelled corpus the test writes itself.

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

use outwork_test_support::{sandbox_home, temp_dir};
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

/// phish/ (brand lookalikes with deceptive links), ham/ (plain mail).
fn corpus(root: &Path) -> PathBuf {
    let c = root.join("corpus");
    let brands = [
        ("PayPal", "paypal.com", "paypa1.com"),
        ("Microsoft", "microsoft.com", "rnicrosoft.com"),
        ("DHL", "dhl.com", "dhl-parcel-track.top"),
        ("Netflix", "netflix.com", "netfllx.com"),
        ("Apple", "apple.com", "appie-id.com"),
        ("Amazon", "amazon.com", "arnazon.com"),
    ];
    std::fs::create_dir_all(c.join("phish/lures")).unwrap();
    std::fs::create_dir_all(c.join("ham/people")).unwrap();
    for (i, (name, real, fake)) in brands.iter().enumerate() {
        let m = format!(
            "From: \"{name}\" <service@{name}-resolution.example>\r\nTo: jordan@example.net\r\nSubject: Your {name} account has been limited\r\nDate: Tue, 18 Mar 2025 03:1{i}:00 +0000\r\nMessage-ID: <lim{i}@resolution.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Dear Customer,</p><p>We noticed unusual activity and limited your account. To restore access, verify your information at <a href=\"https://www.{fake}/signin?id={i}\">www.{real}</a> within 24 hours.</p><p>Sincerely,<br>{name}</p></body></html>\r\n"
        );
        std::fs::write(c.join(format!("phish/lures/p{i}.eml")), m).unwrap();
    }
    let notes = [
        "Lunch on Thursday works for me. See you at noon.",
        "Attached are the minutes from the board meeting, nothing urgent.",
        "Can you review my pull request when you have a minute? Thanks!",
        "The garden club meets next week; bring seeds to swap.",
        "Happy birthday! Hope you have a wonderful day with the family.",
        "Reminder: the office is closed on Monday for the holiday.",
    ];
    for (i, n) in notes.iter().enumerate() {
        let m = format!(
            "From: Sam Lee <sam{i}@example.org>\r\nTo: jordan@example.net\r\nSubject: note {i}\r\nDate: Tue, 18 Mar 2025 09:0{i}:00 +0000\r\nMessage-ID: <note{i}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{n}\r\n"
        );
        std::fs::write(c.join(format!("ham/people/h{i}.eml")), m).unwrap();
    }
    c
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("json written")).expect("valid json")
}

#[test]
fn eval_json_html_and_two_engines_side_by_side() {
    let d = temp_dir("eval");
    let c = corpus(&d);
    let (j, h) = (d.join("eval.json"), d.join("eval.html"));
    // A second engine that is down: its messages are errors, the run goes on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(bin()
        .arg("eval")
        .arg(&c)
        .args(["--engine", "outwork", "--engine"])
        .arg(format!("down=checkv2:http://127.0.0.1:{dead}"))
        .args(["--timeout-ms", "2000", "--json"])
        .arg(&j)
        .arg("--html")
        .arg(&h));
    let so = text(&out.stdout);
    let se = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{so}\n{se}");
    assert!(so.contains("side by side on the same messages"), "{so}");
    assert!(se.contains("12 result(s) without a verdict"), "{se}");
    let v = json(&j);
    let e = &v["engines"][0];
    assert_eq!(e["engine"], "outwork");
    assert_eq!(e["tp"].as_u64().unwrap() + e["fn_"].as_u64().unwrap(), 6);
    assert_eq!(e["fp"].as_u64().unwrap() + e["tn"].as_u64().unwrap(), 6);
    assert_eq!(e["tp"], 6, "every lure has a deceptive link: {e}");
    assert_eq!(e["fp"], 0, "{e}");
    assert_eq!(e["auc"].as_f64().unwrap(), 1.0);
    assert!(e["ablation"].as_array().unwrap().len() == 7);
    assert_eq!(v["engines"][1]["errors"], 12);
    let html = std::fs::read_to_string(&h).unwrap();
    assert!(html.contains("<svg") && html.contains("Content-Security-Policy"));
    assert!(!html.contains("<script"));
    // The side-by-side table keeps to numbers (ROC AUC in view); what each
    // engine is goes in a full-width row under it.
    let side = &html[html.find("Side by side").unwrap()..];
    let side = &side[..side.find("</table>").unwrap()];
    let head = &side[side.find("<thead>").unwrap()..side.find("</thead>").unwrap()];
    assert!(
        head.contains("ROC AUC") && !head.contains(">what<"),
        "{head}"
    );
    assert_eq!(
        side.matches("<tr class=\"detail\"><td colspan=\"10\"><b>what:</b> ")
            .count(),
        2,
        "{side}"
    );
}

#[test]
fn eval_resumes_an_interrupted_run() {
    let d = temp_dir("resume");
    let c = corpus(&d);
    let ck = d.join("ck.jsonl");
    let full = run(bin()
        .arg("eval")
        .arg(&c)
        .arg("--resume")
        .arg(&ck)
        .arg("--json")
        .arg(d.join("a.json")));
    assert_eq!(full.status.code(), Some(0), "{}", text(&full.stderr));
    // Interrupt: keep the header and 5 results, cut the 6th mid-line.
    let lines: Vec<String> = std::fs::read_to_string(&ck)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 13, "header + 12 results");
    let mut cut = lines[..6].join("\n");
    cut.push('\n');
    cut.push_str(&lines[6][..lines[6].len() / 2]);
    std::fs::write(&ck, cut).unwrap();
    let again = run(bin()
        .arg("eval")
        .arg(&c)
        .arg("--resume")
        .arg(&ck)
        .arg("--json")
        .arg(d.join("b.json")));
    let se = text(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{se}");
    assert!(se.contains("5 results already there"), "{se}");
    let (a, b) = (json(&d.join("a.json")), json(&d.join("b.json")));
    for k in ["tp", "fp", "tn", "fn_", "auc", "recall", "fpr"] {
        assert_eq!(a["engines"][0][k], b["engines"][0][k], "{k}");
    }
    // Another run's checkpoint is refused, not mixed in.
    let other = run(bin()
        .arg("eval")
        .arg(&c)
        .args(["--engine", "x=outwork", "--resume"])
        .arg(&ck));
    assert_eq!(other.status.code(), Some(2), "{}", text(&other.stderr));
    assert!(text(&other.stderr).contains("different run"));
}

#[test]
fn redteam_operators_rates_and_early_warning() {
    let d = temp_dir("redteam");
    let c = corpus(&d);
    let out_dir = d.join("variants");
    let (j, rates) = (d.join("rt.json"), d.join("rates.tsv"));
    let out = run(bin()
        .arg("redteam")
        .arg(&c)
        .args([
            "--ops",
            "homoglyph,shortener,qr,rewrite,smuggle,password-zip,homoglyph+qr",
            "--out",
        ])
        .arg(&out_dir)
        .arg("--json")
        .arg(&j)
        .arg("--html")
        .arg(d.join("rt.html"))
        .arg("--write-rates")
        .arg(&rates));
    let so = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{so}\n{}", text(&out.stderr));
    let v = json(&j);
    let variants = v["variants"].as_array().unwrap();
    let get = |name: &str| {
        variants
            .iter()
            .find(|x| x["variant"] == name)
            .unwrap_or_else(|| panic!("{name} in {v}"))
    };
    // Symbol lists get a row of their own, not columns that stretch
    // every row.
    let html = std::fs::read_to_string(d.join("rt.html")).unwrap();
    let head = &html[html.find("<thead>").unwrap()..html.find("</thead>").unwrap()];
    assert!(
        !head.contains("stopped firing") && head.contains("errors"),
        "{head}"
    );
    assert!(
        html.contains("<tr class=\"detail\"><td colspan=\"8\"><b>still caught by:</b> "),
        "{html}"
    );
    assert_eq!(get("identity")["n"], 6);
    assert_eq!(
        get("identity")["evaded"],
        0,
        "rebuilding must not lose the signals"
    );
    for op in ["homoglyph", "shortener", "qr", "homoglyph+qr"] {
        assert_eq!(get(op)["n"], 6, "{op}");
        assert_eq!(get(op)["errors"], 0, "{op}");
    }
    // The variants are on disk for inspection.
    assert!(
        out_dir.join("qr/phish_lures_p0.eml.eml").is_file()
            || out_dir.join("qr").read_dir().unwrap().count() >= 6
    );
    // Early warning: the recorded rates pass; a rate recorded lower fails.
    let ok = run(bin()
        .arg("redteam")
        .arg(&c)
        .args([
            "--ops",
            "homoglyph,shortener,qr,rewrite,smuggle,password-zip,homoglyph+qr",
            "--max-evasion",
        ])
        .arg(&rates));
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let worst = variants
        .iter()
        .filter(|x| x["evaded"].as_u64().unwrap() > 0)
        .map(|x| x["variant"].as_str().unwrap().to_string())
        .next();
    if let Some(w) = worst {
        std::fs::write(&rates, format!("{w}\t0.0\n")).unwrap();
        let bad = run(bin()
            .arg("redteam")
            .arg(&c)
            .args(["--ops", &w, "--max-evasion"])
            .arg(&rates));
        assert_eq!(bad.status.code(), Some(1));
        assert!(
            text(&bad.stderr).contains("early warning"),
            "{}",
            text(&bad.stderr)
        );
    }
}

#[test]
fn redteam_search_curves_gate_and_assess() {
    let d = temp_dir("search");
    let c = corpus(&d);
    let (j, h, rates) = (d.join("s.json"), d.join("s.html"), d.join("s.tsv"));
    // A second engine that is down: its searches have no verdict, the run
    // goes on and the report still puts the engines side by side.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(bin()
        .arg("redteam")
        .arg(&c)
        .args(["--search", "6", "--engine", "outwork", "--engine"])
        .arg(format!("down=checkv2:http://127.0.0.1:{dead}"))
        .args(["--timeout-ms", "2000", "--json"])
        .arg(&j)
        .arg("--html")
        .arg(&h)
        .arg("--write-rates")
        .arg(&rates));
    let (so, se) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{so}\n{se}");
    assert!(
        se.contains("search outwork: 6/6 messages"),
        "progress: {se}"
    );
    let v = json(&j);
    let s = &v["search"][0];
    assert_eq!(s["summary"]["engine"], "outwork");
    assert_eq!(s["summary"]["n"], 6);
    let curve = s["summary"]["curve"].as_array().unwrap();
    assert_eq!(curve.len(), 6);
    let evaded: Vec<u64> = curve
        .iter()
        .map(|c| c["evaded"].as_u64().unwrap())
        .collect();
    assert!(evaded.windows(2).all(|w| w[0] <= w[1]), "{evaded:?}");
    for m in s["messages"].as_array().unwrap() {
        let q = m["queries"].as_u64().unwrap();
        assert!((1..=6).contains(&q), "{m}");
        // Stopped at the first evasion, which names its combination.
        match m["evaded_at"].as_u64() {
            Some(at) => {
                assert_eq!(at, q, "{m}");
                assert!(m["cheapest"].is_string(), "{m}");
                assert_eq!(m["outcome"]["flagged"], false, "{m}");
            }
            None => assert_eq!(q, 6, "{m}"),
        }
    }
    assert_eq!(v["search"][1]["summary"]["errors"], 6);
    let html = std::fs::read_to_string(&h).unwrap();
    assert!(html.contains("Evasion rate by query budget") && html.contains("<svg"));
    assert!(
        html.contains(
            "<th scope=\"col\">budget</th><th scope=\"col\">outwork</th><th scope=\"col\">down</th>"
        ),
        "side by side"
    );
    // The gate reads the search rows.
    let recorded = std::fs::read_to_string(&rates).unwrap();
    assert!(
        recorded.contains("search@1\t") && recorded.contains("search@6\t"),
        "{recorded}"
    );
    let again = |rates: &Path| {
        run(bin()
            .arg("redteam")
            .arg(&c)
            .args(["--search", "6", "--max-evasion"])
            .arg(rates))
    };
    assert_eq!(again(&rates).status.code(), Some(0));
    if evaded[5] > 0 {
        std::fs::write(&rates, "search@6\t0.0\n").unwrap();
        let bad = again(&rates);
        assert_eq!(bad.status.code(), Some(1));
        assert!(text(&bad.stderr).contains("early warning: search@6"));
    }
    // A search combines single operators itself.
    let bad =
        run(bin()
            .arg("redteam")
            .arg(&c)
            .args(["--search", "4", "--ops", "debrand+esp-send"]));
    assert_ne!(bad.status.code(), Some(0));
    assert!(
        text(&bad.stderr).contains("single operators"),
        "{}",
        text(&bad.stderr)
    );

    // The marginal risk of esp-send for the adaptive attacker.
    let out = run(bin()
        .args(["assess", "--baseline"])
        .arg(&c)
        .args(["--capability", "search+esp-send", "--search", "4", "--json"])
        .arg(d.join("a.json")));
    let so = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{so}\n{}", text(&out.stderr));
    assert!(so.contains("4. Evidence of marginal risk"), "{so}");
    assert!(so.contains("esp-send for an adaptive attacker"), "{so}");
    let v = json(&d.join("a.json"));
    let m = &v["engines"][0]["marginal"];
    assert_eq!(
        (m["baseline_n"].as_u64(), m["new_n"].as_u64()),
        (Some(6), Some(6))
    );
    assert!(m["method"].as_str().unwrap().starts_with("paired"), "{m}");
    // (Within a fixed budget more operators need not help: the attacker
    // spends queries on them.)
    assert_eq!(m["paired"], 6, "{m}");
    let pool = |k: &str| v[k][0]["pool"].as_array().unwrap().clone();
    assert!(pool("search_with").contains(&serde_json::json!("esp-send")));
    assert!(!pool("search_without").contains(&serde_json::json!("esp-send")));
}

#[test]
fn assess_lays_out_the_marginal_risk_steps() {
    let d = temp_dir("assess");
    let c = corpus(&d);
    let out = run(bin()
        .args(["assess", "--baseline"])
        .arg(&c)
        .args(["--capability", "rewrite+shortener", "--ham"])
        .arg(&c)
        .arg("--html")
        .arg(d.join("a.html"))
        .arg("--json")
        .arg(d.join("a.json")));
    let so = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{so}\n{}", text(&out.stderr));
    for step in [
        "1. Threat",
        "2. Existing risk",
        "3. Existing defences",
        "4. Evidence of marginal risk",
        "5. Ease of defence",
        "6. Uncertainty",
    ] {
        assert!(so.contains(step), "{step}: {so}");
    }
    assert!(so.contains("6 baseline phishing messages"), "{so}");
    let v = json(&d.join("a.json"));
    let m = &v["engines"][0]["marginal"];
    assert_eq!(m["baseline_n"], 6);
    assert_eq!(m["new_n"], 6);
    assert!(m["method"].as_str().unwrap().starts_with("paired"), "{m}");
    let html = std::fs::read_to_string(d.join("a.html")).unwrap();
    assert!(html.contains("Evidence of marginal risk") && html.contains("<svg"));
}

#[test]
fn early_warning_fails_when_nothing_was_measured() {
    let d = temp_dir("gate-down");
    let c = corpus(&d);
    let rates = d.join("rates.tsv");
    std::fs::write(&rates, "identity\t1.0\nhomoglyph\t1.0\n").unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(bin()
        .arg("redteam")
        .arg(&c)
        .args(["--ops", "homoglyph", "--timeout-ms", "2000", "--engine"])
        .arg(format!("checkv2:http://127.0.0.1:{dead}"))
        .arg("--max-evasion")
        .arg(&rates));
    let se = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{se}");
    assert!(se.contains("got no verdict at all"), "{se}");
    // A rates file that can't be read fails too, rather than passing.
    std::fs::write(&rates, "homoglyph 0.5\n").unwrap();
    let out = run(bin()
        .arg("redteam")
        .arg(&c)
        .args(["--ops", "homoglyph", "--max-evasion"])
        .arg(&rates));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

/// README commands as written: `redteam --list-ops` needs no corpus;
/// `eval --limit N` scans N messages, both labels represented.
#[test]
fn readme_commands_list_ops_and_eval_limit() {
    let out = run(bin().args(["redteam", "--list-ops"]));
    let so = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(so.lines().count() >= 10 && so.contains("homoglyph"), "{so}");
    // Without --list-ops a corpus is still required.
    let out = run(bin().arg("redteam"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    let d = temp_dir("eval-limit");
    let c = corpus(&d);
    let j = d.join("eval.json");
    let out = run(bin()
        .arg("eval")
        .arg(&c)
        .args(["--limit", "4", "--json"])
        .arg(&j));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let e = &json(&j)["engines"][0];
    let pos = e["tp"].as_u64().unwrap() + e["fn_"].as_u64().unwrap();
    let neg = e["fp"].as_u64().unwrap() + e["tn"].as_u64().unwrap();
    assert_eq!(pos + neg, 4, "{e}");
    assert!(pos >= 1 && neg >= 1, "both labels in the spread: {e}");
}
