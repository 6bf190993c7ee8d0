//! One value a line: URL and domain lists, hosts files, CIDR, SHA-256, the OpenPhish history.

use super::*;

/// First whitespace-separated token of `s`, and the rest (trimmed).
pub(super) fn first_token(s: &str) -> (&str, &str) {
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

pub(super) fn url_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if t[0] == b'#' {
        return;
    }
    let s = lossy(t);
    match url_value(&s) {
        Ok(u) => push(out, Value::Url(u), None, no),
        Err(e) => malformed(out, no, t, e),
    }
}

pub(super) fn domain_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if t[0] == b'#' {
        return;
    }
    let s = lossy(t);
    let (tok, rest) = first_token(&s);
    if !rest.is_empty() && !rest.starts_with('#') {
        malformed(out, no, t, "text after the hostname");
        return;
    }
    match domain_value(tok) {
        Ok(d) => push(out, Value::Domain(d), None, no),
        Err(e) => malformed(out, no, t, e),
    }
}

pub(super) fn is_local_name(n: &str) -> bool {
    [
        "localhost",
        "localhost.localdomain",
        "local",
        "broadcasthost",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
        "0.0.0.0",
    ]
    .iter()
    .any(|l| n.eq_ignore_ascii_case(l))
}

pub(super) fn parse_ip_token(tok: &str) -> Option<IpAddr> {
    let tok = tok.split_once('%').map_or(tok, |(a, _)| a);
    tok.parse().ok()
}

pub(super) fn hosts_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if t[0] == b'#' {
        return;
    }
    let s = lossy(t);
    let body = s.split_once('#').map_or(&*s, |(b, _)| b);
    let mut toks = body.split_ascii_whitespace();
    let Some(ip) = toks.next() else { return };
    if parse_ip_token(ip).is_none() {
        malformed(out, no, t, "expected an IP address and hostnames");
        return;
    }
    let mut names = 0;
    let mut err = None;
    for name in toks {
        names += 1;
        if is_local_name(name) {
            out.skipped += 1;
            continue;
        }
        match domain_value(name) {
            Ok(d) => push(out, Value::Domain(d), None, no),
            Err(e) => err = err.or(Some(e)),
        }
    }
    if names == 0 {
        malformed(out, no, t, "IP address without a hostname");
    } else if let Some(e) = err {
        malformed(out, no, t, e);
    }
}

pub(super) fn cidr_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if matches!(t[0], b'#' | b';') {
        return;
    }
    let s = lossy(t);
    let body = s.find([';', '#']).map_or(&*s, |i| &s[..i]).trim();
    let (tok, _) = first_token(body);
    match cidr_value(tok) {
        Ok(v) => push(out, v, None, no),
        Err(e) => malformed(out, no, t, e),
    }
}

pub(super) fn sha_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if t[0] == b'#' {
        return;
    }
    match sha256_value(t) {
        Ok(h) => push(out, Value::Sha256(h), None, no),
        Err(e) => malformed(out, no, t, e),
    }
}

pub(super) fn history_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if t[0] == b'#' {
        return;
    }
    let mut cols = t.split(|&b| b == b'\t');
    let url = cols.next().unwrap_or_default().trim_ascii();
    if url.eq_ignore_ascii_case(b"url") {
        out.skipped += 1;
        return;
    }
    let first_seen = cols
        .next()
        .and_then(|f| std::str::from_utf8(f.trim_ascii()).ok())
        .and_then(parse_time);
    match url_value(&lossy(url)) {
        Ok(u) => push(out, Value::Url(u), first_seen, no),
        Err(e) => malformed(out, no, t, e),
    }
}
