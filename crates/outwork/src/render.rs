//! Sinks: one verdict rendered for a terminal or as JSON.

use crate::action_index;
use outwork_engine::Outcome;
use serde_json::json;
use std::io::Write;
use std::time::Duration;

pub fn human(out: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    writeln!(out, "{}", o.path)?;
    if let Some(e) = &o.error {
        writeln!(out, "  error: {e}")?;
        return writeln!(out);
    }
    let Some(v) = &o.verdict else { return Ok(()) };
    writeln!(
        out,
        "  action: {}   score: {:.2}",
        v.action.as_str(),
        v.score
    )?;
    let width = v.symbols.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &v.symbols {
        let first = s.evidence.first().map(String::as_str).unwrap_or("");
        writeln!(out, "  {:>+6.2}  {:<width$}  {}", s.score, s.name, first)?;
        for e in s.evidence.iter().skip(1) {
            writeln!(out, "  {:>6}  {:<width$}  {}", "", "", e)?;
        }
    }
    if let Some(ar) = &v.authentication_results {
        writeln!(out, "  Authentication-Results: {ar}")?;
    }
    writeln!(out)
}

pub fn json_value(o: &Outcome) -> serde_json::Value {
    match &o.verdict {
        Some(v) => {
            let mut j = json!({
                "path": o.path,
                "action": v.action.as_str(),
                "score": v.score,
                "symbols": v.symbols.iter().map(|s| json!({"name": s.name, "score": s.score, "evidence": s.evidence})).collect::<Vec<_>>(),
                "error": null,
            });
            if let Some(ar) = &v.authentication_results {
                j["authentication_results"] = json!(ar);
            }
            j
        }
        None => json!({
            "path": o.path,
            "action": null,
            "score": null,
            "symbols": [],
            "error": o.error,
        }),
    }
}

#[derive(Default)]
pub struct Summary {
    pub messages: usize,
    pub bytes: u64,
    pub actions: [usize; 4],
    pub errors: usize,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        self.messages += 1;
        self.bytes += o.bytes as u64;
        match &o.verdict {
            Some(v) => self.actions[action_index(v.action)] += 1,
            None => self.errors += 1,
        }
    }

    pub fn print(&self, elapsed: Duration, threads: usize) {
        let secs = elapsed.as_secs_f64().max(1e-9);
        eprintln!(
            "outwork: {} message(s), {:.1} MB in {:.2}s ({:.0} msg/s, {:.1} MB/s, {threads} thread(s)): accept {}, tag {}, quarantine {}, reject {}, errors {}",
            self.messages,
            self.bytes as f64 / 1e6,
            secs,
            self.messages as f64 / secs,
            self.bytes as f64 / 1e6 / secs,
            self.actions[0],
            self.actions[1],
            self.actions[2],
            self.actions[3],
            self.errors
        );
    }
}

pub fn symbols(markdown: bool) {
    if markdown {
        println!("| symbol | family | weight | meaning |\n|---|---|---:|---|");
    }
    for s in outwork_core::symbol::SYMBOLS {
        let fam = format!("{:?}", s.family).to_lowercase();
        if markdown {
            println!(
                "| `{}` | {fam} | {} | {} |",
                s.name, s.weight, s.description
            );
        } else {
            println!(
                "{:<32} {:<12} {:>5}  {}",
                s.name, fam, s.weight, s.description
            );
        }
    }
}
