//! Operator tests on hand-made messages.

use super::*;
use mail_parser::{Message, MessageParser};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;

pub(super) const MULTI: &str = "Received: from mail.evil.example (mail.evil.example [203.0.113.5])\r\n\tby mx.victim.example with ESMTP id 4F2A1; Tue, 2 Jan 2024 10:00:00 +0000\r\n\
Return-Path: <bounce@evil.example>\r\n\
From: \"PayPal Service\" <service@paypal-alerts.example>\r\n\
Reply-To: help@paypal-alerts.example\r\n\
To: alice@victim.example\r\n\
Subject: Your account has been suspended\r\n\
Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n\
Message-ID: <abc123@evil.example>\r\n\
X-Mailer: PhishKit 2.0\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Dear customer,\r\n\
\r\n\
We detected unusual activity on your account. Your account has been suspended. Please verify your identity immediately. Failure to confirm within 24 hours will result in permanent closure. Thank you for your cooperation.\r\n\
\r\n\
Verify now: https://www.paypal.com/signin?country=US&locale=en\r\n\
Help: https://support.paypal.com/help\r\n\
\r\n\
PayPal Security\r\n\
--b1\r\n\
Content-Type: text/html; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<html><head><meta http-equiv=3D\"Content-Type\" content=3D\"text/html; charset=3Diso-8859-1\"><title>PayPal</title></head><body>\r\n\
<p>Dear customer,</p><p>We detected unusual activity on your account. Your account has been suspended. Please verify your identity immediately. Failure to confirm within 24 hours will result in permanent closure. Thank you for your cooperation.</p>\r\n\
<p><a href=3D\"https://www.paypal.com/signin?country=3DUS&amp;locale=3Den\">Verify now</a></p>\r\n\
<p>Help: <a href=3D'https://support.paypal.com/help'>support.paypal.com</a></p>\r\n\
<p>PayPal Security &copy; 2024</p></body></html>\r\n\
--b1--\r\n";

pub(super) const LINK1: &str = "https://www.paypal.com/signin?country=US&locale=en";
pub(super) const LINK2: &str = "https://support.paypal.com/help";

pub(super) const TEXT_ONLY: &str = "From: Billing <billing@account-verify.com>\n\
To: bob@victim.example\n\
Subject: Invoice overdue\n\
Date: Wed, 3 Jan 2024 08:00:00 +0000\n\
Message-ID: <t1@account-verify.com>\n\
\n\
Hello,\n\
\n\
Your invoice is overdue. Review the payment at http://account-verify.com/login?id=42 today.\n\
\n\
Regards\n";

pub(super) const TEXT_LINK: &str = "http://account-verify.com/login?id=42";

pub(super) const WITH_ATTACHMENT: &str = "From: HR <hr@corp-payroll.com>\r\n\
To: carol@victim.example\r\n\
Subject: Salary review\r\n\
Date: Thu, 4 Jan 2024 09:00:00 +0000\r\n\
Message-ID: <att1@corp-payroll.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"mix\"\r\n\
\r\n\
--mix\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
Please review your new salary at https://corp-payroll.com/review and sign.\r\n\
--mix\r\n\
Content-Type: application/pdf; name=\"salary.pdf\"\r\n\
Content-Disposition: attachment; filename=\"salary.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\r\n\
--mix--\r\n";

pub(super) const NO_LINKS: &str = "From: Boss <boss@company.example>\r\n\
To: dave@company.example\r\n\
Subject: Quick favour\r\n\
Date: Fri, 5 Jan 2024 11:00:00 +0000\r\n\
Message-ID: <nl1@company.example>\r\n\
\r\n\
Are you at your desk? I need you to buy gift cards urgently. Reply to this email.\r\n";

fn garbage() -> Vec<u8> {
    (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

pub(super) fn run_seed(raw: &str, ops: &[Op], seed: u64) -> Mutated {
    let rw = BuiltinRewriter { seed: 7 };
    let ctx = MutateCtx::new(&rw, seed);
    mutate(raw.as_bytes(), ops, &ctx).unwrap()
}

pub(super) fn run(raw: &str, ops: &[Op]) -> Mutated {
    run_seed(raw, ops, 42)
}

pub(super) fn parse(bytes: &[u8]) -> Message<'_> {
    MessageParser::default().parse(bytes).unwrap()
}

pub(super) fn html_of(msg: &Message) -> String {
    msg.html_bodies()
        .find(|p| p.is_text_html())
        .and_then(|p| p.text_contents())
        .unwrap_or("")
        .to_string()
}

pub(super) fn text_of(msg: &Message) -> String {
    msg.text_bodies()
        .find(|p| matches!(p.body, PartType::Text(_)))
        .and_then(|p| p.text_contents())
        .unwrap_or("")
        .to_string()
}

pub(super) fn hrefs(html: &str) -> Vec<String> {
    tokenize(html)
        .into_iter()
        .filter(|s| s.kind == SegKind::Tag && s.name == "a" && !s.closing)
        .filter_map(|s| attr_value(&html[s.start..s.end], "href"))
        .collect()
}

pub(super) fn host(url: &str) -> String {
    url_host_range(url).map(|r| url[r].to_string()).unwrap()
}

#[test]
fn op_names_round_trip() {
    assert_eq!(Op::ALL.len(), 19);
    assert!(!Op::ALL.contains(&Op::Identity));
    for &op in std::iter::once(&Op::Identity).chain(Op::ALL) {
        assert_eq!(Op::parse(op.name()), Some(op));
        assert_eq!(
            Op::parse(&op.name().to_uppercase().replace('-', "_")),
            Some(op)
        );
        assert!(!op.describe().is_empty());
    }
    assert_eq!(Op::parse("nope"), None);
    assert_eq!(Op::HtmlObfuscate.to_string(), "html-obfuscate");
}

#[test]
fn identity_keeps_headers_bodies_and_links() {
    let out = run(MULTI, &[Op::Identity]);
    let s = String::from_utf8_lossy(&out.bytes);
    assert!(s.starts_with("Received: from mail.evil.example"), "{s}");
    assert!(s.contains("\tby mx.victim.example with ESMTP id 4F2A1"));
    assert!(s.contains("X-Mailer: PhishKit 2.0\r\n"));
    assert!(s.contains("Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n"));
    assert!(s.contains("Message-ID: <abc123@evil.example>\r\n"));
    assert_eq!(s.matches("MIME-Version").count(), 1);
    assert!(!s.contains("boundary=\"b1\""));
    let msg = parse(&out.bytes);
    assert_eq!(msg.subject(), Some("Your account has been suspended"));
    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(from.name.as_deref(), Some("PayPal Service"));
    assert_eq!(
        from.address.as_deref(),
        Some("service@paypal-alerts.example")
    );
    assert!(msg.received().unwrap().from().is_some());
    let html = html_of(&msg);
    assert_eq!(hrefs(&html), vec![LINK1.to_string(), LINK2.to_string()]);
    assert!(html.contains("charset=utf-8"), "{html}");
    assert!(html.contains("&copy; 2024"), "{html}");
    let text = text_of(&msg);
    assert!(text.contains(LINK1) && text.contains(LINK2), "{text}");
    assert_eq!(out.notes, vec!["identity: rebuilt without changes"]);
}

#[test]
fn identity_keeps_attachments_and_plain_text() {
    let out = run(WITH_ATTACHMENT, &[Op::Identity]);
    let msg = parse(&out.bytes);
    assert_eq!(msg.attachment_count(), 1);
    let att = msg.attachment(0).unwrap();
    assert_eq!(att.attachment_name(), Some("salary.pdf"));
    assert!(att.is_content_type("application", "pdf"));
    assert!(att.contents().starts_with(b"%PDF-1.4"));
    assert!(text_of(&msg).contains("https://corp-payroll.com/review"));

    let out = run(TEXT_ONLY, &[Op::Identity]);
    let s = String::from_utf8_lossy(&out.bytes);
    assert!(s.contains("Subject: Invoice overdue\r\n"), "{s}");
    let msg = parse(&out.bytes);
    assert_eq!(msg.html_body_count(), 1); // mail-parser's view of the text part
    assert!(html_of(&msg).is_empty());
    assert!(text_of(&msg).contains(TEXT_LINK));
}

#[test]
fn identity_keeps_nested_messages_and_inline_parts() {
    let raw = "From: a@fwd.example\r\nSubject: Fwd: invoice\r\nMessage-ID: <n1@fwd.example>\r\n\
Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
--m\r\nContent-Type: text/plain\r\n\r\nSee below https://fwd-docs.example/x\r\n\
--m\r\nContent-Type: image/gif\r\nContent-Disposition: inline; filename=\"dot.gif\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAAAAACw=\r\n\
--m\r\nContent-Type: message/rfc822\r\n\r\n\
From: inner@bank.example\r\nSubject: Inner subject\r\n\r\nInner body\r\n\
--m--\r\n";
    let out = run(raw, &[Op::Identity]);
    let msg = parse(&out.bytes);
    let nested = msg
        .attachments()
        .find_map(|p| p.message())
        .expect("nested message");
    assert_eq!(nested.subject(), Some("Inner subject"));
    assert!(nested.body_text(0).unwrap().contains("Inner body"));
    let gif = msg
        .attachments()
        .find(|p| p.is_content_type("image", "gif"))
        .expect("gif");
    assert!(gif.contents().starts_with(b"GIF89a"));
    assert!(gif.content_disposition().unwrap().is_inline());
    let out2 = run(raw, &[Op::Qr]);
    let msg2 = parse(&out2.bytes);
    assert_eq!(
        msg2.attachments().filter(|p| p.message().is_some()).count(),
        1
    );
}

#[test]
fn boundaries_never_collide_with_the_content() {
    // A message whose text quotes the exact boundary a rebuild would use.
    let inner = String::from_utf8(run(MULTI, &[Op::Identity]).bytes).unwrap();
    let boundary = inner
        .split("boundary=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let raw = format!(
        "From: x@y.example\r\nSubject: quoting\r\nContent-Type: text/html\r\n\r\n<p>--{boundary}</p><p><a href=\"https://q.example/\">q</a></p>\r\n"
    );
    let out = run(&raw, &[Op::Qr]);
    let s = String::from_utf8_lossy(&out.bytes);
    assert!(!s.contains(&format!("boundary=\"{boundary}\"")), "{s}");
    let msg = parse(&out.bytes);
    assert!(html_of(&msg).contains(&format!("--{boundary}")));
    assert_eq!(decode_qr(qr_part(&msg).0), "https://q.example/");
}

#[test]
fn mbox_line_and_bare_lf_are_handled() {
    let raw = format!("From someone@example.com Mon Jan  1 00:00:00 2024\n{TEXT_ONLY}");
    let out = run(&raw, &[Op::Identity]);
    let s = String::from_utf8_lossy(&out.bytes);
    assert!(
        s.starts_with("From: Billing <billing@account-verify.com>\r\n"),
        "{s}"
    );
    assert_eq!(parse(&out.bytes).subject(), Some("Invoice overdue"));
}

#[test]
fn builtin_rewriter_paraphrases_and_keeps_placeholders() {
    let rw = BuiltinRewriter { seed: 1 };
    let input = "Dear customer, your ACCOUNT is suspended. Verify it immediately at [[LINK1]]. Click here: [[LINK2]]. We noticed unusual activity. Thank you.";
    let a = rw.rewrite(input).unwrap();
    assert_eq!(a, rw.rewrite(input).unwrap());
    assert_ne!(a, input);
    assert!(a.contains("[[LINK1]]") && a.contains("[[LINK2]]"), "{a}");
    assert!(
        !a.contains("Dear customer") || !a.contains("immediately"),
        "{a}"
    );
    // Capitalisation follows the original.
    // "ACCOUNT" or its synonym, in capitals either way.
    assert!(
        ["ACCOUNT", "PROFILE", "MEMBERSHIP"]
            .iter()
            .any(|w| a.contains(w)),
        "{a}"
    );
    assert_eq!(match_case("ACCOUNT", "profile"), "PROFILE");
    assert_eq!(match_case("Verify", "confirm"), "Confirm");
    assert_eq!(match_case("verify", "confirm"), "confirm");
    // Sentences in the middle of a long paragraph trade places.
    let s = swap_sentences("One a. Two b. Three c. Four d.", &mut Rng::new(3));
    assert!(s.starts_with("One a. ") && s.ends_with("Four d."), "{s}");
    assert_ne!(s, "One a. Two b. Three c. Four d.");
}

#[test]
fn rewrite_op_changes_text_and_keeps_links() {
    let out = run(MULTI, &[Op::Rewrite]);
    let msg = parse(&out.bytes);
    let html = html_of(&msg);
    let text = text_of(&msg);
    let hs = hrefs(&html);
    assert!(
        hs.contains(&LINK1.to_string()) && hs.contains(&LINK2.to_string()),
        "{html}"
    );
    assert!(html.contains(">Verify now</a>"), "{html}");
    assert!(text.contains(LINK1) && text.contains(LINK2), "{text}");
    assert!(!text.contains("[[LINK"), "{text}");
    let original = "We detected unusual activity on your account. Your account has been suspended.";
    assert!(!text.contains(original), "{text}");
    assert!(
        out.notes
            .iter()
            .any(|n| n.starts_with("rewrite: builtin rewrote")),
        "{:?}",
        out.notes
    );
    assert_eq!(msg.subject(), Some("Your account has been suspended"));
}

struct Fixed(&'static str);
impl Rewriter for Fixed {
    fn name(&self) -> String {
        "fixed".into()
    }
    fn rewrite(&self, text: &str) -> Result<String, RewriteError> {
        if self.0 == "ERR" {
            return Err(RewriteError::Other("boom".into()));
        }
        assert!(text.len() <= MAX_REWRITE_BYTES);
        Ok(self.0.to_string())
    }
}

#[test]
fn rewrite_appends_dropped_links_and_reports_errors() {
    let rw = Fixed("Please act now. Keep [[ link2 ]] in mind.");
    let ctx = MutateCtx::new(&rw, 1);
    let out = mutate(MULTI.as_bytes(), &[Op::Rewrite], &ctx).unwrap();
    let msg = parse(&out.bytes);
    let html = html_of(&msg);
    assert_eq!(hrefs(&html), vec![LINK2.to_string(), LINK1.to_string()]);
    let text = text_of(&msg);
    assert!(
        text.starts_with(
            "Please act now. Keep support.paypal.com <https://support.paypal.com/help>"
        ),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with(&format!("Verify now <{LINK1}>")),
        "{text}"
    );
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("dropped 1 link placeholder")),
        "{:?}",
        out.notes
    );

    let rw = Fixed("ERR");
    let ctx = MutateCtx::new(&rw, 1);
    match mutate(MULTI.as_bytes(), &[Op::Rewrite], &ctx) {
        Err(MutateError::Rewriter(name, e)) => {
            assert_eq!((name.as_str(), e.to_string().as_str()), ("fixed", "boom"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rewrite_text_only_message() {
    let out = run(TEXT_ONLY, &[Op::Rewrite]);
    let msg = parse(&out.bytes);
    assert!(text_of(&msg).contains(TEXT_LINK));
    assert_eq!(hrefs(&html_of(&msg)), vec![TEXT_LINK.to_string()]);
}

#[test]
fn homoglyph_puts_punycode_in_hrefs_and_unicode_in_text() {
    let out = run(MULTI, &[Op::Homoglyph]);
    let msg = parse(&out.bytes);
    let html = html_of(&msg);
    let hs = hrefs(&html);
    assert_eq!(hs.len(), 2);
    for h in &hs {
        let host = host(h);
        let reg = host
            .trim_start_matches("www.")
            .trim_start_matches("support.");
        assert!(reg.starts_with("xn--") && reg.ends_with(".com"), "{h}");
        assert!(h.ends_with("/signin?country=US&locale=en") || h.ends_with("/help"));
    }
    // One look-alike domain for both links.
    assert_eq!(
        host(&hs[0]).trim_start_matches("www."),
        host(&hs[1]).trim_start_matches("support.")
    );
    let unicode = idna::domain_to_unicode(host(&hs[0]).trim_start_matches("www.")).0;
    assert_ne!(unicode, "paypal.com");
    assert!(
        unicode
            .chars()
            .any(|c| ('\u{400}'..='\u{4ff}').contains(&c))
    );
    assert!(html.contains(&format!("support.{unicode}</a>")), "{html}");
    let text = text_of(&msg);
    assert!(
        text.contains(&format!("https://www.{unicode}/signin")),
        "{text}"
    );
    assert!(
        out.notes[0].starts_with("homoglyph: paypal.com -> "),
        "{:?}",
        out.notes
    );
    assert!(out.notes[0].contains("(xn--"), "{:?}", out.notes);
}

#[test]
fn homoglyph_labels() {
    let mut whole = 0;
    for seed in 0..40 {
        let mut rng = Rng::new(seed);
        let l = homoglyph_label("paypal", &mut rng).unwrap();
        assert_eq!(l.chars().count(), 6);
        assert_ne!(l, "paypal");
        if l.chars().all(|c| !c.is_ascii()) {
            whole += 1;
            assert_eq!(l, "\u{440}\u{430}\u{443}\u{440}\u{430}\u{4cf}");
        } else {
            let changed = l.chars().filter(|c| !c.is_ascii()).count();
            assert!((1..=2).contains(&changed), "{l}");
        }
        assert!(
            idna::domain_to_ascii(&format!("{l}.com"))
                .unwrap()
                .starts_with("xn--")
        );
    }
    assert!(whole > 5 && whole < 35, "{whole}");
    // Nothing to swap.
    assert!(homoglyph_label("bmw", &mut Rng::new(1)).is_none());
    assert!(homoglyph_label("xn--80ak6aa92e", &mut Rng::new(1)).is_some());
}

#[test]
fn typosquat_changes_the_label_and_keeps_the_tld() {
    let out = run(MULTI, &[Op::Typosquat]);
    let msg = parse(&out.bytes);
    let hs = hrefs(&html_of(&msg));
    for h in &hs {
        let d = link_domain(h).unwrap();
        assert_eq!(d.suffix, "com");
        assert_ne!(d.label, "paypal");
        assert!(strsim_close(&d.label, "paypal"), "{}", d.label);
    }
    assert!(text_of(&msg).contains(&link_domain(&hs[0]).unwrap().registrable()));
    let mut rng = Rng::new(9);
    for label in ["microsoft", "google", "amazon", "wellsfargo", "ab"] {
        let t = typo_label(label, &mut rng).unwrap();
        assert_ne!(t, label);
        assert!(strsim_close(&t, label), "{label} -> {t}");
    }
}

/// Edit distance at most 2 (one typo, or rn/m, w/vv).
fn strsim_close(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()] <= 2
}

#[test]
fn shortener_moves_every_link_to_the_shortener() {
    let out = run(MULTI, &[Op::Shortener]);
    let msg = parse(&out.bytes);
    let html = html_of(&msg);
    let hs = hrefs(&html);
    assert_eq!(hs.len(), 2);
    assert_ne!(hs[0], hs[1]);
    for h in &hs {
        assert_eq!(host(h), "bit.ly");
        let code = h.trim_start_matches("https://bit.ly/");
        assert_eq!(code.len(), 7);
        assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
    let text = text_of(&msg);
    assert!(!text.contains("paypal.com/"), "{text}");
    assert_eq!(find_text_urls(&text).len(), 2);
    for r in find_text_urls(&text) {
        assert!(text[r].starts_with("https://bit.ly/"));
    }
    let mut rw = BuiltinRewriter { seed: 0 };
    rw.seed = 1;
    let mut ctx = MutateCtx::new(&rw, 42);
    ctx.shortener = "t.co".into();
    let out = mutate(MULTI.as_bytes(), &[Op::Shortener], &ctx).unwrap();
    assert!(
        hrefs(&html_of(&parse(&out.bytes)))
            .iter()
            .all(|h| h.starts_with("https://t.co/"))
    );
}

#[test]
fn redirect_wraps_every_link() {
    let out = run(MULTI, &[Op::Redirect]);
    let msg = parse(&out.bytes);
    let hs = hrefs(&html_of(&msg));
    assert_eq!(
        hs[0],
        "https://www.google.com/url?q=https%3A%2F%2Fwww.paypal.com%2Fsignin%3Fcountry%3DUS%26locale%3Den"
    );
    assert_eq!(
        hs[1],
        "https://www.google.com/url?q=https%3A%2F%2Fsupport.paypal.com%2Fhelp"
    );
    assert!(text_of(&msg).contains("https://www.google.com/url?q=https%3A%2F%2Fwww.paypal.com"));
}

fn decode_qr(png: &[u8]) -> String {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    let (w, h) = img.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            img.get_pixel(x as u32, y as u32).0[0]
        });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

fn qr_part<'a>(msg: &'a Message<'a>) -> (&'a [u8], String) {
    let part = msg
        .attachments()
        .find(|p| p.is_content_type("image", "png"))
        .expect("a PNG part");
    (part.contents(), part.content_id().unwrap().to_string())
}

#[test]
fn qr_moves_the_link_into_a_decodable_image() {
    let out = run(MULTI, &[Op::Qr]);
    let msg = parse(&out.bytes);
    let (png, cid) = qr_part(&msg);
    assert_eq!(decode_qr(png), LINK1);
    let html = html_of(&msg);
    assert!(html.contains(&format!("src=\"cid:{cid}\"")), "{html}");
    assert!(hrefs(&html).is_empty(), "{html}");
    assert!(find_text_urls(&html).is_empty(), "{html}");
    let text = text_of(&msg);
    assert!(!text.contains("http"), "{text}");
    assert!(
        text.contains("Scan the QR code with your phone camera to continue."),
        "{text}"
    );
    assert!(
        out.notes[0].starts_with(&format!("qr: link {LINK1} moved into a ")),
        "{:?}",
        out.notes
    );
    assert!(out.notes[0].contains("PNG QR code"));
    let s = String::from_utf8_lossy(&out.bytes);
    assert!(s.contains("multipart/related"), "{s}");
}

#[test]
fn qr_on_a_text_only_message_creates_html() {
    let out = run(TEXT_ONLY, &[Op::Qr]);
    let msg = parse(&out.bytes);
    let (png, _) = qr_part(&msg);
    assert_eq!(decode_qr(png), TEXT_LINK);
    let html = html_of(&msg);
    assert!(html.contains("<img src=\"cid:"), "{html}");
    assert!(!html.contains("http") && !text_of(&msg).contains("http"));
}

#[test]
fn homoglyph_then_qr_encodes_the_lookalike() {
    let out = run(MULTI, &[Op::Homoglyph, Op::Qr]);
    let msg = parse(&out.bytes);
    let (png, _) = qr_part(&msg);
    let url = decode_qr(png);
    assert!(url.starts_with("https://www.xn--"), "{url}");
    assert!(url.ends_with("/signin?country=US&locale=en"));
    assert!(hrefs(&html_of(&msg)).is_empty());
    assert!(out.notes.iter().any(|n| n.starts_with("homoglyph:")));
    assert!(out.notes.iter().any(|n| n.starts_with("qr:")));
}

#[test]
fn html_obfuscate_breaks_up_text_and_keeps_links() {
    let out = run(MULTI, &[Op::HtmlObfuscate]);
    let msg = parse(&out.bytes);
    let html = html_of(&msg);
    assert_eq!(hrefs(&html), vec![LINK1.to_string(), LINK2.to_string()]);
    assert!(html.chars().any(|c| ZERO_WIDTH.contains(&c)), "{html}");
    assert!(html.contains("&#x"), "{html}");
    assert!(html.contains("<span></span>"), "{html}");
    assert!(html.contains("display:none"), "{html}");
    assert!(!html.contains("unusual activity on your account"), "{html}");
    // The hidden filler is in the body, not the head.
    let body_at = html.find("<body>").unwrap();
    assert!(html.find("display:none").unwrap() > body_at);
    assert_eq!(msg.text_body_count(), 1); // mail-parser maps the HTML part
    assert!(text_of(&msg).is_empty());
    assert!(out.notes[0].contains("zero-width"), "{:?}", out.notes);

    let out = run(TEXT_ONLY, &[Op::HtmlObfuscate]);
    let msg = parse(&out.bytes);
    let html = html_of(&msg);
    assert_eq!(hrefs(&html), vec![TEXT_LINK.to_string()]);
    assert!(html.contains("display:none"));
}

#[test]
fn smuggle_attaches_a_loader_and_drops_the_links() {
    let out = run(MULTI, &[Op::Smuggle]);
    let msg = parse(&out.bytes);
    let att = msg
        .attachments()
        .find(|p| {
            p.attachment_name()
                .is_some_and(|n| n.starts_with("Document_") && n.ends_with(".html"))
        })
        .expect("smuggling attachment");
    let page = att.text_contents().unwrap();
    assert!(
        page.contains("atob(") && page.contains("new Blob("),
        "{page}"
    );
    assert!(page.contains("createObjectURL") && page.contains("msSaveOrOpenBlob"));
    assert!(!page.contains("paypal.com"));
    // The base64 payload is the login page posting to the link.
    let b64: String = page
        .split('"')
        .filter(|s| {
            s.len() > 20
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        })
        .collect();
    let inner = b64_decode(&b64);
    assert!(
        inner.contains("action=\"https://www.paypal.com/signin?country=US&amp;locale=en\""),
        "{inner}"
    );
    let html = html_of(&msg);
    assert!(
        hrefs(&html).is_empty() && find_text_urls(&html).is_empty(),
        "{html}"
    );
    assert!(html.contains("attached document"), "{html}");
    let text = text_of(&msg);
    assert!(
        !text.contains("http") && text.contains("attached document"),
        "{text}"
    );
}

fn b64_decode(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        acc = (acc << 6) | T.iter().position(|&t| t == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn zip_part<'a>(msg: &'a Message<'a>) -> (&'a [u8], String) {
    let p = msg
        .attachments()
        .find(|p| p.attachment_name().is_some_and(|n| n.ends_with(".zip")))
        .expect("zip attachment");
    (p.contents(), p.attachment_name().unwrap().to_string())
}

#[test]
fn zip_attaches_the_page_and_keeps_other_attachments() {
    let out = run(WITH_ATTACHMENT, &[Op::Zip]);
    let msg = parse(&out.bytes);
    assert_eq!(msg.attachment_count(), 2);
    assert!(
        msg.attachments()
            .any(|p| p.attachment_name() == Some("salary.pdf"))
    );
    let (bytes, name) = zip_part(&msg);
    let mut z = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(z.len(), 1);
    let mut f = z.by_index(0).unwrap();
    assert!(!f.encrypted());
    assert_eq!(f.name(), name.replace(".zip", ".html"));
    let mut page = String::new();
    f.read_to_string(&mut page).unwrap();
    assert!(
        page.contains("action=\"https://corp-payroll.com/review\""),
        "{page}"
    );
    let text = text_of(&msg);
    assert!(!text.contains("http") && text.contains(&name), "{text}");
}

#[test]
fn password_zip_is_encrypted_and_the_password_is_in_the_body() {
    let out = run(MULTI, &[Op::PasswordZip]);
    let msg = parse(&out.bytes);
    let (bytes, _) = zip_part(&msg);
    let text = text_of(&msg);
    let pw = text
        .split("Password: ")
        .nth(1)
        .map(|s| {
            s.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .unwrap();
    assert_eq!(pw.len(), 4, "{text}");
    assert!(html_of(&msg).contains(&pw));
    let mut z = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    match z.by_index(0) {
        Err(zip::result::ZipError::UnsupportedArchive(m)) => {
            assert_eq!(m, zip::result::ZipError::PASSWORD_REQUIRED)
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("entry is not encrypted"),
    }
    let mut page = String::new();
    z.by_index_decrypt(0, pw.as_bytes())
        .unwrap()
        .read_to_string(&mut page)
        .unwrap();
    assert!(
        page.contains("https://www.paypal.com/signin?country=US&amp;locale=en"),
        "{page}"
    );
    let wrong = format!("{}", (pw.parse::<u32>().unwrap() + 1) % 10_000);
    let bad = z.by_index_decrypt(0, wrong.as_bytes()).and_then(|mut f| {
        let mut v = Vec::new();
        f.read_to_end(&mut v)?;
        Ok(v)
    });
    assert!(bad.is_err() || bad.unwrap() != page.as_bytes());
    assert!(!text.contains("http"));
}

#[test]
fn display_name_impersonates_the_brand() {
    let out = run(MULTI, &[Op::DisplayName]);
    let msg = parse(&out.bytes);
    let from = msg.from().unwrap().first().unwrap();
    let name = from.name.as_deref().unwrap();
    assert!(name.starts_with("PayPal "), "{name}");
    assert_ne!(name, "PayPal Service");
    assert_eq!(
        from.address.as_deref(),
        Some("service@paypal-alerts.example")
    );
    assert!(
        out.notes[0].starts_with("display-name: From \"PayPal Service\""),
        "{:?}",
        out.notes
    );
    let s = String::from_utf8_lossy(&out.bytes);
    assert_eq!(s.matches("\r\nFrom: ").count(), 1, "{s}");

    let rw = BuiltinRewriter { seed: 0 };
    let names: HashSet<String> = (0..16)
        .map(|seed| {
            let mut ctx = MutateCtx::new(&rw, seed);
            ctx.brand = Some("Microsoft 365".into());
            let out = mutate(MULTI.as_bytes(), &[Op::DisplayName], &ctx).unwrap();
            let msg = parse(&out.bytes);
            msg.from()
                .unwrap()
                .first()
                .unwrap()
                .name
                .as_deref()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("Microsoft 365")),
        "{names:?}"
    );
    assert!(
        names.contains("Microsoft 365 <security@microsoft.com>"),
        "{names:?}"
    );
}

#[test]
fn the_brand_is_the_one_the_message_names() {
    let raw = "From: \"PayPal\" <service@paypal-resolution.example>\r\n\
Subject: Your account has been limited\r\n\
Message-ID: <lim@paypal-resolution.example>\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><p>Dear Customer, confirm your information at \
<a href=\"https://www.paypa1.com/signin\">www.paypal.com</a>.</p><p>PayPal</p></body></html>\r\n";
    let out = run(raw, &[Op::DisplayName, Op::LookalikeSender]);
    let msg = parse(&out.bytes);
    let from = msg.from().unwrap().first().unwrap();
    assert!(
        from.name.as_deref().unwrap().starts_with("PayPal "),
        "{from:?}"
    );
    let domain = from.address.as_deref().unwrap().rsplit_once('@').unwrap().1;
    assert!(
        domain.contains("paypal") || domain.contains("paypa1"),
        "{domain}"
    );

    // A brand from the command line cannot inject header lines.
    let rw = BuiltinRewriter { seed: 0 };
    let mut ctx = MutateCtx::new(&rw, 3);
    ctx.brand = Some("Evil\r\nBcc: victim@example.com".into());
    let out = mutate(
        raw.as_bytes(),
        &[Op::DisplayName, Op::LookalikeSender],
        &ctx,
    )
    .unwrap();
    let s = String::from_utf8_lossy(&out.bytes);
    assert!(!s.contains("\nBcc:"), "{s}");
    assert!(parse(&out.bytes).bcc().is_none());
}

#[test]
fn lookalike_sender_uses_a_new_domain() {
    for seed in 0..8 {
        let out = run_seed(MULTI, &[Op::LookalikeSender], seed);
        let msg = parse(&out.bytes);
        let from = msg.from().unwrap().first().unwrap();
        let addr = from.address.as_deref().unwrap();
        let domain = addr.rsplit_once('@').unwrap().1;
        assert_ne!(domain, "paypal-alerts.example");
        assert_ne!(domain, "paypal.com");
        assert!(
            domain.contains("paypal") || domain.contains("paypa1"),
            "{domain}"
        );
        assert!(domain_parts(domain).is_some());
        assert_eq!(from.name.as_deref(), Some("PayPal Service"));
        let reply = msg.reply_to().unwrap().first().unwrap();
        assert!(
            reply
                .address
                .as_deref()
                .unwrap()
                .ends_with(&format!("@{domain}"))
        );
    }
    let out = run(TEXT_ONLY, &[Op::LookalikeSender]);
    let msg = parse(&out.bytes);
    let addr = msg
        .from()
        .unwrap()
        .first()
        .unwrap()
        .address
        .as_deref()
        .unwrap()
        .to_string();
    assert!(
        !addr.ends_with("@account-verify.com") && addr.contains("account-verify"),
        "{addr}"
    );
    assert!(msg.reply_to().is_none());
}

#[test]
fn messages_without_links_are_left_alone_with_a_note() {
    for &op in &[
        Op::Homoglyph,
        Op::Typosquat,
        Op::Shortener,
        Op::Redirect,
        Op::Qr,
        Op::Smuggle,
        Op::Zip,
        Op::PasswordZip,
    ] {
        let out = run(NO_LINKS, &[op]);
        assert!(
            out.notes.iter().any(|n| n.contains("no link")),
            "{op}: {:?}",
            out.notes
        );
        assert_eq!(out.bytes, run(NO_LINKS, &[Op::Identity]).bytes, "{op}");
    }
    // The text operators still work.
    let out = run(NO_LINKS, &[Op::Rewrite, Op::DisplayName]);
    assert!(!text_of(&parse(&out.bytes)).contains("buy gift cards urgently"));
}

#[test]
fn garbage_never_panics() {
    let inputs: Vec<Vec<u8>> = vec![
        garbage(),
        Vec::new(),
        b"\0\0\0\xff\xfe".to_vec(),
        b"From nobody\n".to_vec(),
        b"Subject: only a header".to_vec(),
        b"From: <>\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<a href=\"http://[::1]/\">x</a><a href='https://'>y</a><a href=https://a.b.c.d.example.co.uk/q?x=<>z</a><<<a <a href=\"".to_vec(),
        format!("Subject: t\r\n\r\n{}", "<a href=http://x.com>".repeat(200)).into_bytes(),
        format!("Subject: t\r\nContent-Type: text/html\r\n\r\n{}", "http://ex.com/".repeat(300)).into_bytes(),
    ];
    let rw = BuiltinRewriter { seed: 3 };
    let ctx = MutateCtx::new(&rw, 5);
    for raw in &inputs {
        for &op in std::iter::once(&Op::Identity).chain(Op::ALL) {
            match mutate(raw, &[op], &ctx) {
                Ok(m) => {
                    assert!(MessageParser::default().parse(&m.bytes).is_some(), "{op}");
                }
                Err(MutateError::Unparseable) => {}
                Err(e) => panic!("{op}: {e}"),
            }
        }
        let _ = mutate(raw, Op::ALL, &ctx);
    }
    assert!(matches!(
        mutate(&garbage(), &[Op::Identity], &ctx),
        Err(MutateError::Unparseable)
    ));
    assert!(matches!(
        mutate(b"", &[Op::Identity], &ctx),
        Err(MutateError::Unparseable)
    ));
}

const FORM: &str = "From: IT <it@helpdesk-mail.example>\r\n\
Subject: Session expired\r\n\
Message-ID: <f1@helpdesk-mail.example>\r\n\
Content-Type: text/html\r\n\
\r\n\
<html><body><p>Your session has expired. Sign in again.</p>\r\n\
<form action=\"https://collect.evil.example/owa/auth.php\" method=\"post\">\r\n\
<p>Email: <input type=\"email\" name=\"login\"></p><p>Password: <input type=\"password\" name=\"passwd\"></p>\r\n\
<p><input type=\"submit\" value=\"Log on\"></p></form><p>IT desk</p></body></html>\r\n";

#[test]
fn a_credential_form_counts_as_a_link() {
    let form_action = |html: &str| {
        tokenize(html)
            .into_iter()
            .find(|s| s.kind == SegKind::Tag && s.name == "form" && !s.closing)
            .and_then(|s| attr_value(&html[s.start..s.end], "action"))
    };
    let out = run(FORM, &[Op::Shortener]);
    let html = html_of(&parse(&out.bytes));
    assert!(
        form_action(&html).unwrap().starts_with("https://bit.ly/"),
        "{html}"
    );
    let out = run(FORM, &[Op::Homoglyph]);
    let html = html_of(&parse(&out.bytes));
    assert!(
        form_action(&html)
            .unwrap()
            .starts_with("https://collect.xn--"),
        "{html}"
    );

    let out = run(FORM, &[Op::Qr]);
    let msg = parse(&out.bytes);
    let html = html_of(&msg);
    assert!(
        form_action(&html).is_none() && !html.contains("<input"),
        "{html}"
    );
    assert!(html.contains("IT desk"), "{html}");
    assert_eq!(
        decode_qr(qr_part(&msg).0),
        "https://collect.evil.example/owa/auth.php"
    );

    let out = run(FORM, &[Op::Rewrite]);
    let msg = parse(&out.bytes);
    let html = html_of(&msg);
    assert!(html.contains(">Log on</a>"), "{html}");
    assert!(text_of(&msg).contains("Log on <https://collect.evil.example/owa/auth.php>"));
    assert!(!text_of(&msg).contains("Password:"));
}

#[test]
fn large_and_hostile_input_stays_bounded() {
    let mut html = String::from("<html><body>");
    for i in 0..3000 {
        let _ = write!(
            html,
            "<p>Verify account {i} <a href=\"https://host{i}.example.com/p?i={i}\">click here</a> https://bare{i}.example.org/x</p>"
        );
    }
    html.push_str("https://paren.example/");
    html.push_str(&")".repeat(200_000));
    html.push_str(&"<b>".repeat(20_000));
    html.push_str("</body></html>");
    let raw = format!("From: a@b.example\r\nSubject: big\r\nContent-Type: text/html\r\n\r\n{html}");
    let t = Instant::now();
    for &op in Op::ALL {
        let out = run(&raw, &[op]);
        let msg = parse(&out.bytes);
        if matches!(op, Op::Homoglyph | Op::Shortener | Op::Redirect) {
            let hs = hrefs(&html_of(&msg));
            let changed = hs.iter().filter(|h| !h.contains("host")).count()
                + hs.iter().filter(|h| h.contains("xn--")).count();
            assert!(changed <= MAX_LINKS, "{op}: {changed}");
            assert!(
                out.notes.iter().any(|n| n.contains("left unchanged")),
                "{op}"
            );
        }
    }
    assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
    let urls = find_text_urls("see https://x.example/a)))))) now");
    assert_eq!(urls, vec![4..23]);
}

#[test]
fn every_op_gives_a_parseable_message_on_every_fixture() {
    for raw in [MULTI, TEXT_ONLY, WITH_ATTACHMENT, NO_LINKS] {
        for &op in Op::ALL {
            let out = run(raw, &[op]);
            let msg = parse(&out.bytes);
            assert!(msg.subject().is_some(), "{op}");
            assert!(msg.from().is_some(), "{op}");
            assert!(msg.message_id().is_some(), "{op}");
            assert!(!out.notes.is_empty(), "{op}");
        }
        let all = run(raw, Op::ALL);
        assert!(parse(&all.bytes).subject().is_some());
    }
}

#[test]
fn same_seed_same_bytes() {
    for raw in [MULTI, TEXT_ONLY, WITH_ATTACHMENT] {
        for &op in std::iter::once(&Op::Identity).chain(Op::ALL) {
            let a = run_seed(raw, &[op], 99);
            let b = run_seed(raw, &[op], 99);
            assert_eq!(a.bytes, b.bytes, "{op}");
            assert_eq!(a.notes, b.notes, "{op}");
        }
    }
    let a = run_seed(MULTI, &[Op::Shortener], 1);
    let b = run_seed(MULTI, &[Op::Shortener], 2);
    assert_ne!(
        hrefs(&html_of(&parse(&a.bytes))),
        hrefs(&html_of(&parse(&b.bytes)))
    );
}

#[test]
fn link_scanning_handles_quotes_entities_and_punctuation() {
    let html = "<A HREF = \"https://a.example/x?y=1&amp;z=2\">a</A><a title='x>y' href='http://b.example/'>b</a><a href=https://c.example/p>c</a><a href=\"mailto:x@y\">m</a><!-- <a href=\"http://hidden.example\"> --><script>var s='<a href=\"http://js.example\">';</script>";
    let hs = hrefs(html);
    assert_eq!(
        hs,
        vec![
            "https://a.example/x?y=1&z=2",
            "http://b.example/",
            "https://c.example/p",
            "mailto:x@y"
        ]
    );
    let t = "See (https://x.example/a_(b)) and https://y.example/q?a=1. Or <http://z.example/>, HTTPS://W.EXAMPLE!";
    let urls: Vec<&str> = find_text_urls(t).into_iter().map(|r| &t[r]).collect();
    assert_eq!(
        urls,
        vec![
            "https://x.example/a_(b)",
            "https://y.example/q?a=1",
            "http://z.example/",
            "HTTPS://W.EXAMPLE"
        ]
    );
    assert_eq!(
        decode_entities("a&amp;b&#x41;&#66;&bogus;&"),
        "a&bAB&bogus;&"
    );
    let d = domain_parts("Www.Example.co.uk").unwrap();
    assert_eq!(
        (d.prefix.as_str(), d.label.as_str(), d.suffix.as_str()),
        ("www.", "example", "co.uk")
    );
    assert!(domain_parts("192.168.0.1").is_none());
    assert_eq!(host("https://user:pw@Host.example:8443/x"), "Host.example");
}

#[test]
fn checksums_and_encodings() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(percent_encode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
    assert_eq!(
        clean_chat_answer("<think>hmm</think>\n```text\nHello\n```"),
        "Hello"
    );
}

#[test]
fn command_rewriter_runs_times_out_and_fails() {
    let rw = CommandRewriter {
        argv: vec!["tr".into(), "a-z".into(), "A-Z".into()],
        timeout: Duration::from_secs(10),
    };
    assert_eq!(
        rw.rewrite("pay now [[LINK1]]").unwrap(),
        "PAY NOW [[LINK1]]"
    );
    assert_eq!(rw.name(), "command:tr");
    let ctx = MutateCtx::new(&rw, 1);
    let out = mutate(MULTI.as_bytes(), &[Op::Rewrite], &ctx).unwrap();
    let msg = parse(&out.bytes);
    assert!(text_of(&msg).contains("WE DETECTED UNUSUAL ACTIVITY"));
    assert_eq!(
        hrefs(&html_of(&msg)),
        vec![LINK1.to_string(), LINK2.to_string()]
    );

    let slow = CommandRewriter {
        argv: vec!["sleep".into(), "5".into()],
        timeout: Duration::from_millis(300),
    };
    let t = Instant::now();
    let e = slow.rewrite("x").unwrap_err();
    assert!(
        t.elapsed() < Duration::from_millis(600),
        "{:?}",
        t.elapsed()
    );
    assert!(matches!(e, RewriteError::Timeout { .. }), "{e:?}");
    assert_eq!(e.to_string(), "sleep: timed out after 300ms");

    let missing = CommandRewriter {
        argv: vec!["/nonexistent/rewriter-cmd".into()],
        timeout: Duration::from_secs(1),
    };
    let e = missing.rewrite("x").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot start /nonexistent/rewriter-cmd: "),
        "{e}"
    );
    assert!(
        std::error::Error::source(&e).is_some(),
        "the io error is chained"
    );
    let failing = CommandRewriter {
        argv: vec!["sh".into(), "-c".into(), "echo bad >&2; exit 3".into()],
        timeout: Duration::from_secs(5),
    };
    let e = failing.rewrite("x").unwrap_err().to_string();
    assert!(e.starts_with("sh: exit status: 3: bad"), "{e}");
    let empty = CommandRewriter {
        argv: vec!["true".into()],
        timeout: Duration::from_secs(5),
    };
    assert_eq!(
        empty.rewrite("x").unwrap_err().to_string(),
        "true: empty output"
    );
    let none = CommandRewriter {
        argv: vec![],
        timeout: Duration::from_secs(5),
    };
    assert!(matches!(none.rewrite("x"), Err(RewriteError::EmptyCommand)));
}

/// A one-shot HTTP server: answers `status` and `body`, hands back the
/// request it got.
fn serve_once(status: u16, body: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut len = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            head.push_str(&line);
        }
        let mut body_in = vec![0u8; len];
        reader.read_exact(&mut body_in).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        stream.flush().unwrap();
        tx.send(format!("{head}\r\n{}", String::from_utf8_lossy(&body_in)))
            .unwrap();
    });
    (format!("http://{addr}"), rx)
}

#[test]
fn chat_rewriter_speaks_openai() {
    let (endpoint, rx) = serve_once(
        200,
        r#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, see [[LINK1]]."}}]}"#,
    );
    let mut rw = ChatRewriter::new(format!("{endpoint}/v1/"), "tiny-model");
    rw.api_key = Some("sk-test".into());
    rw.timeout = Duration::from_secs(10);
    assert_eq!(
        rw.rewrite("Dear customer, see [[LINK1]]").unwrap(),
        "Hello there, see [[LINK1]]."
    );
    let req = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        req.starts_with("POST /v1/chat/completions HTTP/1.1"),
        "{req}"
    );
    assert!(
        req.to_ascii_lowercase()
            .contains("authorization: bearer sk-test"),
        "{req}"
    );
    let body: serde_json::Value =
        serde_json::from_str(req.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["model"], "tiny-model");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], ChatRewriter::DEFAULT_PROMPT);
    assert_eq!(
        body["messages"][1]["content"],
        "Dear customer, see [[LINK1]]"
    );
    assert_eq!(body["temperature"], 0.7);
    assert_eq!(rw.name(), "chat:tiny-model");
    assert_eq!(
        ChatRewriter::new("http://h:1", "m").url(),
        "http://h:1/v1/chat/completions"
    );
    assert_eq!(
        ChatRewriter::new("http://h:1/v1/chat/completions", "m").url(),
        "http://h:1/v1/chat/completions"
    );
}

#[test]
fn chat_rewriter_reports_errors() {
    let (endpoint, _rx) = serve_once(500, r#"{"error":"model not loaded"}"#);
    let mut rw = ChatRewriter::new(endpoint, "m");
    rw.timeout = Duration::from_secs(10);
    let e = rw.rewrite("x").unwrap_err().to_string();
    assert!(
        e.contains("HTTP 500") && e.contains("model not loaded"),
        "{e}"
    );

    let (endpoint, _rx) = serve_once(200, r#"{"choices":[]}"#);
    let mut rw = ChatRewriter::new(endpoint, "m");
    rw.timeout = Duration::from_secs(10);
    assert!(
        rw.rewrite("x")
            .unwrap_err()
            .to_string()
            .contains("choices[0]")
    );

    // Nothing listening.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut rw = ChatRewriter::new(format!("http://127.0.0.1:{port}"), "m");
    rw.timeout = Duration::from_secs(5);
    assert!(rw.rewrite("x").is_err());

    let (endpoint, _rx) = serve_once(200, r#"{"choices":[{"message":{"content":"ok"}}]}"#);
    let rw = ChatRewriter::new(endpoint, "m");
    let ctx = MutateCtx::new(&rw, 1);
    let out = mutate(MULTI.as_bytes(), &[Op::Rewrite], &ctx).unwrap();
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("dropped 2 link placeholder"))
    );
}

// ---- benign twin ----

const PAYPAL_PHISH: &str = "Received: from smtp.kx-mailer.example (smtp.kx-mailer.example [198.51.100.23])\r\n\tby mx.victim.example with ESMTP id 9QZ; Mon, 3 Mar 2025 08:12:44 +0000\r\n\
Authentication-Results: mx.victim.example; spf=fail smtp.mailfrom=kx-mailer.example;\r\n dkim=none; dmarc=fail header.from=kx-mailer.example\r\n\
ARC-Seal: i=1; a=rsa-sha256; d=relay.example; s=arc; t=1740989564; cv=none; b=AAAA\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=kx-mailer.example; s=k1; h=from:subject; bh=xyz=; b=abc=\r\n\
Received-SPF: fail (mx.victim.example: domain of kx-mailer.example does not designate 198.51.100.23)\r\n\
Return-Path: <bounce-7731@kx-mailer.example>\r\n\
From: \"PayPal\" <service.notice@kx-mailer.example>\r\n\
Reply-To: \"PayPal Support\" <resolve@kx-mailer.example>\r\n\
To: alice@victim.example\r\n\
Subject: Action required: your account access is limited\r\n\
Date: Mon, 3 Mar 2025 08:12:40 +0000\r\n\
Message-ID: <20250303081240.77A1@kx-mailer.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=\"alt\"\r\n\
\r\n\
--alt\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello,\r\n\
\r\n\
We noticed an unusual sign-in to your PayPal account and have limited access until you confirm your details.\r\n\
\r\n\
Confirm your details: https://paypa1-secure.example/account/verify?id=88213\r\n\
Privacy: http://www.paypa1-secure.example:8080/privacy\r\n\
\r\n\
Sincerely,\r\n\
PayPal\r\n\
--alt\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><p>Hello,</p><p>We noticed an unusual sign-in to your PayPal account and have limited access until you confirm your details.</p>\
<p><a href=\"https://paypa1-secure.example/account/verify?id=88213\">Confirm your details</a></p>\
<p><a href=\"http://www.paypa1-secure.example:8080/privacy\">Privacy</a> | <a href=\"https://www.paypal.com/us/webapps/mpp/ua/legalhub-full\">Legal</a></p>\
<script>document.location='https://paypa1-secure.example/x'</script>\
<p>Sincerely,<br>PayPal</p></body></html>\r\n\
--alt--\r\n\
--outer\r\n\
Content-Type: application/pdf; name=\"Account_Review.pdf\"\r\n\
Content-Disposition: attachment; filename=\"Account_Review.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\r\n\
--outer--\r\n";

const NO_BRAND: &str = "From: \"Jenny\" <jenny.h1982@mailbox-x.example>\r\n\
To: bob@victim.example\r\n\
Subject: hi dear\r\n\
Date: Tue, 4 Mar 2025 10:00:00 +0000\r\n\
Message-ID: <q1@mailbox-x.example>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hi dear, I saw your profile and I want to know you better. Write to me here: https://date-me-now.example/p/4412\r\n";

fn header_names(raw: &[u8]) -> Vec<String> {
    let msg = parse(raw);
    msg.parts[0]
        .headers
        .iter()
        .map(|h| h.name.as_str().to_ascii_lowercase())
        .collect()
}

#[test]
fn benign_twin_of_a_paypal_phish_is_paypal_mail() {
    let twin = benign_twin(PAYPAL_PHISH.as_bytes()).expect("a twin");
    let msg = parse(&twin);
    let from = msg.from().and_then(|a| a.first()).unwrap();
    assert_eq!(from.address.as_deref(), Some("service.notice@paypal.com"));
    assert_eq!(from.name.as_deref(), Some("PayPal"));
    let reply = msg.reply_to().and_then(|a| a.first()).unwrap();
    assert_eq!(reply.address.as_deref(), Some("resolve@paypal.com"));
    assert_eq!(
        msg.return_address(),
        Some("bounce@paypal.com"),
        "Return-Path on the brand"
    );
    // One Authentication-Results, topmost, passing for paypal.com; no
    // other authentication header of the original.
    let names = header_names(&twin);
    assert_eq!(
        names.first().map(String::as_str),
        Some("authentication-results")
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| n.contains("authentication-results"))
            .count(),
        1
    );
    for gone in ["arc-seal", "dkim-signature", "received-spf"] {
        assert!(!names.iter().any(|n| n == gone), "{gone} left: {names:?}");
    }
    let text = String::from_utf8_lossy(&twin);
    assert!(
        text.contains(
            "Authentication-Results: mx.twin.example; spf=pass smtp.mailfrom=paypal.com;"
        )
    );
    assert!(text.contains("dkim=pass header.d=paypal.com; dmarc=pass header.from=paypal.com"));
    // Links: same paths on paypal.com; the real PayPal link unchanged.
    let html = html_of(&msg);
    assert!(
        html.contains("href=\"https://paypal.com/account/verify?id=88213\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://paypal.com/privacy\""),
        "{html}"
    );
    assert!(html.contains("https://www.paypal.com/us/webapps/mpp/ua/legalhub-full"));
    assert!(!text.contains("paypa1"), "{text}");
    assert!(!html.contains("<script"), "{html}");
    let plain = msg.body_text(0).unwrap();
    assert!(plain.contains("Confirm your details: https://paypal.com/account/verify?id=88213"));
    // No attachment.
    assert_eq!(msg.attachment_count(), 0);
    assert!(!text.contains("Account_Review.pdf"));
    // The same visible text (the HTML's anchors show no URL).
    let before = Model::parse(PAYPAL_PHISH.as_bytes()).unwrap();
    let after = Model::parse(&twin).unwrap();
    assert_eq!(before.subject, after.subject);
    let strip = |m: &Model| {
        let mut m = m.clone();
        m.text = None;
        collapse_ws(&visible_text(&m))
    };
    assert_eq!(strip(&before), strip(&after));
    assert!(!strip(&after).is_empty());
    // Deterministic.
    assert_eq!(benign_twin(PAYPAL_PHISH.as_bytes()), Some(twin));
}

#[test]
fn benign_twin_does_not_apply_without_a_brand() {
    assert_eq!(benign_twin(NO_BRAND.as_bytes()), None);
    assert_eq!(benign_twin(b"not a message at all"), None);
    let rw = BuiltinRewriter { seed: 1 };
    let ctx = MutateCtx::new(&rw, 1);
    assert!(matches!(
        mutate(NO_BRAND.as_bytes(), &[Op::BenignTwin], &ctx),
        Err(MutateError::NotApplicable(_))
    ));
}

#[test]
fn benign_twin_is_parseable_but_not_an_attack() {
    assert_eq!(Op::parse("benign-twin"), Some(Op::BenignTwin));
    assert_eq!(Op::parse("BENIGN_TWIN"), Some(Op::BenignTwin));
    assert!(!Op::ALL.contains(&Op::BenignTwin));
    assert!(Op::BENIGN.contains(&Op::BenignTwin));
    assert!(Op::BenignTwin.describe().contains("brand"));
}

#[test]
fn benign_twin_makes_up_no_brand_from_a_person_name() {
    let raw = "From: \"Philip Fredrick\" <pf@mail-x.example>\r\n\
To: bob@victim.example\r\n\
Subject: Philip Fredrick needs your help\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
I am Barrister Philip Fredrick. Reply to Philip with your details.\r\n";
    assert_eq!(benign_twin(raw.as_bytes()), None);
    assert!(person_like("Mr.Wood Forest"));
    assert!(!person_like("Breville Smart Waffle Pro Department"));
    assert!(!person_like("Lido DAO"));
}

#[test]
fn benign_twin_brand_named_in_the_text() {
    // No brand in the display name; the text names DHL twice.
    let raw = "From: \"Parcel Desk\" <desk@q7-track.example>\r\n\
To: bob@victim.example\r\n\
Subject: Delivery attempt failed\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>DHL could not deliver your parcel. Pay the fee to DHL Express: <a href=\"http://198.51.100.7/pay\">pay now</a></p>\r\n";
    let twin = benign_twin(raw.as_bytes()).expect("a twin");
    let msg = parse(&twin);
    let from = msg.from().and_then(|a| a.first()).unwrap();
    assert_eq!(from.address.as_deref(), Some("desk@dhl.com"));
    assert!(html_of(&msg).contains("href=\"https://dhl.com/pay\""));
}
