//! Feed format detection and parsing: fixtures in tests/feeds/, and the real
//! snapshots in ../shared/feeds when they are there.

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use outwork_intel::{
    Entry, Format, Parsed, Value, detect_feed_format as detect, parse_feed as parse,
};

const ALL: [Format; 10] = [
    Format::UrlList,
    Format::PhishtankCsv,
    Format::PhishtankJson,
    Format::UrlhausCsv,
    Format::Hosts,
    Format::DomainList,
    Format::Abp,
    Format::Cidr,
    Format::Sha256,
    Format::OpenphishHistory,
];

/// (fixture, format)
const FIXTURES: [(&str, Format); 11] = [
    ("urls.txt", Format::UrlList),
    ("phishtank.csv", Format::PhishtankCsv),
    ("phishtank.json", Format::PhishtankJson),
    ("urlhaus.csv", Format::UrlhausCsv),
    ("splunk.csv", Format::UrlhausCsv),
    ("hosts.txt", Format::Hosts),
    ("domains.txt", Format::DomainList),
    ("abp.txt", Format::Abp),
    ("drop.txt", Format::Cidr),
    ("sha256.txt", Format::Sha256),
    ("openphish_history.tsv", Format::OpenphishHistory),
];

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/feeds")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn url(s: &str) -> Value {
    Value::Url(s.to_string())
}

fn dom(s: &str) -> Value {
    Value::Domain(s.to_string())
}

fn cidr(a: &str, prefix: u8) -> Value {
    Value::Cidr {
        addr: a.parse::<IpAddr>().unwrap(),
        prefix,
    }
}

fn sha(hex: &str) -> Value {
    let mut h = [0u8; 32];
    for (i, b) in h.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    Value::Sha256(h)
}

/// (line, value) of every entry.
fn values(p: &Parsed) -> Vec<(usize, Value)> {
    p.entries
        .iter()
        .map(|e| (e.line, e.value.clone()))
        .collect()
}

fn bad_lines(p: &Parsed) -> Vec<usize> {
    p.malformed.iter().map(|m| m.line).collect()
}

fn first_seen(p: &Parsed) -> Vec<Option<i64>> {
    p.entries.iter().map(|e| e.first_seen).collect()
}

#[test]
fn format_names_round_trip() {
    let names: Vec<&str> = ALL.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "urls",
            "phishtank-csv",
            "phishtank-json",
            "urlhaus-csv",
            "hosts",
            "domains",
            "abp",
            "cidr",
            "sha256",
            "openphish-history"
        ]
    );
    for f in ALL {
        assert_eq!(Format::from_name(f.name()), Some(f));
    }
    assert_eq!(Format::from_name("HOSTS"), Some(Format::Hosts));
    assert_eq!(Format::from_name("csv"), None);
    assert_eq!(Format::from_name(""), None);
}

#[test]
fn url_list() {
    let p = parse(&fixture("urls.txt"), Format::UrlList);
    assert_eq!(p.lines, 13);
    assert_eq!(p.entries.len(), 10);
    assert_eq!(
        values(&p)[..4],
        [
            (2, url("https://example-login.com/verify?id=1")),
            (3, url("http://paypa1.com.secure-login.example.net/")),
            (5, url("example.org/phish/index.html")),
            (7, url("HTTP://UPPER.example.COM/Path")),
        ]
    );
    assert_eq!(bad_lines(&p), [6]);
    assert_eq!(p.malformed[0].text, "not a url at all");
    assert_eq!(p.skipped, 0);
    assert!(p.entries.iter().all(|e| e.first_seen.is_none()));
}

#[test]
fn phishtank_csv() {
    let p = parse(&fixture("phishtank.csv"), Format::PhishtankCsv);
    assert_eq!(p.lines, 6);
    assert_eq!(p.skipped, 1, "the header row");
    assert_eq!(
        values(&p),
        [
            (2, url("https://secure-paypal.example.com/login")),
            (3, url("http://bank.example.net/a,b?x=\"y\"")),
            (6, url("http://ok.example.org/")),
        ]
    );
    assert_eq!(
        first_seen(&p),
        [Some(1_688_128_496), Some(1_688_128_500), None]
    );
    assert_eq!(bad_lines(&p), [4, 5]);
}

#[test]
fn phishtank_csv_without_header() {
    let data = b"1,http://a.example.com/,x,2023-06-30T12:34:56+00:00,yes,,yes,Other\n";
    let p = parse(data, Format::PhishtankCsv);
    assert_eq!(values(&p), [(1, url("http://a.example.com/"))]);
    assert_eq!(first_seen(&p), [Some(1_688_128_496)]);
    assert_eq!(detect(data), Some(Format::PhishtankCsv));
}

#[test]
fn phishtank_json() {
    let p = parse(&fixture("phishtank.json"), Format::PhishtankJson);
    assert_eq!(p.lines, 8);
    assert_eq!(
        values(&p),
        [
            (2, url("https://secure-paypal.example.com/login")),
            (3, url("http://bank.example.net/{x}\"]")),
            (7, url("http://ok.example.org/")),
        ]
    );
    assert_eq!(
        first_seen(&p),
        [Some(1_688_128_496), Some(1_688_128_500), None]
    );
    assert_eq!(bad_lines(&p), [6]);
    assert!(p.malformed[0].reason.contains("url"), "{:?}", p.malformed);
}

#[test]
fn phishtank_json_broken() {
    // truncated download: the complete objects still count
    let p = parse(
        b"[{\"url\": \"http://a.example.com/\"},\n {\"url\": \"http://b.exa",
        Format::PhishtankJson,
    );
    assert_eq!(values(&p), [(1, url("http://a.example.com/"))]);
    assert_eq!(bad_lines(&p), [2]);
    // JSON lines work too
    let p = parse(
        b"{\"url\": \"http://a.example.com/\"}\n{\"url\": 5}\n",
        Format::PhishtankJson,
    );
    assert_eq!(values(&p), [(1, url("http://a.example.com/"))]);
    assert_eq!(bad_lines(&p), [2]);
    let p = parse(
        b"[1, \"x\", {\"url\": \"http://a.example.com/\"}] trailing",
        Format::PhishtankJson,
    );
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.malformed.len(), 3);
    let p = parse(b"<html>not json</html>\n", Format::PhishtankJson);
    assert_eq!(bad_lines(&p), [1]);
    let p = parse(b"[]\n", Format::PhishtankJson);
    assert!(p.entries.is_empty() && p.malformed.is_empty());
}

#[test]
fn urlhaus_csv() {
    let p = parse(&fixture("urlhaus.csv"), Format::UrlhausCsv);
    assert_eq!(p.lines, 10);
    assert_eq!(
        values(&p),
        [
            (7, url("http://117.209.22.111:43343/i")),
            (8, url("https://evil.example.com/payload.exe")),
            (10, url("http://dl.example.net/x.sh")),
        ]
    );
    assert_eq!(
        first_seen(&p),
        [
            Some(1_728_898_866),
            Some(1_728_898_805),
            Some(1_728_898_680)
        ]
    );
    assert_eq!(bad_lines(&p), [9]);
    assert_eq!(p.skipped, 0);
}

#[test]
fn urlhaus_filter_splunk_csv() {
    let p = parse(&fixture("splunk.csv"), Format::UrlhausCsv);
    assert_eq!(
        values(&p),
        [
            (3, dom("bad.example.com")),
            (4, url("files.example.net/x/payload.exe")),
            (5, dom("198.51.100.7")),
        ]
    );
    assert_eq!(p.skipped, 1);
    assert!(p.malformed.is_empty());
    assert!(
        p.entries.iter().all(|e| e.first_seen.is_none()),
        "`updated` is not a first-seen date"
    );
}

#[test]
fn hosts_file() {
    let p = parse(&fixture("hosts.txt"), Format::Hosts);
    assert_eq!(p.lines, 12);
    assert_eq!(
        values(&p),
        [
            (4, dom("malware.example.com")),
            (5, dom("a.example.net")),
            (5, dom("b.example.net")),
            (6, dom("tab.example.org")),
            (8, dom("c.example.net")),
            (9, dom("d.example.net")),
            (10, dom("e.example.net")),
            (11, dom("f.example.net")),
            (12, dom("ok.example.com")),
        ]
    );
    assert_eq!(p.skipped, 3, "localhost, localhost, ip6-localhost");
    assert_eq!(bad_lines(&p), [7, 12]);
}

#[test]
fn domain_list() {
    let p = parse(&fixture("domains.txt"), Format::DomainList);
    assert_eq!(p.lines, 12);
    assert_eq!(
        values(&p),
        [
            (2, dom("example-phish.com")),
            (3, dom("www.example-bank.net")),
            (4, dom("1.2.3.4")),
            (5, dom("xn--80ak6aa92e.com")),
            (6, dom("пример.рф")),
            (8, dom("tail.example.com")),
            (9, dom("login.example.org")),
            (10, dom("a.example.com")),
            (11, dom("b.example.com")),
            (12, dom("c.example.com")),
        ]
    );
    assert_eq!(bad_lines(&p), [7]);
    assert_eq!(p.malformed[0].text, "not_a_domain");
}

#[test]
fn abp_filter() {
    let p = parse(&fixture("abp.txt"), Format::Abp);
    assert_eq!(p.lines, 13);
    assert_eq!(
        values(&p),
        [
            (3, dom("phish.example.com")),
            (4, dom("evil.example.net")),
            (5, url("host.example.org/path/file.exe")),
            (11, dom("plain.example.info")),
            (13, url("https://anchored.example.com/login")),
        ]
    );
    assert_eq!(
        p.skipped, 5,
        "$third-party, @@exception, ##cosmetic, /regex/, wildcard"
    );
    assert_eq!(bad_lines(&p), [12]);
}

#[test]
fn cidr_list() {
    let p = parse(&fixture("drop.txt"), Format::Cidr);
    assert_eq!(p.lines, 12);
    assert_eq!(
        values(&p)[..4],
        [
            (3, cidr("1.10.16.0", 20)),
            (4, cidr("2.57.122.0", 24)),
            (5, cidr("2001:db8::", 32)),
            (6, cidr("192.0.2.7", 32)),
        ]
    );
    assert_eq!(p.entries.len(), 9);
    assert_eq!(bad_lines(&p), [7]);
    let p = parse(b"::1\nnot-an-ip ; x\n10.0.0.0/x\n", Format::Cidr);
    assert_eq!(values(&p), [(1, cidr("::1", 128))]);
    assert_eq!(bad_lines(&p), [2, 3]);
}

#[test]
fn sha256_list() {
    let p = parse(&fixture("sha256.txt"), Format::Sha256);
    assert_eq!(p.lines, 11);
    let empty = sha("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(
        values(&p)[..3],
        [(2, empty.clone()), (3, empty.clone()), (4, empty)]
    );
    assert_eq!(p.entries.len(), 9);
    assert_eq!(bad_lines(&p), [5]);
    let p = parse(
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85z\n\
          e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550\n",
        Format::Sha256,
    );
    assert_eq!(bad_lines(&p), [1, 2]);
}

#[test]
fn openphish_history() {
    let p = parse(&fixture("openphish_history.tsv"), Format::OpenphishHistory);
    assert_eq!(p.lines, 12);
    assert_eq!(p.skipped, 1, "the header row");
    assert_eq!(
        values(&p)[..2],
        [
            (2, url("http://07.lg1.live/melayu-viral1.com")),
            (3, url("https://example.com/login"))
        ]
    );
    assert_eq!(
        first_seen(&p)[..2],
        [Some(1_728_763_269), Some(1_735_689_600)]
    );
    assert_eq!(p.entries.len(), 10);
    assert_eq!(bad_lines(&p), [4]);
}

#[test]
fn detect_fixtures() {
    for (name, format) in FIXTURES {
        assert_eq!(detect(&fixture(name)), Some(format), "{name}");
    }
}

#[test]
fn detect_ambiguous_or_unknown() {
    assert_eq!(detect(b""), None);
    assert_eq!(detect(b"\n\n  \n"), None);
    assert_eq!(detect(b"# only a comment\n"), None);
    assert_eq!(detect(b"# Title\nsome prose here\nexample.com\n"), None);
    assert_eq!(detect(b"hello\nworld\n"), None);
    assert_eq!(detect(b"[\"a\", \"b\"]"), None);
    assert_eq!(detect(b"1.2.3.4\n5.6.7.8\n"), Some(Format::Cidr));
    assert_eq!(
        detect(b"example.com\nexample.net\n"),
        Some(Format::DomainList)
    );
    assert_eq!(
        detect(b"example.com/a\nexample.net\n"),
        Some(Format::UrlList)
    );
    assert_eq!(detect(b"||example.com^\n"), Some(Format::Abp));
    assert_eq!(
        detect(b"[{\"url\": \"http://x.example/\"}]"),
        Some(Format::PhishtankJson)
    );
}

/// A short feed with one junk line is still a URL list (the import reports
/// the line as malformed) — it used to be "can't tell the format".
#[test]
fn detect_tolerates_one_junk_line_in_a_short_feed() {
    let feed =
        b"https://login.evil.example/verify/\nhttp://paypa1.example/signin\nnot a url, a note\n";
    assert_eq!(detect(feed), Some(Format::UrlList));
    let p = parse(feed, Format::UrlList);
    assert_eq!(p.entries.len(), 2);
    assert_eq!(bad_lines(&p), [3]);
    let hosts = b"evil.example\nphish.example\nsee the site for terms\n";
    assert_eq!(detect(hosts), Some(Format::DomainList));
    // Two junk lines in four, or one in two, stay ambiguous.
    assert_eq!(
        detect(b"https://a.example/x\nnote one\nnote two\nhttps://b.example/y\n"),
        None
    );
    assert_eq!(detect(b"https://a.example/x\nnot a url\n"), None);
}

/// `\n` → `\r\n`, and a UTF-8 BOM in front.
fn crlf_bom(data: &[u8]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    for &b in data {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn same(a: &Parsed, b: &Parsed) -> bool {
    a.entries == b.entries
        && a.malformed == b.malformed
        && a.skipped == b.skipped
        && a.lines == b.lines
}

#[test]
fn crlf_and_bom_change_nothing() {
    for (name, format) in FIXTURES {
        let plain = fixture(name);
        let windows = crlf_bom(&plain);
        let (a, b) = (parse(&plain, format), parse(&windows, format));
        assert!(same(&a, &b), "{name}:\n{a:?}\n{b:?}");
        assert_eq!(detect(&windows), Some(format), "{name}");
    }
}

#[test]
fn no_final_newline() {
    let p = parse(b"a.example.com\nb.example.com", Format::DomainList);
    assert_eq!(p.lines, 2);
    assert_eq!(p.entries.len(), 2);
}

#[test]
fn empty_input() {
    for f in ALL {
        for data in [&b""[..], b"\xEF\xBB\xBF", b"\n", b"\r\n \t\n"] {
            let p = parse(data, f);
            assert!(
                p.entries.is_empty() && p.malformed.is_empty() && p.skipped == 0,
                "{f:?} {data:?}"
            );
        }
        assert_eq!(parse(b"", f).lines, 0);
    }
}

#[test]
fn non_utf8_lines_are_lossy() {
    let p = parse(
        b"good.example.com\nbad\xff.example.com\ncaf\xe9.example.com\nok.example.net\n",
        Format::DomainList,
    );
    assert_eq!(
        values(&p),
        [(1, dom("good.example.com")), (4, dom("ok.example.net"))]
    );
    assert_eq!(bad_lines(&p), [2, 3]);
    assert!(p.malformed[0].text.contains('\u{FFFD}'));
}

#[test]
fn malformed_text_is_cut_at_120_chars() {
    let long = "é".repeat(300);
    let p = parse(long.as_bytes(), Format::UrlList);
    assert_eq!(p.malformed.len(), 1);
    assert_eq!(p.malformed[0].text.chars().count(), 120);
}

#[test]
fn binary_garbage_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut inputs: Vec<Vec<u8>> = [
        &b"["[..],
        b"{",
        b"\"",
        b"[{\"url\":",
        b"[{\"url\": \"\\",
        b"]]]}}}",
        b"\xff\xfe\x00h\x00t",
        b"||",
        b"|",
        b"||^",
        b"$",
        b"@@",
        b"#",
        b"\r",
        b"\"",
        b"\",\"",
        b"0.0.0.0",
        b"::",
        b"1.2.3.4/",
        b"2024-",
        b"url\t",
        b"http://",
        b"://",
        b"*.",
        b".",
        b":443",
        b"[Adblock",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    for len in [1usize, 7, 64, 65, 500, 4096, 70_000] {
        inputs.push((0..len).map(|_| rnd() as u8).collect());
        // mostly printable with separators, closer to the parsers' paths
        let alphabet = b"ab.:/\"',;#!|^$@[]{}\t\r\n 0123456789-_*%\xff";
        inputs.push(
            (0..len)
                .map(|_| alphabet[rnd() as usize % alphabet.len()])
                .collect(),
        );
    }
    for data in &inputs {
        let _ = detect(data);
        for f in ALL {
            let p = parse(data, f);
            for m in &p.malformed {
                assert!(m.line >= 1 && m.line <= p.lines.max(1), "{f:?}");
            }
            for e in &p.entries {
                assert!(e.line >= 1 && e.line <= p.lines, "{f:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The real snapshots in ../shared/feeds (skipped when absent)
// ---------------------------------------------------------------------------

fn shared_feeds() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/feeds");
    p.is_dir().then_some(p)
}

/// (file, format, entries, malformed, skipped)
///
/// `phishtank/hostnames_2020_2023.txt` holds 164 lines that are not
/// hostnames: 79 e-mail addresses or userinfo@host (`confirmation.colis@sfr.fr`,
/// `mailto:ajuda@iti.itau`, `yahoo%2Eco%2Ejp@...`) whose host part would block
/// the mail provider or the brand rather than the phish, and 85 of plain junk:
/// a git merge conflict left in the list (`<<<<<<< HEAD`, `=======`,
/// `>>>>>>> 1628...`), labels cut off at a dot (`padlet-uploads.`, `www.`,
/// `.br`), bare numbers (`93`, `0x22db9842`, `00000000000233.6194600`), empty
/// labels (`www..supportsbooks.fun`), `!`, an HTML entity and backslashes.
const SHARED: [(&str, Format, usize, usize, usize); 12] = [
    ("openphish/feed_sample.txt", Format::UrlList, 300, 0, 0),
    (
        "openphish/url_history_until_2025-06.tsv",
        Format::OpenphishHistory,
        175_233,
        0,
        1,
    ),
    (
        "phishtank/hostnames_listed_2023-06.txt",
        Format::DomainList,
        49_865,
        0,
        0,
    ),
    (
        "phishtank/hostnames_2020_2023.txt",
        Format::DomainList,
        592_201,
        164,
        0,
    ),
    ("tranco/top100k.txt", Format::DomainList, 100_000, 0, 0),
    (
        "urlhaus/urlhaus-filter-hosts.txt",
        Format::Hosts,
        2_689,
        0,
        0,
    ),
    (
        "urlhaus/urlhaus-filter-domains.txt",
        Format::DomainList,
        25_768,
        0,
        0,
    ),
    (
        "urlhaus/urlhaus-filter-domains-online.txt",
        Format::DomainList,
        2_853,
        0,
        0,
    ),
    // 25,771 domains / IPs and 6,051 `||host/path^$all` URLs
    ("urlhaus/urlhaus-filter.txt", Format::Abp, 31_822, 0, 0),
    (
        "urlhaus/urlhaus-filter-online.txt",
        Format::Abp,
        6_363,
        0,
        0,
    ),
    // the same 6,363 as the online ABP filter; the skipped line is the header
    (
        "urlhaus/urlhaus-filter-splunk-online.csv",
        Format::UrlhausCsv,
        6_363,
        0,
        1,
    ),
    (
        "urlhaus/upstream_exclude_allowlist.txt",
        Format::DomainList,
        78,
        0,
        0,
    ),
];

#[test]
fn shared_feed_snapshots() {
    let Some(dir) = shared_feeds() else {
        eprintln!("../shared/feeds not found: skipped");
        return;
    };
    let mut failures = Vec::new();
    for (name, format, entries, malformed, skipped) in SHARED {
        let data = std::fs::read(dir.join(name)).unwrap();
        let head = &data[..data.len().min(64 * 1024)];
        let detected = detect(head);
        let p = parse(&data, format);
        eprintln!(
            "{name}: detected {:?}, {} lines, {} entries, {} malformed, {} skipped",
            detected.map(Format::name),
            p.lines,
            p.entries.len(),
            p.malformed.len(),
            p.skipped
        );
        if detected != Some(format) {
            failures.push(format!(
                "{name}: detected {detected:?}, expected {format:?}"
            ));
        }
        if p.entries.is_empty() || (entries > 0 && p.entries.len() != entries) {
            failures.push(format!(
                "{name}: {} entries, expected {entries}",
                p.entries.len()
            ));
        }
        if p.malformed.len() != malformed {
            let some: Vec<_> = p.malformed.iter().take(5).collect();
            failures.push(format!(
                "{name}: {} malformed, expected {malformed}: {some:?}",
                p.malformed.len()
            ));
        }
        if p.skipped != skipped {
            failures.push(format!("{name}: {} skipped, expected {skipped}", p.skipped));
        }
        if !p
            .entries
            .windows(2)
            .all(|w: &[Entry]| w[0].line <= w[1].line)
        {
            failures.push(format!("{name}: entries out of line order"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn shared_history_dates() {
    let Some(dir) = shared_feeds() else { return };
    let data = std::fs::read(dir.join("openphish/url_history_until_2025-06.tsv")).unwrap();
    let p = parse(&data, Format::OpenphishHistory);
    assert!(p.entries.iter().all(|e| e.first_seen.is_some()));
    assert_eq!(
        p.entries[0].value,
        url("http://07.lg1.live/melayu-viral1.com")
    );
    assert_eq!(p.entries[0].first_seen, Some(1_728_763_269));
}

#[test]
fn shared_non_feeds_are_not_detected() {
    let Some(dir) = shared_feeds() else { return };
    for name in [
        "README.md",
        "openphish/README.upstream.md",
        "phishtank/README.upstream.md",
        "psl/public_suffix_list.dat",
        "psl/test_psl_vectors.txt",
        "urlhaus/LICENSE-CC0.md",
        "urlhaus/LICENSE-MIT",
    ] {
        let data = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(detect(&data[..data.len().min(64 * 1024)]), None, "{name}");
    }
}

/// Found by the `feeds` fuzz target: a comment line, then a data line
/// whose numeric "id" has more digits than an i64 holds, panicked with an
/// overflow in debug builds while detecting the format.
#[test]
fn overlong_numeric_ids_do_not_overflow() {
    let mut data = b"# list\n".to_vec();
    data.extend_from_slice(&[b'9'; 40]);
    data.extend_from_slice(b",http://x.example/a\n");
    data.extend_from_slice(&[b'9'; 40]);
    data.extend_from_slice(b",http://y.example/b\n");
    // Ids that are all digits still read as PhishTank CSV rows, as before.
    assert_eq!(
        detect(&data),
        detect(b"# list\n1,http://x.example/a\n2,http://y.example/b\n")
    );
    let quoted = format!(
        "\"{}\",\"2024-01-01 00:00:00\",\"http://x/\"\n",
        "9".repeat(30)
    );
    let _ = detect(quoted.as_bytes());
    for f in [Format::PhishtankCsv, Format::UrlhausCsv, Format::UrlList] {
        let _ = parse(&data, f);
    }
}
