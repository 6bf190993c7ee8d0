//! QR codes in images ("quishing"): decode every QR code in a PNG, JPEG or
//! GIF and report the URLs they carry, so they meet the same link and
//! intel checks as links in the body.

use crate::guard::Panicked;
use crate::{Finding, MessageBudget};

/// Largest image side decoded, and the decoder's allocation cap.
const MAX_SIDE: u32 = 4096;
const MAX_ALLOC: u64 = 64 << 20;
/// Images above this many pixels are scaled down first: QR codes in mail
/// are large and clean, and detection time grows with the pixel count.
const MAX_PIXELS: u32 = 1_500_000;

/// PNG, JPEG or GIF, by magic bytes (the formats decoded for QR codes).
pub(crate) fn is_image(data: &[u8]) -> bool {
    data.starts_with(b"\x89PNG") || data.starts_with(b"\xFF\xD8\xFF") || data.starts_with(b"GIF8")
}

/// Decoded QR payloads (at most 8) of an image; empty when it has none or
/// can't be decoded (a decoder panic included: caught and reported).
pub fn decode(data: &[u8]) -> Vec<String> {
    try_decode(data).unwrap_or_default()
}

/// [`decode`], telling a decoder panic apart from "no QR code".
pub(crate) fn try_decode(data: &[u8]) -> Result<Vec<String>, Panicked> {
    if !is_image(data) || data.len() > 16 << 20 {
        return Ok(Vec::new());
    }
    // Third-party decoders on hostile bytes: a panic there must not take
    // the scan down.
    crate::guard::run(|| decode_inner(data))
}

fn decode_inner(data: &[u8]) -> Vec<String> {
    let Ok(mut reader) = image::ImageReader::new(std::io::Cursor::new(data)).with_guessed_format()
    else {
        return Vec::new();
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let Ok(img) = reader.decode() else {
        return Vec::new();
    };
    decode_luma_inner(img.to_luma8())
}

/// QR payloads (at most 8) in an already decoded grey image; a decoder
/// panic is [`Panicked`].
pub(crate) fn decode_luma(luma: image::GrayImage) -> Result<Vec<String>, Panicked> {
    crate::guard::run(|| decode_luma_inner(luma))
}

/// The payloads of a guarded decode; a panic is reported as a
/// [`Finding::Malformed`] (see [`Finding::is_failure`]) and yields none.
pub(crate) fn or_report(
    path: &str,
    decoded: Result<Vec<String>, Panicked>,
    out: &mut Vec<Finding>,
) -> Vec<String> {
    decoded.unwrap_or_else(|_| {
        out.push(Finding::Malformed {
            path: path.to_string(),
            what: format!("{} (QR decoder) on hostile input", crate::guard::FAILED),
        });
        Vec::new()
    })
}

fn decode_luma_inner(mut luma: image::GrayImage) -> Vec<String> {
    let (w, h) = luma.dimensions();
    if w.saturating_mul(h) > MAX_PIXELS {
        let scale = (MAX_PIXELS as f64 / (w as f64 * h as f64)).sqrt();
        let (nw, nh) = (
            ((w as f64 * scale) as u32).max(1),
            ((h as f64 * scale) as u32).max(1),
        );
        luma = image::imageops::resize(&luma, nw, nh, image::imageops::FilterType::Triangle);
    }
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    prepared
        .detect_grids()
        .into_iter()
        .take(8)
        .filter_map(|g| g.decode().ok().map(|(_, content)| content))
        .collect()
}

/// Width and height from the image's header, without decoding pixels.
fn dimensions(data: &[u8]) -> Option<(u32, u32)> {
    image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

/// [`decode`] within the message's budget: a copy of an image already
/// decoded is skipped, and an image is decoded only if its header's size
/// fits what is left (a refusal is a finding).
pub(crate) fn decode_budgeted(
    path: &str,
    data: &[u8],
    msg: &mut MessageBudget,
    out: &mut Vec<Finding>,
) -> Vec<String> {
    if !is_image(data) || !msg.first_sight(data) {
        return Vec::new();
    }
    if data.len() > 16 << 20 {
        let what = format!(
            "image of {} bytes is over 16 MiB: not decoded for QR codes",
            data.len()
        );
        msg.too_large(path, what, out);
        return Vec::new();
    }
    let Some((w, h)) = dimensions(data) else {
        return Vec::new();
    };
    let side = u64::from(MAX_SIDE);
    if u64::from(w) > side || u64::from(h) > side {
        let what = format!("image {w}×{h} has a side over {MAX_SIDE}: not decoded for QR codes");
        msg.too_large(path, what, out);
        return Vec::new();
    }
    if !msg.allow_image(path, u64::from(w), u64::from(h), out) {
        return Vec::new();
    }
    or_report(path, try_decode(data), out)
}

/// Report the URLs in an image's QR codes as links.
pub(crate) fn qr_links(path: &str, data: &[u8], msg: &mut MessageBudget, out: &mut Vec<Finding>) {
    let payloads = decode_budgeted(path, data, msg, out);
    payload_links(path, payloads, "QR code", out);
}

/// Push the URLs among decoded QR `payloads` as links.
pub(crate) fn payload_links(
    path: &str,
    payloads: Vec<String>,
    found_in: &str,
    out: &mut Vec<Finding>,
) {
    for content in payloads {
        let c = content.trim();
        let lower = c.to_ascii_lowercase();
        let url = if lower.starts_with("http://") || lower.starts_with("https://") {
            Some(c.to_string())
        } else if lower.starts_with("www.") {
            Some(format!("http://{c}"))
        } else {
            lower
                .find("http")
                .map(|i| c[i..].split_whitespace().next().unwrap_or("").to_string())
                .filter(|u| u.contains("://"))
        };
        if let Some(url) = url {
            let url: String = url.chars().take(2048).collect();
            out.push(Finding::Link {
                path: path.to_string(),
                url,
                found_in: found_in.to_string(),
            });
        }
    }
}
