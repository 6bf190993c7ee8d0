//! SPF/DKIM/DMARC/ARC results: outwork's own DNS checks (done by the
//! engine, passed in as evidence) when it ran them, else what a trusted
//! edge already concluded in its Authentication-Results header.

use crate::context::Context;
use crate::facts::Facts;
use crate::symbol::Hits;

/// Sender authentication as the signals see it: outwork's own DNS results
/// ([`AuthView::from_verified`]) when it ran them, else the first believed Authentication-Results
/// headers ([`read`](crate::family::auth::read)). All `None` when nothing was believed.
#[derive(Debug, Default, Clone)]
pub struct AuthView {
    /// Which header was believed, for evidence.
    pub source: Option<String>,
    /// SPF result word (`pass`, `fail`, `softfail`, …), lower-case; `None` when unknown.
    pub spf: Option<String>,
    /// DKIM result word; `None` when unknown.
    pub dkim: Option<String>,
    /// DMARC result word; `None` when unknown.
    pub dmarc: Option<String>,
    /// DMARC policy the receiver reported (reject / quarantine / none).
    pub dmarc_policy: Option<String>,
    /// The From domain DMARC was evaluated for (`header.from=`), when known.
    pub header_from: Option<String>,
    /// ARC chain result (`pass`, `fail`); only from outwork's own checks, never from headers.
    pub arc: Option<String>,
    /// d= of the latest ARC-Seal; only from outwork's own checks.
    pub arc_sealer: Option<String>,
    /// The ARC chain passes and its latest sealer is in `auth.trusted_arc_sealers`.
    pub arc_trusted: bool,
    /// Extra detail for evidence (signing domains, notes).
    pub detail: Vec<String>,
    /// Domains (d=) of DKIM signatures that passed.
    pub dkim_pass_domains: Vec<String>,
}

impl AuthView {
    /// The view of outwork's own DNS verification.
    pub fn from_verified(v: &crate::evidence::VerifiedAuth) -> AuthView {
        let mut detail = Vec::new();
        if !v.dkim_domains.is_empty() {
            detail.push(format!("DKIM {}", v.dkim_domains.join(", ")));
        }
        detail.extend(v.notes.iter().cloned());
        AuthView {
            source: Some(format!("verified by outwork with DNS ({})", v.authserv_id)),
            spf: v.spf.clone(),
            dkim: v.dkim.clone(),
            dmarc: v.dmarc.clone(),
            dmarc_policy: v.dmarc_policy.clone(),
            header_from: v.dmarc_domain.clone(),
            arc: v.arc.clone(),
            arc_sealer: v.arc_sealer.clone(),
            arc_trusted: v.arc_trusted,
            detail,
            dkim_pass_domains: v
                .dkim_domains
                .iter()
                .filter_map(|d| d.strip_suffix("=pass"))
                .map(str::to_string)
                .collect(),
        }
    }

    /// Did DMARC pass?
    pub fn dmarc_pass(&self) -> bool {
        self.dmarc.as_deref() == Some("pass")
    }
}

/// Signing domains of the `dkim=pass` results in an Authentication-Results
/// value (`header.d=`, else the domain of `header.i=`).
fn dkim_pass_domains(value: &str) -> Vec<String> {
    let lower = value.to_ascii_lowercase();
    let mut out = Vec::new();
    for part in lower.split(';') {
        let part = part.trim();
        if !part.starts_with("dkim=pass") {
            continue;
        }
        let prop = |key: &str| {
            part.find(key).map(|i| {
                part[i + key.len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | ')' | '"'))
                    .collect::<String>()
            })
        };
        let d = prop("header.d=").or_else(|| {
            prop("header.i=").and_then(|i| i.rsplit_once('@').map(|(_, d)| d.to_string()))
        });
        if let Some(d) = d
            && d.contains('.')
            && out.len() < 8
        {
            out.push(d.trim_end_matches('.').to_string());
        }
    }
    out
}

/// The result word after `method=` in a header value.
fn result_of(value: &str, method: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(method) {
        let at = from + i;
        from = at + method.len();
        let before_ok = at == 0
            || !lower.as_bytes()[at - 1].is_ascii_alphanumeric()
                && lower.as_bytes()[at - 1] != b'.';
        if before_ok && lower[from..].starts_with('=') {
            let r: String = lower[from + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if !r.is_empty() {
                return Some(r);
            }
        }
    }
    None
}

fn dmarc_policy(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let clause = &lower[lower.find("dmarc=")?..];
    let clause = clause.split(';').next().unwrap_or(clause);
    if let Some(p) = result_of(clause, "p") {
        return Some(p);
    }
    // Microsoft: action=oreject|reject|quarantine|oquarantine|none
    result_of(clause, "action")
        .map(|a| a.trim_start_matches('o').to_string())
        .map(|a| if a == "ne" { "none".into() } else { a })
}

/// Authentication-Results that claim the deployment's own authserv-id
/// (`auth.authserv_id`, the id the MTA writes from outwork's answer). By
/// RFC 8601 §5 such a header arriving with a message came from outside
/// and is forged: it is never believed (not even when the id is also in
/// `trusted_authserv_ids`, or within `trust_topmost`), on every path (the
/// milter also deletes it), and it is reported as AUTH_RESULTS_FORGED.
pub(crate) fn forged<'a>(facts: &'a Facts, ctx: &Context) -> Vec<&'a crate::facts::AuthHeader> {
    let own = ctx.config.auth.authserv_id.trim();
    if own.is_empty() {
        return Vec::new();
    }
    facts
        .auth
        .iter()
        .filter(|h| {
            h.authserv_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(own))
        })
        .collect()
}

/// AUTH_RESULTS_FORGED for each header [`forged`] finds (whatever view
/// was used: outwork's own DNS checks or trusted headers).
pub(crate) fn forged_signals(facts: &Facts, ctx: &Context, hits: &mut Hits) {
    for h in forged(facts, ctx) {
        let mut v: String = h.value.chars().take(200).collect();
        if v.len() < h.value.len() {
            v.push('…');
        }
        hits.add(
            "AUTH_RESULTS_FORGED",
            format!(
                "Authentication-Results #{} claims our own authserv-id {} (ignored): {v}",
                h.position + 1,
                h.authserv_id.as_deref().unwrap_or("")
            ),
        );
    }
}

/// Read the Authentication-Results headers the deployment believes (`auth.trusted_authserv_ids`,
/// `auth.trust_topmost`), topmost first, each result from the first believed header that has it;
/// headers claiming outwork's own `authserv_id` are never believed.
pub fn read(facts: &Facts, ctx: &Context) -> AuthView {
    let cfg = &ctx.config.auth;
    let mut view = AuthView::default();
    let forged = forged(facts, ctx);
    for h in &facts.auth {
        if forged.iter().any(|f| std::ptr::eq(*f, h)) {
            continue;
        }
        let by_id = h.authserv_id.as_ref().is_some_and(|id| {
            cfg.trusted_authserv_ids
                .iter()
                .any(|t| t.eq_ignore_ascii_case(id))
        });
        let by_position = h.position < cfg.trust_topmost;
        if !(by_id || by_position) {
            continue;
        }
        let label = match &h.authserv_id {
            Some(id) if by_id => format!("Authentication-Results from trusted authserv-id {id}"),
            _ => format!(
                "Authentication-Results #{} from the top (trust_topmost)",
                h.position + 1
            ),
        };
        let mut used = false;
        if view.spf.is_none() {
            view.spf = result_of(&h.value, "spf");
            used |= view.spf.is_some();
        }
        if view.dkim.is_none() {
            view.dkim = result_of(&h.value, "dkim");
            used |= view.dkim.is_some();
            if view.dkim_pass_domains.is_empty() {
                view.dkim_pass_domains = dkim_pass_domains(&h.value);
            }
        }
        if view.dmarc.is_none() {
            view.dmarc = result_of(&h.value, "dmarc");
            if view.dmarc.is_some() {
                used = true;
                view.dmarc_policy = dmarc_policy(&h.value);
                view.header_from = {
                    let lower = h.value.to_ascii_lowercase();
                    lower.find("header.from=").map(|i| {
                        lower[i + 12..]
                            .chars()
                            .take_while(|c| !c.is_whitespace() && *c != ';' && *c != ')')
                            .collect()
                    })
                };
            }
        }
        if used && view.source.is_none() {
            view.source = Some(label);
        }
    }
    view
}

/// The AUTH_RESULTS_TRUSTED, SPF_*, DKIM_*, DMARC_*, ARC_*, FROM_BRAND_AUTHENTICATED and
/// FROM_BRAND_AUTH_FAIL symbols of a view; none when it believed nothing (`source` is `None`).
pub fn signals(a: &AuthView, facts: &Facts, ctx: &Context, hits: &mut Hits) {
    let Some(src) = &a.source else { return };
    let mut said = src.clone();
    if !a.detail.is_empty() {
        said = format!("{src}: {}", a.detail.join("; "));
    }
    hits.add("AUTH_RESULTS_TRUSTED", said);
    let simple = [
        ("SPF", &a.spf, "pass", "SPF_PASS"),
        ("SPF", &a.spf, "neutral", "SPF_NEUTRAL"),
        ("SPF", &a.spf, "none", "SPF_NONE"),
        ("SPF", &a.spf, "temperror", "SPF_TEMPERROR"),
        ("SPF", &a.spf, "permerror", "SPF_PERMERROR"),
        ("DKIM", &a.dkim, "pass", "DKIM_PASS"),
        ("DKIM", &a.dkim, "none", "DKIM_NONE"),
        ("DKIM", &a.dkim, "temperror", "DKIM_TEMPERROR"),
        ("DKIM", &a.dkim, "permerror", "DKIM_PERMERROR"),
        ("DMARC", &a.dmarc, "none", "DMARC_NONE"),
        ("DMARC", &a.dmarc, "temperror", "DMARC_TEMPERROR"),
        ("DMARC", &a.dmarc, "permerror", "DMARC_PERMERROR"),
        ("ARC", &a.arc, "pass", "ARC_VALID"),
        ("ARC", &a.arc, "fail", "ARC_INVALID"),
    ];
    for (method, result, word, symbol) in simple {
        if result.as_deref() == Some(word) {
            hits.add(
                symbol,
                format!("{}={word} ({src})", method.to_ascii_lowercase()),
            );
        }
    }
    // A trusted forwarder (mailing list, mailbox provider) re-sent the
    // message from its own IP: SPF and DMARC fail for that reason, not
    // because the sender was forged; its passing ARC chain says so.
    let forwarded = a.arc_trusted
        && (matches!(a.spf.as_deref(), Some("fail" | "softfail"))
            || a.dmarc.as_deref() == Some("fail"));
    if forwarded {
        hits.add(
            "ARC_TRUSTED_FORWARDER",
            format!(
                "ARC chain sealed by trusted forwarder {} passes: spf={} dmarc={} not held against the sender",
                a.arc_sealer.as_deref().unwrap_or("?"),
                a.spf.as_deref().unwrap_or("none"),
                a.dmarc.as_deref().unwrap_or("none")
            ),
        );
        return;
    }
    let from = facts
        .from
        .as_ref()
        .map(|f| f.domain_ascii().to_string())
        .unwrap_or_default();
    match a.spf.as_deref() {
        Some("fail") => hits.add("SPF_FAIL", format!("spf=fail ({src})")),
        Some("softfail") => hits.add("SPF_SOFTFAIL", format!("spf=softfail ({src})")),
        _ => {}
    }
    if a.dkim.as_deref() == Some("fail") {
        hits.add("DKIM_FAIL", format!("dkim=fail ({src})"));
    }
    match a.dmarc.as_deref() {
        Some("fail") => {
            hits.add(
                "DMARC_FAIL",
                format!(
                    "dmarc=fail for header.from={} ({src})",
                    a.header_from.as_deref().unwrap_or(&from)
                ),
            );
            match a.dmarc_policy.as_deref() {
                Some("reject") => hits.add(
                    "DMARC_POLICY_REJECT",
                    "the From domain's DMARC policy is p=reject",
                ),
                Some("quarantine") => hits.add(
                    "DMARC_POLICY_QUARANTINE",
                    "the From domain's DMARC policy is p=quarantine",
                ),
                _ => {}
            }
        }
        Some("pass") => hits.add(
            "DMARC_PASS",
            format!(
                "dmarc=pass for header.from={} ({src})",
                a.header_from.as_deref().unwrap_or(&from)
            ),
        ),
        _ => {}
    }
    // Mail claiming a brand's own domain (or ours) that its edge could not
    // authenticate: the exact-domain spoof DMARC exists to stop.
    if let Some(f) = &facts.from {
        let reg = f.registrable().unwrap_or("");
        // The most impersonated brands only: the wider catalogue names
        // services whose own mail rarely carries trusted results.
        let claims = !reg.is_empty()
            && (ctx.is_protected(reg)
                || ctx
                    .brand_of_domain(reg)
                    .is_some_and(|b| ctx.brands[b].lookalike_target));
        let pass = |r: &Option<String>| r.as_deref() == Some("pass");
        let unauthenticated = a.dmarc.as_deref() == Some("fail")
            || (!pass(&a.dmarc)
                && !pass(&a.spf)
                && !pass(&a.dkim)
                && (a.spf.is_some() || a.dkim.is_some()));
        // The brand itself, authenticated: the context that tells a
        // brand's real notice from a copy with the same words.
        if claims && pass(&a.dmarc) && !ctx.freemail.contains(reg) {
            hits.add(
                "FROM_BRAND_AUTHENTICATED",
                format!(
                    "From {} is a brand's own domain and dmarc=pass ({src})",
                    f.address
                ),
            );
        }
        if claims && unauthenticated && !ctx.freemail.contains(reg) {
            hits.add(
                "FROM_BRAND_AUTH_FAIL",
                format!(
                    "From {} but spf={} dkim={} dmarc={} ({src})",
                    f.address,
                    a.spf.as_deref().unwrap_or("none"),
                    a.dkim.as_deref().unwrap_or("none"),
                    a.dmarc.as_deref().unwrap_or("none")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_results() {
        let v = "spf=fail (sender IP is 1.2.3.4) smtp.mailfrom=x.example; dkim=none (message not signed) header.d=none;dmarc=fail action=oreject header.from=paypal.com;compauth=fail";
        assert_eq!(result_of(v, "spf").as_deref(), Some("fail"));
        assert_eq!(result_of(v, "dkim").as_deref(), Some("none"));
        assert_eq!(result_of(v, "dmarc").as_deref(), Some("fail"));
        assert_eq!(dmarc_policy(v).as_deref(), Some("reject"));
        let v = "mx.example.com; dmarc=fail (p=QUARANTINE sp=NONE dis=NONE) header.from=x.example";
        assert_eq!(dmarc_policy(v).as_deref(), Some("quarantine"));
    }
}
