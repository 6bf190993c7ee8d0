//! The operators: names, descriptions, the sets the CLI runs.

/// One attacker transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// No change: the message parsed and rebuilt; the baseline every operator
    /// is compared with.
    Identity,
    /// Paraphrases the visible text with a [`crate::Rewriter`] (builtin synonyms,
    /// a command or a chat model), keeping every link.
    Rewrite,
    /// Swaps Latin letters of each link's domain for Cyrillic look-alikes (IDN
    /// homograph, punycode in the href).
    Homoglyph,
    /// Points each link at a one-typo look-alike of its domain.
    Typosquat,
    /// Hides each link behind a URL shortener.
    Shortener,
    /// Wraps each link in an open redirect on a trusted site.
    Redirect,
    /// Replaces the links with an inline QR code image of the first link
    /// (quishing).
    Qr,
    /// Breaks up the HTML text with zero-width characters, numeric entities,
    /// empty spans and hidden filler.
    HtmlObfuscate,
    /// Moves the call to action into an attached HTML file that assembles a
    /// login page in the browser (HTML smuggling).
    Smuggle,
    /// Moves the call to action into an HTML page inside a .zip attachment.
    Zip,
    /// Moves the call to action into a ZipCrypto-encrypted .zip whose password
    /// is in the body.
    PasswordZip,
    /// Sets the From display name to an impersonated brand, possibly with a
    /// spoofed address in it.
    DisplayName,
    /// Sends From (and Reply-To) a look-alike domain of the brand.
    LookalikeSender,
    /// Moves each link's target to a page on a platform with a good name
    /// (form/document service, static or serverless host, cloud-storage share,
    /// IPFS gateway, code-hosting page).
    ReputableHost,
    /// Moves each link to an innocuous newly made two-word domain (no brand,
    /// no digits, no abused TLD), path kept.
    FreshDomain,
    /// Sends through a bulk-mail provider for an attacker-owned domain, with a
    /// trusted SPF/DKIM/DMARC pass for it and the original auth headers gone.
    EspSend,
    /// Turns the message into a reply quoting an earlier conversation from the
    /// recipient's organisation (conversation hijacking).
    ThreadHijack,
    /// Renders the lure text into an inline PNG linking to the call to action;
    /// the body keeps no text.
    ImageLure,
    /// Removes the brand names and logos: a generic lure.
    Debrand,
    /// Drops the HTML body and its inline images: one text/plain body, links
    /// bare.
    PlainText,
    /// Not an attack: the benign twin (see [`Op::BENIGN`], [`crate::benign_twin`]).
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
        Op::ReputableHost,
        Op::FreshDomain,
        Op::EspSend,
        Op::ThreadHijack,
        Op::ImageLure,
        Op::Debrand,
        Op::PlainText,
    ];

    /// The operators that remove traces instead of adding them: what
    /// campaigns that evade do (look clean). The default pool of
    /// `redteam --search`.
    pub const TRACE_REMOVING: &'static [Op] = &[
        Op::ReputableHost,
        Op::FreshDomain,
        Op::EspSend,
        Op::ThreadHijack,
        Op::ImageLure,
        Op::Debrand,
        Op::PlainText,
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
            Op::ReputableHost => "reputable-host",
            Op::FreshDomain => "fresh-domain",
            Op::EspSend => "esp-send",
            Op::ThreadHijack => "thread-hijack",
            Op::ImageLure => "image-lure",
            Op::Debrand => "debrand",
            Op::PlainText => "plain-text",
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
            Op::ReputableHost => {
                "moves each link's target to a page on a platform with a good name: a form or document service, a static-site or serverless host, a cloud-storage share link, an IPFS gateway or a code-hosting page (models campaigns that host the credential page on Google Forms, Firebase, pages.dev, S3/Blob storage, IPFS, GitHub Pages)"
            }
            Op::FreshDomain => {
                "moves each link to a plausible, innocuous, newly made domain: two plain words under .com/.net/.org/.co, no brand, no digits, no abused TLD, path kept (models campaigns that register a clean-looking domain per wave)"
            }
            Op::EspSend => {
                "sends through a bulk-mail provider for a domain the attacker owns: From on that domain, the provider's Received and bounce address, List-Unsubscribe, the original authentication headers gone and a trusted SPF/DKIM/DMARC pass for the domain on top (models phishing sent via SendGrid, Mailchimp, Amazon SES accounts)"
            }
            Op::ThreadHijack => {
                "turns the message into a reply (Re:, In-Reply-To, References) quoting an earlier conversation from the recipient's organisation, the lure as the newest message (models conversation hijacking from a compromised mailbox)"
            }
            Op::ImageLure => {
                "renders the lure text into an inline PNG that links to the call to action; the body keeps no text (models image-only lures that starve text classifiers)"
            }
            Op::Debrand => {
                "removes the brand names (the catalogue's matcher) from subject, display name and text, and the logos (inline images, images named after the brand): a generic lure"
            }
            Op::PlainText => {
                "drops the HTML body and its inline images: one text/plain body with the visible text, links bare (models the plain-text lures that carry no HTML tricks at all)"
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
