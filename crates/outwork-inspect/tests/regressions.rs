//! Inputs the fuzzers found; each once crashed an inspector. The
//! dispatcher catches panics (production must survive them), so these
//! tests assert on the finding a caught panic leaves
//! ([`Finding::is_failure`]), not on the absence of a crash.

use outwork_inspect::{Finding, Limits, inspect};

fn failures(name: &str, data: &[u8]) -> Vec<Finding> {
    inspect(name, data, &[], &Limits::default())
        .into_iter()
        .filter(Finding::is_failure)
        .collect()
}

#[test]
fn entity_lookahead_inside_a_multibyte_char() {
    // decode_entities looked for ';' in the next 12 bytes by slicing a
    // &str, which panicked when byte 12 fell inside a UTF-8 sequence.
    let data = include_bytes!("fuzz-regressions/entity-char-boundary.bin");
    assert_eq!(failures("x.html", data), vec![]);
}

/// Every saved crash input, under names that route it to each inspector
/// that sniffs by name (HTML, SVG, .url, .ics) as well as by content.
#[test]
fn no_saved_crash_input_makes_an_inspector_fail() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz-regressions dir") {
        let data = std::fs::read(entry.expect("dir entry").path()).expect("read input");
        for name in ["x.bin", "x.html", "x.svg", "x.url", "x.ics", "x.png"] {
            assert_eq!(failures(name, &data), vec![], "{name}");
        }
        seen += 1;
    }
    assert!(seen > 0, "no inputs in {}", dir.display());
}

/// The failure marker is what the guard writes: a real panic caught in the
/// content dispatcher would be seen by the tests above.
#[test]
fn a_caught_panic_is_a_failure_finding() {
    let f = Finding::Malformed {
        path: "x".into(),
        what: format!(
            "{} (content) on hostile input",
            outwork_inspect::INSPECTOR_FAILED
        ),
    };
    assert!(f.is_failure());
    let ordinary = Finding::Malformed {
        path: "x".into(),
        what: "OLE compound file unreadable".into(),
    };
    assert!(!ordinary.is_failure());
}
