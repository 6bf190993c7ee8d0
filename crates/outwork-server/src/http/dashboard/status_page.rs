//! The status page: charts data, latency, intel sources and the loaded
//! config with its secrets redacted.

use super::*;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

const ACTIONS: [&str; 4] = ["accept", "tag", "quarantine", "reject"];

/// Hourly message counts by action over the last 24 hours, all-time
/// counts, latency percentiles and the most frequent symbols.
fn stats(st: &AppState) -> Value {
    let Some(log) = &st.svc.verdicts else {
        return Value::Null;
    };
    let now = now_secs();
    let start = (now / 3600 + 1) * 3600 - 24 * 3600;
    let mut buckets = vec![[0u64; 5]; 24];
    // Days (UTC) over the retention, at most a month.
    let ndays = st
        .svc
        .dashboard
        .as_ref()
        .map_or(7, |d| d.retention_days)
        .clamp(1, 31);
    let day_start = (now / 86_400 + 1) * 86_400 - ndays * 86_400;
    let mut days = vec![[0u64; 5]; ndays as usize];
    let mut totals: HashMap<String, u64> = HashMap::new();
    let mut symbols: HashMap<String, u64> = HashMap::new();
    let mut lat: Vec<f64> = Vec::new();
    let mut oldest = None;
    log.for_each(|r| {
        oldest.get_or_insert(r.time_ms / 1000);
        *totals.entry(r.action.clone()).or_default() += 1;
        let t = r.time_ms / 1000;
        let a = ACTIONS.iter().position(|a| *a == r.action).unwrap_or(4);
        if t >= day_start
            && let Some(b) = days.get_mut(((t - day_start) / 86_400) as usize)
        {
            b[a] += 1;
        }
        if t >= start {
            if let Some(b) = buckets.get_mut(((t - start) / 3600) as usize) {
                b[a] += 1;
            }
            lat.push(r.took_ms);
            for s in &r.symbols {
                *symbols.entry(s.name.clone()).or_default() += 1;
            }
        }
    });
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| -> Option<f64> {
        if lat.is_empty() {
            return None;
        }
        let i = ((lat.len() - 1) as f64 * p).round() as usize;
        lat.get(i).copied()
    };
    let mut top: Vec<(String, u64)> = symbols.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(15);
    json!({
        "records": log.len(),
        "keep": log.options().keep,
        "retention_days": log.options().retention_days,
        "path": log.options().path,
        "oldest": oldest,
        "hours": (0..24).map(|i| {
            let b = &buckets[i];
            json!({"start": start + i as u64 * 3600, "accept": b[0], "tag": b[1],
                   "quarantine": b[2], "reject": b[3], "other": b[4]})
        }).collect::<Vec<_>>(),
        "days": days.iter().enumerate().map(|(i, b)| {
            json!({"start": day_start + i as u64 * 86_400, "accept": b[0], "tag": b[1],
                   "quarantine": b[2], "reject": b[3], "other": b[4]})
        }).collect::<Vec<_>>(),
        "totals": totals,
        "latency_ms": {"count": lat.len(), "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": lat.last()},
        "top_symbols": top.iter().map(|(n, c)| json!({"name": n, "count": c})).collect::<Vec<_>>(),
    })
}

/// The intel store's sources (the embedded file; read once per change).
fn intel_sources(st: &AppState) -> Value {
    static CACHE: Mutex<Option<(std::path::PathBuf, SystemTime, Value)>> = Mutex::new(None);
    let stale_after = st
        .svc
        .dashboard
        .as_ref()
        .map_or(48, |d| d.stale_feed_hours)
        .saturating_mul(3600);
    let Some(p) = &st.svc.intel_path else {
        return json!({"file": null, "sources": []});
    };
    let Ok(mtime) = std::fs::metadata(p).and_then(|m| m.modified()) else {
        return json!({"file": p, "error": "no intel store file", "sources": []});
    };
    let mut c = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let sources = match &*c {
        Some((cp, ct, v)) if cp == p && *ct == mtime => v.clone(),
        _ => {
            let v = match outwork_intel::Index::load(p) {
                Ok(idx) => serde_json::to_value(idx.sources()).unwrap_or(Value::Null),
                Err(e) => return json!({"file": p, "error": e.to_string(), "sources": []}),
            };
            *c = Some((p.clone(), mtime, v.clone()));
            v
        }
    };
    let now = now_secs() as i64;
    let sources: Vec<Value> = sources
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            let age = s["imported_at"].as_i64().map(|t| (now - t).max(0));
            if let Value::Object(o) = &mut s {
                o.insert("age_secs".into(), json!(age));
                o.insert(
                    "stale".into(),
                    json!(age.is_none_or(|a| a as u64 > stale_after)),
                );
            }
            s
        })
        .collect();
    let file_age = SystemTime::now()
        .duration_since(mtime)
        .map_or(0, |d| d.as_secs());
    json!({"file": p, "file_age_secs": file_age, "stale_after_secs": stale_after, "sources": sources})
}

/// Keys whose values are secrets.
fn secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    ["token", "password", "passwd", "secret", "key", "credential"]
        .iter()
        .any(|s| k.contains(s))
}

/// `scheme://user:pass@host` → `scheme://***@host`.
fn redact_userinfo(s: &str) -> String {
    if let Some((scheme, rest)) = s.split_once("://")
        && let Some((_, host)) = rest.split_once('@')
        && !rest.split('@').next().unwrap_or("").contains('/')
    {
        return format!("{scheme}://***@{host}");
    }
    s.to_string()
}

fn redact(v: &mut toml::Value) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                if secret_key(k) && !matches!(v, toml::Value::Table(_)) {
                    *v = toml::Value::String("(redacted)".into());
                } else {
                    redact(v);
                }
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(redact),
        toml::Value::String(s) => *s = redact_userinfo(s),
        _ => {}
    }
}

/// outwork.toml as loaded, secrets replaced.
pub(super) fn redacted_config(text: &str) -> String {
    match toml::from_str::<toml::Table>(text) {
        Ok(t) => {
            let mut v = toml::Value::Table(t);
            redact(&mut v);
            toml::to_string(&v).unwrap_or_default()
        }
        Err(_) => "(config does not parse)".into(),
    }
}

pub(super) async fn status(State(st): St, headers: HeaderMap) -> Result<Response, Response> {
    read_guard(&st, &headers)?;
    let st2 = st.clone();
    let (stats, intel) =
        match tokio::task::spawn_blocking(move || (stats(&st2), intel_sources(&st2))).await {
            Ok(x) => x,
            Err(_) => return Err(err(StatusCode::INTERNAL_SERVER_ERROR, "status failed")),
        };
    let scanner = st.cell().get();
    let c = &st.cfg;
    Ok(ok_json(json!({
        "now": now_secs(),
        "verdicts": stats,
        "intel": {
            "available": scanner.intel.is_some(),
            "error": scanner.intel_error,
            "store": intel,
        },
        "thresholds": {
            "tag": scanner.ctx.config.thresholds.tag,
            "quarantine": scanner.ctx.config.thresholds.quarantine,
            "reject": scanner.ctx.config.thresholds.reject,
        },
        "http": {
            "listen": c.listen, "max_connections": c.max_connections,
            "max_scans": c.scan_slots(), "scans_free": st.scans.available_permits(),
            "max_body_bytes": c.max_body_bytes, "request_timeout_ms": c.request_timeout_ms,
            "max_buffered_bytes": st.buffered.limit(), "buffered_bytes": st.buffered.used(),
            "admin_token": if c.token().is_some() { "(set)" } else { "(unset)" },
            "release_command": !c.release_command.is_empty(),
            "rspamd_quarantine_action": c.rspamd_quarantine_action.as_str(),
        },
        "config_file": redacted_config(&st.svc.config_text),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_redacted() {
        let t = "[http]\nadmin_token = \"s3cr3t-0123456789\"\nlisten = \"127.0.0.1:1\"\n\
                 [intel]\nredis = \"redis://u:pw@10.0.0.1/0\"\n";
        let r = redacted_config(t);
        assert!(!r.contains("s3cr3t") && !r.contains("pw@"), "{r}");
        assert!(
            r.contains("127.0.0.1:1") && r.contains("redis://***@10.0.0.1/0"),
            "{r}"
        );
    }
}
