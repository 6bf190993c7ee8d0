//! HTML scanning and writing: a tolerant tokenizer, attributes, entities, URLs in text.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SegKind {
    /// Character data between tags.
    Text,
    /// A start or end tag.
    Tag,
    /// Comments, doctypes and the content of script/style/title/textarea.
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct Seg {
    pub(super) kind: SegKind,
    pub(super) start: usize,
    pub(super) end: usize,
    /// Lower-case tag name (tags only).
    pub(super) name: String,
    pub(super) closing: bool,
}

/// Split HTML into text, tags and the rest, the way a browser would for
/// our purposes; linear in the input, never fails.
pub(super) fn tokenize(html: &str) -> Vec<Seg> {
    let b = html.as_bytes();
    let n = b.len();
    let mut segs = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let push = |segs: &mut Vec<Seg>, kind, start: usize, end: usize, name: String, closing| {
        if end > start {
            segs.push(Seg {
                kind,
                start,
                end,
                name,
                closing,
            });
        }
    };
    while i < n {
        let Some(off) = b.get(i..).and_then(|s| s.iter().position(|&c| c == b'<')) else {
            break;
        };
        let lt = i + off;
        let next = b.get(lt + 1).copied();
        if b.get(lt..).is_some_and(|s| s.starts_with(b"<!--")) {
            push(
                &mut segs,
                SegKind::Text,
                text_start,
                lt,
                String::new(),
                false,
            );
            let end = find_bytes(b, lt + 4, b"-->").map_or(n, |p| p + 3);
            push(&mut segs, SegKind::Other, lt, end, String::new(), false);
            i = end;
            text_start = end;
            continue;
        }
        match next {
            Some(b'!' | b'?') => {
                push(
                    &mut segs,
                    SegKind::Text,
                    text_start,
                    lt,
                    String::new(),
                    false,
                );
                let end = b
                    .get(lt..)
                    .and_then(|s| s.iter().position(|&c| c == b'>'))
                    .map_or(n, |p| lt + p + 1);
                push(&mut segs, SegKind::Other, lt, end, String::new(), false);
                i = end;
                text_start = end;
            }
            Some(c)
                if c.is_ascii_alphabetic()
                    || (c == b'/' && b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic)) =>
            {
                let Some(end) = tag_end(b, lt) else {
                    break;
                };
                let closing = c == b'/';
                let name_start = lt + 1 + usize::from(closing);
                let name_len = b
                    .get(name_start..end)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-' || c == b':')
                    .count();
                let name = html
                    .get(name_start..name_start + name_len)
                    .unwrap_or("")
                    .to_ascii_lowercase();
                push(
                    &mut segs,
                    SegKind::Text,
                    text_start,
                    lt,
                    String::new(),
                    false,
                );
                let raw_text = !closing
                    && matches!(
                        name.as_str(),
                        "script" | "style" | "title" | "textarea" | "xmp"
                    );
                let close_pat = format!("</{name}");
                push(&mut segs, SegKind::Tag, lt, end, name, closing);
                i = end;
                text_start = end;
                if raw_text {
                    let stop = find_bytes_ci(b, end, close_pat.as_bytes()).unwrap_or(n);
                    push(&mut segs, SegKind::Other, end, stop, String::new(), false);
                    i = stop;
                    text_start = stop;
                }
            }
            _ => i = lt + 1,
        }
    }
    push(
        &mut segs,
        SegKind::Text,
        text_start,
        n,
        String::new(),
        false,
    );
    segs
}

/// The end (after `>`) of the tag starting at `lt`, quotes honoured.
pub(super) fn tag_end(b: &[u8], lt: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    let mut last_non_space = 0u8;
    let mut i = lt + 1;
    while let Some(&c) = b.get(i) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'>' => return Some(i + 1),
            None if (c == b'"' || c == b'\'') && last_non_space == b'=' => quote = Some(c),
            None => {}
        }
        if !c.is_ascii_whitespace() {
            last_non_space = c;
        }
        i += 1;
    }
    None
}

pub(super) fn find_bytes(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

pub(super) fn find_bytes_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

#[derive(Debug, Clone)]
pub(super) struct Attr {
    pub(super) name: String,
    /// The value's byte range in the tag (without quotes).
    pub(super) value: Option<Range<usize>>,
    /// `"`, `'` or 0 (unquoted).
    pub(super) quote: u8,
}

pub(super) fn is_space(c: u8) -> bool {
    c.is_ascii_whitespace()
}

/// The attributes of a tag (`<a href="...">`).
pub(super) fn tag_attrs(tag: &str) -> Vec<Attr> {
    let b = tag.as_bytes();
    let n = b.len();
    let mut i = if b.get(1) == Some(&b'/') { 2 } else { 1 };
    while i < n && !is_space(b[i]) && b[i] != b'>' && b[i] != b'/' {
        i += 1;
    }
    let mut out = Vec::new();
    loop {
        while i < n && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if i >= n || b[i] == b'>' {
            break;
        }
        let ns = i;
        if b[i] == b'=' {
            i += 1;
            continue;
        }
        while i < n && !is_space(b[i]) && b[i] != b'=' && b[i] != b'>' && b[i] != b'/' {
            i += 1;
        }
        let name = tag.get(ns..i).unwrap_or("").to_ascii_lowercase();
        let mut j = i;
        while j < n && is_space(b[j]) {
            j += 1;
        }
        if j < n && b[j] == b'=' {
            j += 1;
            while j < n && is_space(b[j]) {
                j += 1;
            }
            if j < n && (b[j] == b'"' || b[j] == b'\'') {
                let q = b[j];
                let vs = j + 1;
                let ve = b
                    .get(vs..)
                    .and_then(|s| s.iter().position(|&c| c == q))
                    .map_or(n.saturating_sub(1).max(vs), |p| vs + p);
                out.push(Attr {
                    name,
                    value: Some(vs..ve),
                    quote: q,
                });
                i = (ve + 1).min(n);
            } else {
                let vs = j;
                while j < n && !is_space(b[j]) && b[j] != b'>' {
                    j += 1;
                }
                out.push(Attr {
                    name,
                    value: Some(vs..j),
                    quote: 0,
                });
                i = j;
            }
        } else {
            out.push(Attr {
                name,
                value: None,
                quote: 0,
            });
        }
        if i == ns {
            i += 1;
        }
    }
    out
}

/// The decoded value of attribute `name`.
pub(super) fn attr_value(tag: &str, name: &str) -> Option<String> {
    tag_attrs(tag)
        .into_iter()
        .find(|a| a.name == name)
        .and_then(|a| a.value)
        .and_then(|v| tag.get(v))
        .map(|v| decode_entities(v).trim().to_string())
}

/// The tag with `attr`'s value replaced by `new` (escaped, quoted).
pub(super) fn replace_attr_value(tag: &str, attr: &Attr, new: &str) -> String {
    let Some(v) = &attr.value else {
        return tag.to_string();
    };
    let (Some(head), Some(tail)) = (tag.get(..v.start), tag.get(v.end..)) else {
        return tag.to_string();
    };
    if attr.quote == 0 {
        format!("{head}\"{}\"{tail}", esc_attr(new))
    } else {
        format!("{head}{}{tail}", esc_attr(new))
    }
}

/// The attribute holding the link of a start tag: `href` of `<a>` and
/// `<area>`, `action` of `<form>` (a credential form posts to the kit).
pub(super) fn link_attr_name(seg: &Seg) -> Option<&'static str> {
    if seg.kind != SegKind::Tag || seg.closing {
        return None;
    }
    match seg.name.as_str() {
        "a" | "area" => Some("href"),
        "form" => Some("action"),
        _ => None,
    }
}

/// The http(s) link of a start tag (see [`link_attr_name`]).
pub(super) fn seg_link(seg: &Seg, raw: &str) -> Option<String> {
    link_attr_name(seg)
        .and_then(|name| attr_value(raw, name))
        .filter(|u| is_http(u))
}

pub(super) fn is_http(url: &str) -> bool {
    starts_with_ci(url, "http://") || starts_with_ci(url, "https://")
}

pub(super) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Text as a browser reads it: the scanner's own decoder, so a variant is
/// read the way outwork reads it.
pub(super) fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(outwork_core::decode_entities(s))
}

/// Whether `&ent;` names a character (a short table: enough to tell an
/// entity from a bare `&` when rewriting text).
pub(super) fn entity_char(ent: &str) -> Option<char> {
    if let Some(num) = ent.strip_prefix('#') {
        let v = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(v).filter(|&c| c != '\0');
    }
    Some(match ent {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "middot" => '·',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "laquo" => '«',
        "raquo" => '»',
        "shy" => '\u{ad}',
        "zwnj" => '\u{200c}',
        "zwj" => '\u{200d}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        _ => return None,
    })
}

pub(super) fn esc_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn esc_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Byte ranges of the http(s) URLs in plain text.
pub(super) fn find_text_urls(s: &str) -> Vec<Range<usize>> {
    let lower = s.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = lower.get(from..).and_then(|r| r.find("http")) {
        let start = from + p;
        let after = start + 4;
        let rest = lower.get(after..).unwrap_or("");
        let scheme_len = if rest.starts_with("s://") {
            8
        } else if rest.starts_with("://") {
            7
        } else {
            from = after;
            continue;
        };
        if start > 0 && b.get(start - 1).is_some_and(u8::is_ascii_alphanumeric) {
            from = after;
            continue;
        }
        let body_start = start + scheme_len;
        let mut end = s.get(body_start..).map_or(body_start, |tail| {
            body_start
                + tail
                    .char_indices()
                    .find(|&(_, c)| {
                        c.is_whitespace()
                            || c.is_control()
                            || matches!(
                                c,
                                '<' | '>' | '"' | '\'' | '`' | '\u{200b}'..='\u{200d}' | '\u{feff}'
                            )
                    })
                    .map_or(tail.len(), |(i, _)| i)
        });
        // Trailing punctuation is not part of the URL, nor is a closing
        // bracket that opens nowhere in it (counted once: linear).
        let url = s.get(start..end).unwrap_or("");
        let mut parens = url.matches('(').count() as isize - url.matches(')').count() as isize;
        let mut brackets = url.matches('[').count() as isize - url.matches(']').count() as isize;
        while end > body_start {
            let Some(last) = s.get(start..end).and_then(|u| u.chars().last()) else {
                break;
            };
            let trim = match last {
                '.' | ',' | ';' | ':' | '!' | '?' | '*' | '}' => true,
                ')' if parens < 0 => {
                    parens += 1;
                    true
                }
                ']' if brackets < 0 => {
                    brackets += 1;
                    true
                }
                _ => false,
            };
            if !trim {
                break;
            }
            end -= last.len_utf8();
        }
        if end > body_start {
            out.push(start..end);
        }
        from = end.max(after);
    }
    out
}

/// Plain text as a simple HTML document: paragraphs, line breaks, links.
pub(super) fn text_to_html(text: &str) -> String {
    render_html(text, &[])
}

/// Render text with `[[LINKn]]` placeholders as a simple HTML document.
pub(super) fn render_html(text: &str, links: &[PLink]) -> String {
    let mut body = String::new();
    for para in text.split("\n\n") {
        let para = para.trim_matches('\n');
        if para.trim().is_empty() {
            continue;
        }
        body.push_str("<p>");
        for (i, line) in para.split('\n').enumerate() {
            if i > 0 {
                body.push_str("<br>\n");
            }
            for piece in split_placeholders(line) {
                match piece {
                    Piece::Text(t) => body.push_str(&linkify(t)),
                    Piece::Link(n) => {
                        if let Some(l) = n.checked_sub(1).and_then(|k| links.get(k)) {
                            body.push_str(&anchor_html(l));
                        }
                    }
                }
            }
        }
        body.push_str("</p>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{body}</body></html>\n"
    )
}

pub(super) fn anchor_html(l: &PLink) -> String {
    let text = if l.anchor.trim().is_empty() {
        &l.url
    } else {
        &l.anchor
    };
    format!("<a href=\"{}\">{}</a>", esc_attr(&l.url), esc_text(text))
}

/// Escaped text with its URLs as links.
pub(super) fn linkify(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut last = 0;
    for r in find_text_urls(t) {
        out.push_str(&esc_text(t.get(last..r.start).unwrap_or("")));
        let url = t.get(r.clone()).unwrap_or("");
        let _ = write!(out, "<a href=\"{}\">{}</a>", esc_attr(url), esc_text(url));
        last = r.end;
    }
    out.push_str(&esc_text(t.get(last..).unwrap_or("")));
    out
}
