//! `intel update` against a tiny HTTP/1.1 server on loopback: conditional
//! requests, retries, timeouts, size bounds and the sanity checks that keep
//! a corrupt download from replacing good data.

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

use outwork_intel::{FeedOutcome, FeedSpec, UpdateOptions, UpdateReport, state_path, update};
use outwork_intel::{Index, Kind};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---- the server ------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Req {
    path: String,
    /// lower-cased names
    headers: Vec<(String, String)>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Resp {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Duration,
}

fn ok(body: impl Into<Vec<u8>>) -> Resp {
    Resp {
        status: 200,
        headers: Vec::new(),
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn status(code: u16) -> Resp {
    Resp {
        status: code,
        headers: Vec::new(),
        body: format!("status {code}\n").into_bytes(),
        delay: Duration::ZERO,
    }
}

/// Given the request and how many requests for that path came before it.
type Handler = dyn Fn(&Req, usize) -> Resp + Send + Sync;

struct Server {
    port: u16,
    log: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    fn start(handler: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let log: Arc<Mutex<Vec<Req>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let l = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (l, h) = (l.clone(), handler.clone());
                std::thread::spawn(move || serve(conn, &l, &*h));
            }
        });
        Server { port, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self, path: &str) -> Vec<Req> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

fn serve(mut conn: TcpStream, log: &Mutex<Vec<Req>>, handler: &Handler) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let req = Req { path, headers };
    let nth = {
        let mut log = log.lock().unwrap();
        let nth = log.iter().filter(|r| r.path == req.path).count();
        log.push(req.clone());
        nth
    };
    let resp = handler(&req, nth);
    std::thread::sleep(resp.delay);
    let mut out = format!("HTTP/1.1 {} Whatever\r\nConnection: close\r\n", resp.status);
    if resp.status != 304 {
        out.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    for (n, v) in &resp.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if resp.status != 304 {
        bytes.extend_from_slice(&resp.body);
    }
    let _ = conn.write_all(&bytes);
    let _ = conn.flush();
}

// ---- helpers ---------------------------------------------------------------------

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("outwork-update-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

fn urls(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("http://{prefix}{i}.example/login\n"))
        .collect()
}

fn feed(name: &str, url: String) -> FeedSpec {
    FeedSpec {
        name: name.into(),
        url,
        ..Default::default()
    }
}

fn opts() -> UpdateOptions {
    UpdateOptions {
        timeout: Duration::from_secs(5),
        retries: 3,
        backoff: Duration::from_millis(10),
        now: 1_700_000_000,
        ..Default::default()
    }
}

fn outcome(r: &UpdateReport, name: &str) -> FeedOutcome {
    r.feeds
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.outcome.clone())
        .expect("feed in report")
}

fn listed(store: &Path, url: &str) -> bool {
    !Index::load(store).expect("load").check_url(url).is_empty()
}

/// Serves `first` to the first request for a path and `then` afterwards.
fn first_then(
    first: impl Fn() -> Resp + Send + Sync + 'static,
    then: impl Fn() -> Resp + Send + Sync + 'static,
) -> Server {
    Server::start(move |_, nth| if nth == 0 { first() } else { then() })
}

// ---- tests -----------------------------------------------------------------------

#[test]
fn first_fetch_imports_and_saves() {
    let d = dir("first");
    let store = d.join("intel.owi");
    let server = Server::start(|_, _| Resp {
        headers: vec![
            ("ETag", "\"v1\"".into()),
            ("Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT".into()),
        ],
        ..ok(urls("phish", 3))
    });
    let r = update(
        &store,
        &[feed("openphish", server.url("/feed.txt"))],
        &opts(),
    )
    .unwrap();
    assert_eq!(
        outcome(&r, "openphish"),
        FeedOutcome::Updated {
            entries: 3,
            malformed: 0
        }
    );
    assert!(r.saved);
    assert_eq!(r.feeds[0].format, Some("urls"));
    let idx = Index::load(&store).unwrap();
    let hits = idx.check_url("http://phish1.example/login");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].source, "openphish");
    assert_eq!(hits[0].kind, Kind::Phishing);
    assert_eq!(idx.sources()[0].imported_at, 1_700_000_000);
    let reqs = server.requests("/feed.txt");
    assert_eq!(reqs.len(), 1);
    let ua = reqs[0].header("user-agent").unwrap_or("");
    assert!(ua.starts_with("outwork/"), "{ua}");
    assert_eq!(reqs[0].header("if-none-match"), None);
    let state = std::fs::read_to_string(state_path(&store)).expect("state file");
    assert!(state.contains("\\\"v1\\\""), "{state}");
    assert!(state.contains("Tue, 14 Nov 2023 22:13:20 GMT"), "{state}");
}

#[test]
fn second_fetch_is_conditional_and_304_leaves_the_store_untouched() {
    use std::os::unix::fs::MetadataExt;
    let d = dir("cond");
    let store = d.join("intel.owi");
    let lm = "Tue, 14 Nov 2023 22:13:20 GMT";
    let server = Server::start(move |req, _| {
        if req.header("if-none-match") == Some("\"v1\"") {
            return status(304);
        }
        Resp {
            headers: vec![("ETag", "\"v1\"".into()), ("Last-Modified", lm.into())],
            ..ok(urls("phish", 3))
        }
    });
    let feeds = [feed("openphish", server.url("/feed.txt"))];
    let r = update(&store, &feeds, &opts()).unwrap();
    assert!(matches!(
        outcome(&r, "openphish"),
        FeedOutcome::Updated { .. }
    ));
    let (bytes, meta) = (
        std::fs::read(&store).unwrap(),
        std::fs::metadata(&store).unwrap(),
    );
    let state = std::fs::read(state_path(&store)).unwrap();
    std::thread::sleep(Duration::from_millis(20));

    let r = update(
        &store,
        &feeds,
        &UpdateOptions {
            now: 1_700_000_999,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(outcome(&r, "openphish"), FeedOutcome::NotModified);
    assert!(!r.saved);
    let reqs = server.requests("/feed.txt");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(reqs[1].header("if-modified-since"), Some(lm));
    let meta2 = std::fs::metadata(&store).unwrap();
    assert_eq!(std::fs::read(&store).unwrap(), bytes);
    assert_eq!(meta2.ino(), meta.ino(), "store was replaced");
    assert_eq!(meta2.modified().unwrap(), meta.modified().unwrap());
    assert_eq!(std::fs::read(state_path(&store)).unwrap(), state);
    assert!(listed(&store, "http://phish2.example/login"));
}

#[test]
fn validators_are_not_sent_when_the_store_lost_the_source() {
    let d = dir("lost");
    let store = d.join("intel.owi");
    let server = Server::start(|req, _| {
        if req.header("if-none-match").is_some() {
            return status(304);
        }
        Resp {
            headers: vec![("ETag", "\"v1\"".into())],
            ..ok(urls("phish", 3))
        }
    });
    let feeds = [feed("openphish", server.url("/feed.txt"))];
    update(&store, &feeds, &opts()).unwrap();
    // The store goes away (or is replaced) but the state file stays: a 304
    // would leave nothing serving, so the fetch must be unconditional.
    std::fs::remove_file(&store).unwrap();
    let r = update(&store, &feeds, &opts()).unwrap();
    assert!(matches!(
        outcome(&r, "openphish"),
        FeedOutcome::Updated { .. }
    ));
    assert_eq!(
        server.requests("/feed.txt")[1].header("if-none-match"),
        None
    );
    assert!(listed(&store, "http://phish0.example/login"));
}

#[test]
fn a_500_then_a_200_succeeds_by_retrying() {
    let d = dir("retry");
    let store = d.join("intel.owi");
    let server = first_then(|| status(500), || ok(urls("phish", 4)));
    let r = update(&store, &[feed("f", server.url("/f"))], &opts()).unwrap();
    assert_eq!(
        outcome(&r, "f"),
        FeedOutcome::Updated {
            entries: 4,
            malformed: 0
        }
    );
    assert_eq!(r.feeds[0].attempts, 2);
    assert_eq!(server.requests("/f").len(), 2);
    assert!(listed(&store, "http://phish3.example/login"));
}

#[test]
fn persistent_5xx_gives_up_after_the_configured_attempts() {
    let d = dir("5xx");
    let store = d.join("intel.owi");
    let server = Server::start(|_, _| status(503));
    let r = update(&store, &[feed("f", server.url("/f"))], &opts()).unwrap();
    let FeedOutcome::Failed { error } = outcome(&r, "f") else {
        panic!("{r:?}")
    };
    assert!(error.contains("503"), "{error}");
    assert_eq!(server.requests("/f").len(), 3);
    assert!(!r.saved);
    assert!(!store.exists(), "nothing changed: no store written");
}

#[test]
fn a_slow_server_fails_within_the_timeout_and_old_data_keeps_serving() {
    let d = dir("slow");
    let store = d.join("intel.owi");
    let server = first_then(
        || ok(urls("phish", 3)),
        || Resp {
            delay: Duration::from_secs(10),
            ..ok(urls("other", 3))
        },
    );
    let feeds = [feed("f", server.url("/f"))];
    update(&store, &feeds, &opts()).unwrap();
    let o = UpdateOptions {
        timeout: Duration::from_millis(300),
        retries: 2,
        backoff: Duration::from_millis(50),
        ..opts()
    };
    let t = Instant::now();
    let r = update(&store, &feeds, &o).unwrap();
    let took = t.elapsed();
    let FeedOutcome::Failed { error } = outcome(&r, "f") else {
        panic!("{r:?}")
    };
    assert!(error.contains("timed out"), "{error}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(took >= Duration::from_millis(600), "two attempts: {took:?}");
    assert_eq!(r.feeds[0].attempts, 2);
    assert!(listed(&store, "http://phish0.example/login"));
}

#[test]
fn a_binary_body_is_refused_and_previous_entries_stay() {
    let d = dir("binary");
    let store = d.join("intel.owi");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    let server = first_then(|| ok(urls("phish", 5)), move || ok(garbage.clone()));
    let feeds = [feed("f", server.url("/f"))];
    update(&store, &feeds, &opts()).unwrap();
    let r = update(&store, &feeds, &opts()).unwrap();
    let FeedOutcome::Refused { reason } = outcome(&r, "f") else {
        panic!("{r:?}")
    };
    assert!(reason.contains("binary"), "{reason}");
    assert!(!r.saved);
    assert!(listed(&store, "http://phish4.example/login"));
    assert_eq!(Index::load(&store).unwrap().sources()[0].entries, 5);
}

#[test]
fn a_mostly_malformed_body_is_refused_even_with_a_format() {
    let d = dir("malformed");
    let store = d.join("intel.owi");
    let html = "<html>\n<head><title>Captive portal</title></head>\n<body>\n\
                <p>Please log in</p>\nhttp://portal.example/login\n</body>\n</html>\n";
    let server = first_then(|| ok(urls("phish", 5)), move || ok(html));
    let feeds = [FeedSpec {
        format: Some("urls".into()),
        ..feed("f", server.url("/f"))
    }];
    update(&store, &feeds, &opts()).unwrap();
    let r = update(&store, &feeds, &opts()).unwrap();
    let FeedOutcome::Refused { reason } = outcome(&r, "f") else {
        panic!("{r:?}")
    };
    assert!(reason.contains("malformed"), "{reason}");
    assert!(listed(&store, "http://phish4.example/login"));
    assert!(!listed(&store, "http://portal.example/login"));
}

#[test]
fn a_truncated_feed_that_shrinks_more_than_90_percent_is_refused() {
    let d = dir("shrink");
    let store = d.join("intel.owi");
    let server = first_then(|| ok(urls("phish", 100)), || ok(urls("phish", 5)));
    let feeds = [feed("f", server.url("/f"))];
    update(&store, &feeds, &opts()).unwrap();
    let r = update(&store, &feeds, &opts()).unwrap();
    let FeedOutcome::Refused { reason } = outcome(&r, "f") else {
        panic!("{r:?}")
    };
    assert!(reason.contains("shrank from 100 to 5"), "{reason}");
    let idx = Index::load(&store).unwrap();
    assert_eq!(idx.sources()[0].entries, 100);
    assert_eq!(idx.check_url("http://phish50.example/login").len(), 1);
}

#[test]
fn a_404_fails_at_once_without_retries() {
    let d = dir("404");
    let store = d.join("intel.owi");
    let server = Server::start(|_, _| status(404));
    let t = Instant::now();
    let r = update(
        &store,
        &[feed("f", server.url("/gone"))],
        &UpdateOptions {
            backoff: Duration::from_secs(5),
            ..opts()
        },
    )
    .unwrap();
    let FeedOutcome::Failed { error } = outcome(&r, "f") else {
        panic!("{r:?}")
    };
    assert!(error.contains("404"), "{error}");
    assert_eq!(server.requests("/gone").len(), 1);
    assert_eq!(r.feeds[0].attempts, 1);
    assert!(t.elapsed() < Duration::from_secs(4), "no backoff wait");
}

#[test]
fn one_failing_feed_does_not_lose_the_good_ones_update() {
    let d = dir("mixed");
    let store = d.join("intel.owi");
    let server = Server::start(|req, _| match req.path.as_str() {
        "/good" => ok(urls("good", 3)),
        "/refused" => ok(""),
        _ => status(500),
    });
    let feeds = [
        feed("bad", server.url("/bad")),
        feed("good", server.url("/good")),
        feed("empty", server.url("/refused")),
    ];
    let r = update(
        &store,
        &feeds,
        &UpdateOptions {
            retries: 2,
            ..opts()
        },
    )
    .unwrap();
    assert!(matches!(outcome(&r, "bad"), FeedOutcome::Failed { .. }));
    assert!(matches!(outcome(&r, "empty"), FeedOutcome::Refused { .. }));
    assert_eq!(
        outcome(&r, "good"),
        FeedOutcome::Updated {
            entries: 3,
            malformed: 0
        }
    );
    assert!(r.saved);
    assert!(r.any_failed());
    let idx = Index::load(&store).unwrap();
    assert_eq!(idx.sources().len(), 1);
    assert_eq!(
        idx.check_url("http://good2.example/login")[0].source,
        "good"
    );
}

#[test]
fn a_download_over_the_size_bound_fails() {
    let d = dir("big");
    let store = d.join("intel.owi");
    let server = Server::start(|_, _| ok(urls("phish", 100)));
    let r = update(
        &store,
        &[feed("f", server.url("/f"))],
        &UpdateOptions {
            max_bytes: 1000,
            ..opts()
        },
    )
    .unwrap();
    let FeedOutcome::Failed { error } = outcome(&r, "f") else {
        panic!("{r:?}")
    };
    assert!(error.contains("larger than 1000"), "{error}");
    assert_eq!(server.requests("/f").len(), 1, "not retried");
}

#[test]
fn format_kind_and_never_block_come_from_the_spec() {
    let d = dir("spec");
    let store = d.join("intel.owi");
    let never = d.join("never.txt");
    std::fs::write(&never, "github.com\n").unwrap();
    let server = Server::start(|_, _| ok("github.com\nevil.example\nworse.example\n"));
    let spec = FeedSpec {
        format: Some("domains".into()),
        kind: Some("malware".into()),
        never_block: Some(never),
        ..feed("doms", server.url("/d"))
    };
    let r = update(&store, std::slice::from_ref(&spec), &opts()).unwrap();
    assert_eq!(
        outcome(&r, "doms"),
        FeedOutcome::Updated {
            entries: 2,
            malformed: 0
        }
    );
    assert_eq!(r.feeds[0].format, Some("domains"));
    let idx = Index::load(&store).unwrap();
    assert!(idx.check_domain("github.com").is_empty());
    let hits = idx.check_domain("evil.example");
    assert_eq!(hits[0].kind, Kind::Malware);

    // A bad spec fails that feed before any request is made.
    let bad = FeedSpec {
        kind: Some("nonsense".into()),
        ..feed("bad", server.url("/bad"))
    };
    let missing = FeedSpec {
        never_block: Some(d.join("missing.txt")),
        ..feed("missing", server.url("/missing"))
    };
    let r = update(&store, &[bad, missing], &opts()).unwrap();
    assert!(matches!(outcome(&r, "bad"), FeedOutcome::Failed { .. }));
    assert!(matches!(outcome(&r, "missing"), FeedOutcome::Failed { .. }));
    assert!(server.requests("/bad").is_empty());
    assert!(server.requests("/missing").is_empty());
}
