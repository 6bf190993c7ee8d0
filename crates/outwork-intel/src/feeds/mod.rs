//! Feed formats: guess which public blocklist format a file is in and parse
//! it into entries (URLs, domains, CIDR blocks, SHA-256 hashes).
//!
//! Values are *not* canonicalised here (the `canon` module does Safe-Browsing
//! canonicalisation); they are trimmed and their shape is validated. Domains
//! are lower-cased and lose the decorations feeds put around a hostname (one
//! trailing dot, a leading `.` or `*.`, a numeric `:port`).
//!
//! Parsing never fails and never panics: lines that are neither data nor
//! comments go to [`Parsed::malformed`] with their 1-based line number. Data
//! lines that are recognised but deliberately not turned into entries (header
//! rows, ABP rules that cannot be expressed as a URL or domain, `localhost`
//! in hosts files) are counted in [`Parsed::skipped`]. Comments and blank
//! lines are neither.
//!
//! Dates a feed gives for an entry (first seen / added / submitted) become
//! [`Entry::first_seen`] in unix seconds; an unparseable date leaves it `None`
//! and keeps the entry (a listed URL is worth more than its date).

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

mod abp;
mod csv;
mod dates;
mod json;
mod lines;
mod values;

use abp::*;
use csv::*;
use dates::*;
use json::*;
use lines::*;
use values::*;

/// The feed formats [`parse`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One URL a line (OpenPhish feed); `scheme://host...` or `host/path`.
    UrlList,
    /// PhishTank CSV: `phish_id,url,phish_detail_url,submission_time,...`.
    PhishtankCsv,
    /// PhishTank JSON: an array of objects with `url` and `submission_time`.
    PhishtankJson,
    /// URLhaus CSV (`id,dateadded,url,...`, `#` comments), also the
    /// urlhaus-filter Splunk lookup (`"host","path","message","updated"`).
    UrlhausCsv,
    /// Hosts file: `0.0.0.0 domain [domain...]`.
    Hosts,
    /// One domain a line.
    DomainList,
    /// Adblock Plus style domain filter (`||domain^`).
    Abp,
    /// IP / CIDR list in Spamhaus DROP style (`1.2.3.0/24 ; SBL123`).
    Cidr,
    /// SHA-256 hashes, optionally followed by whitespace or a comma and a name.
    Sha256,
    /// OpenPhish history TSV: url, first_seen_utc, last_seen_utc, n.
    OpenphishHistory,
}

const NAMES: [(Format, &str); 10] = [
    (Format::UrlList, "urls"),
    (Format::PhishtankCsv, "phishtank-csv"),
    (Format::PhishtankJson, "phishtank-json"),
    (Format::UrlhausCsv, "urlhaus-csv"),
    (Format::Hosts, "hosts"),
    (Format::DomainList, "domains"),
    (Format::Abp, "abp"),
    (Format::Cidr, "cidr"),
    (Format::Sha256, "sha256"),
    (Format::OpenphishHistory, "openphish-history"),
];

impl Format {
    /// The format's name on the command line (`--format NAME`).
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("urls", |(_, n)| n)
    }

    /// The format called `s` (see [`Format::name`]); ASCII case is ignored.
    pub fn from_name(s: &str) -> Option<Format> {
        let s = s.trim();
        NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(f, _)| *f)
    }
}

/// One listed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A URL as the feed wrote it (`scheme://host…`, or `host/path`),
    /// shape-checked, not yet canonicalised.
    Url(String),
    /// A host name, lower-cased, without a leading `*.`/`.`, a port or a
    /// trailing dot: listed with everything under it.
    Domain(String),
    /// An address or range (a bare address is a /32 or /128).
    Cidr {
        /// The address as written (host bits are masked at import).
        addr: IpAddr,
        /// Prefix length: at most 32 for IPv4, 128 for IPv6.
        prefix: u8,
    },
    /// A file's SHA-256.
    Sha256([u8; 32]),
}

/// One entry of a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// What is listed.
    pub value: Value,
    /// unix seconds when the feed says it was first seen/added, if it says
    pub first_seen: Option<i64>,
    /// 1-based line number (for JSON: the line where the object starts)
    pub line: usize,
}

/// A line that is neither data nor a comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it ("invalid URL scheme", "expected 64 hex
    /// digits"), for people.
    pub reason: String,
    /// the line's first 120 characters
    pub text: String,
}

/// What [`parse`] found.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The entries, in input order.
    pub entries: Vec<Entry>,
    /// Lines that are neither data nor comments; never fatal.
    pub malformed: Vec<Malformed>,
    /// recognised data lines (or hosts-file names) deliberately not turned
    /// into entries: header rows, unmappable ABP rules, `localhost`...
    pub skipped: usize,
    /// number of lines in the input
    pub lines: usize,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
const DETECT_LIMIT: usize = 64 * 1024;

fn strip_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(BOM).unwrap_or(data)
}

/// Lines without their `\n` / `\r\n`, numbered from 1. A final newline does
/// not start another line.
struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
    no: usize,
}

impl<'a> Lines<'a> {
    fn new(data: &'a [u8]) -> Self {
        Lines {
            data,
            pos: 0,
            no: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let (line, adv) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += adv;
        self.no += 1;
        Some((self.no, line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn malformed(out: &mut Parsed, line: usize, text: &[u8], reason: &str) {
    let text: String = lossy(text).chars().take(120).collect();
    out.malformed.push(Malformed {
        line,
        reason: reason.to_string(),
        text,
    });
}

fn push(out: &mut Parsed, value: Value, first_seen: Option<i64>, line: usize) {
    out.entries.push(Entry {
        value,
        first_seen,
        line,
    });
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// Parse a whole feed. Never fails and never panics: bad lines go to
/// `malformed` with their 1-based line number; comments/blank lines are not
/// counted as malformed. Input may be non-UTF-8 (decoded lossily per line).
pub fn parse(data: &[u8], format: Format) -> Parsed {
    let data = strip_bom(data);
    if format == Format::PhishtankJson {
        return parse_json(data);
    }
    let mut out = Parsed::default();
    let mut csv = Csv {
        cols: default_cols(format),
        spans: Vec::new(),
        seen_data: false,
    };
    for (no, raw) in Lines::new(data) {
        out.lines = no;
        let t = raw.trim_ascii();
        if t.is_empty() {
            continue;
        }
        match format {
            Format::UrlList => url_line(&mut out, no, t),
            Format::PhishtankCsv | Format::UrlhausCsv => csv_line(&mut out, &mut csv, no, t),
            Format::Hosts => hosts_line(&mut out, no, t),
            Format::DomainList => domain_line(&mut out, no, t),
            Format::Abp => abp_line(&mut out, no, t),
            Format::Cidr => cidr_line(&mut out, no, t),
            Format::Sha256 => sha_line(&mut out, no, t),
            Format::OpenphishHistory => history_line(&mut out, no, t),
            Format::PhishtankJson => {}
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Abp,
    UrlhausRow,
    PhishtankRow,
    History,
    Hosts,
    Cidr,
    Ip,
    Sha,
    Url,
    HostPath,
    Domain,
    Other,
}

/// Lower-cased first bytes of a line, without quotes and spaces, for header
/// matching.
fn header_key(t: &[u8]) -> ([u8; 48], usize) {
    let mut k = [0u8; 48];
    let mut n = 0;
    for &b in t {
        if n == k.len() {
            break;
        }
        if b != b'"' && b != b' ' {
            k[n] = b.to_ascii_lowercase();
            n += 1;
        }
    }
    (k, n)
}

fn classify(t: &[u8]) -> Class {
    let s = lossy(t);
    if s.starts_with('|')
        || s.starts_with("@@")
        || s.contains("##")
        || s.ends_with('^')
        || s.contains("^$")
    {
        return Class::Abp;
    }
    if s.contains('\t') {
        let mut f = s.split('\t');
        let u = f.next().unwrap_or("").trim();
        if has_scheme(u) && f.next().and_then(parse_time).is_some() {
            return Class::History;
        }
    }
    if let Some(r) = s.strip_prefix('"') {
        // "12345","2024-01-01 00:00:00","http://..."
        let row = r.split_once("\",\"").is_some_and(|(id, rest)| {
            digits(id.as_bytes()).is_some() && rest.get(..19).and_then(parse_time).is_some()
        });
        return if row { Class::UrlhausRow } else { Class::Other };
    }
    if let Some((id, rest)) = s.split_once(',')
        && digits(id.as_bytes()).is_some()
        && has_scheme(rest)
    {
        return Class::PhishtankRow;
    }
    if sha256_value(t).is_ok() {
        return Class::Sha;
    }
    let (tok, rest) = first_token(&s);
    if tok.contains('/') && tok.contains([':', '.']) && cidr_value(tok).is_ok() {
        return Class::Cidr;
    }
    if parse_ip_token(tok).is_some() {
        return if rest.is_empty() || rest.starts_with('#') {
            Class::Ip
        } else if rest.starts_with(';') {
            Class::Cidr
        } else {
            Class::Hosts
        };
    }
    if !rest.is_empty() && !rest.starts_with('#') {
        return Class::Other;
    }
    if has_scheme(tok) {
        return if check_url(tok).is_ok() {
            Class::Url
        } else {
            Class::Other
        };
    }
    if tok.contains(['/', '?']) {
        return if check_url(tok).is_ok() {
            Class::HostPath
        } else {
            Class::Other
        };
    }
    if check_host(tok).is_ok() {
        Class::Domain
    } else {
        Class::Other
    }
}

/// Guess the format from the first ~64 KiB; None when ambiguous (the CLI
/// then asks for --format).
///
/// JSON (`[{` or `{`) is PhishTank JSON; a header row decides the CSV / TSV
/// formats; a `[Adblock...]` header, `!` comments or `||` rules mean ABP;
/// otherwise each data line is classified (hosts, IP/CIDR, hash, URL, host/path,
/// domain) and one kind must cover at least 90% of them, or all but one
/// (of at least three).
pub fn detect(head: &[u8]) -> Option<Format> {
    let mut head = strip_bom(head);
    if head.len() > DETECT_LIMIT {
        head = &head[..DETECT_LIMIT];
    }
    // a long head may end inside a line: drop that line
    if head.len() >= DETECT_LIMIT - 4096
        && head.last() != Some(&b'\n')
        && let Some(i) = head.iter().rposition(|&b| b == b'\n')
    {
        head = &head[..=i];
    }
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let body = &head[start..];
    if body[0] == b'{' {
        return Some(Format::PhishtankJson);
    }
    if body[0] == b'[' {
        let next = body[1..].iter().find(|b| !b.is_ascii_whitespace());
        if matches!(next, Some(b'{') | Some(b']')) {
            return Some(Format::PhishtankJson);
        }
    }

    let mut abp_signal = false;
    let mut urlhaus_header = false;
    let mut counts = [0usize; 12];
    let mut first_data = true;
    for (_, raw) in Lines::new(body) {
        let t = raw.trim_ascii();
        if t.is_empty() {
            continue;
        }
        match t[0] {
            // `! Title: ...`; not `!www.ck` (Public Suffix List exception)
            b'!' if t.len() == 1 || matches!(t[1], b' ' | b'\t' | b'!') => {
                abp_signal = true;
                continue;
            }
            b'[' if first_data && is_abp_header(t) => return Some(Format::Abp),
            b'#' if !t.starts_with(b"##") => {
                let (k, n) = header_key(&t[1..]);
                if k[..n].starts_with(b"id,dateadded,url") {
                    urlhaus_header = true;
                }
                continue;
            }
            b';' => continue,
            _ => {}
        }
        if first_data {
            first_data = false;
            let (k, n) = header_key(t);
            let k = &k[..n];
            if k.starts_with(b"phish_id,url") {
                return Some(Format::PhishtankCsv);
            }
            if k.starts_with(b"id,dateadded,url") || k.starts_with(b"host,path") {
                return Some(Format::UrlhausCsv);
            }
            if k.starts_with(b"url\tfirst_seen") {
                return Some(Format::OpenphishHistory);
            }
        }
        counts[classify(t) as usize] += 1;
    }
    let c = |k: Class| counts[k as usize];
    let n: usize = counts.iter().sum();
    // One odd line in a short feed (a stray note, a truncated entry) must
    // not make it ambiguous: the import reports it as malformed.
    let most = |x: usize| n > 0 && (x * 10 >= n * 9 || (x >= 2 && n - x <= 1));
    if urlhaus_header && (n == 0 || c(Class::UrlhausRow) > 0) {
        return Some(Format::UrlhausCsv);
    }
    let urlish = c(Class::Url) + c(Class::HostPath);
    let hostish = c(Class::Domain) + c(Class::Ip);
    if abp_signal || c(Class::Abp) > 0 {
        // ABP accepts almost any line as a rule: three quarters will do
        let abpish = c(Class::Abp) + urlish + hostish;
        return (n == 0 || abpish * 4 >= n * 3).then_some(Format::Abp);
    }
    for (k, f) in [
        (Class::Hosts, Format::Hosts),
        (Class::Sha, Format::Sha256),
        (Class::History, Format::OpenphishHistory),
        (Class::UrlhausRow, Format::UrlhausCsv),
        (Class::PhishtankRow, Format::PhishtankCsv),
    ] {
        if most(c(k)) {
            return Some(f);
        }
    }
    if c(Class::Domain) == 0 && urlish == 0 && most(c(Class::Cidr) + c(Class::Ip)) {
        return Some(Format::Cidr);
    }
    if urlish > 0 && urlish * 20 >= n && most(urlish + hostish) {
        return Some(Format::UrlList);
    }
    if c(Class::Domain) > 0 && most(hostish) {
        return Some(Format::DomainList);
    }
    None
}

/// Drop domain entries that name one of `never` (or its `www.`): a feed
/// that lists `github.com` because one repository hosted a kit would
/// otherwise block every link to the platform. URL entries on those hosts
/// are kept — they name the page, not the platform. Returns how many were
/// dropped.
pub fn drop_domains(parsed: &mut Parsed, never: &std::collections::HashSet<String>) -> usize {
    let before = parsed.entries.len();
    parsed.entries.retain(|e| match &e.value {
        Value::Domain(d) => {
            let d = d.trim_end_matches('.');
            let d = d.strip_prefix("www.").unwrap_or(d);
            !never.contains(d)
        }
        _ => true,
    });
    before - parsed.entries.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(parse_time("2024-10-12T20:01:09Z"), Some(1_728_763_269));
        assert_eq!(parse_time("2024-10-12 20:01:09"), Some(1_728_763_269));
        assert_eq!(parse_time("2024-10-12T22:01:09+02:00"), Some(1_728_763_269));
        assert_eq!(
            parse_time("2024-10-12T20:01:09.123456+00:00"),
            Some(1_728_763_269)
        );
        assert_eq!(parse_time("2024-10-12"), Some(1_728_691_200));
        assert_eq!(parse_time("2024-02-29 00:00:00 UTC"), Some(1_709_164_800));
        assert_eq!(parse_time("2023-02-29"), None);
        assert_eq!(parse_time("2024-10-12T25:00:00Z"), None);
        assert_eq!(parse_time("2024-10-12T20:01:09X"), None);
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2024-1é-12"), None);
    }

    #[test]
    fn feeds_hosts_shapes() {
        assert_eq!(
            domain_value("WWW.Example.COM."),
            Ok("www.example.com".into())
        );
        assert_eq!(domain_value("example.com:443"), Ok("example.com".into()));
        assert_eq!(domain_value("*.example.com"), Ok("example.com".into()));
        assert_eq!(
            domain_value("инновации.вгапо.рф"),
            Ok("инновации.вгапо.рф".into())
        );
        assert_eq!(domain_value("1.2.3.4"), Ok("1.2.3.4".into()));
        assert!(domain_value("1.2.3").is_err());
        assert!(domain_value("localhost").is_err());
        assert!(domain_value("www..example.com").is_err());
        assert!(domain_value("user@example.com").is_err());
        assert!(domain_value("ex ample.com").is_err());
        assert!(domain_value("bad\u{FFFD}.com").is_err());
        assert!(check_url("http://localhost/x").is_ok());
        assert!(check_url("example.com/login.php?a=b").is_ok());
        assert!(check_url("http:///path").is_err());
        assert!(check_url("1http://x.com/").is_err());
        assert!(check_url("just words").is_err());
    }
}
