//! The quarantine: a directory of `<id>.eml` (the raw message) and
//! `<id>.json` (verdict, envelope, time).
//!
//! Durability before anything is discarded: each file is written to a
//! temporary name, fsync'd, renamed into place, and the directory fsync'd;
//! only then does [`QuarantineStore::put`] return the id (and the milter
//! tell the MTA to discard). The `.json` is written last, so an entry that
//! [`QuarantineStore::list`] shows always has its message. A crash in
//! between leaves at most an orphan `.eml` (the MTA never got a reply, so
//! it still holds the message); a crash during a write leaves a `.tmp-*`
//! file, removed the next time the store is opened.

use outwork_core::Verdict;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The envelope as stored (plain strings: stable JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredEnvelope {
    /// The SMTP client's address.
    pub client_ip: Option<String>,
    /// The HELO/EHLO name.
    pub helo: Option<String>,
    /// The envelope sender.
    pub mail_from: Option<String>,
    /// The envelope recipients.
    pub rcpt_to: Vec<String>,
    /// The MTA's queue id.
    pub queue_id: Option<String>,
}

impl From<&outwork_engine::Envelope> for StoredEnvelope {
    fn from(e: &outwork_engine::Envelope) -> Self {
        StoredEnvelope {
            client_ip: e.client_ip.map(|i| i.to_string()),
            helo: e.helo.clone(),
            mail_from: e.mail_from.clone(),
            rcpt_to: e.rcpt_to.clone(),
            queue_id: e.queue_id.clone(),
        }
    }
}

impl StoredEnvelope {
    /// Back to the engine's envelope (an unparsable address is dropped).
    pub fn to_envelope(&self) -> outwork_engine::Envelope {
        outwork_engine::Envelope {
            client_ip: self.client_ip.as_deref().and_then(|s| s.parse().ok()),
            helo: self.helo.clone(),
            mail_from: self.mail_from.clone(),
            rcpt_to: self.rcpt_to.clone(),
            queue_id: self.queue_id.clone(),
        }
    }
}

/// A fired symbol as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSymbol {
    /// The symbol's name.
    pub name: String,
    /// Its score in the verdict.
    pub score: f64,
    /// Its evidence.
    pub evidence: Vec<String>,
}

/// One quarantined message's sidecar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    /// The quarantine id (also the file names).
    pub id: String,
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// The message's size in bytes.
    pub size: u64,
    /// The verdict's action.
    pub action: String,
    /// The verdict's score.
    pub score: f64,
    /// The verdict's symbols, in its order.
    pub symbols: Vec<StoredSymbol>,
    /// The SMTP envelope.
    pub envelope: StoredEnvelope,
}

/// A message taken back out for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Released {
    /// The message as received.
    pub raw: Vec<u8>,
    /// Its envelope (to deliver to).
    pub envelope: outwork_engine::Envelope,
    /// Its sidecar.
    pub entry: QuarantineEntry,
}

/// Why a quarantine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    /// No message with that id.
    #[error("no quarantined message {0}")]
    NotFound(String),
    /// An id that is not one of ours (path characters…).
    #[error("bad quarantine id {0:?}")]
    BadId(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A sidecar that is not valid JSON.
    #[error("{path}: {source}")]
    Json {
        /// The sidecar.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> QuarantineError + '_ {
    move |source| QuarantineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A quarantine directory.
#[derive(Debug, Clone)]
pub struct QuarantineStore {
    dir: PathBuf,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl QuarantineStore {
    /// Open (creating it, mode 0700, if needed) a quarantine directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<QuarantineStore, QuarantineError> {
        let dir = dir.into();
        if !dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(io_err(&dir))?;
        }
        let store = QuarantineStore { dir };
        let n = store.remove_stale_temporaries();
        if n > 0 {
            tracing::warn!(
                "quarantine {}: removed {n} temporary file(s) left by an interrupted write",
                store.dir.display()
            );
        }
        Ok(store)
    }

    /// Remove `.tmp-*` files a crashed writer left behind (its message was
    /// never acknowledged, so the MTA still holds it). Another process may
    /// be writing in the same directory (the CLI opens the store while
    /// `serve` runs): a file is stale when the process named in it (ids
    /// carry the writer's pid) is gone, or when it is over an hour old.
    /// Returns how many were removed.
    fn remove_stale_temporaries(&self) -> usize {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return 0;
        };
        let me = std::process::id();
        let mut n = 0;
        for de in rd.flatten() {
            let name = de.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_prefix(".tmp-")) else {
                continue;
            };
            // <secs>-<nanos>-<pid>-<seq>.<ext>
            let writer = id.split('-').nth(2).and_then(|p| p.parse::<u32>().ok());
            let writer_gone =
                writer.is_some_and(|p| p != me && !Path::new(&format!("/proc/{p}")).exists());
            let old = de
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if (writer_gone || old) && fs::remove_file(de.path()).is_ok() {
                n += 1;
            }
        }
        n
    }

    /// The directory holding the messages.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Store a message durably; returns its id once it is on disk.
    pub fn put(
        &self,
        raw: &[u8],
        verdict: &Verdict,
        envelope: &outwork_engine::Envelope,
    ) -> Result<String, QuarantineError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let id = format!(
            "{}-{:09}-{}-{}",
            now.as_secs(),
            now.subsec_nanos(),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let entry = QuarantineEntry {
            id: id.clone(),
            time: now.as_secs(),
            size: raw.len() as u64,
            action: verdict.action.as_str().to_string(),
            score: verdict.score,
            symbols: verdict
                .symbols
                .iter()
                .map(|s| StoredSymbol {
                    name: s.name.to_string(),
                    score: s.score,
                    evidence: s.evidence.clone(),
                })
                .collect(),
            envelope: envelope.into(),
        };
        let json = serde_json::to_vec_pretty(&entry).map_err(|source| QuarantineError::Json {
            path: self.dir.join(format!("{id}.json")),
            source,
        })?;
        self.write_durably(&format!("{id}.eml"), raw)?;
        self.write_durably(&format!("{id}.json"), &json)?;
        // The renames are durable once the directory is.
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&self.dir))?;
        Ok(id)
    }

    fn write_durably(&self, name: &str, data: &[u8]) -> Result<(), QuarantineError> {
        let tmp = self.dir.join(format!(".tmp-{name}"));
        let dst = self.dir.join(name);
        let r = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&tmp, &dst)
        })();
        if r.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        r.map_err(io_err(&dst))
    }

    fn check_id(id: &str) -> Result<(), QuarantineError> {
        let ok = !id.is_empty()
            && id.len() <= 128
            && !id.starts_with('.')
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if ok {
            Ok(())
        } else {
            Err(QuarantineError::BadId(id.to_string()))
        }
    }

    fn read_entry(&self, path: &Path) -> Result<QuarantineEntry, QuarantineError> {
        let bytes = fs::read(path).map_err(io_err(path))?;
        serde_json::from_slice(&bytes).map_err(|source| QuarantineError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Every entry, oldest first. Unreadable sidecars are skipped.
    pub fn list(&self) -> Result<Vec<QuarantineEntry>, QuarantineError> {
        let mut out = Vec::new();
        for de in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let de = de.map_err(io_err(&self.dir))?;
            let p = de.path();
            let name = de.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            match self.read_entry(&p) {
                Ok(e) => out.push(e),
                Err(e) => tracing::warn!("quarantine: skipping {}: {e}", p.display()),
            }
        }
        out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// An entry and its raw message.
    pub fn get(&self, id: &str) -> Result<(QuarantineEntry, Vec<u8>), QuarantineError> {
        Self::check_id(id)?;
        let j = self.dir.join(format!("{id}.json"));
        let m = self.dir.join(format!("{id}.eml"));
        if !j.exists() {
            return Err(QuarantineError::NotFound(id.to_string()));
        }
        let entry = self.read_entry(&j)?;
        let raw = fs::read(&m).map_err(io_err(&m))?;
        Ok((entry, raw))
    }

    /// The first `max` bytes of a message (its headers, for listings).
    pub fn head(&self, id: &str, max: usize) -> Result<Vec<u8>, QuarantineError> {
        use std::io::Read;
        Self::check_id(id)?;
        let m = self.dir.join(format!("{id}.eml"));
        let f = File::open(&m).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => QuarantineError::NotFound(id.to_string()),
            _ => io_err(&m)(e),
        })?;
        let mut out = Vec::new();
        f.take(max as u64)
            .read_to_end(&mut out)
            .map_err(io_err(&m))?;
        Ok(out)
    }

    /// Remove an entry (sidecar first, so it leaves the list at once).
    pub fn delete(&self, id: &str) -> Result<(), QuarantineError> {
        Self::check_id(id)?;
        let j = self.dir.join(format!("{id}.json"));
        let m = self.dir.join(format!("{id}.eml"));
        match fs::remove_file(&j) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(QuarantineError::NotFound(id.to_string()));
            }
            r => r.map_err(io_err(&j))?,
        }
        match fs::remove_file(&m) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(&m)(e)),
            _ => Ok(()),
        }
    }

    /// The raw message and envelope, for re-injection. The entry stays
    /// until the caller has delivered it and calls [`QuarantineStore::delete`].
    pub fn release(&self, id: &str) -> Result<Released, QuarantineError> {
        let (entry, raw) = self.get(id)?;
        Ok(Released {
            raw,
            envelope: entry.envelope.to_envelope(),
            entry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outwork_core::Action;
    use outwork_core::Symbol;

    #[test]
    fn put_list_get_release_delete() {
        let dir = tempfile::tempdir().unwrap();
        let q = QuarantineStore::open(dir.path().join("q")).unwrap();
        let v = Verdict {
            action: Action::Quarantine,
            score: 11.0,
            symbols: vec![Symbol {
                name: "X",
                score: 11.0,
                evidence: vec!["why".into()],
            }],
            authentication_results: None,
        };
        let env = outwork_engine::Envelope {
            client_ip: "192.0.2.1".parse().ok(),
            helo: Some("h".into()),
            mail_from: Some("a@b".into()),
            rcpt_to: vec!["c@d".into()],
            queue_id: Some("QID".into()),
        };
        let id1 = q.put(b"Subject: one\r\n\r\nx", &v, &env).unwrap();
        let id2 = q.put(b"Subject: two\r\n\r\ny", &v, &env).unwrap();
        assert_ne!(id1, id2);
        let l = q.list().unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].symbols[0].evidence, vec!["why".to_string()]);
        let (e, raw) = q.get(&id1).unwrap();
        assert_eq!(raw, b"Subject: one\r\n\r\nx");
        assert_eq!(q.head(&id1, 12).unwrap(), b"Subject: one");
        assert_eq!(e.envelope.queue_id.as_deref(), Some("QID"));
        let r = q.release(&id2).unwrap();
        assert_eq!(r.envelope, env);
        q.delete(&id1).unwrap();
        assert!(matches!(q.get(&id1), Err(QuarantineError::NotFound(_))));
        assert!(matches!(q.delete(&id1), Err(QuarantineError::NotFound(_))));
        assert!(matches!(
            q.get("../etc/passwd"),
            Err(QuarantineError::BadId(_))
        ));
        assert_eq!(q.list().unwrap().len(), 1);
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(q.dir())
            .unwrap()
            .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }

    /// Issue 17 item 6g: a crash mid-write left `.tmp-*` files for ever.
    #[test]
    fn stale_temporaries_are_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        QuarantineStore::open(&q).unwrap();
        // A writer that died (no such pid), and a live one (this process).
        let dead = q.join(".tmp-1700000000-000000001-4294967294-0.eml");
        let live = q.join(format!(
            ".tmp-1700000000-000000001-{}-0.json",
            std::process::id()
        ));
        fs::write(&dead, b"half a message").unwrap();
        fs::write(&live, b"being written").unwrap();
        fs::write(q.join("keep.eml"), b"x").unwrap();
        QuarantineStore::open(&q).unwrap();
        assert!(!dead.exists(), "stale temporary kept");
        assert!(live.exists(), "a live writer's file was removed");
        assert!(q.join("keep.eml").exists());
    }
}
