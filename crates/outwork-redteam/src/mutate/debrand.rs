//! `debrand`: a generic lure. The brand names the catalogue's matcher reads
//! in the subject, the From display name and the visible text go, and so
//! do the logos (images whose name, alt text or address names the brand or
//! says "logo"). Link and sender domains are left to the link and sender
//! operators (`fresh-domain`, `esp-send`).

use super::*;

/// Rounds of find-and-remove (a removal can uncover nothing new in
/// practice; the bound keeps hostile text from looping).
const ROUNDS: usize = 4;
/// Brand words removed per message at most.
const MAX_WORDS: usize = 32;

/// The words to remove: how each brand the matcher reads in `texts` was
/// written, and its catalogue name.
fn brand_words(texts: &[&str]) -> Vec<String> {
    let cctx = catalogue_context();
    let mut words: Vec<String> = Vec::new();
    let mut brands: Vec<usize> = Vec::new();
    // The matcher names each brand once per call: one call per text, so
    // each text's own spelling ("iCloud" here, "𝕚𝕔𝕝𝕠𝕦𝕕" there) is found.
    for t in texts {
        let mut claims = Vec::new();
        cctx.brand_matcher
            .find(t, outwork_core::Place::FirstLines, 64 * 1024, &mut claims);
        for c in claims {
            let found = c.found.trim().to_string();
            if found.len() >= 2 && !words.contains(&found) {
                words.push(found);
            }
            if !brands.contains(&c.brand) {
                brands.push(c.brand);
            }
        }
    }
    // Then the catalogue's name and keywords of each brand found, those
    // the matcher reads as the brand on their own ("iCloud" for Apple, not
    // a common word like "wallet").
    for &i in &brands {
        let Some(b) = cctx.brands.get(i) else {
            continue;
        };
        for w in std::iter::once(&b.name).chain(&b.keywords) {
            let own = cctx
                .brand_matcher
                .counts(w, 256)
                .iter()
                .any(|(x, _)| *x == i);
            if own && w.len() >= 3 && !words.iter().any(|x| x.eq_ignore_ascii_case(w)) {
                words.push(w.clone());
            }
        }
    }
    // A message naming dozens of brands is not a brand lure; the cap
    // bounds the work. Longest first: "PayPal Holdings" before "PayPal".
    words.truncate(MAX_WORDS);
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    words
}

/// The byte ranges of `s` that are addresses, not words: its URLs and
/// its e-mail addresses (any run of non-space characters with an `@`, or
/// with `://`: a URL glued to the word before it).
fn address_ranges(s: &str) -> Vec<Range<usize>> {
    let mut out = find_text_urls(s);
    let mut start = None;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(st)) => {
                if s.get(st..i)
                    .is_some_and(|w| w.contains('@') || w.contains("://"))
                {
                    out.push(st..i);
                }
                start = None;
            }
            _ => {}
        }
    }
    out.sort_by_key(|r| r.start);
    out
}

/// `s` with its addresses (URLs, e-mail addresses) removed.
pub(super) fn without_addresses(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for r in address_ranges(s) {
        if r.start >= last {
            out.push_str(s.get(last..r.start).unwrap_or(""));
            last = r.end;
        }
    }
    out.push_str(s.get(last..).unwrap_or(""));
    out
}

/// `s` without whole-word (ASCII case-insensitive) occurrences of `words`
/// outside its URLs and e-mail addresses (addresses are the link and
/// sender operators' business), and the spaces a removal leaves doubled.
fn strip_words(s: &str, words: &[String]) -> (String, usize) {
    let mut out = String::with_capacity(s.len());
    let mut removed = 0;
    let mut last = 0;
    for r in address_ranges(s) {
        if r.start < last {
            continue;
        }
        let (a, n) = strip_words_in(s.get(last..r.start).unwrap_or(""), words);
        out.push_str(&a);
        out.push_str(s.get(r.clone()).unwrap_or(""));
        removed += n;
        last = r.end;
    }
    let (a, n) = strip_words_in(s.get(last..).unwrap_or(""), words);
    out.push_str(&a);
    (out, removed + n)
}

fn strip_words_in(s: &str, words: &[String]) -> (String, usize) {
    let mut cur = s.to_string();
    let mut removed = 0;
    for w in words {
        // ASCII folding keeps byte offsets the same in both strings.
        let needle = w.to_ascii_lowercase();
        let lower = cur.to_ascii_lowercase();
        if needle.is_empty() || !lower.contains(&needle) {
            continue;
        }
        let mut out = String::with_capacity(cur.len());
        let mut last = 0;
        for (p, _) in lower.match_indices(&needle) {
            let before = cur.get(..p).and_then(|x| x.chars().last());
            let after = cur.get(p + needle.len()..).and_then(|x| x.chars().next());
            let bounded = !before.is_some_and(char::is_alphanumeric)
                && !after.is_some_and(char::is_alphanumeric);
            if !bounded || p < last {
                continue;
            }
            out.push_str(cur.get(last..p).unwrap_or(""));
            // "PayPal's" goes whole.
            let mut end = p + needle.len();
            for suffix in ["'s", "’s"] {
                if cur.get(end..).is_some_and(|r| r.starts_with(suffix)) {
                    end += suffix.len();
                }
            }
            // At the start of a line the space after the name goes too.
            if matches!(before, None | Some('\n' | '>'))
                && cur.get(end..).is_some_and(|r| r.starts_with(' '))
            {
                end += 1;
            }
            last = end;
            removed += 1;
        }
        out.push_str(cur.get(last..).unwrap_or(""));
        cur = out;
    }
    if removed == 0 {
        return (cur, 0);
    }
    // Tidy what the removals left: doubled spaces, a space before
    // punctuation, a dangling separator.
    let mut out = String::with_capacity(cur.len());
    for c in cur.chars() {
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        if matches!(c, ',' | '.' | ':' | ';' | '!' | '?') && out.ends_with(' ') {
            out.pop();
        }
        out.push(c);
    }
    (out, removed)
}

fn strip_all(s: &str) -> (String, usize) {
    let mut cur = s.to_string();
    let mut total = 0;
    for _ in 0..ROUNDS {
        let words = brand_words(&[&cur]);
        if words.is_empty() {
            break;
        }
        let (next, n) = strip_words(&cur, &words);
        cur = next;
        total += n;
        if n == 0 {
            break;
        }
    }
    (cur, total)
}

fn is_logo(words: &[String], text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("logo")
        || words
            .iter()
            .any(|w| w.len() >= 3 && lower.contains(&w.to_lowercase()))
}

pub(super) fn op_debrand(m: &mut Model, notes: &mut Vec<String>) {
    // The text body and the HTML's visible text may differ: both count.
    let visible = format!("{}\n{}", visible_text(m), lure_text(m));
    let display = m
        .new_from
        .as_ref()
        .or(m.from.as_ref())
        .and_then(|f| f.name.clone())
        .unwrap_or_default();
    let subject = m.subject.clone().unwrap_or_default();
    let mut words = brand_words(&[&subject, &display, &without_addresses(&visible)]);
    // A whole display name can claim a common-word brand ("Apple").
    let cctx = catalogue_context();
    if !display.is_empty()
        && let Some(b) = outwork_core::family::sender::claimed_brand(&display, cctx)
            .and_then(|i| cctx.brands.get(i))
        && !words.contains(&b.name)
    {
        words.push(b.name.clone());
    }
    if words.is_empty() {
        notes.push("debrand: no brand named, message unchanged".into());
        return;
    }
    let mut removed = 0;

    // Subject.
    let (s1, n1) = strip_words(&subject, &words);
    let (new_subject, n2) = strip_all(&s1);
    if n1 + n2 > 0 {
        removed += n1 + n2;
        let new_subject = trim_separators(&new_subject);
        let new_subject = if new_subject.is_empty() {
            "Account notice".to_string()
        } else {
            new_subject
        };
        set_subject(m, &new_subject);
    }

    // Display name.
    if !display.is_empty() {
        let (name, n) = strip_words(&display, &words);
        let (name, n2) = strip_all(&name);
        let name = trim_separators(&name);
        let still = outwork_core::family::sender::claimed_brand(&name, cctx).is_some();
        if n + n2 > 0 || still {
            removed += n + n2;
            let name = if name.is_empty() || still || !name.chars().any(char::is_alphabetic) {
                "Account Services".to_string()
            } else {
                name
            };
            let mut from = m.new_from.clone().or_else(|| m.from.clone());
            if let Some(f) = from.as_mut() {
                f.name = Some(name);
            }
            m.new_from = from;
        }
    }

    // Text body.
    if let Some(t) = &m.text {
        let (a, n) = strip_words(t, &words);
        let (a, n2) = strip_all(&a);
        removed += n + n2;
        m.text = Some(a);
    }

    // HTML: text segments only (links stay), and the logos.
    let mut logos = 0;
    let mut logo_cids: Vec<String> = Vec::new();
    if let Some(html) = &m.html {
        let mut out = String::with_capacity(html.len());
        for seg in tokenize(html) {
            let raw = html.get(seg.start..seg.end).unwrap_or("");
            match seg.kind {
                SegKind::Text => {
                    let (a, n) = strip_words(raw, &words);
                    // A name written with entities (`S&#1072;msung`) is
                    // found in the decoded text, which is then re-escaped.
                    let decoded = decode_entities(raw);
                    let (d, dn) = match n {
                        0 if decoded != raw => strip_words(&decoded, &words),
                        _ => (String::new(), 0),
                    };
                    if dn > 0 {
                        removed += dn;
                        out.push_str(&esc_text(&d));
                    } else {
                        removed += n;
                        out.push_str(&a);
                    }
                }
                SegKind::Tag if seg.name == "img" && !seg.closing => {
                    let src = attr_value(raw, "src").unwrap_or_default();
                    let described = format!(
                        "{src} {} {}",
                        attr_value(raw, "alt").unwrap_or_default(),
                        attr_value(raw, "title").unwrap_or_default()
                    );
                    let part_name = src
                        .strip_prefix("cid:")
                        .and_then(|cid| m.related.iter().find(|p| p.cid.as_deref() == Some(cid)))
                        .and_then(|p| p.filename.clone())
                        .unwrap_or_default();
                    if is_logo(&words, &described) || is_logo(&words, &part_name) {
                        logos += 1;
                        if let Some(cid) = src.strip_prefix("cid:") {
                            logo_cids.push(cid.to_string());
                        }
                    } else {
                        out.push_str(raw);
                    }
                }
                _ => out.push_str(raw),
            }
        }
        m.html = Some(out);
    }
    // Inline images only the removed logos used, and logo-named ones.
    let before = m.related.len();
    let html = m.html.clone().unwrap_or_default();
    m.related.retain(|p| {
        let cid = p.cid.clone().unwrap_or_default();
        let logo = logo_cids.contains(&cid)
            || (p.content_type.starts_with("image/")
                && is_logo(&words, p.filename.as_deref().unwrap_or("")));
        !logo || html.contains(&format!("cid:{cid}"))
    });
    let logo_parts = before - m.related.len();
    notes.push(format!(
        "debrand: {removed} mention(s) of {} removed, {logos} logo image(s) and {logo_parts} logo part(s) dropped",
        words.join(", ")
    ));
}

/// Without the separators a removed name leaves at either end
/// ("PayPal: action required" → "action required").
fn trim_separators(s: &str) -> String {
    s.trim_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '-' | '|' | '–' | ',' | '/'))
        .to_string()
}
