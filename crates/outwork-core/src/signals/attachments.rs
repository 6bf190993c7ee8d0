//! First-pass attachment signals: names and real types. Deep inspection of
//! archives and documents belongs to outwork-inspect.

use crate::context::Context;
use crate::evidence::{Evidence, InspectKind};
use crate::facts::{Facts, Sniffed};
use crate::lists::{DANGEROUS_EXTENSIONS, DECOY_EXTENSIONS, HTML_EXTENSIONS};
use crate::symbol::Hits;

fn expected_for_ext(ext: &str) -> Option<&'static [Sniffed]> {
    use Sniffed::*;
    Some(match ext {
        "pdf" => &[Pdf],
        "docx" | "xlsx" | "pptx" | "docm" | "xlsm" | "pptm" | "zip" | "jar" | "odt" | "ods"
        | "odp" | "epub" | "apk" => &[Zip],
        "doc" | "xls" | "ppt" | "msi" | "msg" => &[Ole, Rtf],
        "rtf" => &[Rtf],
        "png" => &[Png],
        "jpg" | "jpeg" => &[Jpeg],
        "gif" => &[Gif],
        "rar" => &[Rar],
        "7z" => &[SevenZ],
        "gz" | "tgz" => &[Gzip],
        "html" | "htm" | "shtml" | "xhtml" => &[Html, Svg],
        "svg" => &[Svg, Html],
        "exe" | "dll" | "scr" | "com" | "cpl" => &[Exe],
        "iso" | "img" => &[Iso],
        "lnk" => &[Lnk],
        "txt" | "csv" | "ics" | "vcf" | "eml" | "json" | "xml" => &[Unknown],
        _ => return None,
    })
}

fn expected_for_type(t: &str) -> Option<&'static [Sniffed]> {
    use Sniffed::*;
    Some(match t {
        "application/pdf" => &[Pdf],
        "image/png" => &[Png],
        "image/jpeg" | "image/jpg" | "image/pjpeg" => &[Jpeg],
        "image/gif" => &[Gif],
        "application/zip" | "application/x-zip-compressed" => &[Zip],
        "application/msword" | "application/vnd.ms-excel" => &[Ole, Rtf],
        "text/plain" | "text/calendar" | "text/csv" => &[Unknown],
        _ => return None,
    })
}

/// Deep-inspection findings from the enrich stage.
fn inspected(ev: &Evidence, hits: &mut Hits) {
    for f in &ev.inspect {
        let name = match f.kind {
            InspectKind::DangerousMember => "ATTACH_ARCHIVE_DANGEROUS",
            InspectKind::NestedArchive => "ATTACH_NESTED_ARCHIVE",
            InspectKind::EncryptedArchive => "ATTACH_ENCRYPTED_ARCHIVE",
            InspectKind::PasswordInText => "ATTACH_PASSWORD_IN_TEXT",
            InspectKind::Limit => "ATTACH_INSPECT_LIMIT",
            InspectKind::Budget => "INSPECT_BUDGET",
            InspectKind::Malformed => "ATTACH_MALFORMED",
            InspectKind::Macro => "ATTACH_MACRO",
            InspectKind::MacroAutorun => "ATTACH_MACRO_AUTORUN",
            InspectKind::RemoteTemplate => "ATTACH_REMOTE_TEMPLATE",
            InspectKind::PdfJavaScript => "ATTACH_PDF_JAVASCRIPT",
            InspectKind::PdfLaunch => "ATTACH_PDF_LAUNCH",
            InspectKind::PdfEmbeddedFile => "ATTACH_PDF_EMBEDDED_FILE",
            InspectKind::PdfForm => "ATTACH_PDF_FORM",
            InspectKind::PdfOpenAction => "ATTACH_PDF_OPENACTION",
            InspectKind::Smuggling => "ATTACH_SMUGGLING",
            InspectKind::Script => "ATTACH_SCRIPT",
            InspectKind::CredentialForm => "ATTACH_CREDENTIAL_FORM",
        };
        hits.add(name, f.evidence.clone());
    }
}

pub(crate) fn signals(facts: &Facts, ev: &Evidence, _ctx: &Context, hits: &mut Hits) {
    inspected(ev, hits);
    for (name, evidence) in &ev.yara {
        hits.add(name, evidence.clone());
    }
    for e in &ev.clamav {
        hits.add("CLAMAV_VIRUS", e.clone());
    }
    if let Some(why) = &ev.clamav_unavailable {
        hits.add("CLAMAV_UNAVAILABLE", why.clone());
    }
    for a in &facts.attachments {
        let display = a
            .name
            .clone()
            .unwrap_or_else(|| format!("(unnamed {})", a.declared_type));
        let name = a.name.as_deref().unwrap_or("").to_lowercase();
        if name
            .chars()
            .any(|c| matches!(c, '\u{202e}' | '\u{202d}' | '\u{2066}'..='\u{2069}'))
        {
            hits.add(
                "ATTACH_RTLO_NAME",
                format!("{display:?} uses bidi controls to disguise its extension"),
            );
        }
        let clean: String = name
            .chars()
            .filter(|c| !crate::domain::is_invisible_char(*c))
            .collect();
        let parts: Vec<&str> = clean.rsplitn(3, '.').map(str::trim).collect();
        let ext = if parts.len() >= 2 { parts[0] } else { "" };
        if !ext.is_empty() && DANGEROUS_EXTENSIONS.contains(&ext) {
            hits.add("ATTACH_DANGEROUS_EXT", format!("{display} (.{ext})"));
        }
        if parts.len() == 3 {
            let decoy = parts[1];
            if DECOY_EXTENSIONS.contains(&decoy)
                && (DANGEROUS_EXTENSIONS.contains(&ext) || HTML_EXTENSIONS.contains(&ext))
                && decoy != ext
            {
                hits.add(
                    "ATTACH_DOUBLE_EXT",
                    format!("{display} looks like .{decoy} but is .{ext}"),
                );
            }
        }
        let is_html = HTML_EXTENSIONS.contains(&ext)
            || matches!(a.sniffed, Sniffed::Html | Sniffed::Svg)
            || a.declared_type == "text/html"
            || a.declared_type == "image/svg+xml";
        if is_html {
            hits.add(
                "ATTACH_HTML",
                format!(
                    "{display} is {}",
                    if a.sniffed == Sniffed::Svg || ext == "svg" {
                        "SVG"
                    } else {
                        "HTML"
                    }
                ),
            );
        }
        if a.sniffed == Sniffed::Unknown {
            continue;
        }
        if matches!(
            a.sniffed,
            Sniffed::Exe | Sniffed::Elf | Sniffed::Lnk | Sniffed::Iso
        ) && !DANGEROUS_EXTENSIONS.contains(&ext)
            && !matches!(ext, "dll" | "scr" | "com" | "cpl" | "exe")
        {
            hits.add(
                "ATTACH_DANGEROUS_EXT",
                format!("{display}: content is a {}", a.sniffed.name()),
            );
        }
        if let Some(exp) = expected_for_ext(ext)
            && !exp.contains(&a.sniffed)
        {
            hits.add(
                "ATTACH_TYPE_MISMATCH",
                format!(
                    "{display} is named .{ext} but its content is {}",
                    a.sniffed.name()
                ),
            );
            continue;
        }
        if let Some(exp) = expected_for_type(&a.declared_type)
            && !exp.contains(&a.sniffed)
        {
            hits.add(
                "ATTACH_TYPE_MISMATCH",
                format!(
                    "{display} is declared {} but its content is {}",
                    a.declared_type,
                    a.sniffed.name()
                ),
            );
        }
    }
}
