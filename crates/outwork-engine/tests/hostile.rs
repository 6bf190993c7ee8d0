//! Hostile inputs, generated in-process: `scan_message` must not panic, must
//! finish in bounded time, and must report the limit or parse symbol that
//! explains what it skipped. Every fired symbol must carry evidence.
//!
//! The time bounds are a generous safety net for debug builds on a shared
//! machine, not a benchmark.

use outwork_core::Limits;
use outwork_core::{Config, Context, Verdict};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(20);

fn ctx_with(limits: Limits) -> Context {
    Context::new(Config {
        limits,
        ..Default::default()
    })
}

/// Scan, check the time bound and the evidence invariant, return the verdict.
fn offline(ctx: Context) -> outwork_engine::Scanner {
    outwork_engine::Scanner::offline(std::sync::Arc::new(ctx))
}

fn scan_within(
    what: &str,
    data: &[u8],
    scanner: &outwork_engine::Scanner,
    bound: Duration,
) -> Verdict {
    let start = Instant::now();
    let v = scanner
        .scan(data, &Default::default(), &Default::default())
        .verdict;
    let took = start.elapsed();
    assert!(took < bound, "{what}: took {took:?} (bound {bound:?})");
    for s in &v.symbols {
        assert!(
            !s.evidence.is_empty() && s.evidence.iter().all(|e| !e.trim().is_empty()),
            "{what}: symbol {} fired without evidence: {:?}",
            s.name,
            s.evidence
        );
    }
    assert!(v.score.is_finite(), "{what}: score {}", v.score);
    v
}

fn scan(what: &str, data: &[u8]) -> Verdict {
    scan_within(what, data, &offline(Context::default()), BOUND)
}

fn has(v: &Verdict, name: &str) -> bool {
    v.symbols.iter().any(|s| s.name == name)
}

fn names(v: &Verdict) -> Vec<&'static str> {
    v.symbols.iter().map(|s| s.name).collect()
}

#[track_caller]
fn assert_fires(what: &str, v: &Verdict, name: &str) {
    assert!(has(v, name), "{what}: expected {name}, got {:?}", names(v));
}

/// xorshift64*: deterministic garbage without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// Garbage biased towards MIME-significant bytes, so the parser gets
    /// further than the header block.
    fn mimeish(&mut self, n: usize) -> Vec<u8> {
        const TOKENS: &[&[u8]] = &[
            b"\r\n",
            b"\n",
            b"--",
            b"--b\r\n",
            b"--b--\r\n",
            b": ",
            b"Content-Type: multipart/mixed; boundary=b\r\n",
            b"Content-Type: message/rfc822\r\n",
            b"Content-Type: text/html; charset=utf-7\r\n",
            b"Content-Transfer-Encoding: base64\r\n",
            b"Content-Transfer-Encoding: quoted-printable\r\n",
            b"=?utf-8?B?",
            b"?=",
            b"=\r\n",
            b"=E2=80",
            b"<a href=\"http://",
            b"\">",
            b"<!--",
            b"https://x.example/?url=https%3A%2F%2F",
            b"\xff\xfe",
        ];
        let mut out = Vec::with_capacity(n + 64);
        while out.len() < n {
            let r = self.next();
            if r.is_multiple_of(3) {
                out.extend_from_slice(TOKENS[(r >> 8) as usize % TOKENS.len()]);
            } else {
                out.push((r >> 16) as u8);
            }
        }
        out
    }
}

#[test]
fn binary_garbage() {
    let ctx = offline(Context::default());
    for seed in [1u64, 0xdead_beef, 0x1234_5678_9abc_def0, 42, 7] {
        for size in [0usize, 1, 2, 17, 255, 4096, 65_536, 1 << 20] {
            let mut rng = XorShift(seed);
            let data = rng.bytes(size);
            scan_within(
                &format!("garbage seed={seed} size={size}"),
                &data,
                &ctx,
                BOUND,
            );
            let data = rng.mimeish(size);
            scan_within(
                &format!("mimeish seed={seed} size={size}"),
                &data,
                &ctx,
                BOUND,
            );
            let mut with_header =
                b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                    .to_vec();
            with_header.extend_from_slice(&data);
            scan_within(
                &format!("headed seed={seed} size={size}"),
                &with_header,
                &ctx,
                BOUND,
            );
        }
    }
}

fn multipart_with_base64() -> Vec<u8> {
    let payload: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
    let b64 = base64(&payload);
    let mut m = String::from(
        "From: Sender <sender@example.org>\r\nTo: you@example.com\r\nSubject: report\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
         --XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         See http://192.0.2.7/login for details.\r\n\
         --XX\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n\
         Content-Disposition: attachment; filename=\"a.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
    );
    for chunk in b64.as_bytes().chunks(76) {
        m.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        m.push_str("\r\n");
    }
    m.push_str("--XX--\r\n");
    m.into_bytes()
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn truncated_mime() {
    let full = multipart_with_base64();
    let v = scan("full multipart", &full);
    assert_fires("full multipart", &v, "URL_IP_HOST");
    let text_end = find(&full, b"details.").expect("marker") + 8;
    let b64_start = find(&full, b"base64\r\n\r\n").expect("marker") + 10;
    // Every cut point in the structural region, then a stride through the
    // base64 (mid-line, mid-quantum).
    let mut cuts: Vec<usize> = (0..b64_start + 200).collect();
    cuts.extend((b64_start..full.len()).step_by(37));
    for cut in cuts {
        let v = scan(&format!("cut at {cut}"), &full[..cut]);
        if cut > text_end + 2 {
            // The first part was complete: its link must still be seen.
            assert_fires(&format!("cut at {cut}"), &v, "URL_IP_HOST");
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn big_message(total: usize) -> Vec<u8> {
    let mut m = b"From: a@b.example\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    let line = b"lorem ipsum dolor sit amet, consectetur adipiscing elit http://192.0.2.1/x\r\n";
    while m.len() < total {
        m.extend_from_slice(line);
    }
    m.truncate(total);
    m
}

#[test]
fn fifty_megabytes_with_low_limit() {
    let data = big_message(50 << 20);
    let ctx = ctx_with(Limits {
        max_message_bytes: 1 << 20,
        ..Default::default()
    });
    let v = scan_within(
        "50 MB, max_message_bytes 1 MiB",
        &data,
        &offline(ctx),
        BOUND,
    );
    assert_fires("50 MB", &v, "MESSAGE_SIZE_LIMIT");
    assert_fires("50 MB", &v, "URL_IP_HOST");
}

#[test]
fn fifty_megabytes_default_limits() {
    let data = big_message(50 << 20);
    // Parsing 25 MB (the default cap) in a debug build: allow more time.
    let v = scan_within(
        "50 MB, default limits",
        &data,
        &offline(Context::default()),
        Duration::from_secs(60),
    );
    assert_fires("50 MB default", &v, "MESSAGE_SIZE_LIMIT");
}

#[test]
fn ten_thousand_parts() {
    let mut m = String::from(
        "From: a@b.example\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=P\r\n\r\n",
    );
    for i in 0..10_000 {
        let _ = write!(m, "--P\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n");
    }
    m.push_str("--P--\r\n");
    let v = scan("10k parts", m.as_bytes());
    assert_fires("10k parts", &v, "MIME_PART_LIMIT");
}

/// Run `f` on a thread with a 2 MiB stack: deep input must not recurse.
fn on_small_stack<F: FnOnce() + Send + 'static>(f: F) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("scan thread panicked");
}

#[test]
fn thousand_deep_multipart() {
    let depth = 1000;
    let mut m = String::from("From: a@b.example\r\nSubject: deep\r\n");
    for i in 0..depth {
        let _ = write!(
            m,
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        );
    }
    m.push_str("Content-Type: text/plain\r\n\r\nhttp://192.0.2.9/deep\r\n");
    for i in (0..depth).rev() {
        let _ = write!(m, "--b{i}--\r\n");
    }
    on_small_stack(move || {
        let v = scan("1000-deep multipart", m.as_bytes());
        assert_fires("1000-deep multipart", &v, "MIME_DEPTH_LIMIT");
    });
}

#[test]
fn thousand_deep_rfc822() {
    let depth = 1000;
    let mut m = String::new();
    for i in 0..depth {
        let _ = write!(
            m,
            "From: a{i}@b.example\r\nSubject: level {i}\r\nContent-Type: message/rfc822\r\n\r\n"
        );
    }
    m.push_str("From: x@y.example\r\nSubject: inner\r\n\r\nhttp://192.0.2.9/inner\r\n");
    on_small_stack(move || {
        let v = scan("1000-deep message/rfc822", m.as_bytes());
        assert_fires("1000-deep message/rfc822", &v, "MIME_DEPTH_LIMIT");
    });
}

#[test]
fn thousand_deep_rfc822_in_multipart() {
    // Alternate multipart and message/rfc822 so both nesting paths mix.
    let depth = 500;
    let mut m = String::new();
    for i in 0..depth {
        let _ = write!(
            m,
            "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=\"m{i}\"\r\n\r\n\
             --m{i}\r\nContent-Type: message/rfc822\r\n\r\n"
        );
    }
    m.push_str("From: x@y.example\r\n\r\nhello\r\n");
    for i in (0..depth).rev() {
        let _ = write!(m, "--m{i}--\r\n");
    }
    on_small_stack(move || {
        let v = scan("mixed deep nesting", m.as_bytes());
        assert_fires("mixed deep nesting", &v, "MIME_DEPTH_LIMIT");
    });
}

#[test]
fn hundred_thousand_urls_in_text() {
    let mut m =
        String::from("From: a@b.example\r\nSubject: urls\r\nContent-Type: text/plain\r\n\r\n");
    for i in 0..100_000 {
        let _ = write!(m, "https://h{i}.example.com/p\r\n");
    }
    let v = scan("100k text URLs", m.as_bytes());
    assert_fires("100k text URLs", &v, "URL_LIMIT");
}

#[test]
fn hundred_thousand_urls_in_html() {
    let mut m = String::from(
        "From: a@b.example\r\nSubject: urls\r\nContent-Type: text/html\r\n\r\n<html><body>",
    );
    for i in 0..100_000 {
        let _ = write!(m, "<a href=\"https://h{i}.example.com/\">x</a>\r\n");
    }
    m.push_str("</body></html>\r\n");
    let v = scan("100k HTML URLs", m.as_bytes());
    assert_fires("100k HTML URLs", &v, "URL_LIMIT");
}

#[test]
fn hundred_thousand_urls_in_html_text() {
    // URLs written as text inside HTML, not linked.
    let mut m =
        String::from("From: a@b.example\r\nSubject: urls\r\nContent-Type: text/html\r\n\r\n<p>");
    for i in 0..100_000 {
        let _ = write!(m, "https://h{i}.example.com/ ");
    }
    let v = scan("100k HTML text URLs", m.as_bytes());
    // Text URLs inside HTML are capped separately; what matters is bounded
    // time and no panic.
    let _ = v;
}

fn with_body(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!("From: a@b.example\r\nSubject: charset\r\n{headers}\r\n").into_bytes();
    m.extend_from_slice(body);
    m
}

#[test]
fn invalid_utf8_and_odd_charsets() {
    let url = b" http://192.0.2.44/x \r\n";
    let bodies: &[(&str, &[u8])] = &[
        (
            "Content-Type: text/plain; charset=utf-8\r\n",
            b"\xff\xfe\xc3\x28\xe2\x82 \xf0\x28\x8c\xbc",
        ),
        (
            "Content-Type: text/plain; charset=utf-7\r\n",
            b"+ZYeB9FH6ckh5Pg- +AAAA +/////- +",
        ),
        (
            "Content-Type: text/plain; charset=bogus\r\n",
            b"\x80\x81\x82 plain",
        ),
        ("Content-Type: text/plain; charset=\"\"\r\n", b"\xc0\xaf"),
        (
            "Content-Type: text/plain; charset=iso-2022-jp\r\n",
            b"\x1b$B%F%9\x1b(B ok \x1b$B\x7f\xff\x1b$ \x1b(",
        ),
        (
            "Content-Type: text/plain; charset=utf-16\r\n",
            b"\xff\xfe\x00\xd8a",
        ),
        (
            "Content-Type: text/plain; charset=utf-16be\r\n",
            b"\xd8\x00",
        ),
        (
            "Content-Type: text/plain; charset=shift_jis\r\n",
            b"\x82\xa0\x81",
        ),
        (
            "Content-Type: text/html; charset=utf-7\r\n",
            b"+ADw-a href=+ACI-http://x.example/+ACI-+AD4-",
        ),
        (
            "Content-Type: text/html; charset=bogus\r\n",
            b"<a href=\"http://\xff\xfe.example/\">\xff</a>",
        ),
        (
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
            b"=FF=FE=C3=28 =E2=82 =\r\n=ZZ =",
        ),
        (
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n",
            b"//79/w==!!!$$$==AAA",
        ),
    ];
    for (headers, body) in bodies {
        // Link before the garbage: a broken sequence may legitimately
        // swallow what follows it (ISO-2022-JP stays in two-byte mode).
        let mut b = url.to_vec();
        b.extend_from_slice(body);
        let m = with_body(headers, &b);
        let v = scan(headers.trim(), &m);
        // Whatever the charset, the plain-text link must still be found.
        if headers.contains("text/plain")
            && !headers.contains("base64")
            && !headers.contains("utf-16")
        {
            assert_fires(headers.trim(), &v, "URL_IP_HOST");
        }
    }
    // Encoded words with broken charsets in headers.
    let m = b"From: =?utf-7?Q?+AGE-?= <a@b.example>\r\nSubject: =?bogus?B?////?= =?iso-2022-jp?B?GyRC?= \xff\xfe\r\n\
              Reply-To: =?utf-8?Q?=FF?= <c@d.example>\r\n\r\nbody\r\n";
    scan("encoded words", m);
}

#[test]
fn header_only_and_empty() {
    scan(
        "header only, no blank line",
        b"From: a@b.example\r\nSubject: hi\r\n",
    );
    scan(
        "header only, blank line",
        b"From: a@b.example\r\nSubject: hi\r\n\r\n",
    );
    scan("header without newline", b"From: a@b.example");
    scan("only newlines", b"\r\n\r\n\r\n");
    let v = scan("empty", b"");
    assert_fires("empty", &v, "PARSE_ERROR");
    scan("mbox postmark only", b"From ");
    scan("mbox postmark line", b"From x@y Mon Jan 1 00:00:00 2024\n");
}

#[test]
fn one_megabyte_header_line() {
    let long = "A".repeat(1 << 20);
    for name in [
        "Subject",
        "From",
        "X-Junk",
        "Content-Type",
        "Authentication-Results",
        "Reply-To",
    ] {
        let m = format!("{name}: {long}\r\nFrom: a@b.example\r\n\r\nbody http://192.0.2.5/\r\n");
        scan(&format!("1 MB {name}"), m.as_bytes());
    }
    // A header line with no colon, and one with a 1 MB name.
    let m = format!("{long}\r\n\r\nbody\r\n");
    scan("1 MB no-colon line", m.as_bytes());
    let m = format!("{long}: x\r\n\r\nbody\r\n");
    scan("1 MB header name", m.as_bytes());
    // A 1 MB folded header.
    let folded = "x\r\n ".repeat(1 << 18);
    let m = format!("Subject: {folded}\r\nFrom: a@b.example\r\n\r\nbody\r\n");
    scan("1 MB folded header", m.as_bytes());
}

#[test]
fn deeply_nested_html_and_unterminated_comment() {
    let n = 100_000;
    let mut html = "<div>".repeat(n);
    html.push_str("<a href=\"http://192.0.2.3/\">go</a>");
    html.push_str(&"</div>".repeat(n));
    let m = with_body("Content-Type: text/html\r\n", html.as_bytes());
    scan("100k nested divs", &m);

    let html = "<div style=\"display:none\">".repeat(n);
    let m = with_body("Content-Type: text/html\r\n", html.as_bytes());
    scan("100k nested hidden divs, unclosed", &m);

    let html = "<a href=\"http://x.example/\">".repeat(n);
    let m = with_body("Content-Type: text/html\r\n", html.as_bytes());
    scan("100k nested anchors", &m);

    let mut html = String::from("<p>hi <a href=\"http://192.0.2.3/\">x</a><!-- never closed ");
    html.push_str(&"<a href=\"http://hidden.example/\">".repeat(1000));
    let m = with_body("Content-Type: text/html\r\n", html.as_bytes());
    scan("unterminated comment", &m);

    for frag in [
        "<!--",
        "<![CDATA[",
        "<script>",
        "<style>",
        "<a href=\"",
        "<a href='http://x",
        "<",
        "</",
        "<!DOCTYPE",
        "<textarea>",
        "<title>",
        "&#x",
        "&#99999999999;",
    ] {
        let m = with_body("Content-Type: text/html\r\n", frag.as_bytes());
        scan(&format!("html fragment {frag}"), &m);
    }
}

#[test]
fn html_memory_limit() {
    // An unterminated 1 MB tag is buffered by the HTML parser: past
    // max_html_memory it stops and says so.
    let ctx = ctx_with(Limits {
        max_html_memory: 64 << 10,
        ..Default::default()
    });
    let html = format!(
        "<p>hi</p><a href=\"http://x.example/{}",
        "a".repeat(1 << 20)
    );
    let m = with_body("Content-Type: text/html\r\n", html.as_bytes());
    let v = scan_within("huge attribute", &m, &offline(ctx), BOUND);
    assert_fires("huge attribute", &v, "PARSE_HTML_LIMIT");
}

/// Issue 17: 5 M tiny header fields peaked at 622 MB (mail-parser keeps
/// every field). Past `max_headers` only the first fields and those that
/// say how to read the message are parsed: HEADER_COUNT_LIMIT fires, and
/// From, Subject and Content-Type written after the flood still count.
#[test]
fn header_flood_is_cut_to_max_headers() {
    let mut m = Vec::new();
    m.extend_from_slice(b"Received: from first.example\r\n");
    for _ in 0..50_000 {
        m.extend_from_slice(b"X:1\r\n");
    }
    m.extend_from_slice(
        b"From: \"PayPal\" <service@paypa1-secure.example>\r\nSubject: flood\r\n\
          MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
          --b\r\nContent-Type: text/plain\r\n\r\nhello https://evil.example/login\r\n--b--\r\n",
    );
    let limits = Limits {
        max_headers: 100,
        ..Default::default()
    };
    let f = outwork_core::parse(&m, &limits);
    let ev = f
        .anomalies
        .iter()
        .find(|(n, _)| *n == "HEADER_COUNT_LIMIT")
        .map(|(_, e)| e.clone());
    assert!(
        ev.as_deref()
            .is_some_and(|e| e.contains("50005 header fields")),
        "{ev:?}"
    );
    assert_eq!(
        f.from.as_ref().map(|m| m.address.as_str()),
        Some("service@paypa1-secure.example")
    );
    assert_eq!(f.subject, "flood");
    assert!(f.urls.iter().any(|u| u.url.raw.contains("evil.example")));
    // The cut keeps the first max_headers fields, then the ones that matter.
    let c = outwork_core::cut_headers(&m, 100).unwrap();
    let text = String::from_utf8_lossy(&c.raw);
    assert!(text.starts_with("Received: from first.example\r\nX:1\r\n"));
    assert_eq!(text.matches("X:1\r\n").count(), 99);
    assert_eq!(c.kept_later, 4);
    assert!(text.ends_with("--b--\r\n"));
    // Under the limit nothing is cut or copied.
    assert!(outwork_core::cut_headers(&m, 60_000).is_none());
    let v = scan_within("header flood", &m, &offline(ctx_with(limits)), BOUND);
    assert_fires("header flood", &v, "HEADER_COUNT_LIMIT");
}

/// Issue 17: 2.6 M tiny parts peaked at 515 MB: mail-parser built every
/// part before `max_parts` applied. Boundary lines past 4 × max_parts are
/// cut before parsing.
#[test]
fn part_flood_is_cut_before_parsing() {
    let mut m =
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n".to_vec();
    for _ in 0..100_000 {
        m.extend_from_slice(b"--b\r\n\r\nx\r\n");
    }
    m.extend_from_slice(b"--b--\r\n");
    let limits = Limits {
        max_parts: 50,
        ..Default::default()
    };
    let f = outwork_core::parse(&m, &limits);
    let ev: Vec<_> = f
        .anomalies
        .iter()
        .filter(|(n, _)| *n == "MIME_PART_LIMIT")
        .collect();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert!(ev[0].1.contains("boundary lines"), "{ev:?}");
    let cut = outwork_core::cut_boundary_lines(&m, 216).unwrap();
    assert_eq!(cut.len(), 68 + 216 * 10);
    // A message with fewer boundary lines is read whole.
    assert!(outwork_core::cut_boundary_lines(&m, 200_000).is_none());
    let v = scan_within("part flood", &m, &offline(ctx_with(limits)), BOUND);
    assert_fires("part flood", &v, "MIME_PART_LIMIT");
}

/// A tag with 150,000 attributes, scanned on a worker thread's 2 MiB stack
/// (as `scan -j` and the servers do): a tokenizer that recursed per
/// attribute crashed the process here.
#[test]
fn attribute_flood_keeps_the_stack() {
    let mut html = String::from("<div ");
    for i in 0..150_000 {
        html.push_str(&format!("a{i}=\"x\" "));
    }
    html.push_str("><a href=\"https://login.example/\">PayPal</a>");
    let m = with_body("Content-Type: text/html\r\n", html.as_bytes());
    let v = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || scan_within("attribute flood", &m, &offline(Context::default()), BOUND))
        .expect("thread")
        .join()
        .expect("no stack overflow");
    assert!(v.score.is_finite());
}
