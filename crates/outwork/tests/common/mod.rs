//! What the CLI tests (tests/cli_*.rs) share: the sandboxed `outwork`
//! binary, its output, one HTTP request, `outwork serve` as a child, and the
//! verdict the milter would store, a one-URL blocklist and a quarantine
//! config.

// Each test binary uses a different part of this.
#![allow(dead_code)]

use outwork_test_support::sandbox_home;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// outwork with a home of its own: its default data files (verdict log,
/// intel store, model, history) go to a throw-away directory, never the
/// user's `~/.local/share/outwork`.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_outwork"));
    c.env("HOME", sandbox_home())
        .env("XDG_DATA_HOME", sandbox_home().join(".local/share"));
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run outwork")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One HTTP/1.1 request on a new connection (`Connection: close`):
/// status and body.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write body");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = text(&out);
    let status = out
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status: {out}"));
    let body = out.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    (status, body)
}

/// `outwork serve` as a child process, killed on drop.
pub struct Serve {
    pub child: std::process::Child,
    pub addr: String,
    log: PathBuf,
}

impl Serve {
    pub fn start(config: &Path, intel: &Path, log: PathBuf) -> Serve {
        let child = bin()
            .args(["serve", "--config"])
            .arg(config)
            .arg("--intel")
            .arg(intel)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("spawn serve");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let addr = loop {
            let l = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(a) = l
                .split("HTTP API listening on http://")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
            {
                break a.to_string();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve did not start: {l}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        Serve { child, addr, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The symbols `/v1/scan` gives `msg`.
    pub fn symbols(&self, msg: &[u8]) -> Vec<String> {
        let (st, body) = http(&self.addr, "POST", "/v1/scan", &[], msg);
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["symbols"]
            .as_array()
            .expect("symbols")
            .iter()
            .map(|s| s["name"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The verdict the milter would store, from the one scan pipeline.
/// An intel store at `d/intel.owi` listing one phishing URL
/// (`https://login.evil.example/verify/`), imported by the CLI.
pub fn blocklist_store(d: &Path) -> PathBuf {
    let store = d.join("intel.owi");
    let feed = d.join("feed.txt");
    std::fs::write(&feed, "https://login.evil.example/verify/\n").expect("write");
    let o = run(bin()
        .args([
            "intel", "import", "--format", "urls", "--source", "s", "--intel",
        ])
        .arg(&store)
        .arg(&feed));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    store
}

/// `d/outwork.toml` naming the quarantine directory `d/q`: (the directory,
/// the config file).
pub fn quarantine_config(d: &Path) -> (PathBuf, PathBuf) {
    let qdir = d.join("q");
    let cfg = d.join("outwork.toml");
    std::fs::write(
        &cfg,
        format!("[milter]\nquarantine_dir = \"{}\"\n", qdir.display()),
    )
    .expect("cfg");
    (qdir, cfg)
}

pub fn offline_scan(raw: &[u8]) -> outwork_core::Verdict {
    outwork_engine::Scanner::offline(std::sync::Arc::new(outwork_core::Context::default()))
        .scan(raw, &Default::default(), &Default::default())
        .verdict
}
