//! Whole-message fuzzing: any bytes through `Scanner::scan` (the one scan
//! pipeline) with the default deployment context, offline.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outwork_core::Context;
use outwork_engine::{Envelope, Options, Scanner};
use std::sync::{Arc, OnceLock};

static SCANNER: OnceLock<Scanner> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let scanner = SCANNER.get_or_init(|| Scanner::offline(Arc::new(Context::default())));
    let v = scanner
        .scan(data, &Envelope::default(), &Options::default())
        .verdict;
    assert!(v.score.is_finite());
    for s in &v.symbols {
        assert!(!s.evidence.is_empty(), "{} fired without evidence", s.name);
    }
});
