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
    /// A unix socket path.
    Unix(std::path::PathBuf),
    /// `host:port`.
    Tcp(String),
}

/// Why clamd could not be used: a bad address, or a scan that did not get
/// an answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClamdError {
    /// `[inspect] clamd` is not one of the accepted forms.
    #[error("clamd address {addr:?}: expected unix:/path, /path or host:port")]
    BadAddress {
        /// The address as configured.
        addr: String,
    },
    /// clamd could not be reached (name lookup or connection).
    #[error("clamd {addr}: {source}")]
    Connect {
        /// Where clamd was looked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The host name resolved to no address.
    #[error("clamd {addr}: no address")]
    NoAddress {
        /// The `host:port` looked up.
        addr: String,
    },
    /// Sending the stream or reading the answer failed.
    #[error("clamd {addr}: {source}")]
    Io {
        /// Where clamd listens.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The message's clamd deadline passed before the scan was done.
    #[error("clamd {addr}: deadline passed")]
    Timeout {
        /// Where clamd listens.
        addr: String,
    },
    /// A unix socket address on a system without unix sockets.
    #[error("clamd {addr}: unix sockets are not supported here")]
    Unsupported {
        /// The address as configured.
        addr: String,
    },
    /// clamd closed the connection without saying anything.
    #[error("clamd closed the connection without a reply")]
    NoReply,
    /// clamd answered something other than OK or FOUND (an ERROR line,
    /// such as a size limit); its first 200 characters.
    #[error("clamd: {reply}")]
    BadReply {
        /// What clamd said.
        reply: String,
    },
}

impl ClamdAddr {
    /// Parse `unix:/path`, `/path`, `host:port` or `tcp:host:port`.
    pub fn parse(s: &str) -> Result<ClamdAddr, ClamdError> {
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
        Err(ClamdError::BadAddress {
            addr: s.to_string(),
        })
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

/// A clamd client (`[inspect] clamd`): INSTREAM, one connection per
/// attachment, bounded in time and size.
#[derive(Debug, Clone)]
pub struct Clamd {
    /// Where clamd listens.
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
    /// `stream: OK`.
    Clean,
    /// `stream: NAME FOUND`: the signature name.
    Found(String),
}

trait Conn: Read + Write {}
impl<T: Read + Write> Conn for T {}

impl Clamd {
    fn connect(&self, deadline: Instant) -> Result<Box<dyn Conn>, ClamdError> {
        let left = self.remaining(deadline)?;
        let connect = |source| ClamdError::Connect {
            addr: self.addr.to_string(),
            source,
        };
        let io = |source| ClamdError::Io {
            addr: self.addr.to_string(),
            source,
        };
        match &self.addr {
            #[cfg(unix)]
            ClamdAddr::Unix(p) => {
                let s = std::os::unix::net::UnixStream::connect(p).map_err(connect)?;
                s.set_read_timeout(Some(left)).map_err(io)?;
                s.set_write_timeout(Some(left)).map_err(io)?;
                Ok(Box::new(s))
            }
            #[cfg(not(unix))]
            ClamdAddr::Unix(_) => Err(ClamdError::Unsupported {
                addr: self.addr.to_string(),
            }),
            ClamdAddr::Tcp(a) => {
                let sa = a
                    .to_socket_addrs()
                    .map_err(connect)?
                    .next()
                    .ok_or_else(|| ClamdError::NoAddress { addr: a.clone() })?;
                let s = TcpStream::connect_timeout(&sa, left).map_err(connect)?;
                s.set_read_timeout(Some(left)).map_err(io)?;
                s.set_write_timeout(Some(left)).map_err(io)?;
                Ok(Box::new(s))
            }
        }
    }

    /// Scan one stream, finishing before `deadline`.
    pub fn scan(&self, data: &[u8], deadline: Instant) -> Result<ClamdReply, ClamdError> {
        let mut c = self.connect(deadline)?;
        let io = |source| ClamdError::Io {
            addr: self.addr.to_string(),
            source,
        };
        c.write_all(b"zINSTREAM\0").map_err(io)?;
        for chunk in data.chunks(64 * 1024) {
            self.remaining(deadline)?;
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

    /// Time left before `deadline`, or the timeout error.
    fn remaining(&self, deadline: Instant) -> Result<Duration, ClamdError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(ClamdError::Timeout {
                addr: self.addr.to_string(),
            })
        } else {
            Ok(left)
        }
    }
}

/// `stream: OK`, `stream: Name FOUND`, or `… ERROR`.
pub(crate) fn parse_reply(reply: &[u8]) -> Result<ClamdReply, ClamdError> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n', '\r']).trim();
    let body = text.split_once(": ").map_or(text, |(_, b)| b);
    if body == "OK" {
        Ok(ClamdReply::Clean)
    } else if let Some(name) = body.strip_suffix(" FOUND") {
        Ok(ClamdReply::Found(name.chars().take(200).collect()))
    } else if text.is_empty() {
        Err(ClamdError::NoReply)
    } else {
        Err(ClamdError::BadReply {
            reply: text.chars().take(200).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(parse_reply(b"stream: OK\0").ok(), Some(ClamdReply::Clean));
        assert_eq!(
            parse_reply(b"stream: Eicar-Signature FOUND\0").ok(),
            Some(ClamdReply::Found("Eicar-Signature".into()))
        );
        assert_eq!(
            parse_reply(b"INSTREAM size limit exceeded. ERROR\0")
                .expect_err("error line")
                .to_string(),
            "clamd: INSTREAM size limit exceeded. ERROR"
        );
        assert!(matches!(parse_reply(b""), Err(ClamdError::NoReply)));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            ClamdAddr::parse("unix:/run/clamav/clamd.ctl").ok(),
            Some(ClamdAddr::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            ClamdAddr::parse("/tmp/c.sock").ok(),
            Some(ClamdAddr::Unix("/tmp/c.sock".into()))
        );
        assert_eq!(
            ClamdAddr::parse("127.0.0.1:3310").ok(),
            Some(ClamdAddr::Tcp("127.0.0.1:3310".into()))
        );
        assert!(matches!(
            ClamdAddr::parse("clamd"),
            Err(ClamdError::BadAddress { .. })
        ));
    }
}
