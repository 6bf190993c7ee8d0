//! Links: finding and rewriting them, domains, and the link operators (homoglyph, typosquat, shortener, redirect).

use super::*;

/// Every distinct http(s) link of the message, in order: HTML hrefs, bare
/// URLs of the HTML text, URLs of the text body.
pub(super) fn collect_links(m: &Model) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut add = |u: String| {
        if seen.insert(u.clone()) {
            out.push(u);
        }
    };
    if let Some(html) = &m.html {
        let mut in_anchor = false;
        for seg in tokenize(html) {
            let raw = html.get(seg.start..seg.end).unwrap_or("");
            match seg.kind {
                SegKind::Tag => {
                    if seg.name == "a" {
                        in_anchor = !seg.closing;
                    }
                    if let Some(u) = seg_link(&seg, raw) {
                        add(u);
                    }
                }
                SegKind::Text if !in_anchor => {
                    for r in find_text_urls(raw) {
                        add(raw.get(r).unwrap_or("").to_string());
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(text) = &m.text {
        for r in find_text_urls(text) {
            add(text.get(r).unwrap_or("").to_string());
        }
    }
    out
}

/// What becomes of one link.
pub(super) struct Change {
    /// The new href.
    pub(super) href: String,
    /// How the link reads in plain text.
    pub(super) text: String,
    /// Replacements in the visible text of its anchors (old, new).
    pub(super) visible: Vec<(String, String)>,
}

/// Rewrite the links of the message with `map` (keyed by original URL).
pub(super) fn apply_link_changes(m: &mut Model, map: &HashMap<String, Change>) {
    if let Some(html) = &m.html {
        let mut out = String::with_capacity(html.len() + 256);
        let mut visible: Option<&Vec<(String, String)>> = None;
        for seg in tokenize(html) {
            let raw = html.get(seg.start..seg.end).unwrap_or("");
            match seg.kind {
                SegKind::Tag if seg.name == "a" && seg.closing => {
                    visible = None;
                    out.push_str(raw);
                }
                SegKind::Tag if link_attr_name(&seg).is_some() => {
                    if seg.name == "a" {
                        visible = None;
                    }
                    let name = link_attr_name(&seg).unwrap_or("href");
                    let attrs = tag_attrs(raw);
                    let attr = attrs.iter().find(|a| a.name == name);
                    let change = attr
                        .and_then(|a| a.value.clone())
                        .and_then(|v| raw.get(v))
                        .map(|v| decode_entities(v).trim().to_string())
                        .and_then(|u| map.get(&u));
                    match (attr, change) {
                        (Some(attr), Some(change)) => {
                            out.push_str(&replace_attr_value(raw, attr, &change.href));
                            if seg.name == "a" {
                                visible = Some(&change.visible);
                            }
                        }
                        _ => out.push_str(raw),
                    }
                }
                SegKind::Text => match visible {
                    Some(pairs) => out.push_str(&replace_all_ci(raw, pairs)),
                    None => out.push_str(&replace_urls(raw, |u| {
                        map.get(u).map(|c| esc_text(&c.text))
                    })),
                },
                _ => out.push_str(raw),
            }
        }
        m.html = Some(out);
    }
    if let Some(text) = &m.text {
        m.text = Some(replace_urls(text, |u| map.get(u).map(|c| c.text.clone())));
    }
}

/// `s` with each URL for which `f` answers replaced by the answer.
pub(super) fn replace_urls(s: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for r in find_text_urls(s) {
        let url = s.get(r.clone()).unwrap_or("");
        if let Some(new) = f(url) {
            out.push_str(s.get(last..r.start).unwrap_or(""));
            out.push_str(&new);
            last = r.end;
        }
    }
    out.push_str(s.get(last..).unwrap_or(""));
    out
}

/// `s` with every (ASCII case-insensitive) occurrence of each `old` replaced.
pub(super) fn replace_all_ci(s: &str, pairs: &[(String, String)]) -> String {
    let mut cur = s.to_string();
    for (old, new) in pairs {
        if old.is_empty() {
            continue;
        }
        let lower = cur.to_ascii_lowercase();
        let needle = old.to_ascii_lowercase();
        if !lower.contains(&needle) {
            continue;
        }
        let mut out = String::with_capacity(cur.len());
        let mut last = 0;
        for (p, _) in lower.match_indices(&needle) {
            out.push_str(cur.get(last..p).unwrap_or(""));
            out.push_str(new);
            last = p + needle.len();
        }
        out.push_str(cur.get(last..).unwrap_or(""));
        cur = out;
    }
    cur
}

/// Build the changes for the first [`MAX_LINKS`] links with `f`; notes the
/// links left over. Returns the number of links changed.
pub(super) fn change_links(
    m: &mut Model,
    op: &str,
    notes: &mut Vec<String>,
    mut f: impl FnMut(&str) -> Option<Change>,
) -> usize {
    let links = collect_links(m);
    if links.is_empty() {
        notes.push(format!("{op}: no links, message unchanged"));
        return 0;
    }
    let mut map = HashMap::new();
    for url in links.iter().take(MAX_LINKS) {
        if let Some(change) = f(url) {
            map.insert(url.clone(), change);
        }
    }
    if links.len() > MAX_LINKS {
        notes.push(format!(
            "{op}: {} links beyond the first {MAX_LINKS} left unchanged",
            links.len() - MAX_LINKS
        ));
    }
    let n = map.len();
    if n > 0 {
        apply_link_changes(m, &map);
    }
    n
}

/// Host byte range of an http(s) URL (none for IP-literal v6 hosts).
pub(super) fn url_host_range(url: &str) -> Option<Range<usize>> {
    let start = if starts_with_ci(url, "https://") {
        8
    } else if starts_with_ci(url, "http://") {
        7
    } else {
        return None;
    };
    let rest = url.get(start..)?;
    let auth_len = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let auth = rest.get(..auth_len)?;
    let host_start = start + auth.rfind('@').map_or(0, |p| p + 1);
    let host_port = url.get(host_start..start + auth_len)?;
    if host_port.starts_with('[') {
        return None;
    }
    let host_len = host_port.find(':').unwrap_or(host_port.len());
    (host_len > 0).then_some(host_start..host_start + host_len)
}

/// A host split around its registrable domain.
#[derive(Debug, Clone)]
pub(super) struct DomainParts {
    /// Subdomains with their trailing dot (`www.`), ASCII.
    pub(super) prefix: String,
    /// The registrable label (`paypal`), ASCII (maybe `xn--`).
    pub(super) label: String,
    /// The public suffix (`com`, `co.uk`), ASCII.
    pub(super) suffix: String,
}

impl DomainParts {
    pub(super) fn registrable(&self) -> String {
        format!("{}.{}", self.label, self.suffix)
    }
}

pub(super) fn domain_parts(host: &str) -> Option<DomainParts> {
    let host = host.trim().trim_end_matches('.');
    let ascii = idna::domain_to_ascii(host).ok()?;
    if ascii.is_empty()
        || ascii.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || !ascii.contains('.')
    {
        return None;
    }
    let d = psl::domain(ascii.as_bytes())?;
    let reg = std::str::from_utf8(d.as_bytes()).ok()?;
    let suffix = std::str::from_utf8(d.suffix().as_bytes()).ok()?;
    let label = reg.strip_suffix(suffix)?.strip_suffix('.')?;
    let prefix = ascii.strip_suffix(reg)?;
    if label.is_empty() || label.contains('.') {
        return None;
    }
    Some(DomainParts {
        prefix: prefix.to_string(),
        label: label.to_string(),
        suffix: suffix.to_string(),
    })
}

pub(super) fn link_domain(url: &str) -> Option<DomainParts> {
    url_host_range(url)
        .and_then(|r| url.get(r))
        .and_then(domain_parts)
}

pub(super) fn unicode_label(label: &str) -> String {
    if label.starts_with("xn--") {
        idna::domain_to_unicode(label).0
    } else {
        label.to_string()
    }
}

/// Latin letters and their Cyrillic look-alikes.
pub(super) const HOMOGLYPHS: &[(char, char)] = &[
    ('a', '\u{430}'),
    ('e', '\u{435}'),
    ('o', '\u{43e}'),
    ('p', '\u{440}'),
    ('c', '\u{441}'),
    ('x', '\u{445}'),
    ('y', '\u{443}'),
    ('i', '\u{456}'),
];

/// More look-alikes, used only to write a whole label in Cyrillic.
pub(super) const HOMOGLYPHS_EXTRA: &[(char, char)] = &[
    ('s', '\u{455}'),
    ('h', '\u{4bb}'),
    ('l', '\u{4cf}'),
    ('j', '\u{458}'),
    ('d', '\u{501}'),
    ('w', '\u{51d}'),
    ('q', '\u{51b}'),
];

pub(super) fn cyrillic(c: char, extra: bool) -> Option<char> {
    let table = HOMOGLYPHS
        .iter()
        .chain(if extra { HOMOGLYPHS_EXTRA } else { &[] });
    table.clone().find(|(l, _)| *l == c).map(|(_, cyr)| *cyr)
}

/// The label with Latin letters swapped for Cyrillic look-alikes: every
/// letter when all have one (a whole-script homograph, which browsers show
/// in Unicode) half the time, else one or two of them.
pub(super) fn homoglyph_label(label: &str, rng: &mut Rng) -> Option<String> {
    let mut chars: Vec<char> = unicode_label(label).chars().collect();
    let letters = chars.iter().filter(|c| c.is_alphabetic()).count();
    let whole = letters >= 2
        && chars
            .iter()
            .filter(|c| c.is_alphabetic())
            .all(|&c| cyrillic(c, true).is_some() || ('\u{400}'..='\u{52f}').contains(&c));
    if whole && rng.chance(50) {
        for c in &mut chars {
            if let Some(cyr) = cyrillic(*c, true) {
                *c = cyr;
            }
        }
        return Some(chars.into_iter().collect());
    }
    let spots: Vec<usize> = chars
        .iter()
        .enumerate()
        .filter(|(_, c)| cyrillic(**c, false).is_some())
        .map(|(i, _)| i)
        .collect();
    if spots.is_empty() {
        return None;
    }
    let count = if spots.len() >= 5 {
        1 + rng.below(2)
    } else {
        1
    };
    let mut chosen = Vec::new();
    while chosen.len() < count {
        let at = spots[rng.below(spots.len())];
        if !chosen.contains(&at) {
            chosen.push(at);
        }
    }
    for at in chosen {
        if let Some(c) = chars.get_mut(at)
            && let Some(cyr) = cyrillic(*c, false)
        {
            *c = cyr;
        }
    }
    Some(chars.into_iter().collect())
}

/// A one-typo variant of an ASCII label.
pub(super) fn typo_label(label: &str, rng: &mut Rng) -> Option<String> {
    if label.starts_with("xn--") || !label.is_ascii() || label.len() < 2 {
        return None;
    }
    let b: Vec<char> = label.chars().collect();
    let n = b.len();
    let mut candidates: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if s != label
            && !s.starts_with('-')
            && !s.ends_with('-')
            && s.len() <= 63
            && !s.contains("--")
            && !candidates.contains(&s)
        {
            candidates.push(s);
        }
    };
    // Look-alike substitutions first: they read as the real name.
    if label.contains("rn") {
        add(label.replacen("rn", "m", 1));
    }
    if label.contains('m') {
        add(label.replacen('m', "rn", 1));
    }
    if label.contains('w') {
        add(label.replacen('w', "vv", 1));
    }
    if let Some(p) = label.rfind('l') {
        add(format!("{}1{}", &label[..p], &label[p + 1..]));
    }
    if let Some(p) = label.rfind('o') {
        add(format!("{}0{}", &label[..p], &label[p + 1..]));
    }
    let letters: Vec<usize> = (0..n).filter(|&i| b[i].is_ascii_alphabetic()).collect();
    if let Some(&i) = letters.get(rng.below(letters.len())) {
        // Doubled letter.
        let mut s: String = b[..=i].iter().collect();
        s.push(b[i]);
        s.extend(&b[i + 1..]);
        add(s);
    }
    let swaps: Vec<usize> = (1..n.saturating_sub(1))
        .filter(|&i| {
            b[i] != b[i + 1] && b[i].is_ascii_alphabetic() && b[i + 1].is_ascii_alphabetic()
        })
        .collect();
    if let Some(&i) = swaps.get(rng.below(swaps.len())) {
        let mut s = b.clone();
        s.swap(i, i + 1);
        add(s.into_iter().collect());
    }
    if n >= 5 {
        let drops: Vec<usize> = (1..n - 1).filter(|&i| b[i].is_ascii_alphabetic()).collect();
        if let Some(&i) = drops.get(rng.below(drops.len())) {
            let mut s = b.clone();
            s.remove(i);
            add(s.into_iter().collect());
        }
    }
    if candidates.is_empty() {
        return None;
    }
    let i = rng.below(candidates.len());
    Some(candidates.swap_remove(i))
}

/// A URL with its host replaced.
pub(super) fn with_host(url: &str, range: &Range<usize>, host: &str) -> String {
    format!(
        "{}{host}{}",
        url.get(..range.start).unwrap_or(""),
        url.get(range.end..).unwrap_or("")
    )
}

// ---- operators: links ----------------------------------------------------------

pub(super) fn op_domain(m: &mut Model, rng: &mut Rng, notes: &mut Vec<String>, homoglyph: bool) {
    let op = if homoglyph { "homoglyph" } else { "typosquat" };
    let notes_before = notes.len();
    // One look-alike per registrable domain: (new ASCII, new Unicode).
    let mut memo: HashMap<String, Option<(String, String)>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let changed = change_links(m, op, notes, |url| {
        let range = url_host_range(url)?;
        let parts = domain_parts(url.get(range.clone())?)?;
        let reg = parts.registrable();
        let entry = memo.entry(reg.clone()).or_insert_with(|| {
            let new_label = if homoglyph {
                homoglyph_label(&parts.label, rng)
            } else {
                typo_label(&parts.label, rng)
            };
            let result = new_label.and_then(|label| {
                let unicode = format!("{label}.{}", idna::domain_to_unicode(&parts.suffix).0);
                let ascii = idna::domain_to_ascii(&unicode).ok()?;
                (ascii != reg).then_some((ascii, unicode))
            });
            if result.is_some() {
                order.push(reg.clone());
            } else {
                skipped.push(reg.clone());
            }
            result
        });
        let (new_ascii, new_unicode) = entry.clone()?;
        let href = with_host(url, &range, &format!("{}{new_ascii}", parts.prefix));
        let prefix_unicode = idna::domain_to_unicode(&parts.prefix).0;
        let text = with_host(url, &range, &format!("{prefix_unicode}{new_unicode}"));
        let mut visible = vec![(reg.clone(), new_unicode.clone())];
        let old_unicode = idna::domain_to_unicode(&reg).0;
        if old_unicode != reg {
            visible.push((old_unicode, new_unicode));
        }
        Some(Change {
            href,
            text,
            visible,
        })
    });
    for reg in &order {
        if let Some(Some((ascii, unicode))) = memo.get(reg) {
            if homoglyph {
                notes.push(format!("{op}: {reg} -> {unicode} ({ascii})"));
            } else {
                notes.push(format!("{op}: {reg} -> {ascii}"));
            }
        }
    }
    if !skipped.is_empty() {
        notes.push(format!(
            "{op}: left unchanged (no look-alike possible): {}",
            skipped.join(", ")
        ));
    }
    if changed > 0 {
        notes.push(format!("{op}: {changed} link(s) rewritten"));
    } else if notes.len() == notes_before {
        notes.push(format!(
            "{op}: no link with a usable domain, message unchanged"
        ));
    }
}

pub(super) const BASE62: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub(super) fn op_shortener(m: &mut Model, ctx: &MutateCtx, seed: u64, notes: &mut Vec<String>) {
    let host = ctx
        .shortener
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let host = if host.is_empty() {
        "bit.ly".to_string()
    } else {
        host
    };
    let mut first = None;
    let n = change_links(m, "shortener", notes, |url| {
        let mut v = mix(seed ^ fnv(url.as_bytes()));
        let mut code = String::with_capacity(7);
        for _ in 0..7 {
            code.push(char::from(BASE62[(v % 62) as usize]));
            v /= 62;
        }
        let short = format!("https://{host}/{code}");
        if first.is_none() {
            first = Some((url.to_string(), short.clone()));
        }
        Some(Change {
            href: short.clone(),
            text: short.clone(),
            visible: vec![(url.to_string(), short)],
        })
    });
    if n > 0 {
        let (url, short) = first.unwrap_or_default();
        notes.push(format!(
            "shortener: {n} link(s) shortened on {host}, e.g. {url} -> {short}"
        ));
    }
}

/// RFC 3986 unreserved characters stay, everything else is escaped: the
/// whole target URL becomes one query value.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(super) fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

pub(super) fn op_redirect(m: &mut Model, ctx: &MutateCtx, notes: &mut Vec<String>) {
    let prefix = if ctx.redirector.trim().is_empty() {
        "https://www.google.com/url?q=".to_string()
    } else {
        ctx.redirector.trim().to_string()
    };
    let mut first = None;
    let n = change_links(m, "redirect", notes, |url| {
        let wrapped = format!("{prefix}{}", percent_encode(url));
        if first.is_none() {
            first = Some(wrapped.clone());
        }
        Some(Change {
            href: wrapped.clone(),
            text: wrapped,
            visible: Vec::new(),
        })
    });
    if n > 0 {
        notes.push(format!(
            "redirect: {n} link(s) wrapped in {prefix}..., e.g. {}",
            first.unwrap_or_default()
        ));
    }
}
