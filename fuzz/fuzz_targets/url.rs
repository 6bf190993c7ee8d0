//! URL, host and HTML helpers on arbitrary strings; and the intel
//! canonicaliser against the implementation it replaced (same canonical
//! URL, same expressions, same canonical host).

#![no_main]

use libfuzzer_sys::fuzz_target;
use outwork_core::Host;
use outwork_core::{ParsedUrl, analyse_html, extract_text_urls, shown_host, unwrap_redirect};
use outwork_intel::CanonBuf;

/// The owned and borrowed new canonicalisations of `s` agree with the
/// reference one.
fn intel_canon_differential(s: &str) {
    let old = outwork_intel::canon_reference::Canonical::parse(s);
    let new = outwork_intel::Canonical::parse(s);
    match (&old, &new) {
        (None, None) => {}
        (Some(o), Some(n)) => {
            assert_eq!(
                (&o.scheme, &o.host, o.port, &o.path, &o.query),
                (&n.scheme, &n.host, n.port, &n.path, &n.query)
            );
            assert_eq!(o.expressions(), n.expressions());
            let mut buf = CanonBuf::default();
            let mut got = Vec::new();
            if let Some(r) = buf.parse(s) {
                r.for_each_expression(|e| got.push(String::from_utf8_lossy(e).into_owned()));
            }
            assert_eq!(got, o.expressions());
        }
        _ => panic!("reference {old:?}, new {new:?}"),
    }
    assert_eq!(outwork_intel::canon_reference::canonical_host(s), outwork_intel::canonical_host(s));
}

fuzz_target!(|s: &str| {
    intel_canon_differential(s);
    if let Some(u) = ParsedUrl::parse(s) {
        let _ = u.registrable();
        let _ = u.host_path();
        if let Some(t) = unwrap_redirect(&u) {
            let _ = ParsedUrl::parse(&t.target);
        }
    }
    if let Some(h) = Host::parse(s) {
        let _ = h.registrable();
    }
    for t in extract_text_urls(s, 64) {
        let _ = ParsedUrl::parse(&t.raw);
    }
    let _ = shown_host(s);
    let f = analyse_html(s, 64, 1 << 16, 1 << 20);
    for u in &f.urls {
        let _ = ParsedUrl::parse(&u.raw);
    }
});
