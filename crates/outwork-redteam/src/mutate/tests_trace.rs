//! Tests of the trace-removing operators: on hand-made messages, on the
//! real honeypot message in `tests/fixtures`, and on corpus messages when
//! `../shared/corpus` is there. Each checks that the variant parses, the
//! lure survives, the operator did what it says, and nothing else changed.

use super::tests::*;
use super::*;
use mail_parser::Message;

/// A real phishing message (phishing_pot): MetaMask, HTML only, a link on
/// an IP address.
const HONEYPOT: &str = include_str!("../../tests/fixtures/honeypot_phish.eml");

/// A branded lure with its logo as an inline image.
const LOGO: &str = "From: \"PayPal\" <service@paypal-alerts.example>\r\n\
To: erin@victim.example\r\n\
Subject: PayPal: action required on your account\r\n\
Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n\
Message-ID: <logo1@paypal-alerts.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/related; boundary=\"r1\"\r\n\
\r\n\
--r1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><head><title>PayPal</title></head><body><img src=\"cid:logo1@x\" alt=\"PayPal\"><img src=\"https://cdn.paypalobjects.com/img/pp_logo.png\">\r\n\
<p>Your PayPal account is on hold. Confirm your details to restore access.</p>\r\n\
<p><a href=\"https://paypal-alerts.example/restore\">Restore access</a></p><img src=\"cid:chart@x\" alt=\"chart\"></body></html>\r\n\
--r1\r\n\
Content-Type: image/png; name=\"logo.png\"\r\n\
Content-Disposition: inline; filename=\"logo.png\"\r\n\
Content-ID: <logo1@x>\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
iVBORw0KGgo=\r\n\
--r1\r\n\
Content-Type: image/png; name=\"chart.png\"\r\n\
Content-Disposition: inline; filename=\"chart.png\"\r\n\
Content-ID: <chart@x>\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
iVBORw0KGgo=\r\n\
--r1--\r\n";

/// Top-level header fields as (lower-case name, unfolded value), less the
/// MIME ones the builder writes.
fn headers(msg: &Message) -> Vec<(String, String)> {
    msg.headers()
        .iter()
        .map(|h| {
            let raw = msg
                .raw_message()
                .get(h.offset_start() as usize..h.offset_end() as usize)
                .unwrap_or_default();
            (
                h.name().to_ascii_lowercase(),
                String::from_utf8_lossy(raw)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })
        .filter(|(n, _)| n != "mime-version" && !n.starts_with("content-"))
        .collect()
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    h.iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Every http(s) link of a message, as the operators see them.
fn links_of(bytes: &[u8]) -> Vec<String> {
    collect_links(&Model::parse(bytes).unwrap())
}

fn visible_of(bytes: &[u8]) -> String {
    lure_text(&Model::parse(bytes).unwrap())
}

/// Attachments (not inline) as (name, bytes).
fn attachments(msg: &Message) -> Vec<(String, Vec<u8>)> {
    msg.attachments()
        .filter(|p| p.content_id().is_none())
        .map(|p| {
            (
                p.attachment_name().unwrap_or("").to_string(),
                p.contents().to_vec(),
            )
        })
        .collect()
}

#[test]
fn reputable_host_moves_every_link_to_a_platform_page() {
    for seed in 0..24 {
        let id = run_seed(MULTI, &[Op::Identity], seed);
        let out = run_seed(MULTI, &[Op::ReputableHost], seed);
        let (idm, msg) = (parse(&id.bytes), parse(&out.bytes));
        let links = links_of(&out.bytes);
        assert!(!links.is_empty());
        for l in &links {
            let h = host(l).to_ascii_lowercase();
            assert!(!h.contains("paypal"), "{seed}: {l}");
            assert!(l.starts_with("https://"), "{l}");
        }
        // Both links are on paypal.com: one page for both.
        let pages: HashSet<&String> = links.iter().collect();
        assert_eq!(pages.len(), 1, "{links:?}");
        assert!(!text_of(&msg).contains("paypal.com/"), "{}", text_of(&msg));
        // The lure and the sender are untouched.
        assert!(text_of(&msg).contains("We detected unusual activity"));
        assert_eq!(headers(&idm), headers(&msg));
        assert!(out.notes.iter().any(|n| n.contains("moved to pages on")));
    }
    // Every platform makes a well-formed URL on a domain of its own.
    let mut rng = Rng::new(1);
    for p in 0..PLATFORMS.len() {
        let u = hosted_url(p, &mut rng);
        let h = host(&u);
        assert!(domain_parts(&h).is_some(), "{u}");
        assert!(
            !h.chars().any(|c| c.is_ascii_uppercase()),
            "hosts are lower case: {u}"
        );
    }
    // Attachments stay.
    let out = run(WITH_ATTACHMENT, &[Op::ReputableHost]);
    assert_eq!(
        attachments(&parse(&out.bytes)),
        attachments(&parse(WITH_ATTACHMENT.as_bytes()))
    );
}

#[test]
fn fresh_domain_makes_clean_new_names_and_keeps_paths() {
    let abused: HashSet<&str> = outwork_core::ABUSED_TLDS.iter().copied().collect();
    for seed in 0..40 {
        let id = run_seed(MULTI, &[Op::Identity], seed);
        let out = run_seed(MULTI, &[Op::FreshDomain], seed);
        let links = links_of(&out.bytes);
        assert_eq!(links.len(), 2, "{links:?}");
        let (a, b) = (host(&links[0]), host(&links[1]));
        // Same registrable domain before, same new domain after.
        let reg = |h: &str| domain_parts(h).unwrap().registrable();
        assert_eq!(reg(&a), reg(&b));
        assert_eq!(reg(&a), attacker_domain(seed));
        let new = reg(&a);
        let (label, tld) = new.split_once('.').unwrap();
        assert!(!new.chars().any(|c| c.is_ascii_digit()), "{new}");
        assert!(!abused.contains(tld) && COMMON_TLDS.contains(&tld), "{new}");
        assert!(!names_a_brand(label), "{new}");
        assert!(
            links[0].ends_with("/signin?country=US&locale=en"),
            "{links:?}"
        );
        assert!(links[1].ends_with("/help"), "{links:?}");
        let (idm, msg) = (parse(&id.bytes), parse(&out.bytes));
        assert_eq!(headers(&idm), headers(&msg));
        assert!(text_of(&msg).contains("Your account has been suspended"));
        // The visible "support.paypal.com" anchor follows its link.
        assert!(!html_of(&msg).contains("support.paypal.com"));
    }
    // The real message: its link on an IP address has no domain to move.
    let out = run(HONEYPOT, &[Op::FreshDomain]);
    assert_eq!(links_of(&out.bytes), links_of(HONEYPOT.as_bytes()));
    assert!(
        out.notes.iter().any(|n| n.contains("unchanged")),
        "{:?}",
        out.notes
    );
}

#[test]
fn fresh_names_never_name_a_brand() {
    let mut rng = Rng::new(9);
    for _ in 0..500 {
        let d = fresh_domain_name(&mut rng, &[]);
        assert!(!names_a_brand(&d), "{d}");
        assert!(
            d.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'-')
        );
    }
}

#[test]
fn esp_send_mails_from_the_attackers_domain_with_trusted_passing_auth() {
    let id = run(MULTI, &[Op::Identity]);
    let out = run(MULTI, &[Op::EspSend]);
    let (idm, msg) = (parse(&id.bytes), parse(&out.bytes));
    let domain = attacker_domain(42);
    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(from.name.as_deref(), Some("PayPal Service"));
    assert_eq!(
        from.address.as_deref(),
        Some(format!("service@{domain}").as_str())
    );
    let h = headers(&msg);
    // A trusted, passing verdict on top, for the attacker's domain.
    let (first, value) = &h[0];
    assert_eq!(first, "authentication-results");
    assert!(value.contains(TWIN_AUTHSERV_ID), "{value}");
    for want in [
        "spf=pass",
        &format!("dkim=pass header.d={domain}"),
        &format!("dmarc=pass header.from={domain}"),
    ] {
        assert!(value.contains(want), "{want}: {value}");
    }
    // The provider's one hop replaces the kit's relay; the bounce is on
    // the attacker's domain (SPF aligns).
    let received = header(&h, "received");
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(
        !received[0].contains("evil.example") && received[0].contains("for <alice@victim.example>")
    );
    let rp = header(&h, "return-path");
    assert_eq!(rp.len(), 1);
    assert!(rp[0].contains(&format!(".{domain}>")), "{rp:?}");
    assert_eq!(header(&h, "list-unsubscribe").len(), 1);
    // Nothing else: links, bodies, Reply-To, Subject, the other headers.
    assert_eq!(links_of(&out.bytes), links_of(&id.bytes));
    assert_eq!(text_of(&msg), text_of(&idm));
    assert_eq!(html_of(&msg), html_of(&idm));
    let others = |h: &[(String, String)]| -> Vec<(String, String)> {
        h.iter()
            .filter(|(n, _)| {
                !matches!(
                    n.as_str(),
                    "from"
                        | "received"
                        | "return-path"
                        | "authentication-results"
                        | "list-unsubscribe"
                )
            })
            .cloned()
            .collect()
    };
    assert_eq!(others(&h), others(&headers(&idm)));

    // The real message: Microsoft's failing verdict is gone.
    let out = run(HONEYPOT, &[Op::EspSend]);
    let h = headers(&parse(&out.bytes));
    let ar = header(&h, "authentication-results");
    assert_eq!(ar.len(), 1, "{ar:?}");
    assert!(!ar[0].contains("fail"), "{ar:?}");
    // With fresh-domain the links and the sender share the one domain.
    let out = run(MULTI, &[Op::FreshDomain, Op::EspSend]);
    let links = links_of(&out.bytes);
    assert!(
        links.iter().all(|l| host(l).ends_with(&domain)),
        "{links:?}"
    );
}

#[test]
fn esp_send_is_believed_by_outwork_behind_a_trusted_edge() {
    // As eval/honeypot.toml configures it: the topmost verdict is the edge's.
    let mut cfg = outwork_core::Config::default();
    cfg.auth.trust_topmost = 1;
    let scanner = outwork_engine::Scanner::from_config(outwork_core::Context::new(cfg)).unwrap();
    let syms = |raw: &[u8]| -> Vec<String> {
        scanner
            .scan(raw, &Default::default(), &Default::default())
            .verdict
            .symbols
            .iter()
            .map(|s| s.name.to_string())
            .collect()
    };
    let before = syms(HONEYPOT.as_bytes());
    let after = syms(&run(HONEYPOT, &[Op::EspSend]).bytes);
    assert!(before.iter().any(|s| s == "DMARC_FAIL"), "{before:?}");
    assert!(before.iter().any(|s| s == "SPF_FAIL"), "{before:?}");
    assert!(after.iter().any(|s| s == "DMARC_PASS"), "{after:?}");
    assert!(
        !after.iter().any(|s| s == "DMARC_FAIL" || s == "SPF_FAIL"),
        "{after:?}"
    );
}

#[test]
fn thread_hijack_replies_in_an_earlier_conversation() {
    let id = run(MULTI, &[Op::Identity]);
    let out = run(MULTI, &[Op::ThreadHijack]);
    let (idm, msg) = (parse(&id.bytes), parse(&out.bytes));
    assert_eq!(msg.subject(), Some("Re: Your account has been suspended"));
    let h = headers(&msg);
    let (irt, refs) = (header(&h, "in-reply-to"), header(&h, "references"));
    assert_eq!(irt.len(), 1);
    assert_eq!(irt, refs);
    // The parent was written at the recipient's organisation.
    assert!(irt[0].contains("@victim.example>"), "{irt:?}");
    // The lure first, the quoted colleague under it, in both bodies.
    let text = text_of(&msg);
    let (lure, quote) = (
        text.find("We detected unusual activity").unwrap(),
        text.find("\nOn ").unwrap() + 1,
    );
    assert!(lure < quote, "{text}");
    assert!(
        text[quote..].lines().next().unwrap().ends_with("wrote:"),
        "{text}"
    );
    assert!(text[quote..].contains("@victim.example>"));
    assert!(text[quote..].lines().skip(1).any(|l| l.starts_with("> ")));
    let html = html_of(&msg);
    assert!(html.find("Verify now").unwrap() < html.find("<blockquote").unwrap());
    // Nothing else: links, sender, the other headers.
    assert_eq!(links_of(&out.bytes), links_of(&id.bytes));
    assert_eq!(msg.from(), idm.from());
    let others = |h: &[(String, String)]| -> Vec<(String, String)> {
        h.iter()
            .filter(|(n, _)| !matches!(n.as_str(), "subject" | "in-reply-to" | "references"))
            .cloned()
            .collect()
    };
    assert_eq!(others(&h), others(&headers(&idm)));
    // Already a reply: no second "Re:"; a non-ASCII subject is encoded.
    let re = MULTI.replace("Subject: Your account", "Subject: RE: Your account");
    assert_eq!(
        parse(&run(&re, &[Op::ThreadHijack]).bytes).subject(),
        Some("RE: Your account has been suspended")
    );
    let utf = MULTI.replace(
        "Subject: Your account has been suspended",
        "Subject: =?utf-8?q?Konto_gesperrt_=E2=80=93_jetzt?=",
    );
    let out = run(&utf, &[Op::ThreadHijack]);
    assert_eq!(
        parse(&out.bytes).subject(),
        Some("Re: Konto gesperrt – jetzt")
    );
    // The real message.
    let out = run(HONEYPOT, &[Op::ThreadHijack]);
    let msg = parse(&out.bytes);
    assert_eq!(
        msg.subject(),
        Some("Re: phishing@pot: your wallet will be suspended")
    );
    assert!(html_of(&msg).contains("Verify my wallet"));
}

#[test]
fn image_lure_puts_the_lure_in_a_linked_picture() {
    for raw in [MULTI, HONEYPOT, TEXT_ONLY] {
        let before = visible_of(raw.as_bytes());
        let first = links_of(raw.as_bytes()).first().cloned().unwrap();
        let out = run(raw, &[Op::ImageLure]);
        let msg = parse(&out.bytes);
        let html = html_of(&msg);
        // No text to read: no text part, and the HTML holds only the image.
        assert!(
            msg.text_bodies()
                .all(|p| !matches!(p.body, PartType::Text(_)))
        );
        // (The linked image has no alt text: its URL is all there is.)
        assert_eq!(
            visible_of(&out.bytes).replace(&first, "").trim(),
            "",
            "{html}"
        );
        assert_eq!(hrefs(&html), vec![first.clone()]);
        // The picture is the lure: the same pixels as the original text.
        let img = msg
            .parts
            .iter()
            .find(|p| p.content_type().is_some_and(|c| c.ctype() == "image"))
            .unwrap();
        let cid = img.content_id().unwrap();
        assert!(html.contains(&format!("src=\"cid:{cid}\"")), "{html}");
        let decoded = image::load_from_memory(img.contents()).unwrap().to_luma8();
        assert_eq!(decoded, render(&wrap(&before)));
        assert!(decoded.width() > 200 && decoded.height() > 60);
        // Same sender and subject.
        assert_eq!(msg.subject(), parse(raw.as_bytes()).subject());
    }
    // A visible word is drawn as its glyphs: "V" of "Verify" is not blank.
    let img = render(&["V".to_string()]);
    assert!(img.pixels().any(|p| p.0[0] < 128));
    assert!(render(&[" ".to_string()]).pixels().all(|p| p.0[0] == 255));
    // Long text is bounded.
    let long = format!("{}\n", "word ".repeat(50_000));
    assert!(wrap(&long).len() <= MAX_LINES_FOR_TESTS);
}

const MAX_LINES_FOR_TESTS: usize = 40;

#[test]
fn debrand_removes_brand_names_and_logos_only() {
    // Brands named in the words (URLs are the link operators' business).
    let brands_in = |s: &str| {
        let words = replace_urls(s, |_| Some(String::new()));
        catalogue_context().brand_matcher.counts(&words, 1 << 20)
    };
    let id = run(MULTI, &[Op::Identity]);
    let out = run(MULTI, &[Op::Debrand]);
    let (idm, msg) = (parse(&id.bytes), parse(&out.bytes));
    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(from.name.as_deref(), Some("Service"));
    assert_eq!(from.address, idm.from().unwrap().first().unwrap().address);
    let text = text_of(&msg);
    assert!(brands_in(&text).is_empty(), "{text}");
    assert!(brands_in(&visible_of(&out.bytes)).is_empty());
    assert!(
        text.contains("We detected unusual activity on your account."),
        "{text}"
    );
    assert!(text.contains("\nSecurity"), "{text}");
    // Links stay as they were (domains are fresh-domain's job).
    assert_eq!(links_of(&out.bytes), links_of(&id.bytes));

    let out = run(LOGO, &[Op::Debrand]);
    let msg = parse(&out.bytes);
    assert_eq!(msg.subject(), Some("action required on your account"));
    assert_eq!(
        msg.from().unwrap().first().unwrap().name.as_deref(),
        Some("Account Services")
    );
    let html = html_of(&msg);
    assert!(
        !html.contains("cid:logo1@x") && !html.contains("pp_logo"),
        "{html}"
    );
    assert!(html.contains("cid:chart@x"), "{html}");
    assert!(html.contains("Your account is on hold."), "{html}");
    let inline: Vec<&str> = msg.parts.iter().filter_map(|p| p.content_id()).collect();
    assert_eq!(inline, vec!["chart@x"]);
    assert!(
        out.notes.iter().any(|n| n.contains("2 logo image(s)")),
        "{:?}",
        out.notes
    );

    // The real message names MetaMask three times.
    let out = run(HONEYPOT, &[Op::Debrand]);
    let v = visible_of(&out.bytes);
    assert!(!v.to_lowercase().contains("metamask"), "{v}");
    assert!(v.contains("verify your wallet within 24 hours"), "{v}");
    // Nothing named: unchanged.
    assert_eq!(
        run(NO_LINKS, &[Op::Debrand]).bytes,
        run(NO_LINKS, &[Op::Identity]).bytes
    );
}

#[test]
fn plain_text_drops_the_html_and_bares_the_links() {
    let id = run(MULTI, &[Op::Identity]);
    let out = run(MULTI, &[Op::PlainText]);
    let (idm, msg) = (parse(&id.bytes), parse(&out.bytes));
    assert!(msg.html_bodies().all(|p| !p.is_text_html()));
    assert!(!String::from_utf8_lossy(&out.bytes).contains("text/html"));
    let text = text_of(&msg);
    assert!(text.contains(LINK1) && text.contains(LINK2), "{text}");
    assert!(!text.contains('<'), "{text}");
    assert!(text.contains("We detected unusual activity"));
    assert_eq!(headers(&idm), headers(&msg));

    let out = run(LOGO, &[Op::PlainText]);
    let msg = parse(&out.bytes);
    assert_eq!(msg.parts.len(), 1, "one text/plain part");
    assert!(text_of(&msg).contains("Restore access https://paypal-alerts.example/restore"));

    let out = run(WITH_ATTACHMENT, &[Op::PlainText]);
    assert_eq!(out.bytes, run(WITH_ATTACHMENT, &[Op::Identity]).bytes);
    let out = run(HONEYPOT, &[Op::PlainText]);
    let t = text_of(&parse(&out.bytes));
    assert!(
        t.contains("Verify my wallet http://198.51.100.23/metamask/verify?u=phishing@pot"),
        "{t}"
    );
}

/// The corpus checks need `../shared/corpus` (skipped without it).
fn corpus_sample(n: usize) -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let Ok(all) = crate::load_corpus(&root) else {
        return Vec::new();
    };
    let phish: Vec<_> = all.into_iter().filter(|s| s.label == "phish").collect();
    let step = (phish.len() / n.max(1)).max(1);
    phish
        .iter()
        .step_by(step)
        .take(n)
        .filter_map(|s| std::fs::read(&s.path).ok())
        .collect()
}

#[test]
fn trace_removing_operators_on_corpus_messages() {
    let sample = corpus_sample(150);
    if sample.is_empty() {
        eprintln!("../shared/corpus not found: corpus checks skipped");
        return;
    }
    let rw = BuiltinRewriter { seed: 1 };
    let mut checked = 0;
    // Messages whose visible text still names a brand after debrand (a
    // name split across tags is not removed): counted, not allowed to grow.
    let mut debrand_left = 0;
    for (i, raw) in sample.iter().enumerate() {
        let ctx = MutateCtx::new(&rw, i as u64);
        let Ok(id) = mutate(raw, &[Op::Identity], &ctx) else {
            continue;
        };
        let idm = parse(&id.bytes);
        let lure = visible_of(&id.bytes);
        let named: Vec<String> = {
            let mut c = Vec::new();
            catalogue_context().brand_matcher.find(
                &lure,
                outwork_core::Place::FirstLines,
                65536,
                &mut c,
            );
            c.iter()
                .filter_map(|c| catalogue_context().brands.get(c.brand))
                .map(|b| b.name.clone())
                .chain(c.iter().map(|c| c.found.clone()))
                .collect()
        };
        let words: Vec<&str> = lure
            .split_whitespace()
            .filter(|w| w.len() >= 6 && w.chars().all(char::is_alphabetic))
            // Not two words glued by the markup ("RewardsYour").
            .filter(|w| w.chars().skip(1).all(|c| !c.is_uppercase()))
            .filter(|w| catalogue_context().brand_matcher.counts(w, 64).is_empty())
            // Nor part of a brand's name ("Wallet" of "Trust Wallet").
            .filter(|w| {
                !named
                    .iter()
                    .any(|n| n.to_lowercase().contains(&w.to_lowercase()))
            })
            .take(5)
            .collect();
        for &op in Op::TRACE_REMOVING {
            let out = mutate(raw, &[op], &ctx).unwrap_or_else(|e| panic!("{i} {op}: {e}"));
            let msg = MessageParser::default()
                .parse(&out.bytes)
                .unwrap_or_else(|| panic!("{i} {op}: unparseable"));
            assert!(msg.from().is_some() == idm.from().is_some(), "{i} {op}");
            // The lure survives: its words in the text, or its pixels.
            if op == Op::ImageLure && !lure.trim().is_empty() {
                assert!(
                    msg.parts
                        .iter()
                        .any(|p| p.content_type().is_some_and(|c| c.ctype() == "image")),
                    "{i} {op}"
                );
            } else if op == Op::PlainText && !text_of(&idm).trim().is_empty() {
                // The sender's own text alternative is the message now.
                assert_eq!(text_of(&msg), text_of(&idm), "{i} {op}");
            } else {
                let after = visible_of(&out.bytes);
                for w in &words {
                    assert!(after.contains(w), "{i} {op}: {w:?} lost; {:?}", out.notes);
                }
            }
            // Nothing else: operators on headers and words leave the
            // links; operators on links and bodies leave the headers.
            if matches!(op, Op::EspSend | Op::ThreadHijack | Op::Debrand) {
                assert_eq!(links_of(&out.bytes), links_of(&id.bytes), "{i} {op}");
            }
            if matches!(
                op,
                Op::ReputableHost | Op::FreshDomain | Op::PlainText | Op::ImageLure
            ) {
                assert_eq!(headers(&msg), headers(&idm), "{i} {op}");
            }
            // What the operator says it does.
            let before_links = links_of(&id.bytes);
            let after_links = links_of(&out.bytes);
            let h = headers(&msg);
            match op {
                Op::ReputableHost => {
                    let moved: HashSet<String> = before_links
                        .iter()
                        .take(MAX_LINKS)
                        .filter(|l| url_host_range(l).is_some())
                        .cloned()
                        .collect();
                    assert!(
                        after_links.iter().all(|l| !moved.contains(l)),
                        "{i} {op}: {after_links:?}"
                    );
                }
                Op::FreshDomain => {
                    for l in &after_links {
                        if let Some(d) = link_domain(l) {
                            let reg = d.registrable();
                            let had = before_links
                                .iter()
                                .take(MAX_LINKS)
                                .any(|b| link_domain(b).is_some_and(|x| x.registrable() == reg));
                            assert!(
                                had || !reg.chars().any(|c| c.is_ascii_digit()),
                                "{i} {op}: {l}"
                            );
                        }
                    }
                }
                Op::EspSend => {
                    let from = msg
                        .from()
                        .and_then(|f| f.first())
                        .and_then(|a| a.address.clone());
                    if idm.from().is_some() {
                        assert!(
                            from.is_some_and(
                                |f| f.ends_with(&format!("@{}", attacker_domain(i as u64)))
                            ),
                            "{i} {op}"
                        );
                    }
                    assert_eq!(
                        h.first().map(|x| x.0.as_str()),
                        Some("authentication-results")
                    );
                    assert_eq!(header(&h, "authentication-results").len(), 1, "{i} {op}");
                }
                Op::ThreadHijack => {
                    assert!(
                        msg.subject()
                            .is_some_and(|s| s.to_ascii_lowercase().starts_with("re:")),
                        "{i} {op}: {:?}",
                        msg.subject()
                    );
                    assert_eq!(header(&h, "in-reply-to").len(), 1, "{i} {op}");
                }
                Op::ImageLure if !lure.trim().is_empty() => {
                    assert!(
                        msg.text_bodies()
                            .all(|p| !matches!(p.body, PartType::Text(_)))
                    );
                    assert!(after_links.len() <= 1, "{i} {op}: {after_links:?}");
                }
                Op::Debrand => {
                    let m = &catalogue_context().brand_matcher;
                    let subject = without_addresses(msg.subject().unwrap_or(""));
                    assert!(m.counts(&subject, 4096).is_empty(), "{i} {op}: {subject:?}");
                    let words = without_addresses(&visible_of(&out.bytes));
                    let left = m.counts(&words, 64 * 1024);
                    if !left.is_empty() {
                        let mut c = Vec::new();
                        m.find(&words, outwork_core::Place::FirstLines, 65536, &mut c);
                        eprintln!(
                            "{i} debrand left {:?}",
                            c.into_iter().map(|c| c.found).collect::<Vec<_>>()
                        );
                        debrand_left += 1;
                    }
                }
                Op::PlainText => {
                    assert!(msg.html_bodies().all(|p| !p.is_text_html()), "{i} {op}");
                    for l in &after_links {
                        assert!(before_links.contains(l), "{i} {op}: {l} new");
                    }
                    // Made from the HTML: its anchors are there, bare (a link
                    // without visible text, in an image map, is not).
                    if text_of(&idm).trim().is_empty()
                        && let Some(first) = before_links.first()
                    {
                        assert!(after_links.contains(first), "{i} {op}: {first} lost");
                    }
                }
                _ => {}
            }
        }
        checked += 1;
    }
    assert!(checked >= sample.len() / 2, "{checked} of {}", sample.len());
    assert!(
        debrand_left * 20 <= checked,
        "debrand left a brand in {debrand_left} of {checked}"
    );
}
