//! Sinks: one verdict rendered for a terminal or as JSON.

use crate::action_index;
use outwork_core::{Detail, verdict_json};
use outwork_engine::Outcome;
use serde_json::json;
use std::io::Write;
use std::time::Duration;

pub fn human(out: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    writeln!(out, "{}", o.path)?;
    if let Some(h) = &o.headline {
        // Which message this is (rspamc prints the Message-ID, spamc -R a
        // preview): a path alone says little in a Maildir or an mbox.
        for (k, v) in [
            ("Subject", &h.subject),
            ("From", &h.from),
            ("Message-ID", &h.message_id),
        ] {
            if let Some(v) = v {
                writeln!(out, "  {k}: {v}")?;
            }
        }
    }
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

/// One outcome for `--format json`/`jsonl`: outwork-core's verdict shape
/// ([`outwork_core::verdict_json`]) with the input's `path` and an `error` (null
/// for a verdict; for an unreadable message the verdict fields are null).
pub fn json_value(o: &Outcome) -> serde_json::Value {
    let mut j = match &o.verdict {
        Some(v) => {
            let mut m = verdict_json(v, Detail::Plain);
            m.insert("error".into(), serde_json::Value::Null);
            serde_json::Value::Object(m)
        }
        None => json!({
            "action": null,
            "score": null,
            "symbols": [],
            "error": o.error,
        }),
    };
    j["path"] = json!(o.path);
    j
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
    for s in outwork_core::SYMBOLS {
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

/// `--format json` written as verdicts arrive, in the shape it always had:
/// one verdict alone is an object, several a pretty-printed array (`[`,
/// elements separated by commas, `]`). Holds at most one verdict, so a
/// 200k-message mbox is not kept in memory until the end.
#[derive(Default)]
pub struct JsonStream {
    first: Option<serde_json::Value>,
    count: usize,
}

impl JsonStream {
    pub fn push(&mut self, out: &mut impl Write, v: serde_json::Value) -> std::io::Result<()> {
        self.count += 1;
        match self.count {
            1 => {
                self.first = Some(v);
                Ok(())
            }
            2 => {
                out.write_all(b"[\n")?;
                if let Some(first) = self.first.take() {
                    array_element(out, &first)?;
                }
                out.write_all(b",\n")?;
                array_element(out, &v)
            }
            _ => {
                out.write_all(b",\n")?;
                array_element(out, &v)
            }
        }
    }

    pub fn finish(self, out: &mut impl Write) -> std::io::Result<()> {
        match (self.count, self.first) {
            (0, _) => out.write_all(b"[]\n"),
            (1, Some(v)) => {
                serde_json::to_writer_pretty(&mut *out, &v)?;
                out.write_all(b"\n")
            }
            _ => out.write_all(b"\n]\n"),
        }
    }
}

/// One element of a pretty-printed array: indented two spaces, as
/// `serde_json::to_writer_pretty` writes it (JSON strings hold no raw
/// newlines, so indenting by line is exact).
fn array_element(out: &mut impl Write, v: &serde_json::Value) -> std::io::Result<()> {
    let s = serde_json::to_string_pretty(v)?;
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
        }
        out.write_all(b"  ")?;
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_stream_matches_the_buffered_shape() {
        for n in 0..4 {
            let vs: Vec<serde_json::Value> = (0..n)
                .map(|i| json!({"path": format!("m{i}"), "symbols": [{"name": "X", "evidence": ["a\nb"]}], "e": []}))
                .collect();
            let want = if n == 1 {
                serde_json::to_string_pretty(&vs[0]).unwrap()
            } else {
                serde_json::to_string_pretty(&serde_json::Value::Array(vs.clone())).unwrap()
            } + "\n";
            let mut s = JsonStream::default();
            let mut out = Vec::new();
            for v in vs {
                s.push(&mut out, v).unwrap();
            }
            s.finish(&mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want, "{n} verdicts");
        }
    }
}
