#![no_main]
//! Attachment bytes → every extractor (archives recurse into content).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = outwork_inspect::Limits { max_total_bytes: 8 << 20, ..Default::default() };
    let pw = vec!["infected".to_string(), "1234".to_string()];
    let _ = outwork_inspect::inspect("fuzz.bin", data, &pw, &limits);
});
