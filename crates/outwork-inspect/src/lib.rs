//! outwork-inspect: what is really inside an attachment. Knows nothing
//! about scoring: it returns findings; outwork-core's signals judge them.
//!
//! Every extractor is bounded by [`Limits`]; hitting one is a finding
//! (`Finding::Limit`), never an error or an unbounded allocation.

#![forbid(unsafe_code)]

pub mod archive;
pub mod content;
pub mod pdfimg;
pub mod qr;
pub mod yara;

pub use yara::YaraRules;

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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 4,
            max_total_bytes: 64 << 20,
            max_entries: 2_000,
            max_ratio: 200,
            decode_qr: true,
        }
    }
}

/// What inspection found. Paths are "outer.zip!inner/doc.docm" style.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A file inside an archive (every member, for hashes and names).
    Member {
        path: String,
        size: u64,
        sha256: [u8; 32],
    },
    /// An archive inside an archive.
    NestedArchive { path: String, depth: usize },
    /// An encrypted archive; `password` is the one from the message text
    /// that opened it, if any did.
    EncryptedArchive {
        path: String,
        password: Option<String>,
    },
    /// A listing-only archive type (rar, 7z, ISO/IMG): members named, not read.
    Listed {
        path: String,
        format: String,
        members: Vec<String>,
    },
    /// A limit stopped inspection (zip bomb, too deep, too many entries).
    Limit { path: String, what: String },
    /// The file claims a format but could not be read as it.
    Malformed { path: String, what: String },
    /// VBA macros (OOXML vbaProject.bin or OLE VBA streams), with the
    /// auto-run procedure names seen.
    Macro { path: String, autorun: Vec<String> },
    /// An Office document that loads a remote template or object.
    RemoteTemplate { path: String, url: String },
    /// PDF active content: URI, Launch, JavaScript, EmbeddedFile, AcroForm, OpenAction.
    PdfAction {
        path: String,
        action: String,
        detail: String,
    },
    /// HTML/SVG smuggling or script indicators (atob, Blob, msSaveOrOpenBlob…).
    Smuggling { path: String, indicator: String },
    /// A link found in a file (PDF /URI, .url, .lnk target, .ics URL…).
    Link {
        path: String,
        url: String,
        found_in: String,
    },
    /// A configured YARA rule matched this file.
    Yara { path: String, m: yara::YaraMatch },
}

/// Remaining budget shared by everything extracted from one attachment.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub bytes_left: u64,
    pub entries_left: usize,
}

/// Inspect one attachment. `passwords` are candidate passwords seen in the
/// message text (attackers put them there).
pub fn inspect(name: &str, data: &[u8], passwords: &[String], limits: &Limits) -> Vec<Finding> {
    inspect_with(name, data, passwords, limits, None)
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
    let mut out = Vec::new();
    let mut budget = Budget {
        bytes_left: limits.max_total_bytes,
        entries_left: limits.max_entries,
    };
    let env = Env {
        passwords,
        limits,
        yara,
    };
    inspect_member(name, data, &env, 1, &mut budget, &mut out);
    out
}

/// What stays the same for everything extracted from one attachment.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub passwords: &'a [String],
    pub limits: &'a Limits,
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
            qr::qr_links(path, data, out);
        }
    } else {
        content::inspect_content(path, data, out);
        if limits.decode_qr && content::is_pdf(data) {
            pdfimg::pdf_qr_links(path, data, out);
        }
    }
}
