#![no_main]
//! Authentication-Results / ARC headers → the trusted-header reader.
//! The fuzz input becomes the header block of a message (so folding,
//! comments, quoting and odd bytes all reach the parser), read with a
//! config that trusts everything.
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn ctx() -> &'static outwork_core::Context {
    static CTX: OnceLock<outwork_core::Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let cfg = outwork_core::Config::from_toml(
            "[auth]\ntrusted_authserv_ids = [\"mx.example.com\"]\ntrust_topmost = 16\n",
        )
        .unwrap_or_default();
        outwork_core::Context::new(cfg)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut msg = Vec::with_capacity(data.len() + 128);
    msg.extend_from_slice(b"Authentication-Results: ");
    msg.extend_from_slice(data);
    msg.extend_from_slice(b"\r\nFrom: a@paypal.com\r\nTo: b@example.net\r\nSubject: x\r\n\r\nbody\r\n");
    let ctx = ctx();
    let facts = outwork_core::parse(&msg, ctx.limits());
    let view = outwork_core::family::auth::read(&facts, ctx);
    let mut hits = outwork_core::Hits::default();
    outwork_core::family::auth::signals(&view, &facts, ctx, &mut hits);
});
