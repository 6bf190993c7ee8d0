//! From a verdict (or a failure to get one) to milter replies: header
//! modifications, then one final reply. Pure: the quarantine write happens
//! before, in the server, and its result comes in as an argument.

use crate::codec::{Reply, action};
use crate::config::{FailPolicy, MilterConfig, OversizePolicy, QuarantineMode};
use crate::session::Message;
use outwork_core::{Action, Verdict};
use std::fmt;

/// What happened to a message: every message ends in exactly one of
/// these, and the log line says which.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Delivered, scanned (`action` is accept or tag).
    Delivered {
        /// `accept` or `tag`.
        action: &'static str,
    },
    /// Delivered without a verdict (fail-open or oversize accept).
    DeliveredUnscanned {
        /// Why it went unscanned.
        reason: String,
    },
    /// Stored in the quarantine, then discarded / redirected / held.
    Quarantined {
        /// The quarantine id.
        id: String,
        /// What happened to it then.
        mode: QuarantineMode,
    },
    /// Refused with an SMTP 5xx (or a configured 4xx).
    Rejected {
        /// The SMTP reply sent.
        reply: String,
    },
    /// Refused with a 4xx: the sending MTA keeps it and retries.
    Tempfailed {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Delivered { action } => write!(f, "delivered ({action})"),
            Outcome::DeliveredUnscanned { reason } => write!(f, "delivered unscanned ({reason})"),
            Outcome::Quarantined { id, mode } => {
                let m = match mode {
                    QuarantineMode::Discard => "discarded",
                    QuarantineMode::Redirect => "redirected",
                    QuarantineMode::Hold => "held",
                };
                write!(f, "quarantined as {id}, {m}")
            }
            Outcome::Rejected { reply } => write!(f, "rejected ({reply})"),
            Outcome::Tempfailed { reason } => write!(f, "tempfailed ({reason})"),
        }
    }
}

/// The replies for one message (modifications first, the final reply
/// last) and what they amount to.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Milter replies, in the order they are sent.
    pub replies: Vec<Reply>,
    /// What they amount to (for the log).
    pub outcome: Outcome,
}

/// Header names we add (and strip when they arrive from outside).
pub(crate) const H_ACTION: &str = "X-Outwork-Action";
/// The verdict's score.
pub(crate) const H_SCORE: &str = "X-Outwork-Score";
/// The fired symbols with their scores.
pub(crate) const H_SYMBOLS: &str = "X-Outwork-Symbols";
/// Why the message went unscanned (fail-open, oversize).
pub(crate) const H_ERROR: &str = "X-Outwork-Error";
/// The quarantine id of a stored copy.
pub(crate) const H_QUARANTINE: &str = "X-Outwork-Quarantine-Id";

/// The symbol of a message delivered unscanned because it is over
/// `max_message_bytes` (`on_oversize = accept`): in X-Outwork-Symbols and
/// the log line, so the refusal to scan is never silent.
pub(crate) const UNSCANNED_SIZE: &str = "MESSAGE_UNSCANNED_SIZE";

/// Longest X-Outwork-Symbols value; the rest is summarised as "+N more".
const MAX_SYMBOLS_HEADER: usize = 900;

/// Builds replies with the message's header conventions.
struct Out<'a> {
    msg: &'a Message,
    replies: Vec<Reply>,
}

impl Out<'_> {
    fn may(&self, a: u32) -> bool {
        self.msg.actions & a != 0
    }
    /// A header value as the MTA expects it: with HDR_LEADSPC negotiated
    /// the value carries its own leading space (Postfix adds none).
    fn value(&self, v: &str) -> Vec<u8> {
        let v = v.replace(['\r', '\0'], "");
        if self.msg.leadspc {
            format!(" {v}").into_bytes()
        } else {
            v.into_bytes()
        }
    }
    fn add(&mut self, name: &str, v: &str) {
        if self.may(action::ADDHDRS) {
            let value = self.value(v);
            self.replies.push(Reply::AddHeader {
                name: name.as_bytes().to_vec(),
                value,
            });
        }
    }
    /// Delete X-Outwork-* headers that came with the message: a sender
    /// must not be able to forge our verdict. Indexes count per name
    /// (case-insensitive, 1-based); the highest goes first so each index
    /// still points at the header it meant.
    fn strip(&mut self, cfg: &MilterConfig) {
        if !cfg.strip_headers || !self.may(action::CHGHDRS) {
            return;
        }
        let mut seen: Vec<(Vec<u8>, u32)> = Vec::new();
        for n in &self.msg.own_headers {
            let lower = n.to_ascii_lowercase();
            match seen.iter_mut().find(|(k, _)| *k == lower) {
                Some((_, c)) => *c += 1,
                None => seen.push((lower, 1)),
            }
        }
        // Authentication-Results claiming our authserv-id: a sender's forgery
        // of the verdict outwork is about to add. Highest index first.
        let mut forged = self.msg.forged_auth_results.clone();
        forged.sort_unstable_by(|a, b| b.cmp(a));
        for index in forged {
            self.replies.push(Reply::ChangeHeader {
                index,
                name: b"Authentication-Results".to_vec(),
                value: Vec::new(),
            });
        }
        // For each distinct name, delete instances n..=1.
        for (lower, count) in seen {
            let name = self
                .msg
                .own_headers
                .iter()
                .find(|n| n.to_ascii_lowercase() == lower)
                .cloned()
                .unwrap_or(lower);
            for index in (1..=count).rev() {
                self.replies.push(Reply::ChangeHeader {
                    index,
                    name: name.clone(),
                    value: Vec::new(),
                });
            }
        }
    }
    fn verdict_headers(&mut self, cfg: &MilterConfig, v: &Verdict) {
        if !cfg.add_headers {
            return;
        }
        self.add(H_ACTION, v.action.as_str());
        self.add(H_SCORE, &format!("{:.2}", v.score));
        if !v.symbols.is_empty() {
            self.add(H_SYMBOLS, &symbols_header(v));
        }
        if let Some(ar) = &v.authentication_results {
            self.add("Authentication-Results", ar);
        }
    }
    fn tag_subject(&mut self, cfg: &MilterConfig) {
        let tag = cfg.subject_tag.trim();
        if tag.is_empty() {
            return;
        }
        match &self.msg.subject {
            Some(old) => {
                if !self.may(action::CHGHDRS) {
                    return;
                }
                let old = String::from_utf8_lossy(old);
                let old = old.trim_start();
                if old.starts_with(tag) {
                    return;
                }
                let value = self.value(&format!("{tag} {old}"));
                self.replies.push(Reply::ChangeHeader {
                    index: 1,
                    name: b"Subject".to_vec(),
                    value,
                });
            }
            None => self.add("Subject", tag),
        }
    }
    fn done(mut self, last: Reply, outcome: Outcome) -> Decision {
        self.replies.push(last);
        Decision {
            replies: self.replies,
            outcome,
        }
    }
}

/// `NAME(score), …` sorted by score, capped in length.
pub(crate) fn symbols_header(v: &Verdict) -> String {
    let mut syms: Vec<_> = v.symbols.iter().collect();
    syms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(b.name)));
    let mut out = String::new();
    for (i, s) in syms.iter().enumerate() {
        let item = format!("{}({:.2})", s.name, s.score);
        let sep = if out.is_empty() { "" } else { ", " };
        if out.len() + sep.len() + item.len() > MAX_SYMBOLS_HEADER {
            out.push_str(&format!("{sep}+{} more", syms.len() - i));
            break;
        }
        out.push_str(sep);
        out.push_str(&item);
    }
    out
}

/// The reply text with `%` doubled: Sendmail treats the text as a format
/// string and Postfix turns `%%` back into `%`.
fn reply_text(s: &str) -> Vec<u8> {
    s.replace('%', "%%").into_bytes()
}

/// Answer a scanned message. `stored` is the quarantine write's result
/// (`Some` only when the verdict is quarantine).
pub fn on_verdict(
    cfg: &MilterConfig,
    msg: &Message,
    v: &Verdict,
    stored: Option<&Result<String, String>>,
) -> Decision {
    let mut o = Out {
        msg,
        replies: Vec::new(),
    };
    match v.action {
        Action::Reject => o.done(
            Reply::ReplyCode(reply_text(&cfg.reject_reply)),
            Outcome::Rejected {
                reply: cfg.reject_reply.clone(),
            },
        ),
        Action::Quarantine => match stored {
            Some(Ok(id)) => quarantined(cfg, o, v, id),
            // The message must not vanish: no copy stored means the sender
            // keeps it (4xx) until the store works again.
            Some(Err(e)) => o.done(
                Reply::Tempfail,
                Outcome::Tempfailed {
                    reason: format!("quarantine store failed: {e}"),
                },
            ),
            None => o.done(
                Reply::Tempfail,
                Outcome::Tempfailed {
                    reason: "quarantine store not written".into(),
                },
            ),
        },
        Action::Tag | Action::Accept => {
            o.strip(cfg);
            o.verdict_headers(cfg, v);
            if v.action == Action::Tag {
                o.tag_subject(cfg);
            }
            o.done(
                Reply::Accept,
                Outcome::Delivered {
                    action: v.action.as_str(),
                },
            )
        }
    }
}

fn quarantined(cfg: &MilterConfig, mut o: Out<'_>, v: &Verdict, id: &str) -> Decision {
    let mut mode = cfg.quarantine_mode;
    // Redirect needs to remove every recipient; without the actions or the
    // full list it would leak the message, so it becomes discard (the
    // stored copy is safe either way).
    if mode == QuarantineMode::Redirect
        && (!o.may(action::ADDRCPT) || !o.may(action::DELRCPT) || o.msg.rcpt_overflow)
    {
        mode = QuarantineMode::Discard;
    }
    if mode == QuarantineMode::Hold && !o.may(action::QUARANTINE) {
        mode = QuarantineMode::Discard;
    }
    let outcome = Outcome::Quarantined {
        id: id.to_string(),
        mode,
    };
    match mode {
        QuarantineMode::Discard => o.done(Reply::Discard, outcome),
        QuarantineMode::Redirect | QuarantineMode::Hold => {
            o.strip(cfg);
            o.verdict_headers(cfg, v);
            o.add(H_QUARANTINE, id);
            if mode == QuarantineMode::Redirect {
                let to = cfg.quarantine_redirect.as_deref().unwrap_or("").trim();
                let to = if to.starts_with('<') {
                    to.to_string()
                } else {
                    format!("<{to}>")
                };
                for r in &o.msg.rcpts_raw {
                    o.replies.push(Reply::DelRcpt(r.clone()));
                }
                o.replies.push(Reply::AddRcpt(to.into_bytes()));
            } else {
                o.replies.push(Reply::Quarantine(
                    format!("outwork quarantine {id}").into_bytes(),
                ));
            }
            o.done(Reply::Accept, outcome)
        }
    }
}

/// Answer a message that could not be scanned (error or deadline).
pub fn on_failure(cfg: &MilterConfig, msg: &Message, reason: &str) -> Decision {
    let o = Out {
        msg,
        replies: Vec::new(),
    };
    match cfg.on_error {
        FailPolicy::Tempfail => o.done(
            Reply::Tempfail,
            Outcome::Tempfailed {
                reason: reason.to_string(),
            },
        ),
        FailPolicy::Accept => unscanned(cfg, o, reason, None),
    }
}

/// Answer a message over `max_message_bytes`.
pub fn on_oversize(cfg: &MilterConfig, msg: &Message) -> Decision {
    let reason = format!(
        "message of {} bytes over max_message_bytes {}",
        msg.size, cfg.max_message_bytes
    );
    let o = Out {
        msg,
        replies: Vec::new(),
    };
    match cfg.on_oversize {
        OversizePolicy::Accept => unscanned(cfg, o, &reason, Some(UNSCANNED_SIZE)),
        OversizePolicy::Tempfail => o.done(Reply::Tempfail, Outcome::Tempfailed { reason }),
        OversizePolicy::Reject => {
            let reply = "552 5.3.4 Message too big for content scanning".to_string();
            o.done(
                Reply::ReplyCode(reply_text(&reply)),
                Outcome::Rejected { reply },
            )
        }
    }
}

/// Delivered without a verdict: `X-Outwork-Action: unscanned` and the
/// reason; with a `symbol`, also the score and symbol headers a scanned
/// message gets (score 0: nothing was judged).
fn unscanned(cfg: &MilterConfig, mut o: Out<'_>, reason: &str, symbol: Option<&str>) -> Decision {
    o.strip(cfg);
    if cfg.add_headers {
        o.add(H_ACTION, "unscanned");
        if let Some(s) = symbol {
            o.add(H_SCORE, "0.00");
            o.add(H_SYMBOLS, &format!("{s}(0.00)"));
        }
        o.add(H_ERROR, reason);
    }
    o.done(
        Reply::Accept,
        Outcome::DeliveredUnscanned {
            reason: reason.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use outwork_core::Symbol;
    use std::sync::Arc;

    fn msg(leadspc: bool) -> Message {
        Message {
            raw: Arc::new(b"Subject: hi\r\n\r\nbody".to_vec()),
            envelope: Default::default(),
            size: 20,
            oversize: false,
            over_budget: false,
            hold: None,
            rcpts_raw: vec![b"<a@example.net>".to_vec(), b"<b@example.net>".to_vec()],
            rcpt_overflow: false,
            subject: Some(if leadspc {
                b" hi".to_vec()
            } else {
                b"hi".to_vec()
            }),
            own_headers: vec![b"X-Outwork-Action".to_vec(), b"x-outwork-action".to_vec()],
            auth_results: vec![(1, "mx.upstream.example".into()), (2, "outwork".into())],
            forged_auth_results: Vec::new(),
            leadspc,
            actions: crate::session::WANTED_ACTIONS,
            auth_authen: None,
            mta: None,
        }
    }

    fn verdict(action: Action) -> Verdict {
        Verdict {
            action,
            score: 12.5,
            symbols: vec![
                Symbol {
                    name: "A_SMALL",
                    score: 1.0,
                    evidence: vec![],
                },
                Symbol {
                    name: "B_BIG",
                    score: 11.5,
                    evidence: vec![],
                },
            ],
            authentication_results: None,
        }
    }

    fn h(name: &str, v: &str) -> Reply {
        Reply::AddHeader {
            name: name.into(),
            value: v.into(),
        }
    }

    #[test]
    fn forged_authentication_results_are_deleted_highest_first() {
        let mut m = msg(true);
        m.auth_results.push((3, "outwork".into()));
        m.forged_auth_results = vec![2, 3];
        let d = on_verdict(&MilterConfig::default(), &m, &verdict(Action::Accept), None);
        let deletes: Vec<u32> = d
            .replies
            .iter()
            .filter_map(|r| match r {
                Reply::ChangeHeader { index, name, value }
                    if name == b"Authentication-Results" && value.is_empty() =>
                {
                    Some(*index)
                }
                _ => None,
            })
            .collect();
        assert_eq!(deletes, vec![3, 2], "the upstream one (1) stays");
    }

    #[test]
    fn tag_strips_forged_headers_adds_ours_and_tags_subject() {
        let cfg = MilterConfig {
            subject_tag: "[SUSPICIOUS]".into(),
            ..Default::default()
        };
        let d = on_verdict(&cfg, &msg(true), &verdict(Action::Tag), None);
        assert_eq!(
            d.replies,
            vec![
                Reply::ChangeHeader {
                    index: 2,
                    name: b"X-Outwork-Action".to_vec(),
                    value: vec![]
                },
                Reply::ChangeHeader {
                    index: 1,
                    name: b"X-Outwork-Action".to_vec(),
                    value: vec![]
                },
                h(H_ACTION, " tag"),
                h(H_SCORE, " 12.50"),
                h(H_SYMBOLS, " B_BIG(11.50), A_SMALL(1.00)"),
                Reply::ChangeHeader {
                    index: 1,
                    name: b"Subject".to_vec(),
                    value: b" [SUSPICIOUS] hi".to_vec()
                },
                Reply::Accept,
            ]
        );
        assert_eq!(d.outcome, Outcome::Delivered { action: "tag" });
        // Without HDR_LEADSPC the MTA adds the space itself.
        let d = on_verdict(&cfg, &msg(false), &verdict(Action::Accept), None);
        assert!(d.replies.contains(&h(H_ACTION, "accept")));
        assert!(
            !d.replies
                .iter()
                .any(|r| matches!(r, Reply::ChangeHeader { name, .. } if name == b"Subject"))
        );
    }

    #[test]
    fn reject_quarantine_and_failures() {
        let cfg = MilterConfig {
            reject_reply: "550 5.7.1 100% phish".into(),
            ..Default::default()
        };
        let m = msg(true);
        let d = on_verdict(&cfg, &m, &verdict(Action::Reject), None);
        assert_eq!(
            d.replies,
            vec![Reply::ReplyCode(b"550 5.7.1 100%% phish".to_vec())]
        );

        let ok = Ok("q1".to_string());
        let d = on_verdict(&cfg, &m, &verdict(Action::Quarantine), Some(&ok));
        assert_eq!(d.replies, vec![Reply::Discard]);
        let err = Err("disk full".to_string());
        let d = on_verdict(&cfg, &m, &verdict(Action::Quarantine), Some(&err));
        assert_eq!(d.replies, vec![Reply::Tempfail]);

        let redirect = MilterConfig {
            quarantine_mode: QuarantineMode::Redirect,
            quarantine_redirect: Some("quarantine@example.org".into()),
            ..Default::default()
        };
        let d = on_verdict(&redirect, &m, &verdict(Action::Quarantine), Some(&ok));
        assert!(
            d.replies
                .contains(&Reply::DelRcpt(b"<a@example.net>".to_vec()))
        );
        assert!(
            d.replies
                .contains(&Reply::DelRcpt(b"<b@example.net>".to_vec()))
        );
        assert!(
            d.replies
                .contains(&Reply::AddRcpt(b"<quarantine@example.org>".to_vec()))
        );
        assert!(d.replies.contains(&h(H_QUARANTINE, " q1")));
        assert_eq!(d.replies.last(), Some(&Reply::Accept));
        // Without the recipient actions, redirect falls back to discard.
        let mut m2 = msg(true);
        m2.actions = action::ADDHDRS;
        let d = on_verdict(&redirect, &m2, &verdict(Action::Quarantine), Some(&ok));
        assert_eq!(d.replies, vec![Reply::Discard]);

        let hold = MilterConfig {
            quarantine_mode: QuarantineMode::Hold,
            ..Default::default()
        };
        let d = on_verdict(&hold, &m, &verdict(Action::Quarantine), Some(&ok));
        assert!(
            d.replies
                .contains(&Reply::Quarantine(b"outwork quarantine q1".to_vec()))
        );
        assert!(d.replies.contains(&h(H_ACTION, " quarantine")));
        assert_eq!(d.replies.last(), Some(&Reply::Accept));

        let d = on_failure(&cfg, &m, "scan timed out");
        assert_eq!(d.replies, vec![Reply::Tempfail]);
        let open = MilterConfig {
            on_error: FailPolicy::Accept,
            ..Default::default()
        };
        let d = on_failure(&open, &m, "scan timed out");
        assert!(d.replies.contains(&h(H_ACTION, " unscanned")));
        assert!(d.replies.contains(&h(H_ERROR, " scan timed out")));
        assert_eq!(d.replies.last(), Some(&Reply::Accept));
        assert!(outwork_core::lookup_symbol(UNSCANNED_SIZE).is_some());
        let mut big = msg(true);
        big.oversize = true;
        big.size = 40 << 20;
        let d = on_oversize(&MilterConfig::default(), &big);
        assert!(d.replies.contains(&h(H_ACTION, " unscanned")));
        assert!(d.replies.contains(&h(H_SCORE, " 0.00")));
        assert!(
            d.replies
                .contains(&h(H_SYMBOLS, " MESSAGE_UNSCANNED_SIZE(0.00)"))
        );
        assert!(d.replies.contains(&h(
            H_ERROR,
            " message of 41943040 bytes over max_message_bytes 26214400"
        )));
    }

    #[test]
    fn symbols_header_is_capped() {
        let mut v = verdict(Action::Tag);
        v.symbols = (0..200)
            .map(|_| Symbol {
                name: "SOME_RATHER_LONG_SYMBOL_NAME",
                score: 1.0,
                evidence: vec![],
            })
            .collect();
        let s = symbols_header(&v);
        assert!(s.len() <= MAX_SYMBOLS_HEADER + 20, "{}", s.len());
        assert!(s.ends_with("more"));
    }
}
