//! The HTTP API's pure input handling on arbitrary bytes: Rspamd request
//! headers (`IP`, `From`, `Rcpt`, …) → envelope, the `/checkv2` reply
//! built from them, the message-header reader, the synthetic message of
//! `/v1/scan/text` and `/v1/url`, and the release command's argv.
//!
//! Also the legacy protocol (`CHECK RSPAMC/1.3`): head parsing and the
//! text reply (every line CRLF-terminated, nothing injected).
//!
//! Input: lines `Name: value` (the first byte picks the verdict's action).
//! Asserts: no panic; accepted envelopes respect the limits; the reply
//! serialises and parses back; a synthetic message has exactly the header
//! lines outwork writes (no injection through text or sender); release
//! arguments never start with `-`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outwork_core::Thresholds;
use outwork_core::Symbol;
use outwork_core::{Action, Verdict};
use outwork_server::RspamdQuarantineAction;
use outwork_server::fuzzing::{release_argv, synthetic_message, url_message};
use outwork_server::fuzzing::rspamd::{self, MessageInfo, RspamdRequest};

fn header_names(m: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for line in m.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .expect("every header line has a colon");
        out.push(String::from_utf8_lossy(&line[..colon]).into_owned());
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let pairs: Vec<(&str, &[u8])> = rest
        .split(|&b| b == b'\n')
        .filter_map(|l| {
            let c = l.iter().position(|&b| b == b':')?;
            let name = std::str::from_utf8(&l[..c]).ok()?;
            Some((name, l[c + 1..].trim_ascii()))
        })
        .collect();
    let text = String::from_utf8_lossy(rest);

    if let Ok(RspamdRequest { envelope, .. }) = rspamd::parse_request_headers(pairs.iter().copied())
    {
        assert!(envelope.rcpt_to.len() <= rspamd::MAX_RCPTS);
        for r in &envelope.rcpt_to {
            assert!(!r.is_empty() && !r.contains(['\r', '\n', '\0']));
        }
        if let Ok(argv) = release_argv(
            &[
                "sendmail".into(),
                "-f".into(),
                "{mail_from}".into(),
                "--".into(),
                "{rcpt_to}".into(),
            ],
            envelope.mail_from.as_deref().unwrap_or(""),
            &envelope.rcpt_to,
        ) {
            for a in &argv[4..] {
                assert!(!a.starts_with('-'), "{a:?}");
            }
        }
        let v = Verdict {
            action: [
                Action::Accept,
                Action::Tag,
                Action::Quarantine,
                Action::Reject,
            ][usize::from(mode) % 4],
            score: f64::from(mode) / 3.0,
            symbols: vec![Symbol {
                name: "FUZZ",
                score: 1.0,
                evidence: vec![text.clone().into_owned()],
            }],
            authentication_results: envelope.helo.clone(),
        };
        let info = MessageInfo {
            message_id: rspamd::header_value(rest, "message-id"),
            subject: rspamd::header_value(rest, "subject"),
            urls: vec![],
            emails: vec![],
        };
        let r = rspamd::Reply {
            verdict: &v,
            thresholds: &Thresholds::default(),
            quarantine_action: RspamdQuarantineAction::RewriteSubject,
            subject_template: "*** %s",
            info: &info,
            queue_id: envelope.queue_id.as_deref(),
            time_real: 0.0,
            quarantine_id: None,
        };
        let reply = rspamd::checkv2_reply(&r);
        let legacy = rspamd::legacy_reply(&r);
        assert!(legacy.starts_with("RSPAMD/1.3 0 EX_OK\r\nMetric: default; "));
        assert_eq!(
            legacy.matches('\n').count(),
            legacy.matches("\r\n").count(),
            "{legacy:?}"
        );
        assert!(!legacy.contains('\0'));
        let s = serde_json::to_string(&reply).expect("reply serialises");
        let back: serde_json::Value = serde_json::from_str(&s).expect("reply parses back");
        assert_eq!(back["symbols"]["FUZZ"]["options"][0].as_str(), Some(&*text));
        for (_, h) in back["milter"]["add_headers"]
            .as_object()
            .expect("add_headers")
            .iter()
        {
            let val = h["value"].as_str().expect("value");
            assert!(!val.contains(['\r', '\n', '\0']), "{val:?}");
        }
    }

    if let Ok(h) = rspamd::parse_legacy_head(rest) {
        assert!(rspamd::is_legacy_request_line(
            rest.split(|&b| b == b'\n').next().unwrap_or_default()
        ));
        let _ = rspamd::parse_request_headers(h.headers.iter().map(|(n, v)| (n.as_str(), &v[..])));
    }
    let e = rspamd::legacy_error(400, &text);
    assert_eq!(e.matches('\n').count(), 2);

    let (sender, body) = text.split_once('\n').unwrap_or(("", &text));
    let m = synthetic_message(body, Some(sender), sender, Some(sender));
    assert_eq!(
        header_names(&m),
        [
            "From",
            "To",
            "Subject",
            "X-Outwork-Channel",
            "MIME-Version",
            "Content-Type",
            "Content-Transfer-Encoding"
        ]
    );
    let u = url_message(&text);
    let names = header_names(&u);
    assert_eq!(names.len(), 6, "{names:?}");
});
