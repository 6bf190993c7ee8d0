//! The string-per-step canonicaliser that [`super::Canonical::parse`] used
//! before the allocation-free one (kept verbatim): the oracle of the
//! differential tests and of the `url` fuzz target, and the baseline of
//! `examples/intel_bench.rs`. Not for production use: it allocates a
//! `String` per step and per expression.

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
