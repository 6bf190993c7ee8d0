//! enrich: the stage with I/O. Today: blocklist lookups in the intel store
//! for every web URL (and unwrapped redirect target), every sender domain
//! and every attachment hash.

use outwork_core::Facts;
use outwork_core::evidence::{Evidence, IntelFinding, IntelTarget};
use outwork_intel::store::{EntryType, Hit, IntelError, Lookup};
use std::collections::HashSet;

fn finding(
    target: IntelTarget,
    subject: String,
    registrable: Option<String>,
    h: Hit,
) -> IntelFinding {
    let target = if target == IntelTarget::Url && h.entry_type == EntryType::Ip {
        IntelTarget::Ip
    } else {
        target
    };
    IntelFinding {
        target,
        subject,
        registrable,
        expression: h.expression,
        source: h.source,
        kind: h.kind.as_str().to_string(),
        first_seen: h.first_seen,
    }
}

/// Look everything up. With `as_of_date`, entries first seen after the
/// message's Date are ignored: a replay of old mail then sees only what
/// the feed knew when the message arrived.
pub fn intel(facts: &Facts, store: &dyn Lookup, as_of_date: bool, ev: &mut Evidence) {
    let start = ev.intel.len();
    // A store that fails (Redis down, past its deadline) stops the lookups
    // for this message; the scan goes on and says so.
    if let Err(e) = lookup(facts, store, ev) {
        ev.intel_unavailable = Some(e.to_string());
    }
    if as_of_date {
        let cutoff = facts.date.unwrap_or(i64::MIN);
        let mut i = start;
        while i < ev.intel.len() {
            // Unknown first-seen can't be placed in time: drop it in replays.
            if ev.intel[i].first_seen.is_none_or(|t| t > cutoff) {
                ev.intel.remove(i);
            } else {
                i += 1;
            }
        }
    }
}

fn lookup(facts: &Facts, index: &dyn Lookup, ev: &mut Evidence) -> Result<(), IntelError> {
    let mut seen: HashSet<&str> = HashSet::new();
    for u in &facts.urls {
        if !u.url.is_web() || !seen.insert(u.url.raw.as_str()) {
            continue;
        }
        for h in index.lookup_url(&u.url.raw)? {
            let short: String = u.url.raw.chars().take(120).collect();
            let subject = format!("{short} ({})", u.where_found());
            ev.intel.push(finding(
                IntelTarget::Url,
                subject,
                u.url.registrable().map(str::to_string),
                h,
            ));
        }
    }
    let mut senders: Vec<(&str, &outwork_core::facts::Mailbox)> = Vec::new();
    if let Some(f) = &facts.from {
        senders.push(("From", f));
    }
    for r in &facts.reply_to {
        senders.push(("Reply-To", r));
    }
    if let Some(rp) = &facts.return_path {
        senders.push(("Return-Path", rp));
    }
    let mut seen_domains: HashSet<&str> = HashSet::new();
    for (header, m) in senders {
        let d = m.domain_ascii();
        if d.is_empty() || !seen_domains.insert(d) {
            continue;
        }
        for h in index.lookup_domain(d)? {
            ev.intel.push(finding(
                IntelTarget::SenderDomain,
                format!("{header} domain {d}"),
                m.registrable().map(str::to_string),
                h,
            ));
        }
    }
    for a in &facts.attachments {
        for h in index.lookup_sha256(&a.sha256)? {
            let name = a
                .name
                .clone()
                .unwrap_or_else(|| "(unnamed attachment)".into());
            ev.intel.push(finding(
                IntelTarget::FileHash,
                format!("attachment {name}"),
                None,
                h,
            ));
        }
    }
    Ok(())
}
