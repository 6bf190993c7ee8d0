//! Zip: every entry within the budget, encrypted entries opened with the
//! message's candidate passwords, and a local-header walk when the central
//! directory is unreadable.

use super::*;

pub(super) fn zip_archive(
    path: &str,
    data: &[u8],
    env: &Env,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let mut za = match zip::ZipArchive::new(io::Cursor::new(data)) {
        Ok(za) => za,
        Err(e) => {
            out.push(Finding::Malformed {
                path: path.to_string(),
                what: format!("zip: {e}"),
            });
            zip_stream_fallback(path, data, env, budget, out);
            return;
        }
    };
    let mut st = ArchiveState::default();
    zip_entries(path, &mut za, env, &mut st, budget, out);
    st.finish(path, "zip", out);
    if za.index_for_name("[Content_Types].xml").is_some() {
        crate::content::inspect_content(path, data, out);
    }
}

fn zip_entries(
    path: &str,
    za: &mut zip::ZipArchive<io::Cursor<&[u8]>>,
    env: &Env,
    st: &mut ArchiveState,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let limits = env.limits;
    for i in 0..za.len() {
        if !budget.msg.time_left(path, out) {
            return;
        }
        // Metadata from the central directory + local header, nothing inflated.
        let meta = za.by_index_raw(i).map(|f| {
            (
                f.name().to_string(),
                f.is_dir(),
                f.encrypted(),
                f.size(),
                f.compressed_size(),
            )
        });
        let (name, is_dir, encrypted, declared, compressed) = match meta {
            Ok(m) => m,
            Err(e) => {
                let name = za.name_for_index(i).unwrap_or("?").to_string();
                st.malformed(&format!("{path}!{name}"), format!("zip entry: {e}"), out);
                if budget.entries_left == 0 {
                    out.push(entries_limit(path, limits));
                    return;
                }
                budget.entries_left -= 1;
                continue;
            }
        };
        if is_dir {
            continue;
        }
        if budget.entries_left == 0 {
            out.push(entries_limit(path, limits));
            return;
        }
        budget.entries_left -= 1;
        let child = format!("{path}!{name}");
        if ratio_exceeded(declared, compressed, limits) {
            out.push(ratio_limit(&child, declared, compressed, limits));
            continue;
        }
        if declared > budget.bytes_left {
            st.over_budget(path, name, limits, out);
            continue;
        }
        if encrypted {
            zip_encrypted_entry(path, za, i, name, &child, declared, env, st, budget, out);
            continue;
        }
        let result = match za.by_index(i) {
            Ok(mut f) => read_bounded(&mut f, declared),
            Err(zip::result::ZipError::UnsupportedArchive(_)) => {
                st.not_extracted.push(name);
                continue;
            }
            Err(e) => {
                st.malformed(&child, format!("zip entry: {e}"), out);
                continue;
            }
        };
        finish_declared_read(result, &child, declared, env, st, budget, out);
    }
}

#[allow(clippy::too_many_arguments)]
fn zip_encrypted_entry(
    path: &str,
    za: &mut zip::ZipArchive<io::Cursor<&[u8]>>,
    i: usize,
    name: String,
    child: &str,
    declared: u64,
    env: &Env,
    st: &mut ArchiveState,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let first = st.opened_with.clone();
    let mut opened: Option<(String, Result<Vec<u8>, ReadErr>)> = None;
    for p in candidate_passwords(env.passwords, first.as_deref()) {
        let result = match za.by_index_decrypt(i, p.as_bytes()) {
            Ok(mut f) => read_bounded(&mut f, declared),
            Err(zip::result::ZipError::InvalidPassword) => continue,
            // AES without the aes-crypto feature, unsupported method, broken entry.
            Err(_) => break,
        };
        match result {
            // ZipCrypto's check byte lets 1 wrong password in 256 through;
            // a wrong one then fails inflating or the CRC check.
            Err(ReadErr::Io(..)) => continue,
            r => {
                opened = Some((p.to_string(), r));
                break;
            }
        }
    }
    match opened {
        Some((p, result)) => {
            if !st.reported_open {
                out.push(Finding::EncryptedArchive {
                    path: path.to_string(),
                    password: Some(p.clone()),
                });
                st.reported_open = true;
            }
            st.opened_with = Some(p);
            finish_declared_read(result, child, declared, env, st, budget, out);
        }
        None => st.unopened(path, name, out),
    }
}

/// The central directory is unreadable (truncated, corrupted on purpose):
/// walk local file headers from the start instead. Stops at the first
/// entry it cannot delimit (data descriptors, garbage).
fn zip_stream_fallback(
    path: &str,
    data: &[u8],
    env: &Env,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let limits = env.limits;
    let mut st = ArchiveState::default();
    // A spanned/split marker may precede the first local header.
    let mut rdr: &[u8] = data.strip_prefix(b"PK\x07\x08").unwrap_or(data);
    loop {
        let mut f = match zip::read::read_zipfile_from_stream(&mut rdr) {
            Ok(Some(f)) => f,
            _ => break,
        };
        if f.is_dir() {
            continue;
        }
        if budget.entries_left == 0 {
            out.push(entries_limit(path, limits));
            break;
        }
        budget.entries_left -= 1;
        let name = f.name().to_string();
        let child = format!("{path}!{name}");
        let (declared, compressed) = (f.size(), f.compressed_size());
        if f.encrypted() {
            // No password support on this path: list it.
            st.unopened(path, name, out);
            continue;
        }
        if ratio_exceeded(declared, compressed, limits) {
            out.push(ratio_limit(&child, declared, compressed, limits));
            continue;
        }
        if declared > budget.bytes_left {
            st.over_budget(path, name, limits, out);
            continue;
        }
        let result = read_bounded(&mut f, declared);
        let failed = matches!(result, Err(ReadErr::Io(..)));
        drop(f);
        finish_declared_read(result, &child, declared, env, &mut st, budget, out);
        if failed {
            break;
        }
    }
    st.finish(path, "zip", out);
}
