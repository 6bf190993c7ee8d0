//! The HTML reader (lol_html) and the character-reference decoder
//! (html5gum's RCDATA states) on any text: no panic, the bounds hold.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let d = outwork_core::decode_entities(&html);
    assert!(d.len() <= html.len() * 3 + 3);
    let f = outwork_core::analyse_html(&html, 50, 4096, 1 << 16);
    assert!(f.urls.len() <= 50);
    // Text is cut at its cap, wherever a text node ends.
    assert!(f.visible_text.len() <= 4096);
    assert!(f.alt_texts.len() <= 32);
    assert!(f.title.as_ref().is_none_or(|t| t.len() <= 200 + 4));
    for u in &f.urls {
        assert!(u.anchor_text.as_ref().is_none_or(|t| t.len() <= 512));
    }
});
