//! `outwork train` and `outwork model info`: a thin front over
//! outwork-redteam's training (`cross_validate`, `final_model`).

use anyhow::{Context as _, Result};
use outwork_redteam::{Cv, Heldout, Plan};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Labelled corpora (MANIFEST.tsv or phish/ ham/ folders); spam is not used.
    #[arg(required = true)]
    pub corpora: Vec<PathBuf>,
    /// Where to write the model (`[model] path` loads it).
    #[arg(long, short, default_value = "outwork.owml")]
    pub out: PathBuf,
    /// Deployment context the features are computed under (which
    /// Authentication-Results to trust, protected domains…).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Cross-validation reported: random:K, source, time (repeatable).
    #[arg(long = "cv", default_values_t = vec!["random:5".to_string(), "source".to_string(), "time".to_string()])]
    pub cv: Vec<String>,
    /// Legitimate mail never trained on, scored by every fold's model
    /// (e.g. ../shared/legit_modern when checking it unseen).
    #[arg(long)]
    pub holdout: Vec<PathBuf>,
    /// Folders of legitimate mail (.eml files) to train on as ham, e.g.
    /// ../shared/legit_modern.
    #[arg(long)]
    pub ham: Vec<PathBuf>,
    /// Don't add benign twins of the training phishing as legitimate mail.
    #[arg(long)]
    pub no_twins: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    /// Feature set, for comparison: all, symbols (with pairs), or
    /// symbols-only (no pairs, no words).
    #[arg(long, default_value = "all")]
    pub features: String,
    /// Loss weight of each benign twin (legitimate) example.
    #[arg(long, default_value_t = 1.0)]
    pub twin_weight: f64,
    /// L2 strength around the prior (hand-set weights for symbols, zero
    /// for words and pairs).
    #[arg(long, default_value_t = 1e-4)]
    pub l2: f64,
    /// L2 strength for hashed words and pairs (around zero).
    #[arg(long, default_value_t = 1e-4)]
    pub l2_words: f64,
    /// Score points per logit while training: the hand-set prior weights
    /// are in points, so this sets how strongly they hold.
    #[arg(long, default_value_t = 0.5)]
    pub temperature: f64,
    /// Only cross-validate; write no model.
    #[arg(long)]
    pub cv_only: bool,
    /// Worker threads for feature extraction (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

fn line(name: &str, h: &Heldout) -> Vec<String> {
    [0.005, 0.001]
        .iter()
        .map(|&fp| {
            let a = h.at(fp);
            format!(
                "{name:<10} at {:>4.1}% ham FP: recall {:5.1}% ({} phish, {} ham){}{}",
                fp * 100.0,
                a.recall * 100.0,
                h.phish.len(),
                h.ham.len(),
                if h.twins.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", benign twins accepted {:5.1}% of {}",
                        a.twins_accepted * 100.0,
                        h.twins.len()
                    )
                },
                if h.extra_ham.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", holdout accepted {:5.1}% of {}",
                        a.extra_accepted * 100.0,
                        h.extra_ham.len()
                    )
                },
            )
        })
        .collect()
}

pub fn run(a: TrainArgs) -> Result<u8> {
    let mut cfg = crate::load_context(a.config.as_ref())?;
    // Features come from the symbols alone: the model must not learn from
    // a previous model.
    cfg.model = None;
    cfg.config.model.enabled = false;
    let scanner = outwork_engine::Scanner::from_config(cfg).map_err(anyhow::Error::msg)?;
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let mut samples =
        outwork_redteam::load_training_corpora(&a.corpora).context("reading the corpora")?;
    for h in &a.ham {
        let mut s = plain_folder(h).with_context(|| format!("reading {}", h.display()))?;
        let name = h
            .file_name()
            .map_or("ham".into(), |n| n.to_string_lossy().into_owned());
        for x in &mut s {
            x.source = name.clone();
        }
        samples.extend(s);
    }
    let started = std::time::Instant::now();
    eprintln!(
        "outwork train: {} messages from {} corpora; extracting features on {threads} threads",
        samples.len(),
        a.corpora.len()
    );
    let twin_fn = |raw: &[u8]| outwork_redteam::benign_twin(raw);
    let twin: Option<&outwork_redteam::TwinFn> = if a.no_twins { None } else { Some(&twin_fn) };
    let progress = |d: usize, n: usize| eprint!("\r  features: {d}/{n}");
    let items = outwork_redteam::extract_features(&samples, &scanner, twin, threads, &progress);
    eprintln!(
        "\r  features: {} messages ({} phish, {} with a benign twin) in {:.0} s",
        items.len(),
        items.iter().filter(|i| i.phish).count(),
        items.iter().filter(|i| i.twin.is_some()).count(),
        started.elapsed().as_secs_f64()
    );
    let mut items = items;
    let keep = |f: &mut outwork_core::Features, mode: &str| match mode {
        "symbols" => f.hashed.retain(|h| h.pair),
        "symbols-only" => f.hashed.clear(),
        _ => {}
    };
    for it in &mut items {
        keep(&mut it.features, &a.features);
        if let Some(t) = &mut it.twin {
            keep(t, &a.features);
        }
    }
    let mut extra = Vec::new();
    for h in &a.holdout {
        let s = outwork_redteam::load_corpus(h)
            .or_else(|_| plain_folder(h))
            .with_context(|| format!("reading holdout {}", h.display()))?;
        for smp in s.iter().filter(|s| s.label != "phish" && s.label != "spam") {
            if let Ok(raw) = std::fs::read(&smp.path) {
                let bits = outwork_core::TrainOptions::default().bits;
                let mut f = outwork_redteam::features_of(&raw, &scanner, bits).0;
                keep(&mut f, &a.features);
                extra.push(f);
            }
        }
    }
    let mut plan = Plan::default();
    plan.options.seed = a.seed;
    plan.options.epochs = a.epochs;
    plan.options.l2 = a.l2;
    plan.options.l2_words = a.l2_words;
    plan.options.temperature = a.temperature;
    plan.twin_weight = a.twin_weight;
    plan.tag_threshold = scanner.ctx.config.thresholds.tag;
    let mut notes = Vec::new();
    let mut random: Option<Heldout> = None;
    let mut json = serde_json::Map::new();
    for c in &a.cv {
        let cv = Cv::parse(c).with_context(|| format!("--cv {c}: use random:K, source or time"))?;
        let progress = |n: usize, k: usize| eprint!("\r  cv {}: fold {n}/{k}", cv.name());
        let h = outwork_redteam::cross_validate(&items, &extra, cv, &plan, &progress);
        eprint!("\r");
        for l in line(&cv.name(), &h) {
            println!("{l}");
            notes.push(l);
        }
        json.insert(
            cv.name(),
            serde_json::json!({"at_0.5%": h.at(0.005), "at_0.1%": h.at(0.001),
                "phish": h.phish.len(), "ham": h.ham.len(), "twins": h.twins.len(),
                "holdout": h.extra_ham.len()}),
        );
        if matches!(cv, Cv::Random(_)) {
            random = Some(h);
        }
    }
    if a.json {
        println!("{}", serde_json::Value::Object(json));
    }
    if a.cv_only {
        return Ok(0);
    }
    let heldout = match random {
        Some(h) => h,
        None => {
            let progress = |n: usize, k: usize| eprint!("\r  calibration: fold {n}/{k}");
            let h = outwork_redteam::cross_validate(&items, &[], Cv::Random(5), &plan, &progress);
            eprintln!();
            h
        }
    };
    let mut m = outwork_redteam::final_model(&items, &heldout, &plan);
    m.meta.trained_on = a.corpora.iter().map(|p| p.display().to_string()).collect();
    m.meta.created = today();
    m.meta.notes = notes;
    m.meta.notes.push(format!(
        "calibrated: tag threshold {} at {:.1}% held-out ham false positives",
        plan.tag_threshold,
        plan.fp_target * 100.0
    ));
    let bytes = m.to_bytes();
    std::fs::write(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "outwork train: wrote {} ({} KB) in {:.0} s",
        a.out.display(),
        bytes.len() / 1024,
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}

/// A folder of .eml files, all legitimate.
fn plain_folder(dir: &std::path::Path) -> Result<Vec<outwork_redteam::Sample>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)?.filter_map(Result::ok) {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "eml") {
            out.push(outwork_redteam::Sample {
                rel: p.display().to_string(),
                path: p,
                label: "ham".into(),
                source: "holdout".into(),
            });
        }
    }
    Ok(out)
}

/// Today's date (UTC) as YYYY-MM-DD.
fn today() -> String {
    crate::now_rfc3339().chars().take(10).collect()
}

/// `outwork model info [FILE]`: what a model was trained on.
pub fn info(path: Option<PathBuf>, config: Option<PathBuf>) -> Result<u8> {
    let (m, from) = match path {
        Some(p) => {
            let b = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            (
                Arc::new(
                    outwork_core::Model::from_bytes(&b)
                        .with_context(|| format!("{}", p.display()))?,
                ),
                p.display().to_string(),
            )
        }
        None => {
            let ctx = crate::load_context(config.as_ref())?;
            match (&ctx.config.model.path, ctx.config.model.enabled) {
                (_, false) => {
                    println!("the model is off ([model] enabled = false): hand-set weights only");
                    return Ok(0);
                }
                (Some(p), true) => return info(Some(PathBuf::from(p)), None),
                (None, true) => match outwork_core::builtin_model() {
                    Some(m) => (m, "built-in".to_string()),
                    None => {
                        println!("no built-in model in this build: hand-set weights only");
                        return Ok(0);
                    }
                },
            }
        }
    };
    let meta = &m.meta;
    println!("model: {from} (format {})", meta.format_version);
    println!("created: {}", meta.created);
    println!("trained on: {}", meta.trained_on.join(", "));
    println!(
        "examples: {} phish, {} ham, {} benign twins",
        meta.phish, meta.ham, meta.twins
    );
    println!(
        "features: {} symbols learned, 2^{} hashed words and pairs; seed {}, {} epochs, l2 {}",
        m.symbols.len(),
        meta.bits,
        meta.seed,
        meta.epochs,
        meta.l2
    );
    println!("constant (LEARNED_BASE): {:+.2}", m.base);
    if let Some(l) = &meta.local {
        println!(
            "local learning (outwork learn): {} phish and {} ham on top of {}, last {}",
            l.phish, l.ham, l.base, l.updated
        );
    }
    let mut w: Vec<(&String, &f64)> = m.symbols.iter().collect();
    w.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    println!("strongest symbol weights (learned, hand-set):");
    for (n, v) in w.iter().take(20) {
        let hand = outwork_core::lookup_symbol(n).map_or(0.0, |d| d.weight);
        println!("  {n:<28} {:+6.2}  ({hand:+.1})", v);
    }
    for n in &meta.notes {
        println!("  {n}");
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct LearnArgs {
    /// Phishing the deployment saw (files, folders of .eml, mbox).
    #[arg(long)]
    pub phish: Vec<PathBuf>,
    /// Legitimate mail it saw (e.g. messages released from quarantine).
    #[arg(long)]
    pub ham: Vec<PathBuf>,
    /// The local model to write (point `[model] path` at it). Default:
    /// model.owml in outwork's data directory.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Deployment context (which Authentication-Results to trust…).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Put back the model the last `learn` replaced.
    #[arg(long)]
    pub undo: bool,
    /// Passes over the new messages.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
}

/// Messages one `learn` takes: a local update is a correction, not a
/// retraining.
const MAX_LEARN: usize = 5_000;

/// `outwork learn`: tune the model in use with the deployment's own mail.
/// The new model goes to `--out` (the previous one kept as `.prev` for
/// `--undo`), and every message learned is appended to `.log.jsonl`.
pub fn learn(a: LearnArgs) -> Result<u8> {
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| outwork_intel::data_file("model.owml"));
    let prev = out.with_extension("owml.prev");
    if a.undo {
        anyhow::ensure!(
            prev.is_file(),
            "nothing to undo: {} does not exist",
            prev.display()
        );
        std::fs::rename(&prev, &out)
            .with_context(|| format!("restoring {} to {}", prev.display(), out.display()))?;
        eprintln!("outwork learn: restored {}", out.display());
        return Ok(0);
    }
    anyhow::ensure!(
        !a.phish.is_empty() || !a.ham.is_empty(),
        "give --phish and/or --ham messages to learn from"
    );
    let mut ctx = crate::load_context(a.config.as_ref())?;
    // The base: the model this deployment scores with now.
    let (base, base_name): (Arc<outwork_core::Model>, String) =
        match (&ctx.config.model.path, ctx.model.clone()) {
            (Some(p), _) => {
                let b = std::fs::read(p).with_context(|| format!("reading model {p}"))?;
                (
                    Arc::new(outwork_core::Model::from_bytes(&b).context(p.clone())?),
                    p.clone(),
                )
            }
            (None, Some(m)) => (m, "built-in".into()),
            (None, None) => match outwork_core::builtin_model() {
                Some(m) => (m, "built-in".into()),
                None => anyhow::bail!("no model to learn on: this build has no built-in model"),
            },
        };
    ctx.model = None;
    ctx.config.model.enabled = false;
    let scanner = outwork_engine::Scanner::from_config(ctx).map_err(anyhow::Error::msg)?;
    let mut examples = Vec::new();
    let mut log = String::new();
    let (mut np, mut nh) = (0usize, 0usize);
    for (paths, phish) in [(&a.phish, true), (&a.ham, false)] {
        for p in paths {
            let max = scanner.ctx.limits().max_message_bytes;
            for item in outwork_engine::Inputs::new(vec![p.clone()], max) {
                let Ok(raw) = item.data else { continue };
                anyhow::ensure!(
                    examples.len() < MAX_LEARN,
                    "more than {MAX_LEARN} messages: learn in smaller batches"
                );
                let (features, facts) =
                    outwork_redteam::features_of(&raw, &scanner, base.meta.bits);
                use sha2::Digest;
                let sha: String = sha2::Sha256::digest(&raw)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                log.push_str(
                    &serde_json::json!({
                        "label": if phish { "phish" } else { "ham" },
                        "sha256": sha,
                        "path": item.path,
                        "subject": facts.subject.chars().take(120).collect::<String>(),
                        "from": facts.from.as_ref().map(|f| f.address.clone()),
                    })
                    .to_string(),
                );
                log.push('\n');
                if phish {
                    np += 1;
                } else {
                    nh += 1;
                }
                examples.push(outwork_core::Example {
                    features,
                    phish,
                    weight: 1.0,
                });
            }
        }
    }
    anyhow::ensure!(!examples.is_empty(), "no readable messages to learn from");
    // Small steps: each message moves its own words and symbols, and the
    // constant (the calibration) does not move at all.
    let o = outwork_core::TrainOptions {
        bits: base.meta.bits,
        epochs: a.epochs,
        learning_rate: 0.05,
        ..Default::default()
    };
    let mut m = outwork_core::fine_tune(&base, &examples, &outwork_redteam::model_prior, &o).context(
        "this model can't be tuned (trained before `outwork learn` existed): retrain it with `outwork train`",
    )?;
    let before = base.meta.local.clone().unwrap_or_default();
    m.meta.local = Some(outwork_core::LocalMeta {
        base: if before.base.is_empty() {
            base_name
        } else {
            before.base
        },
        phish: before.phish + np,
        ham: before.ham + nh,
        updated: today(),
    });
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if out.is_file() {
        std::fs::copy(&out, &prev).with_context(|| format!("keeping {}", prev.display()))?;
    }
    let tmp = out.with_extension("owml.tmp");
    std::fs::write(&tmp, m.to_bytes()).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
    let log_path = out.with_extension("owml.log.jsonl");
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .and_then(|mut f| f.write_all(log.as_bytes()))
        .with_context(|| format!("appending to {}", log_path.display()))?;
    eprintln!(
        "outwork learn: {np} phish and {nh} ham learned; wrote {} (previous kept for --undo; log {})",
        out.display(),
        log_path.display()
    );
    if scanner.ctx.config.model.path.as_deref() != Some(&out.display().to_string()) {
        eprintln!(
            "outwork learn: to use it, set [model] path = \"{}\"",
            out.display()
        );
    }
    Ok(0)
}
