//! URL splitting, extraction from text and redirect unwrapping.
//!
//! The splitter is hand-written on purpose: it must accept anything an
//! attacker writes (broken escapes, odd IPv4 spellings, `user@host`) and keep
//! the raw spelling, which a strict WHATWG parser normalises away.

use crate::domain::Host;
use crate::lists::REDIRECTORS;
use serde::Serialize;

/// Where in the message a URL was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlSource {
    /// In a plain-text part (or an attachment read as text).
    Text,
    /// An `<a>` or `<area>` `href`: a link the reader clicks.
    HtmlHref,
    /// An `img`/`iframe`/`embed`/`frame` `src` (or SVG `image` `href`): loads by itself; not a
    /// click, except a `data:` URL.
    HtmlSrc,
    /// A `<form>` `action`: where the form posts.
    HtmlFormAction,
    /// A `<meta http-equiv="refresh">` target.
    HtmlMetaRefresh,
    /// Written as text in an HTML part, not linked.
    HtmlText,
    /// Decoded from a redirect/wrapper parameter of another URL.
    Unwrapped,
    /// Found inside an attachment (PDF, Office, shortcut, invite…).
    Attachment,
}

impl UrlSource {
    /// A short phrase for evidence ("HTML link", "redirect target").
    pub fn describe(self) -> &'static str {
        match self {
            UrlSource::Text => "plain text",
            UrlSource::HtmlHref => "HTML link",
            UrlSource::HtmlSrc => "HTML src",
            UrlSource::HtmlFormAction => "HTML form action",
            UrlSource::HtmlMetaRefresh => "HTML meta refresh",
            UrlSource::HtmlText => "HTML text",
            UrlSource::Unwrapped => "redirect target",
            UrlSource::Attachment => "attachment",
        }
    }
}

/// A URL split into parts, with the raw spelling kept.
#[derive(Debug, Clone)]
pub struct ParsedUrl {
    /// The URL as written (quotes and surrounding white space trimmed; tabs and newlines removed),
    /// at most 4096 characters.
    pub raw: String,
    /// Scheme, lower-case; `http` when none was written (`www.example.com/x`).
    pub scheme: String,
    /// What comes before the last `@` of the authority, as written (`user:pass`, or a brand name
    /// used to disguise the host).
    pub userinfo: Option<String>,
    /// The host as written, between the userinfo and the port (brackets kept for IPv6).
    pub host_raw: String,
    /// The host normalised; `None` for schemes without one (`mailto:`, `data:`) or a host that
    /// can't be a name or IP.
    pub host: Option<Host>,
    /// Port as written (digits only), if any.
    pub port: Option<String>,
    /// Path as written, from its `/` up to `?` or `#`; empty when there is
    /// none. For `data:`, `javascript:`, `mailto:` and the like, everything
    /// after the colon.
    pub path: String,
    /// Query as written, without the `?` and the fragment; empty when none.
    pub query: String,
}

impl ParsedUrl {
    /// Split a URL leniently, keeping the raw spelling; backslashes count as slashes. `None` for an
    /// empty string or a scheme-less string that is not `//host` or `www.…`. Never panics.
    pub fn parse(raw: &str) -> Option<ParsedUrl> {
        let raw = raw.trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
        if raw.is_empty() {
            return None;
        }
        let raw: String = raw
            .chars()
            .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
            .take(4096)
            .collect();
        let (scheme, rest) = match raw.find(':') {
            Some(i)
                if i > 0
                    && raw[..i]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
            {
                (raw[..i].to_ascii_lowercase(), &raw[i + 1..])
            }
            _ => (String::new(), raw.as_str()),
        };
        if matches!(
            scheme.as_str(),
            "data" | "javascript" | "vbscript" | "mailto" | "tel" | "cid" | "sms" | "file"
        ) {
            return Some(ParsedUrl {
                raw: raw.clone(),
                scheme,
                userinfo: None,
                host_raw: String::new(),
                host: None,
                port: None,
                path: rest.to_string(),
                query: String::new(),
            });
        }
        // Browsers treat backslashes as slashes in special schemes.
        let rest_norm = rest.replace('\\', "/");
        let after = rest_norm.trim_start_matches('/');
        if scheme.is_empty() && after.len() == rest_norm.len() && !rest_norm.starts_with("www.") {
            return None;
        }
        let auth_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let authority = &after[..auth_end];
        let tail = &after[auth_end..];
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(authority[..i].to_string()), &authority[i + 1..]),
            None => (None, authority),
        };
        let (host_raw, port) = split_port(hostport);
        // The fragment ends the URL wherever it starts: `/a#f?x` has no
        // query, and `?x` is part of the fragment.
        let tail = tail.split('#').next().unwrap_or("");
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (tail.to_string(), String::new()),
        };
        let scheme = if scheme.is_empty() {
            "http".to_string()
        } else {
            scheme
        };
        Some(ParsedUrl {
            host: Host::parse(host_raw),
            host_raw: host_raw.to_string(),
            port: port.map(str::to_string),
            userinfo,
            scheme,
            path,
            query,
            raw,
        })
    }

    /// Is it `http` or `https`?
    pub fn is_web(&self) -> bool {
        matches!(self.scheme.as_str(), "http" | "https")
    }

    /// The host's ASCII form; empty when there is no host.
    pub fn host_ascii(&self) -> &str {
        self.host.as_ref().map(|h| h.ascii.as_str()).unwrap_or("")
    }

    /// Registrable domain of the host; `None` without a host, or for an IP.
    pub fn registrable(&self) -> Option<&str> {
        self.host.as_ref().and_then(|h| h.registrable())
    }

    /// Query parameter value, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            if k.eq_ignore_ascii_case(name) {
                Some(
                    percent_encoding::percent_decode_str(&v.replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned(),
                )
            } else {
                None
            }
        })
    }

    /// host + path without scheme, for matching "host/path" list entries.
    pub fn host_path(&self) -> String {
        format!("{}{}", self.host_ascii(), self.path)
    }
}

fn split_port(hostport: &str) -> (&str, Option<&str>) {
    if hostport.starts_with('[') {
        if let Some(end) = hostport.find(']') {
            let port = hostport[end + 1..].strip_prefix(':');
            return (&hostport[..=end], port);
        }
        return (hostport, None);
    }
    match hostport.rfind(':') {
        Some(i) if hostport[i + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            (&hostport[..i], Some(&hostport[i + 1..]))
        }
        _ => (hostport, None),
    }
}

/// The target a redirector or link wrapper sends to, when it is in the URL.
pub struct Unwrapped {
    /// The target URL, decoded (an `http://` or `https://` URL).
    pub target: String,
    /// The wrapper is a mail-security link wrapper (Safe Links, Proofpoint, Mimecast…), not an open
    /// redirector.
    pub security_wrapper: bool,
    /// Listed open redirector (not just a URL-valued parameter).
    pub known: bool,
}

/// Decode a redirect/wrapper URL's target, if it carries one.
pub fn unwrap_redirect(u: &ParsedUrl) -> Option<Unwrapped> {
    let host = u.host_ascii();
    if host.is_empty() {
        return None;
    }
    for r in REDIRECTORS {
        if !crate::domain::is_same_or_subdomain(host, r.host)
            && !host.ends_with(&format!(".{}", r.host))
        {
            continue;
        }
        if !u.path.starts_with(r.path) {
            continue;
        }
        let target = if r.host == "urldefense.com" {
            // v3: https://urldefense.com/v3/__https://target__;...
            u.raw
                .split("/v3/__")
                .nth(1)
                .and_then(|t| t.split("__").next())
                .map(str::to_string)
        } else if r.host == "google.com" && r.path == "/amp/s/" {
            u.path
                .strip_prefix("/amp/s/")
                .map(|p| format!("https://{p}"))
        } else if r.host == "urldefense.proofpoint.com" {
            u.param("u")
                .map(|v| v.replace('-', "%").replace('_', "/"))
                .map(|v| {
                    percent_encoding::percent_decode_str(&v)
                        .decode_utf8_lossy()
                        .into_owned()
                })
        } else if r.host == "bing.com" {
            // u=a1<base64url of the target>
            u.param("u")
                .and_then(|v| v.strip_prefix("a1").map(str::to_string))
                .and_then(|b| base64url_decode(&b))
        } else if r.param.is_empty() {
            None
        } else {
            u.param(r.param)
        };
        if let Some(t) = target.filter(|t| looks_like_url(t)) {
            return Some(Unwrapped {
                target: t,
                security_wrapper: r.security_wrapper,
                known: true,
            });
        }
    }
    // Any parameter whose value is a full URL: a generic redirect.
    for kv in u.query.split('&').take(64) {
        if let Some((_, v)) = kv.split_once('=') {
            let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
            if looks_like_url(&v) {
                return Some(Unwrapped {
                    target: v.into_owned(),
                    security_wrapper: false,
                    known: false,
                });
            }
        }
    }
    None
}

fn looks_like_url(s: &str) -> bool {
    let l = s.trim_start().as_bytes();
    l.len() > 10
        && (l[..8].eq_ignore_ascii_case(b"https://") || l[..7].eq_ignore_ascii_case(b"http://"))
}

fn base64url_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        buf = (buf << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    String::from_utf8(out).ok()
}

/// A URL found in plain text.
pub struct TextUrl {
    /// The URL as found (re-fanged, invisible characters removed, where that was needed to find
    /// it).
    pub raw: String,
    /// Written defanged (`hxxp`, `[.]`) and re-fanged to be found.
    pub defanged: bool,
    /// Only found after removing zero-width/bidi characters.
    pub invisible_chars: bool,
}

/// Find URLs in plain text: linkify for the normal case, plus the
/// spellings people use to hide a URL from filters.
pub fn extract_text_urls(text: &str, max: usize) -> Vec<TextUrl> {
    let mut out: Vec<TextUrl> = Vec::new();
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    for l in finder.links(text) {
        if out.len() >= max {
            return out;
        }
        out.push(TextUrl {
            raw: l.as_str().to_string(),
            defanged: false,
            invisible_chars: false,
        });
    }
    let lower_has =
        |needle: &str| memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some();
    if lower_has("hxxp")
        || lower_has("[.]")
        || lower_has("(.)")
        || lower_has("[:]")
        || lower_has("HXXP")
    {
        let refanged = text
            .replace("hxxp", "http")
            .replace("HXXP", "HTTP")
            .replace("[.]", ".")
            .replace("(.)", ".")
            .replace("[:]", ":")
            .replace("[://]", "://");
        for l in finder.links(&refanged) {
            if out.len() >= max {
                return out;
            }
            if !out.iter().any(|u| u.raw == l.as_str()) {
                out.push(TextUrl {
                    raw: l.as_str().to_string(),
                    defanged: true,
                    invisible_chars: false,
                });
            }
        }
    }
    if text.chars().any(crate::domain::is_invisible_char) {
        let cleaned: String = text
            .chars()
            .filter(|c| !crate::domain::is_invisible_char(*c))
            .collect();
        for l in finder.links(&cleaned) {
            if out.len() >= max {
                return out;
            }
            if !out.iter().any(|u| u.raw == l.as_str()) {
                out.push(TextUrl {
                    raw: l.as_str().to_string(),
                    defanged: false,
                    invisible_chars: true,
                });
            }
        }
    }
    out
}

/// Find a domain or URL shown in link text ("www.paypal.com", "https://x").
/// Returns the host as written.
pub fn shown_host(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches(['.', ',', ';', ':', ')', '>']);
    if t.is_empty() || t.len() > 300 || t.contains(char::is_whitespace) {
        return None;
    }
    let candidate = if t.contains("://") {
        ParsedUrl::parse(t)?.host_raw
    } else {
        let host = t.split(['/', '?', '#']).next()?;
        // Bare words are not domains: need a dot and a known public suffix.
        if !host.contains('.') || host.contains('@') {
            return None;
        }
        host.to_string()
    };
    let h = Host::parse(&candidate)?;
    if h.ip.is_none() {
        // Only treat it as a domain when the suffix is a real one.
        let suffix = crate::domain::public_suffix(&h.ascii)?;
        if !psl::List::new_is_known(&h.ascii) || suffix == h.ascii || h.ascii.ends_with(".html") {
            return None;
        }
    }
    Some(candidate)
}

mod psl {
    /// Is the suffix of this host one the Public Suffix List knows (not
    /// just the `*` default rule)?
    pub(super) struct List;
    impl List {
        pub(super) fn new_is_known(host: &str) -> bool {
            ::psl::suffix(host.as_bytes())
                .map(|s| s.is_known())
                .unwrap_or(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        let u = ParsedUrl::parse("https://paypal.com@evil.example:8080/a/b?x=1#f").unwrap();
        assert_eq!(u.userinfo.as_deref(), Some("paypal.com"));
        assert_eq!(u.host_ascii(), "evil.example");
        assert_eq!(u.port.as_deref(), Some("8080"));
        assert_eq!(u.path, "/a/b");
        assert_eq!(u.query, "x=1");
        // A `?` after the `#` belongs to the fragment, not a query.
        let u = ParsedUrl::parse("https://evil.example/a#f?next=https://paypal.com").unwrap();
        assert_eq!(u.path, "/a");
        assert_eq!(u.query, "");
        let u = ParsedUrl::parse("http://0x7f000001/").unwrap();
        assert!(u.host.unwrap().is_ip());
        let u = ParsedUrl::parse("javascript:alert(1)").unwrap();
        assert_eq!(u.scheme, "javascript");
    }

    #[test]
    fn unwrap() {
        let u = ParsedUrl::parse(
            "https://www.google.com/url?q=https%3A%2F%2Fevil.example%2Flogin&sa=D",
        )
        .unwrap();
        let t = unwrap_redirect(&u).unwrap();
        assert_eq!(t.target, "https://evil.example/login");
        assert!(t.known && !t.security_wrapper);
        let u = ParsedUrl::parse("https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fexample.org%2F&data=x").unwrap();
        let t = unwrap_redirect(&u).unwrap();
        assert!(t.security_wrapper);
        assert_eq!(t.target, "https://example.org/");
        let u =
            ParsedUrl::parse("https://urldefense.com/v3/__https://example.org/x__;!!abc").unwrap();
        assert_eq!(unwrap_redirect(&u).unwrap().target, "https://example.org/x");
    }

    #[test]
    fn text_urls() {
        let found = extract_text_urls(
            "see hxxps://evil[.]example/login and https://ok.example/",
            10,
        );
        assert!(
            found
                .iter()
                .any(|u| u.raw == "https://ok.example/" && !u.defanged)
        );
        assert!(
            found
                .iter()
                .any(|u| u.raw.starts_with("https://evil.example") && u.defanged)
        );
        let found = extract_text_urls("go https://pay\u{200b}pal.example/x", 10);
        assert!(
            found
                .iter()
                .any(|u| u.invisible_chars && u.raw.contains("paypal.example"))
        );
    }

    #[test]
    fn shown() {
        assert_eq!(
            shown_host("www.paypal.com").as_deref(),
            Some("www.paypal.com")
        );
        assert_eq!(
            shown_host("https://paypal.com/signin").as_deref(),
            Some("paypal.com")
        );
        assert_eq!(shown_host("Click here"), None);
        assert_eq!(shown_host("index.html"), None);
        assert_eq!(shown_host("file.pdf"), None);
    }
}
