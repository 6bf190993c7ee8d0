//! `outwork eval`: the report a team reads before trusting a filter.

use anyhow::{Context as _, Result, bail};
use outwork_core::Action;
use outwork_redteam as rt;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// Corpus root (MANIFEST.tsv, or phish/ ham/ spam/ folders).
    corpus: PathBuf,
    #[arg(short, long)]
    config: Option<PathBuf>,
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// Only these rows (a manifest with the same path column), e.g. the
    /// sample the anchors scanned.
    #[arg(long)]
    subset: Option<PathBuf>,
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
    /// Use this intel store (evaluations never pick up the default store).
    #[arg(long)]
    intel: Option<PathBuf>,
    /// Replay: ignore intel entries first seen after each message's Date,
    /// so old mail is judged with only what the feeds knew then.
    #[arg(long)]
    intel_as_of_date: bool,
    /// Fail (exit 1) if phishing recall falls below this percentage.
    #[arg(long)]
    min_recall: Option<f64>,
    /// Fail (exit 1) if the ham false-positive rate exceeds this percentage.
    #[arg(long)]
    max_fp: Option<f64>,
}

fn pct(k: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        100.0 * k as f64 / n as f64
    }
}

pub fn run(a: EvalArgs) -> Result<u8> {
    let mut scanner = outwork_engine::Scanner::from_config(crate::load_context(a.config.as_ref())?)
        .map_err(anyhow::Error::msg)?;
    let (intel, intel_error) = match &a.intel {
        Some(p) => crate::intel_cmd::open_for_scan(p, true)?,
        None => (None, None),
    };
    scanner.intel = intel;
    scanner.intel_error = intel_error;
    scanner.intel_as_of_date = a.intel_as_of_date;
    let scanner = Arc::new(scanner);
    let mut samples = rt::load_corpus(&a.corpus)?;
    if let Some(sub) = &a.subset {
        let keep: std::collections::HashSet<String> = rt::load_manifest(&a.corpus, sub)?
            .into_iter()
            .map(|s| s.rel)
            .collect();
        samples.retain(|s| keep.contains(&s.rel));
    }
    if samples.is_empty() {
        bail!("no messages to evaluate in {}", a.corpus.display());
    }
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let pb = if std::io::stderr().is_terminal() {
        Some(indicatif::ProgressBar::new(samples.len() as u64))
    } else {
        None
    };
    let start = std::time::Instant::now();
    let scored = rt::evaluate(&samples, scanner, threads, &|_| {
        if let Some(pb) = &pb {
            pb.inc(1);
        }
    });
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let elapsed = start.elapsed().as_secs_f64();

    let stats = rt::by_source(&samples, &scored);
    let md = a.markdown;
    println!(
        "{}",
        if md {
            "### outwork per source\n"
        } else {
            "outwork per source"
        }
    );
    if md {
        println!(
            "| source | label | messages | accept | tag | quarantine | reject | flagged |\n|---|---|---:|---:|---:|---:|---:|---:|"
        );
    }
    for (src, s) in &stats {
        let f = pct(s.flagged(), s.n);
        if md {
            println!(
                "| {src} | {} | {} | {} | {} | {} | {} | {f:.1}% |",
                s.label, s.n, s.actions[0], s.actions[1], s.actions[2], s.actions[3]
            );
        } else {
            println!(
                "  {src:<28} {:<6} n={:<5} accept={:<5} tag={:<5} quarantine={:<5} reject={:<5} flagged={f:.1}%",
                s.label, s.n, s.actions[0], s.actions[1], s.actions[2], s.actions[3]
            );
        }
    }
    let count = |label: &str, f: &dyn Fn(&rt::Scored) -> bool| -> (usize, usize) {
        let mut k = 0;
        let mut n = 0;
        for (s, r) in samples.iter().zip(&scored) {
            if s.label == label {
                n += 1;
                if f(r) {
                    k += 1;
                }
            }
        }
        (k, n)
    };
    let flagged = |r: &rt::Scored| r.action != Action::Accept;
    let (pk, pn) = count("phish", &flagged);
    let (hk, hn) = count("ham", &flagged);
    let (sk, sn) = count("spam", &flagged);
    let (plo, phi) = rt::wilson(pk, pn);
    let (hlo, hhi) = rt::wilson(hk, hn);
    let recall = pct(pk, pn);
    let fp = pct(hk, hn);
    println!();
    if md {
        println!("| measure | value | 95% CI (Wilson) |\n|---|---:|---|");
        println!(
            "| phishing recall (action ≠ accept) | {recall:.1}% ({pk}/{pn}) | {:.1}–{:.1}% |",
            plo * 100.0,
            phi * 100.0
        );
        println!(
            "| ham false positives | {fp:.2}% ({hk}/{hn}) | {:.2}–{:.2}% |",
            hlo * 100.0,
            hhi * 100.0
        );
        println!("| spam flagged | {:.1}% ({sk}/{sn}) | |", pct(sk, sn));
        println!(
            "| wall time | {elapsed:.1}s for {} messages ({:.0} msg/s, {threads} threads, 7 signal passes each) | |",
            samples.len(),
            samples.len() as f64 / elapsed
        );
    } else {
        println!(
            "phishing recall {recall:.1}% ({pk}/{pn}, 95% CI {:.1}-{:.1}%)",
            plo * 100.0,
            phi * 100.0
        );
        println!(
            "ham false positives {fp:.2}% ({hk}/{hn}, 95% CI {:.2}-{:.2}%)",
            hlo * 100.0,
            hhi * 100.0
        );
        println!("spam flagged {:.1}% ({sk}/{sn})", pct(sk, sn));
        println!("{} messages in {elapsed:.1}s", samples.len());
    }

    // Family ablation: what each family adds.
    println!();
    if md {
        println!(
            "### Family ablation (flagged with the family switched off)\n\n| family off | phishing recall | Δ recall | ham FP | Δ FP |\n|---|---:|---:|---:|---:|"
        );
    } else {
        println!("family ablation:");
    }
    for (i, fam) in rt::FAMILIES.iter().enumerate() {
        let (pk2, _) = count("phish", &|r: &rt::Scored| r.flagged_without[i]);
        let (hk2, _) = count("ham", &|r: &rt::Scored| r.flagged_without[i]);
        let (r2, f2) = (pct(pk2, pn), pct(hk2, hn));
        if md {
            println!(
                "| {fam} | {r2:.1}% | {:+.1} | {f2:.2}% | {:+.2} |",
                r2 - recall,
                f2 - fp
            );
        } else {
            println!(
                "  without {fam:<12} recall {r2:.1}% ({:+.1})  ham FP {f2:.2}% ({:+.2})",
                r2 - recall,
                f2 - fp
            );
        }
    }

    // How often each symbol fires per class.
    let mut fires: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for (s, r) in samples.iter().zip(&scored) {
        let c = match s.label.as_str() {
            "phish" => 0,
            "ham" => 1,
            _ => 2,
        };
        for n in &r.symbols {
            fires.entry(n).or_default()[c] += 1;
        }
    }
    println!();
    if md {
        println!(
            "### Symbol firing rates\n\n| symbol | phish | ham | spam |\n|---|---:|---:|---:|"
        );
    } else {
        println!("symbol firing rates (phish / ham / spam):");
    }
    let mut rows: Vec<_> = fires.into_iter().collect();
    rows.sort_by(|a, b| b.1[0].cmp(&a.1[0]));
    for (n, c) in rows {
        if md {
            println!(
                "| `{n}` | {:.1}% | {:.2}% | {:.1}% |",
                pct(c[0], pn),
                pct(c[1], hn),
                pct(c[2], sn)
            );
        } else {
            println!(
                "  {n:<32} {:>6.1}% {:>7.2}% {:>6.1}%",
                pct(c[0], pn),
                pct(c[1], hn),
                pct(c[2], sn)
            );
        }
    }

    if let Some(anchor_path) = &a.anchors {
        let anchors = rt::load_anchors(anchor_path)
            .with_context(|| format!("reading {}", anchor_path.display()))?;
        side_by_side(&samples, &scored, &anchors, md);
    }

    if a.show_misses > 0 {
        println!();
        for (label, want) in [("phish", false), ("ham", true)] {
            let mut shown = 0;
            for (s, r) in samples.iter().zip(&scored) {
                if s.label == label && (r.action != Action::Accept) == want && shown < a.show_misses
                {
                    println!(
                        "{} {label} {} score={:.1} {:?}",
                        if want { "FP" } else { "MISS" },
                        s.rel,
                        r.score,
                        r.symbols
                    );
                    shown += 1;
                }
            }
        }
    }

    let mut fail = false;
    if let Some(min) = a.min_recall
        && recall < min
    {
        eprintln!("outwork eval: phishing recall {recall:.2}% is below --min-recall {min}%");
        fail = true;
    }
    if let Some(max) = a.max_fp
        && fp > max
    {
        eprintln!("outwork eval: ham false positives {fp:.2}% exceed --max-fp {max}%");
        fail = true;
    }
    Ok(if fail { 1 } else { 0 })
}

fn side_by_side(
    samples: &[rt::Sample],
    scored: &[rt::Scored],
    anchors: &BTreeMap<String, Vec<rt::AnchorVerdict>>,
    md: bool,
) {
    // source -> (n, outwork, rspamd, spamassassin) on messages all engines saw.
    let mut t: BTreeMap<&str, (String, usize, usize, usize, usize)> = BTreeMap::new();
    for (s, r) in samples.iter().zip(scored) {
        let Some(av) = anchors.get(&s.rel) else {
            continue;
        };
        let e = t.entry(&s.source).or_insert((s.label.clone(), 0, 0, 0, 0));
        e.1 += 1;
        e.2 += (r.action != Action::Accept) as usize;
        e.3 += av.iter().any(|v| v.engine == "rspamd" && v.flagged) as usize;
        e.4 += av.iter().any(|v| v.engine == "spamassassin" && v.flagged) as usize;
    }
    if t.is_empty() {
        println!("\n(no anchor verdicts match these messages)");
        return;
    }
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
                "| {src} | {label} | {n} | {:.1}% | {:.1}% | {:.1}% |",
                pct(*o, *n),
                pct(*r, *n),
                pct(*s, *n)
            );
        } else {
            println!(
                "  {src:<28} {label:<6} n={n:<5} {:>6.1}% {:>6.1}% {:>6.1}%",
                pct(*o, *n),
                pct(*r, *n),
                pct(*s, *n)
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
                "| **all {label}** | {label} | {n} | {:.1}% | {:.1}% | {:.1}% |",
                pct(o, n),
                pct(r, n),
                pct(s, n)
            );
        } else {
            println!(
                "  all {label:<24} n={n:<5} {:>6.1}% {:>6.1}% {:>6.1}%",
                pct(o, n),
                pct(r, n),
                pct(s, n)
            );
        }
    }
}
