//! Golden tests: every `tests/cases/NAME.eml` is scanned and checked against
//! `tests/cases/NAME.expect`.
//!
//! `.expect` format, one item per line (`#` starts a comment):
//!
//! ```text
//! action: accept|tag|quarantine|reject   # exact action
//! flagged: yes|no                        # action != accept
//! +SYMBOL                                # must fire
//! +SYMBOL_A|SYMBOL_B                     # at least one of them must fire
//! -SYMBOL                                # must not fire
//! config: NAME.toml                      # deployment config in tests/cases/
//! ```
//!
//! The cases specify the signals and the hand-set weights (the prior and
//! the fallback of the learned model), so they run with `[model]` off: a
//! retrained model must not move them. The learned verdict is measured on
//! corpora, cross-validated (docs/QUALITY.md), and tested in
//! crates/outwork-redteam/tests/learned.rs.
//!
//! All failures are collected and reported together. Set `GOLDEN_VERBOSE=1`
//! (with `-- --nocapture`) to print every verdict.

use outwork_core::{Config, Context, Verdict};
use outwork_engine::{Envelope, Options, Scanner};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Default)]
struct Expect {
    action: Option<String>,
    flagged: Option<bool>,
    /// Each entry: alternatives, at least one must fire.
    must: Vec<Vec<String>>,
    must_not: Vec<String>,
    config: Option<String>,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases")
}

fn known_symbol(name: &str) -> bool {
    outwork_core::lookup_symbol(name).is_some()
}

fn parse_expect(text: &str) -> Result<Expect, Vec<String>> {
    let mut e = Expect::default();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let lineno = n + 1;
        if let Some(rest) = line.strip_prefix('+') {
            let alts: Vec<String> = rest
                .split('|')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if alts.is_empty() {
                errors.push(format!("line {lineno}: empty +SYMBOL"));
            }
            for a in &alts {
                if !known_symbol(a) {
                    errors.push(format!("line {lineno}: unknown symbol {a}"));
                }
            }
            e.must.push(alts);
        } else if let Some(rest) = line.strip_prefix('-') {
            let s = rest.trim().to_string();
            if !known_symbol(&s) {
                errors.push(format!("line {lineno}: unknown symbol {s}"));
            }
            e.must_not.push(s);
        } else if let Some((k, v)) = line.split_once(':') {
            let v = v.trim().to_string();
            match k.trim() {
                "action" => {
                    if !matches!(v.as_str(), "accept" | "tag" | "quarantine" | "reject") {
                        errors.push(format!("line {lineno}: bad action {v:?}"));
                    }
                    e.action = Some(v);
                }
                "flagged" => match v.as_str() {
                    "yes" => e.flagged = Some(true),
                    "no" => e.flagged = Some(false),
                    _ => errors.push(format!(
                        "line {lineno}: flagged must be yes or no, got {v:?}"
                    )),
                },
                "config" => e.config = Some(v),
                other => errors.push(format!("line {lineno}: unknown key {other:?}")),
            }
        } else {
            errors.push(format!("line {lineno}: cannot read {line:?}"));
        }
    }
    if e.action.is_some() && e.flagged.is_some() {
        errors.push("give either action: or flagged:, not both".into());
    }
    if e.action.is_none() && e.flagged.is_none() {
        errors.push("no action: or flagged: line".into());
    }
    if errors.is_empty() {
        Ok(e)
    } else {
        Err(errors)
    }
}

fn describe(v: &Verdict) -> String {
    let mut s = format!("    got: action={} score={}\n", v.action.as_str(), v.score);
    if v.symbols.is_empty() {
        s.push_str("      (no symbols)\n");
    }
    for sym in &v.symbols {
        let _ = writeln!(
            s,
            "      {} ({}): {}",
            sym.name,
            sym.score,
            sym.evidence.join(" | ")
        );
    }
    s
}

/// Check one verdict against its expectation; returns the problems.
fn check(e: &Expect, v: &Verdict) -> Vec<String> {
    let mut problems = Vec::new();
    let fired = |n: &str| v.symbols.iter().any(|s| s.name == n);
    if let Some(a) = &e.action
        && v.action.as_str() != a
    {
        problems.push(format!("expected action {a}, got {}", v.action.as_str()));
    }
    if let Some(f) = e.flagged {
        let got = v.action.as_str() != "accept";
        if got != f {
            problems.push(format!(
                "expected flagged: {}, got action {} (score {})",
                if f { "yes" } else { "no" },
                v.action.as_str(),
                v.score
            ));
        }
    }
    for alts in &e.must {
        if !alts.iter().any(|a| fired(a)) {
            problems.push(format!("expected +{} to fire", alts.join("|")));
        }
    }
    for n in &e.must_not {
        if fired(n) {
            problems.push(format!("expected -{n} not to fire"));
        }
    }
    for sym in &v.symbols {
        if sym.evidence.is_empty() || sym.evidence.iter().any(|ev| ev.trim().is_empty()) {
            problems.push(format!(
                "symbol {} has empty evidence: {:?}",
                sym.name, sym.evidence
            ));
        }
    }
    problems
}

#[test]
fn golden_cases() {
    let dir = cases_dir();
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut emls = Vec::new();
    let mut expects = Vec::new();
    for ent in entries {
        let p = ent.expect("dir entry").path();
        match p.extension().and_then(|x| x.to_str()) {
            Some("eml") => emls.push(p),
            Some("expect") => expects.push(p),
            _ => {}
        }
    }
    emls.sort();
    assert!(!emls.is_empty(), "no .eml cases in {}", dir.display());

    let mut failures: Vec<String> = Vec::new();
    for x in &expects {
        if !x.with_extension("eml").exists() {
            failures.push(format!("{}: .expect without a matching .eml", x.display()));
        }
    }

    // Each case runs through the scanner a deployment's config builds (the
    // pipeline the milter and the HTTP API use).
    let mut contexts: BTreeMap<String, Result<Scanner, String>> = BTreeMap::new();
    let hand_set = |mut c: Config| {
        c.model.enabled = false;
        Scanner::from_config(Context::new(c)).map_err(|e| e.to_string())
    };
    let default_ctx = hand_set(Config::default()).expect("default scanner");
    let mut passed = 0usize;
    // GOLDEN_VERBOSE=1 prints every verdict, passing or not (with --nocapture).
    let verbose = std::env::var_os("GOLDEN_VERBOSE").is_some();
    for eml in &emls {
        let name = eml.file_name().unwrap().to_string_lossy().to_string();
        let exp_path = eml.with_extension("expect");
        let exp_text = match fs::read_to_string(&exp_path) {
            Ok(t) => t,
            Err(_) => {
                failures.push(format!(
                    "{name}: missing {}",
                    exp_path.file_name().unwrap().to_string_lossy()
                ));
                continue;
            }
        };
        let exp = match parse_expect(&exp_text) {
            Ok(e) => e,
            Err(errs) => {
                failures.push(format!("{name}: bad .expect:\n    {}", errs.join("\n    ")));
                continue;
            }
        };
        let ctx = match &exp.config {
            None => &default_ctx,
            Some(cfg) => {
                let entry = contexts.entry(cfg.clone()).or_insert_with(|| {
                    let text = fs::read_to_string(dir.join(cfg))
                        .map_err(|e| format!("cannot read config {cfg}: {e}"))?;
                    let config =
                        Config::from_toml(&text).map_err(|e| format!("bad config {cfg}: {e}"))?;
                    hand_set(config)
                });
                match entry {
                    Ok(c) => &*c,
                    Err(e) => {
                        failures.push(format!("{name}: {e}"));
                        continue;
                    }
                }
            }
        };
        let bytes = fs::read(eml).expect("read eml");
        let verdict = ctx
            .scan(&bytes, &Envelope::default(), &Options::default())
            .verdict;
        let problems = check(&exp, &verdict);
        if problems.is_empty() {
            passed += 1;
            println!("ok   {name}: {} {}", verdict.action.as_str(), verdict.score);
            if verbose {
                print!("{}", describe(&verdict));
            }
        } else {
            println!("FAIL {name}: {} {}", verdict.action.as_str(), verdict.score);
            let mut s = format!(
                "{name}{}:\n",
                exp.config
                    .as_deref()
                    .map(|c| format!(" [config {c}]"))
                    .unwrap_or_default()
            );
            for p in &problems {
                let _ = writeln!(s, "    {p}");
            }
            s.push_str(&describe(&verdict));
            failures.push(s);
        }
    }
    println!("golden: {passed}/{} cases pass", emls.len());
    if !failures.is_empty() {
        panic!(
            "{} of {} golden case(s) failed:\n\n{}",
            failures.len(),
            emls.len(),
            failures.join("\n")
        );
    }
}
