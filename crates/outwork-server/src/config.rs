//! The `[milter]` table of outwork.toml: where to listen, limits, and what
//! to do per verdict and on failure. Every key has a safe default.

use serde::Deserialize;
use std::path::PathBuf;

/// What to do with a message that could not be scanned (internal error,
/// deadline passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailPolicy {
    /// Fail open: deliver, with `X-Outwork-Action: unscanned` and the
    /// reason in `X-Outwork-Error`.
    Accept,
    /// Fail closed: answer 4xx; the sending MTA keeps the message and
    /// retries.
    Tempfail,
}

/// What to do with a message over `max_message_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OversizePolicy {
    /// Deliver unscanned, with headers saying so.
    Accept,
    /// 4xx: the sender keeps it.
    Tempfail,
    /// 552 5.3.4: refused.
    Reject,
}

/// What "quarantine" means to the MTA once the message is safely stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuarantineMode {
    /// Tell the MTA to drop it (the SMTP client sees 250): the stored
    /// copy is the only one.
    Discard,
    /// Replace every recipient by `quarantine_redirect` (headers added).
    Redirect,
    /// Also put it on the MTA's hold queue (Postfix `postsuper -H`
    /// releases it there).
    Hold,
}

/// The `[milter]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MilterConfig {
    /// Listen addresses, Postfix style: `inet:127.0.0.1:11339`,
    /// `inet:[::1]:11339`, `unix:/run/outwork/milter.sock` (a bare
    /// `host:port` means inet).
    pub listen: Vec<String>,
    /// Permissions of unix sockets (e.g. `0o660`).
    pub unix_mode: u32,
    /// Concurrent MTA connections. When all are taken, a new connection
    /// closes the one idle longest that has not negotiated (idle at least
    /// 0.5 s); with none such, it waits in the kernel's backlog.
    pub max_connections: usize,
    /// Connections from one client address (IPv6: one /64); more are
    /// closed at once. 0 = no limit. Unix-socket clients are not counted.
    /// Keep it above the smtpd process limit of each Postfix that connects
    /// (Postfix opens one milter connection per smtpd process;
    /// `default_process_limit` is 100).
    pub max_connections_per_ip: usize,
    /// A new connection must finish option negotiation (SMFIC_OPTNEG, which
    /// an MTA sends at once) within this long, else it is closed.
    pub negotiate_timeout_ms: u64,
    /// Concurrent scans (CPU-bound); 0 = the number of cores. Messages
    /// wait for a slot within their deadline.
    pub max_scans: usize,
    /// Largest non-body packet accepted (body chunks may always be 64 KiB).
    pub max_packet_bytes: usize,
    /// Largest message (headers + body) kept for scanning.
    pub max_message_bytes: usize,
    /// Bytes all connections together may hold in messages being received
    /// or scanned (this listener's own budget: the HTTP API has another).
    /// A message that would go over it gets `on_error` (tempfail by
    /// default) instead of being buffered. 0 = `max_connections` ×
    /// `max_message_bytes` capped at 512 MiB (and never below one message).
    pub max_buffered_bytes: u64,
    /// Deadline for one message's scan, waiting for a slot included.
    pub scan_timeout_ms: u64,
    /// Close a connection idle this long between commands.
    pub idle_timeout_ms: u64,
    /// Give up on a reply write after this long.
    pub write_timeout_ms: u64,
    /// Scan failed or timed out: `accept` (fail open) or `tempfail`.
    pub on_error: FailPolicy,
    /// Message over `max_message_bytes`: `accept`, `tempfail` or `reject`.
    pub on_oversize: OversizePolicy,
    /// Add X-Outwork-Action/-Score/-Symbols to delivered messages.
    pub add_headers: bool,
    /// Remove X-Outwork-* headers that arrived with the message (a sender
    /// could forge a clean verdict).
    pub strip_headers: bool,
    /// Prefix for the Subject of `tag` verdicts (empty: don't tag).
    pub subject_tag: String,
    /// SMTP reply for `reject` verdicts: `5xx 5.x.x text` (or 4xx 4.x.x).
    pub reject_reply: String,
    /// Directory of the quarantine store.
    pub quarantine_dir: PathBuf,
    /// `discard` (default), `redirect` or `hold`.
    pub quarantine_mode: QuarantineMode,
    /// Mailbox that receives quarantined mail with `quarantine_mode =
    /// "redirect"`.
    pub quarantine_redirect: Option<String>,
    /// On shutdown, wait this long for open connections to finish.
    pub shutdown_grace_ms: u64,
}

impl Default for MilterConfig {
    fn default() -> Self {
        MilterConfig {
            listen: vec!["inet:127.0.0.1:11339".into()],
            unix_mode: 0o660,
            max_connections: 512,
            max_connections_per_ip: 256,
            negotiate_timeout_ms: 5_000,
            max_scans: 0,
            max_packet_bytes: 64 * 1024,
            max_message_bytes: 25 * 1024 * 1024,
            max_buffered_bytes: 0,
            scan_timeout_ms: 20_000,
            idle_timeout_ms: 600_000,
            write_timeout_ms: 30_000,
            on_error: FailPolicy::Tempfail,
            on_oversize: OversizePolicy::Accept,
            add_headers: true,
            strip_headers: true,
            subject_tag: String::new(),
            reject_reply: "550 5.7.1 Message rejected as phishing".into(),
            quarantine_dir: PathBuf::from("/var/lib/outwork/quarantine"),
            quarantine_mode: QuarantineMode::Discard,
            quarantine_redirect: None,
            shutdown_grace_ms: 10_000,
        }
    }
}

/// A bad `[milter]` table.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not TOML, or a value of the wrong type.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A bad `[milter]` value.
    #[error("milter.{key}: {msg}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        msg: String,
    },
    /// A bad `[http]` value.
    #[error("http.{key}: {msg}")]
    InvalidHttp {
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        msg: String,
    },
    /// A bad `[dashboard]` value.
    #[error("dashboard.{key}: {msg}")]
    InvalidDashboard {
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        msg: String,
    },
}

fn invalid(key: &'static str, msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        msg: msg.into(),
    }
}

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// `host:port` (or `inet:host:port`).
    Inet(String),
    /// A unix socket path (`unix:/path`).
    Unix(PathBuf),
}

impl ListenAddr {
    /// Parse Postfix's notation (`inet:host:port`, `unix:/path`,
    /// `local:/path`) or a bare `host:port`.
    pub fn parse(s: &str) -> Result<ListenAddr, ConfigError> {
        let s = s.trim();
        if let Some(p) = s.strip_prefix("unix:").or_else(|| s.strip_prefix("local:")) {
            if p.is_empty() {
                return Err(invalid("listen", "unix: needs a path"));
            }
            return Ok(ListenAddr::Unix(PathBuf::from(p)));
        }
        let hp = s.strip_prefix("inet:").unwrap_or(s);
        // Postfix writes inet:[::1]:port and inet:host:port; both parse as
        // a socket address string once the host is bracketed or plain.
        if hp
            .rsplit_once(':')
            .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
        {
            return Err(invalid(
                "listen",
                format!("{s:?}: expected inet:HOST:PORT or unix:PATH"),
            ));
        }
        Ok(ListenAddr::Inet(hp.to_string()))
    }
}

impl MilterConfig {
    /// The `[milter]` table of a whole outwork.toml (other tables are
    /// ignored; unknown keys inside `[milter]` are errors).
    pub fn from_outwork_toml(text: &str) -> Result<MilterConfig, ConfigError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct File {
            milter: MilterConfig,
        }
        let f: File = toml::from_str(text)?;
        f.milter.validate()?;
        Ok(f.milter)
    }

    /// Check values a deserialiser can't: addresses, the reject reply.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.is_empty() {
            return Err(invalid("listen", "no address"));
        }
        for l in &self.listen {
            ListenAddr::parse(l)?;
        }
        check_smtp_reply(&self.reject_reply).map_err(|m| invalid("reject_reply", m.to_string()))?;
        if self.max_packet_bytes < 1024 {
            return Err(invalid("max_packet_bytes", "must be at least 1024"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        if self.negotiate_timeout_ms == 0 {
            return Err(invalid("negotiate_timeout_ms", "must be above 0"));
        }
        if self.max_buffered_bytes != 0 && self.max_buffered_bytes < self.max_message_bytes as u64 {
            return Err(invalid(
                "max_buffered_bytes",
                "must be 0 (default) or at least max_message_bytes",
            ));
        }
        if self.quarantine_mode == QuarantineMode::Redirect
            && self
                .quarantine_redirect
                .as_deref()
                .is_none_or(|a| a.trim().is_empty())
        {
            return Err(invalid(
                "quarantine_redirect",
                "quarantine_mode = \"redirect\" needs an address",
            ));
        }
        if self.subject_tag.contains(['\r', '\n', '\0']) {
            return Err(invalid("subject_tag", "must be one line"));
        }
        Ok(())
    }

    /// Concurrent scans after resolving 0 to the core count.
    pub fn scan_slots(&self) -> usize {
        if self.max_scans > 0 {
            self.max_scans
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }

    /// `max_buffered_bytes` after resolving 0 to the default.
    pub fn buffered_budget(&self) -> u64 {
        if self.max_buffered_bytes > 0 {
            return self.max_buffered_bytes;
        }
        let one = self.max_message_bytes as u64;
        (self.max_connections as u64)
            .saturating_mul(one)
            .min(DEFAULT_BUFFERED_BYTES)
            .max(one.saturating_add(1024 * 1024))
    }
}

/// `max_buffered_bytes = 0`: at most this much.
pub(crate) const DEFAULT_BUFFERED_BYTES: u64 = 512 * 1024 * 1024;

/// What a Rspamd client is told for an outwork `quarantine` verdict
/// (Rspamd has no quarantine action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RspamdQuarantineAction {
    /// Deliver with the verdict headers (`X-Spam: Yes`, `X-Outwork-Action:
    /// quarantine`): the mailbox side (Sieve, a Junk rule) files it.
    #[serde(rename = "add header")]
    AddHeader,
    /// Deliver with the subject prefixed (`rspamd_subject`).
    #[serde(rename = "rewrite subject")]
    RewriteSubject,
    /// Refuse it.
    #[serde(rename = "reject")]
    Reject,
    /// Ask the MTA to defer it (4xx) so a human can look.
    #[serde(rename = "soft reject")]
    SoftReject,
    /// Drop it, answering 250 to the sender.
    #[serde(rename = "discard")]
    Discard,
}

impl RspamdQuarantineAction {
    /// Rspamd's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RspamdQuarantineAction::AddHeader => "add header",
            RspamdQuarantineAction::RewriteSubject => "rewrite subject",
            RspamdQuarantineAction::Reject => "reject",
            RspamdQuarantineAction::SoftReject => "soft reject",
            RspamdQuarantineAction::Discard => "discard",
        }
    }
}

/// The `[http]` table: the HTTP API (native JSON, Rspamd-compatible
/// `/checkv2`, `/metrics`, admin endpoints).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to listen on (loopback by default: put a proxy with
    /// TLS in front before exposing it). Rspamd's normal worker port is
    /// 11333, so `rspamc -h 127.0.0.1:11333` works unchanged.
    pub listen: String,
    /// Concurrent HTTP connections. When all are taken, a new connection
    /// closes the one idle longest (no request in flight, idle at least
    /// 0.5 s); with none such, it waits in the kernel's backlog.
    pub max_connections: usize,
    /// Connections from one client address (IPv6: one /64); more are
    /// closed at once. 0 = no limit. Raise it (or set 0) behind a reverse
    /// proxy, where every request comes from the proxy's address.
    pub max_connections_per_ip: usize,
    /// Concurrent scans (CPU-bound); 0 = the number of cores. A request
    /// waits for a slot within `request_timeout_ms`, then gets 503.
    pub max_scans: usize,
    /// Largest request body (a message); larger gets 413.
    pub max_body_bytes: usize,
    /// Bytes all requests together may hold in bodies being received or
    /// scanned (this listener's own budget: the milter has another, so an
    /// HTTP flood can't tempfail mail). A body that would go over it gets
    /// 503 with `Retry-After` instead of being buffered. 0 = 512 MiB (and
    /// never below `max_body_bytes`).
    pub max_buffered_bytes: u64,
    /// Deadline for one request: reading the body, waiting for a slot and
    /// scanning. Past it: 408 (body still arriving) or 503 (scan).
    pub request_timeout_ms: u64,
    /// A client must send a request's headers within this long (slowloris
    /// guard); idle keep-alive connections are closed after it too.
    pub header_timeout_ms: u64,
    /// Bearer token for `/admin/*`. Unset or empty: admin endpoints answer
    /// 403 (never open).
    pub admin_token: Option<String>,
    /// A command that re-injects a released quarantined message (its raw
    /// bytes on stdin), argv style, no shell. `{mail_from}` is replaced by
    /// the envelope sender, `{rcpt_to}` expands to one argument per
    /// recipient. E.g. `["/usr/sbin/sendmail", "-G", "-i", "-f",
    /// "{mail_from}", "--", "{rcpt_to}"]`. Empty: release returns the
    /// message (message/rfc822) for the caller to deliver, and keeps it.
    pub release_command: Vec<String>,
    /// What `/checkv2` answers for a `quarantine` verdict: `"add header"`
    /// (default), `"rewrite subject"`, `"reject"`, `"soft reject"` or
    /// `"discard"`.
    pub rspamd_quarantine_action: RspamdQuarantineAction,
    /// Subject for `"rewrite subject"` answers; `%s` is the original.
    pub rspamd_subject: String,
    /// On shutdown, wait this long for in-flight requests to finish.
    pub shutdown_grace_ms: u64,
    /// Host names `/v1/*` and `/admin/*` answer to besides IP addresses
    /// and `localhost` (and `[dashboard] allowed_hosts`). Others get 403:
    /// a DNS-rebinding page must not use the API from a browser.
    pub allowed_hosts: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:11333".into(),
            max_connections: 1024,
            max_connections_per_ip: 256,
            max_scans: 0,
            max_body_bytes: 25 * 1024 * 1024,
            max_buffered_bytes: 0,
            request_timeout_ms: 30_000,
            header_timeout_ms: 10_000,
            admin_token: None,
            release_command: Vec::new(),
            rspamd_quarantine_action: RspamdQuarantineAction::AddHeader,
            rspamd_subject: "*** PHISHING *** %s".into(),
            shutdown_grace_ms: 10_000,
            allowed_hosts: Vec::new(),
        }
    }
}

fn invalid_http(key: &'static str, msg: impl Into<String>) -> ConfigError {
    ConfigError::InvalidHttp {
        key,
        msg: msg.into(),
    }
}

impl HttpConfig {
    /// The `[http]` table of a whole outwork.toml: `None` when the file
    /// has none (unknown keys inside `[http]` are errors).
    pub fn from_outwork_toml(text: &str) -> Result<Option<HttpConfig>, ConfigError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct File {
            http: Option<HttpConfig>,
        }
        let f: File = toml::from_str(text)?;
        if let Some(h) = &f.http {
            h.validate()?;
        }
        Ok(f.http)
    }

    /// Check values a deserialiser can't.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid_http(
                "listen",
                format!(
                    "{:?}: expected IP:PORT (e.g. 127.0.0.1:11333 or [::1]:11333)",
                    self.listen
                ),
            ));
        }
        if self.max_connections == 0 {
            return Err(invalid_http("max_connections", "must be at least 1"));
        }
        if self.max_body_bytes < 1024 {
            return Err(invalid_http("max_body_bytes", "must be at least 1024"));
        }
        if self.max_buffered_bytes != 0 && self.max_buffered_bytes < self.max_body_bytes as u64 {
            return Err(invalid_http(
                "max_buffered_bytes",
                "must be 0 (default) or at least max_body_bytes",
            ));
        }
        if self.request_timeout_ms == 0 || self.header_timeout_ms == 0 {
            return Err(invalid_http(
                "request_timeout_ms",
                "timeouts must be above 0",
            ));
        }
        if let Some(t) = &self.admin_token
            && !t.is_empty()
            && (t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(invalid_http(
                "admin_token",
                "must be at least 16 printable ASCII characters (no spaces)",
            ));
        }
        if self.rspamd_subject.contains(['\r', '\n', '\0']) {
            return Err(invalid_http("rspamd_subject", "must be one line"));
        }
        Ok(())
    }

    /// `max_buffered_bytes` after resolving 0 to the default.
    pub fn buffered_budget(&self) -> u64 {
        if self.max_buffered_bytes > 0 {
            return self.max_buffered_bytes;
        }
        DEFAULT_BUFFERED_BYTES.max((self.max_body_bytes as u64).saturating_add(1024 * 1024))
    }

    /// The admin token when one is configured (non-empty).
    pub fn token(&self) -> Option<&str> {
        self.admin_token.as_deref().filter(|t| !t.is_empty())
    }

    /// Concurrent scans after resolving 0 to the core count.
    pub fn scan_slots(&self) -> usize {
        if self.max_scans > 0 {
            self.max_scans
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }
}

/// What `outwork config check` warns about in `[http]` / `[dashboard]`
/// (the file is valid; these are exposures an admin should have chosen):
/// an HTTP listener on an address other than loopback serves `/checkv2`
/// and `/v1/*` to whoever reaches it (they take no token), and without
/// `admin_token` or `login_for_reads` also the dashboard's verdict list.
pub fn exposure_warnings(text: &str) -> Vec<String> {
    let Ok(Some(h)) = HttpConfig::from_outwork_toml(text) else {
        return Vec::new();
    };
    let Ok(addr) = h.listen.parse::<std::net::SocketAddr>() else {
        return Vec::new();
    };
    if addr.ip().is_loopback() {
        return Vec::new();
    }
    let mut out = vec![format!(
        "http.listen = {:?} is not loopback: /checkv2 and /v1/* scan (and record) mail for anyone who can reach it, without a token; bind to 127.0.0.1 behind a TLS proxy or firewall the port",
        h.listen
    )];
    if h.token().is_none() {
        out.push(
            "http.admin_token is not set on a non-loopback listener: admin endpoints are off, and the dashboard's verdict list is open to anyone who can reach it"
                .into(),
        );
    }
    let dash = DashboardConfig::from_outwork_toml(text).unwrap_or_default();
    if dash.enabled && !dash.login_for_reads && h.token().is_some() {
        out.push(
            "dashboard.login_for_reads is false on a non-loopback listener: anyone who can reach it reads the verdict list (senders, recipients, subjects); set it to true"
                .into(),
        );
    }
    out
}

/// The `[dashboard]` table: the web dashboard under `/dashboard/` on the
/// HTTP listener, and the verdict log it shows.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardConfig {
    /// Serve `/dashboard/` (and record verdicts). On by default whenever
    /// the HTTP API runs.
    pub enabled: bool,
    /// Verdicts kept in memory (and, about twice that, in the file).
    pub keep: usize,
    /// The verdict log (JSONL). Default: `verdicts.jsonl` in outwork's
    /// data directory. An empty string keeps verdicts in memory only.
    pub path: Option<PathBuf>,
    /// Drop verdicts older than this many days (0: keep until `keep`).
    pub retention_days: u64,
    /// A directory of eval / red-team HTML reports to list and serve.
    pub reports_dir: Option<PathBuf>,
    /// An intel source not imported for this long is shown as stale.
    pub stale_feed_hours: u64,
    /// Require the admin token to read verdicts too (writes always need it).
    pub login_for_reads: bool,
    /// Dashboard sessions expire after this long.
    pub session_hours: u64,
    /// Host names the dashboard answers to besides IP addresses and
    /// `localhost` (e.g. the name a TLS proxy serves it under). Others get
    /// 403: a DNS-rebinding page must not read it from a browser.
    pub allowed_hosts: Vec<String>,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            enabled: true,
            keep: 10_000,
            path: None,
            retention_days: 7,
            reports_dir: None,
            stale_feed_hours: 48,
            login_for_reads: false,
            session_hours: 12,
            allowed_hosts: Vec::new(),
        }
    }
}

impl DashboardConfig {
    /// The `[dashboard]` table of a whole outwork.toml (defaults without one).
    pub fn from_outwork_toml(text: &str) -> Result<DashboardConfig, ConfigError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct File {
            dashboard: DashboardConfig,
        }
        let f: File = toml::from_str(text)?;
        if f.dashboard.keep == 0 || f.dashboard.keep > 10_000_000 {
            return Err(ConfigError::InvalidDashboard {
                key: "keep",
                msg: "must be between 1 and 10000000".into(),
            });
        }
        if f.dashboard.session_hours == 0 {
            return Err(ConfigError::InvalidDashboard {
                key: "session_hours",
                msg: "must be at least 1".into(),
            });
        }
        Ok(f.dashboard)
    }

    /// Where the verdict log lives (`None`: memory only).
    pub fn log_path(&self) -> Option<PathBuf> {
        match &self.path {
            Some(p) if p.as_os_str().is_empty() => None,
            Some(p) => Some(p.clone()),
            None => Some(outwork_intel::data_file("verdicts.jsonl")),
        }
    }
}

/// Does outwork.toml have a top-level table `name` (e.g. `"milter"`)?
pub(crate) fn has_table(text: &str, name: &str) -> Result<bool, ConfigError> {
    let t: toml::Table = toml::from_str(text)?;
    Ok(t.contains_key(name))
}

/// An SMTP reply a milter may send: `4xx 4.x.x text` or `5xx 5.x.x text`,
/// one line, the enhanced code's class matching the reply's (Postfix
/// refuses the reply otherwise).
pub(crate) fn check_smtp_reply(s: &str) -> Result<(), SmtpReplyError> {
    let b = s.as_bytes();
    if s.contains(['\r', '\n', '\0']) {
        return Err(SmtpReplyError::NotOneLine);
    }
    let ok = b.len() >= 9
        && (b[0] == b'4' || b[0] == b'5')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b' '
        && b[4] == b[0]
        && b[5] == b'.'
        && s[6..].split(' ').next().is_some_and(|x| {
            let mut p = x.split('.');
            matches!((p.next(), p.next(), p.next()),
                (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
                    && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()))
        });
    if ok {
        Ok(())
    } else {
        Err(SmtpReplyError::Malformed(s.to_string()))
    }
}

/// Why a configured SMTP reply (`reject_reply`, …) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpReplyError {
    /// It holds a line break or NUL.
    #[error("must be one line")]
    NotOneLine,
    /// Not `4xx 4.x.x text` or `5xx 5.x.x text`.
    #[error("{0:?}: expected e.g. \"550 5.7.1 text\" (4xx/5xx, enhanced code of the same class)")]
    Malformed(String),
}

/// `config check` for the tables this crate owns (`[milter]`, `[http]`,
/// `[dashboard]`): every key on its own (a wrong value or unknown key each
/// said, with "did you mean"), then each table whole for what one value
/// says about another. Syntax errors are the core check's to report.
pub fn check(text: &str) -> Vec<outwork_core::ConfigIssue> {
    use outwork_core::check_each_key;
    use outwork_core::{ConfigIssue, find_key_line};
    #[derive(Deserialize)]
    struct M {
        #[allow(dead_code)]
        milter: Option<MilterConfig>,
    }
    #[derive(Deserialize)]
    struct H {
        #[allow(dead_code)]
        http: Option<HttpConfig>,
    }
    #[derive(Deserialize)]
    struct D {
        #[allow(dead_code)]
        dashboard: Option<DashboardConfig>,
    }
    let Ok(doc) = toml::from_str::<toml::Table>(text) else {
        return Vec::new();
    };
    let whole = |table: &str, r: Result<(), ConfigError>| -> Option<ConfigIssue> {
        let e = r.err()?;
        let (path, message) = match &e {
            ConfigError::Invalid { key, msg } => (format!("milter.{key}"), msg.clone()),
            ConfigError::InvalidHttp { key, msg } => (format!("http.{key}"), msg.clone()),
            ConfigError::InvalidDashboard { key, msg } => (format!("dashboard.{key}"), msg.clone()),
            ConfigError::Toml(t) => (table.to_string(), t.message().to_string()),
        };
        Some(ConfigIssue {
            line: find_key_line(text, &path),
            path,
            message,
        })
    };
    // The whole-table checks read the keys that passed on their own.
    let rest = |good: &toml::Table| toml::to_string(good).unwrap_or_default();
    let mut issues = Vec::new();
    let (i, good) = check_each_key::<M>(text, &doc, Some(&["milter"]));
    issues.extend(i);
    if doc.contains_key("milter") {
        issues.extend(whole(
            "milter",
            MilterConfig::from_outwork_toml(&rest(&good)).map(|_| ()),
        ));
    }
    let (i, good) = check_each_key::<H>(text, &doc, Some(&["http"]));
    issues.extend(i);
    issues.extend(whole(
        "http",
        HttpConfig::from_outwork_toml(&rest(&good)).map(|_| ()),
    ));
    let (i, good) = check_each_key::<D>(text, &doc, Some(&["dashboard"]));
    issues.extend(i);
    issues.extend(whole(
        "dashboard",
        DashboardConfig::from_outwork_toml(&rest(&good)).map(|_| ()),
    ));
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_table() {
        let c = MilterConfig::from_outwork_toml("[thresholds]\ntag = 4\n").unwrap();
        assert_eq!(c.listen, vec!["inet:127.0.0.1:11339".to_string()]);
        let c = MilterConfig::from_outwork_toml(
            "[milter]\nlisten = [\"unix:/tmp/x.sock\", \"127.0.0.1:1\"]\non_error = \"accept\"\nunix_mode = 0o600\n",
        )
        .unwrap();
        assert_eq!(c.on_error, FailPolicy::Accept);
        assert_eq!(c.unix_mode, 0o600);
        assert!(MilterConfig::from_outwork_toml("[milter]\nlisen = []\n").is_err());
        assert!(
            MilterConfig::from_outwork_toml("[milter]\nquarantine_mode = \"redirect\"\n").is_err()
        );
    }

    #[test]
    fn http_table() {
        assert!(
            HttpConfig::from_outwork_toml("[milter]\n")
                .unwrap()
                .is_none()
        );
        let h = HttpConfig::from_outwork_toml("[http]\n").unwrap().unwrap();
        assert_eq!(h.listen, "127.0.0.1:11333");
        assert!(h.token().is_none());
        let h = HttpConfig::from_outwork_toml(
            "[http]\nlisten = \"[::1]:8080\"\nadmin_token = \"0123456789abcdef\"\nrspamd_quarantine_action = \"rewrite subject\"\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.token(), Some("0123456789abcdef"));
        assert_eq!(
            h.rspamd_quarantine_action,
            RspamdQuarantineAction::RewriteSubject
        );
        assert!(HttpConfig::from_outwork_toml("[http]\nlisen = 1\n").is_err());
        assert!(HttpConfig::from_outwork_toml("[http]\nlisten = \"localhost\"\n").is_err());
        assert!(HttpConfig::from_outwork_toml("[http]\nadmin_token = \"short\"\n").is_err());
        assert!(
            HttpConfig::from_outwork_toml("[http]\nrspamd_quarantine_action = \"quarantine\"\n")
                .is_err()
        );
        assert!(has_table("[http]\n", "http").unwrap());
        let d = DashboardConfig::from_outwork_toml("").unwrap();
        assert!(d.enabled && d.keep == 10_000 && d.retention_days == 7);
        let d = DashboardConfig::from_outwork_toml("[dashboard]\npath = \"\"\nkeep = 5\n").unwrap();
        assert!(d.log_path().is_none());
        assert!(DashboardConfig::from_outwork_toml("[dashboard]\nkeep = 0\n").is_err());
        assert!(DashboardConfig::from_outwork_toml("[dashboard]\nbogus = 1\n").is_err());
        assert!(!has_table("[http]\n", "milter").unwrap());
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            ListenAddr::parse("inet:127.0.0.1:10").unwrap(),
            ListenAddr::Inet("127.0.0.1:10".into())
        );
        assert_eq!(
            ListenAddr::parse("inet:[::1]:10").unwrap(),
            ListenAddr::Inet("[::1]:10".into())
        );
        assert_eq!(
            ListenAddr::parse("unix:/run/x").unwrap(),
            ListenAddr::Unix("/run/x".into())
        );
        assert!(ListenAddr::parse("inet:host").is_err());
        assert!(ListenAddr::parse("unix:").is_err());
    }

    #[test]
    fn smtp_replies() {
        assert!(check_smtp_reply("550 5.7.1 Message rejected").is_ok());
        assert!(check_smtp_reply("451 4.7.1 later").is_ok());
        assert!(check_smtp_reply("550 4.7.1 mismatch").is_err());
        assert!(check_smtp_reply("250 2.0.0 ok").is_err());
        assert!(check_smtp_reply("550 rejected").is_err());
        assert_eq!(
            check_smtp_reply("550 5.7.1 two\r\nlines"),
            Err(SmtpReplyError::NotOneLine)
        );
        assert_eq!(
            check_smtp_reply("550 rejected"),
            Err(SmtpReplyError::Malformed("550 rejected".into()))
        );
    }
}
