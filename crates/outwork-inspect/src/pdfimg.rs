//! QR codes in images inside PDFs: the quishing PDF carries no /URI, only
//! a picture of a code. Image XObjects are decoded when they are JPEG
//! (`/DCTDecode`, handed to the image decoder as is) or 8-bit grey/RGB
//! pixels, raw or `/FlateDecode`d (PNG predictors included), which covers
//! what PDF generators write for a pasted QR picture. Other encodings
//! (JBIG2, CCITT, JPX, indexed colour) are skipped.

use crate::{Finding, MessageBudget};
use std::io::Read;

/// Image streams decoded per PDF, and the pixel count of one image.
const MAX_IMAGES: usize = 8;
const MAX_PIXELS: u64 = 4 << 20;

/// Report the links in QR codes of the PDF's images.
pub(crate) fn pdf_qr_links(
    path: &str,
    data: &[u8],
    msg: &mut MessageBudget,
    out: &mut Vec<Finding>,
) {
    let mut decoded = 0;
    let finder = memchr::memmem::Finder::new(b"stream");
    let mut pos = 0;
    let mut last_end = 0;
    while decoded < MAX_IMAGES {
        let Some(p) = finder.find(&data[pos..]) else {
            break;
        };
        let i = pos + p;
        pos = i + 6;
        let Some((start, end)) = crate::content::pdf_stream_at(data, i) else {
            continue;
        };
        let lo = i.saturating_sub(4096).max(last_end).min(i);
        let dict_start = memchr::memmem::rfind(&data[lo..i], b"obj").map_or(lo, |p| lo + p);
        let dict = &data[dict_start..i];
        pos = end.max(pos);
        last_end = pos;
        if !has_name(dict, b"Image") {
            continue;
        }
        decoded += 1;
        let payloads = decode_image(path, dict, &data[start..end], msg, out);
        if !payloads.is_empty() {
            crate::qr::payload_links(path, payloads, "QR code in a PDF image", out);
        }
    }
}

fn has_name(dict: &[u8], name: &[u8]) -> bool {
    let mut n = Vec::with_capacity(name.len() + 1);
    n.push(b'/');
    n.extend_from_slice(name);
    memchr::memmem::find_iter(dict, &n).any(|p| {
        dict.get(p + n.len())
            .is_none_or(|b| !b.is_ascii_alphanumeric())
    })
}

/// The integer after `/Key` in a dictionary.
fn int_after(dict: &[u8], key: &[u8]) -> Option<u64> {
    let mut n = Vec::with_capacity(key.len() + 1);
    n.push(b'/');
    n.extend_from_slice(key);
    let p = memchr::memmem::find(dict, &n)? + n.len();
    let rest = &dict[p..];
    let s = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let digits: Vec<u8> = rest[s..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .take(9)
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn decode_image(
    path: &str,
    dict: &[u8],
    body: &[u8],
    msg: &mut MessageBudget,
    out: &mut Vec<Finding>,
) -> Vec<String> {
    if has_name(dict, b"DCTDecode") {
        return crate::qr::decode_budgeted(path, body, msg, out);
    }
    let (Some(w), Some(h)) = (int_after(dict, b"Width"), int_after(dict, b"Height")) else {
        return Vec::new();
    };
    if w == 0 || h == 0 || int_after(dict, b"BitsPerComponent") != Some(8) {
        return Vec::new();
    }
    if w.saturating_mul(h) > MAX_PIXELS {
        let what =
            format!("PDF image {w}×{h} is over {MAX_PIXELS} pixels: not decoded for QR codes");
        msg.too_large(path, what, out);
        return Vec::new();
    }
    if !msg.first_sight(body) || !msg.allow_image(path, w, h, out) {
        return Vec::new();
    }
    let channels: u64 = if has_name(dict, b"DeviceGray") {
        1
    } else if has_name(dict, b"DeviceRGB") {
        3
    } else {
        return Vec::new();
    };
    let predictor = int_after(dict, b"Predictor").unwrap_or(1);
    let row = w * channels;
    let want = if predictor >= 10 {
        (row + 1) * h
    } else {
        row * h
    };
    let raw: Vec<u8> = if has_name(dict, b"FlateDecode") {
        let mut buf = Vec::new();
        let _ = flate2::read::ZlibDecoder::new(body)
            .take(want)
            .read_to_end(&mut buf);
        buf
    } else if dict.windows(7).any(|w| w == b"/Filter") {
        return Vec::new(); // an encoding we don't decode
    } else {
        body.iter().take(want as usize).copied().collect()
    };
    if (raw.len() as u64) < want {
        return Vec::new();
    }
    let pixels = if predictor >= 10 {
        match unpredict_png(&raw, row as usize, channels as usize, h as usize) {
            Some(p) => p,
            None => return Vec::new(),
        }
    } else {
        raw
    };
    let grey: Vec<u8> = if channels == 1 {
        pixels
    } else {
        pixels
            .chunks_exact(3)
            .map(|p| {
                ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000)
                    as u8
            })
            .collect()
    };
    match image::GrayImage::from_raw(w as u32, h as u32, grey) {
        Some(img) => crate::qr::or_report(path, crate::qr::decode_luma(img), out),
        None => Vec::new(),
    }
}

/// Undo PNG row filters (PDF `/Predictor` 10–15): each row starts with its
/// filter type byte.
fn unpredict_png(raw: &[u8], row: usize, bpp: usize, rows: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; row * rows];
    for y in 0..rows {
        let src = raw.get(y * (row + 1)..(y + 1) * (row + 1))?;
        let (kind, src) = (src[0], &src[1..]);
        let (done, cur) = out.split_at_mut(y * row);
        let prev = if y == 0 {
            None
        } else {
            Some(&done[(y - 1) * row..])
        };
        let cur = &mut cur[..row];
        for x in 0..row {
            let a = if x >= bpp { cur[x - bpp] } else { 0 };
            let b = prev.map_or(0, |p| p[x]);
            let c = if x >= bpp {
                prev.map_or(0, |p| p[x - bpp])
            } else {
                0
            };
            let v = src[x];
            cur[x] = match kind {
                0 => v,
                1 => v.wrapping_add(a),
                2 => v.wrapping_add(b),
                3 => v.wrapping_add(((u16::from(a) + u16::from(b)) / 2) as u8),
                4 => v.wrapping_add(paeth(a, b, c)),
                _ => return None,
            };
        }
    }
    Some(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_up_and_sub_filters_undo() {
        // 2×2 grey: row 0 "sub" [10, +5] → [10, 15]; row 1 "up" [+1, +1] → [11, 16].
        let raw = [1, 10, 5, 2, 1, 1];
        assert_eq!(unpredict_png(&raw, 2, 1, 2), Some(vec![10, 15, 11, 16]));
        assert_eq!(unpredict_png(&[9, 0, 0], 2, 1, 1), None);
    }

    #[test]
    fn dictionary_numbers_and_names() {
        let d = b"<< /Type /XObject /Subtype /Image /Width 120 /Height  80 /ColorSpace /DeviceGray /BitsPerComponent 8 >>";
        assert_eq!(int_after(d, b"Width"), Some(120));
        assert_eq!(int_after(d, b"Height"), Some(80));
        assert!(has_name(d, b"Image"));
        assert!(!has_name(b"/ImageMask true", b"Image"));
    }
}
