//! iCalendar invites: URLs in their properties.

use super::*;

pub(super) fn inspect_ics(path: &str, data: &[u8], sink: &mut Sink) {
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
