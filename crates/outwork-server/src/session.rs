//! One milter connection as a pure state machine: a decoded [`Command`]
//! in, a [`Step`] out (replies to send, a finished message to scan, or
//! close). No I/O, no clock: the server drives it and the fuzz target can
//! too.
//!
//! What it keeps is bounded: a whitelist of macros (values capped), the
//! envelope (recipients capped), and the message up to
//! `max_message_bytes`; past that it only counts bytes and the message is
//! marked oversize (the server then applies `on_oversize`). With a
//! [`ByteBudget`] (the listener's `max_buffered_bytes`), every kept byte
//! is charged to it before it is kept; when the budget has no room the
//! message is dropped and marked `over_budget` (the server then applies
//! `on_error`), so slow senders together can't hold more than the budget.

use crate::budget::{ByteBudget, Reservation, reserve_charged};
use crate::codec::{Command, Family, Reply, VERSION, action, cmd, proto};
use std::net::IpAddr;
use std::sync::Arc;

/// The actions we ask for (only those the MTA offers are kept).
pub(crate) const WANTED_ACTIONS: u32 =
    action::ADDHDRS | action::CHGHDRS | action::ADDRCPT | action::DELRCPT | action::QUARANTINE;

/// The protocol options we ask for (only those the MTA offers are kept):
/// no DATA/unknown events, no per-event replies before end of message
/// (fewer round trips), and header values with their leading space so the
/// message is rebuilt exactly.
pub(crate) const WANTED_PROTOCOL: u32 = proto::NOUNKNOWN
    | proto::NODATA
    | proto::NR_CONN
    | proto::NR_HELO
    | proto::NR_MAIL
    | proto::NR_RCPT
    | proto::NR_DATA
    | proto::NR_UNKN
    | proto::NR_EOH
    | proto::NR_HDR
    | proto::NR_BODY
    | proto::HDR_LEADSPC;

/// Macros worth keeping (everything else the MTA sends is dropped).
const KEPT_MACROS: &[&str] = &[
    "i",
    "j",
    "_",
    "{client_addr}",
    "{client_name}",
    "{auth_authen}",
    "{auth_type}",
    "{mail_addr}",
    "{daemon_name}",
];
const MAX_MACRO_VALUE: usize = 512;
const MAX_HELO: usize = 512;
const MAX_ADDR: usize = 1024;
/// Recipients kept per message. More are counted (`rcpt_overflow`): a
/// redirect can't remove recipients it doesn't know, so policy falls back
/// to discard.
pub(crate) const MAX_RCPTS: usize = 10_000;
/// X-Outwork-* headers remembered for stripping.
const MAX_OWN_HEADERS: usize = 100;

/// What one kept header costs beyond its bytes (two `Vec`s and their
/// allocations), for the budget.
const HEADER_OVERHEAD: usize = 64;

/// What the server should do after a command.
#[derive(Debug)]
pub enum Step {
    /// Send these replies (often none: most events need no reply once the
    /// MTA agreed to the no-reply options).
    Reply(Vec<Reply>),
    /// End of message: scan it, then send modifications and a final reply.
    Scan(Box<Message>),
    /// The MTA said QUIT: close the connection.
    Close,
    /// A protocol violation: send a tempfail and close.
    Error(String),
}

/// A finished message and everything policy needs to answer for it.
#[derive(Debug, Clone)]
pub struct Message {
    /// Headers (`Name:value` CRLF) + CRLF + body, as the MTA received it
    /// (minus the MTA's own first Received header, which Postfix hides).
    /// Empty when oversize.
    pub raw: Arc<Vec<u8>>,
    /// The SMTP envelope.
    pub envelope: outwork_engine::Envelope,
    /// Bytes seen (headers + body), whether kept or not.
    pub size: usize,
    /// Over `max_message_bytes`: not kept (empty `raw`), not scanned.
    pub oversize: bool,
    /// The listener's buffered-bytes budget had no room: not kept (empty
    /// `raw`), not scanned.
    pub over_budget: bool,
    /// What `raw` holds against the budget; given back when the last
    /// copy of the message is dropped.
    pub hold: Option<Arc<Reservation>>,
    /// Recipients as the MTA sent them (`<a@b>`), for DELRCPT.
    pub rcpts_raw: Vec<Vec<u8>>,
    /// More recipients than are kept.
    pub rcpt_overflow: bool,
    /// The first Subject header's value as received (leading space included
    /// when `leadspc`).
    pub subject: Option<Vec<u8>>,
    /// Names of X-Outwork-* headers that came with the message, as spelled.
    pub own_headers: Vec<Vec<u8>>,
    /// Every Authentication-Results header: its index among them (1-based,
    /// as CHGHEADER counts) and its authserv-id, lower-cased.
    pub auth_results: Vec<(u32, String)>,
    /// Indexes of those to delete: ones claiming outwork's own authserv-id
    /// (set by the server, which knows the id, when outwork writes its own).
    pub forged_auth_results: Vec<u32>,
    /// The MTA sends and expects header values with the leading space.
    pub leadspc: bool,
    /// Actions the MTA allows us (SMFIF_*).
    pub actions: u32,
    /// Authenticated SMTP user, when the MTA says.
    pub auth_authen: Option<String>,
    /// The MTA's host name (`j`).
    pub mta: Option<String>,
}

#[derive(Debug, Default, Clone)]
struct Macros(Vec<(&'static str, String)>);

impl Macros {
    fn set(&mut self, name: &[u8], value: &[u8]) {
        let Some(&k) = KEPT_MACROS.iter().find(|k| k.as_bytes() == name) else {
            return;
        };
        let v = lossy_capped(value, MAX_MACRO_VALUE);
        match self.0.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k, v)),
        }
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Default)]
struct Conn {
    client_ip: Option<IpAddr>,
    helo: Option<String>,
    macros: Macros,
}

#[derive(Debug, Default)]
struct Msg {
    mail_from: Option<String>,
    rcpts: Vec<String>,
    rcpts_raw: Vec<Vec<u8>>,
    rcpt_overflow: bool,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    size: usize,
    oversize: bool,
    over_budget: bool,
    hold: Option<Reservation>,
    subject: Option<Vec<u8>>,
    own_headers: Vec<Vec<u8>>,
    auth_results: Vec<(u32, String)>,
    ar_seen: u32,
    macros: Macros,
}

/// The state of one milter connection.
#[derive(Debug)]
pub struct Session {
    max_message_bytes: usize,
    budget: Option<ByteBudget>,
    /// (actions, protocol) once negotiated.
    negotiated: Option<(u32, u32)>,
    conn: Conn,
    msg: Msg,
}

impl Session {
    /// A new session keeping messages up to `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Session {
        Session {
            max_message_bytes,
            budget: None,
            negotiated: None,
            conn: Conn::default(),
            msg: Msg::default(),
        }
    }

    /// A session whose kept bytes are charged to `budget`.
    pub fn with_budget(max_message_bytes: usize, budget: ByteBudget) -> Session {
        Session {
            budget: Some(budget),
            ..Session::new(max_message_bytes)
        }
    }

    /// The negotiated protocol options (0 before negotiation).
    pub fn protocol(&self) -> u32 {
        self.negotiated.map_or(0, |n| n.1)
    }

    /// Does `code` need a reply under the negotiated options?
    fn wants_reply(&self, code: u8) -> bool {
        let p = self.protocol();
        let nr = match code {
            cmd::CONNECT => proto::NR_CONN,
            cmd::HELO => proto::NR_HELO,
            cmd::MAIL => proto::NR_MAIL,
            cmd::RCPT => proto::NR_RCPT,
            cmd::DATA => proto::NR_DATA,
            cmd::UNKNOWN => proto::NR_UNKN,
            cmd::HEADER => proto::NR_HDR,
            cmd::EOH => proto::NR_EOH,
            cmd::BODY => proto::NR_BODY,
            _ => return false,
        };
        p & nr == 0
    }

    fn cont(&self, code: u8) -> Step {
        if self.wants_reply(code) {
            Step::Reply(vec![Reply::Continue])
        } else {
            Step::Reply(Vec::new())
        }
    }

    /// Feed one command.
    pub fn handle(&mut self, c: Command) -> Step {
        let code = c.code();
        if self.negotiated.is_none() && !matches!(c, Command::OptNeg { .. } | Command::Quit) {
            return Step::Error(format!("command '{}' before negotiation", code as char));
        }
        match c {
            Command::OptNeg {
                version,
                actions,
                protocol,
            } => {
                if version < 2 {
                    return Step::Error(format!("MTA protocol version {version} too old"));
                }
                let actions = actions & WANTED_ACTIONS;
                let protocol = protocol & WANTED_PROTOCOL;
                self.negotiated = Some((actions, protocol));
                self.conn = Conn::default();
                self.msg = Msg::default();
                Step::Reply(vec![Reply::OptNeg {
                    version: version.min(VERSION),
                    actions,
                    protocol,
                }])
            }
            Command::Macro { stage, pairs } => {
                let m = match stage {
                    cmd::CONNECT | cmd::HELO => &mut self.conn.macros,
                    _ => &mut self.msg.macros,
                };
                for (k, v) in &pairs {
                    m.set(k, v);
                }
                Step::Reply(Vec::new())
            }
            Command::Connect {
                family, address, ..
            } => {
                self.conn.client_ip = None;
                self.conn.helo = None;
                self.msg = Msg::default();
                if matches!(family, Family::Inet | Family::Inet6) {
                    self.conn.client_ip = parse_ip(&address);
                }
                self.cont(code)
            }
            Command::Helo(h) => {
                self.conn.helo = Some(lossy_capped(&h, MAX_HELO));
                self.cont(code)
            }
            Command::Mail(args) => {
                // A new transaction: keep the macros that came just before.
                let macros = std::mem::take(&mut self.msg.macros);
                self.msg = Msg {
                    macros,
                    ..Msg::default()
                };
                self.msg.mail_from = args.first().map(|a| strip_angle(a));
                self.cont(code)
            }
            Command::Rcpt(args) => {
                if let Some(a) = args.first() {
                    if self.msg.rcpts.len() < MAX_RCPTS {
                        self.msg.rcpts.push(strip_angle(a));
                        self.msg.rcpts_raw.push(a[..a.len().min(MAX_ADDR)].to_vec());
                    } else {
                        self.msg.rcpt_overflow = true;
                    }
                }
                self.cont(code)
            }
            Command::Data | Command::Unknown(_) | Command::Eoh => self.cont(code),
            Command::Header { name, value } => {
                if name.eq_ignore_ascii_case(b"subject") && self.msg.subject.is_none() {
                    self.msg.subject = Some(value.clone());
                }
                if name.len() >= 10
                    && name[..10].eq_ignore_ascii_case(b"x-outwork-")
                    && self.msg.own_headers.len() < MAX_OWN_HEADERS
                {
                    self.msg.own_headers.push(name.clone());
                }
                if name.eq_ignore_ascii_case(b"authentication-results") {
                    self.msg.ar_seen = self.msg.ar_seen.saturating_add(1);
                    if self.msg.auth_results.len() < MAX_OWN_HEADERS {
                        let v = String::from_utf8_lossy(&value);
                        let id = v
                            .split(';')
                            .next()
                            .unwrap_or("")
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_lowercase();
                        self.msg.auth_results.push((self.msg.ar_seen, id));
                    }
                }
                // What the header will take in the rebuilt message: name,
                // colon, space, value (bare LFs become CRLF), CRLF.
                let lfs = value.iter().filter(|&&b| b == b'\n').count();
                let n = name.len() + value.len() + lfs + 4;
                // Charged with the two buffers' bookkeeping, so a flood of
                // tiny headers counts for what it really holds.
                if self.take(n) && self.charge(n.saturating_add(HEADER_OVERHEAD)) {
                    self.msg.headers.push((name, value));
                }
                self.cont(code)
            }
            Command::Body(chunk) => {
                self.body(&chunk);
                self.cont(code)
            }
            Command::Eom(chunk) => {
                self.body(&chunk);
                let m = self.finish();
                Step::Scan(Box::new(m))
            }
            Command::Abort => {
                self.msg = Msg::default();
                Step::Reply(Vec::new())
            }
            Command::QuitNc => {
                self.conn = Conn::default();
                self.msg = Msg::default();
                Step::Reply(Vec::new())
            }
            Command::Quit => Step::Close,
        }
    }

    /// Count `n` more message bytes; false once over the limit or the
    /// budget (and then the kept message is dropped: it won't be scanned).
    fn take(&mut self, n: usize) -> bool {
        self.msg.size = self.msg.size.saturating_add(n);
        if self.msg.oversize || self.msg.over_budget {
            return false;
        }
        // +2: the blank line between headers and body.
        if self.msg.size.saturating_add(2) > self.max_message_bytes {
            self.msg.oversize = true;
            self.msg.headers = Vec::new();
            self.msg.body = Vec::new();
            return false;
        }
        true
    }

    /// The reservation of the message being received (a new one when
    /// there is a budget and none yet).
    fn hold(&mut self) -> Option<&mut Reservation> {
        let b = self.budget.as_ref()?;
        Some(self.msg.hold.get_or_insert_with(|| b.reservation()))
    }

    /// Charge `n` more bytes to the budget; false (and the message
    /// dropped) when it has no room. True without a budget.
    fn charge(&mut self, n: usize) -> bool {
        let ok = match self.hold() {
            None => true,
            Some(h) => h.grow(n as u64).is_ok(),
        };
        if !ok {
            self.drop_over_budget();
        }
        ok
    }

    fn drop_over_budget(&mut self) {
        self.msg.over_budget = true;
        self.msg.headers = Vec::new();
        self.msg.body = Vec::new();
        // Given back at once: nothing is kept any more.
        self.msg.hold = None;
    }

    fn body(&mut self, chunk: &[u8]) {
        if chunk.is_empty() || !self.take(chunk.len()) {
            return;
        }
        let max = self.max_message_bytes;
        let mut body = std::mem::take(&mut self.msg.body);
        let ok = match self.hold() {
            None => true,
            Some(h) => reserve_charged(&mut body, chunk.len(), max, h).is_ok(),
        };
        if ok {
            body.extend_from_slice(chunk);
            self.msg.body = body;
        } else {
            self.drop_over_budget();
        }
    }

    /// Build the message for scanning and reset for the next one.
    fn finish(&mut self) -> Message {
        let leadspc = self.protocol() & proto::HDR_LEADSPC != 0;
        let mut msg = std::mem::take(&mut self.msg);
        let mut raw = Vec::new();
        if !msg.oversize && !msg.over_budget {
            // The header block goes in front of the body in place, so the
            // message isn't held twice; the growth is charged first.
            let head = rebuild_head(&msg.headers, leadspc);
            msg.headers = Vec::new();
            let mut body = std::mem::take(&mut msg.body);
            let ok = match msg.hold.as_mut() {
                None => true,
                Some(h) => reserve_charged(&mut body, head.len(), usize::MAX, h).is_ok(),
            };
            if ok {
                body.splice(0..0, head);
                raw = body;
                if let Some(h) = msg.hold.as_mut() {
                    h.shrink_to(raw.capacity() as u64);
                }
            } else {
                msg.over_budget = true;
                msg.hold = None;
            }
        }
        let get = |k: &str| msg.macros.get(k).or_else(|| self.conn.macros.get(k));
        let client_ip = self
            .conn
            .client_ip
            .or_else(|| get("{client_addr}").and_then(|a| parse_ip(a.as_bytes())));
        Message {
            raw: Arc::new(raw),
            envelope: outwork_engine::Envelope {
                client_ip,
                helo: self.conn.helo.clone(),
                mail_from: msg.mail_from.clone(),
                rcpt_to: msg.rcpts.clone(),
                queue_id: get("i").map(str::to_string),
            },
            size: msg.size.saturating_add(2),
            oversize: msg.oversize,
            over_budget: msg.over_budget,
            hold: msg.hold.map(Arc::new),
            rcpts_raw: msg.rcpts_raw,
            rcpt_overflow: msg.rcpt_overflow,
            subject: msg.subject,
            own_headers: msg.own_headers,
            auth_results: msg.auth_results,
            forged_auth_results: Vec::new(),
            leadspc,
            actions: self.negotiated.map_or(0, |n| n.0),
            auth_authen: get("{auth_authen}").map(str::to_string),
            mta: get("j").map(str::to_string),
        }
    }
}

/// The header block as the message had it: `Name:value` CRLF for each
/// header, then the blank line. Multi-line
/// values arrive with bare LF between lines (Sendmail's convention, which
/// Postfix follows); they go back to CRLF. Without HDR_LEADSPC the MTA ate
/// one space after the colon, so one is put back.
fn rebuild_head(headers: &[(Vec<u8>, Vec<u8>)], leadspc: bool) -> Vec<u8> {
    let hlen: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 8).sum();
    let mut raw = Vec::with_capacity(hlen + 2);
    for (name, value) in headers {
        raw.extend_from_slice(name);
        raw.push(b':');
        if !leadspc {
            raw.push(b' ');
        }
        let mut prev = 0u8;
        for &b in value {
            if b == b'\n' && prev != b'\r' {
                raw.push(b'\r');
            }
            raw.push(b);
            prev = b;
        }
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    raw
}

fn lossy_capped(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(max)]);
    s.chars().filter(|c| !c.is_control()).collect()
}

/// `<a@b>` → `a@b`, `<>` → `` (the null sender).
fn strip_angle(a: &[u8]) -> String {
    let s = lossy_capped(a, MAX_ADDR);
    let t = s.trim();
    t.strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(t)
        .to_string()
}

/// Postfix sends `192.0.2.1` / `2001:db8::1`; Sendmail `IPv6:2001:db8::1`
/// and sometimes brackets.
fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(b).ok()?.trim();
    let s = s.trim_start_matches('[').trim_end_matches(']');
    let s = s
        .strip_prefix("IPv6:")
        .or_else(|| s.strip_prefix("ipv6:"))
        .unwrap_or(s);
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn negotiated(protocol: u32, max: usize) -> Session {
        let mut s = Session::new(max);
        match s.handle(Command::OptNeg {
            version: 6,
            actions: 0x1ff,
            protocol,
        }) {
            Step::Reply(r) => assert!(matches!(r[..], [Reply::OptNeg { version: 6, .. }])),
            other => panic!("{other:?}"),
        }
        s
    }

    fn feed(s: &mut Session, cmds: Vec<Command>) -> Vec<Step> {
        cmds.into_iter().map(|c| s.handle(c)).collect()
    }

    fn transaction() -> Vec<Command> {
        vec![
            Command::Macro {
                stage: b'C',
                pairs: vec![(v("j"), v("mx.example.net"))],
            },
            Command::Connect {
                hostname: v("client.example"),
                family: Family::Inet,
                port: 1234,
                address: v("192.0.2.7"),
            },
            Command::Helo(v("client.example")),
            Command::Macro {
                stage: b'M',
                pairs: vec![(v("i"), v("4ABCD")), (v("{auth_authen}"), v("bob"))],
            },
            Command::Mail(vec![v("<a@example.com>"), v("SIZE=10")]),
            Command::Rcpt(vec![v("<b@example.net>")]),
            Command::Header {
                name: v("Subject"),
                value: v(" Hello\n\tworld"),
            },
            Command::Header {
                name: v("X-Outwork-Action"),
                value: v(" accept"),
            },
            Command::Eoh,
            Command::Body(v("line one\r\n")),
            Command::Eom(vec![]),
        ]
    }

    #[test]
    fn a_transaction_without_reply_options() {
        let mut s = negotiated(0, 1 << 20);
        let steps = feed(&mut s, transaction());
        // Every event but macros and EOM is answered with continue.
        let conts = steps
            .iter()
            .filter(|s| matches!(s, Step::Reply(r) if r == &[Reply::Continue]))
            .count();
        assert_eq!(conts, 8);
        let Some(Step::Scan(m)) = steps.last() else {
            panic!("no scan")
        };
        assert_eq!(
            std::str::from_utf8(&m.raw).unwrap(),
            "Subject: Hello\r\n\tworld\r\nX-Outwork-Action: accept\r\n\r\nline one\r\n"
                .replace(": ", ":  ")
        );
        assert_eq!(m.envelope.queue_id.as_deref(), Some("4ABCD"));
        assert_eq!(m.envelope.mail_from.as_deref(), Some("a@example.com"));
        assert_eq!(m.envelope.rcpt_to, vec!["b@example.net".to_string()]);
        assert_eq!(m.envelope.client_ip, "192.0.2.7".parse().ok());
        assert_eq!(m.envelope.helo.as_deref(), Some("client.example"));
        assert_eq!(m.auth_authen.as_deref(), Some("bob"));
        assert_eq!(m.mta.as_deref(), Some("mx.example.net"));
        assert_eq!(m.own_headers, vec![v("X-Outwork-Action")]);
        assert!(!m.leadspc);
    }

    #[test]
    fn authentication_results_are_indexed_with_their_authserv_ids() {
        let mut s = negotiated(0, 1 << 20);
        let mut cmds = transaction();
        let eoh = cmds.len() - 3;
        for (i, value) in [
            " mx.upstream.example; spf=pass",
            " OutWork;\r\n\tdmarc=pass header.from=paypal.com",
            " (comment only)",
        ]
        .into_iter()
        .enumerate()
        {
            cmds.insert(
                eoh + i,
                Command::Header {
                    name: v(if i == 1 {
                        "authentication-results"
                    } else {
                        "Authentication-Results"
                    }),
                    value: v(value),
                },
            );
        }
        let steps = feed(&mut s, cmds);
        let Some(Step::Scan(m)) = steps.last() else {
            panic!("no scan")
        };
        assert_eq!(
            m.auth_results,
            vec![
                (1, "mx.upstream.example".to_string()),
                (2, "outwork".to_string()),
                (3, "(comment".to_string()),
            ]
        );
        assert!(m.forged_auth_results.is_empty(), "the server decides");
    }

    #[test]
    fn leadspc_rebuilds_exactly_and_no_reply_options_silence_events() {
        let mut s = negotiated(0x1f_ffff, 1 << 20);
        let steps = feed(&mut s, transaction());
        for st in &steps[..steps.len() - 1] {
            assert!(matches!(st, Step::Reply(r) if r.is_empty()), "{st:?}");
        }
        let Some(Step::Scan(m)) = steps.last() else {
            panic!()
        };
        assert!(m.leadspc);
        assert_eq!(
            std::str::from_utf8(&m.raw).unwrap(),
            "Subject: Hello\r\n\tworld\r\nX-Outwork-Action: accept\r\n\r\nline one\r\n"
        );
        // The next message on the same connection starts clean.
        let steps = feed(
            &mut s,
            vec![
                Command::Mail(vec![v("<>")]),
                Command::Rcpt(vec![v("<c@example.net>")]),
                Command::Eom(v("x\r\n")),
            ],
        );
        let Some(Step::Scan(m)) = steps.last() else {
            panic!()
        };
        assert_eq!(m.envelope.mail_from.as_deref(), Some(""));
        assert_eq!(m.envelope.rcpt_to, vec!["c@example.net".to_string()]);
        assert_eq!(m.envelope.queue_id, None);
        assert_eq!(&m.raw[..], b"\r\nx\r\n");
        assert_eq!(m.envelope.client_ip, "192.0.2.7".parse().ok());
    }

    #[test]
    fn budgeted_messages_are_charged_and_given_back() {
        let budget = crate::budget::ByteBudget::new(10_000);
        let run = |s: &mut Session| {
            let _ = s.handle(Command::OptNeg {
                version: 6,
                actions: 0x1ff,
                protocol: 0x1f_ffff,
            });
            let steps = feed(s, transaction());
            match steps.into_iter().last() {
                Some(Step::Scan(m)) => m,
                other => panic!("{other:?}"),
            }
        };
        let plain = run(&mut Session::new(1 << 20));
        let mut s = Session::with_budget(1 << 20, budget.clone());
        let m = run(&mut s);
        // The same bytes as without a budget, held while the message lives.
        assert_eq!(m.raw, plain.raw);
        assert!(!m.over_budget);
        assert!(budget.used() >= m.raw.len() as u64);
        drop(m);
        assert_eq!(budget.used(), 0);
        // Another message holds most of the budget: this one is not kept.
        let mut other = budget.reservation();
        other.grow(9_900).unwrap();
        let m = run(&mut s);
        assert!(m.over_budget && m.raw.is_empty() && !m.oversize);
        assert!(m.size > 0);
        drop(other);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn oversize_is_counted_not_kept() {
        let mut s = negotiated(0x1f_ffff, 100);
        let mut cmds = vec![Command::Mail(vec![v("<a@b>")])];
        cmds.extend((0..10).map(|_| Command::Body(vec![b'x'; 50])));
        cmds.push(Command::Eom(vec![]));
        let steps = feed(&mut s, cmds);
        let Some(Step::Scan(m)) = steps.last() else {
            panic!()
        };
        assert!(m.oversize);
        assert!(m.raw.is_empty());
        assert_eq!(m.size, 502);
    }

    #[test]
    fn commands_before_negotiation_are_errors() {
        let mut s = Session::new(100);
        assert!(matches!(s.handle(Command::Helo(v("x"))), Step::Error(_)));
        assert!(matches!(s.handle(Command::Quit), Step::Close));
    }

    #[test]
    fn abort_and_quit_nc_reset() {
        let mut s = negotiated(0x1f_ffff, 1 << 20);
        feed(
            &mut s,
            vec![
                Command::Mail(vec![v("<a@b>")]),
                Command::Rcpt(vec![v("<c@d>")]),
                Command::Abort,
            ],
        );
        let steps = feed(&mut s, vec![Command::Eom(vec![])]);
        let Some(Step::Scan(m)) = steps.last() else {
            panic!()
        };
        assert!(m.envelope.rcpt_to.is_empty());
        feed(
            &mut s,
            vec![
                Command::Connect {
                    hostname: v("h"),
                    family: Family::Inet6,
                    port: 1,
                    address: v("IPv6:2001:db8::1"),
                },
                Command::QuitNc,
            ],
        );
        let steps = feed(&mut s, vec![Command::Eom(vec![])]);
        let Some(Step::Scan(m)) = steps.last() else {
            panic!()
        };
        assert_eq!(m.envelope.client_ip, None);
    }

    #[test]
    fn ipv6_and_unknown_macros() {
        assert_eq!(parse_ip(b"IPv6:2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip(b"[192.0.2.1]"), "192.0.2.1".parse().ok());
        assert_eq!(parse_ip(b"unknown"), None);
        let mut m = Macros::default();
        m.set(b"{secret}", b"x");
        m.set(b"i", &[b'a'; 2000]);
        assert_eq!(m.get("{secret}"), None);
        assert_eq!(m.get("i").map(str::len), Some(MAX_MACRO_VALUE));
    }
}
