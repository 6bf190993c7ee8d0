//! `plain-text`: no HTML at all. The text alternative stays when there is
//! one; else the HTML's visible text becomes the one text/plain body, each
//! link a bare URL after its anchor text. The HTML's inline images go with
//! it, attachments stay.

use super::*;

pub(super) fn op_plain_text(m: &mut Model, notes: &mut Vec<String>) {
    let Some(html) = m.html.take() else {
        notes.push("plain-text: no HTML body, message unchanged".into());
        return;
    };
    // The sender's own text alternative, when there is one, is what a
    // plain-text send carries.
    if m.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        let images = m.related.len();
        m.related.clear();
        notes.push(format!(
            "plain-text: HTML dropped ({} bytes), the text part kept, {images} inline image(s) dropped",
            html.len()
        ));
        return;
    }
    let mut links = Vec::new();
    let visible = html_visible(&html, &mut links);
    let mut text = String::with_capacity(visible.len() + 64 * links.len());
    for piece in split_placeholders(&visible) {
        match piece {
            Piece::Text(t) => text.push_str(t),
            Piece::Link(n) => {
                if let Some(l) = n.checked_sub(1).and_then(|k| links.get(k)) {
                    // A URL glued to a word would not be found by a reader
                    // (or a filter) as one: give it room.
                    if !text.is_empty() && !text.ends_with(char::is_whitespace) {
                        text.push(' ');
                    }
                    let anchor = l.anchor.trim();
                    if !anchor.is_empty() && anchor != l.url && !looks_like_link_text(anchor) {
                        text.push_str(anchor);
                        text.push(' ');
                    }
                    text.push_str(&l.url);
                    text.push(' ');
                }
            }
        }
    }
    let text = tidy(&text);
    if text.trim().is_empty() {
        notes.push("plain-text: the HTML body had no visible text; dropped".into());
    } else {
        m.text = Some(format!("{}\n", text.trim_end()));
    }
    let images = m.related.len();
    m.related.clear();
    notes.push(format!(
        "plain-text: HTML dropped ({} bytes), {} link(s) bare in a {}-byte text body made from it, {images} inline image(s) dropped",
        html.len(),
        links.len(),
        m.text.as_ref().map_or(0, String::len),
    ));
}
