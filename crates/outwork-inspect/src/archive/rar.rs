//! RAR 4 and 5: member names from the headers (listed, not extracted).

use super::*;

pub(super) fn rar_listing(path: &str, data: &[u8], budget: &mut Budget, out: &mut Vec<Finding>) {
    let mut names = Vec::new();
    let mut encrypted = false;
    let mut limited = false;
    let err = if data.starts_with(b"Rar!\x1a\x07\x01\x00") {
        rar5_names(data, &mut names, &mut encrypted, &mut limited, budget)
    } else if data.starts_with(b"Rar!\x1a\x07\x00") {
        rar4_names(data, &mut names, &mut encrypted, &mut limited, budget)
    } else {
        Some("unknown rar version".to_string())
    };
    if encrypted {
        out.push(Finding::EncryptedArchive {
            path: path.to_string(),
            password: None,
        });
    }
    out.push(Finding::Listed {
        path: path.to_string(),
        format: "rar".to_string(),
        members: names,
    });
    if limited {
        out.push(Finding::Limit {
            path: path.to_string(),
            what: "entries budget exhausted while listing".to_string(),
        });
    }
    if let Some(what) = err {
        out.push(Finding::Malformed {
            path: path.to_string(),
            what: format!("rar: {what}"),
        });
    }
}

/// RAR 1.5–4.x block walk. Returns an error description on malformed input.
fn rar4_names(
    d: &[u8],
    names: &mut Vec<String>,
    encrypted: &mut bool,
    limited: &mut bool,
    budget: &mut Budget,
) -> Option<String> {
    let mut pos: u64 = 7;
    let len = d.len() as u64;
    while pos < len {
        let p = pos as usize;
        let (Some(flags), Some(head_size)) = (u16le(d, p + 3), u16le(d, p + 5)) else {
            return Some("truncated block header".to_string());
        };
        let head_type = d[p + 2];
        let head_size = head_size as u64;
        if head_size < 7 {
            return Some("bad block size".to_string());
        }
        let mut next = pos + head_size;
        match head_type {
            0x73 => {
                // Main header: MHD_PASSWORD means the headers (names) are encrypted.
                if flags & 0x0080 != 0 {
                    *encrypted = true;
                    return None;
                }
            }
            0x74 => {
                let (Some(pack), Some(name_size)) = (u32le(d, p + 7), u16le(d, p + 26)) else {
                    return Some("truncated file header".to_string());
                };
                let mut pack = pack as u64;
                let mut name_at = p + 32;
                if flags & 0x0100 != 0 {
                    let Some(high) = u32le(d, p + 32) else {
                        return Some("truncated file header".to_string());
                    };
                    pack |= (high as u64) << 32;
                    name_at += 8;
                }
                if flags & 0x0004 != 0 {
                    *encrypted = true;
                }
                let Some(raw) = d.get(name_at..name_at + name_size as usize) else {
                    return Some("truncated file name".to_string());
                };
                // Unicode names are "ascii\0encoded": keep the ascii part.
                let raw = raw.split(|&b| b == 0).next().unwrap_or(raw);
                if flags & 0x00e0 != 0x00e0 {
                    if !take_entry(budget) {
                        *limited = true;
                        return None;
                    }
                    names.push(String::from_utf8_lossy(raw).into_owned());
                }
                next = next.saturating_add(pack);
            }
            0x7b => return None, // end of archive
            _ => {
                if flags & 0x8000 != 0 {
                    let Some(add) = u32le(d, p + 7) else {
                        return Some("truncated block".to_string());
                    };
                    next = next.saturating_add(add as u64);
                }
            }
        }
        pos = next;
    }
    None
}

/// RAR 5 variable-length integer.
fn vint(d: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..70).step_by(7) {
        let b = *d.get(*pos)?;
        *pos += 1;
        if shift < 64 {
            v |= ((b & 0x7f) as u64) << shift;
        }
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn rar5_names(
    d: &[u8],
    names: &mut Vec<String>,
    encrypted: &mut bool,
    limited: &mut bool,
    budget: &mut Budget,
) -> Option<String> {
    let mut pos: usize = 8;
    while pos < d.len() {
        // CRC32, header size, then the header proper.
        let mut p = pos + 4;
        let Some(head_size) = vint(d, &mut p) else {
            return Some("truncated header".to_string());
        };
        let head_start = p;
        let Some(head_end) = usize::try_from(head_size)
            .ok()
            .and_then(|s| head_start.checked_add(s))
        else {
            return Some("bad header size".to_string());
        };
        if head_size == 0 || head_end > d.len() {
            return Some("truncated header".to_string());
        }
        let h = &d[..head_end];
        let (Some(head_type), Some(head_flags)) = (vint(h, &mut p), vint(h, &mut p)) else {
            return Some("bad header".to_string());
        };
        let extra_size = if head_flags & 1 != 0 {
            vint(h, &mut p)
        } else {
            Some(0)
        };
        let data_size = if head_flags & 2 != 0 {
            vint(h, &mut p)
        } else {
            Some(0)
        };
        let (Some(extra_size), Some(data_size)) = (extra_size, data_size) else {
            return Some("bad header".to_string());
        };
        match head_type {
            4 => {
                // Archive encryption header: everything after it is encrypted.
                *encrypted = true;
                return None;
            }
            2 => {
                let file = (|| {
                    let file_flags = vint(h, &mut p)?;
                    let _unpacked = vint(h, &mut p)?;
                    let _attrs = vint(h, &mut p)?;
                    if file_flags & 2 != 0 {
                        p += 4;
                    }
                    if file_flags & 4 != 0 {
                        p += 4;
                    }
                    let _comp = vint(h, &mut p)?;
                    let _os = vint(h, &mut p)?;
                    let name_len = usize::try_from(vint(h, &mut p)?).ok()?;
                    let name = h.get(p..p.checked_add(name_len)?)?;
                    Some((
                        file_flags & 1 != 0,
                        String::from_utf8_lossy(name).into_owned(),
                    ))
                })();
                let Some((is_dir, name)) = file else {
                    return Some("bad file header".to_string());
                };
                // Extra area records: type 1 is file encryption.
                if let Some(extra_start) = usize::try_from(extra_size)
                    .ok()
                    .and_then(|s| head_end.checked_sub(s))
                {
                    let mut q = extra_start.max(head_start);
                    while q < head_end {
                        let Some(rec_size) = vint(h, &mut q) else {
                            break;
                        };
                        let rec_start = q;
                        if vint(h, &mut q) == Some(1) {
                            *encrypted = true;
                        }
                        match usize::try_from(rec_size)
                            .ok()
                            .and_then(|s| rec_start.checked_add(s))
                        {
                            Some(n) if n > rec_start => q = n,
                            _ => break,
                        }
                    }
                }
                if !is_dir {
                    if !take_entry(budget) {
                        *limited = true;
                        return None;
                    }
                    names.push(name);
                }
            }
            5 => return None, // end of archive
            _ => {}
        }
        let Some(next) = usize::try_from(data_size)
            .ok()
            .and_then(|s| head_end.checked_add(s))
        else {
            return Some("bad data size".to_string());
        };
        pos = next;
    }
    None
}
