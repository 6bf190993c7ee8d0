//! HTML reports (eval, red team) served as sandboxed files.

use super::*;

/// A report file name: no paths, HTML only.
fn report_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 200
        && !n.starts_with('.')
        && (n.ends_with(".html") || n.ends_with(".htm"))
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub(super) async fn reports(State(st): St, headers: HeaderMap) -> Result<Response, Response> {
    read_guard(&st, &headers)?;
    let Some(dir) = st
        .svc
        .dashboard
        .as_ref()
        .and_then(|d| d.reports_dir.clone())
    else {
        return Ok(ok_json(json!({"dir": null, "reports": []})));
    };
    let d2 = dir.clone();
    let list = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Value>> {
        let mut out = Vec::new();
        for de in std::fs::read_dir(&d2)? {
            let de = de?;
            let name = de.file_name().to_string_lossy().into_owned();
            let Ok(m) = de.metadata() else { continue };
            if !m.is_file() || !report_name_ok(&name) {
                continue;
            }
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            out.push(json!({"name": name, "size": m.len(), "modified": mtime}));
        }
        out.sort_by(|a, b| b["modified"].as_u64().cmp(&a["modified"].as_u64()));
        out.truncate(200);
        Ok(out)
    })
    .await;
    match list {
        Ok(Ok(l)) => Ok(ok_json(json!({"dir": dir, "reports": l}))),
        Ok(Err(e)) => Ok(ok_json(
            json!({"dir": dir, "error": e.to_string(), "reports": []}),
        )),
        Err(_) => Err(err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "listing reports failed",
        )),
    }
}

pub(super) async fn report_file(
    State(st): St,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, Response> {
    read_guard(&st, &headers)?;
    let Some(dir) = st
        .svc
        .dashboard
        .as_ref()
        .and_then(|d| d.reports_dir.clone())
    else {
        return Err(err(StatusCode::NOT_FOUND, "no [dashboard] reports_dir"));
    };
    if !report_name_ok(&name) {
        return Err(err(StatusCode::BAD_REQUEST, "bad report name"));
    }
    let p = dir.join(&name);
    match tokio::task::spawn_blocking(move || std::fs::read(p)).await {
        Ok(Ok(b)) => Ok((
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(REPORT_CSP),
                ),
            ],
            Bytes::from(b),
        )
            .into_response()),
        _ => Err(err(StatusCode::NOT_FOUND, "no such report")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names() {
        assert!(report_name_ok("eval-2026.html"));
        assert!(!report_name_ok("../x.html") && !report_name_ok(".x.html"));
        assert!(!report_name_ok("x.js"));
    }
}
