//! gzip: each member inflated within the budget, named after its header
//! or the file.

use super::*;

pub(super) fn gzip_archive(
    path: &str,
    data: &[u8],
    env: &Env,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let limits = env.limits;
    if budget.entries_left == 0 {
        out.push(entries_limit(path, limits));
        return;
    }
    budget.entries_left -= 1;
    let ratio_cap = (data.len() as u64)
        .saturating_mul(limits.max_ratio)
        .max(RATIO_FLOOR);
    let budget_binding = budget.bytes_left <= ratio_cap;
    let cap = ratio_cap.min(budget.bytes_left);
    let mut dec = flate2::bufread::GzDecoder::new(data);
    let result = read_bounded(&mut dec, cap);
    let child = format!(
        "{path}!{}",
        gz_member_name(path, dec.header().and_then(|h| h.filename()))
    );
    match result {
        Ok(bytes) => {
            budget.bytes_left = budget.bytes_left.saturating_sub(bytes.len() as u64);
            if is_tar(&bytes) {
                // tar.gz is one archive: walk the tar at this depth.
                out.push(Finding::Member {
                    path: child.clone(),
                    size: bytes.len() as u64,
                    sha256: sha256(&bytes),
                });
                tar_archive(&child, &bytes, env, budget, out);
            } else {
                emit_member(&child, &bytes, env, budget, out);
            }
        }
        Err(ReadErr::TooLong(n)) => {
            budget.bytes_left = budget.bytes_left.saturating_sub(n);
            out.push(if budget_binding {
                bytes_limit(&child, limits)
            } else {
                Finding::Limit {
                    path: child,
                    what: format!("gzip bomb: expands more than {}x", limits.max_ratio),
                }
            });
        }
        Err(ReadErr::Io(e, partial)) => {
            budget.bytes_left = budget.bytes_left.saturating_sub(partial.len() as u64);
            out.push(Finding::Malformed {
                path: path.to_string(),
                what: format!("gzip: {e}"),
            });
            // Keep what a truncated .tar.gz still shows.
            if is_tar(&partial) {
                tar_archive(&child, &partial, env, budget, out);
            }
        }
    }
}

/// The gzip header's file name (base name only), else the outer name minus
/// ".gz" (".tgz" → ".tar").
fn gz_member_name(path: &str, header_name: Option<&[u8]>) -> String {
    if let Some(raw) = header_name {
        let s = String::from_utf8_lossy(raw);
        let base = s.rsplit(['/', '\\']).next().unwrap_or("").trim();
        if !base.is_empty() {
            return base.chars().take(255).collect();
        }
    }
    let base = path.rsplit(['!', '/', '\\']).next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    let stripped = if lower.ends_with(".tgz") {
        format!("{}.tar", &base[..base.len() - 4])
    } else if lower.ends_with(".gz") {
        base[..base.len() - 3].to_string()
    } else if lower.ends_with(".gzip") {
        base[..base.len() - 5].to_string()
    } else {
        base.to_string()
    };
    if stripped.is_empty() {
        "data".to_string()
    } else {
        stripped
    }
}
