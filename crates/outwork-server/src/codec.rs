//! The milter wire format, version 6: pure bytes ↔ values, no I/O.
//!
//! Every packet is `len: u32 (big-endian) | code: u8 | data: len-1 bytes`.
//! The MTA sends commands (`SMFIC_*`), the filter answers with replies
//! (`SMFIR_*`). Strings are NUL-terminated; integers are big-endian.
//!
//! The decoder never trusts a length: a packet longer than the caller's
//! limit is an error before a byte of it is buffered, and every field is
//! bounds-checked (hostile input yields [`CodecError`], never a panic).
//! Both directions are implemented both ways (encode and decode) so tests,
//! the fuzz target and the test MTA client can round-trip.

use std::fmt;

/// The protocol version we speak (Sendmail 8.14+, Postfix 2.6+).
pub(crate) const VERSION: u32 = 6;

/// The largest body chunk an MTA sends (Postfix: 65535 bytes), plus the
/// command byte: body packets up to this length are always allowed.
pub(crate) const MAX_BODY_PACKET: usize = 65_536;

/// Commands, MTA → filter.
pub(crate) mod cmd {
    /// `SMFIC_ABORT`: abort the current message (the connection stays).
    pub(crate) const ABORT: u8 = b'A';
    /// `SMFIC_BODY`: a body chunk.
    pub(crate) const BODY: u8 = b'B';
    /// `SMFIC_CONNECT`: the SMTP client's host, family, port and address.
    pub(crate) const CONNECT: u8 = b'C';
    /// `SMFIC_MACRO`: macros for the command that follows.
    pub(crate) const MACRO: u8 = b'D';
    /// `SMFIC_BODYEOB`: end of the message.
    pub(crate) const BODYEOB: u8 = b'E';
    /// `SMFIC_HELO`: the HELO/EHLO name.
    pub(crate) const HELO: u8 = b'H';
    /// `SMFIC_QUIT_NC`: end of this SMTP session, socket kept for the next.
    pub(crate) const QUIT_NC: u8 = b'K';
    /// `SMFIC_HEADER`: one header.
    pub(crate) const HEADER: u8 = b'L';
    /// `SMFIC_MAIL`: MAIL FROM.
    pub(crate) const MAIL: u8 = b'M';
    /// `SMFIC_EOH`: end of headers.
    pub(crate) const EOH: u8 = b'N';
    /// `SMFIC_OPTNEG`: option negotiation.
    pub(crate) const OPTNEG: u8 = b'O';
    /// `SMFIC_QUIT`: close the connection.
    pub(crate) const QUIT: u8 = b'Q';
    /// `SMFIC_RCPT`: RCPT TO.
    pub(crate) const RCPT: u8 = b'R';
    /// `SMFIC_DATA`: the DATA command.
    pub(crate) const DATA: u8 = b'T';
    /// `SMFIC_UNKNOWN`: an SMTP command the MTA did not recognise.
    pub(crate) const UNKNOWN: u8 = b'U';
}

/// Replies, filter → MTA.
pub(crate) mod reply {
    /// `SMFIR_ADDRCPT`: add a recipient.
    pub(crate) const ADDRCPT: u8 = b'+';
    /// `SMFIR_DELRCPT`: remove a recipient.
    pub(crate) const DELRCPT: u8 = b'-';
    /// `SMFIR_ACCEPT`: accept the message, no more events.
    pub(crate) const ACCEPT: u8 = b'a';
    /// `SMFIR_CONTINUE`: go on to the next event.
    pub(crate) const CONTINUE: u8 = b'c';
    /// `SMFIR_DISCARD`: accept and silently drop the message.
    pub(crate) const DISCARD: u8 = b'd';
    /// `SMFIR_ADDHEADER`: append a header.
    pub(crate) const ADDHEADER: u8 = b'h';
    /// `SMFIR_INSHEADER`: insert a header at an index.
    pub(crate) const INSHEADER: u8 = b'i';
    /// `SMFIR_CHGHEADER`: change (or, empty, delete) a header.
    pub(crate) const CHGHEADER: u8 = b'm';
    /// `SMFIR_PROGRESS`: still working (resets the MTA's timeout).
    pub(crate) const PROGRESS: u8 = b'p';
    /// `SMFIR_QUARANTINE`: put the message on the MTA's hold queue.
    pub(crate) const QUARANTINE: u8 = b'q';
    /// `SMFIR_REJECT`: reject with the MTA's default 5xx.
    pub(crate) const REJECT: u8 = b'r';
    /// `SMFIR_SKIP`: send no more body chunks.
    pub(crate) const SKIP: u8 = b's';
    /// `SMFIR_TEMPFAIL`: fail temporarily with the MTA's default 4xx.
    pub(crate) const TEMPFAIL: u8 = b't';
    /// `SMFIR_REPLYCODE`: reject or tempfail with this SMTP reply.
    pub(crate) const REPLYCODE: u8 = b'y';
    /// `SMFIC_OPTNEG`'s answer: the filter's version, actions and steps.
    pub(crate) const OPTNEG: u8 = b'O';
}

/// Actions the filter may take at end of message (`SMFIF_*`), negotiated.
#[allow(dead_code)] // the whole protocol table, used or not
pub(crate) mod action {
    /// `SMFIF_ADDHDRS`: may add headers.
    pub(crate) const ADDHDRS: u32 = 0x01;
    /// `SMFIF_CHGBODY`: may replace the body.
    pub(crate) const CHGBODY: u32 = 0x02;
    /// `SMFIF_ADDRCPT`: may add recipients.
    pub(crate) const ADDRCPT: u32 = 0x04;
    /// `SMFIF_DELRCPT`: may remove recipients.
    pub(crate) const DELRCPT: u32 = 0x08;
    /// `SMFIF_CHGHDRS`: may change or delete headers.
    pub(crate) const CHGHDRS: u32 = 0x10;
    /// `SMFIF_QUARANTINE`: may quarantine (hold) the message.
    pub(crate) const QUARANTINE: u32 = 0x20;
    /// `SMFIF_CHGFROM`: may change the envelope sender.
    pub(crate) const CHGFROM: u32 = 0x40;
    /// `SMFIF_ADDRCPT_PAR`: may add recipients with ESMTP arguments.
    pub(crate) const ADDRCPT_PAR: u32 = 0x80;
    /// `SMFIF_SETSYMLIST`: may choose the macros sent per stage.
    pub(crate) const SETSYMLIST: u32 = 0x100;
}

/// Protocol steps (`SMFIP_*`): events the filter doesn't want, replies it
/// won't send, and the header leading-space option.
#[allow(dead_code)] // the whole protocol table, used or not
pub(crate) mod proto {
    /// `SMFIP_NOCONNECT`: don't send connect information.
    pub(crate) const NOCONNECT: u32 = 1 << 0;
    /// `SMFIP_NOHELO`: don't send HELO.
    pub(crate) const NOHELO: u32 = 1 << 1;
    /// `SMFIP_NOMAIL`: don't send MAIL FROM.
    pub(crate) const NOMAIL: u32 = 1 << 2;
    /// `SMFIP_NORCPT`: don't send RCPT TO.
    pub(crate) const NORCPT: u32 = 1 << 3;
    /// `SMFIP_NOBODY`: don't send the body.
    pub(crate) const NOBODY: u32 = 1 << 4;
    /// `SMFIP_NOHDRS`: don't send headers.
    pub(crate) const NOHDRS: u32 = 1 << 5;
    /// `SMFIP_NOEOH`: don't send end of headers.
    pub(crate) const NOEOH: u32 = 1 << 6;
    /// `SMFIP_NR_HDR`: no reply to headers.
    pub(crate) const NR_HDR: u32 = 1 << 7;
    /// `SMFIP_NOUNKNOWN`: don't send unknown SMTP commands.
    pub(crate) const NOUNKNOWN: u32 = 1 << 8;
    /// `SMFIP_NODATA`: don't send DATA.
    pub(crate) const NODATA: u32 = 1 << 9;
    /// `SMFIP_SKIP`: the MTA understands `SMFIR_SKIP`.
    pub(crate) const SKIP: u32 = 1 << 10;
    /// `SMFIP_RCPT_REJ`: also send rejected recipients.
    pub(crate) const RCPT_REJ: u32 = 1 << 11;
    /// `SMFIP_NR_CONN`: no reply to connect.
    pub(crate) const NR_CONN: u32 = 1 << 12;
    /// `SMFIP_NR_HELO`: no reply to HELO.
    pub(crate) const NR_HELO: u32 = 1 << 13;
    /// `SMFIP_NR_MAIL`: no reply to MAIL FROM.
    pub(crate) const NR_MAIL: u32 = 1 << 14;
    /// `SMFIP_NR_RCPT`: no reply to RCPT TO.
    pub(crate) const NR_RCPT: u32 = 1 << 15;
    /// `SMFIP_NR_DATA`: no reply to DATA.
    pub(crate) const NR_DATA: u32 = 1 << 16;
    /// `SMFIP_NR_UNKN`: no reply to unknown commands.
    pub(crate) const NR_UNKN: u32 = 1 << 17;
    /// `SMFIP_NR_EOH`: no reply to end of headers.
    pub(crate) const NR_EOH: u32 = 1 << 18;
    /// `SMFIP_NR_BODY`: no reply to body chunks.
    pub(crate) const NR_BODY: u32 = 1 << 19;
    /// Header values are sent (and must be returned) with the space that
    /// follows the colon, so the message can be rebuilt byte for byte.
    pub(crate) const HDR_LEADSPC: u32 = 1 << 20;
}

/// The connecting client's address family in SMFIC_CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `U`: not known (no address follows).
    Unknown,
    /// `L`: a local (unix socket) client.
    Unix,
    /// `4`: IPv4.
    Inet,
    /// `6`: IPv6.
    Inet6,
}

impl Family {
    fn code(self) -> u8 {
        match self {
            Family::Unknown => b'U',
            Family::Unix => b'L',
            Family::Inet => b'4',
            Family::Inet6 => b'6',
        }
    }
}

/// A command from the MTA. Byte strings stay bytes: header values and
/// addresses need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `O`: the MTA's version, the actions it allows, the steps it offers.
    OptNeg {
        /// Protocol version (`VERSION`, 6).
        version: u32,
        /// `SMFIF_*` action bits the MTA allows.
        actions: u32,
        /// `SMFIP_*` protocol bits the MTA offers.
        protocol: u32,
    },
    /// `D`: macros for the command with code `stage` that follows.
    Macro {
        /// The command code the macros are for.
        stage: u8,
        /// Name and value pairs.
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// `C`: client hostname, address family, port and address.
    Connect {
        /// The client's host name (as the MTA resolved it).
        hostname: Vec<u8>,
        /// Its address family.
        family: Family,
        /// Its port (0 for unix sockets).
        port: u16,
        /// Its address (or socket path).
        address: Vec<u8>,
    },
    /// `H`: the HELO/EHLO name.
    Helo(Vec<u8>),
    /// `M`: `<sender>` then ESMTP arguments.
    Mail(Vec<Vec<u8>>),
    /// `R`: `<recipient>` then ESMTP arguments.
    Rcpt(Vec<Vec<u8>>),
    /// `T`: the DATA command.
    Data,
    /// `L`: one header, name and value (value as the MTA sends it).
    Header {
        /// The header's name.
        name: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
    },
    /// `N`: end of headers.
    Eoh,
    /// `B`: a body chunk (CRLF line ends, as on the wire).
    Body(Vec<u8>),
    /// `E`: end of message (Sendmail may attach a last body chunk).
    Eom(Vec<u8>),
    /// `A`: abort the current message; the connection stays.
    Abort,
    /// `Q`: close the connection.
    Quit,
    /// `K`: end this SMTP session but keep the socket for a new one.
    QuitNc,
    /// `U`: an SMTP command the MTA didn't recognise.
    Unknown(Vec<u8>),
}

/// A reply from the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `O`: the filter's version, the actions it will take, the steps it
    /// does not want.
    OptNeg {
        /// Protocol version (`VERSION`, 6).
        version: u32,
        /// `SMFIF_*` action bits the filter needs.
        actions: u32,
        /// `SMFIP_*` protocol bits the filter asks for.
        protocol: u32,
    },
    /// `c`: go on.
    Continue,
    /// `a`: accept the message.
    Accept,
    /// `d`: accept and drop the message.
    Discard,
    /// `r`: reject (default 5xx).
    Reject,
    /// `t`: fail temporarily (default 4xx).
    Tempfail,
    /// `p`: still working.
    Progress,
    /// `s`: no more body chunks, please.
    Skip,
    /// `y`: an SMTP reply, e.g. `550 5.7.1 text` (reject or tempfail by
    /// its first digit).
    ReplyCode(Vec<u8>),
    /// `h`: append a header.
    AddHeader {
        /// The header's name.
        name: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
    },
    /// `i`: insert a header at `index`.
    InsertHeader {
        /// Position among the headers (0: first).
        index: u32,
        /// The header's name.
        name: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
    },
    /// `m`: replace the `index`th (1-based) header called `name`; an empty
    /// value deletes it.
    ChangeHeader {
        /// Which header of that name (1-based).
        index: u32,
        /// The header's name.
        name: Vec<u8>,
        /// The new value; empty deletes the header.
        value: Vec<u8>,
    },
    /// `+`: add a recipient.
    AddRcpt(Vec<u8>),
    /// `-`: remove a recipient.
    DelRcpt(Vec<u8>),
    /// `q`: put the message on hold (the MTA's own quarantine).
    Quarantine(Vec<u8>),
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A packet of length 0 (it has no code).
    #[error("packet length 0")]
    Empty,
    /// A declared length over the caller's limit.
    #[error("packet length {len} over the limit {max}")]
    TooLong {
        /// The declared length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A code this protocol version does not have.
    #[error("unknown code {0:#04x}")]
    UnknownCode(u8),
    /// A packet whose data does not fit its code.
    #[error("malformed '{}' packet: {what}", *code as char)]
    Malformed {
        /// The packet's code.
        code: u8,
        /// What was wrong.
        what: &'static str,
    },
}

/// One framed packet: its code and data, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The command or reply code.
    pub code: u8,
    /// The data after the code.
    pub data: &'a [u8],
}

/// Split the first packet off `buf`. `Ok(None)` means more bytes are
/// needed. A declared length over `max` (body packets may always be up to
/// `MAX_BODY_PACKET`) is an error as soon as the code byte is seen, so a
/// hostile length never makes the caller buffer or allocate it.
pub fn split_frame(buf: &[u8], max: usize) -> Result<Option<(Frame<'_>, usize)>, CodecError> {
    let Some(head) = buf.get(..5) else {
        // Even before the code arrives, a length nobody may send is an error.
        if let Some(l) = buf.get(..4) {
            let len = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
            if len == 0 {
                return Err(CodecError::Empty);
            }
            if len > max.max(MAX_BODY_PACKET) {
                return Err(CodecError::TooLong {
                    len,
                    max: max.max(MAX_BODY_PACKET),
                });
            }
        }
        return Ok(None);
    };
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let code = head[4];
    if len == 0 {
        return Err(CodecError::Empty);
    }
    let limit = if code == cmd::BODY || code == cmd::BODYEOB {
        max.max(MAX_BODY_PACKET)
    } else {
        max
    };
    if len > limit {
        return Err(CodecError::TooLong { len, max: limit });
    }
    let total = 4 + len;
    match buf.get(5..total) {
        Some(data) => Ok(Some((Frame { code, data }, total))),
        None => Ok(None),
    }
}

/// Append one packet (length, code, data) to `out`.
pub(crate) fn put_frame(out: &mut Vec<u8>, code: u8, data: &[u8]) {
    let len = u32::try_from(data.len() + 1).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(code);
    out.extend_from_slice(data);
}

/// A cursor over a packet's data.
struct Reader<'a> {
    data: &'a [u8],
    code: u8,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> CodecError {
        CodecError::Malformed {
            code: self.code,
            what,
        }
    }
    fn u32(&mut self) -> Result<u32, CodecError> {
        let (b, rest) = self
            .data
            .split_first_chunk::<4>()
            .ok_or(self.err("short integer"))?;
        self.data = rest;
        Ok(u32::from_be_bytes(*b))
    }
    fn u16(&mut self) -> Result<u16, CodecError> {
        let (b, rest) = self
            .data
            .split_first_chunk::<2>()
            .ok_or(self.err("short port"))?;
        self.data = rest;
        Ok(u16::from_be_bytes(*b))
    }
    fn u8(&mut self) -> Result<u8, CodecError> {
        let (&b, rest) = self.data.split_first().ok_or(self.err("missing byte"))?;
        self.data = rest;
        Ok(b)
    }
    /// A NUL-terminated string (the NUL is consumed, not returned).
    fn cstr(&mut self) -> Result<&'a [u8], CodecError> {
        let i = self
            .data
            .iter()
            .position(|&b| b == 0)
            .ok_or(self.err("string without NUL"))?;
        let s = &self.data[..i];
        self.data = &self.data[i + 1..];
        Ok(s)
    }
    /// Every remaining NUL-terminated string.
    fn cstrs(&mut self) -> Result<Vec<Vec<u8>>, CodecError> {
        let mut v = Vec::new();
        while !self.data.is_empty() {
            v.push(self.cstr()?.to_vec());
        }
        Ok(v)
    }
    fn end(&self) -> Result<(), CodecError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(self.err("trailing bytes"))
        }
    }
}

impl Command {
    /// Decode one command from a frame.
    pub fn decode(frame: Frame<'_>) -> Result<Command, CodecError> {
        let mut r = Reader {
            data: frame.data,
            code: frame.code,
        };
        let c = match frame.code {
            cmd::OPTNEG => {
                let version = r.u32()?;
                let actions = r.u32()?;
                let protocol = r.u32()?;
                // Later versions may append fields; they are ignored.
                Command::OptNeg {
                    version,
                    actions,
                    protocol,
                }
            }
            cmd::MACRO => {
                let stage = r.u8()?;
                let strs = r.cstrs()?;
                let mut pairs = Vec::with_capacity(strs.len() / 2);
                let mut it = strs.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Command::Macro { stage, pairs }
            }
            cmd::CONNECT => {
                let hostname = r.cstr()?.to_vec();
                let family = match r.u8()? {
                    b'U' => Family::Unknown,
                    b'L' => Family::Unix,
                    b'4' => Family::Inet,
                    b'6' => Family::Inet6,
                    _ => return Err(r.err("unknown address family")),
                };
                let (port, address) = if family == Family::Unknown {
                    (0, Vec::new())
                } else {
                    (r.u16()?, r.cstr()?.to_vec())
                };
                r.end()?;
                Command::Connect {
                    hostname,
                    family,
                    port,
                    address,
                }
            }
            cmd::HELO => {
                let s = r.cstr()?.to_vec();
                r.end()?;
                Command::Helo(s)
            }
            cmd::MAIL | cmd::RCPT => {
                let args = r.cstrs()?;
                if args.is_empty() {
                    return Err(r.err("no address"));
                }
                if frame.code == cmd::MAIL {
                    Command::Mail(args)
                } else {
                    Command::Rcpt(args)
                }
            }
            cmd::HEADER => {
                let name = r.cstr()?.to_vec();
                let value = r.cstr()?.to_vec();
                r.end()?;
                if name.is_empty() {
                    return Err(r.err("empty header name"));
                }
                Command::Header { name, value }
            }
            cmd::BODY => Command::Body(frame.data.to_vec()),
            cmd::BODYEOB => Command::Eom(frame.data.to_vec()),
            cmd::UNKNOWN => {
                let s = r.cstr()?.to_vec();
                r.end()?;
                Command::Unknown(s)
            }
            cmd::DATA | cmd::EOH | cmd::ABORT | cmd::QUIT | cmd::QUIT_NC => {
                // These carry no data; tolerate (and ignore) any.
                match frame.code {
                    cmd::DATA => Command::Data,
                    cmd::EOH => Command::Eoh,
                    cmd::ABORT => Command::Abort,
                    cmd::QUIT => Command::Quit,
                    _ => Command::QuitNc,
                }
            }
            other => return Err(CodecError::UnknownCode(other)),
        };
        Ok(c)
    }

    /// The command's code byte.
    pub fn code(&self) -> u8 {
        match self {
            Command::OptNeg { .. } => cmd::OPTNEG,
            Command::Macro { .. } => cmd::MACRO,
            Command::Connect { .. } => cmd::CONNECT,
            Command::Helo(_) => cmd::HELO,
            Command::Mail(_) => cmd::MAIL,
            Command::Rcpt(_) => cmd::RCPT,
            Command::Data => cmd::DATA,
            Command::Header { .. } => cmd::HEADER,
            Command::Eoh => cmd::EOH,
            Command::Body(_) => cmd::BODY,
            Command::Eom(_) => cmd::BODYEOB,
            Command::Abort => cmd::ABORT,
            Command::Quit => cmd::QUIT,
            Command::QuitNc => cmd::QUIT_NC,
            Command::Unknown(_) => cmd::UNKNOWN,
        }
    }

    /// Encode as one packet (the MTA side: tests and the fuzz target).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut d = Vec::new();
        match self {
            Command::OptNeg {
                version,
                actions,
                protocol,
            } => {
                d.extend_from_slice(&version.to_be_bytes());
                d.extend_from_slice(&actions.to_be_bytes());
                d.extend_from_slice(&protocol.to_be_bytes());
            }
            Command::Macro { stage, pairs } => {
                d.push(*stage);
                for (k, v) in pairs {
                    put_cstr(&mut d, k);
                    put_cstr(&mut d, v);
                }
            }
            Command::Connect {
                hostname,
                family,
                port,
                address,
            } => {
                put_cstr(&mut d, hostname);
                d.push(family.code());
                if *family != Family::Unknown {
                    d.extend_from_slice(&port.to_be_bytes());
                    put_cstr(&mut d, address);
                }
            }
            Command::Helo(s) | Command::Unknown(s) => put_cstr(&mut d, s),
            Command::Mail(args) | Command::Rcpt(args) => {
                for a in args {
                    put_cstr(&mut d, a);
                }
            }
            Command::Header { name, value } => {
                put_cstr(&mut d, name);
                put_cstr(&mut d, value);
            }
            Command::Body(b) | Command::Eom(b) => d.extend_from_slice(b),
            Command::Data | Command::Eoh | Command::Abort | Command::Quit | Command::QuitNc => {}
        }
        put_frame(out, self.code(), &d);
    }
}

impl Reply {
    /// The reply's code byte.
    pub fn code(&self) -> u8 {
        match self {
            Reply::OptNeg { .. } => reply::OPTNEG,
            Reply::Continue => reply::CONTINUE,
            Reply::Accept => reply::ACCEPT,
            Reply::Discard => reply::DISCARD,
            Reply::Reject => reply::REJECT,
            Reply::Tempfail => reply::TEMPFAIL,
            Reply::Progress => reply::PROGRESS,
            Reply::Skip => reply::SKIP,
            Reply::ReplyCode(_) => reply::REPLYCODE,
            Reply::AddHeader { .. } => reply::ADDHEADER,
            Reply::InsertHeader { .. } => reply::INSHEADER,
            Reply::ChangeHeader { .. } => reply::CHGHEADER,
            Reply::AddRcpt(_) => reply::ADDRCPT,
            Reply::DelRcpt(_) => reply::DELRCPT,
            Reply::Quarantine(_) => reply::QUARANTINE,
        }
    }

    /// Is this a final answer to the command (as opposed to a modification
    /// or progress note that precedes one)?
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Reply::OptNeg { .. }
                | Reply::Continue
                | Reply::Accept
                | Reply::Discard
                | Reply::Reject
                | Reply::Tempfail
                | Reply::Skip
                | Reply::ReplyCode(_)
        )
    }

    /// Encode as one packet. NUL bytes inside strings would end them early
    /// on the other side, so they are dropped.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut d = Vec::new();
        match self {
            Reply::OptNeg {
                version,
                actions,
                protocol,
            } => {
                d.extend_from_slice(&version.to_be_bytes());
                d.extend_from_slice(&actions.to_be_bytes());
                d.extend_from_slice(&protocol.to_be_bytes());
            }
            Reply::Continue
            | Reply::Accept
            | Reply::Discard
            | Reply::Reject
            | Reply::Tempfail
            | Reply::Progress
            | Reply::Skip => {}
            Reply::ReplyCode(s) | Reply::AddRcpt(s) | Reply::DelRcpt(s) | Reply::Quarantine(s) => {
                put_cstr(&mut d, s)
            }
            Reply::AddHeader { name, value } => {
                put_cstr(&mut d, name);
                put_cstr(&mut d, value);
            }
            Reply::InsertHeader { index, name, value }
            | Reply::ChangeHeader { index, name, value } => {
                d.extend_from_slice(&index.to_be_bytes());
                put_cstr(&mut d, name);
                put_cstr(&mut d, value);
            }
        }
        put_frame(out, self.code(), &d);
    }

    /// Decode a reply (the MTA side: tests and the fuzz target).
    pub fn decode(frame: Frame<'_>) -> Result<Reply, CodecError> {
        let mut r = Reader {
            data: frame.data,
            code: frame.code,
        };
        let rep = match frame.code {
            reply::OPTNEG => {
                let version = r.u32()?;
                let actions = r.u32()?;
                let protocol = r.u32()?;
                Reply::OptNeg {
                    version,
                    actions,
                    protocol,
                }
            }
            reply::CONTINUE => Reply::Continue,
            reply::ACCEPT => Reply::Accept,
            reply::DISCARD => Reply::Discard,
            reply::REJECT => Reply::Reject,
            reply::TEMPFAIL => Reply::Tempfail,
            reply::PROGRESS => Reply::Progress,
            reply::SKIP => Reply::Skip,
            reply::REPLYCODE => Reply::ReplyCode(r.cstr()?.to_vec()),
            reply::ADDRCPT => Reply::AddRcpt(r.cstr()?.to_vec()),
            reply::DELRCPT => Reply::DelRcpt(r.cstr()?.to_vec()),
            reply::QUARANTINE => Reply::Quarantine(r.cstr()?.to_vec()),
            reply::ADDHEADER => Reply::AddHeader {
                name: r.cstr()?.to_vec(),
                value: r.cstr()?.to_vec(),
            },
            reply::INSHEADER | reply::CHGHEADER => {
                let index = r.u32()?;
                let name = r.cstr()?.to_vec();
                let value = r.cstr()?.to_vec();
                if frame.code == reply::INSHEADER {
                    Reply::InsertHeader { index, name, value }
                } else {
                    Reply::ChangeHeader { index, name, value }
                }
            }
            other => return Err(CodecError::UnknownCode(other)),
        };
        r.end()?;
        Ok(rep)
    }
}

fn put_cstr(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(s.iter().copied().filter(|&b| b != 0));
    out.push(0);
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Unknown => "unknown",
            Family::Unix => "unix",
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip_cmd(c: Command) {
        let mut b = Vec::new();
        c.encode(&mut b);
        let (f, used) = split_frame(&b, 65_536).unwrap().unwrap();
        assert_eq!(used, b.len());
        assert_eq!(Command::decode(f).unwrap(), c);
        // Every strict prefix is "need more", never an error or a panic.
        for i in 0..b.len() {
            assert_eq!(split_frame(&b[..i], 65_536).unwrap(), None, "prefix {i}");
        }
    }

    fn roundtrip_reply(r: Reply) {
        let mut b = Vec::new();
        r.encode(&mut b);
        let (f, used) = split_frame(&b, 65_536).unwrap().unwrap();
        assert_eq!(used, b.len());
        assert_eq!(Reply::decode(f).unwrap(), r);
    }

    #[test]
    fn commands_round_trip() {
        let v = |s: &str| s.as_bytes().to_vec();
        for c in [
            Command::OptNeg {
                version: 6,
                actions: 0x1ff,
                protocol: 0x1f_ffff,
            },
            Command::Macro {
                stage: b'C',
                pairs: vec![(v("j"), v("mx.example")), (v("{daemon_name}"), v("smtpd"))],
            },
            Command::Connect {
                hostname: v("[192.0.2.1]"),
                family: Family::Inet,
                port: 40123,
                address: v("192.0.2.1"),
            },
            Command::Connect {
                hostname: v("localhost"),
                family: Family::Unknown,
                port: 0,
                address: vec![],
            },
            Command::Helo(v("client.example")),
            Command::Mail(vec![v("<a@example.com>"), v("SIZE=100")]),
            Command::Rcpt(vec![v("<b@example.net>")]),
            Command::Data,
            Command::Header {
                name: v("Subject"),
                value: v(" hi\n\tthere"),
            },
            Command::Eoh,
            Command::Body(b"line\r\n\x00\xff".to_vec()),
            Command::Eom(vec![]),
            Command::Abort,
            Command::Quit,
            Command::QuitNc,
            Command::Unknown(v("XYZZY")),
        ] {
            roundtrip_cmd(c);
        }
    }

    #[test]
    fn replies_round_trip() {
        let v = |s: &str| s.as_bytes().to_vec();
        for r in [
            Reply::OptNeg {
                version: 6,
                actions: 0x3d,
                protocol: 0x10_0000,
            },
            Reply::Continue,
            Reply::Accept,
            Reply::Discard,
            Reply::Reject,
            Reply::Tempfail,
            Reply::Progress,
            Reply::Skip,
            Reply::ReplyCode(v("550 5.7.1 no")),
            Reply::AddHeader {
                name: v("X-Outwork-Score"),
                value: v(" 1.0"),
            },
            Reply::InsertHeader {
                index: 0,
                name: v("X-A"),
                value: v("b"),
            },
            Reply::ChangeHeader {
                index: 1,
                name: v("Subject"),
                value: v(" [PHISH] hi"),
            },
            Reply::AddRcpt(v("<q@example.org>")),
            Reply::DelRcpt(v("<b@example.net>")),
            Reply::Quarantine(v("phishing")),
        ] {
            roundtrip_reply(r);
        }
    }

    #[test]
    fn oversize_length_is_an_error_before_buffering() {
        // A 4 GB claim: refused from the length alone, nothing allocated.
        let b = [0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            split_frame(&b, 65_536),
            Err(CodecError::TooLong { .. })
        ));
        // A header packet over a small limit is refused once its code shows.
        let mut b = Vec::new();
        put_frame(&mut b, cmd::HEADER, &[b'a'; 2000]);
        assert!(matches!(
            split_frame(&b[..5], 1024),
            Err(CodecError::TooLong { len: 2001, .. })
        ));
        // A full-size body chunk is always allowed.
        let mut b = Vec::new();
        put_frame(&mut b, cmd::BODY, &[b'x'; 65_535]);
        assert!(split_frame(&b, 1024).unwrap().is_some());
    }

    #[test]
    fn zero_length_and_unknown_codes_are_errors() {
        assert_eq!(split_frame(&[0, 0, 0, 0], 100), Err(CodecError::Empty));
        let mut b = Vec::new();
        put_frame(&mut b, b'Z', b"");
        let (f, _) = split_frame(&b, 100).unwrap().unwrap();
        assert_eq!(Command::decode(f), Err(CodecError::UnknownCode(b'Z')));
    }

    #[test]
    fn truncated_fields_are_errors() {
        let cases: &[(u8, &[u8])] = &[
            (cmd::OPTNEG, &[0, 0, 0, 6, 0, 0]),
            (cmd::CONNECT, b"host"),
            (cmd::CONNECT, b"host\x004\x01"),
            (cmd::CONNECT, b"host\x004\x01\x02addr"),
            (cmd::CONNECT, b"host\x00X"),
            (cmd::HELO, b"no-nul"),
            (cmd::HEADER, b"Subject\x00no-nul"),
            (cmd::HEADER, b"\x00v\x00"),
            (cmd::MAIL, b""),
            (cmd::MACRO, b""),
            (cmd::HELO, b"a\x00trailing"),
        ];
        for (code, data) in cases {
            let r = Command::decode(Frame { code: *code, data });
            assert!(
                matches!(r, Err(CodecError::Malformed { .. })),
                "{} {:?}: {r:?}",
                *code as char,
                data
            );
        }
    }

    #[test]
    fn two_packets_in_one_buffer() {
        let mut b = Vec::new();
        Command::Abort.encode(&mut b);
        Command::Helo(b"x".to_vec()).encode(&mut b);
        let (f, used) = split_frame(&b, 100).unwrap().unwrap();
        assert_eq!(Command::decode(f).unwrap(), Command::Abort);
        let (f, _) = split_frame(&b[used..], 100).unwrap().unwrap();
        assert_eq!(Command::decode(f).unwrap(), Command::Helo(b"x".to_vec()));
    }
}
