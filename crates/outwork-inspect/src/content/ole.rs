//! OLE compound files: VBA storages, their compressed source and the
//! procedures Office runs on its own.

use super::*;

pub(super) fn inspect_ole(path: &str, data: &[u8], sink: &mut Sink) {
    match ole_vba_streams(data) {
        Ok(Some(streams)) => {
            let autorun = autorun_in(streams.iter().map(Vec::as_slice));
            sink.push(Finding::Macro {
                path: path.to_string(),
                autorun,
            });
        }
        Ok(None) => {}
        Err(what) => sink.push(Finding::Malformed {
            path: path.to_string(),
            what,
        }),
    }
}

fn is_vba_storage(name: &str) -> bool {
    ["VBA", "Macros", "_VBA_PROJECT_CUR"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}

/// The streams of an OLE file's VBA storages (bounded in total), `None`
/// when it has no VBA project, `Err` when it is not a readable OLE file.
pub(super) fn ole_vba_streams(data: &[u8]) -> Result<Option<Vec<Vec<u8>>>, String> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(data))
        .map_err(|e| format!("OLE compound file unreadable: {e}"))?;
    let mut streams = Vec::new(); // paths of streams under a VBA-ish storage
    let mut has_vba = false;
    for entry in cf.walk().take(MAX_OLE_ENTRIES) {
        if !entry.is_stream() {
            continue;
        }
        let names: Vec<String> = entry
            .path()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let parent = names
            .len()
            .checked_sub(2)
            .map(|i| names[i].as_str())
            .unwrap_or("");
        let name = entry.name();
        if is_vba_storage(parent)
            && (name.eq_ignore_ascii_case("dir") || name.eq_ignore_ascii_case("_VBA_PROJECT"))
        {
            has_vba = true;
        }
        if names[..names.len().saturating_sub(1)]
            .iter()
            .any(|n| is_vba_storage(n))
        {
            streams.push(entry.path().to_path_buf());
        }
    }
    if !has_vba {
        return Ok(None);
    }
    let mut out = Vec::new();
    let mut left = MAX_SCAN;
    for p in streams {
        if left == 0 {
            break;
        }
        let Ok(stream) = cf.open_stream(&p) else {
            continue;
        };
        let mut buf = Vec::new();
        let _ = stream.take(left as u64).read_to_end(&mut buf);
        left -= buf.len();
        out.push(buf);
    }
    Ok(Some(out))
}

/// Auto-run procedure names in VBA project bytes, in [`AUTORUN_NAMES`] order.
///
/// Best-effort: module source is stored MS-OVBA-compressed. Each blob is
/// searched raw (the compression leaves short ASCII runs intact often
/// enough), and every compressed container found by its usual start
/// (`01 xx xx 00 "Attribut"`, as olevba does) is decompressed and searched
/// too. Case-insensitive substring match; no VBA parsing.
pub(super) fn autorun_in<'a>(blobs: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    let mut found = vec![false; AUTORUN_NAMES.len()];
    let mut containers = 0;
    let mut source_left = MAX_SCAN;
    for blob in blobs {
        mark_autorun(blob, &mut found);
        let mut from = 0;
        while containers < MAX_VBA_CONTAINERS && source_left > 0 {
            let Some(i) = find_from(blob, b"\x00Attribut", from) else {
                break;
            };
            from = i + 1;
            if i >= 3 && blob[i - 3] == 0x01 {
                containers += 1;
                let source = ovba_decompress(&blob[i - 3..], MAX_VBA_SOURCE.min(source_left));
                source_left -= source.len();
                mark_autorun(&source, &mut found);
            }
        }
    }
    AUTORUN_NAMES
        .iter()
        .zip(found)
        .filter(|(_, f)| *f)
        .map(|(n, _)| n.to_string())
        .collect()
}

fn mark_autorun(bytes: &[u8], found: &mut [bool]) {
    let lower = bytes.to_ascii_lowercase();
    for (i, name) in AUTORUN_NAMES.iter().enumerate() {
        if !found[i] && memchr::memmem::find(&lower, name.to_ascii_lowercase().as_bytes()).is_some()
        {
            found[i] = true;
        }
    }
}

/// MS-OVBA 2.4.1 decompression of a CompressedContainer (starting with the
/// 0x01 signature). Stops quietly at corruption or `max_out` bytes.
fn ovba_decompress(src: &[u8], max_out: usize) -> Vec<u8> {
    let mut out = Vec::new();
    if src.first() != Some(&0x01) {
        return out;
    }
    let mut pos = 1;
    while pos + 2 <= src.len() && out.len() < max_out {
        let header = u16::from_le_bytes([src[pos], src[pos + 1]]);
        if header & 0x7000 != 0x3000 {
            break; // chunk signature must be 0b011
        }
        let chunk_end = (pos + (header & 0x0FFF) as usize + 3).min(src.len());
        pos += 2;
        let chunk_out = out.len();
        if header & 0x8000 == 0 {
            let end = (pos + 4096).min(src.len());
            out.extend_from_slice(&src[pos..end]);
            pos = end;
            continue;
        }
        'chunk: while pos < chunk_end {
            let flags = src[pos];
            pos += 1;
            for bit in 0..8 {
                if pos >= chunk_end {
                    break 'chunk;
                }
                if flags >> bit & 1 == 0 {
                    out.push(src[pos]);
                    pos += 1;
                    continue;
                }
                if pos + 2 > chunk_end {
                    return out;
                }
                let token = u16::from_le_bytes([src[pos], src[pos + 1]]) as usize;
                pos += 2;
                let done = out.len() - chunk_out;
                if done == 0 || done > 4096 {
                    return out;
                }
                let mut bits = 4;
                while (1usize << bits) < done {
                    bits += 1;
                }
                let length_mask = 0xFFFFusize >> bits;
                let length = (token & length_mask) + 3;
                let offset = (token >> (16 - bits)) + 1;
                if offset > done {
                    return out;
                }
                for _ in 0..length {
                    let b = out[out.len() - offset];
                    out.push(b);
                }
            }
        }
        pos = pos.max(chunk_end);
    }
    out.truncate(max_out);
    out
}
