//! What brand matching costs within a scan: the same inputs scanned whole
//! (one thread, as `outwork scan -j 1`), and the brand step alone (claims
//! from every place, matched against the catalogue, weighed against the
//! sender, signature and links) on the facts the scan parsed.
//!
//!     cargo run --release -p outwork-engine --example brand_cost -- PATH...

use outwork_core::Context;
use outwork_core::family::{auth, brand};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    let items: Vec<Vec<u8>> = outwork_engine::Inputs::new(paths, 25 << 20)
        .filter_map(|i| i.data.ok())
        .collect();
    let ctx = Arc::new(Context::default());
    let scanner = outwork_engine::Scanner::offline(ctx.clone());
    let facts: Vec<_> = items
        .iter()
        .map(|d| outwork_core::parse(d, ctx.limits()))
        .collect();
    // The scan reads authentication results anyway; only the brand step
    // is timed.
    let views: Vec<_> = facts.iter().map(|f| auth::read(f, &ctx)).collect();
    if std::env::var_os("BRAND_COST_ONLY").is_some() {
        // For a profiler: the brand step alone, many times.
        for _ in 0..50 {
            for (f, view) in facts.iter().zip(&views) {
                let mut hits = outwork_core::Hits::default();
                let claims = brand::claims(f, &ctx);
                brand::signals(f, view, &ctx, &claims, &mut hits);
                std::hint::black_box(hits);
            }
        }
        return;
    }
    let (mut scan_s, mut brand_s) = (Vec::new(), Vec::new());
    let mut fired = 0usize;
    for _ in 0..5 {
        let t = Instant::now();
        for d in &items {
            std::hint::black_box(scanner.scan(d, &Default::default(), &Default::default()));
        }
        scan_s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        fired = 0;
        for (f, view) in facts.iter().zip(&views) {
            let mut hits = outwork_core::Hits::default();
            let claims = brand::claims(f, &ctx);
            brand::signals(f, view, &ctx, &claims, &mut hits);
            fired += usize::from(!hits.into_inner().is_empty());
        }
        brand_s.push(t.elapsed().as_secs_f64());
    }
    if std::env::var_os("BRAND_COST_SPLIT").is_some() {
        for (label, which) in [("claims", 0), ("first_lines fold", 1), ("display name", 2)] {
            let t = Instant::now();
            for _ in 0..5 {
                for f in &facts {
                    match which {
                        0 => {
                            std::hint::black_box(brand::claims(f, &ctx));
                        }
                        1 => {
                            std::hint::black_box(outwork_core::fold_brand_text(
                                &f.reader_text,
                                600,
                            ));
                        }
                        _ => {
                            if let Some(n) = f.from.as_ref().and_then(|m| m.name.as_deref()) {
                                std::hint::black_box(outwork_core::family::sender::claimed_brand(
                                    n, &ctx,
                                ));
                            }
                        }
                    }
                }
            }
            println!("{label}: {:.4}s per pass", t.elapsed().as_secs_f64() / 5.0);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (s, b) = (median(&mut scan_s), median(&mut brand_s));
    println!(
        "{} messages: scan {:.3}s, brand matching {:.4}s = {:.2}% of scan time (median of 5; {} messages fire a brand symbol)",
        items.len(),
        s,
        b,
        100.0 * b / s,
        fired
    );
}
