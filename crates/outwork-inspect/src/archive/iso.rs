//! ISO 9660 and IMG: names from the directory tree, Joliet when present.

use super::*;

/// ISO 9660: names from the directory tree (Joliet when present), bounded.
pub(super) fn iso_listing(
    path: &str,
    data: &[u8],
    limits: &Limits,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    // Find the primary and (Joliet) supplementary volume descriptors.
    let mut primary = None;
    let mut joliet = None;
    for i in 0..ISO_MAX_DESCRIPTORS {
        let o = 0x8000 + i * 2048;
        let Some(vd) = data.get(o..o + 2048) else {
            break;
        };
        if &vd[1..6] != b"CD001" {
            break;
        }
        match vd[0] {
            1 if primary.is_none() => primary = Some(vd),
            2 if joliet.is_none()
                && vd[88] == b'%'
                && vd[89] == b'/'
                && matches!(vd[90], b'@' | b'C' | b'E') =>
            {
                joliet = Some(vd)
            }
            255 => break,
            _ => {}
        }
    }
    let (vd, is_joliet) = match (joliet, primary) {
        (Some(vd), _) => (vd, true),
        (None, Some(vd)) => (vd, false),
        (None, None) => {
            out.push(Finding::Malformed {
                path: path.to_string(),
                what: "iso: no readable volume descriptor".to_string(),
            });
            out.push(Finding::Listed {
                path: path.to_string(),
                format: "iso".to_string(),
                members: Vec::new(),
            });
            return;
        }
    };
    let block = match u16le(vd, 128) {
        Some(b) if b.is_power_of_two() && (512..=2048).contains(&b) => b as u64,
        _ => 2048,
    };
    let root = &vd[156..190];
    let mut names = Vec::new();
    let mut malformed = None;
    let mut limited = false;
    let mut visited = std::collections::HashSet::new();
    let mut scanned = 0usize;
    let mut queue = std::collections::VecDeque::new();
    queue.push_back((
        u32le(root, 2).unwrap_or(0) as u64,
        u32le(root, 10).unwrap_or(0) as u64,
        String::new(),
        0usize,
    ));
    'dirs: while let Some((lba, size, prefix, level)) = queue.pop_front() {
        if !visited.insert(lba) {
            continue;
        }
        if visited.len() > ISO_MAX_DIRS {
            limited = true;
            break;
        }
        let start = lba.saturating_mul(block);
        let end = start.saturating_add(size).min(data.len() as u64);
        if start >= data.len() as u64 {
            malformed = Some("directory extent beyond end of image");
            continue;
        }
        let (start, end) = (start as usize, end as usize);
        let mut pos = start;
        while pos < end {
            scanned += 1;
            if scanned > ISO_MAX_RECORDS {
                limited = true;
                break 'dirs;
            }
            let rec_len = data[pos] as usize;
            if rec_len == 0 {
                // Records never cross a block boundary: skip to the next one.
                let rel = (pos - start) as u64;
                pos = start + ((rel / block + 1) * block) as usize;
                continue;
            }
            let Some(rec) = data.get(pos..pos + rec_len).filter(|_| rec_len >= 34) else {
                malformed = Some("bad directory record");
                break;
            };
            pos += rec_len;
            let name_len = rec[32] as usize;
            let Some(raw) = rec.get(33..33 + name_len) else {
                malformed = Some("bad directory record");
                break;
            };
            if name_len == 1 && (raw[0] == 0 || raw[0] == 1) {
                continue; // "." and ".."
            }
            let mut name = if is_joliet {
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                String::from_utf8_lossy(raw).into_owned()
            };
            if let Some(i) = name.rfind(';') {
                name.truncate(i);
            }
            let full = format!("{prefix}{name}");
            if rec[25] & 0x02 != 0 {
                if level + 1 < ISO_MAX_DIR_DEPTH {
                    queue.push_back((
                        u32le(rec, 2).unwrap_or(0) as u64,
                        u32le(rec, 10).unwrap_or(0) as u64,
                        format!("{full}/"),
                        level + 1,
                    ));
                }
            } else {
                if !take_entry(budget) {
                    limited = true;
                    break 'dirs;
                }
                names.push(full);
            }
        }
    }
    out.push(Finding::Listed {
        path: path.to_string(),
        format: "iso".to_string(),
        members: names,
    });
    if limited {
        out.push(Finding::Limit {
            path: path.to_string(),
            what: format!(
                "more than {} entries, {ISO_MAX_DIRS} directories or {ISO_MAX_RECORDS} records",
                limits.max_entries
            ),
        });
    }
    if let Some(what) = malformed {
        out.push(Finding::Malformed {
            path: path.to_string(),
            what: format!("iso: {what}"),
        });
    }
}
