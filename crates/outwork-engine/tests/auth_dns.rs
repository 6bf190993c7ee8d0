//! Sender authentication against a real DNS server on loopback: NSD (from
//! Debian's `nsd` package) serving SPF, DKIM and DMARC records for test
//! zones; messages DKIM-signed and ARC-sealed here with Ed25519 keys made
//! in the test. Also a silent DNS server (temperror, bounded by the
//! timeouts).
//!
//! Needs `nsd` on PATH. Without it the NSD tests say so and pass, unless
//! OUTWORK_REQUIRE_NSD is set (.ci/run installs nsd and sets it).

use outwork_test_support::gates;

use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::{AuthenticatedMessage, AuthenticationResults, MessageAuthenticator};
use outwork_core::Config;
use outwork_core::Context;
use outwork_engine::{Envelope, Scanner};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Nsd {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn nsd_available() -> bool {
    gates::check(&gates::NSD)
}

fn free_udp_port() -> u16 {
    // NSD binds UDP and TCP; pick a port free for both.
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").expect("udp");
        let port = u.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A DNS query for `name` SOA, by hand: enough to see NSD answer.
fn dns_answers(port: u16, name: &str) -> bool {
    let Ok(s) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 6, 0, 1]);
    if s.send_to(&q, ("127.0.0.1", port)).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(s.recv(&mut buf), Ok(n) if n >= 12 && buf[0] == 0x12 && buf[1] == 0x34)
}

/// Start NSD serving `zones` (name, zone file text).
fn start_nsd(zones: &[(&str, String)]) -> Nsd {
    let dir = std::env::temp_dir().join(format!("outwork-nsd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let port = free_udp_port();
    let d = dir.display();
    let mut conf = format!(
        "server:\n    ip-address: 127.0.0.1@{port}\n    port: {port}\n    username: \"\"\n    chroot: \"\"\n    zonesdir: \"{d}\"\n    database: \"\"\n    zonelistfile: \"{d}/zone.list\"\n    pidfile: \"{d}/nsd.pid\"\n    xfrdfile: \"{d}/xfrd.state\"\n    xfrdir: \"{d}\"\n    logfile: \"{d}/nsd.log\"\n    server-count: 1\n    verbosity: 1\nremote-control:\n    control-enable: no\n"
    );
    for (name, text) in zones {
        let f = dir.join(format!("{name}.zone"));
        std::fs::write(&f, text).expect("zone");
        conf.push_str(&format!(
            "zone:\n    name: \"{name}\"\n    zonefile: \"{}\"\n",
            f.display()
        ));
    }
    std::fs::write(dir.join("nsd.conf"), conf).expect("conf");
    let child = Command::new("nsd")
        .arg("-d")
        .arg("-c")
        .arg(dir.join("nsd.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nsd");
    let t0 = Instant::now();
    while !dns_answers(port, zones[0].0) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "nsd did not start: {}",
            std::fs::read_to_string(dir.join("nsd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Nsd { child, dir, port }
}

fn zone(origin: &str, records: &str) -> String {
    format!(
        "$ORIGIN {origin}.\n$TTL 300\n@ IN SOA ns1.{origin}. hostmaster.{origin}. 1 3600 600 86400 300\n@ IN NS ns1.{origin}.\nns1 IN A 127.0.0.1\n{records}"
    )
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

struct Keys {
    example: Vec<u8>,
    forwarder: Vec<u8>,
}

fn key(pkcs8: &[u8]) -> Ed25519Key {
    Ed25519Key::from_pkcs8_der(pkcs8).expect("key")
}

fn zones(k: &Keys) -> Vec<(&'static str, String)> {
    let ex_pub = b64(&key(&k.example).public_key());
    let fw_pub = b64(&key(&k.forwarder).public_key());
    vec![
        // The TLD zone: DMARC looks up the organisational domain's parents.
        ("test", zone("test", "")),
        (
            "example.test",
            zone(
                "example.test",
                &format!(
                    "@ IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\nsel._domainkey IN TXT \"v=DKIM1; k=ed25519; p={ex_pub}\"\n_dmarc IN TXT \"v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=r\"\n"
                ),
            ),
        ),
        (
            "soft.test",
            zone(
                "soft.test",
                "@ IN TXT \"v=spf1 ip4:192.0.2.0/24 ~all\"\n_dmarc IN TXT \"v=DMARC1; p=quarantine\"\n",
            ),
        ),
        (
            "nopolicy.test",
            zone("nopolicy.test", "_dmarc IN TXT \"v=DMARC1; p=none\"\n"),
        ),
        (
            "broken.test",
            zone(
                "broken.test",
                "@ IN TXT \"v=spf1 include:no-record.broken.test -all\"\n_dmarc IN TXT \"v=DMARC1; p=reject\"\n",
            ),
        ),
        (
            "forwarder.test",
            zone(
                "forwarder.test",
                &format!(
                    "@ IN TXT \"v=spf1 ip4:203.0.113.0/24 -all\"\narc._domainkey IN TXT \"v=DKIM1; k=ed25519; p={fw_pub}\"\n"
                ),
            ),
        ),
    ]
}

fn message(from: &str, body: &str) -> String {
    format!(
        "From: Alice <{from}>\r\nTo: bob@northwind.example\r\nSubject: Quarterly figures\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\nMessage-ID: <m1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

fn dkim_sign(raw: &str, pkcs8: &[u8], domain: &str) -> String {
    let sig = mail_auth::dkim::DkimSigner::from_key(key(pkcs8))
        .domain(domain)
        .selector("sel")
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .sign(raw.as_bytes())
        .expect("sign");
    format!("{}{raw}", sig.to_header())
}

fn scanner(port: u16, extra: &str) -> Scanner {
    let cfg = Config::from_toml(&format!(
        "[auth]\nverify = true\nnameservers = [\"127.0.0.1:{port}\"]\ndns_timeout_ms = 1500\ndns_attempts = 0\nauthserv_id = \"mx.northwind.example\"\n{extra}"
    ))
    .expect("config");
    Scanner::from_config(Context::new(cfg)).expect("scanner")
}

fn env(ip: &str, mail_from: &str) -> Envelope {
    Envelope {
        client_ip: Some(ip.parse().expect("ip")),
        helo: Some("mail.sender.test".into()),
        mail_from: Some(mail_from.into()),
        ..Default::default()
    }
}

fn names(v: &outwork_core::Verdict) -> Vec<&'static str> {
    v.symbols.iter().map(|s| s.name).collect()
}

fn has_all(v: &outwork_core::Verdict, want: &[&str], not: &[&str]) {
    let n = names(v);
    for w in want {
        assert!(n.contains(w), "missing {w}: {n:?}\n{v:#?}");
    }
    for w in not {
        assert!(!n.contains(w), "unexpected {w}: {n:?}");
    }
}

/// ARC-seal `raw` as the forwarder would after verifying the original
/// and then changing the body (a list footer).
fn forward_with_arc(original: &str, footer: &str, k: &Keys, port: u16) -> String {
    let mut ns = mail_auth::hickory_resolver::config::NameServerConfig::udp_and_tcp(
        "127.0.0.1".parse().expect("ip"),
    );
    for c in &mut ns.connections {
        c.port = port;
    }
    let mut opts = mail_auth::hickory_resolver::config::ResolverOpts::default();
    opts.timeout = Duration::from_millis(1500);
    opts.attempts = 0;
    let auth = MessageAuthenticator::new(
        mail_auth::hickory_resolver::config::ResolverConfig::from_name_servers(vec![ns]),
        opts,
    )
    .expect("resolver");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let orig = AuthenticatedMessage::parse(original.as_bytes()).expect("parse");
    let dkim = rt.block_on(auth.verify_dkim(&orig));
    assert!(
        dkim.iter()
            .any(|d| matches!(d.result(), mail_auth::DkimResult::Pass)),
        "the original must verify at the forwarder: {dkim:?}"
    );
    let ar = AuthenticationResults::new("mx.forwarder.test")
        .with_dkim_results(&dkim, "alice@example.test");
    let forwarded = original.replace("\r\n\r\nPlease", &format!("\r\n\r\n{footer}\r\nPlease"));
    let fwd = AuthenticatedMessage::parse(forwarded.as_bytes()).expect("parse");
    let arc = rt.block_on(auth.verify_arc(&fwd));
    let set = mail_auth::arc::ArcSealer::from_key(key(&k.forwarder))
        .domain("forwarder.test")
        .selector("arc")
        .headers(["From", "To", "Subject", "DKIM-Signature"])
        .seal(&fwd, &ar, &arc)
        .expect("seal");
    format!("{}{forwarded}", set.to_header())
}

/// Everything that needs NSD, against one server (it starts in ~0.2 s,
/// but one guard that drops is what stops it).
#[test]
#[cfg_attr(
    outwork_no_nsd,
    ignore = "needs nsd (OUTWORK_REQUIRE_NSD=1 makes this a failure)"
)]
fn spf_dkim_dmarc_arc_against_a_real_dns_server() {
    if !nsd_available() {
        return;
    }
    let k = Keys {
        example: Ed25519Key::generate_pkcs8().expect("keygen"),
        forwarder: Ed25519Key::generate_pkcs8().expect("keygen"),
    };
    let nsd = start_nsd(&zones(&k));
    let sc = scanner(nsd.port, "");

    // 1. Signed, from an allowed IP: everything passes, and outwork's own
    //    Authentication-Results says so.
    let good = dkim_sign(
        &message("alice@example.test", "Please find the figures below."),
        &k.example,
        "example.test",
    );
    let v = sc.scan_env(good.as_bytes(), &env("192.0.2.10", "alice@example.test"));
    has_all(
        &v,
        &[
            "AUTH_RESULTS_TRUSTED",
            "SPF_PASS",
            "DKIM_PASS",
            "DMARC_PASS",
        ],
        &["SPF_FAIL", "DKIM_FAIL", "DMARC_FAIL"],
    );
    let ar = v.authentication_results.clone().expect("A-R");
    assert!(ar.starts_with("mx.northwind.example;"), "{ar}");
    for part in [
        "spf=pass",
        "dkim=pass",
        "dmarc=pass",
        "header.d=example.test",
    ] {
        assert!(ar.contains(part), "{part} not in {ar}");
    }

    // 2. An exact-domain spoof: unsigned, from an IP SPF forbids.
    let spoof = message("alice@example.test", "Please wire the payment today.");
    let v = sc.scan_env(spoof.as_bytes(), &env("198.51.100.7", "alice@example.test"));
    has_all(
        &v,
        &["SPF_FAIL", "DKIM_NONE", "DMARC_FAIL", "DMARC_POLICY_REJECT"],
        &["DMARC_PASS", "SPF_PASS"],
    );

    // 3. Body changed after signing: DKIM fails; SPF still aligns.
    let tampered = good.replace("figures below", "new bank details below");
    let v = sc.scan_env(
        tampered.as_bytes(),
        &env("192.0.2.10", "alice@example.test"),
    );
    has_all(&v, &["DKIM_FAIL", "SPF_PASS", "DMARC_PASS"], &["DKIM_PASS"]);

    // 4. A subdomain without its own record: the parent's sp= applies.
    let sub = message("payroll@hr.example.test", "Please confirm your details.");
    let v = sc.scan_env(
        sub.as_bytes(),
        &env("198.51.100.7", "payroll@hr.example.test"),
    );
    has_all(
        &v,
        &["DMARC_FAIL", "DMARC_POLICY_QUARANTINE"],
        &["DMARC_POLICY_REJECT"],
    );

    // 5. softfail and p=quarantine.
    let soft = message("news@soft.test", "Please read our news.");
    let v = sc.scan_env(soft.as_bytes(), &env("198.51.100.7", "news@soft.test"));
    has_all(
        &v,
        &["SPF_SOFTFAIL", "DMARC_FAIL", "DMARC_POLICY_QUARANTINE"],
        &["SPF_FAIL"],
    );

    // 6. No SPF record, DMARC p=none: none, and a failure without policy.
    let np = message("info@nopolicy.test", "Please see attached.");
    let v = sc.scan_env(np.as_bytes(), &env("198.51.100.7", "info@nopolicy.test"));
    has_all(
        &v,
        &["SPF_NONE", "DMARC_FAIL"],
        &["DMARC_POLICY_REJECT", "DMARC_POLICY_QUARANTINE"],
    );

    // 7. A broken SPF record: permerror (once evaluation reaches it).
    let br = message("it@broken.test", "Please update.");
    let v = sc.scan_env(br.as_bytes(), &env("198.51.100.7", "it@broken.test"));
    has_all(&v, &["SPF_PERMERROR"], &["SPF_PASS", "SPF_FAIL"]);

    // 8. Forwarded through a list that adds a footer (DKIM breaks) and
    //    re-sends from its own IP (SPF fails), sealing an ARC chain.
    let forwarded = forward_with_arc(&good, "-- sent via the team list --", &k, nsd.port);
    let fwd_env = env("203.0.113.5", "alice@example.test");
    let v = sc.scan_env(forwarded.as_bytes(), &fwd_env);
    has_all(
        &v,
        &["ARC_VALID", "SPF_FAIL", "DMARC_FAIL"],
        &["ARC_TRUSTED_FORWARDER", "ARC_INVALID"],
    );
    //    The same with the forwarder trusted: not held against the sender.
    let trusting = scanner(nsd.port, "trusted_arc_sealers = [\"forwarder.test\"]\n");
    let v = trusting.scan_env(forwarded.as_bytes(), &fwd_env);
    has_all(
        &v,
        &["ARC_VALID", "ARC_TRUSTED_FORWARDER"],
        &["SPF_FAIL", "DMARC_FAIL", "DMARC_POLICY_REJECT"],
    );
    assert!(
        v.authentication_results
            .as_deref()
            .is_some_and(|a| a.contains("arc=pass")),
        "{:?}",
        v.authentication_results
    );
    //    An ARC chain altered after sealing is invalid.
    let altered = forwarded.replace("Quarterly figures", "Urgent: new bank details");
    let v = trusting.scan_env(altered.as_bytes(), &fwd_env);
    has_all(
        &v,
        &["ARC_INVALID"],
        &["ARC_TRUSTED_FORWARDER", "ARC_VALID"],
    );

    // 9. No client IP (an exported file): SPF not evaluated, DKIM still is.
    let v = sc.scan_env(good.as_bytes(), &Envelope::default());
    has_all(&v, &["DKIM_PASS", "DMARC_PASS"], &["SPF_PASS", "SPF_FAIL"]);
    drop(nsd);
}

/// A DNS server that never answers: every check is temperror, within the
/// configured bounds, and the scan still completes with its other symbols.
#[test]
fn silent_dns_is_temperror_within_the_deadline() {
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    // Per-query timeout 2 s, but the whole message has 400 ms.
    let sc = scanner(port, "verify_deadline_ms = 400\n");
    let raw = message(
        "alice@example.test",
        "Please log in at http://198.51.100.7/login",
    );
    let t0 = Instant::now();
    let v = sc.scan_env(raw.as_bytes(), &env("192.0.2.10", "alice@example.test"));
    let took = t0.elapsed();
    has_all(
        &v,
        &[
            "SPF_TEMPERROR",
            "DKIM_TEMPERROR",
            "DMARC_TEMPERROR",
            "URL_IP_HOST",
        ],
        &["SPF_FAIL", "DMARC_FAIL"],
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Per-query timeout alone (no tight deadline) also ends in temperror.
    let sc = scanner(port, "");
    let v = sc.scan_env(raw.as_bytes(), &env("192.0.2.10", "alice@example.test"));
    has_all(&v, &["SPF_TEMPERROR"], &["SPF_PASS"]);
    drop(silent);
}

/// The scan with an SMTP envelope, as the milter runs it.
trait ScanEnv {
    fn scan_env(&self, raw: &[u8], envelope: &Envelope) -> outwork_core::Verdict;
}

impl ScanEnv for Scanner {
    fn scan_env(&self, raw: &[u8], envelope: &Envelope) -> outwork_core::Verdict {
        self.scan(raw, envelope, &Default::default()).verdict
    }
}
