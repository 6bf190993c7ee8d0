//! Sender operators: display-name and lookalike-sender, and the brand they impersonate.

use super::*;

pub(super) struct Brand {
    /// Display form (`PayPal`, `Microsoft 365`).
    pub(super) name: String,
    /// Lower-case ASCII label for domains (`paypal`, `microsoft`).
    pub(super) label: String,
    /// The brand's own domain (`paypal.com`).
    pub(super) domain: String,
}

pub(super) fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How the message itself writes `label` (`PayPal` for `paypal`), when it
/// writes it with capitals as a word of its own.
pub(super) fn brand_casing(m: &Model, label: &str) -> Option<String> {
    let name = m.from.as_ref().and_then(|f| f.name.clone());
    let sources = [name.as_deref(), m.text.as_deref(), m.html.as_deref()];
    for src in sources.into_iter().flatten() {
        let src = truncate(src, 64 * 1024);
        let lower = src.to_ascii_lowercase();
        for (p, _) in lower.match_indices(label) {
            let before = src.get(..p).and_then(|s| s.chars().last());
            let after = src.get(p + label.len()..).and_then(|s| s.chars().next());
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '.');
            if word(before) || word(after) {
                continue;
            }
            if let Some(found) = src.get(p..p + label.len())
                && found.chars().any(char::is_uppercase)
            {
                return Some(found.to_string());
            }
        }
    }
    None
}

pub(super) fn brand(m: &Model, ctx: &MutateCtx) -> Brand {
    brand_scored(m, ctx).0
}

/// [`brand`] and how often the message names it (0: a fallback guess).
pub(super) fn brand_scored(m: &Model, ctx: &MutateCtx) -> (Brand, usize) {
    if let Some(b) = ctx
        .brand
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        let words: Vec<String> = b
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty() && !w.bytes().all(|c| c.is_ascii_digit()))
            .map(str::to_ascii_lowercase)
            .collect();
        let mut label = words.concat();
        label.truncate(40);
        if label.is_empty() {
            label = "account".into();
        }
        return (
            Brand {
                name: b.to_string(),
                domain: format!("{label}.com"),
                label,
            },
            usize::MAX,
        );
    }
    // Candidates: the links' registrable domains, the words of the From
    // display name, the sender's domain. The one the message names most
    // often (as a word of the visible text, subject or display name) wins;
    // when none is named, the first link's domain.
    let usable = |d: &DomainParts| d.label.is_ascii() && !d.label.starts_with("xn--");
    let mut candidates: Vec<(String, String)> = Vec::new(); // (label, domain)
    fn add(candidates: &mut Vec<(String, String)>, label: String, domain: String) {
        if label.len() >= 3 && !candidates.iter().any(|(l, _)| *l == label) {
            candidates.push((label, domain));
        }
    }
    for d in collect_links(m)
        .iter()
        .take(MAX_LINKS)
        .filter_map(|u| link_domain(u))
    {
        if usable(&d) {
            add(&mut candidates, d.label.clone(), d.registrable());
        }
    }
    let links_end = candidates.len();
    let display = m
        .from
        .as_ref()
        .and_then(|f| f.name.clone())
        .unwrap_or_default();
    for word in display.split(|c: char| !c.is_ascii_alphanumeric()) {
        let w = word.to_ascii_lowercase();
        if !GENERIC_NAME_WORDS.split_whitespace().any(|g| g == w)
            && !w.bytes().all(|b| b.is_ascii_digit())
        {
            add(&mut candidates, w.clone(), format!("{w}.com"));
        }
    }
    if let Some(d) = m
        .from
        .as_ref()
        .and_then(|f| f.address.rsplit_once('@'))
        .and_then(|(_, d)| domain_parts(d))
        .filter(usable)
    {
        add(&mut candidates, d.label.clone(), d.registrable());
    }
    let visible = visible_text(m);
    let hay = [
        display.as_str(),
        m.subject.as_deref().unwrap_or(""),
        visible.as_str(),
    ];
    let scored: Vec<usize> = candidates
        .iter()
        .map(|(label, _)| hay.iter().map(|h| count_word(h, label)).sum())
        .collect();
    let best = scored
        .iter()
        .enumerate()
        .max_by_key(|&(i, &n)| (n, std::cmp::Reverse(i)))
        .filter(|&(_, &n)| n > 0)
        .map(|(i, _)| i)
        .or((links_end > 0).then_some(0))
        .or(candidates.len().checked_sub(1));
    match best.and_then(|i| {
        candidates
            .get(i)
            .map(|c| (c, scored.get(i).copied().unwrap_or(0)))
    }) {
        Some(((label, domain), named)) => (
            Brand {
                name: brand_casing(m, label).unwrap_or_else(|| capitalise(label)),
                label: label.chars().take(40).collect(),
                domain: domain.clone(),
            },
            named,
        ),
        None => (
            Brand {
                name: "Mail Administrator".into(),
                label: "mailadmin".into(),
                domain: "mailadmin.com".into(),
            },
            0,
        ),
    }
}

/// Display-name words that name no brand.
pub(super) const GENERIC_NAME_WORDS: &str = "the and for team service services support security account accounts customer customers \
     care reply noreply mail email admin administrator info information notification \
     notifications billing help helpdesk desk center centre alert alerts update updates \
     online department dept office system systems message messages notice official inc ltd \
     llc corp from via on behalf of your payroll payment payments invoice invoices delivery \
     shipping verify verification secure webmail mailbox server manager hr it";

/// How often `word` (lower-case ASCII) stands as a word of `hay`.
pub(super) fn count_word(hay: &str, word: &str) -> usize {
    let lower = hay.to_ascii_lowercase();
    lower
        .match_indices(word)
        .filter(|&(p, _)| {
            let before = lower.get(..p).and_then(|s| s.chars().last());
            let after = lower.get(p + word.len()..).and_then(|s| s.chars().next());
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
        .count()
}

/// The visible text of the message (the text body, else the HTML's text),
/// at most 64 KiB.
pub(super) fn visible_text(m: &Model) -> String {
    if let Some(t) = &m.text {
        return truncate(t, 64 * 1024).to_string();
    }
    let mut out = String::new();
    if let Some(html) = &m.html {
        for seg in tokenize(html) {
            if seg.kind == SegKind::Text {
                out.push_str(&decode_entities(html.get(seg.start..seg.end).unwrap_or("")));
                out.push(' ');
                if out.len() > 64 * 1024 {
                    break;
                }
            }
        }
    }
    out
}

pub(super) fn op_display_name(
    m: &mut Model,
    ctx: &MutateCtx,
    rng: &mut Rng,
    notes: &mut Vec<String>,
) {
    let b = brand(m, ctx);
    let name = match rng.below(4) {
        0 => format!("{} <security@{}>", b.name, b.domain),
        1 => format!("{} Security <no-reply@{}>", b.name, b.domain),
        2 => format!("{} Support", b.name),
        _ => format!("{} Account Services", b.name),
    };
    let current = m.new_from.clone().or_else(|| m.from.clone());
    let (old, address) = match &current {
        Some(f) => (
            match &f.name {
                Some(n) => format!("\"{n}\" <{}>", f.address),
                None => format!("<{}>", f.address),
            },
            f.address.clone(),
        ),
        None => ("no From".to_string(), format!("no-reply@{}", b.domain)),
    };
    notes.push(format!(
        "display-name: From {old} -> \"{name}\" <{address}> (brand {})",
        b.name
    ));
    m.new_from = Some(Mailbox {
        name: Some(name),
        address,
    });
}

/// `label` with its first o/l/i as a digit (0/1/1), if it has one.
pub(super) fn leet(label: &str) -> Option<String> {
    let p = label.find(['o', 'l', 'i'])?;
    let digit = if label.get(p..p + 1) == Some("o") {
        "0"
    } else {
        "1"
    };
    Some(format!(
        "{}{digit}{}",
        label.get(..p).unwrap_or(""),
        label.get(p + 1..).unwrap_or("")
    ))
}

pub(super) fn op_lookalike_sender(
    m: &mut Model,
    ctx: &MutateCtx,
    rng: &mut Rng,
    notes: &mut Vec<String>,
) {
    let b = brand(m, ctx);
    let l = &b.label;
    let mut candidates = vec![
        format!("{l}-account-security.com"),
        format!("{l}-support.net"),
        format!("{l}-secure-login.com"),
        format!("{l}-verify.com"),
        format!("{l}-online-service.com"),
        format!("secure-{l}.com"),
        format!("my{l}-account.com"),
        format!("{l}-helpdesk.net"),
    ];
    if let Some(leet) = leet(l) {
        candidates.push(format!("{leet}-support.net"));
        candidates.push(format!("{leet}.com"));
    }
    let original = m.sender_domain();
    candidates.retain(|d| Some(d) != original.as_ref() && *d != b.domain);
    let start = rng.below(candidates.len());
    let domain = candidates
        .get(start)
        .cloned()
        .unwrap_or_else(|| format!("{l}-notice-{}.com", rng.below(1000)));
    let locals = [
        "security", "no-reply", "account", "support", "service", "billing",
    ];
    let local = locals[rng.below(locals.len())];
    let current = m.new_from.clone().or_else(|| m.from.clone());
    let old = current
        .as_ref()
        .map_or_else(|| "no From".to_string(), |f| f.address.clone());
    let address = format!("{local}@{domain}");
    notes.push(format!(
        "lookalike-sender: From {old} -> {address} (look-alike of {})",
        b.domain
    ));
    m.new_from = Some(Mailbox {
        name: current
            .and_then(|f| f.name)
            .or_else(|| Some(b.name.clone())),
        address,
    });
    let reply = m.new_reply_to.clone().or_else(|| m.reply_to.clone());
    if let Some(r) = reply {
        let other =
            locals[(locals.iter().position(|x| *x == local).unwrap_or(0) + 1) % locals.len()];
        let address = format!("{other}@{domain}");
        notes.push(format!(
            "lookalike-sender: Reply-To {} -> {address}",
            r.address
        ));
        m.new_reply_to = Some(Mailbox {
            name: r.name,
            address,
        });
    }
}
