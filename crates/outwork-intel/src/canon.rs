//! Safe Browsing URL canonicalisation and suffix/prefix expressions.
//!
//! Implements "URLs and Hashing" of the Google Safe Browsing API (v4
//! `developers.google.com/safe-browsing/v4/urls-hashing`, and the v5
//! reference page, which adds the bracketed-IPv6 rules):
//!
//! 1. remove tab (0x09), CR (0x0d) and LF (0x0a); trim leading/trailing
//!    whitespace; remove the fragment;
//! 2. repeatedly percent-unescape the whole URL until nothing changes;
//! 3. host: strip userinfo and port, remove leading/trailing dots, collapse
//!    consecutive dots, IDN → punycode, any legal IPv4 spelling (decimal,
//!    octal, hex, fewer than four parts) → dotted decimal, bracketed IPv6 →
//!    compressed form (IPv4-mapped and NAT64 `64:ff9b::/96` → IPv4),
//!    lowercase;
//! 4. path: resolve `/./` and `/../`, collapse consecutive slashes (the query
//!    is left alone);
//! 5. percent-escape every byte `<= 0x20`, `>= 0x7f`, `#` and `%` with
//!    uppercase hex.
//!
//! The URL is parsed the way Google's reference client
//! (`github.com/google/safebrowsing`, `urls.go`) does it, after unescaping:
//! an optional scheme (`http` when missing, `www.x.com:80/` is host:port,
//! not a scheme), the query starts at the first `?`, the host ends at the
//! first `/`. Unlike that client, the query is kept, as the published
//! examples require (`http://www.google.com/q?r?s`).
//!
//! Deviations and choices (documented, deliberate):
//! * Input is `&str`, so the spec's byte example `"http://\x01\x80.com/"`
//!   cannot be written literally: a char `>= 0x80` is handled as its UTF-8
//!   bytes, which are percent-escaped (`"\x01\u{80}"` → `%01%C2%80`). The
//!   byte-faithful spelling `"http://%01%80.com/"` gives the spec's
//!   `http://%01%80.com/` exactly.
//! * The canonical URL omits the port, as the v4/v5 example
//!   `http://www.gotaport.com:1234/` → `http://www.gotaport.com/` requires
//!   (the old v2 page kept it). The port is still reported in
//!   [`Canonical::port`] (`None` when absent or the scheme's default).
//! * Input is capped at 8 KiB (longer input is truncated, so a padded URL
//!   still yields its host and path expressions) and unescaping at 16
//!   rounds.
//! * A path ending in `/.` or `/..` keeps a trailing slash (`/a/b/..` →
//!   `/a/`), as browsers resolve it; the spec's only such example
//!   (`/blah/..` → `/`) agrees.
//! * IPv4 parts must be legal (non-final parts ≤ 255, final part within the
//!   remaining bits); an illegal spelling such as `276.2.3` is treated as a
//!   hostname rather than truncated.
//! * An empty query (`/q?`) is kept in the canonical URL but adds no extra
//!   expression.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest input looked at, in bytes; longer input is truncated.
const MAX_INPUT: usize = 8 * 1024;
/// Most percent-unescape rounds.
const MAX_UNESCAPE_ROUNDS: usize = 16;
/// Host suffixes are formed from at most this many trailing components.
const MAX_SUFFIX_COMPONENTS: usize = 5;
/// Path prefixes: "/" plus up to this many minus one directory levels.
const MAX_PATH_PREFIXES: usize = 4;

/// A URL canonicalised per Safe Browsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Canonical {
    /// Lowercase scheme; `http` when the input had none.
    pub scheme: String,
    /// Canonical host, percent-escaped: a lowercase (punycode) hostname,
    /// dotted-decimal IPv4 or bracketed compressed IPv6.
    pub host: String,
    /// Explicit port, `None` when absent, unparsable or the scheme's default
    /// (80 http, 443 https, 21 ftp). Not part of [`Canonical::to_url`].
    pub port: Option<u16>,
    /// Canonical path, percent-escaped, always starting with `/`.
    pub path: String,
    /// Query (without `?`), percent-escaped; `Some("")` for a bare `?`.
    pub query: Option<String>,
}

impl Canonical {
    /// None for input that has no host (e.g. "mailto:x", "", "http://").
    pub fn parse(url: &str) -> Option<Canonical> {
        let bytes = preprocess(url);
        let (scheme, rest) = split_scheme(&bytes);
        let (rest, query) = match rest.iter().position(|&b| b == b'?') {
            Some(i) => {
                let (before, after) = rest.split_at(i);
                (before, Some(after.get(1..).unwrap_or_default()))
            }
            None => (rest, None),
        };
        let rest: &[u8] = match &scheme {
            Some(_) => rest.strip_prefix(b"//")?,
            // Protocol-relative ("//host/path") is accepted too.
            None => rest.strip_prefix(b"//").unwrap_or(rest),
        };
        let (authority, path) = match rest.iter().position(|&b| b == b'/') {
            Some(i) => rest.split_at(i),
            None => (rest, &[][..]),
        };
        let scheme = scheme.unwrap_or_else(|| "http".to_string());
        let (host, port) = canon_authority(authority)?;
        let port = port.filter(|&p| Some(p) != default_port(&scheme));
        Some(Canonical {
            scheme,
            host,
            port,
            path: escape(&canon_path(path)),
            query: query.map(escape),
        })
    }

    /// The full canonical URL string, e.g. "http://www.google.com/".
    /// The port is omitted, as in the spec's examples.
    pub fn to_url(&self) -> String {
        let mut s = String::with_capacity(
            self.scheme.len()
                + 3
                + self.host.len()
                + self.path.len()
                + 1
                + self.query.as_ref().map_or(0, String::len),
        );
        s.push_str(&self.scheme);
        s.push_str("://");
        s.push_str(&self.host);
        s.push_str(&self.path);
        if let Some(q) = &self.query {
            s.push('?');
            s.push_str(q);
        }
        s
    }

    /// The host-suffix × path-prefix expressions, at most 30, spec order:
    /// for each host suffix (exact host first), the exact path with query,
    /// the exact path, then "/" and up to three directory prefixes.
    pub fn expressions(&self) -> Vec<String> {
        let hosts = self.host_suffixes();
        let paths = self.path_prefixes();
        let mut out = Vec::with_capacity(hosts.len() * paths.len());
        for h in &hosts {
            for p in &paths {
                let mut e = String::with_capacity(h.len() + p.len());
                e.push_str(h);
                e.push_str(p);
                out.push(e);
            }
        }
        out
    }

    /// The same expressions as [`Canonical::expressions`], in the same
    /// order, handed out as borrowed parts (host, path, query) instead of
    /// new strings: the lookup hot path hashes them without allocating.
    pub fn for_each_expression(&self, mut f: impl FnMut(&str, &str, Option<&str>)) {
        let host = self.host.as_str();
        if host.is_empty() {
            return;
        }
        if !self.path.starts_with('/') {
            // Not produced by `parse`; keep the exact semantics anyway.
            for e in self.expressions() {
                f(&e, "", None);
            }
            return;
        }
        let path = self.path.as_str();
        let query = self.query.as_deref().filter(|q| !q.is_empty());
        // Path prefixes, spec order, without duplicates: at most 6.
        let mut prefixes: [(&str, bool); 6] = [("", false); 6];
        let mut n = 0;
        fn push<'a>(
            prefixes: &mut [(&'a str, bool); 6],
            n: &mut usize,
            p: &'a str,
            with_query: bool,
        ) {
            if *n < prefixes.len()
                && !prefixes[..*n]
                    .iter()
                    .any(|&(q, w)| q == p && w == with_query)
            {
                prefixes[*n] = (p, with_query);
                *n += 1;
            }
        }
        if query.is_some() {
            push(&mut prefixes, &mut n, path, true);
        }
        push(&mut prefixes, &mut n, path, false);
        push(&mut prefixes, &mut n, &path[..1], false);
        let dirs = path
            .char_indices()
            .skip(1)
            .filter(|&(_, c)| c == '/')
            .take(MAX_PATH_PREFIXES - 1);
        for (i, _) in dirs {
            push(&mut prefixes, &mut n, &path[..=i], false);
        }
        let mut emit = |h: &str| {
            for &(p, with_query) in &prefixes[..n] {
                f(h, p, if with_query { query } else { None });
            }
        };
        emit(host);
        if is_ip_host(host) {
            return;
        }
        let starts: Vec<usize> = std::iter::once(0)
            .chain(host.match_indices('.').map(|(i, _)| i + 1))
            .collect();
        let comps = starts.len();
        let first = comps.saturating_sub(MAX_SUFFIX_COMPONENTS).max(1);
        for &start in starts.iter().take(comps.saturating_sub(1)).skip(first) {
            if let Some(tail) = host.get(start..) {
                emit(tail);
            }
        }
    }

    /// Host-suffix expressions only (for domain lists): "a.b.c.d", "b.c.d",
    /// "c.d" (no bare TLD), at most 5. For an IP host only the IP itself.
    pub fn host_suffixes(&self) -> Vec<String> {
        let host = self.host.as_str();
        if host.is_empty() {
            return Vec::new();
        }
        let mut out = vec![host.to_string()];
        if is_ip_host(host) {
            return out;
        }
        let comps: Vec<&str> = host.split('.').collect();
        let n = comps.len();
        let start = n.saturating_sub(MAX_SUFFIX_COMPONENTS).max(1);
        for i in start..n.saturating_sub(1) {
            if let Some(tail) = comps.get(i..) {
                out.push(tail.join("."));
            }
        }
        out
    }

    /// Path-prefix expressions, at most 6, spec order.
    fn path_prefixes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(6);
        let mut push = |p: String| {
            if !out.contains(&p) {
                out.push(p);
            }
        };
        let path = if self.path.starts_with('/') {
            self.path.clone()
        } else {
            format!("/{}", self.path)
        };
        if let Some(q) = self.query.as_deref().filter(|q| !q.is_empty()) {
            push(format!("{path}?{q}"));
        }
        push(path.clone());
        let mut comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        if !path.ends_with('/') {
            comps.pop(); // the last component is a file, not a directory
        }
        let mut prefix = String::from("/");
        push(prefix.clone());
        for c in comps.iter().take(MAX_PATH_PREFIXES - 1) {
            prefix.push_str(c);
            prefix.push('/');
            push(prefix.clone());
        }
        out
    }
}

/// Canonical form of a bare host or domain-list entry ("WWW.Example.COM." ->
/// "www.example.com"), same host rules as [`Canonical::parse`] (a `:port` is
/// dropped); None if invalid/empty or if it holds URL structure (`/`, `?`,
/// `#`, `@`).
pub fn canonical_host(host: &str) -> Option<String> {
    if host.contains('#') {
        return None;
    }
    let bytes = preprocess(host);
    if bytes.iter().any(|&b| matches!(b, b'/' | b'?' | b'@')) {
        return None;
    }
    canon_authority(&bytes).map(|(h, _)| h)
}

// ---------------------------------------------------------------------------
// Steps.

/// Cap, drop the fragment, trim whitespace, remove tab/CR/LF, unescape.
fn preprocess(input: &str) -> Vec<u8> {
    let mut end = input.len().min(MAX_INPUT);
    while !input.is_char_boundary(end) {
        end -= 1; // terminates: 0 is always a char boundary
    }
    let s = input.get(..end).unwrap_or_default().as_bytes();
    let s = match s.iter().position(|&b| b == b'#') {
        Some(i) => s.split_at(i).0,
        None => s,
    };
    let s = s.trim_ascii();
    let cleaned: Vec<u8> = if s.iter().any(|&b| matches!(b, b'\t' | b'\r' | b'\n')) {
        s.iter()
            .copied()
            .filter(|&b| !matches!(b, b'\t' | b'\r' | b'\n'))
            .collect()
    } else {
        s.to_vec()
    };
    recursive_unescape(cleaned)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One round of percent-unescaping; invalid escapes are kept as they are.
fn unescape_once(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex_val),
                s.get(i + 2).copied().and_then(hex_val),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

fn recursive_unescape(mut s: Vec<u8>) -> Vec<u8> {
    for _ in 0..MAX_UNESCAPE_ROUNDS {
        // Most URLs carry no escapes: skip the copy and the comparison.
        if !s.contains(&b'%') {
            break;
        }
        let t = unescape_once(&s);
        if t == s {
            break;
        }
        s = t;
    }
    s
}

/// Percent-escape bytes <= 0x20, >= 0x7f, '#' and '%' (uppercase hex).
fn escape(s: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let needs = |b: u8| b <= 0x20 || b >= 0x7f || b == b'#' || b == b'%';
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    // Copy runs of safe bytes whole (they are ASCII, hence valid UTF-8).
    while !rest.is_empty() {
        let run = rest.iter().position(|&b| needs(b)).unwrap_or(rest.len());
        if let Ok(safe) = std::str::from_utf8(&rest[..run]) {
            out.push_str(safe);
        }
        let Some(&b) = rest.get(run) else { break };
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
        rest = &rest[run + 1..];
    }
    out
}

/// Does `s` (starting with ':') look like `:digits` followed by '/' or end?
fn is_port_at(s: &[u8]) -> bool {
    let digits = s.iter().skip(1).take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && matches!(s.get(1 + digits), None | Some(b'/'))
}

/// Split off a scheme the way Google's reference client does: letters, then
/// letters/digits/`+-.`, then ':' not followed by a port number.
fn split_scheme(s: &[u8]) -> (Option<String>, &[u8]) {
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i > 0 => {
                let (scheme, rest) = s.split_at(i);
                if is_port_at(rest) {
                    continue; // "host:80/...": no scheme
                }
                let scheme = String::from_utf8_lossy(scheme).to_ascii_lowercase();
                return (Some(scheme), rest.get(1..).unwrap_or_default());
            }
            _ => return (None, s),
        }
    }
    (None, s)
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// Canonical (escaped) host and port from an unescaped authority.
fn canon_authority(authority: &[u8]) -> Option<(String, Option<u16>)> {
    let hostport = match authority.iter().rposition(|&b| b == b'@') {
        Some(i) => authority.get(i + 1..).unwrap_or_default(),
        None => authority,
    };
    let (host, port) = split_port(hostport)?;
    let port = port
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| p.parse::<u16>().ok());
    Some((canon_host_bytes(host)?, port))
}

/// Split "host:port" / "[v6]:port". The port may be empty. A ':' followed by
/// anything but digits stays in the host (as in the reference client).
fn split_port(h: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    if h.first() == Some(&b'[') {
        let close = h.iter().position(|&b| b == b']')?;
        let (host, after) = h.split_at(close + 1);
        return match after.split_first() {
            None => Some((host, None)),
            Some((b':', digits)) if digits.iter().all(u8::is_ascii_digit) => {
                Some((host, Some(digits)))
            }
            Some(_) => None,
        };
    }
    match h.iter().rposition(|&b| b == b':') {
        Some(i) => {
            let (host, after) = h.split_at(i);
            let digits = after.get(1..).unwrap_or_default();
            if digits.iter().all(u8::is_ascii_digit) {
                Some((host, Some(digits)))
            } else {
                Some((h, None))
            }
        }
        None => Some((h, None)),
    }
}

/// Remove leading/trailing dots and collapse runs of dots.
fn collapse_dots(h: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(h.len());
    for &b in h {
        if b == b'.' && out.last().is_none_or(|&l| l == b'.') {
            continue;
        }
        out.push(b);
    }
    if out.last() == Some(&b'.') {
        out.pop();
    }
    out
}

/// Canonical (escaped) form of an unescaped host without port/userinfo.
fn canon_host_bytes(h: &[u8]) -> Option<String> {
    if h.first() == Some(&b'[') {
        return canon_ipv6(h);
    }
    let mut host = collapse_dots(h);
    if !host.is_ascii() {
        // IDN → punycode when the host is valid UTF-8 and IDNA accepts it;
        // otherwise its bytes are percent-escaped below.
        if let Ok(s) = std::str::from_utf8(&host)
            && let Ok(ascii) = idna::domain_to_ascii(s)
        {
            host = collapse_dots(ascii.as_bytes());
        }
    }
    if host.is_empty() {
        return None;
    }
    if let Some(ip) = parse_ipv4(&host) {
        return Some(ip.to_string());
    }
    host.make_ascii_lowercase();
    Some(escape(&host))
}

/// "[...]" → "[compressed v6]", or dotted IPv4 for IPv4-mapped and NAT64.
fn canon_ipv6(h: &[u8]) -> Option<String> {
    let inner = h.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let addr: Ipv6Addr = std::str::from_utf8(inner).ok()?.parse().ok()?;
    if let Some(v4) = addr.to_ipv4_mapped() {
        return Some(v4.to_string());
    }
    let o = addr.octets();
    if o.starts_with(&[0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]) {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]).to_string());
    }
    Some(format!("[{addr}]"))
}

/// One IPv4 part: decimal, octal (leading 0) or hex (0x); at most 32 bits.
fn parse_ipv4_part(p: &str) -> Option<u64> {
    let (digits, radix) = if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (hex, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (p.get(1..)?, 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() {
        // "0x" alone is 0 (as browsers read it); "" is no number.
        return (radix == 16).then_some(0);
    }
    let mut v: u64 = 0;
    for c in digits.chars() {
        let d = u64::from(c.to_digit(radix)?);
        v = v.checked_mul(u64::from(radix))?.checked_add(d)?;
        if v > u64::from(u32::MAX) {
            return None;
        }
    }
    Some(v)
}

/// Any legal IPv4 spelling with 1–4 parts (inet_aton / WHATWG rules).
fn parse_ipv4(host: &[u8]) -> Option<Ipv4Addr> {
    let s = std::str::from_utf8(host).ok()?;
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        nums.push(parse_ipv4_part(p)?);
    }
    let (&last, init) = nums.split_last()?;
    let mut v: u64 = 0;
    for &n in init {
        if n > 255 {
            return None;
        }
        v = (v << 8) | n;
    }
    let rem_bits = 8 * (5 - parts.len() as u32); // 32, 24, 16 or 8
    if last >= (1u64 << rem_bits) {
        return None;
    }
    v = (v << rem_bits) | last;
    u32::try_from(v).ok().map(Ipv4Addr::from)
}

/// Resolve "." and "..", collapse slashes; always starts with '/'.
fn canon_path(p: &[u8]) -> Vec<u8> {
    let mut segs: Vec<&[u8]> = Vec::new();
    let mut trailing = false;
    for seg in p.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => trailing = true,
            b".." => {
                segs.pop();
                trailing = true;
            }
            s => {
                segs.push(s);
                trailing = false;
            }
        }
    }
    let mut out = Vec::with_capacity(p.len() + 1);
    out.push(b'/');
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(s);
    }
    if trailing && !segs.is_empty() {
        out.push(b'/');
    }
    out
}

fn is_ip_host(host: &str) -> bool {
    host.starts_with('[') || host.parse::<Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(u: &str) -> Option<String> {
        Canonical::parse(u).map(|c| c.to_url())
    }

    /// Every canonicalisation example published on the Safe Browsing
    /// "URLs and Hashing" page (v4; the v5 page repeats them).
    const SPEC_VECTORS: &[(&str, &str)] = &[
        ("http://host/%25%32%35", "http://host/%25"),
        ("http://host/%25%32%35%25%32%35", "http://host/%25%25"),
        ("http://host/%2525252525252525", "http://host/%25"),
        ("http://host/asdf%25%32%35asd", "http://host/asdf%25asd"),
        (
            "http://host/%%%25%32%35asd%%",
            "http://host/%25%25%25asd%25%25",
        ),
        ("http://www.google.com/", "http://www.google.com/"),
        (
            "http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
            "http://168.188.99.26/.secure/www.ebay.com/",
        ),
        (
            "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
            "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
        ),
        (
            "http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B",
            "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+",
        ),
        ("http://3279880203/blah", "http://195.127.0.11/blah"),
        ("http://www.google.com/blah/..", "http://www.google.com/"),
        ("www.google.com/", "http://www.google.com/"),
        ("www.google.com", "http://www.google.com/"),
        ("http://www.evil.com/blah#frag", "http://www.evil.com/blah"),
        ("http://www.GOOgle.com/", "http://www.google.com/"),
        ("http://www.google.com.../", "http://www.google.com/"),
        (
            "http://www.google.com/foo\tbar\rbaz\n2",
            "http://www.google.com/foobarbaz2",
        ),
        ("http://www.google.com/q?", "http://www.google.com/q?"),
        ("http://www.google.com/q?r?", "http://www.google.com/q?r?"),
        ("http://www.google.com/q?r?s", "http://www.google.com/q?r?s"),
        ("http://evil.com/foo#bar#baz", "http://evil.com/foo"),
        ("http://evil.com/foo;", "http://evil.com/foo;"),
        ("http://evil.com/foo?bar;", "http://evil.com/foo?bar;"),
        // Spec: "http://\x01\x80.com/" (raw bytes). Byte-faithful spelling:
        ("http://%01%80.com/", "http://%01%80.com/"),
        ("http://notrailingslash.com", "http://notrailingslash.com/"),
        ("http://www.gotaport.com:1234/", "http://www.gotaport.com/"),
        ("  http://www.google.com/  ", "http://www.google.com/"),
        ("http:// leadingspace.com/", "http://%20leadingspace.com/"),
        ("http://%20leadingspace.com/", "http://%20leadingspace.com/"),
        ("%20leadingspace.com/", "http://%20leadingspace.com/"),
        ("https://www.securesite.com/", "https://www.securesite.com/"),
        ("http://host.com/ab%23cd", "http://host.com/ab%23cd"),
        (
            "http://host.com//twoslashes?more//slashes",
            "http://host.com/twoslashes?more//slashes",
        ),
    ];

    #[test]
    fn canon_spec_vectors() {
        assert_eq!(SPEC_VECTORS.len(), 33);
        let mut failed = Vec::new();
        for &(input, want) in SPEC_VECTORS {
            let got = canon(input);
            if got.as_deref() != Some(want) {
                failed.push(format!("{input:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(
            failed.is_empty(),
            "failed spec vectors:\n{}",
            failed.join("\n")
        );
    }

    #[test]
    fn canon_spec_raw_byte_example_as_str() {
        // The spec's "http://\x01\x80.com/" operates on bytes; as &str the
        // char U+0080 is the UTF-8 bytes C2 80, each escaped.
        assert_eq!(
            canon("http://\x01\u{80}.com/").as_deref(),
            Some("http://%01%C2%80.com/")
        );
    }

    #[test]
    fn canon_spec_expressions() {
        let c = Canonical::parse("http://a.b.c/1/2.html?param=1").unwrap();
        assert_eq!(
            c.expressions(),
            [
                "a.b.c/1/2.html?param=1",
                "a.b.c/1/2.html",
                "a.b.c/",
                "a.b.c/1/",
                "b.c/1/2.html?param=1",
                "b.c/1/2.html",
                "b.c/",
                "b.c/1/",
            ]
        );
        let c = Canonical::parse("http://a.b.c.d.e.f.g/1.html").unwrap();
        assert_eq!(
            c.expressions(),
            [
                "a.b.c.d.e.f.g/1.html",
                "a.b.c.d.e.f.g/",
                "c.d.e.f.g/1.html",
                "c.d.e.f.g/",
                "d.e.f.g/1.html",
                "d.e.f.g/",
                "e.f.g/1.html",
                "e.f.g/",
                "f.g/1.html",
                "f.g/",
            ]
        );
        let c = Canonical::parse("http://1.2.3.4/1/").unwrap();
        assert_eq!(c.expressions(), ["1.2.3.4/1/", "1.2.3.4/"]);
    }

    #[test]
    fn canon_expressions_limits() {
        let c = Canonical::parse("http://a.b.c.d.e.f.g.h.i/1/2/3/4/5/6.html?x=1").unwrap();
        let e = c.expressions();
        assert_eq!(e.len(), 30);
        assert_eq!(
            e.first().map(String::as_str),
            Some("a.b.c.d.e.f.g.h.i/1/2/3/4/5/6.html?x=1")
        );
        assert_eq!(
            c.path_prefixes(),
            [
                "/1/2/3/4/5/6.html?x=1",
                "/1/2/3/4/5/6.html",
                "/",
                "/1/",
                "/1/2/",
                "/1/2/3/"
            ]
        );
        assert_eq!(
            c.host_suffixes(),
            ["a.b.c.d.e.f.g.h.i", "e.f.g.h.i", "f.g.h.i", "g.h.i", "h.i"]
        );
        // Directory path equal to a prefix is not repeated; empty query adds nothing.
        let c = Canonical::parse("http://a.b/1/?").unwrap();
        assert_eq!(c.expressions(), ["a.b/1/", "a.b/"]);
        let c = Canonical::parse("http://b/").unwrap();
        assert_eq!(c.expressions(), ["b/"]);
        let c = Canonical::parse("http://a.b.c.d.e/1.html").unwrap();
        assert_eq!(c.host_suffixes(), ["a.b.c.d.e", "b.c.d.e", "c.d.e", "d.e"]);
        let c = Canonical::parse("http://a.b.c.d.e.f/").unwrap();
        assert_eq!(
            c.host_suffixes(),
            ["a.b.c.d.e.f", "b.c.d.e.f", "c.d.e.f", "d.e.f", "e.f"]
        );
    }

    #[test]
    fn borrowed_expressions_match_owned_ones() {
        let urls = [
            "http://a.b.c/1/2.html?param=1",
            "http://a.b.c.d.e.f.g/1.html",
            "http://1.2.3.4/1/",
            "https://www.example.co.uk/a/b/c/d/e/f/g.php?x=1&y=2",
            "http://example.com/",
            "http://example.com/dir/",
            "http://x.y/a/b/",
            "http://x.y/?",
            "http://x.y/a?",
            "http://[2001:db8::1]/p/q",
            "http://very.deep.sub.domain.example.com/1/2/3/4/5/6/7/",
            "http://host/%25%32%35",
        ];
        for u in urls {
            let c = Canonical::parse(u).unwrap_or_else(|| panic!("{u}"));
            let mut got = Vec::new();
            c.for_each_expression(|h, p, q| {
                got.push(match q {
                    Some(q) => format!("{h}{p}?{q}"),
                    None => format!("{h}{p}"),
                })
            });
            assert_eq!(got, c.expressions(), "{u}");
        }
    }

    #[test]
    fn canon_host_suffixes() {
        let c = Canonical::parse("http://a.b.c.d/x").unwrap();
        assert_eq!(c.host_suffixes(), ["a.b.c.d", "b.c.d", "c.d"]);
        let c = Canonical::parse("http://localhost/").unwrap();
        assert_eq!(c.host_suffixes(), ["localhost"]);
        let c = Canonical::parse("http://0300.0250.01.01/").unwrap();
        assert_eq!(c.host_suffixes(), ["192.168.1.1"]);
        let c = Canonical::parse("http://[2001:db8::1]/a").unwrap();
        assert_eq!(c.host_suffixes(), ["[2001:db8::1]"]);
        assert_eq!(c.expressions(), ["[2001:db8::1]/a", "[2001:db8::1]/"]);
    }

    #[test]
    fn canon_ipv4_spellings() {
        for (input, want) in [
            ("http://3232235777/", "http://192.168.1.1/"),
            ("http://0xc0a80101/", "http://192.168.1.1/"),
            ("http://0XC0A80101/", "http://192.168.1.1/"),
            ("http://030052000401/", "http://192.168.1.1/"),
            ("http://0300.0250.01.01/", "http://192.168.1.1/"),
            ("http://0xc0.0xa8.0x01.0x01/", "http://192.168.1.1/"),
            ("http://0xC0.168.0x1.01/", "http://192.168.1.1/"),
            ("http://192.168.257/", "http://192.168.1.1/"),
            ("http://192.11010305/", "http://192.168.1.1/"),
            ("http://192.168.1.1./", "http://192.168.1.1/"),
            ("http://.192..168.1.1/", "http://192.168.1.1/"),
            ("http://12.0x12.01234/", "http://12.18.2.156/"),
            ("http://012.034.01.055/", "http://10.28.1.45/"),
            ("http://167838211/", "http://10.1.2.3/"),
            ("http://4294967295/", "http://255.255.255.255/"),
            (
                "http://%31%39%32%2e%31%36%38%2e%31%2e%31/",
                "http://192.168.1.1/",
            ),
            ("http://192.168.1.1:8080/x", "http://192.168.1.1/x"),
            // Not legal IPv4: stay hostnames.
            ("http://4294967296/", "http://4294967296/"),
            ("http://276.2.3/", "http://276.2.3/"),
            ("http://1.2.3.4.5/", "http://1.2.3.4.5/"),
            ("http://08.1.1.1/", "http://08.1.1.1/"),
            ("http://1.2.3.00x0/", "http://1.2.3.00x0/"),
            ("http://0x1g/", "http://0x1g/"),
        ] {
            assert_eq!(canon(input).as_deref(), Some(want), "{input}");
        }
        assert!(is_ip_host("192.168.1.1"));
        assert!(!is_ip_host("276.2.3"));
    }

    #[test]
    fn canon_ipv6() {
        for (input, want) in [
            ("http://[2001:0db8:0000::1]/", "http://[2001:db8::1]/"),
            (
                "http://[2001:470:1:18::114]/",
                "http://[2001:470:1:18::114]/",
            ),
            (
                "http://[FEDC:BA98:7654:3210:FEDC:BA98:7654:3210]:80/index.html",
                "http://[fedc:ba98:7654:3210:fedc:ba98:7654:3210]/index.html",
            ),
            ("http://[::ffff:1.2.3.4]/", "http://1.2.3.4/"),
            ("http://[64:ff9b::1.2.3.4]/", "http://1.2.3.4/"),
            (
                "[2001:470:1:18::114]/a/b",
                "http://[2001:470:1:18::114]/a/b",
            ),
        ] {
            assert_eq!(canon(input).as_deref(), Some(want), "{input}");
        }
        let c = Canonical::parse("http://[::1]:8443/").unwrap();
        assert_eq!(c.port, Some(8443));
        assert_eq!(canon("http://[nope]/"), None);
        assert_eq!(canon("http://[::1/"), None);
        assert_eq!(canon("http://[::1]x/"), None);
    }

    #[test]
    fn canon_idn() {
        assert_eq!(
            canon("http://bücher.example/").as_deref(),
            Some("http://xn--bcher-kva.example/")
        );
        assert_eq!(
            canon("http://BÜCHER.example/").as_deref(),
            Some("http://xn--bcher-kva.example/")
        );
        assert_eq!(
            canon("http://www.%C3%BCmlat.com/").as_deref(),
            Some("http://www.xn--mlat-zra.com/")
        );
        assert_eq!(
            canon("http://www.\u{fc}mlat.com/").as_deref(),
            Some("http://www.xn--mlat-zra.com/")
        );
        assert_eq!(
            canon("http://пример.рф/путь").as_deref(),
            Some("http://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C")
        );
        // Invalid UTF-8 host bytes are escaped, not punycoded.
        assert_eq!(
            canon("http://%FF%FE.com/").as_deref(),
            Some("http://%FF%FE.com/")
        );
        assert_eq!(
            canonical_host("Bücher.Example."),
            Some("xn--bcher-kva.example".to_string())
        );
    }

    #[test]
    fn canon_percent_escapes() {
        for (input, want) in [
            ("http://host/%252541", "http://host/A"),
            ("http://host/%25252525252541", "http://host/A"),
            ("http://host/%7e%7E", "http://host/~~"),
            ("http://host/a%2fb%2F..%2Fc", "http://host/a/c"),
            ("http://host/%00%1f%7f%80%ff", "http://host/%00%1F%7F%80%FF"),
            ("http://host/%zz%", "http://host/%25zz%25"),
            ("http://host/%2e%2e/%2E/x", "http://host/x"),
            ("http://some%1bhost.com/%1b", "http://some%1Bhost.com/%1B"),
            ("http%3A%2F%2Fwackyurl.com:80/", "http://wackyurl.com/"),
            (
                "http://www.google.com/q?r?s%3F",
                "http://www.google.com/q?r?s?",
            ),
            ("http://host/a b?c d#e f", "http://host/a%20b?c%20d"),
            ("http://host/?q=%2525", "http://host/?q=%25"),
            ("http://W!eird<>Ho$^.com/", "http://w!eird<>ho$^.com/"),
        ] {
            assert_eq!(canon(input).as_deref(), Some(want), "{input}");
        }
        // More than 16 rounds of escaping: stops, deterministic, no panic.
        let deep = format!("http://host/%{}41", "25".repeat(40));
        assert!(canon(&deep).is_some());
    }

    #[test]
    fn canon_paths() {
        for (input, want) in [
            ("http://a.com", "http://a.com/"),
            (
                "http://a.com/foo/.././bar/./../foo.html",
                "http://a.com/foo.html",
            ),
            ("http://a.com//a//b///c////", "http://a.com/a/b/c/"),
            ("http://a.com/a/b/..", "http://a.com/a/"),
            ("http://a.com/a/./", "http://a.com/a/"),
            ("http://a.com/../../x", "http://a.com/x"),
            ("http://a.com/.", "http://a.com/"),
            ("http://a.com/..", "http://a.com/"),
            ("http://a.com/a/...", "http://a.com/a/..."),
            ("http://a.com?x", "http://a.com/?x"),
            ("http://a.com/p?a/../b//c", "http://a.com/p?a/../b//c"),
        ] {
            assert_eq!(canon(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn canon_hosts_ports_userinfo() {
        for (input, want) in [
            ("http://google.com./foo.html", "http://google.com/foo.html"),
            (
                "http://google.com.:8080/foo.html",
                "http://google.com/foo.html",
            ),
            ("http://google...com/foo.html", "http://google.com/foo.html"),
            ("http://..google.com/foo.html", "http://google.com/foo.html"),
            ("HTTP://WWW.EXAMPLE.COM/Path", "http://www.example.com/Path"),
            (
                "http://user:pass@Example.com:8080/x",
                "http://example.com/x",
            ),
            ("http://good.com@evil.com/", "http://evil.com/"),
            (
                "www.google.com:8080/foo.html",
                "http://www.google.com/foo.html",
            ),
            ("www.google.com:80", "http://www.google.com/"),
            ("http://www.google.com:/", "http://www.google.com/"),
            ("//proto.relative.com/x", "http://proto.relative.com/x"),
            ("ftp://ftp.myfiles.com/", "ftp://ftp.myfiles.com/"),
            (
                "http://i.have.way.too.many.dots.com/",
                "http://i.have.way.too.many.dots.com/",
            ),
        ] {
            assert_eq!(canon(input).as_deref(), Some(want), "{input}");
        }
        let c = Canonical::parse("http://www.gotaport.com:1234/").unwrap();
        assert_eq!(c.port, Some(1234));
        assert_eq!(c.host, "www.gotaport.com");
        assert_eq!(Canonical::parse("http://x.com:80/").unwrap().port, None);
        assert_eq!(Canonical::parse("https://x.com:443/").unwrap().port, None);
        assert_eq!(
            Canonical::parse("https://x.com:80/").unwrap().port,
            Some(80)
        );
        assert_eq!(Canonical::parse("http://x.com:99999/").unwrap().port, None);
        let c = Canonical::parse("https://a.b/c?d").unwrap();
        assert_eq!(
            c,
            Canonical {
                scheme: "https".into(),
                host: "a.b".into(),
                port: None,
                path: "/c".into(),
                query: Some("d".into())
            }
        );
    }

    #[test]
    fn canon_no_host() {
        for input in [
            "",
            ":",
            "   ",
            "/blah",
            "#ref",
            "/blah#ref",
            "?query#ref",
            "/blah?query#ref",
            "/blah;param",
            "http://",
            "http://#ref",
            "http:///blah#ref",
            "http://?query#ref",
            "http:///blah?query#ref",
            "http:///blah;param",
            "http:///blah;param?query#ref",
            "http://.../",
            "http://user@/",
            "http://:80/",
            "mailto:bryner@google.com",
            "mailto:x",
            "javascript:alert(1)",
            "http:www.google.com/",
        ] {
            assert_eq!(Canonical::parse(input), None, "{input:?}");
        }
    }

    #[test]
    fn canon_canonical_host() {
        assert_eq!(
            canonical_host("WWW.Example.COM."),
            Some("www.example.com".to_string())
        );
        assert_eq!(canonical_host("  ..a..b.. "), Some("a.b".to_string()));
        assert_eq!(
            canonical_host("3279880203"),
            Some("195.127.0.11".to_string())
        );
        assert_eq!(
            canonical_host("0xc0a80101"),
            Some("192.168.1.1".to_string())
        );
        assert_eq!(
            canonical_host("[::FFFF:1.2.3.4]"),
            Some("1.2.3.4".to_string())
        );
        assert_eq!(
            canonical_host("example.com:8080"),
            Some("example.com".to_string())
        );
        assert_eq!(
            canonical_host("host%23.com"),
            Some("host%23.com".to_string())
        );
        for bad in [
            "",
            ".",
            "...",
            " ",
            "http://x.com/",
            "a/b",
            "a?b",
            "a#b",
            "u@h",
            "[zz]",
        ] {
            assert_eq!(canonical_host(bad), None, "{bad:?}");
        }
        // Same host rules as URL parsing.
        for h in [
            "WWW.GOOgle.com...",
            "bücher.example",
            "0300.0250.01.01",
            "%20leadingspace.com",
        ] {
            assert_eq!(
                canonical_host(h),
                Canonical::parse(&format!("http://{h}/")).map(|c| c.host),
                "{h}"
            );
        }
    }

    #[test]
    fn canon_never_panics() {
        let long = format!("http://a.com/{}", "é".repeat(10_000));
        let c = Canonical::parse(&long).unwrap();
        assert!(c.to_url().len() <= 3 * MAX_INPUT + 8);
        let long_host = format!("http://{}/", "a.".repeat(10_000));
        let _ = Canonical::parse(&long_host).map(|c| c.expressions());
        let inputs = [
            "%",
            "%%",
            "%2",
            "%25",
            "[",
            "]",
            "[]",
            "http://[]/",
            "http://[",
            "@",
            "@@@",
            "::::",
            "http://:/",
            "http://0x/",
            "http://0/",
            "http://./",
            "\u{0}",
            "\u{80}\u{ff}",
            "http://\u{0}/",
            "http://a.com/%E2%82",
            "ht tp://x",
            "1:2",
            "a:1/",
            "a:1b/",
            "http://a:b@c:d@e:1/",
            "http://x/%2525%2541%25",
            "\t\r\n",
            "http://xn--/",
            "http://xn--zz-/",
            "http://\u{3002}\u{3002}/",
            "http://a\u{3002}b\u{ff0e}c/",
            "http://１９２．１６８．０．１/",
        ];
        for i in inputs {
            if let Some(c) = Canonical::parse(i) {
                let _ = c.to_url();
                assert!(c.expressions().len() <= 30);
                assert!(c.host_suffixes().len() <= 5);
            }
            let _ = canonical_host(i);
        }
        // Hand-built values must not panic either.
        let odd = Canonical {
            scheme: String::new(),
            host: "..".into(),
            port: None,
            path: String::new(),
            query: Some(String::new()),
        };
        let _ = odd.expressions();
        let empty = Canonical {
            scheme: String::new(),
            host: String::new(),
            port: None,
            path: String::new(),
            query: None,
        };
        assert!(empty.expressions().is_empty());
    }

    #[test]
    fn canon_fullwidth_ip() {
        // IDNA maps fullwidth digits/dots to ASCII, then the IPv4 rule applies.
        assert_eq!(
            canon("http://１９２．１６８．０．１/").as_deref(),
            Some("http://192.168.0.1/")
        );
    }
}
