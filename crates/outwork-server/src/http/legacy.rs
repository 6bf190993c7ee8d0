//! Rspamd's legacy protocol on the HTTP port: `CHECK RSPAMC/1.3` and a
//! text reply. Exim's `spamd_address = HOST PORT variant=rspamd` speaks
//! it (not HTTP), as Rspamd's own normal worker accepts both on one port.
//!
//! Each connection's first line decides: `COMMAND RSPAMC/x` is served
//! here (one request, then close), anything else goes to hyper with the
//! bytes already read replayed ([`Rewind`]).

use super::{AppState, scan};
use crate::rspamd::{self, MessageInfo};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

const LOG: &str = "outwork::http";
/// Longest legacy request head (request line and headers).
const MAX_HEAD: usize = 64 * 1024;

/// A stream that first replays bytes already read from it.
pub(super) struct Rewind<S> {
    pre: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Rewind<S> {
    pub(super) fn new(pre: Vec<u8>, inner: S) -> Rewind<S> {
        Rewind { pre, pos: 0, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos < self.pre.len() {
            let n = buf.remaining().min(self.pre.len() - self.pos);
            let start = self.pos;
            buf.put_slice(&self.pre[start..start + n]);
            self.pos += n;
            if self.pos == self.pre.len() {
                self.pre = Vec::new();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Read until the first line is complete (or 1 KiB, or `wait` passes):
/// the bytes read and whether it is a legacy request. `None`: the client
/// closed or stayed silent.
pub(super) async fn sniff<S: AsyncRead + Unpin>(
    s: &mut S,
    wait: Duration,
) -> Option<(Vec<u8>, bool)> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = Vec::with_capacity(1024);
    let mut tmp = [0u8; 1024];
    loop {
        if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let legacy = rspamd::is_legacy_request_line(&buf[..nl]);
            return Some((buf, legacy));
        }
        if buf.len() >= 1024 {
            // Let hyper judge an overlong request line.
            return Some((buf, false));
        }
        match tokio::time::timeout_at(deadline, s.read(&mut tmp)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&tmp[..n]),
            _ => return None,
        }
    }
}

fn head_end(b: &[u8]) -> Option<(usize, usize)> {
    if let Some(i) = b.windows(4).position(|w| w == b"\r\n\r\n") {
        return Some((i, i + 4));
    }
    b.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2))
}

/// Serve one legacy request, then close.
pub(super) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut io: S, st: &AppState, peer: &str) {
    let reply = answer(&mut io, st, peer).await;
    let wt = Duration::from_millis(st.cfg.request_timeout_ms);
    let _ = tokio::time::timeout(wt, async {
        let _ = io.write_all(reply.as_bytes()).await;
        let _ = io.shutdown().await;
    })
    .await;
}

async fn answer<S: AsyncRead + Unpin>(io: &mut S, st: &AppState, peer: &str) -> String {
    let ms = st.cfg.request_timeout_ms;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut tmp = vec![0u8; 16 * 1024];
    let (head_len, body_start) = loop {
        if let Some(e) = head_end(&buf) {
            break e;
        }
        if buf.len() > MAX_HEAD {
            return rspamd::legacy_error(400, "request head too long");
        }
        match tokio::time::timeout_at(deadline, io.read(&mut tmp)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&tmp[..n]),
            Ok(_) => return rspamd::legacy_error(400, "connection closed mid-request"),
            Err(_) => return rspamd::legacy_error(408, "request not received in time"),
        }
    };
    let head = match rspamd::parse_legacy_head(&buf[..head_len]) {
        Ok(h) => h,
        Err(e) => return rspamd::legacy_error(400, &e.to_string()),
    };
    if head.command == "PING" {
        return "RSPAMD/1.3 0 PONG\r\n\r\n".to_string();
    }
    let req =
        match rspamd::parse_request_headers(head.headers.iter().map(|(n, v)| (n.as_str(), &v[..])))
        {
            Ok(r) => r,
            Err(e) => return rspamd::legacy_error(400, &e.to_string()),
        };
    let Some(len) = head.content_length else {
        return rspamd::legacy_error(411, "Content-length required");
    };
    if len > st.cfg.max_body_bytes {
        return rspamd::legacy_error(413, "message over max_body_bytes");
    }
    // Charged to the budget before any of it is kept.
    let mut hold = st.buffered.reservation();
    if let Err(e) = hold.grow(len as u64) {
        crate::metrics::failure("http", "buffered_budget");
        tracing::info!(target: LOG, peer, "legacy request refused: {e}");
        return rspamd::legacy_error(503, "server busy: max_buffered_bytes in use");
    }
    let mut body = buf.split_off(body_start.min(buf.len()));
    body.truncate(len);
    body.shrink_to(len);
    body.reserve_exact(len - body.len());
    while body.len() < len {
        let want = (len - body.len()).min(tmp.len());
        match tokio::time::timeout_at(deadline, io.read(&mut tmp[..want])).await {
            Ok(Ok(n)) if n > 0 => body.extend_from_slice(&tmp[..n]),
            Ok(_) => return rspamd::legacy_error(400, "connection closed mid-message"),
            Err(_) => return rspamd::legacy_error(408, "message not received in time"),
        }
    }
    if body.is_empty() {
        return rspamd::legacy_error(400, "empty message");
    }
    let size = body.len();
    let mut s = match scan(
        st,
        crate::budget::owned_bytes(body, hold),
        req.envelope.clone(),
        deadline,
        Some("rspamc-legacy"),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => {
            let code = r.status().as_u16();
            tracing::warn!(target: LOG, peer, "legacy request: scan failed ({code})");
            return rspamd::legacy_error(code, "scan failed");
        }
    };
    super::log_verdict(
        "rspamc-legacy",
        &req.envelope,
        size,
        &s.verdict,
        s.took,
        req.log_tag.as_deref(),
    );
    if let Some(r) = s.record.take() {
        super::record(st, r).await;
    }
    let info: &MessageInfo = &s.info;
    rspamd::legacy_reply(&rspamd::Reply {
        verdict: &s.verdict,
        thresholds: &s.scanner.ctx.config.thresholds,
        quarantine_action: st.cfg.rspamd_quarantine_action,
        subject_template: &st.cfg.rspamd_subject,
        info,
        queue_id: req.envelope.queue_id.as_deref(),
        time_real: s.took.as_secs_f64(),
        quarantine_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rewind_replays_then_reads_on() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(b" world").await.unwrap();
        drop(a);
        let mut r = Rewind::new(b"hello".to_vec(), b);
        let mut s = String::new();
        r.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello world");
    }

    #[tokio::test]
    async fn sniffing() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        a.write_all(b"CHECK RSPAMC/1.3\r\nContent-length: 1\r\n")
            .await
            .unwrap();
        let (pre, legacy) = sniff(&mut b, Duration::from_secs(1)).await.unwrap();
        assert!(legacy);
        assert!(pre.starts_with(b"CHECK"));
        let (mut a, mut b) = tokio::io::duplex(4096);
        a.write_all(b"POST /checkv2 HTTP/1.1\r\n").await.unwrap();
        assert!(!sniff(&mut b, Duration::from_secs(1)).await.unwrap().1);
        let (_a, mut b) = tokio::io::duplex(4096);
        assert!(sniff(&mut b, Duration::from_millis(50)).await.is_none());
    }
}
