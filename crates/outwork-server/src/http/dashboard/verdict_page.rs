//! The verdict log pages: the filtered list and one record.

use super::*;

/// The list view's row: no headers or evidence.
fn summary(r: &VerdictRecord) -> Value {
    json!({
        "id": r.id,
        "time_ms": r.time_ms,
        "source": r.source,
        "queue_id": r.queue_id,
        "mail_from": r.mail_from,
        "from": r.from,
        "rcpt_to": r.rcpt_to,
        "subject": r.subject,
        "action": r.action,
        "score": r.score,
        "symbols": scored(&r.symbols),
        "quarantine_id": r.quarantine_id,
    })
}

/// Symbols as Rspamd's history lists them: name and score, highest first.
pub(super) fn scored(symbols: &[crate::quarantine::StoredSymbol]) -> Vec<Value> {
    let mut v: Vec<&crate::quarantine::StoredSymbol> = symbols.iter().collect();
    v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
    v.iter()
        .map(|s| json!({"name": s.name, "score": s.score}))
        .collect()
}

/// One record: as stored, its symbols in the verdict's shape with their
/// descriptions ([`outwork_core::verdict_json`]).
fn full(r: &VerdictRecord) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert("symbols".into(), described(&r.symbols));
    }
    v
}

/// Stored symbols as [`outwork_core::symbol_json`] writes a
/// verdict's, in the order they were stored (the verdict's).
pub(super) fn described(symbols: &[crate::quarantine::StoredSymbol]) -> Value {
    symbols
        .iter()
        .map(|s| {
            outwork_core::symbol_json(
                &s.name,
                s.score,
                &s.evidence,
                outwork_core::Detail::Described,
            )
        })
        .collect()
}

fn no_log() -> Response {
    err(StatusCode::NOT_FOUND, "no verdict log")
}

pub(super) async fn verdicts(
    State(st): St,
    headers: HeaderMap,
    q: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    read_guard(&st, &headers)?;
    let f = match q {
        Ok(Query(f)) => f,
        Err(e) => return Err(err(StatusCode::BAD_REQUEST, e.body_text())),
    };
    let Some(log) = st.svc.verdicts.clone() else {
        return Err(no_log());
    };
    let (rows, total) = match tokio::task::spawn_blocking(move || log.list(&f)).await {
        Ok(x) => x,
        Err(_) => return Err(err(StatusCode::INTERNAL_SERVER_ERROR, "listing failed")),
    };
    Ok(ok_json(json!({
        "total": total,
        "verdicts": rows.iter().map(|r| summary(r)).collect::<Vec<_>>(),
    })))
}

pub(super) async fn verdict_one(
    State(st): St,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Response> {
    read_guard(&st, &headers)?;
    let Ok(id) = id.parse::<u64>() else {
        return Err(err(StatusCode::BAD_REQUEST, "bad verdict id"));
    };
    let Some(log) = &st.svc.verdicts else {
        return Err(no_log());
    };
    match log.get(id) {
        Some(r) => Ok(ok_json(full(&r))),
        None => Err(err(
            StatusCode::NOT_FOUND,
            "no such verdict (past retention?)",
        )),
    }
}
