//! tar (after gzip, for .tar.gz): every regular file within the budget.

use super::*;

pub(super) fn tar_archive(
    path: &str,
    data: &[u8],
    env: &Env,
    budget: &mut Budget,
    out: &mut Vec<Finding>,
) {
    let limits = env.limits;
    let mut st = ArchiveState::default();
    let mut ar = tar::Archive::new(data);
    let entries = match ar.entries() {
        Ok(e) => e,
        Err(e) => {
            out.push(Finding::Malformed {
                path: path.to_string(),
                what: format!("tar: {e}"),
            });
            return;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.push(Finding::Malformed {
                    path: path.to_string(),
                    what: format!("tar: {e}"),
                });
                break;
            }
        };
        let et = entry.header().entry_type();
        if !(et.is_file() || et.is_contiguous() || et.is_gnu_sparse()) {
            continue;
        }
        if budget.entries_left == 0 {
            out.push(entries_limit(path, limits));
            break;
        }
        budget.entries_left -= 1;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let child = format!("{path}!{name}");
        let declared = entry.size();
        if declared > budget.bytes_left {
            st.over_budget(path, name, limits, out);
            continue;
        }
        match read_bounded(&mut entry, declared) {
            Ok(bytes) if (bytes.len() as u64) < declared => {
                budget.bytes_left = budget.bytes_left.saturating_sub(bytes.len() as u64);
                out.push(Finding::Malformed {
                    path: child,
                    what: format!(
                        "tar: truncated member ({} of {declared} bytes)",
                        bytes.len()
                    ),
                });
                break;
            }
            result => finish_declared_read(result, &child, declared, env, &mut st, budget, out),
        }
    }
    st.finish(path, "tar", out);
}
