//! Symbols: stable names, default weights, and what each means.

use serde::Serialize;

/// Signal family, so a deployment (or an evaluation) can reason per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Link targets and how they are written.
    Links,
    /// Domains that imitate a protected domain or a brand's.
    Lookalike,
    /// Who the message claims to be from: display names, Reply-To, brands, first contact.
    Sender,
    /// SPF, DKIM, DMARC, ARC and which Authentication-Results were believed.
    Auth,
    /// What the HTML body shows, hides and asks for.
    Html,
    /// Attachments, their contents, YARA and ClamAV.
    Attachments,
    /// Blocklist hits from the intel store.
    Intel,
    /// Parsing and the limits a message ran into.
    Parse,
    /// The learned model's own contributions (`LEARNED_*`).
    Learned,
}

/// A symbol outwork can emit, as listed in [`SYMBOLS`] (and by `outwork symbols`).
pub struct SymbolDef {
    /// Stable UPPER_SNAKE name, used in `[weights]`, JSON and headers.
    pub name: &'static str,
    /// Default weight, added to the score when it fires (`[weights]` and the learned model may
    /// change it).
    pub weight: f64,
    /// The family it belongs to.
    pub family: Family,
    /// One sentence on when it fires, for people.
    pub description: &'static str,
}

macro_rules! defs {
    ($( $name:ident, $w:expr, $fam:ident, $desc:expr; )*) => {
        /// Every symbol outwork can emit.
        pub const SYMBOLS: &[SymbolDef] = &[
            $( SymbolDef { name: stringify!($name), weight: $w, family: Family::$fam, description: $desc }, )*
        ];
    };
}

defs! {
    // Links
    LINK_TEXT_MISMATCH, 4.0, Links, "Link text shows one domain while the link goes to another registrable domain";
    LINK_TEXT_TYPOSQUAT, 7.0, Links, "Link text shows a domain and the link goes to a near-miss spelling of it";
    URL_IP_HOST, 2.5, Links, "A link points at a bare IPv4/IPv6 address";
    URL_IP_OBFUSCATED, 6.0, Links, "A link's IPv4 host is written in decimal, hex, octal or short form to hide it";
    URL_USERINFO, 4.0, Links, "A link uses user@host so it appears to start with another name";
    URL_PUNYCODE, 1.0, Links, "A link host uses punycode (internationalised) labels";
    URL_MIXED_SCRIPT, 5.0, Links, "A link host mixes scripts (e.g. Cyrillic letters in a Latin name)";
    URL_INVISIBLE_CHARS, 4.0, Links, "Zero-width or bidi control characters inside a link or its text";
    URL_OBFUSCATED_TEXT, 1.0, Links, "A URL written defanged (hxxp, [.]) so filters miss it";
    URL_DATA_URI, 3.0, Links, "A link or frame uses a data: URI (page carried in the message)";
    URL_JAVASCRIPT, 3.0, Links, "A link runs javascript:/vbscript:";
    URL_SHORTENER, 2.5, Links, "A link goes through a URL shortener that hides its target";
    URL_REDIRECTOR, 2.5, Links, "A link goes through a known open redirector to another site";
    URL_FREE_HOSTING, 2.5, Links, "A link goes to a free web host or public storage bucket";
    URL_FORM_SERVICE, 2.5, Links, "A link goes to a form/survey builder often used to collect credentials";
    URL_DEV_TUNNEL, 4.0, Links, "A link goes to a developer tunnel (ngrok, trycloudflare, ...)";
    URL_IPFS, 5.0, Links, "A link goes to an IPFS gateway or an /ipfs/ path";
    URL_ABUSED_TLD, 1.0, Links, "A clickable link is under a TLD with a high abuse rate";
    URL_NONSTANDARD_PORT, 1.5, Links, "A web link names an unusual port";
    URL_HTTP_CREDENTIAL_PATH, 0.5, Links, "A plain-http link to a login/verify style path";
    QR_CODE_URL, 1.0, Links, "A QR code in an image carries a link (checked like any other link)";
    QR_ONLY_CALL_TO_ACTION, 4.0, Links, "The message's only web links are in QR codes: the click moves to a phone, away from URL filters";
    // Lookalikes
    LOOKALIKE_PROTECTED, 9.0, Lookalike, "A domain imitates one of this deployment's protected domains";
    LOOKALIKE_BRAND_URL, 5.0, Lookalike, "A link domain imitates a well-known brand's domain (typo or homoglyph)";
    LOOKALIKE_BRAND_SENDER, 6.0, Lookalike, "A sender domain (From/Reply-To/Return-Path) imitates a well-known brand's domain";
    BRAND_IN_SUBDOMAIN, 4.0, Lookalike, "A brand's name or domain sits in the subdomain of an unrelated domain";
    BRAND_IN_DOMAIN, 3.0, Lookalike, "A brand's name is combined with other words in an unrelated registrable domain";
    // Sender
    FROM_DISPLAY_ADDRESS_MISMATCH, 4.0, Sender, "The From display name holds an address on another domain";
    FROM_DISPLAY_BRAND, 5.0, Sender, "The From display name names a brand the From domain doesn't belong to";
    FROM_DISPLAY_VIP, 5.0, Sender, "The From display name is a configured VIP but the address is outside the protected domains";
    FROM_PROTECTED_EXTERNAL, 3.0, Sender, "The From domain is a protected domain but trusted authentication does not confirm it";
    REPLYTO_DIFF_DOMAIN, 1.0, Sender, "Reply-To is on another registrable domain than From";
    REPLYTO_FREEMAIL, 4.0, Sender, "Reply-To is a free mailbox while From is not that mailbox";
    RETURN_PATH_MISMATCH, 1.0, Sender, "Return-Path is on another registrable domain than From";
    FROM_BRAND_AUTHENTICATED, -2.0, Sender, "From is a catalogued brand's (or a protected) domain and DMARC passes in trusted results: the brand's own mail";
    BRAND_IMPERSONATION, 3.0, Sender, "A catalogued brand is claimed in two or more of subject, title, first lines, alt text, link text and attachment name (one of them a title, alt text, link or file name), while neither the sender, a passing DKIM signature nor any link is that brand's";
    BRAND_DISGUISED, 3.0, Sender, "A brand name is written in disguise (look-alike letters of another script, invisible characters, leetspeak, spaced-out or mathematical letters) in mail that is not the brand's";
    BRAND_MENTION_UNBACKED, 0.5, Sender, "A catalogued brand is named (subject, first lines, …) in mail that is neither the brand's nor a list's and links nowhere of the brand's, without presenting as it";
    FROM_FREEMAIL_BRAND, 3.0, Sender, "A brand or organisation name writes from a free mailbox";
    HEADER_INVISIBLE_CHARS, 2.5, Sender, "Zero-width or bidi characters in the From name or Subject (filter evasion)";
    FROM_MISSING, 2.0, Sender, "No usable From address";
    FIRST_CONTACT, 0.5, Sender, "The From domain has never written to this recipient domain before";
    FIRST_CONTACT_LOOKALIKE, 7.0, Sender, "A first-time sender domain is one edit or homoglyph away from a domain that has written here before";
    FIRST_CONTACT_VIP_NAME, 4.0, Sender, "A first-time sender address uses a VIP's display name";
    KNOWN_CORRESPONDENT, -1.0, Sender, "The From address has written here for a while (and authentication does not contradict it)";
    HISTORY_UNAVAILABLE, 0.0, Sender, "The first-contact history could not be read";
    // Auth (from trusted Authentication-Results)
    AUTH_RESULTS_TRUSTED, 0.0, Auth, "Authentication results were read from this trusted header";
    AUTH_RESULTS_FORGED, 0.0, Auth, "An Authentication-Results header claims our own authserv-id: forged (RFC 8601 section 5), ignored";
    SPF_FAIL, 5.0, Auth, "SPF fail: the envelope domain says this server may not send for it";
    SPF_SOFTFAIL, 1.5, Auth, "SPF softfail for the envelope sender";
    DKIM_FAIL, 1.0, Auth, "A DKIM signature failed to verify";
    SPF_PASS, 0.0, Auth, "SPF pass: the connecting IP may send for the envelope domain";
    SPF_NEUTRAL, 0.0, Auth, "SPF neutral: the envelope domain makes no claim about this IP";
    SPF_NONE, 0.0, Auth, "SPF none: the envelope domain publishes no SPF record";
    SPF_TEMPERROR, 0.0, Auth, "SPF temperror: DNS failed or timed out (not held against the sender)";
    SPF_PERMERROR, 1.0, Auth, "SPF permerror: the envelope domain's SPF record is broken";
    DKIM_PASS, 0.0, Auth, "A DKIM signature verified (see which domain signed)";
    DKIM_NONE, 0.0, Auth, "The message carries no DKIM signature";
    DKIM_TEMPERROR, 0.0, Auth, "DKIM temperror: the signing key could not be fetched in time";
    DKIM_PERMERROR, 1.0, Auth, "DKIM permerror: a signature or its key record is malformed";
    DMARC_NONE, 0.0, Auth, "The From domain publishes no DMARC record";
    DMARC_TEMPERROR, 0.0, Auth, "DMARC temperror: DNS failed or timed out";
    DMARC_PERMERROR, 0.5, Auth, "DMARC permerror: the From domain's DMARC record is broken";
    ARC_VALID, 0.0, Auth, "The message's ARC chain verifies";
    ARC_INVALID, 1.0, Auth, "The message's ARC chain is broken (forged or altered in transit)";
    ARC_TRUSTED_FORWARDER, 0.0, Auth, "A trusted forwarder's valid ARC chain vouches for the message: SPF/DMARC failures from forwarding are not held against it";
    DMARC_FAIL, 4.0, Auth, "DMARC failed: the From domain is not authenticated";
    DMARC_POLICY_REJECT, 2.0, Auth, "DMARC failed and the From domain publishes p=reject";
    DMARC_POLICY_QUARANTINE, 1.0, Auth, "DMARC failed and the From domain publishes p=quarantine";
    DMARC_PASS, 0.0, Auth, "DMARC passed: the From domain is authenticated (attackers pass it for their own domains, so no credit by default)";
    FROM_BRAND_AUTH_FAIL, 4.0, Auth, "From is a brand's or protected domain but trusted authentication does not confirm it (spoofed)";
    // HTML
    HTML_FORM, 0.5, Html, "The message body holds an HTML form";
    HTML_PASSWORD_FIELD, 6.0, Html, "The message body asks for a password";
    HTML_FORM_REMOTE_ACTION, 1.5, Html, "A form in the body posts to a remote site";
    HTML_META_REFRESH, 3.0, Html, "The HTML redirects itself with meta refresh";
    HTML_HIDDEN_TEXT, 2.5, Html, "Substantial text hidden with CSS (display:none, zero font...)";
    HTML_IMAGE_ONLY_LINK, 2.5, Html, "The HTML is mostly an image plus a link, with almost no text";
    HTML_SCRIPT, 0.5, Html, "The HTML body carries a script";
    // Attachments
    ATTACH_DANGEROUS_EXT, 6.0, Attachments, "An attachment has an executable or disk-image extension";
    ATTACH_DOUBLE_EXT, 5.0, Attachments, "An attachment name hides its real extension behind a decoy one (x.pdf.exe)";
    ATTACH_TYPE_MISMATCH, 3.0, Attachments, "An attachment's content is not what its name or declared type says";
    ATTACH_HTML, 3.0, Attachments, "An HTML or SVG attachment (a local page that escapes URL filters)";
    ATTACH_RTLO_NAME, 6.0, Attachments, "An attachment name uses bidi controls to reverse its extension";
    ATTACH_ARCHIVE_DANGEROUS, 6.0, Attachments, "An archive holds an executable, script or disk image";
    ATTACH_NESTED_ARCHIVE, 1.0, Attachments, "An archive inside an archive";
    ATTACH_ENCRYPTED_ARCHIVE, 3.0, Attachments, "An encrypted archive (its content hides from scanners)";
    ATTACH_PASSWORD_IN_TEXT, 3.0, Attachments, "A password given in the message text opens an encrypted attachment";
    ATTACH_INSPECT_LIMIT, 2.0, Attachments, "Attachment inspection hit a limit (archive bomb, nesting, entry count)";
    LEARNED_WORDS, 0.0, Learned, "The learned model's weight of the words a reader sees (subject, display name, text, link and alt texts, attachment names); evidence lists the strongest";
    LEARNED_COMBO, 0.0, Learned, "The learned model's weight of symbols firing together; evidence lists the strongest pairs";
    LEARNED_BASE, 0.0, Learned, "The learned model's constant (bias and calibration to the false-positive target)";
    INSPECT_BUDGET, 1.5, Attachments, "The message's inspection budget (images decoded, image size, time) left part of it unread";
    ATTACH_MALFORMED, 1.0, Attachments, "An attachment claims a format but can't be read as it";
    ATTACH_MACRO, 3.0, Attachments, "An Office document carries VBA macros";
    ATTACH_MACRO_AUTORUN, 4.0, Attachments, "Office macros run by themselves on open or close";
    ATTACH_REMOTE_TEMPLATE, 6.0, Attachments, "An Office document loads a remote template or object";
    ATTACH_PDF_JAVASCRIPT, 3.0, Attachments, "A PDF carries JavaScript";
    ATTACH_PDF_LAUNCH, 5.0, Attachments, "A PDF launches a program or file";
    ATTACH_PDF_EMBEDDED_FILE, 2.0, Attachments, "A PDF embeds a file";
    ATTACH_PDF_FORM, 1.0, Attachments, "A PDF holds a form";
    ATTACH_PDF_OPENACTION, 1.0, Attachments, "A PDF acts on open";
    ATTACH_SMUGGLING, 5.0, Attachments, "An attachment builds or unpacks a file client-side (HTML smuggling, embedded objects, shortcut commands)";
    ATTACH_SCRIPT, 2.0, Attachments, "An HTML/SVG attachment runs script or redirects itself";
    ATTACH_CREDENTIAL_FORM, 5.0, Attachments, "An HTML/SVG attachment (or a file in an archive) asks for a password: a phishing page carried in the message";
    CLAMAV_VIRUS, 10.0, Attachments, "ClamAV (clamd) found a signature in an attachment";
    CLAMAV_UNAVAILABLE, 0.0, Attachments, "clamd is configured but could not scan this message (down, refused or past its deadline)";
    // Intel (blocklists; looked up by the engine, judged here)
    URL_BLOCKLISTED, 10.0, Intel, "A link (or its redirect target) is on a blocklist";
    DOMAIN_BLOCKLISTED, 8.0, Intel, "A sender domain (From, Reply-To, Return-Path) is on a blocklist";
    IP_BLOCKLISTED, 5.0, Intel, "A link's IP host is in a blocklisted range";
    FILE_HASH_BLOCKLISTED, 10.0, Intel, "An attachment's SHA-256 is on a blocklist";
    INTEL_ALLOWLISTED, 0.0, Intel, "A blocklist hit was overridden by the deployment's allow-list";
    INTEL_UNAVAILABLE, 0.0, Intel, "The intel store could not be read; blocklists were not checked";
    // Parse and limits
    PARSE_ERROR, 1.0, Parse, "The message could not be parsed as MIME";
    PARSE_HTML_LIMIT, 0.5, Parse, "The HTML parser hit its memory limit; later content was not read";
    MESSAGE_SIZE_LIMIT, 0.0, Parse, "The message exceeds max_message_bytes; only the start was scanned";
    MESSAGE_UNSCANNED_SIZE, 0.0, Parse, "The milter delivered the message unscanned: it exceeds [milter] max_message_bytes (on_oversize = accept)";
    MIME_PART_LIMIT, 1.0, Parse, "More MIME parts than max_parts; the rest were not scanned";
    HEADER_COUNT_LIMIT, 1.0, Parse, "More header fields than max_headers; only the first and those that say how to read the message were scanned";
    MIME_DEPTH_LIMIT, 1.0, Parse, "MIME nesting deeper than max_depth";
    URL_LIMIT, 0.5, Parse, "More URLs than max_urls; the rest were not checked";
}

/// The definition of a built-in symbol by name; `None` for unknown names and run-time (`YARA_*`)
/// symbols.
pub fn lookup(name: &str) -> Option<&'static SymbolDef> {
    SYMBOLS.iter().find(|s| s.name == name)
}

/// Symbols named at run time (one per YARA rule) start with this.
pub(crate) const RULE_PREFIX: &str = "YARA_";

/// A name for a run-time symbol that lives as long as the process, like
/// the built-in ones. Interned, so reloading the same rules costs nothing.
pub fn intern(name: &str) -> &'static str {
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<std::collections::HashSet<&'static str>>> = OnceLock::new();
    let mut set = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(n) = set.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// One fired symbol with its evidence. Weight is resolved by policy.
#[derive(Debug, Clone, Serialize)]
pub struct Symbol {
    /// The symbol's name.
    pub name: &'static str,
    /// Its contribution to the score: the `[weights]` override, the learned weight or the default.
    pub score: f64,
    /// Up to 8 distinct evidence lines, in the order found, for people.
    pub evidence: Vec<String>,
}

/// Signals collect hits here; the same symbol firing twice merges evidence.
#[derive(Debug, Default)]
pub struct Hits {
    hits: Vec<(&'static str, Vec<String>)>,
}

impl Hits {
    /// Record a hit. Evidence for a symbol already hit is added unless a duplicate or past 8 lines.
    /// `name` must be a defined symbol or `YARA_*` (a debug build asserts it).
    pub fn add(&mut self, name: &'static str, evidence: impl Into<String>) {
        debug_assert!(
            lookup(name).is_some() || name.starts_with(RULE_PREFIX),
            "undefined symbol {name}"
        );
        let ev = evidence.into();
        if let Some((_, e)) = self.hits.iter_mut().find(|(n, _)| *n == name) {
            if e.len() < 8 && !e.contains(&ev) {
                e.push(ev);
            }
        } else {
            self.hits.push((name, vec![ev]));
        }
    }

    /// Has this symbol fired?
    pub fn has(&self, name: &str) -> bool {
        self.hits.iter().any(|(n, _)| *n == name)
    }

    /// Drop a hit and its evidence (a later signal overruling an earlier one).
    pub fn remove(&mut self, name: &str) {
        self.hits.retain(|(n, _)| *n != name);
    }

    /// The hits in the order first added, each with its evidence.
    pub fn into_inner(self) -> Vec<(&'static str, Vec<String>)> {
        self.hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_upper_snake() {
        let mut seen = std::collections::HashSet::new();
        for s in SYMBOLS {
            assert!(seen.insert(s.name), "duplicate {}", s.name);
            assert!(
                s.name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            );
        }
    }
}
