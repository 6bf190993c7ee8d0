//! URL, host and HTML helpers on arbitrary strings.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outwork_core::domain::Host;
use outwork_core::{html, url};

fuzz_target!(|s: &str| {
    if let Some(u) = url::ParsedUrl::parse(s) {
        let _ = u.registrable();
        let _ = u.host_path();
        if let Some(t) = url::unwrap_redirect(&u) {
            let _ = url::ParsedUrl::parse(&t.target);
        }
    }
    if let Some(h) = Host::parse(s) {
        let _ = h.registrable();
    }
    for t in url::extract_text_urls(s, 64) {
        let _ = url::ParsedUrl::parse(&t.raw);
    }
    let _ = url::shown_host(s);
    let f = html::analyse(s, 64, 1 << 16, 1 << 20);
    for u in &f.urls {
        let _ = url::ParsedUrl::parse(&u.raw);
    }
});
