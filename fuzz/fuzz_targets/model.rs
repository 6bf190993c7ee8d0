//! Model files (`[model] path`, `outwork model info FILE`): any bytes must
//! be a typed error or a model that scores without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = outwork_core::Model::from_bytes(data) {
        let facts = outwork_core::parse(b"Subject: hi\r\n\r\nverify your account\r\n", &Default::default());
        let f = outwork_core::model_features(&facts, &["URL_IP_HOST"], &[], m.meta.bits);
        let s = m.score(&f, &|_| 1.0).total();
        let _ = s.is_finite();
        let _ = m.to_bytes();
    }
});
