//! Whole-message fuzzing: any bytes through `scan_message` with the default
//! deployment context.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outwork_core::Context;
use std::sync::OnceLock;

static CTX: OnceLock<Context> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let ctx = CTX.get_or_init(Context::default);
    let v = outwork_engine::scan_message(data, ctx);
    assert!(v.score.is_finite());
    for s in &v.symbols {
        assert!(!s.evidence.is_empty(), "{} fired without evidence", s.name);
    }
});
