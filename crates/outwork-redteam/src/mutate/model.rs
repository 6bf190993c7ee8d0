//! The message model: parsed from raw bytes, built back into one valid MIME message.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mailbox {
    pub(super) name: Option<String>,
    pub(super) address: String,
}

#[derive(Debug, Clone)]
pub(super) struct Part {
    pub(super) content_type: String,
    /// `charset=utf-8` is added (the content was decoded to UTF-8).
    pub(super) utf8: bool,
    pub(super) filename: Option<String>,
    pub(super) cid: Option<String>,
    /// Content-Disposition inline (else attachment).
    pub(super) inline: bool,
    pub(super) bytes: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Model {
    /// Kept top-level header lines: lower-case name, raw bytes ending in CRLF.
    pub(super) headers: Vec<(String, Vec<u8>)>,
    pub(super) subject: Option<String>,
    pub(super) from: Option<Mailbox>,
    pub(super) reply_to: Option<Mailbox>,
    pub(super) new_from: Option<Mailbox>,
    pub(super) new_reply_to: Option<Mailbox>,
    pub(super) text: Option<String>,
    pub(super) html: Option<String>,
    /// Inline parts with a Content-ID (multipart/related with the body).
    pub(super) related: Vec<Part>,
    pub(super) attachments: Vec<Part>,
}

impl Model {
    pub(super) fn parse(raw: &[u8]) -> Result<Model, MutateError> {
        let raw = strip_mbox_line(raw);
        let msg = MessageParser::default()
            .parse(raw)
            .ok_or(MutateError::Unparseable)?;
        let root = msg.parts.first().ok_or(MutateError::Unparseable)?;
        // A blob with no header at all, or only unknown ones, is not a message.
        if !root
            .headers
            .iter()
            .any(|h| !matches!(h.name, HeaderName::Other(_)))
        {
            return Err(MutateError::Unparseable);
        }
        let mut m = Model::default();
        for h in &root.headers {
            let Some(line) = raw.get(h.offset_field as usize..h.offset_end as usize) else {
                continue;
            };
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            // "Subject : x" (obsolete syntax) names "Subject".
            let name = line.get(..colon).unwrap_or_default().trim_ascii_end();
            if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
                continue;
            }
            let lname = String::from_utf8_lossy(name).to_ascii_lowercase();
            if lname == "mime-version" || lname.starts_with("content-") {
                continue;
            }
            m.headers.push((lname, crlf_lines(line)));
        }
        let first = |a: Option<&mail_parser::Address>| {
            a.and_then(|a| a.first()).and_then(|a| {
                let address = a.address.as_deref()?.trim().to_string();
                (!address.is_empty()).then(|| Mailbox {
                    name: a
                        .name
                        .as_deref()
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string),
                    address,
                })
            })
        };
        m.subject = msg.subject().map(str::to_string);
        m.from = first(msg.from());
        m.reply_to = first(msg.reply_to());

        let mut texts = Vec::new();
        for &id in &msg.text_body {
            if let Some(PartType::Text(t)) = msg.parts.get(id as usize).map(|p| &p.body) {
                texts.push(t.replace("\r\n", "\n"));
            }
        }
        let mut htmls = Vec::new();
        for &id in &msg.html_body {
            if let Some(PartType::Html(h)) = msg.parts.get(id as usize).map(|p| &p.body) {
                htmls.push(h.replace("\r\n", "\n"));
            }
        }
        m.text = (!texts.is_empty()).then(|| texts.join("\n"));
        m.html = (!htmls.is_empty()).then(|| utf8_meta(&htmls.join("\n")));

        for &id in &msg.attachments {
            let Some(p) = msg.parts.get(id as usize) else {
                continue;
            };
            let (bytes, utf8) = match &p.body {
                PartType::Text(t) | PartType::Html(t) => (t.as_bytes().to_vec(), true),
                PartType::Binary(b) | PartType::InlineBinary(b) => (b.to_vec(), false),
                PartType::Message(nested) => {
                    let own = (p.encoding == Encoding::None)
                        .then(|| raw.get(p.offset_body as usize..p.offset_end as usize))
                        .flatten();
                    (own.unwrap_or(nested.raw_message()).to_vec(), false)
                }
                PartType::Multipart(_) => continue,
            };
            let content_type = p
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .map(|ct| ct.to_ascii_lowercase())
                .filter(|ct| is_mime_type(ct))
                .unwrap_or_else(|| {
                    if matches!(p.body, PartType::Message(_)) {
                        "message/rfc822".into()
                    } else if utf8 {
                        "text/plain".into()
                    } else {
                        "application/octet-stream".into()
                    }
                });
            let inline = matches!(p.body, PartType::InlineBinary(_))
                || p.content_disposition().is_some_and(|d| d.is_inline());
            let part = Part {
                utf8: utf8 && content_type.starts_with("text/"),
                content_type,
                filename: p.attachment_name().map(clean_filename),
                cid: p
                    .content_id()
                    .map(|c| {
                        c.chars()
                            .filter(|c| {
                                !c.is_control() && !c.is_whitespace() && !matches!(c, '<' | '>')
                            })
                            .collect::<String>()
                    })
                    .filter(|c| !c.is_empty()),
                inline,
                bytes,
            };
            if inline && part.cid.is_some() {
                m.related.push(part);
            } else {
                m.attachments.push(part);
            }
        }
        Ok(m)
    }

    pub(super) fn build(self, seed: u64) -> Result<Vec<u8>, MutateError> {
        let mut out = Vec::new();
        let mut wrote_from = false;
        let mut wrote_reply_to = false;
        for (name, line) in &self.headers {
            match (name.as_str(), &self.new_from, &self.new_reply_to) {
                ("from", Some(from), _) => {
                    if !wrote_from {
                        write_address(&mut out, "From", from);
                        wrote_from = true;
                    }
                }
                ("reply-to", _, Some(reply_to)) => {
                    if !wrote_reply_to {
                        write_address(&mut out, "Reply-To", reply_to);
                        wrote_reply_to = true;
                    }
                }
                _ => out.extend_from_slice(line),
            }
        }
        if let (false, Some(from)) = (wrote_from, &self.new_from) {
            write_address(&mut out, "From", from);
        }
        if let (false, Some(reply_to)) = (wrote_reply_to, &self.new_reply_to) {
            write_address(&mut out, "Reply-To", reply_to);
        }
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");

        // "=_" never occurs in base64 or quoted-printable; a part that may
        // go out unencoded (text) must not hold the prefix either.
        let mut prefix = String::from("=_outwork_");
        {
            let plain: Vec<&[u8]> = [self.text.as_deref(), self.html.as_deref()]
                .into_iter()
                .flatten()
                .map(str::as_bytes)
                .chain(
                    self.attachments
                        .iter()
                        .chain(&self.related)
                        .filter(|p| !p.content_type.starts_with("image/"))
                        .map(|p| p.bytes.as_slice()),
                )
                .collect();
            let mut salt = 0u32;
            while salt < 1000
                && plain
                    .iter()
                    .any(|b| find_bytes(b, 0, prefix.as_bytes()).is_some())
            {
                salt += 1;
                prefix = format!("=_outwork{salt}_");
            }
        }
        let mut boundaries = 0u64;
        let mut boundary = || {
            boundaries += 1;
            format!(
                "{prefix}{:016x}_{boundaries}",
                mix(seed ^ boundaries.wrapping_mul(GOLDEN))
            )
        };
        let multipart = |kind: &str, b: String, parts: Vec<MimePart<'static>>| {
            MimePart::new(
                ContentType::new(kind.to_string()).attribute("boundary", b),
                BodyPart::Multipart(parts),
            )
        };
        let text = self
            .text
            .map(|t| MimePart::new("text/plain", BodyPart::Text(t.into())));
        let html = self
            .html
            .map(|h| MimePart::new("text/html", BodyPart::Text(h.into())));
        // Inline parts go with the HTML they illustrate:
        // alternative(text, related(html, images)).
        let related: Vec<MimePart<'static>> = self
            .related
            .into_iter()
            .map(|p| mime_part(p, true))
            .collect();
        let (html, mut related) = match html {
            Some(h) if !related.is_empty() => {
                let mut parts = vec![h];
                parts.extend(related);
                (
                    Some(multipart("multipart/related", boundary(), parts)),
                    Vec::new(),
                )
            }
            h => (h, related),
        };
        let mut body = match (text, html) {
            (Some(t), Some(h)) => Some(multipart("multipart/alternative", boundary(), vec![t, h])),
            (Some(p), None) | (None, Some(p)) => Some(p),
            (None, None) => None,
        };
        if !related.is_empty() {
            // Inline parts without an HTML body: keep them next to the text.
            let mut parts: Vec<MimePart<'static>> = body.take().into_iter().collect();
            parts.append(&mut related);
            body = Some(multipart("multipart/related", boundary(), parts));
        }
        if !self.attachments.is_empty() {
            let mut parts: Vec<MimePart<'static>> = body.take().into_iter().collect();
            parts.extend(self.attachments.into_iter().map(|p| {
                let inline = p.inline;
                mime_part(p, inline)
            }));
            body = Some(multipart("multipart/mixed", boundary(), parts));
        }
        let body = body.unwrap_or_else(|| MimePart::new("text/plain", BodyPart::Text("\n".into())));
        MessageBuilder::new()
            .body(body)
            .write_body(&mut out)
            .map_err(|e| MutateError::Build(format!("writing the message: {e}")))?;
        Ok(out)
    }

    pub(super) fn sender_domain(&self) -> Option<String> {
        let from = self.new_from.as_ref().or(self.from.as_ref())?;
        let (_, domain) = from.address.rsplit_once('@')?;
        Some(domain.trim().to_ascii_lowercase())
    }
}

pub(super) fn mime_part(p: Part, inline: bool) -> MimePart<'static> {
    let mut ct = ContentType::new(p.content_type);
    if p.utf8 {
        ct = ct.attribute("charset", "utf-8");
    }
    if let Some(name) = &p.filename {
        ct = ct.attribute("name", name.clone());
    }
    let mut disposition = ContentType::new(if inline { "inline" } else { "attachment" });
    if let Some(name) = p.filename {
        disposition = disposition.attribute("filename", name);
    }
    let mut part = MimePart::new(ct, BodyPart::Binary(p.bytes.into()))
        .header("Content-Disposition", disposition);
    if let Some(cid) = p.cid {
        part = part.cid(cid);
    }
    part
}

pub(super) fn write_address(out: &mut Vec<u8>, name: &str, mailbox: &Mailbox) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    // No control characters (a brand given on the command line, a decoded
    // original name) may reach the header.
    let display = mailbox
        .name
        .as_deref()
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|n| !n.trim().is_empty());
    let address: String = mailbox
        .address
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, '<' | '>'))
        .collect();
    Address::new_address(display, address).write_header(out, name.len() + 2);
}

/// Without a leading mbox `From ` separator line.
pub(super) fn strip_mbox_line(raw: &[u8]) -> &[u8] {
    if raw.starts_with(b"From ") && !raw.starts_with(b"From :") {
        match raw.iter().position(|&b| b == b'\n') {
            Some(nl) => raw.get(nl + 1..).unwrap_or_default(),
            None => &[],
        }
    } else {
        raw
    }
}

/// A raw header field with CRLF line ends, ending in CRLF.
pub(super) fn crlf_lines(line: &[u8]) -> Vec<u8> {
    let mut end = line.len();
    while end > 0 && matches!(line.get(end - 1), Some(b'\r' | b'\n')) {
        end -= 1;
    }
    let mut out = Vec::with_capacity(end + 8);
    for (i, l) in line
        .get(..end)
        .unwrap_or_default()
        .split(|&b| b == b'\n')
        .enumerate()
    {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
    }
    out.extend_from_slice(b"\r\n");
    out
}

pub(super) fn is_mime_type(ct: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    ct.split_once('/')
        .is_some_and(|(a, b)| token(a) && token(b))
}

pub(super) fn clean_filename(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

/// The HTML with its `<meta>` charset declarations set to UTF-8 (the body is
/// re-encoded as UTF-8).
pub(super) fn utf8_meta(html: &str) -> String {
    if !html.to_ascii_lowercase().contains("charset") {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    for seg in tokenize(html) {
        let raw = html.get(seg.start..seg.end).unwrap_or("");
        if seg.kind == SegKind::Tag && seg.name == "meta" && !seg.closing {
            let mut tag = raw.to_string();
            for attr in tag_attrs(raw).into_iter().rev() {
                let Some(v) = attr.value.clone() else {
                    continue;
                };
                let value = raw.get(v.clone()).unwrap_or("");
                let new = if attr.name == "charset" {
                    Some("utf-8".to_string())
                } else if attr.name == "content" {
                    let lower = value.to_ascii_lowercase();
                    lower.find("charset=").map(|p| {
                        let head = value.get(..p + "charset=".len()).unwrap_or("");
                        let tail = value
                            .get(p + "charset=".len()..)
                            .unwrap_or("")
                            .trim_start_matches(|c: char| !matches!(c, ';' | ' '));
                        format!("{head}utf-8{tail}")
                    })
                } else {
                    None
                };
                if let Some(new) = new {
                    tag = replace_attr_value(&tag, &attr, &new);
                }
            }
            out.push_str(&tag);
        } else {
            out.push_str(raw);
        }
    }
    out
}
