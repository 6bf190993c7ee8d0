//! A small clamd client: the INSTREAM command over a unix or TCP socket,
//! every step under one deadline. clamd unpacks archives and documents
//! itself, so each attachment is sent once, as it came.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Where clamd listens: `unix:/run/clamav/clamd.ctl`, `/path/to/socket`,
/// or `host:port`.
#[derive(Debug, Clone, PartialEq)]
pub enum ClamdAddr {
    Unix(std::path::PathBuf),
    Tcp(String),
}

impl ClamdAddr {
    pub fn parse(s: &str) -> Result<ClamdAddr, String> {
        let s = s.trim();
        if let Some(p) = s.strip_prefix("unix:") {
            return Ok(ClamdAddr::Unix(p.into()));
        }
        if s.starts_with('/') {
            return Ok(ClamdAddr::Unix(s.into()));
        }
        let t = s.strip_prefix("tcp:").unwrap_or(s);
        if t.rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            return Ok(ClamdAddr::Tcp(t.to_string()));
        }
        Err(format!(
            "clamd address {s:?}: expected unix:/path, /path or host:port"
        ))
    }
}

impl std::fmt::Display for ClamdAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClamdAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ClamdAddr::Tcp(a) => write!(f, "{a}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Clamd {
    pub addr: ClamdAddr,
    /// Deadline for one whole message (all its attachments).
    pub timeout: Duration,
    /// Attachments larger than this are not sent (clamd's StreamMaxLength
    /// would refuse them anyway).
    pub max_bytes: usize,
}

/// What clamd said about one stream.
#[derive(Debug, Clone, PartialEq)]
pub enum ClamdReply {
    Clean,
    Found(String),
}

trait Conn: Read + Write {}
impl<T: Read + Write> Conn for T {}

impl Clamd {
    fn connect(&self, deadline: Instant) -> Result<Box<dyn Conn>, String> {
        let left = remaining(deadline)?;
        match &self.addr {
            #[cfg(unix)]
            ClamdAddr::Unix(p) => {
                let s = std::os::unix::net::UnixStream::connect(p)
                    .map_err(|e| format!("clamd {}: {e}", self.addr))?;
                s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
                s.set_write_timeout(Some(left)).map_err(|e| e.to_string())?;
                Ok(Box::new(s))
            }
            #[cfg(not(unix))]
            ClamdAddr::Unix(_) => Err("unix sockets are not supported here".into()),
            ClamdAddr::Tcp(a) => {
                let sa = a
                    .to_socket_addrs()
                    .map_err(|e| format!("clamd {a}: {e}"))?
                    .next()
                    .ok_or_else(|| format!("clamd {a}: no address"))?;
                let s =
                    TcpStream::connect_timeout(&sa, left).map_err(|e| format!("clamd {a}: {e}"))?;
                s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
                s.set_write_timeout(Some(left)).map_err(|e| e.to_string())?;
                Ok(Box::new(s))
            }
        }
    }

    /// Scan one stream, finishing before `deadline`.
    pub fn scan(&self, data: &[u8], deadline: Instant) -> Result<ClamdReply, String> {
        let mut c = self.connect(deadline)?;
        let io = |e: std::io::Error| format!("clamd {}: {e}", self.addr);
        c.write_all(b"zINSTREAM\0").map_err(io)?;
        for chunk in data.chunks(64 * 1024) {
            remaining(deadline)?;
            c.write_all(&(chunk.len() as u32).to_be_bytes())
                .map_err(io)?;
            c.write_all(chunk).map_err(io)?;
        }
        c.write_all(&0u32.to_be_bytes()).map_err(io)?;
        c.flush().map_err(io)?;
        // The reply is one short line; never read more than 4 KiB of it.
        let mut reply = Vec::new();
        c.take(4096).read_to_end(&mut reply).map_err(io)?;
        parse_reply(&reply)
    }
}

fn remaining(deadline: Instant) -> Result<Duration, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err("clamd: deadline passed".into())
    } else {
        Ok(left)
    }
}

/// `stream: OK`, `stream: Name FOUND`, or `… ERROR`.
pub fn parse_reply(reply: &[u8]) -> Result<ClamdReply, String> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n', '\r']).trim();
    let body = text.split_once(": ").map_or(text, |(_, b)| b);
    if body == "OK" {
        Ok(ClamdReply::Clean)
    } else if let Some(name) = body.strip_suffix(" FOUND") {
        Ok(ClamdReply::Found(name.chars().take(200).collect()))
    } else if text.is_empty() {
        Err("clamd closed the connection without a reply".into())
    } else {
        Err(format!(
            "clamd: {}",
            text.chars().take(200).collect::<String>()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(parse_reply(b"stream: OK\0"), Ok(ClamdReply::Clean));
        assert_eq!(
            parse_reply(b"stream: Eicar-Signature FOUND\0"),
            Ok(ClamdReply::Found("Eicar-Signature".into()))
        );
        assert!(parse_reply(b"INSTREAM size limit exceeded. ERROR\0").is_err());
        assert!(parse_reply(b"").is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(
            ClamdAddr::parse("unix:/run/clamav/clamd.ctl"),
            Ok(ClamdAddr::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            ClamdAddr::parse("/tmp/c.sock"),
            Ok(ClamdAddr::Unix("/tmp/c.sock".into()))
        );
        assert_eq!(
            ClamdAddr::parse("127.0.0.1:3310"),
            Ok(ClamdAddr::Tcp("127.0.0.1:3310".into()))
        );
        assert!(ClamdAddr::parse("clamd").is_err());
    }
}
