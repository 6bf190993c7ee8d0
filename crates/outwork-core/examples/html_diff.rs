//! The HTML reader against its predecessor (lol_html's rewriter), on every
//! HTML part of the messages under the given folders: how many parts read
//! differently in each field, examples of each (HTML_DIFF_EXAMPLES=1), and
//! the time of each reader (median of 3 passes, one thread, bodies
//! preloaded).
//!
//! ```text
//! cargo run --release -p outwork-core --features lol-html-oracle --example html_diff -- ../shared/corpus
//! ```

use mail_parser::{MessageParser, PartType};
use outwork_core::html::{self, HtmlFacts};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

fn walk(p: &Path, out: &mut Vec<std::path::PathBuf>) {
    if p.is_dir() {
        if let Ok(rd) = std::fs::read_dir(p) {
            let mut v: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            v.sort();
            for e in v {
                walk(&e, out);
            }
        }
    } else if p.extension().is_some_and(|x| x == "eml") {
        out.push(p.to_path_buf());
    }
}

fn fields(f: &HtmlFacts) -> Vec<(&'static str, String)> {
    let urls: Vec<String> = f
        .urls
        .iter()
        .map(|u| {
            format!(
                "{:?} {} [{}] img={}",
                u.source,
                u.raw,
                u.anchor_text.as_deref().unwrap_or("-"),
                u.anchor_has_img
            )
        })
        .collect();
    vec![
        ("urls", urls.join("\n")),
        ("forms", format!("{} {:?}", f.forms, f.form_actions)),
        ("password_inputs", f.password_inputs.to_string()),
        ("meta_refresh", format!("{:?}", f.meta_refresh)),
        ("scripts", f.scripts.to_string()),
        ("images", f.images.to_string()),
        ("visible_text_chars", f.visible_text_chars.to_string()),
        ("hidden_text_chars", f.hidden_text_chars.to_string()),
        (
            "visible_text",
            f.visible_text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("alt_texts", format!("{:?}", f.alt_texts)),
        ("title", format!("{:?}", f.title)),
        ("error", format!("{:?}", f.error)),
    ]
}

fn main() {
    let mut files = Vec::new();
    for a in std::env::args().skip(1) {
        walk(Path::new(&a), &mut files);
    }
    let mut bodies: Vec<String> = Vec::new();
    for p in &files {
        let Ok(raw) = std::fs::read(p) else { continue };
        let Some(m) = MessageParser::default().parse(&raw) else {
            continue;
        };
        for part in &m.parts {
            if let PartType::Html(h) = &part.body {
                bodies.push(h.to_string());
            }
        }
    }
    let bytes: usize = bodies.iter().map(String::len).sum();
    println!(
        "{} HTML parts ({:.1} MB) from {} messages",
        bodies.len(),
        bytes as f64 / 1e6,
        files.len()
    );
    let (max_urls, max_text, max_mem) = (1000, 64 << 10, 16 << 20);
    let mut diffs: BTreeMap<&'static str, (usize, Vec<String>)> = BTreeMap::new();
    for b in &bodies {
        let new = fields(&html::analyse(b, max_urls, max_text, max_mem));
        let old = fields(&html::lol::analyse(b, max_urls, max_text, max_mem));
        for ((name, n), (_, o)) in new.iter().zip(&old) {
            if n != o {
                if std::env::var("HTML_DIFF_DUMP").is_ok_and(|f| f == *name) {
                    let k = diffs.get(name).map_or(0, |e| e.0);
                    let _ = std::fs::write(format!("/tmp/html_diff_{name}_{k}.html"), b);
                }
                let e = diffs.entry(name).or_default();
                e.0 += 1;
                if e.1.len() < 6 {
                    // Only the lines that differ (URL lists are long).
                    let (ol, nl): (Vec<&str>, Vec<&str>) =
                        (o.lines().collect(), n.lines().collect());
                    let only_o: Vec<&str> =
                        ol.iter().filter(|l| !nl.contains(l)).copied().collect();
                    let only_n: Vec<&str> =
                        nl.iter().filter(|l| !ol.contains(l)).copied().collect();
                    let cut = |v: &[&str]| v.join(" | ").chars().take(400).collect::<String>();
                    e.1.push(format!("  old: {}\n  new: {}", cut(&only_o), cut(&only_n)));
                }
            }
        }
    }
    println!("\nparts that read differently, by field:");
    for (name, (n, ex)) in &diffs {
        println!("{name}: {n} of {}", bodies.len());
        if std::env::var_os("HTML_DIFF_EXAMPLES").is_some() {
            for e in ex {
                println!("{e}\n");
            }
        }
    }
    let time = |f: &dyn Fn(&str) -> HtmlFacts| {
        let mut t: Vec<f64> = (0..3)
            .map(|_| {
                let s = Instant::now();
                for b in &bodies {
                    std::hint::black_box(f(b));
                }
                s.elapsed().as_secs_f64()
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t[1]
    };
    let new = time(&|b| html::analyse(b, max_urls, max_text, max_mem));
    let old = time(&|b| html::lol::analyse(b, max_urls, max_text, max_mem));
    println!(
        "\ntime, median of 3: tokenizer {new:.3} s ({:.0} MB/s), lol_html {old:.3} s ({:.0} MB/s); tokenizer/lol_html = {:.2}",
        bytes as f64 / 1e6 / new,
        bytes as f64 / 1e6 / old,
        new / old
    );
}
