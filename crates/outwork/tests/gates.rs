//! Tests that need a real server are marked `#[ignore]` with a reason when
//! it is missing (outwork_test_support::gates), so `cargo test` counts them as
//! ignored instead of passed. These tests hold the wording to one form and
//! the build-time detection to what this machine has.

use outwork_test_support::gates;

use std::path::{Path, PathBuf};

fn test_files() -> Vec<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for c in std::fs::read_dir(&crates).expect("crates/") {
        let tests = c.expect("entry").path().join("tests");
        let Ok(rd) = std::fs::read_dir(&tests) else {
            continue;
        };
        for f in rd {
            let p = f.expect("entry").path();
            // Not this file: it spells the patterns it looks for.
            if p.extension().is_some_and(|e| e == "rs") && !p.ends_with("outwork/tests/gates.rs") {
                out.push(p);
            }
        }
        // Helpers several test files share (`mod common;`).
        let common = tests.join("common/mod.rs");
        if common.is_file() {
            out.push(common);
        }
    }
    assert!(out.len() > 10, "{out:?}");
    out
}

#[test]
fn every_gated_test_says_why_in_one_wording() {
    let mut gated = 0;
    for f in test_files() {
        let src = std::fs::read_to_string(&f).expect("read");
        let name = f.display();
        // Each `ignore = "…"` sits in a cfg_attr on a gate's cfg and says
        // that gate's reason word for word.
        for (i, _) in src.match_indices("ignore = \"") {
            let before = &src[..i];
            let cfg = before
                .rfind("cfg_attr(")
                .map(|j| before[j + 9..].trim())
                .and_then(|s| s.strip_prefix("outwork_no_"))
                .and_then(|s| s.split(',').next())
                .unwrap_or_else(|| panic!("{name}: an ignore outside cfg_attr(outwork_no_…)"));
            let g = gates::ALL
                .iter()
                .find(|g| g.name == cfg)
                .unwrap_or_else(|| panic!("{name}: unknown gate {cfg}"));
            let rest = &src[i + 10..];
            let reason = &rest[..rest.find('"').expect("closing quote")];
            assert_eq!(reason, gates::reason(g), "{name}");
            gated += 1;
        }
        // A run-time check without the ignore would count a skip as a pass.
        for g in gates::ALL {
            let call = format!("gates::check(&gates::{})", g.name.to_uppercase());
            if src.contains(&call) {
                assert!(
                    src.contains(&format!("outwork_no_{},", g.name)),
                    "{name} calls {call} but marks no test #[ignore] on outwork_no_{}",
                    g.name
                );
            }
        }
        assert!(
            !src.contains("SKIPPED"),
            "{name}: a hand-written SKIPPED note; use outwork_test_support::gates"
        );
    }
    assert!(gated >= 14, "only {gated} gated tests found");
}

/// The build script's answer (the cfg) matches what is installed now; a
/// tool installed since the last build shows up here, not as a quiet skip.
#[test]
fn build_time_detection_matches_this_machine() {
    let expect = !gates::required(&gates::REDIS) && gates::missing(&gates::REDIS).is_some();
    assert_eq!(
        cfg!(outwork_no_redis),
        expect,
        "redis-server: {:?}",
        gates::missing(&gates::REDIS)
    );
}

/// Test runs must not reach the user's `~/.local/share/outwork` (verdict
/// log, intel store, model, history): every test file that runs the
/// `outwork` binary gives it a throw-away home.
#[test]
fn every_test_that_runs_outwork_sandboxes_its_data_dir() {
    let mut found = 0;
    for f in test_files() {
        let src = std::fs::read_to_string(&f).expect("read");
        if src.contains("CARGO_BIN_EXE_outwork") {
            found += 1;
            assert!(
                src.contains(".env(\"XDG_DATA_HOME\"") && src.contains(".env(\"HOME\""),
                "{} runs outwork without a sandboxed HOME/XDG_DATA_HOME",
                f.display()
            );
            assert_eq!(
                src.matches("CARGO_BIN_EXE_outwork").count(),
                1,
                "{}: start outwork through the one sandboxed bin()",
                f.display()
            );
        }
    }
    assert!(found >= 2, "{found}");
}
