//! outwork-redteam: evaluate any defence on labelled mail, mutate attacks,
//! report marginal risk.
//!
//! A corpus is a folder with a `MANIFEST.tsv` (path, label, source, ...) or
//! with `phish/`, `ham/`, `spam/` sub-folders (source = the next folder).
//!
//! The modules are private; this root is the API:
//! - engines: who is evaluated ([`Engine`]: [`InProcess`], [`CheckV2`],
//!   [`Spamd`]);
//! - running many messages with several engines, resumable ([`run_all`],
//!   [`Checkpoint`]);
//! - the per-engine evaluation numbers ([`summarize`], [`EngineSummary`]);
//! - attacker transformations of a message ([`mutate()`], [`Op`],
//!   [`Rewriter`]) and benign twins ([`benign_twin`]);
//! - evasion per operator and marginal risk between attack sets
//!   ([`compare_variant`], [`marginal_risk`]);
//! - the adaptive attacker ([`search_all`]);
//! - training and cross-validation of the learned model ([`cross_validate`],
//!   [`final_model`]);
//! - the offline HTML report ([`Report`]);
//! - [`hostile`]: messages that attack the scanner itself (a public toolkit
//!   for tests, benchmarks and `scripts/soak.sh`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![warn(unnameable_types)]

mod attack;
mod engines;
pub mod hostile;
mod mutate;
mod report;
mod run;
mod search;
mod stats;
mod summary;
mod train;

pub use attack::{Marginal, VariantStats, compare as compare_variant, marginal as marginal_risk};
pub use engines::{
    CheckV2, Engine, EngineError, InProcess, RSPAMD_SPAM_ACTIONS, Spamd, SpamdReplyError, Verdict,
    derive_envelope, parse_spamd, parse_spec as parse_engine_spec,
};
pub use mutate::{
    BuiltinRewriter, ChatRewriter, CommandRewriter, MutateCtx, MutateError, Mutated, Op,
    RewriteError, Rewriter, TWIN_AUTHSERV_ID, benign_twin, mutate,
};
pub use report::{Report, Series, bar_chart, line_chart};
pub use run::{Checkpoint, Done, LoadError, Outcome, RunError, fingerprint, run_all};
pub use search::{
    CurvePoint, MakeVariant, MakeVariants, MessageSearch, SearchConfig, SearchSummary, Tried,
    search_all, search_one, summarize as summarize_search, variant_name,
};
pub use summary::{
    AblationRow, AtFpr, EngineSummary, LabelStats, NO_TWIN, SourceRow, SymbolRow, TwinSummary,
    summarize, summarize_twins,
};
pub use train::{
    AtFp, Cv, Heldout, Item as TrainItem, PRIOR_COUNT, Plan, TwinFn, cross_validate,
    extract as extract_features, features_of, final_model, fit as fit_model,
    load_all as load_training_corpora, prior as model_prior,
};

use outwork_core::Family;
use outwork_engine::Scanner;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a corpus or an anchors file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file or folder could not be read: its path and why.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The folder is not a corpus (or its label folders hold no file).
    #[error("{0}: no MANIFEST.tsv and no phish/ ham/ spam/ folders")]
    NotACorpus(PathBuf),
}

/// One labelled message of a corpus.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Path relative to the corpus root (as in the manifest).
    pub rel: String,
    /// Where to read it (the corpus root joined with `rel`).
    pub path: PathBuf,
    /// `phish` (positive), `ham` (negative), `spam` (in no rate), or whatever
    /// else the manifest says.
    pub label: String,
    /// Where it came from (a feed, a mailbox): the manifest column, or the
    /// folder under the label folder (the label itself for files directly
    /// in it). Per-source rates and [`Cv::Source`] group by it.
    pub source: String,
}

/// Load the corpus at `root`: its `MANIFEST.tsv` when there is one (see
/// [`load_manifest`]), else every file under `phish/`, `ham/` and `spam/`
/// (recursively; sorted by path). Every file counts, hidden ones included.
pub fn load_corpus(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let manifest = root.join("MANIFEST.tsv");
    if manifest.is_file() {
        return load_manifest(root, &manifest);
    }
    let mut out = Vec::new();
    for label in ["phish", "ham", "spam"] {
        let dir = root.join(label);
        if !dir.is_dir() {
            continue;
        }
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            let rd = std::fs::read_dir(&d).map_err(|e| EvalError::Io(d.clone(), e))?;
            for e in rd.filter_map(Result::ok) {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(root)
                        .unwrap_or(&p)
                        .to_string_lossy()
                        .into_owned();
                    let source = p
                        .strip_prefix(&dir)
                        .ok()
                        .and_then(|r| r.components().next())
                        .filter(|_| p.parent() != Some(&dir))
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .unwrap_or_else(|| label.to_string());
                    out.push(Sample {
                        rel,
                        path: p,
                        label: label.to_string(),
                        source,
                    });
                }
            }
        }
    }
    if out.is_empty() {
        return Err(EvalError::NotACorpus(root.to_path_buf()));
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Read a manifest (header row first; columns path, label, source; further
/// columns ignored). Rows with fewer than three columns are skipped
/// silently; the files are not checked.
pub fn load_manifest(root: &Path, manifest: &Path) -> Result<Vec<Sample>, EvalError> {
    let text =
        std::fs::read_to_string(manifest).map_err(|e| EvalError::Io(manifest.to_path_buf(), e))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut c = l.split('\t');
            let (rel, label, source) = (c.next()?, c.next()?, c.next()?);
            Some(Sample {
                rel: rel.to_string(),
                path: root.join(rel),
                label: label.to_string(),
                source: source.to_string(),
            })
        })
        .collect())
}

/// The signal families, in the order of [`ablation`]'s answer.
pub const FAMILIES: [&str; 7] = {
    let mut names = [""; 7];
    let mut i = 0;
    while i < 7 {
        names[i] = Family::ALL[i].name();
        i += 1;
    }
    names
};

/// Flagged (action != accept) with each of [`FAMILIES`] switched off in
/// turn: each a full [`Scanner::scan`] (the same pipeline as the verdict
/// it is compared with).
pub fn ablation(data: &[u8], scanner: &Scanner) -> [bool; 7] {
    let mut flagged_without = [false; 7];
    for (slot, (_, flagged)) in flagged_without
        .iter_mut()
        .zip(scanner.ablation(data, &scanner.envelope))
    {
        *slot = flagged;
    }
    flagged_without
}

/// An anchor engine's verdict on one file, from `anchors/scan.sh` JSONL.
#[derive(Debug, Clone)]
pub struct AnchorVerdict {
    /// The anchor engine as the JSONL names it (`rspamd`, else SpamAssassin).
    pub engine: String,
    /// Its spam decision, by the rule of [`load_anchors`].
    pub flagged: bool,
}

/// Read anchors JSONL: rspamd flagged = action in {add header, rewrite
/// subject, reject} ([`RSPAMD_SPAM_ACTIONS`]); any other engine flagged =
/// `is_spam`. Keyed by the `file` field; lines that are not JSON are
/// skipped.
pub fn load_anchors(path: &Path) -> Result<BTreeMap<String, Vec<AnchorVerdict>>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::Io(path.to_path_buf(), e))?;
    let mut m: BTreeMap<String, Vec<AnchorVerdict>> = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let engine = v["engine"].as_str().unwrap_or("").to_string();
        let file = v["file"].as_str().unwrap_or("").to_string();
        let action = v["action"].as_str().unwrap_or("");
        let flagged = match engine.as_str() {
            "rspamd" => engines::RSPAMD_SPAM_ACTIONS.contains(&action),
            _ => v["is_spam"].as_bool().unwrap_or(false),
        };
        m.entry(file)
            .or_default()
            .push(AnchorVerdict { engine, flagged });
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_bounds() {
        let (lo, hi) = stats::wilson(90, 100, 1.96);
        assert!(
            lo > 0.82 && lo < 0.84 && hi > 0.94 && hi < 0.96,
            "{lo} {hi}"
        );
        assert_eq!(stats::wilson(0, 0, 1.96), (0.0, 1.0));
    }
}
