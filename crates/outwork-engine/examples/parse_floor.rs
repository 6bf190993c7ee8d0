//! The parse-only floor for benchmarks: read the same inputs `outwork scan`
//! reads and parse each with mail-parser alone, on one thread.
//!
//!     cargo run --release -p outwork-engine --example parse_floor -- PATH...

use mail_parser::MessageParser;
use std::time::Instant;

fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    // Load first so the floor measures parsing, as the scan's reader thread
    // overlaps I/O with scanning.
    let items: Vec<Vec<u8>> = outwork_engine::Inputs::new(paths, 25 << 20)
        .filter_map(|i| i.data.ok())
        .collect();
    let bytes: usize = items.iter().map(Vec::len).sum();
    let start = Instant::now();
    let mut parts = 0usize;
    for data in &items {
        if let Some(m) = MessageParser::default().parse(data.as_slice()) {
            parts += m.parts.len();
            // Touch the decoded bodies so lazy work is counted.
            for p in &m.parts {
                parts += p.len() & 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "parse-only: {} messages, {:.1} MB in {:.3}s: {:.0} msg/s, {:.1} MB/s ({} parts)",
        items.len(),
        bytes as f64 / 1e6,
        secs,
        items.len() as f64 / secs,
        bytes as f64 / 1e6 / secs,
        parts
    );
}
