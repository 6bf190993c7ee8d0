//! 7z: flagged, not listed (the end header is not parsed).

use super::*;

/// 7z keeps names in a (usually LZMA-compressed) end header: not parsed.
/// An AES coder id (06 F1 07 01) in that header marks an encrypted archive.
pub(super) fn sevenz_listing(path: &str, data: &[u8], out: &mut Vec<Finding>) {
    let next = (|| {
        let off = u64::from_le_bytes(data.get(12..20)?.try_into().ok()?);
        let size = u64::from_le_bytes(data.get(20..28)?.try_into().ok()?);
        let start = usize::try_from(off.checked_add(32)?).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        data.get(start..end)
    })();
    match next {
        Some(header) => {
            if memchr::memmem::find(header, &[0x06, 0xf1, 0x07, 0x01]).is_some() {
                out.push(Finding::EncryptedArchive {
                    path: path.to_string(),
                    password: None,
                });
            }
        }
        None => out.push(Finding::Malformed {
            path: path.to_string(),
            what: "7z: end header out of bounds".to_string(),
        }),
    }
    out.push(Finding::Listed {
        path: path.to_string(),
        format: "7z".to_string(),
        members: Vec::new(),
    });
    // 7z headers are not read (no permissive, bounded reader): say that
    // its members went unseen rather than stay silent.
    out.push(Finding::Limit {
        path: path.to_string(),
        what: "7z members are not listed or extracted: contents not inspected".to_string(),
    });
}
