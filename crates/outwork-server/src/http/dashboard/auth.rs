//! Who may do what: login sessions and their CSRF tokens, the wrong-token
//! throttle, bearer tokens, and the read/write guards every API handler
//! calls first.

use super::*;

/// A live session: when it expires, and the CSRF token bound to it.
struct Session {
    expires: Instant,
    csrf: String,
}

/// Dashboard login sessions (in memory: a restart logs everyone out).
#[derive(Default)]
pub(in crate::http) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    /// Wrong tokens per client address (dashboard logins and bearer
    /// tokens alike): (window start, count).
    failures: Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
}

impl Sessions {
    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<std::net::IpAddr, (Instant, u32)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seconds until `ip` may try again, when it has used up its window.
    pub(in crate::http) fn locked_out(&self, ip: std::net::IpAddr) -> Option<u64> {
        let m = self.failures();
        let (start, n) = m.get(&ip)?;
        let left = LOGIN_WINDOW.checked_sub(start.elapsed())?;
        (*n >= MAX_LOGIN_FAILURES).then(|| left.as_secs().max(1))
    }

    pub(in crate::http) fn login_failed(&self, ip: std::net::IpAddr) {
        let now = Instant::now();
        let mut m = self.failures();
        if m.len() >= MAX_THROTTLED {
            m.retain(|_, (start, _)| start.elapsed() < LOGIN_WINDOW);
        }
        if m.len() >= MAX_THROTTLED {
            // Flooded from many addresses: forget the lot rather than grow.
            m.clear();
        }
        let e = m.entry(ip).or_insert((now, 0));
        if e.0.elapsed() >= LOGIN_WINDOW {
            *e = (now, 0);
        }
        e.1 += 1;
    }

    pub(in crate::http) fn login_ok(&self, ip: std::net::IpAddr) {
        self.failures().remove(&ip);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session: its id and the CSRF token bound to it.
    pub(in crate::http) fn create(&self, ttl: Duration) -> Option<(String, String)> {
        let id = random_hex(32)?;
        let csrf = random_hex(32)?;
        let now = Instant::now();
        let mut m = self.lock();
        m.retain(|_, s| s.expires > now);
        if m.len() >= MAX_SESSIONS
            && let Some(oldest) = m
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            m.remove(&oldest);
        }
        m.insert(
            id.clone(),
            Session {
                expires: now + ttl,
                csrf: csrf.clone(),
            },
        );
        Some((id, csrf))
    }

    pub(in crate::http) fn valid(&self, id: &str) -> bool {
        self.csrf_of(id).is_some()
    }

    /// The CSRF token of a live session.
    pub(in crate::http) fn csrf_of(&self, id: &str) -> Option<String> {
        self.lock()
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.csrf.clone())
    }

    pub(in crate::http) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// `n` random bytes as hex, from the kernel.
pub(in crate::http) fn random_hex(n: usize) -> Option<String> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Who is acting, for the audit log.
pub(in crate::http) struct Actor(pub(in crate::http) String);

pub(in crate::http) fn peer_of(p: &Option<axum::Extension<Peer>>) -> String {
    p.as_ref()
        .map_or_else(|| "?".to_string(), |axum::Extension(Peer(a))| a.to_string())
}

/// A presented bearer token that matches.
pub(in crate::http) fn bearer_ok(st: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = st.cfg.token() else {
        return false;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|t| token_matches(t.trim_ascii(), token.as_bytes()))
}

/// The session cookie's id when it names a live session.
pub(in crate::http) fn session_of<'a>(st: &AppState, headers: &'a HeaderMap) -> Option<&'a str> {
    cookie(headers, SESSION_COOKIE).filter(|s| s.len() == 64 && st.sessions.valid(s))
}

/// Logged in (session or bearer)?
pub(in crate::http) fn authed(st: &AppState, headers: &HeaderMap) -> bool {
    bearer_ok(st, headers) || session_of(st, headers).is_some()
}

pub(in crate::http) fn no_token_configured() -> Response {
    err(
        StatusCode::FORBIDDEN,
        "dashboard writes are disabled: set [http] admin_token",
    )
}

pub(in crate::http) fn login_required() -> Response {
    err(
        StatusCode::UNAUTHORIZED,
        "log in with the admin token first",
    )
}

/// Reads: open unless `login_for_reads`.
pub(in crate::http) fn read_guard(st: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let need = st.svc.dashboard.as_ref().is_some_and(|d| d.login_for_reads);
    if need && !authed(st, headers) {
        return Err(login_required());
    }
    Ok(())
}

/// Reads of quarantined mail: always logged in.
pub(in crate::http) fn admin_read_guard(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<(), Response> {
    if st.cfg.token().is_none() {
        return Err(no_token_configured());
    }
    if !authed(st, headers) {
        return Err(login_required());
    }
    Ok(())
}

/// Is `Origin` this server (`Host`)? Browsers send `Origin` on every POST.
pub(in crate::http) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    let origin_host = origin.and_then(|o| {
        o.strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
    });
    matches!((host, origin_host), (Some(h), Some(o)) if !h.is_empty() && h.eq_ignore_ascii_case(o))
}

pub(in crate::http) fn wrong_csrf() -> Response {
    err(
        StatusCode::FORBIDDEN,
        "missing or wrong CSRF token (reload the page)",
    )
}

/// Before a session exists (login): `Origin` must be this server, and the
/// CSRF header must echo the CSRF cookie (double submit; what a forged
/// login could do is log the victim in with the admin token it would
/// need to know).
pub(in crate::http) fn csrf_guard(headers: &HeaderMap) -> Result<(), Response> {
    if !same_origin(headers) {
        return Err(err(
            StatusCode::FORBIDDEN,
            "cross-origin request refused (Origin must match Host)",
        ));
    }
    let c = cookie(headers, CSRF_COOKIE).unwrap_or("");
    let h = headers
        .get("x-csrf-token")
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    if c.len() < 32 || !token_matches(h, c.as_bytes()) {
        return Err(wrong_csrf());
    }
    Ok(())
}

/// With a session: `Origin` must be this server, and the CSRF header must
/// carry the token bound to that session at login (a cookie/header pair
/// the client chose itself does not pass).
pub(in crate::http) fn session_csrf_guard(
    st: &AppState,
    headers: &HeaderMap,
    session: &str,
) -> Result<(), Response> {
    if !same_origin(headers) {
        return Err(err(
            StatusCode::FORBIDDEN,
            "cross-origin request refused (Origin must match Host)",
        ));
    }
    let h = headers
        .get("x-csrf-token")
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    match st.sessions.csrf_of(session) {
        Some(t) if token_matches(h, t.as_bytes()) => Ok(()),
        _ => Err(wrong_csrf()),
    }
}

/// Writes: a bearer token, or a session plus the CSRF and Origin checks.
pub(in crate::http) fn write_guard(
    st: &AppState,
    headers: &HeaderMap,
    peer: &Option<axum::Extension<Peer>>,
) -> Result<Actor, Response> {
    if st.cfg.token().is_none() {
        return Err(no_token_configured());
    }
    let from = peer_of(peer);
    if bearer_ok(st, headers) {
        return Ok(Actor(format!("bearer token from {from}")));
    }
    if !same_origin(headers) {
        return Err(err(
            StatusCode::FORBIDDEN,
            "cross-origin request refused (Origin must match Host)",
        ));
    }
    match session_of(st, headers) {
        Some(s) => {
            session_csrf_guard(st, headers, s)?;
            // The session id is a secret; its first 8 characters name it.
            Ok(Actor(format!("session {} from {from}", &s[..8])))
        }
        None => Err(login_required()),
    }
}

pub(in crate::http) async fn session_info(State(st): St, headers: HeaderMap) -> Response {
    let d = st.svc.dashboard.as_ref();
    ok_json(json!({
        "logged_in": authed(&st, &headers),
        "token_configured": st.cfg.token().is_some(),
        "login_for_reads": d.is_some_and(|d| d.login_for_reads),
        "quarantine": st.svc.quarantine.is_some(),
        "reports": d.is_some_and(|d| d.reports_dir.is_some()),
        "release_command": !st.cfg.release_command.is_empty(),
    }))
}

#[derive(Deserialize)]
pub(in crate::http) struct LoginReq {
    token: String,
}

pub(in crate::http) async fn login(
    State(st): St,
    peer: Option<axum::Extension<Peer>>,
    dl: Option<axum::Extension<Deadline>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let Some(token) = st.cfg.token() else {
        return Err(no_token_configured());
    };
    csrf_guard(&headers)?;
    let deadline = super::deadline_of(dl, &st);
    let raw = read_body(&st, &headers, body, deadline).await?;
    let Ok(req) = serde_json::from_slice::<LoginReq>(&raw) else {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"token\": \"...\"}",
        ));
    };
    let from = peer_of(&peer);
    let ip = peer.as_ref().map(|axum::Extension(Peer(a))| a.ip());
    if let Some(ip) = ip
        && let Some(wait) = st.sessions.locked_out(ip)
    {
        tracing::warn!(target: LOG, from, "dashboard login refused: too many wrong tokens");
        return Err(super::locked_out_response(wait));
    }
    if !token_matches(req.token.trim().as_bytes(), token.as_bytes()) {
        tracing::warn!(target: LOG, from, "dashboard login failed: wrong token");
        if let Some(ip) = ip {
            st.sessions.login_failed(ip);
        }
        return Err(err(StatusCode::UNAUTHORIZED, "wrong token"));
    }
    if let Some(ip) = ip {
        st.sessions.login_ok(ip);
    }
    let hours = st.svc.dashboard.as_ref().map_or(12, |d| d.session_hours);
    let ttl = Duration::from_secs(hours.saturating_mul(3600));
    let Some((id, csrf)) = st.sessions.create(ttl) else {
        return Err(err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a session",
        ));
    };
    tracing::info!(target: LOG, actor = %format!("session {} from {from}", &id[..8]), "dashboard login");
    let c = format!(
        "{SESSION_COOKIE}={id}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={}",
        ttl.as_secs()
    );
    let mut r = ok_json(json!({"logged_in": true}));
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    // From now on writes need the token bound to this session.
    set_csrf_cookie(&mut r, &csrf);
    Ok(r)
}

pub(in crate::http) async fn logout(
    State(st): St,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let guard = match session_of(&st, &headers) {
        Some(s) => session_csrf_guard(&st, &headers, s),
        None => csrf_guard(&headers),
    };
    guard?;
    if let Some(s) = cookie(&headers, SESSION_COOKIE) {
        st.sessions.remove(s);
    }
    let mut r = ok_json(json!({"logged_in": false}));
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "outwork_session=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(r)
}
