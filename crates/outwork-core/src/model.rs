//! The learned verdict: a logistic regression over the symbols that fired,
//! pairs of them, and hashed words of what a reader sees (subject, display
//! name, visible text, link texts, image alt texts, attachment names).
//!
//! Explainable by construction: a verdict's score is a sum of per-feature
//! contributions, reported as symbols (each fired symbol with its learned
//! weight, `LEARNED_WORDS` and `LEARNED_COMBO` with their strongest parts,
//! `LEARNED_BASE` for the constant).
//!
//! The hand-set weights are the prior: training pulls each symbol's weight
//! towards its hand-set value (L2 around the prior, not around zero), so a
//! symbol that training rarely or never saw (a blocklist hit, a YARA rule,
//! a deployment's VIP) keeps the weight a person gave it.
//!
//! Honest data: the words are taken after the recipient's own address,
//! local part and domain are replaced by placeholders (a honeypot's
//! address would otherwise be the strongest "phishing" word), and nothing
//! is read from headers the receiving side wrote.
//!
//! The optimiser is ours (a few dozen lines of AdaGrad SGD): the Rust ML
//! crates (linfa, smartcore) want dense matrices, and these features are
//! sparse in a space of 2^18 hashed dimensions.

use crate::facts::Facts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Model file format version (the `OWML` header's).
pub(crate) const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 4] = b"OWML";

/// Symbols that say how the scan went, not what the sender did: never
/// features (an unavailable store must not move a verdict).
const NOT_FEATURES: &[&str] = &[
    "AUTH_RESULTS_TRUSTED",
    "AUTH_RESULTS_FORGED",
    "INTEL_UNAVAILABLE",
    "HISTORY_UNAVAILABLE",
    "CLAMAV_UNAVAILABLE",
    "SPF_TEMPERROR",
    "DKIM_TEMPERROR",
    "DMARC_TEMPERROR",
    "MESSAGE_SIZE_LIMIT",
    "LEARNED_WORDS",
    "LEARNED_COMBO",
    "LEARNED_BASE",
];

/// Is a fired symbol a feature the model learns a weight for? Not the
/// bookkeeping ones, and not the authentication results: whether a
/// message *has* trusted results says which infrastructure received it
/// (the development phishing passed a receiving tenant that writes them,
/// most development ham did not), so their weights stay hand-set.
pub(crate) fn is_feature(name: &str) -> bool {
    !NOT_FEATURES.contains(&name)
        && crate::symbol::lookup(name).is_none_or(|d| d.family != crate::symbol::Family::Auth)
}

/// Words read from the reader text (the start of the message).
const MAX_BODY_TOKENS: usize = 400;
/// Symbols paired (pairs grow quadratically).
const MAX_PAIRED: usize = 24;

/// Where a word was found: part of its feature (the same word in a subject
/// and in a footer mean different things).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Subject,
    Display,
    Body,
    LinkText,
    Alt,
    Attachment,
}

impl Field {
    fn tag(self) -> &'static str {
        match self {
            Field::Subject => "s",
            Field::Display => "d",
            Field::Body => "b",
            Field::LinkText => "a",
            Field::Alt => "i",
            Field::Attachment => "n",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Field::Subject => "subject",
            Field::Display => "display name",
            Field::Body => "text",
            Field::LinkText => "link text",
            Field::Alt => "image alt",
            Field::Attachment => "attachment name",
        }
    }
}

/// One hashed feature and what a person should read for it.
#[derive(Debug, Clone)]
pub struct Hashed {
    /// The weight slot the feature hashes to (`0..2^bits`).
    pub index: u32,
    /// `subject 'verify your'`, or `URL_IP_HOST + FROM_DISPLAY_BRAND`.
    pub label: String,
    /// A pair of fired symbols rather than a single word or symbol.
    pub pair: bool,
}

/// A message as the model sees it.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// Fired symbols that are features, sorted, unique.
    pub symbols: Vec<&'static str>,
    /// Hashed word and pair features, unique by index.
    pub hashed: Vec<Hashed>,
}

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn index(bits: u32, parts: &[&str]) -> u32 {
    (fnv1a(parts) >> (64 - bits)) as u32
}

/// The recipient as placeholders: addresses, local parts and domains of
/// the message's recipients (envelope and To/Cc).
#[derive(Debug, Default)]
struct Recipient {
    addresses: Vec<String>,
    locals: Vec<String>,
    domains: Vec<String>,
}

impl Recipient {
    fn of(facts: &Facts, rcpt_to: &[String]) -> Recipient {
        let mut r = Recipient::default();
        let mut add = |addr: &str| {
            let a = addr.trim().trim_matches(['<', '>']).to_lowercase();
            if let Some((l, d)) = a.rsplit_once('@') {
                if l.len() >= 3 && !r.locals.iter().any(|x| x == l) {
                    r.locals.push(l.to_string());
                }
                let label = d.split('.').next().unwrap_or("");
                if label.len() >= 3 && !r.domains.iter().any(|x| x == label) {
                    r.domains.push(label.to_string());
                }
                if !r.addresses.contains(&a) {
                    r.addresses.push(a);
                }
            }
        };
        for m in facts.recipients.iter().take(8) {
            add(&m.address);
        }
        for a in rcpt_to.iter().take(8) {
            add(a);
        }
        r
    }
}

/// Lower-cased words of `text`: e-mail addresses become `<rcpt>` (one of
/// the recipients) or `<email>`, the recipient's local part and domain
/// label `<rcpt>`, digits `0`; words of 2–24 characters.
fn words<'a>(
    text: &'a str,
    rcpt: &Recipient,
    max: usize,
    out: &mut Vec<std::borrow::Cow<'a, str>>,
) {
    use std::borrow::Cow;
    let start = out.len();
    for chunk in text.split(|c: char| c.is_whitespace() || "<>()[]{},;:\"'|".contains(c)) {
        if out.len() - start >= max {
            return;
        }
        if chunk.contains('@') && chunk.len() > 2 {
            let a = chunk
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            let a = a.strip_prefix("mailto").unwrap_or(&a).to_string();
            out.push(Cow::Borrowed(if rcpt.addresses.contains(&a) {
                "<rcpt>"
            } else {
                "<email>"
            }));
            continue;
        }
        for w in chunk.split(|c: char| !c.is_alphanumeric()) {
            let n = w.chars().count();
            if !(2..=24).contains(&n) {
                continue;
            }
            // Most words are already lower-case ASCII letters: borrowed,
            // not copied (the model reads every word of every message).
            let lw: Cow<'a, str> = if w.bytes().all(|b| b.is_ascii_lowercase()) {
                Cow::Borrowed(w)
            } else {
                Cow::Owned(
                    w.chars()
                        .flat_map(char::to_lowercase)
                        .map(|c| if c.is_ascii_digit() { '0' } else { c })
                        .collect(),
                )
            };
            if rcpt.locals.iter().any(|l| *l == lw) || rcpt.domains.iter().any(|d| *d == lw) {
                out.push(Cow::Borrowed("<rcpt>"));
            } else {
                out.push(lw);
            }
            if out.len() - start >= max {
                return;
            }
        }
    }
}

/// Concatenate without the formatting machinery: labels are built for
/// every weighted feature of every message.
fn join(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// The model's view of a scanned message: `fired` are the symbol names of
/// the verdict, `rcpt_to` the envelope recipients (may be empty).
pub fn features(facts: &Facts, fired: &[&'static str], rcpt_to: &[String], bits: u32) -> Features {
    features_where(facts, fired, rcpt_to, bits, None)
}

/// [`features`] for scoring: only the hashed features `keep` accepts (those
/// with a weight), each with its label for the explanation. Training
/// (`keep` None) keeps every feature and builds no labels.
pub(crate) fn features_where(
    facts: &Facts,
    fired: &[&'static str],
    rcpt_to: &[String],
    bits: u32,
    keep: Option<&dyn Fn(u32) -> bool>,
) -> Features {
    let mut symbols: Vec<&'static str> = fired.iter().copied().filter(|s| is_feature(s)).collect();
    symbols.sort_unstable();
    symbols.dedup();
    let mut hashed: Vec<Hashed> = Vec::new();
    // Labels are built only for kept features: formatting every word of
    // every message would cost more than scoring it.
    let push =
        |hashed: &mut Vec<Hashed>, parts: &[&str], label: &dyn Fn() -> String, pair: bool| {
            let i = index(bits, parts);
            let label = match keep {
                Some(k) if !k(i) => return,
                Some(_) => label(),
                None => String::new(),
            };
            hashed.push(Hashed {
                index: i,
                label,
                pair,
            });
        };
    for (i, a) in symbols.iter().take(MAX_PAIRED).enumerate() {
        for b in symbols.iter().take(MAX_PAIRED).skip(i + 1) {
            push(&mut hashed, &["p", a, b], &|| join(&[a, " + ", b]), true);
        }
    }
    let rcpt = Recipient::of(facts, rcpt_to);
    let display = facts
        .from
        .as_ref()
        .and_then(|f| f.name.clone())
        .unwrap_or_default();
    let link_texts: String = facts
        .urls
        .iter()
        .filter_map(|u| u.anchor_text.as_deref())
        .take(32)
        .collect::<Vec<_>>()
        .join(" \n ");
    let attachments: String = facts
        .attachments
        .iter()
        .filter_map(|a| a.name.as_deref())
        .take(16)
        .collect::<Vec<_>>()
        .join(" \n ");
    let alts = facts.alt_texts.join(" \n ");
    let fields: [(Field, &str, usize, bool); 6] = [
        (Field::Subject, facts.subject.as_str(), 40, true),
        (Field::Display, display.as_str(), 12, false),
        (
            Field::Body,
            facts.reader_text.as_str(),
            MAX_BODY_TOKENS,
            true,
        ),
        (Field::LinkText, link_texts.as_str(), 80, false),
        (Field::Alt, alts.as_str(), 40, false),
        (Field::Attachment, attachments.as_str(), 24, false),
    ];
    let mut ws = Vec::new();
    for (field, text, max, bigrams) in fields {
        ws.clear();
        words(text, &rcpt, max, &mut ws);
        for w in &ws {
            push(
                &mut hashed,
                &[field.tag(), w],
                &|| join(&[field.label(), " '", w, "'"]),
                false,
            );
        }
        if bigrams {
            for p in ws.windows(2) {
                push(
                    &mut hashed,
                    &[field.tag(), &p[0], &p[1]],
                    &|| join(&[field.label(), " '", &p[0], " ", &p[1], "'"]),
                    false,
                );
            }
        }
    }
    // Unique by index (a word said twice counts once).
    hashed.sort_by_key(|h| h.index);
    hashed.dedup_by_key(|h| h.index);
    Features { symbols, hashed }
}

/// The model built into the binary (`crates/outwork-core/models/
/// default.owml`, trained by the command in the README), parsed once.
pub fn builtin() -> Option<std::sync::Arc<Model>> {
    static BUILTIN: std::sync::OnceLock<Option<std::sync::Arc<Model>>> = std::sync::OnceLock::new();
    BUILTIN
        .get_or_init(|| {
            Model::from_bytes(include_bytes!("../models/default.owml"))
                .ok()
                .map(std::sync::Arc::new)
        })
        .clone()
}

/// What a model file says about itself (`outwork model info`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ModelMeta {
    /// File format version it was written in (currently 1).
    pub format_version: u32,
    /// Hashed feature space: 2^bits weights.
    pub bits: u32,
    /// Score points per logit: p(phish) = σ((score − offset…)/temperature).
    pub temperature: f64,
    /// The corpora (paths and counts) it was trained on.
    pub trained_on: Vec<String>,
    /// Phishing messages it was trained on.
    pub phish: usize,
    /// Legitimate messages it was trained on (benign twins counted in `twins`).
    pub ham: usize,
    /// Benign twins of training phishing added as legitimate mail.
    pub twins: usize,
    /// Random seed of training (training is deterministic for a seed).
    pub seed: u64,
    /// Passes over the training set.
    pub epochs: usize,
    /// L2 strength it was trained with (around the hand-set prior).
    pub l2: f64,
    /// Date it was trained (`YYYY-MM-DD`).
    pub created: String,
    /// Out-of-fold results measured when it was trained.
    pub notes: Vec<String>,
    /// Score points per logit after calibration, and the logistic bias
    /// (logits) the calibration dropped: what fine-tuning needs to go on
    /// from these weights (`outwork learn`). 0: unknown.
    pub points_per_logit: f64,
    /// Logistic bias (in logits) dropped by the calibration; 0: unknown.
    pub logit_bias: f64,
    /// Local learning on top of a base model (`outwork learn`).
    pub local: Option<LocalMeta>,
}

/// What `outwork learn` added to a base model.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LocalMeta {
    /// The model it was tuned from (`built-in` or a path).
    pub base: String,
    /// Phishing messages learned locally.
    pub phish: usize,
    /// Legitimate messages learned locally.
    pub ham: usize,
    /// Date of the last local learning (`YYYY-MM-DD`).
    pub updated: String,
}

/// A trained model: learned symbol weights (score points), hashed weights,
/// and a constant.
#[derive(Debug, Clone)]
pub struct Model {
    /// What the file says about itself.
    pub meta: ModelMeta,
    /// Learned weight of each symbol, in score points; a symbol absent here keeps its hand-set
    /// weight.
    pub symbols: BTreeMap<String, f64>,
    /// Hashed word and pair weights (2^bits), in score points; word and pair weights are never
    /// negative.
    pub hashed: Vec<f32>,
    /// Constant added to every score, in score points (0 for a calibrated
    /// model: `outwork train` scales the weights instead, so an empty
    /// message scores 0 as with hand-set weights).
    pub base: f64,
    /// Which hashed weights are non-zero, one bit each (32 KB for 2^18):
    /// most words of a message have no weight, and this answers that from
    /// cache instead of a miss into the 1 MB weight table. Built on first
    /// use.
    pub nonzero: std::sync::OnceLock<Vec<u64>>,
}

/// Why a model file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The file does not start with `OWML`.
    #[error("not an outwork model file (no OWML header)")]
    NotAModel,
    /// A format version this build does not read.
    #[error("model format version {0} is not supported (this build reads {FORMAT_VERSION})")]
    Version(u32),
    /// Truncated, bad metadata JSON, `bits` outside 8–24, or the wrong number of weights.
    #[error("model file is truncated or corrupt: {0}")]
    Corrupt(String),
}

/// One contribution in a verdict's explanation.
#[derive(Debug, Clone)]
pub struct Contribution<'f> {
    /// Borrowed from the [`Features`]: only the few shown are copied.
    pub label: &'f str,
    /// Its share of the score, in score points.
    pub score: f64,
}

/// A scored message: the sum and its parts.
#[derive(Debug, Clone, Default)]
pub struct Scored<'f> {
    /// Learned weight of each fired symbol (score points).
    pub symbols: Vec<(&'static str, f64)>,
    /// Fired hashed word features that carry a weight, in feature order.
    pub words: Vec<Contribution<'f>>,
    /// Fired symbol-pair features with a weight.
    pub pairs: Vec<Contribution<'f>>,
    /// The model's constant, in score points.
    pub base: f64,
}

impl Scored<'_> {
    /// The score: constant, symbols, words and pairs together.
    pub fn total(&self) -> f64 {
        self.base
            + self.symbols.iter().map(|s| s.1).sum::<f64>()
            + self.words.iter().map(|c| c.score).sum::<f64>()
            + self.pairs.iter().map(|c| c.score).sum::<f64>()
    }
}

impl Model {
    /// Does hashed feature `i` carry a weight?
    pub fn has_weight(&self, i: u32) -> bool {
        let bits = self.nonzero.get_or_init(|| {
            let mut v = vec![0u64; self.hashed.len().div_ceil(64)];
            for (k, w) in self.hashed.iter().enumerate() {
                if *w != 0.0 {
                    v[k / 64] |= 1 << (k % 64);
                }
            }
            v
        });
        bits.get(i as usize / 64)
            .is_some_and(|b| b & (1 << (i % 64)) != 0)
    }

    /// The weight of a symbol: learned, else the hand-set `prior`.
    pub fn symbol_weight(&self, name: &str, prior: f64) -> f64 {
        self.symbols.get(name).copied().unwrap_or(prior)
    }

    /// Score a message's features; `prior` gives a symbol's hand-set weight.
    pub fn score<'f>(&self, f: &'f Features, prior: &dyn Fn(&str) -> f64) -> Scored<'f> {
        let mut s = Scored {
            base: self.base,
            ..Default::default()
        };
        for name in &f.symbols {
            s.symbols
                .push((name, self.symbol_weight(name, prior(name))));
        }
        for h in &f.hashed {
            let w = f64::from(self.hashed.get(h.index as usize).copied().unwrap_or(0.0));
            if w == 0.0 {
                continue;
            }
            let c = Contribution {
                label: &h.label,
                score: w,
            };
            if h.pair {
                s.pairs.push(c);
            } else {
                s.words.push(c);
            }
        }
        s
    }

    /// The model file: `OWML`, version (u32 LE), metadata JSON length (u32
    /// LE) and JSON (meta, symbol weights, base), then 2^bits weights as
    /// i16 LE in units of `scale`.
    pub fn to_bytes(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Head<'a> {
            meta: &'a ModelMeta,
            symbols: &'a BTreeMap<String, f64>,
            base: f64,
            scale: f64,
        }
        let max = self
            .hashed
            .iter()
            .fold(0f32, |m, w| m.max(w.abs()))
            .max(1e-6);
        let scale = f64::from(max) / f64::from(i16::MAX);
        let head = serde_json::to_vec(&Head {
            meta: &self.meta,
            symbols: &self.symbols,
            base: self.base,
            scale,
        })
        .unwrap_or_default();
        let mut out = Vec::with_capacity(12 + head.len() + self.hashed.len() * 2);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(&head);
        for w in &self.hashed {
            let q = (f64::from(*w) / scale).round().clamp(-32767.0, 32767.0) as i16;
            out.extend_from_slice(&q.to_le_bytes());
        }
        out
    }

    /// Read a model file ([`Model::to_bytes`]'s format). Never panics on bad input: a wrong header,
    /// version or size is a [`ModelError`].
    pub fn from_bytes(b: &[u8]) -> Result<Model, ModelError> {
        #[derive(Deserialize)]
        struct Head {
            meta: ModelMeta,
            symbols: BTreeMap<String, f64>,
            base: f64,
            scale: f64,
        }
        if b.len() < 12 || &b[..4] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let version = u32_at(4);
        if version != FORMAT_VERSION {
            return Err(ModelError::Version(version));
        }
        let n = u32_at(8) as usize;
        let head = b
            .get(12..12usize.saturating_add(n))
            .ok_or_else(|| ModelError::Corrupt("header past the end".into()))?;
        let head: Head =
            serde_json::from_slice(head).map_err(|e| ModelError::Corrupt(e.to_string()))?;
        if !(8..=24).contains(&head.meta.bits) || !head.scale.is_finite() {
            return Err(ModelError::Corrupt(format!("bits {}", head.meta.bits)));
        }
        let dim = 1usize << head.meta.bits;
        let body = &b[12 + n..];
        if body.len() != dim * 2 {
            return Err(ModelError::Corrupt(format!(
                "{} weight bytes, expected {}",
                body.len(),
                dim * 2
            )));
        }
        let hashed = body
            .chunks_exact(2)
            .map(|c| (f64::from(i16::from_le_bytes([c[0], c[1]])) * head.scale) as f32)
            .collect();
        Ok(Model {
            meta: head.meta,
            symbols: head.symbols,
            hashed,
            base: head.base,
            nonzero: Default::default(),
        })
    }
}

/// One labelled training example.
#[derive(Debug, Clone)]
pub struct Example {
    /// The message's features.
    pub features: Features,
    /// Labelled phishing (true) or legitimate (false).
    pub phish: bool,
    /// Loss weight (class balance, twins).
    pub weight: f64,
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Hashed feature space: 2^bits weights (default 18).
    pub bits: u32,
    /// Passes over the examples (default 12).
    pub epochs: usize,
    /// L2 strength (per example, per epoch) around the prior.
    pub l2: f64,
    /// L2 strength for hashed words and pairs (around zero).
    pub l2_words: f64,
    /// AdaGrad step size (default 0.2).
    pub learning_rate: f64,
    /// Score points per logit.
    pub temperature: f64,
    /// Shuffling seed (default 1); the same seed and examples give the same model.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            bits: 18,
            epochs: 12,
            l2: 1e-4,
            l2_words: 1e-4,
            learning_rate: 0.2,
            temperature: 0.5,
            seed: 1,
        }
    }
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Logistic regression by AdaGrad SGD, deterministic for a seed: symbol
/// weights regularised towards `prior`, hashed weights towards zero. The
/// returned model's `base` is the bias only (`outwork train` calibrates it afterwards).
pub fn train(examples: &[Example], prior: &dyn Fn(&str) -> f64, o: &TrainOptions) -> Model {
    // Without a base model there is nothing to refuse.
    fit_from(examples, prior, o, None).unwrap_or_else(|| Model {
        meta: ModelMeta::default(),
        symbols: BTreeMap::new(),
        hashed: vec![0.0; 1usize << o.bits],
        base: 0.0,
        nonzero: Default::default(),
    })
}

/// Go on learning from `base` with the deployment's own `examples`: every
/// weight starts at, and is regularised towards, the base model's; the
/// result stays on the base's calibrated scale (its constant absorbs the
/// change of bias). None when the base can't be tuned (no recorded scale,
/// or a different feature space).
pub fn fine_tune(
    base: &Model,
    examples: &[Example],
    prior: &dyn Fn(&str) -> f64,
    o: &TrainOptions,
) -> Option<Model> {
    let t = base.meta.points_per_logit;
    if !(t.is_finite() && t > 0.0) || o.bits != base.meta.bits {
        return None;
    }
    let mut m = fit_from(examples, prior, o, Some(base))?;
    m.meta = base.meta.clone();
    Some(m)
}

fn fit_from(
    examples: &[Example],
    prior: &dyn Fn(&str) -> f64,
    o: &TrainOptions,
    base: Option<&Model>,
) -> Option<Model> {
    // Scale: a base model's calibrated points per logit, else the option's.
    let t = base.map_or(o.temperature, |b| b.meta.points_per_logit);
    let dim = 1usize << o.bits;
    // Parameters in logit units; symbols start at their prior (a base
    // model's weight, else the hand-set one) and are pulled towards it.
    let mut names: Vec<&'static str> = examples
        .iter()
        .flat_map(|e| e.features.symbols.iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    let sym_index: std::collections::HashMap<&str, usize> =
        names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let sym_prior: Vec<f64> = names
        .iter()
        .map(|n| base.map_or_else(|| prior(n), |b| b.symbol_weight(n, prior(n))) / t)
        .collect();
    let mut ws: Vec<f64> = sym_prior.clone();
    let mut gs: Vec<f64> = vec![1e-8; names.len()];
    let centre: Vec<f64> = match base {
        Some(b) if b.hashed.len() == dim => b.hashed.iter().map(|w| f64::from(*w) / t).collect(),
        Some(_) => return None,
        None => vec![0.0; dim],
    };
    let mut wh: Vec<f64> = centre.clone();
    let mut gh: Vec<f64> = vec![1e-8; dim];
    let b0 = base.map_or(0.0, |b| b.meta.logit_bias + b.base / t);
    let (mut b, mut gb) = (b0, 1e-8f64);
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = o.seed;
    let lr = o.learning_rate;
    // Lazy L2: applied to the features present, scaled to the example count.
    let l2 = o.l2;
    let sym_ids: Vec<Vec<usize>> = examples
        .iter()
        .map(|e| {
            e.features
                .symbols
                .iter()
                .filter_map(|s| sym_index.get(s).copied())
                .collect()
        })
        .collect();
    for _ in 0..o.epochs {
        for i in (1..order.len()).rev() {
            let j = (splitmix(&mut rng) % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &k in &order {
            let e = &examples[k];
            let mut z = b;
            for &s in &sym_ids[k] {
                z += ws[s];
            }
            for h in &e.features.hashed {
                z += wh[h.index as usize];
            }
            let p = 1.0 / (1.0 + (-z).exp());
            let y = if e.phish { 1.0 } else { 0.0 };
            let g = (p - y) * e.weight;
            // A fine-tune keeps the base's calibration: a few reported
            // messages must not move every message's score.
            if base.is_none() {
                gb += g * g;
                b -= lr * g / gb.sqrt();
            }
            for &s in &sym_ids[k] {
                let gi = g + l2 * (ws[s] - sym_prior[s]);
                gs[s] += gi * gi;
                ws[s] -= lr * gi / gs[s].sqrt();
            }
            for h in &e.features.hashed {
                let i = h.index as usize;
                let gi = g + o.l2_words * (wh[i] - centre[i]);
                gh[i] += gi * gi;
                // Words and pairs only ever add suspicion: a vocabulary the
                // development ham happens to share (a mailing list's jargon)
                // is not evidence of legitimacy on anyone else's mail, and a
                // negative word weight would make the calibrated constant
                // condemn every message that lacks it.
                wh[i] = (wh[i] - lr * gi / gh[i].sqrt()).max(0.0);
            }
        }
    }
    let mut symbols: BTreeMap<String, f64> = base.map(|b| b.symbols.clone()).unwrap_or_default();
    for (n, w) in names.iter().zip(&ws) {
        symbols.insert((*n).to_string(), w * t);
    }
    Some(Model {
        meta: ModelMeta {
            format_version: FORMAT_VERSION,
            bits: o.bits,
            temperature: t,
            seed: o.seed,
            epochs: o.epochs,
            l2: o.l2,
            points_per_logit: t,
            logit_bias: b,
            ..Default::default()
        },
        symbols,
        hashed: wh.iter().map(|w| (w * t) as f32).collect(),
        // A base model's constant: the change of bias, in its points.
        base: match base {
            Some(bm) => bm.base + (b - b0) * t,
            None => b * t,
        },
        nonzero: Default::default(),
    })
}

/// The score at which a share `fp` of `ham_scores` would be flagged: the
/// (1 − fp) quantile, nudged just above so ties stay below it.
pub fn threshold_at(ham_scores: &[f64], fp: f64) -> f64 {
    if ham_scores.is_empty() {
        return f64::INFINITY;
    }
    let mut s = ham_scores.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    // Allowed false positives: floor(fp × n); the threshold sits above the
    // next one.
    let k = ((fp * s.len() as f64).floor() as usize).min(s.len() - 1);
    s[k] + 1e-6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(raw: &str) -> Facts {
        crate::facts::parse(raw.as_bytes(), &Default::default())
    }

    #[test]
    fn the_recipient_is_a_placeholder_not_a_word() {
        let a = facts(
            "To: phishing@pot\r\nSubject: phishing@pot your mailbox\r\n\r\nDear phishing, pot account phishing@pot is full\r\n",
        );
        let b = facts(
            "To: alice@corp.example\r\nSubject: alice@corp.example your mailbox\r\n\r\nDear alice, corp account alice@corp.example is full\r\n",
        );
        let all = |_: u32| true;
        let fa = features_where(&a, &[], &[], 18, Some(&all));
        let fb = features_where(&b, &[], &[], 18, Some(&all));
        let ia: Vec<u32> = fa.hashed.iter().map(|h| h.index).collect();
        let ib: Vec<u32> = fb.hashed.iter().map(|h| h.index).collect();
        assert_eq!(ia, ib);
        assert!(fa.hashed.iter().any(|h| h.label == "text 'dear <rcpt>'"));
    }

    #[test]
    fn bookkeeping_symbols_are_not_features() {
        let f = features(
            &facts("Subject: x\r\n\r\nx\r\n"),
            &["INTEL_UNAVAILABLE", "URL_IP_HOST", "AUTH_RESULTS_TRUSTED"],
            &[],
            18,
        );
        assert_eq!(f.symbols, vec!["URL_IP_HOST"]);
    }

    #[test]
    fn training_separates_and_round_trips() {
        let ex = |text: &str, phish: bool| Example {
            features: features(
                &facts(&format!("Subject: {text}\r\n\r\n{text}\r\n")),
                &[],
                &[],
                12,
            ),
            phish,
            weight: 1.0,
        };
        let mut data = Vec::new();
        for _ in 0..50 {
            data.push(ex("verify your account now", true));
            data.push(ex("minutes of the project meeting", false));
        }
        let o = TrainOptions {
            bits: 12,
            ..Default::default()
        };
        let m = train(&data, &|_| 0.0, &o);
        let prior = |_: &str| 0.0;
        let p = m.score(&data[0].features, &prior).total();
        let h = m.score(&data[1].features, &prior).total();
        assert!(p > 2.0 && h < -1.0 && p - h > 4.0, "{p} {h}");
        let again = Model::from_bytes(&m.to_bytes()).expect("round trip");
        let p2 = again.score(&data[0].features, &prior).total();
        assert!((p - p2).abs() < 0.05, "{p} {p2}");
        // Deterministic for a seed.
        let m2 = train(&data, &|_| 0.0, &o);
        assert_eq!(m.to_bytes(), m2.to_bytes());
    }

    #[test]
    fn an_unseen_symbol_keeps_its_prior() {
        let m = Model {
            meta: ModelMeta {
                bits: 8,
                ..Default::default()
            },
            symbols: BTreeMap::new(),
            hashed: vec![0.0; 256],
            base: 0.0,
            nonzero: Default::default(),
        };
        assert_eq!(m.symbol_weight("URL_BLOCKLISTED", 10.0), 10.0);
    }

    #[test]
    fn corrupt_files_are_errors() {
        assert!(matches!(
            Model::from_bytes(b"nope"),
            Err(ModelError::NotAModel)
        ));
        let mut b = b"OWML".to_vec();
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        assert!(matches!(Model::from_bytes(&b), Err(ModelError::Version(2))));
    }
}
