//! The HTML reader before the tokenizer: lol_html's rewriter with its
//! output thrown away. Kept only as an oracle for the differential check
//! (`--features lol-html-oracle`, `examples/html_diff.rs`).

use super::{HtmlFacts, HtmlUrl, decode_entities, is_hiding_style};
use crate::url::UrlSource;
use lol_html::html_content::ContentType;
use lol_html::{HtmlRewriter, MemorySettings, Settings, doc_text, element};
use std::cell::RefCell;
use std::rc::Rc;

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

    let (s1, s2, s3, s4, s5, s6, s7, s8) = (
        state.clone(),
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
            if s.facts.visible_text.len() < s.max_text {
                s.facts.visible_text.push_str(&text);
            }
            if let Some(a) = s.current_anchor {
                let at = s.facts.urls[a].anchor_text.get_or_insert_with(String::new);
                if at.len() < 512 {
                    at.push_str(&text);
                }
            }
            Ok(())
        })],
        memory_settings: MemorySettings {
            max_allowed_memory_usage: max_memory,
            ..MemorySettings::new()
        },
        ..Settings::new()
    };
    let _ = (s8, ContentType::Text);
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
