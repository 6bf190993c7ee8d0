//! The quarantine pages: list, one message, release and delete (through
//! the same store calls as `/admin/quarantine`).

use super::*;

/// Subject and From of a message (or its first bytes), decoded as the
/// scanner sees them (RFC 2047 words and all).
fn subject_and_from(raw: &[u8]) -> (Option<String>, Option<String>) {
    let f = outwork_core::parse(raw, &outwork_core::Limits::default());
    let from = f.from.map(|m| match m.name {
        Some(n) if !n.is_empty() => format!("{n} <{}>", m.address),
        _ => m.address,
    });
    let subject = outwork_engine::subject_in_declared_charset(raw, &f.subject).unwrap_or(f.subject);
    ((!subject.is_empty()).then_some(subject), from)
}

/// Where a message's header block ends (after its last header line).
fn header_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 2)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 1))
}

pub(super) async fn quarantine_list(
    State(st): St,
    headers: HeaderMap,
) -> Result<Response, Response> {
    admin_read_guard(&st, &headers)?;
    let q = store(&st)?;
    let list = super::blocking(move || {
        let entries = q.list()?;
        // Subject and From from each message's header block (its first 64 KiB).
        Ok(entries
            .into_iter()
            .rev()
            .take(1000)
            .map(|e| {
                let head = q.head(&e.id, 65_536).unwrap_or_default();
                // Only the header block: a cut-off body must not be parsed.
                let hb = &head[..header_end(&head).unwrap_or(head.len())];
                let (subject, from) = subject_and_from(hb);
                json!({
                    "id": e.id, "time": e.time, "size": e.size, "action": e.action,
                    "score": e.score,
                    "symbols": scored(&e.symbols),
                    "mail_from": e.envelope.mail_from, "rcpt_to": e.envelope.rcpt_to,
                    "subject": subject, "from": from,
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(ok_json(json!({"count": list.len(), "messages": list})))
}

pub(super) async fn quarantine_one(
    State(st): St,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Response> {
    admin_read_guard(&st, &headers)?;
    let (entry, raw) = get_quarantined(&st, &id).await?;
    let end = header_end(&raw).unwrap_or(raw.len());
    let hb = &raw[..end.min(crate::verdict_log::MAX_HEADER_BYTES)];
    let (subject, from) = subject_and_from(&raw[..end]);
    let record = st
        .svc
        .verdicts
        .as_ref()
        .and_then(|l| l.by_quarantine_id(&id))
        .map(|r| r.id);
    Ok(ok_json(json!({
        "id": entry.id, "time": entry.time, "size": entry.size, "action": entry.action,
        "score": entry.score, "envelope": entry.envelope,
        "symbols": described(&entry.symbols),
        "subject": subject,
        "from": from,
        "headers": String::from_utf8_lossy(hb),
        "verdict_id": record,
    })))
}

/// `POST .../release` body (optional): recipients for a message that has
/// none recorded, or instead of the recorded ones.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReleaseReq {
    #[serde(default)]
    rcpt: Vec<String>,
}

pub(super) async fn quarantine_release(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    body: Body,
) -> Result<Response, Response> {
    let actor = write_guard(&st, &headers, &peer)?;
    let deadline = super::deadline_of(dl, &st);
    let raw = read_body(&st, &headers, body, deadline).await?;
    let req = if raw.iter().all(u8::is_ascii_whitespace) {
        ReleaseReq::default()
    } else {
        match serde_json::from_slice::<ReleaseReq>(&raw) {
            Ok(r) => r,
            Err(_) => {
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    "expected no body or JSON {\"rcpt\": [\"address\", ...]}",
                ));
            }
        }
    };
    if st.cfg.release_command.is_empty() {
        return Err(err(
            StatusCode::CONFLICT,
            "no [http] release_command configured: release with `outwork quarantine release`",
        ));
    }
    tracing::info!(target: LOG, actor = %actor.0, id, "dashboard: release requested");
    let r = super::release(&st, id.clone(), req.rcpt).await?;
    if r.status().is_success() {
        tracing::info!(target: LOG, actor = %actor.0, id, "dashboard: quarantined message released");
    }
    Ok(r)
}

pub(super) async fn quarantine_delete(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Response> {
    let actor = write_guard(&st, &headers, &peer)?;
    delete_quarantined(&st, &id).await?;
    tracing::info!(target: LOG, actor = %actor.0, id, "dashboard: quarantined message deleted");
    Ok(ok_json(json!({"deleted": id})))
}
