//! Adblock Plus filter lists: the rules that name a whole URL or domain.

use super::*;

/// ABP options that still mean "block the whole address".
pub(super) fn abp_option_ok(o: &str) -> bool {
    let o = o.trim();
    ["all", "document", "doc", "important"]
        .iter()
        .any(|n| o.eq_ignore_ascii_case(n))
}

pub(super) fn abp_strip_end(s: &str) -> &str {
    let s = s.strip_suffix('|').unwrap_or(s);
    s.strip_suffix('^').unwrap_or(s)
}

pub(super) fn abp_line(out: &mut Parsed, no: usize, t: &[u8]) {
    if t[0] == b'!' || is_abp_header(t) {
        return; // comment or `[Adblock Plus 2.0]`
    }
    let s = lossy(t);
    if ["##", "#@#", "#?#", "#$#", "#%#"]
        .iter()
        .any(|c| s.contains(c))
        || s.starts_with("@@")
    {
        out.skipped += 1; // element hiding, exception
        return;
    }
    if s.starts_with('#') {
        return; // `# comment` as uBlock accepts it
    }
    if s.len() >= 2 && s.starts_with('/') && s.ends_with('/') {
        out.skipped += 1; // regex
        return;
    }
    let (pat, opts) = match s.rfind('$') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (&*s, None),
    };
    if opts.is_some_and(|o| !o.split(',').all(abp_option_ok)) {
        out.skipped += 1;
        return;
    }
    let wild = |r: &str| r.contains(['*', '^', '|']);
    if let Some(rest) = pat.strip_prefix("||") {
        let rest = abp_strip_end(rest);
        if rest.is_empty() {
            malformed(out, no, t, "empty rule");
        } else if wild(rest) {
            out.skipped += 1;
        } else if rest.contains(['/', '?']) {
            match url_value(rest) {
                Ok(u) => push(out, Value::Url(u), None, no),
                Err(e) => malformed(out, no, t, e),
            }
        } else {
            match domain_value(rest) {
                Ok(d) => push(out, Value::Domain(d), None, no),
                Err(e) => malformed(out, no, t, e),
            }
        }
        return;
    }
    let (rest, anchored) = match pat.strip_prefix('|') {
        Some(r) => (abp_strip_end(r), true),
        None => (abp_strip_end(pat), false),
    };
    let value = if rest.is_empty() || wild(rest) || (anchored && !has_scheme(rest)) {
        None
    } else if rest.contains(['/', '?']) {
        url_value(rest).ok().map(Value::Url)
    } else {
        domain_value(rest).ok().map(Value::Domain)
    };
    match value {
        Some(v) => push(out, v, None, no),
        None => out.skipped += 1, // substring rule we cannot express
    }
}
