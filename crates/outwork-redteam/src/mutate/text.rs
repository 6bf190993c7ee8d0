//! Text operators: rewrite (paraphrase) and html-obfuscate.

use super::*;

/// A link behind a `[[LINKn]]` placeholder.
#[derive(Debug, Clone)]
pub(super) struct PLink {
    pub(super) url: String,
    pub(super) anchor: String,
}

pub(super) enum Piece<'a> {
    Text(&'a str),
    Link(usize),
}

/// Split text around `[[LINKn]]` placeholders (spaces and case tolerated).
pub(super) fn split_placeholders(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut last = 0;
    let mut from = 0;
    while let Some(p) = s.get(from..).and_then(|r| r.find("[[")) {
        let start = from + p;
        let parsed = s.get(start + 2..).and_then(|rest| {
            let t = rest.trim_start();
            let skipped = rest.len() - t.len();
            if !starts_with_ci(t, "link") {
                return None;
            }
            let t2 = t.get(4..)?.trim_start();
            let digits = t2.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 6 {
                return None;
            }
            let n: usize = t2.get(..digits)?.parse().ok()?;
            let t3 = t2.get(digits..)?;
            let t4 = t3.trim_start();
            t4.starts_with("]]").then(|| {
                let consumed = skipped + (t.len() - t2.len()) + digits + (t3.len() - t4.len()) + 2;
                (n, start + 2 + consumed)
            })
        });
        match parsed {
            Some((n, end)) => {
                if start > last {
                    out.push(Piece::Text(s.get(last..start).unwrap_or("")));
                }
                out.push(Piece::Link(n));
                last = end;
                from = end;
            }
            None => from = start + 2,
        }
    }
    if last < s.len() {
        out.push(Piece::Text(s.get(last..).unwrap_or("")));
    }
    out
}

pub(super) const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "table",
    "tr",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "center",
    "hr",
    "pre",
];

/// Whitespace runs as one space; zero-width characters dropped, no-break
/// spaces as spaces.
pub(super) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if matches!(
            c,
            '\u{200b}'..='\u{200d}' | '\u{feff}' | '\u{ad}' | '\u{2060}'
        ) {
            continue;
        }
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// Lines trimmed, at most one blank line in a row.
pub(super) fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Text with URLs replaced by placeholders (while under the cap).
pub(super) fn placehold_urls(t: &str, links: &mut Vec<PLink>, out: &mut String) {
    let mut last = 0;
    for r in find_text_urls(t) {
        if links.len() >= MAX_LINKS {
            break;
        }
        out.push_str(t.get(last..r.start).unwrap_or(""));
        let url = t.get(r.clone()).unwrap_or("").to_string();
        links.push(PLink {
            anchor: url.clone(),
            url,
        });
        let _ = write!(out, "[[LINK{}]]", links.len());
        last = r.end;
    }
    out.push_str(t.get(last..).unwrap_or(""));
}

/// The visible text of HTML with each link anchor as a placeholder.
pub(super) fn html_visible(html: &str, links: &mut Vec<PLink>) -> String {
    enum A {
        None,
        Capture(String, String),
        /// A form posting to the URL; the label of its submit button.
        Form(String, String),
        Overflow(String),
    }
    let mut out = String::with_capacity(html.len() / 2);
    let mut anchor = A::None;
    let close = |anchor: &mut A, out: &mut String, links: &mut Vec<PLink>| match std::mem::replace(
        anchor,
        A::None,
    ) {
        A::Capture(url, text) | A::Form(url, text) => {
            links.push(PLink {
                url,
                anchor: text.trim().to_string(),
            });
            let _ = write!(out, "[[LINK{}]]", links.len());
        }
        A::Overflow(url) => {
            let _ = write!(out, " {url} ");
        }
        A::None => {}
    };
    for seg in tokenize(html) {
        let raw = html.get(seg.start..seg.end).unwrap_or("");
        if let A::Form(_, label) = &mut anchor {
            // Inside a credential form only its end and its button count.
            if seg.kind == SegKind::Tag && seg.name == "form" {
                close(&mut anchor, &mut out, links);
            } else if seg.kind == SegKind::Tag
                && seg.name == "input"
                && attr_value(raw, "type").is_some_and(|t| t.eq_ignore_ascii_case("submit"))
                && let Some(v) = attr_value(raw, "value").filter(|v| !v.is_empty())
            {
                *label = v;
            }
            continue;
        }
        match seg.kind {
            SegKind::Text => {
                let t = collapse_ws(&decode_entities(raw));
                match &mut anchor {
                    A::Capture(_, text) => text.push_str(&t),
                    _ => placehold_urls(&t, links, &mut out),
                }
            }
            SegKind::Tag => match (seg.name.as_str(), seg.closing) {
                ("a", false) => {
                    close(&mut anchor, &mut out, links);
                    if let Some(url) = seg_link(&seg, raw) {
                        anchor = if links.len() < MAX_LINKS {
                            A::Capture(url, String::new())
                        } else {
                            A::Overflow(url)
                        };
                    }
                }
                ("a", true) => close(&mut anchor, &mut out, links),
                ("form", false) => {
                    if let Some(url) = seg_link(&seg, raw) {
                        close(&mut anchor, &mut out, links);
                        out.push_str("\n\n");
                        anchor = if links.len() < MAX_LINKS {
                            A::Form(url, "Sign in".into())
                        } else {
                            A::Overflow(url)
                        };
                    }
                }
                ("img", false) => {
                    if let (A::Capture(_, text), Some(alt)) = (&mut anchor, attr_value(raw, "alt"))
                    {
                        text.push_str(&alt);
                    }
                }
                ("br", _) => out.push('\n'),
                (name, _) if BLOCK_TAGS.contains(&name) => out.push_str("\n\n"),
                ("td" | "th", true) => out.push(' '),
                _ => {}
            },
            SegKind::Other => {}
        }
    }
    close(&mut anchor, &mut out, links);
    tidy(&out)
}

pub(super) fn text_link(l: &PLink) -> String {
    let anchor = l.anchor.trim();
    if anchor.is_empty() || anchor == l.url {
        l.url.clone()
    } else {
        format!("{anchor} <{}>", l.url)
    }
}

pub(super) fn op_rewrite(
    m: &mut Model,
    ctx: &MutateCtx,
    notes: &mut Vec<String>,
) -> Result<(), MutateError> {
    let mut links = Vec::new();
    let source = if let Some(html) = &m.html {
        html_visible(html, &mut links)
    } else if let Some(text) = &m.text {
        let mut out = String::with_capacity(text.len());
        placehold_urls(text, &mut links, &mut out);
        tidy(&out)
    } else {
        String::new()
    };
    if source.trim().is_empty() {
        notes.push("rewrite: no visible text, message unchanged".into());
        return Ok(());
    }
    let input = truncate(&source, MAX_REWRITE_BYTES);
    if input.len() < source.len() {
        notes.push(format!(
            "rewrite: visible text cut to {} of {} bytes for the rewriter",
            input.len(),
            source.len()
        ));
    }
    let name = ctx.rewriter.name();
    let rewritten = ctx
        .rewriter
        .rewrite(input)
        .map_err(|e| MutateError::Rewriter(name.clone(), e))?;
    let rewritten = tidy(&rewritten.replace("\r\n", "\n"));
    if rewritten.is_empty() {
        return Err(MutateError::Rewriter(name, RewriteError::EmptyRewrite));
    }
    let mut seen = HashSet::new();
    let mut text = String::with_capacity(rewritten.len() + 256);
    let mut kept_text = String::with_capacity(rewritten.len());
    for piece in split_placeholders(&rewritten) {
        match piece {
            Piece::Text(t) => {
                text.push_str(t);
                kept_text.push_str(t);
            }
            Piece::Link(n) => {
                if let Some(l) = n.checked_sub(1).and_then(|k| links.get(k)) {
                    seen.insert(n);
                    text.push_str(&text_link(l));
                    let _ = write!(kept_text, "[[LINK{n}]]");
                }
            }
        }
    }
    let missing: Vec<usize> = (1..=links.len()).filter(|n| !seen.contains(n)).collect();
    if !missing.is_empty() {
        text.push_str("\n\n");
        kept_text.push_str("\n\n");
        for (i, &n) in missing.iter().enumerate() {
            if i > 0 {
                text.push('\n');
                kept_text.push('\n');
            }
            if let Some(l) = links.get(n - 1) {
                text.push_str(&text_link(l));
            }
            let _ = write!(kept_text, "[[LINK{n}]]");
        }
        notes.push(format!(
            "rewrite: the rewriter dropped {} link placeholder(s); appended at the end",
            missing.len()
        ));
    }
    m.html = Some(render_html(&kept_text, &links));
    m.text = Some(format!("{}\n", text.trim_end()));
    notes.push(format!(
        "rewrite: {name} rewrote {} bytes of visible text into {} ({} link(s) kept)",
        input.len(),
        rewritten.len(),
        links.len()
    ));
    Ok(())
}

pub(super) const ZERO_WIDTH: &[char] = &['\u{200b}', '\u{200c}', '\u{200d}', '\u{feff}'];
pub(super) const FILLER: &[&str] = &[
    "weather",
    "garden",
    "recipe",
    "holiday",
    "coffee",
    "meeting",
    "lunch",
    "music",
    "football",
    "travel",
    "photos",
    "family",
    "weekend",
    "library",
    "concert",
    "morning",
    "sunshine",
    "bicycle",
    "museum",
    "picnic",
    "newsletter",
    "schedule",
    "tomorrow",
    "thanks",
];

#[derive(Default)]
pub(super) struct ObfStats {
    pub(super) zero_width: usize,
    pub(super) entities: usize,
    pub(super) spans: usize,
    pub(super) hidden: usize,
}

pub(super) fn hidden_filler(rng: &mut Rng) -> String {
    let n = 5 + rng.below(5);
    let words: Vec<&str> = (0..n).map(|_| rng.pick(FILLER)).collect();
    format!(
        "<span style=\"display:none;font-size:0;max-height:0;overflow:hidden;mso-hide:all\">{}</span>",
        words.join(" ")
    )
}

/// Obfuscate one word (alphabetic run) of HTML text.
pub(super) fn obfuscate_word(word: &str, rng: &mut Rng, st: &mut ObfStats, out: &mut String) {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 3 {
        out.push_str(word);
        return;
    }
    let zw_at = rng.chance(55).then(|| 1 + rng.below(chars.len() - 1));
    let ent_at = rng
        .chance(35)
        .then(|| rng.below(chars.len()))
        .filter(|&i| chars.get(i).is_some_and(char::is_ascii_alphabetic));
    let span_at = rng.chance(25).then(|| 1 + rng.below(chars.len() - 1));
    for (i, &c) in chars.iter().enumerate() {
        if zw_at == Some(i) {
            out.push(ZERO_WIDTH[rng.below(ZERO_WIDTH.len())]);
            st.zero_width += 1;
        }
        if span_at == Some(i) {
            out.push_str("<span></span>");
            st.spans += 1;
        }
        if ent_at == Some(i) {
            let _ = write!(out, "&#x{:x};", u32::from(c));
            st.entities += 1;
        } else {
            out.push(c);
        }
    }
}

/// Obfuscate an HTML text segment; URLs and entities stay as they are.
pub(super) fn obfuscate_segment(raw: &str, rng: &mut Rng, st: &mut ObfStats, out: &mut String) {
    let urls = find_text_urls(raw);
    let mut next = 0; // the first URL not behind us
    let mut words = 0;
    let mut i = 0;
    while i < raw.len() {
        while urls.get(next).is_some_and(|r| r.start < i) {
            next += 1;
        }
        if let Some(r) = urls.get(next).filter(|r| r.start == i) {
            out.push_str(raw.get(r.clone()).unwrap_or(""));
            i = r.end;
            next += 1;
            continue;
        }
        let Some(c) = raw.get(i..).and_then(|s| s.chars().next()) else {
            break;
        };
        if c == '&' {
            let rest = raw.get(i..).unwrap_or("");
            let ent_len = rest
                .char_indices()
                .take(12)
                .find(|&(_, c)| c == ';')
                .map(|(p, _)| p + 1)
                .filter(|&p| entity_char(rest.get(1..p - 1).unwrap_or("")).is_some());
            if let Some(len) = ent_len {
                out.push_str(rest.get(..len).unwrap_or(""));
                i += len;
                continue;
            }
        }
        if c.is_alphabetic() {
            let next_url = urls.get(next).map_or(raw.len(), |r| r.start);
            let rest = raw.get(i..next_url).unwrap_or("");
            let len = rest
                .char_indices()
                .find(|&(_, c)| !c.is_alphabetic())
                .map_or(rest.len(), |(p, _)| p);
            obfuscate_word(rest.get(..len).unwrap_or(""), rng, st, out);
            words += 1;
            i += len;
            continue;
        }
        out.push(c);
        i += c.len_utf8();
        // After the end of a sentence, now and then a hidden filler.
        if matches!(c, '.' | '!' | '?')
            && raw.get(i..).is_some_and(|s| s.starts_with(' '))
            && words >= 4
            && st.hidden < 20
            && rng.chance(50)
        {
            out.push_str(&hidden_filler(rng));
            st.hidden += 1;
            words = 0;
        }
    }
}

pub(super) fn op_html_obfuscate(m: &mut Model, rng: &mut Rng, notes: &mut Vec<String>) {
    let created = if m.html.is_none() {
        match &m.text {
            Some(text) => {
                m.html = Some(text_to_html(text));
                true
            }
            None => {
                notes.push("html-obfuscate: no body, message unchanged".into());
                return;
            }
        }
    } else {
        false
    };
    let Some(html) = &m.html else {
        return;
    };
    let mut st = ObfStats::default();
    let mut out = String::with_capacity(html.len() * 2);
    let mut in_body = !html.to_ascii_lowercase().contains("<body");
    let mut first_text = true;
    for seg in tokenize(html) {
        let raw = html.get(seg.start..seg.end).unwrap_or("");
        match seg.kind {
            SegKind::Text if in_body && raw.chars().any(char::is_alphabetic) => {
                if first_text {
                    // At least one hidden block, before the first visible text.
                    out.push_str(&hidden_filler(rng));
                    st.hidden += 1;
                    first_text = false;
                }
                obfuscate_segment(raw, rng, &mut st, &mut out);
            }
            SegKind::Tag if seg.name == "body" => {
                in_body = !seg.closing;
                out.push_str(raw);
            }
            _ => out.push_str(raw),
        }
    }
    m.html = Some(out);
    let dropped = m.text.take().is_some();
    notes.push(format!(
        "html-obfuscate: {} zero-width character(s), {} letter(s) as numeric entities, {} word(s) split by empty spans, {} hidden filler span(s){}{}",
        st.zero_width,
        st.entities,
        st.spans,
        st.hidden,
        if created { "; HTML body made from the text body" } else { "" },
        if dropped { "; text/plain alternative dropped (the HTML is the only body)" } else { "" },
    ));
}
