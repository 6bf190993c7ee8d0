//! End to end against a real Postfix (Debian's package) on loopback.
//!
//! A private Postfix instance (its own main.cf/master.cf, queue and data
//! directories, log file, smtpd on a free loopback port, `virtual`
//! delivery to a Maildir) with `smtpd_milters` pointing at the outwork
//! milter, which runs as a child process (this test binary re-executed)
//! so it can be killed mid-transaction.
//!
//! Needs root (Postfix's master runs as root), `postfix` and `swaks`:
//! `apt-get install postfix swaks` (debconf `postfix/main_mailer_type`
//! = `Local only`). Without them the test is skipped with a message,
//! unless `OUTWORK_REQUIRE_POSTFIX=1` (CI), which makes it fail instead.

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

use outwork_test_support::{free_port, gates};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "OUTWORK_E2E_MILTER_CONFIG";

/// Not a test on its own: the milter process the e2e test starts (and
/// kills). Does nothing unless the parent set `OUTWORK_E2E_MILTER_CONFIG`.
#[test]
fn milter_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let text = std::fs::read_to_string(path).unwrap();
    let cfg = outwork_server::MilterConfig::from_outwork_toml(&text).unwrap();
    // Protocol test: hand-set weights pin the verdicts (the model is tested
    // elsewhere), so a retrained model can't move them.
    let mut config = outwork_core::Config::from_toml(&text).unwrap();
    config.model.enabled = false;
    let ctx = outwork_core::Context::new(config);
    let scanner = std::sync::Arc::new(outwork_engine::Scanner::from_config(ctx).unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let m = outwork_server::Milter::bind(cfg, scanner).await.unwrap();
        println!("listening {}", m.local_addrs()[0]);
        std::io::stdout().flush().unwrap();
        m.run(std::future::pending()).await.unwrap();
    });
}

fn id_of(flag: &str, name: &str) -> String {
    let o = Command::new("id").args([flag, name]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn repo_file(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
}

/// The milter child process; killed on drop.
struct MilterProc {
    child: Child,
    addr: String,
}

impl MilterProc {
    fn start(config: &Path, log: &Path) -> MilterProc {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "milter_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 || Instant::now() > deadline {
                let _ = child.kill();
                panic!("milter child exited before listening");
            }
            // libtest may print "test milter_child ... " on the same line.
            if let Some((_, a)) = line.trim().split_once("listening inet:") {
                break a.to_string();
            }
        };
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        MilterProc { child, addr }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MilterProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private Postfix instance; stopped on drop.
struct Postfix {
    dir: PathBuf,
    smtp: String,
}

impl Postfix {
    fn start(dir: &Path, milter_addr: &str) -> Postfix {
        let etc = dir.join("etc");
        let maildir = dir.join("mail");
        for d in ["etc", "queue", "data", "mail"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let (uid, gid) = (id_of("-u", "postfix"), id_of("-g", "postfix"));
        let chown = |p: &Path| {
            let s = Command::new("chown")
                .arg(format!("{uid}:{gid}"))
                .arg(p)
                .status()
                .unwrap();
            assert!(s.success());
        };
        chown(&dir.join("data"));
        chown(&maildir);
        let port = free_port();
        let d = dir.display();
        std::fs::write(
            etc.join("main.cf"),
            format!(
                "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
mail_owner = postfix
setgid_group = postdrop
myhostname = outwork-e2e.localdomain
mydomain = localdomain
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost =
default_transport = error
relay_transport = error
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
virtual_mailbox_domains = example.net example.com example.org
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = 1
smtpd_milters = inet:{milter_addr}
milter_protocol = 6
milter_default_action = tempfail
milter_connect_macros = j {{daemon_name}} {{client_addr}} v _
"
            ),
        )
        .unwrap();
        std::fs::write(
            etc.join("master.cf"),
            // The services every private Postfix of the project's tests and
            // scripts runs (tests/postfix/master-services.cf).
            format!(
                "127.0.0.1:{port} inet n - n - - smtpd\n{}",
                include_str!("../../../tests/postfix/master-services.cf")
            ),
        )
        .unwrap();
        let pf = Postfix {
            dir: dir.to_path_buf(),
            smtp: format!("127.0.0.1:{port}"),
        };
        let o = Command::new("postfix")
            .arg("-c")
            .arg(&etc)
            .arg("start")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "postfix start failed: {}{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            pf.log()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&pf.smtp).is_err() {
            assert!(Instant::now() < deadline, "smtpd not up:\n{}", pf.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        pf
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    fn mailbox(&self) -> Vec<String> {
        let mut v = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(self.dir.join("mail/inbox").join(sub)) {
                for e in rd.flatten() {
                    v.push(String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned());
                }
            }
        }
        v
    }

    /// The delivered message containing `needle`, waiting for delivery.
    fn delivered(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(m) = self.mailbox().into_iter().find(|m| m.contains(needle)) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "{needle} not delivered; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait until Postfix's queue is empty (so "not delivered" means it).
    fn drain(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let o = Command::new("postqueue")
                .arg("-c")
                .arg(self.dir.join("etc"))
                .arg("-j")
                .output()
                .unwrap();
            if o.status.success() && o.stdout.iter().all(|b| b.is_ascii_whitespace()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "queue not empty: {}",
                String::from_utf8_lossy(&o.stdout)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(self.dir.join("etc"))
            .arg("stop")
            .output();
    }
}

/// swaks's transcript (stdout + stderr).
fn swaks(server: &str, from: &str, to: &str, data: &Path) -> String {
    let o = Command::new("swaks")
        .args([
            "--server",
            server,
            "--from",
            from,
            "--to",
            to,
            "--timeout",
            "60",
        ])
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A minimal SMTP client, for what swaks can't do: pause in the middle
/// of DATA and send exact bytes.
struct Smtp {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Smtp {
    fn connect(addr: &str) -> Smtp {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut c = Smtp {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        };
        let g = c.reply();
        assert!(g.starts_with("220"), "{g}");
        c
    }
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut l = String::new();
            if self.r.read_line(&mut l).unwrap_or(0) == 0 {
                return all;
            }
            all.push_str(&l);
            if l.len() < 4 || l.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }
    fn cmd(&mut self, c: &str) -> String {
        self.w.write_all(format!("{c}\r\n").as_bytes()).unwrap();
        self.reply()
    }
    fn raw(&mut self, b: &[u8]) {
        self.w.write_all(b).unwrap();
    }
}

/// CRLF line ends, dot-stuffed, as it goes on the wire.
fn wire(eml: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(eml).replace("\r\n", "\n");
    let mut out = String::new();
    for line in s.lines() {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

const MALFORMED: &[u8] = b"From: broken <<<@@example\r
To: someone@example.net\r
Subject: =?utf-8?B?!!!not-base64?= \xff\xfe raw 8-bit\r
Message-ID: <malformed.e2e@example.test>\r
Content-Type: multipart/mixed; boundary=\r
X-Folded: first\r
 \t continued\r
This line has no colon and ends the header section early\r
Content-Transfer-Encoding: base64\r
\r
--\r
@@@ not base64 at all \x00\x01\x02\r
--unterminated-boundary\r
Content-Type: text/html\r
\r
<a href=\"http://[::1\">broken</a><form action=\r
";

#[test]
#[cfg_attr(
    outwork_no_postfix,
    ignore = "needs postfix, swaks and root (OUTWORK_REQUIRE_POSTFIX=1 makes this a failure)"
)]
fn postfix_end_to_end() {
    if !gates::check(&gates::POSTFIX) {
        return;
    }

    let tmp = tempfile::Builder::new()
        .prefix("outwork-postfix-e2e")
        .tempdir()
        .unwrap();
    let dir = tmp.path().to_path_buf();
    // OUTWORK_E2E_KEEP=1 keeps the directory (logs, Maildir, quarantine).
    let _tmp = if std::env::var_os("OUTWORK_E2E_KEEP").is_some() {
        eprintln!("keeping {}", tmp.keep().display());
        None
    } else {
        Some(tmp)
    };
    // Postfix's delivery agent (uid postfix) must traverse into the Maildir.
    Command::new("chmod").arg("755").arg(&dir).status().unwrap();
    let quarantine = dir.join("quarantine");
    let milter_log = dir.join("milter.log");
    let config = dir.join("outwork.toml");
    let write_config = |listen: &str, extra: &str| {
        std::fs::write(
            &config,
            format!(
                "[milter]\nlisten = [\"inet:{listen}\"]\nquarantine_dir = \"{}\"\n\
                 subject_tag = \"[SUSPICIOUS]\"\n\
                 reject_reply = \"550 5.7.1 outwork e2e: rejected as phishing\"\n{extra}",
                quarantine.display()
            ),
        )
        .unwrap();
    };
    write_config("127.0.0.1:0", "");
    let mut milter = MilterProc::start(&config, &milter_log);
    let addr = milter.addr.clone();
    // Later restarts reuse the port Postfix was configured with.
    write_config(&addr, "");
    let pf = Postfix::start(&dir, &addr);
    let ctx = |what: &str| {
        format!(
            "{what}\n--- postfix log:\n{}\n--- milter log:\n{}",
            pf.log(),
            std::fs::read_to_string(&milter_log).unwrap_or_default()
        )
    };

    // 1. Ham: delivered, with our headers.
    let t = swaks(
        &pf.smtp,
        "service@paypal.com",
        "jordan@example.net",
        &repo_file("samples/legit-paypal-receipt.eml"),
    );
    assert!(t.contains("<-  250 2.0.0 Ok: queued"), "{}", ctx(&t));
    let m = pf.delivered("<1741221602.a81c@paypal.com>");
    assert!(m.contains("\nX-Outwork-Action: accept\n"), "{}", ctx(&m));
    assert!(m.contains("\nX-Outwork-Score: 0.00\n"), "{m}");
    eprintln!("ok: ham delivered with X-Outwork-Action: accept");

    // 2. Tag: delivered, subject tagged, symbols listed.
    let t = swaks(
        &pf.smtp,
        "notice@secure-login.example",
        "a@example.net",
        &repo_file("tests/cases/phish_brand_in_subdomain.eml"),
    );
    assert!(t.contains("<-  250 2.0.0 Ok: queued"), "{}", ctx(&t));
    let m = pf.delivered("<ula.7@secure-login.example>");
    assert!(
        m.contains("\nSubject: [SUSPICIOUS] Unusual login attempt\n"),
        "{m}"
    );
    assert!(m.contains("\nX-Outwork-Action: tag\n"), "{m}");
    assert!(m.contains("\nX-Outwork-Symbols: "), "{m}");
    eprintln!("ok: tagged message delivered with [SUSPICIOUS] subject");

    // 3. Quarantine: SMTP says 250 (Postfix discards), the message is in
    //    the quarantine and not in the mailbox. Sent with exact bytes to
    //    check that what the milter rebuilds is what the client sent.
    let phish = std::fs::read(repo_file("tests/cases/phish_password_form.eml")).unwrap();
    let mut c = Smtp::connect(&pf.smtp);
    assert!(c.cmd("EHLO client.example").starts_with("250"));
    assert!(
        c.cmd("MAIL FROM:<owa@mail-security-check.example>")
            .starts_with("250")
    );
    assert!(c.cmd("RCPT TO:<lee.park@example.com>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    c.raw(&wire(&phish));
    let r = c.cmd(".");
    assert!(r.starts_with("250"), "{}", ctx(&r));
    c.cmd("QUIT");
    pf.drain();
    assert!(
        !pf.mailbox()
            .iter()
            .any(|m| m.contains("<se.8@mail-security-check.example>"))
    );
    let q = outwork_server::QuarantineStore::open(&quarantine).unwrap();
    let entries = q.list().unwrap();
    assert_eq!(entries.len(), 1, "{}", ctx("quarantine"));
    let (e, raw) = q.get(&entries[0].id).unwrap();
    assert_eq!(e.action, "quarantine");
    assert_eq!(e.envelope.rcpt_to, vec!["lee.park@example.com".to_string()]);
    assert!(e.envelope.queue_id.is_some(), "queue id from the `i` macro");
    assert_eq!(e.envelope.client_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.envelope.helo.as_deref(), Some("client.example"));
    assert_eq!(
        String::from_utf8_lossy(&raw),
        String::from_utf8_lossy(&wire(&phish)),
        "the quarantined bytes are the message as sent"
    );
    assert!(pf.log().contains("milter-discard"), "{}", pf.log());
    eprintln!(
        "ok: phishing quarantined as {} (byte-exact), not delivered",
        e.id
    );

    // 4. Reject: swaks sees the configured 550.
    let t = swaks(
        &pf.smtp,
        "service@paypal-resolution.example",
        "jordan@example.net",
        &repo_file("samples/phish-typosquat.eml"),
    );
    assert!(
        t.contains("550 5.7.1 outwork e2e: rejected as phishing"),
        "{}",
        ctx(&t)
    );
    pf.drain();
    assert!(
        !pf.mailbox()
            .iter()
            .any(|m| m.contains("<lim.88231@paypal-resolution.example>"))
    );
    eprintln!("ok: phishing rejected with 550 5.7.1");

    // 5. Malformed message: handled per policy (scanned, delivered with
    //    headers), the milter still alive.
    let bad = dir.join("malformed.eml");
    std::fs::write(&bad, MALFORMED).unwrap();
    let t = swaks(&pf.smtp, "x@example.com", "someone@example.net", &bad);
    assert!(t.contains("<-  250 2.0.0 Ok: queued"), "{}", ctx(&t));
    let m = pf.delivered("<malformed.e2e@example.test>");
    assert!(m.contains("\nX-Outwork-Action: "), "{m}");
    eprintln!("ok: malformed message delivered with X-Outwork-Action");

    // 6. A forged verdict header is replaced by ours.
    let forged = dir.join("forged.eml");
    let mut f = b"X-Outwork-Action: accept\nX-Outwork-Score: -100\n".to_vec();
    f.extend(std::fs::read(repo_file("tests/cases/phish_brand_in_subdomain.eml")).unwrap());
    let f = String::from_utf8_lossy(&f).replace("<ula.7@", "<forged.7@");
    std::fs::write(&forged, f).unwrap();
    let t = swaks(&pf.smtp, "x@example.com", "a@example.net", &forged);
    assert!(t.contains("<-  250 2.0.0 Ok: queued"), "{}", ctx(&t));
    let m = pf.delivered("<forged.7@secure-login.example>");
    assert_eq!(m.matches("X-Outwork-Action:").count(), 1, "{m}");
    assert!(m.contains("\nX-Outwork-Action: tag\n"), "{m}");
    assert!(!m.contains("-100"), "{m}");
    eprintln!("ok: forged X-Outwork-* headers removed");

    // 7. outwork killed mid-transaction (envelope sent, DATA under way):
    //    Postfix applies milter_default_action = tempfail; the client
    //    keeps the message (4xx), nothing is queued or delivered.
    let ham2 = String::from_utf8_lossy(
        &std::fs::read(repo_file("samples/legit-paypal-receipt.eml")).unwrap(),
    )
    .replace("<1741221602.a81c@paypal.com>", "<killed.1@paypal.com>")
    .into_bytes();
    let mut c = Smtp::connect(&pf.smtp);
    assert!(c.cmd("EHLO client.example").starts_with("250"));
    assert!(c.cmd("MAIL FROM:<service@paypal.com>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<jordan@example.net>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    let w = wire(&ham2);
    let (first, rest) = w.split_at(w.len() / 2);
    c.raw(first);
    milter.kill();
    c.raw(rest);
    let r = c.cmd(".");
    assert!(r.starts_with("451 4.7.1"), "{}", ctx(&r));
    c.cmd("QUIT");
    // While outwork is down, new sessions are tempfailed too.
    let t = swaks(
        &pf.smtp,
        "service@paypal.com",
        "jordan@example.net",
        &repo_file("samples/legit-paypal-receipt.eml"),
    );
    assert!(t.contains("451 4.7.1"), "{}", ctx(&t));
    pf.drain();
    assert!(
        !pf.mailbox()
            .iter()
            .any(|m| m.contains("<killed.1@paypal.com>"))
    );
    eprintln!("ok: milter killed mid-stream -> 451 4.7.1, nothing queued");

    // ... and once outwork is back, the sender's retry is delivered.
    let mut milter = MilterProc::start(&config, &milter_log);
    assert_eq!(milter.addr, addr);
    let retry = dir.join("retry.eml");
    std::fs::write(&retry, &ham2).unwrap();
    let t = swaks(&pf.smtp, "service@paypal.com", "jordan@example.net", &retry);
    assert!(t.contains("<-  250 2.0.0 Ok: queued"), "{}", ctx(&t));
    let m = pf.delivered("<killed.1@paypal.com>");
    assert!(m.contains("\nX-Outwork-Action: accept\n"), "{m}");
    eprintln!("ok: retry after restart delivered");

    // 8. Quarantine by redirect: recipients replaced (DELRCPT/ADDRCPT).
    milter.kill();
    write_config(
        &addr,
        "quarantine_mode = \"redirect\"\nquarantine_redirect = \"quarantine@example.org\"\n",
    );
    let mut milter = MilterProc::start(&config, &milter_log);
    let t = swaks(
        &pf.smtp,
        "owa@mail-security-check.example",
        "lee.park@example.com",
        &repo_file("tests/cases/phish_password_form.eml"),
    );
    assert!(t.contains("<-  250 2.0.0 Ok: queued"), "{}", ctx(&t));
    let m = pf.delivered("<se.8@mail-security-check.example>");
    assert!(m.contains("Delivered-To: quarantine@example.org\n"), "{m}");
    assert!(!m.contains("Delivered-To: lee.park@example.com"), "{m}");
    assert!(m.contains("\nX-Outwork-Quarantine-Id: "), "{m}");
    assert_eq!(q.list().unwrap().len(), 2);
    eprintln!("ok: quarantine redirect delivered to quarantine@example.org only");

    // 9. Too big to scan, on_oversize = accept (the default): delivered
    //    unscanned, and the delivered message says so (issue 17, item 5).
    milter.kill();
    write_config(
        &addr,
        "max_message_bytes = 1024
",
    );
    let _milter = MilterProc::start(&config, &milter_log);
    let big = String::from_utf8_lossy(
        &std::fs::read(repo_file("samples/legit-paypal-receipt.eml")).unwrap(),
    )
    .replace("<1741221602.a81c@paypal.com>", "<oversize.9@paypal.com>");
    let big_path = dir.join("oversize.eml");
    std::fs::write(&big_path, big).unwrap();
    let t = swaks(
        &pf.smtp,
        "service@paypal.com",
        "jordan@example.net",
        &big_path,
    );
    assert!(t.contains("<-  250 2.0.0 Ok: queued"), "{}", ctx(&t));
    let m = pf.delivered("<oversize.9@paypal.com>");
    assert!(m.contains("\nX-Outwork-Action: unscanned\n"), "{m}");
    assert!(
        m.contains("\nX-Outwork-Symbols: MESSAGE_UNSCANNED_SIZE(0.00)\n"),
        "{m}"
    );
    assert!(m.contains("over max_message_bytes 1024"), "{m}");
    eprintln!("ok: oversize message delivered unscanned with MESSAGE_UNSCANNED_SIZE");

    // The milter's log says what happened to every message.
    let log = std::fs::read_to_string(&milter_log).unwrap();
    for fate in [
        "message delivered (accept)",
        "message delivered (tag)",
        "message quarantined as ",
        ", discarded",
        "message rejected (550 5.7.1 outwork e2e: rejected as phishing)",
        ", redirected",
        "symbols=MESSAGE_UNSCANNED_SIZE",
    ] {
        assert!(log.contains(fate), "{fate:?} not in the milter log:\n{log}");
    }
    eprintln!("ok: the milter log names every message's fate");
    drop(pf);
}
