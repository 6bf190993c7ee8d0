//! OOXML packages (docx/xlsx/pptx and their macro-enabled kin): VBA
//! projects and remote templates or objects in the relationships.

use super::ole::{autorun_in, ole_vba_streams};
use super::*;

pub(super) fn inspect_ooxml(path: &str, data: &[u8], sink: &mut Sink) {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(data)) else {
        return;
    };
    if zip.index_for_name("[Content_Types].xml").is_none() {
        return; // a plain zip: archive.rs's business
    }
    let mut total = 0usize;
    for i in 0..zip.len().min(MAX_ZIP_ENTRIES) {
        if sink.full() || total >= MAX_ZIP_TOTAL {
            break;
        }
        let Some(name) = zip.name_for_index(i).map(str::to_string) else {
            continue;
        };
        let lname = name.to_ascii_lowercase();
        enum Part {
            Vba,
            Rels,
        }
        let part = if lname.ends_with("vbaproject.bin") {
            Part::Vba
        } else if lname.ends_with(".rels") {
            Part::Rels
        } else {
            continue;
        };
        let limit = match part {
            Part::Rels => MAX_RELS,
            Part::Vba => MAX_SCAN,
        }
        .min(MAX_ZIP_TOTAL - total);
        let Some(bytes) = read_zip_entry(&mut zip, i, limit) else {
            continue;
        };
        total += bytes.len();
        let part_path = format!("{path}!{name}");
        match part {
            Part::Vba => {
                let autorun = match ole_vba_streams(&bytes) {
                    Ok(Some(streams)) => autorun_in(streams.iter().map(Vec::as_slice)),
                    // Not a readable OLE file or no VBA storage: scan the blob as is.
                    _ => autorun_in(std::iter::once(bytes.as_slice())),
                };
                sink.push(Finding::Macro {
                    path: part_path,
                    autorun,
                });
            }
            Part::Rels => scan_rels(&part_path, &bytes, sink),
        }
    }
}

fn read_zip_entry(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    i: usize,
    limit: usize,
) -> Option<Vec<u8>> {
    let file = zip.by_index(i).ok()?; // encrypted / unsupported method → skipped
    let mut buf = Vec::new();
    // A read error (corrupt deflate, CRC) keeps what was read before it.
    let _ = file.take(limit as u64).read_to_end(&mut buf);
    Some(buf)
}

/// External relationships that make Office fetch a template/object/frame.
fn scan_rels(path: &str, xml: &[u8], sink: &mut Sink) {
    let mut from = 0;
    while let Some(i) = find_from(xml, b"Relationship", from) {
        from = i + 12;
        if sink.full() {
            break;
        }
        // `<Relationship ` or `<pfx:Relationship `, not `<Relationships`.
        let opened = i > 0 && matches!(xml[i - 1], b'<' | b':');
        if !opened || !xml.get(i + 12).is_some_and(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let end = memchr::memchr(b'>', &xml[i..]).map_or(xml.len(), |p| i + p);
        let tag = &xml[i + 12..end];
        from = end;
        let mode = tag_attr(tag, b"targetmode").unwrap_or_default();
        if !mode.eq_ignore_ascii_case("external") {
            continue;
        }
        let kind = tag_attr(tag, b"type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !(kind.ends_with("/attachedtemplate")
            || kind.ends_with("/oleobject")
            || kind.ends_with("/frame"))
        {
            continue;
        }
        let target = tag_attr(tag, b"target").unwrap_or_default();
        let remote = is_http(&target)
            || starts_with_ci(&target, "file:")
            || target.starts_with("\\\\")
            || target.starts_with("//");
        if remote {
            sink.push(Finding::RemoteTemplate {
                path: path.to_string(),
                url: clip(&target),
            });
        }
    }
}
