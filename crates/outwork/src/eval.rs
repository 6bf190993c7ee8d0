//! `outwork eval`: the report a team reads before trusting a filter: any
//! filter, ours included, side by side on the same messages.

use anyhow::{Context as _, Result, bail};
use outwork_redteam as rt;
use rt::Engine;
use rt::EngineSummary;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Who is evaluated, with what, and where the results go: the same for
/// `eval`, `redteam` and `assess`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Who is evaluated; repeat to compare: `outwork` (in-process, the
    /// default), `checkv2:URL` (any Rspamd-compatible endpoint, real Rspamd
    /// included), `spamd:HOST:PORT` (SpamAssassin). Name one with
    /// NAME=SPEC, e.g. `rspamd=checkv2:http://127.0.0.1:11333`.
    #[arg(long = "engine", value_name = "SPEC")]
    pub engines: Vec<String>,
    /// Per-request timeout for checkv2 and spamd engines.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    pub timeout_ms: u64,
    #[arg(short, long)]
    pub config: Option<PathBuf>,
    /// Use this intel store (evaluations never pick up the default store).
    #[arg(long)]
    pub intel: Option<PathBuf>,
    #[arg(short = 'j', long)]
    pub threads: Option<usize>,
    /// Write every number of the run as JSON to this file (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report (SVG plots, no network) here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Record results in FILE as they come; if FILE holds an interrupted
    /// run of the same inputs, engines and config, continue it.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
}

impl RunArgs {
    /// Scan threads: as asked, else one per core.
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// Corpus root (MANIFEST.tsv, or phish/ ham/ spam/ folders).
    corpus: PathBuf,
    #[command(flatten)]
    run: RunArgs,
    /// Only these rows (a manifest with the same path column), e.g. the
    /// sample the anchors scanned.
    #[arg(long)]
    subset: Option<PathBuf>,
    /// At most N messages, spread evenly over the corpus (as `redteam
    /// --limit` and `assess --limit`), so every label and source is in.
    #[arg(long)]
    limit: Option<usize>,
    /// Rspamd/SpamAssassin verdicts from ../shared/anchors/scan.sh (JSONL),
    /// shown side by side on the messages they cover.
    #[arg(long)]
    anchors: Option<PathBuf>,
    /// Print Markdown tables (for docs/QUALITY.md).
    #[arg(long)]
    markdown: bool,
    /// Print paths of up to N missed phish and flagged ham.
    #[arg(long, default_value_t = 0)]
    show_misses: usize,
    /// Replay: ignore intel entries first seen after each message's Date,
    /// so old mail is judged with only what the feeds knew then.
    #[arg(long)]
    intel_as_of_date: bool,
    /// Fail (exit 1) if the first engine's phishing recall falls below this
    /// percentage.
    #[arg(long)]
    min_recall: Option<f64>,
    /// Fail (exit 1) if the first engine's ham false-positive rate exceeds
    /// this percentage.
    #[arg(long)]
    max_fp: Option<f64>,
    /// Also scan the benign twin of each phishing message (the same text
    /// sent by the brand it impersonates, authenticated, links on the
    /// brand's domain, no attachment) and report the twin false-positive
    /// rate beside recall. Messages with no identifiable brand get no twin.
    #[arg(long)]
    twins: bool,
    /// Fail (exit 1) if the first engine flags more than this percentage of
    /// the benign twins (implies --twins).
    #[arg(long, value_name = "RATE")]
    max_twin_fp: Option<f64>,
}

pub fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub fn pct2(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// The in-process scanner as configured, with the intel store if given.
pub fn scanner(
    config: Option<&PathBuf>,
    intel: Option<&PathBuf>,
    as_of_date: bool,
) -> Result<Arc<outwork_engine::Scanner>> {
    let mut ctx = crate::load_context(config)?;
    // An evaluation reads the first-contact history but never teaches it:
    // otherwise one variant would make the next a "known correspondent",
    // and a production store would learn the attack corpus.
    ctx.config.history.learn = false;
    let mut scanner = outwork_engine::Scanner::from_config(ctx).map_err(anyhow::Error::msg)?;
    let (intel, intel_error) = match intel {
        Some(p) => crate::intel_cmd::open_for_scan(p, true)?,
        None => (None, None),
    };
    scanner.intel = intel;
    scanner.intel_error = intel_error;
    scanner.intel_as_of_date = as_of_date;
    Ok(Arc::new(scanner))
}

pub fn engines(
    specs: &[String],
    scanner: &Arc<outwork_engine::Scanner>,
    timeout_ms: u64,
) -> Result<Vec<Box<dyn Engine>>> {
    let specs: Vec<String> = if specs.is_empty() {
        vec!["outwork".into()]
    } else {
        specs.to_vec()
    };
    let mut out: Vec<Box<dyn Engine>> = Vec::new();
    for s in &specs {
        let e = rt::parse_engine_spec(s, scanner, Duration::from_millis(timeout_ms))
            .map_err(anyhow::Error::msg)?;
        if out.iter().any(|o| o.name() == e.name()) {
            bail!(
                "two engines are named {:?}: name them with NAME=SPEC",
                e.name()
            );
        }
        out.push(e);
    }
    Ok(out)
}

/// A progress reporter: a bar on a terminal, a line per 10% otherwise.
pub fn progress(what: &str, total: usize) -> impl Fn(usize, usize) + Sync {
    let bar = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
        ) {
            pb.set_style(style);
        }
        pb.set_message(what.to_string());
        pb
    });
    let what = what.to_string();
    move |done, total| match &bar {
        Some(pb) => {
            pb.set_position(done as u64);
            if done == total {
                pb.finish_and_clear();
            }
        }
        None => {
            let step = (total / 10).max(1);
            if done % step == 0 || done == total {
                eprintln!("{what}: {done}/{total}");
            }
        }
    }
}

/// The checkpoint for `--resume`, or none.
pub fn checkpoint(
    path: Option<&PathBuf>,
    parts: &[&str],
) -> Result<(Option<rt::Checkpoint>, rt::Done)> {
    match path {
        None => Ok((None, Default::default())),
        Some(p) => {
            let (c, done) =
                rt::Checkpoint::open(p, &rt::fingerprint(parts)).map_err(anyhow::Error::msg)?;
            if !done.is_empty() {
                eprintln!(
                    "outwork: resuming from {}: {} results already there",
                    p.display(),
                    done.len()
                );
            }
            Ok((Some(c), done))
        }
    }
}

/// Config text (or "default") for checkpoint fingerprints.
pub fn config_text(p: Option<&PathBuf>) -> String {
    p.and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_else(|| "default".into())
}

pub fn write_out(path: &Path, text: &str) -> Result<()> {
    if path == Path::new("-") {
        println!("{text}");
        return Ok(());
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("outwork: wrote {}", path.display());
    Ok(())
}

pub fn run(a: EvalArgs) -> Result<u8> {
    let scanner = scanner(
        a.run.config.as_ref(),
        a.run.intel.as_ref(),
        a.intel_as_of_date,
    )?;
    let engines = engines(&a.run.engines, &scanner, a.run.timeout_ms)?;
    let mut samples = rt::load_corpus(&a.corpus)?;
    if let Some(sub) = &a.subset {
        let keep: std::collections::HashSet<String> = rt::load_manifest(&a.corpus, sub)?
            .into_iter()
            .map(|s| s.rel)
            .collect();
        samples.retain(|s| keep.contains(&s.rel));
    }
    if a.limit == Some(0) {
        bail!("--limit 0: nothing to evaluate");
    }
    if let Some(n) = a.limit {
        samples = crate::redteam::spread(samples, n);
    }
    if samples.is_empty() {
        bail!("no messages to evaluate in {}", a.corpus.display());
    }
    let threads = a.run.threads();
    let ids: Vec<String> = samples.iter().map(|s| s.rel.clone()).collect();
    let specs = a.run.engines.join(" ");
    let cfg = config_text(a.run.config.as_ref());
    let corpus = a.corpus.display().to_string();
    let n = ids.len().to_string();
    // Everything that changes a verdict names the run: a resume never
    // mixes results of another intel store, subset or config.
    let intel = format!("{:?} {}", a.run.intel, a.intel_as_of_date);
    let subset = format!("{:?}", a.subset);
    let twins = a.twins || a.max_twin_fp.is_some();
    let mut parts = vec![
        "eval",
        env!("CARGO_PKG_VERSION"),
        &corpus,
        &n,
        &specs,
        &cfg,
        &intel,
        &subset,
    ];
    if twins {
        parts.push("twins");
    }
    let (ckpt, done) = checkpoint(a.run.resume.as_ref(), &parts)?;
    let start = std::time::Instant::now();
    let load =
        |i: usize| -> Result<Vec<u8>, rt::LoadError> { Ok(std::fs::read(&samples[i].path)?) };
    let outcomes = rt::run_all(
        &ids,
        &load,
        &engines,
        true,
        threads,
        ckpt.as_ref(),
        &done,
        &progress("eval", ids.len()),
    )
    .map_err(anyhow::Error::msg)?;
    // Benign twins of the phishing: scanned after the corpus, recorded in
    // the same checkpoint under "twin:PATH".
    let twin_outcomes = if twins {
        let phish: Vec<usize> = (0..samples.len())
            .filter(|&i| samples[i].label == "phish")
            .collect();
        let twin_ids: Vec<String> = phish
            .iter()
            .map(|&i| format!("twin:{}", samples[i].rel))
            .collect();
        let load_twin = |k: usize| -> Result<Vec<u8>, rt::LoadError> {
            let raw = std::fs::read(&samples[phish[k]].path)?;
            rt::benign_twin(&raw).ok_or_else(|| rt::NO_TWIN.into())
        };
        Some(
            rt::run_all(
                &twin_ids,
                &load_twin,
                &engines,
                false,
                threads,
                ckpt.as_ref(),
                &done,
                &progress("twins", twin_ids.len()),
            )
            .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    let elapsed = start.elapsed().as_secs_f64();
    let summaries: Vec<EngineSummary> = engines
        .iter()
        .enumerate()
        .map(|(e, eng)| {
            let mut s = rt::summarize(&samples, &outcomes, e, eng.name(), &eng.describe());
            s.twins = twin_outcomes.as_ref().map(|t| rt::summarize_twins(t, e));
            s
        })
        .collect();

    let md = a.markdown;
    for s in &summaries {
        print_summary(s, md);
    }
    if summaries.len() > 1 {
        print_comparison(&summaries, md);
    }
    if md {
        println!(
            "\nWall time: {elapsed:.1}s for {} messages × {} engine(s) on {threads} threads (in-process: the full scan, then a second parse and 7 signal passes for the ablation).",
            samples.len(),
            engines.len()
        );
    } else {
        println!(
            "\n{} messages × {} engine(s) in {elapsed:.1}s",
            samples.len(),
            engines.len()
        );
    }
    if let Some(anchor_path) = &a.anchors {
        let anchors = rt::load_anchors(anchor_path)
            .with_context(|| format!("reading {}", anchor_path.display()))?;
        side_by_side(&samples, &outcomes, &anchors, md);
    }
    if a.show_misses > 0 {
        println!();
        for (label, want) in [("phish", false), ("ham", true)] {
            let mut shown = 0;
            for (s, r) in samples.iter().zip(&outcomes) {
                let o = &r[0];
                if s.label == label
                    && o.error.is_none()
                    && o.flagged == want
                    && shown < a.show_misses
                {
                    println!(
                        "{} {label} {} score={:.1} {:?}",
                        if want { "FP" } else { "MISS" },
                        s.rel,
                        o.score,
                        o.symbols
                    );
                    shown += 1;
                }
            }
        }
    }
    let errors: Vec<&rt::Outcome> = outcomes
        .iter()
        .flatten()
        .filter(|o| o.error.is_some())
        .collect();
    if !errors.is_empty() {
        eprintln!(
            "outwork: {} result(s) without a verdict (left out of every rate):",
            errors.len()
        );
        for o in errors.iter().take(10) {
            eprintln!(
                "  {} {}: {}",
                o.engine,
                o.id,
                o.error.as_deref().unwrap_or("")
            );
        }
    }
    if let Some(p) = &a.run.json {
        let v = serde_json::json!({
            "corpus": corpus,
            "messages": samples.len(),
            "seconds": elapsed,
            "engines": summaries,
        });
        write_out(p, &serde_json::to_string_pretty(&v)?)?;
    }
    if let Some(p) = &a.run.html {
        write_out(p, &html_report(&corpus, &summaries, elapsed))?;
    }

    let first = &summaries[0];
    let (recall, fp) = (first.recall * 100.0, first.fpr * 100.0);
    let mut fail = false;
    // A gate with nothing measured fails: 0 of 0 is not a pass.
    if a.min_recall.is_some() && first.tp + first.fn_ == 0 {
        eprintln!("outwork eval: --min-recall: no phishing message got a verdict");
        fail = true;
    } else if let Some(min) = a.min_recall
        && recall < min
    {
        eprintln!("outwork eval: phishing recall {recall:.2}% is below --min-recall {min}%");
        fail = true;
    }
    if a.max_fp.is_some() && first.fp + first.tn == 0 {
        eprintln!("outwork eval: --max-fp: no ham message got a verdict");
        fail = true;
    } else if let Some(max) = a.max_fp
        && fp > max
    {
        eprintln!("outwork eval: ham false positives {fp:.2}% exceed --max-fp {max}%");
        fail = true;
    }
    if let Some(max) = a.max_twin_fp {
        match &first.twins {
            Some(t) if t.twins > t.errors => {
                let fp = t.fpr * 100.0;
                if fp > max {
                    eprintln!(
                        "outwork eval: benign-twin false positives {fp:.2}% exceed --max-twin-fp {max}%"
                    );
                    fail = true;
                }
            }
            _ => {
                eprintln!("outwork eval: --max-twin-fp: no benign twin got a verdict");
                fail = true;
            }
        }
    }
    Ok(if fail { 1 } else { 0 })
}

fn ci(c: (f64, f64)) -> String {
    format!("{:.1}–{:.1}%", c.0 * 100.0, c.1 * 100.0)
}

fn ci2(c: (f64, f64)) -> String {
    format!("{:.2}–{:.2}%", c.0 * 100.0, c.1 * 100.0)
}

fn print_summary(s: &EngineSummary, md: bool) {
    let pos = s.tp + s.fn_;
    let neg = s.fp + s.tn;
    if md {
        println!("### {} ({})\n", s.engine, s.describe);
        println!("| source | label | messages | flagged | actions |\n|---|---|---:|---:|---|");
    } else {
        println!("== {} ({})", s.engine, s.describe);
        println!("per source:");
    }
    for r in &s.by_source {
        let acts = r
            .actions
            .iter()
            .map(|(a, c)| format!("{a}={c}"))
            .collect::<Vec<_>>()
            .join(" ");
        let f = r.flagged as f64 / (r.n - r.errors).max(1) as f64;
        if md {
            println!(
                "| {} | {} | {} | {} | {acts} |",
                r.source,
                r.label,
                r.n,
                pct(f)
            );
        } else {
            println!(
                "  {:<28} {:<6} n={:<5} flagged={:<7} {acts}",
                r.source,
                r.label,
                r.n,
                pct(f)
            );
        }
    }
    let spam = s.by_label.get("spam");
    let spam_line = spam.map(|l| {
        format!(
            "{} ({}/{})",
            pct(l.flagged as f64 / (l.n - l.errors).max(1) as f64),
            l.flagged,
            l.n - l.errors
        )
    });
    let at = |i: usize| {
        s.recall_at_fpr
            .get(i)
            .map(|r| {
                format!(
                    "{} (score ≥ {:.2}, FPR {})",
                    pct(r.recall),
                    r.threshold,
                    pct2(r.fpr)
                )
            })
            .unwrap_or_default()
    };
    let rows: Vec<(&str, String, String)> = vec![
        (
            "phishing recall (flagged)",
            format!("{} ({}/{pos})", pct(s.recall), s.tp),
            ci(s.recall_ci),
        ),
        (
            "ham false positives",
            format!("{} ({}/{neg})", pct2(s.fpr), s.fp),
            ci2(s.fpr_ci),
        ),
    ];
    let mut rows = rows;
    if let Some(t) = &s.twins {
        let judged = t.twins - t.errors;
        rows.push((
            "benign twins flagged (FP)",
            format!(
                "{} ({}/{judged}; {} of {} phish have a twin)",
                pct(t.fpr),
                t.flagged,
                t.twins,
                t.phish
            ),
            ci(t.fpr_ci),
        ));
    }
    rows.extend([
        ("precision (phish vs ham)", pct(s.precision), String::new()),
        ("F1", format!("{:.3}", s.f1), String::new()),
        ("ROC AUC (score)", format!("{:.4}", s.auc), String::new()),
        (
            "average precision (score)",
            format!("{:.4}", s.average_precision),
            String::new(),
        ),
        ("recall at FPR ≤ 1%", at(0), String::new()),
        ("recall at FPR ≤ 0.1%", at(1), String::new()),
        (
            "spam flagged",
            spam_line.unwrap_or_else(|| "no spam in corpus".into()),
            String::new(),
        ),
        (
            "latency per message",
            format!("median {:.2} ms, p99 {:.2} ms", s.median_ms, s.p99_ms),
            String::new(),
        ),
        (
            "results without a verdict",
            s.errors.to_string(),
            String::new(),
        ),
    ]);
    println!();
    if md {
        println!("| measure | value | 95% CI (Wilson) |\n|---|---:|---|");
        for (k, v, c) in &rows {
            println!("| {k} | {v} | {c} |");
        }
    } else {
        for (k, v, c) in &rows {
            if c.is_empty() {
                println!("{k:<28} {v}");
            } else {
                println!("{k:<28} {v}  (95% CI {c})");
            }
        }
    }
    // Confusion per action.
    let actions: Vec<&String> = {
        let mut a: Vec<&String> = s.by_label.values().flat_map(|l| l.actions.keys()).collect();
        a.sort();
        a.dedup();
        a
    };
    println!();
    if md {
        println!(
            "| label | {} |\n|---|{}",
            actions
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            "---:|".repeat(actions.len())
        );
    } else {
        println!("actions per label:");
    }
    for (label, l) in &s.by_label {
        let cells: Vec<String> = actions
            .iter()
            .map(|a| l.actions.get(*a).copied().unwrap_or(0).to_string())
            .collect();
        if md {
            println!("| {label} | {} |", cells.join(" | "));
        } else {
            let kv: Vec<String> = actions
                .iter()
                .zip(&cells)
                .map(|(a, c)| format!("{a}={c}"))
                .collect();
            println!("  {label:<6} {}", kv.join(" "));
        }
    }
    if let Some(ab) = &s.ablation {
        println!();
        if md {
            println!(
                "#### Family ablation (flagged with the family switched off)\n\n| family off | phishing recall | Δ recall | ham FP | Δ FP |\n|---|---:|---:|---:|---:|"
            );
        } else {
            println!("family ablation:");
        }
        for r in ab {
            if md {
                println!(
                    "| {} | {} | {:+.1} | {} | {:+.2} |",
                    r.family,
                    pct(r.recall),
                    r.recall_change * 100.0,
                    pct2(r.fpr),
                    r.fpr_change * 100.0
                );
            } else {
                println!(
                    "  without {:<12} recall {} ({:+.1})  ham FP {} ({:+.2})",
                    r.family,
                    pct(r.recall),
                    r.recall_change * 100.0,
                    pct2(r.fpr),
                    r.fpr_change * 100.0
                );
            }
        }
    }
    let n = |l: &str| {
        s.by_label
            .get(l)
            .map(|x| (x.n - x.errors).max(1))
            .unwrap_or(1) as f64
    };
    let (pn, hn, sn) = (n("phish"), n("ham"), n("spam"));
    println!();
    if md {
        println!(
            "#### Symbol firing rates\n\n| symbol | phish | ham | spam |\n|---|---:|---:|---:|"
        );
    } else {
        println!("symbol firing rates (phish / ham / spam):");
    }
    for r in &s.symbols {
        let (p, h, sp) = (r.phish as f64 / pn, r.ham as f64 / hn, r.spam as f64 / sn);
        if md {
            println!(
                "| `{}` | {} | {} | {} |",
                r.symbol,
                pct(p),
                pct2(h),
                pct(sp)
            );
        } else {
            println!(
                "  {:<32} {:>6} {:>7} {:>6}",
                r.symbol,
                pct(p),
                pct2(h),
                pct(sp)
            );
        }
    }
    println!();
}

fn print_comparison(all: &[EngineSummary], md: bool) {
    println!();
    let head = [
        "engine",
        "recall",
        "ham FP",
        "precision",
        "ROC AUC",
        "recall @1% FPR",
        "recall @0.1% FPR",
        "spam flagged",
        "median ms",
        "errors",
    ];
    if md {
        println!("### Side by side\n\n| {} |", head.join(" | "));
        println!("|---|{}", "---:|".repeat(head.len() - 1));
    } else {
        println!("side by side on the same messages:");
        println!(
            "  {:<14} {:>8} {:>8} {:>9} {:>8} {:>9} {:>9} {:>8} {:>9} {:>6}",
            "engine",
            "recall",
            "ham FP",
            "precision",
            "AUC",
            "r@1%",
            "r@0.1%",
            "spam",
            "median ms",
            "errors"
        );
    }
    for s in all {
        let spam = s
            .by_label
            .get("spam")
            .map(|l| pct(l.flagged as f64 / (l.n - l.errors).max(1) as f64))
            .unwrap_or_else(|| "-".into());
        let r = |i: usize| {
            s.recall_at_fpr
                .get(i)
                .map(|x| pct(x.recall))
                .unwrap_or_default()
        };
        if md {
            println!(
                "| {} | {} | {} | {} | {:.3} | {} | {} | {spam} | {:.2} | {} |",
                s.engine,
                pct(s.recall),
                pct2(s.fpr),
                pct(s.precision),
                s.auc,
                r(0),
                r(1),
                s.median_ms,
                s.errors
            );
        } else {
            println!(
                "  {:<14} {:>8} {:>8} {:>9} {:>8.3} {:>9} {:>9} {:>8} {:>9.2} {:>6}",
                s.engine,
                pct(s.recall),
                pct2(s.fpr),
                pct(s.precision),
                s.auc,
                r(0),
                r(1),
                spam,
                s.median_ms,
                s.errors
            );
        }
    }
    // Per source, one column per engine.
    let mut rows: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (i, s) in all.iter().enumerate() {
        for r in &s.by_source {
            let e = rows
                .entry((r.source.clone(), r.label.clone()))
                .or_insert_with(|| vec!["-".into(); all.len()]);
            e[i] = pct(r.flagged as f64 / (r.n - r.errors).max(1) as f64);
        }
    }
    println!();
    let names: Vec<&str> = all.iter().map(|s| s.engine.as_str()).collect();
    if md {
        println!(
            "| source | label | {} |\n|---|---|{}",
            names.join(" | "),
            "---:|".repeat(names.len())
        );
    } else {
        println!("flagged share per source: {}", names.join(" / "));
    }
    for ((src, label), v) in rows {
        if md {
            println!("| {src} | {label} | {} |", v.join(" | "));
        } else {
            println!("  {src:<28} {label:<6} {}", v.join("  "));
        }
    }
}

fn html_report(corpus: &str, all: &[EngineSummary], elapsed: f64) -> String {
    use rt::{Report, Series, line_chart};
    let mut r = Report::new("outwork eval");
    r.generated(&crate::now_rfc3339());
    r.paragraph(&format!(
        "Corpus {corpus}: {} messages, {} engine(s), {elapsed:.1} s. Positive = phishing, negative = ham; an engine flags a message when its action is not its accept action (Rspamd: add header, rewrite subject or reject; SpamAssassin: spam).",
        all.first().map(|s| s.messages).unwrap_or(0),
        all.len()
    ));
    r.heading(2, "Side by side");
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|s| {
            vec![
                s.engine.clone(),
                format!(
                    "{} ({}–{})",
                    pct(s.recall),
                    pct(s.recall_ci.0),
                    pct(s.recall_ci.1)
                ),
                format!(
                    "{} ({}–{})",
                    pct2(s.fpr),
                    pct2(s.fpr_ci.0),
                    pct2(s.fpr_ci.1)
                ),
                pct(s.precision),
                format!("{:.3}", s.f1),
                format!("{:.4}", s.auc),
                s.recall_at_fpr
                    .first()
                    .map(|x| pct(x.recall))
                    .unwrap_or_default(),
                s.recall_at_fpr
                    .get(1)
                    .map(|x| pct(x.recall))
                    .unwrap_or_default(),
                format!("{:.2}", s.median_ms),
                s.errors.to_string(),
            ]
        })
        .collect();
    // What each engine is (a long sentence): a row of its own below.
    let details: Vec<Vec<(&str, String)>> = all
        .iter()
        .map(|s| vec![("what", s.describe.clone())])
        .collect();
    r.table_with_details(
        "Phishing (positive) against ham (negative), 95% Wilson intervals",
        &[
            "engine",
            "recall",
            "ham FP rate",
            "precision",
            "F1",
            "ROC AUC",
            "recall @ FPR ≤ 1%",
            "recall @ FPR ≤ 0.1%",
            "median ms",
            "errors",
        ],
        &rows,
        &details,
    );
    let roc: Vec<Series> = all
        .iter()
        .map(|s| Series {
            name: format!("{} (AUC {:.3})", s.engine, s.auc),
            points: s.roc.clone(),
        })
        .collect();
    r.svg(line_chart(
        "ROC curve, by score threshold",
        "false-positive rate (ham)",
        "recall (phishing)",
        &roc,
        true,
    ));
    let pr: Vec<Series> = all
        .iter()
        .map(|s| Series {
            name: format!("{} (AP {:.3})", s.engine, s.average_precision),
            points: s.pr.clone(),
        })
        .collect();
    r.svg(line_chart(
        "Precision-recall, by score threshold",
        "recall (phishing)",
        "precision",
        &pr,
        false,
    ));
    for s in all {
        r.heading(2, &format!("{} — {}", s.engine, s.describe));
        let actions: Vec<String> = {
            let mut a: Vec<String> = s
                .by_label
                .values()
                .flat_map(|l| l.actions.keys().cloned())
                .collect();
            a.sort();
            a.dedup();
            a
        };
        let mut head: Vec<&str> = vec!["label", "messages"];
        head.extend(actions.iter().map(|a| a.as_str()));
        head.push("errors");
        let rows: Vec<Vec<String>> = s
            .by_label
            .iter()
            .map(|(label, l)| {
                let mut row = vec![label.clone(), l.n.to_string()];
                row.extend(
                    actions
                        .iter()
                        .map(|a| l.actions.get(a).copied().unwrap_or(0).to_string()),
                );
                row.push(l.errors.to_string());
                row
            })
            .collect();
        r.table("Confusion per action (messages)", &head, &rows);
        let rows: Vec<Vec<String>> = s
            .by_source
            .iter()
            .map(|x| {
                vec![
                    x.source.clone(),
                    x.label.clone(),
                    x.n.to_string(),
                    pct(x.flagged as f64 / (x.n - x.errors).max(1) as f64),
                    x.errors.to_string(),
                ]
            })
            .collect();
        r.table(
            "Per source",
            &["source", "label", "messages", "flagged", "errors"],
            &rows,
        );
        if let Some(ab) = &s.ablation {
            let rows: Vec<Vec<String>> = ab
                .iter()
                .map(|x| {
                    vec![
                        x.family.clone(),
                        pct(x.recall),
                        format!("{:+.1}", x.recall_change * 100.0),
                        pct2(x.fpr),
                        format!("{:+.2}", x.fpr_change * 100.0),
                    ]
                })
                .collect();
            r.table(
                "Family ablation: flagged with one family of signals switched off",
                &[
                    "family off",
                    "recall",
                    "Δ recall (points)",
                    "ham FP",
                    "Δ FP (points)",
                ],
                &rows,
            );
        }
        let n = |l: &str| {
            s.by_label
                .get(l)
                .map(|x| (x.n - x.errors).max(1))
                .unwrap_or(1) as f64
        };
        let rows: Vec<Vec<String>> = s
            .symbols
            .iter()
            .take(60)
            .map(|x| {
                vec![
                    x.symbol.clone(),
                    pct(x.phish as f64 / n("phish")),
                    pct2(x.ham as f64 / n("ham")),
                    pct(x.spam as f64 / n("spam")),
                ]
            })
            .collect();
        r.table(
            "Symbol firing rates (share of messages of each label; top 60 by phishing)",
            &["symbol", "phish", "ham", "spam"],
            &rows,
        );
    }
    r.render()
}

fn side_by_side(
    samples: &[rt::Sample],
    outcomes: &[Vec<rt::Outcome>],
    anchors: &BTreeMap<String, Vec<rt::AnchorVerdict>>,
    md: bool,
) {
    // source -> (label, n, outwork, rspamd, spamassassin) on messages all engines saw.
    let mut t: BTreeMap<&str, (String, usize, usize, usize, usize)> = BTreeMap::new();
    for (s, r) in samples.iter().zip(outcomes) {
        let Some(av) = anchors.get(&s.rel) else {
            continue;
        };
        if r[0].error.is_some() {
            continue;
        }
        let e = t.entry(&s.source).or_insert((s.label.clone(), 0, 0, 0, 0));
        e.1 += 1;
        e.2 += r[0].flagged as usize;
        e.3 += av.iter().any(|v| v.engine == "rspamd" && v.flagged) as usize;
        e.4 += av.iter().any(|v| v.engine == "spamassassin" && v.flagged) as usize;
    }
    if t.is_empty() {
        println!("\n(no anchor verdicts match these messages)");
        return;
    }
    let p = |k: usize, n: usize| pct(k as f64 / n.max(1) as f64);
    println!();
    if md {
        println!(
            "### Side by side on the same messages (flagged share)\n\noutwork: action ≠ accept. Rspamd: add header, rewrite subject or reject. SpamAssassin: is_spam.\n\n| source | label | messages | outwork | Rspamd | SpamAssassin |\n|---|---|---:|---:|---:|---:|"
        );
    } else {
        println!(
            "side by side (flagged share on the same messages): outwork / rspamd / spamassassin"
        );
    }
    let mut totals: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    for (src, (label, n, o, r, s)) in &t {
        if md {
            println!(
                "| {src} | {label} | {n} | {} | {} | {} |",
                p(*o, *n),
                p(*r, *n),
                p(*s, *n)
            );
        } else {
            println!(
                "  {src:<28} {label:<6} n={n:<5} {:>6} {:>6} {:>6}",
                p(*o, *n),
                p(*r, *n),
                p(*s, *n)
            );
        }
        let e = totals.entry(label.clone()).or_default();
        e.0 += n;
        e.1 += o;
        e.2 += r;
        e.3 += s;
    }
    for (label, (n, o, r, s)) in totals {
        if md {
            println!(
                "| **all {label}** | {label} | {n} | {} | {} | {} |",
                p(o, n),
                p(r, n),
                p(s, n)
            );
        } else {
            println!(
                "  all {label:<24} n={n:<5} {:>6} {:>6} {:>6}",
                p(o, n),
                p(r, n),
                p(s, n)
            );
        }
    }
}
