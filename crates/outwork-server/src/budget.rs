//! A byte budget for buffered message bodies.
//!
//! Each listener (`[http]`, `[milter]`) has one [`ByteBudget`] of
//! `max_buffered_bytes`, shared by all its connections. A request or
//! message takes a [`Reservation`] and grows it *before* its buffer grows
//! (by the buffer's capacity, not just its length), so the memory held by
//! bodies in flight — slow uploads included — never exceeds the budget.
//! The reservation is released when it is dropped: when the request or
//! message is done, or (see [`owned_bytes`]) when the last copy of the
//! bytes is freed, so a scan that outlives its request still counts.
//!
//! When a reservation can't grow, the caller refuses the body instead of
//! buffering it: HTTP answers 503 with `Retry-After`, the milter applies
//! `on_error` (tempfail by default).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A shared limit on bytes held by buffered bodies.
#[derive(Clone)]
pub struct ByteBudget {
    inner: Arc<Inner>,
}

struct Inner {
    limit: u64,
    used: AtomicU64,
    /// `outwork_buffered_bytes{source}`, when named.
    source: Option<&'static str>,
}

impl fmt::Debug for ByteBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteBudget")
            .field("limit", &self.inner.limit)
            .field("used", &self.used())
            .finish()
    }
}

/// The budget has no room for the bytes asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("buffered-body budget exhausted: {wanted} more bytes asked, {used} of {limit} in use")]
pub struct Exhausted {
    /// Bytes asked for.
    pub wanted: u64,
    /// Bytes in use.
    pub used: u64,
    /// The budget.
    pub limit: u64,
}

impl ByteBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> ByteBudget {
        ByteBudget {
            inner: Arc::new(Inner {
                limit,
                used: AtomicU64::new(0),
                source: None,
            }),
        }
    }

    /// A budget whose use is the gauge `outwork_buffered_bytes{source}`.
    pub fn named(limit: u64, source: &'static str) -> ByteBudget {
        crate::metrics::buffered(source, 0, limit);
        ByteBudget {
            inner: Arc::new(Inner {
                limit,
                used: AtomicU64::new(0),
                source: Some(source),
            }),
        }
    }

    fn report(&self, used: u64) {
        if let Some(s) = self.inner.source {
            crate::metrics::buffered(s, used, self.inner.limit);
        }
    }

    /// The configured limit.
    pub fn limit(&self) -> u64 {
        self.inner.limit
    }

    /// Bytes reserved now.
    pub fn used(&self) -> u64 {
        self.inner.used.load(Ordering::Acquire)
    }

    /// An empty reservation to grow as a body arrives.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: 0,
        }
    }

    fn try_take(&self, n: u64) -> Result<(), Exhausted> {
        let limit = self.inner.limit;
        self.inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|t| *t <= limit)
            })
            .map(|prev| self.report(prev.saturating_add(n)))
            .map_err(|used| Exhausted {
                wanted: n,
                used,
                limit,
            })
    }

    fn give_back(&self, n: u64) {
        // Never below zero, even if a caller hands back more than it took.
        if let Ok(prev) = self
            .inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(n))
            })
        {
            self.report(prev.saturating_sub(n));
        }
    }
}

/// Bytes held against a [`ByteBudget`]; given back on drop.
pub struct Reservation {
    budget: ByteBudget,
    held: u64,
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("held", &self.held)
            .finish()
    }
}

impl Reservation {
    /// Hold `n` more bytes, or fail without holding any.
    pub fn grow(&mut self, n: u64) -> Result<(), Exhausted> {
        if n == 0 {
            return Ok(());
        }
        self.budget.try_take(n)?;
        self.held = self.held.saturating_add(n);
        Ok(())
    }

    /// Hold at least `total` bytes in all (grow by the difference).
    pub fn grow_to(&mut self, total: u64) -> Result<(), Exhausted> {
        self.grow(total.saturating_sub(self.held))
    }

    /// Give back down to `total` bytes (no-op when holding less).
    pub fn shrink_to(&mut self, total: u64) {
        if total < self.held {
            self.budget.give_back(self.held - total);
            self.held = total;
        }
    }

    /// Bytes held.
    pub fn held(&self) -> u64 {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.held > 0 {
            self.budget.give_back(self.held);
        }
    }
}

/// Make room in `buf` for `extra` more bytes, charging any growth of its
/// capacity to `hold` first (at most doubling, never past `cap`). The
/// buffer is untouched when the budget says no.
pub(crate) fn reserve_charged(
    buf: &mut Vec<u8>,
    extra: usize,
    cap: usize,
    hold: &mut Reservation,
) -> Result<(), Exhausted> {
    let need = buf.len().saturating_add(extra);
    if need <= buf.capacity() {
        return Ok(());
    }
    let new_cap = need.max(buf.capacity().saturating_mul(2).min(cap)).max(64);
    hold.grow_to(new_cap as u64)?;
    buf.reserve_exact(new_cap - buf.len());
    Ok(())
}

/// Bytes whose reservation is given back when the last copy is dropped.
pub(crate) fn owned_bytes(buf: Vec<u8>, hold: Reservation) -> axum::body::Bytes {
    struct Owned {
        buf: Vec<u8>,
        _hold: Reservation,
    }
    impl AsRef<[u8]> for Owned {
        fn as_ref(&self) -> &[u8] {
            &self.buf
        }
    }
    if hold.held() == 0 {
        return axum::body::Bytes::from(buf);
    }
    axum::body::Bytes::from_owner(Owned { buf, _hold: hold })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_within_the_limit_and_gives_back_on_drop() {
        let b = ByteBudget::new(100);
        let mut r1 = b.reservation();
        r1.grow(60).unwrap();
        let mut r2 = b.reservation();
        assert!(r2.grow(50).is_err());
        assert_eq!(r2.held(), 0);
        r2.grow(40).unwrap();
        assert_eq!(b.used(), 100);
        drop(r1);
        assert_eq!(b.used(), 40);
        r2.shrink_to(10);
        assert_eq!(b.used(), 10);
        drop(r2);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn charged_growth_is_capped_and_bytes_release_on_last_drop() {
        let b = ByteBudget::new(1000);
        let mut r = b.reservation();
        let mut v = Vec::new();
        for _ in 0..10 {
            reserve_charged(&mut v, 50, 500, &mut r).unwrap();
            v.extend_from_slice(&[b'x'; 50]);
        }
        assert!(r.held() >= v.capacity() as u64);
        assert!(r.held() <= 500, "{}", r.held());
        let bytes = owned_bytes(v, r);
        let copy = bytes.clone();
        drop(bytes);
        assert!(b.used() > 0);
        drop(copy);
        assert_eq!(b.used(), 0);
        // Over the budget: refused, buffer untouched.
        let mut r = b.reservation();
        let mut v = Vec::new();
        assert!(reserve_charged(&mut v, 2000, 4000, &mut r).is_err());
        assert_eq!(v.capacity(), 0);
        assert_eq!(b.used(), 0);
    }
}
