//! Lookalike domains: names built to be mistaken for a protected domain or a
//! well-known brand.

use super::links::near_miss_sk;
use crate::context::Context;
use crate::domain::{Host, is_same_or_subdomain, registrable_label, skeleton};
use crate::facts::Facts;
use crate::symbol::Hits;
use crate::url::UrlSource;

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Url,
    Sender,
    /// The envelope sender (Return-Path): a bounce address nobody reads.
    /// Mailing lists name their hosts after projects
    /// (`example.sourceforge.net`), so a protected label alone in its
    /// subdomain is no imitation; the whole domain there still is.
    Bounce,
}

pub(crate) fn signals(facts: &Facts, ctx: &Context, authenticated: Option<&str>, hits: &mut Hits) {
    let mut seen: Vec<String> = Vec::new();
    // A brand whose own domain DMARC-authenticated this message links to
    // its other domains (campaign, tracking): not an imitation of itself.
    let vouched_brand = authenticated.and_then(|a| ctx.brand_of_domain(a));
    let mut check = |host: &Host, role: Role, where_: &dyn std::fmt::Display, hits: &mut Hits| {
        if host.ip.is_some() || seen.contains(&host.ascii) || seen.len() > 64 {
            return;
        }
        seen.push(host.ascii.clone());
        let mut local = Hits::default();
        let t = check_host(host, role, where_, ctx, &mut local);
        let vouched = role == Role::Url
            && t.is_some_and(|t| {
                let t = &ctx.targets[t];
                (t.brand.is_some() && t.brand == vouched_brand)
                    || authenticated == Some(t.domain.as_str())
            });
        if !vouched {
            for (name, ev) in local.into_inner() {
                for e in ev {
                    hits.add(name, e);
                }
            }
        }
    };
    for u in &facts.urls {
        if !u.url.is_web() || !u.is_clickable() || u.source == UrlSource::HtmlSrc {
            continue;
        }
        if let Some(h) = &u.url.host {
            check(h, Role::Url, &u.where_found(), hits);
        }
    }
    let mut senders: Vec<(&Host, &str)> = Vec::new();
    if let Some(d) = facts.from.as_ref().and_then(|f| f.domain.as_ref()) {
        senders.push((d, "From"));
    }
    for r in &facts.reply_to {
        if let Some(d) = &r.domain {
            senders.push((d, "Reply-To"));
        }
    }
    for (h, w) in senders {
        check(h, Role::Sender, &w, hits);
    }
    if let Some(d) = facts.return_path.as_ref().and_then(|f| f.domain.as_ref()) {
        check(d, Role::Bounce, &"Return-Path", hits);
    }
}

/// Fire lookalike symbols for `host`; returns the target it imitates.
fn check_host(
    host: &Host,
    role: Role,
    where_: &dyn std::fmt::Display,
    ctx: &Context,
    hits: &mut Hits,
) -> Option<usize> {
    let reg = host.registrable()?;
    if ctx.owned_domains.contains(reg)
        || ctx
            .allow_domains
            .iter()
            .any(|a| is_same_or_subdomain(reg, a))
    {
        return None;
    }
    if ctx.brand_of_domain(reg).is_some() {
        return None;
    }
    let label_ascii = registrable_label(reg);
    let (unicode_reg, _) = idna::domain_to_unicode(reg);
    let label = registrable_label(&unicode_reg).to_string();
    let label = if label.is_empty() {
        label_ascii.to_string()
    } else {
        label
    };
    let label_skel = skeleton(&label);

    // Typo and homoglyph lookalikes of a registrable label.
    for (ti, t) in ctx.targets.iter().enumerate() {
        let homoglyph = label_skel == t.skeleton && label != t.label;
        if homoglyph || near_miss_sk(&label, &label_skel, &t.label, &t.skeleton) {
            let kind = if homoglyph { "homoglyph" } else { "typo" };
            let ev = format!(
                "{where_} domain {} is a {kind} of {}",
                host.unicode, t.domain
            );
            match (t.brand, role) {
                (None, _) => hits.add("LOOKALIKE_PROTECTED", ev),
                (Some(_), Role::Url) => hits.add("LOOKALIKE_BRAND_URL", ev),
                (Some(_), Role::Sender | Role::Bounce) => hits.add("LOOKALIKE_BRAND_SENDER", ev),
            }
            return Some(ti);
        }
    }

    // The brand's name combined with other words: paypal-secure.com,
    // appleid-verify.net, microsoftonline-login.xyz.
    let tokens: Vec<(&str, String)> = label
        .split(['-', '.'])
        .filter(|t| !t.is_empty())
        .map(|t| (t, skeleton(t)))
        .collect();
    let contained = ctx.targets_with_label_in(label_ascii);
    for (i, t) in ctx.targets.iter().enumerate() {
        let combo = (contained.contains(&i) && label_ascii != t.label)
            || (tokens.len() > 1
                && tokens.iter().any(|(tok, sk)| {
                    *tok == t.label
                        || (tok.len() >= 5 && near_miss_sk(tok, sk, &t.label, &t.skeleton))
                }));
        if combo {
            let ev = format!("{where_} domain {} contains {}", host.unicode, t.label);
            match t.brand {
                None => hits.add("LOOKALIKE_PROTECTED", ev),
                Some(_) => hits.add("BRAND_IN_DOMAIN", ev),
            }
            return Some(i);
        }
    }

    // Brand in the subdomain: paypal.com.secure-login.example.
    let sub = host
        .ascii
        .strip_suffix(reg)
        .unwrap_or("")
        .trim_end_matches('.');
    if sub.is_empty() {
        return None;
    }
    let labels = (role != Role::Bounce)
        .then(|| sub.split(['.', '-']).filter_map(|l| ctx.target_by_label(l)))
        .into_iter()
        .flatten();
    let first = ctx
        .targets_with_domain_in(sub)
        .into_iter()
        .chain(labels)
        .min();
    if let Some(i) = first {
        let t = &ctx.targets[i];
        let ev = format!(
            "{where_} host {} puts {} in front of {reg}",
            host.unicode, t.label
        );
        match t.brand {
            None => hits.add("LOOKALIKE_PROTECTED", ev),
            Some(_) => hits.add("BRAND_IN_SUBDOMAIN", ev),
        }
        return Some(i);
    }
    None
}
