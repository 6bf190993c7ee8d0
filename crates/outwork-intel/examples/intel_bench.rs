//! Intel store benchmark (docs/BENCHMARKS.md):
//!
//!     cargo run --release -p outwork-intel --example intel_bench -- [N] [CORPUS_DIR] [FEEDS_DIR]
//!
//! 1. imports every file of FEEDS_DIR (default ../shared/feeds) and reports
//!    entries/s and bytes per entry;
//! 2. builds a synthetic N-entry list (default 10M: 70% domains, 30% URLs),
//!    imports it, saves and reloads it, and reports import rate, bytes per
//!    entry on disk and in memory;
//! 3. extracts every URL from CORPUS_DIR (default ../shared/corpus) and
//!    checks them all against the N-entry index, 5 rounds, reporting the
//!    median of each measure: the lookup path (allocation-free
//!    canonicalisation, filter, index), the old path (`canon::reference`,
//!    a `String` per expression, index only), a naive `HashSet<String>` of
//!    the same expressions, canonicalisation alone both ways, and finally
//!    the new canonicalisation against the index without its filter.

use outwork_intel::{CanonBuf, Canonical, canon_reference as reference};
use outwork_intel::{Entry, Parsed, Value};
use outwork_intel::{Index, Kind};
use std::collections::HashSet;
use std::time::Instant;

/// Nanoseconds this thread has been on a CPU (Linux schedstat), so a rate
/// counts the time we ran, not the time other processes on this shared
/// machine took from us. None elsewhere: wall time is used.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn word(state: &mut u64, len: usize) -> String {
    (0..len)
        .map(|_| (b'a' + (rng(state) % 26) as u8) as char)
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let corpus = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "../shared/corpus".into());
    let feeds_dir = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "../shared/feeds".into());

    // 1. The real feeds.
    let mut real = Index::default();
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(&feeds_dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().contains("README")
                && !p.to_string_lossy().contains("psl")
                && !p.to_string_lossy().contains("tranco")
            {
                files.push(p);
            }
        }
    }
    files.sort();
    let start = Instant::now();
    let mut total = 0u64;
    for f in &files {
        let Ok(data) = std::fs::read(f) else { continue };
        let Some(format) = outwork_intel::detect_feed_format(&data[..data.len().min(64 << 10)])
        else {
            println!("feeds: {}: format not detected, skipped", f.display());
            continue;
        };
        let parsed = outwork_intel::parse_feed(&data, format);
        let Ok(st) = real.import(
            &f.display().to_string(),
            Kind::Phishing,
            format.name(),
            &parsed,
            0,
        ) else {
            continue;
        };
        println!(
            "feeds: {:<60} {:<18} {:>8} entries, {} malformed",
            f.display(),
            format.name(),
            st.added,
            st.malformed
        );
        total += st.added;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "feeds: {total} entries imported in {secs:.2}s ({:.0}/s), {:.1} B/entry in memory, {:.1} B/entry on disk",
        total as f64 / secs,
        real.memory_bytes() as f64 / total.max(1) as f64,
        real.to_bytes().len() as f64 / total.max(1) as f64
    );

    // 2. Synthetic N entries.
    let mut state = 0x2545f4914f6cdd1du64;
    let gen_start = Instant::now();
    let entries: Vec<Entry> = (0..n)
        .map(|i| {
            let host = format!(
                "{}-{}.{}",
                word(&mut state, 8),
                i,
                ["com", "net", "xyz", "top", "co.uk"][(rng(&mut state) % 5) as usize]
            );
            let value = if i % 10 < 7 {
                Value::Domain(host)
            } else {
                Value::Url(format!(
                    "http://{host}/{}/{}.php",
                    word(&mut state, 5),
                    word(&mut state, 6)
                ))
            };
            Entry {
                value,
                first_seen: Some(1_700_000_000),
                line: i + 1,
            }
        })
        .collect();
    println!(
        "synthetic: generated {n} entries in {:.2}s",
        gen_start.elapsed().as_secs_f64()
    );
    let parsed = Parsed {
        entries,
        ..Default::default()
    };
    let mut idx = Index::default();
    let start = Instant::now();
    if let Err(e) = idx.import("synthetic", Kind::Phishing, "urls", &parsed, 0) {
        println!("import failed: {e}");
        return;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "synthetic: imported {n} entries in {secs:.2}s ({:.0}/s)",
        n as f64 / secs
    );
    let path = std::env::temp_dir().join("outwork-intel-bench.owi");
    let start = Instant::now();
    if let Err(e) = idx.save(&path) {
        println!("save failed: {e}");
        return;
    }
    let save = start.elapsed().as_secs_f64();
    let disk = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let start = Instant::now();
    let idx = match Index::load(&path) {
        Ok(i) => i,
        Err(e) => {
            println!("load failed: {e}");
            return;
        }
    };
    let load = start.elapsed().as_secs_f64();
    println!(
        "synthetic: save {save:.2}s, load (checksum + rebuild, filter included) {load:.2}s; {:.1} B/entry on disk, {:.1} B/entry in memory",
        disk as f64 / n as f64,
        idx.memory_bytes() as f64 / n as f64
    );
    let _ = std::fs::remove_file(&path);

    // Naive: the same expressions in a HashSet<String>.
    let naive: HashSet<String> = parsed
        .entries
        .iter()
        .filter_map(|e| match &e.value {
            Value::Domain(d) => Some(format!("{d}/")),
            Value::Url(u) => Canonical::parse(u).and_then(|c| c.expressions().into_iter().next()),
            _ => None,
        })
        .collect();
    drop(parsed);

    // 3. URLs from the corpus.
    let mut urls: Vec<String> = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(&corpus)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(data) = std::fs::read(&p) {
                let f = outwork_core::parse(&data, &Default::default());
                urls.extend(
                    f.urls
                        .iter()
                        .filter(|u| u.url.is_web())
                        .map(|u| u.url.raw.clone()),
                );
            }
        }
    }
    println!(
        "lookups: {} URLs from {corpus}; rates per second of {} time of the one benchmark thread",
        urls.len(),
        if cpu_ns().is_some() { "CPU" } else { "wall" }
    );
    let n_urls = urls.len().max(1) as f64;
    // URL checks per second of CPU time (wall time without schedstat) of
    // PASSES passes of `f` over the URLs (long enough for the scheduler's
    // accounting), and the count of one pass.
    const PASSES: usize = 10;
    let rate = |f: &mut dyn FnMut(&str) -> usize| {
        let (start, cpu) = (Instant::now(), cpu_ns());
        let mut count = 0usize;
        for _ in 0..PASSES {
            for u in &urls {
                count += f(u);
            }
        }
        let count = count / PASSES;
        let secs = match (cpu, cpu_ns()) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
            _ => start.elapsed().as_secs_f64(),
        };
        (n_urls * PASSES as f64 / secs, count)
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    const ROUNDS: usize = 5;
    let mut buf = CanonBuf::default();
    let (mut new, mut old, mut naive_r, mut canon_new, mut canon_old) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut listed_new, mut listed_old, mut listed_naive, mut exprs) = (0, 0, 0, 0);
    for round in 1..=ROUNDS {
        let (r, l) = rate(&mut |u| usize::from(!idx.check_url_with(u, &mut buf).is_empty()));
        new.push(r);
        listed_new = l;
        let (r, l) = rate(&mut |u| usize::from(!idx.check_url_reference(u).is_empty()));
        old.push(r);
        listed_old = l;
        let (r, l) = rate(&mut |u| {
            reference::Canonical::parse(u)
                .is_some_and(|c| c.expressions().iter().any(|e| naive.contains(e)))
                .into()
        });
        naive_r.push(r);
        listed_naive = l;
        let (r, n) = rate(&mut |u| {
            let mut n = 0;
            if let Some(c) = buf.parse(u) {
                c.for_each_expression(|e| {
                    std::hint::black_box(xxhash_rust::xxh3::xxh3_64(e));
                    n += 1;
                });
            }
            n
        });
        canon_new.push(r);
        exprs = n;
        let (r, _) = rate(&mut |u| {
            reference::Canonical::parse(u).map_or(0, |c| {
                let exprs = c.expressions();
                for e in &exprs {
                    std::hint::black_box(xxhash_rust::xxh3::xxh3_64(e.as_bytes()));
                }
                exprs.len()
            })
        });
        canon_old.push(r);
        println!(
            "round {round}: new {:.0}/s | old {:.0}/s | naive HashSet {:.0}/s | canonicalise+hash new {:.0}/s, old {:.0}/s",
            new[round - 1],
            old[round - 1],
            naive_r[round - 1],
            canon_new[round - 1],
            canon_old[round - 1]
        );
    }
    let (new, old, naive_r) = (median(new), median(old), median(naive_r));
    let (canon_new, canon_old) = (median(canon_new), median(canon_old));
    println!(
        "median of {ROUNDS}: new path {new:.0} URL checks/s ({listed_new} listed) | old path {old:.0}/s ({listed_old} listed) | ratio {:.2}x | naive HashSet {naive_r:.0}/s ({listed_naive} listed)",
        new / old
    );
    println!(
        "median of {ROUNDS}: canonicalise + hash expressions: new {canon_new:.0}/s, old {canon_old:.0}/s, ratio {:.2}x ({:.1} expressions/URL)",
        canon_new / canon_old,
        exprs as f64 / n_urls
    );
    // The filter's false-positive rate on keys that are not in the index.
    let mut state = 0x853c49e6748fea9bu64;
    let probes = 1_000_000;
    let fp = (0..probes)
        .filter(|_| idx.filter_contains(rng(&mut state)))
        .count();
    println!(
        "filter: {:.2} B/entry, {:.3}% positives on {probes} random keys",
        idx.filter_bytes() as f64 / n as f64,
        100.0 * fp as f64 / probes as f64
    );
    let mut idx = idx;
    idx.drop_filter();
    let mut nofilter = vec![];
    for _ in 0..ROUNDS {
        nofilter.push(rate(&mut |u| usize::from(!idx.check_url_with(u, &mut buf).is_empty())).0);
    }
    let nofilter = median(nofilter);
    println!(
        "median of {ROUNDS}: new canonicalisation, index without the filter {nofilter:.0}/s (filter gains {:.2}x)",
        new / nofilter
    );
}
