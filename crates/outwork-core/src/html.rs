//! HTML body facts, read with a WHATWG tokenizer (html5gum) that builds
//! no output: every start tag, attribute and text run is seen once, with
//! character references decoded as a browser decodes them, and nothing is
//! serialised. Memory is bounded by the (already size-limited) input.

use crate::url::UrlSource;
use html5gum::emitters::callback::{Callback, CallbackEmitter, CallbackEvent};
use html5gum::{Span, State as TokState, Tokenizer};

#[cfg(feature = "lol-html-oracle")]
pub mod lol;

/// A link-like reference found in HTML.
#[derive(Debug, Clone)]
pub struct HtmlUrl {
    pub raw: String,
    pub source: UrlSource,
    /// Visible text of the `<a>` (for hrefs), whitespace-collapsed.
    pub anchor_text: Option<String>,
    /// The anchor contains an image (text may be empty).
    pub anchor_has_img: bool,
}

#[derive(Debug, Default, Clone)]
pub struct HtmlFacts {
    pub urls: Vec<HtmlUrl>,
    pub forms: usize,
    pub form_actions: Vec<String>,
    pub password_inputs: usize,
    pub meta_refresh: Option<String>,
    pub scripts: usize,
    pub images: usize,
    pub visible_text_chars: usize,
    pub hidden_text_chars: usize,
    /// First visible text, bounded, for text-URL extraction.
    pub visible_text: String,
    pub hidden_samples: Vec<String>,
    /// Image alt texts (at most 32, each at most 200 bytes).
    pub alt_texts: Vec<String>,
    /// The document title (at most 200 bytes).
    pub title: Option<String>,
    pub truncated: bool,
    pub error: Option<String>,
}

#[cfg(feature = "lol-html-oracle")]
fn is_hiding_style(style: &str) -> bool {
    hides(style, &mut Vec::new())
}

/// Whether an inline style hides its element. `buf` is scratch space reused
/// between calls (mail styles every element). Only ASCII whitespace is
/// dropped: CSS knows no other.
fn hides(style: &str, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    buf.extend(
        style
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|b| b.to_ascii_lowercase()),
    );
    let has = |p: &str| memchr::memmem::find(buf, p.as_bytes()).is_some();
    has("display:none")
        || has("visibility:hidden")
        || has("font-size:0")
        || has("font-size:1px")
        || has("opacity:0;")
        || buf.ends_with(b"opacity:0")
        || has("max-height:0")
        || (has("width:0") && has("height:0") && has("overflow:hidden"))
}

/// Decode HTML character references the way a browser decodes text: the
/// one decoder of the workspace (the reader gets the same decoding from its
/// tokenizer). Every named reference of the HTML standard, numeric ones with
/// the standard's fix-ups (`&#0;` and surrogates are U+FFFD, `&#128;` is
/// the euro sign), legacy names without `;` (`&copy`).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let emitter = CallbackEmitter::new(|ev: CallbackEvent<'_>, _: Span<()>| -> Option<()> {
        if let CallbackEvent::String { value } = ev {
            out.push_str(&String::from_utf8_lossy(value));
        }
        None
    });
    let mut tokenizer = Tokenizer::new_with_emitter(s, emitter);
    // RCDATA with no open element: references decode, and nothing (not
    // even `</x>`) is markup.
    tokenizer.set_state(TokState::RcData);
    for next in tokenizer {
        if let Err(never) = next {
            match never {}
        }
    }
    out
}

/// Elements that never have content (their end tag, if any, is ignored).
fn is_void(tag: &[u8]) -> bool {
    matches!(
        tag,
        b"area"
            | b"base"
            | b"basefont"
            | b"bgsound"
            | b"br"
            | b"col"
            | b"embed"
            | b"frame"
            | b"hr"
            | b"image"
            | b"img"
            | b"input"
            | b"keygen"
            | b"link"
            | b"meta"
            | b"param"
            | b"source"
            | b"track"
            | b"wbr"
    )
}

/// How deep an end tag looks for its element.
const MAX_END_SEARCH: usize = 512;

/// What an open element does to the text inside it, until its end tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Effects {
    anchor: bool,
    skip: bool,
    hidden: bool,
    title: bool,
}

/// One start tag being read: its name and attributes as ranges of one
/// reused buffer (first occurrence of a name wins, as in browsers).
#[derive(Default)]
struct Tag {
    name: Vec<u8>,
    buf: Vec<u8>,
    /// (name start, name end, value end); the value starts at name end.
    attrs: Vec<(usize, usize, usize)>,
    open: bool,
}

impl Tag {
    fn get(&self, name: &str) -> Option<&str> {
        let (_, n, v) = self
            .attrs
            .iter()
            .find(|(s, e, _)| &self.buf[*s..*e] == name.as_bytes())?;
        // The tokenizer reads a &str: its output is UTF-8.
        std::str::from_utf8(&self.buf[*n..*v]).ok()
    }

    fn has(&self, name: &str) -> bool {
        self.attrs
            .iter()
            .any(|(s, e, _)| &self.buf[*s..*e] == name.as_bytes())
    }
}

struct Reader {
    facts: HtmlFacts,
    tag: Tag,
    /// Every open element (void ones never open): where its name starts
    /// in `names`, and what it does. End tags are matched by name against
    /// all of them, so a nested `</td>` closes the inner cell, not an outer
    /// hidden one.
    stack: Vec<(usize, Effects)>,
    names: Vec<u8>,
    current_anchor: Option<usize>,
    hidden_depth: usize,
    skip_depth: usize,
    title_depth: usize,
    /// Inside <svg> or <math>: no raw-text states, `/>` closes.
    foreign_depth: usize,
    /// Where the last start tag began, and the input's length.
    tag_start: usize,
    len: usize,
    /// Scratch for [`hides`].
    style_buf: Vec<u8>,
    max_urls: usize,
    max_text: usize,
    max_memory: usize,
}

impl Reader {
    fn push_url(&mut self, raw: &str, source: UrlSource) -> Option<usize> {
        if self.facts.urls.len() >= self.max_urls {
            self.facts.truncated = true;
            return None;
        }
        self.facts.urls.push(HtmlUrl {
            raw: raw.trim().to_string(),
            source,
            anchor_text: None,
            anchor_has_img: false,
        });
        Some(self.facts.urls.len() - 1)
    }

    fn open(&mut self, fx: Effects) {
        self.skip_depth += usize::from(fx.skip);
        self.hidden_depth += usize::from(fx.hidden);
        self.title_depth += usize::from(fx.title);
        self.stack.push((self.names.len(), fx));
        self.names.extend_from_slice(&self.tag.name);
    }

    fn close(&mut self, fx: Effects) {
        if fx.anchor {
            self.current_anchor = None;
        }
        self.skip_depth = self.skip_depth.saturating_sub(usize::from(fx.skip));
        self.hidden_depth = self.hidden_depth.saturating_sub(usize::from(fx.hidden));
        self.title_depth = self.title_depth.saturating_sub(usize::from(fx.title));
    }

    /// A start tag is complete: read what it says. Returns the tokenizer
    /// state its content is read in (raw text for <script>, <style>...).
    fn start_tag(&mut self, self_closing: bool) -> Option<TokState> {
        let name = self.tag.name.as_slice();
        let can_have_content = !(is_void(name) || self_closing && self.foreign_depth > 0);
        let mut fx = Effects::default();
        match name {
            b"a" | b"area" => {
                if let Some(href) = self.tag.get("href").map(str::to_string)
                    && let Some(idx) = self.push_url(&href, UrlSource::HtmlHref)
                {
                    self.current_anchor = Some(idx);
                    fx.anchor = true;
                }
            }
            b"img" | b"iframe" | b"embed" | b"frame" | b"image" => {
                let is_img = name == b"img";
                let src = if name == b"image" {
                    self.tag.get("href")
                } else {
                    self.tag.get("src")
                };
                if let Some(src) = src.map(str::to_string) {
                    if is_img {
                        self.facts.images += 1;
                        if let Some(a) = self.current_anchor {
                            self.facts.urls[a].anchor_has_img = true;
                        }
                        if let Some(alt) = self.tag.get("alt")
                            && self.facts.alt_texts.len() < 32
                            && !alt.trim().is_empty()
                        {
                            let alt: String = alt.chars().take(200).collect();
                            self.facts.alt_texts.push(alt);
                        }
                    }
                    // Inline images are not links; data: in iframes is.
                    if !(is_img && src.trim_start().starts_with("cid:")) {
                        self.push_url(&src, UrlSource::HtmlSrc);
                    }
                }
            }
            b"form" => {
                self.facts.forms += 1;
                if let Some(action) = self.tag.get("action").map(str::to_string) {
                    self.facts.form_actions.push(action.clone());
                    self.push_url(&action, UrlSource::HtmlFormAction);
                }
            }
            b"input" => {
                let t = self.tag.get("type").unwrap_or_default();
                let n = self
                    .tag
                    .get("name")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if t.eq_ignore_ascii_case("password") || n.contains("passw") || n == "pwd" {
                    self.facts.password_inputs += 1;
                }
            }
            b"meta" => {
                if let Some(eq) = self.tag.get("http-equiv")
                    && eq.eq_ignore_ascii_case("refresh")
                {
                    let content = self.tag.get("content").unwrap_or_default().to_string();
                    let url = refresh_url(&content);
                    if !url.is_empty() {
                        self.push_url(&url, UrlSource::HtmlMetaRefresh);
                    }
                    self.facts.meta_refresh = Some(if url.is_empty() { content } else { url });
                }
            }
            b"svg" | b"math" if can_have_content => self.foreign_depth += 1,
            _ => {}
        }
        let name = self.tag.name.as_slice();
        let skip = matches!(
            name,
            b"script" | b"style" | b"head" | b"title" | b"noscript" | b"template"
        );
        if name == b"script" {
            self.facts.scripts += 1;
        }
        let title = name == b"title";
        // What a browser with scripting off (a mail client) does: <noscript>
        // content is markup, so it is not switched to raw text.
        let state = match name {
            b"textarea" | b"title" => Some(TokState::RcData),
            b"plaintext" => Some(TokState::PlainText),
            b"script" => Some(TokState::ScriptData),
            b"style" | b"iframe" | b"xmp" | b"noembed" | b"noframes" => Some(TokState::RawText),
            _ => None,
        };
        let mut buf = std::mem::take(&mut self.style_buf);
        let hidden =
            self.tag.has("hidden") || self.tag.get("style").is_some_and(|s| hides(s, &mut buf));
        self.style_buf = buf;
        if !can_have_content {
            return None;
        }
        fx.skip = skip;
        fx.hidden = hidden && !skip;
        fx.title = title && (skip || hidden);
        self.open(fx);
        if self.foreign_depth > 0 {
            return None;
        }
        state
    }

    fn end_tag(&mut self, name: &[u8]) {
        if matches!(name, b"svg" | b"math") {
            self.foreign_depth = self.foreign_depth.saturating_sub(1);
        }
        // The nearest open element of that name closes, with everything
        // opened inside it.
        let mut end = self.names.len();
        let mut found = None;
        // Looked for among the innermost few only: unclosed tags by the
        // thousand and as many stray end tags must not cost their product.
        for (i, (start, _)) in self.stack.iter().enumerate().rev().take(MAX_END_SEARCH) {
            if &self.names[*start..end] == name {
                found = Some(i);
                break;
            }
            end = *start;
        }
        if let Some(i) = found {
            while self.stack.len() > i {
                if let Some((start, fx)) = self.stack.pop() {
                    self.names.truncate(start);
                    self.close(fx);
                }
            }
        }
    }

    fn text(&mut self, raw: &str) {
        if self.title_depth > 0 {
            let title = self.facts.title.get_or_insert_with(String::new);
            for c in raw.chars() {
                if title.len() >= 200 {
                    break;
                }
                title.push(if c.is_whitespace() { ' ' } else { c });
            }
        }
        if self.skip_depth > 0 {
            return;
        }
        if raw.trim().is_empty() {
            if !raw.is_empty()
                && !self.facts.visible_text.ends_with(' ')
                && self.facts.visible_text.len() < self.max_text
            {
                self.facts.visible_text.push(' ');
            }
            return;
        }
        let n = raw.chars().filter(|c| !c.is_whitespace()).count();
        if self.hidden_depth > 0 {
            self.facts.hidden_text_chars += n;
            if self.facts.hidden_samples.len() < 3 && n > 0 {
                let sample: String = raw
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(60)
                    .collect();
                self.facts.hidden_samples.push(sample);
            }
            return;
        }
        self.facts.visible_text_chars += n;
        if self.facts.visible_text.len() < self.max_text {
            self.facts.visible_text.push_str(raw);
        }
        if let Some(a) = self.current_anchor {
            let at = self.facts.urls[a]
                .anchor_text
                .get_or_insert_with(String::new);
            if at.len() < 512 {
                at.push_str(raw);
            }
        }
    }

    fn too_big(&mut self, len: usize) -> bool {
        if len > self.max_memory {
            self.facts.error.get_or_insert_with(|| {
                format!(
                    "an HTML token of {len} bytes is over limits.max_html_memory ({})",
                    self.max_memory
                )
            });
            return true;
        }
        false
    }
}

/// The URL of a `<meta http-equiv=refresh content="5; url=...">`.
fn refresh_url(content: &str) -> String {
    let url = content
        .split_once(';')
        .map(|(_, u)| {
            u.trim()
                .trim_start_matches(|c: char| c.is_ascii_alphabetic() && c != 'h' || c == '=')
                .to_string()
        })
        .unwrap_or_default();
    url.trim_start_matches("url=")
        .trim_start_matches("URL=")
        .trim_matches(['\'', '"'])
        .to_string()
}

impl Callback<TokState, usize> for Reader {
    fn handle_event(&mut self, event: CallbackEvent<'_>, span: Span<usize>) -> Option<TokState> {
        match event {
            CallbackEvent::OpenStartTag { name } => {
                self.tag_start = span.start;
                self.tag.name.clear();
                self.tag.name.extend_from_slice(name);
                self.tag.buf.clear();
                self.tag.attrs.clear();
                self.tag.open = true;
            }
            CallbackEvent::AttributeName { name } => {
                // Attributes seen outside a start tag (in an end tag) are
                // ignored, as browsers do; so is a repeated name.
                if self.tag.open && !self.tag.has(&String::from_utf8_lossy(name)) {
                    let s = self.tag.buf.len();
                    self.tag.buf.extend_from_slice(name);
                    let e = self.tag.buf.len();
                    self.tag.attrs.push((s, e, e));
                } else {
                    // A marker that swallows this attribute's value.
                    self.tag.attrs.push((0, 0, usize::MAX));
                }
            }
            CallbackEvent::AttributeValue { value } => {
                if self.too_big(value.len()) {
                    return None;
                }
                if let Some(last) = self.tag.attrs.last_mut()
                    && last.2 != usize::MAX
                    && last.2 == self.tag.buf.len()
                {
                    self.tag.buf.extend_from_slice(value);
                    last.2 = self.tag.buf.len();
                }
            }
            CallbackEvent::CloseStartTag { self_closing } => {
                // Drop the swallow markers before reading.
                self.tag.attrs.retain(|a| a.2 != usize::MAX);
                self.tag.open = false;
                return self.start_tag(self_closing);
            }
            CallbackEvent::EndTag { name } => {
                self.tag.open = false;
                self.end_tag(name);
            }
            CallbackEvent::String { value } => {
                if self.too_big(value.len()) {
                    return None;
                }
                match std::str::from_utf8(value) {
                    Ok(s) => self.text(s),
                    Err(_) => self.text(&String::from_utf8_lossy(value)),
                }
            }
            CallbackEvent::Comment { value } => {
                self.too_big(value.len());
            }
            // A tag cut off by the end of input is dropped (as a browser
            // drops it), but it was held whole until then.
            CallbackEvent::Error(html5gum::Error::EofInTag) => {
                self.too_big(self.len.saturating_sub(self.tag_start));
            }
            CallbackEvent::Doctype { .. } | CallbackEvent::Error(_) => {}
        }
        None
    }
}

/// Read facts from an HTML body. Never fails: a limit is recorded in the
/// facts and what was read so far is kept.
pub fn analyse(html: &str, max_urls: usize, max_text: usize, max_memory: usize) -> HtmlFacts {
    let mut reader = Reader {
        facts: HtmlFacts::default(),
        tag: Tag::default(),
        stack: Vec::new(),
        names: Vec::new(),
        current_anchor: None,
        hidden_depth: 0,
        skip_depth: 0,
        title_depth: 0,
        foreign_depth: 0,
        style_buf: Vec::new(),
        tag_start: 0,
        len: html.len(),
        max_urls,
        max_text,
        max_memory,
    };
    let emitter = CallbackEmitter::new(|ev: CallbackEvent<'_>, span: Span<usize>| {
        reader.handle_event(ev, span)
    });
    let mut tokenizer = Tokenizer::new_with_emitter(html, emitter);
    // The callback hands back the state a start tag's content is read in
    // (the tree builder's job in a browser); the loop applies it.
    while let Some(next) = tokenizer.next() {
        match next {
            Ok(state) => tokenizer.set_state(state),
            Err(never) => match never {},
        }
    }
    drop(tokenizer);
    let mut facts = reader.facts;
    for u in &mut facts.urls {
        if let Some(t) = &mut u.anchor_text {
            *t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_links_forms_and_hidden_text() {
        let html = r#"<html><head><title>t</title><meta http-equiv="refresh" content="0; url=https://evil.example/"></head>
<body><p>Hello <a href="https://evil.example/login?a=1&amp;b=2">www.paypal.com</a></p>
<div style="display: none">hidden words here</div>
<form action="https://collect.example/post"><input type="password" name="p"></form>
<a href="https://x.example/"><img src="https://x.example/i.png"></a><script>var a=1;</script></body></html>"#;
        let f = analyse(html, 100, 10_000, 1 << 20);
        assert!(f.error.is_none(), "{:?}", f.error);
        let a = f
            .urls
            .iter()
            .find(|u| u.raw.starts_with("https://evil.example/login"))
            .unwrap();
        assert_eq!(a.raw, "https://evil.example/login?a=1&b=2");
        assert_eq!(a.anchor_text.as_deref(), Some("www.paypal.com"));
        assert_eq!(f.forms, 1);
        assert_eq!(f.password_inputs, 1);
        assert_eq!(f.meta_refresh.as_deref(), Some("https://evil.example/"));
        assert!(f.hidden_text_chars >= 14);
        assert!(!f.visible_text.contains("var a"));
        assert!(f.urls.iter().any(|u| u.anchor_has_img));
        assert_eq!(f.scripts, 1);
    }

    #[test]
    fn entities() {
        assert_eq!(decode_entities("a&amp;b&#x41;&#66;&bogus;"), "a&bAB&bogus;");
        // The standard's names and fix-ups, and markup stays text.
        assert_eq!(
            decode_entities("paypal&period;com &copy &#128; &#0; <b>x</b> &NewLine;"),
            "paypal.com \u{a9} \u{20ac} \u{fffd} <b>x</b> \n"
        );
    }

    fn read(html: &str) -> HtmlFacts {
        analyse(html, 100, 10_000, 1 << 20)
    }

    #[test]
    fn reads_as_a_browser_tokenizes() {
        // A link inside <script> or <style> is not a link; the first of two
        // hrefs wins; references decode once, as in a browser (so a double
        // escape stays escaped).
        let f = read(
            r#"<script>var s = '<a href="https://in-script.example/">';</script>
<style>a[href="https://in-style.example/"] {}</style>
<a href="https://first.example/?a=1&amp;b=2" HREF="https://second.example/">Pay&shy;Pal &copy; &#x50;ay</a>
<a href="https://x.example/?q=&amp;lt;">x</a>"#,
        );
        let raws: Vec<&str> = f.urls.iter().map(|u| u.raw.as_str()).collect();
        assert_eq!(
            raws,
            [
                "https://first.example/?a=1&b=2",
                "https://x.example/?q=&lt;"
            ]
        );
        assert_eq!(
            f.urls[0].anchor_text.as_deref(),
            Some("Pay\u{ad}Pal \u{a9} Pay")
        );
        assert_eq!(f.scripts, 1);
        assert!(!f.visible_text.contains("in-script"));
    }

    #[test]
    fn noscript_is_markup_in_a_mail_client() {
        // Scripting is off in mail: what <noscript> holds is shown, so its
        // links count (its text stays out of the visible text, as before).
        let f =
            read(r#"<noscript><a href="https://hidden-in-noscript.example/">go</a></noscript>"#);
        assert_eq!(f.urls.len(), 1);
        assert_eq!(f.urls[0].raw, "https://hidden-in-noscript.example/");
    }

    #[test]
    fn hidden_nesting_and_end_tags() {
        let f = read(
            r#"<div hidden><p>one <b>two</b></p></div>shown <div style="DISPLAY : none">three</div>
<svg><title/><rect/></svg>after <title>The &amp; Title</title><a href="https://a.example/">link <img src="https://a.example/i.png" alt="Logo &amp; co"></a> tail"#,
        );
        assert_eq!(f.hidden_text_chars, "onetwothree".len());
        assert!(f.visible_text.contains("shown"));
        assert!(f.visible_text.contains("after"));
        assert!(f.visible_text.contains("tail"));
        assert_eq!(f.title.as_deref(), Some("The & Title"));
        assert_eq!(f.alt_texts, ["Logo & co"]);
        let a = &f.urls[0];
        assert_eq!(a.anchor_text.as_deref(), Some("link"));
        assert!(a.anchor_has_img);
    }

    #[test]
    fn limits_hold_on_hostile_input() {
        // Unclosed everything, a huge attribute, deep nesting: bounded work,
        // the URL limit is recorded.
        let mut h = String::from("<a href='");
        h.push_str(&"x".repeat(1 << 20));
        h.push('\'');
        h.push_str(&"<div hidden>".repeat(20_000));
        h.push_str(&"<a href=https://u.example/>".repeat(500));
        h.push_str(&"</span>".repeat(50_000));
        let f = analyse(&h, 100, 10_000, 1 << 20);
        assert_eq!(f.urls.len(), 100);
        assert!(f.truncated);
        let f = analyse(&h, 100, 10_000, 1 << 10);
        assert!(f.error.is_some_and(|e| e.contains("max_html_memory")));
    }
}
