//! Adaptive search: per message, the attacker tries operator combinations
//! against one engine, at most a budget of queries, and stops at the first
//! variant that is not flagged.
//!
//! The attacker sees what a sender sees from a filter that reports its
//! verdict and score (Rspamd's and SpamAssassin's headers do): query 1 is
//! the message unchanged, then every single operator (in a seeded order),
//! then the lowest-scoring variant so far is extended by one more
//! operator, the operators that lowered this message's score most first.
//! Combinations are applied in one canonical order and never hold two
//! operators that undo each other (two link moves, two body formats), so
//! `debrand+fresh-domain` and `fresh-domain+debrand` are one query.
//! Deterministic given the seed: the order depends only on the seed, the
//! message and the engine's answers.

use crate::engines::Engine;
use crate::mutate::Op;
use crate::run::{LoadError, Outcome};
use crate::stats;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Builds one message's variant for a combination (`&[]`: unchanged); a
/// variant that fails to build is skipped.
pub type MakeVariant<'a> = dyn Fn(&[Op]) -> Result<Vec<u8>, LoadError> + 'a;
/// Builds message `i`'s variant for a combination.
pub type MakeVariants<'a> = dyn Fn(usize, &[Op]) -> Result<Vec<u8>, LoadError> + Sync + 'a;

/// What the attacker may do.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// Queries per message at most (the unchanged message is the first).
    pub budget: usize,
    /// The operators the attacker has.
    pub pool: Vec<Op>,
    /// Operators per combination at most.
    pub max_ops: usize,
    /// Seeds the order of the single operators (mixed with the message id
    /// and the engine name): same seed, same answers → same search.
    pub seed: u64,
}

/// One query: the operators applied and the engine's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Tried {
    /// The combination's name ([`variant_name`]: `identity`, `a+b`, …).
    pub variant: String,
    /// The engine flagged it (the attacker's query failed).
    pub flagged: bool,
    /// The engine's score, in its own units.
    pub score: f64,
}

/// The search on one message.
#[derive(Debug, Clone, Serialize)]
pub struct MessageSearch {
    /// The message's id (its corpus path).
    pub id: String,
    /// Queries made (engine answers, errors included).
    pub queries: usize,
    /// The query (1-based) whose variant evaded first; 1 = unchanged.
    pub evaded_at: Option<usize>,
    /// The evading combination (`identity` when the message evades as is);
    /// `None` when nothing evaded within the budget.
    pub cheapest: Option<String>,
    /// What the attacker ends with: the evading variant's outcome, else
    /// the lowest-scoring one's.
    pub outcome: Outcome,
    /// The answered queries in order (queries that got an engine error are
    /// counted in `queries` but not listed).
    pub tried: Vec<Tried>,
    /// Variants that could not be made (the operator does not apply).
    pub skipped: usize,
    /// No verdict on the unchanged message: left out of every rate.
    pub error: Option<String>,
}

/// The position of `op` in a combination: content first, then sender,
/// links, and the body's format last (it takes the others' result along).
fn rank(op: Op) -> usize {
    const ORDER: &[Op] = &[
        Op::ThreadHijack,
        Op::Debrand,
        Op::Rewrite,
        Op::DisplayName,
        Op::EspSend,
        Op::LookalikeSender,
        Op::FreshDomain,
        Op::ReputableHost,
        Op::Homoglyph,
        Op::Typosquat,
        Op::Shortener,
        Op::Redirect,
        Op::PlainText,
        Op::HtmlObfuscate,
        Op::ImageLure,
        Op::Qr,
        Op::Smuggle,
        Op::Zip,
        Op::PasswordZip,
    ];
    ORDER.iter().position(|&o| o == op).unwrap_or(ORDER.len())
}

/// Operators of which a combination holds one at most.
const EXCLUSIVE: &[&[Op]] = &[
    // Where each link points.
    &[
        Op::ReputableHost,
        Op::FreshDomain,
        Op::Homoglyph,
        Op::Typosquat,
        Op::Shortener,
        Op::Redirect,
    ],
    // The body's format and where the call to action is.
    &[
        Op::PlainText,
        Op::ImageLure,
        Op::HtmlObfuscate,
        Op::Qr,
        Op::Smuggle,
        Op::Zip,
        Op::PasswordZip,
    ],
    // The sender's domain.
    &[Op::EspSend, Op::LookalikeSender],
    // The brand in the display name.
    &[Op::Debrand, Op::DisplayName],
];

/// Whether `op` can join `ops`.
pub(crate) fn compatible(ops: &[Op], op: Op) -> bool {
    !ops.contains(&op)
        && !EXCLUSIVE
            .iter()
            .any(|g| g.contains(&op) && ops.iter().any(|o| g.contains(o)))
}

/// `ops` in canonical order.
pub(crate) fn canonical(ops: &[Op]) -> Vec<Op> {
    let mut v = ops.to_vec();
    v.sort_by_key(|&o| rank(o));
    v
}

/// The name of a combination (`identity` for none).
pub fn variant_name(ops: &[Op]) -> String {
    if ops.is_empty() {
        "identity".into()
    } else {
        ops.iter().map(|o| o.name()).collect::<Vec<_>>().join("+")
    }
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Search one message. `make` builds the variant for a combination
/// (`&[]` is the unchanged message, rebuilt); `engine` answers. The
/// unchanged message is always queried, even with a budget of 0.
pub fn search_one(
    id: &str,
    make: &MakeVariant,
    engine: &dyn Engine,
    cfg: &SearchConfig,
) -> MessageSearch {
    let mut rng = stats::SplitMix64::new(cfg.seed ^ hash(id) ^ hash(engine.name()));
    let mut tried: Vec<Tried> = Vec::new();
    // (combination, outcome) of every answered query.
    let mut answered: Vec<(Vec<Op>, Outcome)> = Vec::new();
    let mut seen: HashSet<Vec<Op>> = HashSet::new();
    let mut skipped = 0;
    let mut queries = 0;
    let query = |ops: Vec<Op>,
                 tried: &mut Vec<Tried>,
                 answered: &mut Vec<(Vec<Op>, Outcome)>,
                 queries: &mut usize,
                 skipped: &mut usize|
     -> Option<bool> {
        let name = variant_name(&ops);
        let raw = match make(&ops) {
            Ok(r) => r,
            Err(_) => {
                *skipped += 1;
                return None;
            }
        };
        *queries += 1;
        let o = crate::run::scan_one(&format!("{name}\t{id}"), engine, &raw, false);
        if o.error.is_some() {
            return None;
        }
        tried.push(Tried {
            variant: name,
            flagged: o.flagged,
            score: o.score,
        });
        let evaded = !o.flagged;
        answered.push((ops, o));
        Some(evaded)
    };
    let finish = |queries: usize,
                  evaded_at: Option<usize>,
                  answered: Vec<(Vec<Op>, Outcome)>,
                  tried: Vec<Tried>,
                  skipped: usize| {
        let pick = match evaded_at {
            Some(_) => answered.iter().rev().find(|(_, o)| !o.flagged),
            None => answered
                .iter()
                .min_by(|a, b| a.1.score.total_cmp(&b.1.score)),
        };
        let (cheapest, outcome) = match pick {
            Some((ops, o)) => (evaded_at.map(|_| variant_name(ops)), o.clone()),
            None => (
                None,
                Outcome::failed(id, engine.name(), "no verdict".into()),
            ),
        };
        MessageSearch {
            id: id.to_string(),
            queries,
            evaded_at,
            cheapest,
            error: outcome.error.clone(),
            outcome,
            tried,
            skipped,
        }
    };

    // 1. The message as it is.
    seen.insert(Vec::new());
    match query(
        Vec::new(),
        &mut tried,
        &mut answered,
        &mut queries,
        &mut skipped,
    ) {
        Some(true) => return finish(queries, Some(queries), answered, tried, skipped),
        Some(false) => {}
        None => {
            let mut r = finish(queries, None, answered, tried, skipped);
            r.error = Some("no verdict on the unchanged message".into());
            return r;
        }
    }
    let base_score = answered.first().map_or(0.0, |a| a.1.score);

    // 2. Each operator alone, in a seeded order.
    let mut singles: Vec<Op> = cfg.pool.clone();
    singles.sort();
    singles.dedup();
    for i in (1..singles.len()).rev() {
        singles.swap(i, rng.below(i + 1));
    }
    // How much each operator lowered the score alone (unanswered: 0).
    let mut gain: BTreeMap<Op, f64> = BTreeMap::new();
    for &op in &singles {
        if queries >= cfg.budget {
            return finish(queries, None, answered, tried, skipped);
        }
        seen.insert(vec![op]);
        match query(
            vec![op],
            &mut tried,
            &mut answered,
            &mut queries,
            &mut skipped,
        ) {
            Some(true) => return finish(queries, Some(queries), answered, tried, skipped),
            Some(false) => {
                let s = answered.last().map_or(base_score, |a| a.1.score);
                gain.insert(op, base_score - s);
            }
            None => {}
        }
    }
    // The most helpful operators first when extending.
    let mut by_gain = singles.clone();
    by_gain.sort_by(|a, b| {
        let (ga, gb) = (gain.get(a).unwrap_or(&0.0), gain.get(b).unwrap_or(&0.0));
        gb.total_cmp(ga)
    });

    // 3. Extend the lowest-scoring variant by one operator at a time.
    while queries < cfg.budget {
        let mut order: Vec<usize> = (0..answered.len()).collect();
        order.sort_by(|&a, &b| answered[a].1.score.total_cmp(&answered[b].1.score));
        let next = order.iter().find_map(|&i| {
            let ops = &answered[i].0;
            if ops.len() >= cfg.max_ops {
                return None;
            }
            by_gain.iter().find_map(|&op| {
                if !compatible(ops, op) {
                    return None;
                }
                let mut c = ops.clone();
                c.push(op);
                let c = canonical(&c);
                (!seen.contains(&c)).then_some(c)
            })
        });
        let Some(ops) = next else { break };
        seen.insert(ops.clone());
        if query(ops, &mut tried, &mut answered, &mut queries, &mut skipped) == Some(true) {
            return finish(queries, Some(queries), answered, tried, skipped);
        }
    }
    finish(queries, None, answered, tried, skipped)
}

/// Search every message (in parallel, `threads` at a time); `make(i, ops)`
/// builds message `i`'s variant. `progress(done, total, queries)`.
pub fn search_all(
    ids: &[String],
    make: &MakeVariants,
    engine: &dyn Engine,
    cfg: &SearchConfig,
    threads: usize,
    progress: &(dyn Fn(usize, usize, usize) + Sync),
) -> Vec<MessageSearch> {
    let n = ids.len();
    let results: Mutex<Vec<Option<MessageSearch>>> = Mutex::new(vec![None; n]);
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let total_queries = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        search_one(&ids[i], &|ops| make(i, ops), engine, cfg)
                    }))
                    .unwrap_or_else(|_| MessageSearch {
                        id: ids[i].clone(),
                        queries: 0,
                        evaded_at: None,
                        cheapest: None,
                        outcome: Outcome::failed(&ids[i], engine.name(), "panic".into()),
                        tried: Vec::new(),
                        skipped: 0,
                        error: Some("the search panicked".into()),
                    });
                    let q = total_queries.fetch_add(r.queries, Ordering::Relaxed) + r.queries;
                    if let Ok(mut g) = results.lock() {
                        g[i] = Some(r);
                    }
                    progress(finished.fetch_add(1, Ordering::Relaxed) + 1, n, q);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| MessageSearch {
                id: ids[i].clone(),
                queries: 0,
                evaded_at: None,
                cheapest: None,
                outcome: Outcome::failed(&ids[i], engine.name(), "not searched".into()),
                tried: Vec::new(),
                skipped: 0,
                error: Some("not searched".into()),
            })
        })
        .collect()
}

/// Evasion within a budget of queries.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    /// Queries allowed per message (1 = the unchanged message only).
    pub budget: usize,
    /// Messages that evaded within that many queries.
    pub evaded: usize,
    /// `evaded / n` ([`SearchSummary::n`]), fraction 0–1.
    pub rate: f64,
    /// Wilson 95% interval of `rate`.
    pub ci: (f64, f64),
}

/// One engine's search, summed up.
#[derive(Debug, Clone, Serialize)]
pub struct SearchSummary {
    /// The engine searched against.
    pub engine: String,
    /// Queries per message at most ([`SearchConfig::budget`]).
    pub budget: usize,
    /// The attacker's operators, by name.
    pub pool: Vec<String>,
    /// Messages with a verdict on the unchanged message.
    pub n: usize,
    /// Messages left out: no verdict on the unchanged message.
    pub errors: usize,
    /// Evasion at budget 1 (unchanged) .. `budget`.
    pub curve: Vec<CurvePoint>,
    /// Mean queries to the first evasion, over the messages that evaded
    /// with at least one operator (0 when none did); errored queries count.
    pub mean_queries: f64,
    /// The evading combinations ([`MessageSearch::cheapest`], `identity`
    /// included) with how many messages each, most often first.
    pub sequences: Vec<(String, usize)>,
    /// How often each operator is in an evading combination, most often
    /// first.
    pub operators: Vec<(String, usize)>,
}

/// Sum up [`search_all`]'s results for one engine: the evasion-vs-budget
/// curve and the combinations that worked.
pub fn summarize(engine: &str, cfg: &SearchConfig, results: &[MessageSearch]) -> SearchSummary {
    let ok: Vec<&MessageSearch> = results.iter().filter(|r| r.error.is_none()).collect();
    let n = ok.len();
    let curve = (1..=cfg.budget.max(1))
        .map(|b| {
            let evaded = ok
                .iter()
                .filter(|r| r.evaded_at.is_some_and(|q| q <= b))
                .count();
            CurvePoint {
                budget: b,
                evaded,
                rate: stats::proportion(evaded, n),
                ci: stats::wilson(evaded, n, 1.96),
            }
        })
        .collect();
    let mut seqs: BTreeMap<String, usize> = BTreeMap::new();
    let mut ops: BTreeMap<String, usize> = BTreeMap::new();
    let (mut q, mut k) = (0usize, 0usize);
    for r in &ok {
        if let (Some(at), Some(c)) = (r.evaded_at, &r.cheapest) {
            *seqs.entry(c.clone()).or_default() += 1;
            if c != "identity" {
                q += at;
                k += 1;
                for o in c.split('+') {
                    *ops.entry(o.to_string()).or_default() += 1;
                }
            }
        }
    }
    let sorted = |m: BTreeMap<String, usize>| {
        let mut v: Vec<(String, usize)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    SearchSummary {
        engine: engine.into(),
        budget: cfg.budget,
        pool: cfg.pool.iter().map(|o| o.name().to_string()).collect(),
        n,
        errors: results.len() - n,
        curve,
        mean_queries: if k == 0 { 0.0 } else { q as f64 / k as f64 },
        sequences: sorted(seqs),
        operators: sorted(ops),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::{EngineError, Verdict};

    /// Flags a message unless it holds every marker word in `need`; the
    /// score drops by one per marker present.
    struct Needs(Vec<&'static str>);

    impl Engine for Needs {
        fn name(&self) -> &str {
            "needs"
        }
        fn describe(&self) -> String {
            "test engine".into()
        }
        fn scan(&self, raw: &[u8]) -> Result<Verdict, EngineError> {
            let t = String::from_utf8_lossy(raw);
            let have = self.0.iter().filter(|w| t.contains(*w)).count();
            Ok(Verdict {
                flagged: have < self.0.len(),
                action: String::new(),
                score: (self.0.len() - have) as f64,
                symbols: vec![],
                weights: vec![],
                ms: 0.0,
            })
        }
    }

    /// A "message" that records which operators were applied.
    fn make(ops: &[Op]) -> Result<Vec<u8>, LoadError> {
        Ok(variant_name(ops).into_bytes())
    }

    fn cfg(budget: usize) -> SearchConfig {
        SearchConfig {
            budget,
            pool: Op::TRACE_REMOVING.to_vec(),
            max_ops: 3,
            seed: 1,
        }
    }

    #[test]
    fn finds_a_pair_within_budget_and_stops_there() {
        let e = Needs(vec!["debrand", "esp-send"]);
        // 1 unchanged + 7 singles, then extensions of the best single.
        let r = search_one("m1", &make, &e, &cfg(20));
        assert_eq!(r.cheapest.as_deref(), Some("debrand+esp-send"));
        let at = r.evaded_at.unwrap();
        assert_eq!(r.queries, at);
        assert!((9..=10).contains(&at), "{at}: {:?}", r.tried);
        assert!(!r.outcome.flagged);
        // Too small a budget: no evasion, the lowest score kept.
        let r = search_one("m1", &make, &e, &cfg(8));
        assert_eq!((r.evaded_at, r.queries), (None, 8));
        assert_eq!(r.outcome.score, 1.0);
        // Same seed, same path; the order of singles follows the seed.
        let a = search_one("m1", &make, &e, &cfg(20));
        let names = |r: &MessageSearch| {
            r.tried
                .iter()
                .map(|t| t.variant.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&search_one("m1", &make, &e, &cfg(20))));
        let mut other = cfg(20);
        other.seed = 2;
        assert_ne!(names(&a), names(&search_one("m1", &make, &e, &other)));
    }

    #[test]
    fn unchanged_evasion_costs_one_query_and_exclusive_ops_never_meet() {
        let r = search_one("m", &make, &Needs(vec![]), &cfg(10));
        assert_eq!(
            (r.evaded_at, r.cheapest.as_deref()),
            (Some(1), Some("identity"))
        );
        // Impossible: every combination is tried once, within the rules.
        let r = search_one("m", &make, &Needs(vec!["never"]), &cfg(400));
        assert_eq!(r.evaded_at, None);
        let names: Vec<&str> = r.tried.iter().map(|t| t.variant.as_str()).collect();
        let unique: HashSet<&&str> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        for n in &names {
            assert!(
                !(n.contains("image-lure") && n.contains("plain-text")),
                "{n}"
            );
            assert!(
                !(n.contains("reputable-host") && n.contains("fresh-domain")),
                "{n}"
            );
            assert!(n.split('+').count() <= 3, "{n}");
        }
        assert!(r.queries < 400 && r.queries > 40, "{}", r.queries);
    }

    #[test]
    fn summary_curve_and_sequences() {
        let ids: Vec<String> = (0..6).map(|i| format!("m{i}")).collect();
        let e = Needs(vec!["debrand"]);
        let c = cfg(8);
        let rs = search_all(&ids, &|_, ops| make(ops), &e, &c, 2, &|_, _, _| {});
        let s = summarize("needs", &c, &rs);
        assert_eq!(s.n, 6);
        assert_eq!(s.curve.len(), 8);
        assert_eq!(s.curve[0].evaded, 0);
        assert_eq!(s.curve[7].evaded, 6);
        assert!(s.curve.windows(2).all(|w| w[0].evaded <= w[1].evaded));
        assert_eq!(s.sequences, vec![("debrand".to_string(), 6)]);
        assert_eq!(s.operators, vec![("debrand".to_string(), 6)]);
    }
}
