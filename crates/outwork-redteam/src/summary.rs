//! What a security team reads about one engine on one labelled corpus:
//! confusion per action, precision/recall/FPR with intervals, ROC and PR
//! curves from the scores, recall at fixed false-positive rates, per-source
//! rates, symbol firing rates and (in-process) family ablation.
//!
//! Positive = phishing, negative = ham; spam is reported on its own (a
//! phishing filter that also flags spam is not wrong, nor is one that doesn't).

use crate::Sample;
use crate::run::Outcome;
use crate::stats;
use serde::Serialize;
use std::collections::BTreeMap;

/// The messages of one label (`phish`, `ham`, `spam`, …) as one engine
/// judged them.
#[derive(Debug, Clone, Serialize, Default)]
pub struct LabelStats {
    /// Messages with this label (errors included).
    pub n: usize,
    /// Of those, messages flagged ([`crate::Verdict::flagged`]); errors never count.
    pub flagged: usize,
    /// Messages without a verdict (unreadable, engine error); in no rate.
    pub errors: usize,
    /// Engine action name → count.
    pub actions: BTreeMap<String, usize>,
}

/// One (source, label) group of the corpus (the manifest's `source` column
/// or the folder under `phish/`, `ham/`, `spam/`): where the misses and
/// false positives come from.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRow {
    /// The corpus source (manifest column or sub-folder name).
    pub source: String,
    /// The label of its messages.
    pub label: String,
    /// Messages of this source and label (errors included).
    pub n: usize,
    /// Of those, messages flagged ([`crate::Verdict::flagged`]).
    pub flagged: usize,
    /// Messages without a verdict; in no rate.
    pub errors: usize,
    /// Engine action name → count (messages with a verdict only).
    pub actions: BTreeMap<String, usize>,
}

/// Recall at a fixed false-positive budget: the best score threshold whose
/// FPR on this corpus stays within `max_fpr` (phish vs ham, by score, not
/// by the engine's own action).
#[derive(Debug, Clone, Serialize)]
pub struct AtFpr {
    /// The budget, a fraction 0–1 (0.01 = 1%, 0.001 = 0.1%).
    pub max_fpr: f64,
    /// Fraction of phishing with `score >= threshold`; 0 when no threshold
    /// fits the budget (or there is no phishing).
    pub recall: f64,
    /// The score threshold used; `+inf` when none fits the budget.
    pub threshold: f64,
    /// The FPR actually reached at that threshold (≤ `max_fpr`), fraction 0–1.
    pub fpr: f64,
}

/// How often one rule/symbol fired, per label: which signals carry the
/// recall and which cause the false positives.
#[derive(Debug, Clone, Serialize)]
pub struct SymbolRow {
    /// The engine's symbol (rule) name.
    pub symbol: String,
    /// Messages it fired on, per label.
    pub phish: usize,
    /// Ham messages it fired on.
    pub ham: usize,
    /// Messages of any other label (spam, …) it fired on.
    pub spam: usize,
}

/// What the in-process engine loses when one signal family is switched
/// off: recall and FPR recomputed from [`crate::ablation`] (a full scan per
/// family), next to the engine's unablated numbers.
#[derive(Debug, Clone, Serialize)]
pub struct AblationRow {
    /// The family switched off (one of [`crate::FAMILIES`]).
    pub family: String,
    /// Phishing flagged without it / phishing with a verdict, fraction 0–1.
    pub recall: f64,
    /// Ham flagged without it / ham with a verdict, fraction 0–1.
    pub fpr: f64,
    /// `recall` minus the full engine's recall (negative: the family helps).
    pub recall_change: f64,
    /// `fpr` minus the full engine's FPR (negative: the family costs false
    /// positives).
    pub fpr_change: f64,
}

/// Everything the evaluation report says about one engine on one labelled
/// corpus. Positive = `phish`, negative = `ham`; other labels (spam) are in
/// `by_label`, `by_source` and `symbols` but in no rate. Rates are fractions
/// 0–1 over the messages with a verdict; errors are counted, never scored.
#[derive(Debug, Clone, Serialize)]
pub struct EngineSummary {
    /// The engine's name (as in `--engine` and the checkpoint).
    pub engine: String,
    /// A one-line description of the engine (address, config).
    pub describe: String,
    /// Messages in the corpus (every label, errors included).
    pub messages: usize,
    /// Messages without a verdict from this engine; in no rate.
    pub errors: usize,
    /// Counts per label.
    pub by_label: BTreeMap<String, LabelStats>,
    /// Phishing flagged (true positives).
    pub tp: usize,
    /// Ham flagged (false positives).
    pub fp: usize,
    /// Ham not flagged (true negatives).
    pub tn: usize,
    /// Phishing not flagged (misses, false negatives).
    pub fn_: usize,
    /// `tp / (tp + fp)`; 0 when nothing was flagged.
    pub precision: f64,
    /// `tp / (tp + fn)`, the share of phishing flagged; 0 without phishing.
    pub recall: f64,
    /// Wilson 95% interval of `recall`; `(0, 1)` without phishing.
    pub recall_ci: (f64, f64),
    /// `fp / (fp + tn)`, the share of ham flagged; 0 without ham.
    pub fpr: f64,
    /// Wilson 95% interval of `fpr`; `(0, 1)` without ham.
    pub fpr_ci: (f64, f64),
    /// `2tp / (2tp + fp + fn)`; 0 when undefined.
    pub f1: f64,
    /// Area under `roc` (ties count ½); 0.5 when a class is missing.
    pub auc: f64,
    /// Step-wise average precision over the score thresholds (scikit-learn's
    /// definition); 0 without phishing.
    pub average_precision: f64,
    /// Recall by score at FPR budgets of 1% and 0.1%.
    pub recall_at_fpr: Vec<AtFpr>,
    /// (fpr, tpr) points.
    pub roc: Vec<(f64, f64)>,
    /// (recall, precision) points.
    pub pr: Vec<(f64, f64)>,
    /// Counts per (source, label), sorted by source then label.
    pub by_source: Vec<SourceRow>,
    /// Symbols that fired, most phishing hits first (then by name).
    pub symbols: Vec<SymbolRow>,
    /// Per-family ablation (`outwork eval` always runs it); `None` unless the
    /// engine is in-process and the run recorded [`Outcome::flagged_without`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ablation: Option<Vec<AblationRow>>,
    /// Median scan time per message in milliseconds (verdicts only).
    pub median_ms: f64,
    /// 99th-percentile scan time per message in milliseconds (nearest rank).
    pub p99_ms: f64,
    /// Benign twins of the phishing (`eval --twins`): how many were flagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twins: Option<TwinSummary>,
}

/// The benign twins of a corpus's phishing (the same text sent by the
/// impersonated brand, see [`crate::benign_twin`]) as one engine
/// judged them: every flagged twin is a false positive.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TwinSummary {
    /// Phishing messages looked at.
    pub phish: usize,
    /// Of those, messages with a twin (a brand was identified).
    pub twins: usize,
    /// Twins without a verdict (engine error); in no rate.
    pub errors: usize,
    /// Twins flagged (any action but accept).
    pub flagged: usize,
    /// flagged / (twins - errors), fraction 0–1; 0 when no twin was judged.
    pub fpr: f64,
    /// Wilson 95% interval of `fpr`; `(0, 1)` when no twin was judged.
    pub fpr_ci: (f64, f64),
    /// Engine action name → count.
    pub actions: BTreeMap<String, usize>,
}

/// The error a twin scan records when the message has no twin (no brand
/// identified): not a twin, not an error.
pub const NO_TWIN: &str = "no benign twin (no impersonated brand identified)";

/// Summarise engine column `e` of the twin outcomes (one row per phishing
/// message; [`NO_TWIN`] where it has none).
pub fn summarize_twins(outcomes: &[Vec<Outcome>], e: usize) -> TwinSummary {
    let mut t = TwinSummary::default();
    for row in outcomes {
        let Some(o) = row.get(e) else { continue };
        t.phish += 1;
        match o.error.as_deref() {
            Some(NO_TWIN) => continue,
            Some(_) => {
                t.twins += 1;
                t.errors += 1;
                continue;
            }
            None => t.twins += 1,
        }
        *t.actions.entry(o.action.clone()).or_default() += 1;
        t.flagged += usize::from(o.flagged);
    }
    let judged = t.twins - t.errors;
    t.fpr = stats::proportion(t.flagged, judged);
    t.fpr_ci = stats::wilson(t.flagged, judged, 1.96);
    t
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Summarise engine column `e` of `outcomes` (`[item][engine]`, items in
/// the order of `samples`).
pub fn summarize(
    samples: &[Sample],
    outcomes: &[Vec<Outcome>],
    e: usize,
    engine: &str,
    describe: &str,
) -> EngineSummary {
    let mut by_label: BTreeMap<String, LabelStats> = BTreeMap::new();
    let mut sources: BTreeMap<(String, String), SourceRow> = BTreeMap::new();
    let mut conf = stats::Confusion::default();
    let mut scored: Vec<(f64, bool)> = Vec::new();
    let mut fires: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let mut ms: Vec<f64> = Vec::new();
    let mut errors = 0;
    let mut ablation_counts: Option<Vec<(usize, usize)>> = None;
    let (mut pos, mut neg) = (0usize, 0usize);
    for (s, row) in samples.iter().zip(outcomes) {
        let Some(o) = row.get(e) else { continue };
        let l = by_label.entry(s.label.clone()).or_default();
        l.n += 1;
        let src = sources
            .entry((s.source.clone(), s.label.clone()))
            .or_insert_with(|| SourceRow {
                source: s.source.clone(),
                label: s.label.clone(),
                n: 0,
                flagged: 0,
                errors: 0,
                actions: BTreeMap::new(),
            });
        src.n += 1;
        if o.error.is_some() {
            errors += 1;
            l.errors += 1;
            src.errors += 1;
            // An error is not a verdict: it counts in no rate.
            continue;
        }
        ms.push(o.ms);
        *l.actions.entry(o.action.clone()).or_default() += 1;
        *src.actions.entry(o.action.clone()).or_default() += 1;
        if o.flagged {
            l.flagged += 1;
            src.flagged += 1;
        }
        let class = match s.label.as_str() {
            "phish" => 0,
            "ham" => 1,
            _ => 2,
        };
        for sym in &o.symbols {
            fires.entry(sym.as_str()).or_default()[class] += 1;
        }
        if class < 2 {
            let positive = class == 0;
            conf.add(o.flagged, positive);
            scored.push((o.score, positive));
            if positive {
                pos += 1;
            } else {
                neg += 1;
            }
            if let Some(fw) = &o.flagged_without {
                let counts = ablation_counts.get_or_insert_with(|| vec![(0, 0); fw.len()]);
                for (c, f) in counts.iter_mut().zip(fw) {
                    if *f {
                        if positive {
                            c.0 += 1;
                        } else {
                            c.1 += 1;
                        }
                    }
                }
            }
        }
    }
    let roc = stats::roc(&scored);
    let auc = stats::auc(&roc);
    let pr = stats::pr_curve(&scored);
    let recall_at_fpr = [0.01, 0.001]
        .iter()
        .map(|&m| {
            let (recall, threshold, fpr) = stats::recall_at_fpr(&scored, m);
            AtFpr {
                max_fpr: m,
                recall,
                threshold,
                fpr,
            }
        })
        .collect();
    let recall = conf.recall();
    let fpr = conf.fpr();
    let ablation = ablation_counts.map(|counts| {
        counts
            .iter()
            .zip(crate::FAMILIES)
            .map(|(&(p, h), fam)| {
                let (r, f) = (stats::proportion(p, pos), stats::proportion(h, neg));
                AblationRow {
                    family: fam.to_string(),
                    recall: r,
                    fpr: f,
                    recall_change: r - recall,
                    fpr_change: f - fpr,
                }
            })
            .collect()
    });
    let mut symbols: Vec<SymbolRow> = fires
        .into_iter()
        .map(|(k, c)| SymbolRow {
            symbol: k.to_string(),
            phish: c[0],
            ham: c[1],
            spam: c[2],
        })
        .collect();
    symbols.sort_by(|a, b| b.phish.cmp(&a.phish).then(a.symbol.cmp(&b.symbol)));
    ms.sort_by(f64::total_cmp);
    EngineSummary {
        engine: engine.into(),
        describe: describe.into(),
        messages: samples.len(),
        errors,
        by_label,
        tp: conf.tp,
        fp: conf.fp,
        tn: conf.tn,
        fn_: conf.fn_,
        precision: conf.precision(),
        recall,
        recall_ci: stats::wilson(conf.tp, conf.tp + conf.fn_, 1.96),
        fpr,
        fpr_ci: stats::wilson(conf.fp, conf.fp + conf.tn, 1.96),
        f1: conf.f1(),
        auc,
        average_precision: stats::average_precision(&scored),
        recall_at_fpr,
        roc: roc.iter().map(|p| (p.fpr, p.tpr)).collect(),
        pr: pr.iter().map(|p| (p.recall, p.precision)).collect(),
        by_source: sources.into_values().collect(),
        symbols,
        ablation,
        median_ms: percentile(&ms, 0.5),
        p99_ms: percentile(&ms, 0.99),
        twins: None,
    }
}
