//! enrich: the stage with I/O. Today: blocklist lookups in the intel store
//! for every web URL (and unwrapped redirect target), every sender domain
//! and every attachment hash.

use outwork_core::Facts;
use outwork_core::{Evidence, IntelFinding, IntelTarget};
use outwork_intel::{EntryType, Hit, IntelError, Lookup};
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
pub(crate) fn intel(facts: &Facts, store: &dyn Lookup, as_of_date: bool, ev: &mut Evidence) {
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
    let mut senders: Vec<(&str, &outwork_core::Mailbox)> = Vec::new();
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

/// Deep-inspect every attachment (archives, Office, PDF, HTML/SVG,
/// shortcuts, invites). Findings become evidence; links found inside
/// attachments join the message's URLs so the link and intel checks see
/// them too; hashes of extracted files are returned for intel lookups.
///
/// Inspection stops at `deadline` or after `max_inspect_ms`, whichever
/// comes first (INSPECT_BUDGET), so a hostile message can't keep a scan
/// slot past the caller's deadline.
pub(crate) fn inspect(
    facts: &mut Facts,
    l: &outwork_core::Limits,
    decode_qr: bool,
    yara: Option<&outwork_inspect::YaraRules>,
    deadline: Option<std::time::Instant>,
    ev: &mut Evidence,
) -> Vec<(String, [u8; 32])> {
    use outwork_core::{InspectFinding, InspectKind};
    use outwork_inspect::Finding;
    let own =
        std::time::Instant::now().checked_add(std::time::Duration::from_millis(l.max_inspect_ms));
    let deadline = match (deadline, own) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let limits = outwork_inspect::Limits {
        max_depth: l.max_archive_depth,
        max_total_bytes: l.max_extracted_bytes,
        max_entries: l.max_archive_entries,
        max_ratio: l.max_compression_ratio,
        decode_qr,
        max_images: l.max_images,
        max_image_pixels: l.max_image_pixels,
        max_decoded_pixels: l.max_decoded_pixels,
        deadline,
    };
    let mut msg = outwork_inspect::MessageBudget::new(&limits);
    let mut links: Vec<(String, String)> = Vec::new();
    let mut hashes = Vec::new();
    for a in &facts.attachments {
        let name = a
            .name
            .clone()
            .unwrap_or_else(|| format!("(unnamed {})", a.declared_type));
        let findings = outwork_inspect::inspect_attachment(
            &name,
            &a.data,
            &facts.password_candidates,
            &limits,
            yara,
            &mut msg,
        );
        let mut push = |kind: InspectKind, evidence: String| {
            if ev.inspect.len() < 64 {
                ev.inspect.push(InspectFinding { kind, evidence });
            }
        };
        for f in findings {
            match f {
                Finding::Member { path, size, sha256 } => {
                    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
                    if path.contains('.')
                        && outwork_core::DANGEROUS_EXTENSIONS.contains(&ext.as_str())
                    {
                        push(
                            InspectKind::DangerousMember,
                            format!("{path} ({size} bytes)"),
                        );
                    }
                    hashes.push((path, sha256));
                }
                Finding::NestedArchive { path, depth } => push(
                    InspectKind::NestedArchive,
                    format!("{path} (depth {depth})"),
                ),
                Finding::EncryptedArchive { path, password } => match password {
                    Some(p) => {
                        push(
                            InspectKind::EncryptedArchive,
                            format!("{path} is encrypted"),
                        );
                        push(
                            InspectKind::PasswordInText,
                            format!("{path} opens with {p:?}, given in the message text"),
                        );
                    }
                    None => push(
                        InspectKind::EncryptedArchive,
                        format!("{path} is encrypted (no password from the text opened it)"),
                    ),
                },
                Finding::Listed {
                    path,
                    format,
                    members,
                } => {
                    for m in members.iter().take(64) {
                        let ext = m.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
                        if m.contains('.')
                            && outwork_core::DANGEROUS_EXTENSIONS.contains(&ext.as_str())
                        {
                            push(
                                InspectKind::DangerousMember,
                                format!("{path}!{m} (in {format})"),
                            );
                        }
                    }
                }
                Finding::Limit { path, what } => {
                    push(InspectKind::Limit, format!("{path}: {what}"))
                }
                Finding::Budget { path, what } => {
                    push(InspectKind::Budget, format!("{path}: {what}"))
                }
                Finding::Malformed { path, what } => {
                    push(InspectKind::Malformed, format!("{path}: {what}"))
                }
                Finding::Macro { path, autorun } => {
                    push(InspectKind::Macro, format!("{path} holds VBA macros"));
                    if !autorun.is_empty() {
                        push(
                            InspectKind::MacroAutorun,
                            format!("{path} runs {} automatically", autorun.join(", ")),
                        );
                    }
                }
                Finding::RemoteTemplate { path, url } => {
                    push(InspectKind::RemoteTemplate, format!("{path} loads {url}"))
                }
                Finding::PdfAction {
                    path,
                    action,
                    detail,
                } => {
                    let kind = match action.as_str() {
                        "JavaScript" => InspectKind::PdfJavaScript,
                        "Launch" => InspectKind::PdfLaunch,
                        "EmbeddedFile" => InspectKind::PdfEmbeddedFile,
                        "AcroForm" => InspectKind::PdfForm,
                        _ => InspectKind::PdfOpenAction,
                    };
                    push(kind, format!("{path}: /{action} {detail}"));
                }
                Finding::Smuggling { path, indicator } => {
                    let i = indicator.to_ascii_lowercase();
                    // A login page delivered as a file (often zipped so the
                    // body scanner never sees it): found by the red team's
                    // `zip` operator, which evaded until this fired.
                    if i.contains("credential form") {
                        push(InspectKind::CredentialForm, format!("{path}: {indicator}"));
                        continue;
                    }
                    let script =
                        i.contains("<script") || i.contains("location") || i.contains("refresh");
                    push(
                        if script {
                            InspectKind::Script
                        } else {
                            InspectKind::Smuggling
                        },
                        format!("{path}: {indicator}"),
                    );
                }
                Finding::Link {
                    path,
                    url,
                    found_in,
                } => links.push((url, format!("{found_in} in {path}"))),
                Finding::Yara { path, m } => {
                    if ev.yara.len() < 64 {
                        ev.yara.push(yara_hit(&path, &m));
                    }
                }
            }
        }
    }
    let max = l.max_urls;
    for (url, context) in links {
        if facts.urls.len() >= max {
            break;
        }
        if facts.urls.iter().any(|u| u.url.raw == url) {
            continue;
        }
        if let Some(u) = outwork_core::ParsedUrl::parse(&url) {
            facts
                .urls
                .push(outwork_core::UrlFact::from_attachment(u, context));
        }
    }
    hashes
}

/// Hashes of files extracted from archives, looked up like attachments.
pub(crate) fn extracted_hashes(
    hashes: &[(String, [u8; 32])],
    store: &dyn Lookup,
    ev: &mut Evidence,
) {
    for (path, h) in hashes.iter().take(256) {
        match store.lookup_sha256(h) {
            Ok(hits) => {
                for hit in hits {
                    ev.intel.push(finding(
                        IntelTarget::FileHash,
                        format!("extracted file {path}"),
                        None,
                        hit,
                    ));
                }
            }
            Err(e) => {
                ev.intel_unavailable = Some(e.to_string());
                return;
            }
        }
    }
}

/// A YARA match as (symbol, evidence).
pub(crate) fn yara_hit(path: &str, m: &outwork_inspect::YaraMatch) -> (&'static str, String) {
    let name = outwork_core::intern_symbol(&outwork_inspect::yara_symbol_name(&m.rule));
    let tags = if m.tags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", m.tags.join(", "))
    };
    (
        name,
        format!("{path} matches rule {}:{}{tags}", m.namespace, m.rule),
    )
}

/// Send every attachment to clamd, all under one deadline. The first
/// failure stops clamd for this message and says why (CLAMAV_UNAVAILABLE).
pub(crate) fn clamav(facts: &Facts, clamd: &crate::clamd::Clamd, ev: &mut Evidence) {
    let deadline = std::time::Instant::now() + clamd.timeout;
    for a in &facts.attachments {
        if a.data.is_empty() || a.data.len() > clamd.max_bytes {
            continue;
        }
        let name = a
            .name
            .clone()
            .unwrap_or_else(|| "(unnamed attachment)".into());
        match clamd.scan(&a.data, deadline) {
            Ok(crate::clamd::ClamdReply::Clean) => {}
            Ok(crate::clamd::ClamdReply::Found(sig)) => {
                if ev.clamav.len() < 16 {
                    ev.clamav.push(format!("attachment {name}: {sig}"));
                }
            }
            Err(e) => {
                ev.clamav_unavailable = Some(e.to_string());
                return;
            }
        }
    }
}
