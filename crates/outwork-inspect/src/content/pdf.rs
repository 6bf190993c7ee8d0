//! PDF: `/URI` links and active content (Launch, JavaScript,
//! EmbeddedFile, AcroForm, OpenAction), in the file and in its inflated
//! streams.

use super::*;

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
pub(super) fn inspect_pdf(path: &str, data: &[u8], sink: &mut Sink) {
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
