//! `outwork intel update`: fetch every configured feed over HTTP(S) and swap
//! the new data into the embedded store.
//!
//! - Conditional requests: the ETag / Last-Modified a feed last served are
//!   kept in a small JSON file beside the store (`<store>.feeds.json`) and sent
//!   back as If-None-Match / If-Modified-Since; a 304 leaves the source as it
//!   is, without re-importing.
//! - Connect errors, timeouts and 5xx answers are retried with exponential
//!   backoff; a 4xx fails at once.
//! - A download is bounded in time (a global timeout per request, body
//!   included) and in size.
//! - A download that looks corrupt (binary, no entries, mostly malformed
//!   lines, or shrinking by more than 90% against what the store holds for
//!   that source) is refused, and the previous data keeps serving.
//! - The store is loaded once, every updated feed is imported, and it is saved
//!   once at the end by atomic rename; when nothing changed it isn't rewritten.
//!   One feed failing never loses another feed's update.

use crate::feeds::{self, Format, Parsed};
use crate::store::{Index, IntelError, Kind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One feed to fetch (the CLI maps `[[intel.feeds]]` to this).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedSpec {
    /// The source name in the store.
    pub name: String,
    /// URL to fetch (http or https); the previous ETag/Last-Modified is sent with it.
    pub url: String,
    /// Format name (see [`Format::from_name`]); detected when `None`.
    pub format: Option<String>,
    /// phishing, malware, spam, scam, c2, other; phishing when `None`.
    pub kind: Option<String>,
    /// A domain list whose names are never imported as whole-domain entries
    /// (see [`feeds::drop_domains`]).
    pub never_block: Option<PathBuf>,
}

/// How to fetch.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Global timeout of one request, response body included.
    pub timeout: Duration,
    /// Attempts per feed (at least one is always made).
    pub retries: u32,
    /// Wait before the second attempt; doubles after each further one
    /// (capped at a minute).
    pub backoff: Duration,
    /// Unix seconds recorded as the import time.
    pub now: i64,
    /// Largest download accepted, in bytes; a larger one fails.
    pub max_bytes: u64,
}

/// 512 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 512 << 20;

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_secs(2),
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// What became of one feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedOutcome {
    /// New data imported (entries after never-block exclusions).
    Updated {
        /// Entries now stored for the feed.
        entries: u64,
        /// Malformed lines skipped (reported, not stored).
        malformed: u64,
    },
    /// The server said nothing changed since the last fetch.
    NotModified,
    /// The feed could not be fetched (or is misconfigured); the previous
    /// data keeps serving.
    Failed {
        /// What went wrong (HTTP status, timeout, bad spec), for people.
        error: String,
    },
    /// The download looked corrupt; the previous data keeps serving.
    Refused {
        /// Why it looked corrupt (binary, no entries, mostly malformed,
        /// shrunk by more than 90%).
        reason: String,
    },
}

/// What became of one feed, and what it cost.
#[derive(Debug, Clone)]
pub struct FeedResult {
    /// The feed's source name ([`FeedSpec::name`]).
    pub name: String,
    /// Updated, not modified, failed or refused.
    pub outcome: FeedOutcome,
    /// HTTP requests made for this feed.
    pub attempts: u32,
    /// Bytes downloaded (0 unless a body was received).
    pub bytes: u64,
    /// The format the body was parsed as, when it got that far.
    pub format: Option<&'static str>,
}

/// One [`FeedResult`] per feed, in the order given.
#[derive(Debug, Clone, Default)]
pub struct UpdateReport {
    /// Each feed's result, in the order given.
    pub feeds: Vec<FeedResult>,
    /// Whether the store file was rewritten.
    pub saved: bool,
    /// Problems that did not stop the update (e.g. the feed state file could
    /// not be read or written: the next update then fetches unconditionally).
    pub warnings: Vec<String>,
}

impl UpdateReport {
    /// Did any feed fail or get refused (the CLI's exit status 1)?
    pub fn any_failed(&self) -> bool {
        self.feeds.iter().any(|f| {
            matches!(
                f.outcome,
                FeedOutcome::Failed { .. } | FeedOutcome::Refused { .. }
            )
        })
    }
}

// ---- feed state (`<store>.feeds.json`) --------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FeedState {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
    /// Unix seconds of the last import from this feed.
    #[serde(default)]
    updated_at: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    #[serde(default)]
    feeds: BTreeMap<String, FeedState>,
}

/// `<store>.feeds.json`, beside the store.
pub fn state_path(store_path: &Path) -> PathBuf {
    let mut s = store_path.as_os_str().to_os_string();
    s.push(".feeds.json");
    PathBuf::from(s)
}

fn load_state(path: &Path, warnings: &mut Vec<String>) -> StateFile {
    match std::fs::read(path) {
        Ok(data) => serde_json::from_slice(&data).unwrap_or_else(|e| {
            warnings.push(format!(
                "{}: unreadable feed state ({e}); fetching every feed in full",
                path.display()
            ));
            StateFile::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile::default(),
        Err(e) => {
            warnings.push(format!(
                "{}: {e}; fetching every feed in full",
                path.display()
            ));
            StateFile::default()
        }
    }
}

fn save_state(path: &Path, state: &StateFile) -> std::io::Result<()> {
    let data = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

// ---- fetching ----------------------------------------------------------------

fn agent(opts: &UpdateOptions) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .http_status_as_error(false)
        .user_agent(concat!("outwork/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

enum Fetched {
    Body {
        data: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    NotModified,
    Failed(String),
}

/// One attempt's failure: whether another attempt may help.
struct AttemptError {
    retry: bool,
    error: String,
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        other => other.to_string(),
    }
}

fn retryable(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Protocol(_)
    )
}

fn attempt(
    agent: &ureq::Agent,
    url: &str,
    cond: Option<&FeedState>,
    max_bytes: u64,
) -> Result<Fetched, AttemptError> {
    let fail = |e: ureq::Error| AttemptError {
        retry: retryable(&e),
        error: describe(&e),
    };
    let mut req = agent.get(url);
    if let Some(c) = cond {
        if let Some(etag) = &c.etag {
            req = req.header("If-None-Match", etag);
        }
        if let Some(lm) = &c.last_modified {
            req = req.header("If-Modified-Since", lm);
        }
    }
    let mut resp = req.call().map_err(fail)?;
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    match status {
        304 if cond.is_some() => return Ok(Fetched::NotModified),
        200..=299 => {}
        500..=599 => {
            return Err(AttemptError {
                retry: true,
                error: format!("HTTP {status}"),
            });
        }
        _ => {
            return Err(AttemptError {
                retry: false,
                error: format!("HTTP {status}"),
            });
        }
    }
    let too_big = || AttemptError {
        retry: false,
        error: format!("download larger than {max_bytes} bytes"),
    };
    // Only a plain body's length says how much we would read.
    if header("content-encoding").is_none()
        && let Some(n) = header("content-length").and_then(|n| n.trim().parse::<u64>().ok())
        && n > max_bytes
    {
        return Err(too_big());
    }
    let (etag, last_modified) = (header("etag"), header("last-modified"));
    let data = resp
        .body_mut()
        .with_config()
        .limit(max_bytes)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => too_big(),
            e => fail(e),
        })?;
    Ok(Fetched::Body {
        data,
        etag,
        last_modified,
    })
}

/// Fetch with retries; returns what came of it and the attempts made.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    cond: Option<&FeedState>,
    opts: &UpdateOptions,
) -> (Fetched, u32) {
    let attempts = opts.retries.max(1);
    let mut wait = opts.backoff;
    let mut n = 0;
    loop {
        n += 1;
        match attempt(agent, url, cond, opts.max_bytes) {
            Ok(f) => return (f, n),
            Err(e) if !e.retry || n >= attempts => {
                let error = if n > 1 {
                    format!("{} (after {n} attempts)", e.error)
                } else {
                    e.error
                };
                return (Fetched::Failed(error), n);
            }
            Err(_) => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(60));
            }
        }
    }
}

// ---- sanity checks -------------------------------------------------------------

/// Why a download should not replace the source's data, if it shouldn't.
fn sanity(parsed: &Parsed, previous: Option<u64>) -> Option<String> {
    let entries = parsed.entries.len() as u64;
    let malformed = parsed.malformed.len() as u64;
    if entries == 0 {
        return Some(format!(
            "no entries ({} lines, {malformed} malformed)",
            parsed.lines
        ));
    }
    let data_lines = entries + malformed + parsed.skipped as u64;
    if malformed * 2 > data_lines {
        return Some(format!(
            "{malformed} of {data_lines} data lines malformed (more than half)"
        ));
    }
    if let Some(prev) = previous
        && prev > 0
        && entries * 10 < prev
    {
        return Some(format!(
            "shrank from {prev} to {entries} entries (more than 90%)"
        ));
    }
    None
}

/// NUL bytes in the first 64 KiB: not a text feed (an archive, an image, a
/// compressed body the server didn't label...).
fn looks_binary(data: &[u8]) -> bool {
    data[..data.len().min(64 << 10)].contains(&0)
}

fn never_block_list(path: &Path) -> Result<HashSet<String>, String> {
    let list = std::fs::read(path).map_err(|e| format!("never_block {}: {e}", path.display()))?;
    Ok(feeds::parse(&list, Format::DomainList)
        .entries
        .into_iter()
        .filter_map(|e| match e.value {
            feeds::Value::Domain(d) => Some(d),
            _ => None,
        })
        .collect())
}

// ---- the update ------------------------------------------------------------------

/// What a feed's configuration resolves to before anything is fetched.
struct Prepared {
    kind: Kind,
    format: Option<Format>,
    never: Option<HashSet<String>>,
}

fn prepare(spec: &FeedSpec) -> Result<Prepared, String> {
    if spec.name.trim().is_empty() {
        return Err("feed without a name".into());
    }
    if spec.url.trim().is_empty() {
        return Err("feed without a url".into());
    }
    let kind = match &spec.kind {
        Some(k) => Kind::parse(k).map_err(|e| e.to_string())?,
        None => Kind::Phishing,
    };
    let format = match &spec.format {
        Some(f) => Some(Format::from_name(f).ok_or_else(|| format!("unknown format {f:?}"))?),
        None => None,
    };
    let never = spec
        .never_block
        .as_deref()
        .map(never_block_list)
        .transpose()?;
    Ok(Prepared {
        kind,
        format,
        never,
    })
}

/// Fetch every feed and import what changed into the store at `store_path`.
///
/// Errors only when the store itself can't be read or written; a feed's own
/// trouble is its [`FeedOutcome`] and leaves that source's previous data in
/// place.
pub fn update(
    store_path: &Path,
    feeds: &[FeedSpec],
    opts: &UpdateOptions,
) -> Result<UpdateReport, IntelError> {
    let mut report = UpdateReport::default();
    let mut index = Index::load(store_path)?;
    let spath = state_path(store_path);
    let mut state = load_state(&spath, &mut report.warnings);
    let agent = agent(opts);
    let mut changed = false;
    let mut seen_names = HashSet::new();

    for spec in feeds {
        let mut result = FeedResult {
            name: spec.name.clone(),
            outcome: FeedOutcome::NotModified,
            attempts: 0,
            bytes: 0,
            format: None,
        };
        let failed = |error: String| FeedOutcome::Failed { error };
        let prepared = if seen_names.insert(spec.name.clone()) {
            prepare(spec)
        } else {
            Err(format!("duplicate feed name {:?}", spec.name))
        };
        let prep = match prepared {
            Ok(p) => p,
            Err(e) => {
                result.outcome = failed(e);
                report.feeds.push(result);
                continue;
            }
        };
        let previous = index
            .sources()
            .iter()
            .find(|s| s.name == spec.name)
            .map(|s| s.entries);
        // Ask "changed since?" only if the store still holds what that
        // answer would keep serving, fetched from the same URL.
        let cond = state
            .feeds
            .get(&spec.name)
            .filter(|s| previous.is_some() && s.url == spec.url)
            .filter(|s| s.etag.is_some() || s.last_modified.is_some());
        let (fetched, attempts) = fetch(&agent, &spec.url, cond, opts);
        result.attempts = attempts;
        let (data, etag, last_modified) = match fetched {
            Fetched::NotModified => {
                result.outcome = FeedOutcome::NotModified;
                report.feeds.push(result);
                continue;
            }
            Fetched::Failed(e) => {
                result.outcome = failed(e);
                report.feeds.push(result);
                continue;
            }
            Fetched::Body {
                data,
                etag,
                last_modified,
            } => (data, etag, last_modified),
        };
        result.bytes = data.len() as u64;
        let refuse = |reason: String| FeedOutcome::Refused { reason };
        if looks_binary(&data) {
            result.outcome = refuse("binary data, not a text feed".into());
            report.feeds.push(result);
            continue;
        }
        let format = match prep
            .format
            .or_else(|| feeds::detect(&data[..data.len().min(64 << 10)]))
        {
            Some(f) => f,
            None => {
                result.outcome = refuse("can't tell the feed's format (set format)".into());
                report.feeds.push(result);
                continue;
            }
        };
        result.format = Some(format.name());
        let mut parsed = feeds::parse(&data, format);
        drop(data);
        if let Some(never) = &prep.never {
            feeds::drop_domains(&mut parsed, never);
        }
        if let Some(reason) = sanity(&parsed, previous) {
            result.outcome = refuse(reason);
            report.feeds.push(result);
            continue;
        }
        match index.import(&spec.name, prep.kind, format.name(), &parsed, opts.now) {
            Ok(stats) => {
                changed = true;
                state.feeds.insert(
                    spec.name.clone(),
                    FeedState {
                        url: spec.url.clone(),
                        etag,
                        last_modified,
                        updated_at: opts.now,
                    },
                );
                result.outcome = FeedOutcome::Updated {
                    entries: stats.added,
                    malformed: stats.malformed,
                };
            }
            Err(e) => result.outcome = failed(e.to_string()),
        }
        report.feeds.push(result);
    }

    if changed {
        // The store first: validators saved for data that never reached the
        // store would turn the next fetch into a 304 that keeps stale data.
        index.save(store_path)?;
        report.saved = true;
        if let Err(e) = save_state(&spath, &state) {
            report.warnings.push(format!(
                "{}: {e}; the next update fetches every feed in full",
                spath.display()
            ));
        }
    }
    Ok(report)
}
