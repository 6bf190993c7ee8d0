//! `outwork redteam --search` and `outwork assess --capability search...`:
//! the adaptive attacker (`outwork_redteam::search_all`) on a corpus.

use super::*;

/// The operators a search may combine: `--ops` (single operators only),
/// else the trace-removing ones.
fn search_pool(ops: &[String]) -> Result<Vec<Op>> {
    if ops.is_empty() {
        return Ok(Op::TRACE_REMOVING.to_vec());
    }
    let mut pool = Vec::new();
    for o in ops.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let v = parse_variant(o)?;
        if v.len() != 1 || v[0] == Op::Identity {
            bail!("--search combines operators itself: give single operators in --ops, not {o:?}");
        }
        if !pool.contains(&v[0]) {
            pool.push(v[0]);
        }
    }
    Ok(pool)
}

/// Search every message against every engine.
fn search_engines(
    samples: &[rt::Sample],
    engines: &[Box<dyn rt::Engine>],
    mutator: &Mutator,
    cfg: &rt::SearchConfig,
    threads: usize,
) -> Vec<(rt::SearchSummary, Vec<rt::MessageSearch>)> {
    let ids: Vec<String> = samples.iter().map(|s| s.rel.clone()).collect();
    let make = |i: usize, ops: &[Op]| -> Result<Vec<u8>, rt::LoadError> {
        let name = rt::variant_name(ops);
        if ops.is_empty() {
            mutator.make(&samples[i], &name, &[Op::Identity])
        } else {
            mutator.make(&samples[i], &name, ops)
        }
    };
    let mut out = Vec::new();
    for e in engines {
        let start = std::time::Instant::now();
        let name = e.name().to_string();
        let step = (ids.len() / 20).max(1);
        let progress = |done: usize, total: usize, queries: usize| {
            if done.is_multiple_of(step) || done == total {
                eprintln!(
                    "search {name}: {done}/{total} messages, {queries} queries, {:.0}s",
                    start.elapsed().as_secs_f64()
                );
            }
        };
        let results = rt::search_all(&ids, &make, e.as_ref(), cfg, threads, &progress);
        out.push((rt::summarize_search(e.name(), cfg, &results), results));
    }
    out
}

pub(super) fn run_search(
    a: &RedteamArgs,
    corpus_root: &Path,
    samples: &[rt::Sample],
    engines: &[Box<dyn rt::Engine>],
    budget: usize,
) -> Result<u8> {
    if budget == 0 {
        bail!("--search 0: the budget counts the unchanged message, give at least 1");
    }
    let cfg = rt::SearchConfig {
        budget,
        pool: search_pool(&a.ops)?,
        max_ops: a.search_depth.max(1),
        seed: a.seed,
    };
    let mutator = Mutator {
        rewriter: a.rewriter.build()?,
        seed: a.seed,
        out: a.out.clone(),
    };
    eprintln!(
        "outwork redteam --search {budget}: {} phishing messages × {} engine(s), operators {}",
        samples.len(),
        engines.len(),
        cfg.pool
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let start = std::time::Instant::now();
    let results = search_engines(samples, engines, &mutator, &cfg, a.run.threads());
    for (s, _) in &results {
        print_search(s);
    }
    println!(
        "\n{} messages searched in {:.1}s",
        samples.len(),
        start.elapsed().as_secs_f64()
    );
    let corpus = corpus_root.display().to_string();
    if let Some(p) = &a.run.json {
        let v = serde_json::json!({
            "corpus": corpus,
            "messages": samples.len(),
            "seed": a.seed,
            "budget": budget,
            "depth": cfg.max_ops,
            "engines": engines.iter().map(|e| serde_json::json!({"name": e.name(), "describe": e.describe()})).collect::<Vec<_>>(),
            "search": results.iter().map(|(s, per)| serde_json::json!({"summary": s, "messages": per})).collect::<Vec<_>>(),
        });
        write_out(p, &serde_json::to_string_pretty(&v)?)?;
    }
    if let Some(p) = &a.run.html {
        write_out(p, &search_html(&corpus, samples.len(), &cfg, &results))?;
    }
    let Some((first, _)) = results.first() else {
        return Ok(0);
    };
    let rows: Vec<GateRow> = first
        .curve
        .iter()
        .map(|c| GateRow {
            variant: format!("search@{}", c.budget),
            n: first.n,
            evaded: c.evaded,
            evasion: c.rate,
            errors: first.errors,
        })
        .collect();
    gate(&rows, a.max_evasion.as_ref(), a.write_rates.as_ref())
}

fn print_search(s: &rt::SearchSummary) {
    println!(
        "\n== {}: adaptive search, budget {} queries per message (query 1 = unchanged), {} messages ({} without a verdict left out)",
        s.engine, s.budget, s.n, s.errors
    );
    println!("  {:>6} {:>8} {:>15}", "budget", "evasion", "95% CI");
    for c in &s.curve {
        println!(
            "  {:>6} {:>8} {:>15}",
            c.budget,
            format!("{} ({}/{})", pct(c.rate), c.evaded, s.n),
            format!("{}–{}", pct(c.ci.0), pct(c.ci.1))
        );
    }
    println!(
        "  mean queries to evade (with operators): {:.1}",
        s.mean_queries
    );
    println!(
        "  cheapest evading combinations: {}",
        syms(&s.sequences, 10)
    );
    println!("  operators in them: {}", syms(&s.operators, 10));
}

fn search_html(
    corpus: &str,
    n: usize,
    cfg: &rt::SearchConfig,
    results: &[(rt::SearchSummary, Vec<rt::MessageSearch>)],
) -> String {
    use rt::{Report, Series, line_chart};
    let mut r = Report::new("outwork red team: adaptive search");
    r.generated(&crate::now_rfc3339());
    r.paragraph(&format!(
        "{n} phishing messages from {corpus}. Per message and engine the attacker sends at most {} variants (the first unchanged), combining up to {} of: {}; it stops at the first variant the engine does not flag. Evasion at budget B = messages with an evading variant among their first B queries. Seed {}.",
        cfg.budget,
        cfg.max_ops,
        cfg.pool.iter().map(|o| o.name()).collect::<Vec<_>>().join(", "),
        cfg.seed
    ));
    let series: Vec<Series> = results
        .iter()
        .map(|(s, _)| {
            Series::new(
                &s.engine,
                s.curve.iter().map(|c| (c.budget as f64, c.rate)).collect(),
            )
        })
        .collect();
    r.svg(line_chart(
        "Evasion rate by query budget, engines side by side",
        "queries per message",
        "evasion rate",
        &series,
        false,
    ));
    let header: Vec<String> = std::iter::once("budget".to_string())
        .chain(results.iter().map(|(s, _)| s.engine.clone()))
        .collect();
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = (0..cfg.budget)
        .map(|b| {
            std::iter::once((b + 1).to_string())
                .chain(results.iter().map(|(s, _)| {
                    s.curve.get(b).map_or(String::new(), |c| {
                        format!(
                            "{} ({}/{}; {}–{})",
                            pct(c.rate),
                            c.evaded,
                            s.n,
                            pct(c.ci.0),
                            pct(c.ci.1)
                        )
                    })
                }))
                .collect()
        })
        .collect();
    r.table(
        "Evasion by budget (95% Wilson interval)",
        &header_refs,
        &rows,
    );
    for (s, per) in results {
        r.heading(2, &s.engine);
        r.table(
            &format!("{}: evading combinations, most often first", s.engine),
            &["combination", "messages"],
            &s.sequences
                .iter()
                .map(|(c, k)| vec![c.clone(), k.to_string()])
                .collect::<Vec<_>>(),
        );
        let rows: Vec<Vec<String>> = per
            .iter()
            .map(|m| {
                vec![
                    m.id.clone(),
                    m.cheapest.clone().unwrap_or_else(|| "—".into()),
                    m.evaded_at.map_or("—".into(), |q| q.to_string()),
                    m.queries.to_string(),
                    format!("{:.2}", m.outcome.score),
                    m.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        r.table(
            &format!("{}: cheapest evading combination per message", s.engine),
            &[
                "message",
                "combination",
                "found at query",
                "queries",
                "final score",
                "error",
            ],
            &rows,
        );
    }
    r.render()
}

/// `--capability search[+OPS]`: an adaptive attacker (the `redteam
/// --search` one) with the trace-removing operators and OPS, against the
/// same attacker without OPS (`search` alone: against the unchanged
/// messages). Each message counts with the variant its search ends on.
pub(super) fn run_assess_search(
    a: &AssessArgs,
    capability: &str,
    sc: &std::sync::Arc<outwork_engine::Scanner>,
    engines: &[Box<dyn rt::Engine>],
    base: &[rt::Sample],
) -> Result<u8> {
    let extra: Vec<Op> = match capability.strip_prefix("search+") {
        Some(ops) => parse_variant(ops)?,
        None => Vec::new(),
    };
    let mut with: Vec<Op> = Op::TRACE_REMOVING.to_vec();
    for o in &extra {
        if !with.contains(o) {
            with.push(*o);
        }
    }
    let without: Vec<Op> = with
        .iter()
        .copied()
        .filter(|o| !extra.contains(o))
        .collect();
    let depth = a.search_depth.max(1);
    let budget = a.search.max(1);
    let base_cfg = rt::SearchConfig {
        // Nothing to search without the capability: the unchanged message.
        budget: if extra.is_empty() { 1 } else { budget },
        pool: if extra.is_empty() {
            Vec::new()
        } else {
            without.clone()
        },
        max_ops: depth,
        seed: a.seed,
    };
    let new_cfg = rt::SearchConfig {
        budget,
        pool: with.clone(),
        max_ops: depth,
        seed: a.seed,
    };
    let mutator = Mutator {
        rewriter: a.rewriter.build()?,
        seed: a.seed,
        out: None,
    };
    let names = |ops: &[Op]| ops.iter().map(|o| o.name()).collect::<Vec<_>>().join(", ");
    let described = a.name.clone().unwrap_or_else(|| {
        if extra.is_empty() {
            format!(
                "an adaptive attacker ({budget} queries per message, up to {depth} of: {})",
                names(&with)
            )
        } else {
            format!(
                "{} for an adaptive attacker ({budget} queries per message, up to {depth} operators, who already has: {})",
                names(&extra),
                names(&without)
            )
        }
    });
    let threads = a.run.threads();
    let base_runs = search_engines(base, engines, &mutator, &base_cfg, threads);
    let new_runs = search_engines(base, engines, &mutator, &new_cfg, threads);
    let key = |s: &rt::Sample| file_name(&s.rel).trim_end_matches(".eml").to_string();
    let keys: Vec<String> = base.iter().map(key).collect();
    let ham = ham_set(a)?;
    let ham_ids: Vec<String> = ham.iter().map(|s| format!("ham\t{}", s.rel)).collect();
    let ham_outcomes = rt::run_all(
        &ham_ids,
        &|i| Ok(std::fs::read(&ham[i].path)?),
        engines,
        false,
        threads,
        None,
        &Default::default(),
        &progress("assess ham", ham_ids.len()),
    )
    .map_err(anyhow::Error::msg)?;
    let tag = sc.ctx.thresholds().tag;
    let mut results: Vec<(Marginal, Option<Fix>)> = Vec::new();
    for (e, eng) in engines.iter().enumerate() {
        let pairs = |runs: &[(rt::SearchSummary, Vec<rt::MessageSearch>)]| {
            runs.get(e)
                .map(|(_, per)| per.iter().map(|m| m.outcome.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let (bo, no) = (pairs(&base_runs), pairs(&new_runs));
        let br: Vec<(&str, &rt::Outcome)> =
            keys.iter().map(String::as_str).zip(bo.iter()).collect();
        let nr: Vec<(&str, &rt::Outcome)> =
            keys.iter().map(String::as_str).zip(no.iter()).collect();
        let flag_score = if eng.scanner().is_some() { tag } else { 0.0 };
        let m = rt::marginal_risk(eng.name(), &br, &nr, flag_score);
        let hs: Vec<&rt::Outcome> = ham_outcomes
            .iter()
            .filter_map(|row| row.get(e))
            .filter(|o| o.error.is_none())
            .collect();
        let fix = eng.scanner().map(|_| threshold_fix(&nr, &hs, tag));
        results.push((m, fix));
    }
    let steps = steps(
        &described,
        a,
        base.len(),
        base.len(),
        ham.len(),
        &results,
        engines,
    );
    for s in &steps {
        println!("\n## {}\n", s.title);
        for l in &s.lines {
            println!("{l}");
        }
    }
    for (s, _) in &new_runs {
        print_search(s);
    }
    if let Some(p) = &a.run.json {
        let v = serde_json::json!({
            "capability": described,
            "baseline": a.baseline.display().to_string(),
            "baseline_messages": base.len(),
            "ham_messages": ham.len(),
            "engines": results.iter().map(|(m, f)| serde_json::json!({"marginal": m, "threshold_fix": f})).collect::<Vec<_>>(),
            "search_without": base_runs.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            "search_with": new_runs.iter().map(|(s, _)| s).collect::<Vec<_>>(),
        });
        write_out(p, &serde_json::to_string_pretty(&v)?)?;
    }
    if let Some(p) = &a.run.html {
        write_out(p, &assess_html(&described, &steps, &results))?;
    }
    Ok(0)
}
