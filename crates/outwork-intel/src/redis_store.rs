//! The shared store: every source's entries in Redis, so a fleet of scanners
//! answers the same way from one copy of the lists.
//!
//! # Key layout (under a prefix, `outwork:` by default)
//!
//! | key                | type | content                                            |
//! |--------------------|------|----------------------------------------------------|
//! | `{p}e:{expression}`| HASH | `{source}\|url` or `{source}\|domain` → first seen  |
//! | `{p}h:{sha256 hex}`| HASH | `{source}\|hash` → first seen                       |
//! | `{p}cidr`          | HASH | `{addr}/{prefix}\|{source}` → first seen            |
//! | `{p}src:{source}`  | SET  | the source's entries: `url\|{expr}`, `domain\|{expr}`, `hash\|{hex}`, `ip\|{addr}/{prefix}` |
//! | `{p}sources`       | HASH | source → JSON of [`SourceInfo`]                     |
//! | `{p}kinds`         | HASH | source → kind (`phishing`, ...)                     |
//!
//! The expression is the Safe Browsing expression the embedded [`Index`]
//! hashes (a URL entry's first expression, `host/` for a domain entry), kept
//! in clear, so a match is exact (no hash collisions) and a key can be read
//! with `redis-cli`. "First seen" is unix seconds, `0` when the feed gave
//! none (or gave one outside `u32`, as the embedded index does). The entry
//! keys are hashes with a `{source}|{type}` field rather than sets of
//! `{source}|{type}|{seen}` members so that a re-import overwrites a changed
//! first-seen in place and a removal deletes a field it can name without
//! reading it first.
//!
//! # Lookups
//!
//! One round trip: a pipeline of `HGETALL {p}kinds` and one `HGETALL` per
//! expression (plus `{p}cidr` for an IP host; CIDR lists are small and
//! matched here). A field counts only if its source is in `{p}kinds`, which
//! is what makes a source appear and disappear at once (below). Hits are the
//! [`Hit`] values the embedded index gives for the same lists; within one
//! expression they are ordered URL before domain entries, then by source
//! name (the index orders by source import order instead).
//!
//! # Consistency of writes
//!
//! An import writes the new entries (`HSET` entry field + `SADD` to the
//! source's set) in pipelines of [`BATCH`] entries, then publishes the
//! source (its [`SourceInfo`] and kind, in one `MULTI`), then deletes the
//! old entries that are not in the new list. So, as a scanner sees it:
//!
//! * a new source appears all at once, when it is published;
//! * a re-imported source shows, while the import runs, every entry of the
//!   old list and a growing part of the new one (a superset: nothing listed
//!   in both lists is ever missing), then exactly the new list;
//! * a removed source disappears at once (its `{p}kinds` field goes first);
//!   its keys are deleted after.
//!
//! An import that dies half-way leaves entries listed in `{p}src:{source}`,
//! so the next import or `remove_source` of that source cleans them up. Two
//! imports of the *same* source at the same time are not supported (run one
//! importer per source); different sources may be imported concurrently.
//!
//! # Failures
//!
//! One connection, behind a mutex. Connecting and every read and write are
//! bounded by the timeout given to [`RedisStore::connect`]. On any error the
//! connection is dropped and the next call reconnects, so scans recover by
//! themselves when Redis comes back. A call on a reused connection that
//! finds it closed (Redis restarted) retries once on a fresh one; a timeout
//! is never retried. After a failed connect, calls fail at once for one
//! timeout's length rather than each waiting for its own connect. (Name
//! resolution of the host is not bounded by the timeout: use an address or
//! a host the resolver answers quickly.)

use crate::canon::{Canonical, canonical_host};
use crate::feeds::{Parsed, Value};
use crate::store::{
    EntryType, Hit, ImportStats, IntelError, Kind, Lookup, MAX_SOURCES, SourceInfo, hex,
};
use crate::store::{ip_bytes, mask, seen_u32, show_ip};
use redis::{Connection, RedisResult};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries written (or deleted) per pipeline.
pub(crate) const BATCH: usize = 10_000;

/// The key prefix unless [`RedisStore::with_prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "outwork:";

/// A store in Redis. Cheap to share: `Arc<RedisStore>` as `Arc<dyn Lookup>`.
pub struct RedisStore {
    client: redis::Client,
    /// The URL without its password, for error messages.
    shown: String,
    prefix: String,
    timeout: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    conn: Option<Connection>,
    /// After a failed connect: fail at once until then.
    down_until: Option<Instant>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `redis://user:secret@host/` → `redis://***@host/`.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_string(),
    }
}

/// What one entry is stored as: its member of `{p}src:{source}`, which
/// also names its key and field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Member {
    Url(String),
    Domain(String),
    Hash(String),
    Cidr(String),
}

impl Member {
    fn encode(&self) -> String {
        match self {
            Member::Url(e) => format!("url|{e}"),
            Member::Domain(e) => format!("domain|{e}"),
            Member::Hash(h) => format!("hash|{h}"),
            Member::Cidr(c) => format!("ip|{c}"),
        }
    }

    fn decode(s: &str) -> Option<Member> {
        let (t, rest) = s.split_once('|')?;
        Some(match t {
            "url" => Member::Url(rest.to_string()),
            "domain" => Member::Domain(rest.to_string()),
            "hash" => Member::Hash(rest.to_string()),
            "ip" => Member::Cidr(rest.to_string()),
            _ => return None,
        })
    }
}

fn type_from(s: &str) -> Option<EntryType> {
    Some(match s {
        "url" => EntryType::Url,
        "domain" => EntryType::Domain,
        "ip" => EntryType::Ip,
        "hash" => EntryType::Hash,
        _ => return None,
    })
}

fn seen_hit(v: &str) -> Option<i64> {
    v.parse::<u32>().ok().filter(|s| *s != 0).map(i64::from)
}

/// `addr/prefix` → (masked bytes, v4, prefix).
fn parse_cidr(s: &str) -> Option<([u8; 16], bool, u8)> {
    let (a, p) = s.split_once('/')?;
    let ip: IpAddr = a.parse().ok()?;
    let prefix: u8 = p.parse().ok()?;
    let (bytes, v4) = ip_bytes(ip);
    if prefix > if v4 { 32 } else { 128 } {
        return None;
    }
    Some((mask(bytes, v4, prefix), v4, prefix))
}

/// What a lookup asks for: the keys to read, and how to read their fields.
enum Query {
    /// An expression key; the hit's expression is the query's.
    Expr(String),
    Hash(String),
    /// The CIDR table, for this address.
    Ip(IpAddr),
}

impl RedisStore {
    /// A store at `url` (`redis://[:password@]host[:port][/db]`), without
    /// connecting yet: the first call connects. Fails only on a bad URL.
    pub fn open(url: &str, timeout: Duration) -> Result<RedisStore, IntelError> {
        let shown = redact(url);
        let client = redis::Client::open(url)
            .map_err(|e| IntelError::Unavailable(shown.clone(), format!("redis: {e}")))?;
        Ok(RedisStore {
            client,
            shown,
            prefix: DEFAULT_PREFIX.to_string(),
            timeout,
            state: Mutex::new(State::default()),
        })
    }

    /// [`RedisStore::open`], then connect and PING, so a wrong address or
    /// password shows now rather than at the first lookup.
    pub fn connect(url: &str, timeout: Duration) -> Result<RedisStore, IntelError> {
        let store = RedisStore::open(url, timeout)?;
        store.ping()?;
        Ok(store)
    }

    /// Use another key prefix (several stores in one Redis database).
    pub fn with_prefix(mut self, prefix: &str) -> RedisStore {
        self.prefix = prefix.to_string();
        self
    }

    /// The key prefix in use ([`REDIS_DEFAULT_PREFIX`](crate::REDIS_DEFAULT_PREFIX) unless
    /// [`RedisStore::with_prefix`] set another).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The deadline for connecting and for each read or write, as given to
    /// [`RedisStore::open`].
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Is Redis answering?
    pub fn ping(&self) -> Result<(), IntelError> {
        self.with_conn(|c| redis::cmd("PING").query::<String>(c).map(|_| ()))
    }

    fn err(&self, e: impl std::fmt::Display) -> IntelError {
        // No better variant in IntelError yet; see the module docs.
        IntelError::Unavailable(self.shown.clone(), format!("redis: {e}"))
    }

    fn new_conn(&self) -> RedisResult<Connection> {
        let c = self.client.get_connection_with_timeout(self.timeout)?;
        c.set_read_timeout(Some(self.timeout))?;
        c.set_write_timeout(Some(self.timeout))?;
        Ok(c)
    }

    /// Run `f` on the connection, (re)connecting as needed; see the module
    /// docs for the failure rules.
    fn with_conn<T>(&self, f: impl Fn(&mut Connection) -> RedisResult<T>) -> Result<T, IntelError> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let reused = st.conn.is_some();
            if !reused {
                if let Some(t) = st.down_until
                    && Instant::now() < t
                {
                    return Err(self.err("unavailable (connect failed just now)"));
                }
                match self.new_conn() {
                    Ok(c) => {
                        st.conn = Some(c);
                        st.down_until = None;
                    }
                    Err(e) => {
                        st.down_until = Some(Instant::now() + self.timeout);
                        return Err(self.err(e));
                    }
                }
            }
            let Some(conn) = st.conn.as_mut() else {
                return Err(self.err("no connection"));
            };
            match f(conn) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    // Whatever went wrong, the connection may be out of step
                    // with the server: never reuse it.
                    st.conn = None;
                    let stale = reused && e.is_connection_dropped() && !e.is_timeout();
                    if !(stale && attempt == 1) {
                        return Err(self.err(e));
                    }
                }
            }
        }
    }

    fn key_expr(&self, expr: &str) -> String {
        format!("{}e:{expr}", self.prefix)
    }
    fn key_hash(&self, hex: &str) -> String {
        format!("{}h:{hex}", self.prefix)
    }
    fn key_cidr(&self) -> String {
        format!("{}cidr", self.prefix)
    }
    fn key_src(&self, source: &str) -> String {
        format!("{}src:{source}", self.prefix)
    }
    fn key_sources(&self) -> String {
        format!("{}sources", self.prefix)
    }
    fn key_kinds(&self) -> String {
        format!("{}kinds", self.prefix)
    }

    /// The key and field an entry of `source` is stored under.
    fn slot(&self, source: &str, m: &Member) -> (String, String) {
        match m {
            Member::Url(e) => (self.key_expr(e), format!("{source}|url")),
            Member::Domain(e) => (self.key_expr(e), format!("{source}|domain")),
            Member::Hash(h) => (self.key_hash(h), format!("{source}|hash")),
            Member::Cidr(c) => (self.key_cidr(), format!("{c}|{source}")),
        }
    }

    /// Every member of a set, by SSCAN (so a large source never blocks
    /// Redis for long).
    fn set_members(&self, key: &str) -> Result<HashSet<String>, IntelError> {
        let mut out = HashSet::new();
        let mut cursor = "0".to_string();
        loop {
            let (next, page): (String, Vec<String>) = self.with_conn(|c| {
                redis::cmd("SSCAN")
                    .arg(key)
                    .arg(&cursor)
                    .arg("COUNT")
                    .arg(BATCH)
                    .query(c)
            })?;
            out.extend(page);
            if next == "0" {
                return Ok(out);
            }
            cursor = next;
        }
    }

    /// Delete these entries of `source` (fields, then their set members).
    fn delete_members<'a>(
        &self,
        source: &str,
        members: impl Iterator<Item = &'a String>,
    ) -> Result<(), IntelError> {
        let src_key = self.key_src(source);
        let members: Vec<&String> = members.collect();
        for chunk in members.chunks(BATCH) {
            let mut p = redis::pipe();
            for raw in chunk {
                if let Some(m) = Member::decode(raw) {
                    let (key, field) = self.slot(source, &m);
                    p.cmd("HDEL").arg(key).arg(field).ignore();
                }
                p.cmd("SREM").arg(&src_key).arg(raw.as_str()).ignore();
            }
            self.with_conn(|c| p.query::<()>(c))?;
        }
        Ok(())
    }

    /// Replace `source`'s entries with those of a parsed feed. Counts as
    /// [`Index::import`](crate::store::Index::import) does.
    pub fn import(
        &self,
        source: &str,
        kind: Kind,
        format: &str,
        parsed: &Parsed,
        now: i64,
    ) -> Result<ImportStats, IntelError> {
        let (n_sources, known): (usize, bool) = self.with_conn(|c| {
            redis::pipe()
                .cmd("HLEN")
                .arg(self.key_sources())
                .cmd("HEXISTS")
                .arg(self.key_sources())
                .arg(source)
                .query(c)
        })?;
        if n_sources >= MAX_SOURCES && !known {
            return Err(IntelError::TooManySources);
        }

        let mut stats = ImportStats {
            malformed: parsed.malformed.len() as u64,
            skipped: parsed.skipped as u64,
            ..Default::default()
        };
        // Entry → first seen; the same entry twice keeps the smallest, as
        // the index does (0, unknown, is smallest).
        let mut new: HashMap<Member, u32> = HashMap::with_capacity(parsed.entries.len());
        let (mut min_seen, mut max_seen): (Option<i64>, Option<i64>) = (None, None);
        for e in &parsed.entries {
            if let Some(t) = e.first_seen {
                min_seen = Some(min_seen.map_or(t, |m| m.min(t)));
                max_seen = Some(max_seen.map_or(t, |m| m.max(t)));
            }
            let seen = seen_u32(e.first_seen);
            let member = match &e.value {
                Value::Url(u) => {
                    match Canonical::parse(u).and_then(|c| c.expressions().into_iter().next()) {
                        Some(expr) => Member::Url(expr),
                        None => {
                            stats.uncanonical += 1;
                            continue;
                        }
                    }
                }
                Value::Domain(d) => match canonical_host(d) {
                    Some(h) => Member::Domain(format!("{h}/")),
                    None => {
                        stats.uncanonical += 1;
                        continue;
                    }
                },
                Value::Cidr { addr, prefix } => {
                    let (bytes, v4) = ip_bytes(*addr);
                    if *prefix > if v4 { 32 } else { 128 } {
                        stats.uncanonical += 1;
                        continue;
                    }
                    Member::Cidr(format!(
                        "{}/{prefix}",
                        show_ip(mask(bytes, v4, *prefix), v4)
                    ))
                }
                Value::Sha256(h) => Member::Hash(hex(h)),
            };
            new.entry(member)
                .and_modify(|s| *s = (*s).min(seen))
                .or_insert(seen);
            stats.added += 1;
        }

        let src_key = self.key_src(source);
        let old = self.set_members(&src_key)?;
        stats.replaced = old.len() as u64;

        // 1. The new entries (invisible until published if the source is new).
        let new_list: Vec<(String, String, String, u32)> = new
            .iter()
            .map(|(m, seen)| {
                let (key, field) = self.slot(source, m);
                (m.encode(), key, field, *seen)
            })
            .collect();
        for chunk in new_list.chunks(BATCH) {
            let mut p = redis::pipe();
            for (member, key, field, seen) in chunk {
                p.cmd("HSET").arg(key).arg(field).arg(*seen).ignore();
                p.cmd("SADD").arg(&src_key).arg(member).ignore();
            }
            self.with_conn(|c| p.query::<()>(c))?;
        }

        // 2. Publish.
        let info = SourceInfo {
            name: source.to_string(),
            kind,
            format: format.to_string(),
            imported_at: now,
            entries: stats.added,
            malformed: stats.malformed,
            first_seen_min: min_seen,
            first_seen_max: max_seen,
        };
        let json = serde_json::to_string(&info).map_err(|e| self.err(e))?;
        self.with_conn(|c| {
            redis::pipe()
                .atomic()
                .cmd("HSET")
                .arg(self.key_sources())
                .arg(source)
                .arg(&json)
                .ignore()
                .cmd("HSET")
                .arg(self.key_kinds())
                .arg(source)
                .arg(kind.as_str())
                .ignore()
                .query::<()>(c)
        })?;

        // 3. The old entries the new list does not have.
        let new_members: HashSet<&str> = new_list.iter().map(|(m, ..)| m.as_str()).collect();
        self.delete_members(
            source,
            old.iter().filter(|m| !new_members.contains(m.as_str())),
        )?;
        Ok(stats)
    }

    /// Remove a source and its entries. Returns the number of entries
    /// removed, or None if no such source (leftovers of an interrupted
    /// import are cleaned up either way).
    pub fn remove_source(&self, name: &str) -> Result<Option<u64>, IntelError> {
        let (info, _kind): (u64, u64) = self.with_conn(|c| {
            redis::pipe()
                .atomic()
                .cmd("HDEL")
                .arg(self.key_sources())
                .arg(name)
                .cmd("HDEL")
                .arg(self.key_kinds())
                .arg(name)
                .query(c)
        })?;
        let src_key = self.key_src(name);
        let members = self.set_members(&src_key)?;
        self.delete_members(name, members.iter())?;
        self.with_conn(|c| redis::cmd("DEL").arg(&src_key).query::<()>(c))?;
        Ok((info > 0).then_some(members.len() as u64))
    }

    /// The imported sources, by name.
    pub fn sources(&self) -> Result<Vec<SourceInfo>, IntelError> {
        let all: HashMap<String, String> =
            self.with_conn(|c| redis::cmd("HGETALL").arg(self.key_sources()).query(c))?;
        let mut out = Vec::with_capacity(all.len());
        for (name, json) in all {
            let info: SourceInfo = serde_json::from_str(&json)
                .map_err(|e| self.err(format!("source {name:?}: {e}")))?;
            out.push(info);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One round trip: the kinds, then each query's hash.
    fn run(&self, queries: &[Query]) -> Result<Vec<Hit>, IntelError> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let mut p = redis::pipe();
        p.cmd("HGETALL").arg(self.key_kinds());
        for q in queries {
            let key = match q {
                Query::Expr(e) => self.key_expr(e),
                Query::Hash(h) => self.key_hash(h),
                Query::Ip(_) => self.key_cidr(),
            };
            p.cmd("HGETALL").arg(key);
        }
        let replies: Vec<HashMap<String, String>> = self.with_conn(|c| p.query(c))?;
        let mut replies = replies.into_iter();
        let kinds: HashMap<String, Kind> = replies
            .next()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(s, k)| Some((s, Kind::parse(&k).ok()?)))
            .collect();
        let mut out = Vec::new();
        for (q, fields) in queries.iter().zip(replies) {
            let mut hits: Vec<Hit> = Vec::new();
            for (field, seen) in fields {
                let hit = match q {
                    Query::Expr(expr) | Query::Hash(expr) => {
                        let Some((source, t)) = field.rsplit_once('|') else {
                            continue;
                        };
                        let Some(entry_type) = type_from(t) else {
                            continue;
                        };
                        let Some(kind) = kinds.get(source) else {
                            continue; // not (or no longer) published
                        };
                        Hit {
                            expression: expr.clone(),
                            source: source.to_string(),
                            kind: *kind,
                            entry_type,
                            first_seen: seen_hit(&seen),
                        }
                    }
                    Query::Ip(ip) => {
                        let Some((cidr, source)) = field.split_once('|') else {
                            continue;
                        };
                        let Some((net, v4, prefix)) = parse_cidr(cidr) else {
                            continue;
                        };
                        let (bytes, ip_v4) = ip_bytes(ip.to_canonical());
                        if ip_v4 != v4 || mask(bytes, v4, prefix) != net {
                            continue;
                        }
                        let Some(kind) = kinds.get(source) else {
                            continue;
                        };
                        Hit {
                            expression: format!("{}/{prefix}", show_ip(net, v4)),
                            source: source.to_string(),
                            kind: *kind,
                            entry_type: EntryType::Ip,
                            first_seen: seen_hit(&seen),
                        }
                    }
                };
                hits.push(hit);
            }
            // The index's order: URL before domain entries; CIDRs by
            // address and prefix; then source (by name here).
            hits.sort_by_cached_key(|h| {
                let code = match h.entry_type {
                    EntryType::Url => 0u8,
                    EntryType::Domain => 1,
                    EntryType::Ip => 2,
                    EntryType::Hash => 3,
                };
                let net = parse_cidr(&h.expression).filter(|_| code == 2);
                (code, net.map(|(a, v4, p)| (v4, a, p)), h.source.clone())
            });
            out.extend(hits);
        }
        Ok(out)
    }
}

impl Lookup for RedisStore {
    /// Every Safe Browsing expression of the canonical URL, plus the host's
    /// IP ranges if the host is an address.
    fn lookup_url(&self, url: &str) -> Result<Vec<Hit>, IntelError> {
        let Some(c) = Canonical::parse(url) else {
            return Ok(Vec::new());
        };
        let mut queries: Vec<Query> = c.expressions().into_iter().map(Query::Expr).collect();
        if let Ok(ip) = c.host.parse::<IpAddr>() {
            queries.push(Query::Ip(ip));
        }
        self.run(&queries)
    }

    /// A domain: itself and its parent domains.
    fn lookup_domain(&self, domain: &str) -> Result<Vec<Hit>, IntelError> {
        let Some(h) = canonical_host(domain) else {
            return Ok(Vec::new());
        };
        let Some(c) = Canonical::parse(&format!("http://{h}/")) else {
            return Ok(Vec::new());
        };
        let queries: Vec<Query> = c
            .host_suffixes()
            .into_iter()
            .map(|s| Query::Expr(format!("{s}/")))
            .collect();
        self.run(&queries)
    }

    fn lookup_sha256(&self, h: &[u8; 32]) -> Result<Vec<Hit>, IntelError> {
        self.run(&[Query::Hash(hex(h))])
    }
}
