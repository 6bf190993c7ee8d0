//! YARA rules (built with `--features yara`): compiled from a directory,
//! run on the attachment and on every file extracted from it.
#![cfg(feature = "yara")]

use outwork_inspect::{Finding, Limits, inspect_with};
use outwork_inspect::{YaraError, YaraMatch, YaraRules};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

fn rules_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("outwork-yara-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (f, src) in files {
        std::fs::write(dir.join(f), src).expect("write rule");
    }
    dir
}

const RULES: &str = r#"
rule Invoice_Dropper : dropper office {
  meta:
    score = 8
    description = "test rule"
  strings:
    $a = "powershell -enc" nocase
  condition:
    $a
}

rule Mz_Header {
  condition:
    uint16(0) == 0x5A4D
}
"#;

fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for (name, data) in entries {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("entry");
            z.write_all(data).expect("write");
        }
        z.finish().expect("finish");
    }
    buf.into_inner()
}

fn yara_hits(f: &[Finding]) -> Vec<(String, String)> {
    f.iter()
        .filter_map(|f| match f {
            Finding::Yara { path, m } => Some((path.clone(), m.rule.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn rules_load_with_names_scores_and_namespaces() {
    let dir = rules_dir(
        "load",
        &[("office.yar", RULES), ("notes.txt", "not a rule")],
    );
    let rules = YaraRules::load(&dir, Duration::from_secs(1)).expect("compile");
    assert_eq!(rules.files.len(), 1, "only .yar/.yara files are read");
    let mut info: Vec<(String, String, Option<f64>)> = rules
        .rules_info
        .iter()
        .map(|r| (r.namespace.clone(), r.rule.clone(), r.score))
        .collect();
    info.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        info,
        vec![
            ("office".into(), "Invoice_Dropper".into(), Some(8.0)),
            ("office".into(), "Mz_Header".into(), None),
        ]
    );
}

#[test]
fn rules_run_on_the_attachment_and_every_extracted_file() {
    let dir = rules_dir("scan", &[("office.yar", RULES)]);
    let rules = YaraRules::load(&dir, Duration::from_secs(1)).expect("compile");
    let inner = zip_with(&[("setup.exe", b"MZ\x90\x00rest of a PE")]);
    let outer = zip_with(&[
        ("docs/run.cmd", b"@echo off\r\nPowerShell -ENC SQBFAFgA"),
        ("payload.zip", &inner),
        ("readme.txt", b"hello"),
    ]);
    let f = inspect_with("invoice.zip", &outer, &[], &Limits::default(), Some(&rules));
    let mut hits = yara_hits(&f);
    hits.sort();
    assert_eq!(
        hits,
        vec![
            ("invoice.zip!docs/run.cmd".into(), "Invoice_Dropper".into()),
            (
                "invoice.zip!payload.zip!setup.exe".into(),
                "Mz_Header".into()
            ),
        ],
        "{f:?}"
    );
    let m = f
        .iter()
        .find_map(|f| match f {
            Finding::Yara { m, .. } if m.rule == "Invoice_Dropper" => Some(m.clone()),
            _ => None,
        })
        .expect("match");
    assert_eq!(
        m,
        YaraMatch {
            rule: "Invoice_Dropper".into(),
            namespace: "office".into(),
            tags: vec!["dropper".into(), "office".into()],
            score: Some(8.0),
        }
    );
}

#[test]
fn a_broken_rule_names_its_file_and_line() {
    let dir = rules_dir(
        "broken",
        &[(
            "bad.yara",
            "rule ok { condition: true }\n\nrule broken {\n  condition:\n    $nope\n}\n",
        )],
    );
    let err = YaraRules::load(&dir, Duration::from_secs(1)).expect_err("must fail");
    assert!(matches!(err, YaraError::Compile(_)), "{err:?}");
    let err = err.to_string();
    assert!(err.contains("bad.yara"), "{err}");
    assert!(err.contains(":5:"), "{err}");
}

#[test]
fn an_empty_directory_is_an_error() {
    let dir = rules_dir("empty", &[]);
    let err = YaraRules::load(&dir, Duration::from_secs(1)).expect_err("must fail");
    assert!(matches!(err, YaraError::NoRules(_)), "{err:?}");
    assert!(err.to_string().contains("no .yar or .yara files"), "{err}");
}
