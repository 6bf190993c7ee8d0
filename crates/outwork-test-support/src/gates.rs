// Which real servers the integration tests can use on this machine.
//
// One file, two users:
// - each crate's build.rs includes this file
//   (`#[path = "../outwork-test-support/src/gates.rs"]`: a build script
//   cannot depend on this crate, which depends on outwork-server) and calls `emit`: a tool that is
//   missing (and not required) sets the cfg `outwork_no_<name>`, and its
//   tests carry `#[cfg_attr(outwork_no_<name>, ignore = "<reason>")]`, so
//   cargo's summary counts them as *ignored* and prints the reason
//   (`test x ... ignored, needs redis-server (...)`). A test that returns
//   early would be counted as *passed*, its note hidden by cargo.
// - the tests (`use outwork_test_support::gates`) call `check` first thing: the
//   run-time answer (a tool removed after the build skips with a
//   `SKIPPED:` line; `OUTWORK_REQUIRE_*=1` turns a missing tool into a
//   failure, as CI needs).
//
// The build script re-runs when PATH, a PATH directory (a tool installed),
// tests/browser (playwright-core installed) or one of the variables below
// changes.

use std::path::{Path, PathBuf};

/// A real server some tests need.
pub struct Gate {
    /// `outwork_no_<name>` is the cfg; the `#[ignore]` reason names it.
    pub name: &'static str,
    /// Set to `1`: a missing tool fails the test instead of skipping it.
    pub env: &'static str,
    /// What it needs, for the reason: "redis-server".
    pub needs: &'static str,
    /// How to get it.
    pub install: &'static str,
}

/// A `redis-server` to start (the Redis intel store and history).
pub const REDIS: Gate = Gate {
    name: "redis",
    env: "OUTWORK_REQUIRE_REDIS",
    needs: "redis-server",
    install: "apt-get install redis-server",
};
/// A `clamd` to start (virus-scanning tests).
pub const CLAMD: Gate = Gate {
    name: "clamd",
    env: "OUTWORK_REQUIRE_CLAMD",
    needs: "clamd",
    install: "apt-get install clamav-daemon",
};
/// An `nsd` to start (SPF/DKIM/DMARC records on a loopback DNS server).
pub const NSD: Gate = Gate {
    name: "nsd",
    env: "OUTWORK_REQUIRE_NSD",
    needs: "nsd",
    install: "apt-get install nsd",
};
/// Postfix, swaks and root (mail-flow tests through a real MTA).
pub const POSTFIX: Gate = Gate {
    name: "postfix",
    env: "OUTWORK_REQUIRE_POSTFIX",
    needs: "postfix, swaks and root",
    install: "apt-get install postfix swaks; run as root",
};
/// `rspamc`, Rspamd's client (tests of the Rspamd-compatible protocol).
pub const RSPAMC: Gate = Gate {
    name: "rspamc",
    env: "OUTWORK_REQUIRE_RSPAMC",
    needs: "rspamc",
    install: "apt-get install rspamd",
};
/// node, chromium and playwright-core (the dashboard in a real browser).
pub const BROWSER: Gate = Gate {
    name: "browser",
    env: "OUTWORK_REQUIRE_BROWSER",
    needs: "node, chromium and playwright-core",
    install: "apt-get install nodejs chromium; cd tests/browser && npm install --no-save playwright-core",
};
/// Not a tool but servers started by hand: on only when asked.
pub const ANCHORS: Gate = Gate {
    name: "anchors",
    env: "OUTWORK_ANCHORS",
    needs: "a real Rspamd and spamd",
    install: "../shared/anchors/setup.sh",
};

/// Not a tool but data: the dev corpus beside the repo (`.ci/run` has it).
pub const CORPUS: Gate = Gate {
    name: "corpus",
    env: "OUTWORK_REQUIRE_CORPUS",
    needs: "the dev corpus at ../shared/corpus",
    install: "check out ../shared beside the repository",
};

/// Every gate (the `gates` test checks each one's reason and cfg).
pub const ALL: [&Gate; 8] = [
    &REDIS, &CLAMD, &NSD, &POSTFIX, &RSPAMC, &BROWSER, &ANCHORS, &CORPUS,
];

/// The dev corpus, when it is there.
pub fn corpus_dir() -> Option<PathBuf> {
    let d = repo().join("../shared/corpus");
    d.join("MANIFEST.tsv").is_file().then_some(d)
}

/// The `#[ignore]` reason of a test behind `g`, word for word.
pub fn reason(g: &Gate) -> String {
    if g.name == "anchors" {
        format!("needs {} ({}; {}=1 runs it)", g.needs, g.install, g.env)
    } else {
        format!("needs {} ({}=1 makes this a failure)", g.needs, g.env)
    }
}

/// Is `g`'s variable set to 1?
pub fn required(g: &Gate) -> bool {
    std::env::var(g.env).is_ok_and(|v| v == "1")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Chromium for the browser test: `$CHROMIUM`, else Debian's.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// What of `g` this machine lacks (`None`: all there).
pub fn missing(g: &Gate) -> Option<String> {
    let absent = |cmds: &[&str]| -> Option<String> {
        let m: Vec<&str> = cmds.iter().copied().filter(|c| !on_path(c)).collect();
        (!m.is_empty()).then(|| format!("{} not found", m.join(", ")))
    };
    match g.name {
        "redis" => absent(&["redis-server"]),
        "clamd" => absent(&["clamd"]),
        "nsd" => absent(&["nsd"]),
        "rspamc" => absent(&["rspamc"]),
        "postfix" => absent(&["postfix", "swaks", "postqueue"])
            .or_else(|| (!is_root()).then(|| "not running as root".to_string())),
        "browser" => absent(&["node"])
            .or_else(|| {
                chromium()
                    .is_none()
                    .then(|| "chromium not found".to_string())
            })
            .or_else(|| {
                let pw = repo().join("tests/browser/node_modules/playwright-core");
                (!pw.is_dir()).then(|| format!("{} not found", pw.display()))
            }),
        "anchors" => (!required(g)).then(|| format!("{} is not 1", g.env)),
        "corpus" => corpus_dir().is_none().then(|| {
            format!(
                "{} not found",
                repo().join("../shared/corpus/MANIFEST.tsv").display()
            )
        }),
        _ => Some(format!("unknown gate {}", g.name)),
    }
}

/// In a test, first thing: `true` to go on. A missing tool panics when
/// `g`'s variable is 1, else prints one `SKIPPED:` line and gives `false`.
pub fn check(g: &Gate) -> bool {
    let Some(what) = missing(g) else {
        return true;
    };
    assert!(
        !required(g) || g.name == "anchors",
        "{}=1 but {what} ({})",
        g.env,
        g.install
    );
    eprintln!("SKIPPED: {}: {what} ({})", reason(g), g.install);
    false
}

/// In build.rs: declare every gate's cfg and set it for the gates in
/// `gates` that this machine lacks.
pub fn emit(gates: &[&Gate]) {
    for g in ALL {
        println!("cargo::rustc-check-cfg=cfg(outwork_no_{})", g.name);
    }
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CHROMIUM");
    // A tool installed later changes its directory's mtime: re-detect.
    if let Some(p) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&p) {
            if d.is_absolute() && d.is_dir() {
                println!("cargo::rerun-if-changed={}", d.display());
            }
        }
    }
    let browser = repo().join("tests/browser");
    if gates.iter().any(|g| g.name == "browser") && browser.is_dir() {
        println!("cargo::rerun-if-changed={}", browser.display());
    }
    if gates.iter().any(|g| g.name == "corpus") {
        // Re-detect when ../shared appears or goes.
        println!("cargo::rerun-if-changed={}", repo().join("..").display());
    }
    for g in gates {
        println!("cargo::rerun-if-env-changed={}", g.env);
        // Required: the test runs, and fails on what is missing.
        if !required(g) && missing(g).is_some() {
            println!("cargo::rustc-cfg=outwork_no_{}", g.name);
        }
    }
}
