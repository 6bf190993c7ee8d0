//! Benign twins of a folder of phishing: how many messages get one, and
//! each twin's brand line, to eyeball.
//!
//! `cargo run -p outwork-redteam --example twins -- DIR [N] [OUT_DIR]`
//! reads the first N files of DIR (sorted by name, default 50) and, with
//! OUT_DIR, writes each twin there as NAME.twin.eml.

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: twins DIR [N] [OUT_DIR]");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(50);
    let out = args.next().map(PathBuf::from);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            std::process::exit(1);
        }
    };
    files.sort();
    files.retain(|p| p.is_file());
    files.truncate(n);
    let mut made = 0;
    for p in &files {
        let Ok(raw) = std::fs::read(p) else { continue };
        let name = p
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match outwork_redteam::benign_twin(&raw) {
            Some(twin) => {
                made += 1;
                let head = String::from_utf8_lossy(&twin);
                let from = head
                    .lines()
                    .find(|l| l.starts_with("From:"))
                    .unwrap_or("(no From)");
                println!("twin  {name}: {from}");
                if let Some(o) = &out {
                    let _ = std::fs::write(o.join(format!("{name}.twin.eml")), &twin);
                }
            }
            None => println!("none  {name}"),
        }
    }
    println!(
        "{made} of {} messages got a twin ({:.0}%)",
        files.len(),
        100.0 * made as f64 / files.len().max(1) as f64
    );
}
