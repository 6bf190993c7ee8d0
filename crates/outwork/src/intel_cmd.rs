//! `outwork intel ...` and `outwork url check`: thin fronts over outwork-intel.

use anyhow::{Context as _, Result, bail};
use outwork_intel::Format;
use outwork_intel::{Hit, Index, Kind, Lookup};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `--intel` beats the config's `intel.path`, which beats the default.
/// The bool says whether the path was asked for explicitly.
pub fn resolve_path(flag: Option<&PathBuf>, config: Option<&str>) -> (PathBuf, bool) {
    match (flag, config) {
        (Some(p), _) => (p.clone(), true),
        (None, Some(c)) => (PathBuf::from(c), true),
        (None, None) => (outwork_intel::default_path(), false),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A feed file read for import: parsed in its (given or detected) format,
/// with `--never-block` names dropped and malformed lines reported.
struct ReadFeed {
    parsed: outwork_intel::Parsed,
    format: Format,
    excluded: usize,
}

fn read_feed(file: &Path, format: Option<&str>, never: Option<&Path>) -> Result<ReadFeed> {
    let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let format = match format {
        Some(f) => Format::from_name(f).with_context(|| {
            format!("unknown --format {f:?} (urls, phishtank-csv, phishtank-json, urlhaus-csv, hosts, domains, abp, cidr, sha256, openphish-history)")
        })?,
        None => outwork_intel::detect_feed_format(&data[..data.len().min(64 << 10)])
            .with_context(|| format!("can't tell the format of {}; say it with --format", file.display()))?,
    };
    let mut parsed = outwork_intel::parse_feed(&data, format);
    let mut excluded = 0;
    if let Some(never) = never {
        let list = std::fs::read(never).with_context(|| format!("reading {}", never.display()))?;
        let names: std::collections::HashSet<String> =
            outwork_intel::parse_feed(&list, Format::DomainList)
                .entries
                .into_iter()
                .filter_map(|e| match e.value {
                    outwork_intel::Value::Domain(d) => Some(d),
                    _ => None,
                })
                .collect();
        excluded = outwork_intel::drop_domains(&mut parsed, &names);
    }
    for m in parsed.malformed.iter().take(20) {
        eprintln!(
            "{}:{}: malformed ({}): {}",
            file.display(),
            m.line,
            m.reason,
            m.text
        );
    }
    if parsed.malformed.len() > 20 {
        eprintln!("… and {} more malformed lines", parsed.malformed.len() - 20);
    }
    Ok(ReadFeed {
        parsed,
        format,
        excluded,
    })
}

pub fn import(
    path: &Path,
    file: &Path,
    format: Option<&str>,
    source: &str,
    kind: &str,
    never: Option<&Path>,
) -> Result<u8> {
    let kind = Kind::parse(kind)?;
    let start = std::time::Instant::now();
    let ReadFeed {
        parsed,
        format,
        excluded,
    } = read_feed(file, format, never)?;
    let mut index = Index::load(path)?;
    let stats = index.import(source, kind, format.name(), &parsed, now())?;
    index.save(path)?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    println!(
        "{}: imported {} entries from {} ({}) as source {source:?} ({}) in {secs:.2}s ({:.0}/s); replaced {}, malformed {}, skipped {}, not canonicalisable {}, excluded as platforms {excluded}; the store now holds {} entries",
        path.display(),
        stats.added,
        file.display(),
        format.name(),
        kind.as_str(),
        stats.added as f64 / secs,
        stats.replaced,
        stats.malformed,
        stats.skipped,
        stats.uncanonical,
        index.len()
    );
    Ok(0)
}

/// `outwork intel init`: an empty store where there is none; an existing
/// one must load (a corrupt store is an error, not replaced).
pub fn init(path: &Path) -> Result<u8> {
    if path.exists() {
        let index = Index::load(path)?;
        println!(
            "{}: exists ({} entries), left as it is",
            path.display(),
            index.len()
        );
        return Ok(0);
    }
    Index::default().save(path)?;
    println!("{}: created an empty store", path.display());
    Ok(0)
}

pub fn stats(path: &Path, json: bool) -> Result<u8> {
    let index = Index::load(path)?;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if json {
        let v = serde_json::json!({
            "path": path.display().to_string(),
            "bytes_on_disk": size,
            "bytes_in_memory": index.memory_bytes(),
            "entries": index.len(),
            "sources": index.sources(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    println!(
        "{}: {} entries, {:.1} MB on disk, {:.1} MB in memory",
        path.display(),
        index.len(),
        size as f64 / 1e6,
        index.memory_bytes() as f64 / 1e6
    );
    let now = now();
    for s in index.sources() {
        let age = (now - s.imported_at).max(0);
        println!(
            "  {:<24} {:<9} {:>9} entries  format {:<18} imported {} ago{}",
            s.name,
            s.kind.as_str(),
            s.entries,
            s.format,
            human_age(age),
            s.first_seen_max
                .map(|t| format!(
                    ", newest entry first seen {} ago",
                    human_age((now - t).max(0))
                ))
                .unwrap_or_default()
        );
    }
    Ok(0)
}

fn human_age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

pub fn remove(path: &Path, source: &str) -> Result<u8> {
    let mut index = Index::load(path)?;
    match index.remove_source(source) {
        Some(n) => {
            index.save(path)?;
            println!(
                "{}: removed source {source:?} ({n} entries)",
                path.display()
            );
            Ok(0)
        }
        None => bail!("{}: no source named {source:?}", path.display()),
    }
}

fn hit_text(h: &Hit) -> String {
    let entry = format!("{:?}", h.entry_type).to_lowercase();
    format!(
        "{} ({}, {entry} entry, matched {})",
        h.source,
        h.kind.as_str(),
        h.expression
    )
}

/// `outwork url check`: exit 1 when any URL is listed, 0 when none is.
pub fn url_check(
    path: &Path,
    redis: Option<outwork_intel::RedisStore>,
    urls: Vec<String>,
    jsonl: bool,
) -> Result<u8> {
    let index: Box<dyn Lookup> = match redis {
        Some(r) => Box::new(r),
        None => {
            if !path.exists() {
                bail!(
                    "no intel store at {} (import feeds with `outwork intel import`, or pass --intel)",
                    path.display()
                );
            }
            Box::new(Index::load(path)?)
        }
    };
    let urls: Vec<String> = if urls.is_empty() {
        if std::io::stdin().is_terminal() {
            bail!("give URLs as arguments or one a line on stdin");
        }
        std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    } else {
        urls
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut any = false;
    for u in &urls {
        let hits = index.lookup_url(u)?;
        any |= !hits.is_empty();
        let written = (|| -> std::io::Result<()> {
            if jsonl {
                serde_json::to_writer(
                    &mut out,
                    &serde_json::json!({"url": u, "listed": !hits.is_empty(), "hits": hits}),
                )?;
                writeln!(out)
            } else if hits.is_empty() {
                writeln!(out, "{u}: not listed")
            } else {
                writeln!(out, "{u}: LISTED")?;
                for h in &hits {
                    writeln!(out, "  {}", hit_text(h))?;
                }
                Ok(())
            }
        })();
        crate::to_stdout(written)?;
    }
    crate::to_stdout(out.flush())?;
    Ok(if any { 1 } else { 0 })
}

/// The store a scan uses, or why a configured one can't be used.
pub type OpenedIntel = (Option<Arc<dyn Lookup>>, Option<String>);

/// Open the store for scanning. A missing default store means no intel; a
/// missing explicit one is an error; a corrupt one is refused and the scan
/// goes on without it (INTEL_UNAVAILABLE).
pub fn open_for_scan(path: &Path, explicit: bool) -> Result<OpenedIntel> {
    if !path.exists() {
        if explicit {
            bail!(
                "no intel store at {} (import feeds with `outwork intel import`)",
                path.display()
            );
        }
        return Ok((None, None));
    }
    match Index::load(path) {
        Ok(i) if i.is_empty() => Ok((None, None)),
        Ok(i) => Ok((Some(Arc::new(i)), None)),
        Err(e) => {
            eprintln!("outwork: warning: {e}; scanning without blocklists");
            Ok((None, Some(e.to_string())))
        }
    }
}

/// `outwork intel update`: fetch every `[[intel.feeds]]` entry. Exit 0 when
/// every feed was updated or unchanged, 1 when some failed or were refused
/// (their previous data keeps serving), 2 on error.
pub fn update(path: &Path, cfg: &outwork_core::IntelConfig) -> Result<u8> {
    use outwork_intel::{FeedOutcome, FeedSpec, UpdateOptions};
    if cfg.feeds.is_empty() {
        bail!(
            "no feeds configured: add [[intel.feeds]] entries (name, url, format, kind) to the config"
        );
    }
    let feeds: Vec<FeedSpec> = cfg
        .feeds
        .iter()
        .map(|f| FeedSpec {
            name: f.name.clone(),
            url: f.url.clone(),
            format: f.format.clone(),
            kind: f.kind.clone(),
            never_block: f.never_block.as_ref().map(PathBuf::from),
        })
        .collect();
    let opts = UpdateOptions {
        timeout: std::time::Duration::from_secs(cfg.timeout_secs.max(1)),
        retries: cfg.retries,
        now: now(),
        ..Default::default()
    };
    let report = outwork_intel::update(path, &feeds, &opts)?;
    for w in &report.warnings {
        eprintln!("outwork: warning: {w}");
    }
    for f in &report.feeds {
        let what = match &f.outcome {
            FeedOutcome::Updated { entries, malformed } => {
                format!("updated: {entries} entries, {malformed} malformed lines")
            }
            FeedOutcome::NotModified => "not modified".to_string(),
            FeedOutcome::Failed { error } => format!("FAILED, previous data kept: {error}"),
            FeedOutcome::Refused { reason } => format!("REFUSED, previous data kept: {reason}"),
        };
        println!(
            "{:<24} {what} ({} request(s), {} bytes)",
            f.name, f.attempts, f.bytes
        );
    }
    println!(
        "{}: {}",
        path.display(),
        if report.saved { "saved" } else { "unchanged" }
    );
    Ok(if report.any_failed() { 1 } else { 0 })
}

/// The shared Redis store, when the config names one and no `--intel` file
/// was asked for.
pub fn redis_target(
    flag: Option<&PathBuf>,
    cfg: &outwork_core::IntelConfig,
) -> Result<Option<outwork_intel::RedisStore>> {
    match (&cfg.redis, flag) {
        (Some(url), None) => {
            let timeout = std::time::Duration::from_millis(cfg.redis_timeout_ms.max(1));
            Ok(Some(outwork_intel::RedisStore::open(url, timeout)?))
        }
        _ => Ok(None),
    }
}

pub fn import_redis(
    r: &outwork_intel::RedisStore,
    file: &Path,
    format: Option<&str>,
    source: &str,
    kind: &str,
    never: Option<&Path>,
) -> Result<u8> {
    let kind = Kind::parse(kind)?;
    let ReadFeed { parsed, format, .. } = read_feed(file, format, never)?;
    let stats = r.import(source, kind, format.name(), &parsed, now())?;
    println!(
        "redis: imported {} entries from {} ({}) as source {source:?}; replaced {}, malformed {}",
        stats.added,
        file.display(),
        format.name(),
        stats.replaced,
        stats.malformed
    );
    Ok(0)
}

pub fn stats_redis(r: &outwork_intel::RedisStore) -> Result<u8> {
    for s in r.sources()? {
        println!(
            "  {:<24} {:<9} {:>9} entries  format {}",
            s.name,
            s.kind.as_str(),
            s.entries,
            s.format
        );
    }
    Ok(0)
}

pub fn remove_redis(r: &outwork_intel::RedisStore, source: &str) -> Result<u8> {
    match r.remove_source(source)? {
        Some(n) => {
            println!("redis: removed source {source:?} ({n} entries)");
            Ok(0)
        }
        None => bail!("redis: no source named {source:?}"),
    }
}
