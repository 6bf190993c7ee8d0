//! QR codes inside PDF images: the PDFs are written here, with the QR
//! image stored the ways PDF producers store it (raw grey, Flate with and
//! without PNG predictors, RGB, JPEG/DCT).

use flate2::Compression;
use flate2::write::ZlibEncoder;
use outwork_inspect::{Finding, Limits, inspect};
use std::io::Write;

const URL: &str = "https://m1crosoft-mfa.example/enrol?id=7731";

fn qr_grey() -> image::GrayImage {
    qrcode::QrCode::new(URL.as_bytes())
        .expect("qr")
        .render::<image::Luma<u8>>()
        .min_dimensions(240, 240)
        .build()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).expect("zlib");
    e.finish().expect("zlib")
}

/// A one-page PDF whose page draws one image XObject.
fn pdf_with_image(dict_extra: &str, w: u32, h: u32, stream: &[u8]) -> Vec<u8> {
    let mut pdf = Vec::new();
    pdf.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    pdf.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    pdf.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    pdf.extend_from_slice(b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>\nendobj\n");
    pdf.extend_from_slice(
        format!(
            "4 0 obj\n<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /BitsPerComponent 8 {dict_extra} /Length {} >>\nstream\n",
            stream.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(stream);
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let content = b"q 200 0 0 200 100 400 cm /Im1 Do Q";
    pdf.extend_from_slice(format!("5 0 obj\n<< /Length {} >>\nstream\n", content.len()).as_bytes());
    pdf.extend_from_slice(content);
    pdf.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    pdf
}

fn qr_links(findings: &[Finding]) -> Vec<(String, String)> {
    findings
        .iter()
        .filter_map(|f| match f {
            Finding::Link { url, found_in, .. } => Some((url.clone(), found_in.clone())),
            _ => None,
        })
        .collect()
}

fn expect_qr(pdf: &[u8]) {
    let f = inspect("scan-to-enrol.pdf", pdf, &[], &Limits::default());
    assert_eq!(
        qr_links(&f),
        vec![(URL.to_string(), "QR code in a PDF image".to_string())],
        "{f:?}"
    );
}

#[test]
fn raw_grey_image() {
    let img = qr_grey();
    let (w, h) = img.dimensions();
    expect_qr(&pdf_with_image(
        "/ColorSpace /DeviceGray",
        w,
        h,
        img.as_raw(),
    ));
}

#[test]
fn flate_grey_image() {
    let img = qr_grey();
    let (w, h) = img.dimensions();
    expect_qr(&pdf_with_image(
        "/ColorSpace /DeviceGray /Filter /FlateDecode",
        w,
        h,
        &zlib(img.as_raw()),
    ));
}

#[test]
fn flate_rgb_image_with_png_predictor() {
    let img = qr_grey();
    let (w, h) = img.dimensions();
    // PNG "up" filter on every row of an RGB rendering, as PNG-derived
    // PDF images are stored.
    let rgb: Vec<u8> = img.as_raw().iter().flat_map(|&g| [g, g, g]).collect();
    let row = (w * 3) as usize;
    let mut filtered = Vec::new();
    for y in 0..h as usize {
        filtered.push(2u8);
        for x in 0..row {
            let above = if y == 0 { 0 } else { rgb[(y - 1) * row + x] };
            filtered.push(rgb[y * row + x].wrapping_sub(above));
        }
    }
    expect_qr(&pdf_with_image(
        &format!(
            "/ColorSpace /DeviceRGB /Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors 3 /Columns {w} >>"
        ),
        w,
        h,
        &zlib(&filtered),
    ));
}

#[test]
fn jpeg_image() {
    let img = qr_grey();
    let (w, h) = img.dimensions();
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("jpeg");
    expect_qr(&pdf_with_image(
        "/ColorSpace /DeviceGray /Filter /DCTDecode",
        w,
        h,
        &jpeg,
    ));
}

#[test]
fn qr_decoding_can_be_switched_off() {
    let img = qr_grey();
    let (w, h) = img.dimensions();
    let pdf = pdf_with_image("/ColorSpace /DeviceGray", w, h, img.as_raw());
    let limits = Limits {
        decode_qr: false,
        ..Limits::default()
    };
    assert!(qr_links(&inspect("a.pdf", &pdf, &[], &limits)).is_empty());
}

#[test]
fn lying_dimensions_and_truncated_streams_find_nothing() {
    let img = qr_grey();
    // Claims more pixels than the stream holds; claims an absurd size.
    for (w, h) in [(240u32, 2400u32), (100_000, 100_000), (0, 5)] {
        let pdf = pdf_with_image("/ColorSpace /DeviceGray", w, h, &img.as_raw()[..1000]);
        assert!(qr_links(&inspect("a.pdf", &pdf, &[], &Limits::default())).is_empty());
    }
}
