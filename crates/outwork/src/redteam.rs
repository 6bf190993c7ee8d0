//! `outwork redteam` (attacker transformations, evasion per operator) and
//! `outwork assess` (marginal risk of a new attacker capability).

use crate::eval::{RunArgs, checkpoint, config_text, engines, pct, progress, scanner, write_out};
use anyhow::{Context as _, Result, bail};
use outwork_redteam as rt;
use rt::{Marginal, VariantStats};
use rt::{Op, Rewriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod search;
use search::{run_assess_search, run_search};

#[derive(clap::Args)]
pub struct RewriterArgs {
    /// Text rewriter for the `rewrite` operator: `builtin` (deterministic,
    /// offline), `cmd:PROGRAM ARGS...` (text on stdin, rewritten text on
    /// stdout), or `chat:URL` (an OpenAI-compatible chat endpoint such as a
    /// local llama.cpp or Ollama server; see --model).
    #[arg(long, default_value = "builtin")]
    rewriter: String,
    /// Model name for `chat:` rewriters.
    #[arg(long, default_value = "default")]
    model: String,
    /// Environment variable holding an API key for `chat:` rewriters.
    #[arg(long, value_name = "VAR")]
    api_key_env: Option<String>,
    /// Timeout per rewrite.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    rewrite_timeout: u64,
}

impl RewriterArgs {
    fn build(&self) -> Result<Box<dyn Rewriter>> {
        let timeout = Duration::from_secs(self.rewrite_timeout);
        let r = self.rewriter.as_str();
        if r == "builtin" {
            return Ok(Box::new(rt::BuiltinRewriter { seed: 0 }));
        }
        if let Some(cmd) = r.strip_prefix("cmd:") {
            let argv: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
            if argv.is_empty() {
                bail!("--rewriter cmd: needs a program");
            }
            return Ok(Box::new(rt::CommandRewriter { argv, timeout }));
        }
        if let Some(url) = r.strip_prefix("chat:") {
            let api_key = match &self.api_key_env {
                Some(v) => Some(
                    std::env::var(v).with_context(|| format!("--api-key-env {v} is not set"))?,
                ),
                None => None,
            };
            return Ok(Box::new(rt::ChatRewriter {
                endpoint: url.to_string(),
                model: self.model.clone(),
                api_key,
                timeout,
                prompt: rt::ChatRewriter::DEFAULT_PROMPT.to_string(),
            }));
        }
        bail!("--rewriter {r}: expected builtin, cmd:PROGRAM... or chat:URL")
    }
}

#[derive(clap::Args)]
pub struct RedteamArgs {
    /// Corpus root; its phishing messages are mutated (MANIFEST.tsv label
    /// `phish`, or the phish/ folder). Not needed with --list-ops.
    #[arg(required_unless_present = "list_ops")]
    corpus: Option<PathBuf>,
    /// Operators, comma-separated; join with `+` to combine
    /// (`homoglyph+qr`). Default: every operator. `outwork redteam --list-ops`
    /// describes them.
    #[arg(long, value_delimiter = ',')]
    ops: Vec<String>,
    /// List the operators and exit.
    #[arg(long)]
    list_ops: bool,
    #[command(flatten)]
    rewriter: RewriterArgs,
    #[command(flatten)]
    run: RunArgs,
    /// At most N phishing messages, spread evenly over the corpus.
    #[arg(long)]
    limit: Option<usize>,
    /// Seed for the operators' choices (same seed, same variants).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write every variant here as VARIANT/NAME.eml for inspection.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Early warning: fail (exit 1) if a variant's evasion rate (first
    /// engine) rises above the rate recorded in FILE (`variant<TAB>rate`).
    #[arg(long, value_name = "FILE")]
    max_evasion: Option<PathBuf>,
    /// Write this run's evasion rates (first engine) in --max-evasion form.
    #[arg(long, value_name = "FILE")]
    write_rates: Option<PathBuf>,
    /// Adaptive search instead of one run per operator: per message and
    /// engine, at most BUDGET queries (the unchanged message first), over
    /// combinations of the --ops operators (default: the trace-removing
    /// ones), stopping at the first variant that is not flagged. Reports
    /// evasion at each budget, the cheapest evading combinations and the
    /// operators in them; the gate's rows are `search@B`.
    #[arg(long, value_name = "BUDGET")]
    search: Option<usize>,
    /// Operators per combination at most, with --search.
    #[arg(long, default_value_t = 3, value_name = "N")]
    search_depth: usize,
}

/// A variant: "identity" or operators joined by `+`.
fn parse_variant(v: &str) -> Result<Vec<Op>> {
    v.split('+')
        .map(|name| {
            Op::parse(name.trim()).with_context(|| {
                format!(
                    "unknown operator {name:?}; known: {}",
                    Op::ALL
                        .iter()
                        .map(|o| o.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

fn seed_for(global: u64, rel: &str) -> u64 {
    // FNV-1a: stable across runs and Rust versions.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ global;
    for b in rel.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn file_name(rel: &str) -> String {
    let mut lossy = false;
    let s: String = rel
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                lossy |= c != '/';
                '_'
            }
        })
        .collect();
    let s = s.strip_suffix(".eml").unwrap_or(&s).to_string();
    // Names that lost characters other than `/` get a hash of the path,
    // so two messages never share a variant file or a pairing key.
    if lossy {
        format!("{s}-{:08x}.eml", seed_for(0, rel) as u32)
    } else {
        format!("{s}.eml")
    }
}

/// The phishing samples of a corpus, or every file of a plain folder.
fn attack_set(root: &Path, limit: Option<usize>) -> Result<Vec<rt::Sample>> {
    let all = match rt::load_corpus(root) {
        Ok(s) => s.into_iter().filter(|s| s.label == "phish").collect(),
        Err(rt::EvalError::NotACorpus(_)) => plain_folder(root)?,
        Err(e) => return Err(e.into()),
    };
    if limit == Some(0) {
        bail!("--limit 0: nothing to attack");
    }
    let mut v: Vec<rt::Sample> = all;
    if v.is_empty() {
        bail!("{}: no phishing messages", root.display());
    }
    if let Some(n) = limit {
        v = spread(v, n);
    }
    Ok(v)
}

/// At most `n` of `v`, evenly spread, so every source is represented.
pub fn spread<T: Clone>(v: Vec<T>, n: usize) -> Vec<T> {
    if n >= v.len() {
        return v;
    }
    let step = v.len() as f64 / n as f64;
    (0..n)
        .filter_map(|i| v.get((i as f64 * step) as usize).cloned())
        .collect()
}

fn plain_folder(root: &Path) -> Result<Vec<rt::Sample>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .with_context(|| format!("reading {}", d.display()))?
            .filter_map(Result::ok)
        {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() && !name.ends_with(".notes.txt") && !name.starts_with('.') {
                // (`redteam --out` writes NAME.eml.notes.txt beside each
                // variant: what changed, not a message.)
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                out.push(rt::Sample {
                    rel,
                    path: p,
                    label: "phish".into(),
                    source: root
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

struct Mutator {
    rewriter: Box<dyn Rewriter>,
    seed: u64,
    out: Option<PathBuf>,
}

impl Mutator {
    fn make(
        &self,
        sample: &rt::Sample,
        variant: &str,
        ops: &[Op],
    ) -> Result<Vec<u8>, rt::LoadError> {
        let raw =
            std::fs::read(&sample.path).map_err(|e| format!("{}: {e}", sample.path.display()))?;
        let ctx = rt::MutateCtx::new(self.rewriter.as_ref(), seed_for(self.seed, &sample.rel));
        let m = rt::mutate(&raw, ops, &ctx).map_err(|e| format!("mutating: {e}"))?;
        if let Some(dir) = &self.out {
            let d = dir.join(variant);
            let name = file_name(&sample.rel);
            let _ = std::fs::create_dir_all(&d);
            let _ = std::fs::write(d.join(&name), &m.bytes);
            if !m.notes.is_empty() {
                let _ = std::fs::write(
                    d.join(format!("{name}.notes.txt")),
                    m.notes.join("\n") + "\n",
                );
            }
        }
        Ok(m.bytes)
    }
}

pub fn run_redteam(a: RedteamArgs) -> Result<u8> {
    if a.list_ops {
        for o in Op::ALL {
            let kind = if Op::TRACE_REMOVING.contains(o) {
                "(removes traces) "
            } else {
                ""
            };
            println!("{:<18} {kind}{}", o.name(), o.describe());
        }
        for o in Op::BENIGN {
            println!(
                "{:<18} (benign, not in the default set) {}",
                o.name(),
                o.describe()
            );
        }
        return Ok(0);
    }
    let Some(corpus_root) = a.corpus.clone() else {
        bail!("a corpus is needed (or --list-ops)");
    };
    let sc = scanner(a.run.config.as_ref(), a.run.intel.as_ref(), false)?;
    let engines = engines(&a.run.engines, &sc, a.run.timeout_ms)?;
    let samples = attack_set(&corpus_root, a.limit)?;
    if let Some(budget) = a.search {
        return run_search(&a, &corpus_root, &samples, &engines, budget);
    }
    let mut variants: Vec<String> = vec!["identity".into()];
    let requested: Vec<String> = if a.ops.is_empty() {
        Op::ALL.iter().map(|o| o.name().to_string()).collect()
    } else {
        a.ops
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    for v in requested {
        parse_variant(&v)?;
        if !variants.contains(&v) {
            variants.push(v);
        }
    }
    let parsed: Vec<Vec<Op>> = variants
        .iter()
        .map(|v| {
            if v == "identity" {
                Ok(vec![Op::Identity])
            } else {
                parse_variant(v)
            }
        })
        .collect::<Result<_>>()?;
    let mutator = Mutator {
        rewriter: a.rewriter.build()?,
        seed: a.seed,
        out: a.out.clone(),
    };
    // Items: every (variant, message).
    let mut ids = Vec::new();
    let mut index = Vec::new();
    for (vi, v) in variants.iter().enumerate() {
        for (si, s) in samples.iter().enumerate() {
            ids.push(format!("{v}\t{}", s.rel));
            index.push((vi, si));
        }
    }
    let threads = a.run.threads();
    let corpus = corpus_root.display().to_string();
    let (ckpt, done) = checkpoint(
        a.run.resume.as_ref(),
        &[
            "redteam",
            env!("CARGO_PKG_VERSION"),
            &corpus,
            &ids.len().to_string(),
            &a.run.engines.join(" "),
            &config_text(a.run.config.as_ref()),
            &format!("{:?}", a.run.intel),
            &a.rewriter.rewriter,
            &a.rewriter.model,
            &a.seed.to_string(),
        ],
    )?;
    eprintln!(
        "outwork redteam: {} phishing messages × {} variants × {} engine(s), rewriter {}",
        samples.len(),
        variants.len(),
        engines.len(),
        mutator.rewriter.name()
    );
    let start = std::time::Instant::now();
    let load = |i: usize| {
        let (vi, si) = index[i];
        mutator.make(&samples[si], &variants[vi], &parsed[vi])
    };
    // A resumed item is not scanned again, so its variant is not made by
    // the run: write it out here, so --out holds every variant.
    if a.out.is_some() && !done.is_empty() {
        for (i, id) in ids.iter().enumerate() {
            if engines
                .iter()
                .all(|e| done.contains_key(&(id.clone(), e.name().to_string())))
            {
                let _ = load(i);
            }
        }
    }
    let outcomes = rt::run_all(
        &ids,
        &load,
        &engines,
        false,
        threads,
        ckpt.as_ref(),
        &done,
        &progress("redteam", ids.len()),
    )
    .map_err(anyhow::Error::msg)?;
    let elapsed = start.elapsed().as_secs_f64();
    let n = samples.len();
    let mut all: Vec<VariantStats> = Vec::new();
    for (e, eng) in engines.iter().enumerate() {
        let base: Vec<&rt::Outcome> = (0..n).map(|si| &outcomes[si][e]).collect();
        for (vi, v) in variants.iter().enumerate().skip(1) {
            let var: Vec<&rt::Outcome> = (0..n).map(|si| &outcomes[vi * n + si][e]).collect();
            all.push(rt::compare_variant(v, eng.name(), &base, &var));
        }
        // Identity against itself: the baseline row.
        let mut id_row = rt::compare_variant("identity", eng.name(), &base, &base);
        id_row.lost.clear();
        all.insert(all.len() - (variants.len() - 1), id_row);
    }
    print_variants(&all);
    println!(
        "\n{} variants of {n} messages scanned in {elapsed:.1}s",
        variants.len()
    );
    report_errors(&outcomes);
    if let Some(p) = &a.run.json {
        let v = serde_json::json!({
            "corpus": corpus,
            "messages": n,
            "rewriter": mutator.rewriter.name(),
            "seed": a.seed,
            "engines": engines.iter().map(|e| serde_json::json!({"name": e.name(), "describe": e.describe()})).collect::<Vec<_>>(),
            "variants": all,
        });
        write_out(p, &serde_json::to_string_pretty(&v)?)?;
    }
    if let Some(p) = &a.run.html {
        write_out(p, &redteam_html(&corpus, n, &mutator, &all))?;
    }
    let first = engines[0].name();
    let rows: Vec<GateRow> = all
        .iter()
        .filter(|v| v.engine == first)
        .map(|v| GateRow {
            variant: v.variant.clone(),
            n: v.n,
            evaded: v.evaded,
            evasion: v.evasion,
            errors: v.errors,
        })
        .collect();
    gate(&rows, a.max_evasion.as_ref(), a.write_rates.as_ref())
}

/// One rate the early-warning gate checks (the first engine's).
struct GateRow {
    variant: String,
    n: usize,
    evaded: usize,
    evasion: f64,
    errors: usize,
}

/// Check `rows` against the rates recorded in `max_evasion`, write them to
/// `write_rates`; 1 when a rate rose above its record (or was not measured).
fn gate(
    rows: &[GateRow],
    max_evasion: Option<&PathBuf>,
    write_rates: Option<&PathBuf>,
) -> Result<u8> {
    // The recorded rates are read before --write-rates may overwrite them.
    let recorded = match max_evasion {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => None,
    };
    if let Some(p) = write_rates {
        if rows.iter().any(|v| v.n == 0) {
            bail!(
                "not writing {}: some variants got no verdict at all (see the errors above)",
                p.display()
            );
        }
        let mut s = String::from("# variant\tmax evasion rate (outwork redteam --write-rates)\n");
        for v in rows {
            // Rounded up, so the run that wrote the file passes its own gate.
            let up = (v.evasion * 10_000.0).ceil() / 10_000.0;
            s.push_str(&format!("{}\t{up:.4}\n", v.variant));
        }
        write_out(p, &s)?;
    }
    let mut fail = false;
    if let (Some(p), Some(text)) = (max_evasion, recorded) {
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let parsed = line.split_once('\t').and_then(|(v, r)| {
                Some((v, r.trim().parse::<f64>().ok().filter(|x| x.is_finite())?))
            });
            let Some((v, max)) = parsed else {
                eprintln!(
                    "outwork redteam: {}: can't read {line:?} (expected VARIANT<TAB>RATE)",
                    p.display()
                );
                fail = true;
                continue;
            };
            match rows.iter().find(|s| s.variant == v) {
                // Nothing measured is not a pass.
                Some(s) if s.n == 0 => {
                    eprintln!(
                        "outwork redteam: early warning: {v} got no verdict at all ({} errors)",
                        s.errors
                    );
                    fail = true;
                }
                Some(s) if s.evasion > max + 1e-9 => {
                    eprintln!(
                        "outwork redteam: early warning: {v} evades {} ({}/{}), above the recorded {}",
                        pct(s.evasion),
                        s.evaded,
                        s.n,
                        pct(max)
                    );
                    fail = true;
                }
                Some(_) => {}
                None => eprintln!(
                    "outwork redteam: {v} is recorded in {} but was not run",
                    p.display()
                ),
            }
        }
    }
    Ok(if fail { 1 } else { 0 })
}

fn report_errors(outcomes: &[Vec<rt::Outcome>]) {
    let errors: Vec<&rt::Outcome> = outcomes
        .iter()
        .flatten()
        .filter(|o| o.error.is_some())
        .collect();
    if errors.is_empty() {
        return;
    }
    eprintln!(
        "outwork: {} result(s) without a verdict (left out of every rate):",
        errors.len()
    );
    for o in errors.iter().take(10) {
        eprintln!(
            "  {} {}: {}",
            o.engine,
            o.id.replace('\t', " "),
            o.error.as_deref().unwrap_or("")
        );
    }
}

fn syms(v: &[(String, usize)], k: usize) -> String {
    v.iter()
        .take(k)
        .map(|(s, c)| format!("{s}×{c}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_variants(all: &[VariantStats]) {
    let mut engine = "";
    for v in all {
        if v.engine != engine {
            engine = &v.engine;
            println!(
                "\n== {engine}: evasion per operator (not flagged; unchanged messages are the baseline)"
            );
            println!(
                "  {:<26} {:>5} {:>8} {:>15} {:>13} {:>7}  stopped firing / still caught by",
                "variant", "n", "evasion", "95% CI", "Δ vs base", "new",
            );
        }
        println!(
            "  {:<26} {:>5} {:>8} {:>15} {:>13} {:>7}  {}{}",
            v.variant,
            v.n,
            pct(v.evasion),
            format!("{}–{}", pct(v.evasion_ci.0), pct(v.evasion_ci.1)),
            format!("{:+.1} pts", v.marginal.0 * 100.0),
            v.new_evasions,
            if v.lost.is_empty() {
                String::new()
            } else {
                format!("lost: {} ", syms(&v.lost, 3))
            },
            if v.held.is_empty() {
                String::new()
            } else {
                format!("held: {}", syms(&v.held, 3))
            },
        );
    }
}

fn redteam_html(corpus: &str, n: usize, m: &Mutator, all: &[VariantStats]) -> String {
    use rt::{Report, bar_chart};
    let mut r = Report::new("outwork red team: evasion per operator");
    r.generated(&crate::now_rfc3339());
    r.paragraph(&format!(
        "{n} phishing messages from {corpus}, each rebuilt unchanged (identity, the baseline) and once per operator; rewriter {}, seed {}. Evasion = the engine did not flag the variant. Δ is the paired difference to the unchanged messages with a 95% bootstrap interval; 'new' counts messages caught unchanged and missed after the operator.",
        m.rewriter.name(),
        m.seed
    ));
    let mut engines: Vec<&str> = all.iter().map(|v| v.engine.as_str()).collect();
    engines.dedup();
    for e in engines {
        r.heading(2, e);
        let rows: Vec<&VariantStats> = all.iter().filter(|v| v.engine == e).collect();
        r.svg(bar_chart(
            &format!("{e}: evasion rate per operator (95% Wilson interval)"),
            &rows
                .iter()
                .map(|v| (v.variant.clone(), v.evasion, Some(v.evasion_ci)))
                .collect::<Vec<_>>(),
        ));
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|v| {
                vec![
                    v.variant.clone(),
                    v.n.to_string(),
                    format!("{} ({}/{})", pct(v.evasion), v.evaded, v.n),
                    format!("{}–{}", pct(v.evasion_ci.0), pct(v.evasion_ci.1)),
                    format!(
                        "{:+.1} ({:+.1} to {:+.1})",
                        v.marginal.0 * 100.0,
                        v.marginal.1 * 100.0,
                        v.marginal.2 * 100.0
                    ),
                    v.new_evasions.to_string(),
                    format!("{:+.2}", v.score_change),
                    v.errors.to_string(),
                ]
            })
            .collect();
        // The symbol lists are long: a row of their own under each variant.
        let details: Vec<Vec<(&str, String)>> = rows
            .iter()
            .map(|v| {
                [("stopped firing", &v.lost), ("still caught by", &v.held)]
                    .into_iter()
                    .filter(|(_, l)| !l.is_empty())
                    .map(|(k, l)| (k, syms(l, 5)))
                    .collect()
            })
            .collect();
        r.table_with_details(
            "Evasion per operator",
            &[
                "variant",
                "messages",
                "evasion",
                "95% CI",
                "Δ vs unchanged (points, 95% CI)",
                "new evasions",
                "mean score change",
                "errors",
            ],
            &table,
            &details,
        );
    }
    r.render()
}

#[derive(clap::Args)]
pub struct AssessArgs {
    /// The attacks defenders already face: a folder of messages or a corpus
    /// (its phishing messages).
    #[arg(long)]
    baseline: PathBuf,
    /// The same kind of attacks with the new capability: a folder (e.g.
    /// `DIR/rewrite` as written by `outwork redteam --out DIR`, whose files
    /// pair up with the baseline's by name), or leave out and give
    /// --capability to make it here.
    #[arg(long)]
    new: Option<PathBuf>,
    /// Make the new set from the baseline with these operators (joined
    /// with `+`), e.g. `rewrite` with `--rewriter chat:URL`, or `esp-send`.
    /// `search` is the adaptive attacker (`redteam --search`, see
    /// --search) against the unchanged messages; `search+OPS` that
    /// attacker with OPS against the same attacker without them.
    #[arg(long)]
    capability: Option<String>,
    /// What the new capability is, in words, for the report.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    rewriter: RewriterArgs,
    /// Ham to price the cheapest fix (a threshold change) in false positives.
    #[arg(long)]
    ham: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Query budget per message when --capability is a search.
    #[arg(long, default_value_t = 8, value_name = "BUDGET")]
    search: usize,
    /// Operators per combination at most when --capability is a search.
    #[arg(long, default_value_t = 3, value_name = "N")]
    search_depth: usize,
}

/// One section of the report: a heading (a step of the framework) and lines.
struct Step {
    title: &'static str,
    lines: Vec<String>,
}

pub fn run_assess(a: AssessArgs) -> Result<u8> {
    let sc = scanner(a.run.config.as_ref(), a.run.intel.as_ref(), false)?;
    let engines = engines(&a.run.engines, &sc, a.run.timeout_ms)?;
    let base = attack_set(&a.baseline, a.limit)?;
    if let Some(c) = a.capability.as_deref()
        && (c == "search" || c.starts_with("search+"))
    {
        return run_assess_search(&a, c, &sc, &engines, &base);
    }
    let (new_samples, ops): (Vec<rt::Sample>, Option<Vec<Op>>) = match (&a.new, &a.capability) {
        (Some(dir), None) => (attack_set(dir, None)?, None),
        (None, Some(c)) => (base.clone(), Some(parse_variant(c)?)),
        _ => bail!("give either --new DIR or --capability OPS"),
    };
    let ham = ham_set(&a)?;
    let capability = a
        .name
        .clone()
        .unwrap_or_else(|| match (&a.capability, &a.new) {
            (Some(c), _) if c.contains("rewrite") => {
                format!("{c} (rewriter {})", a.rewriter.rewriter)
            }
            (Some(c), _) => c.clone(),
            (_, Some(d)) => format!("the attacks in {}", d.display()),
            _ => "new capability".into(),
        });
    let mutator = Mutator {
        rewriter: a.rewriter.build()?,
        seed: a.seed,
        out: None,
    };
    // Items: baseline (rebuilt unchanged when the new set is made here, so
    // rebuilding is not mistaken for the capability), new, ham.
    let mut ids = Vec::new();
    for s in &base {
        ids.push(format!("baseline\t{}", s.rel));
    }
    let key = |s: &rt::Sample| -> String {
        // Pair by file name without extension, so redteam's NAME.eml pairs
        // with the corpus' NAME.
        let f = file_name(&s.rel);
        f.trim_end_matches(".eml").to_string()
    };
    for s in &new_samples {
        ids.push(format!("new\t{}", s.rel));
    }
    for s in &ham {
        ids.push(format!("ham\t{}", s.rel));
    }
    let nb = base.len();
    let nn = new_samples.len();
    let threads = a.run.threads();
    let (ckpt, done) = checkpoint(
        a.run.resume.as_ref(),
        &[
            "assess",
            env!("CARGO_PKG_VERSION"),
            &a.baseline.display().to_string(),
            &format!("{:?} {:?} {:?}", a.new, a.capability, a.ham),
            &ids.len().to_string(),
            &a.run.engines.join(" "),
            &config_text(a.run.config.as_ref()),
            &format!("{:?}", a.run.intel),
            &a.rewriter.rewriter,
            &a.rewriter.model,
            &a.seed.to_string(),
        ],
    )?;
    let load = |i: usize| -> Result<Vec<u8>, rt::LoadError> {
        if i < nb {
            match &ops {
                Some(_) => mutator.make(&base[i], "baseline", &[Op::Identity]),
                None => Ok(std::fs::read(&base[i].path)?),
            }
        } else if i < nb + nn {
            let s = &new_samples[i - nb];
            match &ops {
                Some(o) => mutator.make(s, "new", o),
                None => Ok(std::fs::read(&s.path)?),
            }
        } else {
            Ok(std::fs::read(&ham[i - nb - nn].path)?)
        }
    };
    let outcomes = rt::run_all(
        &ids,
        &load,
        &engines,
        false,
        threads,
        ckpt.as_ref(),
        &done,
        &progress("assess", ids.len()),
    )
    .map_err(anyhow::Error::msg)?;
    let tag = sc.ctx.thresholds().tag;
    let mut results: Vec<(Marginal, Option<Fix>)> = Vec::new();
    for (e, eng) in engines.iter().enumerate() {
        let b: Vec<(String, &rt::Outcome)> = base
            .iter()
            .enumerate()
            .map(|(i, s)| (key(s), &outcomes[i][e]))
            .collect();
        let n: Vec<(String, &rt::Outcome)> = new_samples
            .iter()
            .enumerate()
            .map(|(i, s)| (key(s), &outcomes[nb + i][e]))
            .collect();
        let br: Vec<(&str, &rt::Outcome)> = b.iter().map(|(k, o)| (k.as_str(), *o)).collect();
        let nr: Vec<(&str, &rt::Outcome)> = n.iter().map(|(k, o)| (k.as_str(), *o)).collect();
        let flag_score = if eng.scanner().is_some() { tag } else { 0.0 };
        let m = rt::marginal_risk(eng.name(), &br, &nr, flag_score);
        let hs: Vec<&rt::Outcome> = (0..ham.len())
            .map(|i| &outcomes[nb + nn + i][e])
            .filter(|o| o.error.is_none())
            .collect();
        let fix = eng.scanner().map(|_| threshold_fix(&nr, &hs, tag));
        results.push((m, fix));
    }
    let steps = steps(&capability, &a, nb, nn, ham.len(), &results, &engines);
    for s in &steps {
        println!("\n## {}\n", s.title);
        for l in &s.lines {
            println!("{l}");
        }
    }
    report_errors(&outcomes);
    if let Some(p) = &a.run.json {
        let v = serde_json::json!({
            "capability": capability,
            "baseline": a.baseline.display().to_string(),
            "baseline_messages": nb,
            "new_messages": nn,
            "ham_messages": ham.len(),
            "engines": results.iter().map(|(m, f)| serde_json::json!({"marginal": m, "threshold_fix": f})).collect::<Vec<_>>(),
        });
        write_out(p, &serde_json::to_string_pretty(&v)?)?;
    }
    if let Some(p) = &a.run.html {
        write_out(p, &assess_html(&capability, &steps, &results))?;
    }
    Ok(0)
}

/// The ham of `--ham` (a corpus' ham, or every file of a folder).
fn ham_set(a: &AssessArgs) -> Result<Vec<rt::Sample>> {
    Ok(match &a.ham {
        Some(p) => match rt::load_corpus(p) {
            Ok(s) => s.into_iter().filter(|s| s.label == "ham").collect(),
            Err(rt::EvalError::NotACorpus(_)) => plain_folder(p)?
                .into_iter()
                .map(|mut s| {
                    s.label = "ham".into();
                    s
                })
                .collect(),
            Err(e) => return Err(e.into()),
        },
        None => vec![],
    })
}

/// The cheapest fix to price: lowering the flag threshold until half the
/// new evasions are caught, and what that costs on ham.
#[derive(serde::Serialize)]
struct Fix {
    current: f64,
    threshold: f64,
    caught: usize,
    evaded: usize,
    ham_fp_now: Option<f64>,
    ham_fp_at: Option<f64>,
}

fn threshold_fix(new: &[(&str, &rt::Outcome)], ham: &[&rt::Outcome], tag: f64) -> Fix {
    let mut scores: Vec<f64> = new
        .iter()
        .filter(|(_, o)| o.error.is_none() && !o.flagged)
        .map(|(_, o)| o.score)
        .collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    let evaded = scores.len();
    let threshold = if evaded == 0 {
        tag
    } else {
        scores[(evaded - 1) / 2].min(tag)
    };
    let caught = scores.iter().filter(|s| **s >= threshold).count();
    let fp = |t: f64| {
        (!ham.is_empty())
            .then(|| ham.iter().filter(|o| o.score >= t).count() as f64 / ham.len() as f64)
    };
    Fix {
        current: tag,
        threshold,
        caught,
        evaded,
        ham_fp_now: fp(tag),
        ham_fp_at: fp(threshold),
    }
}

fn steps(
    capability: &str,
    a: &AssessArgs,
    nb: usize,
    nn: usize,
    nham: usize,
    results: &[(Marginal, Option<Fix>)],
    engines: &[Box<dyn rt::Engine>],
) -> Vec<Step> {
    let ci = |c: (f64, f64)| format!("{}–{}", pct(c.0), pct(c.1));
    let mut out = Vec::new();
    out.push(Step {
        title: "1. Threat",
        lines: vec![
            format!("New attacker capability: {capability}."),
            format!(
                "Attack set: {nb} baseline phishing messages from {} and {nn} messages with the capability{}.",
                a.baseline.display(),
                match (&a.new, &a.capability) {
                    (Some(d), _) => format!(" from {}", d.display()),
                    (_, Some(c)) => format!(", made here from the same messages with `{c}`"),
                    _ => String::new(),
                }
            ),
            format!(
                "Defences assessed: {}.",
                engines
                    .iter()
                    .map(|e| format!("{} ({})", e.name(), e.describe()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ],
    });
    out.push(Step {
        title: "2. Existing risk (without the capability)",
        lines: results
            .iter()
            .map(|(m, _)| {
                format!(
                    "{}: {} of {} baseline attacks evade ({}, 95% CI {}).",
                    m.engine,
                    m.baseline_evaded,
                    m.baseline_n,
                    pct(m.baseline_evasion),
                    ci(m.baseline_ci)
                )
            })
            .collect(),
    });
    let mut held = Vec::new();
    for (m, _) in results {
        let top: Vec<String> = m
            .symbols
            .iter()
            .take(10)
            .map(|(s, b, n)| format!("{s} {} → {}", pct(*b), pct(*n)))
            .collect();
        held.push(format!(
            "{}: the scoring symbols that fire most on the baseline, share of messages baseline → new: {}",
            m.engine,
            if top.is_empty() {
                "none".into()
            } else {
                top.join("; ")
            }
        ));
    }
    out.push(Step {
        title: "3. Existing defences (what catches the baseline, and what happens to it)",
        lines: held,
    });
    out.push(Step {
        title: "4. Evidence of marginal risk",
        lines: results
            .iter()
            .map(|(m, _)| {
                format!(
                    "{}: with the capability {} of {} evade ({}, 95% CI {}); difference {:+.1} points (95% CI {:+.1} to {:+.1}; {}, {} pairs, {} caught before and missed with the capability). {}",
                    m.engine,
                    m.new_evaded,
                    m.new_n,
                    pct(m.new_evasion),
                    ci(m.new_ci),
                    m.difference.0 * 100.0,
                    m.difference.1 * 100.0,
                    m.difference.2 * 100.0,
                    m.method,
                    m.paired,
                    m.new_evasions,
                    if m.difference.1 > 0.0 {
                        "The interval excludes zero: the capability adds risk against this defence."
                    } else if m.difference.2 < 0.0 {
                        "The interval is below zero: the capability makes these attacks easier to catch."
                    } else {
                        "The interval includes zero: no marginal risk shown at this sample size."
                    }
                )
            })
            .collect(),
    });
    let mut ease = Vec::new();
    for (m, fix) in results {
        let mut weakened: Vec<&(String, f64, f64)> =
            m.symbols.iter().filter(|(_, b, n)| b > n).collect();
        weakened.sort_by(|x, y| (y.1 - y.2).total_cmp(&(x.1 - x.2)));
        let lost: Vec<String> = weakened
            .iter()
            .take(5)
            .map(|(s, b, n)| format!("{s} ({} → {})", pct(*b), pct(*n)))
            .collect();
        ease.push(format!(
            "{}: defences that weakened most: {}.",
            m.engine,
            if lost.is_empty() {
                "none".into()
            } else {
                lost.join(", ")
            }
        ));
        if m.new_evaded > 0 && fix.is_some() {
            ease.push(format!(
                "{}: {} of the {} evading messages are near misses (score ≥ half the flag threshold){}.",
                m.engine,
                m.near_misses,
                m.new_evaded,
                if m.near_miss_symbols.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; what fires on them: {}",
                        m.near_miss_symbols
                            .iter()
                            .take(5)
                            .map(|(s, c)| format!("{s}×{c}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                }
            ));
        }
        if let Some(f) = fix
            && f.evaded > 0
        {
            ease.push(format!(
                "{}: lowering the flag threshold from {:.2} to {:.2} would catch {} of the {} evading messages{}.",
                m.engine,
                f.current,
                f.threshold,
                f.caught,
                f.evaded,
                match (f.ham_fp_now, f.ham_fp_at) {
                    (Some(x), Some(y)) => format!(
                        " at a ham false-positive rate of {} (now {}, on {nham} ham)",
                        crate::eval::pct2(y),
                        crate::eval::pct2(x)
                    ),
                    _ => " (give --ham to price this in false positives)".into(),
                }
            ));
        }
    }
    out.push(Step {
        title: "5. Ease of defence (what would close the gap)",
        lines: ease,
    });
    let mut unc = Vec::new();
    for (m, _) in results {
        unc.push(format!(
            "{}: interval widths: baseline ±{:.1} points, new ±{:.1}, difference ±{:.1}; {} result(s) without a verdict left out.",
            m.engine,
            (m.baseline_ci.1 - m.baseline_ci.0) * 50.0,
            (m.new_ci.1 - m.new_ci.0) * 50.0,
            (m.difference.2 - m.difference.1) * 50.0,
            m.errors
        ));
    }
    unc.push("Stored mail is scanned offline: live DNS, sender history and intel that was current when it arrived are absent unless configured, so absolute rates differ from a live deployment; the difference between the sets is the measured quantity.".into());
    if a.capability
        .as_deref()
        .is_some_and(|c| c.contains("rewrite"))
        && a.rewriter.rewriter == "builtin"
    {
        unc.push("The rewriter is the built-in deterministic paraphraser, a stand-in: a language model rewrites more freely (give --rewriter chat:URL or cmd:...).".into());
    }
    out.push(Step {
        title: "6. Uncertainty",
        lines: unc,
    });
    out
}

fn assess_html(capability: &str, steps: &[Step], results: &[(Marginal, Option<Fix>)]) -> String {
    use rt::{Report, bar_chart};
    let mut r = Report::new("outwork marginal-risk assessment");
    r.generated(&crate::now_rfc3339());
    r.paragraph(&format!(
        "Capability assessed: {capability}. Laid out in the steps of the marginal-risk framework of Kapoor et al. (2024): threat, existing risk, existing defences, evidence of marginal risk, ease of defence, uncertainty. Every number comes from this run."
    ));
    let mut bars = Vec::new();
    for (m, _) in results {
        bars.push((
            format!("{} baseline", m.engine),
            m.baseline_evasion,
            Some(m.baseline_ci),
        ));
        bars.push((format!("{} new", m.engine), m.new_evasion, Some(m.new_ci)));
    }
    r.svg(bar_chart(
        "Evasion rate, baseline and with the capability (95% Wilson)",
        &bars,
    ));
    for s in steps {
        r.heading(2, s.title);
        for l in &s.lines {
            r.paragraph(l);
        }
    }
    for (m, _) in results {
        let rows: Vec<Vec<String>> = m
            .symbols
            .iter()
            .take(30)
            .map(|(s, b, n)| {
                vec![
                    s.clone(),
                    pct(*b),
                    pct(*n),
                    format!("{:+.1}", (n - b) * 100.0),
                ]
            })
            .collect();
        r.table(
            &format!("{}: symbol firing share, baseline against new", m.engine),
            &["symbol", "baseline", "new", "change (points)"],
            &rows,
        );
    }
    r.render()
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn variant_names_stay_readable_and_distinct() {
        assert_eq!(
            file_name("phish/pot/sample-1.eml"),
            "phish_pot_sample-1.eml"
        );
        assert_eq!(file_name("x"), "x.eml");
        // Characters lost in the name: a hash of the path keeps them apart.
        let (a, b) = (file_name("发票.eml"), file_name("通知.eml"));
        assert_ne!(a, b);
        assert!(a.ends_with(".eml") && a.starts_with("__-"), "{a}");
    }
}
