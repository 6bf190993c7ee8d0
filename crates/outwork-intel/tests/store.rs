//! The embedded store as a user meets it: import feeds, look URLs up the
//! way Safe Browsing would, survive a reload, refuse a corrupt file.

use outwork_intel::Format;
use outwork_intel::{EntryType, Index, IntelError, Kind};

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("outwork-intel-{name}-{}.owi", std::process::id()))
}

fn index_with(lines: &str, format: Format, source: &str, kind: Kind) -> Index {
    let mut idx = Index::default();
    let parsed = outwork_intel::parse_feed(lines.as_bytes(), format);
    idx.import(source, kind, format.name(), &parsed, 1_700_000_000)
        .expect("import");
    idx
}

#[test]
fn url_entries_match_as_safe_browsing_would() {
    let idx = index_with(
        "http://evil.example/login/\nhttps://phish.example/a.php?x=1\n",
        Format::UrlList,
        "openphish",
        Kind::Phishing,
    );
    // Path prefix: the listed directory covers what is under it.
    let hits = idx.check_url("http://evil.example/login/verify.php?id=3");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].expression, "evil.example/login/");
    assert_eq!(hits[0].source, "openphish");
    assert_eq!(hits[0].kind, Kind::Phishing);
    assert_eq!(hits[0].entry_type, EntryType::Url);
    // Host suffix: a subdomain of the listed host.
    assert_eq!(idx.check_url("http://www.evil.example/login/").len(), 1);
    // Canonicalisation: case, escapes, dots, default port.
    assert_eq!(idx.check_url("HTTP://EVIL.example./%6cogin/").len(), 1);
    // Exact query entry.
    assert_eq!(idx.check_url("https://phish.example/a.php?x=1").len(), 1);
    // Not listed: another path, another host, the bare parent.
    assert!(idx.check_url("http://evil.example/other").is_empty());
    assert!(idx.check_url("http://example/login/").is_empty());
    assert!(idx.check_url("https://phish.example/a.php?x=2").is_empty());
}

#[test]
fn domain_entries_cover_subdomains_and_every_path() {
    let idx = index_with(
        "0.0.0.0 bad.example\n# comment\n",
        Format::Hosts,
        "urlhaus",
        Kind::Malware,
    );
    assert_eq!(idx.check_url("https://a.b.bad.example/x/y?z").len(), 1);
    assert_eq!(idx.check_domain("mail.bad.example").len(), 1);
    assert_eq!(
        idx.check_domain("bad.example")[0].entry_type,
        EntryType::Domain
    );
    assert!(idx.check_domain("notbad.example").is_empty());
    assert!(idx.check_domain("example").is_empty());
}

#[test]
fn ips_hashes_and_sources() {
    let mut idx = index_with(
        "192.0.2.0/24 ; SBL1\n2001:db8::/32\n",
        Format::Cidr,
        "drop",
        Kind::Spam,
    );
    let h = "a".repeat(64);
    let parsed =
        outwork_intel::parse_feed(format!("{h}  payload.exe\n").as_bytes(), Format::Sha256);
    idx.import("hashes", Kind::Malware, "sha256", &parsed, 1)
        .expect("import");
    assert_eq!(
        idx.check_url("http://192.0.2.77/x").len(),
        1,
        "IP in a listed range"
    );
    assert_eq!(
        idx.check_url("http://3221226061/x").len(),
        1,
        "decimal spelling of 192.0.2.77"
    );
    assert!(idx.check_url("http://192.0.3.1/").is_empty());
    assert_eq!(idx.check_ip("2001:db8::1".parse().unwrap()).len(), 1);
    assert_eq!(
        idx.check_ip("::ffff:192.0.2.77".parse().unwrap()).len(),
        1,
        "IPv4-mapped IPv6 is the IPv4 address"
    );
    assert_eq!(idx.check_sha256(&[0xaa; 32]).len(), 1);
    assert!(idx.check_sha256(&[0xab; 32]).is_empty());
    // Removing a source removes only its entries.
    assert_eq!(idx.remove_source("drop"), Some(2));
    assert!(idx.check_url("http://192.0.2.77/x").is_empty());
    assert_eq!(idx.check_sha256(&[0xaa; 32])[0].source, "hashes");
    assert_eq!(idx.remove_source("nope"), None);
}

#[test]
fn reimport_replaces_a_source_and_two_sources_both_report() {
    let mut idx = index_with("http://a.example/\n", Format::UrlList, "s1", Kind::Phishing);
    let p = outwork_intel::parse_feed(b"http://a.example/\nhttp://b.example/\n", Format::UrlList);
    idx.import("s2", Kind::Phishing, "urls", &p, 2)
        .expect("import");
    let hits = idx.check_url("http://a.example/");
    let mut sources: Vec<_> = hits.iter().map(|h| h.source.as_str()).collect();
    sources.sort();
    assert_eq!(sources, vec!["s1", "s2"]);
    let p = outwork_intel::parse_feed(b"http://c.example/\n", Format::UrlList);
    let stats = idx
        .import("s1", Kind::Phishing, "urls", &p, 3)
        .expect("import");
    assert_eq!(stats.replaced, 1);
    assert_eq!(idx.check_url("http://a.example/").len(), 1);
    assert_eq!(idx.check_url("http://c.example/").len(), 1);
}

/// The first-stage filter is rebuilt with the records on every change: a
/// stale one would turn a new entry away (reported clean) or keep a removed
/// one alive; a reloaded store brings its own.
#[test]
fn filter_follows_imports_removals_and_reloads() {
    let mut idx = Index::default();
    assert!(idx.check_url("http://a.example/").is_empty());
    assert_eq!(idx.filter_bytes(), 0);
    // Enough entries that the filter answers for thousands of absent keys.
    let list: String = (0..5000)
        .map(|i| format!("http://h{i}.example/p/\n"))
        .collect();
    let p = outwork_intel::parse_feed(list.as_bytes(), Format::UrlList);
    idx.import("big", Kind::Phishing, "urls", &p, 1)
        .expect("import");
    assert!(idx.filter_bytes() > 0 && idx.filter_covers_index());
    assert_eq!(idx.check_url("http://h4999.example/p/x.php").len(), 1);
    assert!(idx.check_url("http://a.example/").is_empty());
    let p = outwork_intel::parse_feed(b"http://a.example/\n", Format::UrlList);
    idx.import("new", Kind::Malware, "urls", &p, 2)
        .expect("import");
    assert!(idx.filter_covers_index());
    assert_eq!(idx.check_url("http://a.example/").len(), 1);
    assert_eq!(idx.remove_source("big"), Some(5000));
    assert!(idx.filter_covers_index());
    assert!(idx.check_url("http://h4999.example/p/x.php").is_empty());
    assert_eq!(idx.check_url("http://a.example/").len(), 1);
    let path = tmp("filter-reload");
    idx.save(&path).expect("save");
    let back = Index::load(&path).expect("load");
    let _ = std::fs::remove_file(&path);
    assert!(back.filter_bytes() > 0 && back.filter_covers_index());
    assert_eq!(back.check_url("http://a.example/").len(), 1);
    assert_eq!(back.memory_bytes(), idx.memory_bytes());
}

#[test]
fn save_load_roundtrip_and_corruption_is_refused() {
    let idx = index_with(
        "http://evil.example/\nhttp://x.example/p\n",
        Format::UrlList,
        "s",
        Kind::Phishing,
    );
    let path = tmp("roundtrip");
    idx.save(&path).expect("save");
    let back = Index::load(&path).expect("load");
    assert_eq!(back.check_url("http://evil.example/").len(), 1);
    assert_eq!(back.sources()[0].name, "s");
    assert_eq!(back.sources()[0].entries, 2);

    let mut bytes = std::fs::read(&path).expect("read");
    // Torn write: the tail is missing.
    std::fs::write(&path, &bytes[..bytes.len() - 5]).expect("write");
    assert!(matches!(Index::load(&path), Err(IntelError::Corrupt(..))));
    // One flipped bit in the middle.
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&path, &bytes).expect("write");
    assert!(matches!(Index::load(&path), Err(IntelError::Corrupt(..))));
    std::fs::write(&path, b"hello").expect("write");
    assert!(matches!(Index::load(&path), Err(IntelError::NotIntel(..))));
    // Missing file: an empty store.
    let _ = std::fs::remove_file(&path);
    assert!(Index::load(&path).expect("empty").is_empty());
}

#[test]
fn hostile_store_bytes_never_panic() {
    let idx = index_with(
        "http://evil.example/\n",
        Format::UrlList,
        "s",
        Kind::Phishing,
    );
    let good = idx.to_bytes();
    let path = std::path::Path::new("fuzzed");
    let mut state = 0x9e3779b97f4a7c15u64;
    for _ in 0..2000 {
        let mut b = good.clone();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let i = (state as usize) % b.len();
        b[i] = (state >> 32) as u8;
        let cut = (state >> 40) as usize % (b.len() + 1);
        let _ = Index::from_bytes(&b[..cut.max(i.min(b.len()))], path);
        let _ = Index::from_bytes(&b, path);
    }
}

#[test]
fn never_block_keeps_platforms_out_of_domain_entries_only() {
    let mut parsed = outwork_intel::parse_feed(
        b"github.com\nwww.dropbox.com\nkit.github.io\nevil.example\n",
        Format::DomainList,
    );
    let never: std::collections::HashSet<String> = ["github.com", "dropbox.com"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(outwork_intel::drop_domains(&mut parsed, &never), 2);
    let mut idx = Index::default();
    idx.import("pt", Kind::Phishing, "domains", &parsed, 0)
        .expect("import");
    assert!(idx.check_url("https://github.com/user/repo").is_empty());
    assert!(idx.check_url("https://www.dropbox.com/s/x").is_empty());
    assert_eq!(
        idx.check_url("https://kit.github.io/login").len(),
        1,
        "a subdomain entry still counts"
    );
    assert_eq!(idx.check_url("https://evil.example/").len(), 1);
}

/// The bytes of `idx` with its source table replaced by `sources_json`
/// and the checksum recomputed: a file that passes the checksum but whose
/// records point at sources it no longer has.
fn with_sources(idx: &Index, sources_json: &[u8]) -> Vec<u8> {
    let good = idx.to_bytes();
    let json_len = u64::from_le_bytes(good[12..20].try_into().expect("len")) as usize;
    let mut b = good[..12].to_vec();
    b.extend_from_slice(&(sources_json.len() as u64).to_le_bytes());
    b.extend_from_slice(sources_json);
    b.extend_from_slice(&good[20 + json_len..good.len() - 8]);
    let sum = xxhash_rust::xxh3::xxh3_64(&b);
    b.extend_from_slice(&sum.to_le_bytes());
    b
}

#[test]
fn dangling_source_indices_are_refused_as_corrupt() {
    let path = std::path::Path::new("dangling.owi");
    let urls = index_with(
        "http://evil.example/\n",
        Format::UrlList,
        "s",
        Kind::Phishing,
    );
    // The untouched table loads.
    let table = serde_json::to_vec(urls.sources()).expect("json");
    assert!(Index::from_bytes(&with_sources(&urls, &table), path).is_ok());
    // Records whose source is gone: before, every lookup said "not listed".
    let r = Index::from_bytes(&with_sources(&urls, b"[]"), path);
    assert!(matches!(r, Err(IntelError::Corrupt(..))), "{r:?}");
    // The same for IP ranges and file hashes.
    for (lines, format) in [
        ("192.0.2.0/24\n", Format::Cidr),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
            Format::Sha256,
        ),
    ] {
        let idx = index_with(lines, format, "s", Kind::Malware);
        assert_eq!(idx.len(), 1, "{lines}");
        let r = Index::from_bytes(&with_sources(&idx, b"[]"), path);
        assert!(matches!(r, Err(IntelError::Corrupt(..))), "{lines}: {r:?}");
    }
}
