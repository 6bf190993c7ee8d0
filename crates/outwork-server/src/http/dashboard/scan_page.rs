//! Scan a pasted message or a URL from the page.

use super::*;

pub(super) async fn scan_upload(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let actor = match write_guard(&st, &headers, &peer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let deadline = super::deadline_of(dl, &st);
    let raw = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if raw.is_empty() {
        return err(StatusCode::BAD_REQUEST, "empty message");
    }
    let mut s = match super::scan(
        &st,
        raw,
        outwork_engine::Envelope::default(),
        deadline,
        Some("dashboard"),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut id = None;
    if let (Some(r), Some(log)) = (s.record.take(), st.svc.verdicts.clone()) {
        id = tokio::task::spawn_blocking(move || log.push(r)).await.ok();
    }
    tracing::info!(target: LOG, actor = %actor.0, action = s.verdict.action.as_str(), "dashboard: message scanned");
    let mut v = super::verdict_json(&s);
    if let Value::Object(o) = &mut v {
        o.insert("verdict_id".into(), json!(id));
    }
    ok_json(v)
}

#[derive(Deserialize)]
struct UrlReq {
    url: String,
}

pub(super) async fn scan_url(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = write_guard(&st, &headers, &peer) {
        return r;
    }
    let deadline = super::deadline_of(dl, &st);
    let raw = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(req) = serde_json::from_slice::<UrlReq>(&raw) else {
        return err(StatusCode::BAD_REQUEST, "expected JSON {\"url\": \"...\"}");
    };
    super::check_url(&st, req.url.trim().to_string(), deadline).await
}
