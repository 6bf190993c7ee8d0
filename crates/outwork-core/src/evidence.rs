//! Evidence: what the enrich stage (the only one with I/O) found out about
//! the facts. Plain data, so the signals that judge it stay pure.

/// What a blocklist lookup was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntelTarget {
    Url,
    SenderDomain,
    Ip,
    FileHash,
}

/// One blocklist hit.
#[derive(Debug, Clone)]
pub struct IntelFinding {
    pub target: IntelTarget,
    /// What was looked up and where it was found, for the reader.
    pub subject: String,
    /// Registrable domain of the subject (for the allow-list), if any.
    pub registrable: Option<String>,
    /// The Safe-Browsing expression (or range, or hash) that matched.
    pub expression: String,
    pub source: String,
    pub kind: String,
    /// When the feed says the entry was first seen (unix seconds).
    pub first_seen: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub intel: Vec<IntelFinding>,
    /// Set when a configured intel store could not be used.
    pub intel_unavailable: Option<String>,
}
