//! Archives: zip (incl. ZipCrypto with candidate passwords), gzip, tar are
//! extracted and every member is hashed and re-dispatched through
//! [`crate::inspect_member`]; rar, 7z and ISO 9660 images are listed only.
//!
//! Bounds (all from [`Limits`] / the shared [`Budget`]):
//! * every extracted member is charged to `budget.bytes_left` and
//!   `budget.entries_left`; nothing is read past either;
//! * declared sizes are never trusted: a member is read with a hard cap of
//!   its declared size (zip, tar) or `compressed × max_ratio` (gzip), and a
//!   stream that yields more is reported as `Finding::Limit`;
//! * zip entries whose declared ratio exceeds `max_ratio` are not inflated
//!   at all (entries declaring ≤ 1 MiB are exempt from the ratio test: a
//!   small run of zeros compresses far better than 200:1 and is harmless;
//!   they are still capped at their declared size);
//! * buffers grow to at most the cap actually in force (no doubling past it);
//! * at most 20 candidate passwords of at most 64 characters are tried.
//!
//! Office Open XML: every zip is treated as an archive (its parts become
//! `Member`s and are re-dispatched). When a zip has `[Content_Types].xml` at
//! its root, the whole package is additionally handed once to
//! [`crate::content::inspect_content`], which owns OOXML detection (macros,
//! remote templates).
//!
//! Nesting: a member that is itself an archive yields
//! `Finding::NestedArchive { depth: depth + 1 }`; the depth limit itself is
//! enforced by `inspect_member`. A `.tar.gz` is one archive: its tar is
//! walked at the gzip's depth, with no `NestedArchive`.
//!
//! Malformed input yields `Finding::Malformed` and keeps what was found
//! before the error; a zip whose central directory cannot be read is
//! re-walked through its local headers (recovers truncated archives).

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use crate::{Budget, Finding, Limits};

const MAX_PASSWORDS: usize = 20;
const MAX_PASSWORD_CHARS: usize = 64;
/// Entries declaring at most this many bytes skip the ratio test.
const RATIO_FLOOR: u64 = 1 << 20;
/// Per-archive cap on `Malformed` findings for individual entries.
const MAX_MALFORMED: usize = 3;
/// ISO: directories walked / volume descriptors scanned, per image.
const ISO_MAX_DIRS: usize = 1_000;
const ISO_MAX_DIR_DEPTH: usize = 8;
const ISO_MAX_DESCRIPTORS: usize = 32;
const ISO_MAX_RECORDS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Zip,
    Gzip,
    Tar,
    Rar,
    SevenZ,
    Iso,
}

fn detect(data: &[u8]) -> Option<Kind> {
    if data.starts_with(b"PK\x03\x04")
        || data.starts_with(b"PK\x05\x06")
        || data.starts_with(b"PK\x07\x08")
    {
        Some(Kind::Zip)
    } else if data.starts_with(&[0x1f, 0x8b]) {
        Some(Kind::Gzip)
    } else if data.starts_with(b"Rar!\x1a\x07") {
        Some(Kind::Rar)
    } else if data.starts_with(&[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) {
        Some(Kind::SevenZ)
    } else if is_tar(data) {
        Some(Kind::Tar)
    } else if [0x8001usize, 0x8801, 0x9001]
        .iter()
        .any(|&o| data.get(o..o + 5) == Some(b"CD001"))
    {
        Some(Kind::Iso)
    } else {
        None
    }
}

fn is_tar(data: &[u8]) -> bool {
    data.get(257..262) == Some(b"ustar")
}

/// Whether `data` is an archive this module handles (by magic bytes only).
pub fn is_archive(data: &[u8]) -> bool {
    detect(data).is_some()
}

/// Inspect one archive at nesting `depth`, pushing findings to `out` and
/// charging everything extracted to `budget`.
pub fn inspect_archive(
    path: &str,
    data: &[u8],
    outer: &crate::Env,
    depth: usize,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let limits = outer.limits;
    let env = Env {
        passwords: outer.passwords,
        limits,
        depth,
        outer,
    };
    match detect(data) {
        Some(Kind::Zip) => zip_archive(path, data, &env, budget, out),
        Some(Kind::Gzip) => gzip_archive(path, data, &env, budget, out),
        Some(Kind::Tar) => tar_archive(path, data, &env, budget, out),
        Some(Kind::Rar) => rar_listing(path, data, budget, out),
        Some(Kind::SevenZ) => sevenz_listing(path, data, out),
        Some(Kind::Iso) => iso_listing(path, data, limits, budget, out),
        None => {}
    }
}

struct Env<'a> {
    passwords: &'a [String],
    limits: &'a Limits,
    depth: usize,
    outer: &'a crate::Env<'a>,
}

// ---------------------------------------------------------------- common

enum ReadErr {
    /// The stream yielded more than the cap; bytes consumed.
    TooLong(u64),
    /// I/O / decompression / checksum error; the bytes read before it.
    Io(io::Error, Vec<u8>),
}

/// Read `r` to its end, failing once it yields more than `limit` bytes.
/// The buffer never grows beyond `limit` bytes.
fn read_bounded<R: Read>(r: &mut R, limit: u64) -> Result<Vec<u8>, ReadErr> {
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut buf: Vec<u8> = Vec::with_capacity(limit_usize.min(64 * 1024));
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadErr::Io(e, buf)),
        };
        if buf.len() as u64 + n as u64 > limit {
            return Err(ReadErr::TooLong(buf.len() as u64 + n as u64));
        }
        if buf.capacity() - buf.len() < n {
            let want = buf
                .len()
                .saturating_mul(2)
                .max(buf.len() + n)
                .min(limit_usize);
            buf.reserve_exact(want - buf.len());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Push `Member` (and `NestedArchive` when it is one) for an extracted
/// member, then re-dispatch it one level deeper.
fn emit_member(child: &str, bytes: &[u8], env: &Env, budget: &mut Budget, out: &mut Vec<Finding>) {
    out.push(Finding::Member {
        path: child.to_string(),
        size: bytes.len() as u64,
        sha256: sha256(bytes),
    });
    if is_archive(bytes) {
        out.push(Finding::NestedArchive {
            path: child.to_string(),
            depth: env.depth + 1,
        });
    }
    crate::inspect_member(child, bytes, env.outer, env.depth + 1, budget, out);
}

fn entries_limit(path: &str, limits: &Limits) -> Finding {
    Finding::Limit {
        path: path.to_string(),
        what: format!("more than {} entries", limits.max_entries),
    }
}

fn bytes_limit(path: &str, limits: &Limits) -> Finding {
    Finding::Limit {
        path: path.to_string(),
        what: format!("more than {} bytes extracted", limits.max_total_bytes),
    }
}

/// Per-archive bookkeeping shared by the zip walkers.
#[derive(Default)]
struct ArchiveState {
    opened_with: Option<String>,
    reported_open: bool,
    reported_unopened: bool,
    encrypted_unread: Vec<String>,
    not_extracted: Vec<String>,
    malformed: usize,
    bytes_limit_reported: bool,
}

impl ArchiveState {
    /// An encrypted entry no password opened: report the archive as
    /// encrypted once, and list the entry by name.
    fn unopened(&mut self, path: &str, name: String, out: &mut Vec<Finding>) {
        if !self.reported_unopened {
            out.push(Finding::EncryptedArchive {
                path: path.to_string(),
                password: None,
            });
            self.reported_unopened = true;
        }
        self.encrypted_unread.push(name);
    }

    fn malformed(&mut self, path: &str, what: String, out: &mut Vec<Finding>) {
        if self.malformed < MAX_MALFORMED {
            out.push(Finding::Malformed {
                path: path.to_string(),
                what,
            });
        }
        self.malformed += 1;
    }

    /// A member too big for what is left of the byte budget: not read.
    fn over_budget(&mut self, path: &str, name: String, limits: &Limits, out: &mut Vec<Finding>) {
        if !self.bytes_limit_reported {
            out.push(bytes_limit(path, limits));
            self.bytes_limit_reported = true;
        }
        self.not_extracted.push(name);
    }

    fn finish(self, path: &str, format: &str, out: &mut Vec<Finding>) {
        if !self.encrypted_unread.is_empty() {
            out.push(Finding::Listed {
                path: path.to_string(),
                format: format!("{format} (encrypted)"),
                members: self.encrypted_unread,
            });
        }
        if !self.not_extracted.is_empty() {
            out.push(Finding::Listed {
                path: path.to_string(),
                format: format!("{format} (not extracted)"),
                members: self.not_extracted,
            });
        }
    }
}

/// Handle the outcome of reading a member with a cap of its declared size.
fn finish_declared_read(
    result: Result<Vec<u8>, ReadErr>,
    child: &str,
    declared: u64,
    env: &Env,
    st: &mut ArchiveState,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    match result {
        Ok(bytes) => {
            budget.bytes_left = budget.bytes_left.saturating_sub(bytes.len() as u64);
            emit_member(child, &bytes, env, budget, out);
        }
        Err(ReadErr::TooLong(n)) => {
            budget.bytes_left = budget.bytes_left.saturating_sub(n);
            out.push(Finding::Limit {
                path: child.to_string(),
                what: format!("entry expands beyond its declared {declared} bytes (zip bomb?)"),
            });
        }
        Err(ReadErr::Io(e, partial)) => {
            budget.bytes_left = budget.bytes_left.saturating_sub(partial.len() as u64);
            st.malformed(child, format!("cannot extract: {e}"), out);
        }
    }
}

fn ratio_exceeded(declared: u64, compressed: u64, limits: &Limits) -> bool {
    declared > RATIO_FLOOR && declared > compressed.saturating_mul(limits.max_ratio)
}

fn ratio_limit(child: &str, declared: u64, compressed: u64, limits: &Limits) -> Finding {
    Finding::Limit {
        path: child.to_string(),
        what: format!(
            "zip bomb: {declared} bytes declared from {compressed} compressed (ratio over {})",
            limits.max_ratio
        ),
    }
}

fn candidate_passwords<'p>(passwords: &'p [String], first: Option<&'p str>) -> Vec<&'p str> {
    let mut v: Vec<&str> = Vec::new();
    if let Some(p) = first {
        v.push(p);
    }
    for p in passwords
        .iter()
        .filter(|p| p.chars().count() <= MAX_PASSWORD_CHARS)
        .take(MAX_PASSWORDS)
    {
        if !v.contains(&p.as_str()) {
            v.push(p);
        }
    }
    v
}

// ---------------------------------------------------------------- zip

fn zip_archive(path: &str, data: &[u8], env: &Env, budget: &mut Budget, out: &mut Vec<Finding>) {
    let mut za = match zip::ZipArchive::new(io::Cursor::new(data)) {
        Ok(za) => za,
        Err(e) => {
            out.push(Finding::Malformed {
                path: path.to_string(),
                what: format!("zip: {e}"),
            });
            zip_stream_fallback(path, data, env, budget, out);
            return;
        }
    };
    let mut st = ArchiveState::default();
    zip_entries(path, &mut za, env, &mut st, budget, out);
    st.finish(path, "zip", out);
    if za.index_for_name("[Content_Types].xml").is_some() {
        crate::content::inspect_content(path, data, out);
    }
}

fn zip_entries(
    path: &str,
    za: &mut zip::ZipArchive<io::Cursor<&[u8]>>,
    env: &Env,
    st: &mut ArchiveState,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let limits = env.limits;
    for i in 0..za.len() {
        if !budget.msg.time_left(path, out) {
            return;
        }
        // Metadata from the central directory + local header, nothing inflated.
        let meta = za.by_index_raw(i).map(|f| {
            (
                f.name().to_string(),
                f.is_dir(),
                f.encrypted(),
                f.size(),
                f.compressed_size(),
            )
        });
        let (name, is_dir, encrypted, declared, compressed) = match meta {
            Ok(m) => m,
            Err(e) => {
                let name = za.name_for_index(i).unwrap_or("?").to_string();
                st.malformed(&format!("{path}!{name}"), format!("zip entry: {e}"), out);
                if budget.entries_left == 0 {
                    out.push(entries_limit(path, limits));
                    return;
                }
                budget.entries_left -= 1;
                continue;
            }
        };
        if is_dir {
            continue;
        }
        if budget.entries_left == 0 {
            out.push(entries_limit(path, limits));
            return;
        }
        budget.entries_left -= 1;
        let child = format!("{path}!{name}");
        if ratio_exceeded(declared, compressed, limits) {
            out.push(ratio_limit(&child, declared, compressed, limits));
            continue;
        }
        if declared > budget.bytes_left {
            st.over_budget(path, name, limits, out);
            continue;
        }
        if encrypted {
            zip_encrypted_entry(path, za, i, name, &child, declared, env, st, budget, out);
            continue;
        }
        let result = match za.by_index(i) {
            Ok(mut f) => read_bounded(&mut f, declared),
            Err(zip::result::ZipError::UnsupportedArchive(_)) => {
                st.not_extracted.push(name);
                continue;
            }
            Err(e) => {
                st.malformed(&child, format!("zip entry: {e}"), out);
                continue;
            }
        };
        finish_declared_read(result, &child, declared, env, st, budget, out);
    }
}

#[allow(clippy::too_many_arguments)]
fn zip_encrypted_entry(
    path: &str,
    za: &mut zip::ZipArchive<io::Cursor<&[u8]>>,
    i: usize,
    name: String,
    child: &str,
    declared: u64,
    env: &Env,
    st: &mut ArchiveState,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let first = st.opened_with.clone();
    let mut opened: Option<(String, Result<Vec<u8>, ReadErr>)> = None;
    for p in candidate_passwords(env.passwords, first.as_deref()) {
        let result = match za.by_index_decrypt(i, p.as_bytes()) {
            Ok(mut f) => read_bounded(&mut f, declared),
            Err(zip::result::ZipError::InvalidPassword) => continue,
            // AES without the aes-crypto feature, unsupported method, broken entry.
            Err(_) => break,
        };
        match result {
            // ZipCrypto's check byte lets 1 wrong password in 256 through;
            // a wrong one then fails inflating or the CRC check.
            Err(ReadErr::Io(..)) => continue,
            r => {
                opened = Some((p.to_string(), r));
                break;
            }
        }
    }
    match opened {
        Some((p, result)) => {
            if !st.reported_open {
                out.push(Finding::EncryptedArchive {
                    path: path.to_string(),
                    password: Some(p.clone()),
                });
                st.reported_open = true;
            }
            st.opened_with = Some(p);
            finish_declared_read(result, child, declared, env, st, budget, out);
        }
        None => st.unopened(path, name, out),
    }
}

/// The central directory is unreadable (truncated, corrupted on purpose):
/// walk local file headers from the start instead. Stops at the first
/// entry it cannot delimit (data descriptors, garbage).
fn zip_stream_fallback(
    path: &str,
    data: &[u8],
    env: &Env,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let limits = env.limits;
    let mut st = ArchiveState::default();
    // A spanned/split marker may precede the first local header.
    let mut rdr: &[u8] = data.strip_prefix(b"PK\x07\x08").unwrap_or(data);
    loop {
        let mut f = match zip::read::read_zipfile_from_stream(&mut rdr) {
            Ok(Some(f)) => f,
            _ => break,
        };
        if f.is_dir() {
            continue;
        }
        if budget.entries_left == 0 {
            out.push(entries_limit(path, limits));
            break;
        }
        budget.entries_left -= 1;
        let name = f.name().to_string();
        let child = format!("{path}!{name}");
        let (declared, compressed) = (f.size(), f.compressed_size());
        if f.encrypted() {
            // No password support on this path: list it.
            st.unopened(path, name, out);
            continue;
        }
        if ratio_exceeded(declared, compressed, limits) {
            out.push(ratio_limit(&child, declared, compressed, limits));
            continue;
        }
        if declared > budget.bytes_left {
            st.over_budget(path, name, limits, out);
            continue;
        }
        let result = read_bounded(&mut f, declared);
        let failed = matches!(result, Err(ReadErr::Io(..)));
        drop(f);
        finish_declared_read(result, &child, declared, env, &mut st, budget, out);
        if failed {
            break;
        }
    }
    st.finish(path, "zip", out);
}

// ---------------------------------------------------------------- gzip

fn gzip_archive(path: &str, data: &[u8], env: &Env, budget: &mut Budget, out: &mut Vec<Finding>) {
    let limits = env.limits;
    if budget.entries_left == 0 {
        out.push(entries_limit(path, limits));
        return;
    }
    budget.entries_left -= 1;
    let ratio_cap = (data.len() as u64)
        .saturating_mul(limits.max_ratio)
        .max(RATIO_FLOOR);
    let budget_binding = budget.bytes_left <= ratio_cap;
    let cap = ratio_cap.min(budget.bytes_left);
    let mut dec = flate2::bufread::GzDecoder::new(data);
    let result = read_bounded(&mut dec, cap);
    let child = format!(
        "{path}!{}",
        gz_member_name(path, dec.header().and_then(|h| h.filename()))
    );
    match result {
        Ok(bytes) => {
            budget.bytes_left = budget.bytes_left.saturating_sub(bytes.len() as u64);
            if is_tar(&bytes) {
                // tar.gz is one archive: walk the tar at this depth.
                out.push(Finding::Member {
                    path: child.clone(),
                    size: bytes.len() as u64,
                    sha256: sha256(&bytes),
                });
                tar_archive(&child, &bytes, env, budget, out);
            } else {
                emit_member(&child, &bytes, env, budget, out);
            }
        }
        Err(ReadErr::TooLong(n)) => {
            budget.bytes_left = budget.bytes_left.saturating_sub(n);
            out.push(if budget_binding {
                bytes_limit(&child, limits)
            } else {
                Finding::Limit {
                    path: child,
                    what: format!("gzip bomb: expands more than {}x", limits.max_ratio),
                }
            });
        }
        Err(ReadErr::Io(e, partial)) => {
            budget.bytes_left = budget.bytes_left.saturating_sub(partial.len() as u64);
            out.push(Finding::Malformed {
                path: path.to_string(),
                what: format!("gzip: {e}"),
            });
            // Keep what a truncated .tar.gz still shows.
            if is_tar(&partial) {
                tar_archive(&child, &partial, env, budget, out);
            }
        }
    }
}

/// The gzip header's file name (base name only), else the outer name minus
/// ".gz" (".tgz" → ".tar").
fn gz_member_name(path: &str, header_name: Option<&[u8]>) -> String {
    if let Some(raw) = header_name {
        let s = String::from_utf8_lossy(raw);
        let base = s.rsplit(['/', '\\']).next().unwrap_or("").trim();
        if !base.is_empty() {
            return base.chars().take(255).collect();
        }
    }
    let base = path.rsplit(['!', '/', '\\']).next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    let stripped = if lower.ends_with(".tgz") {
        format!("{}.tar", &base[..base.len() - 4])
    } else if lower.ends_with(".gz") {
        base[..base.len() - 3].to_string()
    } else if lower.ends_with(".gzip") {
        base[..base.len() - 5].to_string()
    } else {
        base.to_string()
    };
    if stripped.is_empty() {
        "data".to_string()
    } else {
        stripped
    }
}

// ---------------------------------------------------------------- tar

fn tar_archive(path: &str, data: &[u8], env: &Env, budget: &mut Budget, out: &mut Vec<Finding>) {
    let limits = env.limits;
    let mut st = ArchiveState::default();
    let mut ar = tar::Archive::new(data);
    let entries = match ar.entries() {
        Ok(e) => e,
        Err(e) => {
            out.push(Finding::Malformed {
                path: path.to_string(),
                what: format!("tar: {e}"),
            });
            return;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.push(Finding::Malformed {
                    path: path.to_string(),
                    what: format!("tar: {e}"),
                });
                break;
            }
        };
        let et = entry.header().entry_type();
        if !(et.is_file() || et.is_contiguous() || et.is_gnu_sparse()) {
            continue;
        }
        if budget.entries_left == 0 {
            out.push(entries_limit(path, limits));
            break;
        }
        budget.entries_left -= 1;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let child = format!("{path}!{name}");
        let declared = entry.size();
        if declared > budget.bytes_left {
            st.over_budget(path, name, limits, out);
            continue;
        }
        match read_bounded(&mut entry, declared) {
            Ok(bytes) if (bytes.len() as u64) < declared => {
                budget.bytes_left = budget.bytes_left.saturating_sub(bytes.len() as u64);
                out.push(Finding::Malformed {
                    path: child,
                    what: format!(
                        "tar: truncated member ({} of {declared} bytes)",
                        bytes.len()
                    ),
                });
                break;
            }
            result => finish_declared_read(result, &child, declared, env, &mut st, budget, out),
        }
    }
    st.finish(path, "tar", out);
}

// ---------------------------------------------------------------- listings

fn u16le(d: &[u8], o: usize) -> Option<u16> {
    d.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32le(d: &[u8], o: usize) -> Option<u32> {
    d.get(o..o + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Charge one listed name to the entries budget; false when exhausted.
fn take_entry(budget: &mut Budget) -> bool {
    if budget.entries_left == 0 {
        false
    } else {
        budget.entries_left -= 1;
        true
    }
}

fn rar_listing(path: &str, data: &[u8], budget: &mut Budget, out: &mut Vec<Finding>) {
    let mut names = Vec::new();
    let mut encrypted = false;
    let mut limited = false;
    let err = if data.starts_with(b"Rar!\x1a\x07\x01\x00") {
        rar5_names(data, &mut names, &mut encrypted, &mut limited, budget)
    } else if data.starts_with(b"Rar!\x1a\x07\x00") {
        rar4_names(data, &mut names, &mut encrypted, &mut limited, budget)
    } else {
        Some("unknown rar version".to_string())
    };
    if encrypted {
        out.push(Finding::EncryptedArchive {
            path: path.to_string(),
            password: None,
        });
    }
    out.push(Finding::Listed {
        path: path.to_string(),
        format: "rar".to_string(),
        members: names,
    });
    if limited {
        out.push(Finding::Limit {
            path: path.to_string(),
            what: "entries budget exhausted while listing".to_string(),
        });
    }
    if let Some(what) = err {
        out.push(Finding::Malformed {
            path: path.to_string(),
            what: format!("rar: {what}"),
        });
    }
}

/// RAR 1.5–4.x block walk. Returns an error description on malformed input.
fn rar4_names(
    d: &[u8],
    names: &mut Vec<String>,
    encrypted: &mut bool,
    limited: &mut bool,
    budget: &mut Budget,
) -> Option<String> {
    let mut pos: u64 = 7;
    let len = d.len() as u64;
    while pos < len {
        let p = pos as usize;
        let (Some(flags), Some(head_size)) = (u16le(d, p + 3), u16le(d, p + 5)) else {
            return Some("truncated block header".to_string());
        };
        let head_type = d[p + 2];
        let head_size = head_size as u64;
        if head_size < 7 {
            return Some("bad block size".to_string());
        }
        let mut next = pos + head_size;
        match head_type {
            0x73 => {
                // Main header: MHD_PASSWORD means the headers (names) are encrypted.
                if flags & 0x0080 != 0 {
                    *encrypted = true;
                    return None;
                }
            }
            0x74 => {
                let (Some(pack), Some(name_size)) = (u32le(d, p + 7), u16le(d, p + 26)) else {
                    return Some("truncated file header".to_string());
                };
                let mut pack = pack as u64;
                let mut name_at = p + 32;
                if flags & 0x0100 != 0 {
                    let Some(high) = u32le(d, p + 32) else {
                        return Some("truncated file header".to_string());
                    };
                    pack |= (high as u64) << 32;
                    name_at += 8;
                }
                if flags & 0x0004 != 0 {
                    *encrypted = true;
                }
                let Some(raw) = d.get(name_at..name_at + name_size as usize) else {
                    return Some("truncated file name".to_string());
                };
                // Unicode names are "ascii\0encoded": keep the ascii part.
                let raw = raw.split(|&b| b == 0).next().unwrap_or(raw);
                if flags & 0x00e0 != 0x00e0 {
                    if !take_entry(budget) {
                        *limited = true;
                        return None;
                    }
                    names.push(String::from_utf8_lossy(raw).into_owned());
                }
                next = next.saturating_add(pack);
            }
            0x7b => return None, // end of archive
            _ => {
                if flags & 0x8000 != 0 {
                    let Some(add) = u32le(d, p + 7) else {
                        return Some("truncated block".to_string());
                    };
                    next = next.saturating_add(add as u64);
                }
            }
        }
        pos = next;
    }
    None
}

/// RAR 5 variable-length integer.
fn vint(d: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..70).step_by(7) {
        let b = *d.get(*pos)?;
        *pos += 1;
        if shift < 64 {
            v |= ((b & 0x7f) as u64) << shift;
        }
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn rar5_names(
    d: &[u8],
    names: &mut Vec<String>,
    encrypted: &mut bool,
    limited: &mut bool,
    budget: &mut Budget,
) -> Option<String> {
    let mut pos: usize = 8;
    while pos < d.len() {
        // CRC32, header size, then the header proper.
        let mut p = pos + 4;
        let Some(head_size) = vint(d, &mut p) else {
            return Some("truncated header".to_string());
        };
        let head_start = p;
        let Some(head_end) = usize::try_from(head_size)
            .ok()
            .and_then(|s| head_start.checked_add(s))
        else {
            return Some("bad header size".to_string());
        };
        if head_size == 0 || head_end > d.len() {
            return Some("truncated header".to_string());
        }
        let h = &d[..head_end];
        let (Some(head_type), Some(head_flags)) = (vint(h, &mut p), vint(h, &mut p)) else {
            return Some("bad header".to_string());
        };
        let extra_size = if head_flags & 1 != 0 {
            vint(h, &mut p)
        } else {
            Some(0)
        };
        let data_size = if head_flags & 2 != 0 {
            vint(h, &mut p)
        } else {
            Some(0)
        };
        let (Some(extra_size), Some(data_size)) = (extra_size, data_size) else {
            return Some("bad header".to_string());
        };
        match head_type {
            4 => {
                // Archive encryption header: everything after it is encrypted.
                *encrypted = true;
                return None;
            }
            2 => {
                let file = (|| {
                    let file_flags = vint(h, &mut p)?;
                    let _unpacked = vint(h, &mut p)?;
                    let _attrs = vint(h, &mut p)?;
                    if file_flags & 2 != 0 {
                        p += 4;
                    }
                    if file_flags & 4 != 0 {
                        p += 4;
                    }
                    let _comp = vint(h, &mut p)?;
                    let _os = vint(h, &mut p)?;
                    let name_len = usize::try_from(vint(h, &mut p)?).ok()?;
                    let name = h.get(p..p.checked_add(name_len)?)?;
                    Some((
                        file_flags & 1 != 0,
                        String::from_utf8_lossy(name).into_owned(),
                    ))
                })();
                let Some((is_dir, name)) = file else {
                    return Some("bad file header".to_string());
                };
                // Extra area records: type 1 is file encryption.
                if let Some(extra_start) = usize::try_from(extra_size)
                    .ok()
                    .and_then(|s| head_end.checked_sub(s))
                {
                    let mut q = extra_start.max(head_start);
                    while q < head_end {
                        let Some(rec_size) = vint(h, &mut q) else {
                            break;
                        };
                        let rec_start = q;
                        if vint(h, &mut q) == Some(1) {
                            *encrypted = true;
                        }
                        match usize::try_from(rec_size)
                            .ok()
                            .and_then(|s| rec_start.checked_add(s))
                        {
                            Some(n) if n > rec_start => q = n,
                            _ => break,
                        }
                    }
                }
                if !is_dir {
                    if !take_entry(budget) {
                        *limited = true;
                        return None;
                    }
                    names.push(name);
                }
            }
            5 => return None, // end of archive
            _ => {}
        }
        let Some(next) = usize::try_from(data_size)
            .ok()
            .and_then(|s| head_end.checked_add(s))
        else {
            return Some("bad data size".to_string());
        };
        pos = next;
    }
    None
}

/// 7z keeps names in a (usually LZMA-compressed) end header: not parsed.
/// An AES coder id (06 F1 07 01) in that header marks an encrypted archive.
fn sevenz_listing(path: &str, data: &[u8], out: &mut Vec<Finding>) {
    let next = (|| {
        let off = u64::from_le_bytes(data.get(12..20)?.try_into().ok()?);
        let size = u64::from_le_bytes(data.get(20..28)?.try_into().ok()?);
        let start = usize::try_from(off.checked_add(32)?).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        data.get(start..end)
    })();
    match next {
        Some(header) => {
            if memchr::memmem::find(header, &[0x06, 0xf1, 0x07, 0x01]).is_some() {
                out.push(Finding::EncryptedArchive {
                    path: path.to_string(),
                    password: None,
                });
            }
        }
        None => out.push(Finding::Malformed {
            path: path.to_string(),
            what: "7z: end header out of bounds".to_string(),
        }),
    }
    out.push(Finding::Listed {
        path: path.to_string(),
        format: "7z".to_string(),
        members: Vec::new(),
    });
    // 7z headers are not read (no permissive, bounded reader): say that
    // its members went unseen rather than stay silent.
    out.push(Finding::Limit {
        path: path.to_string(),
        what: "7z members are not listed or extracted: contents not inspected".to_string(),
    });
}

/// ISO 9660: names from the directory tree (Joliet when present), bounded.
fn iso_listing(
    path: &str,
    data: &[u8],
    limits: &Limits,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    // Find the primary and (Joliet) supplementary volume descriptors.
    let mut primary = None;
    let mut joliet = None;
    for i in 0..ISO_MAX_DESCRIPTORS {
        let o = 0x8000 + i * 2048;
        let Some(vd) = data.get(o..o + 2048) else {
            break;
        };
        if &vd[1..6] != b"CD001" {
            break;
        }
        match vd[0] {
            1 if primary.is_none() => primary = Some(vd),
            2 if joliet.is_none()
                && vd[88] == b'%'
                && vd[89] == b'/'
                && matches!(vd[90], b'@' | b'C' | b'E') =>
            {
                joliet = Some(vd)
            }
            255 => break,
            _ => {}
        }
    }
    let (vd, is_joliet) = match (joliet, primary) {
        (Some(vd), _) => (vd, true),
        (None, Some(vd)) => (vd, false),
        (None, None) => {
            out.push(Finding::Malformed {
                path: path.to_string(),
                what: "iso: no readable volume descriptor".to_string(),
            });
            out.push(Finding::Listed {
                path: path.to_string(),
                format: "iso".to_string(),
                members: Vec::new(),
            });
            return;
        }
    };
    let block = match u16le(vd, 128) {
        Some(b) if b.is_power_of_two() && (512..=2048).contains(&b) => b as u64,
        _ => 2048,
    };
    let root = &vd[156..190];
    let mut names = Vec::new();
    let mut malformed = None;
    let mut limited = false;
    let mut visited = std::collections::HashSet::new();
    let mut scanned = 0usize;
    let mut queue = std::collections::VecDeque::new();
    queue.push_back((
        u32le(root, 2).unwrap_or(0) as u64,
        u32le(root, 10).unwrap_or(0) as u64,
        String::new(),
        0usize,
    ));
    'dirs: while let Some((lba, size, prefix, level)) = queue.pop_front() {
        if !visited.insert(lba) {
            continue;
        }
        if visited.len() > ISO_MAX_DIRS {
            limited = true;
            break;
        }
        let start = lba.saturating_mul(block);
        let end = start.saturating_add(size).min(data.len() as u64);
        if start >= data.len() as u64 {
            malformed = Some("directory extent beyond end of image");
            continue;
        }
        let (start, end) = (start as usize, end as usize);
        let mut pos = start;
        while pos < end {
            scanned += 1;
            if scanned > ISO_MAX_RECORDS {
                limited = true;
                break 'dirs;
            }
            let rec_len = data[pos] as usize;
            if rec_len == 0 {
                // Records never cross a block boundary: skip to the next one.
                let rel = (pos - start) as u64;
                pos = start + ((rel / block + 1) * block) as usize;
                continue;
            }
            let Some(rec) = data.get(pos..pos + rec_len).filter(|_| rec_len >= 34) else {
                malformed = Some("bad directory record");
                break;
            };
            pos += rec_len;
            let name_len = rec[32] as usize;
            let Some(raw) = rec.get(33..33 + name_len) else {
                malformed = Some("bad directory record");
                break;
            };
            if name_len == 1 && (raw[0] == 0 || raw[0] == 1) {
                continue; // "." and ".."
            }
            let mut name = if is_joliet {
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                String::from_utf8_lossy(raw).into_owned()
            };
            if let Some(i) = name.rfind(';') {
                name.truncate(i);
            }
            let full = format!("{prefix}{name}");
            if rec[25] & 0x02 != 0 {
                if level + 1 < ISO_MAX_DIR_DEPTH {
                    queue.push_back((
                        u32le(rec, 2).unwrap_or(0) as u64,
                        u32le(rec, 10).unwrap_or(0) as u64,
                        format!("{full}/"),
                        level + 1,
                    ));
                }
            } else {
                if !take_entry(budget) {
                    limited = true;
                    break 'dirs;
                }
                names.push(full);
            }
        }
    }
    out.push(Finding::Listed {
        path: path.to_string(),
        format: "iso".to_string(),
        members: names,
    });
    if limited {
        out.push(Finding::Limit {
            path: path.to_string(),
            what: format!(
                "more than {} entries, {ISO_MAX_DIRS} directories or {ISO_MAX_RECORDS} records",
                limits.max_entries
            ),
        });
    }
    if let Some(what) = malformed {
        out.push(Finding::Malformed {
            path: path.to_string(),
            what: format!("iso: {what}"),
        });
    }
}
