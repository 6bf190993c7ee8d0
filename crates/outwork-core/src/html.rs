//! HTML body facts, read with lol_html's streaming parser (bounded memory;
//! its output is discarded). Character references are decoded by the one
//! spec decoder, [`decode_entities`].
//!
//! html5gum's WHATWG tokenizer was tried as the reader (issue 14): as fast
//! as lol_html here, but its state machine recurses once per state change
//! inside a token, so a tag with 150,000 attributes (a 1.7 MB message)
//! overflowed a scan thread's stack (a crash, not a verdict). It decodes
//! character references only (see [`decode_entities`]), where its states
//! return to the loop after each reference.

use crate::url::UrlSource;
use html5gum::emitters::callback::{CallbackEmitter, CallbackEvent};
use html5gum::{Span, State as TokState, Tokenizer};
use lol_html::{HtmlRewriter, MemorySettings, Settings, doc_text, element};
use std::cell::RefCell;
use std::rc::Rc;

/// A link-like reference found in HTML.
#[derive(Debug, Clone)]
pub struct HtmlUrl {
    /// The attribute value as written, trimmed, character references decoded (not yet parsed).
    pub raw: String,
    /// Which attribute of which element it came from.
    pub source: UrlSource,
    /// Visible text of the `<a>` (for hrefs), whitespace-collapsed.
    pub anchor_text: Option<String>,
    /// The anchor contains an image (text may be empty).
    pub anchor_has_img: bool,
}

/// What one HTML document (a body part or an HTML attachment) shows and hides, from [`analyse`]
/// (for a whole message, [`Facts::html`](crate::Facts::html) sums its HTML parts).
#[derive(Debug, Default, Clone)]
pub struct HtmlFacts {
    /// Link-like references in document order (`a`/`area` href, `img`/`iframe`/`embed`/`frame` src,
    /// form actions, meta refresh targets), at most `max_urls`; `cid:` images are skipped.
    pub urls: Vec<HtmlUrl>,
    /// `<form>` elements.
    pub forms: usize,
    /// Form `action` values, decoded, in order.
    pub form_actions: Vec<String>,
    /// `<input>`s of type password, or named like one (`passw…`, `pwd`).
    pub password_inputs: usize,
    /// Target of a `<meta http-equiv="refresh">` (the last one), or its whole `content` when no URL
    /// could be read from it.
    pub meta_refresh: Option<String>,
    /// `<script>` elements.
    pub scripts: usize,
    /// `<img>` elements.
    pub images: usize,
    /// Non-white-space characters of text a reader sees (outside script, style, head, title,
    /// noscript, template and hidden elements).
    pub visible_text_chars: usize,
    /// Non-white-space characters of text hidden by `hidden` or an inline style (`display:none`,
    /// `font-size:0`, …).
    pub hidden_text_chars: usize,
    /// First visible text, bounded, for text-URL extraction.
    pub visible_text: String,
    /// The first three hidden text runs, each at most 60 characters, for evidence.
    pub hidden_samples: Vec<String>,
    /// Image alt texts (at most 32, each at most 200 bytes).
    pub alt_texts: Vec<String>,
    /// The document title (at most 200 bytes).
    pub title: Option<String>,
    /// More references than `max_urls`; the rest were dropped.
    pub truncated: bool,
    /// The parser's error (the memory limit, PARSE_HTML_LIMIT); what was read before it is kept.
    pub error: Option<String>,
}

/// Whether an inline style hides its element. Only ASCII whitespace is
/// dropped: CSS knows no other.
fn is_hiding_style(style: &str) -> bool {
    let s: Vec<u8> = style
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| b.to_ascii_lowercase())
        .collect();
    let has = |p: &str| memchr::memmem::find(&s, p.as_bytes()).is_some();
    has("display:none")
        || has("visibility:hidden")
        || has("font-size:0")
        || has("font-size:1px")
        || has("opacity:0;")
        || s.ends_with(b"opacity:0")
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

#[derive(Default)]
struct State {
    facts: HtmlFacts,
    current_anchor: Option<usize>,
    hidden_depth: usize,
    skip_depth: usize,
    title_depth: usize,
    max_urls: usize,
    max_text: usize,
}

/// Read facts from an HTML body. Never fails: a parser error or a limit is
/// recorded in the facts and what was read so far is kept.
pub fn analyse(html: &str, max_urls: usize, max_text: usize, max_memory: usize) -> HtmlFacts {
    let state = Rc::new(RefCell::new(State {
        max_urls,
        max_text,
        ..Default::default()
    }));

    let push_url = |st: &Rc<RefCell<State>>, raw: String, source: UrlSource| -> Option<usize> {
        let mut s = st.borrow_mut();
        if s.facts.urls.len() >= s.max_urls {
            s.facts.truncated = true;
            return None;
        }
        s.facts.urls.push(HtmlUrl {
            raw: decode_entities(raw.trim()),
            source,
            anchor_text: None,
            anchor_has_img: false,
        });
        Some(s.facts.urls.len() - 1)
    };

    let (s1, s2, s3, s4, s5, s6, s7) = (
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
    );
    let settings = Settings {
        element_content_handlers: vec![
            element!("a[href], area[href]", move |el| {
                if let Some(href) = el.get_attribute("href") {
                    let idx = push_url(&s1, href, UrlSource::HtmlHref);
                    if let Some(idx) = idx {
                        s1.borrow_mut().current_anchor = Some(idx);
                        if el.can_have_content() {
                            let st = s1.clone();
                            if let Some(handlers) = el.end_tag_handlers() {
                                let h: lol_html::EndTagHandler<'static> = Box::new(move |_end| {
                                    st.borrow_mut().current_anchor = None;
                                    Ok(())
                                });
                                handlers.push(h);
                            }
                        }
                    }
                }
                Ok(())
            }),
            element!(
                "img[src], iframe[src], embed[src], frame[src], image[href]",
                move |el| {
                    let tag = el.tag_name();
                    if tag == "img" {
                        let mut s = s2.borrow_mut();
                        s.facts.images += 1;
                        if let Some(a) = s.current_anchor {
                            s.facts.urls[a].anchor_has_img = true;
                        }
                        if let Some(alt) = el.get_attribute("alt")
                            && s.facts.alt_texts.len() < 32
                            && !alt.trim().is_empty()
                        {
                            let alt: String = decode_entities(&alt).chars().take(200).collect();
                            s.facts.alt_texts.push(alt);
                        }
                    }
                    if let Some(src) = el.get_attribute("src").or_else(|| el.get_attribute("href"))
                    {
                        // Inline images are not links; data: in iframes is.
                        if !(tag == "img" && src.trim_start().starts_with("cid:")) {
                            push_url(&s2, src, UrlSource::HtmlSrc);
                        }
                    }
                    Ok(())
                }
            ),
            element!("form", move |el| {
                s3.borrow_mut().facts.forms += 1;
                if let Some(action) = el.get_attribute("action") {
                    s3.borrow_mut()
                        .facts
                        .form_actions
                        .push(decode_entities(&action));
                    push_url(&s3, action, UrlSource::HtmlFormAction);
                }
                Ok(())
            }),
            element!("input", move |el| {
                let t = el
                    .get_attribute("type")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let name = el
                    .get_attribute("name")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if t == "password" || name.contains("passw") || name == "pwd" {
                    s4.borrow_mut().facts.password_inputs += 1;
                }
                Ok(())
            }),
            element!("meta[http-equiv]", move |el| {
                let eq = el.get_attribute("http-equiv").unwrap_or_default();
                if eq.eq_ignore_ascii_case("refresh") {
                    let content = el.get_attribute("content").unwrap_or_default();
                    let url = content
                        .split_once(';')
                        .map(|(_, u)| {
                            u.trim()
                                .trim_start_matches(|c: char| {
                                    c.is_ascii_alphabetic() && c != 'h' || c == '='
                                })
                                .to_string()
                        })
                        .unwrap_or_default();
                    let url = url
                        .trim_start_matches("url=")
                        .trim_start_matches("URL=")
                        .trim_matches(['\'', '"'])
                        .to_string();
                    if !url.is_empty() {
                        push_url(&s5, url.clone(), UrlSource::HtmlMetaRefresh);
                    }
                    s5.borrow_mut().facts.meta_refresh =
                        Some(if url.is_empty() { content } else { url });
                }
                Ok(())
            }),
            element!("*", move |el| {
                let tag = el.tag_name();
                let skip = matches!(
                    tag.as_str(),
                    "script" | "style" | "head" | "title" | "noscript" | "template"
                );
                if tag == "script" {
                    s6.borrow_mut().facts.scripts += 1;
                }
                let title = tag == "title";
                let hidden = el.has_attribute("hidden")
                    || el
                        .get_attribute("style")
                        .map(|s| is_hiding_style(&s))
                        .unwrap_or(false);
                if (skip || hidden) && el.can_have_content() {
                    {
                        let mut s = s6.borrow_mut();
                        if skip {
                            s.skip_depth += 1
                        } else {
                            s.hidden_depth += 1
                        }
                        if title {
                            s.title_depth += 1
                        }
                    }
                    let st = s6.clone();
                    if let Some(handlers) = el.end_tag_handlers() {
                        let h: lol_html::EndTagHandler<'static> = Box::new(move |_end| {
                            let mut s = st.borrow_mut();
                            if skip {
                                s.skip_depth = s.skip_depth.saturating_sub(1)
                            } else {
                                s.hidden_depth = s.hidden_depth.saturating_sub(1)
                            }
                            if title {
                                s.title_depth = s.title_depth.saturating_sub(1)
                            }
                            Ok(())
                        });
                        handlers.push(h);
                    }
                }
                Ok(())
            }),
        ],
        document_content_handlers: vec![doc_text!(move |t| {
            let mut s = s7.borrow_mut();
            if s.title_depth > 0 {
                let text = decode_entities(t.as_str());
                let title = s.facts.title.get_or_insert_with(String::new);
                for c in text.chars() {
                    if title.len() >= 200 {
                        break;
                    }
                    title.push(if c.is_whitespace() { ' ' } else { c });
                }
            }
            if s.skip_depth > 0 {
                return Ok(());
            }
            let raw = t.as_str();
            if raw.trim().is_empty() {
                if !raw.is_empty()
                    && !s.facts.visible_text.ends_with(' ')
                    && s.facts.visible_text.len() < s.max_text
                {
                    s.facts.visible_text.push(' ');
                }
                return Ok(());
            }
            let text = decode_entities(raw);
            let n = text.chars().filter(|c| !c.is_whitespace()).count();
            if s.hidden_depth > 0 {
                s.facts.hidden_text_chars += n;
                if s.facts.hidden_samples.len() < 3 && n > 0 {
                    let sample: String = text
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .chars()
                        .take(60)
                        .collect();
                    s.facts.hidden_samples.push(sample);
                }
                return Ok(());
            }
            s.facts.visible_text_chars += n;
            let max_text = s.max_text;
            push_capped(&mut s.facts.visible_text, &text, max_text);
            if let Some(a) = s.current_anchor {
                let at = s.facts.urls[a].anchor_text.get_or_insert_with(String::new);
                push_capped(at, &text, 512);
            }
            Ok(())
        })],
        memory_settings: MemorySettings {
            max_allowed_memory_usage: max_memory,
            ..MemorySettings::new()
        },
        ..Settings::new()
    };
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    let result = rewriter.write(html.as_bytes()).and_then(|_| rewriter.end());
    let mut facts = std::mem::take(&mut state.borrow_mut().facts);
    if let Err(e) = result {
        facts.error = Some(e.to_string());
    }
    for u in &mut facts.urls {
        if let Some(t) = &mut u.anchor_text {
            *t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
    facts
}

/// Appends as much of `text` as fits under `cap` bytes, cut at a char
/// boundary: one text node can be the whole part, so a cap checked only
/// before appending would not bound anything.
fn push_capped(dst: &mut String, text: &str, cap: usize) {
    dst.push_str(crate::facts::truncate_str(
        text,
        cap.saturating_sub(dst.len()),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_stays_under_its_cap_even_from_one_text_node() {
        let body = format!(
            "<p>{}</p><a href=\"https://x.example/\">{}</a>",
            "é".repeat(5000),
            "y".repeat(5000)
        );
        let f = analyse(&body, 50, 101, 1 << 20);
        assert!(f.visible_text.len() <= 101, "{}", f.visible_text.len());
        assert!(f.visible_text.len() >= 99);
        let anchor = f.urls[0].anchor_text.as_deref().unwrap_or("");
        assert!(
            anchor.len() <= 512 && anchor.len() >= 500,
            "{}",
            anchor.len()
        );
    }

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
    fn an_attribute_flood_does_not_exhaust_the_stack() {
        // A WHATWG tokenizer tried here recursed once per attribute and
        // overflowed a scan thread's stack on this: the reader must not.
        let mut h = String::from("<div ");
        for i in 0..150_000 {
            h.push_str(&format!("a{i}=\"x\" "));
        }
        h.push_str("><a href=\"https://after.example/\">x</a>");
        let t = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || analyse(&h, 100, 10_000, 16 << 20))
            .expect("thread");
        let f = t.join().expect("no stack overflow");
        assert!(f.error.is_some() || f.urls.iter().any(|u| u.raw == "https://after.example/"));
        // The decoder's states return to its loop after each reference.
        let t = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| decode_entities(&"&amp;</x&#x41&zz<&".repeat(100_000)).len())
            .expect("thread");
        assert!(t.join().expect("no stack overflow") > 0);
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
        let f = analyse(&h, 100, 10_000, 16 << 20);
        assert_eq!(f.urls.len(), 100);
        assert!(f.truncated);
        let f = analyse(&h, 100, 10_000, 1 << 10);
        // lol_html stops at its memory limit and says so.
        assert!(f.error.is_some());
    }
}
