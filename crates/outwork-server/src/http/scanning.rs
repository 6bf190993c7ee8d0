//! The scan endpoints: `/checkv2` (Rspamd), `/v1/scan`, `/v1/scan/text`
//! and `/v1/url`, and the body reading, verdict logging and synthetic
//! messages they share with the dashboard and the legacy protocol.

use super::*;
use outwork_core::Detail;

/// 503 with `Retry-After`: the buffered-bytes budget has no room.
fn over_budget(e: Exhausted) -> Response {
    crate::metrics::failure("http", "buffered_budget");
    let mut r = err(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "server busy: bodies in flight hold {} of max_buffered_bytes {}",
            e.used, e.limit
        ),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// Read the whole body within the deadline, the size limit and the
/// buffered-bytes budget. Each chunk is charged to the budget before it
/// is kept (a declared `Content-Length` up front); the returned bytes
/// hold their charge until the last copy is dropped.
pub(super) async fn read_body(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
    deadline: tokio::time::Instant,
) -> Result<Bytes, Response> {
    use http_body_util::BodyExt;
    let limit = st.cfg.max_body_bytes;
    let too_big = || {
        err(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body over max_body_bytes ({limit})"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|len| len.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut hold = st.buffered.reservation();
    let mut buf = Vec::new();
    if let Some(n) = declared {
        // n <= limit, checked above.
        reserve_charged(&mut buf, n as usize, limit, &mut hold).map_err(over_budget)?;
    }
    let collect = async {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                err(
                    StatusCode::BAD_REQUEST,
                    format!("reading the body: {}", e.into_inner()),
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if buf.len().saturating_add(data.len()) > limit {
                return Err(too_big());
            }
            reserve_charged(&mut buf, data.len(), limit, &mut hold).map_err(over_budget)?;
            buf.extend_from_slice(&data);
        }
        Ok(())
    };
    match tokio::time::timeout_at(deadline, collect).await {
        Ok(Ok(())) => Ok(owned_bytes(buf, hold)),
        Ok(Err(r)) => Err(r),
        Err(_) => Err(err(
            StatusCode::REQUEST_TIMEOUT,
            format!("body not received within {} ms", st.cfg.request_timeout_ms),
        )),
    }
}

/// A finished scan.
pub(super) struct Scanned {
    pub(super) verdict: Verdict,
    pub(super) info: MessageInfo,
    pub(super) took: Duration,
    pub(super) scanner: Arc<Scanner>,
    /// For the verdict log, when the caller asked for one.
    pub(super) record: Option<VerdictRecord>,
}

/// Scan on the blocking pool behind the scan semaphore, within the
/// request's deadline.
pub(super) async fn scan(
    st: &AppState,
    raw: Bytes,
    env: Envelope,
    deadline: tokio::time::Instant,
    record_as: Option<&'static str>,
) -> Result<Scanned, Response> {
    let record_as = record_as.filter(|_| st.svc.verdicts.is_some());
    let ms = st.cfg.request_timeout_ms;
    let permit = match tokio::time::timeout_at(deadline, st.scans.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => return Err(err(StatusCode::SERVICE_UNAVAILABLE, "shutting down")),
        Err(_) => {
            crate::metrics::failure("http", "busy");
            let mut r = err(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("no scan slot free within {ms} ms"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(r);
        }
    };
    let scanner = st.cell().get();
    let s2 = scanner.clone();
    let inspect_by = crate::inspect_deadline(deadline);
    let h = tokio::task::spawn_blocking(move || {
        let _slot = permit;
        let t = Instant::now();
        let opts = outwork_engine::Options {
            deadline: Some(inspect_by),
            ..Default::default()
        };
        let outwork_engine::Scan { verdict: v, facts } = s2.scan(&raw, &env, &opts);
        let took = t.elapsed();
        let info = MessageInfo::from_facts(&raw, &facts);
        crate::metrics::verdict("http", &v, took);
        let record = record_as.map(|src| {
            VerdictRecord::build(src, &raw, &facts, &env, &v, took.as_secs_f64() * 1000.0)
        });
        (v, info, took, record)
    });
    match tokio::time::timeout_at(deadline, h).await {
        Ok(Ok((verdict, info, took, record))) => Ok(Scanned {
            verdict,
            info,
            took,
            scanner,
            record,
        }),
        Ok(Err(e)) if e.is_panic() => {
            crate::metrics::failure("http", "panic");
            tracing::error!(target: LOG, "scan panicked");
            Err(err(StatusCode::INTERNAL_SERVER_ERROR, "scan failed"))
        }
        Ok(Err(_)) => Err(err(StatusCode::SERVICE_UNAVAILABLE, "scan cancelled")),
        Err(_) => {
            crate::metrics::failure("http", "timeout");
            Err(err(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("scan not finished within {ms} ms"),
            ))
        }
    }
}

fn header_pairs(h: &HeaderMap) -> impl Iterator<Item = (&str, &[u8])> {
    h.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))
}

pub(super) fn deadline_of(
    req_deadline: Option<axum::Extension<Deadline>>,
    st: &AppState,
) -> tokio::time::Instant {
    req_deadline.map_or_else(
        || tokio::time::Instant::now() + Duration::from_millis(st.cfg.request_timeout_ms),
        |d| d.0.0,
    )
}

/// `POST /checkv2`: Rspamd's scan.
pub(super) async fn checkv2(
    State(st): St,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let deadline = deadline_of(dl, &st);
    let req = match rspamd::parse_request_headers(header_pairs(&headers)) {
        Ok(r) => r,
        Err(e @ rspamd::HeaderError::Compressed(_)) => {
            return Err(err(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string()));
        }
        Err(e) => return Err(err(StatusCode::BAD_REQUEST, e.to_string())),
    };
    let raw = read_body(&st, &headers, body, deadline).await?;
    if raw.is_empty() {
        return Err(err(StatusCode::BAD_REQUEST, "empty message"));
    }
    let size = raw.len();
    let keep = raw.clone();
    let mut s = scan(&st, raw, req.envelope.clone(), deadline, Some("checkv2")).await?;
    let v = &s.verdict;
    let qa = st.cfg.rspamd_quarantine_action;
    // The MTA won't deliver it: keep outwork's copy when there is a store.
    let mut quarantine_id = None;
    if v.action == outwork_core::Action::Quarantine
        && matches!(
            qa,
            crate::config::RspamdQuarantineAction::Reject
                | crate::config::RspamdQuarantineAction::Discard
        )
        && let Some(q) = st.svc.quarantine.clone()
    {
        let (vc, env) = (v.clone(), req.envelope.clone());
        match tokio::task::spawn_blocking(move || q.put(&keep, &vc, &env)).await {
            Ok(Ok(id)) => quarantine_id = Some(id),
            Ok(Err(e)) => tracing::error!(target: LOG, "quarantine write failed: {e}"),
            Err(_) => tracing::error!(target: LOG, "quarantine write panicked"),
        }
    }
    if let Some(mut r) = s.record.take() {
        r.quarantine_id = quarantine_id.clone();
        record(&st, r).await;
    }
    let v = &s.verdict;
    let thresholds = &s.scanner.ctx.config.thresholds;
    let reply = rspamd::checkv2_reply(&rspamd::Reply {
        verdict: v,
        thresholds,
        quarantine_action: qa,
        subject_template: &st.cfg.rspamd_subject,
        info: &s.info,
        queue_id: req.envelope.queue_id.as_deref(),
        time_real: s.took.as_secs_f64(),
        quarantine_id: quarantine_id.as_deref(),
    });
    log_verdict(
        "checkv2",
        &req.envelope,
        size,
        v,
        s.took,
        req.log_tag.as_deref(),
    );
    Ok(ok_json(reply))
}

/// Add a record to the verdict log (on the blocking pool: the append, and
/// now and then a compaction, touch the disk). Awaited, so a client that
/// got its answer finds its message listed.
pub(super) async fn record(st: &AppState, r: VerdictRecord) {
    if let Some(log) = st.svc.verdicts.clone() {
        let _ = tokio::task::spawn_blocking(move || log.push(r)).await;
    }
}

pub(super) fn log_verdict(
    what: &str,
    e: &Envelope,
    size: usize,
    v: &Verdict,
    took: Duration,
    tag: Option<&str>,
) {
    let symbols = v
        .symbols
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(",");
    tracing::info!(
        target: LOG,
        endpoint = what,
        queue_id = e.queue_id.as_deref().or(tag).unwrap_or("-"),
        client = %e.client_ip.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
        from = e.mail_from.as_deref().unwrap_or("-"),
        rcpts = %e.rcpt_to.join(","),
        size,
        action = v.action.as_str(),
        score = v.score,
        symbols = %symbols,
        ms = took.as_millis() as u64,
        "scanned"
    );
}

/// outwork's own verdict JSON: the CLI's `--format json` shape
/// ([`outwork_core::verdict_json`], symbols with their descriptions) plus the
/// thresholds, URLs, Message-ID and timing.
pub(super) fn verdict_json(s: &Scanned) -> Value {
    let mut m = outwork_core::verdict_json(&s.verdict, Detail::Described);
    let t = &s.scanner.ctx.config.thresholds;
    m.insert(
        "thresholds".into(),
        json!({"tag": t.tag, "quarantine": t.quarantine, "reject": t.reject}),
    );
    m.insert("urls".into(), json!(s.info.urls));
    m.insert("message_id".into(), json!(s.info.message_id));
    m.insert("time_ms".into(), json!(s.took.as_secs_f64() * 1000.0));
    Value::Object(m)
}

/// `POST /v1/scan`: the body is the raw message; the envelope comes from
/// query parameters (`ip`, `helo`, `from`, `rcpt` (repeatable),
/// `queue_id`) or Rspamd-style headers.
pub(super) async fn scan_raw(
    State(st): St,
    dl: Option<axum::Extension<Deadline>>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let deadline = deadline_of(dl, &st);
    let mut pairs: Vec<(String, Vec<u8>)> = header_pairs(&headers)
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect();
    for (k, v) in q {
        let name = match k.as_str() {
            "ip" => "IP",
            "helo" => "Helo",
            "from" | "mail_from" => "From",
            "rcpt" | "rcpt_to" => "Rcpt",
            "queue_id" => "Queue-Id",
            other => {
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter {other:?} (ip, helo, from, rcpt, queue_id)"),
                ));
            }
        };
        pairs.push((name.to_string(), v.into_bytes()));
    }
    let req = match rspamd::parse_request_headers(pairs.iter().map(|(n, v)| (n.as_str(), &v[..]))) {
        Ok(r) => r,
        Err(e) => return Err(err(StatusCode::BAD_REQUEST, e.to_string())),
    };
    let raw = read_body(&st, &headers, body, deadline).await?;
    if raw.is_empty() {
        return Err(err(StatusCode::BAD_REQUEST, "empty message"));
    }
    let size = raw.len();
    let mut s = scan(&st, raw, req.envelope.clone(), deadline, Some("scan")).await?;
    log_verdict("scan", &req.envelope, size, &s.verdict, s.took, None);
    if let Some(r) = s.record.take() {
        record(&st, r).await;
    }
    Ok(ok_json(verdict_json(&s)))
}

/// `POST /v1/scan/text` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextReq {
    text: String,
    /// Who sent it: an address, a phone number or a display name.
    #[serde(default)]
    sender: Option<String>,
    /// `sms`, `chat`, … (recorded in the synthetic message only).
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    subject: Option<String>,
}

/// One line, no quotes or backslashes, bounded: safe inside a header.
fn header_safe(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '"' || c == '\\' {
                ' '
            } else {
                c
            }
        })
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// A minimal RFC 5322 message carrying `text`, so the same link, intel
/// and sender signals apply as to mail. A sender that is an address is the
/// From address; anything else (a phone number, a name) becomes the
/// display name of an address under `.invalid`.
pub fn synthetic_message(
    text: &str,
    sender: Option<&str>,
    channel: &str,
    subject: Option<&str>,
) -> Vec<u8> {
    let sender = sender.map(|s| header_safe(s, 256)).unwrap_or_default();
    let channel = header_safe(channel, 32)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>();
    let channel = if channel.is_empty() {
        "text".to_string()
    } else {
        channel.to_ascii_lowercase()
    };
    let looks_like_address = {
        let s = sender.trim_matches(['<', '>']);
        s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !s.contains(char::is_whitespace)
        })
    };
    let from = if looks_like_address {
        format!("<{}>", sender.trim_matches(['<', '>']))
    } else if sender.is_empty() {
        format!("<unknown@{channel}.invalid>")
    } else {
        format!("\"{sender}\" <sender@{channel}.invalid>")
    };
    let mut m = String::with_capacity(text.len() + 256);
    m.push_str(&format!("From: {from}\r\n"));
    m.push_str(&format!("To: <recipient@{channel}.invalid>\r\n"));
    if let Some(s) = subject {
        m.push_str(&format!("Subject: {}\r\n", header_safe(s, 998)));
    }
    m.push_str(&format!("X-Outwork-Channel: {channel}\r\n"));
    m.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    for line in text.lines() {
        m.push_str(line);
        m.push_str("\r\n");
    }
    m.into_bytes()
}

/// A one-link HTML message for `/v1/url`: a link (anchor text = the URL
/// itself) is where every link signal looks; plain-text extraction is
/// deliberately stricter (it skips e.g. dotless numeric hosts).
pub fn url_message(url: &str) -> Vec<u8> {
    let esc = url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "From: <unknown@url.invalid>\r\nTo: <recipient@url.invalid>\r\nX-Outwork-Channel: url\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n<html><body><a href=\"{esc}\">{esc}</a></body></html>\r\n"
    )
    .into_bytes()
}

/// `POST /v1/scan/text`: a chat or SMS text and its sender.
pub(super) async fn scan_text(
    State(st): St,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let deadline = deadline_of(dl, &st);
    let raw = read_body(&st, &headers, body, deadline).await?;
    let t: TextReq = match serde_json::from_slice(&raw) {
        Ok(t) => t,
        Err(e) => {
            return Err(err(
                StatusCode::BAD_REQUEST,
                format!("expected JSON {{\"text\": \"...\", \"sender\": \"...\"}}: {e}"),
            ));
        }
    };
    if t.text.trim().is_empty() {
        return Err(err(StatusCode::BAD_REQUEST, "text is empty"));
    }
    let msg = synthetic_message(
        &t.text,
        t.sender.as_deref(),
        t.channel.as_deref().unwrap_or("text"),
        t.subject.as_deref(),
    );
    let s = scan(&st, Bytes::from(msg), Envelope::default(), deadline, None).await?;
    Ok(ok_json(verdict_json(&s)))
}

#[derive(Deserialize)]
pub(super) struct UrlQuery {
    u: Option<String>,
}

/// `GET /v1/url?u=URL`: the link signals (a one-link message) and the
/// intel store's hits for the URL itself.
pub(super) async fn url_check(
    State(st): St,
    dl: Option<axum::Extension<Deadline>>,
    q: Result<Query<UrlQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    let deadline = deadline_of(dl, &st);
    let u = match q {
        Ok(Query(UrlQuery { u: Some(u) })) => u.trim().to_string(),
        Ok(_) => return Err(err(StatusCode::BAD_REQUEST, "missing ?u=URL")),
        Err(e) => return Err(err(StatusCode::BAD_REQUEST, e.body_text())),
    };
    check_url(&st, u, deadline).await
}

/// `/v1/url`'s work (the dashboard's URL check too).
pub(super) async fn check_url(
    st: &AppState,
    u: String,
    deadline: tokio::time::Instant,
) -> Result<Response, Response> {
    if u.is_empty() || u.len() > 8192 || u.contains(char::is_control) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "u must be one URL (at most 8192 bytes)",
        ));
    }
    let msg = url_message(&u);
    let s = scan(st, Bytes::from(msg), Envelope::default(), deadline, None).await?;
    let (hits, intel_error) = match &s.scanner.intel {
        Some(i) => {
            let (i, u2) = (i.clone(), u.clone());
            match tokio::task::spawn_blocking(move || i.lookup_url(&u2)).await {
                Ok(Ok(h)) => (serde_json::to_value(h).unwrap_or(Value::Null), None),
                Ok(Err(e)) => (json!([]), Some(e.to_string())),
                Err(_) => (json!([]), Some("intel lookup failed".to_string())),
            }
        }
        None => (json!([]), s.scanner.intel_error.clone()),
    };
    let mut out = verdict_json(&s);
    if let Value::Object(o) = &mut out {
        o.insert("url".into(), json!(u));
        o.insert(
            "intel".into(),
            json!({"available": s.scanner.intel.is_some(), "hits": hits, "error": intel_error}),
        );
    }
    Ok(ok_json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_messages() {
        let m = synthetic_message("hi http://x.example/a", Some("+1 555 0100"), "sms", None);
        let s = String::from_utf8(m).unwrap();
        assert!(
            s.starts_with("From: \"+1 555 0100\" <sender@sms.invalid>\r\n"),
            "{s}"
        );
        assert!(s.ends_with("\r\n\r\nhi http://x.example/a\r\n"));
        let m = synthetic_message("x", Some("a@b.example"), "chat", Some("s\r\nBcc: evil"));
        let s = String::from_utf8(m).unwrap();
        assert!(s.starts_with("From: <a@b.example>\r\n"));
        assert!(s.contains("Subject: s  Bcc: evil\r\n"), "{s}");
        let m = synthetic_message("x", Some("\"evil\"\r\nX: y"), "c\"h", None);
        let s = String::from_utf8(m).unwrap();
        assert!(
            s.starts_with("From: \"evil   X: y\" <sender@ch.invalid>\r\n"),
            "{s}"
        );
    }
}
