#![no_main]
//! The red team's mutations take any message: every operator on arbitrary
//! bytes must return a message or an error, never panic or hang.
use libfuzzer_sys::fuzz_target;
use outwork_redteam::{BuiltinRewriter, MutateCtx, Op, mutate};

fuzz_target!(|data: &[u8]| {
    let rw = BuiltinRewriter { seed: 7 };
    let ctx = MutateCtx::new(&rw, 7);
    for op in Op::ALL {
        let _ = mutate(data, &[*op], &ctx);
    }
    let _ = mutate(data, &[Op::Homoglyph, Op::Qr, Op::PasswordZip], &ctx);
});
