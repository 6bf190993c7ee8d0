//! The CLI as a user drives it: `outwork scan`'s exit codes and output
//! formats (jsonl, streamed json over a big mbox, human headlines), every
//! command on a closed pipe, and eval giving the verdicts scan gives.

mod common;

use common::{bin, blocklist_store, offline_scan, quarantine_config, run, text};
use outwork_test_support::{repo, temp_dir};

use std::path::{Path, PathBuf};

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

/// `outwork … | head`: the reader closes the pipe; every command must end
/// quietly (no panic, no error), exit 0.
#[test]
fn every_command_ends_quietly_on_a_closed_pipe() {
    let d = temp_dir("pipe");
    let (qdir, cfg) = quarantine_config(&d);
    let store = outwork_server::QuarantineStore::open(&qdir).expect("store");
    let raw = std::fs::read(repo().join("samples/phish-typosquat.eml")).expect("sample");
    let verdict = offline_scan(&raw);
    let id = store
        .put(&raw, &verdict, &outwork_engine::Envelope::default())
        .expect("put");
    let samples = repo().join("samples").display().to_string();
    let cfg = cfg.display().to_string();
    let store_path = blocklist_store(&d);
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
