//! Scan many messages with several engines: in parallel, one failure (a
//! read error, an engine error, a panic) recorded for that message only,
//! every result appended to a checkpoint file so an interrupted run resumes.

use crate::engines::Engine;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One engine's result on one item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    /// The item's id (as given to [`run_all`]: a corpus path, a variant name).
    pub id: String,
    /// The engine's name.
    pub engine: String,
    /// The engine counts it as spam/phishing ([`crate::Verdict::flagged`]);
    /// false on error.
    pub flagged: bool,
    /// The engine's action name (`reject`, `add header`, …); `error` on error.
    pub action: String,
    /// The engine's score, in its own units (higher = more suspicious).
    pub score: f64,
    /// The symbols (rules) that fired.
    pub symbols: Vec<String>,
    /// Each symbol's score, parallel to `symbols` (empty: unknown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<f64>,
    /// Wall time of the verdict in milliseconds (the ablation passes not
    /// included); 0 on error.
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
    /// The symbols that added score (all of them when weights are unknown):
    /// what "caught" a message, without the informational ones.
    pub fn scoring(&self) -> impl Iterator<Item = &String> {
        self.symbols
            .iter()
            .enumerate()
            .filter(|(i, _)| self.weights.get(*i).is_none_or(|w| *w > 0.0))
            .map(|(_, s)| s)
    }

    pub(crate) fn failed(id: &str, engine: &str, error: String) -> Outcome {
        Outcome {
            id: id.into(),
            engine: engine.into(),
            flagged: false,
            action: "error".into(),
            score: 0.0,
            symbols: vec![],
            weights: vec![],
            ms: 0.0,
            error: Some(error),
            flagged_without: None,
        }
    }
}

/// Outcomes already recorded, by (item id, engine name).
pub type Done = HashMap<(String, String), Outcome>;

/// Why a message could not be loaded for [`run_all`] (read, mutated…):
/// whatever the caller's loader fails with; its text becomes the item's
/// [`Outcome::error`].
pub type LoadError = Box<dyn std::error::Error + Send + Sync>;

/// Why a checkpoint could not be opened or written, or a run did not
/// finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The checkpoint file could not be read or opened.
    #[error("{}: {source}", path.display())]
    Io {
        /// The checkpoint file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The checkpoint holds another run's results.
    #[error(
        "{} holds results of a different run (other corpus, engines, operators or config); \
         remove it or name another --resume file",
        path.display()
    )]
    OtherRun {
        /// The checkpoint file.
        path: PathBuf,
    },
    /// The file is not a checkpoint; it is left as it is.
    #[error("{} is not an outwork checkpoint; refusing to overwrite it", path.display())]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
    },
    /// Appending a result to the checkpoint failed.
    #[error("writing the checkpoint {}: {source}", path.display())]
    Write {
        /// The checkpoint file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A result could not be encoded as a checkpoint line.
    #[error("writing the checkpoint: {source}")]
    Encode {
        /// Why.
        #[from]
        source: serde_json::Error,
    },
    /// A thread panicked while holding the checkpoint's or the results'
    /// lock.
    #[error("a scan thread died")]
    Poisoned,
}

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
    pub fn open(path: &Path, fingerprint: &str) -> Result<(Checkpoint, Done), RunError> {
        let io = |source| RunError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut done = HashMap::new();
        let exists = path.is_file() && std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
        if exists {
            let bytes = std::fs::read(path).map_err(io)?;
            // Bytes, not text: a line cut mid-character must not stop the read.
            let mut lines = bytes.split(|b| *b == b'\n');
            let head: Option<Header> = lines.next().and_then(|l| serde_json::from_slice(l).ok());
            match head {
                Some(h) if h.fingerprint == fingerprint => {}
                Some(_) => {
                    return Err(RunError::OtherRun {
                        path: path.to_path_buf(),
                    });
                }
                None => {
                    return Err(RunError::NotACheckpoint {
                        path: path.to_path_buf(),
                    });
                }
            }
            // A line cut short by the interruption is skipped and its item
            // runs again; so does every error (an engine that was down, a
            // rewriter that timed out): resuming after an outage retries.
            for line in lines {
                if let Ok(o) = serde_json::from_slice::<Outcome>(line)
                    && o.error.is_none()
                {
                    done.insert((o.id.clone(), o.engine.clone()), o);
                }
            }
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        if !exists {
            let h = serde_json::to_string(&Header {
                outwork_checkpoint: 1,
                fingerprint: fingerprint.into(),
            })?;
            writeln!(file, "{h}").map_err(io)?;
        } else {
            // Make sure a cut-off last line does not glue onto the next one.
            writeln!(file).map_err(io)?;
        }
        Ok((
            Checkpoint {
                path: path.to_path_buf(),
                file: Mutex::new(file),
            },
            done,
        ))
    }

    fn record(&self, o: &Outcome) -> Result<(), RunError> {
        let line = serde_json::to_string(o)?;
        let mut f = self.file.lock().map_err(|_| RunError::Poisoned)?;
        writeln!(f, "{line}").map_err(|source| RunError::Write {
            path: self.path.clone(),
            source,
        })
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
    load: &(dyn Fn(usize) -> Result<Vec<u8>, LoadError> + Sync),
    engines: &[Box<dyn Engine>],
    ablate: bool,
    threads: usize,
    checkpoint: Option<&Checkpoint>,
    done_before: &Done,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Vec<Outcome>>, RunError> {
    let n = ids.len();
    let results: Mutex<Vec<Vec<Option<Outcome>>>> = Mutex::new(vec![vec![None; engines.len()]; n]);
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let write_error: Mutex<Option<RunError>> = Mutex::new(None);
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
                    let mut data: Option<Result<Vec<u8>, LoadError>> = None;
                    for (e, engine) in engines.iter().enumerate() {
                        if let Some(o) = done_before.get(&(id.clone(), engine.name().to_string())) {
                            row[e] = Some(o.clone());
                            continue;
                        }
                        let bytes = data.get_or_insert_with(|| {
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(i)))
                                .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(p)).into()))
                        });
                        let o = match bytes {
                            Err(err) => Outcome::failed(id, engine.name(), err.to_string()),
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
        return Err(err);
    }
    let rows = results.into_inner().map_err(|_| RunError::Poisoned)?;
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

pub(crate) fn scan_one(id: &str, engine: &dyn Engine, raw: &[u8], ablate: bool) -> Outcome {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match (ablate, engine.scanner()) {
            (true, Some(scanner)) => engine.scan(raw).map(|v| Outcome {
                id: id.into(),
                engine: engine.name().into(),
                flagged: v.flagged,
                action: v.action,
                score: v.score,
                symbols: v.symbols,
                weights: v.weights,
                // The verdict's own time; the ablation passes come after.
                ms: v.ms,
                error: None,
                flagged_without: Some(crate::ablation(raw, scanner).to_vec()),
            }),
            _ => engine.scan(raw).map(|v| Outcome {
                id: id.into(),
                engine: engine.name().into(),
                flagged: v.flagged,
                action: v.action,
                score: v.score,
                symbols: v.symbols,
                weights: v.weights,
                ms: v.ms,
                error: None,
                flagged_without: None,
            }),
        }
    }));
    match r {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => Outcome::failed(id, engine.name(), e.to_string()),
        Err(p) => Outcome::failed(id, engine.name(), format!("panic: {}", panic_text(p))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::{EngineError, Verdict};

    /// Panics on messages containing "boom", errors on "down".
    struct Flaky;

    impl Engine for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn describe(&self) -> String {
            "test engine".into()
        }
        fn scan(&self, raw: &[u8]) -> Result<Verdict, EngineError> {
            let t = String::from_utf8_lossy(raw);
            if t.contains("boom") {
                panic!("engine bug on this message");
            }
            if t.contains("down") {
                return Err(EngineError::Other("connection refused".into()));
            }
            Ok(Verdict {
                flagged: t.contains("phish"),
                action: "x".into(),
                score: 1.0,
                symbols: vec!["S".into()],
                weights: vec![1.0],
                ms: 0.0,
            })
        }
    }

    #[test]
    fn one_bad_message_never_stops_the_run() {
        let msgs = ["phish a", "boom", "ham", "down", "unreadable", "phish b"];
        let ids: Vec<String> = (0..msgs.len()).map(|i| format!("m{i}")).collect();
        let load = |i: usize| -> Result<Vec<u8>, LoadError> {
            if msgs[i] == "unreadable" {
                Err("permission denied".into())
            } else {
                Ok(msgs[i].as_bytes().to_vec())
            }
        };
        let engines: Vec<Box<dyn Engine>> = vec![Box::new(Flaky)];
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let out = run_all(
            &ids,
            &load,
            &engines,
            false,
            2,
            None,
            &Done::new(),
            &|_, _| {},
        );
        std::panic::set_hook(prev);
        let out = out.unwrap();
        let got: Vec<(bool, Option<&str>)> = out
            .iter()
            .map(|r| (r[0].flagged, r[0].error.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (true, None),
                (false, Some("panic: engine bug on this message")),
                (false, None),
                (false, Some("connection refused")),
                (false, Some("permission denied")),
                (true, None),
            ]
        );
    }

    #[test]
    fn checkpoint_resumes_and_refuses_another_run() {
        let dir = std::env::temp_dir().join(format!("outwork-ckpt-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("c.jsonl");
        let _ = std::fs::remove_file(&p);
        let ids: Vec<String> = vec!["a".into(), "b".into()];
        let load =
            |i: usize| -> Result<Vec<u8>, LoadError> { Ok(format!("phish {i}").into_bytes()) };
        let engines: Vec<Box<dyn Engine>> = vec![Box::new(Flaky)];
        let (c, done) = Checkpoint::open(&p, "run1").unwrap();
        assert!(done.is_empty());
        run_all(&ids, &load, &engines, false, 1, Some(&c), &done, &|_, _| {}).unwrap();
        drop(c);
        let (c, done) = Checkpoint::open(&p, "run1").unwrap();
        assert_eq!(done.len(), 2);
        assert!(done.contains_key(&("a".to_string(), "flaky".to_string())));
        // An error (engine down) is recorded but retried on resume.
        c.record(&Outcome::failed("c", "flaky", "connection refused".into()))
            .unwrap();
        drop(c);
        let (_, done) = Checkpoint::open(&p, "run1").unwrap();
        assert_eq!(done.len(), 2, "the error is not a result to keep");
        let err = Checkpoint::open(&p, "run2").err().unwrap();
        assert!(matches!(err, RunError::OtherRun { .. }), "{err:?}");
        assert!(err.to_string().contains("different run"), "{err}");
        std::fs::write(dir.join("x.txt"), "not json\n").unwrap();
        assert!(
            Checkpoint::open(&dir.join("x.txt"), "run1")
                .err()
                .unwrap()
                .to_string()
                .contains("not an outwork checkpoint")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
