//! The admin endpoints (`/admin/*`, bearer token): reload, and the
//! quarantine list, get, delete and release, shared with the dashboard.

use super::*;
use crate::quarantine::QuarantineEntry;

/// Constant-time comparison of the presented and configured tokens.
pub(super) fn token_matches(presented: &[u8], expected: &[u8]) -> bool {
    if presented.len() != expected.len() {
        return false;
    }
    presented
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

fn admin_auth(st: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = st.cfg.token() else {
        return Err(err(
            StatusCode::FORBIDDEN,
            "admin endpoints are disabled: set [http] admin_token",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .map(|t| t.trim_ascii());
    match presented {
        Some(t) if token_matches(t, token.as_bytes()) => Ok(()),
        _ => {
            let mut r = err(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"outwork\""),
            );
            Err(r)
        }
    }
}

pub(super) async fn admin_reload(State(st): St, headers: HeaderMap) -> Result<Response, Response> {
    admin_auth(&st, &headers)?;
    // In its own task: a client that gives up must not cancel the swap.
    let reloader = st.svc.reloader.clone();
    let r = match tokio::spawn(async move { reloader.reload().await }).await {
        Ok(r) => r,
        Err(_) => Err(crate::reload::ReloadError::Cancelled),
    };
    Ok(match r {
        Ok(()) => ok_json(json!({"reloaded": true})),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({
                "reloaded": false,
                "error": format!("reload failed (still serving the previous config): {e}"),
            })),
        )
            .into_response(),
    })
}

pub(super) fn store(st: &AppState) -> Result<QuarantineStore, Response> {
    st.svc.quarantine.clone().ok_or_else(|| {
        err(
            StatusCode::NOT_FOUND,
            "no quarantine store (the milter's [milter] quarantine_dir)",
        )
    })
}

fn q_err(e: QuarantineError) -> Response {
    match e {
        QuarantineError::NotFound(_) => err(StatusCode::NOT_FOUND, e.to_string()),
        QuarantineError::BadId(_) => err(StatusCode::BAD_REQUEST, e.to_string()),
        _ => {
            tracing::error!(target: LOG, "quarantine: {e}");
            err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "quarantine store error (see the log)",
            )
        }
    }
}

/// Run a store operation on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, QuarantineError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(q_err),
        Err(_) => Err(err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "quarantine task failed",
        )),
    }
}

pub(super) async fn admin_list(State(st): St, headers: HeaderMap) -> Result<Response, Response> {
    admin_auth(&st, &headers)?;
    let q = store(&st)?;
    let l = blocking(move || q.list()).await?;
    Ok(ok_json(json!({"count": l.len(), "messages": l})))
}

fn rfc822(raw: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("message/rfc822"),
        )],
        raw,
    )
        .into_response()
}

pub(super) async fn admin_get(
    State(st): St,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Response> {
    admin_auth(&st, &headers)?;
    let (_, raw) = get_quarantined(&st, &id).await?;
    Ok(rfc822(raw))
}

pub(super) async fn admin_delete(
    State(st): St,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Response> {
    admin_auth(&st, &headers)?;
    delete_quarantined(&st, &id).await?;
    tracing::info!(target: LOG, id, "quarantined message deleted");
    Ok(ok_json(json!({"deleted": id})))
}

/// One quarantined message, its entry and raw bytes (`/admin/quarantine/{id}`
/// and the dashboard): 404 without a store or that id, 400 for a bad id.
pub(super) async fn get_quarantined(
    st: &AppState,
    id: &str,
) -> Result<(QuarantineEntry, Vec<u8>), Response> {
    let q = store(st)?;
    let id = id.to_string();
    blocking(move || q.get(&id)).await
}

/// Delete one quarantined message (the admin API and the dashboard; each
/// logs it for its own audience): errors as [`get_quarantined`].
pub(super) async fn delete_quarantined(st: &AppState, id: &str) -> Result<(), Response> {
    let q = store(st)?;
    let id = id.to_string();
    blocking(move || q.delete(&id)).await
}

/// An address safe to pass as one argv element after `--` (or as `-f`'s
/// value): no leading `-`, no controls or spaces.
fn argv_address(a: &str) -> Option<&str> {
    (!a.starts_with('-') && !a.chars().any(|c| c.is_control() || c.is_whitespace())).then_some(a)
}

/// Why a quarantined message cannot be handed to `release_command`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The envelope sender would read as an option (or holds spaces).
    #[error("unsafe sender {0:?}")]
    UnsafeSender(String),
    /// A recipient would read as an option (or holds spaces).
    #[error("unsafe recipient {0:?}")]
    UnsafeRecipient(String),
    /// No recipient to deliver to.
    #[error("no recipients recorded")]
    NoRecipients,
}

/// `release_command` with `{mail_from}` and `{rcpt_to}` filled in.
pub fn release_argv(
    template: &[String],
    mail_from: &str,
    rcpts: &[String],
) -> Result<Vec<String>, ReleaseError> {
    let from =
        argv_address(mail_from).ok_or_else(|| ReleaseError::UnsafeSender(mail_from.into()))?;
    let mut out = Vec::new();
    for t in template {
        if t == "{rcpt_to}" {
            for r in rcpts {
                out.push(
                    argv_address(r)
                        .ok_or_else(|| ReleaseError::UnsafeRecipient(r.clone()))?
                        .to_string(),
                );
            }
        } else {
            out.push(t.replace("{mail_from}", if from.is_empty() { "<>" } else { from }));
        }
    }
    if rcpts.is_empty() {
        return Err(ReleaseError::NoRecipients);
    }
    Ok(out)
}

pub(super) async fn admin_release(
    State(st): St,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, Response> {
    admin_auth(&st, &headers)?;
    let mut rcpts = Vec::new();
    for (k, v) in q {
        match k.as_str() {
            "rcpt" => rcpts.push(v),
            other => {
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter {other:?} (rcpt)"),
                ));
            }
        }
    }
    release(&st, id, rcpts).await
}

/// The To and Cc addresses of a message (suggested recipients when none
/// was recorded; never used on their own: the sender wrote them).
fn header_recipients(raw: &[u8]) -> Vec<String> {
    // The header block only (bounded): no need to parse the body.
    let head = &raw[..raw.len().min(256 * 1024)];
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| head.windows(2).position(|w| w == b"\n\n"))
        .map_or(head.len(), |i| i + 2);
    let facts = outwork_core::parse(&head[..end], &outwork_core::Limits::default());
    let mut out: Vec<String> = Vec::new();
    for m in facts.recipients {
        if out.len() < 20 && !m.address.is_empty() && !out.contains(&m.address) {
            out.push(m.address);
        }
    }
    out
}

/// Release a quarantined message (the admin endpoint and the dashboard)
/// to its recorded envelope recipients, or to `rcpts` when given (a
/// message scanned over HTTP without `Rcpt` has none recorded: the admin
/// names them; its To/Cc are only suggested, since the sender wrote them).
pub(super) async fn release(
    st: &AppState,
    id: String,
    rcpts: Vec<String>,
) -> Result<Response, Response> {
    let q = store(st)?;
    let (q2, id2) = (q.clone(), id.clone());
    let mut rel = blocking(move || q2.release(&id2)).await?;
    if !rcpts.is_empty() {
        rel.envelope.rcpt_to = rcpts;
    }
    if st.cfg.release_command.is_empty() {
        // No way to deliver configured: hand the message back; the entry
        // stays until DELETE.
        return Ok(rfc822(rel.raw));
    }
    if rel.envelope.rcpt_to.is_empty() {
        let suggested = header_recipients(&rel.raw);
        let mut r = (
            StatusCode::CONFLICT,
            axum::Json(json!({
                "error": format!(
                    "cannot release {id}: no envelope recipient recorded (scanned over HTTP without Rcpt); name them: ?rcpt=ADDRESS (repeatable), or {{\"rcpt\": [...]}} from the dashboard"
                ),
                "header_recipients": suggested,
            })),
        )
            .into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Err(r);
    }
    let from = rel.envelope.mail_from.clone().unwrap_or_default();
    let argv = match release_argv(&st.cfg.release_command, &from, &rel.envelope.rcpt_to) {
        Ok(a) => a,
        Err(e) => {
            return Err(err(
                StatusCode::CONFLICT,
                format!("cannot release {id}: {e}"),
            ));
        }
    };
    match run_release(&argv, rel.raw).await {
        Ok(()) => {
            let id2 = id.clone();
            blocking(move || q.delete(&id2)).await?;
            tracing::info!(target: LOG, id, rcpts = %rel.envelope.rcpt_to.join(","), "quarantined message released");
            Ok(ok_json(
                json!({"released": id, "rcpt_to": rel.envelope.rcpt_to}),
            ))
        }
        Err(e) => {
            tracing::error!(target: LOG, id, "release failed: {e}");
            Err(err(
                StatusCode::BAD_GATEWAY,
                format!("release command failed: {e}"),
            ))
        }
    }
}

/// Pipe the message into the release command (60 s at most).
async fn run_release(argv: &[String], raw: Vec<u8>) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let Some((prog, args)) = argv.split_first() else {
        return Err("empty release_command".into());
    };
    let mut child = tokio::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{prog}: {e}"))?;
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(&raw)
                .await
                .map_err(|e| format!("writing to {prog}: {e}"))?;
            drop(stdin);
        }
        let out = child.wait_with_output().await.map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            let e = String::from_utf8_lossy(&out.stderr);
            Err(format!("{prog} exited with {}: {}", out.status, e.trim()))
        }
    };
    match tokio::time::timeout(Duration::from_secs(60), run).await {
        Ok(r) => r,
        Err(_) => Err(format!("{prog} did not finish within 60 s")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_arguments() {
        let t: Vec<String> = [
            "/usr/sbin/sendmail",
            "-i",
            "-f",
            "{mail_from}",
            "--",
            "{rcpt_to}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = release_argv(&t, "a@b", &["c@d".into(), "e@f".into()]).unwrap();
        assert_eq!(
            a,
            ["/usr/sbin/sendmail", "-i", "-f", "a@b", "--", "c@d", "e@f"]
        );
        let a = release_argv(&t, "", &["c@d".into()]).unwrap();
        assert_eq!(a[3], "<>");
        assert_eq!(
            release_argv(&t, "-oQ/tmp", &["c@d".into()]),
            Err(ReleaseError::UnsafeSender("-oQ/tmp".into()))
        );
        assert_eq!(
            release_argv(&t, "a@b", &["-X".into()]),
            Err(ReleaseError::UnsafeRecipient("-X".into()))
        );
        assert_eq!(
            release_argv(&t, "a@b", &[]),
            Err(ReleaseError::NoRecipients)
        );
    }

    #[test]
    fn tokens() {
        assert!(token_matches(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!token_matches(b"0123456789abcdeX", b"0123456789abcdef"));
        assert!(!token_matches(b"0123", b"0123456789abcdef"));
    }
}
