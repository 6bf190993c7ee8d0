//! The Redis store against a real `redis-server`: the same behavioural suite
//! as the embedded index, the same hits for the same lists, and scans that
//! fail fast while Redis is gone and recover when it is back.
//!
//! Needs `redis-server` on PATH (CI installs it); without it these tests
//! fail with a message saying so.

use outwork_test_support::{Redis, free_port, gates};

use outwork_intel::RedisStore;
use outwork_intel::{Entry, Format, Parsed, Value};
use outwork_intel::{EntryType, Hit, ImportStats, Index, Kind, Lookup, SourceInfo};

use std::net::IpAddr;

use std::time::{Duration, Instant};

/// Whether redis-server is here (outwork_test_support::gates).
fn have_redis() -> bool {
    gates::check(&gates::REDIS)
}

// ---- one suite, two backends ---------------------------------------------

trait TestBackend {
    fn name(&self) -> &'static str;
    fn import(&mut self, source: &str, kind: Kind, parsed: &Parsed, now: i64) -> ImportStats;
    fn remove(&mut self, source: &str) -> Option<u64>;
    fn sources(&self) -> Vec<SourceInfo>;
    fn lookup(&self) -> &dyn Lookup;
}

impl TestBackend for Index {
    fn name(&self) -> &'static str {
        "index"
    }
    fn import(&mut self, source: &str, kind: Kind, parsed: &Parsed, now: i64) -> ImportStats {
        Index::import(self, source, kind, "test", parsed, now).expect("import")
    }
    fn remove(&mut self, source: &str) -> Option<u64> {
        self.remove_source(source)
    }
    fn sources(&self) -> Vec<SourceInfo> {
        let mut s = Index::sources(self).to_vec();
        s.sort_by(|a, b| a.name.cmp(&b.name));
        s
    }
    fn lookup(&self) -> &dyn Lookup {
        self
    }
}

impl TestBackend for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }
    fn import(&mut self, source: &str, kind: Kind, parsed: &Parsed, now: i64) -> ImportStats {
        RedisStore::import(self, source, kind, "test", parsed, now).expect("import")
    }
    fn remove(&mut self, source: &str) -> Option<u64> {
        self.remove_source(source).expect("remove_source")
    }
    fn sources(&self) -> Vec<SourceInfo> {
        RedisStore::sources(self).expect("sources")
    }
    fn lookup(&self) -> &dyn Lookup {
        self
    }
}

fn entry(value: Value, first_seen: Option<i64>) -> Entry {
    Entry {
        value,
        first_seen,
        line: 1,
    }
}

fn parsed(entries: Vec<Entry>) -> Parsed {
    Parsed {
        entries,
        ..Default::default()
    }
}

fn url(u: &str, seen: Option<i64>) -> Entry {
    entry(Value::Url(u.to_string()), seen)
}

fn domain(d: &str, seen: Option<i64>) -> Entry {
    entry(Value::Domain(d.to_string()), seen)
}

fn cidr(a: &str, prefix: u8) -> Entry {
    entry(
        Value::Cidr {
            addr: a.parse::<IpAddr>().expect("ip"),
            prefix,
        },
        None,
    )
}

fn url_hits(b: &dyn TestBackend, u: &str) -> Vec<Hit> {
    b.lookup().lookup_url(u).expect("lookup_url")
}

fn sources_of(hits: &[Hit]) -> Vec<&str> {
    let mut s: Vec<&str> = hits.iter().map(|h| h.source.as_str()).collect();
    s.sort();
    s
}

fn suite(b: &mut dyn TestBackend) {
    let who = b.name();

    // URL entries: path prefix and host suffix, Safe Browsing style.
    let p = parsed(vec![
        url("http://evil.example/login/", Some(1_600_000_000)),
        url("https://phish.example/a.php?x=1", None),
        // The same entry twice: the earlier first-seen is kept.
        url("http://twice.example/", Some(200)),
        url("HTTP://TWICE.example./", Some(100)),
    ]);
    let st = b.import("openphish", Kind::Phishing, &p, 1_700_000_000);
    assert_eq!((st.added, st.uncanonical, st.replaced), (4, 0, 0), "{who}");
    let hits = url_hits(b, "http://evil.example/login/verify.php?id=3");
    assert_eq!(
        hits,
        vec![Hit {
            expression: "evil.example/login/".into(),
            source: "openphish".into(),
            kind: Kind::Phishing,
            entry_type: EntryType::Url,
            first_seen: Some(1_600_000_000),
        }],
        "{who}"
    );
    assert_eq!(
        url_hits(b, "http://www.evil.example/login/").len(),
        1,
        "{who}"
    );
    assert_eq!(
        url_hits(b, "HTTP://EVIL.example./%6cogin/").len(),
        1,
        "{who}"
    );
    assert_eq!(
        url_hits(b, "https://phish.example/a.php?x=1").len(),
        1,
        "{who}"
    );
    assert_eq!(
        url_hits(b, "https://phish.example/a.php?x=1")[0].first_seen,
        None
    );
    assert!(url_hits(b, "http://evil.example/other").is_empty(), "{who}");
    assert!(url_hits(b, "http://example/login/").is_empty(), "{who}");
    assert!(
        url_hits(b, "https://phish.example/a.php?x=2").is_empty(),
        "{who}"
    );
    assert!(url_hits(b, "::::").is_empty(), "{who}");
    let twice = url_hits(b, "http://twice.example/x");
    assert_eq!(twice.len(), 1, "{who}: {twice:?}");
    assert_eq!(twice[0].first_seen, Some(100), "{who}");

    // Domain entries cover subdomains and every path.
    let p = parsed(vec![
        domain("bad.example", Some(5)),
        domain("not a host/", None),
    ]);
    let st = b.import("urlhaus", Kind::Malware, &p, 1);
    // (Whether `added` counts the uncanonical entry differs: the index
    // counts it, the Redis store does not.)
    assert_eq!(st.uncanonical, 1, "{who}");
    let hits = url_hits(b, "https://a.b.bad.example/x/y?z");
    assert_eq!(hits.len(), 1, "{who}");
    assert_eq!(hits[0].expression, "bad.example/", "{who}");
    assert_eq!(hits[0].entry_type, EntryType::Domain, "{who}");
    assert_eq!(hits[0].kind, Kind::Malware, "{who}");
    assert_eq!(hits[0].first_seen, Some(5), "{who}");
    let d = b
        .lookup()
        .lookup_domain("mail.bad.example")
        .expect("lookup_domain");
    assert_eq!(d.len(), 1, "{who}");
    assert_eq!(d[0].entry_type, EntryType::Domain, "{who}");
    assert_eq!(
        b.lookup().lookup_domain("BAD.example.").expect("d").len(),
        1
    );
    assert!(
        b.lookup()
            .lookup_domain("notbad.example")
            .expect("d")
            .is_empty()
    );
    assert!(b.lookup().lookup_domain("example").expect("d").is_empty());
    assert!(b.lookup().lookup_domain("").expect("d").is_empty());

    // Two sources listing the same thing are both reported; a URL and a
    // domain entry for the same expression from one source are two hits.
    let p = parsed(vec![
        url("http://evil.example/login/", None),
        url("http://bad.example/", None),
        domain("bad.example", None),
    ]);
    b.import("s2", Kind::Scam, &p, 2);
    let hits = url_hits(b, "http://evil.example/login/x");
    assert_eq!(sources_of(&hits), vec!["openphish", "s2"], "{who}");
    let hits = url_hits(b, "http://bad.example/");
    assert_eq!(
        sources_of(&hits),
        vec!["s2", "s2", "urlhaus"],
        "{who}: {hits:?}"
    );
    assert_eq!(
        hits[0].entry_type,
        EntryType::Url,
        "{who}: URL entries first"
    );

    // Re-import replaces: old entries go, new ones come, first-seen and
    // kind follow the new import.
    let p = parsed(vec![
        url("http://new.example/", None),
        url("http://twice.example/", Some(300)),
    ]);
    let st = b.import("openphish", Kind::Malware, &p, 1_800_000_000);
    assert_eq!(st.replaced, 3, "{who}");
    assert_eq!(
        sources_of(&url_hits(b, "http://evil.example/login/x")),
        vec!["s2"]
    );
    assert!(
        url_hits(b, "https://phish.example/a.php?x=1").is_empty(),
        "{who}"
    );
    let n = url_hits(b, "http://new.example/");
    assert_eq!(n.len(), 1, "{who}");
    assert_eq!(n[0].kind, Kind::Malware, "{who}");
    assert_eq!(
        url_hits(b, "http://twice.example/")[0].first_seen,
        Some(300)
    );
    let srcs = b.sources();
    let names: Vec<&str> = srcs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["openphish", "s2", "urlhaus"], "{who}");
    assert_eq!(srcs[0].entries, 2, "{who}");
    assert_eq!(srcs[0].kind, Kind::Malware, "{who}");
    assert_eq!(srcs[0].imported_at, 1_800_000_000, "{who}");
    assert_eq!(srcs[0].first_seen_min, Some(300), "{who}");
    assert_eq!(srcs[2].first_seen_max, Some(5), "{who}");

    // remove_source removes only that source's entries.
    assert_eq!(b.remove("urlhaus"), Some(1), "{who}");
    assert_eq!(b.remove("urlhaus"), None, "{who}");
    assert_eq!(b.remove("nope"), None, "{who}");
    let d = b.lookup().lookup_domain("bad.example").expect("d");
    // s2's domain entry and its URL entry for http://bad.example/.
    assert_eq!(sources_of(&d), vec!["s2", "s2"], "{who}");
    assert_eq!(
        sources_of(&url_hits(b, "http://bad.example/")),
        vec!["s2", "s2"]
    );
    assert_eq!(b.sources().len(), 2, "{who}");

    // SHA-256.
    let p = parsed(vec![
        entry(Value::Sha256([0xaa; 32]), Some(7)),
        entry(Value::Sha256([0xaa; 32]), Some(9)),
    ]);
    b.import("hashes", Kind::Malware, &p, 3);
    let h = b.lookup().lookup_sha256(&[0xaa; 32]).expect("sha256");
    assert_eq!(
        h,
        vec![Hit {
            expression: "aa".repeat(32),
            source: "hashes".into(),
            kind: Kind::Malware,
            entry_type: EntryType::Hash,
            first_seen: Some(7),
        }],
        "{who}"
    );
    assert!(
        b.lookup()
            .lookup_sha256(&[0xab; 32])
            .expect("sha256")
            .is_empty()
    );
    // The feed parser's spelling, too.
    let p = outwork_intel::parse_feed(
        format!("{}  x.exe\n", "bb".repeat(32)).as_bytes(),
        Format::Sha256,
    );
    b.import("hashes2", Kind::Other, &p, 3);
    assert_eq!(
        b.lookup().lookup_sha256(&[0xbb; 32]).expect("sha256").len(),
        1
    );

    // CIDR: IP hosts of URLs in listed ranges, both families.
    let p = parsed(vec![
        cidr("192.0.2.5", 24), // stored masked: 192.0.2.0/24
        cidr("2001:db8::", 32),
        cidr("10.0.0.0", 40), // bad prefix: not stored
    ]);
    let st = b.import("drop", Kind::Spam, &p, 4);
    assert_eq!((st.added, st.uncanonical), (2, 1), "{who}");
    let hits = url_hits(b, "http://192.0.2.77/x");
    assert_eq!(
        hits,
        vec![Hit {
            expression: "192.0.2.0/24".into(),
            source: "drop".into(),
            kind: Kind::Spam,
            entry_type: EntryType::Ip,
            first_seen: None,
        }],
        "{who}"
    );
    assert_eq!(
        url_hits(b, "http://3221226061/x").len(),
        1,
        "{who}: decimal IP"
    );
    assert!(url_hits(b, "http://192.0.3.1/").is_empty(), "{who}");
    // No IPv6 URL check here: the canonical host of http://[2001:db8::1]/
    // keeps its brackets, so neither backend tries the CIDR table for it
    // yet (Index::check_url parses `c.host` as an IpAddr as is).
    assert!(url_hits(b, "http://[2001:db9::1]/").is_empty(), "{who}");
    assert_eq!(b.remove("drop"), Some(2), "{who}");
    assert!(url_hits(b, "http://192.0.2.77/x").is_empty(), "{who}");
    // Hashes survived removing another source.
    assert_eq!(
        b.lookup().lookup_sha256(&[0xaa; 32]).expect("h")[0].source,
        "hashes"
    );
}

fn redis_store(server: &Redis, prefix: &str) -> RedisStore {
    RedisStore::connect(&server.url(), Duration::from_secs(2))
        .expect("connect")
        .with_prefix(prefix)
}

#[test]
fn suite_on_the_index() {
    suite(&mut Index::default());
}

#[test]
#[cfg_attr(
    outwork_no_redis,
    ignore = "needs redis-server (OUTWORK_REQUIRE_REDIS=1 makes this a failure)"
)]
fn suite_on_redis() {
    if !have_redis() {
        return;
    }
    let server = Redis::start("suite");
    suite(&mut redis_store(&server, "t-suite:"));
    // A second store under another prefix in the same database sees
    // nothing of the first, and runs the suite just as well.
    let mut other = redis_store(&server, "t-suite-2:");
    assert!(RedisStore::sources(&other).expect("sources").is_empty());
    assert!(
        other
            .lookup_url("http://new.example/")
            .expect("l")
            .is_empty()
    );
    suite(&mut other);
}

/// A bigger list than one pipeline, imported into both: every query gives
/// exactly the same hits in the same order (sources imported in name order,
/// which is the order both report them in).
#[test]
#[cfg_attr(
    outwork_no_redis,
    ignore = "needs redis-server (OUTWORK_REQUIRE_REDIS=1 makes this a failure)"
)]
fn redis_gives_the_same_hits_as_the_index() {
    if !have_redis() {
        return;
    }
    let server = Redis::start("same");
    let mut redis = redis_store(&server, "t-same:");
    let mut index = Index::default();
    let mut feeds_: Vec<(&str, Kind, Parsed)> = Vec::new();
    let mut a = Vec::new();
    for i in 0..12_000 {
        a.push(url(
            &format!("http://h{}.example/p{}/", i % 3000, i),
            Some(i),
        ));
    }
    a.push(domain("shared.example", None));
    a.push(cidr("198.51.100.0", 24));
    feeds_.push(("a-feed", Kind::Phishing, parsed(a)));
    let mut b = Vec::new();
    for i in 0..500 {
        b.push(domain(&format!("h{i}.example"), Some(1000 + i)));
    }
    b.push(url("http://shared.example/x/", None));
    b.push(cidr("198.51.100.128", 25));
    b.push(cidr("198.51.0.0", 16));
    feeds_.push(("b-feed", Kind::Malware, parsed(b)));
    // '|' separates fields in Redis: in a source name and an expression.
    let c = vec![
        url("http://pipe.example/a|b/", Some(3)),
        domain("h9.example", None),
    ];
    feeds_.push(("c|feed", Kind::Scam, parsed(c)));
    for (name, kind, p) in &feeds_ {
        let si = TestBackend::import(&mut index, name, *kind, p, 10);
        let sr = TestBackend::import(&mut redis, name, *kind, p, 10);
        assert_eq!(
            (si.added, si.replaced, si.uncanonical),
            (sr.added, sr.replaced, sr.uncanonical)
        );
    }
    let mut queries: Vec<String> = (0..600)
        .map(|i| format!("http://www.h{}.example/p{}/q?z=1", i * 5 % 3100, i * 7))
        .collect();
    queries.extend(
        [
            "http://shared.example/x/y",
            "http://a.shared.example/",
            "http://198.51.100.200/",
            "http://198.51.7.1/",
            "http://198.52.0.1/",
            "http://pipe.example/a|b/c",
        ]
        .map(String::from),
    );
    let mut nonempty = 0;
    for q in &queries {
        let want = index.check_url(q);
        let got = redis.lookup_url(q).expect("lookup");
        assert_eq!(got, want, "{q}");
        nonempty += usize::from(!want.is_empty());
    }
    assert_eq!(
        redis
            .lookup_url("http://pipe.example/a|b/c")
            .expect("l")
            .len(),
        1
    );
    assert!(
        nonempty > 100,
        "the queries should hit something: {nonempty}"
    );
    for d in [
        "h7.example",
        "x.h7.example",
        "shared.example",
        "nothing.example",
    ] {
        assert_eq!(
            redis.lookup_domain(d).expect("d"),
            index.check_domain(d),
            "{d}"
        );
    }
    // Re-import half of it: still the same, and the dropped half is gone
    // from Redis too (no key left behind).
    let half = parsed(feeds_[0].2.entries[..6000].to_vec());
    let si = TestBackend::import(&mut index, "a-feed", Kind::Phishing, &half, 11);
    let sr = TestBackend::import(&mut redis, "a-feed", Kind::Phishing, &half, 11);
    assert_eq!(si.replaced, sr.replaced);
    for q in &queries {
        assert_eq!(
            redis.lookup_url(q).expect("lookup"),
            index.check_url(q),
            "{q}"
        );
    }
    TestBackend::remove(&mut index, "a-feed");
    TestBackend::remove(&mut redis, "a-feed");
    TestBackend::remove(&mut index, "b-feed");
    TestBackend::remove(&mut redis, "b-feed");
    assert_eq!(
        TestBackend::remove(&mut index, "c|feed"),
        TestBackend::remove(&mut redis, "c|feed")
    );
    let keys = server.raw("KEYS t-same:*").unwrap_or_default();
    assert!(
        keys.starts_with("*0"),
        "keys left after removing all: {keys:?}"
    );
}

// ---- failures --------------------------------------------------------------

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

fn setup_for_failure(name: &str, prefix: &str) -> (Redis, RedisStore, Vec<Hit>) {
    let server = Redis::start(name);
    let store = RedisStore::connect(&server.url(), Duration::from_millis(300))
        .expect("connect")
        .with_prefix(prefix);
    store
        .import(
            "s",
            Kind::Phishing,
            "urls",
            &parsed(vec![url("http://evil.example/", None)]),
            1,
        )
        .expect("import");
    let before = store.lookup_url("http://evil.example/a").expect("lookup");
    assert_eq!(before.len(), 1);
    (server, store, before)
}

/// Wait for lookups to work again; how long it took.
fn recovers(store: &RedisStore, want: &[Hit]) -> Duration {
    let t = Instant::now();
    loop {
        match store.lookup_url("http://evil.example/a") {
            Ok(h) => {
                assert_eq!(h, want);
                return t.elapsed();
            }
            Err(e) => assert!(t.elapsed() < Duration::from_secs(10), "no recovery: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[cfg_attr(
    outwork_no_redis,
    ignore = "needs redis-server (OUTWORK_REQUIRE_REDIS=1 makes this a failure)"
)]
fn killed_redis_fails_fast_then_recovers() {
    if !have_redis() {
        return;
    }
    let (mut server, store, before) = setup_for_failure("kill", "t-kill:");
    server.save();
    server.kill();
    for i in 0..3 {
        let (r, took) = timed(|| store.lookup_url("http://evil.example/a"));
        let err = r.expect_err("Redis is down");
        assert!(took < Duration::from_secs(2), "call {i} took {took:?}");
        assert!(err.to_string().contains("redis"), "{err}");
        // The other lookups fail the same way.
        assert!(store.lookup_domain("evil.example").is_err());
        assert!(store.lookup_sha256(&[0; 32]).is_err());
        std::thread::sleep(Duration::from_millis(200));
    }
    // The same port and data.
    server.spawn();
    let took = recovers(&store, &before);
    assert!(took < Duration::from_secs(2), "recovery took {took:?}");
    assert_eq!(store.sources().expect("sources")[0].name, "s");
}

#[test]
#[cfg_attr(
    outwork_no_redis,
    ignore = "needs redis-server (OUTWORK_REQUIRE_REDIS=1 makes this a failure)"
)]
fn hung_redis_times_out_then_recovers() {
    if !have_redis() {
        return;
    }
    let (server, store, before) = setup_for_failure("hung", "t-hung:");
    server.signal("STOP");
    let (r, took) = timed(|| store.lookup_url("http://evil.example/a"));
    assert!(r.is_err(), "a stopped Redis cannot answer");
    assert!(
        took >= Duration::from_millis(250),
        "timed out too early? {took:?}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // A new connection to a stopped server: accepted by the kernel, never
    // answered; still bounded.
    let (r, took) = timed(|| store.lookup_url("http://evil.example/a"));
    assert!(r.is_err());
    assert!(took < Duration::from_secs(2), "took {took:?}");
    server.signal("CONT");
    recovers(&store, &before);
}

#[test]
fn nothing_listening_fails_fast() {
    let port = free_port();
    let (r, took) = timed(|| {
        RedisStore::connect(
            &format!("redis://127.0.0.1:{port}/"),
            Duration::from_millis(300),
        )
    });
    let err = r.expect_err("nothing listens there");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
    // A lazily opened store only fails at use.
    let lazy = RedisStore::open(
        &format!("redis://127.0.0.1:{port}/"),
        Duration::from_millis(300),
    )
    .expect("a good URL");
    assert!(lazy.lookup_url("http://x.example/").is_err());
    assert!(RedisStore::open("not a url", Duration::from_millis(300)).is_err());
    // A password in the URL is not repeated in errors.
    let e = RedisStore::connect(
        &format!("redis://:hunter2@127.0.0.1:{port}/"),
        Duration::from_millis(300),
    )
    .expect_err("down");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
#[cfg_attr(
    outwork_no_redis,
    ignore = "needs redis-server (OUTWORK_REQUIRE_REDIS=1 makes this a failure)"
)]
fn shared_across_threads() {
    if !have_redis() {
        return;
    }
    let server = Redis::start("threads");
    let store = std::sync::Arc::new(redis_store(&server, "t-threads:"));
    store
        .import(
            "s",
            Kind::Phishing,
            "urls",
            &parsed(vec![url("http://evil.example/", None)]),
            1,
        )
        .expect("import");
    let lookup: std::sync::Arc<dyn Lookup> = store;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let l = lookup.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    assert_eq!(l.lookup_url("http://evil.example/x").expect("l").len(), 1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
}
