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
//!    checks them all against the N-entry index and, in the same run,
//!    against a naive `HashSet<String>` of the same expressions.

use outwork_intel::canon::Canonical;
use outwork_intel::feeds::{self, Entry, Parsed, Value};
use outwork_intel::store::{Index, Kind};
use std::collections::HashSet;
use std::time::Instant;

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
        let Some(format) = feeds::detect(&data[..data.len().min(64 << 10)]) else {
            println!("feeds: {}: format not detected, skipped", f.display());
            continue;
        };
        let parsed = feeds::parse(&data, format);
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
        "synthetic: save {save:.2}s, load (checksum + rebuild) {load:.2}s; {:.1} B/entry on disk, {:.1} B/entry in memory",
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
                let f = outwork_core::facts::parse(&data, &Default::default());
                urls.extend(
                    f.urls
                        .iter()
                        .filter(|u| u.url.is_web())
                        .map(|u| u.url.raw.clone()),
                );
            }
        }
    }
    println!("lookups: {} URLs from {corpus}", urls.len());
    for round in 1..=3 {
        let start = Instant::now();
        let mut listed = 0usize;
        for u in &urls {
            listed += (!idx.check_url(u).is_empty()) as usize;
        }
        let s1 = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let mut listed2 = 0usize;
        for u in &urls {
            if let Some(c) = Canonical::parse(u) {
                listed2 += c.expressions().iter().any(|e| naive.contains(e)) as usize;
            }
        }
        let s2 = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let mut exprs = 0usize;
        for u in &urls {
            if let Some(c) = Canonical::parse(u) {
                exprs += c.expressions().len();
            }
        }
        let s3 = start.elapsed().as_secs_f64();
        println!(
            "round {round}: index {:.0} URL checks/s ({listed} listed) | naive HashSet {:.0}/s ({listed2} listed) | canonicalise+expressions alone {:.0}/s ({:.1} expressions/URL)",
            urls.len() as f64 / s1,
            urls.len() as f64 / s2,
            urls.len() as f64 / s3,
            exprs as f64 / urls.len().max(1) as f64
        );
    }
}
