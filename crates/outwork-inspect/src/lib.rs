//! outwork-inspect: what is really inside an attachment. Knows nothing
//! about scoring: it returns findings; outwork-core's signals judge them.
//!
//! Every extractor is bounded by [`Limits`]; hitting one is a finding
//! (`Finding::Limit`), never an error or an unbounded allocation.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![warn(unnameable_types)]

// The modules are private; what follows and the items defined here are the
// API.
mod archive;
mod content;
mod guard;
mod pdfimg;
mod qr;
mod yara;

pub use archive::is_archive;
pub use content::inspect_content;
pub use guard::FAILED as INSPECTOR_FAILED;
pub use qr::decode as decode_qr;
pub use yara::{
    AVAILABLE as YARA_AVAILABLE, RuleInfo, YaraError, YaraMatch, YaraRules,
    symbol_name as yara_symbol_name,
};

/// Bounds for one attachment's inspection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Archive nesting depth (an archive inside an archive is depth 2).
    pub max_depth: usize,
    /// Total bytes extracted from all archives of one attachment.
    pub max_total_bytes: u64,
    /// Entries examined across all archives of one attachment.
    pub max_entries: usize,
    /// Largest expanded/compressed ratio accepted for one entry.
    pub max_ratio: u64,
    /// Decode QR codes in images (the most expensive step on image-heavy mail).
    pub decode_qr: bool,
    /// Images decoded for QR codes per message (identical images count once).
    pub max_images: usize,
    /// Largest image decoded, in pixels (width × height, read from the
    /// header before any pixel is decoded).
    pub max_image_pixels: u64,
    /// Pixels decoded for QR codes per message, all images together.
    pub max_decoded_pixels: u64,
    /// When inspection of the message must stop, whatever is left.
    pub deadline: Option<std::time::Instant>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 4,
            max_total_bytes: 64 << 20,
            max_entries: 2_000,
            max_ratio: 200,
            decode_qr: true,
            max_images: 32,
            max_image_pixels: 8 << 20,
            max_decoded_pixels: 16 << 20,
            deadline: None,
        }
    }
}

/// What inspection found. Every variant's `path` says where:
/// `"outer.zip!inner/doc.docm"` style.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A file inside an archive (every member, for hashes and names).
    Member {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// Its size, extracted.
        size: u64,
        /// Its SHA-256 (looked up in the intel store).
        sha256: [u8; 32],
    },
    /// An archive inside an archive.
    NestedArchive {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// Nesting depth (an archive in the attachment is 2).
        depth: usize,
    },
    /// An encrypted archive.
    EncryptedArchive {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// The password from the message text that opened it, if any did.
        password: Option<String>,
    },
    /// A listing-only archive type (rar, 7z, ISO/IMG): members named, not read.
    Listed {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// `rar`, `7z`, `iso`.
        format: String,
        /// Member names, as listed.
        members: Vec<String>,
    },
    /// A limit stopped inspection (zip bomb, too deep, too many entries).
    Limit {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// Which limit, and what was not inspected.
        what: String,
    },
    /// The message's budget (images decoded, pixels, time) stopped a costly
    /// step.
    Budget {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// What was not looked at.
        what: String,
    },
    /// The file claims a format but could not be read as it, or a parser
    /// failed on it ([`Finding::is_failure`]).
    Malformed {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// What could not be read.
        what: String,
    },
    /// VBA macros (OOXML vbaProject.bin or OLE VBA streams).
    Macro {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// The auto-run procedure names seen (`AutoOpen`, `Document_Open`, `Workbook_Open`, …).
        autorun: Vec<String>,
    },
    /// An Office document that loads a remote template or object.
    RemoteTemplate {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// The remote target.
        url: String,
    },
    /// PDF active content.
    PdfAction {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// URI, Launch, JavaScript, EmbeddedFile, AcroForm or OpenAction.
        action: String,
        /// The action's target or a snippet of its script.
        detail: String,
    },
    /// HTML/SVG smuggling or script indicators (atob, Blob, msSaveOrOpenBlob…).
    Smuggling {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// What was seen.
        indicator: String,
    },
    /// A link found in a file (PDF /URI, .url, .lnk target, .ics URL, QR code…).
    Link {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// The link.
        url: String,
        /// Where in the file it was found ("QR code", "PDF /URI"…).
        found_in: String,
    },
    /// A configured YARA rule matched this file.
    Yara {
        /// Where: `"outer.zip!inner/doc.docm"` style.
        path: String,
        /// The rule that matched.
        m: yara::YaraMatch,
    },
}

impl Finding {
    /// A guarded parser panicked on this file (caught by the `guard` module): a bug to fix,
    /// which tests assert never happens on their inputs.
    pub fn is_failure(&self) -> bool {
        matches!(self, Finding::Malformed { what, .. } if what.starts_with(guard::FAILED))
    }
}

/// Remaining budget shared by everything extracted from one attachment,
/// and (`msg`) by every attachment of the message.
#[derive(Debug)]
pub struct Budget<'m> {
    /// Bytes that may still be extracted from this attachment.
    pub bytes_left: u64,
    /// Archive entries that may still be examined.
    pub entries_left: usize,
    /// The message's budget, shared by all its attachments.
    pub msg: &'m mut MessageBudget,
}

/// What one message may spend on the costly steps, whatever the number of
/// attachments, archive members and PDF images: image decoding (a few
/// kilobytes of PNG can ask for a 4096×4096 decode, repeated 600 times in
/// a zip) and wall-clock time. Each refusal is reported once as a
/// [`Finding::Budget`].
#[derive(Debug)]
pub struct MessageBudget {
    images_left: usize,
    pixels_left: u64,
    max_image_pixels: u64,
    deadline: Option<std::time::Instant>,
    /// Hashes of the images already decoded: a copy is not decoded again.
    seen: std::collections::HashSet<[u8; 32]>,
    /// Which refusals were already reported (one finding each).
    noted: u8,
}

const NOTED_IMAGES: u8 = 1;
const NOTED_PIXELS: u8 = 2;
const NOTED_TIME: u8 = 4;
const NOTED_SIZE: u8 = 8;

impl MessageBudget {
    /// A fresh budget from `limits` (one per message).
    pub fn new(limits: &Limits) -> MessageBudget {
        MessageBudget {
            images_left: limits.max_images,
            pixels_left: limits.max_decoded_pixels,
            max_image_pixels: limits.max_image_pixels,
            deadline: limits.deadline,
            seen: Default::default(),
            noted: 0,
        }
    }

    fn note(&mut self, flag: u8, path: &str, what: String, out: &mut Vec<Finding>) {
        if self.noted & flag == 0 {
            self.noted |= flag;
            out.push(Finding::Budget {
                path: path.to_string(),
                what,
            });
        }
    }

    /// False (reported once) when the message's time is up.
    pub fn time_left(&mut self, path: &str, out: &mut Vec<Finding>) -> bool {
        match self.deadline {
            Some(d) if std::time::Instant::now() >= d => {
                self.note(
                    NOTED_TIME,
                    path,
                    "inspection time budget used up: the rest of the message's files were not inspected"
                        .into(),
                    out,
                );
                false
            }
            _ => true,
        }
    }

    /// May an image of `width`×`height` be decoded? Charges the budget when
    /// it may; an image over a cap is reported (a QR code could hide there).
    pub fn allow_image(
        &mut self,
        path: &str,
        width: u64,
        height: u64,
        out: &mut Vec<Finding>,
    ) -> bool {
        let pixels = width.saturating_mul(height);
        if pixels > self.max_image_pixels {
            let what = format!(
                "image {width}×{height} is over max_image_pixels ({}): not decoded for QR codes",
                self.max_image_pixels
            );
            self.note(NOTED_SIZE, path, what, out);
            return false;
        }
        if !self.time_left(path, out) {
            return false;
        }
        if self.images_left == 0 {
            self.note(
                NOTED_IMAGES,
                path,
                "max_images images decoded: later images not decoded for QR codes".into(),
                out,
            );
            return false;
        }
        if pixels > self.pixels_left {
            self.note(
                NOTED_PIXELS,
                path,
                "max_decoded_pixels decoded: later images not decoded for QR codes".into(),
                out,
            );
            return false;
        }
        self.images_left -= 1;
        self.pixels_left -= pixels;
        true
    }

    /// Report an image too large to decode (once per message: the symbol
    /// says that some image went unread, the evidence names the first).
    pub fn too_large(&mut self, path: &str, what: String, out: &mut Vec<Finding>) {
        self.note(NOTED_SIZE, path, what, out);
    }

    /// True the first time these exact image bytes are seen.
    pub fn first_sight(&mut self, data: &[u8]) -> bool {
        use sha2::Digest;
        self.seen.insert(sha2::Sha256::digest(data).into())
    }
}

/// Inspect one attachment. `passwords` are candidate passwords seen in the
/// message text (attackers put them there).
pub fn inspect(name: &str, data: &[u8], passwords: &[String], limits: &Limits) -> Vec<Finding> {
    inspect_with(name, data, passwords, limits, None)
}

/// [`inspect_with`] for one attachment of a message whose attachments
/// share `msg` (images, pixels, time).
pub fn inspect_attachment(
    name: &str,
    data: &[u8],
    passwords: &[String],
    limits: &Limits,
    yara: Option<&YaraRules>,
    msg: &mut MessageBudget,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut budget = Budget {
        bytes_left: limits.max_total_bytes,
        entries_left: limits.max_entries,
        msg,
    };
    let env = Env {
        passwords,
        limits,
        yara,
    };
    inspect_member(name, data, &env, 1, &mut budget, &mut out);
    out
}

/// [`inspect`], also running `yara` rules on the attachment and on every
/// file extracted from it.
pub fn inspect_with(
    name: &str,
    data: &[u8],
    passwords: &[String],
    limits: &Limits,
    yara: Option<&YaraRules>,
) -> Vec<Finding> {
    let mut msg = MessageBudget::new(limits);
    inspect_attachment(name, data, passwords, limits, yara, &mut msg)
}

/// What stays the same for everything extracted from one attachment.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    /// Candidate archive passwords from the message text.
    pub passwords: &'a [String],
    /// The attachment's bounds.
    pub limits: &'a Limits,
    /// YARA rules to run on every file, when configured.
    pub yara: Option<&'a YaraRules>,
}

/// Dispatch one file (top-level or extracted): archives recurse, everything
/// else goes to the content inspectors.
pub fn inspect_member(
    path: &str,
    data: &[u8],
    env: &Env,
    depth: usize,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let limits = env.limits;
    if !budget.msg.time_left(path, out) {
        return;
    }
    if let Some(rules) = env.yara {
        match rules.scan(data) {
            Ok(ms) => out.extend(ms.into_iter().map(|m| Finding::Yara {
                path: path.to_string(),
                m,
            })),
            Err(e) => out.push(Finding::Limit {
                path: path.to_string(),
                what: format!("YARA: {e}"),
            }),
        }
    }
    if archive::is_archive(data) {
        if depth > limits.max_depth {
            out.push(Finding::Limit {
                path: path.to_string(),
                what: format!("archive nesting deeper than {}", limits.max_depth),
            });
            return;
        }
        archive::inspect_archive(path, data, env, depth, budget, out);
    } else if qr::is_image(data) {
        if limits.decode_qr {
            qr::qr_links(path, data, budget.msg, out);
        }
    } else {
        content::inspect_content(path, data, out);
        if limits.decode_qr && content::is_pdf(data) {
            pdfimg::pdf_qr_links(path, data, budget.msg, out);
        }
    }
}
