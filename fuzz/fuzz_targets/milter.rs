//! The milter codec and session on arbitrary bytes, as an MTA (or an
//! attacker who reached the socket) could send them.
//!
//! The first byte picks the setup: odd = a session already negotiated
//! (like Postfix: every option offered), even = raw from the first
//! packet. Then packets are split, decoded, fed to the session, and every
//! finished message goes through policy. Asserts: no panic; every decoded
//! command and every reply re-encodes to itself; the session never keeps
//! more than its message limit; a malformed packet ends the stream (as the
//! server does).

#![no_main]

use libfuzzer_sys::fuzz_target;
use outwork_core::{Action, Config, Context};
use outwork_server::fuzzing::{Command, Reply, split_frame};
use outwork_server::MilterConfig;
use outwork_server::fuzzing::{on_failure, on_oversize, on_verdict};
use outwork_server::fuzzing::{Session, Step};
use std::sync::OnceLock;

const MAX_PACKET: usize = 4096;
const MAX_MESSAGE: usize = 16 * 1024;

fn roundtrip_reply(r: &Reply) {
    let mut b = Vec::new();
    r.encode(&mut b);
    let (f, used) = split_frame(&b, usize::MAX).expect("own reply frames").expect("complete");
    assert_eq!(used, b.len());
    let back = Reply::decode(f).expect("own reply decodes");
    // Encoding drops NULs inside strings; compare re-encodings.
    let mut b2 = Vec::new();
    back.encode(&mut b2);
    assert_eq!(b, b2);
}

fuzz_target!(|data: &[u8]| {
    static CTX: OnceLock<Context> = OnceLock::new();
    let ctx = CTX.get_or_init(|| Context::new(Config::default()));
    let Some((&mode, mut buf)) = data.split_first() else {
        return;
    };
    let cfg = MilterConfig {
        subject_tag: "[TAG]".into(),
        max_message_bytes: MAX_MESSAGE,
        ..Default::default()
    };
    let mut s = Session::new(MAX_MESSAGE);
    if mode & 1 == 1 {
        let _ = s.handle(Command::OptNeg {
            version: 6,
            actions: 0x1ff,
            protocol: 0x1f_ffff,
        });
    }
    loop {
        let (cmd, used) = match split_frame(buf, MAX_PACKET) {
            Ok(Some((frame, used))) => {
                // The MTA-side parser must survive the same bytes.
                if let Ok(r) = Reply::decode(frame) {
                    roundtrip_reply(&r);
                }
                match Command::decode(frame) {
                    Ok(c) => (c, used),
                    Err(_) => return,
                }
            }
            Ok(None) | Err(_) => return,
        };
        buf = &buf[used..];
        let mut again = Vec::new();
        cmd.encode(&mut again);
        let (f, _) = split_frame(&again, usize::MAX).unwrap().unwrap();
        assert_eq!(Command::decode(f).as_ref(), Ok(&cmd), "command round trip");
        match s.handle(cmd) {
            Step::Reply(rs) => rs.iter().for_each(roundtrip_reply),
            Step::Scan(m) => {
                assert!(m.raw.len() <= MAX_MESSAGE, "kept {} bytes", m.raw.len());
                let mut v = outwork_core::decide(Default::default(), ctx);
                v.action = [Action::Accept, Action::Tag, Action::Quarantine, Action::Reject]
                    [usize::from(mode >> 1) % 4];
                let stored = Ok("id".to_string());
                let ds = [
                    on_verdict(&cfg, &m, &v, Some(&stored)),
                    on_failure(&cfg, &m, "fuzz"),
                    on_oversize(&cfg, &m),
                ];
                for d in ds {
                    assert!(d.replies.last().is_some_and(|r| r.is_final()));
                    d.replies.iter().for_each(roundtrip_reply);
                }
            }
            Step::Close | Step::Error(_) => return,
        }
    }
});
