//! The listener against a tiny MTA-side milter client written here: it
//! negotiates like Postfix (or like an MTA without the v6 extensions),
//! sends real messages and checks the replies.

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

use outwork_server::fuzzing::{Command, Family, Reply, split_frame};
use outwork_server::{FailPolicy, MilterConfig, OversizePolicy};
use outwork_server::{Milter, QuarantineStore};
use outwork_test_support::repo;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What Postfix 3.x offers: every action, every v6 protocol option.
const POSTFIX_ACTIONS: u32 = 0x1ff;
const POSTFIX_PROTOCOL: u32 = 0x1f_ffff;

fn scanner() -> Arc<outwork_engine::Scanner> {
    Arc::new(outwork_test_support::scanner("[model]\nenabled = false\n"))
}

struct Running {
    addr: String,
    quarantine: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), &mut self.task).await;
    }
}

async fn start(f: impl FnOnce(&mut MilterConfig)) -> Running {
    start_logged(f, None).await
}

/// [`start`], recording verdicts in `log` (as `outwork serve` does for the
/// dashboard).
async fn start_logged(
    f: impl FnOnce(&mut MilterConfig),
    log: Option<Arc<outwork_server::VerdictLog>>,
) -> Running {
    start_scanner(f, log, scanner()).await
}

/// [`start_logged`] with a scanner of the test's own.
async fn start_scanner(
    f: impl FnOnce(&mut MilterConfig),
    log: Option<Arc<outwork_server::VerdictLog>>,
    scanner: Arc<outwork_engine::Scanner>,
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let quarantine = dir.path().join("quarantine");
    let mut cfg = MilterConfig {
        listen: vec!["inet:127.0.0.1:0".into()],
        quarantine_dir: quarantine.clone(),
        shutdown_grace_ms: 300,
        ..Default::default()
    };
    f(&mut cfg);
    let m = Milter::bind(cfg, scanner).await.expect("bind");
    if let Some(l) = log {
        m.record_verdicts(l);
    }
    let addr = m.local_addrs()[0].trim_start_matches("inet:").to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        m.run(async {
            let _ = rx.await;
        })
        .await
        .expect("run");
    });
    Running {
        addr,
        quarantine,
        _dir: dir,
        stop: Some(tx),
        task,
    }
}

/// The MTA side of one milter connection.
struct Mta {
    s: TcpStream,
    buf: Vec<u8>,
    protocol: u32,
}

impl Mta {
    async fn connect(addr: &str, actions: u32, protocol: u32) -> (Mta, Reply) {
        let s = TcpStream::connect(addr).await.unwrap();
        let mut m = Mta {
            s,
            buf: Vec::new(),
            protocol: 0,
        };
        m.send(&Command::OptNeg {
            version: 6,
            actions,
            protocol,
        })
        .await;
        let r = m.reply().await.expect("optneg reply");
        if let Reply::OptNeg { protocol, .. } = r {
            m.protocol = protocol;
        }
        (m, r)
    }

    async fn send(&mut self, c: &Command) {
        let mut b = Vec::new();
        c.encode(&mut b);
        self.s.write_all(&b).await.unwrap();
    }

    async fn send_raw(&mut self, b: &[u8]) {
        self.s.write_all(b).await.unwrap();
    }

    /// The next reply, or None at EOF.
    async fn reply(&mut self) -> Option<Reply> {
        loop {
            if let Some((f, used)) = split_frame(&self.buf, 1 << 20).expect("frame") {
                let r = Reply::decode(f).expect("reply");
                self.buf.drain(..used);
                return Some(r);
            }
            let mut rd = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(30), self.s.read(&mut rd))
                .await
                .expect("reply within 30 s")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&rd[..n]);
        }
    }

    /// Send an event; when the filter didn't opt out of replying to it,
    /// expect `continue`.
    async fn event(&mut self, c: Command, nr_bit: u32) {
        self.send(&c).await;
        if self.protocol & nr_bit == 0 {
            assert_eq!(self.reply().await, Some(Reply::Continue), "after {c:?}");
        }
    }

    /// Replies up to and including the final one.
    async fn until_final(&mut self) -> Vec<Reply> {
        let mut v = Vec::new();
        loop {
            let r = self.reply().await.expect("final reply");
            let fin = r.is_final();
            v.push(r);
            if fin {
                return v;
            }
        }
    }

    /// One SMTP transaction as Postfix sends it; returns the EOM replies.
    async fn transaction(&mut self, eml: &[u8], rcpts: &[&str]) -> Vec<Reply> {
        let leadspc = self.protocol & (1 << 20) != 0;
        self.send(&Command::Macro {
            stage: b'C',
            pairs: vec![(b"j".to_vec(), b"mx.example.net".to_vec())],
        })
        .await;
        self.event(
            Command::Connect {
                hostname: b"client.example".to_vec(),
                family: Family::Inet,
                port: 40000,
                address: b"192.0.2.10".to_vec(),
            },
            1 << 12,
        )
        .await;
        self.event(Command::Helo(b"client.example".to_vec()), 1 << 13)
            .await;
        self.send(&Command::Macro {
            stage: b'M',
            pairs: vec![(b"i".to_vec(), b"4QTEST1".to_vec())],
        })
        .await;
        self.event(
            Command::Mail(vec![b"<sender@example.com>".to_vec()]),
            1 << 14,
        )
        .await;
        for r in rcpts {
            self.event(Command::Rcpt(vec![format!("<{r}>").into_bytes()]), 1 << 15)
                .await;
        }
        let (headers, body) = split_message(eml, leadspc);
        for (name, value) in headers {
            self.event(Command::Header { name, value }, 1 << 7).await;
        }
        self.event(Command::Eoh, 1 << 18).await;
        for chunk in body.chunks(65_535) {
            self.event(Command::Body(chunk.to_vec()), 1 << 19).await;
        }
        self.send(&Command::Eom(Vec::new())).await;
        self.until_final().await
    }
}

/// Headers as an MTA sends them (continuation lines joined by LF, the
/// space after the colon kept only with HDR_LEADSPC) and the body with
/// CRLF line ends.
/// Header (name, value) pairs.
type Headers = Vec<(Vec<u8>, Vec<u8>)>;

fn split_message(eml: &[u8], leadspc: bool) -> (Headers, Vec<u8>) {
    let text = String::from_utf8_lossy(eml).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut headers: Headers = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(b'\n');
                last.1.extend_from_slice(line.as_bytes());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            let v = if leadspc {
                v
            } else {
                v.strip_prefix(' ').unwrap_or(v)
            };
            headers.push((n.as_bytes().to_vec(), v.as_bytes().to_vec()));
        }
    }
    (headers, body.replace('\n', "\r\n").into_bytes())
}

fn crlf(eml: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(eml)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

fn header<'a>(replies: &'a [Reply], name: &str) -> Option<&'a str> {
    replies.iter().find_map(|r| match r {
        Reply::AddHeader { name: n, value } if n == name.as_bytes() => {
            std::str::from_utf8(value).ok()
        }
        _ => None,
    })
}

fn read(p: &str) -> Vec<u8> {
    std::fs::read(repo().join(p)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_style_session_ham_tag_quarantine_reject() {
    let srv = start(|c| c.subject_tag = "[SUSPICIOUS]".into()).await;
    let (mut mta, neg) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let Reply::OptNeg {
        version,
        actions,
        protocol,
    } = neg
    else {
        panic!("{neg:?}")
    };
    assert_eq!(version, 6);
    assert_eq!(actions & 0x11, 0x11, "ADDHDRS|CHGHDRS requested");
    assert_ne!(protocol & (1 << 20), 0, "HDR_LEADSPC requested");

    // Ham: accepted with our headers (value with its leading space).
    let r = mta
        .transaction(
            &read("samples/legit-paypal-receipt.eml"),
            &["jordan@example.net"],
        )
        .await;
    assert_eq!(r.last(), Some(&Reply::Accept), "{r:?}");
    assert_eq!(header(&r, "X-Outwork-Action"), Some(" accept"));
    assert!(header(&r, "X-Outwork-Score").is_some());

    // Tag: headers and the subject tagged.
    let r = mta
        .transaction(
            &read("tests/cases/phish_brand_in_subdomain.eml"),
            &["a@example.net"],
        )
        .await;
    assert_eq!(r.last(), Some(&Reply::Accept), "{r:?}");
    assert_eq!(header(&r, "X-Outwork-Action"), Some(" tag"));
    assert!(header(&r, "X-Outwork-Symbols").is_some_and(|s| s.contains('(')));
    assert!(r.iter().any(|x| matches!(x,
        Reply::ChangeHeader { index: 1, name, value }
            if name == b"Subject" && value.starts_with(b" [SUSPICIOUS] "))));

    // Quarantine: stored byte for byte (as rebuilt), then discarded.
    let phish = read("tests/cases/phish_password_form.eml");
    let r = mta.transaction(&phish, &["lee.park@example.com"]).await;
    assert_eq!(r, vec![Reply::Discard]);
    let q = QuarantineStore::open(&srv.quarantine).unwrap();
    let l = q.list().unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].action, "quarantine");
    assert_eq!(l[0].envelope.queue_id.as_deref(), Some("4QTEST1"));
    assert_eq!(l[0].envelope.client_ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(
        l[0].envelope.rcpt_to,
        vec!["lee.park@example.com".to_string()]
    );
    let (_, raw) = q.get(&l[0].id).unwrap();
    assert_eq!(raw, crlf(&phish));

    // Reject: the configured SMTP reply.
    let r = mta
        .transaction(
            &read("samples/phish-typosquat.eml"),
            &["jordan@example.net"],
        )
        .await;
    assert_eq!(
        r,
        vec![Reply::ReplyCode(
            b"550 5.7.1 Message rejected as phishing".to_vec()
        )]
    );

    mta.send(&Command::Quit).await;
    assert_eq!(mta.reply().await, None, "closed after QUIT");
    srv.stop().await;
}

/// Every message the milter scans lands in the dashboard's verdict log,
/// with its envelope and, when quarantined, the quarantine id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn milter_verdicts_are_recorded_for_the_dashboard() {
    let log = Arc::new(outwork_server::VerdictLog::in_memory(100));
    let srv = start_logged(|_| {}, Some(log.clone())).await;
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let r = mta
        .transaction(
            &read("samples/legit-paypal-receipt.eml"),
            &["jordan@example.net"],
        )
        .await;
    assert_eq!(r.last(), Some(&Reply::Accept));
    let r = mta
        .transaction(
            &read("tests/cases/phish_password_form.eml"),
            &["lee.park@example.com"],
        )
        .await;
    assert_eq!(r, vec![Reply::Discard]);
    let (rows, total) = log.list(&Default::default());
    assert_eq!(total, 2);
    let (q, ham) = (&rows[0], &rows[1]);
    assert_eq!(ham.source, "milter");
    assert_eq!(ham.action, "accept");
    assert_eq!(ham.mail_from.as_deref(), Some("sender@example.com"));
    assert_eq!(ham.queue_id.as_deref(), Some("4QTEST1"));
    assert_eq!(ham.client_ip.as_deref(), Some("192.0.2.10"));
    assert!(ham.subject.is_some() && ham.headers.contains("Subject:"));
    assert_eq!(q.action, "quarantine");
    assert_eq!(q.rcpt_to, vec!["lee.park@example.com".to_string()]);
    assert!(!q.symbols.is_empty());
    let stored = QuarantineStore::open(&srv.quarantine)
        .unwrap()
        .list()
        .unwrap();
    assert_eq!(q.quarantine_id.as_deref(), Some(stored[0].id.as_str()));
    mta.send(&Command::Quit).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_mta_without_v6_options_gets_continue_for_every_event() {
    let srv = start(|_| {}).await;
    // An MTA offering only the v2 steps and the basic actions.
    let (mut mta, neg) = Mta::connect(&srv.addr, 0x01 | 0x10, 0x7f).await;
    let Reply::OptNeg {
        protocol, actions, ..
    } = neg
    else {
        panic!()
    };
    assert_eq!(protocol & !0x7f, 0, "asked only for offered options");
    assert_eq!(actions, 0x11);
    let ham = read("samples/legit-paypal-receipt.eml");
    let r = mta.transaction(&ham, &["x@example.net"]).await;
    // Without HDR_LEADSPC the MTA adds the space itself.
    assert_eq!(header(&r, "X-Outwork-Action"), Some("accept"));
    assert_eq!(r.last(), Some(&Reply::Accept));
    // Abort mid-message, then a second message on the same connection.
    mta.send(&Command::Mail(vec![b"<a@b>".to_vec()])).await;
    assert_eq!(mta.reply().await, Some(Reply::Continue));
    mta.send(&Command::Abort).await;
    let r = mta.transaction(&ham, &["y@example.net"]).await;
    assert_eq!(r.last(), Some(&Reply::Accept));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_tempfail_and_close_and_the_server_lives() {
    let srv = start(|c| c.max_packet_bytes = 4096).await;
    // 1. A 2 GB length claim.
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    mta.send_raw(&[0x7f, 0xff, 0xff, 0xff, b'L']).await;
    assert_eq!(mta.reply().await, Some(Reply::Tempfail));
    assert_eq!(mta.reply().await, None);
    // 2. A header packet over max_packet_bytes.
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    mta.send(&Command::Header {
        name: b"X".to_vec(),
        value: vec![b'a'; 10_000],
    })
    .await;
    assert_eq!(mta.reply().await, Some(Reply::Tempfail));
    assert_eq!(mta.reply().await, None);
    // 3. An unknown command code.
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    mta.send_raw(&[0, 0, 0, 1, b'z']).await;
    assert_eq!(mta.reply().await, Some(Reply::Tempfail));
    // 4. A truncated connect packet.
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    mta.send_raw(&[0, 0, 0, 4, b'C', b'h', 0, b'4']).await;
    assert_eq!(mta.reply().await, Some(Reply::Tempfail));
    // 5. A command before negotiation.
    let mut s = TcpStream::connect(&srv.addr).await.unwrap();
    let mut b = Vec::new();
    Command::Helo(b"x".to_vec()).encode(&mut b);
    s.write_all(&b).await.unwrap();
    let mut rd = Vec::new();
    s.read_to_end(&mut rd).await.unwrap();
    assert_eq!(rd, [0, 0, 0, 1, b't']);
    // 6. Junk bytes, then the peer vanishes mid-packet.
    let mut s = TcpStream::connect(&srv.addr).await.unwrap();
    s.write_all(&[0, 0, 0, 50, b'O', 1, 2]).await.unwrap();
    drop(s);
    // Still serving.
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let r = mta
        .transaction(
            &read("samples/legit-paypal-receipt.eml"),
            &["x@example.net"],
        )
        .await;
    assert_eq!(r.last(), Some(&Reply::Accept));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_and_deadline_policies() {
    // Over max_message_bytes with on_oversize = reject.
    let srv = start(|c| {
        c.max_message_bytes = 2_000;
        c.on_oversize = OversizePolicy::Reject;
    })
    .await;
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let mut big = read("samples/legit-paypal-receipt.eml");
    big.extend(std::iter::repeat_n(b"filler line of text\n".as_slice(), 500).flatten());
    let r = mta.transaction(&big, &["x@example.net"]).await;
    assert_eq!(
        r,
        vec![Reply::ReplyCode(
            b"552 5.3.4 Message too big for content scanning".to_vec()
        )]
    );
    srv.stop().await;

    // ... and with accept: delivered unscanned, saying so.
    let srv = start(|c| c.max_message_bytes = 2_000).await;
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let r = mta.transaction(&big, &["x@example.net"]).await;
    assert_eq!(header(&r, "X-Outwork-Action"), Some(" unscanned"));
    assert!(header(&r, "X-Outwork-Error").is_some_and(|e| e.contains("max_message_bytes")));
    // The refusal to scan is visible like a verdict: score and symbol.
    assert_eq!(header(&r, "X-Outwork-Score"), Some(" 0.00"));
    assert_eq!(
        header(&r, "X-Outwork-Symbols"),
        Some(" MESSAGE_UNSCANNED_SIZE(0.00)")
    );
    assert_eq!(r.last(), Some(&Reply::Accept));
    srv.stop().await;

    // A scan that misses its deadline: fail closed (default) ...
    let srv = start(|c| c.scan_timeout_ms = 0).await;
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let phish = read("tests/cases/phish_password_form.eml");
    let r = mta.transaction(&phish, &["x@example.net"]).await;
    assert_eq!(r, vec![Reply::Tempfail]);
    srv.stop().await;
    // ... or open.
    let srv = start(|c| {
        c.scan_timeout_ms = 0;
        c.on_error = FailPolicy::Accept;
    })
    .await;
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let r = mta.transaction(&phish, &["x@example.net"]).await;
    assert_eq!(header(&r, "X-Outwork-Action"), Some(" unscanned"));
    assert!(header(&r, "X-Outwork-Error").is_some_and(|e| e.contains("deadline")));
    assert_eq!(r.last(), Some(&Reply::Accept));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_outwork_headers_are_removed() {
    let srv = start(|_| {}).await;
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let mut eml =
        b"X-Outwork-Action: accept\nx-outwork-score: 0\nX-Outwork-Action: accept\n".to_vec();
    eml.extend(read("samples/legit-paypal-receipt.eml"));
    let r = mta.transaction(&eml, &["x@example.net"]).await;
    let dels: Vec<_> = r
        .iter()
        .filter_map(|x| match x {
            Reply::ChangeHeader { index, name, value } if value.is_empty() => {
                Some((String::from_utf8_lossy(name).into_owned(), *index))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        dels,
        vec![
            ("X-Outwork-Action".to_string(), 2),
            ("X-Outwork-Action".to_string(), 1),
            ("x-outwork-score".to_string(), 1)
        ]
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_at_once_with_few_slots() {
    let srv = start(|c| {
        c.max_connections = 4;
        c.max_scans = 1;
    })
    .await;
    let ham = read("samples/legit-paypal-receipt.eml");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let addr = srv.addr.clone();
        let ham = ham.clone();
        tasks.push(tokio::spawn(async move {
            let (mut mta, _) = Mta::connect(&addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
            let r = mta.transaction(&ham, &[&format!("u{i}@example.net")]).await;
            mta.send(&Command::Quit).await;
            r
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.last(), Some(&Reply::Accept));
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("milter.sock");
    let cfg = MilterConfig {
        listen: vec![format!("unix:{}", sock.display())],
        quarantine_dir: dir.path().join("q"),
        // Unix-socket clients are one local client, not limited per IP
        // (Postfix opens one connection per smtpd process).
        max_connections_per_ip: 1,
        ..Default::default()
    };
    let m = Milter::bind(cfg, scanner()).await.unwrap();
    assert_eq!(m.local_addrs(), vec![format!("unix:{}", sock.display())]);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(m.run(async {
        let _ = rx.await;
    }));
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut s = tokio::net::UnixStream::connect(&sock).await.unwrap();
        let mut b = Vec::new();
        Command::OptNeg {
            version: 6,
            actions: POSTFIX_ACTIONS,
            protocol: POSTFIX_PROTOCOL,
        }
        .encode(&mut b);
        s.write_all(&b).await.unwrap();
        let mut rd = [0u8; 17];
        s.read_exact(&mut rd).await.unwrap();
        assert_eq!(&rd[..5], &[0, 0, 0, 13, b'O']);
        open.push(s);
    }
    drop(open);
    let _ = tx.send(());
    task.await.unwrap().unwrap();
    assert!(!sock.exists(), "socket removed on shutdown");
}

/// Issue 17 item 7, the milter path: a header claiming our own
/// authserv-id is ignored and reported (and, with `verify`, deleted), as
/// on /checkv2 and /v1/scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_authentication_results_are_ignored_by_the_milter() {
    let mut cfg = outwork_core::Config {
        model: outwork_core::ModelConfig {
            enabled: false,
            path: None,
        },
        ..Default::default()
    };
    cfg.auth.authserv_id = "mx.example.org".into();
    cfg.auth.trusted_authserv_ids = vec!["mx.example.org".into()];
    let scanner = outwork_engine::Scanner::from_config(outwork_core::Context::new(cfg)).unwrap();
    let srv = start_scanner(|_| {}, None, Arc::new(scanner)).await;
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let eml = b"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=paypal.com; dkim=pass header.d=paypal.com; dmarc=pass header.from=paypal.com\nFrom: PayPal <service@paypal.com>\nTo: <bob@example.org>\nSubject: account\n\nhello\n";
    let r = mta.transaction(eml, &["bob@example.org"]).await;
    let syms = header(&r, "X-Outwork-Symbols").unwrap_or("").to_string();
    assert!(syms.contains("AUTH_RESULTS_FORGED"), "{syms}");
    assert!(!syms.contains("DMARC_PASS"), "{syms}");
    srv.stop().await;
}

/// A TCP connection to `addr` from the loopback address `src` (Linux
/// routes all of 127/8 to lo): a second "client" on one machine.
async fn tcp_from(src: &str, addr: &str) -> std::io::Result<TcpStream> {
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.bind(format!("{src}:0").parse().unwrap())?;
    sock.connect(addr.parse().unwrap()).await
}

/// True when the server closes `s` within `wait` (EOF or reset).
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut b = [0u8; 64];
    matches!(
        tokio::time::timeout(wait, s.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// One ham message through a fresh connection; the time it took.
async fn real_session(addr: &str) -> Duration {
    let t = std::time::Instant::now();
    let ham = read("samples/legit-paypal-receipt.eml");
    let (mut mta, _) = Mta::connect(addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let r = mta.transaction(&ham, &["x@example.net"]).await;
    assert_eq!(r.last(), Some(&Reply::Accept));
    mta.send(&Command::Quit).await;
    t.elapsed()
}

/// Issue 17, item 3: 300 TCP connections that never negotiate (more than
/// `max_connections`) used to hold every slot for the 600 s idle timeout.
/// Now a newcomer closes the oldest of them, and a real session goes
/// through at once, long before any timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_that_never_negotiate_do_not_starve_the_mta() {
    let srv = start(|c| c.max_connections = 50).await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(&srv.addr).await.unwrap());
    }
    let took = tokio::time::timeout(Duration::from_secs(4), real_session(&srv.addr))
        .await
        .expect("a real session completes while 300 idle connections are held");
    eprintln!("real session with 300 idle connections held (max_connections 50): {took:?}");
    // Those still holding a slot are closed after negotiate_timeout_ms.
    drop(idle);
    srv.stop().await;

    let srv = start(|c| c.negotiate_timeout_ms = 300).await;
    let mut s = TcpStream::connect(&srv.addr).await.unwrap();
    let t = std::time::Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(3)).await);
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    // Once negotiated, idle_timeout_ms applies, not the negotiation timeout.
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    assert!(!closed_within(&mut mta.s, Duration::from_millis(800)).await);
    let ham = read("samples/legit-paypal-receipt.eml");
    let r = mta.transaction(&ham, &["x@example.net"]).await;
    assert_eq!(r.last(), Some(&Reply::Accept));
    srv.stop().await;
}

/// Issue 17, item 3: an attacker who negotiates (so is not "idle") is
/// capped by `max_connections_per_ip`; the MTA on another address still
/// gets through. Before: 300 negotiated connections from one address held
/// all 50 slots for the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negotiated_connections_from_one_client_are_capped() {
    let srv = start(|c| {
        c.max_connections = 50;
        c.max_connections_per_ip = 20;
    })
    .await;
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let mut s = tcp_from("127.0.0.2", &srv.addr).await.unwrap();
        let mut b = Vec::new();
        Command::OptNeg {
            version: 6,
            actions: POSTFIX_ACTIONS,
            protocol: POSTFIX_PROTOCOL,
        }
        .encode(&mut b);
        let _ = s.write_all(&b).await;
        let mut r = [0u8; 64];
        match tokio::time::timeout(Duration::from_secs(3), s.read(&mut r)).await {
            Ok(Ok(n)) if n > 0 => held.push(s),
            Ok(_) => refused += 1,
            Err(_) => panic!("neither negotiated nor closed within 3 s"),
        }
    }
    assert_eq!((held.len(), refused), (20, 280));
    let took = tokio::time::timeout(Duration::from_secs(4), real_session(&srv.addr))
        .await
        .expect("the MTA on 127.0.0.1 is not blocked by 127.0.0.2");
    eprintln!("real session with 20 negotiated + 280 refused from one client: {took:?}");
    // A slot freed by that client can be used by it again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut s = tcp_from("127.0.0.2", &srv.addr).await.unwrap();
    assert!(!closed_within(&mut s, Duration::from_millis(300)).await);
    srv.stop().await;
}

/// Issue 17: messages held open (body sent, end of message withheld) must
/// not hold more than `max_buffered_bytes` together. Three held messages
/// fill the budget; a fourth gets `on_error` (tempfail) instead of being
/// buffered (before the budget it was kept and scanned); once the held
/// ones are aborted, messages are scanned again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_messages_cannot_hold_more_than_the_buffered_budget() {
    const MIB: usize = 1024 * 1024;
    let srv = start(|c| {
        c.max_message_bytes = MIB;
        c.max_buffered_bytes = (3 * MIB + MIB / 2) as u64;
    })
    .await;
    let mut big = read("samples/legit-paypal-receipt.eml");
    big.extend(std::iter::repeat_n(b"filler line of text\n".as_slice(), 30_000).flatten());
    assert!(big.len() > 600_000 && big.len() < 700_000);
    let mut held = Vec::new();
    for _ in 0..3 {
        let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
        mta.event(Command::Mail(vec![b"<s@example.com>".to_vec()]), 1 << 14)
            .await;
        mta.event(Command::Rcpt(vec![b"<x@example.net>".to_vec()]), 1 << 15)
            .await;
        let (headers, body) = split_message(&big, mta.protocol & (1 << 20) != 0);
        for (name, value) in headers {
            mta.event(Command::Header { name, value }, 1 << 7).await;
        }
        mta.event(Command::Eoh, 1 << 18).await;
        for chunk in body.chunks(65_535) {
            mta.event(Command::Body(chunk.to_vec()), 1 << 19).await;
        }
        held.push(mta);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (mut mta, _) = Mta::connect(&srv.addr, POSTFIX_ACTIONS, POSTFIX_PROTOCOL).await;
    let r = mta.transaction(&big, &["x@example.net"]).await;
    assert_eq!(r, vec![Reply::Tempfail]);

    // The held messages are aborted: their bytes are given back.
    for m in &mut held {
        m.send(&Command::Abort).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = mta.transaction(&big, &["x@example.net"]).await;
    assert_eq!(r.last(), Some(&Reply::Accept), "{r:?}");
    assert!(header(&r, "X-Outwork-Action").is_some());
    srv.stop().await;
}
