//! Inputs the fuzzers found; each once crashed an inspector.

#[test]
fn entity_lookahead_inside_a_multibyte_char() {
    // decode_entities looked for ';' in the next 12 bytes by slicing a
    // &str, which panicked when byte 12 fell inside a UTF-8 sequence.
    let data = include_bytes!("fuzz-regressions/entity-char-boundary.bin");
    let _ = outwork_inspect::inspect("x.html", data, &[], &Default::default());
}
