//! Scan a pasted message or a URL from the page.

use super::*;

pub(super) async fn scan_upload(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let actor = write_guard(&st, &headers, &peer)?;
    let deadline = super::deadline_of(dl, &st);
    let raw = read_body(&st, &headers, body, deadline).await?;
    if raw.is_empty() {
        return Err(err(StatusCode::BAD_REQUEST, "empty message"));
    }
    let mut s = super::scan(
        &st,
        raw,
        outwork_engine::Envelope::default(),
        deadline,
        Some("dashboard"),
    )
    .await?;
    let mut id = None;
    if let (Some(r), Some(log)) = (s.record.take(), st.svc.verdicts.clone()) {
        id = tokio::task::spawn_blocking(move || log.push(r)).await.ok();
    }
    tracing::info!(target: LOG, actor = %actor.0, action = s.verdict.action.as_str(), "dashboard: message scanned");
    let mut v = super::verdict_json(&s);
    if let Value::Object(o) = &mut v {
        o.insert("verdict_id".into(), json!(id));
    }
    Ok(ok_json(v))
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
) -> Result<Response, Response> {
    write_guard(&st, &headers, &peer)?;
    let deadline = super::deadline_of(dl, &st);
    let raw = read_body(&st, &headers, body, deadline).await?;
    let Ok(req) = serde_json::from_slice::<UrlReq>(&raw) else {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"url\": \"...\"}",
        ));
    };
    super::check_url(&st, req.url.trim().to_string(), deadline).await
}
