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
    Url(String),
    Domain(String),
    Cidr { addr: IpAddr, prefix: u8 },
    Sha256([u8; 32]),
}

/// One entry of a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// unix seconds when the feed says it was first seen/added, if it says
    pub first_seen: Option<i64>,
    /// 1-based line number (for JSON: the line where the object starts)
    pub line: usize,
}

/// A line that is neither data nor a comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    pub line: usize,
    pub reason: String,
    /// the line's first 120 characters
    pub text: String,
}

/// What [`parse`] found.
#[derive(Debug, Default)]
pub struct Parsed {
    pub entries: Vec<Entry>,
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
// Value shapes
// ---------------------------------------------------------------------------

/// Strips what feeds put around a hostname (a leading `*.` or `.`, a numeric
/// `:port`, one trailing dot) and validates the rest: at least one dot, no
/// empty label, only letters, digits, `-`, `_`, or a valid internationalised
/// name; a numeric last label only as an IPv4 address. Returns the stripped
/// name and whether it has non-ASCII characters.
fn check_host(s: &str) -> Result<(&str, bool), &'static str> {
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
fn domain_value(s: &str) -> Result<String, &'static str> {
    let (h, non_ascii) = check_host(s)?;
    Ok(if non_ascii {
        h.to_lowercase()
    } else {
        h.to_ascii_lowercase()
    })
}

fn valid_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

fn has_scheme(s: &str) -> bool {
    s.find("://").is_some_and(|i| valid_scheme(&s[..i]))
}

/// `[Adblock Plus 2.0]`, `[uBlock Origin]`...
fn is_abp_header(t: &[u8]) -> bool {
    t.len() > 2
        && t[0] == b'['
        && t[1].is_ascii_alphabetic()
        && t[t.len() - 1] == b']'
        && !t.contains(&b'"')
}

/// Validates the shape of a URL: `scheme://host...` with a non-empty host,
/// or `host[:port][/path]` with a hostname-shaped host. No control chars.
fn check_url(s: &str) -> Result<(), &'static str> {
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

fn url_value(s: &str) -> Result<String, &'static str> {
    check_url(s)?;
    Ok(s.to_string())
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn sha256_value(t: &[u8]) -> Result<[u8; 32], &'static str> {
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

fn cidr_value(tok: &str) -> Result<Value, &'static str> {
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

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, &c| n * 10 + i64::from(c - b'0')))
}

/// ISO 8601 / RFC 3339 / `YYYY-MM-DD HH:MM:SS` (UTC unless an offset is
/// given) to unix seconds. Accepts a date alone, `T` or a space before the
/// time, optional seconds and fraction, `Z`, `UTC`, `GMT`, `+HH:MM`, `+HHMM`,
/// `+HH`.
fn parse_time(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > mdays {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let mut i = 10;
    if i < b.len() && matches!(b[i], b'T' | b't' | b' ') && b.len() >= i + 6 && b[i + 3] == b':' {
        let hh = digits(&b[i + 1..i + 3])?;
        let mm = digits(&b[i + 4..i + 6])?;
        i += 6;
        let mut ss = 0;
        if i < b.len() && b[i] == b':' {
            ss = digits(b.get(i + 1..i + 3)?)?;
            i += 3;
            if i < b.len() && matches!(b[i], b'.' | b',') {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        secs += hh * 3600 + mm * 60 + ss;
    }
    let zone = s.trim().get(i..)?.trim_start();
    let zb = zone.as_bytes();
    let offset = match zb.first() {
        None => 0,
        Some(b'+' | b'-') => {
            let sign = if zb[0] == b'-' { -1 } else { 1 };
            let r = &zb[1..];
            let (h, m) = match r.len() {
                2 => (digits(r)?, 0),
                4 => (digits(&r[..2])?, digits(&r[2..])?),
                5 if r[2] == b':' => (digits(&r[..2])?, digits(&r[3..])?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
        _ if zone.eq_ignore_ascii_case("z")
            || zone.eq_ignore_ascii_case("utc")
            || zone.eq_ignore_ascii_case("gmt") =>
        {
            0
        }
        _ => return None,
    };
    Some(secs - offset)
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/// A field of a CSV line: byte range inside the line, and whether it was
/// quoted with `""` escapes inside.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

fn split_csv(line: &str, out: &mut Vec<Span>) -> Result<(), &'static str> {
    out.clear();
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i < b.len() && b[i] == b'"' {
            i += 1;
            let start = i;
            let mut escaped = false;
            loop {
                match b[i..].iter().position(|&c| c == b'"') {
                    None => return Err("unterminated quoted field"),
                    Some(p) => {
                        i += p;
                        if b.get(i + 1) == Some(&b'"') {
                            escaped = true;
                            i += 2;
                        } else {
                            break;
                        }
                    }
                }
            }
            out.push(Span {
                start,
                end: i,
                escaped,
            });
            i += 1;
            while i < b.len() && matches!(b[i], b' ' | b'\t') {
                i += 1;
            }
            if i == b.len() {
                return Ok(());
            }
            if b[i] != b',' {
                return Err("text after a closing quote");
            }
            i += 1;
        } else {
            let start = i;
            match b[i..].iter().position(|&c| c == b',') {
                None => {
                    out.push(Span {
                        start,
                        end: b.len(),
                        escaped: false,
                    });
                    return Ok(());
                }
                Some(p) => {
                    out.push(Span {
                        start,
                        end: start + p,
                        escaped: false,
                    });
                    i = start + p + 1;
                }
            }
        }
    }
}

fn field(line: &str, sp: Span) -> Cow<'_, str> {
    let f = &line[sp.start..sp.end];
    if sp.escaped {
        Cow::Owned(f.replace("\"\"", "\"").trim().to_string())
    } else {
        Cow::Borrowed(f.trim())
    }
}

/// Which CSV columns hold what.
#[derive(Clone, Copy, Default)]
struct Cols {
    url: Option<usize>,
    time: Option<usize>,
    host: Option<usize>,
    path: Option<usize>,
}

fn default_cols(format: Format) -> Cols {
    match format {
        Format::PhishtankCsv => Cols {
            url: Some(1),
            time: Some(3),
            ..Cols::default()
        },
        _ => Cols {
            url: Some(2),
            time: Some(1),
            ..Cols::default()
        },
    }
}

/// The columns named by a header row, if `spans` is one.
fn header_cols(line: &str, spans: &[Span]) -> Option<Cols> {
    let mut c = Cols::default();
    for (i, &sp) in spans.iter().enumerate() {
        let f = field(line, sp);
        let f = f.trim_matches(|c: char| c == '#' || c.is_whitespace());
        if f.eq_ignore_ascii_case("url") {
            c.url = Some(i);
        } else if f.eq_ignore_ascii_case("host") {
            c.host = Some(i);
        } else if f.eq_ignore_ascii_case("path") {
            c.path = Some(i);
        } else if [
            "dateadded",
            "date_added",
            "submission_time",
            "first_seen",
            "first_seen_utc",
        ]
        .iter()
        .any(|n| f.eq_ignore_ascii_case(n))
        {
            c.time = Some(i);
        }
    }
    (c.url.is_some() || c.host.is_some()).then_some(c)
}

struct Csv {
    cols: Cols,
    spans: Vec<Span>,
    seen_data: bool,
}

fn csv_line(out: &mut Parsed, st: &mut Csv, no: usize, t: &[u8]) {
    let s = lossy(t);
    if let Some(body) = s.strip_prefix('#') {
        // URLhaus puts its header in a comment: `# id,dateadded,url,...`
        if !st.seen_data
            && body.contains(',')
            && split_csv(body, &mut st.spans).is_ok()
            && let Some(c) = header_cols(body, &st.spans)
        {
            st.cols = c;
        }
        return;
    }
    if let Err(e) = split_csv(&s, &mut st.spans) {
        malformed(out, no, t, e);
        return;
    }
    if !st.seen_data
        && let Some(c) = header_cols(&s, &st.spans)
    {
        st.cols = c;
        out.skipped += 1;
        return;
    }
    st.seen_data = true;
    let cols = st.cols;
    let time = cols
        .time
        .and_then(|i| st.spans.get(i))
        .and_then(|&sp| parse_time(&field(&s, sp)));
    if let Some(ui) = cols.url {
        let Some(&sp) = st.spans.get(ui) else {
            malformed(out, no, t, "too few columns: no url");
            return;
        };
        let u = field(&s, sp);
        match check_url(&u) {
            Ok(()) => push(out, Value::Url(u.into_owned()), time, no),
            Err(e) => malformed(out, no, t, e),
        }
    } else if let Some(hi) = cols.host {
        let Some(&sp) = st.spans.get(hi) else {
            malformed(out, no, t, "too few columns: no host");
            return;
        };
        let host = field(&s, sp);
        let path = cols
            .path
            .and_then(|i| st.spans.get(i))
            .map(|&sp| field(&s, sp));
        match path.as_deref() {
            Some(p) if !p.is_empty() => {
                let sep = if p.starts_with(['/', '?', '#']) {
                    ""
                } else {
                    "/"
                };
                let u = format!("{host}{sep}{p}");
                match check_url(&u) {
                    Ok(()) => push(out, Value::Url(u), time, no),
                    Err(e) => malformed(out, no, t, e),
                }
            }
            _ => match domain_value(&host) {
                Ok(d) => push(out, Value::Domain(d), time, no),
                Err(e) => malformed(out, no, t, e),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Line formats
// ---------------------------------------------------------------------------

/// First whitespace-separated token of `s`, and the rest (trimmed).
fn first_token(s: &str) -> (&str, &str) {
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

fn url_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if t[0] == b'#' {
        return;
    }
    let s = lossy(t);
    match url_value(&s) {
        Ok(u) => push(out, Value::Url(u), None, no),
        Err(e) => malformed(out, no, t, e),
    }
}

fn domain_line(out: &mut Parsed, no: usize, t: &[u8]) {
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

fn is_local_name(n: &str) -> bool {
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

fn parse_ip_token(tok: &str) -> Option<IpAddr> {
    let tok = tok.split_once('%').map_or(tok, |(a, _)| a);
    tok.parse().ok()
}

fn hosts_line(out: &mut Parsed, no: usize, t: &[u8]) {
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

fn cidr_line(out: &mut Parsed, no: usize, t: &[u8]) {
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

fn sha_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if t[0] == b'#' {
        return;
    }
    match sha256_value(t) {
        Ok(h) => push(out, Value::Sha256(h), None, no),
        Err(e) => malformed(out, no, t, e),
    }
}

fn history_line(out: &mut Parsed, no: usize, t: &[u8]) {
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

/// ABP options that still mean "block the whole address".
fn abp_option_ok(o: &str) -> bool {
    let o = o.trim();
    ["all", "document", "doc", "important"]
        .iter()
        .any(|n| o.eq_ignore_ascii_case(n))
}

fn abp_strip_end(s: &str) -> &str {
    let s = s.strip_suffix('|').unwrap_or(s);
    s.strip_suffix('^').unwrap_or(s)
}

fn abp_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if t[0] == b'!' || is_abp_header(t) {
        return; // comment or `[Adblock Plus 2.0]`
    }
    let s = lossy(t);
    if ["##", "#@#", "#?#", "#$#", "#%#"]
        .iter()
        .any(|c| s.contains(c))
        || s.starts_with("@@")
    {
        out.skipped += 1; // element hiding, exception
        return;
    }
    if s.starts_with('#') {
        return; // `# comment` as uBlock accepts it
    }
    if s.len() >= 2 && s.starts_with('/') && s.ends_with('/') {
        out.skipped += 1; // regex
        return;
    }
    let (pat, opts) = match s.rfind('$') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (&*s, None),
    };
    if opts.is_some_and(|o| !o.split(',').all(abp_option_ok)) {
        out.skipped += 1;
        return;
    }
    let wild = |r: &str| r.contains(['*', '^', '|']);
    if let Some(rest) = pat.strip_prefix("||") {
        let rest = abp_strip_end(rest);
        if rest.is_empty() {
            malformed(out, no, t, "empty rule");
        } else if wild(rest) {
            out.skipped += 1;
        } else if rest.contains(['/', '?']) {
            match url_value(rest) {
                Ok(u) => push(out, Value::Url(u), None, no),
                Err(e) => malformed(out, no, t, e),
            }
        } else {
            match domain_value(rest) {
                Ok(d) => push(out, Value::Domain(d), None, no),
                Err(e) => malformed(out, no, t, e),
            }
        }
        return;
    }
    let (rest, anchored) = match pat.strip_prefix('|') {
        Some(r) => (abp_strip_end(r), true),
        None => (abp_strip_end(pat), false),
    };
    let value = if rest.is_empty() || wild(rest) || (anchored && !has_scheme(rest)) {
        None
    } else if rest.contains(['/', '?']) {
        url_value(rest).ok().map(Value::Url)
    } else {
        domain_value(rest).ok().map(Value::Domain)
    };
    match value {
        Some(v) => push(out, v, None, no),
        None => out.skipped += 1, // substring rule we cannot express
    }
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct PhishtankObject<'a> {
    #[serde(default, borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    submission_time: Option<Cow<'a, str>>,
}

struct JsonScan<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
}

impl JsonScan<'_> {
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => return,
            }
            self.i += 1;
        }
    }

    /// Moves past one JSON value (without checking it, serde does that);
    /// `Err` when it runs off the end.
    fn skip_value(&mut self) -> Result<(), &'static str> {
        let b = self.b;
        match b.get(self.i) {
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut in_str = false;
                while let Some(&c) = b.get(self.i) {
                    self.i += 1;
                    if in_str {
                        match c {
                            b'\\' => self.i += 1,
                            b'"' => in_str = false,
                            b'\n' => self.line += 1,
                            _ => {}
                        }
                        continue;
                    }
                    match c {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(());
                            }
                        }
                        b'\n' => self.line += 1,
                        _ => {}
                    }
                }
                Err("unterminated JSON value")
            }
            Some(b'"') => {
                self.i += 1;
                while let Some(&c) = b.get(self.i) {
                    self.i += 1;
                    match c {
                        b'\\' => self.i += 1,
                        b'"' => return Ok(()),
                        b'\n' => self.line += 1,
                        _ => {}
                    }
                }
                Err("unterminated JSON string")
            }
            Some(_) => {
                while let Some(&c) = b.get(self.i) {
                    if matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.i += 1;
                }
                Ok(())
            }
            None => Err("unexpected end of JSON"),
        }
    }
}

fn json_object(out: &mut Parsed, line: usize, obj: &[u8]) {
    if obj.first() != Some(&b'{') {
        malformed(out, line, obj, "not a JSON object");
        return;
    }
    match serde_json::from_slice::<PhishtankObject>(obj) {
        Ok(o) => {
            let Some(url) = o.url else {
                malformed(out, line, obj, "object without a url");
                return;
            };
            let first_seen = o.submission_time.as_deref().and_then(parse_time);
            let u = url.trim();
            match check_url(u) {
                Ok(()) => {
                    let u = if u.len() == url.len() {
                        url.into_owned()
                    } else {
                        u.to_string()
                    };
                    push(out, Value::Url(u), first_seen, line);
                }
                Err(e) => malformed(out, line, obj, e),
            }
        }
        Err(e) => malformed(out, line, obj, &format!("invalid JSON object: {e}")),
    }
}

/// A JSON array of objects, or objects one after another (JSON lines).
fn parse_json(data: &[u8]) -> Parsed {
    let mut out = Parsed {
        lines: Lines::new(data).count(),
        ..Parsed::default()
    };
    let mut p = JsonScan {
        b: data,
        i: 0,
        line: 1,
    };
    p.ws();
    let Some(&first) = data.get(p.i) else {
        return out;
    };
    let in_array = first == b'[';
    if in_array {
        p.i += 1;
    } else if first != b'{' {
        let end = data[p.i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |e| p.i + e);
        malformed(
            &mut out,
            p.line,
            &data[p.i..end],
            "not a JSON array or object",
        );
        return out;
    }
    loop {
        p.ws();
        let Some(&c) = data.get(p.i) else {
            if in_array {
                malformed(&mut out, p.line, b"", "unterminated JSON array");
            }
            break;
        };
        if in_array && c == b']' {
            p.i += 1;
            p.ws();
            if p.i < data.len() {
                malformed(
                    &mut out,
                    p.line,
                    &data[p.i..data.len().min(p.i + 120)],
                    "text after the JSON array",
                );
            }
            break;
        }
        if c == b',' {
            p.i += 1;
            continue;
        }
        let (start, line) = (p.i, p.line);
        match p.skip_value() {
            Ok(()) => {
                let end = p.i.min(data.len());
                if p.i == start {
                    // a stray `}` or `]`: step over it
                    p.i += 1;
                    malformed(
                        &mut out,
                        line,
                        &data[start..start + 1],
                        "unexpected character",
                    );
                } else {
                    json_object(&mut out, line, &data[start..end]);
                }
            }
            Err(e) => {
                malformed(&mut out, line, &data[start..data.len().min(start + 120)], e);
                break;
            }
        }
    }
    out
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
