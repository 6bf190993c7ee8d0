//! Attacker transformations of real phishing messages, for the red-team
//! evasion measurement (`outwork redteam CORPUS --ops ...`).
//!
//! A message is parsed (mail-parser) into a small model: its top-level
//! header lines kept byte for byte (less the MIME ones, which describe a
//! body that is rebuilt), the sender, the text and HTML bodies, inline parts
//! and attachments. Each operator changes the model the way an attacker
//! would, and the result is built once (mail-builder) into a valid MIME
//! message. Building is deterministic: the original Date and Message-ID
//! lines are kept as they were, MIME boundaries and every random choice come
//! from the caller's seed, so the same seed gives the same bytes.
//! [`Op::Identity`] is the parse-and-rebuild baseline that every operator is
//! compared with, so rebuilding itself never counts as evasion.
//!
//! Where things are: `ops` (the operator list and what each models),
//! `model` (parse and build), `html` and `links` (scanning and rewriting),
//! `rng`; operators that add a trace in `links` (homoglyph, typosquat,
//! shortener, redirect), `payload` (qr, smuggle, zip), `text` (rewrite,
//! html-obfuscate), `sender` (display-name, lookalike-sender); operators
//! that remove one in `hosting` (reputable-host, fresh-domain), `esp`,
//! `thread`, `image_lure`, `debrand`, `plain`; the benign twin in `twin`.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{Cursor, Read, Write};
use std::ops::Range;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use mail_builder::MessageBuilder;
use mail_builder::headers::Header as _;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::{BodyPart, MimePart};
use mail_parser::{Encoding, HeaderName, MessageParser, MimeHeaders, PartType};

/// At most this many distinct links are rewritten per operator.
const MAX_LINKS: usize = 50;
/// At most this much visible text goes to a rewriter.
const MAX_REWRITE_BYTES: usize = 20 * 1024;
/// A rewriter's answer larger than this is refused.
const MAX_REWRITER_OUTPUT: usize = 4 << 20;
/// The side of the QR code image, at least (pixels).
const QR_MIN_SIZE: u32 = 290;

mod debrand;
mod esp;
mod hosting;
mod html;
mod image_lure;
mod links;
mod model;
mod ops;
mod payload;
mod plain;
mod rewriters;
mod rng;
mod sender;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_trace;
mod text;
mod thread;
mod twin;

pub use ops::Op;
pub use rewriters::{BuiltinRewriter, ChatRewriter, CommandRewriter, RewriteError, Rewriter};
pub use twin::{TWIN_AUTHSERV_ID, benign_twin};

use debrand::*;
use esp::*;
use hosting::*;
use html::*;
use image_lure::*;
use links::*;
use model::*;
use payload::*;
use plain::*;
use rewriters::*;
use rng::*;
use sender::*;
use text::*;
use thread::*;
use twin::*;

// ---- context, result, errors -------------------------------------------------

/// What the operators need besides the message.
pub struct MutateCtx<'a> {
    /// Paraphrases the text for [`Op::Rewrite`] (unused by the others).
    pub rewriter: &'a dyn Rewriter,
    /// Per-message seed (e.g. a hash of the file path): runs are reproducible.
    pub seed: u64,
    /// URL shortener host, `bit.ly` by default.
    pub shortener: String,
    /// Open-redirect prefix the percent-encoded target is appended to.
    pub redirector: String,
    /// Brand to impersonate (display-name, lookalike-sender); `None` derives
    /// it from the message (its first link's registrable domain).
    pub brand: Option<String>,
}

impl<'a> MutateCtx<'a> {
    /// The defaults: shortener `bit.ly`, Google's open redirect
    /// (`https://www.google.com/url?q=`), brand derived from the message.
    pub fn new(rewriter: &'a dyn Rewriter, seed: u64) -> MutateCtx<'a> {
        MutateCtx {
            rewriter,
            seed,
            shortener: "bit.ly".into(),
            redirector: "https://www.google.com/url?q=".into(),
            brand: None,
        }
    }
}

/// A transformed message and what each operator did.
#[derive(Debug, Clone)]
pub struct Mutated {
    /// The rebuilt message (RFC 5322 / MIME bytes).
    pub bytes: Vec<u8>,
    /// One line per change, prefixed by the operator's name, in the order
    /// made (`redteam --out` writes them to `NAME.notes.txt`).
    pub notes: Vec<String>,
}

/// Why [`mutate()`] or [`benign_twin`] gave no message.
#[derive(Debug, thiserror::Error)]
pub enum MutateError {
    /// The input is not an email message (no parse, or no known header).
    #[error("not a parseable message")]
    Unparseable,
    /// The rewriter (named by [`Rewriter::name`]) failed for [`Op::Rewrite`].
    #[error("rewriter {0}: {1}")]
    Rewriter(String, #[source] RewriteError),
    /// An operator's payload (QR PNG, zip) or the message could not be
    /// written: what failed.
    #[error("{0}")]
    Build(String),
    /// The operator has nothing to work on (the benign twin of a message
    /// that impersonates no identifiable brand): skip the message.
    #[error("does not apply: {0}")]
    NotApplicable(String),
}

/// Apply `ops` in order to the message `raw` and build the result.
pub fn mutate(raw: &[u8], ops: &[Op], ctx: &MutateCtx) -> Result<Mutated, MutateError> {
    let mut model = Model::parse(raw)?;
    let mut notes = Vec::new();
    for (i, &op) in ops.iter().enumerate() {
        let seed = mix(ctx.seed ^ fnv(op.name().as_bytes()) ^ (i as u64).wrapping_mul(GOLDEN));
        apply(op, &mut model, ctx, seed, &mut notes)?;
    }
    let bytes = model.build(ctx.seed)?;
    Ok(Mutated { bytes, notes })
}

fn apply(
    op: Op,
    m: &mut Model,
    ctx: &MutateCtx,
    seed: u64,
    notes: &mut Vec<String>,
) -> Result<(), MutateError> {
    let mut rng = Rng::new(seed);
    match op {
        Op::Identity => notes.push("identity: rebuilt without changes".into()),
        Op::Rewrite => op_rewrite(m, ctx, notes)?,
        Op::Homoglyph => op_domain(m, &mut rng, notes, true),
        Op::Typosquat => op_domain(m, &mut rng, notes, false),
        Op::Shortener => op_shortener(m, ctx, seed, notes),
        Op::Redirect => op_redirect(m, ctx, notes),
        Op::Qr => op_qr(m, &mut rng, notes)?,
        Op::HtmlObfuscate => op_html_obfuscate(m, &mut rng, notes),
        Op::Smuggle => op_smuggle(m, &mut rng, notes),
        Op::Zip => op_zip(m, &mut rng, notes, false)?,
        Op::PasswordZip => op_zip(m, &mut rng, notes, true)?,
        Op::DisplayName => op_display_name(m, ctx, &mut rng, notes),
        Op::LookalikeSender => op_lookalike_sender(m, ctx, &mut rng, notes),
        Op::ReputableHost => op_reputable_host(m, &mut rng, notes),
        Op::FreshDomain => op_fresh_domain(m, ctx, notes),
        Op::EspSend => op_esp_send(m, ctx, &mut rng, notes),
        Op::ThreadHijack => op_thread_hijack(m, &mut rng, notes),
        Op::ImageLure => op_image_lure(m, &mut rng, notes)?,
        Op::Debrand => op_debrand(m, notes),
        Op::PlainText => op_plain_text(m, notes),
        Op::BenignTwin => op_benign_twin(m, ctx, notes)?,
    }
    Ok(())
}
