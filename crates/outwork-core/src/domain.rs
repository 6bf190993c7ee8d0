//! Host names: normalisation, IDNA, IPv4 spellings, registrable domains and
//! confusable skeletons.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A host as written in a URL or address, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// ASCII (punycode) lower-case form without a trailing dot.
    pub ascii: String,
    /// Unicode form (IDNA decoded) for display and skeletons.
    pub unicode: String,
    /// Set when the host is an IP literal in any spelling.
    pub ip: Option<IpHost>,
    /// Where the registrable domain starts in `ascii` (computed once: the
    /// signals ask for it many times per host).
    reg_start: Option<usize>,
}

/// How an IP-literal host was written, and the address it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpHost {
    /// Dotted-quad, as most people write it.
    V4Dotted(Ipv4Addr),
    /// Decimal, hex, octal or a short form: written to hide the address.
    V4Obfuscated(Ipv4Addr),
    /// A bracketed IPv6 literal (`[::1]`).
    V6(Ipv6Addr),
}

impl Host {
    /// Parse a raw host (already split from the URL). Returns None for hosts
    /// that can't be a DNS name or an IP.
    pub fn parse(raw: &str) -> Option<Host> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 1024 {
            return None;
        }
        if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let v6: Ipv6Addr = inner.parse().ok()?;
            let s = v6.to_string();
            return Some(Host {
                ascii: s.clone(),
                unicode: s,
                ip: Some(IpHost::V6(v6)),
                reg_start: None,
            });
        }
        let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
        // Full-width dots and ideographic stops act as dots in IDNA.
        let dotted: String = decoded
            .chars()
            .map(|c| match c {
                '\u{3002}' | '\u{ff0e}' | '\u{ff61}' => '.',
                c => c,
            })
            .collect();
        let trimmed = dotted.trim_end_matches('.');
        if trimmed.is_empty() {
            return None;
        }
        if let Some(ip) = parse_ipv4_any(trimmed) {
            let canonical = ip.to_string();
            let kind = if canonical == trimmed {
                IpHost::V4Dotted(ip)
            } else {
                IpHost::V4Obfuscated(ip)
            };
            return Some(Host {
                ascii: canonical.clone(),
                unicode: canonical,
                ip: Some(kind),
                reg_start: None,
            });
        }
        // Plain LDH names need no IDNA round trip (the common case).
        if trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !trimmed
                .split('.')
                .any(|l| l.len() > 4 && l[..4].eq_ignore_ascii_case("xn--"))
        {
            let ascii = trimmed.to_ascii_lowercase();
            return Some(Host::name(ascii.clone(), ascii));
        }
        let ascii = match idna::domain_to_ascii(trimmed) {
            Ok(a) if !a.is_empty() => a,
            // Invalid IDNA: keep a lower-cased form so checks still see it.
            _ => trimmed.to_lowercase(),
        };
        let (unicode, _) = idna::domain_to_unicode(&ascii);
        Some(Host::name(ascii, unicode))
    }

    fn name(ascii: String, unicode: String) -> Host {
        let reg_start = registrable_domain(&ascii).map(|r| ascii.len() - r.len());
        Host {
            ascii,
            unicode,
            ip: None,
            reg_start,
        }
    }

    /// Is the host an IP literal (any spelling)?
    pub fn is_ip(&self) -> bool {
        self.ip.is_some()
    }

    /// Registrable domain ("eTLD+1") from the Public Suffix List; for a name
    /// under an unknown suffix, the last two labels. IPs have none.
    pub fn registrable(&self) -> Option<&str> {
        self.reg_start.and_then(|i| self.ascii.get(i..))
    }

    /// Does any label of the ASCII form carry an IDNA `xn--` prefix (the name was written in
    /// Unicode or punycode)?
    pub fn has_punycode(&self) -> bool {
        self.ascii.split('.').any(|l| l.starts_with("xn--"))
    }
}

/// Registrable domain of an ASCII host name.
pub fn registrable_domain(ascii: &str) -> Option<&str> {
    let ascii = ascii.trim_end_matches('.');
    if ascii.is_empty() || !ascii.contains('.') {
        return None;
    }
    if let Some(d) = psl::domain_str(ascii) {
        return Some(d);
    }
    // Unknown suffix: take the last two labels.
    let mut dots = ascii.rmatch_indices('.');
    dots.next();
    match dots.next() {
        Some((i, _)) => Some(&ascii[i + 1..]),
        None => Some(ascii),
    }
}

/// A registrable domain without its public suffix: "paypal" for
/// "paypal.co.uk". Pass the registrable domain, not a full host:
/// "www.paypal.co.uk" gives "www.paypal".
pub(crate) fn registrable_label(registrable: &str) -> &str {
    let suffix_len = psl::suffix_str(registrable).map(str::len).unwrap_or(0);
    if suffix_len > 0 && suffix_len < registrable.len() {
        registrable[..registrable.len() - suffix_len].trim_end_matches('.')
    } else {
        registrable.split('.').next().unwrap_or(registrable)
    }
}

/// Public suffix (TLD or eTLD) of a host.
pub(crate) fn public_suffix(ascii: &str) -> Option<&str> {
    psl::suffix_str(ascii)
}

/// `a` equals `b` or is a subdomain of it.
pub fn is_same_or_subdomain(a: &str, b: &str) -> bool {
    a == b || (a.len() > b.len() && a.ends_with(b) && a.as_bytes()[a.len() - b.len() - 1] == b'.')
}

/// Parse an IPv4 address in any spelling browsers accept (WHATWG URL host
/// parser): 1-4 parts, each decimal, `0x` hex or `0` octal, the last part
/// filling the remaining bytes.
pub(crate) fn parse_ipv4_any(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        nums.push(parse_ipv4_number(p)?);
    }
    let last = *nums.last()?;
    let n = nums.len();
    for &v in &nums[..n - 1] {
        if v > 255 {
            return None;
        }
    }
    let max_last = 1u64 << (8 * (5 - n));
    if last >= max_last {
        return None;
    }
    let mut ip: u64 = last;
    for (i, &v) in nums[..n - 1].iter().enumerate() {
        ip += v << (8 * (3 - i));
    }
    u32::try_from(ip).ok().map(Ipv4Addr::from)
}

fn parse_ipv4_number(p: &str) -> Option<u64> {
    if p.is_empty() || p.len() > 34 {
        return None;
    }
    let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (h, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() {
        return if radix == 16 { Some(0) } else { None };
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|v| *v <= u32::MAX as u64)
}

/// UTS #39 confusable skeleton of a lower-cased string.
pub fn skeleton(s: &str) -> String {
    let lower = s.to_lowercase();
    unicode_security::skeleton(&lower)
        .collect::<String>()
        .to_lowercase()
}

/// True when the string mixes scripts in a way UTS #39 calls suspicious
/// (e.g. Cyrillic letters in a Latin word).
pub(crate) fn is_mixed_script(s: &str) -> bool {
    use unicode_security::MixedScript;
    s.split('.')
        .any(|label| !label.is_ascii() && !label.is_single_script())
}

/// Characters that render as nothing or reorder text.
pub(crate) fn is_invisible_char(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{00ad}' | '\u{180e}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_spellings() {
        let want = Ipv4Addr::new(192, 168, 1, 1);
        for s in [
            "192.168.1.1",
            "3232235777",
            "0xc0a80101",
            "0300.0250.01.01",
            "192.168.257",
            "0xc0.0xa8.0x1.0x1",
        ] {
            assert_eq!(parse_ipv4_any(s), Some(want), "{s}");
        }
        assert_eq!(parse_ipv4_any("example.com"), None);
        assert_eq!(parse_ipv4_any("1.2.3.4.5"), None);
        assert_eq!(parse_ipv4_any("256.1.1.1"), None);
        assert_eq!(parse_ipv4_any("08.1.1.1"), None);
    }

    #[test]
    fn host_kinds() {
        let h = Host::parse("0xC0A80101").unwrap();
        assert_eq!(
            h.ip,
            Some(IpHost::V4Obfuscated(Ipv4Addr::new(192, 168, 1, 1)))
        );
        let h = Host::parse("1.2.3.4").unwrap();
        assert!(matches!(h.ip, Some(IpHost::V4Dotted(_))));
        let h = Host::parse("WWW.Example.CO.UK.").unwrap();
        assert_eq!(h.ascii, "www.example.co.uk");
        assert_eq!(h.registrable(), Some("example.co.uk"));
        let h = Host::parse("аpple.com").unwrap(); // Cyrillic а
        assert!(h.has_punycode());
        assert!(is_mixed_script(&h.unicode));
        assert_eq!(skeleton("аpple"), skeleton("apple"));
    }

    #[test]
    fn labels() {
        assert_eq!(registrable_label("paypal.co.uk"), "paypal");
        assert_eq!(registrable_label("paypa1.com"), "paypa1");
        assert!(is_same_or_subdomain("a.b.com", "b.com"));
        assert!(!is_same_or_subdomain("ab.com", "b.com"));
    }
}
