//! HTML body signals: forms, self-redirects, hidden text, image-only mail.

use crate::context::Context;
use crate::facts::Facts;
use crate::symbol::Hits;

pub(crate) fn signals(facts: &Facts, _ctx: &Context, hits: &mut Hits) {
    if !facts.has_html {
        return;
    }
    let h = &facts.html;
    if h.forms > 0 {
        hits.add("HTML_FORM", format!("{} form(s) in the body", h.forms));
        for a in &h.form_actions {
            let a = a.trim();
            if a.starts_with("http://") || a.starts_with("https://") || a.starts_with("//") {
                let short: String = a.chars().take(100).collect();
                hits.add("HTML_FORM_REMOTE_ACTION", format!("form posts to {short}"));
            }
        }
    }
    if h.password_inputs > 0 {
        hits.add(
            "HTML_PASSWORD_FIELD",
            format!("{} password field(s) in the body", h.password_inputs),
        );
    }
    if let Some(r) = &h.meta_refresh {
        let short: String = r.chars().take(100).collect();
        hits.add("HTML_META_REFRESH", format!("meta refresh to {short}"));
    }
    // Newsletters hide a short preheader; hiding more text than is shown,
    // or a lot of it, is how filters are fed words readers never see.
    let hidden = h.hidden_text_chars;
    if hidden >= 300 || (hidden >= 40 && hidden > h.visible_text_chars) {
        let sample = h.hidden_samples.first().cloned().unwrap_or_default();
        hits.add(
            "HTML_HIDDEN_TEXT",
            format!(
                "{hidden} hidden characters vs {} visible, e.g. \"{sample}\"",
                h.visible_text_chars
            ),
        );
    }
    let image_links = facts
        .urls
        .iter()
        .filter(|u| u.anchor_has_img && u.via.is_none())
        .count();
    if h.images > 0 && image_links > 0 && h.visible_text_chars + facts.text_chars < 120 {
        hits.add(
            "HTML_IMAGE_ONLY_LINK",
            format!(
                "{} image(s), {image_links} image link(s), {} characters of text",
                h.images, h.visible_text_chars
            ),
        );
    }
    if h.scripts > 0 {
        hits.add(
            "HTML_SCRIPT",
            format!("{} script element(s) in the body", h.scripts),
        );
    }
}
