//! policy: weights → score → action. The verdict keeps every symbol.

use crate::context::Context;
use crate::symbol::{Hits, Symbol};
use serde::Serialize;

/// What to do with a message, from its score and `[thresholds]`; ordered from mildest to harshest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Below `thresholds.tag`: deliver as is.
    Accept,
    /// At or above `thresholds.tag`: deliver, marked as suspicious.
    Tag,
    /// At or above `thresholds.quarantine`: hold it away from the recipient.
    Quarantine,
    /// At or above `thresholds.reject`: refuse it.
    Reject,
}

impl Action {
    /// The lower-case name used in JSON, headers and config (`accept`, `tag`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Tag => "tag",
            Action::Quarantine => "quarantine",
            Action::Reject => "reject",
        }
    }
}

/// The outcome of a scan: the action, the score and every symbol that made it, so the verdict
/// explains itself.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// What to do, from `score` and the thresholds.
    pub action: Action,
    /// Sum of the symbols' scores, rounded to two decimals (never -0.0).
    pub score: f64,
    /// Every symbol that fired with its weight and evidence (zero-weight ones too), largest
    /// absolute contribution first, then by name.
    pub symbols: Vec<Symbol>,
    /// outwork's own Authentication-Results value (without the header
    /// name), when it verified the sender with DNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_results: Option<String>,
}

/// Score the hits with the context's weights (`[weights]` overrides, else the defaults) and pick
/// the action; the learned model is not used (see [`decide_with`]). `authentication_results` is
/// left `None` for the caller to fill.
pub fn decide(hits: Hits, ctx: &Context) -> Verdict {
    let symbols: Vec<Symbol> = hits
        .into_inner()
        .into_iter()
        .map(|(name, evidence)| Symbol {
            name,
            score: ctx.weight(name),
            evidence,
        })
        .collect();
    finish(symbols, ctx)
}

/// [`decide`] with the learned model when the context has one: each fired
/// symbol gets its learned weight (a `[weights]` entry in the config still
/// wins), and the words, symbol pairs and constant of the model appear as
/// `LEARNED_*` symbols whose evidence names their strongest parts, so the
/// score is still a sum a person can read.
pub fn decide_with(
    hits: Hits,
    ctx: &Context,
    facts: &crate::facts::Facts,
    rcpt_to: &[String],
) -> Verdict {
    let Some(model) = ctx.model.clone() else {
        return decide(hits, ctx);
    };
    let hits = hits.into_inner();
    let names: Vec<&'static str> = hits.iter().map(|(n, _)| *n).collect();
    let weighted = |i: u32| model.has_weight(i);
    let f = crate::model::features_where(facts, &names, rcpt_to, model.meta.bits, Some(&weighted));
    let prior = |n: &str| ctx.weight(n);
    let scored = model.score(&f, &prior);
    let mut symbols: Vec<Symbol> = hits
        .into_iter()
        .map(|(name, evidence)| {
            let score = if ctx.config.weights.contains_key(name) {
                ctx.weight(name)
            } else {
                scored
                    .symbols
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or_else(|| ctx.weight(name), |(_, w)| *w)
            };
            Symbol {
                name,
                score,
                evidence,
            }
        })
        .collect();
    let part = |name: &'static str, items: &[crate::model::Contribution]| {
        let total: f64 = items.iter().map(|c| c.score).sum();
        let mut top: Vec<&crate::model::Contribution> = items.iter().collect();
        top.sort_by(|a, b| b.score.abs().total_cmp(&a.score.abs()));
        let evidence = top
            .iter()
            .take(6)
            .map(|c| format!("{} {:+.2}", c.label, c.score))
            .collect::<Vec<_>>();
        (total.abs() >= 0.005 && !evidence.is_empty()).then_some(Symbol {
            name,
            score: total,
            evidence,
        })
    };
    symbols.extend(part("LEARNED_WORDS", &scored.words));
    symbols.extend(part("LEARNED_COMBO", &scored.pairs));
    if scored.base.abs() >= 0.005 {
        symbols.push(Symbol {
            name: "LEARNED_BASE",
            score: scored.base,
            evidence: vec![format!("the model's constant: {:+.2}", scored.base)],
        });
    }
    finish(symbols, ctx)
}

fn finish(mut symbols: Vec<Symbol>, ctx: &Context) -> Verdict {
    // Highest contribution first: the explanation reads top-down.
    symbols.sort_by(|a, b| {
        b.score
            .abs()
            .total_cmp(&a.score.abs())
            .then(a.name.cmp(b.name))
    });
    // `+ 0.0` turns the empty sum's -0.0 into 0.0.
    let score = (symbols.iter().map(|s| s.score).sum::<f64>() * 100.0).round() / 100.0 + 0.0;
    let t = ctx.thresholds();
    let action = if score >= t.reject {
        Action::Reject
    } else if score >= t.quarantine {
        Action::Quarantine
    } else if score >= t.tag {
        Action::Tag
    } else {
        Action::Accept
    };
    Verdict {
        action,
        score,
        symbols,
        authentication_results: None,
    }
}
