//! The verdict log: every message the milter or the HTTP API scanned, for
//! the dashboard. A bounded in-memory ring (`[dashboard] keep`) backed by
//! an append-only JSONL file that is reloaded at start and pruned to
//! `retention_days`.
//!
//! The file is rewritten (to a temporary name, then renamed) at start and
//! whenever it holds twice as many lines as the ring, so it never grows
//! past ~2 × `keep` records. A line that fails to parse (a torn write at a
//! crash) is skipped, not fatal.

use crate::quarantine::StoredSymbol;
use outwork_core::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Raw headers kept per record.
pub(crate) const MAX_HEADER_BYTES: usize = 32 * 1024;
/// URLs and attachments kept per record.
const MAX_ITEMS: usize = 256;
/// Longest single text field kept (subject, addresses, URLs).
const MAX_FIELD: usize = 2048;

/// An attachment as the parser saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// Its file name, if it has one.
    pub name: Option<String>,
    /// Its declared Content-Type.
    pub declared_type: String,
    /// What the first bytes say it is (`Exe`, `Zip`, …).
    pub sniffed: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One scanned message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRecord {
    /// Increasing; the dashboard's handle for the record.
    #[serde(default)]
    pub id: u64,
    /// Unix milliseconds.
    pub time_ms: u64,
    /// `milter`, `checkv2`, `scan` or `dashboard`.
    pub source: String,
    /// The MTA's queue id.
    pub queue_id: Option<String>,
    /// The SMTP client's address.
    pub client_ip: Option<String>,
    /// The HELO/EHLO name.
    pub helo: Option<String>,
    /// Envelope sender.
    pub mail_from: Option<String>,
    /// The From header's address (and display name, if any).
    pub from: Option<String>,
    /// The From header's display name.
    pub from_name: Option<String>,
    /// The envelope recipients.
    pub rcpt_to: Vec<String>,
    /// The decoded Subject.
    pub subject: Option<String>,
    /// The Message-ID.
    pub message_id: Option<String>,
    /// The message's size in bytes.
    pub size: u64,
    /// The verdict's action.
    pub action: String,
    /// The verdict's score.
    pub score: f64,
    /// The verdict's symbols, in its order.
    pub symbols: Vec<StoredSymbol>,
    /// Link host names, in order of appearance.
    pub urls: Vec<String>,
    /// The attachments.
    pub attachments: Vec<AttachmentInfo>,
    /// outwork's own Authentication-Results when it verified the sender,
    /// else the message's own headers (topmost first).
    pub authentication_results: Vec<String>,
    /// The header block, at most 32 KiB (lossy UTF-8).
    pub headers: String,
    /// `headers` was cut at 32 KiB.
    pub headers_truncated: bool,
    /// Milliseconds the scan took.
    pub took_ms: f64,
    /// The quarantine id, when a copy was stored.
    pub quarantine_id: Option<String>,
}

fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The header block of a raw message (up to the first empty line).
fn header_block(raw: &[u8]) -> &[u8] {
    let end = memfind(raw, b"\r\n\r\n")
        .map(|i| i + 2)
        .or_else(|| memfind(raw, b"\n\n").map(|i| i + 1))
        .unwrap_or(raw.len());
    &raw[..end]
}

fn memfind(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

impl VerdictRecord {
    /// Build a record from a scan and the facts it was read from.
    pub fn build(
        source: &str,
        raw: &[u8],
        facts: &outwork_core::Facts,
        envelope: &outwork_engine::Envelope,
        verdict: &Verdict,
        took_ms: f64,
    ) -> VerdictRecord {
        let mut urls: Vec<String> = Vec::new();
        for u in &facts.urls {
            let s = cap(&u.url.raw, MAX_FIELD);
            if !urls.contains(&s) && urls.len() < MAX_ITEMS {
                urls.push(s);
            }
        }
        let attachments = facts
            .attachments
            .iter()
            .take(MAX_ITEMS)
            .map(|a| AttachmentInfo {
                name: a.name.as_deref().map(|n| cap(n, MAX_FIELD)),
                declared_type: cap(&a.declared_type, 256),
                sniffed: format!("{:?}", a.sniffed),
                size: a.size as u64,
            })
            .collect();
        let authentication_results = match &verdict.authentication_results {
            Some(a) => vec![cap(a, MAX_FIELD)],
            None => facts
                .auth
                .iter()
                .take(16)
                .map(|a| cap(&a.value, MAX_FIELD))
                .collect(),
        };
        let hb = header_block(raw);
        let headers_truncated = hb.len() > MAX_HEADER_BYTES;
        let headers = String::from_utf8_lossy(&hb[..hb.len().min(MAX_HEADER_BYTES)]).into_owned();
        let message_id = crate::rspamd::MessageInfo::from_facts(raw, facts).message_id;
        VerdictRecord {
            id: 0,
            time_ms: now_ms(),
            source: source.to_string(),
            queue_id: envelope.queue_id.as_deref().map(|s| cap(s, 256)),
            client_ip: envelope.client_ip.map(|i| i.to_string()),
            helo: envelope.helo.as_deref().map(|s| cap(s, 256)),
            mail_from: envelope.mail_from.as_deref().map(|s| cap(s, MAX_FIELD)),
            from: facts.from.as_ref().map(|m| cap(&m.address, MAX_FIELD)),
            from_name: facts
                .from
                .as_ref()
                .and_then(|m| m.name.as_deref())
                .map(|n| cap(n, MAX_FIELD)),
            rcpt_to: envelope
                .rcpt_to
                .iter()
                .take(MAX_ITEMS)
                .map(|r| cap(r, MAX_FIELD))
                .collect(),
            subject: (!facts.subject.is_empty()).then(|| {
                let s = outwork_engine::subject_in_declared_charset(raw, &facts.subject);
                cap(s.as_deref().unwrap_or(&facts.subject), MAX_FIELD)
            }),
            message_id: message_id.map(|m| cap(&m, MAX_FIELD)),
            size: raw.len() as u64,
            action: verdict.action.as_str().to_string(),
            score: verdict.score,
            symbols: verdict
                .symbols
                .iter()
                .map(|s| StoredSymbol {
                    name: s.name.to_string(),
                    score: s.score,
                    evidence: s.evidence.iter().map(|e| cap(e, MAX_FIELD)).collect(),
                })
                .collect(),
            urls,
            attachments,
            authentication_results,
            headers,
            headers_truncated,
            took_ms,
            quarantine_id: None,
        }
    }

    /// Domains this record's sender is known by (envelope and From), lower case.
    fn sender_domains(&self) -> impl Iterator<Item = String> + '_ {
        [self.mail_from.as_deref(), self.from.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|a| a.trim_matches(['<', '>']).rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase())
    }
}

/// What to list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Only this action.
    pub action: Option<String>,
    /// Only records where this symbol fired.
    pub symbol: Option<String>,
    /// Sender domain (envelope or From); subdomains match too.
    pub domain: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<u64>,
    /// Unix seconds, inclusive.
    pub until: Option<u64>,
    /// Case-insensitive text in the subject, senders or recipients.
    pub q: Option<String>,
    /// Only records with a smaller id (paging back).
    pub before: Option<u64>,
    /// At most this many (newest first).
    pub limit: Option<usize>,
}

impl Filter {
    fn nonempty(o: &Option<String>) -> Option<&str> {
        o.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// Does `r` pass every filter set?
    pub fn matches(&self, r: &VerdictRecord) -> bool {
        if let Some(a) = Self::nonempty(&self.action)
            && !r.action.eq_ignore_ascii_case(a)
        {
            return false;
        }
        if let Some(s) = Self::nonempty(&self.symbol)
            && !r.symbols.iter().any(|x| x.name.eq_ignore_ascii_case(s))
        {
            return false;
        }
        if let Some(d) = Self::nonempty(&self.domain) {
            let d = d.trim_start_matches('@').to_ascii_lowercase();
            let suffix = format!(".{d}");
            if !r.sender_domains().any(|x| x == d || x.ends_with(&suffix)) {
                return false;
            }
        }
        let secs = r.time_ms / 1000;
        if self.since.is_some_and(|s| secs < s) || self.until.is_some_and(|u| secs > u) {
            return false;
        }
        if self.before.is_some_and(|b| r.id >= b) {
            return false;
        }
        if let Some(q) = Self::nonempty(&self.q) {
            let q = q.to_lowercase();
            let hit = |s: &str| s.to_lowercase().contains(&q);
            let any = r.subject.as_deref().is_some_and(hit)
                || r.mail_from.as_deref().is_some_and(hit)
                || r.from.as_deref().is_some_and(hit)
                || r.from_name.as_deref().is_some_and(hit)
                || r.rcpt_to.iter().any(|x| hit(x))
                || r.queue_id.as_deref().is_some_and(hit);
            if !any {
                return false;
            }
        }
        true
    }
}

/// Where and how much to keep.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Records kept in memory (the newest).
    pub keep: usize,
    /// Days a record is kept in the file.
    pub retention_days: u64,
    /// The JSONL file; `None`: memory only.
    pub path: Option<PathBuf>,
}

struct Inner {
    /// `Arc`s: a compaction snapshots the ring without copying records.
    ring: VecDeque<Arc<VerdictRecord>>,
    next_id: u64,
    file: Option<File>,
    lines_in_file: usize,
    compacting: bool,
}

/// The log. Cheap to share behind an `Arc`; every method takes a short lock.
pub struct VerdictLog {
    opts: LogOptions,
    inner: Mutex<Inner>,
}

fn io_ctx(p: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

impl VerdictLog {
    /// Open (reloading the file if there is one) and prune to the retention.
    pub fn open(opts: LogOptions) -> io::Result<VerdictLog> {
        let keep = opts.keep.max(1);
        let mut ring: VecDeque<Arc<VerdictRecord>> = VecDeque::with_capacity(keep.min(65_536));
        let cutoff = Self::cutoff_ms(opts.retention_days);
        let mut file = None;
        let mut max_id = 0;
        if let Some(p) = &opts.path {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(|e| io_ctx(dir, e))?;
            }
            match File::open(p) {
                Ok(f) => {
                    for line in BufReader::new(f).split(b'\n') {
                        let line = line.map_err(|e| io_ctx(p, e))?;
                        let Ok(r) = serde_json::from_slice::<VerdictRecord>(&line) else {
                            continue;
                        };
                        max_id = max_id.max(r.id);
                        if r.time_ms < cutoff {
                            continue;
                        }
                        if ring.len() == keep {
                            ring.pop_front();
                        }
                        ring.push_back(Arc::new(r));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_ctx(p, e)),
            }
            Self::rewrite(p, ring.iter().map(|r| r.as_ref()))?;
            file = Some(Self::append_handle(p)?);
        }
        let next_id = max_id.max(ring.back().map_or(0, |r| r.id)) + 1;
        let lines_in_file = ring.len();
        Ok(VerdictLog {
            opts: LogOptions { keep, ..opts },
            inner: Mutex::new(Inner {
                ring,
                next_id,
                file,
                lines_in_file,
                compacting: false,
            }),
        })
    }

    /// Memory only (tests, no data dir).
    pub fn in_memory(keep: usize) -> VerdictLog {
        match Self::open(LogOptions {
            keep,
            retention_days: 0,
            path: None,
        }) {
            Ok(l) => l,
            // Without a path nothing touches the disk.
            Err(_) => unreachable!("in-memory log cannot fail"),
        }
    }

    fn cutoff_ms(days: u64) -> u64 {
        if days == 0 {
            return 0;
        }
        now_ms().saturating_sub(days.saturating_mul(86_400_000))
    }

    fn append_handle(p: &Path) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(p)
            .map_err(|e| io_ctx(p, e))
    }

    fn tmp_path(p: &Path) -> PathBuf {
        p.with_extension("jsonl.tmp")
    }

    /// Write `records` to `tmp` (created or truncated) and fsync it.
    fn write_records<'a>(
        tmp: &Path,
        records: impl IntoIterator<Item = &'a VerdictRecord>,
    ) -> io::Result<()> {
        let mut f = io::BufWriter::new(
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(tmp)?,
        );
        for r in records {
            serde_json::to_writer(&mut f, r)?;
            f.write_all(b"\n")?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()
    }

    /// Replace the file with `records` (temporary file, then rename).
    fn rewrite<'a>(
        p: &Path,
        records: impl IntoIterator<Item = &'a VerdictRecord>,
    ) -> io::Result<()> {
        let tmp = Self::tmp_path(p);
        let r = Self::write_records(&tmp, records).and_then(|()| fs::rename(&tmp, p));
        if r.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        r.map_err(|e| io_ctx(p, e))
    }

    /// Rewrite the file from the ring. The bulk is written without the
    /// lock (scans keep recording meanwhile, into the old file); records
    /// that arrived during it are appended to the new file under the lock,
    /// just before it replaces the old one.
    fn compact(&self, p: &Path) {
        let (snapshot, last_id) = {
            let mut g = self.lock();
            if g.compacting {
                return;
            }
            g.compacting = true;
            let snap: Vec<Arc<VerdictRecord>> = g.ring.iter().cloned().collect();
            let last = snap.last().map_or(0, |r| r.id);
            (snap, last)
        };
        let tmp = Self::tmp_path(p);
        let written = Self::write_records(&tmp, snapshot.iter().map(|r| r.as_ref()));
        let mut g = self.lock();
        g.compacting = false;
        let res = written.and_then(|()| {
            let tail: Vec<Arc<VerdictRecord>> =
                g.ring.iter().filter(|r| r.id > last_id).cloned().collect();
            let mut f = io::BufWriter::new(OpenOptions::new().append(true).open(&tmp)?);
            for r in &tail {
                serde_json::to_writer(&mut f, r.as_ref())?;
                f.write_all(b"\n")?;
            }
            f.into_inner().map_err(|e| e.into_error())?;
            fs::rename(&tmp, p)?;
            Ok((Self::append_handle(p)?, snapshot.len() + tail.len()))
        });
        match res {
            Ok((f, n)) => {
                g.file = Some(f);
                g.lines_in_file = n;
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                // Try again after another `keep` records, not on every one.
                g.lines_in_file = self.opts.keep;
                tracing::warn!(target: "outwork::dashboard", "compacting the verdict log {}: {e}", p.display());
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a record (its id is assigned here); returns the id. A failing
    /// file write is logged and the record stays in memory.
    pub fn push(&self, r: VerdictRecord) -> u64 {
        let cutoff = Self::cutoff_ms(self.opts.retention_days);
        let (id, compact) = self.push_locked(r, cutoff);
        if compact && let Some(p) = &self.opts.path {
            self.compact(p);
        }
        id
    }

    /// The part of [`VerdictLog::push`] under the lock; says whether the
    /// file is due for compaction.
    fn push_locked(&self, mut r: VerdictRecord, cutoff: u64) -> (u64, bool) {
        let mut g = self.lock();
        r.id = g.next_id;
        g.next_id += 1;
        let id = r.id;
        let line = serde_json::to_vec(&r).ok();
        while g
            .ring
            .front()
            .is_some_and(|f| f.time_ms < cutoff || g.ring.len() >= self.opts.keep)
        {
            g.ring.pop_front();
        }
        g.ring.push_back(Arc::new(r));
        let mut compact = false;
        if let (Some(p), Some(mut line)) = (&self.opts.path, line) {
            line.push(b'\n');
            let res = match g.file.as_mut() {
                Some(f) => f.write_all(&line),
                None => Ok(()),
            };
            if let Err(e) = res {
                tracing::warn!(target: "outwork::dashboard", "verdict log {}: {e}", p.display());
            }
            g.lines_in_file += 1;
            compact = g.lines_in_file >= 2 * self.opts.keep && !g.compacting;
        }
        (id, compact)
    }

    /// Drop records past the retention (memory and file). Returns how many.
    pub fn prune(&self) -> io::Result<usize> {
        let cutoff = Self::cutoff_ms(self.opts.retention_days);
        let mut g = self.lock();
        let before = g.ring.len();
        g.ring.retain(|r| r.time_ms >= cutoff);
        let dropped = before - g.ring.len();
        if dropped > 0
            && let Some(p) = &self.opts.path
        {
            let snapshot: Vec<Arc<VerdictRecord>> = g.ring.iter().cloned().collect();
            Self::rewrite(p, snapshot.iter().map(|r| r.as_ref()))?;
            g.file = Some(Self::append_handle(p)?);
            g.lines_in_file = snapshot.len();
        }
        Ok(dropped)
    }

    /// Matching records, newest first, at most `limit` (default 100, max 1000).
    pub fn list(&self, f: &Filter) -> (Vec<Arc<VerdictRecord>>, usize) {
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        let g = self.lock();
        let mut out = Vec::new();
        let mut total = 0;
        for r in g.ring.iter().rev() {
            if f.matches(r) {
                total += 1;
                if out.len() < limit {
                    out.push(r.clone());
                }
            }
        }
        (out, total)
    }

    /// The record with this id, if still kept.
    pub fn get(&self, id: u64) -> Option<Arc<VerdictRecord>> {
        let g = self.lock();
        // Ids increase along the ring: binary search.
        let i = g.ring.binary_search_by(|r| r.id.cmp(&id)).ok()?;
        g.ring.get(i).cloned()
    }

    /// The newest record with this quarantine id.
    pub fn by_quarantine_id(&self, qid: &str) -> Option<Arc<VerdictRecord>> {
        let g = self.lock();
        g.ring
            .iter()
            .rev()
            .find(|r| r.quarantine_id.as_deref() == Some(qid))
            .cloned()
    }

    /// Apply `f` to every record (oldest first) under the lock: for stats.
    pub fn for_each(&self, mut f: impl FnMut(&VerdictRecord)) {
        let g = self.lock();
        g.ring.iter().for_each(|r| f(r));
    }

    /// Records held in memory.
    pub fn len(&self) -> usize {
        self.lock().ring.len()
    }

    /// No record held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What it keeps, and where.
    pub fn options(&self) -> &LogOptions {
        &self.opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(time_ms: u64, action: &str, from: &str, subject: &str) -> VerdictRecord {
        VerdictRecord {
            id: 0,
            time_ms,
            source: "scan".into(),
            queue_id: None,
            client_ip: None,
            helo: None,
            mail_from: Some(from.into()),
            from: None,
            from_name: None,
            rcpt_to: vec!["alice@example.org".into()],
            subject: Some(subject.into()),
            message_id: None,
            size: 1,
            action: action.into(),
            score: 1.0,
            symbols: vec![StoredSymbol {
                name: "SYM_A".into(),
                score: 1.0,
                evidence: vec![],
            }],
            urls: vec![],
            attachments: vec![],
            authentication_results: vec![],
            headers: String::new(),
            headers_truncated: false,
            took_ms: 1.0,
            quarantine_id: None,
        }
    }

    #[test]
    fn ring_filters_and_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v/verdicts.jsonl");
        let opts = LogOptions {
            keep: 3,
            retention_days: 7,
            path: Some(path.clone()),
        };
        let log = VerdictLog::open(opts.clone()).unwrap();
        let now = now_ms();
        log.push(rec(now, "accept", "a@x.example", "hello"));
        log.push(rec(now, "reject", "b@evil.example", "Invoice"));
        log.push(rec(now, "accept", "c@sub.x.example", "other"));
        let id4 = log.push(rec(now, "tag", "d@y.example", "last"));
        assert_eq!(log.len(), 3, "bounded by keep");
        let (l, total) = log.list(&Filter::default());
        assert_eq!((l.len(), total), (3, 3));
        assert_eq!(l[0].id, id4, "newest first");
        let f = |d: &str| Filter {
            domain: Some(d.into()),
            ..Default::default()
        };
        assert_eq!(log.list(&f("x.example")).1, 1, "subdomain matches");
        assert_eq!(log.list(&f("evil.example")).1, 1);
        let q = Filter {
            q: Some("INVOICE".into()),
            ..Default::default()
        };
        assert_eq!(log.list(&q).0[0].action, "reject");
        // Paging back from the newest.
        let page = Filter {
            before: Some(id4),
            limit: Some(1),
            ..Default::default()
        };
        let (older, n) = log.list(&page);
        assert_eq!((older.len(), n), (1, 2));
        assert_eq!(older[0].id, id4 - 1);
        drop(log);
        let log = VerdictLog::open(opts).unwrap();
        assert_eq!(log.len(), 3);
        assert!(log.get(id4).is_some());
        assert!(
            log.push(rec(now, "accept", "e@z", "s")) > id4,
            "ids continue"
        );
    }

    #[test]
    fn compaction_bounds_the_file_under_concurrent_pushes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("verdicts.jsonl");
        let opts = LogOptions {
            keep: 50,
            retention_days: 7,
            path: Some(path.clone()),
        };
        let log = Arc::new(VerdictLog::open(opts.clone()).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..300 {
                        log.push(rec(now_ms(), "accept", "a@x", &format!("{t}-{i}")));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let lines = fs::read_to_string(&path).unwrap().lines().count();
        assert!((50..100).contains(&lines), "{lines} lines");
        assert_eq!(log.len(), 50);
        let newest: Vec<u64> = log
            .list(&Filter::default())
            .0
            .iter()
            .map(|r| r.id)
            .collect();
        drop(log);
        // Every record the ring held is in the file, once.
        let again = VerdictLog::open(opts).unwrap();
        let ids: Vec<u64> = again
            .list(&Filter::default())
            .0
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, newest);
        assert_eq!(ids[0], 1200);
    }

    #[test]
    fn retention_drops_old_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("verdicts.jsonl");
        let opts = LogOptions {
            keep: 100,
            retention_days: 1,
            path: Some(path.clone()),
        };
        let old = now_ms() - 2 * 86_400_000;
        {
            let log = VerdictLog::open(opts.clone()).unwrap();
            log.push(rec(old, "accept", "a@x", "old"));
            assert_eq!(log.prune().unwrap(), 1);
            assert!(log.is_empty());
            log.push(rec(old, "accept", "a@x", "old again"));
            // A newer record pushes expired ones out of memory at once.
            log.push(rec(now_ms(), "accept", "a@x", "new"));
            assert_eq!(log.len(), 1);
        }
        // Reopening prunes the file too.
        assert_eq!(VerdictLog::open(opts.clone()).unwrap().len(), 1);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        // A torn last line is skipped.
        fs::write(&path, format!("{text}{{\"id\":9,")).unwrap();
        assert_eq!(VerdictLog::open(opts).unwrap().len(), 1);
    }
}
