//! Evidence: what the enrich stage (the only one with I/O) found out about
//! the facts. Plain data, so the signals that judge it stay pure.

/// What a blocklist lookup was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntelTarget {
    /// A link (or an unwrapped redirect target): URL_BLOCKLISTED.
    Url,
    /// A sender's domain (From, Reply-To, Return-Path): DOMAIN_BLOCKLISTED.
    SenderDomain,
    /// A link whose host is an IP listed by address or range: IP_BLOCKLISTED.
    Ip,
    /// An attachment's (or extracted file's) SHA-256: FILE_HASH_BLOCKLISTED.
    FileHash,
}

/// One blocklist hit.
#[derive(Debug, Clone)]
pub struct IntelFinding {
    /// What kind of thing was looked up; decides the symbol.
    pub target: IntelTarget,
    /// What was looked up and where it was found, for the reader.
    pub subject: String,
    /// Registrable domain of the subject (for the allow-list), if any.
    pub registrable: Option<String>,
    /// The Safe-Browsing expression (or range, or hash) that matched.
    pub expression: String,
    /// Source name of the listing (the feed's or `--source`).
    pub source: String,
    /// The listing's kind as its store spells it: phishing, malware, spam, scam, c2, other.
    pub kind: String,
    /// When the feed says the entry was first seen (unix seconds).
    pub first_seen: Option<i64>,
}

/// What deep inspection of an attachment found, as the signals judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectKind {
    /// An executable or disk-image file inside an archive.
    DangerousMember,
    /// An archive inside an archive (ATTACH_NESTED_ARCHIVE).
    NestedArchive,
    /// An encrypted archive (ATTACH_ENCRYPTED_ARCHIVE).
    EncryptedArchive,
    /// A password from the message text opened an encrypted archive.
    PasswordInText,
    /// A limit stopped inspection (bomb, depth, entry count).
    Limit,
    /// The message's inspection budget (images, pixels, time) left
    /// something unlooked-at.
    Budget,
    /// A file that claims a format but can't be read as it (ATTACH_MALFORMED).
    Malformed,
    /// VBA macros in an Office file (ATTACH_MACRO).
    Macro,
    /// Macros with an auto-run procedure name (ATTACH_MACRO_AUTORUN).
    MacroAutorun,
    /// An Office file loading a remote template or object (ATTACH_REMOTE_TEMPLATE).
    RemoteTemplate,
    /// JavaScript in a PDF (ATTACH_PDF_JAVASCRIPT).
    PdfJavaScript,
    /// A PDF `/Launch` action (ATTACH_PDF_LAUNCH).
    PdfLaunch,
    /// A file embedded in a PDF (ATTACH_PDF_EMBEDDED_FILE).
    PdfEmbeddedFile,
    /// A form in a PDF (ATTACH_PDF_FORM).
    PdfForm,
    /// A PDF `/OpenAction` (ATTACH_PDF_OPENACTION).
    PdfOpenAction,
    /// HTML/SVG smuggling, RTF/OneNote embedded objects, shortcut commands.
    Smuggling,
    /// Scripts or self-redirects in an HTML/SVG attachment.
    Script,
    /// A password form in an HTML/SVG attachment: a phishing page carried
    /// in the message itself.
    CredentialForm,
}

/// One finding of attachment inspection; each fires the symbol of its kind.
#[derive(Debug, Clone)]
pub struct InspectFinding {
    /// What was found.
    pub kind: InspectKind,
    /// For the reader: which attachment, where inside, what was seen.
    pub evidence: String,
}

/// What outwork's own DNS checks concluded (RFC 8601 result words).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifiedAuth {
    /// The authserv-id written in the header (`auth.authserv_id`).
    pub authserv_id: String,
    /// SPF result word (pass, fail, softfail, neutral, none, temperror, permerror); `None` when not
    /// evaluated (no client IP).
    pub spf: Option<String>,
    /// The domain SPF was checked for (MAIL FROM's, or HELO's).
    pub spf_domain: Option<String>,
    /// DKIM result word over all signatures (as SPF's); `None` when not evaluated.
    pub dkim: Option<String>,
    /// "domain=result" per DKIM signature.
    pub dkim_domains: Vec<String>,
    /// DMARC result word; `None` when not evaluated.
    pub dmarc: Option<String>,
    /// The From domain DMARC was evaluated for.
    pub dmarc_domain: Option<String>,
    /// The published policy that applies (the `sp=` one for a subdomain): reject, quarantine, none
    /// or unspecified.
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
    /// The recipient domains the history was asked about (envelope RCPT TO, else To/Cc).
    pub recipient_domains: Vec<String>,
    /// The From domain has written to one of the recipient domains before.
    pub domain_known: bool,
    /// The From address is a long-known correspondent: (messages, first seen).
    pub known_address: Option<(u32, i64)>,
    /// The From domain has never written to a recipient domain that knows
    /// enough correspondents for this to mean something.
    pub first_contact_domain: bool,
    /// Also the From address is new to those recipient domains (set only with
    /// `first_contact_domain`); with a VIP's display name, FIRST_CONTACT_VIP_NAME.
    pub first_contact_address: bool,
    /// The new domain is one edit or homoglyph away from a domain that has
    /// written to this recipient domain: (recipient domain, that domain's
    /// messages, first seen).
    pub lookalike_of_known: Option<(String, u32, i64)>,
}

/// Everything the enrich stage (the one with I/O) learned about a message, for the pure signals.
/// `Default` is "nothing looked up", which is what a scan without stores or DNS gets.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Blocklist hits, in lookup order.
    pub intel: Vec<IntelFinding>,
    /// Attachment inspection findings.
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
