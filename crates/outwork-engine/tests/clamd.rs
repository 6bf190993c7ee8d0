//! clamd end to end: a real clamd (Debian's clamav-daemon) with a local
//! test signature (no signature download is possible here), on a unix
//! socket and on loopback TCP; clamd down and clamd silent.
//!
//! Needs `clamd` on PATH. Without it the tests say so and pass, unless
//! OUTWORK_REQUIRE_CLAMD is set (.ci/run installs clamd and sets it).

use outwork_test_support::{Clamd, gates};

use outwork_core::Config;
use outwork_core::Context;
use outwork_engine::Scanner;
use std::io::Write;
use std::time::{Duration, Instant};

/// The signature: an .ndb body signature for this marker string.
const MARKER: &str = "OUTWORK-CLAMD-TEST-MARKER";

fn clamd_available() -> bool {
    gates::check(&gates::CLAMD)
}

/// Start clamd with the marker's signature; it stops when dropped.
fn start() -> Clamd {
    let hex: String = MARKER.bytes().map(|b| format!("{b:02x}")).collect();
    Clamd::start(&format!("Outwork.Test.Marker:0:*:{hex}\n"))
}

fn scanner(clamd: &str, timeout_ms: u64) -> Scanner {
    let cfg = Config::from_toml(&format!(
        "[inspect]\nclamd = \"{clamd}\"\nclamd_timeout_ms = {timeout_ms}\n"
    ))
    .expect("config");
    Scanner::from_config(Context::new(cfg)).expect("scanner")
}

fn message(name: &str, content_type: &str, body_b64: &str) -> Vec<u8> {
    format!(
        "From: Accounts <billing@supplier.example>\r\nTo: ap@northwind.example\r\nSubject: Invoice 4471\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlease find the invoice attached.\r\n--b\r\nContent-Type: {content_type}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{body_b64}\r\n--b--\r\n"
    )
    .into_bytes()
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn zip_with(name: &str, content: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        z.write_all(content).expect("zip write");
        z.finish().expect("zip finish");
    }
    buf.into_inner()
}

fn symbols(v: &outwork_core::Verdict) -> Vec<(&'static str, Vec<String>)> {
    v.symbols
        .iter()
        .map(|s| (s.name, s.evidence.clone()))
        .collect()
}

/// One test for everything that needs the real clamd: it takes seconds
/// to start, and a guard that drops is what stops it.
#[test]
#[cfg_attr(
    outwork_no_clamd,
    ignore = "needs clamd (OUTWORK_REQUIRE_CLAMD=1 makes this a failure)"
)]
fn real_clamd() {
    if !clamd_available() {
        return;
    }
    let clamd = start();
    signature_found_over_unix_socket_and_tcp(&clamd.sock, &clamd.tcp);
    clamd_unpacks_archives_and_passes_clean_files(&clamd.sock);
}

fn signature_found_over_unix_socket_and_tcp(sock: &std::path::Path, tcp: &str) {
    let infected = message(
        "invoice.txt",
        "text/plain",
        &b64(format!("total due {MARKER} thanks").as_bytes()),
    );
    for addr in [format!("unix:{}", sock.display()), tcp.to_string()] {
        let v = scanner(&addr, 5000)
            .scan(&infected, &Default::default(), &Default::default())
            .verdict;
        let s = symbols(&v);
        let hit = s
            .iter()
            .find(|(n, _)| *n == "CLAMAV_VIRUS")
            .unwrap_or_else(|| panic!("no CLAMAV_VIRUS via {addr}: {s:?}"));
        assert!(
            hit.1[0].contains("invoice.txt") && hit.1[0].contains("Outwork.Test.Marker"),
            "{hit:?}"
        );
        assert!(!s.iter().any(|(n, _)| *n == "CLAMAV_UNAVAILABLE"), "{s:?}");
    }
}

fn clamd_unpacks_archives_and_passes_clean_files(sock: &std::path::Path) {
    let sc = scanner(&sock.display().to_string(), 5000);
    let zipped = message(
        "invoice.zip",
        "application/zip",
        &b64(&zip_with("inner/readme.txt", MARKER.as_bytes())),
    );
    let s = symbols(
        &sc.scan(&zipped, &Default::default(), &Default::default())
            .verdict,
    );
    assert!(s.iter().any(|(n, _)| *n == "CLAMAV_VIRUS"), "{s:?}");

    let clean = message("notes.txt", "text/plain", &b64(b"nothing to see here"));
    let s = symbols(
        &sc.scan(&clean, &Default::default(), &Default::default())
            .verdict,
    );
    assert!(
        !s.iter()
            .any(|(n, _)| *n == "CLAMAV_VIRUS" || *n == "CLAMAV_UNAVAILABLE"),
        "{s:?}"
    );
}

#[test]
fn clamd_down_is_a_symbol_not_an_error() {
    // No clamd needed: nothing listens at this socket.
    let missing = std::env::temp_dir().join("outwork-no-such-clamd.sock");
    let sc = scanner(&format!("unix:{}", missing.display()), 500);
    let v = sc
        .scan(
            &message("a.txt", "text/plain", &b64(b"hello")),
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    let s = symbols(&v);
    let u = s
        .iter()
        .find(|(n, _)| *n == "CLAMAV_UNAVAILABLE")
        .unwrap_or_else(|| panic!("{s:?}"));
    assert!(u.1[0].contains("outwork-no-such-clamd.sock"), "{u:?}");
}

#[test]
fn silent_clamd_is_bounded_by_the_deadline() {
    // A listener that accepts and never answers, like a wedged clamd.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let hold = std::thread::spawn(move || {
        let conns: Vec<_> = l.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(3));
        drop(conns);
    });
    let sc = scanner(&addr, 300);
    let t0 = Instant::now();
    let v = sc
        .scan(
            &message("a.txt", "text/plain", &b64(b"hello")),
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    let took = t0.elapsed();
    let s = symbols(&v);
    assert!(s.iter().any(|(n, _)| *n == "CLAMAV_UNAVAILABLE"), "{s:?}");
    // The deadline is 300 ms; allow a loaded 2-core machine generous slack.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let _ = hold.join();
}
