//! The allocation-free canonicaliser and the filtered lookup must give
//! byte-identical answers to the string-per-step implementation they
//! replaced (`canon::reference`, kept as the oracle): same canonical URL,
//! same expressions in the same order, same hits.

use outwork_intel::{CanonBuf, Canonical, canon_reference as reference, canonical_host};
use outwork_intel::{Entry, Parsed, Value};
use outwork_intel::{Index, Kind};
use outwork_test_support::gates;

fn fixture_urls() -> Vec<String> {
    include_str!("fixtures/urls.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            l.replace("\\t", "\t")
                .replace("\\r", "\r")
                .replace("\\n", "\n")
                .replace("\\0", "\0")
        })
        .collect()
}

/// Spellings an attacker varies, applied to each fixture URL.
fn variants(u: &str) -> Vec<String> {
    let mut v = vec![
        u.to_string(),
        u.to_ascii_uppercase(),
        format!("{u}#frag/../x"),
        format!("{u}/../..//./x"),
        format!("{u}?"),
        format!(" \t{u}\r\n"),
        u.replace("://", "://user:pw@"),
        u.replace("://", ":// "),
        u.replacen('/', "%2F", 3),
        u.replace('.', "%2e"),
        u.replace('.', ".."),
        u.replace('/', "//"),
        u.replace('a', "%2561"),
        u.replace("http", "hTTp"),
        format!("{u}{}", "/a".repeat(3000)),
        format!("{u}?{}", "%25".repeat(1000)),
    ];
    if let Some(rest) = u.split_once("://").map(|(_, r)| r) {
        v.push(rest.to_string());
        v.push(format!("//{rest}"));
        if let Some((host, path)) = rest.split_once('/') {
            v.push(format!("http://{host}:8080/{path}"));
            v.push(format!("http://{host}.:80/{path}"));
            v.push(format!("http://[{host}]/{path}"));
        }
    }
    v
}

/// Everything the new code says about `u`, against the oracle.
fn assert_same(u: &str, buf: &mut CanonBuf) {
    let old = reference::Canonical::parse(u);
    let new = Canonical::parse(u);
    match (&old, &new) {
        (None, None) => {}
        (Some(o), Some(n)) => {
            assert_eq!(
                (&o.scheme, &o.host, o.port, &o.path, &o.query),
                (&n.scheme, &n.host, n.port, &n.path, &n.query),
                "{u:?}"
            );
            assert_eq!(o.to_url(), n.to_url(), "{u:?}");
            assert_eq!(o.expressions(), n.expressions(), "{u:?}");
            assert_eq!(o.host_suffixes(), n.host_suffixes(), "{u:?}");
        }
        _ => panic!("{u:?}: reference {old:?}, new {new:?}"),
    }
    let r = buf.parse(u);
    assert_eq!(r.is_some(), old.is_some(), "{u:?}");
    if let (Some(r), Some(o)) = (r, &old) {
        let mut got = Vec::new();
        r.for_each_expression(|e| got.push(String::from_utf8_lossy(e).into_owned()));
        assert_eq!(got, o.expressions(), "{u:?}");
    }
    assert_eq!(
        reference::canonical_host(u),
        canonical_host(u),
        "canonical_host({u:?})"
    );
}

#[test]
fn fixture_urls_and_their_variants_canonicalise_as_before() {
    let urls = fixture_urls();
    assert!(urls.len() > 100, "{}", urls.len());
    let mut buf = CanonBuf::default();
    let mut n = 0;
    for u in &urls {
        for v in variants(u) {
            assert_same(&v, &mut buf);
            n += 1;
        }
    }
    // Hosts as domain lists spell them.
    for h in [
        "WWW.Example.COM.",
        "  ..a..b.. ",
        "3279880203",
        "[::FFFF:1.2.3.4]",
        "example.com:8080",
        "bücher.example",
        "host%23.com",
        "u@h",
        "a#b",
        "",
    ] {
        assert_eq!(reference::canonical_host(h), canonical_host(h), "{h:?}");
    }
    assert!(n > 2000, "{n}");
}

/// Random strings over the bytes that steer canonicalisation: a small,
/// deterministic fuzz run inside the test suite.
#[test]
fn random_hostile_strings_canonicalise_as_before() {
    const PIECES: &[&str] = &[
        "http://",
        "https://",
        "//",
        "/",
        "/",
        ".",
        "..",
        "./",
        "../",
        "?",
        "#",
        "@",
        ":",
        ":80",
        ":8080",
        "%",
        "%2",
        "%25",
        "%2e",
        "%2F",
        "%41",
        "%C3%BC",
        "%FF",
        "[",
        "]",
        "::",
        "ffff",
        "0x",
        "0",
        "1",
        "255",
        "4294967295",
        "a",
        "B",
        "xn--",
        "ü",
        "。",
        "\t",
        "\n",
        " ",
        "=",
        "&",
        "~",
        "com",
        "www",
        "\u{0}",
        "\u{7f}",
    ];
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut buf = CanonBuf::default();
    for _ in 0..20_000 {
        let len = (next() % 16) as usize;
        let s: String = (0..len)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        assert_same(&s, &mut buf);
        assert_same(&format!("http://{s}"), &mut buf);
    }
}

/// The thread's scratch buffer survives reentrant and repeated use, and a
/// URL longer than the cap is truncated, not refused.
#[test]
fn scratch_reuse_is_independent_of_the_previous_url() {
    let long = format!("http://a.com/{}", "é".repeat(10_000));
    let a = outwork_intel::with_scratch(|b| b.parse(&long).map(|c| c.to_canonical()));
    let inner = outwork_intel::with_scratch(|_| Canonical::parse("http://B.example/x"));
    assert_eq!(inner.map(|c| c.host).as_deref(), Some("b.example"));
    assert_eq!(
        a,
        reference::Canonical::parse(&long).map(|c| {
            Canonical {
                scheme: c.scheme,
                host: c.host,
                port: c.port,
                path: c.path,
                query: c.query,
            }
        })
    );
    let mut buf = CanonBuf::default();
    for u in ["http://a.b.c/d?e", "x", "http://q/", "http://a.b.c/d?e"] {
        assert_same(u, &mut buf);
    }
}

fn corpus_urls(dir: &std::path::Path) -> Vec<String> {
    let mut urls = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") || p.parent() != Some(dir) {
                let Ok(data) = std::fs::read(&p) else {
                    continue;
                };
                let f = outwork_core::parse(&data, &Default::default());
                urls.extend(f.urls.iter().map(|u| u.url.raw.clone()));
            }
        }
    }
    urls.sort();
    urls.dedup();
    urls
}

/// Every URL of the dev corpus: same canonical form and expressions, and
/// the same hits from an index listing a share of them (URL entries,
/// domain entries, IPs), through the filter and without it.
#[test]
#[cfg_attr(
    outwork_no_corpus,
    ignore = "needs the dev corpus at ../shared/corpus (OUTWORK_REQUIRE_CORPUS=1 makes this a failure)"
)]
fn corpus_urls_canonicalise_and_look_up_as_before() {
    if !gates::check(&gates::CORPUS) {
        return;
    }
    let Some(dir) = gates::corpus_dir() else {
        return;
    };
    let urls = corpus_urls(&dir);
    assert!(
        urls.len() > 1000,
        "only {} URLs in {}",
        urls.len(),
        dir.display()
    );
    let mut buf = CanonBuf::default();
    for u in &urls {
        assert_same(u, &mut buf);
    }
    // List every 11th URL and the host of every 13th, so lookups hit.
    let mut entries = Vec::new();
    for (i, u) in urls.iter().enumerate() {
        if i % 11 == 0 {
            entries.push(Value::Url(u.clone()));
        }
        if i % 13 == 0
            && let Some(c) = reference::Canonical::parse(u)
        {
            entries.push(Value::Domain(c.host));
        }
    }
    let parsed = Parsed {
        entries: entries
            .into_iter()
            .enumerate()
            .map(|(i, value)| Entry {
                value,
                first_seen: Some(1_700_000_000),
                line: i + 1,
            })
            .collect(),
        ..Default::default()
    };
    let mut idx = Index::default();
    idx.import("corpus", Kind::Phishing, "urls", &parsed, 0)
        .expect("import");
    assert!(idx.filter_covers_index());
    assert!(idx.filter_bytes() > 0);
    let mut listed = 0;
    for u in &urls {
        let new = idx.check_url_with(u, &mut buf);
        assert_eq!(new, idx.check_url_reference(u), "{u:?}");
        assert_eq!(new, idx.check_url(u), "{u:?}");
        listed += usize::from(!new.is_empty());
    }
    // The listed share must actually be found (else the test proves nothing).
    assert!(listed * 11 >= urls.len(), "{listed} of {}", urls.len());
    eprintln!(
        "{} corpus URLs, {listed} listed: same canonical forms and hits",
        urls.len()
    );
}
