//! The Rspamd protocol (`POST /checkv2`), pure: request headers → the
//! envelope, a verdict → Rspamd's JSON reply. Fuzzed (`fuzz/http_headers`).
//!
//! Requests carry the message as the body and the SMTP envelope as HTTP
//! headers (`IP`, `Helo`, `From`, `Rcpt` (repeatable), `Queue-Id`, `User`,
//! `Deliver-To`, …), so `rspamc`, Haraka's rspamd plugin and Rspamd's own
//! proxy can talk to outwork unchanged. Exim's `variant=rspamd` speaks the
//! older text protocol (`CHECK RSPAMC/1.3`, the same headers, a
//! `Metric:`/`Action:`/`Symbol:` reply): [`parse_legacy_head`] and
//! [`legacy_reply`], served on the same port.
//!
//! Replies have Rspamd's shape: `score`, `required_score` (outwork's reject
//! threshold), `action` in Rspamd's words, `symbols` (options = outwork's
//! evidence), `urls`, `emails`, `message-id`, `time_real` and a `milter`
//! block of header edits (the verdict headers to add; forged copies to
//! remove).
//!
//! Actions: accept → `no action`, tag → `add header`, reject → `reject`.
//! Rspamd has no quarantine; outwork's `quarantine` becomes
//! `[http] rspamd_quarantine_action`, `add header` by default (delivered
//! with `X-Spam: Yes` and `X-Outwork-Action: quarantine`, so the mailbox
//! side files it as junk; with `reject` or `discard` the MTA drops it and,
//! when a quarantine store is configured, outwork keeps the copy).

use crate::config::RspamdQuarantineAction;
use crate::policy::{H_ACTION, H_ERROR, H_QUARANTINE, H_SCORE, H_SYMBOLS, symbols_header};
use outwork_core::Thresholds;
use outwork_core::{Action, Verdict};
use outwork_engine::Envelope;
use serde_json::{Map, Value, json};
use std::net::IpAddr;

/// Longest header value accepted (Rspamd's own limit is similar).
pub(crate) const MAX_HEADER_VALUE: usize = 4096;
/// Most recipients accepted in one request.
pub const MAX_RCPTS: usize = 1000;

/// A `/checkv2` request's metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RspamdRequest {
    /// The SMTP envelope from `IP`, `Helo`, `From`, `Rcpt`, `Queue-Id`.
    pub envelope: Envelope,
    /// Authenticated user (`User`): the message was submitted, not
    /// received.
    pub user: Option<String>,
    /// `Deliver-To`: the final mailbox (LDA).
    pub deliver_to: Option<String>,
    /// `Hostname`: the client's resolved host name.
    pub hostname: Option<String>,
    /// `Settings-ID` (accepted, not used).
    pub settings_id: Option<String>,
    /// `Pass: all` (accepted; outwork always runs every check).
    pub pass_all: bool,
    /// `Log-Tag`: a tag for our log lines (Rspamd's proxy sends the MTA's
    /// queue id here).
    pub log_tag: Option<String>,
}

/// A request header we can't accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A header with a value we can't use.
    #[error("header {name}: {reason}")]
    Bad {
        /// The header.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// More `Rcpt` headers than [`MAX_RCPTS`].
    #[error("more than {MAX_RCPTS} Rcpt addresses")]
    TooManyRcpts,
    /// A compressed body (zstd): not supported.
    #[error("{0} compression is not supported: send the message uncompressed")]
    Compressed(String),
}

fn bad(name: &str, reason: impl Into<String>) -> HeaderError {
    HeaderError::Bad {
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// A header value as text: bounded, one line, UTF-8 (lossy: MTAs send
/// 8-bit addresses), trimmed. Empty → `None`.
fn text(name: &str, v: &[u8]) -> Result<Option<String>, HeaderError> {
    if v.len() > MAX_HEADER_VALUE {
        return Err(bad(name, format!("longer than {MAX_HEADER_VALUE} bytes")));
    }
    if v.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(bad(name, "control characters"));
    }
    let s = String::from_utf8_lossy(v);
    let s = s.trim();
    Ok((!s.is_empty()).then(|| s.to_string()))
}

/// An SMTP address as MTAs write it: `<a@b>`, `a@b`, `<>` (null sender).
fn address(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix('<').unwrap_or(s);
    let s = s.strip_suffix('>').unwrap_or(s);
    s.trim().to_string()
}

/// `IP`: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, `IPv6:2001:db8::1`.
fn ip(name: &str, s: &str) -> Result<IpAddr, HeaderError> {
    let t = s.trim().trim_start_matches('[').trim_end_matches(']');
    let t = t
        .strip_prefix("IPv6:")
        .or_else(|| t.strip_prefix("ipv6:"))
        .unwrap_or(t);
    t.parse()
        .map_err(|_| bad(name, format!("{s:?} is not an IP address")))
}

/// Parse a `/checkv2` request's headers (name, raw value), in order.
/// Unknown headers are ignored, as Rspamd does; known ones with values we
/// can't use are errors (a 400 for the client, not a silent guess).
pub fn parse_request_headers<'a, I>(headers: I) -> Result<RspamdRequest, HeaderError>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    let mut r = RspamdRequest::default();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "ip" => {
                // Exim sends an empty IP for local submissions.
                if let Some(s) = text(name, value)? {
                    r.envelope.client_ip = Some(ip(name, &s)?);
                }
            }
            "helo" => r.envelope.helo = text(name, value)?,
            "from" => {
                // Present but empty (or `<>`): the null sender.
                r.envelope.mail_from =
                    Some(text(name, value)?.map(|s| address(&s)).unwrap_or_default());
            }
            "rcpt" => {
                if let Some(s) = text(name, value)? {
                    for a in s.split(',') {
                        let a = address(a);
                        if a.is_empty() {
                            continue;
                        }
                        if r.envelope.rcpt_to.len() >= MAX_RCPTS {
                            return Err(HeaderError::TooManyRcpts);
                        }
                        r.envelope.rcpt_to.push(a);
                    }
                }
            }
            "queue-id" => r.envelope.queue_id = text(name, value)?,
            "user" => r.user = text(name, value)?,
            "deliver-to" => r.deliver_to = text(name, value)?.map(|s| address(&s)),
            "hostname" => r.hostname = text(name, value)?,
            "settings-id" => r.settings_id = text(name, value)?,
            "log-tag" => r.log_tag = text(name, value)?,
            "pass" => {
                r.pass_all = text(name, value)?.is_some_and(|s| s.eq_ignore_ascii_case("all"))
            }
            "compression" | "content-encoding" => {
                if let Some(s) = text(name, value)?
                    && !s.eq_ignore_ascii_case("identity")
                {
                    return Err(HeaderError::Compressed(s));
                }
            }
            _ => {}
        }
    }
    Ok(r)
}

/// Rspamd's name for an outwork action.
pub(crate) fn action_name(a: Action, quarantine: RspamdQuarantineAction) -> &'static str {
    match a {
        Action::Accept => "no action",
        Action::Tag => "add header",
        Action::Quarantine => quarantine.as_str(),
        Action::Reject => "reject",
    }
}

/// What outwork learned about the message besides the verdict (for the
/// `urls`, `emails`, `message-id` and `subject` fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageInfo {
    /// The Message-ID header.
    pub message_id: Option<String>,
    /// The decoded Subject.
    pub subject: Option<String>,
    /// Distinct host names of the links, in order of appearance.
    pub urls: Vec<String>,
    /// Distinct mailto: addresses.
    pub emails: Vec<String>,
}

impl MessageInfo {
    /// From the parsed facts and the raw header block.
    pub fn from_facts(raw: &[u8], facts: &outwork_core::Facts) -> MessageInfo {
        let mut urls: Vec<String> = Vec::new();
        let mut emails: Vec<String> = Vec::new();
        for u in &facts.urls {
            if u.url.scheme.eq_ignore_ascii_case("mailto") {
                let a = u.url.raw.get(7..).unwrap_or("");
                let a = a.split('?').next().unwrap_or("").to_ascii_lowercase();
                if !a.is_empty() && !emails.contains(&a) && emails.len() < 256 {
                    emails.push(a);
                }
                continue;
            }
            let h = u.url.host_ascii();
            if !h.is_empty() && !urls.iter().any(|x| x == h) && urls.len() < 256 {
                urls.push(h.to_string());
            }
        }
        MessageInfo {
            message_id: header_value(raw, "message-id").map(|m| {
                m.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            }),
            subject: (!facts.subject.is_empty()).then(|| facts.subject.clone()),
            urls,
            emails,
        }
    }
}

/// The first header `name` (lower case) of a raw message, unfolded; only
/// the header block is read.
pub fn header_value(raw: &[u8], name: &str) -> Option<String> {
    let mut lines = raw.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return None;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(name.as_bytes())
        {
            continue;
        }
        let mut v = line[colon + 1..].to_vec();
        while let Some(next) = lines.peek() {
            if next.first().is_some_and(|&b| b == b' ' || b == b'\t') {
                let n = next.strip_suffix(b"\r").unwrap_or(next);
                v.push(b' ');
                v.extend_from_slice(n.trim_ascii());
                lines.next();
            } else {
                break;
            }
        }
        return Some(String::from_utf8_lossy(v.trim_ascii()).into_owned());
    }
    None
}

/// Everything the `/checkv2` reply is made from.
pub struct Reply<'a> {
    /// The verdict.
    pub verdict: &'a Verdict,
    /// The thresholds (`required_score`).
    pub thresholds: &'a Thresholds,
    /// How outwork's quarantine is spelled to Rspamd clients.
    pub quarantine_action: RspamdQuarantineAction,
    /// `rewrite subject` template (`%s` = the original subject).
    pub subject_template: &'a str,
    /// What else the message showed.
    pub info: &'a MessageInfo,
    /// The request's `Queue-Id`.
    pub queue_id: Option<&'a str>,
    /// Seconds the scan took.
    pub time_real: f64,
    /// Set when outwork kept a copy in its quarantine.
    pub quarantine_id: Option<&'a str>,
}

/// Rspamd's JSON reply for a verdict.
pub fn checkv2_reply(r: &Reply<'_>) -> Value {
    let v = r.verdict;
    let action = action_name(v.action, r.quarantine_action);
    let mut symbols = Map::new();
    let mut syms: Vec<_> = v.symbols.iter().collect();
    syms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(b.name)));
    for s in syms {
        let description = outwork_core::lookup_symbol(s.name)
            .map(|d| d.description)
            .unwrap_or("");
        symbols.insert(
            s.name.to_string(),
            json!({
                "name": s.name,
                "score": s.score,
                "metric_score": s.score,
                "description": description,
                "options": s.evidence,
            }),
        );
    }
    // Header edits for Rspamd-aware MTAs (Rspamd proxy, Haraka, …):
    // remove any copy a sender forged, then add ours.
    let mut add = Map::new();
    let mut order = 0;
    let mut push = |name: &str, value: String| {
        let value = value.replace(['\r', '\n', '\0'], " ");
        add.insert(name.to_string(), json!({"value": value, "order": order}));
        order += 1;
    };
    push(H_ACTION, v.action.as_str().to_string());
    push(H_SCORE, format!("{:.2}", v.score));
    if !v.symbols.is_empty() {
        push(H_SYMBOLS, symbols_header(v));
    }
    if let Some(id) = r.quarantine_id {
        push(H_QUARANTINE, id.to_string());
    }
    if v.action != Action::Accept {
        push("X-Spam", "Yes".to_string());
    }
    if let Some(ar) = &v.authentication_results {
        push("Authentication-Results", ar.clone());
    }
    let mut remove = Map::new();
    for h in [
        H_ACTION,
        H_SCORE,
        H_SYMBOLS,
        H_ERROR,
        H_QUARANTINE,
        "X-Spam",
    ] {
        remove.insert(h.to_string(), json!(0));
    }
    let mut out = json!({
        "is_skipped": false,
        "score": round2(v.score),
        "required_score": round2(r.thresholds.reject),
        "action": action,
        "symbols": symbols,
        "messages": {},
        "urls": r.info.urls,
        "emails": r.info.emails,
        "time_real": r.time_real,
        "milter": {"add_headers": add, "remove_headers": remove},
        "outwork": {
            "action": v.action.as_str(),
            "thresholds": {
                "tag": r.thresholds.tag,
                "quarantine": r.thresholds.quarantine,
                "reject": r.thresholds.reject,
            },
        },
    });
    if let Value::Object(o) = &mut out {
        if let Some(m) = &r.info.message_id {
            o.insert("message-id".into(), json!(m));
        }
        if let Some(q) = r.queue_id {
            o.insert("queue-id".into(), json!(q));
        }
        if action == "rewrite subject" {
            let old = r.info.subject.as_deref().unwrap_or("");
            o.insert(
                "subject".into(),
                json!(r.subject_template.replace("%s", old)),
            );
        }
        if let Some(id) = r.quarantine_id {
            o.insert(
                "messages".into(),
                json!({"outwork": format!("quarantined as {id}")}),
            );
        }
    }
    out
}

/// Rspamd's legacy text reply (`RSPAMC/1.3` requests, as Exim's
/// `spamd_address = ... variant=rspamd` sends): a status line, `Metric:
/// default; True|False; score / required / reject`, `Action:`, one
/// `Symbol: NAME(score); evidence, ...` line per symbol, `Message-ID:`.
pub fn legacy_reply(r: &Reply<'_>) -> String {
    let v = r.verdict;
    let action = action_name(v.action, r.quarantine_action);
    let is_spam = !matches!(action, "no action" | "greylist");
    let line = |s: &str| s.replace(['\r', '\n', '\0'], " ");
    let mut out = format!(
        "RSPAMD/1.3 0 EX_OK\r\nMetric: default; {}; {:.2} / {:.2} / {:.2}\r\nAction: {action}\r\n",
        if is_spam { "True" } else { "False" },
        v.score,
        r.thresholds.reject,
        r.thresholds.reject,
    );
    if action == "rewrite subject" {
        let old = r.info.subject.as_deref().unwrap_or("");
        out.push_str(&format!(
            "Subject: {}\r\n",
            line(&r.subject_template.replace("%s", old))
        ));
    }
    let mut syms: Vec<_> = v.symbols.iter().collect();
    syms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(b.name)));
    for s in syms {
        out.push_str(&format!("Symbol: {}({:.2})", s.name, s.score));
        if !s.evidence.is_empty() {
            let ev: Vec<String> = s.evidence.iter().map(|e| line(e)).collect();
            out.push_str("; ");
            out.push_str(&ev.join(", "));
        }
        out.push_str("\r\n");
    }
    if let Some(m) = &r.info.message_id {
        out.push_str(&format!("Message-ID: {}\r\n", line(m)));
    }
    if let Some(q) = r.queue_id {
        out.push_str(&format!("Queue-ID: {}\r\n", line(q)));
    }
    out.push_str("\r\n");
    out
}

/// A legacy error reply (the client sees no `EX_OK` and defers).
pub fn legacy_error(code: u16, msg: &str) -> String {
    format!(
        "RSPAMD/1.3 {code} {}\r\n\r\n",
        msg.replace(['\r', '\n', '\0'], " ")
    )
}

/// Is this request line Rspamd's legacy protocol (`CHECK RSPAMC/1.3`)?
pub fn is_legacy_request_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(cmd), Some(proto), None)
            if cmd.iter().all(|b| b.is_ascii_alphabetic() || *b == b'_')
                && proto.starts_with(b"RSPAMC/")
    )
}

/// The head of a legacy request.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyHead {
    /// `CHECK`, `SYMBOLS`, `REPORT`, `REPORT_IFSPAM`, `PROCESS`, `PING`.
    pub command: String,
    /// Request headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// `Content-length`, when sent.
    pub content_length: Option<usize>,
}

/// Why a legacy request head was refused (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyHeadError {
    /// The first line is not `COMMAND RSPAMC/1.x`.
    #[error("not an RSPAMC request line")]
    NotRspamc,
    /// A header line without `:`.
    #[error("header line without a colon")]
    NoColon,
    /// A header name that is not UTF-8.
    #[error("header name is not UTF-8")]
    NameNotUtf8,
    /// An empty header name or one with spaces.
    #[error("bad header name")]
    BadName,
    /// A `Content-length` that is not a number.
    #[error("bad Content-length")]
    BadContentLength,
    /// More header lines than a request needs.
    #[error("too many header lines")]
    TooManyHeaders,
}

/// Parse a legacy request head (request line and headers, without the
/// blank line).
pub fn parse_legacy_head(head: &[u8]) -> Result<LegacyHead, LegacyHeadError> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    if !is_legacy_request_line(first) {
        return Err(LegacyHeadError::NotRspamc);
    }
    let command = String::from_utf8_lossy(first.split(|&b| b == b' ').next().unwrap_or_default())
        .to_ascii_uppercase();
    let mut headers = Vec::new();
    let mut content_length = None;
    for l in lines {
        if l.is_empty() {
            continue;
        }
        let Some(colon) = l.iter().position(|&b| b == b':') else {
            return Err(LegacyHeadError::NoColon);
        };
        let name = std::str::from_utf8(&l[..colon])
            .map_err(|_| LegacyHeadError::NameNotUtf8)?
            .trim()
            .to_string();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(LegacyHeadError::BadName);
        }
        let value = l[colon + 1..].trim_ascii().to_vec();
        if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(&value)
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or(LegacyHeadError::BadContentLength)?;
            content_length = Some(n);
        }
        if headers.len() >= MAX_RCPTS + 64 {
            return Err(LegacyHeadError::TooManyHeaders);
        }
        headers.push((name, value));
    }
    Ok(LegacyHead {
        command,
        headers,
        content_length,
    })
}

/// Rspamd's reply when a message could not be scanned.
pub(crate) fn error_reply(msg: &str) -> Value {
    json!({"error": msg})
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use outwork_core::Symbol;

    fn parse(h: &[(&str, &str)]) -> Result<RspamdRequest, HeaderError> {
        parse_request_headers(h.iter().map(|(n, v)| (*n, v.as_bytes())))
    }

    #[test]
    fn envelope_from_headers() {
        let r = parse(&[
            ("IP", "192.0.2.7"),
            ("helo", "mx.example.net"),
            ("From", "<alice@example.org>"),
            ("Rcpt", "<bob@example.com>"),
            ("RCPT", "carol@example.com, <dave@example.com>"),
            ("Queue-Id", "4ABC"),
            ("User", "alice"),
            ("Deliver-To", "<bob@example.com>"),
            ("Pass", "all"),
            ("X-Unknown", "whatever"),
        ])
        .unwrap();
        let e = &r.envelope;
        assert_eq!(e.client_ip, "192.0.2.7".parse().ok());
        assert_eq!(e.helo.as_deref(), Some("mx.example.net"));
        assert_eq!(e.mail_from.as_deref(), Some("alice@example.org"));
        assert_eq!(
            e.rcpt_to,
            vec!["bob@example.com", "carol@example.com", "dave@example.com"]
        );
        assert_eq!(e.queue_id.as_deref(), Some("4ABC"));
        assert_eq!(r.user.as_deref(), Some("alice"));
        assert_eq!(r.deliver_to.as_deref(), Some("bob@example.com"));
        assert!(r.pass_all);
    }

    #[test]
    fn edge_values() {
        // Null sender, empty IP (local submission), bracketed IPv6.
        let r = parse(&[("From", "<>"), ("IP", "")]).unwrap();
        assert_eq!(r.envelope.mail_from.as_deref(), Some(""));
        assert_eq!(r.envelope.client_ip, None);
        let r = parse(&[("IP", "[IPv6:2001:db8::1]")]).unwrap();
        assert_eq!(r.envelope.client_ip, "2001:db8::1".parse().ok());
        assert!(parse(&[("IP", "not-an-ip")]).is_err());
        assert!(parse(&[("Helo", &"x".repeat(MAX_HEADER_VALUE + 1))]).is_err());
        assert!(matches!(
            parse(&[("Compression", "zstd")]),
            Err(HeaderError::Compressed(_))
        ));
        let many: Vec<String> = (0..=MAX_RCPTS).map(|i| format!("u{i}@x")).collect();
        let hs: Vec<(&str, &str)> = many.iter().map(|r| ("Rcpt", r.as_str())).collect();
        assert_eq!(parse(&hs), Err(HeaderError::TooManyRcpts));
        assert_eq!(parse(&hs[1..]).unwrap().envelope.rcpt_to.len(), MAX_RCPTS);
        // Non-UTF-8 is taken lossily, NUL is refused.
        let r = parse_request_headers([("Helo", &b"h\xffx"[..])]).unwrap();
        assert_eq!(r.envelope.helo.as_deref(), Some("h\u{fffd}x"));
        assert!(parse_request_headers([("Helo", &b"a\0b"[..])]).is_err());
    }

    #[test]
    fn legacy_protocol() {
        assert!(is_legacy_request_line(b"CHECK RSPAMC/1.3\r"));
        assert!(is_legacy_request_line(b"REPORT_IFSPAM RSPAMC/1.1"));
        assert!(!is_legacy_request_line(b"POST /checkv2 HTTP/1.1\r"));
        assert!(!is_legacy_request_line(b"REPORT SPAMC/1.2"));
        // What Exim sends.
        let h = parse_legacy_head(
            b"CHECK RSPAMC/1.3\r\nContent-length: 42\r\nQueue-Id: 1abc\r\nFrom: <a@b.example>\r\nRecipient-Number: 1\r\nRcpt: <c@d.example>\r\nIP: 192.0.2.1",
        )
        .unwrap();
        assert_eq!(h.command, "CHECK");
        assert_eq!(h.content_length, Some(42));
        let r = parse_request_headers(h.headers.iter().map(|(n, v)| (n.as_str(), &v[..]))).unwrap();
        assert_eq!(r.envelope.rcpt_to, vec!["c@d.example"]);
        assert_eq!(r.envelope.queue_id.as_deref(), Some("1abc"));
        assert_eq!(
            parse_legacy_head(b"CHECK RSPAMC/1.3\r\nContent-length: x"),
            Err(LegacyHeadError::BadContentLength)
        );
        assert_eq!(
            parse_legacy_head(b"CHECK RSPAMC/1.3\r\nno colon"),
            Err(LegacyHeadError::NoColon)
        );
        assert_eq!(
            parse_legacy_head(b"GET / HTTP/1.1"),
            Err(LegacyHeadError::NotRspamc)
        );
    }

    #[test]
    fn header_values() {
        let raw = b"Subject: hi\r\nMessage-ID:\r\n <abc@x>\r\n\r\nMessage-ID: <body@x>\r\n";
        assert_eq!(header_value(raw, "message-id").as_deref(), Some("<abc@x>"));
        assert_eq!(header_value(raw, "subject").as_deref(), Some("hi"));
        assert_eq!(
            header_value(b"\r\nMessage-ID: <b@x>\r\n", "message-id"),
            None
        );
    }

    #[test]
    fn reply_shape() {
        let v = Verdict {
            action: Action::Quarantine,
            score: 11.234,
            symbols: vec![Symbol {
                name: "URL_IP_OBFUSCATED",
                score: 6.0,
                evidence: vec!["host 3232235777".into()],
            }],
            authentication_results: None,
        };
        let t = Thresholds {
            tag: 5.0,
            quarantine: 10.0,
            reject: 15.0,
        };
        let info = MessageInfo {
            message_id: Some("m@x".into()),
            subject: Some("Invoice".into()),
            urls: vec!["192.168.1.1".into()],
            emails: vec![],
        };
        let mut r = Reply {
            verdict: &v,
            thresholds: &t,
            quarantine_action: RspamdQuarantineAction::AddHeader,
            subject_template: "*** PHISHING *** %s",
            info: &info,
            queue_id: Some("Q1"),
            time_real: 0.01,
            quarantine_id: None,
        };
        let j = checkv2_reply(&r);
        assert_eq!(j["action"], "add header");
        assert_eq!(j["score"], 11.23);
        assert_eq!(j["required_score"], 15.0);
        assert_eq!(
            j["symbols"]["URL_IP_OBFUSCATED"]["options"][0],
            "host 3232235777"
        );
        assert_eq!(j["symbols"]["URL_IP_OBFUSCATED"]["metric_score"], 6.0);
        assert_eq!(j["message-id"], "m@x");
        assert_eq!(j["queue-id"], "Q1");
        assert_eq!(
            j["milter"]["add_headers"]["X-Outwork-Action"]["value"],
            "quarantine"
        );
        assert_eq!(j["milter"]["add_headers"]["X-Spam"]["value"], "Yes");
        assert_eq!(j["milter"]["remove_headers"]["X-Outwork-Score"], 0);
        assert!(j.get("subject").is_none());
        r.quarantine_action = RspamdQuarantineAction::RewriteSubject;
        let j = checkv2_reply(&r);
        assert_eq!(j["action"], "rewrite subject");
        assert_eq!(j["subject"], "*** PHISHING *** Invoice");
        assert_eq!(
            action_name(Action::Accept, r.quarantine_action),
            "no action"
        );
        assert_eq!(action_name(Action::Tag, r.quarantine_action), "add header");
        assert_eq!(action_name(Action::Reject, r.quarantine_action), "reject");
    }
}
