//! outwork-engine: inputs → parse → enrich → signals → verdict, on every
//! core.
//!
//! [`Scanner::scan`] is the one place a message becomes a verdict: the
//! CLI, the milter, the HTTP API, eval, the red team, training, the golden
//! tests and the fuzz targets all call it. Enrichment is where the I/O is
//! (intel store, clamd, DNS for sender authentication, the history store);
//! each part is optional and configured.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![warn(unnameable_types)]

// The modules are private; the re-exports below and the items defined in
// this file are the API.
mod auth;
mod clamd;
mod enrich;
mod history;
mod input;

use outwork_core::{Context, Facts, Verdict};
use outwork_core::{Families, Family};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use auth::{AuthError, Verifier};
pub use clamd::{Clamd, ClamdAddr, ClamdError, ClamdReply};
pub use history::{History, HistoryError, now as unix_now};
pub use input::{InputError, Inputs, Item, Kind as InputKind, MboxReader, kind_of, total_bytes};

/// The result of scanning one item.
pub struct Outcome {
    /// The item's position in input order.
    pub seq: usize,
    /// File path; `file#N` for the N-th message of an mbox.
    pub path: String,
    /// The message's size in bytes (0 when it could not be read).
    pub bytes: usize,
    /// Input bytes this item accounts for (progress).
    pub input_bytes: u64,
    /// The verdict; `None` when the message could not be read.
    pub verdict: Option<Verdict>,
    /// Why the message could not be read.
    pub error: Option<String>,
    /// Which message this is, for people: set when the scanner's
    /// [`Scanner::headlines`] is on.
    pub headline: Option<Headline>,
}

/// The headers that tell a person which message a verdict is about
/// (decoded, control characters replaced, long values cut).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headline {
    /// Decoded (RFC 2047, or the declared charset for raw 8-bit bytes).
    pub subject: Option<String>,
    /// As written: `"Name" <address>`, or the address alone.
    pub from: Option<String>,
    /// Without its angle brackets.
    pub message_id: Option<String>,
}

/// A Subject written as raw 8-bit bytes (no RFC 2047 encoded words), read
/// in the charset the message's Content-Type declares: `parsed` (the
/// parser's reading, which takes such bytes as UTF-8) shows `�` where a
/// GB2312 or ISO-8859-1 subject was. `None` when `parsed` is fine, there
/// is no declared charset, or the bytes don't decode in it.
pub fn subject_in_declared_charset(raw: &[u8], parsed: &str) -> Option<String> {
    if !parsed.contains('\u{FFFD}') {
        return None;
    }
    let raw = strip_postmark(raw);
    let head = &raw[..raw.len().min(64 << 10)];
    let end = memchr::memmem::find(head, b"\r\n\r\n")
        .or_else(|| memchr::memmem::find(head, b"\n\n"))
        .unwrap_or(head.len());
    // Unfolded header fields: a line starting with blank space continues.
    let mut fields: Vec<Vec<u8>> = Vec::new();
    for line in head[..end].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match (line.first(), fields.last_mut()) {
            (Some(b' ' | b'\t'), Some(f)) => f.extend_from_slice(line),
            _ => fields.push(line.to_vec()),
        }
    }
    let value = |f: &[u8], name: &str| -> Option<Vec<u8>> {
        let colon = f.iter().position(|&b| b == b':')?;
        f[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(name.as_bytes())
            .then(|| f[colon + 1..].trim_ascii().to_vec())
    };
    let subject = fields.iter().find_map(|f| value(f, "subject"))?;
    let ctype = fields.iter().find_map(|f| value(f, "content-type"))?;
    let ctype = String::from_utf8_lossy(&ctype).to_ascii_lowercase();
    let charset = ctype
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("charset="))
        .next()?
        .trim_matches(['"', '\'', ' ']);
    let enc = encoding_rs::Encoding::for_label(charset.as_bytes())?;
    let (text, _, bad) = enc.decode(&subject);
    (!bad).then(|| text.trim().to_string())
}

/// Read the [`Headline`] of a message: its header section only.
pub fn headline(data: &[u8]) -> Headline {
    const MAX: usize = 200;
    fn clean(s: &str) -> Option<String> {
        let mut out = String::new();
        for (n, c) in s.trim().chars().enumerate() {
            if n == MAX {
                out.push('…');
                break;
            }
            // Attacker text on a terminal: no escapes, no line breaks.
            out.push(if c.is_control() { ' ' } else { c });
        }
        (!out.is_empty()).then_some(out)
    }
    let data = strip_postmark(data);
    let Some(m) = mail_parser::MessageParser::new().parse_headers(data) else {
        return Headline::default();
    };
    let from = m.from().and_then(|a| a.first()).and_then(|a| {
        let addr = a.address();
        match (a.name(), addr) {
            (Some(n), Some(ad)) => clean(&format!("\"{n}\" <{ad}>")),
            (None, Some(ad)) => clean(ad),
            (Some(n), None) => clean(n),
            (None, None) => None,
        }
    });
    let subject = m
        .subject()
        .map(|s| subject_in_declared_charset(data, s).unwrap_or_else(|| s.to_string()));
    Headline {
        subject: subject.as_deref().and_then(clean),
        from,
        message_id: m.message_id().and_then(clean),
    }
}

/// Strip an mbox "From " postmark line some single-message files keep.
pub fn strip_postmark(data: &[u8]) -> &[u8] {
    if data.starts_with(b"From ")
        && let Some(i) = memchr::memchr(b'\n', data)
    {
        return &data[i + 1..];
    }
    data
}

/// What the MTA knows about a message beyond its bytes: the SMTP
/// envelope. Sender authentication (SPF) needs the connecting IP, HELO
/// and MAIL FROM; servers pass them from the MTA, the CLI from flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    /// The connecting client's address (SPF).
    pub client_ip: Option<std::net::IpAddr>,
    /// The HELO/EHLO name (SPF's HELO check).
    pub helo: Option<String>,
    /// MAIL FROM (empty string for the null sender `<>`).
    pub mail_from: Option<String>,
    /// RCPT TO addresses (who receives it: first contact, VIPs).
    pub rcpt_to: Vec<String>,
    /// The MTA's queue ID, for logs.
    pub queue_id: Option<String>,
}

/// Where the embedded history store lives by default.
pub fn history_path(configured: Option<&str>) -> std::path::PathBuf {
    if let Some(p) = configured {
        return p.into();
    }
    outwork_intel::data_file("history.owh")
}

/// The deployment's recipient domains of a message: the envelope's RCPT
/// TO, else To/Cc; only protected domains when some are configured (the
/// history is about who writes to *us*). At most 8.
fn recipient_domains(facts: &outwork_core::Facts, env: &Envelope, ctx: &Context) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let from_env: Vec<String> = env
        .rcpt_to
        .iter()
        .filter_map(|r| r.trim_matches(['<', '>']).rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase())
        .collect();
    let candidates: Vec<String> = if from_env.is_empty() {
        facts
            .recipients
            .iter()
            .map(|m| m.domain_ascii().to_string())
            .collect()
    } else {
        from_env
    };
    for d in candidates {
        if d.is_empty() || out.contains(&d) || out.len() >= 8 {
            continue;
        }
        if !ctx.protected.is_empty() && !ctx.is_protected(&d) {
            continue;
        }
        out.push(d);
    }
    out
}

/// Why [`Scanner::from_config`] refused a config: each names the part of
/// the config it could not set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScannerError {
    /// `[inspect] yara_rules` did not load or compile.
    #[error(transparent)]
    Yara(#[from] outwork_inspect::YaraError),
    /// `[inspect] clamd` is not an address.
    #[error(transparent)]
    Clamd(#[from] clamd::ClamdError),
    /// `[auth] verify` is on and the resolver could not be set up.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// `[model] path` could not be read or is not a model.
    #[error("model {path}: {reason}")]
    Model {
        /// The configured path.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
    /// `[history]` is on and its store could not be opened.
    #[error(transparent)]
    History(#[from] history::HistoryError),
}

/// What a scan needs: the deployment context and, when configured, the
/// intel store (or why it could not be opened).
pub struct Scanner {
    /// The deployment: config, brands, lists, model.
    pub ctx: Arc<Context>,
    /// The blocklist store, when configured and readable.
    pub intel: Option<Arc<dyn outwork_intel::Lookup>>,
    /// Set when an intel store was configured but could not be read:
    /// scans go on without it and say so (INTEL_UNAVAILABLE).
    pub intel_error: Option<String>,
    /// Replay mode for evaluations: ignore intel entries first seen after
    /// each message's Date.
    pub intel_as_of_date: bool,
    /// The deployment's YARA rules, compiled once.
    pub yara: Option<Arc<outwork_inspect::YaraRules>>,
    /// clamd, when configured.
    pub clamd: Option<clamd::Clamd>,
    /// SPF/DKIM/DMARC/ARC with DNS, when `[auth] verify` is on.
    pub verifier: Option<Arc<auth::Verifier>>,
    /// First-contact history, when `[history] enabled`.
    pub history: Option<Arc<history::History>>,
    /// The envelope [`scan_all`] passes to [`Scanner::scan`] (the CLI's
    /// `--envelope-ip`, `--helo`, `--mail-from`); servers pass each
    /// message's own.
    pub envelope: Envelope,
    /// [`scan_all`] fills each [`Outcome::headline`] (a second, header-only
    /// parse: the CLI's human output asks for it, machines don't).
    pub headlines: bool,
}

impl Scanner {
    /// A scanner with no I/O: no intel, YARA, clamd, DNS or history
    /// (what tests and the red team's in-process engine use).
    pub fn offline(ctx: Arc<Context>) -> Scanner {
        Scanner {
            ctx,
            intel: None,
            intel_error: None,
            intel_as_of_date: false,
            yara: None,
            clamd: None,
            verifier: None,
            history: None,
            envelope: Envelope::default(),
            headlines: false,
        }
    }

    /// What [`Scanner::from_config`] would refuse in `cfg`, found without
    /// opening anything (no history store, no DNS): the YARA rules (which
    /// need a build with the `yara` feature), the clamd address, the model
    /// file. `config check` reports these, so it agrees with `scan`.
    pub fn check_config(cfg: &outwork_core::Config) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let ic = &cfg.inspect;
        if let Some(p) = &ic.yara_rules
            && let Err(e) = outwork_inspect::YaraRules::load(
                std::path::Path::new(p),
                std::time::Duration::from_millis(ic.yara_timeout_ms.max(1)),
            )
        {
            out.push(("inspect.yara_rules", e.to_string()));
        }
        if let Some(a) = &ic.clamd
            && let Err(e) = clamd::ClamdAddr::parse(a)
        {
            out.push(("inspect.clamd", e.to_string()));
        }
        if cfg.model.enabled
            && let Some(p) = &cfg.model.path
        {
            let r = std::fs::read(p).map_err(|e| e.to_string()).and_then(|b| {
                outwork_core::Model::from_bytes(&b)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = r {
                out.push(("model.path", format!("model {p}: {e}")));
            }
        }
        out
    }

    /// A scanner with the config's `[inspect]` scanners set up: YARA
    /// rules compiled (each rule's symbol registered with its weight) and
    /// the clamd address checked. Intel is added by the caller.
    pub fn from_config(mut ctx: Context) -> Result<Scanner, ScannerError> {
        let ic = ctx.config.inspect.clone();
        let yara = match &ic.yara_rules {
            Some(p) => {
                let rules = outwork_inspect::YaraRules::load(
                    std::path::Path::new(p),
                    std::time::Duration::from_millis(ic.yara_timeout_ms.max(1)),
                )?;
                for r in &rules.rules_info {
                    let name =
                        outwork_core::intern_symbol(&outwork_inspect::yara_symbol_name(&r.rule));
                    ctx.register_symbol(name, r.score.unwrap_or(ic.yara_weight));
                }
                Some(Arc::new(rules))
            }
            None => None,
        };
        let clamd = match &ic.clamd {
            Some(a) => Some(clamd::Clamd {
                addr: clamd::ClamdAddr::parse(a)?,
                timeout: std::time::Duration::from_millis(ic.clamd_timeout_ms.max(1)),
                max_bytes: ic.clamd_max_bytes,
            }),
            None => None,
        };
        let verifier = if ctx.config.auth.verify {
            Some(Arc::new(auth::Verifier::new(&ctx.config.auth)?))
        } else {
            None
        };
        if ctx.config.model.enabled
            && let Some(p) = ctx.config.model.path.clone()
        {
            let model_err = |reason: String| ScannerError::Model {
                path: p.clone(),
                reason,
            };
            let bytes = std::fs::read(&p).map_err(|e| model_err(e.to_string()))?;
            let m =
                outwork_core::Model::from_bytes(&bytes).map_err(|e| model_err(e.to_string()))?;
            ctx.model = Some(Arc::new(m));
        }
        let hc = &ctx.config.history;
        let history = if hc.enabled {
            Some(Arc::new(history::History::open(hc)?))
        } else {
            None
        };
        let mut s = Scanner::offline(Arc::new(ctx));
        s.yara = yara;
        s.clamd = clamd;
        s.verifier = verifier;
        s.history = history;
        Ok(s)
    }

    /// The scan: parse → enrich → signals → policy.
    ///
    /// Enrichment runs every configured part: attachment inspection (which
    /// may add URLs found inside attachments to the facts), YARA on the
    /// parts and on the raw message, clamd, intel lookups of URLs, sender
    /// domains and file hashes, sender authentication with DNS, and the
    /// first-contact history. `opts` switches families of signals off and
    /// sets the deadline for the costly steps.
    pub fn scan(&self, raw: &[u8], envelope: &Envelope, opts: &Options) -> Scan {
        let ctx = &*self.ctx;
        let mut facts = outwork_core::parse(strip_postmark(raw), ctx.limits());
        let mut evidence = outwork_core::Evidence {
            intel_unavailable: self.intel_error.clone(),
            ..Default::default()
        };
        let extracted = enrich::inspect(
            &mut facts,
            ctx.limits(),
            ctx.config.inspect.qr,
            self.yara.as_deref(),
            opts.deadline,
            &mut evidence,
        );
        // YARA also sees the message as it came (rules written for raw mail).
        if let Some(rules) = &self.yara {
            match rules.scan(raw) {
                Ok(ms) => {
                    for m in ms {
                        evidence.yara.push(enrich::yara_hit("the message", &m));
                    }
                }
                Err(e) => evidence.inspect.push(outwork_core::InspectFinding {
                    kind: outwork_core::InspectKind::Limit,
                    evidence: format!("the message: YARA: {e}"),
                }),
            }
        }
        if let Some(c) = &self.clamd {
            enrich::clamav(&facts, c, &mut evidence);
        }
        if let Some(index) = &self.intel {
            enrich::intel(&facts, index.as_ref(), self.intel_as_of_date, &mut evidence);
            enrich::extracted_hashes(&extracted, index.as_ref(), &mut evidence);
        }
        if let Some(v) = &self.verifier {
            // The same header cut as the parse (a flood of fields must not
            // be held twice over by mail-auth's parser).
            let d = strip_postmark(raw);
            let cut = outwork_core::cut_headers(d, ctx.limits().max_headers);
            let d = cut.as_ref().map_or(d, |c| &c.raw[..]);
            evidence.verified_auth = Some(v.verify(d, envelope));
        }
        let correspondents = self.history.as_ref().and_then(|h| {
            let from = facts.from.as_ref()?;
            let domain = from.registrable()?.to_string();
            let rcpts = recipient_domains(&facts, envelope, ctx);
            if rcpts.is_empty() || from.address.is_empty() {
                return None;
            }
            match h.check(&from.address, &domain, &rcpts, history::now()) {
                Ok(f) => evidence.history = Some(f),
                Err(e) => evidence.history_unavailable = Some(e.to_string()),
            }
            Some((h, from.address.clone(), domain, rcpts))
        });
        let hits = outwork_core::run_full(&facts, &evidence, ctx, opts.off);
        let mut verdict = outwork_core::decide_with(hits, ctx, &facts, &envelope.rcpt_to);
        // Learn only from mail that was accepted by the whole scan and whose
        // authentication does not contradict its From: otherwise a
        // persistent attacker (or a forger) would become a "known
        // correspondent".
        if let Some((h, address, domain, rcpts)) = correspondents
            && ctx.config.history.learn
            && opts.off.is_empty()
            && verdict.action == outwork_core::Action::Accept
            && !verdict
                .symbols
                .iter()
                .any(|s| matches!(s.name, "SPF_FAIL" | "DMARC_FAIL" | "DKIM_FAIL"))
            && let Err(e) = h.record(&address, &domain, &rcpts, history::now())
        {
            verdict.symbols.push(outwork_core::Symbol {
                name: "HISTORY_UNAVAILABLE",
                score: 0.0,
                evidence: vec![format!("could not record: {e}")],
            });
        }
        verdict.authentication_results = evidence.verified_auth.map(|v| v.header);
        Scan { verdict, facts }
    }

    /// Flagged (action other than accept) with each family switched off in
    /// turn, in [`Family::ALL`] order: each is a full [`Scanner::scan`]
    /// with that family in [`Options::off`].
    pub fn ablation(&self, raw: &[u8], envelope: &Envelope) -> Vec<(Family, bool)> {
        Family::ALL
            .into_iter()
            .map(|f| {
                let opts = Options {
                    off: Families::only(f),
                    ..Options::default()
                };
                let v = self.scan(raw, envelope, &opts).verdict;
                (f, v.action != outwork_core::Action::Accept)
            })
            .collect()
    }

    /// Save what the history learned (embedded store; Redis needs nothing).
    pub fn save_history(&self) -> Result<(), HistoryError> {
        match &self.history {
            Some(h) => h.save(),
            None => Ok(()),
        }
    }
}

/// How one [`Scanner::scan`] runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Families of signals left out (ablation, what-if). A scan with any
    /// family off never teaches the history store.
    pub off: Families,
    /// When the costly steps (attachment inspection, image decoding) stop:
    /// the scan still returns a verdict, with INSPECT_BUDGET saying what
    /// went unread. Servers pass their scan deadline so a hostile message
    /// can't hold a scan slot.
    pub deadline: Option<Instant>,
}

/// What [`Scanner::scan`] found: the verdict, and the facts it was read
/// from (after enrichment: URLs found inside attachments included), for
/// callers that store or show more than the verdict.
#[derive(Debug)]
pub struct Scan {
    /// The verdict, with every symbol that fired.
    pub verdict: Verdict,
    /// What was read from the message, enriched.
    pub facts: Facts,
}

fn scan_item(item: Item, scanner: &Scanner) -> Outcome {
    match item.data {
        Ok(data) => {
            let verdict = scanner
                .scan(&data, &scanner.envelope, &Options::default())
                .verdict;
            Outcome {
                seq: item.seq,
                path: item.path,
                bytes: data.len(),
                input_bytes: item.input_bytes,
                verdict: Some(verdict),
                error: None,
                headline: scanner.headlines.then(|| headline(&data)),
            }
        }
        Err(e) => Outcome {
            seq: item.seq,
            path: item.path,
            bytes: 0,
            input_bytes: item.input_bytes,
            verdict: None,
            error: Some(e.to_string()),
            headline: None,
        },
    }
}

/// Scan every item on `threads` worker threads and hand each outcome to
/// `sink` in input order. Reading is one thread; memory stays bounded by
/// a small queue.
pub fn scan_all<I, F>(items: I, scanner: Arc<Scanner>, threads: usize, mut sink: F)
where
    I: Iterator<Item = Item> + Send,
    F: FnMut(Outcome),
{
    let threads = threads.max(1);
    if threads == 1 {
        for item in items {
            sink(scan_item(item, &scanner));
        }
        return;
    }
    let (work_tx, work_rx) = mpsc::sync_channel::<Item>(threads * 4);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (out_tx, out_rx) = mpsc::sync_channel::<Outcome>(threads * 4);
    std::thread::scope(|s| {
        s.spawn(move || {
            for item in items {
                if work_tx.send(item).is_err() {
                    break;
                }
            }
        });
        for _ in 0..threads {
            let rx = Arc::clone(&work_rx);
            let tx = out_tx.clone();
            let scanner = Arc::clone(&scanner);
            s.spawn(move || {
                loop {
                    // A poisoned lock means another worker panicked: stop.
                    let next = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => break,
                    };
                    let Ok(item) = next else { break };
                    if tx.send(scan_item(item, &scanner)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(out_tx);
        // Re-order so output follows input order.
        let mut next = 0usize;
        let mut held: std::collections::BTreeMap<usize, Outcome> = Default::default();
        for o in out_rx {
            held.insert(o.seq, o);
            while let Some(o) = held.remove(&next) {
                sink(o);
                next += 1;
            }
        }
        for (_, o) in held {
            sink(o);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(subject: &[u8], ctype: &str) -> Vec<u8> {
        let mut m = b"From: a@b.example\r\nSubject: ".to_vec();
        m.extend_from_slice(subject);
        m.extend_from_slice(format!("\r\n{ctype}\r\n\r\nbody\r\n").as_bytes());
        m
    }

    #[test]
    fn raw_8bit_subjects_read_in_the_declared_charset() {
        // "发票已到期" in GB2312, unencoded, with the charset on Content-Type.
        let gb = [0xb7, 0xa2, 0xc6, 0xb1, 0xd2, 0xd1, 0xb5, 0xbd, 0xc6, 0xda];
        let m = msg(&gb, "Content-Type: text/plain; charset=\"GB2312\"");
        let h = headline(&m);
        assert_eq!(h.subject.as_deref(), Some("发票已到期"));
        assert_eq!(
            subject_in_declared_charset(&m, "\u{FFFD}\u{FFFD}").as_deref(),
            Some("发票已到期")
        );
        // Latin-1, folded over two lines.
        let m = msg(
            b"R\xe9sum\xe9\r\n of the week",
            "Content-Type: text/html; charset=iso-8859-1",
        );
        assert_eq!(
            subject_in_declared_charset(&m, "R\u{FFFD}sum\u{FFFD} of the week").as_deref(),
            Some("Résumé of the week")
        );
        // A clean parse is kept; no declared charset, no guess.
        assert_eq!(subject_in_declared_charset(&m, "Résumé"), None);
        let m = msg(&gb, "X-Other: 1");
        assert_eq!(subject_in_declared_charset(&m, "\u{FFFD}"), None);
    }
}
