//! Scan many messages with several engines: in parallel, one failure (a
//! read error, an engine error, a panic) recorded for that message only,
//! every result appended to a checkpoint file so an interrupted run resumes.

use crate::engines::Engine;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One engine's result on one item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub id: String,
    pub engine: String,
    pub flagged: bool,
    pub action: String,
    pub score: f64,
    pub symbols: Vec<String>,
    pub ms: f64,
    /// Why this item has no verdict (unreadable, engine down, panic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// In-process only: flagged with each family of [`crate::FAMILIES`]
    /// switched off in turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged_without: Option<Vec<bool>>,
}

impl Outcome {
    fn failed(id: &str, engine: &str, error: String) -> Outcome {
        Outcome {
            id: id.into(),
            engine: engine.into(),
            flagged: false,
            action: "error".into(),
            score: 0.0,
            symbols: vec![],
            ms: 0.0,
            error: Some(error),
            flagged_without: None,
        }
    }
}

/// Outcomes already recorded, by (item id, engine name).
pub type Done = HashMap<(String, String), Outcome>;

#[derive(Serialize, Deserialize)]
struct Header {
    outwork_checkpoint: u32,
    fingerprint: String,
}

/// Append-only JSONL of outcomes. The first line names the run (its
/// fingerprint: corpus, engines, config), so a resume never mixes runs.
pub struct Checkpoint {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Checkpoint {
    /// Open `path` for this run; returns the outcomes already recorded.
    pub fn open(path: &Path, fingerprint: &str) -> Result<(Checkpoint, Done), String> {
        let mut done = HashMap::new();
        let exists = path.is_file() && std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
        if exists {
            let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut lines = std::io::BufReader::new(f).lines();
            let head: Option<Header> = lines
                .next()
                .and_then(Result::ok)
                .and_then(|l| serde_json::from_str(&l).ok());
            match head {
                Some(h) if h.fingerprint == fingerprint => {}
                Some(_) => {
                    return Err(format!(
                        "{} holds results of a different run (other corpus, engines, operators or config); \
                         remove it or name another --resume file",
                        path.display()
                    ));
                }
                None => {
                    return Err(format!(
                        "{} is not an outwork checkpoint; refusing to overwrite it",
                        path.display()
                    ));
                }
            }
            // A line cut short by the interruption is skipped; its item runs again.
            for line in lines.map_while(Result::ok) {
                if let Ok(o) = serde_json::from_str::<Outcome>(&line) {
                    done.insert((o.id.clone(), o.engine.clone()), o);
                }
            }
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !exists {
            let h = serde_json::to_string(&Header {
                outwork_checkpoint: 1,
                fingerprint: fingerprint.into(),
            })
            .map_err(|e| e.to_string())?;
            writeln!(file, "{h}").map_err(|e| format!("{}: {e}", path.display()))?;
        } else {
            // Make sure a cut-off last line does not glue onto the next one.
            writeln!(file).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok((
            Checkpoint {
                path: path.to_path_buf(),
                file: Mutex::new(file),
            },
            done,
        ))
    }

    fn record(&self, o: &Outcome) -> Result<(), String> {
        let line = serde_json::to_string(o).map_err(|e| e.to_string())?;
        let mut f = self.file.lock().map_err(|_| "checkpoint lock poisoned")?;
        writeln!(f, "{line}").map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// A stable fingerprint of the things that make two runs comparable.
pub fn fingerprint(parts: &[&str]) -> String {
    use std::hash::{Hash, Hasher};
    // DefaultHasher's algorithm may change between Rust releases; a stale
    // checkpoint then refuses to resume, which is the safe failure.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

/// Scan items `0..ids.len()` (bytes from `load`) with every engine on
/// `threads` threads. Results come back as `[item][engine]`. With
/// `ablate`, in-process engines also record the family ablation.
/// `progress` gets (done, total) after each item.
#[allow(clippy::too_many_arguments)]
pub fn run_all(
    ids: &[String],
    load: &(dyn Fn(usize) -> Result<Vec<u8>, String> + Sync),
    engines: &[Box<dyn Engine>],
    ablate: bool,
    threads: usize,
    checkpoint: Option<&Checkpoint>,
    done_before: &Done,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Vec<Outcome>>, String> {
    let n = ids.len();
    let results: Mutex<Vec<Vec<Option<Outcome>>>> = Mutex::new(vec![vec![None; engines.len()]; n]);
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let write_error: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let id = &ids[i];
                    let mut row: Vec<Option<Outcome>> = vec![None; engines.len()];
                    let mut data: Option<Result<Vec<u8>, String>> = None;
                    for (e, engine) in engines.iter().enumerate() {
                        if let Some(o) = done_before.get(&(id.clone(), engine.name().to_string())) {
                            row[e] = Some(o.clone());
                            continue;
                        }
                        let bytes = data.get_or_insert_with(|| {
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(i)))
                                .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(p))))
                        });
                        let o = match bytes {
                            Err(err) => Outcome::failed(id, engine.name(), err.clone()),
                            Ok(raw) => scan_one(id, engine.as_ref(), raw, ablate),
                        };
                        if let Some(c) = checkpoint
                            && let Err(err) = c.record(&o)
                            && let Ok(mut w) = write_error.lock()
                        {
                            w.get_or_insert(err);
                        }
                        row[e] = Some(o);
                    }
                    if let Ok(mut g) = results.lock() {
                        g[i] = row;
                    }
                    progress(finished.fetch_add(1, Ordering::Relaxed) + 1, n);
                }
            });
        }
    });
    if let Some(err) = write_error.into_inner().ok().flatten() {
        return Err(format!("writing the checkpoint: {err}"));
    }
    let rows = results.into_inner().map_err(|_| "a scan thread died")?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            row.into_iter()
                .enumerate()
                .map(|(e, o)| {
                    o.unwrap_or_else(|| {
                        Outcome::failed(&ids[i], engines[e].name(), "not scanned".into())
                    })
                })
                .collect()
        })
        .collect())
}

fn scan_one(id: &str, engine: &dyn Engine, raw: &[u8], ablate: bool) -> Outcome {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match (ablate, engine.scanner()) {
            (true, Some(scanner)) => {
                let t = std::time::Instant::now();
                let s = crate::score_one(raw, scanner);
                Ok(Outcome {
                    id: id.into(),
                    engine: engine.name().into(),
                    flagged: s.action != outwork_core::Action::Accept,
                    action: s.action.as_str().into(),
                    score: s.score,
                    symbols: s.symbols.iter().map(|s| s.to_string()).collect(),
                    ms: t.elapsed().as_secs_f64() * 1000.0,
                    error: None,
                    flagged_without: Some(s.flagged_without.to_vec()),
                })
            }
            _ => engine.scan(raw).map(|v| Outcome {
                id: id.into(),
                engine: engine.name().into(),
                flagged: v.flagged,
                action: v.action,
                score: v.score,
                symbols: v.symbols,
                ms: v.ms,
                error: None,
                flagged_without: None,
            }),
        }
    }));
    match r {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => Outcome::failed(id, engine.name(), e),
        Err(p) => Outcome::failed(id, engine.name(), format!("panic: {}", panic_text(p))),
    }
}
