//! Value shapes: validate and normalise one URL, domain, CIDR or hash.

use super::*;

/// Strips what feeds put around a hostname (a leading `*.` or `.`, a numeric
/// `:port`, one trailing dot) and validates the rest: at least one dot, no
/// empty label, only letters, digits, `-`, `_`, or a valid internationalised
/// name; a numeric last label only as an IPv4 address. Returns the stripped
/// name and whether it has non-ASCII characters.
pub(super) fn check_host(s: &str) -> Result<(&str, bool), &'static str> {
    let mut h = s;
    if let Some(r) = h.strip_prefix("*.") {
        h = r;
    } else if let Some(r) = h.strip_prefix('.') {
        h = r;
    }
    if let Some((name, port)) = h.rsplit_once(':')
        && !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && !name.contains(':')
    {
        h = name;
    }
    h = h.strip_suffix('.').unwrap_or(h);
    if h.is_empty() {
        return Err("empty hostname");
    }
    if h.contains('@') {
        return Err("user info or e-mail address, not a hostname");
    }
    let mut non_ascii = false;
    for &b in h.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {}
            0x80.. => non_ascii = true,
            b' ' | b'\t' => return Err("whitespace in hostname"),
            _ => return Err("character not allowed in a hostname"),
        }
    }
    if !h.contains('.') {
        return Err("hostname without a dot");
    }
    if h.split('.').any(str::is_empty) {
        return Err("empty label in hostname");
    }
    if !non_ascii && h.len() > 253 {
        return Err("hostname longer than 253 characters");
    }
    let last = h.rsplit('.').next().unwrap_or("");
    if last.bytes().all(|b| b.is_ascii_digit()) && h.parse::<Ipv4Addr>().is_err() {
        return Err("numeric top-level label but not an IPv4 address");
    }
    if non_ascii && idna::domain_to_ascii_cow(h.as_bytes(), idna::AsciiDenyList::URL).is_err() {
        return Err("invalid internationalised hostname");
    }
    Ok((h, non_ascii))
}

/// A `Value::Domain` string: [`check_host`], then lower-cased.
pub(super) fn domain_value(s: &str) -> Result<String, &'static str> {
    let (h, non_ascii) = check_host(s)?;
    Ok(if non_ascii {
        h.to_lowercase()
    } else {
        h.to_ascii_lowercase()
    })
}

pub(super) fn valid_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

pub(super) fn has_scheme(s: &str) -> bool {
    s.find("://").is_some_and(|i| valid_scheme(&s[..i]))
}

/// `[Adblock Plus 2.0]`, `[uBlock Origin]`...
pub(super) fn is_abp_header(t: &[u8]) -> bool {
    t.len() > 2
        && t[0] == b'['
        && t[1].is_ascii_alphabetic()
        && t[t.len() - 1] == b']'
        && !t.contains(&b'"')
}

/// Validates the shape of a URL: `scheme://host...` with a non-empty host,
/// or `host[:port][/path]` with a hostname-shaped host. No control chars.
pub(super) fn check_url(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty URL");
    }
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("control character in URL");
    }
    // `scheme://` only counts before the path: `host/web/2024/https://x` is
    // a scheme-less URL (archive.org snapshots)
    let scheme_end = s.find("://").filter(|&i| !s[..i].contains(['/', '?', '#']));
    if let Some(i) = scheme_end {
        if !valid_scheme(&s[..i]) {
            return Err("invalid URL scheme");
        }
        let rest = &s[i + 3..];
        let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
        let auth = &rest[..end];
        let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
        let host = if host.starts_with('[') {
            host
        } else {
            host.rsplit_once(':').map_or(host, |(h, _)| h)
        };
        if host.is_empty() {
            return Err("URL without a host");
        }
        if host.contains(' ') {
            return Err("whitespace in URL host");
        }
        Ok(())
    } else {
        let end = s.find(['/', '?', '#']).unwrap_or(s.len());
        match check_host(&s[..end]) {
            Ok(_) => Ok(()),
            Err(_) => Err("neither scheme://host nor host/path"),
        }
    }
}

pub(super) fn url_value(s: &str) -> Result<String, &'static str> {
    check_url(s)?;
    Ok(s.to_string())
}

pub(super) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

pub(super) fn sha256_value(t: &[u8]) -> Result<[u8; 32], &'static str> {
    if t.len() < 64 || !t[..64].iter().all(u8::is_ascii_hexdigit) {
        return Err("expected 64 hex digits");
    }
    if let Some(&next) = t.get(64) {
        if next.is_ascii_hexdigit() {
            return Err("more than 64 hex digits");
        }
        if !matches!(next, b' ' | b'\t' | b',' | b';') {
            return Err("unexpected character after the hash");
        }
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = hex_val(t[2 * i]).unwrap_or(0);
        let lo = hex_val(t[2 * i + 1]).unwrap_or(0);
        *o = hi << 4 | lo;
    }
    Ok(out)
}

pub(super) fn cidr_value(tok: &str) -> Result<Value, &'static str> {
    let (a, p) = match tok.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (tok, None),
    };
    let addr: IpAddr = a.parse().map_err(|_| "invalid IP address")?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max && !p.starts_with('+') => n,
            _ => return Err("invalid prefix length"),
        },
    };
    Ok(Value::Cidr { addr, prefix })
}
