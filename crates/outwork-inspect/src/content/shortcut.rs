//! Windows (.lnk) and Internet (.url) shortcuts: targets and the
//! command lines they run.

use super::*;

const LNK_RUNNERS: &[&str] = &[
    "powershell",
    "cmd.exe",
    "mshta",
    "wscript",
    "cscript",
    "rundll32",
    "regsvr32",
    "certutil",
    "bitsadmin",
    "msiexec",
];

/// Best-effort: the printable UTF-16LE (string data, both alignments) and
/// ASCII (LinkInfo paths) runs of the shortcut, searched for URLs and
/// script hosts. No structural parsing, so padding tricks don't matter.
pub(super) fn inspect_lnk(path: &str, data: &[u8], sink: &mut Sink) {
    let mut text = Vec::new();
    for align in 0..2 {
        let mut run = Vec::new();
        for c in data[align..].chunks_exact(2) {
            let u = u16::from_le_bytes([c[0], c[1]]);
            if (0x20..0x7F).contains(&u) || u == 9 {
                run.push(u as u8);
            } else {
                flush_run(&mut run, &mut text);
            }
        }
        flush_run(&mut run, &mut text);
    }
    let mut run = Vec::new();
    for &b in data {
        if (0x20..0x7F).contains(&b) || b == b'\t' {
            run.push(b);
        } else {
            flush_run(&mut run, &mut text);
        }
    }
    flush_run(&mut run, &mut text);
    let lower = text.to_ascii_lowercase();
    for runner in LNK_RUNNERS {
        if memchr::memmem::find(&lower, runner.as_bytes()).is_some() {
            sink.smuggling(path, format!("shortcut runs {runner}"));
        }
    }
    for url in extract_urls(&text, MAX_FINDINGS) {
        sink.link(path, &url, "Windows shortcut");
    }
}

fn flush_run(run: &mut Vec<u8>, text: &mut Vec<u8>) {
    if run.len() >= 4 {
        text.extend_from_slice(run);
        text.push(b'\n');
    }
    run.clear();
}

pub(super) fn inspect_url_file(path: &str, data: &[u8], sink: &mut Sink) {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("URL") {
            sink.link(path, value, "Internet shortcut");
        } else if key.eq_ignore_ascii_case("IconFile")
            && (is_http(value) || starts_with_ci(value, "file:") || value.starts_with("\\\\"))
        {
            // A remote icon is fetched on display (NTLM leak / beacon).
            sink.link(path, value, "Internet shortcut icon");
        }
    }
}
