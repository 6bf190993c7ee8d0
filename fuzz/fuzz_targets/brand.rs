//! Brand claims: any text (display names, subjects, alt texts are
//! attacker-written) must fold and match without panicking, and any bytes
//! must parse as a catalogue (`deployment` brands come from config).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static M: OnceLock<outwork_core::BrandMatcher> = OnceLock::new();
    let m = M.get_or_init(|| outwork_core::BrandMatcher::new(outwork_core::bundled_brands()));
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    m.find(&text, outwork_core::Place::Subject, 4096, &mut out);
    let _ = m.counts(&text, 4096);
    let _ = m.generic_name(&text);
    let cat = outwork_core::parse_brand_tsv(&text);
    let _ = outwork_core::BrandMatcher::new(&cat);
});
