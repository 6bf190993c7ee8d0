//! Evasion arithmetic for attack sets: per operator (variant vs the same
//! message rebuilt unchanged), and baseline set vs new-capability set for
//! the marginal-risk report.

use crate::run::Outcome;
use crate::stats;
use serde::Serialize;
use std::collections::BTreeMap;

/// Evasion of one variant (an operator or combination) for one engine.
#[derive(Debug, Clone, Serialize)]
pub struct VariantStats {
    /// The variant's name (an operator, or operators joined by `+`).
    pub variant: String,
    /// The engine's name.
    pub engine: String,
    /// Messages where both the baseline and this variant got a verdict.
    pub n: usize,
    /// Messages left out because the baseline or the variant has no verdict.
    pub errors: usize,
    /// Of the `n`, variants the engine did not flag.
    pub evaded: usize,
    /// `evaded / n`, fraction 0–1 (0 when `n == 0`).
    pub evasion: f64,
    /// Wilson 95% interval of `evasion`; `(0, 1)` when `n == 0`.
    pub evasion_ci: (f64, f64),
    /// Evasion of the unchanged (rebuilt) messages, on the same n.
    pub baseline_evasion: f64,
    /// evasion − baseline evasion, with a paired bootstrap 95% interval
    /// (2000 resamples, fixed seed): (difference, low, high).
    pub marginal: (f64, f64, f64),
    /// Caught unchanged, missed after the operator.
    pub new_evasions: usize,
    /// Symbols that fired on the unchanged message and not on the variant,
    /// with how many messages lost them (most first, at most 8; scoring
    /// symbols only, see [`crate::Outcome::scoring`]).
    pub lost: Vec<(String, usize)>,
    /// Scoring symbols on the variants that were still caught, with how many
    /// such variants they fired on (most first, at most 8).
    pub held: Vec<(String, usize)>,
    /// Mean score change (variant − unchanged) over the `n` pairs, in the
    /// engine's score units.
    pub score_change: f64,
}

fn top(m: BTreeMap<String, usize>, k: usize) -> Vec<(String, usize)> {
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(k);
    v
}

/// Compare variant outcomes against baseline outcomes of the same messages
/// (same order, same engine).
pub fn compare(variant: &str, engine: &str, base: &[&Outcome], var: &[&Outcome]) -> VariantStats {
    let mut pairs = Vec::new();
    let mut errors = 0;
    let mut lost: BTreeMap<String, usize> = BTreeMap::new();
    let mut held: BTreeMap<String, usize> = BTreeMap::new();
    let mut new_evasions = 0;
    let mut score_change = 0.0;
    for (b, v) in base.iter().zip(var) {
        if b.error.is_some() || v.error.is_some() {
            errors += 1;
            continue;
        }
        pairs.push((!v.flagged, !b.flagged));
        if b.flagged && !v.flagged {
            new_evasions += 1;
        }
        score_change += v.score - b.score;
        for s in b.scoring() {
            if !v.symbols.contains(s) {
                *lost.entry(s.clone()).or_default() += 1;
            }
        }
        if v.flagged {
            for s in v.scoring() {
                *held.entry(s.clone()).or_default() += 1;
            }
        }
    }
    let n = pairs.len();
    let evaded = pairs.iter().filter(|p| p.0).count();
    let base_evaded = pairs.iter().filter(|p| p.1).count();
    VariantStats {
        variant: variant.into(),
        engine: engine.into(),
        n,
        errors,
        evaded,
        evasion: stats::proportion(evaded, n),
        evasion_ci: stats::wilson(evaded, n, 1.96),
        baseline_evasion: stats::proportion(base_evaded, n),
        marginal: stats::paired_bootstrap_diff(&pairs, 2000, 0x5eed, 0.95),
        new_evasions,
        lost: top(lost, 8),
        held: top(held, 8),
        score_change: if n == 0 { 0.0 } else { score_change / n as f64 },
    }
}

/// Baseline attack set vs new-capability set, for one engine: how much
/// more of the new set evades (the marginal risk of the new capability).
/// When the sets are paired, every count and rate but `symbols`,
/// `near_misses` and `errors` is over the matched pairs only.
#[derive(Debug, Clone, Serialize)]
pub struct Marginal {
    /// The engine's name.
    pub engine: String,
    /// Baseline messages with a verdict (the matched ones when paired).
    pub baseline_n: usize,
    /// Of those, messages the engine did not flag.
    pub baseline_evaded: usize,
    /// `baseline_evaded / baseline_n`, fraction 0–1.
    pub baseline_evasion: f64,
    /// Wilson 95% interval of `baseline_evasion`.
    pub baseline_ci: (f64, f64),
    /// New-set messages with a verdict (the matched ones when paired).
    pub new_n: usize,
    /// Of those, messages the engine did not flag.
    pub new_evaded: usize,
    /// `new_evaded / new_n`, fraction 0–1.
    pub new_evasion: f64,
    /// Wilson 95% interval of `new_evasion`.
    pub new_ci: (f64, f64),
    /// new − baseline evasion with its 95% interval: (difference, low, high).
    pub difference: (f64, f64, f64),
    /// How the interval was computed: a paired bootstrap (4000 resamples)
    /// when the sets hold the same campaigns (matched by name), else
    /// Newcombe's hybrid score interval for independent sets.
    pub method: String,
    /// New-set messages whose name matches a baseline message (0 when a name
    /// is not unique); the interval is paired only when these are ≥ 90% of
    /// the new set.
    pub paired: usize,
    /// Paired only: caught in the baseline, evading with the capability.
    pub new_evasions: usize,
    /// Messages of either set without a verdict; in no rate.
    pub errors: usize,
    /// Scoring symbol → (share of baseline messages it fired on, share of
    /// new), most frequent on the baseline first.
    pub symbols: Vec<(String, f64, f64)>,
    /// Evaded messages of the new set within 50% of the flag threshold's
    /// score (near misses: the cheapest gap to close), and their top symbols.
    /// 0 when `flag_score` is not positive.
    pub near_misses: usize,
    /// Scoring symbols of the near misses, with how many they fired on (most
    /// first, at most 8).
    pub near_miss_symbols: Vec<(String, usize)>,
}

/// `base` and `new` are (name, outcome) for one engine; names that occur in
/// both pair the sets. `flag_score` is the engine's flag threshold, for the
/// near misses (0 or less: none counted).
pub fn marginal(
    engine: &str,
    base: &[(&str, &Outcome)],
    new: &[(&str, &Outcome)],
    flag_score: f64,
) -> Marginal {
    let ok = |v: &[(&str, &Outcome)]| -> Vec<(String, Outcome)> {
        v.iter()
            .filter(|(_, o)| o.error.is_none())
            .map(|(n, o)| (n.to_string(), (*o).clone()))
            .collect()
    };
    let b = ok(base);
    let nw = ok(new);
    let errors = base.len() - b.len() + new.len() - nw.len();
    let mut bev = b.iter().filter(|(_, o)| !o.flagged).count();
    let mut nev = nw.iter().filter(|(_, o)| !o.flagged).count();
    let (mut bn, mut nn) = (b.len(), nw.len());
    let bmap: BTreeMap<&str, &Outcome> = b.iter().map(|(n, o)| (n.as_str(), o)).collect();
    let pairs: Vec<(bool, bool)> = nw
        .iter()
        .filter_map(|(n, o)| bmap.get(n.as_str()).map(|bo| (!o.flagged, !bo.flagged)))
        .collect();
    // Pair only when (nearly) every new message has its baseline twin and
    // no name stands for two messages on either side.
    let unique_new = nw
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len()
        == nw.len();
    let paired = if bmap.len() == b.len() && unique_new {
        pairs.len()
    } else {
        0
    };
    let (difference, method) = if paired > 0 && paired * 10 >= nw.len() * 9 {
        // Both rates on the pairs, so the difference is theirs (a larger
        // baseline set would otherwise be compared with its paired subset).
        bn = paired;
        nn = paired;
        bev = pairs.iter().filter(|p| p.1).count();
        nev = pairs.iter().filter(|p| p.0).count();
        (
            stats::paired_bootstrap_diff(&pairs, 4000, 0x5eed, 0.95),
            "paired bootstrap (same campaigns, matched by file name; 4000 resamples)",
        )
    } else {
        (
            stats::newcombe_diff(nev, nw.len(), bev, b.len(), 1.96),
            "Newcombe hybrid score interval (independent sets)",
        )
    };
    let mut fires: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (_, o) in &b {
        for s in o.scoring() {
            fires.entry(s.clone()).or_default().0 += 1;
        }
    }
    for (_, o) in &nw {
        for s in o.scoring() {
            fires.entry(s.clone()).or_default().1 += 1;
        }
    }
    let mut symbols: Vec<(String, f64, f64)> = fires
        .into_iter()
        .map(|(s, (x, y))| {
            (
                s,
                stats::proportion(x, b.len()),
                stats::proportion(y, nw.len()),
            )
        })
        .collect();
    // What caught the baseline first.
    symbols.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let new_evasions = nw
        .iter()
        .filter(|(n, o)| !o.flagged && bmap.get(n.as_str()).is_some_and(|bo| bo.flagged))
        .count();
    let mut near: BTreeMap<String, usize> = BTreeMap::new();
    let mut near_misses = 0;
    for (_, o) in &nw {
        if !o.flagged && flag_score > 0.0 && o.score >= flag_score * 0.5 {
            near_misses += 1;
            for s in o.scoring() {
                *near.entry(s.clone()).or_default() += 1;
            }
        }
    }
    Marginal {
        engine: engine.into(),
        baseline_n: bn,
        baseline_evaded: bev,
        baseline_evasion: stats::proportion(bev, bn),
        baseline_ci: stats::wilson(bev, bn, 1.96),
        new_n: nn,
        new_evaded: nev,
        new_evasion: stats::proportion(nev, nn),
        new_ci: stats::wilson(nev, nn, 1.96),
        difference,
        method: method.into(),
        paired,
        new_evasions,
        errors,
        symbols,
        near_misses,
        near_miss_symbols: top(near, 8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(flagged: bool, score: f64, syms: &[&str]) -> Outcome {
        Outcome {
            id: String::new(),
            engine: "e".into(),
            flagged,
            action: if flagged { "tag" } else { "accept" }.into(),
            score,
            symbols: syms.iter().map(|s| s.to_string()).collect(),
            weights: vec![],
            ms: 0.0,
            error: None,
            flagged_without: None,
        }
    }

    #[test]
    fn variant_counts_new_evasions_and_lost_symbols() {
        let base = [
            o(true, 9.0, &["A", "B"]),
            o(true, 7.0, &["A"]),
            o(false, 1.0, &[]),
        ];
        let var = [
            o(false, 2.0, &["B"]),
            o(true, 7.0, &["A"]),
            o(false, 0.0, &[]),
        ];
        let b: Vec<&Outcome> = base.iter().collect();
        let v: Vec<&Outcome> = var.iter().collect();
        let s = compare("qr", "e", &b, &v);
        assert_eq!((s.n, s.evaded, s.new_evasions), (3, 2, 1));
        assert!((s.evasion - 2.0 / 3.0).abs() < 1e-9);
        assert!((s.baseline_evasion - 1.0 / 3.0).abs() < 1e-9);
        assert!((s.marginal.0 - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.lost, vec![("A".to_string(), 1)]);
        assert_eq!(s.held, vec![("A".to_string(), 1)]);
        assert!((s.score_change - (-8.0 / 3.0)).abs() < 1e-9);
    }

    #[test]
    fn marginal_pairs_by_name_or_falls_back_to_newcombe() {
        let a = o(true, 8.0, &["X"]);
        let m = o(false, 4.0, &["Y"]);
        let base = [("m1", &a), ("m2", &a)];
        let new = [("m1", &m), ("m2", &a)];
        let r = marginal("e", &base, &new, 6.0);
        assert!(r.method.starts_with("paired"));
        assert_eq!((r.baseline_evaded, r.new_evaded, r.near_misses), (0, 1, 1));
        assert!((r.difference.0 - 0.5).abs() < 1e-9);
        let other = [("z1", &m), ("z2", &m)];
        let r = marginal("e", &base, &other, 6.0);
        assert!(r.method.starts_with("Newcombe"));
        assert!((r.difference.0 - 1.0).abs() < 1e-9);
        assert!(r.difference.1 > 0.0 && r.difference.2 <= 1.0);
    }
}
