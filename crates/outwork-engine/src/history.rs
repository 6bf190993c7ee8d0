//! First contact: who has written to whom before. Deployment context only
//! the defender has: a lookalike of a long-known correspondent, or a
//! first-time sender using a VIP's name, is the shape of BEC and vendor
//! fraud that no text model can see.
//!
//! Only keyed hashes are stored (SHA-256 under a per-store random secret),
//! never addresses or domains, so the store reveals nothing without its
//! secret and cannot be probed with a list of addresses. Lookalikes are
//! still found: each known sender domain is also stored as the hashes of
//! its confusable skeleton and of every one-character deletion of it, so
//! a new domain one edit (or one homoglyph) away meets a stored hash of a
//! different domain.
//!
//! Two stores: an embedded file (default; loaded whole, saved atomically)
//! and Redis (shared by a fleet), with the same keys.

use outwork_core::HistoryFacts;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

const MAGIC: &[u8; 8] = b"OWHIST1\n";
const ENTRY: usize = 16 + 8 + 8 + 4 + 8;
/// Domains shorter than this get no deletion variants (too many
/// unrelated short names are one edit apart).
const MIN_VARIANT_LEN: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Entry {
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: u32,
    /// For skeleton/variant keys: the exact domain's key (low 64 bits).
    pub tag: u64,
}

type Key = u128;

/// Why the history store could not be opened, read, changed or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The store file (or its directory, or its temporary file) could not
    /// be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a history store, or is damaged; it is left as it is.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The Redis store at `url` could not be reached.
    #[error("history redis {url}: {source}")]
    RedisConnect {
        /// The `redis://` URL from `[history] redis`.
        url: String,
        /// Why.
        source: redis::RedisError,
    },
    /// A Redis command failed (the connection is dropped and made again
    /// on the next use).
    #[error("history redis: {source}")]
    Redis {
        /// Why.
        #[from]
        source: redis::RedisError,
    },
    /// The secret stored in Redis is not 64 hex digits.
    #[error("history redis: malformed secret")]
    MalformedSecret,
    /// A thread panicked while holding the store's lock.
    #[error("history store lock poisoned")]
    Poisoned,
    /// The operation does not apply to this kind of store.
    #[error("{0}")]
    Unsupported(&'static str),
}

impl<T> From<std::sync::PoisonError<T>> for HistoryError {
    fn from(_: std::sync::PoisonError<T>) -> HistoryError {
        HistoryError::Poisoned
    }
}

/// Where entries live. One per process: the size difference is moot.
#[allow(clippy::large_enum_variant)]
enum Backend {
    File {
        path: PathBuf,
        map: RwLock<HashMap<Key, Entry>>,
        dirty: Mutex<bool>,
    },
    Redis {
        client: redis::Client,
        conn: Mutex<Option<redis::Connection>>,
        prefix: String,
        timeout: std::time::Duration,
    },
}

/// The first-contact store (`[history]`): who has written to whom
/// before, as keyed hashes (no addresses kept), in a local file or Redis.
pub struct History {
    secret: [u8; 32],
    backend: Backend,
    /// An address that has written this many times (`[history]
    /// known_after`)…
    pub known_after: u32,
    /// …the first of them at least this many days ago (`known_days`) is a
    /// known correspondent.
    pub known_days: u32,
    /// A recipient domain needs this many known sender domains before
    /// "first contact" means anything (a fresh store knows nobody).
    pub min_known: u32,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("History")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    DomainPair,
    AddressPair,
    Skeleton,
    Variant,
    /// Per recipient domain: how many sender domains it knows.
    Recipient,
}

impl Kind {
    fn tag(self) -> &'static [u8] {
        match self {
            Kind::DomainPair => b"d",
            Kind::AddressPair => b"a",
            Kind::Skeleton => b"s",
            Kind::Variant => b"v",
            Kind::Recipient => b"r",
        }
    }
}

fn random_secret() -> [u8; 32] {
    let mut s = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom")
        && f.read_exact(&mut s).is_ok()
    {
        return s;
    }
    // No /dev/urandom: still unpredictable enough to stop casual probing.
    let seed = format!(
        "{:?}{:?}{}",
        std::time::SystemTime::now(),
        std::thread::current().id(),
        std::process::id()
    );
    Sha256::digest(seed.as_bytes()).into()
}

/// Deletion variants of `s` (each one character shorter), `s` excluded.
fn deletions(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < MIN_VARIANT_LEN {
        return Vec::new();
    }
    (0..chars.len())
        .map(|i| {
            chars
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| c)
                .collect()
        })
        .collect()
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl History {
    /// Open the store `[history]` names (Redis, else the file) with its knobs.
    pub fn open(hc: &outwork_core::HistoryConfig) -> Result<History, HistoryError> {
        let mut h = match &hc.redis {
            Some(url) => History::open_redis(
                url,
                std::time::Duration::from_millis(hc.redis_timeout_ms.max(1)),
            )?,
            None => History::open_file(&crate::history_path(hc.path.as_deref()))?,
        };
        h.known_after = hc.known_after;
        h.known_days = hc.known_days;
        h.min_known = hc.min_known;
        Ok(h)
    }

    fn key(&self, kind: Kind, a: &str, b: &str) -> Key {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(kind.tag());
        h.update([0]);
        h.update(a.as_bytes());
        h.update([0]);
        h.update(b.as_bytes());
        let d = h.finalize();
        let mut k = [0u8; 16];
        k.copy_from_slice(&d[..16]);
        u128::from_le_bytes(k)
    }

    /// Open (or create, empty) the embedded store at `path`.
    pub fn open_file(path: &Path) -> Result<History, HistoryError> {
        let (secret, map) = match std::fs::read(path) {
            Ok(bytes) => decode(&bytes).map_err(|reason| HistoryError::Corrupt {
                path: path.to_path_buf(),
                reason,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (random_secret(), HashMap::new()),
            Err(source) => {
                return Err(HistoryError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(History {
            secret,
            backend: Backend::File {
                path: path.to_path_buf(),
                map: RwLock::new(map),
                dirty: Mutex::new(true),
            },
            known_after: 3,
            known_days: 7,
            min_known: 20,
        })
    }

    /// Use a shared Redis store (`redis://…`); the secret lives there too,
    /// so every scanner of the fleet computes the same keys.
    pub fn open_redis(url: &str, timeout: std::time::Duration) -> Result<History, HistoryError> {
        let open_err = |source| HistoryError::RedisConnect {
            url: url.to_string(),
            source,
        };
        let client = redis::Client::open(url).map_err(open_err)?;
        let prefix = "outwork:hist:".to_string();
        let mut conn = connect(&client, timeout).map_err(open_err)?;
        let fresh = hex(&random_secret());
        let set: bool = redis::cmd("SETNX")
            .arg(format!("{prefix}secret"))
            .arg(&fresh)
            .query(&mut conn)?;
        let stored: String = if set {
            fresh
        } else {
            redis::cmd("GET")
                .arg(format!("{prefix}secret"))
                .query(&mut conn)?
        };
        let secret = unhex32(&stored).ok_or(HistoryError::MalformedSecret)?;
        Ok(History {
            secret,
            backend: Backend::Redis {
                client,
                conn: Mutex::new(Some(conn)),
                prefix,
                timeout,
            },
            known_after: 3,
            known_days: 7,
            min_known: 20,
        })
    }

    fn get(&self, k: Key) -> Result<Option<Entry>, HistoryError> {
        match &self.backend {
            Backend::File { map, .. } => Ok(map.read()?.get(&k).copied()),
            Backend::Redis { .. } => {
                let v: Option<String> =
                    self.redis(|c, p| redis::cmd("GET").arg(format!("{p}{k:032x}")).query(c))?;
                Ok(v.and_then(|s| parse_entry(&s)))
            }
        }
    }

    fn update(&self, k: Key, t: i64, tag: u64) -> Result<bool, HistoryError> {
        match &self.backend {
            Backend::File { map, dirty, .. } => {
                let mut m = map.write()?;
                let new = !m.contains_key(&k);
                let e = m.entry(k).or_insert(Entry {
                    first_seen: t,
                    last_seen: t,
                    count: 0,
                    tag,
                });
                e.last_seen = e.last_seen.max(t);
                e.first_seen = e.first_seen.min(t);
                e.count = e.count.saturating_add(1);
                if let Ok(mut d) = dirty.lock() {
                    *d = true;
                }
                Ok(new)
            }
            Backend::Redis { .. } => {
                let old = self.get(k)?;
                let e = match old {
                    Some(mut e) => {
                        e.last_seen = e.last_seen.max(t);
                        e.first_seen = e.first_seen.min(t);
                        e.count = e.count.saturating_add(1);
                        e
                    }
                    None => Entry {
                        first_seen: t,
                        last_seen: t,
                        count: 1,
                        tag,
                    },
                };
                let v = format!("{},{},{},{}", e.first_seen, e.last_seen, e.count, e.tag);
                self.redis(|c, p| {
                    redis::cmd("SET")
                        .arg(format!("{p}{k:032x}"))
                        .arg(&v)
                        .query::<()>(c)
                })?;
                Ok(old.is_none())
            }
        }
    }

    fn redis<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection, &str) -> redis::RedisResult<T>,
    ) -> Result<T, HistoryError> {
        let Backend::Redis {
            client,
            conn,
            prefix,
            timeout,
        } = &self.backend
        else {
            return Err(HistoryError::Unsupported("not a redis store"));
        };
        let mut g = conn.lock()?;
        let c = match &mut *g {
            Some(c) => c,
            slot @ None => slot.insert(connect(client, *timeout)?),
        };
        match f(c, prefix) {
            Ok(v) => Ok(v),
            Err(e) => {
                *g = None; // reconnect next time
                Err(HistoryError::Redis { source: e })
            }
        }
    }

    /// What history says about this sender for these recipient domains.
    pub fn check(
        &self,
        from_address: &str,
        from_domain: &str,
        rcpt_domains: &[String],
        now: i64,
    ) -> Result<HistoryFacts, HistoryError> {
        let mut f = HistoryFacts {
            recipient_domains: rcpt_domains.to_vec(),
            ..Default::default()
        };
        let tag = self.key(Kind::DomainPair, from_domain, "") as u64;
        for r in rcpt_domains {
            let warm = self
                .get(self.key(Kind::Recipient, r, ""))?
                .is_some_and(|e| e.count >= self.min_known);
            let domain = self.get(self.key(Kind::DomainPair, from_domain, r))?;
            let address = self.get(self.key(Kind::AddressPair, from_address, r))?;
            if let Some(a) = address {
                let days = (now - a.first_seen) / 86_400;
                if a.count >= self.known_after && days >= i64::from(self.known_days) {
                    f.known_address = Some((a.count, a.first_seen));
                }
            }
            if domain.is_some() {
                f.domain_known = true;
                continue;
            }
            if !warm {
                continue;
            }
            f.first_contact_domain = true;
            if address.is_none() {
                f.first_contact_address = true;
            }
            // A new domain whose skeleton or one-edit neighbourhood meets a
            // domain this recipient already knows.
            let skel = outwork_core::skeleton(from_domain);
            if let Some(e) = self.get(self.key(Kind::Skeleton, &skel, r))?
                && e.tag != tag
            {
                f.lookalike_of_known = Some((r.clone(), e.count, e.first_seen));
                continue;
            }
            let mut probes = deletions(from_domain);
            probes.push(from_domain.to_string());
            for v in probes {
                if let Some(e) = self.get(self.key(Kind::Variant, &v, r))?
                    && e.tag != tag
                {
                    f.lookalike_of_known = Some((r.clone(), e.count, e.first_seen));
                    break;
                }
            }
        }
        Ok(f)
    }

    /// Remember that this sender wrote to these recipient domains.
    pub fn record(
        &self,
        from_address: &str,
        from_domain: &str,
        rcpt_domains: &[String],
        t: i64,
    ) -> Result<(), HistoryError> {
        let tag = self.key(Kind::DomainPair, from_domain, "") as u64;
        for r in rcpt_domains {
            let new_domain = self.update(self.key(Kind::DomainPair, from_domain, r), t, tag)?;
            self.update(self.key(Kind::AddressPair, from_address, r), t, tag)?;
            if new_domain {
                self.update(self.key(Kind::Recipient, r, ""), t, 0)?;
                let skel = outwork_core::skeleton(from_domain);
                self.update(self.key(Kind::Skeleton, &skel, r), t, tag)?;
                self.update(self.key(Kind::Variant, from_domain, r), t, tag)?;
                for v in deletions(from_domain) {
                    self.update(self.key(Kind::Variant, &v, r), t, tag)?;
                }
            }
        }
        Ok(())
    }

    /// Save the embedded store (atomically: temp file, fsync, rename).
    /// Redis stores need no saving.
    pub fn save(&self) -> Result<(), HistoryError> {
        let Backend::File { path, map, dirty } = &self.backend else {
            return Ok(());
        };
        let mut d = dirty.lock()?;
        if !*d {
            return Ok(());
        }
        let bytes = {
            let m = map.read()?;
            encode(&self.secret, &m)
        };
        let io = |p: &Path| {
            let path = p.to_path_buf();
            move |source| HistoryError::Io { path, source }
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes)
            .and_then(|_| f.sync_all())
            .map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))?;
        *d = false;
        Ok(())
    }

    /// Entries, and the oldest/newest last-seen times (file store only).
    pub fn stats(&self) -> Option<(usize, i64, i64)> {
        let Backend::File { map, .. } = &self.backend else {
            return None;
        };
        let m = map.read().ok()?;
        let oldest = m.values().map(|e| e.last_seen).min().unwrap_or(0);
        let newest = m.values().map(|e| e.last_seen).max().unwrap_or(0);
        Some((m.len(), oldest, newest))
    }

    /// Drop entries last seen before `cutoff` (file store; Redis keys are
    /// left to the server's own eviction policy). Returns how many went.
    pub fn prune(&self, cutoff: i64) -> Result<usize, HistoryError> {
        let Backend::File { map, dirty, .. } = &self.backend else {
            return Err(HistoryError::Unsupported(
                "prune works on the embedded store; for Redis set an eviction policy",
            ));
        };
        let mut m = map.write()?;
        let before = m.len();
        m.retain(|_, e| e.last_seen >= cutoff);
        let gone = before - m.len();
        if gone > 0
            && let Ok(mut d) = dirty.lock()
        {
            *d = true;
        }
        Ok(gone)
    }
}

/// A Redis connection whose every step is bounded by `timeout`.
fn connect(
    client: &redis::Client,
    timeout: std::time::Duration,
) -> Result<redis::Connection, redis::RedisError> {
    let c = client.get_connection_with_timeout(timeout)?;
    let _ = c.set_read_timeout(Some(timeout));
    let _ = c.set_write_timeout(Some(timeout));
    Ok(c)
}

fn encode(secret: &[u8; 32], map: &HashMap<Key, Entry>) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 32 + 8 + map.len() * ENTRY + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(secret);
    out.extend_from_slice(&(map.len() as u64).to_le_bytes());
    let mut keys: Vec<&Key> = map.keys().collect();
    keys.sort();
    for k in keys {
        let e = &map[k];
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&e.first_seen.to_le_bytes());
        out.extend_from_slice(&e.last_seen.to_le_bytes());
        out.extend_from_slice(&e.count.to_le_bytes());
        out.extend_from_slice(&e.tag.to_le_bytes());
    }
    let sum: [u8; 32] = Sha256::digest(&out).into();
    out.extend_from_slice(&sum);
    out
}

/// The store's secret and entries, or what is wrong with the file (the
/// caller adds its path).
fn decode(bytes: &[u8]) -> Result<([u8; 32], HashMap<Key, Entry>), &'static str> {
    if bytes.len() < 8 + 32 + 8 + 32 || &bytes[..8] != MAGIC {
        return Err("not an outwork history store");
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    let want: [u8; 32] = Sha256::digest(body).into();
    if sum != want {
        return Err("checksum mismatch (truncated or corrupted); not overwritten");
    }
    let mut secret = [0u8; 32];
    secret.copy_from_slice(&body[8..40]);
    let n = u64::from_le_bytes(body[40..48].try_into().map_err(|_| "header")?) as usize;
    let rest = &body[48..];
    if rest.len() != n.saturating_mul(ENTRY) {
        return Err("entry count does not match the file size");
    }
    let mut map = HashMap::with_capacity(n);
    for c in rest.chunks_exact(ENTRY) {
        let k = u128::from_le_bytes(c[..16].try_into().map_err(|_| "entry")?);
        let e = Entry {
            first_seen: i64::from_le_bytes(c[16..24].try_into().map_err(|_| "entry")?),
            last_seen: i64::from_le_bytes(c[24..32].try_into().map_err(|_| "entry")?),
            count: u32::from_le_bytes(c[32..36].try_into().map_err(|_| "entry")?),
            tag: u64::from_le_bytes(c[36..44].try_into().map_err(|_| "entry")?),
        };
        map.insert(k, e);
    }
    Ok((secret, map))
}

fn parse_entry(s: &str) -> Option<Entry> {
    let mut it = s.split(',');
    Some(Entry {
        first_seen: it.next()?.parse().ok()?,
        last_seen: it.next()?.parse().ok()?,
        count: it.next()?.parse().ok()?,
        tag: it.next()?.parse().ok()?,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> (History, PathBuf) {
        let p =
            std::env::temp_dir().join(format!("outwork-hist-{name}-{}.owh", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let mut h = History::open_file(&p).expect("open");
        h.min_known = 2;
        (h, p)
    }

    const DAY: i64 = 86_400;

    #[test]
    fn known_first_contact_and_lookalikes() {
        let (h, p) = store("basic");
        let r = vec!["northwind.example".to_string()];
        let t0 = 1_780_000_000;
        for i in 0..4 {
            h.record(
                "billing@contoso-supplies.com",
                "contoso-supplies.com",
                &r,
                t0 + i * DAY,
            )
            .expect("record");
        }
        h.record("news@fabrikam.com", "fabrikam.com", &r, t0)
            .expect("record");
        let now = t0 + 30 * DAY;

        let f = h
            .check(
                "billing@contoso-supplies.com",
                "contoso-supplies.com",
                &r,
                now,
            )
            .expect("check");
        assert!(f.domain_known && !f.first_contact_domain);
        assert_eq!(f.known_address, Some((4, t0)));

        // One letter changed: a lookalike of the known supplier.
        let f = h
            .check(
                "billing@contoso-suppliez.com",
                "contoso-suppliez.com",
                &r,
                now,
            )
            .expect("check");
        assert!(f.first_contact_domain && f.first_contact_address);
        assert_eq!(
            f.lookalike_of_known,
            Some(("northwind.example".to_string(), 1, t0))
        );
        // One letter dropped, one added.
        for d in ["contoso-supples.com", "contosso-supplies.com"] {
            let f = h.check(&format!("x@{d}"), d, &r, now).expect("check");
            assert!(f.lookalike_of_known.is_some(), "{d}");
        }
        // A homoglyph (Cyrillic о) meets the skeleton.
        let f = h
            .check("x@cоntoso-supplies.com", "cоntoso-supplies.com", &r, now)
            .expect("check");
        assert!(f.lookalike_of_known.is_some());
        // Unrelated new domain: first contact, no lookalike.
        let f = h
            .check("hello@tailspin-toys.com", "tailspin-toys.com", &r, now)
            .expect("check");
        assert!(f.first_contact_domain && f.lookalike_of_known.is_none());
        // A new address at a known domain is not a first-contact domain.
        let f = h
            .check("ceo@contoso-supplies.com", "contoso-supplies.com", &r, now)
            .expect("check");
        assert!(f.domain_known && f.known_address.is_none());

        // Saved and reopened: same answers (same secret, same keys), and
        // no address or domain in the file.
        h.save().expect("save");
        let bytes = std::fs::read(&p).expect("read");
        assert!(memchr::memmem::find(&bytes, b"contoso").is_none());
        let h2 = History::open_file(&p).expect("reopen");
        let f = h2
            .check(
                "billing@contoso-supplies.com",
                "contoso-supplies.com",
                &r,
                now,
            )
            .expect("check");
        assert_eq!(f.known_address, Some((4, t0)));

        // Corruption is refused, never silently replaced.
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 1;
        std::fs::write(&p, &bad).expect("write");
        assert!(
            History::open_file(&p)
                .expect_err("corrupt")
                .to_string()
                .contains("checksum")
        );
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn cold_store_says_nothing_and_prune_forgets() {
        let (mut h, p) = store("cold");
        h.min_known = 5;
        let r = vec!["northwind.example".to_string()];
        h.record("a@one-vendor.com", "one-vendor.com", &r, 1000)
            .expect("record");
        let f = h
            .check("x@one-vendor.co", "one-vendor.co", &r, 2000)
            .expect("check");
        assert!(!f.first_contact_domain && f.lookalike_of_known.is_none());
        let gone = h.prune(1500).expect("prune");
        assert!(gone > 0);
        assert_eq!(h.stats().map(|s| s.0), Some(0));
        let _ = std::fs::remove_file(&p);
    }
}
