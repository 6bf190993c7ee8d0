//! Who gets a connection slot, for the milter and the HTTP listener.
//!
//! - At most `max` connections hold a slot.
//! - At most `per_client` connections from one client (an IPv4 address,
//!   an IPv6 /64; 0 = no such limit). Unix-socket clients have no address:
//!   they are one local client, never limited this way (the socket's
//!   permissions decide who may connect, and Postfix opens one milter
//!   connection per smtpd process).
//! - When every slot is taken, a new connection makes room by closing the
//!   connection that has been *idle* longest: one that has not started
//!   real work (milter: options not negotiated; HTTP: no request in
//!   flight), idle for at least [`EVICT_AFTER`]. So connections that never
//!   say anything can't starve real sessions; a connection doing work is
//!   never closed to make room (the newcomer waits in the backlog then).
//!
//! Refusals and evictions are logged (at most one line every
//! [`LOG_EVERY`] per listener, with counts) and counted in
//! `outwork_connections_refused_total{listener,reason}`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// A connection must have been idle this long before it can be closed to
/// make room. A real MTA negotiates within milliseconds of connecting (and
/// an HTTP client sends its request at once): this only protects a burst
/// of real connections from closing each other.
pub(crate) const EVICT_AFTER: Duration = Duration::from_millis(500);
/// At most one refusal/eviction log line per listener this often.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// Which listener, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// The milter listener(s).
    Milter,
    /// The HTTP API.
    Http,
}

impl Listener {
    fn as_str(self) -> &'static str {
        match self {
            Listener::Milter => "milter",
            Listener::Http => "http",
        }
    }
}

/// The slots of one server (all its listen addresses).
pub(crate) struct ConnLimits {
    kind: Listener,
    slots: Arc<Semaphore>,
    per_client: usize,
    evict_after: Duration,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    per_client: HashMap<IpAddr, usize>,
    /// Connections that may be closed to make room: since when idle.
    idle: HashMap<u64, (Instant, Arc<Notify>)>,
    refused: u64,
    evicted: u64,
    last_log: Option<Instant>,
}

/// The key a client is counted under: IPv4 (IPv4-mapped IPv6 included)
/// as is, IPv6 by its /64 (one host usually has a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

impl ConnLimits {
    /// At most `max` connections, `per_client` from one address.
    pub(crate) fn new(kind: Listener, max: usize, per_client: usize) -> Arc<ConnLimits> {
        Arc::new(ConnLimits {
            kind,
            slots: Arc::new(Semaphore::new(max)),
            per_client,
            evict_after: EVICT_AFTER,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// The slot semaphore (shutdown waits for all its permits).
    pub(crate) fn slots(&self) -> &Arc<Semaphore> {
        &self.slots
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection from `ip` (`None`: a unix socket). `None` when
    /// that client already has `per_client` connections: close it.
    pub(crate) fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Option<Admitted> {
        let key = ip.map(client_key);
        let mut g = self.lock();
        if let Some(k) = key {
            let n = g.per_client.entry(k).or_insert(0);
            if self.per_client > 0 && *n >= self.per_client {
                if *n == 0 {
                    g.per_client.remove(&k);
                }
                g.refused += 1;
                metrics::counter!("outwork_connections_refused_total",
                    "listener" => self.kind.as_str(), "reason" => "per_client")
                .increment(1);
                self.maybe_log(&mut g, Some(k));
                return None;
            }
            *n += 1;
        }
        Some(Admitted {
            limits: self.clone(),
            key,
        })
    }

    /// Close the connection idle longest, if it has been idle at least
    /// `evict_after`. `Ok(())`: one was told to close; `Err(Some(d))`: the
    /// oldest becomes closable in `d`; `Err(None)`: none is idle.
    fn evict_oldest(&self) -> Result<(), Option<Duration>> {
        let mut g = self.lock();
        let now = Instant::now();
        let Some((&id, &(since, _))) = g.idle.iter().min_by_key(|(_, (since, _))| *since) else {
            return Err(None);
        };
        let age = now.saturating_duration_since(since);
        if age < self.evict_after {
            return Err(Some(self.evict_after - age));
        }
        if let Some((_, n)) = g.idle.remove(&id) {
            n.notify_one();
        }
        g.evicted += 1;
        metrics::counter!("outwork_connections_refused_total",
            "listener" => self.kind.as_str(), "reason" => "evicted_idle")
        .increment(1);
        self.maybe_log(&mut g, None);
        Ok(())
    }

    fn maybe_log(&self, g: &mut Inner, client: Option<IpAddr>) {
        let now = Instant::now();
        if g.last_log
            .is_some_and(|t| now.duration_since(t) < LOG_EVERY)
        {
            return;
        }
        g.last_log = Some(now);
        let (refused, evicted) = (g.refused, g.evicted);
        let client = client.map(|c| c.to_string()).unwrap_or_else(|| "-".into());
        macro_rules! say {
            ($target:literal) => {
                tracing::warn!(target: $target, refused, evicted, client = %client, per_client = self.per_client,
                    "connection limits: {refused} refused (client over max_connections_per_ip), {evicted} idle connections closed to make room (totals since start)")
            };
        }
        match self.kind {
            Listener::Milter => say!("outwork::milter"),
            Listener::Http => say!("outwork::http"),
        }
    }
}

/// A connection admitted under its client's limit, waiting for a slot.
pub(crate) struct Admitted {
    limits: Arc<ConnLimits>,
    key: Option<IpAddr>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(k) = self.key {
            let mut g = self.limits.lock();
            if let Some(n) = g.per_client.get_mut(&k) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    g.per_client.remove(&k);
                }
            }
        }
    }
}

impl Admitted {
    /// Wait for a slot. When all are taken, close the connection idle
    /// longest (see the module docs) and take its slot; with none idle,
    /// wait for any connection to end.
    pub(crate) async fn slot(self) -> Option<Conn> {
        let limits = self.limits.clone();
        let permit = loop {
            if let Ok(p) = limits.slots.clone().try_acquire_owned() {
                break p;
            }
            let wait = match limits.evict_oldest() {
                // The closed connection gives its slot back at once; look
                // again soon in case another took it.
                Ok(()) => Duration::from_millis(50),
                Err(Some(d)) => d,
                Err(None) => Duration::from_millis(200),
            };
            tokio::select! {
                p = limits.slots.clone().acquire_owned() => match p {
                    Ok(p) => break p,
                    Err(_) => return None,
                },
                _ = tokio::time::sleep(wait) => {}
            }
        };
        let notify = Arc::new(Notify::new());
        let id = {
            let mut g = limits.lock();
            let id = g.next_id;
            g.next_id += 1;
            g.idle.insert(id, (Instant::now(), notify.clone()));
            id
        };
        Some(Conn {
            _admitted: self,
            _permit: permit,
            id,
            notify,
        })
    }
}

/// A connection holding a slot. It starts idle (closable to make room);
/// [`Conn::busy`] and [`Conn::idle`] say when it does real work.
pub(crate) struct Conn {
    _admitted: Admitted,
    _permit: OwnedSemaphorePermit,
    id: u64,
    notify: Arc<Notify>,
}

impl Conn {
    /// Doing real work: never closed to make room until [`Conn::idle`].
    pub(crate) fn busy(&self) {
        self._admitted.limits.lock().idle.remove(&self.id);
    }

    /// Idle again (e.g. an HTTP keep-alive connection between requests).
    pub(crate) fn idle(&self) {
        self._admitted
            .limits
            .lock()
            .idle
            .insert(self.id, (Instant::now(), self.notify.clone()));
    }

    /// Completes when this connection has been chosen to close.
    pub(crate) async fn evicted(&self) {
        self.notify.notified().await
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self._admitted.limits.lock().idle.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let m: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_key(m), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[tokio::test]
    async fn per_client_limit_and_unix_clients() {
        let l = ConnLimits::new(Listener::Milter, 10, 2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = l.admit(Some(ip)).unwrap();
        let b = l.admit(Some(ip)).unwrap();
        assert!(l.admit(Some(ip)).is_none());
        assert!(l.admit(Some("192.0.2.2".parse().unwrap())).is_some());
        // Unix-socket clients are not limited per client.
        let local: Vec<_> = (0..5).map(|_| l.admit(None).unwrap()).collect();
        drop(a);
        assert!(l.admit(Some(ip)).is_some());
        drop((b, local));
        assert!(l.lock().per_client.is_empty());
    }

    #[tokio::test]
    async fn full_closes_the_oldest_idle_never_a_busy_one() {
        let l = ConnLimits::new(Listener::Http, 2, 0);
        let busy = l.admit(None).unwrap().slot().await.unwrap();
        busy.busy();
        let idle = l.admit(None).unwrap().slot().await.unwrap();
        // Full: the third waits until the idle one is old enough, then
        // the idle one is told to close.
        let l2 = l.clone();
        let third = tokio::spawn(async move { l2.admit(None).unwrap().slot().await.is_some() });
        tokio::time::timeout(Duration::from_secs(5), idle.evicted())
            .await
            .expect("idle connection evicted");
        drop(idle);
        assert!(third.await.unwrap());
        // The busy one was never told.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), busy.evicted())
                .await
                .is_err()
        );
    }
}
