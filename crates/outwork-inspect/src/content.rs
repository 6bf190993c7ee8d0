//! Content inspectors: what one (non-archive) file carries.
//!
//! [`inspect_content`] sniffs the bytes (the file name is only a hint for
//! text formats that have no magic) and dispatches to one reader:
//!
//! | format | sniff | findings |
//! |---|---|---|
//! | OOXML package | `PK\3\4` + `[Content_Types].xml` entry | `Macro` (any `*vbaProject.bin`), `RemoteTemplate` (external attachedTemplate/oleObject/frame relationships) |
//! | OLE compound file | `D0 CF 11 E0 A1 B1 1A E1` | `Macro` (VBA storages), `Malformed` when unreadable |
//! | PDF | `%PDF` in the first KiB | `Link` (`/URI`), `PdfAction` (Launch, JavaScript, EmbeddedFile, AcroForm, OpenAction) |
//! | RTF | `{\rt` | `Smuggling` (`\object`, `\objdata`, `\objupdate`) |
//! | OneNote | file-type GUID | `Smuggling` ("OneNote embedded file") |
//! | Windows shortcut | `4C 00 00 00 01 14 02 00` | `Link`, `Smuggling` ("shortcut runs powershell"…) |
//! | Internet shortcut | `[InternetShortcut]` or `.url` | `Link` |
//! | iCalendar | `BEGIN:VCALENDAR` or `.ics` | `Link` |
//! | HTML / SVG | `<html`, `<!doctype html`, `<svg`, `<script` or an HTML/SVG name | `Smuggling`, `Link` |
//!
//! Every reader is bounded: at most [`MAX_SCAN`] bytes of a file (or of a
//! package part, or of an OLE stream set) are scanned, at most
//! [`MAX_FINDINGS`] findings are added per file, PDF inflation is capped,
//! and a finding equal to one already in `out` is not added again (so an
//! OOXML part inspected both through its package and on its own is
//! reported once). Hitting a content cap is silent: it is routine for large
//! benign files and is not a `Finding::Limit`. The whole dispatch runs
//! under [`crate::guard`] as a last line of defence against parser panics
//! on hostile input (reported as `Malformed`, see [`Finding::is_failure`]).
//!
//! Paths: findings about a part of an OOXML package are reported as
//! `"doc.docm!word/vbaProject.bin"`; everything else uses the path given.
//! archive.rs also re-dispatches every OOXML part (embedded objects
//! included) as a member, so `word/vbaProject.bin` is seen twice: once here
//! and once as an OLE file with the same path; both yield the same `Macro`,
//! which the dedup keeps once.

use crate::Finding;
use std::io::{Cursor, Read};

mod html;
mod ics;
mod ole;
mod ooxml;
mod pdf;
mod rtf;
mod shortcut;

use html::inspect_html;
use ics::inspect_ics;
use ole::inspect_ole;
use ooxml::inspect_ooxml;
use pdf::inspect_pdf;
pub(crate) use pdf::pdf_stream_at;
use rtf::inspect_rtf;
use shortcut::{inspect_lnk, inspect_url_file};

/// Bytes of one file (or package part / OLE stream set) that are scanned.
pub(crate) const MAX_SCAN: usize = 8 << 20;
/// Findings added for one file.
pub(crate) const MAX_FINDINGS: usize = 50;
/// Longest URL / string value reported.
const MAX_URL: usize = 2048;
/// OOXML: entries examined, total bytes read, `.rels` part size.
const MAX_ZIP_ENTRIES: usize = 2_000;
const MAX_ZIP_TOTAL: usize = 32 << 20;
const MAX_RELS: usize = 1 << 20;
/// OLE: directory entries walked.
const MAX_OLE_ENTRIES: usize = 10_000;
/// PDF: FlateDecode streams inflated, bytes per stream, bytes in total.
const MAX_PDF_STREAMS: usize = 64;
const MAX_PDF_INFLATE: usize = 4 << 20;
const MAX_PDF_INFLATE_TOTAL: usize = 32 << 20;
/// PDF: `/URI` values parsed per file.
const MAX_PDF_URIS: usize = 4 * MAX_FINDINGS;
/// HTML: `<form>` / `<meta http-equiv>` tags examined, and one tag's length.
const MAX_FORMS: usize = 100;
const MAX_TAG: usize = 8192;
const MAX_FORM_BODY: usize = 1 << 20;
/// VBA: compressed containers decompressed per project, bytes per container
/// (and at most MAX_SCAN decompressed bytes per project).
const MAX_VBA_CONTAINERS: usize = 512;
const MAX_VBA_SOURCE: usize = 1 << 20;

const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const LNK_MAGIC: &[u8] = &[0x4C, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00];
/// OneNote section file type GUID {7B5C52E4-D88C-4DA7-AEB1-5378D02996D3}, as stored.
const ONENOTE_MAGIC: &[u8] = &[
    0xE4, 0x52, 0x5C, 0x7B, 0x8C, 0xD8, 0xA7, 0x4D, 0xAE, 0xB1, 0x53, 0x78, 0xD0, 0x29, 0x96, 0xD3,
];
/// OneNote FileDataStoreObject header GUID {BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC}:
/// marks an embedded (attached) file.
const ONENOTE_FILEDATA: &[u8] = &[
    0xE7, 0x16, 0xE3, 0xBD, 0x65, 0x26, 0x11, 0x45, 0xA4, 0xC4, 0x8D, 0x4D, 0x0B, 0x7A, 0x9E, 0xAC,
];

/// VBA procedure names Office runs on its own, in report order.
pub(crate) const AUTORUN_NAMES: &[&str] = &[
    "AutoOpen",
    "Document_Open",
    "Workbook_Open",
    "Auto_Open",
    "AutoExec",
    "AutoNew",
    "Document_New",
    "AutoClose",
    "Document_Close",
    "Auto_Close",
    "Workbook_BeforeClose",
];

/// Inspect one non-archive file (or an OOXML package's whole zip) and
/// append what it carries to `out`. Never panics, never errors.
pub fn inspect_content(path: &str, data: &[u8], out: &mut Vec<Finding>) {
    let mut sink = Sink { out, added: 0 };
    if crate::guard::run(|| dispatch(path, data, &mut sink)).is_err() {
        sink.push(Finding::Malformed {
            path: path.to_string(),
            what: format!("{} (content) on hostile input", crate::guard::FAILED),
        });
    }
}

/// Collects one file's findings: capped and deduplicated against `out`.
struct Sink<'a> {
    out: &'a mut Vec<Finding>,
    added: usize,
}

impl Sink<'_> {
    fn full(&self) -> bool {
        self.added >= MAX_FINDINGS
    }
    fn push(&mut self, f: Finding) {
        if self.full() || self.out.contains(&f) {
            return;
        }
        self.out.push(f);
        self.added += 1;
    }
    fn smuggling(&mut self, path: &str, indicator: impl Into<String>) {
        self.push(Finding::Smuggling {
            path: path.to_string(),
            indicator: indicator.into(),
        });
    }
    fn link(&mut self, path: &str, url: &str, found_in: &str) {
        let url = clip(url.trim());
        if !url.is_empty() {
            self.push(Finding::Link {
                path: path.to_string(),
                url,
                found_in: found_in.to_string(),
            });
        }
    }
}

fn clip(s: &str) -> String {
    if s.len() <= MAX_URL {
        return s.to_string();
    }
    let mut end = MAX_URL;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Lower-cased extension of the last path component ("a.zip!b/C.HTM" → "htm").
fn extension(path: &str) -> String {
    let last = path.rsplit(['!', '/', '\\']).next().unwrap_or(path);
    match last.rsplit_once('.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => String::new(),
    }
}

/// `%PDF` in the first KiB, as readers accept it.
pub(crate) fn is_pdf(data: &[u8]) -> bool {
    memchr::memmem::find(&data[..data.len().min(1024)], b"%PDF").is_some()
}

fn dispatch(path: &str, data: &[u8], sink: &mut Sink) {
    if data.starts_with(OLE_MAGIC) {
        inspect_ole(path, data, sink);
    } else if data.starts_with(b"PK\x03\x04") {
        inspect_ooxml(path, data, sink);
    } else if is_pdf(data) {
        inspect_pdf(path, cap(data), sink);
    } else if data.starts_with(b"{\\rt") {
        inspect_rtf(path, cap(data), sink);
    } else if data.starts_with(ONENOTE_MAGIC) {
        if memchr::memmem::find(cap(data), ONENOTE_FILEDATA).is_some() {
            sink.smuggling(path, "OneNote embedded file");
        }
    } else if data.starts_with(LNK_MAGIC) {
        inspect_lnk(path, cap(data), sink);
    } else if data.starts_with(&[0xFF, 0xFE]) || data.starts_with(&[0xFE, 0xFF]) {
        // UTF-16 text (an old trick to hide HTML from byte scanners).
        let be = data[0] == 0xFE;
        let units: Vec<u16> = cap(&data[2..])
            .chunks_exact(2)
            .map(|c| {
                if be {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            })
            .collect();
        let text = String::from_utf16_lossy(&units);
        inspect_text(path, text.as_bytes(), sink);
    } else {
        inspect_text(path, cap(data), sink);
    }
}

fn cap(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_SCAN)]
}

fn inspect_text(path: &str, data: &[u8], sink: &mut Sink) {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let body_start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    let head = data[body_start..data.len().min(body_start + 2048)].to_ascii_lowercase();
    let has = |n: &[u8]| memchr::memmem::find(&head, n).is_some();
    let ext = extension(path);
    if has(b"[internetshortcut]") {
        inspect_url_file(path, data, sink);
    } else if head.starts_with(b"begin:vcalendar") {
        inspect_ics(path, data, sink);
    } else if has(b"<html") || has(b"<!doctype html") || has(b"<svg") || has(b"<script") {
        inspect_html(path, data, sink);
    } else {
        match ext.as_str() {
            "url" => inspect_url_file(path, data, sink),
            "ics" | "ical" | "ifb" => inspect_ics(path, data, sink),
            "htm" | "html" | "shtml" | "shtm" | "xhtml" | "svg" | "hta" => {
                inspect_html(path, data, sink)
            }
            _ => {}
        }
    }
}

fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    memchr::memmem::find(&hay[from..], needle).map(|i| i + from)
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn is_http(s: &str) -> bool {
    starts_with_ci(s, "http://") || starts_with_ci(s, "https://")
}

/// Every http(s) URL in free text, in order, at most `max`.
fn extract_urls(text: &[u8], max: usize) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut urls = Vec::new();
    let mut from = 0;
    while urls.len() < max {
        let Some(i) = find_from(&lower, b"http", from) else {
            break;
        };
        from = i + 4;
        let rest = &lower[i..];
        if !(rest.starts_with(b"http://") || rest.starts_with(b"https://")) {
            continue;
        }
        let end = text[i..]
            .iter()
            .position(|&b| {
                b <= b' '
                    || b >= 0x7F
                    || matches!(
                        b,
                        b'"' | b'\'' | b'<' | b'>' | b'`' | b'\\' | b'{' | b'}' | b'|' | b'^'
                    )
            })
            .map_or(text.len(), |p| i + p);
        let mut url = &text[i..end];
        while let Some((&last, rest)) = url.split_last() {
            if matches!(last, b'.' | b',' | b';' | b':' | b'!' | b'?' | b')' | b']') {
                url = rest;
            } else {
                break;
            }
        }
        from = end.max(from);
        let scheme_len = if lower[i..].starts_with(b"https://") {
            8
        } else {
            7
        };
        if url.len() > scheme_len {
            urls.push(String::from_utf8_lossy(&url[..url.len().min(MAX_URL)]).into_owned());
        }
    }
    urls
}

/// Decode the XML/HTML character references that matter in attribute values.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // Look for ';' within 12 bytes, on bytes: a char boundary may not
        // fall at 12 (found by the inspect fuzz target).
        let Some(semi) = rest.as_bytes().iter().take(12).position(|&b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..semi];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "sol" => Some('/'),
            "colon" => Some(':'),
            "period" => Some('.'),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse::<u32>().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Attribute `name` (lower-case) of the tag text `tag`, entity-decoded.
fn tag_attr(tag: &[u8], name: &[u8]) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = find_from(&lower, name, from) {
        from = i + 1;
        let before_ok = i == 0
            || matches!(
                lower[i - 1],
                b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'/' | b':'
            );
        if !before_ok {
            continue;
        }
        if let Some((value, _)) = attr_value(tag, i + name.len()) {
            return Some(value);
        }
    }
    None
}

/// After an attribute name at `i`: `= value`. Returns the decoded value and the end.
fn attr_value(s: &[u8], mut i: usize) -> Option<(String, usize)> {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    if s.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    let (start, end, next) = match s.get(i)? {
        &q @ (b'"' | b'\'') => {
            let window = &s[i + 1..s.len().min(i + 1 + MAX_URL * 2)];
            let end = memchr::memchr(q, window).map_or(i + 1 + window.len(), |p| i + 1 + p);
            (i + 1, end, end + 1)
        }
        _ => {
            let window = &s[i..s.len().min(i + MAX_URL * 2)];
            let end = window
                .iter()
                .position(|&b| b.is_ascii_whitespace() || b == b'>')
                .map_or(i + window.len(), |p| i + p);
            (i, end, end)
        }
    };
    let raw = &s[start..end];
    Some((decode_entities(String::from_utf8_lossy(raw).trim()), next))
}

/// Printable one-line excerpt of `buf` from `start`.
fn snippet(buf: &[u8], start: usize, len: usize) -> String {
    let mut s = String::new();
    let mut last_space = false;
    for &b in buf.iter().skip(start).take(len) {
        if b.is_ascii_whitespace() {
            if !last_space && !s.is_empty() {
                s.push(' ');
            }
            last_space = true;
        } else {
            s.push(if b.is_ascii_graphic() { b as char } else { '.' });
            last_space = false;
        }
    }
    s.trim_end().to_string()
}
