//! HTML and SVG: smuggling and script indicators, forms posting
//! elsewhere, meta refreshes.

use super::*;

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

pub(super) fn inspect_html(path: &str, data: &[u8], sink: &mut Sink) {
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
