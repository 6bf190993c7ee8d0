//! `outwork train`: learn the verdict model from labelled corpora, with
//! cross-validation by random folds, by source and by time, benign twins
//! of the training phishing as legitimate mail, and a calibration that puts
//! the tag threshold at a false-positive target on held-out ham.
//!
//! Features come from the same scanner every verdict uses, with the model
//! switched off (the model learns from the symbols, not from itself).

use crate::{Sample, load_corpus};
use outwork_core::{
    Example, Features, Model, TrainOptions, model_features, threshold_at, train_model,
};
use outwork_engine::Scanner;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One message as the trainer sees it.
#[derive(Debug, Clone)]
pub struct Item {
    /// Path relative to its corpus root ([`crate::Sample::rel`]).
    pub rel: String,
    /// Its corpus source (what [`Cv::Source`] holds out).
    pub source: String,
    /// Labelled `phish` (else `ham`; spam is never an item).
    pub phish: bool,
    /// Unix seconds of its Date header; `None` when missing or unreadable
    /// ([`Cv::Time`] then counts it as the oldest).
    pub date: Option<i64>,
    /// What the model sees of it ([`features_of`]).
    pub features: Features,
    /// Features of its benign twin (phishing that names a brand only).
    pub twin: Option<Features>,
}

/// How to split for cross-validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cv {
    /// k random folds (seeded by [`TrainOptions::seed`]); k must be ≥ 2.
    Random(usize),
    /// Each ham source held out in turn (with a share of the phishing).
    Source,
    /// Train on the earlier 70% of each class by date, test on the rest.
    Time,
}

impl Cv {
    /// `random` (5 folds), `random:K` (K ≥ 2), `source` or `time`; `None`
    /// for anything else.
    pub fn parse(s: &str) -> Option<Cv> {
        match s {
            "source" => Some(Cv::Source),
            "time" => Some(Cv::Time),
            "random" => Some(Cv::Random(5)),
            _ => s
                .strip_prefix("random:")
                .and_then(|k| k.parse().ok())
                .filter(|k| *k >= 2)
                .map(Cv::Random),
        }
    }

    /// The spec [`Cv::parse`] reads back (`random:5`, `source`, `time`).
    pub fn name(self) -> String {
        match self {
            Cv::Random(k) => format!("random:{k}"),
            Cv::Source => "source".into(),
            Cv::Time => "time".into(),
        }
    }
}

/// Makes the benign twin of a phishing message (None: no brand to twin).
pub type TwinFn = dyn Fn(&[u8]) -> Option<Vec<u8>> + Sync;

/// Extract features of every phish and ham sample (spam is left out: a
/// phishing model is not a spam model), twins with `twin` when given.
/// Progress goes to `progress` every 500 messages.
pub fn extract(
    samples: &[Sample],
    scanner: &Scanner,
    twin: Option<&TwinFn>,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<Item> {
    let wanted: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.label == "phish" || s.label == "ham")
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let bits = TrainOptions::default().bits;
    let mut out: Vec<Option<Item>> = vec![None; wanted.len()];
    let chunks: Vec<Vec<(usize, Item)>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(sample) = wanted.get(i) else { break };
                        let Ok(raw) = std::fs::read(&sample.path) else {
                            continue;
                        };
                        let phish = sample.label == "phish";
                        let (features, facts) = features_of(&raw, scanner, bits);
                        let date = facts.date;
                        let twin = if phish {
                            twin.and_then(|t| t(&raw))
                                .map(|tw| features_of(&tw, scanner, bits).0)
                        } else {
                            None
                        };
                        mine.push((
                            i,
                            Item {
                                rel: sample.rel.clone(),
                                source: sample.source.clone(),
                                phish,
                                date,
                                features,
                                twin,
                            },
                        ));
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if d.is_multiple_of(500) {
                            progress(d, wanted.len());
                        }
                    }
                    mine
                })
            })
            .collect();
        hs.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    for (i, item) in chunks.into_iter().flatten() {
        out[i] = Some(item);
    }
    out.into_iter().flatten().collect()
}

/// The model's view of one raw message, from the model-less scanner, and
/// the facts it was read from.
pub fn features_of(raw: &[u8], scanner: &Scanner, bits: u32) -> (Features, outwork_core::Facts) {
    let scan = scanner.scan(raw, &scanner.envelope, &Default::default());
    let names: Vec<&'static str> = scan.verdict.symbols.iter().map(|s| s.name).collect();
    (model_features(&scan.facts, &names, &[], bits), scan.facts)
}

/// Settings of one training run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The learner's settings (epochs, regularisation, hashed bits, seed…).
    pub options: TrainOptions,
    /// Loss weight of a benign twin (legitimate) example.
    pub twin_weight: f64,
    /// False-positive target the tag threshold is calibrated to, a fraction
    /// 0–1 of held-out ham (default 0.005 = 0.5%).
    pub fp_target: f64,
    /// The score the calibration puts at `fp_target` (the config's tag
    /// threshold).
    pub tag_threshold: f64,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            options: TrainOptions::default(),
            twin_weight: 1.0,
            fp_target: 0.005,
            tag_threshold: 5.0,
        }
    }
}

fn examples<'a>(items: impl Iterator<Item = &'a Item>, plan: &Plan) -> Vec<Example> {
    let mut ex = Vec::new();
    for it in items {
        ex.push(Example {
            features: it.features.clone(),
            phish: it.phish,
            weight: 1.0,
        });
        if let Some(t) = &it.twin {
            ex.push(Example {
                features: t.clone(),
                phish: false,
                weight: plan.twin_weight,
            });
        }
    }
    ex
}

/// A symbol's hand-set weight: the prior of every learned weight.
pub fn prior(name: &str) -> f64 {
    outwork_core::lookup_symbol(name).map_or(0.0, |d| d.weight)
}

/// Fit on `items` (twins of their phishing as legitimate mail).
pub fn fit(items: &[&Item], plan: &Plan) -> Model {
    let ex = examples(items.iter().copied(), plan);
    train_model(&ex, &prior, &plan.options)
}

fn raw_score(m: &Model, f: &Features) -> f64 {
    m.score(f, &prior).total()
}

/// Held-out scores of one cross-validation: every item scored by a model
/// that did not train on it (nor on its twin).
#[derive(Debug, Clone, Default)]
/// Scores are the fold model's raw scores (before [`final_model`]'s
/// rescaling).
pub struct Heldout {
    /// Scores of the held-out phishing.
    pub phish: Vec<f64>,
    /// Scores of the held-out ham.
    pub ham: Vec<f64>,
    /// Twins of held-out phishing, by the same fold's model.
    pub twins: Vec<f64>,
    /// Extra held-out legitimate mail (never trained on), per fold model,
    /// averaged over folds.
    pub extra_ham: Vec<f64>,
    /// Test folds run (k for random, the source count (≥ 2) for source, 1
    /// for time).
    pub folds: usize,
}

/// Results at one false-positive rate. Shares are fractions 0–1 of the
/// held-out scores ([`Heldout`]); NaN when that list is empty.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AtFp {
    /// The false-positive target on held-out ham, fraction 0–1.
    pub fp_target: f64,
    /// The raw score threshold that reaches it (`+inf` without ham).
    pub threshold: f64,
    /// Held-out phishing scoring ≥ `threshold`.
    pub recall: f64,
    /// Held-out ham scoring ≥ `threshold` (at most `fp_target`; ties below).
    pub ham_fp: f64,
    /// Benign twins scoring below `threshold`, i.e. rightly accepted.
    pub twins_accepted: f64,
    /// Extra legitimate mail scoring below `threshold`.
    pub extra_accepted: f64,
}

impl Heldout {
    /// The threshold putting a share `fp` of held-out ham above it, and what
    /// it does to the other held-out sets.
    pub fn at(&self, fp: f64) -> AtFp {
        let t = threshold_at(&self.ham, fp);
        let share = |v: &[f64], above: bool| {
            if v.is_empty() {
                return f64::NAN;
            }
            v.iter().filter(|s| (**s >= t) == above).count() as f64 / v.len() as f64
        };
        AtFp {
            fp_target: fp,
            threshold: t,
            recall: share(&self.phish, true),
            ham_fp: share(&self.ham, true),
            twins_accepted: share(&self.twins, false),
            extra_accepted: share(&self.extra_ham, false),
        }
    }
}

fn fold_of(items: &[Item], cv: Cv, seed: u64) -> (Vec<usize>, usize) {
    let n = items.len();
    match cv {
        Cv::Random(k) => {
            let mut order: Vec<usize> = (0..n).collect();
            let mut rng = seed ^ 0x5eed;
            for i in (1..n).rev() {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let j = ((rng >> 33) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            let mut f = vec![0; n];
            for (pos, &i) in order.iter().enumerate() {
                f[i] = pos % k;
            }
            (f, k)
        }
        Cv::Source => {
            let mut sources: Vec<&str> = items
                .iter()
                .filter(|i| !i.phish)
                .map(|i| i.source.as_str())
                .collect();
            sources.sort_unstable();
            sources.dedup();
            let k = sources.len().max(2);
            let mut f = vec![0; n];
            let mut p = 0usize;
            for (i, it) in items.iter().enumerate() {
                f[i] = if it.phish {
                    p += 1;
                    p % k
                } else {
                    sources.iter().position(|s| *s == it.source).unwrap_or(0)
                };
            }
            (f, k)
        }
        Cv::Time => {
            // Fold 1 (test) = the latest 30% of each class by date.
            let mut f = vec![0; n];
            for phish in [true, false] {
                let mut idx: Vec<usize> = (0..n).filter(|&i| items[i].phish == phish).collect();
                idx.sort_by_key(|&i| items[i].date.unwrap_or(i64::MIN));
                let cut = idx.len() * 7 / 10;
                for &i in &idx[cut..] {
                    f[i] = 1;
                }
            }
            (f, 2)
        }
    }
}

/// Cross-validate: train on all folds but one, score the held-out fold
/// (and the twins of its phishing, and `extra` legitimate mail).
pub fn cross_validate(
    items: &[Item],
    extra: &[Features],
    cv: Cv,
    plan: &Plan,
    progress: &dyn Fn(usize, usize),
) -> Heldout {
    let (fold, k) = fold_of(items, cv, plan.options.seed);
    // Time: only fold 1 is a test fold (train on the past only).
    let tests: Vec<usize> = if cv == Cv::Time {
        vec![1]
    } else {
        (0..k).collect()
    };
    let mut h = Heldout {
        folds: tests.len(),
        ..Default::default()
    };
    let mut extra_sum = vec![0.0; extra.len()];
    for (n, &t) in tests.iter().enumerate() {
        progress(n + 1, tests.len());
        let train: Vec<&Item> = items
            .iter()
            .zip(&fold)
            .filter(|(_, f)| **f != t)
            .map(|(i, _)| i)
            .collect();
        let m = fit(&train, plan);
        for (it, f) in items.iter().zip(&fold) {
            if *f != t {
                continue;
            }
            let s = raw_score(&m, &it.features);
            if it.phish {
                h.phish.push(s);
                if let Some(tw) = &it.twin {
                    h.twins.push(raw_score(&m, tw));
                }
            } else {
                h.ham.push(s);
            }
        }
        for (acc, f) in extra_sum.iter_mut().zip(extra) {
            *acc += raw_score(&m, f);
        }
    }
    h.extra_ham = extra_sum
        .into_iter()
        .map(|s| s / tests.len() as f64)
        .collect();
    h
}

/// Pseudo-count of the hand-set prior in the final symbol weights.
pub const PRIOR_COUNT: f64 = 30.0;

/// The final model: fit on everything, then put it on the hand-set scale,
/// where a message with nothing against it scores 0 and the tag threshold
/// is what a message needs: the constant is dropped and every learned
/// weight multiplied by tag / (t − bias), where t is the score a share
/// `fp_target` of held-out ham (from `heldout`, random folds) reaches.
/// Symbols the model never learned keep their hand-set weight on that
/// same scale (a blocklist hit still means what its weight says).
pub fn final_model(items: &[Item], heldout: &Heldout, plan: &Plan) -> Model {
    let all: Vec<&Item> = items.iter().collect();
    let mut m = fit(&all, plan);
    let t = threshold_at(&heldout.ham, plan.fp_target);
    let k = plan.tag_threshold / (t - m.base);
    if k.is_finite() && k > 0.0 {
        m.meta.points_per_logit = plan.options.temperature * k;
        m.meta.logit_bias = m.base / plan.options.temperature;
        for w in m.symbols.values_mut() {
            *w *= k;
        }
        for w in &mut m.hashed {
            *w *= k as f32;
        }
        m.base = 0.0;
    }
    // Symbols seen on few training messages lean on their hand-set weight
    // (a pseudo-count of PRIOR_COUNT messages): a handful of examples must
    // not undo what a person set for a rare, strong signal.
    let mut counts: std::collections::HashMap<&str, f64> = Default::default();
    for it in items {
        for s in &it.features.symbols {
            *counts.entry(s).or_default() += 1.0;
        }
    }
    for (name, w) in m.symbols.iter_mut() {
        let n = counts.get(name.as_str()).copied().unwrap_or(0.0);
        *w = (n * *w + PRIOR_COUNT * prior(name)) / (n + PRIOR_COUNT);
    }
    m.meta.phish = items.iter().filter(|i| i.phish).count();
    m.meta.ham = items.len() - m.meta.phish;
    m.meta.twins = items.iter().filter(|i| i.twin.is_some()).count();
    m
}

/// Corpora → samples: every corpus's [`crate::load_corpus`], one after the
/// other. Source names are kept as they are (not prefixed by the corpus),
/// so equal names in two corpora are one source for [`Cv::Source`].
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Sample>, crate::EvalError> {
    let mut all = Vec::new();
    for p in paths {
        all.extend(load_corpus(p)?);
    }
    Ok(all)
}
