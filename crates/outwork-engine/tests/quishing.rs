//! QR-code phishing end to end: a message whose only link is in a QR code
//! image is flagged, and the QR link meets the same checks as body links.

use base64::Engine as _;
use outwork_core::Action;

fn qr_png(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).expect("qr");
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(300, 300)
        .build();
    let mut png = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    png
}

fn message(body: &str, png: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(png);
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "From: \"IT Service Desk\" <helpdesk@it-desk-notice.example>\r\nTo: staff@northwind.example\r\nSubject: MFA re-enrolment required\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>{body}</p><img src=\"cid:qr1\"></body></html>\r\n--b\r\nContent-Type: image/png\r\nContent-ID: <qr1>\r\nContent-Disposition: inline; filename=\"qr.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        wrapped.join("\r\n")
    )
    .into_bytes()
}

#[test]
fn qr_only_call_to_action_is_flagged_with_the_decoded_link() {
    let png = qr_png("https://micros0ft-login.example/mfa?u=staff");
    let msg = message("Scan the code with your phone to keep your account.", &png);
    let v = scan(&msg);
    let names: Vec<&str> = v.symbols.iter().map(|s| s.name).collect();
    assert!(names.contains(&"QR_ONLY_CALL_TO_ACTION"), "{names:?}");
    let qr = v
        .symbols
        .iter()
        .find(|s| s.name == "QR_CODE_URL")
        .expect("QR_CODE_URL");
    assert!(
        qr.evidence[0].contains("micros0ft-login.example")
            && qr.evidence[0].contains("QR code in qr.png"),
        "{:?}",
        qr.evidence
    );
    // The decoded link meets the lookalike checks like a body link.
    assert!(
        names.contains(&"LOOKALIKE_BRAND_URL") || names.contains(&"BRAND_IN_DOMAIN"),
        "{names:?}"
    );
    assert_ne!(v.action, Action::Accept);
}

#[test]
fn an_image_without_a_qr_code_adds_nothing() {
    let img = image::GrayImage::from_fn(200, 120, |x, y| {
        image::Luma([((x * 7 + y * 3) % 255) as u8])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let msg = message("Our new office, pictured.", &png);
    let v = scan(&msg);
    assert!(
        !v.symbols.iter().any(|s| s.name.starts_with("QR_")),
        "{:?}",
        v.symbols
    );
}

#[test]
fn hostile_images_never_panic() {
    let png = qr_png("https://example.org/");
    for cut in [8, 33, 100, png.len() / 2, png.len() - 1] {
        let _ = scan(&message("x", &png[..cut]));
    }
    // A PNG header claiming a huge image is refused by the decoder's limits.
    let mut huge = png.clone();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let _ = scan(&message("x", &huge));
}

/// A scan through the one pipeline, offline and with the default config.
fn scan(raw: &[u8]) -> outwork_core::Verdict {
    outwork_engine::Scanner::offline(std::sync::Arc::new(outwork_core::Context::default()))
        .scan(raw, &Default::default(), &Default::default())
        .verdict
}
