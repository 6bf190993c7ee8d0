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
//!
//! Speed: the lookup path ([`CanonBuf::parse`]) works in one reusable
//! scratch buffer and writes the canonical host, path and query side by
//! side (`host/path?query`), so every host-suffix × path-prefix expression
//! is a contiguous slice of it: expressions are hashed in place, nothing is
//! allocated per URL once the buffers have grown (an IDN host still
//! allocates inside `idna`). [`Canonical::parse`] is the owned form of the
//! same result. The previous string-per-step implementation is kept in
//! [`reference`] as the oracle of the differential tests.

use std::cell::Cell;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[doc(hidden)]
pub mod reference;

/// Longest input looked at, in bytes; longer input is truncated.
const MAX_INPUT: usize = 8 * 1024;
/// Most percent-unescape rounds.
const MAX_UNESCAPE_ROUNDS: usize = 16;
/// Host suffixes are formed from at most this many trailing components.
const MAX_SUFFIX_COMPONENTS: usize = 5;
/// Path prefixes: "/" plus up to this many minus one directory levels.
const MAX_PATH_PREFIXES: usize = 4;
/// Most expressions one URL yields: 5 host suffixes × 6 path prefixes.
pub const MAX_EXPRESSIONS: usize = 30;
/// A scratch buffer that grew past this (a pathological URL) is released
/// rather than kept by the thread.
const KEEP_CAPACITY: usize = 64 * 1024;

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

/// Reusable scratch space for canonicalising URLs without allocating: keep
/// one per thread (or use [`with_scratch`]) and call [`CanonBuf::parse`].
#[derive(Debug, Default)]
pub struct CanonBuf {
    /// The input after trimming, fragment removal and unescaping.
    pre: Vec<u8>,
    /// The host, unescaped, between steps.
    host: Vec<u8>,
    /// Canonical `host/path?query`, escaped (hence ASCII).
    out: Vec<u8>,
}

/// A canonical URL borrowed from a [`CanonBuf`].
#[derive(Debug, Clone, Copy)]
pub struct CanonRef<'a> {
    /// Scheme as written (any case); `None` means `http`.
    scheme: Option<&'a [u8]>,
    port: Option<u16>,
    /// `host` `path` [`?` `query`].
    out: &'a [u8],
    host_end: usize,
    path_end: usize,
}

thread_local! {
    static SCRATCH: Cell<CanonBuf> = const { Cell::new(CanonBuf::new()) };
}

/// Run `f` with this thread's scratch buffer (an empty one when the thread's
/// is in use further up the stack or the thread is exiting).
pub fn with_scratch<R>(f: impl FnOnce(&mut CanonBuf) -> R) -> R {
    let mut buf = SCRATCH.try_with(Cell::take).unwrap_or_default();
    let r = f(&mut buf);
    buf.shrink_if_huge();
    let _ = SCRATCH.try_with(|c| c.set(buf));
    r
}

impl CanonBuf {
    /// An empty buffer; it allocates on first use and is reused after.
    pub const fn new() -> CanonBuf {
        CanonBuf {
            pre: Vec::new(),
            host: Vec::new(),
            out: Vec::new(),
        }
    }

    fn shrink_if_huge(&mut self) {
        for v in [&mut self.pre, &mut self.host, &mut self.out] {
            if v.capacity() > KEEP_CAPACITY {
                *v = Vec::new();
            }
        }
    }

    /// Canonicalise `url` into this buffer. None for input that has no host
    /// (e.g. "mailto:x", "", "http://").
    pub fn parse(&mut self, url: &str) -> Option<CanonRef<'_>> {
        let CanonBuf { pre, host, out } = self;
        preprocess_into(url, pre);
        let (scheme, rest) = split_scheme(pre);
        let (rest, query) = match memchr::memchr(b'?', rest) {
            Some(i) => {
                let (before, after) = rest.split_at(i);
                (before, Some(after.get(1..).unwrap_or_default()))
            }
            None => (rest, None),
        };
        let rest: &[u8] = match scheme {
            Some(_) => rest.strip_prefix(b"//")?,
            // Protocol-relative ("//host/path") is accepted too.
            None => rest.strip_prefix(b"//").unwrap_or(rest),
        };
        let (authority, path) = match memchr::memchr(b'/', rest) {
            Some(i) => rest.split_at(i),
            None => (rest, &[][..]),
        };
        out.clear();
        let port = canon_authority_into(authority, host, out)?;
        let host_end = out.len();
        canon_path_into(path, out);
        let path_end = out.len();
        if let Some(q) = query {
            out.push(b'?');
            escape_into(q, out);
        }
        let port = port.filter(|&p| Some(p) != default_port(scheme));
        Some(CanonRef {
            scheme,
            port,
            out,
            host_end,
            path_end,
        })
    }

    /// [`canonical_host`] into this buffer.
    pub fn canonical_host(&mut self, host: &str) -> Option<&[u8]> {
        if host.contains('#') {
            return None;
        }
        let CanonBuf {
            pre,
            host: tmp,
            out,
        } = self;
        preprocess_into(host, pre);
        if pre.iter().any(|&b| matches!(b, b'/' | b'?' | b'@')) {
            return None;
        }
        out.clear();
        canon_authority_into(pre, tmp, out)?;
        Some(out)
    }
}

impl<'a> CanonRef<'a> {
    /// Canonical host (escaped, ASCII).
    pub fn host(&self) -> &'a [u8] {
        self.out.get(..self.host_end).unwrap_or_default()
    }

    /// Canonical path, starting with `/`.
    pub fn path(&self) -> &'a [u8] {
        self.out
            .get(self.host_end..self.path_end)
            .unwrap_or_default()
    }

    /// The query without `?`; `Some(b"")` for a bare `?`.
    pub fn query(&self) -> Option<&'a [u8]> {
        self.out.get(self.path_end + 1..)
    }

    /// Explicit non-default port, as [`Canonical::port`].
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The host as an IP address, brackets removed, if it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        let host = std::str::from_utf8(self.host()).ok()?;
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok()
    }

    /// The owned form.
    pub fn to_canonical(&self) -> Canonical {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Canonical {
            scheme: match self.scheme {
                Some(sc) => String::from_utf8_lossy(sc).to_ascii_lowercase(),
                None => "http".to_string(),
            },
            host: s(self.host()),
            port: self.port,
            path: s(self.path()),
            query: self.query().map(s),
        }
    }

    /// The same expressions as [`Canonical::expressions`], in the same
    /// order, each a slice of the buffer (`host-suffix` + `path-prefix`
    /// [+ `?query`] are adjacent in it): hash them, don't copy them.
    pub fn for_each_expression(&self, mut f: impl FnMut(&'a [u8])) {
        let out = self.out;
        let host = self.host();
        if host.is_empty() {
            return;
        }
        // Path-prefix ends, spec order, without duplicates: exact path with
        // query, exact path, "/", then up to three directories. Prefixes of
        // one path are equal exactly when their ends are.
        let mut ends = [0usize; 6];
        let mut n = 0;
        let mut push = |e: usize| {
            if n < ends.len() && !ends[..n].contains(&e) {
                ends[n] = e;
                n += 1;
            }
        };
        if out.len() > self.path_end + 1 {
            push(out.len());
        }
        push(self.path_end);
        push(self.host_end + 1);
        let dirs = memchr::memchr_iter(b'/', self.path())
            .skip_while(|&i| i == 0)
            .take(MAX_PATH_PREFIXES - 1);
        for i in dirs {
            push(self.host_end + i + 1);
        }
        let ends = &ends[..n];
        let mut emit = |start: usize| {
            for &e in ends {
                if let Some(x) = out.get(start..e) {
                    f(x);
                }
            }
        };
        emit(0);
        if is_ip_host(host) {
            return;
        }
        // Suffixes of 5, 4, 3 and 2 components (never the bare TLD): start
        // after the k-th dot from the right.
        let mut dots = [0usize; MAX_SUFFIX_COMPONENTS];
        let mut found = 0;
        for (i, _) in host.iter().enumerate().rev().filter(|&(_, &b)| b == b'.') {
            if found == dots.len() {
                break;
            }
            dots[found] = i;
            found += 1;
        }
        for k in (2..=found).rev() {
            emit(dots[k - 1] + 1);
        }
    }

    /// Number of expressions (at most 30).
    pub fn expression_count(&self) -> usize {
        let mut n = 0;
        self.for_each_expression(|_| n += 1);
        n
    }
}

impl Canonical {
    /// None for input that has no host (e.g. "mailto:x", "", "http://").
    pub fn parse(url: &str) -> Option<Canonical> {
        with_scratch(|b| b.parse(url).map(|c| c.to_canonical()))
    }

    /// The full canonical URL string, e.g. `http://www.google.com/`.
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

    /// Host-suffix expressions only (for domain lists): "a.b.c.d", "b.c.d",
    /// "c.d" (no bare TLD), at most 5. For an IP host only the IP itself.
    pub fn host_suffixes(&self) -> Vec<String> {
        let host = self.host.as_str();
        if host.is_empty() {
            return Vec::new();
        }
        let mut out = vec![host.to_string()];
        if is_ip_host(host.as_bytes()) {
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
    with_scratch(|b| {
        b.canonical_host(host)
            .map(|h| String::from_utf8_lossy(h).into_owned())
    })
}

// ---------------------------------------------------------------------------
// Steps. Each appends to a caller's buffer instead of returning a new one.

/// Cap, drop the fragment, trim whitespace, remove tab/CR/LF, unescape.
fn preprocess_into(input: &str, pre: &mut Vec<u8>) {
    pre.clear();
    let mut end = input.len().min(MAX_INPUT);
    while !input.is_char_boundary(end) {
        end -= 1; // terminates: 0 is always a char boundary
    }
    let s = input.as_bytes().get(..end).unwrap_or_default();
    let s = match memchr::memchr(b'#', s) {
        Some(i) => s.split_at(i).0,
        None => s,
    };
    let mut s = s.trim_ascii();
    while let Some(i) = memchr::memchr3(b'\t', b'\r', b'\n', s) {
        let (run, rest) = s.split_at(i);
        pre.extend_from_slice(run);
        s = rest.get(1..).unwrap_or_default();
    }
    pre.extend_from_slice(s);
    for _ in 0..MAX_UNESCAPE_ROUNDS {
        // Most URLs carry no escapes: skip the pass. A round that decodes
        // nothing leaves the input unchanged, which ends the loop.
        if unescape_in_place(pre) == 0 {
            break;
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One round of percent-unescaping in place (the output is never longer
/// than what is left to read); invalid escapes are kept as they are.
/// Returns how many escapes were decoded.
fn unescape_in_place(s: &mut Vec<u8>) -> usize {
    let Some(first) = memchr::memchr(b'%', s) else {
        return 0;
    };
    // Bytes before `w` are output; `r` is the next '%' to look at.
    let (mut w, mut r, mut decoded) = (first, first, 0);
    loop {
        let escape = match (s.get(r + 1), s.get(r + 2)) {
            (Some(&h), Some(&l)) => hex_val(h).zip(hex_val(l)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        let (value, step) = match escape {
            Some(v) => {
                decoded += 1;
                (v, 3)
            }
            None => (b'%', 1),
        };
        if let Some(slot) = s.get_mut(w) {
            *slot = value;
        }
        w += 1;
        r += step;
        // Copy the run up to the next '%' (or the end) down to `w`.
        let tail = s.get(r..).unwrap_or_default();
        let next = memchr::memchr(b'%', tail).map(|i| r + i);
        let end = next.unwrap_or(s.len());
        if r < end {
            s.copy_within(r..end, w);
            w += end - r;
        }
        match next {
            Some(n) => r = n,
            None => break,
        }
    }
    s.truncate(w);
    decoded
}

/// Bytes that are percent-escaped: <= 0x20, >= 0x7f, '#' and '%'.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b <= 0x20 || b >= 0x7f || b == b'#' as usize || b == b'%' as usize;
        b += 1;
    }
    t
};

/// Percent-escape bytes <= 0x20, >= 0x7f, '#' and '%' (uppercase hex).
fn escape_into(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut rest = s;
    // Copy runs of safe bytes whole.
    while !rest.is_empty() {
        let run = rest
            .iter()
            .position(|&b| NEEDS_ESCAPE[usize::from(b)])
            .unwrap_or(rest.len());
        let (safe, tail) = rest.split_at(run);
        out.extend_from_slice(safe);
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]]);
        rest = tail;
    }
}

/// Does `s` (starting with ':') look like `:digits` followed by '/' or end?
fn is_port_at(s: &[u8]) -> bool {
    let digits = s.iter().skip(1).take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && matches!(s.get(1 + digits), None | Some(b'/'))
}

/// Split off a scheme the way Google's reference client does: letters, then
/// letters/digits/`+-.`, then ':' not followed by a port number.
fn split_scheme(s: &[u8]) -> (Option<&[u8]>, &[u8]) {
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i > 0 => {
                let (scheme, rest) = s.split_at(i);
                if is_port_at(rest) {
                    continue; // "host:80/...": no scheme
                }
                return (Some(scheme), rest.get(1..).unwrap_or_default());
            }
            _ => return (None, s),
        }
    }
    (None, s)
}

/// The scheme's default port; no scheme means http.
fn default_port(scheme: Option<&[u8]>) -> Option<u16> {
    let s = scheme.unwrap_or(b"http");
    if s.eq_ignore_ascii_case(b"http") {
        Some(80)
    } else if s.eq_ignore_ascii_case(b"https") {
        Some(443)
    } else if s.eq_ignore_ascii_case(b"ftp") {
        Some(21)
    } else {
        None
    }
}

/// Canonical (escaped) host of an unescaped authority, appended to `out`;
/// returns the port. `tmp` is scratch.
fn canon_authority_into(
    authority: &[u8],
    tmp: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Option<Option<u16>> {
    let hostport = match memchr::memrchr(b'@', authority) {
        Some(i) => authority.get(i + 1..).unwrap_or_default(),
        None => authority,
    };
    let (host, port) = split_port(hostport)?;
    let port = port
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| p.parse::<u16>().ok());
    canon_host_into(host, tmp, out)?;
    Some(port)
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

/// Remove leading/trailing dots and collapse runs of dots, into `out`.
fn collapse_dots_into(h: &[u8], out: &mut Vec<u8>) {
    out.clear();
    if h.first() != Some(&b'.')
        && h.last() != Some(&b'.')
        && memchr::memmem::find(h, b"..").is_none()
    {
        out.extend_from_slice(h);
        return;
    }
    for &b in h {
        if b == b'.' && out.last().is_none_or(|&l| l == b'.') {
            continue;
        }
        out.push(b);
    }
    if out.last() == Some(&b'.') {
        out.pop();
    }
}

/// Canonical (escaped) form of an unescaped host without port/userinfo,
/// appended to `out`. None if there is no host.
fn canon_host_into(h: &[u8], tmp: &mut Vec<u8>, out: &mut Vec<u8>) -> Option<()> {
    if h.first() == Some(&b'[') {
        return canon_ipv6_into(h, out);
    }
    collapse_dots_into(h, tmp);
    if !tmp.is_ascii() {
        // IDN → punycode when the host is valid UTF-8 and IDNA accepts it;
        // otherwise its bytes are percent-escaped below.
        let ascii = std::str::from_utf8(tmp)
            .ok()
            .and_then(|s| idna::domain_to_ascii(s).ok());
        if let Some(ascii) = ascii {
            collapse_dots_into(ascii.as_bytes(), tmp);
        }
    }
    if tmp.is_empty() {
        return None;
    }
    if let Some(ip) = parse_ipv4(tmp) {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{ip}");
        return Some(());
    }
    tmp.make_ascii_lowercase();
    escape_into(tmp, out);
    Some(())
}

/// "[...]" → "[compressed v6]", or dotted IPv4 for IPv4-mapped and NAT64.
fn canon_ipv6_into(h: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let inner = h.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let addr: Ipv6Addr = std::str::from_utf8(inner).ok()?.parse().ok()?;
    // Writing to a Vec cannot fail.
    if let Some(v4) = addr.to_ipv4_mapped() {
        let _ = write!(out, "{v4}");
        return Some(());
    }
    let o = addr.octets();
    if o.starts_with(&[0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]) {
        let _ = write!(out, "{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]));
        return Some(());
    }
    let _ = write!(out, "[{addr}]");
    Some(())
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
    // Every spelling starts with a digit (decimal, "0x", octal "0").
    if !host.first()?.is_ascii_digit() {
        return None;
    }
    let s = std::str::from_utf8(host).ok()?;
    let parts = s.split('.').count();
    if parts > 4 {
        return None;
    }
    let mut v: u64 = 0;
    let mut last = 0;
    for (i, p) in s.split('.').enumerate() {
        let n = parse_ipv4_part(p)?;
        if i + 1 < parts {
            if n > 255 {
                return None;
            }
            v = (v << 8) | n;
        } else {
            last = n;
        }
    }
    let rem_bits = 8 * (5 - parts as u32); // 32, 24, 16 or 8
    if last >= (1u64 << rem_bits) {
        return None;
    }
    v = (v << rem_bits) | last;
    u32::try_from(v).ok().map(Ipv4Addr::from)
}

/// Resolve "." and "..", collapse slashes, escape; appended to `out`,
/// always starting with '/'. `..` cuts back to the previous separator
/// (escaping never writes a '/').
fn canon_path_into(p: &[u8], out: &mut Vec<u8>) {
    // Common case: `p` starts with '/' and has no "//", "/." or "/..":
    // nothing to resolve, the path is `p` escaped.
    if p.first() == Some(&b'/')
        && memchr::memchr_iter(b'/', p).all(|i| !matches!(p.get(i + 1), Some(b'/' | b'.')))
    {
        escape_into(p, out);
        return;
    }
    let base = out.len() + 1; // just after the leading '/'
    out.push(b'/');
    let mut segs = 0usize;
    let mut trailing = false;
    for seg in p.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => trailing = true,
            b".." => {
                if segs > 0 {
                    segs -= 1;
                    let cut = match out.get(base..) {
                        Some(tail) if segs > 0 => tail
                            .iter()
                            .rposition(|&b| b == b'/')
                            .map_or(base, |i| base + i),
                        _ => base,
                    };
                    out.truncate(cut);
                }
                trailing = true;
            }
            s => {
                if segs > 0 {
                    out.push(b'/');
                }
                escape_into(s, out);
                segs += 1;
                trailing = false;
            }
        }
    }
    if trailing && segs > 0 {
        out.push(b'/');
    }
}

fn is_ip_host(host: &[u8]) -> bool {
    match host.first() {
        Some(b'[') => true,
        Some(b) if b.is_ascii_digit() => {
            std::str::from_utf8(host).is_ok_and(|h| h.parse::<Ipv4Addr>().is_ok())
        }
        _ => false,
    }
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
        let mut buf = CanonBuf::default();
        for u in urls {
            let c = Canonical::parse(u).unwrap_or_else(|| panic!("{u}"));
            let r = buf.parse(u).unwrap_or_else(|| panic!("{u}"));
            let mut got = Vec::new();
            r.for_each_expression(|e| got.push(String::from_utf8_lossy(e).into_owned()));
            assert_eq!(got, c.expressions(), "{u}");
            assert_eq!(r.expression_count(), got.len(), "{u}");
            assert_eq!(r.to_canonical(), c, "{u}");
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
        assert!(is_ip_host(b"192.168.1.1"));
        assert!(!is_ip_host(b"276.2.3"));
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
