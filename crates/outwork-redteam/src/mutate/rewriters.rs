//! Rewriters of visible text for the `rewrite` operator: builtin synonyms, a command, a chat model.

use super::*;

/// Why a rewriter gave no text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// A command rewriter with no program.
    #[error("empty command")]
    EmptyCommand,
    /// The command could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// Waiting for the command failed.
    #[error("{program}: {source}")]
    Wait {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The command ran past its timeout and was killed.
    #[error("{program}: timed out after {timeout:?}")]
    Timeout {
        /// The program.
        program: String,
        /// The timeout it had.
        timeout: Duration,
    },
    /// The command exited but kept its output open.
    #[error("{program}: its output was not closed in time")]
    OutputNotClosed {
        /// The program.
        program: String,
    },
    /// The command exited with a failure status.
    #[error("{program}: {status}{}", colon_then(stderr))]
    Failed {
        /// The program.
        program: String,
        /// How it exited.
        status: std::process::ExitStatus,
        /// The start of what it wrote on standard error (may be empty).
        stderr: String,
    },
    /// The command wrote more than 4 MiB (`MAX_REWRITER_OUTPUT`).
    #[error("{program}: output larger than {max} bytes")]
    OutputTooLarge {
        /// The program.
        program: String,
        /// The limit.
        max: usize,
    },
    /// The command wrote nothing but white space.
    #[error("{program}: empty output")]
    EmptyOutput {
        /// The program.
        program: String,
    },
    /// The chat request could not be encoded.
    #[error("{url}: {source}")]
    Encode {
        /// The chat completions URL.
        url: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The chat endpoint did not answer in time.
    #[error("{url}: timed out ({timeout})")]
    ChatTimeout {
        /// The chat completions URL.
        url: String,
        /// Which of the request's timeouts ran out.
        timeout: ureq::Timeout,
    },
    /// The HTTP request to the chat endpoint failed.
    #[error("{url}: {source}")]
    Http {
        /// The chat completions URL.
        url: String,
        /// Why.
        source: ureq::Error,
    },
    /// The chat endpoint's answer could not be read.
    #[error("{url}: reading the answer: {source}")]
    ReadAnswer {
        /// The chat completions URL.
        url: String,
        /// Why.
        source: ureq::Error,
    },
    /// The chat endpoint answered with an HTTP error status.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The chat completions URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer.
        body: String,
    },
    /// The chat answer is not JSON.
    #[error("{url}: not JSON ({source})")]
    NotJson {
        /// The chat completions URL.
        url: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The chat answer has no `choices[0].message.content`.
    #[error("{url}: no choices[0].message.content in the answer")]
    NoContent {
        /// The chat completions URL.
        url: String,
    },
    /// The chat answer is empty (after dropping a `<think>` block and
    /// Markdown fences).
    #[error("{url}: empty answer")]
    EmptyAnswer {
        /// The chat completions URL.
        url: String,
    },
    /// The rewritten text is empty once tidied.
    #[error("empty rewrite")]
    EmptyRewrite,
    /// Any other rewriter's failure (rewriters outside this crate, tests).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// `": text"`, or nothing for an empty `text`.
fn colon_then(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// Rewrites the visible text of a message (the `rewrite` operator).
pub trait Rewriter: Send + Sync {
    /// Names the rewriter in notes and errors (`builtin`, `command:PROGRAM`,
    /// `chat:MODEL`).
    fn name(&self) -> String;
    /// Rewrite the visible text of a message. Link placeholders like `[[LINK1]]` must be kept.
    fn rewrite(&self, text: &str) -> Result<String, RewriteError>;
}

/// Offline, deterministic paraphrase: phishing vocabulary swapped for
/// synonyms (capitalisation kept) and two middle sentences of long
/// paragraphs swapped. Placeholders are never touched.
pub struct BuiltinRewriter {
    /// Seeds the choices (mixed with a hash of the text): same seed, same
    /// paraphrase.
    pub seed: u64,
}

/// An external command: the text on its standard input, the rewritten text
/// on its standard output. A non-zero exit, a timeout (the child is killed)
/// or an empty output is an error.
pub struct CommandRewriter {
    /// The program and its arguments (no shell); empty is an error.
    pub argv: Vec<String>,
    /// How long the command may run per message before it is killed.
    pub timeout: Duration,
}

/// An OpenAI-compatible chat completion endpoint
/// (`POST {endpoint}/v1/chat/completions`).
pub struct ChatRewriter {
    /// Server root such as `http://127.0.0.1:8080` (a trailing `/v1` or the
    /// full `/v1/chat/completions` URL is accepted too).
    pub endpoint: String,
    /// The `model` field of the request.
    pub model: String,
    /// Sent as a bearer token when set.
    pub api_key: Option<String>,
    /// Bounds each whole request (120 s from [`ChatRewriter::new`]).
    pub timeout: Duration,
    /// The system prompt; [`ChatRewriter::DEFAULT_PROMPT`] by default.
    pub prompt: String,
}

/// Phishing vocabulary: `phrase|synonym|synonym...`, lower case.
pub(super) const SYNONYMS: &[&str] = &[
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

    fn rewrite(&self, text: &str) -> Result<String, RewriteError> {
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
pub(super) fn swap_sentences(text: &str, rng: &mut Rng) -> String {
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
pub(super) fn split_sentences(para: &str) -> Vec<&str> {
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

pub(super) fn paraphrase(text: &str, table: &[(&str, Vec<&str>)], rng: &mut Rng, out: &mut String) {
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
pub(super) fn match_case(original: &str, replacement: &str) -> String {
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

    fn rewrite(&self, text: &str) -> Result<String, RewriteError> {
        let (program, args) = self.argv.split_first().ok_or(RewriteError::EmptyCommand)?;
        let prog = || program.clone();
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| RewriteError::Spawn {
                program: prog(),
                source,
            })?;
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
                    return Err(RewriteError::Timeout {
                        program: prog(),
                        timeout: self.timeout,
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(source) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(RewriteError::Wait {
                        program: prog(),
                        source,
                    });
                }
            }
        };
        let grace = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(200));
        let out = out_rx
            .recv_timeout(grace)
            .map_err(|_| RewriteError::OutputNotClosed { program: prog() })?;
        let err = err_rx
            .recv_timeout(Duration::from_millis(200))
            .unwrap_or_default();
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            return Err(RewriteError::Failed {
                program: prog(),
                status,
                stderr: truncate(err.trim(), 300).to_string(),
            });
        }
        if out.len() > MAX_REWRITER_OUTPUT {
            return Err(RewriteError::OutputTooLarge {
                program: prog(),
                max: MAX_REWRITER_OUTPUT,
            });
        }
        let out = String::from_utf8_lossy(&out).into_owned();
        if out.trim().is_empty() {
            return Err(RewriteError::EmptyOutput { program: prog() });
        }
        Ok(out)
    }
}

/// Read a pipe to its end on a thread, keeping at most `keep` bytes.
pub(super) fn drain<R: Read + Send + 'static>(
    pipe: Option<R>,
    keep: usize,
) -> mpsc::Receiver<Vec<u8>> {
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

    fn rewrite(&self, text: &str) -> Result<String, RewriteError> {
        let url = self.url();
        let body = serde_json::json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": self.prompt},
                {"role": "user", "content": text},
            ],
            "temperature": 0.7,
        });
        let body = serde_json::to_vec(&body).map_err(|source| RewriteError::Encode {
            url: url.clone(),
            source,
        })?;
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
            ureq::Error::Timeout(timeout) => RewriteError::ChatTimeout {
                url: url.clone(),
                timeout,
            },
            source => RewriteError::Http {
                url: url.clone(),
                source,
            },
        })?;
        let status = resp.status().as_u16();
        let answer = resp
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|source| RewriteError::ReadAnswer {
                url: url.clone(),
                source,
            })?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&answer);
            return Err(RewriteError::Status {
                url,
                status,
                body: truncate(text.trim(), 300).to_string(),
            });
        }
        let v: serde_json::Value =
            serde_json::from_slice(&answer).map_err(|source| RewriteError::NotJson {
                url: url.clone(),
                source,
            })?;
        let content = v
            .pointer("/choices/0/message/content")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| RewriteError::NoContent { url: url.clone() })?;
        let content = clean_chat_answer(content);
        if content.trim().is_empty() {
            return Err(RewriteError::EmptyAnswer { url });
        }
        Ok(content)
    }
}

/// Drop a reasoning model's `<think>` block and a Markdown fence around the
/// whole answer.
pub(super) fn clean_chat_answer(s: &str) -> String {
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

pub(super) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}
