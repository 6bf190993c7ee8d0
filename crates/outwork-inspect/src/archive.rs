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

mod gzip;
mod iso;
mod rar;
mod sevenz;
mod tarfile;
mod zipfile;

use gzip::gzip_archive;
use iso::iso_listing;
use rar::rar_listing;
use sevenz::sevenz_listing;
use tarfile::tar_archive;
use zipfile::zip_archive;

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
pub(crate) fn inspect_archive(
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
