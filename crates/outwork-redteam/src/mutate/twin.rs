//! The benign twin: the same text sent by the impersonated brand itself.

use super::*;

/// The `authserv-id` of the Authentication-Results header a twin carries.
pub const TWIN_AUTHSERV_ID: &str = "mx.twin.example";

/// The benign twin of a phishing message that impersonates a brand: the
/// same text, sent by the brand itself (see [`Op::BenignTwin`]). `None` when
/// the message is unparseable or impersonates no brand identified with
/// reasonable confidence: skip it, no brand is made up. Deterministic.
pub fn benign_twin(raw: &[u8]) -> Option<Vec<u8>> {
    let seed = fnv(raw);
    let rewriter = BuiltinRewriter { seed };
    let ctx = MutateCtx::new(&rewriter, seed);
    mutate(raw, &[Op::BenignTwin], &ctx).ok().map(|m| m.bytes)
}

/// The brand a twin is sent by.
#[derive(Debug)]
pub(super) struct TwinBrand {
    pub(super) name: String,
    /// The registrable domain its mail and links use (`paypal.com`).
    pub(super) domain: String,
    /// Registrable domains it owns (links there are left alone).
    pub(super) owned: Vec<String>,
    /// How it was found, for the notes.
    pub(super) how: String,
}

/// The default deployment context (the brand catalogue), built once.
pub(super) fn catalogue_context() -> &'static outwork_core::Context {
    static CTX: std::sync::OnceLock<outwork_core::Context> = std::sync::OnceLock::new();
    CTX.get_or_init(outwork_core::Context::default)
}

pub(super) fn catalogue_twin(b: &outwork_core::Brand, how: String) -> Option<TwinBrand> {
    // The first of its domains that is itself registrable (HMRC lists
    // gov.uk, a public suffix, before hmrc.gov.uk).
    let domain = b
        .domains
        .iter()
        .find(|d| domain_parts(d).is_some_and(|p| p.prefix.is_empty() && p.registrable() == **d))?;
    Some(TwinBrand {
        name: b.name.to_string(),
        domain: domain.to_string(),
        owned: b.domains.iter().map(|d| d.to_string()).collect(),
        how,
    })
}

/// Which brand the message impersonates, if that can be told with
/// reasonable confidence: the catalogue brand its From display name claims
/// (as the engine reads it), else the catalogue brand it names most (at
/// least twice in subject and visible text, or once in the subject, or
/// with a link or the sender on the brand's own domain), else the guess
/// the sender operators make ([`brand`]) when the message names it at
/// least twice.
pub(super) fn twin_brand(m: &Model, ctx: &MutateCtx) -> Option<TwinBrand> {
    let cctx = catalogue_context();
    let brands = &cctx.brands;
    if let Some(given) = ctx
        .brand
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        if let Some(b) = brands.iter().find(|b| b.name.eq_ignore_ascii_case(given)) {
            return catalogue_twin(b, "given".into());
        }
        let b = brand(m, ctx);
        return Some(TwinBrand {
            name: b.name,
            owned: vec![b.domain.clone()],
            domain: b.domain,
            how: "given".into(),
        });
    }
    let display = m
        .from
        .as_ref()
        .and_then(|f| f.name.clone())
        .unwrap_or_default();
    if !display.is_empty()
        && let Some(b) =
            outwork_core::family::sender::claimed_brand(&display, cctx).and_then(|i| brands.get(i))
        && let Some(t) = catalogue_twin(b, format!("the From display name {display:?}"))
    {
        return Some(t);
    }
    let subject = m.subject.as_deref().unwrap_or("");
    let visible = visible_text(m);
    let link_regs: Vec<String> = collect_links(m)
        .iter()
        .filter_map(|u| link_domain(u))
        .map(|d| d.registrable())
        .collect();
    let sender_reg = m
        .from
        .as_ref()
        .and_then(|f| f.address.rsplit_once('@'))
        .and_then(|(_, d)| domain_parts(d))
        .map(|d| d.registrable());
    let owns = |b: &outwork_core::Brand, reg: &str| {
        b.domains
            .iter()
            .any(|d| reg == *d || reg.ends_with(&format!(".{d}")))
    };
    // One pass of the catalogue's automaton over subject and text, not a
    // loop over thousands of brands.
    let in_subject = cctx.brand_matcher.counts(subject, 4096);
    let in_text = cctx.brand_matcher.counts(&visible, 64 * 1024);
    let count = |v: &[(usize, usize)], i: usize| v.iter().find(|(b, _)| *b == i).map_or(0, |x| x.1);
    let mut candidates: Vec<usize> = in_subject.iter().chain(&in_text).map(|x| x.0).collect();
    candidates.sort_unstable();
    candidates.dedup();
    let mut best: Option<(usize, usize)> = None; // (score, brand index)
    for i in candidates {
        let Some(b) = brands.get(i) else { continue };
        let (in_subject, in_text) = (count(&in_subject, i), count(&in_text, i));
        let own_links = link_regs.iter().filter(|r| owns(b, r)).count();
        let own_sender = sender_reg.as_deref().is_some_and(|r| owns(b, r));
        let named = in_subject + in_text;
        let confident =
            named >= 2 || in_subject >= 1 || (named >= 1 && (own_links > 0 || own_sender));
        if !confident {
            continue;
        }
        let score = named + own_links.min(3) + usize::from(own_sender);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, i));
        }
    }
    if let Some((n, i)) = best
        && let Some(b) = brands.get(i)
        && let Some(t) = catalogue_twin(b, format!("named {n} times in subject, text and links"))
    {
        return Some(t);
    }
    // Not in the catalogue: the sender operators' guess, when the message
    // names it at least twice and it is not a mailbox or hosting provider.
    let (b, named) = brand_scored(m, ctx);
    let generic = |d: &str| {
        outwork_core::FREEMAIL
            .iter()
            .chain(outwork_core::FREE_HOSTING)
            .chain(outwork_core::SHORTENERS)
            .chain(outwork_core::ESP_DOMAINS)
            .any(|g| d == *g || d.ends_with(&format!(".{g}")))
    };
    // A domain made up from a display-name word is believed only when the
    // name does not read as a person's ("Mr. Wood", "Philip Fredrick").
    let real_domain =
        link_regs.contains(&b.domain) || sender_reg.as_deref() == Some(b.domain.as_str());
    if !real_domain && person_like(&display) {
        return None;
    }
    (named >= 2 && !generic(&b.domain) && domain_parts(&b.domain).is_some()).then(|| TwinBrand {
        how: format!(
            "{:?} named {named} times (not in the brand catalogue)",
            b.name
        ),
        name: b.name,
        owned: vec![b.domain.clone()],
        domain: b.domain,
    })
}

/// A display name that reads as a person's: an honorific, or two or three
/// title-case words.
pub(super) fn person_like(name: &str) -> bool {
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let honorific = words.iter().any(|w| {
        matches!(
            w.to_lowercase().as_str(),
            "mr" | "mrs" | "ms" | "miss" | "dr" | "sir" | "madam" | "prof" | "barrister" | "rev"
        )
    });
    let title_case = |w: &&str| {
        let mut c = w.chars();
        c.next().is_some_and(char::is_uppercase) && c.all(char::is_lowercase)
    };
    honorific || ((2..=3).contains(&words.len()) && words.iter().all(title_case))
}

/// A local part kept when it is plain, else `fallback`.
pub(super) fn plain_local(address: &str, fallback: &str) -> String {
    let local = address.rsplit_once('@').map_or("", |(l, _)| l);
    if !local.is_empty()
        && local.len() <= 40
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
    {
        local.to_string()
    } else {
        fallback.to_string()
    }
}

/// Header fields a twin never carries: authentication verdicts written for
/// the original (a twin has its own), signatures that no longer verify.
pub(super) fn auth_header(name: &str) -> bool {
    name.contains("authentication-results")
        || name.starts_with("arc-")
        || name == "dkim-signature"
        || name == "domainkey-signature"
        || name == "x-google-dkim-signature"
        || name == "received-spf"
}

pub(super) fn op_benign_twin(
    m: &mut Model,
    ctx: &MutateCtx,
    notes: &mut Vec<String>,
) -> Result<(), MutateError> {
    let t = twin_brand(m, ctx)
        .ok_or_else(|| MutateError::NotApplicable("no impersonated brand identified".into()))?;
    let domain = t.domain.clone();
    notes.push(format!(
        "benign-twin: sent by {} ({domain}), brand from {}",
        t.name, t.how
    ));

    // Sender: the brand's own domain, the display name kept unless it
    // carries an address of its own.
    let current = m.new_from.clone().or_else(|| m.from.clone());
    let name = current
        .as_ref()
        .and_then(|f| f.name.clone())
        .filter(|n| !n.contains('@'))
        .unwrap_or_else(|| t.name.clone());
    let local = current.as_ref().map_or_else(
        || "no-reply".to_string(),
        |f| plain_local(&f.address, "no-reply"),
    );
    let from = Mailbox {
        name: Some(name),
        address: format!("{local}@{domain}"),
    };
    notes.push(format!(
        "benign-twin: From {} -> {}",
        current.as_ref().map_or("none", |f| f.address.as_str()),
        from.address
    ));
    let reply = m.new_reply_to.clone().or_else(|| m.reply_to.clone());
    if let Some(r) = reply {
        m.new_reply_to = Some(Mailbox {
            name: r.name,
            address: format!("{}@{domain}", plain_local(&r.address, "support")),
        });
    }
    m.new_from = Some(from.clone());

    // Headers: no authentication of the original, Return-Path and Sender on
    // the brand's domain, one trusted passing Authentication-Results on top.
    let before = m.headers.len();
    m.headers.retain(|(name, _)| !auth_header(name));
    let dropped = before - m.headers.len();
    let mut return_path = false;
    for (name, line) in m.headers.iter_mut() {
        match name.as_str() {
            "return-path" => {
                *line = format!("Return-Path: <bounce@{domain}>\r\n").into_bytes();
                return_path = true;
            }
            "sender" => {
                let mut out = Vec::new();
                write_address(&mut out, "Sender", &from);
                *line = out;
            }
            _ => {}
        }
    }
    if !return_path {
        m.headers.insert(
            0,
            (
                "return-path".into(),
                format!("Return-Path: <bounce@{domain}>\r\n").into_bytes(),
            ),
        );
    }
    m.headers.insert(
        0,
        (
            "authentication-results".into(),
            format!(
                "Authentication-Results: {TWIN_AUTHSERV_ID}; spf=pass smtp.mailfrom={domain};\r\n dkim=pass header.d={domain}; dmarc=pass header.from={domain}\r\n"
            )
            .into_bytes(),
        ),
    );
    notes.push(format!(
        "benign-twin: {dropped} authentication header(s) removed, SPF/DKIM/DMARC pass for {domain} on top"
    ));

    // Links: every host not the brand's own becomes the brand's domain
    // (https, path, query and fragment kept).
    let owned = |host: &str| {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        t.owned
            .iter()
            .any(|d| h == *d || h.ends_with(&format!(".{d}")))
    };
    let mut map = HashMap::new();
    for url in collect_links(m) {
        let Some(range) = url_host_range(&url) else {
            continue;
        };
        let Some(host) = url.get(range.clone()) else {
            continue;
        };
        if owned(host) {
            continue;
        }
        // Past a port, if any.
        let rest = url.get(range.end..).unwrap_or("");
        let port = rest
            .strip_prefix(':')
            .map_or(0, |p| 1 + p.bytes().take_while(u8::is_ascii_digit).count());
        let tail = rest.get(port..).unwrap_or("");
        let new = format!("https://{domain}{tail}");
        let mut visible = vec![(host.to_string(), domain.clone())];
        let unicode = idna::domain_to_unicode(host).0;
        if unicode != host {
            visible.push((unicode, domain.clone()));
        }
        map.insert(
            url.clone(),
            Change {
                href: new.clone(),
                text: new,
                visible,
            },
        );
    }
    let links = map.len();
    if links > 0 {
        apply_link_changes(m, &map);
    }

    // No payload: attachments other than inline images go, and so does
    // any image holding a QR code; no script in the HTML.
    let qr = |p: &Part| {
        p.content_type.starts_with("image/") && !outwork_inspect::decode_qr(&p.bytes).is_empty()
    };
    let keep = |p: &Part| p.inline && p.content_type.starts_with("image/") && !qr(p);
    let before = m.attachments.len() + m.related.len();
    m.attachments.retain(keep);
    m.related.retain(keep);
    let removed = before - m.attachments.len() - m.related.len();
    let mut scripts = 0;
    if let Some(html) = &m.html {
        let mut out = String::with_capacity(html.len());
        let mut in_script = false;
        for seg in tokenize(html) {
            let raw = html.get(seg.start..seg.end).unwrap_or("");
            if seg.kind == SegKind::Tag && seg.name == "script" {
                in_script = !seg.closing;
                scripts += usize::from(!seg.closing);
                continue;
            }
            if !in_script {
                out.push_str(raw);
            }
        }
        m.html = Some(out);
    }
    notes.push(format!(
        "benign-twin: {links} link(s) moved to {domain}, {removed} attachment(s) or QR image(s) removed, {scripts} script(s) removed"
    ));
    Ok(())
}
