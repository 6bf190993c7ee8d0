//! Brand claims against authority: a message that says it is a brand while
//! nothing in it — sender, signature, reply path, links — is that brand's.
//!
//! Impersonating a brand is what most phishing must do, and the claim is
//! in the words a reader sees (display name, subject, title, first lines,
//! image alt text, link and attachment names), however disguised; the
//! authority is in the parts an attacker can't borrow.

use super::auth::AuthView;
use crate::brand::{Claim, Place};
use crate::context::Context;
use crate::domain::is_same_or_subdomain;
use crate::facts::Facts;
use crate::symbol::Hits;
use std::fmt::Write as _;

/// Bounds on the text each place contributes (bytes).
const NAME_BYTES: usize = 256;
const SUBJECT_BYTES: usize = 512;
const FIRST_LINES_BYTES: usize = 600;
const FIRST_LINES: usize = 6;
const MAX_ALTS: usize = 8;
const MAX_LINK_TEXTS: usize = 24;
const MAX_ATTACHMENTS: usize = 8;

/// The first non-empty lines of the reader's text.
fn first_lines(text: &str) -> String {
    let mut out = String::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(FIRST_LINES)
    {
        if out.len() >= FIRST_LINES_BYTES {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Link text that is itself an address is the link checks' business.
fn url_like(t: &str) -> bool {
    let t = t.trim();
    t.contains("://") || t.starts_with("www.") || (t.contains('.') && !t.contains(' '))
}

/// Every brand claim in the message, with where it was made.
pub fn claims(facts: &Facts, ctx: &Context) -> Vec<Claim> {
    let m = &ctx.brand_matcher;
    let mut out = Vec::new();
    if let Some(name) = facts.from.as_ref().and_then(|f| f.name.as_deref()) {
        m.find(name, Place::DisplayName, NAME_BYTES, &mut out);
        if out.is_empty()
            && let Some(b) = super::sender::generic_display_brand(name, ctx)
        {
            out.push(Claim {
                brand: b,
                place: Place::DisplayName,
                found: name.chars().take(80).collect(),
                disguised: false,
            });
        }
    }
    m.find(&facts.subject, Place::Subject, SUBJECT_BYTES, &mut out);
    if let Some(t) = &facts.html.title {
        m.find(t, Place::Title, NAME_BYTES, &mut out);
    }
    m.find(
        &first_lines(&facts.reader_text),
        Place::FirstLines,
        FIRST_LINES_BYTES,
        &mut out,
    );
    // Each place's texts in one pass (one line each): a claim is per place.
    let joined = |texts: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for t in texts {
            s.push_str(t.get(..NAME_BYTES).unwrap_or(t));
            s.push('\n');
        }
        s
    };
    let alts = joined(&mut facts.alt_texts.iter().map(String::as_str).take(MAX_ALTS));
    m.find(&alts, Place::AltText, usize::MAX, &mut out);
    let links = joined(
        &mut facts
            .urls
            .iter()
            .filter_map(|u| u.anchor_text.as_deref())
            .filter(|t| !t.trim().is_empty() && !url_like(t))
            .take(MAX_LINK_TEXTS),
    );
    m.find(&links, Place::LinkText, usize::MAX, &mut out);
    let files = joined(
        &mut facts
            .attachments
            .iter()
            .filter_map(|a| a.name.as_deref())
            .take(MAX_ATTACHMENTS),
    );
    m.find(&files, Place::Attachment, usize::MAX, &mut out);
    out
}

/// A colleague forwarding a receipt: the brand is the quoted message's,
/// not the sender's claim.
pub fn is_forward(facts: &Facts) -> bool {
    let s = facts.subject.trim_start().to_lowercase();
    let prefixed = [
        "fwd:", "fw:", "wg:", "tr:", "rv:", "doorst:", "vs:", "enc:", "i:",
    ]
    .iter()
    .any(|p| s.starts_with(p));
    if !prefixed {
        return false;
    }
    let head = match facts.reader_text.char_indices().nth(4096) {
        Some((i, _)) => &facts.reader_text[..i],
        None => &facts.reader_text,
    };
    let t = head.to_lowercase();
    let marked = [
        "forwarded message",
        "original message",
        "weitergeleitete nachricht",
        "ursprüngliche nachricht",
        "message transféré",
        "message d'origine",
        "mensaje reenviado",
        "mensaje original",
        "doorgestuurd bericht",
        "oorspronkelijk bericht",
        "messaggio inoltrato",
        "messaggio originale",
        "mensagem encaminhada",
        "videresendt melding",
        "vidarebefordrat meddelande",
    ]
    .iter()
    .any(|m| t.contains(m));
    prefixed && marked
}

/// Does anything the attacker can't borrow say the message is brand `b`'s:
/// the From domain, the envelope domain where SPF passed, or a passing DKIM
/// signature? A free mailbox proves nothing, even where the brand runs it;
/// nor does Reply-To, which costs an attacker nothing to point anywhere.
pub fn owned_by(b: usize, facts: &Facts, auth: &AuthView, ctx: &Context) -> bool {
    let brand = &ctx.brands[b];
    let owns = |dom: &str| {
        !dom.is_empty()
            && !ctx.freemail.contains(dom)
            && crate::domain::registrable_domain(dom).is_none_or(|r| !ctx.freemail.contains(r))
            && brand.domains.iter().any(|d| is_same_or_subdomain(dom, d))
    };
    let from = facts.from.as_ref().map(|f| f.domain_ascii()).unwrap_or("");
    let rp = facts
        .return_path
        .as_ref()
        .map(|f| f.domain_ascii())
        .unwrap_or("");
    owns(from)
        || (auth.spf.as_deref() == Some("pass") && owns(rp))
        || auth.dkim_pass_domains.iter().any(|d| owns(d))
        || regional_sibling(b, facts, auth, ctx)
}

/// A brand's site for another country (ikea.de beside ikea.com,
/// tfbank.es beside tfbank.se): the brand's own label under a country
/// code, and DMARC passes for it. Country sites of a brand are nearly
/// always the brand's, and the catalogue can't list every one.
fn regional_sibling(b: usize, facts: &Facts, auth: &AuthView, ctx: &Context) -> bool {
    if !auth.dmarc_pass() {
        return false;
    }
    let Some(reg) = facts.from.as_ref().and_then(|f| f.registrable()) else {
        return false;
    };
    let Some((label, suffix)) = reg.split_once('.') else {
        return false;
    };
    let country = suffix.rsplit('.').next().is_some_and(|t| t.len() == 2);
    country
        && label.len() >= 3
        && ctx.brands[b]
            .domains
            .iter()
            .any(|d| crate::domain::registrable_label(d) == label)
}

/// Mail a third party sends for the brand, authenticated as itself: an
/// email service provider's domain (surveys, bookings), or a sending
/// domain that carries the brand's label (klm-info.com,
/// booking-lufthansa.com). Only for the wide catalogue: for the most
/// impersonated brands a domain with their name is the lookalike checks'
/// business, and their own senders are listed.
pub fn vouched_third_party(b: usize, facts: &Facts, auth: &AuthView, ctx: &Context) -> bool {
    let brand = &ctx.brands[b];
    if brand.lookalike_target || !auth.dmarc_pass() {
        return false;
    }
    let Some(reg) = facts.from.as_ref().and_then(|f| f.registrable()) else {
        return false;
    };
    if crate::lists::ESP_DOMAINS
        .iter()
        .any(|e| is_same_or_subdomain(reg, e))
    {
        return true;
    }
    let label = crate::domain::registrable_label(reg);
    brand.domains.iter().any(|d| {
        let l = crate::domain::registrable_label(d);
        l.len() >= 3 && label.split('-').any(|part| part == l)
    })
}

/// The sender is itself a catalogued brand, authenticated: a brand it
/// names is a passing mention (a retailer's deals naming what it sells, a
/// receipt naming the shop), not a claim to be it.
fn sender_is_other_brand(b: usize, facts: &Facts, auth: &AuthView, ctx: &Context) -> bool {
    auth.dmarc_pass()
        && facts
            .from
            .as_ref()
            .and_then(|f| f.registrable())
            .and_then(|r| ctx.brand_of_domain(r))
            .is_some_and(|o| o != b)
}

/// The message's distinct web link hosts, each once: (host, registrable,
/// on a platform anyone can publish on). Read once per message, not once
/// per claimed brand.
fn link_hosts<'a>(facts: &'a Facts, ctx: &Context) -> Vec<(&'a str, &'a str, bool)> {
    let mut out: Vec<(&str, &str, bool)> = Vec::new();
    for u in facts.urls.iter().filter(|u| u.is_clickable()) {
        if !matches!(u.url.scheme.as_str(), "http" | "https") {
            continue;
        }
        let host = u.url.host_ascii();
        let Some(reg) = u.url.registrable() else {
            continue;
        };
        if out.iter().any(|(h, _, _)| *h == host) || out.len() >= 64 {
            continue;
        }
        let platform = ctx.shorteners.contains(reg)
            || Context::host_listed(&ctx.free_hosting, host, "").is_some()
            || Context::host_listed(&ctx.form_services, host, "").is_some();
        out.push((host, reg, platform));
    }
    out
}

/// Links to the brand (not on a platform anyone can publish on) and links
/// elsewhere (not the sender's own domain): registrables, each once.
fn link_split(
    b: usize,
    hosts: &[(&str, &str, bool)],
    facts: &Facts,
    ctx: &Context,
) -> (Vec<String>, Vec<String>) {
    let brand = &ctx.brands[b];
    let from_reg = facts
        .from
        .as_ref()
        .and_then(|f| f.registrable())
        .unwrap_or("");
    let (mut to_brand, mut elsewhere): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for &(host, reg, platform) in hosts {
        let list = if !platform && brand.domains.iter().any(|d| is_same_or_subdomain(host, d)) {
            &mut to_brand
        } else if reg == from_reg {
            continue;
        } else {
            &mut elsewhere
        };
        if !list.iter().any(|r| r == reg) && list.len() < 16 {
            list.push(reg.to_string());
        }
    }
    (to_brand, elsewhere)
}

fn places(claims: &[&Claim]) -> String {
    let mut out = String::new();
    for (i, c) in claims.iter().enumerate() {
        let sep = if i == 0 {
            ""
        } else if i + 1 == claims.len() {
            " and "
        } else {
            ", "
        };
        let _ = write!(out, "{sep}{} (\"{}\")", c.place.name(), c.found.trim());
    }
    out
}

fn domains_of(b: &crate::brand::Brand) -> String {
    let mut s = b
        .domains
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if b.domains.len() > 3 {
        s.push_str(", …");
    }
    s
}

/// What the message's authority is, for evidence.
fn authority(facts: &Facts, elsewhere: &[String]) -> String {
    let from = facts
        .from
        .as_ref()
        .map(|f| f.registrable().unwrap_or(f.domain_ascii()).to_string())
        .unwrap_or_else(|| "missing".into());
    let mut s = format!("sender is {from}");
    if !elsewhere.is_empty() {
        let _ = write!(
            s,
            "; links go to {}",
            elsewhere
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s
}

/// `all`: the message's brand claims ([`claims`]).
pub fn signals(facts: &Facts, auth: &AuthView, ctx: &Context, all: &[Claim], hits: &mut Hits) {
    if all.is_empty() {
        return;
    }
    let forward = is_forward(facts);
    let mut hosts: Option<Vec<(&str, &str, bool)>> = None;
    let mut done: Vec<usize> = Vec::new();
    for c in all {
        if done.contains(&c.brand) {
            continue;
        }
        done.push(c.brand);
        let b = c.brand;
        if owned_by(b, facts, auth, ctx) || vouched_third_party(b, facts, auth, ctx) {
            continue;
        }
        let brand = &ctx.brands[b];
        // A forward quotes the brand; only the sender's own name claims.
        let claimed: Vec<&Claim> = all
            .iter()
            .filter(|x| x.brand == b && (!forward || x.place == Place::DisplayName))
            .collect();
        if claimed.is_empty() {
            continue;
        }
        let hosts = hosts.get_or_insert_with(|| link_hosts(facts, ctx));
        let (to_brand, elsewhere) = link_split(b, hosts, facts, ctx);
        let backed = !to_brand.is_empty() && elsewhere.is_empty();
        let ev = |what: &str| {
            format!(
                "{} {what} {} ({}); {}",
                places(&claimed),
                brand.name,
                domains_of(brand),
                authority(facts, &elsewhere)
            )
        };
        if let Some(d) = claimed.iter().find(|x| x.disguised)
            && !backed
        {
            hits.add(
                "BRAND_DISGUISED",
                format!(
                    "{} writes {} disguised as \"{}\"; {}",
                    d.place.name(),
                    brand.name,
                    d.found.trim(),
                    authority(facts, &elsewhere)
                ),
            );
        }
        // The display name's claim is FROM_DISPLAY_BRAND's; list mail and
        // another authenticated brand's mail name brands in passing.
        if claimed.iter().any(|x| x.place == Place::DisplayName)
            || facts.list_id.is_some()
            || sender_is_other_brand(b, facts, auth, ctx)
        {
            continue;
        }
        // Claims come one per place, in place order.
        let distinct = {
            let mut p: Vec<Place> = claimed.iter().map(|x| x.place).collect();
            p.dedup();
            p.len()
        };
        // Presenting as the brand, not discussing it: a title, a logo's
        // alt text or a file named for it, beside another claim (a link
        // named for a company is what news digests have).
        // Subject and text alone are what a discussion of it has too.
        let presented = claimed
            .iter()
            .any(|x| matches!(x.place, Place::Title | Place::AltText | Place::Attachment));
        if distinct >= 2 && presented && to_brand.is_empty() {
            hits.add(
                "BRAND_IMPERSONATION",
                ev(if claimed.len() > 1 { "claim" } else { "claims" }),
            );
        } else if to_brand.is_empty() {
            hits.add(
                "BRAND_MENTION_UNBACKED",
                ev(if claimed.len() > 1 { "name" } else { "names" }),
            );
        }
    }
}
