//! Input detection: a message file, an mbox (with mboxrd quoting), a
//! Maildir and a plain directory, read as a user would hand them over.

use outwork_engine::Inputs;
use std::path::PathBuf;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("outwork-inputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

const MSG: &str = "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nbody\r\n";

#[test]
fn mbox_is_split_and_unquoted() {
    let d = tmpdir("mbox");
    let mbox = d.join("box");
    let text = format!(
        "From a@example.org Thu Nov 26 10:00:00 2026\n{MSG}\n>From the archive\n\nFrom b@example.org Thu Nov 26 10:01:00 2026\n{MSG}\nFrom c@example.org Thu Nov 26 10:02:00 2026\n{MSG}"
    );
    std::fs::write(&mbox, text).expect("write");
    let items: Vec<_> = Inputs::new(vec![mbox.clone()], 1 << 20).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].path, format!("{}#1", mbox.display()));
    assert_eq!(items[2].path, format!("{}#3", mbox.display()));
    let first = items[0].data.as_ref().expect("data");
    assert!(
        first.starts_with(b"From: a@example.org"),
        "postmark stripped"
    );
    assert!(
        String::from_utf8_lossy(first).contains("\nFrom the archive"),
        "mboxrd >From unquoted"
    );
    assert_eq!(
        items.iter().map(|i| i.seq).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
}

#[test]
fn maildir_and_directories_recurse_and_skip_tmp() {
    let d = tmpdir("maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(d.join(sub)).expect("mkdir");
    }
    std::fs::write(d.join("cur/1.eml"), MSG).expect("write");
    std::fs::write(d.join("new/2.eml"), MSG).expect("write");
    std::fs::write(d.join("tmp/partial.eml"), "half a mess").expect("write");
    std::fs::write(d.join(".hidden"), MSG).expect("write");
    let items: Vec<_> = Inputs::new(vec![d.clone()], 1 << 20).collect();
    let paths: Vec<_> = items.iter().map(|i| i.path.clone()).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    let root = d.display().to_string();
    let rel: Vec<_> = paths
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap_or(p))
        .collect();
    assert_eq!(rel, vec!["/cur/1.eml", "/new/2.eml"]);
}

#[test]
fn single_file_missing_file_and_size_bound() {
    let d = tmpdir("single");
    let f = d.join("m.eml");
    std::fs::write(&f, MSG.repeat(100)).expect("write");
    let items: Vec<_> = Inputs::new(vec![f.clone(), d.join("missing.eml")], 64).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0].data.as_ref().expect("data").len(),
        65,
        "read up to max + 1"
    );
    assert!(
        items[1]
            .data
            .as_ref()
            .is_err_and(|e| e.to_string().contains("missing.eml"))
    );
}
