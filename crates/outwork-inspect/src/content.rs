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

/// Bytes of one file (or package part / OLE stream set) that are scanned.
pub const MAX_SCAN: usize = 8 << 20;
/// Findings added for one file.
pub const MAX_FINDINGS: usize = 50;
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
pub const AUTORUN_NAMES: &[&str] = &[
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
pub fn is_pdf(data: &[u8]) -> bool {
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

// ---------------------------------------------------------------- helpers

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

// ---------------------------------------------------------------- OOXML

fn inspect_ooxml(path: &str, data: &[u8], sink: &mut Sink) {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(data)) else {
        return;
    };
    if zip.index_for_name("[Content_Types].xml").is_none() {
        return; // a plain zip: archive.rs's business
    }
    let mut total = 0usize;
    for i in 0..zip.len().min(MAX_ZIP_ENTRIES) {
        if sink.full() || total >= MAX_ZIP_TOTAL {
            break;
        }
        let Some(name) = zip.name_for_index(i).map(str::to_string) else {
            continue;
        };
        let lname = name.to_ascii_lowercase();
        enum Part {
            Vba,
            Rels,
        }
        let part = if lname.ends_with("vbaproject.bin") {
            Part::Vba
        } else if lname.ends_with(".rels") {
            Part::Rels
        } else {
            continue;
        };
        let limit = match part {
            Part::Rels => MAX_RELS,
            Part::Vba => MAX_SCAN,
        }
        .min(MAX_ZIP_TOTAL - total);
        let Some(bytes) = read_zip_entry(&mut zip, i, limit) else {
            continue;
        };
        total += bytes.len();
        let part_path = format!("{path}!{name}");
        match part {
            Part::Vba => {
                let autorun = match ole_vba_streams(&bytes) {
                    Ok(Some(streams)) => autorun_in(streams.iter().map(Vec::as_slice)),
                    // Not a readable OLE file or no VBA storage: scan the blob as is.
                    _ => autorun_in(std::iter::once(bytes.as_slice())),
                };
                sink.push(Finding::Macro {
                    path: part_path,
                    autorun,
                });
            }
            Part::Rels => scan_rels(&part_path, &bytes, sink),
        }
    }
}

fn read_zip_entry(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    i: usize,
    limit: usize,
) -> Option<Vec<u8>> {
    let file = zip.by_index(i).ok()?; // encrypted / unsupported method → skipped
    let mut buf = Vec::new();
    // A read error (corrupt deflate, CRC) keeps what was read before it.
    let _ = file.take(limit as u64).read_to_end(&mut buf);
    Some(buf)
}

/// External relationships that make Office fetch a template/object/frame.
fn scan_rels(path: &str, xml: &[u8], sink: &mut Sink) {
    let mut from = 0;
    while let Some(i) = find_from(xml, b"Relationship", from) {
        from = i + 12;
        if sink.full() {
            break;
        }
        // `<Relationship ` or `<pfx:Relationship `, not `<Relationships`.
        let opened = i > 0 && matches!(xml[i - 1], b'<' | b':');
        if !opened || !xml.get(i + 12).is_some_and(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let end = memchr::memchr(b'>', &xml[i..]).map_or(xml.len(), |p| i + p);
        let tag = &xml[i + 12..end];
        from = end;
        let mode = tag_attr(tag, b"targetmode").unwrap_or_default();
        if !mode.eq_ignore_ascii_case("external") {
            continue;
        }
        let kind = tag_attr(tag, b"type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !(kind.ends_with("/attachedtemplate")
            || kind.ends_with("/oleobject")
            || kind.ends_with("/frame"))
        {
            continue;
        }
        let target = tag_attr(tag, b"target").unwrap_or_default();
        let remote = is_http(&target)
            || starts_with_ci(&target, "file:")
            || target.starts_with("\\\\")
            || target.starts_with("//");
        if remote {
            sink.push(Finding::RemoteTemplate {
                path: path.to_string(),
                url: clip(&target),
            });
        }
    }
}

// ---------------------------------------------------------------- OLE / VBA

fn inspect_ole(path: &str, data: &[u8], sink: &mut Sink) {
    match ole_vba_streams(data) {
        Ok(Some(streams)) => {
            let autorun = autorun_in(streams.iter().map(Vec::as_slice));
            sink.push(Finding::Macro {
                path: path.to_string(),
                autorun,
            });
        }
        Ok(None) => {}
        Err(what) => sink.push(Finding::Malformed {
            path: path.to_string(),
            what,
        }),
    }
}

fn is_vba_storage(name: &str) -> bool {
    ["VBA", "Macros", "_VBA_PROJECT_CUR"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}

/// The streams of an OLE file's VBA storages (bounded in total), `None`
/// when it has no VBA project, `Err` when it is not a readable OLE file.
fn ole_vba_streams(data: &[u8]) -> Result<Option<Vec<Vec<u8>>>, String> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(data))
        .map_err(|e| format!("OLE compound file unreadable: {e}"))?;
    let mut streams = Vec::new(); // paths of streams under a VBA-ish storage
    let mut has_vba = false;
    for entry in cf.walk().take(MAX_OLE_ENTRIES) {
        if !entry.is_stream() {
            continue;
        }
        let names: Vec<String> = entry
            .path()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let parent = names
            .len()
            .checked_sub(2)
            .map(|i| names[i].as_str())
            .unwrap_or("");
        let name = entry.name();
        if is_vba_storage(parent)
            && (name.eq_ignore_ascii_case("dir") || name.eq_ignore_ascii_case("_VBA_PROJECT"))
        {
            has_vba = true;
        }
        if names[..names.len().saturating_sub(1)]
            .iter()
            .any(|n| is_vba_storage(n))
        {
            streams.push(entry.path().to_path_buf());
        }
    }
    if !has_vba {
        return Ok(None);
    }
    let mut out = Vec::new();
    let mut left = MAX_SCAN;
    for p in streams {
        if left == 0 {
            break;
        }
        let Ok(stream) = cf.open_stream(&p) else {
            continue;
        };
        let mut buf = Vec::new();
        let _ = stream.take(left as u64).read_to_end(&mut buf);
        left -= buf.len();
        out.push(buf);
    }
    Ok(Some(out))
}

/// Auto-run procedure names in VBA project bytes, in [`AUTORUN_NAMES`] order.
///
/// Best-effort: module source is stored MS-OVBA-compressed. Each blob is
/// searched raw (the compression leaves short ASCII runs intact often
/// enough), and every compressed container found by its usual start
/// (`01 xx xx 00 "Attribut"`, as olevba does) is decompressed and searched
/// too. Case-insensitive substring match; no VBA parsing.
fn autorun_in<'a>(blobs: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    let mut found = vec![false; AUTORUN_NAMES.len()];
    let mut containers = 0;
    let mut source_left = MAX_SCAN;
    for blob in blobs {
        mark_autorun(blob, &mut found);
        let mut from = 0;
        while containers < MAX_VBA_CONTAINERS && source_left > 0 {
            let Some(i) = find_from(blob, b"\x00Attribut", from) else {
                break;
            };
            from = i + 1;
            if i >= 3 && blob[i - 3] == 0x01 {
                containers += 1;
                let source = ovba_decompress(&blob[i - 3..], MAX_VBA_SOURCE.min(source_left));
                source_left -= source.len();
                mark_autorun(&source, &mut found);
            }
        }
    }
    AUTORUN_NAMES
        .iter()
        .zip(found)
        .filter(|(_, f)| *f)
        .map(|(n, _)| n.to_string())
        .collect()
}

fn mark_autorun(bytes: &[u8], found: &mut [bool]) {
    let lower = bytes.to_ascii_lowercase();
    for (i, name) in AUTORUN_NAMES.iter().enumerate() {
        if !found[i] && memchr::memmem::find(&lower, name.to_ascii_lowercase().as_bytes()).is_some()
        {
            found[i] = true;
        }
    }
}

/// MS-OVBA 2.4.1 decompression of a CompressedContainer (starting with the
/// 0x01 signature). Stops quietly at corruption or `max_out` bytes.
fn ovba_decompress(src: &[u8], max_out: usize) -> Vec<u8> {
    let mut out = Vec::new();
    if src.first() != Some(&0x01) {
        return out;
    }
    let mut pos = 1;
    while pos + 2 <= src.len() && out.len() < max_out {
        let header = u16::from_le_bytes([src[pos], src[pos + 1]]);
        if header & 0x7000 != 0x3000 {
            break; // chunk signature must be 0b011
        }
        let chunk_end = (pos + (header & 0x0FFF) as usize + 3).min(src.len());
        pos += 2;
        let chunk_out = out.len();
        if header & 0x8000 == 0 {
            let end = (pos + 4096).min(src.len());
            out.extend_from_slice(&src[pos..end]);
            pos = end;
            continue;
        }
        'chunk: while pos < chunk_end {
            let flags = src[pos];
            pos += 1;
            for bit in 0..8 {
                if pos >= chunk_end {
                    break 'chunk;
                }
                if flags >> bit & 1 == 0 {
                    out.push(src[pos]);
                    pos += 1;
                    continue;
                }
                if pos + 2 > chunk_end {
                    return out;
                }
                let token = u16::from_le_bytes([src[pos], src[pos + 1]]) as usize;
                pos += 2;
                let done = out.len() - chunk_out;
                if done == 0 || done > 4096 {
                    return out;
                }
                let mut bits = 4;
                while (1usize << bits) < done {
                    bits += 1;
                }
                let length_mask = 0xFFFFusize >> bits;
                let length = (token & length_mask) + 3;
                let offset = (token >> (16 - bits)) + 1;
                if offset > done {
                    return out;
                }
                for _ in 0..length {
                    let b = out[out.len() - offset];
                    out.push(b);
                }
            }
        }
        pos = pos.max(chunk_end);
    }
    out.truncate(max_out);
    out
}

// ---------------------------------------------------------------- PDF

const PDF_ACTIONS: &[(&[u8], &str)] = &[
    (b"Launch", "Launch"),
    (b"JavaScript", "JavaScript"),
    (b"JS", "JavaScript"),
    (b"EmbeddedFile", "EmbeddedFile"),
    (b"EmbeddedFiles", "EmbeddedFile"),
    (b"AcroForm", "AcroForm"),
    (b"OpenAction", "OpenAction"),
];

/// Scan names outside stream bodies (and inside inflated FlateDecode
/// streams). Strings and comments are deliberately not skipped, so a
/// stray `(` or `%` cannot hide the rest of the file.
fn inspect_pdf(path: &str, data: &[u8], sink: &mut Sink) {
    let mut st = PdfState {
        seen: Vec::new(),
        uris_left: MAX_PDF_URIS,
    };
    let mut streams = Vec::new();
    pdf_scan(path, data, sink, &mut st, Some(&mut streams));
    let mut inflated_total = 0usize;
    for (dict_start, start, end) in streams.into_iter().take(MAX_PDF_STREAMS) {
        if sink.full() || inflated_total >= MAX_PDF_INFLATE_TOTAL {
            break;
        }
        let body = &data[start..end];
        let zlib = body.len() >= 2
            && body[0] & 0x0F == 8
            && (u16::from(body[0]) << 8 | u16::from(body[1])) % 31 == 0;
        if !zlib {
            continue;
        }
        let dict = &data[dict_start..start];
        // Images and fonts never carry actions: don't spend the budget on them.
        if memchr::memmem::find(dict, b"/Image").is_some()
            || memchr::memmem::find(dict, b"/Length1").is_some()
        {
            continue;
        }
        let mut buf = Vec::new();
        let limit = MAX_PDF_INFLATE.min(MAX_PDF_INFLATE_TOTAL - inflated_total);
        let _ = flate2::read::ZlibDecoder::new(body)
            .take(limit as u64)
            .read_to_end(&mut buf);
        inflated_total += buf.len();
        pdf_scan(path, &buf, sink, &mut st, None);
    }
}

fn is_pdf_delim(b: u8) -> bool {
    matches!(
        b,
        b'\0'
            | b'\t'
            | b'\n'
            | b'\x0C'
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

/// Actions already reported; `/URI` values still worth parsing.
struct PdfState {
    seen: Vec<&'static str>,
    uris_left: usize,
}

fn pdf_scan(
    path: &str,
    buf: &[u8],
    sink: &mut Sink,
    st: &mut PdfState,
    mut streams: Option<&mut Vec<(usize, usize, usize)>>,
) {
    let mut i = 0;
    let mut last_stream_end = 0;
    while let Some(p) = memchr::memchr2(b'/', b's', &buf[i..]) {
        if sink.full() {
            return;
        }
        i += p;
        if buf[i] == b's' {
            if let Some(streams) = streams.as_deref_mut()
                && let Some((start, end)) = pdf_stream_at(buf, i)
            {
                let lo = i.saturating_sub(4096).max(last_stream_end).min(i);
                let dict_start = memchr::memmem::rfind(&buf[lo..i], b"obj").map_or(lo, |p| lo + p);
                streams.push((dict_start, start, end));
                i = (end + 9).min(buf.len()); // past "endstream"
                last_stream_end = i;
                continue;
            }
            i += 1;
            continue;
        }
        // A name: decode #xx escapes.
        let name_start = i;
        i += 1;
        let mut name = Vec::new();
        while i < buf.len() && !is_pdf_delim(buf[i]) && name.len() < 128 {
            if buf[i] == b'#'
                && i + 2 < buf.len()
                && buf[i + 1].is_ascii_hexdigit()
                && buf[i + 2].is_ascii_hexdigit()
            {
                let hex = std::str::from_utf8(&buf[i + 1..i + 3]).unwrap_or("00");
                name.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
            } else {
                name.push(buf[i]);
                i += 1;
            }
        }
        if name == b"URI" && st.uris_left > 0 {
            st.uris_left -= 1;
            if let Some(uri) = pdf_string_at(buf, i) {
                sink.link(path, &uri, "PDF /URI");
            }
            continue;
        }
        if let Some(&(_, action)) = PDF_ACTIONS.iter().find(|(n, _)| *n == name.as_slice())
            && !st.seen.contains(&action)
        {
            st.seen.push(action);
            sink.push(Finding::PdfAction {
                path: path.to_string(),
                action: action.to_string(),
                detail: snippet(buf, name_start, 80),
            });
        }
    }
}

/// `stream` keyword at `i` after a dictionary's `>>`: the body's range.
pub(crate) fn pdf_stream_at(buf: &[u8], i: usize) -> Option<(usize, usize)> {
    if !buf[i..].starts_with(b"stream") {
        return None;
    }
    let before = buf[..i].iter().rposition(|b| !b.is_ascii_whitespace())?;
    if before < 1 || &buf[before - 1..=before] != b">>" {
        return None;
    }
    let mut start = i + 6;
    match buf.get(start..start + 2) {
        Some(b"\r\n") => start += 2,
        _ => match buf.get(start) {
            Some(b'\n') | Some(b'\r') => start += 1,
            _ => return None,
        },
    }
    let end = find_from(buf, b"endstream", start).unwrap_or(buf.len());
    Some((start, end))
}

/// A literal `( … )` or hex `< … >` string value after position `i`.
fn pdf_string_at(buf: &[u8], mut i: usize) -> Option<String> {
    while i < buf.len() && matches!(buf[i], b'\0' | b'\t' | b'\n' | b'\x0C' | b'\r' | b' ') {
        i += 1;
    }
    let mut out = Vec::new();
    match buf.get(i)? {
        b'(' => {
            i += 1;
            let mut depth = 1;
            while i < buf.len() && out.len() < MAX_URL {
                let c = buf[i];
                i += 1;
                match c {
                    b'\\' => {
                        let Some(&e) = buf.get(i) else { break };
                        i += 1;
                        match e {
                            b'n' => out.push(b'\n'),
                            b'r' => out.push(b'\r'),
                            b't' => out.push(b'\t'),
                            b'b' => out.push(8),
                            b'f' => out.push(12),
                            b'\r' => {
                                if buf.get(i) == Some(&b'\n') {
                                    i += 1;
                                }
                            }
                            b'\n' => {}
                            b'0'..=b'7' => {
                                let mut v = u32::from(e - b'0');
                                for _ in 0..2 {
                                    match buf.get(i) {
                                        Some(&d @ b'0'..=b'7') => {
                                            v = v * 8 + u32::from(d - b'0');
                                            i += 1;
                                        }
                                        _ => break,
                                    }
                                }
                                out.push(v as u8);
                            }
                            other => out.push(other),
                        }
                    }
                    b'(' => {
                        depth += 1;
                        out.push(c);
                    }
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                        out.push(c);
                    }
                    _ => out.push(c),
                }
            }
        }
        b'<' if buf.get(i + 1) != Some(&b'<') => {
            i += 1;
            let mut hi: Option<u8> = None;
            while i < buf.len() && buf[i] != b'>' && out.len() < MAX_URL {
                if let Some(d) = (buf[i] as char).to_digit(16) {
                    match hi.take() {
                        Some(h) => out.push(h << 4 | d as u8),
                        None => hi = Some(d as u8),
                    }
                }
                i += 1;
            }
            if let Some(h) = hi {
                out.push(h << 4);
            }
        }
        _ => return None,
    }
    let s = if out.starts_with(&[0xFE, 0xFF]) {
        let units: Vec<u16> = out[2..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(&out).into_owned()
    };
    let s = s
        .trim_matches(|c: char| c.is_whitespace() || c.is_control())
        .to_string();
    (!s.is_empty()).then_some(s)
}

// ---------------------------------------------------------------- RTF

fn inspect_rtf(path: &str, data: &[u8], sink: &mut Sink) {
    // No better Finding variant exists for OLE objects embedded in RTF
    // (the CVE-2017-11882 / 0199 family), so they are reported as
    // `Smuggling`: the document smuggles an object Word will instantiate.
    for word in [&b"\\object"[..], b"\\objdata", b"\\objupdate"] {
        let mut from = 0;
        while let Some(i) = find_from(data, word, from) {
            from = i + 1;
            if !data
                .get(i + word.len())
                .is_some_and(u8::is_ascii_alphabetic)
            {
                sink.smuggling(
                    path,
                    format!("RTF embedded object ({})", String::from_utf8_lossy(word)),
                );
                break;
            }
        }
    }
}

// ---------------------------------------------------------------- shortcuts

const LNK_RUNNERS: &[&str] = &[
    "powershell",
    "cmd.exe",
    "mshta",
    "wscript",
    "cscript",
    "rundll32",
    "regsvr32",
    "certutil",
    "bitsadmin",
    "msiexec",
];

/// Best-effort: the printable UTF-16LE (string data, both alignments) and
/// ASCII (LinkInfo paths) runs of the shortcut, searched for URLs and
/// script hosts. No structural parsing, so padding tricks don't matter.
fn inspect_lnk(path: &str, data: &[u8], sink: &mut Sink) {
    let mut text = Vec::new();
    for align in 0..2 {
        let mut run = Vec::new();
        for c in data[align..].chunks_exact(2) {
            let u = u16::from_le_bytes([c[0], c[1]]);
            if (0x20..0x7F).contains(&u) || u == 9 {
                run.push(u as u8);
            } else {
                flush_run(&mut run, &mut text);
            }
        }
        flush_run(&mut run, &mut text);
    }
    let mut run = Vec::new();
    for &b in data {
        if (0x20..0x7F).contains(&b) || b == b'\t' {
            run.push(b);
        } else {
            flush_run(&mut run, &mut text);
        }
    }
    flush_run(&mut run, &mut text);
    let lower = text.to_ascii_lowercase();
    for runner in LNK_RUNNERS {
        if memchr::memmem::find(&lower, runner.as_bytes()).is_some() {
            sink.smuggling(path, format!("shortcut runs {runner}"));
        }
    }
    for url in extract_urls(&text, MAX_FINDINGS) {
        sink.link(path, &url, "Windows shortcut");
    }
}

fn flush_run(run: &mut Vec<u8>, text: &mut Vec<u8>) {
    if run.len() >= 4 {
        text.extend_from_slice(run);
        text.push(b'\n');
    }
    run.clear();
}

fn inspect_url_file(path: &str, data: &[u8], sink: &mut Sink) {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("URL") {
            sink.link(path, value, "Internet shortcut");
        } else if key.eq_ignore_ascii_case("IconFile")
            && (is_http(value) || starts_with_ci(value, "file:") || value.starts_with("\\\\"))
        {
            // A remote icon is fetched on display (NTLM leak / beacon).
            sink.link(path, value, "Internet shortcut icon");
        }
    }
}

// ---------------------------------------------------------------- iCalendar

fn inspect_ics(path: &str, data: &[u8], sink: &mut Sink) {
    // Unfold (RFC 5545 3.1): a line break followed by one space/tab continues the line.
    let mut unfolded = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let brk = if data[i..].starts_with(b"\r\n") {
            2
        } else if data[i] == b'\n' {
            1
        } else {
            0
        };
        if brk > 0 && matches!(data.get(i + brk), Some(b' ') | Some(b'\t')) {
            i += brk + 1;
            continue;
        }
        unfolded.push(data[i]);
        i += 1;
    }
    for line in unfolded.split(|&b| b == b'\n') {
        if sink.full() {
            break;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // Property name ends at ';' (parameters) or ':'; the value starts
        // at the first ':' outside a quoted parameter value.
        let name_end = line
            .iter()
            .position(|&b| b == b';' || b == b':')
            .unwrap_or(line.len());
        let name = line[..name_end].to_ascii_uppercase();
        let mut quoted = false;
        let Some(colon) = line.iter().position(|&b| {
            if b == b'"' {
                quoted = !quoted;
            }
            b == b':' && !quoted
        }) else {
            continue;
        };
        let value = &line[colon + 1..];
        match name.as_slice() {
            b"URL" | b"ATTACH" => {
                let v = String::from_utf8_lossy(value);
                if is_http(v.trim()) {
                    sink.link(path, &v, "calendar invite");
                }
            }
            b"DESCRIPTION" | b"LOCATION" | b"SUMMARY" | b"COMMENT" | b"X-ALT-DESC" => {
                let unescaped = ics_unescape(value);
                for url in extract_urls(&unescaped, MAX_FINDINGS) {
                    sink.link(path, &url, "calendar invite");
                }
            }
            _ => {}
        }
    }
}

fn ics_unescape(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' && i + 1 < v.len() {
            out.push(match v[i + 1] {
                b'n' | b'N' => b'\n',
                other => other,
            });
            i += 2;
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------- HTML / SVG

/// Script-side smuggling indicators, matched on lower-cased text with all
/// whitespace removed (so `new  Blob (` matches). `ident` patterns must not
/// be preceded by an identifier character (`retrieval(` is not `eval(`).
const HTML_INDICATORS: &[(&str, &str, bool)] = &[
    ("atob(", "atob(", true),
    ("newblob(", "new Blob(", false),
    ("mssaveoropenblob", "msSaveOrOpenBlob", true),
    ("createobjecturl", "createObjectURL", true),
    ("window.location", "window.location", true),
    ("location.href=", "location.href =", false),
    ("location.replace(", "location.replace(", false),
    ("document.write(unescape(", "document.write(unescape(", true),
    ("eval(", "eval(", true),
    ("<script", "<script", false),
];

fn inspect_html(path: &str, data: &[u8], sink: &mut Sink) {
    let lower = data.to_ascii_lowercase(); // same byte positions as `data`
    let squeezed: Vec<u8> = lower
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let has = |n: &[u8]| memchr::memmem::find(&squeezed, n).is_some();

    for &(pat, indicator, ident) in HTML_INDICATORS {
        let mut from = 0;
        while let Some(i) = find_from(&squeezed, pat.as_bytes(), from) {
            from = i + 1;
            if ident
                && i > 0
                && (squeezed[i - 1].is_ascii_alphanumeric()
                    || matches!(squeezed[i - 1], b'_' | b'$'))
            {
                continue;
            }
            sink.smuggling(path, indicator);
            break;
        }
    }
    let download_attr = has(b"download=") || html_bare_attr(&lower, b"download");
    if download_attr && (has(b"data:") || has(b"blob:") || has(b"createobjecturl")) {
        sink.smuggling(path, "download= with data:/blob: URL");
    }
    if has(b"http-equiv=\"refresh\"") || has(b"http-equiv='refresh'") || has(b"http-equiv=refresh")
    {
        sink.smuggling(path, "<meta http-equiv=\"refresh\">");
    }

    // Credential forms: a <form> whose body has a password input.
    let mut from = 0;
    let mut forms = 0;
    while let Some(i) = find_from(&lower, b"<form", from) {
        if sink.full() || forms >= MAX_FORMS {
            break;
        }
        from = i + 5;
        if !lower
            .get(i + 5)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>')
        {
            continue;
        }
        forms += 1;
        let tag_end = memchr::memchr(b'>', &lower[i..lower.len().min(i + MAX_TAG)])
            .map_or(lower.len().min(i + MAX_TAG), |p| i + p);
        let body_end = find_from(
            &lower[..lower.len().min(tag_end + MAX_FORM_BODY)],
            b"</form",
            tag_end,
        )
        .unwrap_or(lower.len().min(tag_end + MAX_FORM_BODY));
        let body: Vec<u8> = lower[tag_end..body_end]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let password = [
            &b"type=\"password\""[..],
            b"type='password'",
            b"type=password",
        ]
        .iter()
        .any(|p| memchr::memmem::find(&body, p).is_some());
        if password {
            let action = tag_attr(&data[i + 5..tag_end], b"action")
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "(no action)".into());
            let action: String = action.chars().take(200).collect();
            sink.smuggling(path, format!("credential form posting to {action}"));
        }
        from = from.max(tag_end);
    }

    // Links: http(s) values of href / src / action (xlink:href included),
    // then a meta refresh target.
    let mut links: Vec<(usize, String)> = Vec::new();
    for attr in [&b"href"[..], b"src", b"action"] {
        let mut from = 0;
        while let Some(i) = find_from(&lower, attr, from) {
            from = i + attr.len();
            if links.len() >= MAX_FINDINGS * 2 {
                break;
            }
            let before_ok = i > 0
                && matches!(
                    lower[i - 1],
                    b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'/' | b':'
                );
            if !before_ok {
                continue;
            }
            if let Some((value, _)) = attr_value(data, i + attr.len())
                && is_http(&value)
            {
                links.push((i, value));
            }
        }
    }
    links.sort_by_key(|(i, _)| *i);
    for (_, url) in links {
        sink.link(path, &url, "HTML attachment");
    }
    let mut from = 0;
    for _ in 0..MAX_FORMS {
        let Some(i) = find_from(&lower, b"http-equiv", from) else {
            break;
        };
        from = i + 10;
        let tag_end = memchr::memchr(b'>', &lower[i..lower.len().min(i + MAX_TAG)])
            .map_or(lower.len().min(i + MAX_TAG), |p| i + p);
        let lo = i.saturating_sub(MAX_TAG);
        let tag_start = memchr::memrchr(b'<', &lower[lo..i]).map_or(lo, |p| lo + p);
        if let Some(content) = tag_attr(&data[tag_start..tag_end], b"content")
            && let Some(p) = content.to_ascii_lowercase().find("url=")
        {
            let url = content[p + 4..]
                .trim()
                .trim_matches(|c| c == '\'' || c == '"');
            if is_http(url) {
                sink.link(path, url, "HTML attachment");
            }
        }
    }
}

/// A valueless attribute `name` inside some tag (`<a download href=…>`).
fn html_bare_attr(lower: &[u8], name: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = find_from(lower, name, from) {
        from = i + 1;
        let before = i > 0 && lower[i - 1].is_ascii_whitespace();
        let after = lower
            .get(i + name.len())
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/');
        if before && after {
            return true;
        }
    }
    false
}
