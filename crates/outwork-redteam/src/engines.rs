//! Who is evaluated: outwork in-process, any Rspamd-compatible `/checkv2`
//! endpoint (outwork's own server or a real Rspamd), or a SpamAssassin spamd.
//!
//! Every engine answers the same question for a raw message: flagged or not,
//! with its own action name, score and symbol names, so one run can put them
//! side by side on the same messages.

use outwork_core::Action;
use outwork_engine::Scanner;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One engine's verdict on one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The engine's spam/phish decision (see each engine for its rule).
    pub flagged: bool,
    /// The engine's own action name ("tag", "add header", "spam"...).
    pub action: String,
    /// The engine's total score, in its own units (outwork and Rspamd
    /// points, SpamAssassin's score); 0 when the engine skipped the message.
    pub score: f64,
    /// The names of the symbols (rules) that fired, in the engine's naming.
    pub symbols: Vec<String>,
    /// Each symbol's score, parallel to `symbols`; empty when the engine
    /// doesn't say (spamd's SYMBOLS answer).
    pub weights: Vec<f64>,
    /// Wall time of the request, milliseconds.
    pub ms: f64,
}

/// Why an engine gave no verdict on a message, or an `--engine` spec was
/// refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// An `--engine` spec that names no engine.
    #[error("--engine {spec}: {reason}")]
    Spec {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The HTTP request to a `/checkv2` endpoint failed (connection,
    /// timeout, protocol).
    #[error("{url}: {source}")]
    Http {
        /// The endpoint.
        url: String,
        /// Why.
        source: ureq::Error,
    },
    /// The endpoint's answer could not be read.
    #[error("{url}: reading the answer: {source}")]
    ReadAnswer {
        /// The endpoint.
        url: String,
        /// Why.
        source: ureq::Error,
    },
    /// The endpoint answered with an HTTP status other than 200.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The first 200 bytes of the answer.
        body: String,
    },
    /// The answer is not JSON.
    #[error("{url}: not JSON ({source})")]
    NotJson {
        /// The endpoint.
        url: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The JSON answer has no `action`.
    #[error("{url}: no action in the answer")]
    NoAction {
        /// The endpoint.
        url: String,
    },
    /// spamd could not be reached, or the exchange with it failed.
    #[error("spamd {addr}: {source}")]
    Spamd {
        /// spamd's `host:port`.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// spamd's host name resolved to no address.
    #[error("spamd {addr}: no address")]
    NoAddress {
        /// spamd's `host:port`.
        addr: String,
    },
    /// spamd answered something that is not a `SYMBOLS` answer.
    #[error("spamd {addr}: {source}")]
    SpamdReply {
        /// spamd's `host:port`.
        addr: String,
        /// What is wrong with the answer.
        source: SpamdReplyError,
    },
    /// Any other engine's failure (engines outside this crate, tests).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// What is wrong with a spamd answer ([`parse_spamd`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpamdReplyError {
    /// The status line is not `SPAMD/x.y 0 EX_OK`: its first 80 characters.
    #[error("unexpected answer {0:?}")]
    Status(String),
    /// No `Spam:` header.
    #[error("no Spam header")]
    NoSpamHeader,
    /// A `Spam:` header without `;` between the flag and the scores.
    #[error("malformed Spam header")]
    MalformedSpamHeader,
    /// The score in the `Spam:` header is not a number.
    #[error("malformed score")]
    MalformedScore,
}

/// Something that judges raw messages: the defence under evaluation. One
/// value is shared by all scan threads of [`crate::run_all`].
pub trait Engine: Send + Sync {
    /// The engine's short name: report column, checkpoint key, `NAME=` of
    /// its `--engine` spec.
    fn name(&self) -> &str;
    /// What the engine is, for reports ("outwork in-process",
    /// "Rspamd-compatible http://…/checkv2", "SpamAssassin spamd host:port").
    fn describe(&self) -> String;
    /// The engine's verdict on one raw message.
    fn scan(&self, raw: &[u8]) -> Result<Verdict, EngineError>;
    /// The in-process engine, when this is one (family ablation needs it).
    fn scanner(&self) -> Option<&Arc<Scanner>> {
        None
    }
}

/// outwork in this process. Flagged = action other than accept.
pub struct InProcess {
    /// The engine's name (`outwork` unless the spec names it).
    pub name: String,
    /// The scanner; its own envelope is used for every message.
    pub scanner: Arc<Scanner>,
}

impl Engine for InProcess {
    fn name(&self) -> &str {
        &self.name
    }
    fn describe(&self) -> String {
        "outwork in-process".into()
    }
    fn scan(&self, raw: &[u8]) -> Result<Verdict, EngineError> {
        let t = Instant::now();
        let v = self
            .scanner
            .scan(raw, &self.scanner.envelope, &Default::default())
            .verdict;
        Ok(Verdict {
            flagged: v.action != Action::Accept,
            action: v.action.as_str().to_string(),
            score: v.score,
            symbols: v.symbols.iter().map(|s| s.name.to_string()).collect(),
            weights: v.symbols.iter().map(|s| s.score).collect(),
            ms: t.elapsed().as_secs_f64() * 1000.0,
        })
    }
    fn scanner(&self) -> Option<&Arc<Scanner>> {
        Some(&self.scanner)
    }
}

/// Rspamd's actions that mean "this is spam": the same rule the anchors
/// scripts use (greylist and soft reject are delivery tactics, not verdicts).
pub const RSPAMD_SPAM_ACTIONS: [&str; 3] = ["add header", "rewrite subject", "reject"];

/// A Rspamd-compatible `POST /checkv2` endpoint.
pub struct CheckV2 {
    /// The engine's name (`checkv2` unless the spec names it).
    pub name: String,
    /// The full `…/checkv2` URL requests are posted to.
    pub url: String,
    agent: ureq::Agent,
}

impl CheckV2 {
    /// `base` is the server root (`http://127.0.0.1:11333`) or the full
    /// `/checkv2` URL; `timeout` bounds each whole request.
    pub fn new(name: &str, base: &str, timeout: Duration) -> CheckV2 {
        let base = base.trim_end_matches('/');
        let url = if base.ends_with("/checkv2") {
            base.to_string()
        } else {
            format!("{base}/checkv2")
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .new_agent();
        CheckV2 {
            name: name.into(),
            url,
            agent,
        }
    }
}

impl Engine for CheckV2 {
    fn name(&self) -> &str {
        &self.name
    }
    fn describe(&self) -> String {
        format!("Rspamd-compatible {}", self.url)
    }
    fn scan(&self, raw: &[u8]) -> Result<Verdict, EngineError> {
        let t = Instant::now();
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "message/rfc822");
        // What an MTA would have told the filter, recovered from the stored
        // message, as the anchors scripts do: without it Rspamd scores every
        // stored message as coming from nowhere.
        for (k, v) in derive_envelope(raw) {
            // Attacker-controlled bytes: a control character would make the
            // request itself fail and drop the message from every rate.
            if v.chars().all(|c| !c.is_control()) {
                req = req.header(k, v);
            }
        }
        let url = || self.url.clone();
        let mut resp = req
            .send(raw)
            .map_err(|source| EngineError::Http { url: url(), source })?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|source| EngineError::ReadAnswer { url: url(), source })?;
        if status != 200 {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(EngineError::Status {
                url: url(),
                status,
                body: text,
            });
        }
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|source| EngineError::NotJson { url: url(), source })?;
        let action = v["action"].as_str().unwrap_or("").to_string();
        if action.is_empty() {
            return Err(EngineError::NoAction { url: url() });
        }
        let mut symbols: Vec<String> = v["symbols"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        symbols.sort();
        let weights = symbols
            .iter()
            .map(|n| v["symbols"][n]["score"].as_f64().unwrap_or(0.0))
            .collect();
        Ok(Verdict {
            flagged: RSPAMD_SPAM_ACTIONS.contains(&action.as_str()),
            score: v["score"].as_f64().unwrap_or(0.0),
            action,
            symbols,
            weights,
            ms: t.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

/// A SpamAssassin spamd, spoken to as `spamc` does (SPAMC/1.5, `SYMBOLS`).
/// Flagged = spamd's own spam decision (score ≥ required).
pub struct Spamd {
    /// The engine's name (`spamassassin` unless the spec names it).
    pub name: String,
    /// spamd's `host:port`.
    pub addr: String,
    /// Connect, read and write timeout, each.
    pub timeout: Duration,
    /// The `User:` sent to spamd (whose per-user settings apply); `nobody`.
    pub user: String,
    /// spamc passes larger messages through unscanned; so do we (500 KiB):
    /// the verdict is then "skipped (too big)", not flagged (a miss, not an
    /// error).
    pub max_bytes: usize,
}

impl Spamd {
    /// A spamd at `addr` (`host:port`) with spamc's defaults: user `nobody`,
    /// messages over 500 KiB not scanned.
    pub fn new(name: &str, addr: &str, timeout: Duration) -> Spamd {
        Spamd {
            name: name.into(),
            addr: addr.into(),
            timeout,
            user: "nobody".into(),
            max_bytes: 500 * 1024,
        }
    }
}

impl Engine for Spamd {
    fn name(&self) -> &str {
        &self.name
    }
    fn describe(&self) -> String {
        format!("SpamAssassin spamd {}", self.addr)
    }
    fn scan(&self, raw: &[u8]) -> Result<Verdict, EngineError> {
        let t = Instant::now();
        if raw.len() > self.max_bytes {
            return Ok(Verdict {
                flagged: false,
                action: "skipped (too big)".into(),
                score: 0.0,
                symbols: vec![],
                weights: vec![],
                ms: 0.0,
            });
        }
        let io = |source| EngineError::Spamd {
            addr: self.addr.clone(),
            source,
        };
        let addr = self
            .addr
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| EngineError::NoAddress {
                addr: self.addr.clone(),
            })?;
        let mut s = TcpStream::connect_timeout(&addr, self.timeout).map_err(io)?;
        s.set_read_timeout(Some(self.timeout)).map_err(io)?;
        s.set_write_timeout(Some(self.timeout)).map_err(io)?;
        let head = format!(
            "SYMBOLS SPAMC/1.5\r\nContent-length: {}\r\nUser: {}\r\n\r\n",
            raw.len(),
            self.user
        );
        s.write_all(head.as_bytes()).map_err(io)?;
        s.write_all(raw).map_err(io)?;
        s.shutdown(std::net::Shutdown::Write).map_err(io)?;
        let mut resp = Vec::new();
        s.take(1 << 20).read_to_end(&mut resp).map_err(io)?;
        let mut v = parse_spamd(&resp).map_err(|source| EngineError::SpamdReply {
            addr: self.addr.clone(),
            source,
        })?;
        v.ms = t.elapsed().as_secs_f64() * 1000.0;
        Ok(v)
    }
}

/// Parse a spamd `SYMBOLS` answer:
/// `SPAMD/1.1 0 EX_OK\r\nSpam: True ; 15.2 / 5.0\r\n...\r\n\r\nSYM1,SYM2`.
pub fn parse_spamd(resp: &[u8]) -> Result<Verdict, SpamdReplyError> {
    let text = String::from_utf8_lossy(resp);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.starts_with("SPAMD/") || !status.contains(" 0 ") {
        return Err(SpamdReplyError::Status(status.chars().take(80).collect()));
    }
    let spam = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("spam"))
        .map(|(_, v)| v.trim().to_string())
        .ok_or(SpamdReplyError::NoSpamHeader)?;
    // "True ; 15.2 / 5.0"
    let (flag, scores) = spam
        .split_once(';')
        .ok_or(SpamdReplyError::MalformedSpamHeader)?;
    let flagged = matches!(flag.trim(), "True" | "Yes");
    let score = scores
        .split('/')
        .next()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .ok_or(SpamdReplyError::MalformedScore)?;
    let symbols = body
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Verdict {
        flagged,
        action: if flagged { "spam" } else { "no action" }.into(),
        score,
        symbols,
        weights: vec![],
        ms: 0.0,
    })
}

/// Parse `--engine` specs: `outwork`, `checkv2:URL`, `spamd:HOST:PORT`,
/// each optionally named `NAME=SPEC` (e.g. `rspamd=checkv2:http://127.0.0.1:11333`).
pub fn parse_spec(
    spec: &str,
    scanner: &Arc<Scanner>,
    timeout: Duration,
) -> Result<Box<dyn Engine>, EngineError> {
    let (name, kind) = match spec.split_once('=') {
        Some((n, k)) if !n.contains(':') && !n.is_empty() => (Some(n), k),
        _ => (None, spec),
    };
    if kind == "outwork" {
        return Ok(Box::new(InProcess {
            name: name.unwrap_or("outwork").into(),
            scanner: scanner.clone(),
        }));
    }
    if let Some(url) = kind.strip_prefix("checkv2:") {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(EngineError::Spec {
                spec: spec.to_string(),
                reason: "checkv2 needs an http:// URL",
            });
        }
        return Ok(Box::new(CheckV2::new(
            name.unwrap_or("checkv2"),
            url,
            timeout,
        )));
    }
    if let Some(addr) = kind.strip_prefix("spamd:") {
        if !addr.contains(':') {
            return Err(EngineError::Spec {
                spec: spec.to_string(),
                reason: "spamd needs HOST:PORT",
            });
        }
        return Ok(Box::new(Spamd::new(
            name.unwrap_or("spamassassin"),
            addr,
            timeout,
        )));
    }
    Err(EngineError::Spec {
        spec: spec.to_string(),
        reason: "expected outwork, checkv2:URL or spamd:HOST:PORT (optionally NAME=...)",
    })
}

/// The envelope an MTA would have passed, from a stored message's headers:
/// From ← Return-Path; Rcpt ← X-Original-To/Delivered-To/Envelope-To;
/// IP/Helo ← the newest Received header with a public IP. Returned as
/// Rspamd request headers.
pub fn derive_envelope(raw: &[u8]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let Some(m) = mail_parser::MessageParser::new().parse_headers(raw) else {
        return out;
    };
    // Raw values: mail-parser decodes these as free text, and `<>` (the
    // null sender) must survive as such.
    if let Some(v) = m.header_raw("Return-Path") {
        let a = angle_addr(v);
        out.push(("From", if a.is_empty() { "<>".into() } else { a }));
    }
    // The first of these in the message (the newest delivery).
    if let Some(a) = m
        .headers()
        .iter()
        .filter(|h| {
            ["X-Original-To", "Delivered-To", "Envelope-To"]
                .iter()
                .any(|n| h.name().eq_ignore_ascii_case(n))
        })
        .find_map(|h| {
            let v = raw.get(h.offset_start() as usize..h.offset_end() as usize)?;
            Some(angle_addr(&String::from_utf8_lossy(v)))
        })
        .filter(|a| !a.is_empty())
    {
        out.push(("Rcpt", a));
    }
    // Newest first: the first hop from a public address is the client.
    if let Some(r) = m
        .received_all()
        .find(|r| r.from_ip.is_some_and(|ip| is_public(&ip)))
        && let Some(ip) = r.from_ip
    {
        out.push(("IP", ip.to_string()));
        if let Some(h) = r.helo.as_ref().or(r.from.as_ref()) {
            out.push(("Helo", h.to_string()));
        }
    }
    out
}

fn angle_addr(v: &str) -> String {
    let v = v.trim();
    let inner = match (v.find('<'), v.rfind('>')) {
        (Some(a), Some(b)) if b > a => &v[a + 1..b],
        _ => v,
    };
    inner.trim().to_string()
}

fn is_public(ip: &std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => {
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_documentation()
                || a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(a) => {
            !(a.is_loopback()
                || a.is_unspecified()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spamd_answer_parses() {
        let v = parse_spamd(
            b"SPAMD/1.1 0 EX_OK\r\nContent-length: 21\r\nSpam: True ; 15.2 / 5.0\r\n\r\nURIBL_X,HTML_MESSAGE\r\n",
        )
        .unwrap();
        assert!(v.flagged);
        assert_eq!(v.score, 15.2);
        assert_eq!(v.symbols, ["URIBL_X", "HTML_MESSAGE"]);
        let v = parse_spamd(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.1 / 5.0\r\n\r\n").unwrap();
        assert!(!v.flagged);
        assert!(v.symbols.is_empty());
        assert_eq!(
            parse_spamd(b"SPAMD/1.0 76 Bad header line").unwrap_err(),
            SpamdReplyError::Status("SPAMD/1.0 76 Bad header line".into())
        );
        assert!(parse_spamd(b"").is_err());
        assert_eq!(
            parse_spamd(b"SPAMD/1.1 0 EX_OK\r\nSpam: what\r\n\r\n").unwrap_err(),
            SpamdReplyError::MalformedSpamHeader
        );
    }

    #[test]
    fn envelope_from_stored_headers() {
        let raw = b"Return-Path: <bounce@evil.example>\r\nDelivered-To: bob@corp.example\r\nReceived: from mx.corp (mx.corp [10.0.0.2]) by inner\r\nReceived: from mail.evil.example (unknown [203.0.113.9]) by mx.corp\r\nReceived: from hel0.evil (host [8.8.4.4]) by x\r\nSubject: hi\r\n\r\nbody";
        let env = derive_envelope(raw);
        assert_eq!(
            env,
            vec![
                ("From", "bounce@evil.example".to_string()),
                ("Rcpt", "bob@corp.example".to_string()),
                ("IP", "8.8.4.4".to_string()),
                ("Helo", "hel0.evil".to_string()),
            ],
            "203.0.113.9 is documentation space, 10/8 private: the first public hop wins"
        );
        assert!(derive_envelope(b"\xff\xfe garbage").is_empty());
    }

    #[test]
    fn specs() {
        let ctx = outwork_core::Context::new(outwork_core::Config::default());
        let sc = Arc::new(Scanner::from_config(ctx).unwrap());
        let t = Duration::from_secs(1);
        assert_eq!(parse_spec("outwork", &sc, t).unwrap().name(), "outwork");
        let e = parse_spec("rspamd=checkv2:http://127.0.0.1:11333", &sc, t).unwrap();
        assert_eq!(e.name(), "rspamd");
        assert!(e.describe().ends_with("127.0.0.1:11333/checkv2"));
        assert_eq!(
            parse_spec("spamd:127.0.0.1:783", &sc, t).unwrap().name(),
            "spamassassin"
        );
        let err = |s| parse_spec(s, &sc, t).err().unwrap().to_string();
        assert_eq!(
            err("checkv2:127.0.0.1"),
            "--engine checkv2:127.0.0.1: checkv2 needs an http:// URL"
        );
        assert!(err("bogus").starts_with("--engine bogus: expected outwork"));
    }

    #[test]
    fn unreachable_endpoints_are_errors_not_panics() {
        let t = Duration::from_millis(500);
        // A port nothing listens on (bound then dropped).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = CheckV2::new("x", &format!("http://127.0.0.1:{port}"), t);
        assert!(e.scan(b"Subject: x\r\n\r\nhi").is_err());
        let s = Spamd::new("y", &format!("127.0.0.1:{port}"), t);
        let e = s.scan(b"Subject: x\r\n\r\nhi").unwrap_err();
        assert!(matches!(e, EngineError::Spamd { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with(&format!("spamd 127.0.0.1:{port}: "))
        );
    }
}
