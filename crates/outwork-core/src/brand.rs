//! The brand catalogue and the brands a message claims to be.
//!
//! Text is folded the way a reader sees it: invisible and tag characters
//! dropped, compatibility forms (𝐏𝐚𝐲𝐏𝐚𝐥, Ｐａｙ) and confusables (Cyrillic а,
//! Greek ο) mapped by UTS #39 skeletons, diacritics stripped, leetspeak
//! read as letters, separators ignored. Every keyword of every brand is one
//! pattern of a single automaton over that folded text, so the cost does
//! not grow with the catalogue.

use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The bundled catalogue, built by `scripts/brands/build.py`.
const BUNDLED_TSV: &str = include_str!("../data/brands.tsv");

/// A brand of the catalogue.
#[derive(Debug, Clone)]
pub struct Brand {
    /// The brand's name as people write it ("Deutsche Post", "PayPal"), for evidence.
    pub name: String,
    /// The ways it is written, lower-case. Common words (Target, Orange,
    /// Apple) are in `generic`: they claim the brand only as a whole
    /// display name ("Apple Support"), never in running text.
    pub keywords: Vec<String>,
    /// Common-word names (`~` in the TSV), lower-case: a claim only as a whole display name.
    pub generic: Vec<String>,
    /// Registrable domains the brand owns (and its subdomains).
    pub domains: Vec<String>,
    /// ISO 3166 codes, or "global".
    pub country: String,
    /// Sector (bank, payment, crypto, government, telecom, retail, saas, …; `deployment` for config
    /// brands), for `outwork brands stats`.
    pub sector: String,
    /// Its domains are targets for the lookalike checks (the most
    /// impersonated brands and the deployment's own; not every catalogue
    /// entry, whose short labels would collide with ordinary names).
    pub lookalike_target: bool,
}

/// Parse a catalogue in the bundled TSV format. Bad rows are skipped: the
/// bundled file is checked by a test, and config brands come another way.
pub fn parse_tsv(text: &str) -> Vec<Brand> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with("name\t") || line.trim().is_empty() {
            continue;
        }
        let c: Vec<&str> = line.split('\t').collect();
        if c.len() < 5 {
            continue;
        }
        let list = |s: &str| -> Vec<String> {
            s.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let (mut keywords, mut generic) = (Vec::new(), Vec::new());
        for k in list(c[1]) {
            match k.strip_prefix('~') {
                Some(g) => generic.push(g.to_lowercase()),
                None => keywords.push(k.to_lowercase()),
            }
        }
        out.push(Brand {
            name: c[0].to_string(),
            keywords,
            generic,
            domains: list(c[2])
                .into_iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            country: c[3].to_string(),
            sector: c[4].to_string(),
            lookalike_target: c.get(6).is_some_and(|f| f.contains('t')),
        });
    }
    out
}

/// The bundled catalogue, parsed once.
pub fn bundled() -> &'static [Brand] {
    static CAT: std::sync::OnceLock<Vec<Brand>> = std::sync::OnceLock::new();
    CAT.get_or_init(|| parse_tsv(BUNDLED_TSV))
}

/// Characters a reader never sees: the zero-width and bidi characters the
/// URL checks know ([`crate::domain::is_invisible_char`]), and what else
/// hides inside a name — combining grapheme joiner, Arabic letter mark,
/// Hangul and Khmer fillers, Mongolian selectors, the rest of U+2060–206F,
/// variation selectors, musical formatting, tag characters.
pub(crate) fn is_invisible(c: char) -> bool {
    crate::domain::is_invisible_char(c)
        || matches!(c,
            '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
            | '\u{180b}'..='\u{180f}' | '\u{2060}'..='\u{206f}' | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}' | '\u{ffa0}' | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}')
}

/// Leetspeak and symbol stand-ins, read as the letter they imitate.
fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '|' | '!' => 'l',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        _ => return None,
    })
}

/// One word of the original text, as folded.
#[derive(Debug, Clone)]
struct Token {
    /// Range in `Folded::compact`.
    start: usize,
    end: usize,
    /// Byte range in the original text.
    raw: (usize, usize),
    /// Had letters and none of them lower-case (UPS, TK).
    caps: bool,
}

/// Text folded for matching: the words run together, with their bounds.
#[derive(Debug, Default)]
pub struct Folded {
    compact: String,
    tokens: Vec<Token>,
    /// The text folded (bounded), for what was written.
    text: String,
}

fn fold_char(c: char, after_lower: bool, leet_ok: bool, out: &mut String) {
    let leet = |c: char| if leet_ok { leet(c) } else { None };
    // A capital I after a small letter stands in for an l (PayPaI).
    if c == 'I' && after_lower {
        out.push('l');
        return;
    }
    // Most text is ASCII: no normalisation tables to consult.
    if c.is_ascii() {
        if let Some(l) = leet(c) {
            out.push(l);
        } else if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        }
        return;
    }
    // Latin letters with diacritics (é, ç, ã, ø is not one): the base
    // letter, without the tables below.
    let mut base = None;
    let mut marks_only = true;
    unicode_normalization::char::decompose_canonical(c, |d| {
        if base.is_none() {
            base = Some(d);
        } else if !is_combining_mark(d) {
            marks_only = false;
        }
    });
    if let Some(b) = base
        && b != c
        && marks_only
        && b.is_ascii_alphanumeric()
    {
        out.push(b.to_ascii_lowercase());
        return;
    }
    // Case first (so Б and б agree), compatibility forms (mathematical
    // letters, full-width), then confusables of what is left, then
    // diacritics off.
    for k in c.to_lowercase().nfkc().flat_map(char::to_lowercase) {
        if k.is_ascii_alphanumeric() {
            out.push(leet(k).unwrap_or(k.to_ascii_lowercase()));
            continue;
        }
        if let Some(l) = leet(k) {
            out.push(l);
            continue;
        }
        let mut buf = [0u8; 4];
        for s in unicode_security::skeleton(k.encode_utf8(&mut buf)) {
            for d in std::iter::once(s).nfd() {
                if is_combining_mark(d) || is_invisible(d) {
                    continue;
                }
                if d.is_ascii_alphanumeric() {
                    out.push(leet(d).unwrap_or(d.to_ascii_lowercase()));
                } else if d.is_alphanumeric() {
                    out.extend(d.to_lowercase());
                }
            }
        }
    }
}

/// Is `c` part of a word (stand-ins like @ and $ only between letters)?
fn word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    c.is_alphanumeric() || is_combining_mark(c) || is_invisible(c)
}

/// Fold `text` (at most `max_bytes` of it) for matching.
pub fn fold(text: &str, max_bytes: usize) -> Folded {
    let text = match text.char_indices().nth(max_bytes) {
        Some((i, _)) if i < text.len() => &text[..i.min(text.len())],
        _ => text,
    };
    let mut f = Folded {
        compact: String::with_capacity(text.len()),
        tokens: Vec::new(),
        text: text.to_string(),
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    // Which characters belong to a word, decided once.
    let inside: Vec<bool> = (0..chars.len())
        .map(|j| {
            let c = chars[j].1;
            let between = || {
                j > 0
                    && j + 1 < chars.len()
                    && chars[j - 1].1.is_alphanumeric()
                    && chars[j + 1].1.is_alphanumeric()
            };
            // An @ is a letter in P@yPal, not in hyatt@mozilla (a handle).
            let short_tail = || {
                chars[j + 1..]
                    .iter()
                    .take_while(|(_, c)| c.is_alphanumeric())
                    .count()
                    <= 4
            };
            word_char(c)
                || (matches!(c, '$' | '!' | '|') && between())
                || (c == '@' && between() && short_tail())
        })
        .collect();
    let inside = |j: usize| inside[j];
    let mut word = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !inside(i) {
            i += 1;
            continue;
        }
        let start = f.compact.len();
        let raw_start = chars[i].0;
        let (mut upper, mut lower) = (false, false);
        word.clear();
        let mut after_lower = false;
        // Digits are letters only in words that have letters (P4yP4l, not
        // "Sep 3").
        let end = (i..chars.len())
            .find(|&j| !inside(j))
            .unwrap_or(chars.len());
        // …and only a few of them: N3x0 and N310 are product names.
        let digits = chars[i..end]
            .iter()
            .filter(|(_, c)| c.is_ascii_digit())
            .count();
        let leet_ok = chars[i..end].iter().any(|(_, c)| c.is_alphabetic()) && digits * 3 <= end - i;
        while i < chars.len() && inside(i) {
            let c = chars[i].1;
            upper |= c.is_uppercase();
            lower |= c.is_lowercase();
            fold_char(c, after_lower, leet_ok, &mut word);
            if !is_invisible(c) {
                after_lower = c.is_lowercase();
            }
            i += 1;
        }
        // Letter pairs that read as one letter (rnicrosoft, vvells), folded
        // the same way in keywords so both sides agree.
        let raw_word = &text[raw_start..chars.get(i).map_or(text.len(), |c| c.0)];
        if raw_word.contains("rn") || raw_word.contains("vv") {
            word = word.replace("rn", "m").replace("vv", "w");
        }
        f.compact.push_str(&word);
        let raw_end = chars.get(i).map_or(text.len(), |c| c.0);
        if f.compact.len() > start {
            f.tokens.push(Token {
                start,
                end: f.compact.len(),
                raw: (raw_start, raw_end),
                caps: upper && !lower,
            });
        }
    }
    f
}

/// A keyword folded as text is: its compact form.
pub(crate) fn fold_keyword(k: &str) -> String {
    fold(k, usize::MAX).compact
}

/// The lower-case letters and digits of `s`, any script, diacritics off:
/// how a name reads without any disguise undone.
fn plain(s: &str) -> String {
    s.nfd()
        .filter(|c| c.is_alphanumeric() && !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where in a message a brand was claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// The From display name.
    DisplayName,
    /// The Subject.
    Subject,
    /// The HTML `<title>`.
    Title,
    /// The first lines of what a reader sees (plain or rendered HTML text).
    FirstLines,
    /// An image's alt text (a logo where images are blocked).
    AltText,
    /// The visible text of a link.
    LinkText,
    /// An attachment's file name.
    Attachment,
}

impl Place {
    /// A short phrase for evidence ("display name", "image alt text").
    pub fn name(self) -> &'static str {
        match self {
            Place::DisplayName => "display name",
            Place::Subject => "subject",
            Place::Title => "HTML title",
            Place::FirstLines => "first lines",
            Place::AltText => "image alt text",
            Place::LinkText => "link text",
            Place::Attachment => "attachment name",
        }
    }
}

/// One claim: brand `brand` named in `place` as `found`.
#[derive(Debug, Clone)]
pub struct Claim {
    /// Index of the brand in the list the [`Matcher`] was built from (the context's `brands`).
    pub brand: usize,
    /// Where it was claimed.
    pub place: Place,
    /// The words as written (bounded).
    pub found: String,
    /// Only readable as the brand once a disguise is undone (other
    /// scripts' look-alike letters, invisible characters, leetspeak,
    /// spaced-out letters, mathematical letters).
    pub disguised: bool,
}

struct Pattern {
    brand: usize,
    /// Characters in the folded keyword.
    len: usize,
    /// Not Latin once folded (ゆうちょ, Сбербанк): no word bounds to ask for.
    native: bool,
    /// The keyword's own plain form, to tell a disguise from a spelling.
    plain: String,
    /// Written as several words ("tf bank"), so it may span words.
    multiword: bool,
    /// As catalogued, lower-case.
    keyword: String,
}

/// Up to seven ASCII bytes and their count as one integer (a short
/// keyword's key).
fn pack(w: &str) -> Option<u64> {
    (w.len() <= 7 && w.is_ascii())
        .then(|| w.bytes().fold(0u64, |k, b| (k << 8) | u64::from(b)) | ((w.len() as u64) << 56))
}

/// The packed key is its own hash, spread by one multiply.
#[derive(Default, Clone)]
pub(crate) struct PackedHasher(u64);

impl std::hash::Hasher for PackedHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl std::hash::BuildHasher for PackedHasher {
    type Hasher = PackedHasher;
    fn build_hasher(&self) -> PackedHasher {
        PackedHasher(0)
    }
}

/// The automaton over every keyword of every brand.
pub struct Matcher {
    /// Keywords of six letters or more (and native-script ones), which may
    /// sit inside a run-together word: pattern i of the automaton is
    /// `patterns[ac_pattern[i]]`.
    ac: Option<AhoCorasick>,
    ac_pattern: Vec<usize>,
    /// Shorter keywords (ASCII, five letters at most), which must fill
    /// whole words: looked up by the words' folded text, packed into an
    /// integer, instead of reported by the automaton at every position.
    short: HashMap<u64, usize, PackedHasher>,
    patterns: Vec<Pattern>,
    /// Folded common-word names → brand: claimed only by a whole display
    /// name.
    generic: HashMap<String, usize>,
}

impl Matcher {
    /// Build the automaton over every keyword of `brands` (indexes into that slice are what
    /// [`Claim::brand`] reports). Costly for the full catalogue: build once, as [`Context`] does.
    ///
    /// [`Context`]: crate::Context
    pub fn new(brands: &[Brand]) -> Matcher {
        let mut pats: Vec<String> = Vec::new();
        let mut ac_pattern = Vec::new();
        let mut short = HashMap::with_hasher(PackedHasher::default());
        let mut patterns = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut generic = HashMap::new();
        for (i, b) in brands.iter().enumerate() {
            for k in &b.keywords {
                let f = fold_keyword(k);
                let len = f.chars().count();
                // Two letters or fewer match too much even in capitals.
                if len < 2 || seen.contains_key(&f) {
                    continue;
                }
                seen.insert(f.clone(), i);
                let native = !f.is_ascii();
                if len >= 6 || native {
                    ac_pattern.push(patterns.len());
                    pats.push(f);
                } else if let Some(key) = pack(&f) {
                    short.insert(key, patterns.len());
                }
                patterns.push(Pattern {
                    brand: i,
                    len,
                    native,
                    plain: plain(k),
                    multiword: k.contains(|c: char| !c.is_alphanumeric()),
                    keyword: k.clone(),
                });
            }
            for g in b
                .generic
                .iter()
                .chain(std::iter::once(&b.name.to_lowercase()))
            {
                let f = fold_keyword(g);
                if f.len() >= 3 {
                    generic.entry(f).or_insert(i);
                }
            }
        }
        let ac = if pats.is_empty() {
            None
        } else {
            // Built from the catalogue and config only; a failure leaves
            // matching off rather than the scanner down.
            // The contiguous NFA: a third of the memory of the default
            // for this many patterns and twice as fast here.
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                .build(&pats)
                .ok()
        };
        Matcher {
            ac,
            ac_pattern,
            short,
            patterns,
            generic,
        }
    }

    /// The brands `text` names, each once, in order of appearance.
    pub fn find(&self, text: &str, place: Place, max_bytes: usize, out: &mut Vec<Claim>) {
        let f = fold(text, max_bytes);
        for (pi, ts, te) in self.accepted(&f) {
            let p = &self.patterns[pi];
            if out.iter().any(|c| c.brand == p.brand && c.place == place) {
                continue;
            }
            let span = &f.tokens[ts..=te];
            let raw = f
                .text
                .get(span[0].raw.0..span[span.len() - 1].raw.1)
                .unwrap_or("");
            let spaced = span.len() >= 3
                && span.iter().filter(|t| t.end - t.start == 1).count() * 2 >= span.len();
            let disguised =
                spaced || raw.chars().any(is_invisible) || !plain(raw).contains(&p.plain);
            out.push(Claim {
                brand: p.brand,
                place,
                found: raw.chars().take(80).collect(),
                disguised,
            });
        }
    }

    /// How many times `text` names each brand it names: (brand, count).
    pub fn counts(&self, text: &str, max_bytes: usize) -> Vec<(usize, usize)> {
        let f = fold(text, max_bytes);
        let mut out: Vec<(usize, usize)> = Vec::new();
        for (pi, _, _) in self.accepted(&f) {
            let b = self.patterns[pi].brand;
            match out.iter_mut().find(|(x, _)| *x == b) {
                Some((_, n)) => *n += 1,
                None => out.push((b, 1)),
            }
        }
        out
    }

    /// Keyword matches that fall on word bounds as the keyword's kind
    /// asks and are not inside another brand's longer name: (pattern,
    /// first token, last token).
    fn accepted(&self, f: &Folded) -> Vec<(usize, usize, usize)> {
        if f.tokens.is_empty() {
            return Vec::new();
        }
        let token_at = |pos: usize| -> usize {
            // Last token starting at or before pos.
            f.tokens
                .partition_point(|t| t.start <= pos)
                .saturating_sub(1)
        };
        // (pattern, compact start, end, first token, last token)
        let mut cands: Vec<(usize, usize, usize, usize, usize)> = Vec::new();
        let mut raw: Vec<(usize, usize, usize)> = Vec::new();
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(&f.compact) {
                if let Some(&pi) = self.ac_pattern.get(m.pattern().as_usize()) {
                    raw.push((pi, m.start(), m.end()));
                }
            }
        }
        for (i, t) in f.tokens.iter().enumerate() {
            for u in &f.tokens[i..] {
                if u.end - t.start > 5 {
                    break;
                }
                if let Some(&pi) = f
                    .compact
                    .get(t.start..u.end)
                    .and_then(pack)
                    .and_then(|k| self.short.get(&k))
                {
                    raw.push((pi, t.start, u.end));
                }
            }
        }
        for (pi, s, e) in raw {
            let p = &self.patterns[pi];
            let (ts, te) = (token_at(s), token_at(e.saturating_sub(1)));
            let (Some(t0), Some(t1)) = (f.tokens.get(ts), f.tokens.get(te)) else {
                continue;
            };
            let start_ok = s == t0.start;
            let end_ok = e == t1.end;
            let span = &f.tokens[ts..=te];
            let single = |t: &Token| t.end - t.start == 1;
            let spaced = span.len() > 1 && span.iter().all(single);
            let ok = if p.native {
                true
            } else if p.len <= 3 {
                // UPS, TK, DHL, M&S: one word in capitals, written exactly
                // (LL is not 1&1, MS is not M&S).
                start_ok
                    && end_ok
                    && t0.caps
                    && f.text
                        .get(t0.raw.0..t1.raw.1)
                        .is_some_and(|w| w.to_lowercase() == p.keyword)
            } else if start_ok && end_ok {
                // One word, or a name of several; a one-word name split
                // up ("Pay Pal", "P a y P a l") only when long enough not
                // to be two ordinary words (go to, GoTo), and not across
                // a domain's or address's dots (intel.com is not Intelcom).
                let joins = f
                    .text
                    .get(t0.raw.1..t1.raw.0)
                    .is_some_and(|gap| gap.contains(['.', '@']));
                ts == te
                    || p.multiword
                    || spaced
                    || (p.len >= 6 && !joins && span.iter().all(|t| t.end - t.start >= 3))
            } else if ts == te {
                // Run together with another word (paypalsupport,
                // mypaypal), not a word's own ending (versions, enable).
                // Written plainly: a folded near-miss inside a longer word
                // (authority for Auth0) is a word, not a disguise.
                let rest = (t0.end - t0.start) - (e - s);
                p.len >= 6
                    && (start_ok || end_ok || p.len >= 7)
                    && rest >= 4
                    && f.text
                        .get(t0.raw.0..t0.raw.1)
                        .is_some_and(|w| plain(w).contains(&p.plain))
            } else {
                false
            };
            if ok {
                cands.push((pi, s, e, ts, te));
            }
        }
        let mut out = Vec::new();
        for &(pi, s, e, ts, te) in &cands {
            let p = &self.patterns[pi];
            // "TK Maxx" is not TK: a name inside another brand's longer
            // name is that brand's.
            let inside = cands.iter().any(|&(qi, qs, qe, _, _)| {
                self.patterns[qi].brand != p.brand && qs <= s && e <= qe && qe - qs > e - s
            });
            if !inside {
                out.push((pi, ts, te));
            }
        }
        out
    }

    /// A display name that is, less the words brands put beside their
    /// name, a common-word brand name ("Target", "Orange Service").
    pub fn generic_name(&self, core: &str) -> Option<usize> {
        self.generic.get(&fold_keyword(core)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Vec<Brand> {
        parse_tsv(
            "name\tkeywords\tdomains\tcountry\tsector\tsource\tflags\n\
             PayPal\tpaypal\tpaypal.com\tglobal\tpayment\tseed\tt\n\
             TF Bank\ttf bank;tfbank\ttfbank.de\tde\tbank\tcurated\t\n\
             Techniker Krankenkasse\ttechniker krankenkasse;tk\ttk.de\tde\thealth\tcurated\t\n\
             Target\t~target\ttarget.com\tus\tretail\tseed\tt\n\
             Sam's Club\tsam's club\tsamsclub.com\tus\tretail\tcurated\t\n\
             Сбербанк\tсбербанк;sberbank\tsberbank.ru\tru\tbank\tcurated\t\n",
        )
    }

    fn claims(text: &str) -> Vec<(String, bool)> {
        let c = cat();
        let m = Matcher::new(&c);
        let mut out = Vec::new();
        m.find(text, Place::Subject, 4096, &mut out);
        out.into_iter()
            .map(|x| (c[x.brand].name.clone(), x.disguised))
            .collect()
    }

    #[test]
    fn disguises_are_undone() {
        let pp = |t: &str| claims(t).first().cloned();
        assert_eq!(pp("Your PayPal account"), Some(("PayPal".into(), false)));
        // Cyrillic а and р.
        assert_eq!(pp("Your Pаyраl account"), Some(("PayPal".into(), true)));
        // Zero-width space and a tag character.
        assert_eq!(pp("Pay\u{200b}Pal notice"), Some(("PayPal".into(), true)));
        assert_eq!(pp("Pay\u{e0041}Pal notice"), Some(("PayPal".into(), true)));
        // Mathematical bold.
        assert_eq!(pp("𝐏𝐚𝐲𝐏𝐚𝐥 limited"), Some(("PayPal".into(), true)));
        // Full-width.
        assert_eq!(pp("ＰａｙＰａｌ"), Some(("PayPal".into(), true)));
        assert_eq!(pp("P4yP@l security"), Some(("PayPal".into(), true)));
        assert_eq!(pp("PayPaI security"), Some(("PayPal".into(), true)));
        assert_eq!(pp("P a y P a l"), Some(("PayPal".into(), true)));
        assert_eq!(pp("P.a.y.P.a.l"), Some(("PayPal".into(), true)));
        assert_eq!(pp("Pay_Pal service"), Some(("PayPal".into(), false)));
        assert_eq!(pp("paypalsecurity team"), Some(("PayPal".into(), false)));
        assert_eq!(pp("TF-Bank Kundenservice"), Some(("TF Bank".into(), false)));
        assert_eq!(pp("Sams Club rewards"), Some(("Sam's Club".into(), false)));
        assert_eq!(
            pp("Ihre TK informiert"),
            Some(("Techniker Krankenkasse".into(), false))
        );
        assert_eq!(
            pp("СБЕРБАНК: карта заблокирована"),
            Some(("Сбербанк".into(), false))
        );
    }

    #[test]
    fn ordinary_words_are_not_claims() {
        assert!(claims("Target your audience").is_empty());
        assert!(
            claims("the tk-maxx sale").is_empty(),
            "{:?}",
            claims("the tk-maxx sale")
        );
        assert!(claims("Tk is lower case").is_empty());
        assert!(claims("apaypalb").is_empty());
        assert!(claims("We moved the pay pallets").is_empty());
        // A product name with digits is not leetspeak for a brand.
        let c = Matcher::new(&parse_tsv(
            "name\tk\td\tc\ts\n Nexo\tnexo\tnexo.com\tglobal\tcrypto\n",
        ));
        let mut out = Vec::new();
        c.find("USRP N3x0 firmware", Place::Subject, 4096, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn generic_names_only_whole() {
        let c = cat();
        let m = Matcher::new(&c);
        assert_eq!(
            m.generic_name("Target").map(|i| c[i].name.as_str()),
            Some("Target")
        );
        assert_eq!(m.generic_name("Target practice"), None);
    }

    #[test]
    fn hostile_text_never_panics() {
        // A deterministic spray of the characters folding treats
        // specially, the same check the `brand` fuzz target runs.
        let alphabet: Vec<char> = "aAIl1|!@$ .-_&rnvv0Оа\u{200b}\u{e0041}\u{301}𝐏Ｐß\u{fe0f}ǅİ日本"
            .chars()
            .collect();
        let m = Matcher::new(bundled());
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let mut t = String::new();
            for _ in 0..(x % 40) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                t.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let mut out = Vec::new();
            m.find(&t, Place::Subject, 16, &mut out);
            m.find(&t, Place::Subject, 4096, &mut out);
            let _ = m.counts(&t, 4096);
            x = x.wrapping_add(1);
        }
    }

    #[test]
    fn bundled_catalogue_is_large_and_sane() {
        let b = bundled();
        let m = Matcher::new(b);
        assert!(m.ac.is_some(), "the automaton must build");
        let mut out = Vec::new();
        m.find("Your PayPal and TK notice", Place::Subject, 4096, &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(b.len() >= 2000, "{}", b.len());
        for x in b {
            assert!(!x.domains.is_empty(), "{}", x.name);
            for d in &x.domains {
                assert!(
                    d.contains('.') && !d.contains('/') && !d.contains(' '),
                    "{d}"
                );
            }
        }
    }
}
