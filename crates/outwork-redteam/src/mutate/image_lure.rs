//! `image-lure`: the lure text rendered into an inline PNG (an 8×8 bitmap
//! font at twice its size), the image linking to the call to action, and
//! no text left in the body for a classifier to read.

use super::*;

/// Characters per line and lines at most in the image.
const COLUMNS: usize = 64;
const MAX_LINES: usize = 40;
/// Pixels per font pixel, margin, line height (pixels).
const SCALE: u32 = 2;
const MARGIN: u32 = 24;
const LINE_HEIGHT: u32 = 8 * SCALE + 6;

/// The lure as the recipient reads it: the visible text, link anchors as
/// their text (a bare URL stays a URL), paragraphs kept.
pub(super) fn lure_text(m: &Model) -> String {
    let mut links = Vec::new();
    let source = if let Some(html) = &m.html {
        html_visible(html, &mut links)
    } else if let Some(text) = &m.text {
        let mut out = String::new();
        placehold_urls(text, &mut links, &mut out);
        tidy(&out)
    } else {
        String::new()
    };
    let mut out = String::with_capacity(source.len());
    for piece in split_placeholders(&source) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Link(n) => {
                if let Some(l) = n.checked_sub(1).and_then(|k| links.get(k)) {
                    let a = l.anchor.trim();
                    out.push_str(if a.is_empty() { &l.url } else { a });
                }
            }
        }
    }
    tidy(&out)
}

/// Word-wrapped lines of `text`, at most [`MAX_LINES`].
pub(super) fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            // A word longer than a line is cut.
            let mut word: String = word.chars().take(COLUMNS).collect();
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > COLUMNS {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&std::mem::take(&mut word));
        }
        lines.push(line);
        if lines.len() >= MAX_LINES {
            break;
        }
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines.truncate(MAX_LINES);
    lines
}

fn glyph(c: char) -> [u8; 8] {
    let n = c as usize;
    let g = if n < 128 {
        font8x8::legacy::BASIC_LEGACY.get(n)
    } else if (0xA0..0x100).contains(&n) {
        font8x8::legacy::LATIN_LEGACY.get(n - 0xA0)
    } else {
        None
    };
    g.copied()
        .unwrap_or(font8x8::legacy::BASIC_LEGACY[usize::from(b'?')])
}

/// `lines` drawn black on white.
pub(super) fn render(lines: &[String]) -> image::GrayImage {
    let cols = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    let w = 2 * MARGIN + cols.max(1) * 8 * SCALE;
    let h = 2 * MARGIN + (lines.len().max(1) as u32) * LINE_HEIGHT;
    let mut img = image::GrayImage::from_pixel(w, h, image::Luma([255]));
    for (row, line) in lines.iter().enumerate() {
        for (col, c) in line.chars().enumerate() {
            let g = glyph(c);
            let (x0, y0) = (
                MARGIN + col as u32 * 8 * SCALE,
                MARGIN + row as u32 * LINE_HEIGHT,
            );
            for (gy, bits) in g.iter().enumerate() {
                for gx in 0..8u32 {
                    if bits >> gx & 1 == 1 {
                        for dy in 0..SCALE {
                            for dx in 0..SCALE {
                                let (x, y) = (x0 + gx * SCALE + dx, y0 + gy as u32 * SCALE + dy);
                                if x < w && y < h {
                                    img.put_pixel(x, y, image::Luma([20]));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    img
}

pub(super) fn op_image_lure(
    m: &mut Model,
    rng: &mut Rng,
    notes: &mut Vec<String>,
) -> Result<(), MutateError> {
    let text = lure_text(m);
    if text.trim().is_empty() {
        notes.push("image-lure: no visible text, message unchanged".into());
        return Ok(());
    }
    let lines = wrap(&text);
    let img = render(&lines);
    let (w, h) = img.dimensions();
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| MutateError::Build(format!("image-lure: encoding the PNG: {e}")))?;
    let links = collect_links(m);
    let cid = format!("image{:03}.png@{:08x}", 1 + rng.below(9), rng.next() as u32);
    let img_tag = format!("<img src=\"cid:{cid}\" alt=\"\" width=\"{w}\" height=\"{h}\">");
    let body = match links.first() {
        Some(url) => format!("<a href=\"{}\">{img_tag}</a>", esc_attr(url)),
        None => img_tag,
    };
    m.html = Some(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{body}\n</body></html>\n"
    ));
    m.text = None;
    // The old HTML's inline images went with it.
    let dropped = m.related.len();
    m.related.clear();
    m.related.push(Part {
        content_type: "image/png".into(),
        utf8: false,
        filename: Some(cid.split('@').next().unwrap_or("image001.png").to_string()),
        cid: Some(cid),
        inline: true,
        bytes: png,
    });
    notes.push(format!(
        "image-lure: {} lines of lure text ({} bytes) rendered into a {w}x{h} PNG{}; text body removed, {dropped} old inline image(s) dropped",
        lines.len(),
        text.len(),
        match links.first() {
            Some(u) => format!(" linking to {u}"),
            None => String::new(),
        }
    ));
    if links.len() > 1 {
        notes.push(format!(
            "image-lure: {} other link(s) dropped",
            links.len() - 1
        ));
    }
    Ok(())
}
