//! The deployment context (`outwork.toml`). Every key is optional; the
//! defaults are a safe stand-alone scanner.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Why a config could not be used: [`Config::from_toml`] refuses both; [`Config::check`] reports
/// every problem as a [`ConfigIssue`] instead.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid TOML, or a value has the wrong type.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// Well-formed but inconsistent: thresholds out of order, or a `[weights]` entry naming no
    /// symbol.
    #[error("{path}: {message}")]
    Invalid {
        /// Dotted key path of the offending value (`thresholds`,
        /// `weights.NO_SUCH`).
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The whole of `outwork.toml`. Every table and key is optional (`#[serde(default)]`): an empty
/// file is the safe stand-alone scanner.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Config {
    /// `[deployment]`: the organisation's domains, VIPs and extra brands.
    pub deployment: Deployment,
    /// `[auth]`: which Authentication-Results to believe, and online SPF/DKIM/DMARC/ARC checks.
    pub auth: AuthConfig,
    /// `[allow]`: link domains and authenticated senders never flagged.
    pub allow: AllowConfig,
    /// `[lists]`: entries added to the bundled shortener, hosting, freemail, … lists.
    pub lists: ListsConfig,
    /// `[thresholds]`: the scores at which a message is tagged, quarantined, rejected.
    pub thresholds: Thresholds,
    /// Symbol weight overrides: `SYMBOL_NAME = weight`.
    pub weights: BTreeMap<String, f64>,
    /// `[limits]`: how much of a message is read and inspected.
    pub limits: Limits,
    /// `[intel]`: the blocklist store and the feeds `outwork intel update` fetches.
    pub intel: IntelConfig,
    /// `[inspect]`: QR decoding, YARA rules and clamd for attachments.
    pub inspect: InspectConfig,
    /// `[history]`: first-contact history (off by default).
    pub history: HistoryConfig,
    /// `[model]`: the learned model (on by default).
    pub model: ModelConfig,
    /// `[milter]`, `[http]` and `[dashboard]` belong to `outwork serve`
    /// (outwork-server reads and checks them); kept here so they are not
    /// unknown keys. This one is `[milter]`, unread by the core.
    pub milter: Option<toml::Table>,
    /// `[http]`, for `outwork serve`; unread by the core.
    pub http: Option<toml::Table>,
    /// `[dashboard]`, for `outwork serve`; unread by the core.
    pub dashboard: Option<toml::Table>,
}

/// The learned verdict (`outwork train`, `outwork model info`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ModelConfig {
    /// Score with the learned model (on by default: the built-in one, or
    /// `path`). Off: hand-set weights only.
    pub enabled: bool,
    /// A model file from `outwork train` to use instead of the built-in one.
    pub path: Option<String>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            enabled: true,
            path: None,
        }
    }
}

/// First-contact history: who has written to whom before.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HistoryConfig {
    /// `history.enabled`: look up (and learn) who has written to whom, for FIRST_CONTACT,
    /// KNOWN_CORRESPONDENT and friends. Default off.
    pub enabled: bool,
    /// Embedded store file. Default: `$XDG_DATA_HOME/outwork/history.owh`
    /// or `~/.local/share/outwork/history.owh`.
    pub path: Option<String>,
    /// Redis URL for a store shared by a fleet (instead of the file).
    pub redis: Option<String>,
    /// `history.redis_timeout_ms`: deadline of one Redis round trip, in ms (default 500; 0 counts
    /// as 1).
    pub redis_timeout_ms: u64,
    /// Record senders of accepted messages (off: read-only).
    pub learn: bool,
    /// An address with this many messages, first seen `known_days` ago,
    /// is a known correspondent.
    pub known_after: u32,
    /// `history.known_days`: days since an address was first seen before it can be a known
    /// correspondent (default 7; see `known_after`, default 3).
    pub known_days: u32,
    /// A recipient domain must know this many sender domains before
    /// first contact is reported (a new store knows nobody).
    pub min_known: u32,
    /// `outwork history prune` drops entries not seen for this long.
    pub retention_days: u32,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            enabled: false,
            path: None,
            redis: None,
            redis_timeout_ms: 500,
            learn: true,
            known_after: 3,
            known_days: 7,
            min_known: 20,
            retention_days: 400,
        }
    }
}

/// Optional attachment scanners beyond the built-in inspection.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct InspectConfig {
    /// Decode QR codes in images (attachments, inline images, images in
    /// Office files and PDFs).
    pub qr: bool,
    /// A `.yar`/`.yara` file or a directory of them, compiled once at
    /// start (needs a build with `--features yara`). A match fires
    /// `YARA_<RULE_NAME>`.
    pub yara_rules: Option<String>,
    /// Per-file YARA scan deadline, in milliseconds.
    pub yara_timeout_ms: u64,
    /// Weight of a YARA match whose rule has no `score` metadata
    /// (`[weights]` can still set `YARA_<RULE> = w`).
    pub yara_weight: f64,
    /// clamd to send attachments to: `unix:/run/clamav/clamd.ctl`, a
    /// socket path, or `host:port`.
    pub clamd: Option<String>,
    /// Deadline for clamd on one message (all its attachments), in ms.
    pub clamd_timeout_ms: u64,
    /// Attachments larger than this are not sent to clamd.
    pub clamd_max_bytes: usize,
}

impl Default for InspectConfig {
    fn default() -> Self {
        InspectConfig {
            qr: true,
            yara_rules: None,
            yara_timeout_ms: 1000,
            yara_weight: 5.0,
            clamd: None,
            clamd_timeout_ms: 5000,
            clamd_max_bytes: 25 << 20,
        }
    }
}

/// `[intel]`: where blocklists are stored and looked up, and the feeds `outwork intel update`
/// fetches into the file store.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct IntelConfig {
    /// The embedded intel store's file (`--intel` overrides). Default:
    /// `$XDG_DATA_HOME/outwork/intel.owi` or `~/.local/share/outwork/intel.owi`.
    pub path: Option<String>,
    /// Feeds `outwork intel update` fetches.
    pub feeds: Vec<FeedConfig>,
    /// Per-request timeout in seconds for `intel update`.
    pub timeout_secs: u64,
    /// Attempts per feed (with backoff) before keeping the previous data.
    pub retries: u32,
    /// Redis URL for a shared store (`redis://127.0.0.1:6379/0`); when set,
    /// scans look up there instead of the embedded file.
    pub redis: Option<String>,
    /// Deadline for one Redis lookup round trip, in milliseconds; past it
    /// the message is scanned without intel (INTEL_UNAVAILABLE).
    pub redis_timeout_ms: u64,
}

impl Default for IntelConfig {
    fn default() -> Self {
        IntelConfig {
            path: None,
            feeds: Vec::new(),
            timeout_secs: 30,
            retries: 3,
            redis: None,
            redis_timeout_ms: 500,
        }
    }
}

/// One feed to fetch: `[[intel.feeds]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct FeedConfig {
    /// Source name the feed's entries are stored under (what `intel stats` and hits show, and
    /// `intel remove --source` takes).
    pub name: String,
    /// URL to fetch (HTTPS or HTTP), sent with the previous ETag/Last-Modified.
    pub url: String,
    /// Feed format name (see `outwork intel import --format`); detected
    /// when absent.
    pub format: Option<String>,
    /// phishing, malware, spam, scam, c2, other.
    pub kind: Option<String>,
    /// Domain list whose names are never imported as whole-domain entries.
    pub never_block: Option<String>,
}

/// `[deployment]`: what only this organisation knows — its domains, its VIPs, its brands.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Deployment {
    /// The organisation's own domains and the brands it protects. Lookalikes
    /// of these score highest; mail claiming them is checked harder.
    pub protected_domains: Vec<String>,
    /// Names of people whose name in a display name from outside the
    /// protected domains is an impersonation.
    pub vip_names: Vec<String>,
    /// Extra brand names (display-name keywords) mapped to their domains.
    pub brands: BTreeMap<String, Vec<String>>,
}

/// `[auth]`: which Authentication-Results headers to believe (offline), and whether to verify SPF,
/// DKIM, DMARC and ARC with DNS (online).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// authserv-ids whose Authentication-Results headers are believed.
    pub trusted_authserv_ids: Vec<String>,
    /// Also believe the topmost N Authentication-Results headers whatever
    /// their authserv-id (for edges, e.g. Microsoft's, that omit or vary it).
    pub trust_topmost: usize,
    /// Verify SPF, DKIM, DMARC and ARC with DNS (`outwork scan --verify`
    /// turns it on for one run). Off: only trusted headers are read.
    pub verify: bool,
    /// DNS servers (`IP` or `IP:port`); empty: the system's resolv.conf.
    pub nameservers: Vec<String>,
    /// Timeout of one DNS query, in ms (default 2000); past it the check is
    /// temperror.
    pub dns_timeout_ms: u64,
    /// `auth.dns_attempts`: tries per DNS query (default 1, no retry).
    pub dns_attempts: usize,
    /// DNS responses cached (shared by all messages; TTLs honoured).
    pub dns_cache_size: u64,
    /// Deadline for all DNS checks of one message; unfinished checks are
    /// temperror and the scan goes on.
    pub verify_deadline_ms: u64,
    /// The authserv-id outwork writes in its own Authentication-Results.
    pub authserv_id: String,
    /// ARC sealers (domains) whose passing chain vouches for forwarded
    /// mail: their forwarding is not held against the original sender.
    pub trusted_arc_sealers: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            trusted_authserv_ids: Vec::new(),
            trust_topmost: 0,
            verify: false,
            nameservers: Vec::new(),
            dns_timeout_ms: 2000,
            dns_attempts: 1,
            dns_cache_size: 8192,
            verify_deadline_ms: 5000,
            authserv_id: "outwork".into(),
            trusted_arc_sealers: Vec::new(),
        }
    }
}

/// `[allow]`: allow-lists, which also win over blocklist hits (INTEL_ALLOWLISTED).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct AllowConfig {
    /// Registrable domains whose links are never flagged by link or
    /// lookalike signals.
    pub domains: Vec<String>,
    /// Sender domains or addresses exempt from sender signals, only when a
    /// trusted DMARC pass authenticates them (an allow-list by From alone is
    /// spoofable).
    pub senders: Vec<String>,
}

/// `[lists]`: entries added to (never replacing) the bundled lists, lower-cased. Each matches the
/// host and its subdomains; where noted, `host/path-prefix` narrows it to paths.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ListsConfig {
    /// `lists.shorteners`: URL shorteners (URL_SHORTENER), as a host or registrable domain; a path
    /// part is not honoured here.
    pub shorteners: Vec<String>,
    /// `lists.free_hosting`: free web hosts and storage buckets (URL_FREE_HOSTING); `host` or
    /// `host/path-prefix`.
    pub free_hosting: Vec<String>,
    /// `lists.form_services`: form and survey builders (URL_FORM_SERVICE); `host` or
    /// `host/path-prefix`.
    pub form_services: Vec<String>,
    /// `lists.tunnels`: developer tunnels such as ngrok (URL_DEV_TUNNEL); `host` or
    /// `host/path-prefix`.
    pub tunnels: Vec<String>,
    /// `lists.ipfs_gateways`: IPFS gateways (URL_IPFS); `host` or `host/path-prefix`.
    pub ipfs_gateways: Vec<String>,
    /// `lists.freemail`: free mailbox domains (REPLYTO_FREEMAIL, FROM_FREEMAIL_BRAND), matched as a
    /// whole domain; a path part is not honoured here.
    pub freemail: Vec<String>,
    /// `lists.abused_tlds`: TLDs with a high abuse rate (URL_ABUSED_TLD), with or without the leading dot.
    pub abused_tlds: Vec<String>,
}

/// `[thresholds]`: the score at or above which each action applies. [`Config::from_toml`] refuses
/// them unless `tag <= quarantine <= reject`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// `thresholds.tag`: score from which the message is tagged (default 5).
    pub tag: f64,
    /// `thresholds.quarantine`: score from which it is quarantined (default 10).
    pub quarantine: f64,
    /// `thresholds.reject`: score from which it is rejected (default 15).
    pub reject: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            tag: 5.0,
            quarantine: 10.0,
            reject: 15.0,
        }
    }
}

/// `[limits]`: how much of one message is read and inspected. Untrusted input never panics, hangs
/// or allocates without bound: reaching a limit fires a symbol and the scan goes on with what was
/// read.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// `limits.max_message_bytes`: longer messages are scanned up to this many bytes
    /// (MESSAGE_SIZE_LIMIT); default 25 MiB.
    pub max_message_bytes: usize,
    /// `limits.max_parts`: MIME parts read (MIME_PART_LIMIT); default 500. A message with more than
    /// 4 × `max_parts` + 16 lines starting with `--` is read only up to the next one.
    pub max_parts: usize,
    /// Header fields read; past it only the fields that decide how the
    /// message is read (From, Subject, Content-Type, …) are kept
    /// (HEADER_COUNT_LIMIT). Default 1000.
    pub max_headers: usize,
    /// `limits.max_depth`: MIME and message/rfc822 nesting read
    /// (MIME_DEPTH_LIMIT); default 20.
    pub max_depth: usize,
    /// `limits.max_urls`: URLs kept and checked per message (URL_LIMIT);
    /// default 1000. Unwrapped redirect targets may add up to 64 more.
    pub max_urls: usize,
    /// `limits.max_html_bytes`: bytes of HTML read per part, the rest
    /// unread; default 2 MiB.
    pub max_html_bytes: usize,
    /// `limits.max_html_memory`: memory the HTML parser may use per part
    /// (PARSE_HTML_LIMIT past it); default 16 MiB.
    pub max_html_memory: usize,
    /// `limits.max_text_bytes`: bytes of text read per part (and of visible
    /// text taken from an HTML part) when looking for URLs and words;
    /// default 1 MiB.
    pub max_text_bytes: usize,
    /// Archive nesting inspected inside one attachment.
    pub max_archive_depth: usize,
    /// Bytes extracted from all archives of one attachment.
    pub max_extracted_bytes: u64,
    /// Archive entries examined per attachment.
    pub max_archive_entries: usize,
    /// Largest expanded/compressed ratio for one archive entry (bomb guard).
    pub max_compression_ratio: u64,
    /// Images decoded for QR codes per message; identical copies count
    /// once (INSPECT_BUDGET past it).
    pub max_images: usize,
    /// Largest image decoded for QR codes, in pixels, read from its header
    /// before decoding (INSPECT_BUDGET for larger ones).
    pub max_image_pixels: u64,
    /// Pixels decoded for QR codes per message, all images together.
    pub max_decoded_pixels: u64,
    /// Wall-clock budget for attachment inspection of one message, in ms;
    /// what is left when it runs out is not inspected (INSPECT_BUDGET).
    /// Servers also stop it at their own scan deadline.
    pub max_inspect_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 25 << 20,
            max_parts: 500,
            max_headers: 1_000,
            max_depth: 20,
            max_urls: 1000,
            max_html_bytes: 2 << 20,
            max_html_memory: 16 << 20,
            max_text_bytes: 1 << 20,
            max_archive_depth: 4,
            max_extracted_bytes: 64 << 20,
            max_archive_entries: 2_000,
            max_compression_ratio: 200,
            max_images: 32,
            max_image_pixels: 8 << 20,
            max_decoded_pixels: 16 << 20,
            max_inspect_ms: 5_000,
        }
    }
}

/// A problem found by `config check`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    /// 1-based line in the checked text, when the issue can be placed; `None` sorts last.
    pub line: Option<usize>,
    /// Dotted key path (`thresholds.rejct`, `weights.NO_SUCH`); empty for a syntax error.
    pub path: String,
    /// What is wrong, for a human (with "did you mean" when a close name exists).
    pub message: String,
}

impl Config {
    /// Parse, ignoring unknown keys (they are reported by [`Config::check`]).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let (cfg, _) = Self::parse_collecting(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn parse_collecting(text: &str) -> Result<(Config, Vec<String>), ConfigError> {
        let de = toml::Deserializer::new(text);
        let mut unknown = Vec::new();
        let cfg: Config = serde_ignored::deserialize(de, |path| unknown.push(path.to_string()))?;
        Ok((cfg, unknown))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.thresholds;
        if !(t.tag <= t.quarantine && t.quarantine <= t.reject) {
            return Err(ConfigError::Invalid {
                path: "thresholds".into(),
                message: format!(
                    "need tag <= quarantine <= reject, got {} / {} / {}",
                    t.tag, t.quarantine, t.reject
                ),
            });
        }
        for name in self.weights.keys() {
            if crate::symbol::lookup(name).is_none()
                && !name.starts_with(crate::symbol::RULE_PREFIX)
            {
                return Err(ConfigError::Invalid {
                    path: format!("weights.{name}"),
                    message: "no such symbol".into(),
                });
            }
        }
        Ok(())
    }

    /// Everything wrong with a config file: parse errors, unknown keys (with
    /// line numbers), unknown symbols, inconsistent thresholds.
    pub fn check(text: &str) -> Vec<ConfigIssue> {
        let doc: toml::Table = match toml::from_str(text) {
            Ok(d) => d,
            // A syntax error stops the reading: the one place a check
            // can't go on.
            Err(e) => {
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
                return vec![ConfigIssue {
                    line,
                    path: String::new(),
                    message: e.message().to_string(),
                }];
            }
        };
        // Every key on its own: each wrong value and unknown key is said.
        let (mut issues, good) = crate::keys::check_each_key::<Config>(text, &doc, None);
        let cfg: Config = match serde_ignored::deserialize(toml::Value::Table(good), |_| {}) {
            Ok(c) => c,
            Err(e) => {
                issues.push(ConfigIssue {
                    line: None,
                    path: String::new(),
                    message: e.to_string(),
                });
                return issues;
            }
        };
        for name in cfg.weights.keys() {
            if crate::symbol::lookup(name).is_none()
                && !name.starts_with(crate::symbol::RULE_PREFIX)
            {
                let path = format!("weights.{name}");
                let hint =
                    crate::keys::did_you_mean(name, crate::symbol::SYMBOLS.iter().map(|s| s.name));
                issues.push(ConfigIssue {
                    line: find_key_line(text, &path),
                    path,
                    message: match hint {
                        Some(h) => format!("no such symbol (did you mean `{h}`?)"),
                        None => "no such symbol (`outwork symbols` lists them)".into(),
                    },
                });
            }
        }
        if let Err(ConfigError::Invalid { path, message }) = cfg.validate()
            && !path.starts_with("weights.")
        {
            issues.push(ConfigIssue {
                line: find_key_line(text, &path),
                path,
                message,
            });
        }
        sort_issues(&mut issues);
        issues
    }
}

/// In file order; issues without a line last.
pub fn sort_issues(issues: &mut [ConfigIssue]) {
    issues.sort_by_key(|i| (i.line.is_none(), i.line, i.path.clone()));
}

/// Line (1-based) where a dotted key path is defined: as `[a.b]` table
/// header or as `key =` inside its table.
pub fn find_key_line(text: &str, path: &str) -> Option<usize> {
    let (table, key) = match path.rsplit_once('.') {
        Some((t, k)) => (t, k),
        None => ("", path),
    };
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(h) = l.strip_prefix('[').and_then(|r| r.split(']').next()) {
            current = h.trim().trim_start_matches('[').to_string();
            if current == path {
                return Some(i + 1);
            }
            continue;
        }
        if let Some((k, _)) = l.split_once('=') {
            let k = k.trim().trim_matches('"');
            let full = if current.is_empty() {
                k.to_string()
            } else {
                format!("{current}.{k}")
            };
            if (current == table && k == key) || full == path {
                return Some(i + 1);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reports_unknown_keys_with_lines() {
        let text = "[deployment]\nprotected_domains = [\"example.com\"]\nvip_name = [\"x\"]\n\n[thresholds]\ntag = 4.0\nrejct = 1\n\n[weights]\nNO_SUCH = 1.0\n";
        let issues = Config::check(text);
        assert!(
            issues
                .iter()
                .any(|i| i.path == "deployment.vip_name" && i.line == Some(3)),
            "{issues:?}"
        );
        assert!(
            issues
                .iter()
                .any(|i| i.path == "thresholds.rejct" && i.line == Some(7)),
            "{issues:?}"
        );
        assert!(
            issues
                .iter()
                .any(|i| i.path == "weights.NO_SUCH" && i.line == Some(10)),
            "{issues:?}"
        );
    }

    #[test]
    fn bad_thresholds_and_syntax() {
        assert!(Config::from_toml("[thresholds]\ntag = 20\n").is_err());
        let issues = Config::check("[deployment\n");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].line, Some(1));
        assert!(Config::from_toml("").is_ok());
    }
}
