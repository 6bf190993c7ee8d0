//! Sender signals: display-name tricks and mismatched reply paths.

use super::auth::AuthView;
use crate::context::Context;
use crate::domain::{is_same_or_subdomain, registrable_domain};
use crate::facts::Facts;
use crate::symbol::Hits;

/// Words brand senders put beside their name ("Apple Support").
const SERVICE_WORDS: &[&str] = &[
    "support",
    "team",
    "service",
    "services",
    "security",
    "alert",
    "alerts",
    "account",
    "accounts",
    "billing",
    "online",
    "notification",
    "notifications",
    "customer",
    "care",
    "help",
    "center",
    "centre",
    "no-reply",
    "noreply",
    "info",
    "id",
    "mail",
    "inc",
    "inc.",
    "official",
    "verification",
    "department",
    "express",
    "bank",
    "banking",
    "pay",
    "store",
    "shop",
    "delivery",
    "shipping",
    "web",
    "admin",
    "administrator",
    "secure",
    "desk",
    "the",
    "-",
    "|",
    ":",
    "®",
    "™",
    "account-team",
];

/// One hash lookup, not a scan of the list, for every word of every
/// display name.
fn is_service_word(w: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| SERVICE_WORDS.iter().copied().collect())
        .contains(w)
}

fn normalise_plain(name: &str) -> String {
    words(&name.to_lowercase())
}

/// Name characters kept, everything else a single space.
fn words(s: &str) -> String {
    let kept: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '&' | '.' | '+') {
                c
            } else {
                ' '
            }
        })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Is hay[start..end] a whole word (no alphanumeric on either side)?
fn is_word(hay: &str, start: usize, end: usize) -> bool {
    let before = !hay[..start]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric());
    let after = !hay[end..]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric());
    before && after
}

pub(crate) fn contains_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle)
        .any(|(i, m)| is_word(hay, i, i + m.len()))
}

/// The brand a display name claims, if any.
pub fn claimed_brand(name: &str, ctx: &Context) -> Option<usize> {
    let mut claims = Vec::new();
    ctx.brand_matcher
        .find(name, crate::brand::Place::DisplayName, 256, &mut claims);
    claims
        .first()
        .map(|c| c.brand)
        .or_else(|| generic_display_brand(name, ctx))
}

/// "Target", "Orange Service": a display name that, less the words brands
/// put beside their name, is a brand name too common to find in running
/// text, or a brand's .com label.
pub fn generic_display_brand(name: &str, ctx: &Context) -> Option<usize> {
    let plain_norm = normalise_plain(name);
    let core: Vec<&str> = plain_norm
        .split(' ')
        .filter(|w| !is_service_word(w))
        .collect();
    let core = core.join(" ");
    if core.len() < 3 {
        return None;
    }
    ctx.brand_matcher
        .generic_name(&core)
        .or_else(|| ctx.brand_of_com_label(&core))
}

/// `claims`: the message's brand claims ([`super::brand::claims`]).
pub fn signals(
    facts: &Facts,
    auth: &AuthView,
    ctx: &Context,
    claims: &[crate::brand::Claim],
    hits: &mut Hits,
) {
    let Some(from) = &facts.from else {
        hits.add("FROM_MISSING", "no From header");
        return;
    };
    if from.address.is_empty() || from.domain.is_none() {
        hits.add(
            "FROM_MISSING",
            format!("From has no usable address ({:?})", from.address),
        );
        return;
    }
    let from_reg = from
        .registrable()
        .unwrap_or(from.domain_ascii())
        .to_string();
    let authenticated = auth.dmarc_pass();
    if authenticated
        && (ctx.allow_senders.contains(&from.address)
            || ctx
                .allow_senders
                .iter()
                .any(|a| is_same_or_subdomain(&from_reg, a)))
    {
        return;
    }
    let is_list = facts.list_id.is_some();
    let from_freemail =
        ctx.freemail.contains(&from_reg) || ctx.freemail.contains(from.domain_ascii());

    // Zero-width characters wedged inside words. Bidi marks alone are
    // normal in right-to-left writers' subjects, so they don't count.
    let invisible = |t: &str| {
        let c: Vec<char> = t.chars().collect();
        c.windows(3).any(|w| {
            w[0].is_alphanumeric()
                && w[2].is_alphanumeric()
                && matches!(
                    w[1],
                    '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}'
                )
        })
    };
    if from.name.as_deref().is_some_and(invisible) || invisible(&facts.subject) {
        hits.add(
            "HEADER_INVISIBLE_CHARS",
            format!(
                "invisible characters in {}",
                if invisible(&facts.subject) {
                    "the Subject"
                } else {
                    "the From name"
                }
            ),
        );
    }
    if let Some(name) = &from.name {
        // An address (or domain) inside the display name that isn't the sender's.
        for tok in name.split(|c: char| {
            c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '"' | '\'' | ',' | '[' | ']')
        }) {
            let tok = tok.trim_matches(|c: char| !c.is_alphanumeric());
            let dom = match tok.rsplit_once('@') {
                Some((_, d)) if d.contains('.') => d,
                _ => continue,
            };
            if let Some(h) = crate::domain::Host::parse(dom)
                && let Some(r) = h.registrable()
                && r != from_reg
                && !is_list
            {
                hits.add(
                    "FROM_DISPLAY_ADDRESS_MISMATCH",
                    format!(
                        "display name shows {tok} but the address is {}",
                        from.address
                    ),
                );
                break;
            }
        }
        // A one-word lower-case name is a handle ("hyatt", "mozilla"), not
        // a brand presenting itself, for the wide catalogue.
        let handle = !name.contains(char::is_uppercase) && !name.trim().contains(' ');
        let claimed = claims
            .iter()
            .find(|c| c.place == crate::brand::Place::DisplayName)
            .map(|c| c.brand);
        if let Some(b) = claimed.filter(|&b| ctx.brands[b].lookalike_target || !handle) {
            let brand = &ctx.brands[b];
            let owned = super::brand::owned_by(b, facts, auth, ctx)
                || super::brand::vouched_third_party(b, facts, auth, ctx);
            if !owned && !is_list {
                if from_freemail {
                    hits.add(
                        "FROM_FREEMAIL_BRAND",
                        format!(
                            "display name \"{name}\" claims {} from free mailbox {}",
                            brand.name, from.address
                        ),
                    );
                } else {
                    hits.add(
                        "FROM_DISPLAY_BRAND",
                        format!(
                            "display name \"{name}\" claims {} but the domain is {from_reg}",
                            brand.name
                        ),
                    );
                }
            }
        }
        let lname = name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        for vip in &ctx.vip_names {
            if contains_word(&lname, vip) && !ctx.is_protected(&from_reg) {
                hits.add(
                    "FROM_DISPLAY_VIP",
                    format!(
                        "display name \"{name}\" is VIP {vip} but the address is {}",
                        from.address
                    ),
                );
            }
        }
    }

    if ctx.is_protected(&from_reg) && !authenticated && auth.source.is_some() {
        hits.add(
            "FROM_PROTECTED_EXTERNAL",
            format!(
                "From {} is a protected domain but DMARC is {}",
                from.address,
                auth.dmarc.as_deref().unwrap_or("absent")
            ),
        );
    }

    if !is_list {
        for r in &facts.reply_to {
            let Some(rreg) = r.registrable() else {
                continue;
            };
            if rreg == from_reg {
                continue;
            }
            if ctx.freemail.contains(rreg) && !from_freemail {
                hits.add(
                    "REPLYTO_FREEMAIL",
                    format!(
                        "replies go to free mailbox {} while From is {}",
                        r.address, from.address
                    ),
                );
            } else {
                hits.add(
                    "REPLYTO_DIFF_DOMAIN",
                    format!("replies go to {} while From is {}", r.address, from.address),
                );
            }
        }
        if let Some(rp) = &facts.return_path
            && let Some(rpreg) = rp
                .registrable()
                .or_else(|| registrable_domain(rp.domain_ascii()))
        {
            let same_brand = ctx.brand_of_domain(rpreg).is_some()
                && ctx.brand_of_domain(rpreg) == ctx.brand_of_domain(&from_reg);
            let esp = crate::lists::ESP_DOMAINS
                .iter()
                .any(|e| is_same_or_subdomain(rpreg, e));
            if rpreg != from_reg && !same_brand && !esp {
                hits.add(
                    "RETURN_PATH_MISMATCH",
                    format!("Return-Path {} vs From {}", rp.address, from.address),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands_in_names() {
        let ctx = Context::default();
        let name = |i: Option<usize>| i.map(|i| ctx.brands[i].name.clone());
        assert_eq!(
            name(claimed_brand("PayPaI Service", &ctx)).as_deref(),
            Some("PayPal")
        );
        assert_eq!(name(claimed_brand("Chase", &ctx)).as_deref(), Some("Chase"));
        assert_eq!(
            name(claimed_brand("Apple Support", &ctx)).as_deref(),
            Some("Apple")
        );
        assert_eq!(claimed_brand("Chase Miller", &ctx), None);
        assert_eq!(claimed_brand("John Smith", &ctx), None);
    }
}
