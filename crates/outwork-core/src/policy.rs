//! policy: weights → score → action. The verdict keeps every symbol.

use crate::context::Context;
use crate::symbol::{Hits, Symbol};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Accept,
    Tag,
    Quarantine,
    Reject,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Tag => "tag",
            Action::Quarantine => "quarantine",
            Action::Reject => "reject",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub action: Action,
    pub score: f64,
    pub symbols: Vec<Symbol>,
    /// outwork's own Authentication-Results value (without the header
    /// name), when it verified the sender with DNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_results: Option<String>,
}

pub fn decide(hits: Hits, ctx: &Context) -> Verdict {
    let mut symbols: Vec<Symbol> = hits
        .into_inner()
        .into_iter()
        .map(|(name, evidence)| Symbol {
            name,
            score: ctx.weight(name),
            evidence,
        })
        .collect();
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
