//! parse: raw bytes → Facts. Never fails: hostile input yields `PARSE_*` and
//! `*_LIMIT` anomalies beside whatever could be read.

use crate::config::Limits;
use crate::domain::Host;
use crate::html::{self, HtmlFacts};
use crate::url::{self, ParsedUrl, UrlSource};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use sha2::Digest;

/// A mailbox from a header.
#[derive(Debug, Clone, Default)]
pub struct Mailbox {
    /// Display name, trimmed and unquoted; `None` when absent or empty.
    pub name: Option<String>,
    /// Address, lower-cased, without angle brackets; empty when a From header had only a name.
    pub address: String,
    /// The part after the last `@` as a host; `None` when there is none or it can't be a host name.
    pub domain: Option<Host>,
}

impl Mailbox {
    fn new(name: Option<&str>, address: &str) -> Mailbox {
        let address = address.trim().trim_matches(['<', '>']).to_ascii_lowercase();
        let domain = address.rsplit_once('@').and_then(|(_, d)| Host::parse(d));
        let name = name
            .map(|n| n.trim().trim_matches('"').trim().to_string())
            .filter(|n| !n.is_empty());
        Mailbox {
            name,
            address,
            domain,
        }
    }

    /// Registrable domain of the address's domain, if any.
    pub fn registrable(&self) -> Option<&str> {
        self.domain.as_ref().and_then(|d| d.registrable())
    }

    /// ASCII (punycode) domain of the address; empty when it has none.
    pub fn domain_ascii(&self) -> &str {
        self.domain.as_ref().map(|d| d.ascii.as_str()).unwrap_or("")
    }
}

/// A URL and where it was found.
#[derive(Debug, Clone)]
pub struct UrlFact {
    /// The URL, parsed.
    pub url: ParsedUrl,
    /// Where in the message it was found.
    pub source: UrlSource,
    /// For an HTML link, its visible text; for a URL from an attachment, where it was found ("PDF
    /// /URI in invoice.pdf"); an unwrapped target keeps its wrapper's. `None` for text URLs.
    pub anchor_text: Option<String>,
    /// The HTML link wraps an image (a button or logo rather than words).
    pub anchor_has_img: bool,
    /// Written defanged (`hxxp://`, `example[.]com`) and read back.
    pub defanged: bool,
    /// Invisible characters (zero-width, bidi controls, …) in the URL or its link text.
    pub invisible_chars: bool,
    /// For unwrapped targets: index of the wrapping URL and whether the
    /// wrapper is a listed redirector / a security wrapper.
    pub via: Option<usize>,
    /// The wrapper is a known redirector (not a security wrapper); false unless `via` is set.
    pub via_known_redirector: bool,
    /// The wrapper is a mail-security link wrapper (Safe Links and the like).
    pub via_security_wrapper: bool,
}

impl UrlFact {
    /// A URL found inside an attachment; `context` says where ("PDF /URI in
    /// invoice.pdf").
    pub fn from_attachment(url: ParsedUrl, context: String) -> UrlFact {
        UrlFact {
            anchor_text: Some(context),
            ..UrlFact::plain(url, UrlSource::Attachment, false, false)
        }
    }

    /// A URL found as text (not an anchor, not unwrapped).
    pub(crate) fn plain(
        url: ParsedUrl,
        source: UrlSource,
        defanged: bool,
        invisible_chars: bool,
    ) -> UrlFact {
        UrlFact {
            url,
            source,
            anchor_text: None,
            anchor_has_img: false,
            defanged,
            invisible_chars,
            via: None,
            via_known_redirector: false,
            via_security_wrapper: false,
        }
    }

    /// Is this something the reader can click or that loads by itself?
    pub fn is_clickable(&self) -> bool {
        !matches!(self.source, UrlSource::HtmlSrc) || self.url.scheme == "data"
    }

    /// Where the URL was found, for evidence. Formats lazily: most URLs
    /// fire nothing and never need the text.
    pub fn where_found(&self) -> WhereFound<'_> {
        WhereFound(self)
    }
}

/// Where a URL was found ("HTML link \"Sign in\"", an attachment's context, or its source), as
/// [`UrlFact::where_found`] displays it.
pub struct WhereFound<'a>(&'a UrlFact);

impl std::fmt::Display for WhereFound<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.0.anchor_text, self.0.source) {
            (Some(t), UrlSource::HtmlHref) if !t.is_empty() => {
                write!(f, "HTML link \"{}\"", Truncated(t, 60))
            }
            (Some(t), UrlSource::Attachment) => write!(f, "{}", Truncated(t, 120)),
            _ => f.write_str(self.0.source.describe()),
        }
    }
}

/// The first `n` characters of a string, formatted without allocating.
pub struct Truncated<'a>(pub &'a str, pub usize);

impl std::fmt::Display for Truncated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(self.1) {
            Some((i, _)) => f.write_str(&self.0[..i]),
            None => f.write_str(self.0),
        }
    }
}

/// One Authentication-Results header.
#[derive(Debug, Clone)]
pub struct AuthHeader {
    /// None when the header starts with a result (Microsoft's edge does).
    pub authserv_id: Option<String>,
    /// The header's value, unfolded (runs of white space made one space).
    pub value: String,
    /// 0 = topmost.
    pub position: usize,
}

/// What sniffing the first bytes says a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// Windows PE executable (`MZ`).
    Exe,
    /// ELF executable.
    Elf,
    /// Zip (also OOXML, JAR, APK).
    Zip,
    /// PDF.
    Pdf,
    /// OLE compound file: legacy Office, MSI.
    Ole,
    /// RAR archive.
    Rar,
    /// 7z archive.
    SevenZ,
    /// gzip.
    Gzip,
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image.
    Gif,
    /// HTML (a tag such as `<html`, `<script`, `<form` in the first KiB).
    Html,
    /// SVG (`<svg` in the first KiB).
    Svg,
    /// ISO 9660 disk image.
    Iso,
    /// RTF document.
    Rtf,
    /// Windows shortcut (`.lnk`).
    Lnk,
    /// None of the above.
    Unknown,
}

impl Sniffed {
    /// Sniff the first bytes (and, for ISO 9660, the volume descriptor at 32 KiB); never fails.
    pub fn of(data: &[u8]) -> Sniffed {
        let starts = |m: &[u8]| data.starts_with(m);
        if starts(b"MZ") && data.len() > 64 {
            return Sniffed::Exe;
        }
        if starts(b"\x7fELF") {
            return Sniffed::Elf;
        }
        if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
            return Sniffed::Zip;
        }
        if starts(b"%PDF") {
            return Sniffed::Pdf;
        }
        if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
            return Sniffed::Ole;
        }
        if starts(b"Rar!\x1a\x07") {
            return Sniffed::Rar;
        }
        if starts(b"7z\xBC\xAF\x27\x1C") {
            return Sniffed::SevenZ;
        }
        if starts(b"\x1f\x8b") {
            return Sniffed::Gzip;
        }
        if starts(b"\x89PNG") {
            return Sniffed::Png;
        }
        if starts(b"\xFF\xD8\xFF") {
            return Sniffed::Jpeg;
        }
        if starts(b"GIF8") {
            return Sniffed::Gif;
        }
        if starts(b"{\\rtf") {
            return Sniffed::Rtf;
        }
        if starts(b"L\x00\x00\x00\x01\x14\x02\x00") {
            return Sniffed::Lnk;
        }
        if data.len() > 0x8006 && &data[0x8001..0x8006] == b"CD001" {
            return Sniffed::Iso;
        }
        let head = &data[..data.len().min(1024)];
        let lower: Vec<u8> = head.iter().map(|b| b.to_ascii_lowercase()).collect();
        let has = |n: &[u8]| memchr::memmem::find(&lower, n).is_some();
        if has(b"<svg") {
            return Sniffed::Svg;
        }
        if has(b"<html")
            || has(b"<!doctype html")
            || has(b"<script")
            || has(b"<body")
            || has(b"<form")
        {
            return Sniffed::Html;
        }
        Sniffed::Unknown
    }

    /// A short human name for the type ("Windows executable", "zip"), for evidence.
    pub fn name(self) -> &'static str {
        match self {
            Sniffed::Exe => "Windows executable",
            Sniffed::Elf => "ELF executable",
            Sniffed::Zip => "zip",
            Sniffed::Pdf => "PDF",
            Sniffed::Ole => "OLE (legacy Office/MSI)",
            Sniffed::Rar => "RAR",
            Sniffed::SevenZ => "7z",
            Sniffed::Gzip => "gzip",
            Sniffed::Png => "PNG",
            Sniffed::Jpeg => "JPEG",
            Sniffed::Gif => "GIF",
            Sniffed::Html => "HTML",
            Sniffed::Svg => "SVG",
            Sniffed::Iso => "ISO disk image",
            Sniffed::Rtf => "RTF",
            Sniffed::Lnk => "Windows shortcut",
            Sniffed::Unknown => "unknown",
        }
    }
}

/// A decoded attachment (or an inline binary or text part marked as an attachment). At most 256 are
/// kept per message.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name from Content-Disposition or Content-Type, at most 255 characters; `None` when
    /// unnamed.
    pub name: Option<String>,
    /// Declared Content-Type, lower-cased `type/subtype`; empty when absent.
    pub declared_type: String,
    /// What the content's first bytes say it is.
    pub sniffed: Sniffed,
    /// Decoded size in bytes.
    pub size: usize,
    /// SHA-256 of the decoded content, for hash blocklists.
    pub sha256: [u8; 32],
    /// The decoded bytes, for deep inspection in the enrich stage (bounded
    /// by the message size limit).
    pub data: Vec<u8>,
}

/// Everything read from one message: who it is from and to, its authentication headers, URLs, HTML,
/// attachments, and the limits it ran into. Made by [`parse`]; pure data, no I/O.
#[derive(Debug, Default)]
pub struct Facts {
    /// The first From mailbox with an address (a broken display name split by
    /// the parser is glued back); a From with only a name gives an empty
    /// address. `None` without a From header.
    pub from: Option<Mailbox>,
    /// From addresses with an `@` (more than one is suspicious).
    pub from_count: usize,
    /// Reply-To mailboxes, at most 8.
    pub reply_to: Vec<Mailbox>,
    /// To and Cc addresses (at most 32), for who the mail was written to.
    pub recipients: Vec<Mailbox>,
    /// The first Return-Path with an `@`.
    pub return_path: Option<Mailbox>,
    /// Subject, decoded, at most 500 characters; empty when absent.
    pub subject: String,
    /// The Date header as unix seconds, if it parses.
    pub date: Option<i64>,
    /// The first List-Id header, at most 200 characters.
    pub list_id: Option<String>,
    /// Authentication-Results headers, topmost first, at most 16.
    pub auth: Vec<AuthHeader>,
    /// URLs in the order found, then unwrapped redirect targets (at most `max_urls` plus
    /// 64); URLs from attachments are added by the engine.
    pub urls: Vec<UrlFact>,
    /// HTML facts of all HTML parts together (counts summed; the first title and meta refresh).
    pub html: HtmlFacts,
    /// The message has an HTML part (body or attachment).
    pub has_html: bool,
    /// Non-white-space characters of the plain-text parts (HTML text is counted in `html`).
    pub text_chars: usize,
    /// Attachments, in MIME order, at most 256.
    pub attachments: Vec<Attachment>,
    /// Words the text offers as a password ("password: 1234"): attackers
    /// put the key of an encrypted archive beside it.
    pub password_candidates: Vec<String>,
    /// Limit and parse symbols with their evidence.
    pub anomalies: Vec<(&'static str, String)>,
    /// Size of the message as received, in bytes, before any limit cut it.
    pub size: usize,
    /// The start of what a reader sees (plain-text parts and rendered
    /// HTML text, in order), bounded: the learned model's words.
    pub reader_text: String,
    /// Image alt texts (the words a reader sees where images are blocked).
    pub alt_texts: Vec<String>,
}

struct Walker<'a> {
    limits: &'a Limits,
    facts: Facts,
    parts_seen: usize,
    part_limit_hit: bool,
    depth_limit_hit: bool,
}

/// Reader text kept per message: the model reads the start of a message,
/// where the lure is.
pub(crate) const MAX_READER_TEXT: usize = 8 << 10;

fn push_reader_text(out: &mut String, text: &str) {
    if out.len() >= MAX_READER_TEXT {
        return;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(truncate_str(text, MAX_READER_TEXT - out.len()));
}

/// Parse a message into [`Facts`]. Never fails and never panics: bytes that are not a message give
/// PARSE_ERROR, and every limit in `limits` that is reached gives its `*_LIMIT` anomaly beside
/// whatever was read. The header block and the MIME boundary lines are cut first ([`cut_headers`],
/// [`cut_boundary_lines`]) so a flood of fields or parts costs no memory.
pub fn parse(raw: &[u8], limits: &Limits) -> Facts {
    let mut facts = Facts {
        size: raw.len(),
        ..Default::default()
    };
    let raw = if raw.len() > limits.max_message_bytes {
        facts.anomalies.push((
            "MESSAGE_SIZE_LIMIT",
            format!(
                "{} bytes > max_message_bytes {}",
                raw.len(),
                limits.max_message_bytes
            ),
        ));
        &raw[..limits.max_message_bytes]
    } else {
        raw
    };
    // Cut what would make mail-parser allocate per line or per part
    // before it sees the message: millions of tiny header fields or MIME
    // parts cost ~100-200 bytes each in its tree.
    let cut_h = cut_headers(raw, limits.max_headers);
    let raw = match &cut_h {
        Some(c) => {
            facts.anomalies.push((
                "HEADER_COUNT_LIMIT",
                format!(
                    "{} header fields > max_headers {}; kept the first {} and {} later ones that say how to read the message",
                    c.fields, limits.max_headers, limits.max_headers, c.kept_later
                ),
            ));
            &c.raw[..]
        }
        None => raw,
    };
    let cut_p = cut_boundary_lines(raw, boundary_line_limit(limits.max_parts));
    let raw = match &cut_p {
        Some(c) => {
            facts.anomalies.push((
                "MIME_PART_LIMIT",
                format!(
                    "more than {} boundary lines (max_parts {}): the message was read up to the next one ({} of {} bytes)",
                    boundary_line_limit(limits.max_parts),
                    limits.max_parts,
                    c.len(),
                    raw.len()
                ),
            ));
            *c
        }
        None => raw,
    };
    let Some(msg) = MessageParser::default().parse(raw) else {
        facts
            .anomalies
            .push(("PARSE_ERROR", "no RFC 5322 header block found".into()));
        return facts;
    };

    if let Some(from) = msg.from() {
        // Broken display names ("Team ,_<x@y>") split into name-only
        // entries: glue them onto the first entry that has an address.
        let mut names: Vec<&str> = Vec::new();
        for a in from.iter() {
            match a.address() {
                Some(ad) if ad.contains('@') => {
                    facts.from_count += 1;
                    if facts.from.is_none() {
                        names.extend(a.name());
                        let name = names.join(" ");
                        facts.from = Some(Mailbox::new(Some(name.as_str()), ad));
                    }
                }
                _ => {
                    if facts.from.is_none() {
                        names.extend(a.name().or(a.address()));
                    }
                }
            }
        }
        if facts.from.is_none() && !names.is_empty() {
            facts.from = Some(Mailbox::new(Some(names.join(" ").as_str()), ""));
        }
    }
    if let Some(rt) = msg.reply_to() {
        facts.reply_to = rt
            .iter()
            .take(8)
            .filter_map(|a| a.address().map(|ad| Mailbox::new(a.name(), ad)))
            .collect();
    }
    for list in [msg.to(), msg.cc()].into_iter().flatten() {
        for a in list.iter() {
            if facts.recipients.len() >= 32 {
                break;
            }
            if let Some(ad) = a.address() {
                facts.recipients.push(Mailbox::new(a.name(), ad));
            }
        }
    }
    facts.date = msg.date().map(|d| d.to_timestamp());
    facts.subject = msg.subject().unwrap_or("").chars().take(500).collect();

    let mut position = 0;
    for (name, value) in msg.headers_raw() {
        if name.eq_ignore_ascii_case("Authentication-Results") {
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            let first = value.split(';').next().unwrap_or("").trim();
            let authserv_id = if first.is_empty() || first.contains('=') {
                None
            } else {
                first
                    .split_whitespace()
                    .next()
                    .map(|s| s.to_ascii_lowercase())
            };
            if facts.auth.len() < 16 {
                facts.auth.push(AuthHeader {
                    authserv_id,
                    value,
                    position,
                });
            }
            position += 1;
        } else if name.eq_ignore_ascii_case("Return-Path") && facts.return_path.is_none() {
            let v = value.trim().trim_matches(['<', '>']).trim();
            if v.contains('@') {
                facts.return_path = Some(Mailbox::new(None, v));
            }
        } else if name.eq_ignore_ascii_case("List-Id") && facts.list_id.is_none() {
            facts.list_id = Some(value.trim().chars().take(200).collect());
        }
    }

    let mut w = Walker {
        limits,
        facts,
        parts_seen: 0,
        part_limit_hit: false,
        depth_limit_hit: false,
    };
    w.walk_message(&msg, 0);
    if w.part_limit_hit && cut_p.is_none() {
        w.facts.anomalies.push((
            "MIME_PART_LIMIT",
            format!("more than max_parts {} parts", limits.max_parts),
        ));
    }
    if w.depth_limit_hit {
        w.facts.anomalies.push((
            "MIME_DEPTH_LIMIT",
            format!("nesting deeper than max_depth {}", limits.max_depth),
        ));
    }
    let mut facts = w.facts;
    add_unwrapped(&mut facts, limits.max_urls);
    facts
}

/// Header fields still kept past `max_headers`: those that decide how the
/// message is read and who it claims to be from (an attacker must not hide
/// From or Content-Type behind a flood of fields).
const KEEP_PAST_LIMIT: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "return-path",
    "list-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "authentication-results",
    "dkim-signature",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
];

/// At most this many [`KEEP_PAST_LIMIT`] fields are kept past the limit.
const MAX_KEPT_PAST_LIMIT: usize = 64;

/// A message whose header block was cut.
#[derive(Debug)]
pub struct CutHeaders {
    /// The kept header fields, the blank line and the body.
    pub raw: Vec<u8>,
    /// Header fields in the original.
    pub fields: usize,
    /// Fields kept from past the limit.
    pub kept_later: usize,
}

/// Where each header field starts and where the header block ends (the
/// blank line, or the end of the message).
fn header_fields(raw: &[u8], mut each: impl FnMut(usize)) -> usize {
    let mut pos = 0;
    while pos < raw.len() {
        let rest = &raw[pos..];
        if rest.starts_with(b"\r\n") || rest.starts_with(b"\n") {
            return pos;
        }
        if !matches!(rest[0], b' ' | b'\t') {
            each(pos);
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => pos += i + 1,
            None => return raw.len(),
        }
    }
    raw.len()
}

/// The message with at most `max` header fields (plus, from past them,
/// up to 64 that say how to read it: From, Subject, Content-Type, …);
/// `None` when it has no more than `max`. One pass over the header
/// block; the body is copied once, only when cut.
pub fn cut_headers(raw: &[u8], max: usize) -> Option<CutHeaders> {
    let mut fields = 0usize;
    let end = header_fields(raw, |_| fields += 1);
    if fields <= max {
        return None;
    }
    let mut starts = Vec::new();
    header_fields(raw, |p| starts.push(p));
    let mut out = Vec::new();
    if let Some(&first) = starts.first() {
        // Anything before the first field (a continuation line) stays.
        out.extend_from_slice(&raw[..first]);
    }
    let mut kept_later = 0;
    for (i, &st) in starts.iter().enumerate() {
        let en = starts.get(i + 1).copied().unwrap_or(end);
        let field = &raw[st..en];
        if i < max {
            out.extend_from_slice(field);
            continue;
        }
        if kept_later >= MAX_KEPT_PAST_LIMIT {
            break;
        }
        let name = field
            .iter()
            .position(|&b| b == b':')
            .map(|c| field[..c].trim_ascii());
        if name.is_some_and(|n| {
            KEEP_PAST_LIMIT
                .iter()
                .any(|k| n.eq_ignore_ascii_case(k.as_bytes()))
        }) {
            out.extend_from_slice(field);
            kept_later += 1;
        }
    }
    out.extend_from_slice(&raw[end..]);
    Some(CutHeaders {
        raw: out,
        fields,
        kept_later,
    })
}

/// Lines that may be MIME boundaries read before the rest is cut: well
/// above what `max_parts` parts need (each part has one, nested
/// multiparts a closing one more), so only a flood of parts is cut.
pub(crate) fn boundary_line_limit(max_parts: usize) -> usize {
    max_parts.saturating_mul(4).saturating_add(16)
}

/// The message up to (not including) its `max + 1`th line starting with
/// `--` after the header block; `None` when it has no more. mail-parser
/// builds a part for every boundary before `max_parts` is applied, so a
/// flood of millions of tiny parts is cut here first.
pub fn cut_boundary_lines(raw: &[u8], max: usize) -> Option<&[u8]> {
    let end = header_fields(raw, |_| {});
    let mut seen = 0usize;
    let mut pos = end;
    while pos < raw.len() {
        let rest = &raw[pos..];
        if rest.starts_with(b"--") {
            seen += 1;
            if seen > max {
                return Some(&raw[..pos]);
            }
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => pos += i + 1,
            None => break,
        }
    }
    None
}

impl Walker<'_> {
    fn walk_message(&mut self, msg: &mail_parser::Message<'_>, msg_depth: usize) {
        if msg.parts.is_empty() {
            return;
        }
        // Iterative DFS over the part tree: no recursion on attacker depth.
        let mut stack: Vec<(u32, usize)> = vec![(0, msg_depth)];
        while let Some((id, depth)) = stack.pop() {
            if depth > self.limits.max_depth {
                self.depth_limit_hit = true;
                continue;
            }
            if self.parts_seen >= self.limits.max_parts {
                self.part_limit_hit = true;
                return;
            }
            let Some(part) = msg.parts.get(id as usize) else {
                continue;
            };
            self.parts_seen += 1;
            let is_attachment = part.attachment_name().is_some()
                || part
                    .content_disposition()
                    .map(|d| d.is_attachment())
                    .unwrap_or(false);
            match &part.body {
                PartType::Multipart(children) => {
                    for c in children.iter().rev() {
                        stack.push((*c, depth + 1));
                    }
                }
                PartType::Text(text) => {
                    if is_attachment {
                        self.attachment(part, text.as_bytes());
                    } else {
                        self.text(text);
                    }
                }
                PartType::Html(h) => {
                    if is_attachment {
                        self.attachment(part, h.as_bytes());
                        // A local page: its forms and links matter as much.
                        self.html(h);
                    } else {
                        self.html(h);
                    }
                }
                PartType::Binary(b) | PartType::InlineBinary(b) => self.attachment(part, b),
                PartType::Message(inner) => {
                    if depth + 1 > self.limits.max_depth {
                        self.depth_limit_hit = true;
                    } else {
                        self.walk_message(inner, depth + 1);
                    }
                }
            }
        }
    }

    fn push_url(&mut self, f: UrlFact) -> bool {
        if self.facts.urls.len() >= self.limits.max_urls {
            if !self.facts.anomalies.iter().any(|(n, _)| *n == "URL_LIMIT") {
                self.facts.anomalies.push((
                    "URL_LIMIT",
                    format!("more than max_urls {} URLs", self.limits.max_urls),
                ));
            }
            return false;
        }
        self.facts.urls.push(f);
        true
    }

    fn text(&mut self, text: &str) {
        let text = truncate_str(text, self.limits.max_text_bytes);
        push_reader_text(&mut self.facts.reader_text, text);
        password_candidates(text, &mut self.facts.password_candidates);
        self.facts.text_chars += text.chars().filter(|c| !c.is_whitespace()).count();
        let remaining = self.limits.max_urls.saturating_sub(self.facts.urls.len()) + 1;
        for t in url::extract_text_urls(text, remaining) {
            if let Some(u) = ParsedUrl::parse(&t.raw) {
                let f = UrlFact::plain(u, UrlSource::Text, t.defanged, t.invisible_chars);
                if !self.push_url(f) {
                    break;
                }
            }
        }
    }

    fn html(&mut self, h: &str) {
        self.facts.has_html = true;
        let h = truncate_str(h, self.limits.max_html_bytes);
        let remaining = self.limits.max_urls.saturating_sub(self.facts.urls.len()) + 1;
        let hf = html::analyse(
            h,
            remaining,
            self.limits.max_text_bytes,
            self.limits.max_html_memory,
        );
        if let Some(e) = &hf.error {
            self.facts.anomalies.push(("PARSE_HTML_LIMIT", e.clone()));
        }
        for hu in &hf.urls {
            let Some(u) = ParsedUrl::parse(&hu.raw) else {
                continue;
            };
            let invisible = hu.raw.chars().any(crate::domain::is_invisible_char)
                || hu
                    .anchor_text
                    .as_deref()
                    .is_some_and(|t| t.chars().any(crate::domain::is_invisible_char));
            let f = UrlFact {
                url: u,
                source: hu.source,
                anchor_text: hu.anchor_text.clone(),
                anchor_has_img: hu.anchor_has_img,
                defanged: false,
                invisible_chars: invisible,
                via: None,
                via_known_redirector: false,
                via_security_wrapper: false,
            };
            if !self.push_url(f) {
                break;
            }
        }
        // URLs written as text in the HTML but not linked.
        let linked: Vec<String> = self.facts.urls.iter().map(|u| u.url.raw.clone()).collect();
        for t in url::extract_text_urls(&hf.visible_text, 200) {
            if linked.contains(&t.raw) {
                continue;
            }
            if let Some(u) = ParsedUrl::parse(&t.raw) {
                let f = UrlFact::plain(u, UrlSource::HtmlText, t.defanged, t.invisible_chars);
                if !self.push_url(f) {
                    break;
                }
            }
        }
        let agg = &mut self.facts.html;
        agg.forms += hf.forms;
        agg.form_actions.extend(hf.form_actions.into_iter().take(8));
        agg.password_inputs += hf.password_inputs;
        if agg.meta_refresh.is_none() {
            agg.meta_refresh = hf.meta_refresh;
        }
        if agg.title.is_none() {
            agg.title = hf.title.filter(|t| !t.trim().is_empty());
        }
        agg.scripts += hf.scripts;
        agg.images += hf.images;
        agg.visible_text_chars += hf.visible_text_chars;
        agg.hidden_text_chars += hf.hidden_text_chars;
        agg.hidden_samples.extend(hf.hidden_samples);
        agg.truncated |= hf.truncated;
        password_candidates(&hf.visible_text, &mut self.facts.password_candidates);
        push_reader_text(&mut self.facts.reader_text, &hf.visible_text);
        for a in hf.alt_texts {
            if self.facts.alt_texts.len() < 32 {
                self.facts.alt_texts.push(a);
            }
        }
    }

    fn attachment(&mut self, part: &mail_parser::MessagePart<'_>, data: &[u8]) {
        let declared_type = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(s) => format!("{}/{}", c.ctype(), s),
                None => c.ctype().to_string(),
            })
            .unwrap_or_default()
            .to_ascii_lowercase();
        let name = part
            .attachment_name()
            .map(|n| n.chars().take(255).collect());
        if self.facts.attachments.len() < 256 {
            self.facts.attachments.push(Attachment {
                name,
                declared_type,
                sniffed: Sniffed::of(data),
                size: data.len(),
                sha256: sha2::Sha256::digest(data).into(),
                data: data.to_vec(),
            });
        }
    }
}

/// Words offered as a password in the text ("Password: X7k9", "the code is
/// 4411", "пароль: …"), at most 20, for opening encrypted attachments.
pub(crate) fn password_candidates(text: &str, out: &mut Vec<String>) {
    const KEYS: &[&str] = &[
        "password",
        "passwort",
        "passcode",
        "mot de passe",
        "contraseña",
        "senha",
        "pwd",
        "pass:",
        "pass -",
        "code:",
        "code is",
        "пароль",
        "密码",
        "パスワード",
        "wachtwoord",
        "hasło",
    ];
    for line in text.lines().take(20_000) {
        if out.len() >= 20 {
            return;
        }
        let lower = line.to_lowercase();
        let Some((at, key)) = KEYS
            .iter()
            .filter_map(|k| lower.find(k).map(|i| (i, *k)))
            .min_by_key(|(i, _)| *i)
        else {
            continue;
        };
        // Offsets in `lower` match `line` only when lower-casing kept the
        // length; otherwise fall back to the lower-cased text.
        let src = if lower.len() == line.len() {
            line
        } else {
            lower.as_str()
        };
        let Some(rest) = src.get(at + key.len()..) else {
            continue;
        };
        let rest = rest
            .trim_start_matches(|c: char| c == ':' || c == '-' || c == '=' || c.is_whitespace());
        let rest = rest
            .strip_prefix("is ")
            .or_else(|| rest.strip_prefix("IS "))
            .unwrap_or(rest);
        let rest = rest.trim_start_matches(|c: char| c == ':' || c.is_whitespace());
        let token: String = rest
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_matches(|c: char| {
                matches!(
                    c,
                    '"' | '\'' | '.' | ',' | ';' | '(' | ')' | '[' | ']' | '<' | '>' | '*' | '`'
                )
            })
            .chars()
            .take(64)
            .collect();
        if (3..=64).contains(&token.chars().count()) && !out.contains(&token) {
            out.push(token);
        }
    }
}

/// `s` cut to at most `max` bytes, at a char boundary.
pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Add the decoded targets of redirectors and wrappers as URLs of their own,
/// so every check sees where a click really goes.
fn add_unwrapped(facts: &mut Facts, max_urls: usize) {
    let n = facts.urls.len();
    for i in 0..n {
        if facts.urls.len() >= max_urls + 64 {
            break;
        }
        let mut current = i;
        // Wrappers nest (safelinks around google/url around the target).
        for _ in 0..3 {
            let Some(t) = url::unwrap_redirect(&facts.urls[current].url) else {
                break;
            };
            let Some(target) = ParsedUrl::parse(&t.target) else {
                break;
            };
            let base = &facts.urls[current];
            let f = UrlFact {
                url: target,
                source: UrlSource::Unwrapped,
                anchor_text: base.anchor_text.clone(),
                anchor_has_img: base.anchor_has_img,
                defanged: false,
                invisible_chars: false,
                via: Some(current),
                via_known_redirector: t.known && !t.security_wrapper,
                via_security_wrapper: t.security_wrapper,
            };
            facts.urls.push(f);
            current = facts.urls.len() - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_passwords_in_text() {
        let mut out = Vec::new();
        password_candidates(
            "Invoice attached.\nPassword: X7k9q!\nThe archive code is 4411.\nпароль: Секрет12\nnothing here",
            &mut out,
        );
        assert_eq!(
            out,
            vec![
                "X7k9q!".to_string(),
                "4411".to_string(),
                "Секрет12".to_string()
            ]
        );
    }
}
