//! Messages that attack the scanner itself rather than the reader: small on
//! the wire, costly to scan. They reproduce the hostile-senders findings
//! (a zip of identical huge PNGs, a hundred inline images, millions of
//! header lines, millions of tiny parts) for tests, benchmarks and soak
//! runs (`cargo run --release -p outwork-redteam --example hostile -- DIR`).

use std::io::Write as _;

/// A PNG of `side`×`side` white pixels with one `seed`-dependent dark
/// pixel (so copies with different seeds are different files). Compresses
/// to a few kilobytes however large it claims to be.
pub fn blank_png(side: u32, seed: u32) -> Vec<u8> {
    let mut img = image::GrayImage::from_pixel(side, side, image::Luma([255u8]));
    if side > 0 {
        img.put_pixel(seed % side, (seed / side) % side, image::Luma([0u8]));
    }
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::NoFilter,
    );
    // Writing to a Vec only fails on a broken encoder; an empty file is
    // then still a valid (if harmless) test input.
    let _ = image::ImageEncoder::write_image(
        enc,
        img.as_raw(),
        side,
        side,
        image::ExtendedColorType::L8,
    );
    out
}

/// A QR code PNG carrying `url`.
pub fn qr_png(url: &str) -> Vec<u8> {
    let Ok(code) = qrcode::QrCode::new(url.as_bytes()) else {
        return Vec::new();
    };
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(300, 300)
        .build();
    let mut out = Vec::new();
    let _ = img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png);
    out
}

/// A zip of `files` deflated members.
pub fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            if z.start_file(name.as_str(), opts).is_err() || z.write_all(data).is_err() {
                break;
            }
        }
        let _ = z.finish();
    }
    buf.into_inner()
}

/// Base64 in 76-character lines, as mail carries it.
fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    let flat = base64::engine::general_purpose::STANDARD.encode(data);
    let mut s = String::with_capacity(flat.len() + flat.len() / 76 * 2 + 2);
    for line in flat.as_bytes().chunks(76) {
        s.push_str(std::str::from_utf8(line).unwrap_or_default());
        s.push_str("\r\n");
    }
    s
}

const HEAD: &str = "From: Billing <billing@invoices.example.net>\r\n\
To: victim@example.org\r\n\
Subject: Your documents\r\n\
Message-ID: <hostile@example.net>\r\n\
Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\n";

/// A multipart/mixed message with a short text part and `parts`
/// (content type, file name, bytes) as base64 attachments.
pub fn message_with(parts: &[(&str, String, Vec<u8>)]) -> Vec<u8> {
    let mut m = String::from(HEAD);
    m.push_str("Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
    m.push_str("--b0\r\nContent-Type: text/plain\r\n\r\nPlease see the attached documents.\r\n");
    for (ct, name, data) in parts {
        m.push_str(&format!(
            "--b0\r\nContent-Type: {ct}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        ));
        m.push_str(&b64(data));
    }
    m.push_str("--b0--\r\n");
    m.into_bytes()
}

/// The QR bomb: a zip of `copies` identical 4096×4096 PNGs (≈320 KB as a
/// message for 600 copies).
pub fn qr_bomb_zip(copies: usize) -> Vec<u8> {
    let png = blank_png(4096, 1);
    let files: Vec<(String, Vec<u8>)> = (0..copies)
        .map(|i| (format!("scan{i:04}.png"), png.clone()))
        .collect();
    message_with(&[("application/zip", "scans.zip".into(), zip_of(&files))])
}

/// `count` distinct `side`×`side` inline PNGs, each a different file.
pub fn inline_images(count: usize, side: u32) -> Vec<u8> {
    let parts: Vec<(&str, String, Vec<u8>)> = (0..count)
        .map(|i| {
            (
                "image/png",
                format!("img{i:03}.png"),
                blank_png(side, i as u32 + 1),
            )
        })
        .collect();
    message_with(&parts)
}

/// A message of `lines` tiny header lines (a few bytes each).
pub fn many_headers(lines: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(lines * 6 + 256);
    for _ in 0..lines {
        m.extend_from_slice(b"X:1\r\n");
    }
    m.extend_from_slice(HEAD.as_bytes());
    m.extend_from_slice(b"Content-Type: text/plain\r\n\r\nhello\r\n");
    m
}

/// A message of `parts` tiny MIME parts.
pub fn many_parts(parts: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(parts * 12 + 256);
    m.extend_from_slice(HEAD.as_bytes());
    m.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
    for _ in 0..parts {
        m.extend_from_slice(b"--b\r\n\r\nx\r\n");
    }
    m.extend_from_slice(b"--b--\r\n");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_bomb_is_small_on_the_wire() {
        let m = qr_bomb_zip(600);
        assert!(m.len() < 600_000, "{} bytes", m.len());
        let png = blank_png(4096, 1);
        let dims = image::ImageReader::new(std::io::Cursor::new(&png))
            .with_guessed_format()
            .ok()
            .and_then(|r| r.into_dimensions().ok());
        assert_eq!(dims, Some((4096, 4096)));
    }

    #[test]
    fn base64_round_trips_through_mail_parser() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let m = message_with(&[("application/octet-stream", "x.bin".into(), data.clone())]);
        let parsed = mail_parser::MessageParser::default().parse(&m);
        let got = parsed
            .as_ref()
            .and_then(|p| p.attachments().next().map(|a| a.contents().to_vec()));
        assert_eq!(got, Some(data));
    }
}
