//! Statistics for evaluating a mail filter on labelled mail.
//!
//! Conventions used throughout:
//!
//! * Labels: `true` = positive = phishing, `false` = negative.
//! * Scores: higher = more likely phishing. A decision at threshold `t` flags
//!   every item whose score is `>= t`.
//! * NaN scores are treated as negative infinity, so they are flagged only at
//!   the threshold `-inf` (flag everything). `-0.0` and `0.0` are the same
//!   score.
//! * Nothing here panics: empty input, one-class input, NaN scores and
//!   out-of-range arguments give the documented values instead.
//!
//! Std only; the bootstrap uses its own seeded SplitMix64 generator so results
//! are reproducible across platforms and releases.

/// `k / n`, or 0.0 when `n == 0`. `k` is capped at `n`.
pub(crate) fn proportion(k: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        k.min(n) as f64 / n as f64
    }
}

/// Wilson score interval for k successes of n at confidence z (1.96 = 95%). n == 0 -> (0.0, 1.0).
///
/// `k` is capped at `n`; a negative `z` is used as `|z|`; a non-finite `z`
/// gives the uninformative `(0.0, 1.0)`. The bounds are exact at the edges:
/// the lower bound is 0 when `k == 0` and the upper bound is 1 when `k == n`.
pub(crate) fn wilson(k: usize, n: usize, z: f64) -> (f64, f64) {
    let z = z.abs();
    if n == 0 || !z.is_finite() {
        return (0.0, 1.0);
    }
    let k = k.min(n);
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let lo = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0).min(p)
    };
    let hi = if k == n {
        1.0
    } else {
        (centre + half).max(p).min(1.0)
    };
    (lo, hi)
}

/// Difference p1 - p2 of two independent proportions with Newcombe's hybrid score interval (method 10, Newcombe 1998). Returns (diff, lo, hi).
///
/// `L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`, `U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)`
/// with `(l_i, u_i)` the [`wilson`] intervals. An empty group (`n == 0`)
/// counts as proportion 0 with the interval `(0, 1)`, which gives a wide,
/// honest interval. The bounds are clamped to `[-1, 1]`.
pub(crate) fn newcombe_diff(k1: usize, n1: usize, k2: usize, n2: usize, z: f64) -> (f64, f64, f64) {
    let p1 = proportion(k1, n1);
    let p2 = proportion(k2, n2);
    let (l1, u1) = wilson(k1, n1, z);
    let (l2, u2) = wilson(k2, n2, z);
    let d = p1 - p2;
    let lo = d - (p1 - l1).hypot(u2 - p2);
    let hi = d + (u1 - p1).hypot(p2 - l2);
    (d, lo.max(-1.0).min(d), hi.max(d).min(1.0))
}

/// Deterministic SplitMix64 generator (Steele, Lea & Flood 2014): tiny, fast,
/// good enough for resampling, and identical on every platform.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish integer in `0..n` (multiply-shift; bias < n / 2^64). 0 when `n == 0`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform float in `[0, 1)` with 53 random bits.
    #[cfg(test)]
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Paired bootstrap interval for a difference of rates on the SAME items (e.g. evasion of variant vs baseline of the same message): items are (a, b) booleans; returns (mean(a) - mean(b), lo, hi) from `iters` resamples with a seeded internal PRNG (xorshift/splitmix; deterministic by seed).
///
/// Percentile interval at `level` (0.95 = 95%; NaN means 0.95, values are
/// clamped to `[0, 1]`), with linear interpolation between order statistics.
/// The interval is widened if needed so that it always contains the point
/// estimate. Empty input gives `(0, 0, 0)`; `iters == 0`, or pairs whose
/// difference is the same for every item (e.g. all `a == b`), give the point
/// estimate as a zero-width interval. Cost is `O(iters * pairs.len())`.
pub(crate) fn paired_bootstrap_diff(
    pairs: &[(bool, bool)],
    iters: usize,
    seed: u64,
    level: f64,
) -> (f64, f64, f64) {
    let n = pairs.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    // Only the per-item difference a - b in {-1, 0, 1} matters: count them.
    let up = pairs.iter().filter(|&&(a, b)| a && !b).count();
    let down = pairs.iter().filter(|&&(a, b)| !a && b).count();
    let nf = n as f64;
    let point = (up as f64 - down as f64) / nf;
    let constant = up == n || down == n || up + down == 0;
    if iters == 0 || constant {
        return (point, point, point);
    }
    let mut rng = SplitMix64::new(seed);
    let mut sums: Vec<i64> = Vec::with_capacity(iters.min(1 << 20));
    for _ in 0..iters {
        let mut s: i64 = 0;
        for _ in 0..n {
            let i = rng.below(n);
            if i < up {
                s += 1;
            } else if i < up + down {
                s -= 1;
            }
        }
        sums.push(s);
    }
    sums.sort_unstable();
    let level = if level.is_nan() {
        0.95
    } else {
        level.clamp(0.0, 1.0)
    };
    let alpha = (1.0 - level) / 2.0;
    let lo = quantile_sorted(&sums, alpha) / nf;
    let hi = quantile_sorted(&sums, 1.0 - alpha) / nf;
    (point, lo.min(point), hi.max(point))
}

/// Type-7 (linear interpolation) quantile of sorted integers; 0.0 when empty.
fn quantile_sorted(v: &[i64], q: f64) -> f64 {
    let Some(last) = v.len().checked_sub(1) else {
        return 0.0;
    };
    let h = last as f64 * q.clamp(0.0, 1.0);
    let i = (h.floor() as usize).min(last);
    let j = (i + 1).min(last);
    let (a, b) = (v[i] as f64, v[j] as f64);
    a + (b - a) * (h - i as f64)
}

/// One point of a ROC curve: flagging `score >= threshold` gives these rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RocPoint {
    pub threshold: f64,
    pub fpr: f64,
    pub tpr: f64,
}

/// Cumulative counts when flagging `score >= threshold`, one per distinct score.
struct Step {
    threshold: f64,
    tp: usize,
    fp: usize,
}

/// NaN -> -inf, -0.0 -> 0.0.
fn score_key(s: f64) -> f64 {
    if s.is_nan() {
        f64::NEG_INFINITY
    } else {
        s + 0.0
    }
}

/// Distinct thresholds in decreasing order with cumulative counts; also the
/// total positives and negatives.
fn steps(scored: &[(f64, bool)]) -> (Vec<Step>, usize, usize) {
    let mut v: Vec<(f64, bool)> = scored.iter().map(|&(s, l)| (score_key(s), l)).collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<Step> = Vec::new();
    let (mut tp, mut fp) = (0usize, 0usize);
    for (s, label) in v {
        if label {
            tp += 1;
        } else {
            fp += 1;
        }
        match out.last_mut() {
            Some(last) if last.threshold == s => {
                last.tp = tp;
                last.fp = fp;
            }
            _ => out.push(Step {
                threshold: s,
                tp,
                fp,
            }),
        }
    }
    (out, tp, fp)
}

/// ROC from (score, is_positive), higher score = more likely positive; one point per distinct threshold, from (0,0) to (1,1); ties handled correctly (a tie group moves diagonally). NaN scores treated as -inf.
///
/// The first point is `(threshold +inf, 0, 0)`; the others follow in
/// decreasing threshold order. When one class is missing its rate is
/// undefined and is set equal to the other rate, so the curve is the chance
/// diagonal (AUC 0.5). Empty input gives `[(+inf, 0, 0), (-inf, 1, 1)]`.
pub(crate) fn roc(scored: &[(f64, bool)]) -> Vec<RocPoint> {
    let (steps, pos, neg) = steps(scored);
    let mut out = Vec::with_capacity(steps.len() + 1);
    out.push(RocPoint {
        threshold: f64::INFINITY,
        fpr: 0.0,
        tpr: 0.0,
    });
    if steps.is_empty() {
        out.push(RocPoint {
            threshold: f64::NEG_INFINITY,
            fpr: 1.0,
            tpr: 1.0,
        });
        return out;
    }
    let total = (pos + neg) as f64;
    for s in &steps {
        let all = (s.tp + s.fp) as f64 / total;
        let tpr = if pos > 0 { proportion(s.tp, pos) } else { all };
        let fpr = if neg > 0 { proportion(s.fp, neg) } else { all };
        out.push(RocPoint {
            threshold: s.threshold,
            fpr,
            tpr,
        });
    }
    out
}

/// Area under the ROC (trapezoid over the points above; equals the Mann-Whitney probability with ties counted 1/2).
///
/// Points with a non-finite rate are skipped. Fewer than two usable points
/// give 0.5 (no information). The result is clamped to `[0, 1]`.
pub(crate) fn auc(points: &[RocPoint]) -> f64 {
    let mut usable = points
        .iter()
        .filter(|p| p.fpr.is_finite() && p.tpr.is_finite());
    let Some(first) = usable.next() else {
        return 0.5;
    };
    let (mut x0, mut y0) = (first.fpr, first.tpr);
    let mut area = 0.0;
    let mut segments = 0usize;
    for p in usable {
        area += (p.fpr - x0) * (p.tpr + y0) / 2.0;
        x0 = p.fpr;
        y0 = p.tpr;
        segments += 1;
    }
    if segments == 0 {
        0.5
    } else {
        area.clamp(0.0, 1.0)
    }
}

/// One point of a precision-recall curve at `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PrPoint {
    pub threshold: f64,
    pub recall: f64,
    pub precision: f64,
}

/// Precision-recall curve: one point per distinct threshold in decreasing
/// threshold order (recall non-decreasing), without an artificial
/// `(recall 0, precision 1)` anchor. Recall is 0 when there are no positives.
/// Empty input gives an empty curve.
pub(crate) fn pr_curve(scored: &[(f64, bool)]) -> Vec<PrPoint> {
    let (steps, pos, _) = steps(scored);
    steps
        .iter()
        .map(|s| PrPoint {
            threshold: s.threshold,
            recall: proportion(s.tp, pos),
            precision: proportion(s.tp, s.tp + s.fp),
        })
        .collect()
}

/// Average precision, `sum_k (R_k - R_{k-1}) * P_k` over the distinct
/// thresholds (the step-wise, non-interpolated definition scikit-learn uses).
/// 0.0 when there are no positives.
pub(crate) fn average_precision(scored: &[(f64, bool)]) -> f64 {
    let mut prev_recall = 0.0;
    let mut ap = 0.0;
    for p in pr_curve(scored) {
        ap += (p.recall - prev_recall) * p.precision;
        prev_recall = p.recall;
    }
    ap
}

/// Best recall achievable with a score threshold whose false-positive rate is <= max_fpr; returns (recall, threshold, actual_fpr). If no threshold qualifies, recall 0 with threshold +inf.
///
/// Among thresholds reaching the best recall the highest one (lowest FPR) is
/// returned. With no negatives every threshold has FPR 0; with no positives
/// (or a NaN / negative `max_fpr`) the result is `(0.0, +inf, 0.0)`.
pub(crate) fn recall_at_fpr(scored: &[(f64, bool)], max_fpr: f64) -> (f64, f64, f64) {
    let mut best = (0.0, f64::INFINITY, 0.0);
    if max_fpr.is_nan() || max_fpr < 0.0 {
        return best;
    }
    let (steps, pos, neg) = steps(scored);
    for s in &steps {
        let fpr = proportion(s.fp, neg);
        if fpr > max_fpr {
            break; // FPR only grows as the threshold falls
        }
        let recall = proportion(s.tp, pos);
        if recall > best.0 {
            best = (recall, s.threshold, fpr);
        }
    }
    best
}

/// Confusion counts at a boolean decision.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
pub(crate) struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub fn_: usize,
}

/// `num / den`, or 0.0 when `den == 0`.
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl Confusion {
    /// Counts of flagging `score >= threshold` (NaN scores count as -inf).
    #[cfg(test)]
    pub(crate) fn at_threshold(scored: &[(f64, bool)], threshold: f64) -> Confusion {
        let mut c = Confusion::default();
        for &(s, actual) in scored {
            c.add(score_key(s) >= threshold, actual);
        }
        c
    }

    pub(crate) fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, false) => self.tn += 1,
            (false, true) => self.fn_ += 1,
        }
    }

    #[cfg(test)]
    pub(crate) fn total(&self) -> usize {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// Actual positives, `tp + fn`.
    pub(crate) fn positives(&self) -> usize {
        self.tp + self.fn_
    }

    /// Actual negatives, `fp + tn`.
    pub(crate) fn negatives(&self) -> usize {
        self.fp + self.tn
    }

    /// `tp / (tp + fp)`; 0.0 when nothing was flagged.
    pub(crate) fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// `tp / (tp + fn)`; 0.0 when there are no positives.
    pub(crate) fn recall(&self) -> f64 {
        ratio(self.tp, self.positives())
    }

    /// `fp / (fp + tn)`; 0.0 when there are no negatives.
    pub(crate) fn fpr(&self) -> f64 {
        ratio(self.fp, self.negatives())
    }

    /// `2tp / (2tp + fp + fn)`; 0.0 when undefined.
    pub(crate) fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// `(tp + tn) / total`; 0.0 when empty.
    #[cfg(test)]
    pub(crate) fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.total())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Z95: f64 = 1.959_963_984_540_054;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn scored(pos: &[f64], neg: &[f64]) -> Vec<(f64, bool)> {
        pos.iter()
            .map(|&s| (s, true))
            .chain(neg.iter().map(|&s| (s, false)))
            .collect()
    }

    /// Brute-force Mann-Whitney probability P(pos > neg) + P(tie) / 2.
    fn mann_whitney(data: &[(f64, bool)]) -> f64 {
        let key = |s: f64| if s.is_nan() { f64::NEG_INFINITY } else { s };
        let mut num = 0.0;
        let mut den = 0.0;
        for &(sp, _) in data.iter().filter(|x| x.1) {
            for &(sn, _) in data.iter().filter(|x| !x.1) {
                den += 1.0;
                let (a, b) = (key(sp), key(sn));
                if a > b {
                    num += 1.0;
                } else if a == b {
                    num += 0.5;
                }
            }
        }
        num / den
    }

    #[test]
    fn wilson_published_values() {
        // Newcombe (1998a), Stat Med 17:857-872, Table I, method 3 (score).
        let cases = [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ];
        for (k, n, lo, hi) in cases {
            let (l, h) = wilson(k, n, Z95);
            assert!(close(l, lo, 0.00005), "{k}/{n}: lo {l:.5} vs {lo}");
            assert!(close(h, hi, 0.00005), "{k}/{n}: hi {h:.5} vs {hi}");
        }
    }

    #[test]
    fn wilson_edges() {
        assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
        assert_eq!(wilson(3, 0, Z95), (0.0, 1.0));
        assert_eq!(wilson(1, 1, f64::NAN), (0.0, 1.0));
        assert_eq!(wilson(5, 10, 0.0), (0.5, 0.5));
        assert_eq!(wilson(10, 10, Z95).1, 1.0);
        assert_eq!(wilson(12, 10, Z95), wilson(10, 10, Z95));
        assert_eq!(wilson(3, 10, -Z95), wilson(3, 10, Z95));
        for n in 1..60 {
            for k in 0..=n {
                let (l, h) = wilson(k, n, Z95);
                let p = proportion(k, n);
                assert!(0.0 <= l && l <= p && p <= h && h <= 1.0, "{k}/{n}");
            }
        }
    }

    #[test]
    fn newcombe_published_values() {
        // Newcombe (1998b), Stat Med 17:873-890, Table II, method 10.
        let cases = [
            (56, 70, 48, 80, 0.0524, 0.3339),
            (9, 10, 3, 10, 0.1705, 0.8090),
            (6, 7, 2, 7, 0.0582, 0.8062),
            (5, 56, 0, 29, -0.0381, 0.1926),
            (0, 10, 0, 20, -0.1611, 0.2775),
            (0, 10, 0, 10, -0.2775, 0.2775),
            (10, 10, 0, 20, 0.6791, 1.0),
            (10, 10, 0, 10, 0.6075, 1.0),
        ];
        for (k1, n1, k2, n2, lo, hi) in cases {
            let (d, l, h) = newcombe_diff(k1, n1, k2, n2, Z95);
            assert!(close(d, proportion(k1, n1) - proportion(k2, n2), 1e-12));
            assert!(
                close(l, lo, 0.00005),
                "{k1}/{n1}-{k2}/{n2}: lo {l:.5} vs {lo}"
            );
            assert!(
                close(h, hi, 0.00005),
                "{k1}/{n1}-{k2}/{n2}: hi {h:.5} vs {hi}"
            );
        }
        let (d, _, _) = newcombe_diff(56, 70, 48, 80, Z95);
        assert!(close(d, 0.2, 1e-12));
    }

    #[test]
    fn newcombe_edges() {
        let (d, l, h) = newcombe_diff(0, 0, 0, 0, Z95);
        assert_eq!((d, l, h), (0.0, -1.0, 1.0));
        let (d, l, h) = newcombe_diff(3, 0, 2, 4, Z95);
        assert!(d == -0.5 && (-1.0..=d).contains(&l) && (d..=1.0).contains(&h));
        // Antisymmetry: swapping the groups mirrors the interval.
        let (d1, l1, h1) = newcombe_diff(7, 23, 12, 31, Z95);
        let (d2, l2, h2) = newcombe_diff(12, 31, 7, 23, Z95);
        assert!(close(d1, -d2, 1e-12) && close(l1, -h2, 1e-12) && close(h1, -l2, 1e-12));
    }

    #[test]
    fn splitmix_reference_values() {
        // First outputs for seed 1234567 from the reference implementation.
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(r.below(0), 0);
        for _ in 0..1000 {
            assert!(r.below(7) < 7);
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
    }

    fn make_pairs(n: usize, pa: f64, pb: f64, seed: u64) -> Vec<(bool, bool)> {
        let mut r = SplitMix64::new(seed);
        (0..n)
            .map(|_| {
                let u = r.next_f64();
                // Correlated pairs: the same draw decides both.
                (u < pa, u < pb)
            })
            .collect()
    }

    #[test]
    fn bootstrap_deterministic_and_contains_point() {
        let pairs = make_pairs(200, 0.4, 0.25, 7);
        let a = paired_bootstrap_diff(&pairs, 2000, 42, 0.95);
        let b = paired_bootstrap_diff(&pairs, 2000, 42, 0.95);
        assert_eq!(a, b);
        let c = paired_bootstrap_diff(&pairs, 2000, 43, 0.95);
        assert_eq!(a.0, c.0);
        assert!(a.1 <= a.0 && a.0 <= a.2, "{a:?}");
        assert!(a.1 > 0.0, "a real 15-point difference on 200 pairs: {a:?}");
        // Roughly the normal approximation for paired data: p_disc = 0.15.
        let se = (0.15f64 - 0.15 * 0.15).sqrt() / 200f64.sqrt();
        assert!(close(a.2 - a.1, 2.0 * 1.96 * se, 0.03), "{a:?}");
        // Higher level, wider interval.
        let w = paired_bootstrap_diff(&pairs, 2000, 42, 0.99);
        assert!(w.1 <= a.1 && w.2 >= a.2);
    }

    #[test]
    fn bootstrap_shrinks_with_more_data() {
        let small = paired_bootstrap_diff(&make_pairs(50, 0.3, 0.2, 1), 1000, 9, 0.95);
        let large = paired_bootstrap_diff(&make_pairs(5000, 0.3, 0.2, 1), 1000, 9, 0.95);
        assert!(
            large.2 - large.1 < (small.2 - small.1) / 3.0,
            "{small:?} {large:?}"
        );
    }

    #[test]
    fn bootstrap_edges() {
        assert_eq!(paired_bootstrap_diff(&[], 1000, 1, 0.95), (0.0, 0.0, 0.0));
        let same = vec![(true, true), (false, false), (true, true)];
        assert_eq!(paired_bootstrap_diff(&same, 1000, 1, 0.95), (0.0, 0.0, 0.0));
        let up = vec![(true, false); 4];
        assert_eq!(paired_bootstrap_diff(&up, 1000, 1, 0.95), (1.0, 1.0, 1.0));
        let mixed = vec![(true, false), (false, false)];
        assert_eq!(paired_bootstrap_diff(&mixed, 0, 1, 0.95), (0.5, 0.5, 0.5));
        let r = paired_bootstrap_diff(&mixed, 100, 1, f64::NAN);
        assert!(r.1 <= 0.5 && r.2 >= 0.5 && r.1 >= 0.0 && r.2 <= 1.0);
        let r = paired_bootstrap_diff(&mixed, 100, 1, 7.0);
        assert_eq!((r.1, r.2), (0.0, 1.0));
    }

    #[test]
    fn roc_toy_auc() {
        let data = scored(&[0.9, 0.8, 0.4], &[0.7, 0.3, 0.2, 0.1]);
        let pts = roc(&data);
        assert_eq!(pts.len(), 8);
        assert_eq!(pts[0].threshold, f64::INFINITY);
        assert_eq!((pts[0].fpr, pts[0].tpr), (0.0, 0.0));
        let last = pts[pts.len() - 1];
        assert_eq!((last.fpr, last.tpr, last.threshold), (1.0, 1.0, 0.1));
        assert!(close(auc(&pts), 11.0 / 12.0, 1e-12));
        assert!(close(auc(&pts), mann_whitney(&data), 1e-12));
    }

    #[test]
    fn roc_ties_move_diagonally() {
        let data = scored(&[1.0, 1.0], &[1.0, 0.0]);
        let pts = roc(&data);
        let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.fpr, p.tpr)).collect();
        assert_eq!(xy, vec![(0.0, 0.0), (0.5, 1.0), (1.0, 1.0)]);
        assert!(close(auc(&pts), 0.75, 1e-12));
        // All tied: the diagonal.
        let all = scored(&[0.5, 0.5], &[0.5, 0.5, 0.5]);
        assert!(close(auc(&roc(&all)), 0.5, 1e-12));
        assert_eq!(roc(&all).len(), 2);
        // -0.0 and 0.0 are one threshold.
        assert_eq!(roc(&scored(&[0.0], &[-0.0])).len(), 2);
    }

    #[test]
    fn roc_perfect_inverted_and_random_matches_mann_whitney() {
        let perfect = scored(&[0.9, 0.8], &[0.2, 0.1, 0.0]);
        assert_eq!(auc(&roc(&perfect)), 1.0);
        let inverted = scored(&[0.1, 0.0], &[0.9, 0.8]);
        assert_eq!(auc(&roc(&inverted)), 0.0);
        let mut r = SplitMix64::new(5);
        for _ in 0..20 {
            let data: Vec<(f64, bool)> = (0..120)
                .map(|_| {
                    // Coarse scores force many ties; a few NaNs.
                    let s = (r.below(10) as f64) / 10.0;
                    let s = if r.below(40) == 0 { f64::NAN } else { s };
                    (s, r.below(3) == 0)
                })
                .collect();
            assert!(close(auc(&roc(&data)), mann_whitney(&data), 1e-12));
        }
    }

    #[test]
    fn roc_nan_scores_are_minus_infinity() {
        let data = vec![(f64::NAN, true), (0.5, false), (0.9, true)];
        let pts = roc(&data);
        assert_eq!(pts[pts.len() - 1].threshold, f64::NEG_INFINITY);
        assert!(close(auc(&pts), 0.5, 1e-12));
        for p in &pts {
            assert!(p.fpr.is_finite() && p.tpr.is_finite());
        }
    }

    #[test]
    fn roc_degenerate_inputs() {
        let empty = roc(&[]);
        assert_eq!(empty.len(), 2);
        assert_eq!(auc(&empty), 0.5);
        let only_pos = roc(&scored(&[0.3, 0.9, 0.9], &[]));
        assert_eq!(auc(&only_pos), 0.5);
        let only_neg = roc(&scored(&[], &[0.3, 0.1]));
        assert_eq!(auc(&only_neg), 0.5);
        for p in only_pos.iter().chain(&only_neg) {
            assert!(p.fpr.is_finite() && p.tpr.is_finite());
        }
        assert_eq!(auc(&[]), 0.5);
        let one = RocPoint {
            threshold: 1.0,
            fpr: 0.0,
            tpr: 0.0,
        };
        assert_eq!(auc(&[one]), 0.5);
        let nan = RocPoint {
            threshold: 0.0,
            fpr: f64::NAN,
            tpr: 1.0,
        };
        assert_eq!(auc(&[one, nan]), 0.5);
    }

    #[test]
    fn pr_and_average_precision() {
        let data = scored(&[0.9, 0.8, 0.4], &[0.7, 0.3, 0.2, 0.1]);
        let pr = pr_curve(&data);
        assert_eq!(pr.len(), 7);
        assert_eq!(
            (pr[0].threshold, pr[0].recall, pr[0].precision),
            (0.9, 1.0 / 3.0, 1.0)
        );
        assert_eq!((pr[3].recall, pr[3].precision), (1.0, 0.75));
        assert_eq!((pr[6].recall, pr[6].precision), (1.0, 3.0 / 7.0));
        // (1/3)(1 + 1 + 3/4)
        assert!(close(average_precision(&data), 11.0 / 12.0, 1e-12));
        // Ties: one threshold for the group.
        let tied = scored(&[1.0, 1.0], &[1.0, 0.0]);
        let pr = pr_curve(&tied);
        assert_eq!(pr.len(), 2);
        assert!(close(pr[0].precision, 2.0 / 3.0, 1e-12));
        assert!(close(average_precision(&tied), 2.0 / 3.0, 1e-12));
        assert!(pr_curve(&[]).is_empty());
        assert_eq!(average_precision(&[]), 0.0);
        assert_eq!(average_precision(&scored(&[], &[0.4])), 0.0);
        assert_eq!(average_precision(&scored(&[0.4, f64::NAN], &[])), 1.0);
    }

    #[test]
    fn recall_at_fpr_toy() {
        let data = scored(&[0.9, 0.8, 0.4], &[0.7, 0.3, 0.2, 0.1]);
        assert_eq!(recall_at_fpr(&data, 0.0), (2.0 / 3.0, 0.8, 0.0));
        assert_eq!(recall_at_fpr(&data, 0.2), (2.0 / 3.0, 0.8, 0.0));
        assert_eq!(recall_at_fpr(&data, 0.25), (1.0, 0.4, 0.25));
        assert_eq!(recall_at_fpr(&data, 1.0), (1.0, 0.4, 0.25));
        assert_eq!(recall_at_fpr(&data, -0.1), (0.0, f64::INFINITY, 0.0));
        assert_eq!(recall_at_fpr(&data, f64::NAN), (0.0, f64::INFINITY, 0.0));
        // The top negative outranks every positive: nothing at FPR 0.
        let hard = scored(&[0.5, 0.4], &[0.9, 0.1]);
        assert_eq!(recall_at_fpr(&hard, 0.0), (0.0, f64::INFINITY, 0.0));
        assert_eq!(recall_at_fpr(&hard, 0.5), (1.0, 0.4, 0.5));
        // Tie across classes: the tie group is indivisible.
        let tie = scored(&[0.9, 0.5], &[0.5, 0.1]);
        assert_eq!(recall_at_fpr(&tie, 0.4), (0.5, 0.9, 0.0));
        assert_eq!(recall_at_fpr(&[], 0.1), (0.0, f64::INFINITY, 0.0));
        assert_eq!(
            recall_at_fpr(&scored(&[0.2, 0.7], &[]), 0.0),
            (1.0, 0.2, 0.0)
        );
        assert_eq!(
            recall_at_fpr(&scored(&[], &[0.2]), 1.0),
            (0.0, f64::INFINITY, 0.0)
        );
    }

    #[test]
    fn confusion_counts_and_rates() {
        let mut c = Confusion::default();
        assert_eq!(
            (c.precision(), c.recall(), c.fpr(), c.f1(), c.accuracy()),
            (0.0, 0.0, 0.0, 0.0, 0.0)
        );
        for (p, a) in [
            (true, true),
            (true, true),
            (true, false),
            (false, true),
            (false, false),
        ] {
            c.add(p, a);
        }
        c.add(false, false);
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 1,
                tn: 2,
                fn_: 1
            }
        );
        assert!(close(c.precision(), 2.0 / 3.0, 1e-12));
        assert!(close(c.recall(), 2.0 / 3.0, 1e-12));
        assert!(close(c.fpr(), 1.0 / 3.0, 1e-12));
        assert!(close(c.f1(), 2.0 / 3.0, 1e-12));
        assert!(close(c.accuracy(), 4.0 / 6.0, 1e-12));
        let data = scored(&[0.9, 0.8, 0.4, f64::NAN], &[0.7, 0.3, 0.2, 0.1]);
        let at = Confusion::at_threshold(&data, 0.4);
        assert_eq!((at.tp, at.fp, at.tn, at.fn_), (3, 1, 3, 1));
        assert_eq!(Confusion::at_threshold(&data, f64::NEG_INFINITY).tp, 4);
    }
}
