//! Link signals: where a click really goes and how the link hides it.

use crate::context::Context;
use crate::domain::{IpHost, is_same_or_subdomain, registrable_label, skeleton};
use crate::facts::{Facts, UrlFact};
use crate::symbol::Hits;
use crate::url::{UrlSource, shown_host};

fn is_esp_tracker(host: &str) -> bool {
    crate::lists::ESP_DOMAINS
        .iter()
        .any(|e| is_same_or_subdomain(host, e))
}

/// Damerau-Levenshtein small enough to count as a typo of `b`.
pub(crate) fn near_miss(a: &str, b: &str) -> bool {
    near_miss_sk(a, &skeleton(a), b, &skeleton(b))
}

/// `near_miss` with the skeletons already computed (the lookalike loop
/// compares one label against hundreds of brand labels).
pub(crate) fn near_miss_sk(a: &str, a_skel: &str, b: &str, b_skel: &str) -> bool {
    if a == b {
        return false;
    }
    if a_skel == b_skel {
        return true;
    }
    // Brand labels are ASCII; so are most candidates: compare bytes then.
    if a.is_ascii() && b.is_ascii() {
        return bounded(a.as_bytes(), b.as_bytes());
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    bounded(&a, &b)
}

/// Typo rule on sequences: labels of 6+ within one edit, 10+ within two.
fn bounded<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let lb = b.len();
    if a.len().abs_diff(lb) > 2 || lb < 6 {
        return false;
    }
    osa_within(a, b, if lb >= 10 { 2 } else { 1 })
}

/// Optimal-string-alignment distance (edits and adjacent swaps) of at most
/// `max`: a banded table with early exit. The lookalike loop runs this
/// against every brand label, so it must not build a full table.
fn osa_within<T: PartialEq>(a: &[T], b: &[T], max: usize) -> bool {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > max || n > 64 || m > 64 {
        return false;
    }
    let inf = max + 1;
    // Three rows of the DP table, bounded by the DNS label length (63).
    let mut prev2 = [inf; 65];
    let mut prev: [usize; 65] = [inf; 65];
    let mut cur = [inf; 65];
    for (j, v) in prev.iter_mut().enumerate().take(m + 1) {
        *v = j.min(inf);
    }
    for i in 1..=n {
        cur[0] = i.min(inf);
        let lo = i.saturating_sub(max).max(1);
        let hi = (i + max).min(m);
        for v in cur.iter_mut().take(lo).skip(1) {
            *v = inf;
        }
        let mut row_min = cur[0];
        for j in lo..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d.min(inf);
            row_min = row_min.min(cur[j]);
        }
        for v in cur.iter_mut().take(m + 1).skip(hi + 1) {
            *v = inf;
        }
        if row_min > max {
            return false;
        }
        prev2 = prev;
        prev = cur;
    }
    prev[m] <= max
}

fn is_qr(u: &UrlFact) -> bool {
    u.source == UrlSource::Attachment
        && u.anchor_text
            .as_deref()
            .is_some_and(|t| t.starts_with("QR code"))
}

/// Links that travel in QR codes, and mail whose only links do.
fn qr(facts: &Facts, hits: &mut Hits) {
    let web = |u: &&UrlFact| u.url.is_web() && u.is_clickable() && u.source != UrlSource::HtmlSrc;
    let (qr, other): (Vec<&UrlFact>, Vec<&UrlFact>) =
        facts.urls.iter().filter(web).partition(|u| is_qr(u));
    for u in &qr {
        let short: String = u.url.raw.chars().take(120).collect();
        hits.add("QR_CODE_URL", format!("{short} ({})", u.where_found()));
    }
    if !qr.is_empty() && other.is_empty() {
        hits.add(
            "QR_ONLY_CALL_TO_ACTION",
            format!("{} link(s), all in QR codes", qr.len()),
        );
    }
}

pub(crate) fn signals(facts: &Facts, ctx: &Context, authenticated: Option<&str>, hits: &mut Hits) {
    qr(facts, hits);
    // For each link, the final target after unwrapping.
    let mut child: Vec<Option<usize>> = vec![None; facts.urls.len()];
    for (i, u) in facts.urls.iter().enumerate() {
        if let Some(p) = u.via {
            child[p] = Some(i);
        }
    }
    let final_of = |mut i: usize| {
        for _ in 0..4 {
            match child[i] {
                Some(c) => i = c,
                None => break,
            }
        }
        i
    };

    let mut abused_tld_done = false;
    for (i, u) in facts.urls.iter().enumerate() {
        let host = u.url.host_ascii();
        let reg = u.url.registrable().unwrap_or(host);
        if !reg.is_empty()
            && ctx
                .allow_domains
                .iter()
                .any(|a| is_same_or_subdomain(reg, a))
        {
            continue;
        }
        let clickable = u.is_clickable();
        let where_ = u.where_found();
        let raw_short = crate::facts::Truncated(&u.url.raw, 120);

        match u.url.scheme.as_str() {
            "data" => {
                let is_page = u
                    .url
                    .path
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("text/html");
                if u.source != UrlSource::HtmlSrc || is_page {
                    let head: String = u.url.path.chars().take(40).collect();
                    hits.add("URL_DATA_URI", format!("data:{head}… in {where_}"));
                }
                continue;
            }
            "javascript" | "vbscript" => {
                hits.add(
                    "URL_JAVASCRIPT",
                    format!("{}: link in {where_}", u.url.scheme),
                );
                continue;
            }
            _ => {}
        }
        if !u.url.is_web() {
            continue;
        }
        if u.defanged {
            hits.add(
                "URL_OBFUSCATED_TEXT",
                format!("{raw_short} written defanged in {where_}"),
            );
        }
        if u.invisible_chars {
            hits.add(
                "URL_INVISIBLE_CHARS",
                format!("invisible characters in {raw_short} ({where_})"),
            );
        }
        let Some(h) = &u.url.host else { continue };

        if clickable {
            match &h.ip {
                Some(IpHost::V4Obfuscated(ip)) => hits.add(
                    "URL_IP_OBFUSCATED",
                    format!("host {} is IP {ip} ({where_})", u.url.host_raw),
                ),
                Some(IpHost::V4Dotted(ip)) if !ip.is_private() && !ip.is_loopback() => {
                    hits.add("URL_IP_HOST", format!("{raw_short} ({where_})"))
                }
                Some(IpHost::V6(ip)) if !ip.is_loopback() => {
                    hits.add("URL_IP_HOST", format!("{raw_short} ({where_})"))
                }
                _ => {}
            }
            if let Some(ui) = &u.url.userinfo
                && !ui.is_empty()
            {
                let ui: String = ui.chars().take(60).collect();
                hits.add(
                    "URL_USERINFO",
                    format!("link starts with \"{ui}@\" but goes to {host} ({where_})"),
                );
            }
            if h.has_punycode() {
                hits.add(
                    "URL_PUNYCODE",
                    format!("{} is {} ({where_})", h.ascii, h.unicode),
                );
            }
            if crate::domain::is_mixed_script(&h.unicode) {
                hits.add(
                    "URL_MIXED_SCRIPT",
                    format!("{} mixes scripts ({where_})", h.unicode),
                );
            }
            if ctx.shorteners.contains(host) || ctx.shorteners.contains(reg) {
                hits.add("URL_SHORTENER", format!("{raw_short} ({where_})"));
            }
            if let Some(e) = Context::host_listed(&ctx.free_hosting, host, &u.url.path) {
                hits.add(
                    "URL_FREE_HOSTING",
                    format!("{host} is free hosting ({e}) ({where_})"),
                );
            }
            if let Some(e) = Context::host_listed(&ctx.form_services, host, &u.url.path) {
                hits.add(
                    "URL_FORM_SERVICE",
                    format!("{host} is a form service ({e}) ({where_})"),
                );
            }
            if let Some(e) = Context::host_listed(&ctx.tunnels, host, &u.url.path) {
                hits.add(
                    "URL_DEV_TUNNEL",
                    format!("{host} is a developer tunnel ({e}) ({where_})"),
                );
            }
            let lpath = u.url.path.to_ascii_lowercase();
            if Context::host_listed(&ctx.ipfs, host, &u.url.path).is_some()
                || lpath.contains("/ipfs/qm")
                || lpath.contains("/ipfs/baf")
                || host.starts_with("bafy")
                || host.starts_with("bafk")
            {
                hits.add("URL_IPFS", format!("{raw_short} ({where_})"));
            }
            if !abused_tld_done
                && h.ip.is_none()
                && let Some(tld) = host.rsplit('.').next()
                && ctx.abused_tlds.contains(tld)
            {
                hits.add("URL_ABUSED_TLD", format!("{host} ({where_})"));
                abused_tld_done = true;
            }
            if let Some(port) = &u.url.port
                && !matches!(port.as_str(), "80" | "443" | "")
            {
                hits.add("URL_NONSTANDARD_PORT", format!("{host}:{port} ({where_})"));
            }
            if u.url.scheme == "http" && h.ip.is_none() {
                const CRED: &[&str] = &[
                    "login", "signin", "sign-in", "logon", "verify", "webscr", "auth", "password",
                    "secure", "unlock", "validate", "wallet",
                ];
                if CRED.iter().any(|c| lpath.contains(c)) {
                    hits.add(
                        "URL_HTTP_CREDENTIAL_PATH",
                        format!("{raw_short} ({where_})"),
                    );
                }
            }
        }

        // Open redirectors: only when the target is another site.
        if u.source == UrlSource::Unwrapped
            && u.via_known_redirector
            && let Some(p) = u.via
        {
            let wrapper = &facts.urls[p];
            if wrapper.url.registrable() != u.url.registrable() {
                hits.add(
                    "URL_REDIRECTOR",
                    format!("{} redirects to {}", wrapper.url.host_ascii(), host),
                );
            }
        }

        // Link text that shows another domain than the click goes to.
        if u.source == UrlSource::HtmlHref && u.via.is_none() {
            link_text(ctx, authenticated, u, &facts.urls[final_of(i)], hits);
        }
    }
}

fn link_text(
    ctx: &Context,
    authenticated: Option<&str>,
    link: &UrlFact,
    target: &UrlFact,
    hits: &mut Hits,
) {
    let Some(text) = &link.anchor_text else {
        return;
    };
    let Some(shown_raw) = shown_host(text) else {
        return;
    };
    let Some(shown) = crate::domain::Host::parse(&shown_raw) else {
        return;
    };
    let Some(th) = &target.url.host else { return };
    let shown_reg = shown.registrable().unwrap_or(&shown.ascii).to_string();
    // Text that shows a link wrapper (urldefense, safelinks) names no site.
    if crate::lists::REDIRECTORS
        .iter()
        .any(|r| is_same_or_subdomain(&shown.ascii, r.host))
        || ctx.shorteners.contains(&shown_reg)
    {
        return;
    }
    // The DMARC-authenticated sender showing its own domain: its tracking
    // and campaign domains are its business (attackers can't pass DMARC
    // for the domain they show).
    if authenticated == Some(shown_reg.as_str()) {
        return;
    }
    let target_reg = th.registrable().unwrap_or(&th.ascii).to_string();
    if shown_reg == target_reg
        || is_same_or_subdomain(&th.ascii, &shown.ascii)
        || is_same_or_subdomain(&shown.ascii, &th.ascii)
    {
        return;
    }
    // Two domains of the same brand (paypal.com text, paypal.me link).
    if let Some(b) = ctx.brand_of_domain(&shown_reg)
        && ctx.brand_of_domain(&target_reg) == Some(b)
    {
        return;
    }
    let shown_label = registrable_label(&shown_reg);
    let target_label = registrable_label(&target_reg);
    let ev = format!(
        "text shows {} but link goes to {}",
        shown.unicode, th.unicode
    );
    if th.ip.is_none() && near_miss(target_label, shown_label) {
        hits.add("LINK_TEXT_TYPOSQUAT", ev);
        return;
    }
    // A newsletter's own tracking domain: the ESP stands between.
    if is_esp_tracker(&th.ascii) {
        return;
    }
    hits.add("LINK_TEXT_MISMATCH", ev);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses() {
        assert!(near_miss("paypa1", "paypal"));
        assert!(near_miss("micros0ft", "microsoft"));
        assert!(near_miss("arnazon", "amazon"));
        assert!(!near_miss("apply", "apple"));
        assert!(!near_miss("google", "google"));
        assert!(!near_miss("example", "paypal"));
        assert!(near_miss("paypla", "paypal")); // adjacent swap
        assert!(near_miss("microsfot", "microsoft"));
        assert!(near_miss("bankofamerca", "bankofamerica")); // one deletion
        assert!(near_miss("bankofamerrca", "bankofamerica")); // one edit, long
        assert!(near_miss("banksofamerca", "bankofamerica")); // two edits, long
        assert!(!near_miss("bxnksofamerca", "bankofamerica")); // three edits
        assert!(!near_miss("netfl", "netflix"));
    }

    #[test]
    fn osa_matches_strsim() {
        let words = [
            "paypal",
            "paypa",
            "payplal",
            "apaypl",
            "micros",
            "microsoft",
            "micorsoft",
            "amazon",
            "amzaon",
            "bankofamerica",
            "bankfoamerica",
            "bnakofamerca",
            "",
            "a",
            "ab",
            "ba",
        ];
        for a in words {
            for b in words {
                let d = strsim::osa_distance(a, b);
                let (ac, bc): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                for max in 0..3 {
                    assert_eq!(osa_within(&ac, &bc, max), d <= max, "{a} {b} {max}");
                }
            }
        }
    }
}
