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

/// What deep inspection of an attachment found, as the signals judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectKind {
    /// An executable or disk-image file inside an archive.
    DangerousMember,
    NestedArchive,
    EncryptedArchive,
    /// A password from the message text opened an encrypted archive.
    PasswordInText,
    /// A limit stopped inspection (bomb, depth, entry count).
    Limit,
    /// The message's inspection budget (images, pixels, time) left
    /// something unlooked-at.
    Budget,
    Malformed,
    Macro,
    MacroAutorun,
    RemoteTemplate,
    PdfJavaScript,
    PdfLaunch,
    PdfEmbeddedFile,
    PdfForm,
    PdfOpenAction,
    /// HTML/SVG smuggling, RTF/OneNote embedded objects, shortcut commands.
    Smuggling,
    /// Scripts or self-redirects in an HTML/SVG attachment.
    Script,
    /// A password form in an HTML/SVG attachment: a phishing page carried
    /// in the message itself.
    CredentialForm,
}

#[derive(Debug, Clone)]
pub struct InspectFinding {
    pub kind: InspectKind,
    /// For the reader: which attachment, where inside, what was seen.
    pub evidence: String,
}

/// What outwork's own DNS checks concluded (RFC 8601 result words).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifiedAuth {
    pub authserv_id: String,
    pub spf: Option<String>,
    /// The domain SPF was checked for (MAIL FROM's, or HELO's).
    pub spf_domain: Option<String>,
    pub dkim: Option<String>,
    /// "domain=result" per DKIM signature.
    pub dkim_domains: Vec<String>,
    pub dmarc: Option<String>,
    pub dmarc_domain: Option<String>,
    pub dmarc_policy: Option<String>,
    /// ARC chain result, when the message has ARC sets.
    pub arc: Option<String>,
    /// The latest ARC sealer (d= of the highest ARC-Seal).
    pub arc_sealer: Option<String>,
    /// The chain passes and its latest sealer is a configured trusted one.
    pub arc_trusted: bool,
    /// Why something was not evaluated (no client IP, deadline…).
    pub notes: Vec<String>,
    /// The Authentication-Results value outwork can add.
    pub header: String,
}

/// What the first-contact history says about this sender.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFacts {
    pub recipient_domains: Vec<String>,
    /// The From domain has written to one of the recipient domains before.
    pub domain_known: bool,
    /// The From address is a long-known correspondent: (messages, first seen).
    pub known_address: Option<(u32, i64)>,
    /// The From domain has never written to a recipient domain that knows
    /// enough correspondents for this to mean something.
    pub first_contact_domain: bool,
    pub first_contact_address: bool,
    /// The new domain is one edit or homoglyph away from a domain that has
    /// written to this recipient domain: (recipient domain, that domain's
    /// messages, first seen).
    pub lookalike_of_known: Option<(String, u32, i64)>,
}

#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub intel: Vec<IntelFinding>,
    pub inspect: Vec<InspectFinding>,
    /// Set when a configured intel store could not be used.
    pub intel_unavailable: Option<String>,
    /// YARA rules that matched: the rule's symbol and where it matched.
    pub yara: Vec<(&'static str, String)>,
    /// clamd detections: "attachment NAME: SIGNATURE".
    pub clamav: Vec<String>,
    /// Set when clamd was configured but could not scan this message.
    pub clamav_unavailable: Option<String>,
    /// Sender authentication verified with DNS (replaces trusted headers).
    pub verified_auth: Option<VerifiedAuth>,
    /// First-contact history, when enabled.
    pub history: Option<HistoryFacts>,
    /// Set when the history store could not be read.
    pub history_unavailable: Option<String>,
}
