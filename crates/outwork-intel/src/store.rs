//! The embedded store: one file holding every source's entries as a compact
//! sorted index of 64-bit expression hashes.
//!
//! Why our own format rather than an embedded database: lookups are the hot
//! path (every URL of every message yields up to 30 expressions), entries
//! are immutable between imports, and a sorted array of fixed-size records
//! with a bucket table answers a lookup in about two cache misses at 16 bytes
//! per entry. Imports rebuild the whole file and rename it into place, so a
//! reader never sees a half-written index; a trailing checksum makes a torn
//! or corrupted file an error, never a half-read one.
//!
//! Exactness: entries are keyed by the xxh3-64 hash of their Safe Browsing
//! expression. A lookup hashes the query's expressions the same way, so a
//! false match needs a 64-bit collision: about n / 2^64 per expression
//! (≈ 5·10⁻¹³ with 10M entries). The matching expression reported as
//! evidence is the query's own, which is what matched.

use crate::canon::{self, CanonBuf, Canonical, canonical_host};
use crate::feeds::{Parsed, Value};
use crate::filter::BlockedBloom;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: &[u8; 8] = b"OWINTEL1";

/// Why the store could not answer or change. New variants may come.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntelError {
    /// Reading or writing the store file (the path) failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The file is not an intel store (no `OWINTEL1` header).
    #[error("{0}: not an outwork intel file")]
    NotIntel(PathBuf),
    /// The checksum, a length or a record is wrong: the file is refused whole, never half-read.
    #[error("{0}: corrupt or truncated intel file ({1}); refusing to use it")]
    Corrupt(PathBuf, String),
    /// A shared store (the address shown, password hidden) could not be reached or answered an
    /// error (the second field).
    #[error("{0}: intel store unavailable: {1}")]
    Unavailable(String, String),
    /// An import would add a source past [`MAX_SOURCES`].
    #[error("too many sources (at most {MAX_SOURCES}); remove one first")]
    TooManySources,
    /// A kind name other than phishing (or phish), malware, spam, scam, c2, other.
    #[error("unknown kind {0:?} (phishing, malware, spam, scam, c2, other)")]
    UnknownKind(String),
}

/// What a source lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Credential phishing.
    Phishing,
    /// Malware distribution.
    Malware,
    /// Spam.
    Spam,
    /// Scams and fraud without a payload.
    Scam,
    /// Malware command-and-control.
    C2,
    /// Anything else.
    Other,
}

impl Kind {
    /// The kind called `s`, ASCII case ignored (`phish` is phishing too).
    pub fn parse(s: &str) -> Result<Kind, IntelError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "phishing" | "phish" => Kind::Phishing,
            "malware" => Kind::Malware,
            "spam" => Kind::Spam,
            "scam" => Kind::Scam,
            "c2" => Kind::C2,
            "other" => Kind::Other,
            _ => return Err(IntelError::UnknownKind(s.to_string())),
        })
    }

    /// The lower-case name, as `parse` takes it and hits report it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Phishing => "phishing",
            Kind::Malware => "malware",
            Kind::Spam => "spam",
            Kind::Scam => "scam",
            Kind::C2 => "c2",
            Kind::Other => "other",
        }
    }
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    /// A URL: host and path prefix (its first Safe Browsing expression).
    Url,
    /// A domain: the host and every name under it, any path.
    Domain,
    /// An IP address or range (CIDR).
    Ip,
    /// A file's SHA-256.
    Hash,
}

/// One imported source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The source's name (`--source`, or the feed's `name`).
    pub name: String,
    /// What it lists, as given at import.
    pub kind: Kind,
    /// Feed format name it was imported as.
    pub format: String,
    /// Unix seconds of the import.
    pub imported_at: i64,
    /// Entries stored at the last import.
    pub entries: u64,
    /// Malformed lines at the last import (reported, not stored).
    pub malformed: u64,
    /// Oldest and newest first-seen time the feed gave, if any.
    pub first_seen_min: Option<i64>,
    /// Newest first-seen time the feed gave (unix seconds), if any.
    pub first_seen_max: Option<i64>,
}

/// A match: which source lists what, and the expression that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// What matched: the query's own Safe Browsing expression (`evil.example/login/`), an
    /// `addr/prefix` range, or a hex SHA-256.
    pub expression: String,
    /// Name of the source that lists it.
    pub source: String,
    /// The source's kind.
    pub kind: Kind,
    /// What kind of entry matched.
    pub entry_type: EntryType,
    /// When the feed says the entry was first seen (unix seconds); `None` when it did not say.
    pub first_seen: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    key: u64,
    /// Source index (14 bits) | entry type << 14.
    group: u16,
    /// Unix seconds the feed says it was first seen; 0 = unknown.
    seen: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CidrRecord {
    addr: [u8; 16],
    v4: bool,
    prefix: u8,
    source: u16,
    seen: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HashRecord {
    sha256: [u8; 32],
    source: u16,
    seen: u32,
}

/// The whole store, in memory.
#[derive(Debug, Default)]
pub struct Index {
    sources: Vec<SourceInfo>,
    /// The records, column-wise: the lookup walks `keys` alone (8 bytes an
    /// entry, dense in cache); `groups` and `seen` are read only on a match.
    keys: Vec<u64>,
    groups: Vec<u16>,
    seen: Vec<u32>,
    /// bucket[b] = first record whose key >> shift >= b; len = 2^bits + 1.
    buckets: Vec<u32>,
    shift: u32,
    cidrs: Vec<CidrRecord>,
    hashes: Vec<HashRecord>,
    /// First stage in front of `keys`: a blocked Bloom filter of every key
    /// (1.25 B/entry, ~1% false positives, no false negatives; see
    /// `filter.rs`), an eleventh of the keys' size. Most expressions are
    /// listed nowhere; the filter answers those with one cache line instead
    /// of a bucket and a key range. Built with the records in `rebuild`, so
    /// it always describes exactly them; `None` when there are no keys
    /// (then lookups go to the index).
    filter: Option<BlockedBloom>,
}

/// Outcome of one import.
#[derive(Debug, Clone, Default)]
pub struct ImportStats {
    /// Entries stored (URLs, domains, ranges, hashes).
    pub added: u64,
    /// Entries the source had before, all replaced.
    pub replaced: u64,
    /// Malformed lines in the feed.
    pub malformed: u64,
    /// Recognised lines deliberately not turned into entries (header rows, `localhost`, unmappable
    /// ABP rules).
    pub skipped: u64,
    /// Entries whose value could not be canonicalised (counted, not stored).
    pub uncanonical: u64,
}

fn hash_expr(e: &str) -> u64 {
    xxh3_64(e.as_bytes())
}

pub(crate) fn seen_u32(t: Option<i64>) -> u32 {
    t.and_then(|t| u32::try_from(t).ok()).unwrap_or(0)
}

impl Index {
    /// Every imported source, in first-import order.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.sources
    }

    /// Entries of every source together (URLs, domains, ranges and hashes).
    pub fn len(&self) -> usize {
        self.keys.len() + self.cidrs.len() + self.hashes.len()
    }

    /// Are there no entries at all?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the lookup structures take in memory (records, buckets,
    /// filter, CIDR and hash tables; not the small source table).
    pub fn memory_bytes(&self) -> usize {
        self.keys.len() * (8 + 2 + 4)
            + self.buckets.len() * 4
            + self.filter_bytes()
            + self.cidrs.len() * std::mem::size_of::<CidrRecord>()
            + self.hashes.len() * std::mem::size_of::<HashRecord>()
    }

    /// Bytes of the first-stage filter.
    pub fn filter_bytes(&self) -> usize {
        self.filter.as_ref().map_or(0, BlockedBloom::bytes)
    }

    fn source_index(&mut self, name: &str) -> usize {
        match self.sources.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.sources.push(SourceInfo {
                    name: name.to_string(),
                    kind: Kind::Other,
                    format: String::new(),
                    imported_at: 0,
                    entries: 0,
                    malformed: 0,
                    first_seen_min: None,
                    first_seen_max: None,
                });
                self.sources.len() - 1
            }
        }
    }

    /// Replace `source`'s entries with those of a parsed feed.
    pub fn import(
        &mut self,
        source: &str,
        kind: Kind,
        format: &str,
        parsed: &Parsed,
        now: i64,
    ) -> Result<ImportStats, IntelError> {
        if self.sources.len() >= MAX_SOURCES && !self.sources.iter().any(|s| s.name == source) {
            return Err(IntelError::TooManySources);
        }
        let idx = self.source_index(source);
        let replaced = self.drop_source_entries(idx as u16);
        let mut stats = ImportStats {
            replaced,
            malformed: parsed.malformed.len() as u64,
            skipped: parsed.skipped as u64,
            ..Default::default()
        };
        let src = idx as u16;
        let mut new_records = Vec::with_capacity(parsed.entries.len());
        let (mut min_seen, mut max_seen): (Option<i64>, Option<i64>) = (None, None);
        for e in &parsed.entries {
            if let Some(t) = e.first_seen {
                min_seen = Some(min_seen.map_or(t, |m| m.min(t)));
                max_seen = Some(max_seen.map_or(t, |m| m.max(t)));
            }
            let seen = seen_u32(e.first_seen);
            match &e.value {
                Value::Url(u) => {
                    match Canonical::parse(u).and_then(|c| c.expressions().into_iter().next()) {
                        Some(expr) => new_records.push(Record {
                            key: hash_expr(&expr),
                            group: group(src, EntryType::Url),
                            seen,
                        }),
                        None => {
                            stats.uncanonical += 1;
                            continue;
                        }
                    }
                }
                Value::Domain(d) => match canonical_host(d) {
                    Some(h) => {
                        let expr = format!("{h}/");
                        new_records.push(Record {
                            key: hash_expr(&expr),
                            group: group(src, EntryType::Domain),
                            seen,
                        })
                    }
                    None => {
                        stats.uncanonical += 1;
                        continue;
                    }
                },
                Value::Cidr { addr, prefix } => {
                    let (bytes, v4) = ip_bytes(*addr);
                    let max = if v4 { 32 } else { 128 };
                    if *prefix > max {
                        stats.uncanonical += 1;
                        continue;
                    }
                    self.cidrs.push(CidrRecord {
                        addr: mask(bytes, v4, *prefix),
                        v4,
                        prefix: *prefix,
                        source: src,
                        seen,
                    });
                }
                Value::Sha256(h) => self.hashes.push(HashRecord {
                    sha256: *h,
                    source: src,
                    seen,
                }),
            }
            stats.added += 1;
        }
        let mut records = self.take_records();
        records.extend(new_records);
        self.set_records(records);
        let s = &mut self.sources[idx];
        s.kind = kind;
        s.format = format.to_string();
        s.imported_at = now;
        s.entries = stats.added;
        s.malformed = stats.malformed;
        s.first_seen_min = min_seen;
        s.first_seen_max = max_seen;
        Ok(stats)
    }

    fn drop_source_entries(&mut self, src: u16) -> u64 {
        let before = self.len();
        let mut records = self.take_records();
        records.retain(|r| r.group & SOURCE_MASK != src);
        self.set_records(records);
        self.cidrs.retain(|r| r.source != src);
        self.hashes.retain(|r| r.source != src);
        (before - self.len()) as u64
    }

    /// Remove a source and its entries. Returns the number of entries
    /// removed, or None if no such source.
    pub fn remove_source(&mut self, name: &str) -> Option<u64> {
        let idx = self.sources.iter().position(|s| s.name == name)?;
        let removed = self.drop_source_entries(idx as u16);
        self.sources.remove(idx);
        // Later sources shift down by one.
        let shift = |s: u16| if s as usize > idx { s - 1 } else { s };
        for g in &mut self.groups {
            *g = (*g & !SOURCE_MASK) | shift(*g & SOURCE_MASK);
        }
        for c in &mut self.cidrs {
            c.source = shift(c.source);
        }
        for h in &mut self.hashes {
            h.source = shift(h.source);
        }
        self.rebuild();
        Some(removed)
    }

    fn take_records(&mut self) -> Vec<Record> {
        let keys = std::mem::take(&mut self.keys);
        let groups = std::mem::take(&mut self.groups);
        let seen = std::mem::take(&mut self.seen);
        keys.into_iter()
            .zip(groups)
            .zip(seen)
            .map(|((key, group), seen)| Record { key, group, seen })
            .collect()
    }

    /// Sort, drop exact duplicates, split into columns, build the buckets.
    fn set_records(&mut self, mut records: Vec<Record>) {
        records.sort_unstable_by_key(|r| (r.key, r.group, r.seen));
        // Same expression from the same source and type: keep the earliest seen.
        records.dedup_by(|b, a| a.key == b.key && a.group == b.group);
        self.keys = records.iter().map(|r| r.key).collect();
        self.groups = records.iter().map(|r| r.group).collect();
        self.seen = records.iter().map(|r| r.seen).collect();
        self.rebuild();
    }

    /// Sort the small tables and build the bucket table over `keys`.
    fn rebuild(&mut self) {
        self.cidrs
            .sort_unstable_by_key(|c| (c.v4, c.addr, c.prefix, c.source));
        self.cidrs.dedup_by(|b, a| {
            a.v4 == b.v4 && a.addr == b.addr && a.prefix == b.prefix && a.source == b.source
        });
        self.hashes.sort_unstable_by_key(|h| (h.sha256, h.source));
        self.hashes
            .dedup_by(|b, a| a.sha256 == b.sha256 && a.source == b.source);
        // About 16 keys (two cache lines) a bucket: the table costs a
        // quarter byte per entry.
        let n = self.keys.len().max(1);
        let bits = (usize::BITS - (n / 16).max(1).leading_zeros()).clamp(1, 28);
        self.shift = 64 - bits;
        let nb = 1usize << bits;
        let mut buckets = vec![0u32; nb + 1];
        let mut i = 0usize;
        for (b, slot) in buckets.iter_mut().enumerate().take(nb) {
            while i < self.keys.len() && ((self.keys[i] >> self.shift) as usize) < b {
                i += 1;
            }
            *slot = i as u32;
        }
        buckets[nb] = self.keys.len() as u32;
        self.buckets = buckets;
        self.filter = build_filter(&self.keys);
    }

    /// Index range of the records with this key.
    fn range_for(&self, key: u64) -> std::ops::Range<usize> {
        let b = (key >> self.shift) as usize;
        let (Some(&lo), Some(&hi)) = (self.buckets.get(b), self.buckets.get(b + 1)) else {
            return 0..0;
        };
        let (lo, hi) = (lo as usize, hi as usize);
        let Some(bucket) = self.keys.get(lo..hi) else {
            return 0..0;
        };
        let start = bucket.partition_point(|k| *k < key);
        let end = start + bucket[start..].partition_point(|k| *k == key);
        lo + start..lo + end
    }

    fn hits_for(&self, expr: &str, out: &mut Vec<Hit>) {
        self.push_hits(self.range_for(hash_expr(expr)), expr, out);
    }

    fn push_hits(&self, range: std::ops::Range<usize>, expr: &str, out: &mut Vec<Hit>) {
        for i in range {
            let (Some(&g), Some(&seen)) = (self.groups.get(i), self.seen.get(i)) else {
                continue;
            };
            let Some(s) = self.sources.get((g & SOURCE_MASK) as usize) else {
                continue;
            };
            let entry_type = if g >> 14 == 1 {
                EntryType::Domain
            } else {
                EntryType::Url
            };
            out.push(Hit {
                expression: expr.to_string(),
                source: s.name.clone(),
                kind: s.kind,
                entry_type,
                first_seen: (seen != 0).then_some(seen as i64),
            });
        }
    }

    /// Is anything listed for this URL? Every Safe Browsing expression of
    /// the canonical URL is looked up, plus the host's IP ranges.
    pub fn check_url(&self, url: &str) -> Vec<Hit> {
        canon::with_scratch(|buf| self.check_url_with(url, buf))
    }

    /// [`Index::check_url`] with a caller's scratch buffer. Allocates only
    /// for a hit: expressions are hashed in place, the filter turns most of
    /// them away before the index is touched.
    pub fn check_url_with(&self, url: &str, buf: &mut CanonBuf) -> Vec<Hit> {
        let mut out = Vec::new();
        let Some(c) = buf.parse(url) else {
            return out;
        };
        if !self.keys.is_empty() {
            // Hash every expression first, then probe the filter for all of
            // them in one tight loop: the probes are independent cache
            // misses, and issued together they overlap instead of queueing
            // behind the hashing.
            let mut exprs: [&[u8]; canon::MAX_EXPRESSIONS] = [&[]; canon::MAX_EXPRESSIONS];
            let mut keys = [0u64; canon::MAX_EXPRESSIONS];
            let mut n = 0;
            c.for_each_expression(|e| {
                if let (Some(slot), Some(key)) = (exprs.get_mut(n), keys.get_mut(n)) {
                    *slot = e;
                    *key = xxh3_64(e);
                    n += 1;
                }
            });
            let keys = &keys[..n];
            let mut positive: u32 = 0;
            match &self.filter {
                Some(f) => {
                    for (i, k) in keys.iter().enumerate() {
                        positive |= u32::from(f.contains(*k)) << i;
                    }
                }
                None => positive = u32::MAX,
            }
            for (i, (&key, e)) in keys.iter().zip(exprs).enumerate() {
                if positive & (1 << i) == 0 {
                    continue;
                }
                let range = self.range_for(key);
                if !range.is_empty() {
                    self.push_hits(range, &String::from_utf8_lossy(e), &mut out);
                }
            }
        }
        if !self.cidrs.is_empty()
            && let Some(ip) = c.ip()
        {
            out.extend(self.check_ip(ip));
        }
        out
    }

    /// The lookup as it was before the allocation-free canonicaliser and
    /// the filter: the [`canon::reference`] canonicaliser, one `String` per
    /// expression, every expression probed in the index. The oracle of the
    /// differential tests and the baseline of `examples/intel_bench.rs`.
    #[doc(hidden)]
    pub fn check_url_reference(&self, url: &str) -> Vec<Hit> {
        let mut out = Vec::new();
        let Some(c) = canon::reference::Canonical::parse(url) else {
            return out;
        };
        for e in c.expressions() {
            self.hits_for(&e, &mut out);
        }
        if let Ok(ip) = c
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            out.extend(self.check_ip(ip));
        }
        out
    }

    /// Is `key` (an expression's xxh3-64) a filter positive? True without a
    /// filter. For measuring its false-positive rate.
    #[doc(hidden)]
    pub fn filter_contains(&self, key: u64) -> bool {
        self.filter.as_ref().is_none_or(|f| f.contains(key))
    }

    /// Drop the first-stage filter (benchmarks measure the index alone).
    #[doc(hidden)]
    pub fn drop_filter(&mut self) {
        self.filter = None;
    }

    /// Does the first-stage filter hold every key of the index? (It must:
    /// a missing key would be a listed URL reported clean.)
    #[doc(hidden)]
    pub fn filter_covers_index(&self) -> bool {
        match &self.filter {
            Some(f) => self.keys.iter().all(|&k| f.contains(k)),
            None => true,
        }
    }

    /// A domain (a sender's, say): itself and its parent domains.
    pub fn check_domain(&self, domain: &str) -> Vec<Hit> {
        let mut out = Vec::new();
        let Some(h) = canonical_host(domain) else {
            return out;
        };
        let Some(c) = Canonical::parse(&format!("http://{h}/")) else {
            return out;
        };
        for s in c.host_suffixes() {
            self.hits_for(&format!("{s}/"), &mut out);
        }
        out
    }

    /// The ranges listing this IP. An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.1`) is looked up as the IPv4 address it carries.
    pub fn check_ip(&self, ip: IpAddr) -> Vec<Hit> {
        let (bytes, v4) = ip_bytes(ip.to_canonical());
        self.cidrs
            .iter()
            .filter(|c| c.v4 == v4 && mask(bytes, v4, c.prefix) == c.addr)
            .filter_map(|c| {
                let s = self.sources.get(c.source as usize)?;
                Some(Hit {
                    expression: format!("{}/{}", show_ip(c.addr, v4), c.prefix),
                    source: s.name.clone(),
                    kind: s.kind,
                    entry_type: EntryType::Ip,
                    first_seen: (c.seen != 0).then_some(c.seen as i64),
                })
            })
            .collect()
    }

    /// The sources listing this SHA-256.
    pub fn check_sha256(&self, h: &[u8; 32]) -> Vec<Hit> {
        let start = self.hashes.partition_point(|r| r.sha256 < *h);
        self.hashes[start..]
            .iter()
            .take_while(|r| r.sha256 == *h)
            .filter_map(|r| {
                let s = self.sources.get(r.source as usize)?;
                Some(Hit {
                    expression: hex(h),
                    source: s.name.clone(),
                    kind: s.kind,
                    entry_type: EntryType::Hash,
                    first_seen: (r.seen != 0).then_some(r.seen as i64),
                })
            })
            .collect()
    }

    // ---- file format ---------------------------------------------------
    //
    // MAGIC | u32 version=1 | u64 sources_json_len | sources JSON
    // | u64 n_records | n × (u64 key, u16 group, u32 seen), sorted by key
    // | u64 n_cidrs | n × (16 addr, u8 v4, u8 prefix, u16 source, u32 seen)
    // | u64 n_hashes | n × (32 sha256, u16 source, u32 seen)
    // | u64 xxh3 of everything before it
    // Little-endian. The bucket table is rebuilt on load (fast, and one
    // less thing that can disagree with the records).

    /// The store file's bytes: header, source table, records, ranges, hashes, and a trailing xxh3
    /// checksum, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(
            64 + self.keys.len() * 14 + self.cidrs.len() * 24 + self.hashes.len() * 38,
        );
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&1u32.to_le_bytes());
        let json = serde_json::to_vec(&self.sources).unwrap_or_default();
        b.extend_from_slice(&(json.len() as u64).to_le_bytes());
        b.extend_from_slice(&json);
        b.extend_from_slice(&(self.keys.len() as u64).to_le_bytes());
        for ((key, group), seen) in self.keys.iter().zip(&self.groups).zip(&self.seen) {
            let r = Record {
                key: *key,
                group: *group,
                seen: *seen,
            };
            b.extend_from_slice(&r.key.to_le_bytes());
            b.extend_from_slice(&r.group.to_le_bytes());
            b.extend_from_slice(&r.seen.to_le_bytes());
        }
        b.extend_from_slice(&(self.cidrs.len() as u64).to_le_bytes());
        for c in &self.cidrs {
            b.extend_from_slice(&c.addr);
            b.push(c.v4 as u8);
            b.push(c.prefix);
            b.extend_from_slice(&c.source.to_le_bytes());
            b.extend_from_slice(&c.seen.to_le_bytes());
        }
        b.extend_from_slice(&(self.hashes.len() as u64).to_le_bytes());
        for h in &self.hashes {
            b.extend_from_slice(&h.sha256);
            b.extend_from_slice(&h.source.to_le_bytes());
            b.extend_from_slice(&h.seen.to_le_bytes());
        }
        let sum = xxh3_64(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b
    }

    /// Read a store file's bytes; `path` is only for errors. Never panics on bad input: a wrong
    /// header, checksum, length or a record naming an unknown source is an [`IntelError`].
    pub fn from_bytes(data: &[u8], path: &Path) -> Result<Index, IntelError> {
        let corrupt = |why: &str| IntelError::Corrupt(path.to_path_buf(), why.to_string());
        if data.len() < 8 || &data[..8] != MAGIC {
            return Err(IntelError::NotIntel(path.to_path_buf()));
        }
        if data.len() < 8 + 4 + 8 {
            return Err(corrupt("too short"));
        }
        let (body, tail) = data.split_at(data.len() - 8);
        let want = u64::from_le_bytes(tail.try_into().map_err(|_| corrupt("no checksum"))?);
        if xxh3_64(body) != want {
            return Err(corrupt("checksum mismatch"));
        }
        let mut r = Reader { data: body, pos: 8 };
        let version = r.u32().ok_or_else(|| corrupt("header"))?;
        if version != 1 {
            return Err(corrupt(&format!("unsupported version {version}")));
        }
        let json_len = r.len(1).ok_or_else(|| corrupt("sources"))?;
        let json = r.take(json_len).ok_or_else(|| corrupt("sources"))?;
        let sources: Vec<SourceInfo> =
            serde_json::from_slice(json).map_err(|e| corrupt(&format!("sources: {e}")))?;
        let n = r.len(14).ok_or_else(|| corrupt("records"))?;
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            let (key, group, seen) = (r.u64(), r.u16(), r.u32());
            let (Some(key), Some(group), Some(seen)) = (key, group, seen) else {
                return Err(corrupt("records"));
            };
            records.push(Record { key, group, seen });
        }
        let n = r.len(24).ok_or_else(|| corrupt("cidrs"))?;
        let mut cidrs = Vec::with_capacity(n);
        for _ in 0..n {
            let addr: [u8; 16] = r
                .take(16)
                .and_then(|a| a.try_into().ok())
                .ok_or_else(|| corrupt("cidrs"))?;
            let (v4, prefix, source, seen) = (r.u8(), r.u8(), r.u16(), r.u32());
            let (Some(v4), Some(prefix), Some(source), Some(seen)) = (v4, prefix, source, seen)
            else {
                return Err(corrupt("cidrs"));
            };
            cidrs.push(CidrRecord {
                addr,
                v4: v4 != 0,
                prefix,
                source,
                seen,
            });
        }
        let n = r.len(38).ok_or_else(|| corrupt("hashes"))?;
        let mut hashes = Vec::with_capacity(n);
        for _ in 0..n {
            let sha256: [u8; 32] = r
                .take(32)
                .and_then(|a| a.try_into().ok())
                .ok_or_else(|| corrupt("hashes"))?;
            let (Some(source), Some(seen)) = (r.u16(), r.u32()) else {
                return Err(corrupt("hashes"));
            };
            hashes.push(HashRecord {
                sha256,
                source,
                seen,
            });
        }
        if r.pos != body.len() {
            return Err(corrupt("trailing bytes"));
        }
        // A valid checksum only says the bytes are the ones written: a
        // record naming a source that is not in the table would answer
        // "not listed" for what it lists. Refuse such a file whole.
        if sources.len() > MAX_SOURCES {
            return Err(corrupt("too many sources"));
        }
        let known = |s: u16| (s as usize) < sources.len();
        if let Some(g) = records
            .iter()
            .map(|r| r.group)
            .find(|g| !known(g & SOURCE_MASK) || g >> 14 > 1)
        {
            return Err(corrupt(&format!(
                "a record names source {} (type {}) of {}",
                g & SOURCE_MASK,
                g >> 14,
                sources.len()
            )));
        }
        if let Some(c) = cidrs
            .iter()
            .find(|c| !known(c.source) || c.prefix > if c.v4 { 32 } else { 128 })
        {
            return Err(corrupt(&format!(
                "a range names source {} (prefix /{}) of {}",
                c.source,
                c.prefix,
                sources.len()
            )));
        }
        if let Some(h) = hashes.iter().find(|h| !known(h.source)) {
            return Err(corrupt(&format!(
                "a file hash names source {} of {}",
                h.source,
                sources.len()
            )));
        }
        let mut idx = Index {
            sources,
            cidrs,
            hashes,
            ..Default::default()
        };
        idx.set_records(records);
        Ok(idx)
    }

    /// Load a store; a missing file is an empty store (nothing imported yet).
    pub fn load(path: &Path) -> Result<Index, IntelError> {
        match std::fs::read(path) {
            Ok(data) => Index::from_bytes(&data, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(IntelError::Io(path.to_path_buf(), e)),
        }
    }

    /// Write atomically: a temporary file beside the target, fsync'd, then
    /// renamed over it, so readers see the old store or the new one.
    pub fn save(&self, path: &Path) -> Result<(), IntelError> {
        let io = |e| IntelError::Io(path.to_path_buf(), e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&self.to_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Make the rename itself durable.
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }
}

fn build_filter(keys: &[u64]) -> Option<BlockedBloom> {
    (!keys.is_empty()).then(|| BlockedBloom::build(keys))
}

const SOURCE_MASK: u16 = (1 << 14) - 1;

/// At most this many sources (14 bits of the record's group).
pub const MAX_SOURCES: usize = SOURCE_MASK as usize + 1;

fn group(src: u16, t: EntryType) -> u16 {
    let code: u16 = match t {
        EntryType::Url => 0,
        EntryType::Domain => 1,
        EntryType::Ip => 2,
        EntryType::Hash => 3,
    };
    (src & SOURCE_MASK) | (code << 14)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    }
    /// A count of `item`-byte records that must fit in what is left (so a
    /// corrupt count can't make us allocate without bound).
    fn len(&mut self, item: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(item)? <= self.data.len() - self.pos).then_some(n)
    }
}

pub(crate) fn ip_bytes(ip: IpAddr) -> ([u8; 16], bool) {
    match ip {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            (b, true)
        }
        IpAddr::V6(v6) => (v6.octets(), false),
    }
}

pub(crate) fn mask(mut b: [u8; 16], v4: bool, prefix: u8) -> [u8; 16] {
    let width = if v4 { 4 } else { 16 };
    for (i, byte) in b.iter_mut().enumerate() {
        let bit = (i * 8) as u32;
        if i >= width || bit >= prefix as u32 {
            *byte = 0;
        } else if bit + 8 > prefix as u32 {
            *byte &= 0xffu8 << (8 - (prefix as u32 - bit));
        }
    }
    b
}

pub(crate) fn show_ip(b: [u8; 16], v4: bool) -> String {
    if v4 {
        std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()
    } else {
        std::net::Ipv6Addr::from(b).to_string()
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Blocklist lookups, whatever holds the lists: the embedded [`Index`]
/// (never fails) or a shared store such as Redis (may be unavailable; the
/// scanner then reports INTEL_UNAVAILABLE and goes on).
pub trait Lookup: Send + Sync {
    /// Every listing of a URL (any of its expressions, or its host's IP).
    fn lookup_url(&self, url: &str) -> Result<Vec<Hit>, IntelError>;
    /// Every listing of a domain or a parent domain of it.
    fn lookup_domain(&self, domain: &str) -> Result<Vec<Hit>, IntelError>;
    /// Every listing of a file hash.
    fn lookup_sha256(&self, h: &[u8; 32]) -> Result<Vec<Hit>, IntelError>;
}

impl Lookup for Index {
    fn lookup_url(&self, url: &str) -> Result<Vec<Hit>, IntelError> {
        Ok(self.check_url(url))
    }
    fn lookup_domain(&self, domain: &str) -> Result<Vec<Hit>, IntelError> {
        Ok(self.check_domain(domain))
    }
    fn lookup_sha256(&self, h: &[u8; 32]) -> Result<Vec<Hit>, IntelError> {
        Ok(self.check_sha256(h))
    }
}

/// Where the store lives when neither `--intel` nor `intel.path` says:
/// `$XDG_DATA_HOME/outwork/intel.owi`, else `~/.local/share/outwork/intel.owi`.
pub fn default_path() -> PathBuf {
    data_file("intel.owi")
}

/// outwork's default place for a data file `name`: `$XDG_DATA_HOME/outwork/`,
/// else `~/.local/share/outwork/`, else `outwork-NAME` in the working
/// directory.
pub fn data_file(name: &str) -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("outwork").join(name);
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/outwork").join(name),
        None => PathBuf::from(format!("outwork-{name}")),
    }
}
