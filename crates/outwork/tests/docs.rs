//! Generated documentation stays true: docs/SYMBOLS.md holds exactly what
//! `outwork symbols --markdown` prints. `OUTWORK_BLESS=1` rewrites it.

use outwork_test_support::{repo, sandbox_home};
use std::process::Command;

const BEGIN: &str = "<!-- BEGIN GENERATED: outwork symbols --markdown -->\n";
const END: &str = "<!-- END GENERATED -->\n";

/// outwork with a home of its own (never the user's data dir).
fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_outwork"));
    c.env("HOME", sandbox_home())
        .env("XDG_DATA_HOME", sandbox_home().join(".local/share"));
    c
}

#[test]
fn symbols_doc_is_what_outwork_symbols_prints() {
    let out = bin()
        .args(["symbols", "--markdown"])
        .output()
        .expect("run outwork");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).expect("UTF-8 table");
    assert!(
        table.starts_with("| symbol | family | weight | meaning |\n") && table.lines().count() > 50,
        "{table}"
    );

    let path = repo().join("docs/SYMBOLS.md");
    let doc = std::fs::read_to_string(&path).expect("docs/SYMBOLS.md");
    let start = doc.find(BEGIN).expect("BEGIN marker") + BEGIN.len();
    let end = start + doc[start..].find(END).expect("END marker");
    if doc[start..end] == table {
        return;
    }
    if std::env::var("OUTWORK_BLESS").is_ok_and(|v| v == "1") {
        let fresh = format!("{}{table}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, fresh).expect("write docs/SYMBOLS.md");
        return;
    }
    panic!(
        "docs/SYMBOLS.md is stale (its table differs from `outwork symbols --markdown`); \
         regenerate it: OUTWORK_BLESS=1 cargo test -p outwork --test docs"
    );
}
