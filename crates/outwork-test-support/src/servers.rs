//! Real servers of the test's own, on free loopback ports, stopped (and
//! their files removed) on drop. Callers check their gate first
//! (`gates::check(&gates::REDIS)`), so a missing tool is a skip there, not
//! a panic here.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` with persistence off except an explicit [`Redis::save`].
pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Start on a free port with a fresh directory named after `name`.
    pub fn start(name: &str) -> Redis {
        let mut s = Redis {
            child: None,
            port: crate::free_port(),
            dir: crate::temp_dir(&format!("redis-{name}-{}", crate::free_port())),
        };
        s.spawn();
        s
    }

    /// Start (or restart) on our port and directory; a `dump.rdb` left
    /// there by [`Redis::save`] is loaded. Returns once it answers PING.
    pub fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--dbfilename", "dump.rdb"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed (not on PATH): these tests need a real \
                 Redis; install it (e.g. `apt-get install -y redis-server`) and re-run"
            ),
            Err(e) => panic!("cannot start redis-server: {e}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.raw("PING").is_some_and(|r| r.starts_with("+PONG")) {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "redis-server exited at start ({status}); port {} taken?",
                    self.port
                );
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING in 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// One inline command, its first reply (up to 256 bytes).
    pub fn raw(&self, cmd: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(format!("{cmd}\r\n").as_bytes()).ok()?;
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// Snapshot the data to disk, so a restart finds it.
    pub fn save(&self) {
        let r = self.raw("SAVE").unwrap_or_default();
        assert!(r.starts_with("+OK"), "SAVE: {r:?}");
    }

    /// Kill the server (an outage); [`Redis::spawn`] brings it back.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Send `kill -SIG` (`STOP` freezes it: a server that accepts but
    /// never answers; `CONT` resumes it).
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} {pid}");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_ref() {
            // Not left stopped by a failed test's SIGSTOP.
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(c.id().to_string())
                .status();
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `clamd` with one local signature database (no download is possible
/// in tests), on a unix socket and on loopback TCP.
pub struct Clamd {
    child: Child,
    dir: PathBuf,
    /// The unix socket's path.
    pub sock: PathBuf,
    /// `127.0.0.1:PORT`.
    pub tcp: String,
}

impl Clamd {
    /// Start with `ndb` as the body of its only `.ndb` signature file;
    /// returns once both sockets answer (clamd loads slowly: up to 60 s).
    pub fn start(ndb: &str) -> Clamd {
        let dir = crate::temp_dir("clamd");
        std::fs::create_dir_all(dir.join("db")).expect("mkdir");
        std::fs::write(dir.join("db/outwork-test.ndb"), ndb).expect("signatures");
        let sock = dir.join("clamd.sock");
        let port = crate::free_port();
        let conf = dir.join("clamd.conf");
        std::fs::write(
            &conf,
            format!(
                "Foreground yes\nLocalSocket {}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nDatabaseDirectory {}\nLogFile {}\nPidFile {}\nStreamMaxLength 10M\n",
                sock.display(),
                dir.join("db").display(),
                dir.join("clamd.log").display(),
                dir.join("clamd.pid").display(),
            ),
        )
        .expect("write conf");
        let child = Command::new("clamd")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn clamd");
        let tcp = format!("127.0.0.1:{port}");
        let t0 = Instant::now();
        while !(sock.exists() && TcpStream::connect(&tcp).is_ok()) {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "clamd did not start; log: {}",
                std::fs::read_to_string(dir.join("clamd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Clamd {
            child,
            dir,
            sock,
            tcp,
        }
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
