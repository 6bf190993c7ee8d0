//! The verdict log pages: the filtered list and one record.

use super::*;

pub(super) fn symbol_description(name: &str) -> &'static str {
    outwork_core::symbol::lookup(name).map_or("", |d| d.description)
}

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

fn full(r: &VerdictRecord) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        let mut syms = r.symbols.clone();
        syms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
        o.insert(
            "symbols".into(),
            syms.iter()
                .map(|s| {
                    json!({"name": s.name, "score": s.score, "evidence": s.evidence,
                           "description": symbol_description(&s.name)})
                })
                .collect(),
        );
    }
    v
}

fn no_log() -> Response {
    err(StatusCode::NOT_FOUND, "no verdict log")
}

pub(super) async fn verdicts(
    State(st): St,
    headers: HeaderMap,
    q: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = read_guard(&st, &headers) {
        return r;
    }
    let f = match q {
        Ok(Query(f)) => f,
        Err(e) => return err(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let Some(log) = st.svc.verdicts.clone() else {
        return no_log();
    };
    let (rows, total) = match tokio::task::spawn_blocking(move || log.list(&f)).await {
        Ok(x) => x,
        Err(_) => return err(StatusCode::INTERNAL_SERVER_ERROR, "listing failed"),
    };
    ok_json(json!({
        "total": total,
        "verdicts": rows.iter().map(|r| summary(r)).collect::<Vec<_>>(),
    }))
}

pub(super) async fn verdict_one(
    State(st): St,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = read_guard(&st, &headers) {
        return r;
    }
    let Ok(id) = id.parse::<u64>() else {
        return err(StatusCode::BAD_REQUEST, "bad verdict id");
    };
    let Some(log) = &st.svc.verdicts else {
        return no_log();
    };
    match log.get(id) {
        Some(r) => ok_json(full(&r)),
        None => err(StatusCode::NOT_FOUND, "no such verdict (past retention?)"),
    }
}
